"""Pre-started, reused sandbox workers and the orchestrator's side of their pipes."""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from sggit.errors import SggitError
from sggit.runtime.sandbox import protocol
from sggit.runtime.sandbox.config import ENTRY_POINT, MECHANISMS, SandboxConfig
from sggit.runtime.sandbox.outcome import Confinement, ErrorKind, GeneOutcome, Mechanism

Handler = Callable[[str, list, dict], Any]

log = logging.getLogger("sggit.sandbox")

_EXIT_CPU = 75
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
# Worse outcomes mean the worker may be damaged or hostile: never reuse it.
_DISCARD_KINDS = frozenset({"timeout", "crash", "limit", "forbidden"})


class SandboxUnavailable(SggitError):
    """The sandbox cannot start, or cannot confine a worker as the config demands."""


def _no_kernel(name: str, args: list, kwargs: dict) -> Any:
    raise RuntimeError(f"no kernel is attached to this run (gene_sdk.{name})")


class _Worker:
    """One worker process, its pipes and its private directory."""

    def __init__(self, config: SandboxConfig, root: Path) -> None:
        self.config = config
        self.dir = Path(tempfile.mkdtemp(prefix="worker-", dir=root))
        self.scratch = self.dir / "scratch"
        self.scratch.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.scratch, config.uid, config.gid)
        self.loaded: set[str] = set()
        self.calls = 0
        self.tainted = False
        self.cpu = 0.0
        self.confinement: Confinement | None = None
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        fcntl.fcntl(self.req_w, fcntl.F_SETFL, fcntl.fcntl(self.req_w, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.log_path = self.dir / "stderr.log"
        env = {"PYTHONPATH": _PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1", "LC_ALL": "C.UTF-8"}
        try:
            with open(self.log_path, "wb") as stderr:
                self.proc = subprocess.Popen(
                    [sys.executable, "-S", "-B", "-m", "sggit.runtime.sandbox.worker", str(req_r), str(resp_w)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    pass_fds=(req_r, resp_w), cwd=self.dir, env=env, start_new_session=True)
        except OSError as exc:
            for fd in (self.req_w, self.resp_r):
                os.close(fd)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise SandboxUnavailable(f"cannot start a sandbox worker with {sys.executable}: {exc}") from None
        finally:
            os.close(req_r)
            os.close(resp_w)
        self._writable = select.poll()
        self._writable.register(self.req_w, select.POLLOUT)
        self.reader = protocol.FrameReader(self.resp_r, max_frame=2 * config.max_output_bytes + (1 << 16))
        init = {"op": "init", "scratch": str(self.scratch), "uid": config.uid, "gid": config.gid,
                   "scratch_bytes": config.scratch_bytes, "rlimits": config.rlimits(),
                   "allowlist": list(config.allowlist), "cpu_seconds_per_call": config.cpu_seconds_per_call,
                   "max_output_bytes": config.max_output_bytes, "max_stdout_bytes": config.max_stdout_bytes,
                   "disable": list(config.disable), "entry_point": ENTRY_POINT}
        try:
            self.send(init, time.monotonic() + config.startup_timeout_seconds)
        except (OSError, protocol.Timeout):
            pass  # the worker died at once: wait_ready reports why from its stderr

    def send(self, message: dict, deadline: float) -> None:
        """Write a frame without ever blocking past `deadline` on a worker that stopped reading."""
        view = memoryview(protocol.encode(message))
        while view:
            try:
                view = view[os.write(self.req_w, view):]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise protocol.Timeout() from None
                self._writable.poll(max(1, int(remaining * 1000)))

    def wait_ready(self) -> Confinement:
        try:
            frame = self.reader.read(time.monotonic() + self.config.startup_timeout_seconds)
        except (EOFError, protocol.Timeout, protocol.ProtocolError) as exc:
            self.kill()
            raise SandboxUnavailable(f"a sandbox worker failed to start ({type(exc).__name__}): "
                                     f"{self.stderr_tail() or 'no output'}") from None
        if not isinstance(frame, dict) or frame.get("op") != "ready":
            self.kill()
            raise SandboxUnavailable(f"a sandbox worker sent {frame!r} instead of its ready report")
        self.confinement = Confinement(
            mechanisms=tuple(Mechanism(name=name, applied=bool(ok), detail=str(detail))
                             for name, (ok, detail) in frame["report"].items()),
            missing_modules=tuple(frame.get("missing_modules", ())))
        return self.confinement

    def stderr_tail(self, size: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
                return handle.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def exit_reason(self) -> tuple[ErrorKind, str]:
        """Why a worker's pipe closed: its exit status says whether a limit struck."""
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return "crash", "the worker closed its pipe but did not exit"
        signum = -code if code < 0 else code - 128 if code > 128 else 0
        if code == _EXIT_CPU or signum == signal.SIGXCPU:
            return "limit", f"CPU-time limit of {self.config.cpu_seconds_per_call} s per call exceeded"
        if signum == signal.SIGKILL:
            return "limit", "the worker was killed by SIGKILL (CPU-time hard limit or out of memory)"
        if signum == signal.SIGXFSZ:
            return "limit", f"file-size limit of {self.config.max_file_bytes} bytes exceeded"
        if signum == signal.SIGSYS:
            return "forbidden", "the worker was killed by its seccomp filter"
        tail = self.stderr_tail(500)
        what = f"signal {signal.Signals(signum).name}" if signum > 0 else f"status {code}"
        return "crash", f"the worker died with {what} during the gene" + (f": {tail}" if tail else "")

    def kill(self) -> None:
        if self.proc.returncode is None:  # once reaped, the group id may belong to someone else
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("sandbox worker %d did not die after SIGKILL", self.proc.pid)
        self._release_resources()

    def stop(self) -> None:
        """Ask politely (EOF on its request pipe), then make sure."""
        try:
            os.close(self.req_w)
            self.req_w = -1
            self.proc.wait(timeout=1)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _release_resources(self) -> None:
        for fd in (self.req_w, self.resp_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.req_w = self.resp_r = -1
        shutil.rmtree(self.dir, ignore_errors=True)


class WorkerPool:
    """Warm sandbox workers shared by the invocations of a run and the steps of a pathway.

    `run` is thread-safe; each call holds one worker. A worker whose gene timed out,
    crashed, hit a limit or tried something forbidden is killed and replaced, so the
    next gene never meets what the last one left behind.
    """

    def __init__(self, config: SandboxConfig | None = None, size: int = 2) -> None:
        if size < 1:
            raise SggitError(f"a worker pool needs at least one worker, not {size}")
        self.config = config or SandboxConfig()
        self.size = size
        try:
            if self.config.scratch_root is not None:
                self.config.scratch_root.mkdir(parents=True, exist_ok=True)
            self._root = Path(tempfile.mkdtemp(prefix="sggit-sandbox-", dir=self.config.scratch_root))
        except OSError as exc:
            raise SggitError(f"cannot create sandbox scratch under {self.config.scratch_root}: {exc}") from None
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._warned = False
        self._vacant = 0
        # Workers die with the thread that started them (PR_SET_PDEATHSIG follows the
        # thread, not the process), so one long-lived thread starts them all.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sggit-sandbox-spawn")
        self.confinement: Confinement | None = None
        workers: list[_Worker] = []
        try:
            for _ in range(size):  # all start before any is waited for: startups overlap
                workers.append(self._new_worker())
            for worker in workers:
                self._check(worker, worker.wait_ready())
                self._idle.put(worker)
        except BaseException:
            for worker in workers:
                worker.kill()
            shutil.rmtree(self._root, ignore_errors=True)
            self._spawner.shutdown()
            raise

    def _new_worker(self) -> _Worker:
        return self._spawner.submit(_Worker, self.config, self._root).result()

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers: tells a reused worker from a replaced one."""
        with self._idle.mutex:
            return [worker.proc.pid for worker in self._idle.queue]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, worker: _Worker, confinement: Confinement) -> None:
        self.confinement = confinement
        missing = confinement.missing(MECHANISMS)
        if not missing:
            return
        reasons = "; ".join(f"{m.name}: {m.detail}" for m in missing)
        if not self.config.allow_degraded:
            worker.kill()
            raise SandboxUnavailable(f"refusing to run genes unconfined, missing {reasons}",
                                     hint="`sggit doctor` lists what this host supports; "
                                          "allow_degraded=True runs anyway")
        if not self._warned:
            self._warned = True
            log.warning("sandbox running DEGRADED, missing %s", reasons)

    def _spawn(self) -> None:
        """Replace a discarded worker now; if that fails, the next `run` retries and reports why."""
        with self._lock:
            if self._closed:
                return
            self._vacant += 1
        try:
            self._fill_vacancy()
        except SandboxUnavailable as exc:
            log.error("cannot replace a sandbox worker: %s", exc)

    def _fill_vacancy(self) -> None:
        worker = self._new_worker()
        with self._lock:
            self._vacant -= 1
            if self._closed:
                worker.kill()
                return
            self._idle.put(worker)

    def _acquire(self) -> _Worker:
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                vacant = self._vacant > 0
            if vacant:
                self._fill_vacancy()
            worker = self._idle.get()
        if worker.confinement is None:
            try:
                self._check(worker, worker.wait_ready())
            except BaseException:
                self._spawn()
                raise
        return worker

    def _release(self, worker: _Worker, keep: bool) -> None:
        worn = (worker.calls >= self.config.max_calls_per_worker
                or worker.cpu + self.config.cpu_seconds_per_call + 1 > self.config.worker_cpu_seconds)
        with self._lock:
            if keep and not worn and not self._closed:
                self._idle.put(worker)
                return
        worker.kill()
        self._spawn()

    def run(self, allele_id: str, source: str, input_json: str, handler: Handler | None = None,
            timeout: float | None = None) -> GeneOutcome:
        """Run an allele's `execute(input_json)` in a warm worker; failures are outcomes, not exceptions."""
        if self._closed:
            raise SggitError("the worker pool is closed")
        if timeout is not None and timeout <= 0:
            raise SggitError(f"a gene timeout must be positive, not {timeout}")
        worker = self._acquire()
        start = time.perf_counter()
        keep = False
        try:
            outcome = self._converse(worker, allele_id, source, input_json, handler or _no_kernel,
                                     timeout or self.config.timeout_seconds, start)
            keep = outcome.error not in _DISCARD_KINDS and not worker.tainted
            return outcome
        finally:
            worker.calls += 1
            self._release(worker, keep)

    def _converse(self, worker: _Worker, allele_id: str, source: str, input_json: str,
                  handler: Handler, timeout: float, start: float) -> GeneOutcome:
        def failed(kind: ErrorKind, message: str) -> GeneOutcome:
            return GeneOutcome(ok=False, error=kind, message=message, duration=time.perf_counter() - start)

        deadline = time.monotonic() + timeout
        request: dict[str, Any] = {"op": "run", "allele": allele_id, "input": input_json}
        if allele_id not in worker.loaded:
            request["source"] = source
        try:
            worker.send(request, deadline)
            while True:
                frame = worker.reader.read(deadline)
                op = frame.get("op") if isinstance(frame, dict) else None
                if op == "call":
                    began = time.monotonic()
                    reply = self._perform(handler, frame)
                    deadline += time.monotonic() - began
                    worker.send(reply, deadline)
                elif op == "done":
                    worker.loaded.add(allele_id)
                    worker.cpu = float(frame.get("cpu", 0.0))
                    worker.tainted = frame.get("threads") != 0
                    if frame.get("ok") and isinstance(frame.get("output"), str):
                        return GeneOutcome(ok=True, output=frame["output"], duration=time.perf_counter() - start)
                    kind = frame.get("kind")
                    if kind not in ("limit", "exception", "forbidden", "bad_output"):
                        return failed("crash", f"the worker reported an unknown outcome {kind!r}")
                    return failed(kind, str(frame.get("message", "")))
                elif op == "need_source":
                    worker.send({**request, "source": source}, deadline)
                else:
                    return failed("crash", f"protocol violation: unexpected frame {str(frame)[:200]!r}")
        except protocol.Timeout:
            worker.kill()
            return failed("timeout", f"no result within the wall-clock timeout of {timeout:g} s")
        except (EOFError, BrokenPipeError):
            kind, message = worker.exit_reason()
            return failed(kind, message)
        except protocol.ProtocolError as exc:
            return failed("crash", f"protocol violation: {exc}")

    @staticmethod
    def _perform(handler: Handler, frame: dict) -> dict:
        name, args, kwargs = frame.get("name"), frame.get("args"), frame.get("kwargs")
        if not isinstance(name, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"op": "ret", "ok": False, "error": "malformed gene_sdk request"}
        try:
            reply = {"op": "ret", "ok": True, "value": handler(name, args, kwargs)}
            protocol.encode(reply)
        except Exception as exc:  # noqa: BLE001 - the kernel's failure belongs to the gene
            return {"op": "ret", "ok": False, "error": str(exc) or type(exc).__name__}
        return reply

    def close(self) -> None:
        """Stop every idle worker; workers still running a gene are killed when they return."""
        with self._lock:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                break
        self._spawner.shutdown(wait=True)
        shutil.rmtree(self._root, ignore_errors=True)
