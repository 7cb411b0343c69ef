"""Warm sandbox workers, one allele each, and the orchestrator's side of their pipes."""

from __future__ import annotations

import fcntl
import logging
import math
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sggit.errors import SggitError
from sggit.genome.said import quoted
from sggit.kernel.api import KernelError
from sggit.runtime.sandbox import protocol
from sggit.runtime.sandbox.config import ENTRY_POINT, MECHANISMS, SandboxConfig
from sggit.runtime.sandbox.leftovers import claim_root, remove_tree, sweep_leftovers
from sggit.runtime.sandbox.outcome import Confinement, ErrorKind, GeneOutcome, Mechanism
from sggit.runtime.sandbox.output import output_problem, safe_text
from sggit.runtime.sandbox.placement import Placed, Placement
from sggit.runtime.sandbox.spin import SpinPolicy

Handler = Callable[[str, list, dict], Any]

log = logging.getLogger("sggit.sandbox")

_EXIT_CPU = 75
_EXIT_CPU_LOWERED = 76
_EXIT_OUT_OF_TURN = 77
# A worker whose last answer took longer is neither spun for nor held on the caller's CPU:
# a slow gene costs one wasted spin window, and is left free to run on any CPU.
_QUICK_SECONDS = 1e-3
# CPU a gene process may use between calls beyond its linger windows: the tails of its answers.
# A gene that keeps its process busy after answering is scored for it, as for any limit.
_IDLE_CPU_SECONDS = 0.05
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
# Worse outcomes mean the worker may be damaged or hostile: never reuse it.
_DISCARD_KINDS = frozenset({"timeout", "crash", "limit", "forbidden", "cancelled"})
_WORKER_KINDS = frozenset({"limit", "exception", "forbidden", "bad_output"})


class SandboxUnavailable(SggitError):
    """The sandbox cannot start, or cannot confine a worker as the config demands."""


class OrchestratorError(SggitError):
    """sggit's own side failed during a gene call (a kernel or handler bug).

    It is raised out of `WorkerPool.run`, never turned into an outcome: the allele
    did nothing wrong and must not be scored for it.
    """


class _Forged(Exception):
    """A frame that does not answer the request in flight: the worker is not trusted any more."""


class _Stale(Exception):
    """The worker's own answer to an earlier request, read before any frame of this one."""


def _no_kernel(name: str, args: list, kwargs: dict) -> Any:
    raise KernelError(f"no kernel is attached to this run (gene_sdk.{name})")


class _Worker:
    """One worker process, its pipes, its private directory and the one allele it may run."""

    def __init__(self, config: SandboxConfig, root: Path) -> None:
        self.config = config
        self.dir = Path(tempfile.mkdtemp(prefix="worker-", dir=root))
        self.scratch = self.dir / "scratch"
        self.scratch.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.scratch, config.uid, config.gid)
        self.allele: str | None = None
        self.secret = b""  # the relay makes it and sends it first
        self.unseal: Any = None
        self.stamp = protocol.NO_STAMP
        self.serial = 0
        self._nonces = b""
        self.calls = 0
        self.quick = True  # its last answer came soon enough to spin for, or hold, the next
        self.spoiled = False
        self.cancelled = False  # ended by `WorkerPool.cancel`: its death is the caller's doing
        self.cpu = 0.0
        self.placed = Placed(())  # its relay and gene process, once the ready report names them
        self._schedstat = -1  # the gene process's /proc schedstat, read as the pool sees it, not as the gene says
        # Since the gene process's CPU time was last read (`cpu_mark`, at `mark_at`): the wall time of
        # its calls, and the linger windows it was given. See `idle_cpu_beyond`.
        self.cpu_mark: float | None = None
        self.mark_at = 0.0
        self.busy = 0.0
        self.lingered = 0.0
        self.held = False  # serving a call held on the caller's CPU (see `placement`)
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
        # ensure_ascii may write a character as 6 bytes; anything larger is not a frame of ours.
        max_frame = 6 * config.max_output_bytes + (1 << 16)
        self.reader = protocol.FrameReader(self.resp_r, max_frame=max_frame + protocol.MAC_SIZE)
        init = {"scratch": str(self.scratch), "uid": config.uid, "gid": config.gid, "max_frame": max_frame,
                "scratch_bytes": config.scratch_bytes, "rlimits": config.rlimits(),
                "allowlist": list(config.allowlist), "cpu_seconds_per_call": config.cpu_seconds_per_call,
                "max_output_bytes": config.max_output_bytes, "max_stdout_bytes": config.max_stdout_bytes,
                "disable": list(config.disable), "entry_point": ENTRY_POINT}
        try:
            self.send(protocol.frame(protocol.INIT, protocol.body(init)), time.monotonic() + config.startup_timeout_seconds)
        except (OSError, protocol.Timeout):
            pass  # the worker died at once: wait_ready reports why from its stderr

    def send(self, data: bytes, deadline: float) -> None:
        """Write frames without ever blocking past `deadline` on a worker that stopped reading."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.req_w, view):]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise protocol.Timeout() from None
                self._writable.poll(min(3_600_000, max(1, int(remaining * 1000))))  # poll() takes a C int of milliseconds

    def next_stamp(self) -> bytes:
        """A stamp for the next request: its id and a nonce the gene cannot guess.

        Nonces are drawn from the kernel a few hundred at a time, not one syscall per call;
        the pool's memory is as far from the gene as the kernel's.
        """
        self.serial += 1
        size = protocol.STAMP_SIZE - protocol.SERIAL.size
        if not self._nonces:
            self._nonces = os.urandom(size * 256)
        nonce, self._nonces = self._nonces[:size], self._nonces[size:]
        self.stamp = protocol.SERIAL.pack(self.serial) + nonce
        return self.stamp

    def answer(self, deadline: float, first: bool, spin: float = 0.0) -> tuple[bytes, dict]:
        """The next frame's tag and body: sealed by this worker's relay and stamped for the request in flight."""
        began = time.monotonic()
        payload = self.reader.read(deadline, spin)
        self.quick = time.monotonic() - began <= _QUICK_SECONDS
        try:
            tag, stamp, text = self.unseal(payload)
        except protocol.ProtocolError:
            raise _Forged() from None
        if tag == protocol.DISCARDED:  # the relay ended the worker: whatever the stamp, the call is forbidden
            return tag, protocol.decode(text)
        if stamp != self.stamp:
            # Id 0 is no request's: a gene could send it on every first call and be retried forever.
            if first and len(stamp) == protocol.STAMP_SIZE and 0 < protocol.SERIAL.unpack_from(stamp)[0] < self.serial:
                raise _Stale()
            raise _Forged()
        return tag, protocol.decode(text)

    def wait_ready(self) -> Confinement:
        deadline = time.monotonic() + self.config.startup_timeout_seconds
        try:
            key = self.reader.read(deadline)
            if key[:1] != protocol.KEY or len(key) != 1 + protocol.KEY_SIZE:
                raise protocol.ProtocolError("the worker's first frame is not its key")
            self.secret = key[1:]
            self.unseal = protocol.unsealer(self.secret)
            tag, frame = self.answer(deadline, first=False)
            self.quick = True  # how long it took to start says nothing of how soon its gene answers
        except (EOFError, protocol.Timeout, protocol.ProtocolError, _Forged) as exc:
            self.kill()
            raise SandboxUnavailable(f"a sandbox worker failed to start ({type(exc).__name__}): "
                                     f"{self.stderr_tail() or 'no output'}") from None
        if tag != protocol.READY or not isinstance(frame, dict) or not isinstance(frame.get("report"), dict):
            self.kill()
            raise SandboxUnavailable(f"a sandbox worker sent {str(frame)[:200]!r} instead of its ready report")
        self.confinement = Confinement(
            mechanisms=tuple(Mechanism(name=name, applied=bool(ok), detail=str(detail))
                             for name, (ok, detail) in frame["report"].items()),
            missing_modules=tuple(frame.get("missing_modules", ())))
        gene_pid = frame.get("gene_pid")
        if type(gene_pid) is int and gene_pid > 0:
            proc = self.proc
            self.placed = Placed((proc.pid, gene_pid), alive=lambda: proc.poll() is None)
            try:
                self._schedstat = os.open(f"/proc/{gene_pid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self._schedstat = -1  # no schedstat (an unusual kernel): CPU between calls is bounded by RLIMIT_CPU alone
        return self.confinement

    def gene_cpu(self) -> float | None:
        """CPU seconds the gene process has used, from the kernel; None where it cannot be read."""
        if self._schedstat < 0:
            return None
        try:
            return int(os.pread(self._schedstat, 64, 0).split(None, 1)[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def idle_cpu_beyond(self, now: float) -> float | None:
        """CPU seconds the gene process used between calls, at least, when that is more than lingering explains.

        The gene process has one thread (seccomp refuses starting another), so in a call it
        uses no more CPU than the call's wall time: what it used since the mark beyond its
        calls' wall time it used between them. Nor can it have used more between calls than
        the wall time between them, so until that passes the allowance the kernel is not
        asked at all, and back-to-back calls read nothing.
        """
        allowed = _IDLE_CPU_SECONDS + self.lingered
        if self.cpu_mark is not None and (now - self.mark_at) - self.busy <= allowed:
            return None
        cpu = self.gene_cpu()
        if cpu is None:
            return None
        idle = None if self.cpu_mark is None else (cpu - self.cpu_mark) - self.busy
        self.cpu_mark, self.mark_at, self.busy, self.lingered = cpu, now, 0.0, 0.0
        return idle if idle is not None and idle > allowed else None

    def replies_unread(self) -> bool:
        """Whether the gene process left a gene_sdk reply unread: it wrote its next frame without waiting for it."""
        return struct.unpack("i", fcntl.ioctl(self.req_w, termios.FIONREAD, b"\0\0\0\0"))[0] > 0

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
        if code == _EXIT_CPU_LOWERED:
            return "exception", ("the gene lowered its own CPU-time limit and hit it "
                                 f"(the sandbox allows {self.config.cpu_seconds_per_call} s per call)")
        if code == _EXIT_OUT_OF_TURN:
            return "forbidden", ("the gene wrote to its relay outside a request (a forged or repeated answer); "
                                 "the worker was discarded")
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
        return "crash", f"the worker died with {what} during the gene" + (f"; its stderr ends {quoted(tail)}" if tail else "")

    def end(self, *, cancelled: bool = False) -> None:
        """SIGKILL the worker's processes and nothing more: the thread serving its call cleans up."""
        self.cancelled = self.cancelled or cancelled
        if self.proc.returncode is None:  # once reaped, the group id may belong to someone else
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        self.end()
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
        for fd in (self.req_w, self.resp_r, self._schedstat):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.req_w = self.resp_r = self._schedstat = -1
        remove_tree(self.dir)


class WorkerPool:
    """Warm sandbox workers, each bound to the one allele it first ran.

    A worker never runs a second allele, so nothing one allele does to its worker
    (patched modules, forged frames, lowered limits) can reach another allele or the
    diagnostic that judges it. `size` started workers wait unbound for new alleles;
    up to `config.warm_workers` bound ones stay warm, least recently used evicted
    first. `run` is thread-safe; each call holds one worker.
    """

    def __init__(self, config: SandboxConfig | None = None, size: int = 2,
                 spin: SpinPolicy | None = None) -> None:
        if size < 1:
            raise SggitError(f"a worker pool needs at least one worker, not {size}")
        self.config = config or SandboxConfig()
        self.size = size
        try:
            parent = self.config.scratch_root or Path(tempfile.gettempdir())
            parent.mkdir(parents=True, exist_ok=True)
            sweep_leftovers(parent)
            self._root = Path(tempfile.mkdtemp(prefix="sggit-sandbox-", dir=parent))
            self._claim = claim_root(self._root)
        except OSError as exc:
            raise SggitError(f"cannot create sandbox scratch under {self.config.scratch_root}: {exc}") from None
        self._spares: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._warm: OrderedDict[str, list[_Worker]] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self._warned = False
        self._starting = 0
        self._spin = spin or SpinPolicy(self.config.answer_spin_seconds)
        self._placement = Placement(self.config.colocate_calls)
        # Calls in flight: with more than one, a spinning thread would hold up the others,
        # and calls held on their callers' CPUs could end up sharing one.
        self._running = 0
        self._busy: set[_Worker] = set()  # serving a call now: what `cancel` ends
        # Spares to keep ready; grows when callers find none (a burst of new alleles, such as
        # candidates being judged), so starting workers overlaps with running them.
        self._target = size
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
                self._spares.put(worker)
        except BaseException:
            for worker in workers:
                worker.kill()
            self._spawner.shutdown()
            self._release_root()
            raise

    def _new_worker(self) -> _Worker:
        return self._spawner.submit(_Worker, self.config, self._root).result()

    def _release_root(self) -> None:
        remove_tree(self._root)
        os.close(self._claim)

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers, unbound and warm: tells a reused worker from a replaced one."""
        with self._lock:
            with self._spares.mutex:
                pids = [worker.proc.pid for worker in self._spares.queue]
            return pids + [w.proc.pid for workers in self._warm.values() for w in workers]

    def warm_pids(self, allele_id: str) -> list[int]:
        """Process ids of the idle workers bound to `allele_id`."""
        with self._lock:
            return [worker.proc.pid for worker in self._warm.get(allele_id, ())]

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

    def _replenish(self) -> None:
        """Start a spare in the background when one was taken; the spawner thread owns every worker."""
        with self._lock:
            missing = self._target - self._spares.qsize() - self._starting
            if self._closed or missing <= 0:
                return
            self._starting += missing
        for _ in range(missing):
            self._spawner.submit(self._start_spare)

    def _start_spare(self) -> None:
        try:
            worker = _Worker(self.config, self._root)
        except SandboxUnavailable as exc:
            log.error("cannot start a spare sandbox worker: %s", exc)
            with self._lock:
                self._starting -= 1
            return
        with self._lock:
            self._starting -= 1
            if not self._closed:
                self._spares.put(worker)
                return
        worker.kill()

    def _acquire(self, allele_id: str) -> _Worker:
        with self._lock:
            bound = self._warm.get(allele_id)
            if bound:
                worker = bound.pop()
                if not bound:
                    del self._warm[allele_id]
                return worker
        try:
            worker = self._spares.get_nowait()
        except queue.Empty:
            with self._lock:
                self._target = min(2 * self._target, self.size + self.config.warm_workers)
            worker = self._new_worker()
        if worker.confinement is None:
            try:
                self._check(worker, worker.wait_ready())
            except BaseException:
                worker.kill()
                raise
        return worker

    def _release(self, worker: _Worker, keep: bool) -> None:
        worn = (worker.calls >= self.config.max_calls_per_worker
                or worker.cpu + self.config.cpu_seconds_per_call + 1 > self.config.worker_cpu_seconds)
        evicted: list[_Worker] = []
        kept = False
        with self._lock:
            if keep and not worn and not self._closed and worker.allele is not None:
                kept = True
                self._warm.setdefault(worker.allele, []).append(worker)
                self._warm.move_to_end(worker.allele)
                count = sum(len(workers) for workers in self._warm.values())
                while count > self.config.warm_workers:
                    oldest = next(iter(self._warm))
                    evicted.append(self._warm[oldest].pop(0))
                    if not self._warm[oldest]:
                        del self._warm[oldest]
                    count -= 1
        for stale in evicted:
            stale.kill()
        if not kept:
            worker.kill()

    def _clean(self, allele_id: str) -> _Worker:
        """A worker for `allele_id` whose response pipe is empty; one with anything pending is discarded."""
        while True:
            worker = self._acquire(allele_id)
            if not worker.reader.pending():
                return worker
            if worker.proc.poll() is not None:
                log.warning("discarding sandbox worker %d of allele %s: it died while idle (%s)",
                            worker.proc.pid, allele_id, worker.exit_reason()[1])
            else:
                log.warning("discarding sandbox worker %d of allele %s: it wrote outside a request",
                            worker.proc.pid, allele_id)
            worker.kill()

    def run(self, allele_id: str, source: str, input_json: str, handler: Handler | None = None,
            timeout: float | None = None) -> GeneOutcome:
        """Run an allele's `execute(input_json)` in a worker of its own.

        Anything the gene does is an outcome; only sggit's own failures raise
        (`OrchestratorError`, `SandboxUnavailable`, misuse such as a closed pool).
        """
        if self._closed:
            raise SggitError("the worker pool is closed")
        if timeout is not None and not timeout > 0:
            raise SggitError(f"a gene timeout must be positive, not {timeout}")
        while True:
            worker = self._clean(allele_id)
            start = time.perf_counter()
            spare = worker.calls == 0
            keep = False
            with self._lock:
                self._running += 1
                alone = self._running == 1
                self._busy.add(worker)
            held = None
            choice = self._placement.choice
            try:
                eligible = alone and worker.quick and self._placement.enabled and self._spin.gate.is_quiet()
                home = worker.placed.home
                if eligible and (choice.wants_hold(worker.placed) if not spare else choice.hold):
                    held = self._placement.hold(worker.placed)
                if held is None:
                    self._placement.free(worker.placed)
                worker.held = held is not None
                idle = worker.idle_cpu_beyond(time.monotonic())
                if idle is not None:
                    return GeneOutcome(ok=False, error="limit", duration=time.perf_counter() - start, message=(
                        f"the gene process kept running after its answers (at least {idle:.2f} s of CPU between "
                        f"calls, where the sandbox allows {_IDLE_CPU_SECONDS:g} s); the worker was discarded"))
                outcome = self._converse(worker, allele_id, source, input_json, handler or _no_kernel,
                                         timeout or self.config.timeout_seconds, start)
                worker.busy += time.perf_counter() - start
                keep = outcome.error not in _DISCARD_KINDS and not worker.spoiled
                if eligible and not spare and outcome.ok:
                    choice.observe(worker.placed, worker.held, outcome.duration, moved=worker.placed.home != home)
                return outcome
            except _Stale:
                # Nothing of this request ran on sggit's side yet: start it again in a fresh worker.
                log.warning("discarding sandbox worker %d of allele %s: it answered an earlier request twice",
                            worker.proc.pid, allele_id)
            finally:
                if held is not None:
                    self._placement.release(held)
                worker.held = False
                with self._lock:
                    self._running -= 1
                    self._busy.discard(worker)
                worker.calls += 1
                self._release(worker, keep)
                if spare:  # after the call, so starting one in its place does not slow it down
                    self._replenish()

    def cancel(self) -> None:
        """End every call in flight now, as the user stopped the run: each comes back as its worker's death.

        Only the signal is sent from here; each call's own thread reads the end of
        its pipe, reaps the worker and discards it, as for any worker that died.
        """
        with self._lock:
            busy = list(self._busy)
        for worker in busy:
            worker.end(cancelled=True)

    def spin_window(self, worker: _Worker) -> float:
        """How long to spin for `worker`'s next answer before sleeping: 0 unless it pays (see `spin`).

        Only a worker that answered quickly last time is spun for, and only while this
        call is the pool's one call in flight: a spinning thread holds the GIL. A call
        held on the caller's CPU is never spun for: the spin would keep the worker,
        pinned to the same CPU, from answering.
        """
        if worker.held or not worker.quick or self._running != 1:
            return 0.0
        return self._spin.current()

    def _converse(self, worker: _Worker, allele_id: str, source: str, input_json: str,
                  handler: Handler, timeout: float, start: float) -> GeneOutcome:
        def failed(kind: ErrorKind, message: str) -> GeneOutcome:
            return GeneOutcome(ok=False, error=kind, message=safe_text(message),
                               duration=time.perf_counter() - start)

        deadline = time.monotonic() + timeout
        request: dict[str, Any] = {"allele": allele_id, "input": input_json}
        if worker.allele is None:
            request["source"] = source
        elif worker.allele != allele_id:
            raise OrchestratorError(f"a sandbox worker of allele {worker.allele} was handed allele {allele_id}")
        spin = self.spin_window(worker)
        if 0 < spin < math.inf:
            request["linger"] = linger = min(spin, protocol.MAX_LINGER_SECONDS)  # it polls for replies and the next request too
            worker.lingered += linger  # after its answer; lingering for a reply is within the call
        try:
            worker.send(protocol.stamped(protocol.RUN, worker.next_stamp(), request), deadline)
            worker.allele = allele_id
            first = True
            replied = False
            while True:
                tag, frame = worker.answer(deadline, first, spin)
                first = False
                if replied and tag != protocol.DISCARDED and worker.replies_unread():
                    return failed("forbidden", "the gene wrote again before its gene_sdk call was answered "
                                               "(a forged or repeated answer); the worker was discarded")
                if tag == protocol.CALL:
                    if time.monotonic() >= deadline:
                        raise protocol.Timeout()
                    reply = self._perform(handler, frame)
                    if time.monotonic() >= deadline:
                        raise protocol.Timeout()
                    worker.send(protocol.stamped(protocol.RET, worker.stamp, reply), deadline)
                    replied = True
                elif tag == protocol.DONE:
                    return self._finish(worker, frame, failed, start)
                elif tag == protocol.DISCARDED:
                    return failed("forbidden", f"{frame.get('message', 'the relay discarded the gene process')}; "
                                               "the worker was discarded")
                else:
                    raise _Forged()
        except protocol.Timeout:
            worker.kill()
            return failed("timeout", f"no result within the wall-clock timeout of {timeout:g} s "
                                     "(kernel calls included)")
        except (EOFError, BrokenPipeError):
            if worker.cancelled:  # discarded after the call, as every worker that died
                return failed("cancelled", "the call was cancelled (the run was interrupted); the worker was discarded")
            kind, message = worker.exit_reason()
            return failed(kind, message)
        except _Forged:
            return failed("forbidden", "the worker sent a frame that answers no request in flight "
                                       "(a forged or stale answer); the worker was discarded")
        except protocol.ProtocolError as exc:
            return failed("crash", f"protocol violation: {exc}")
        except OrchestratorError:
            worker.kill()
            raise

    def _finish(self, worker: _Worker, frame: dict, failed: Callable[[ErrorKind, str], GeneOutcome],
                start: float) -> GeneOutcome:
        cpu = frame.get("cpu", 0.0)
        worker.cpu = float(cpu) if isinstance(cpu, (int, float)) else float("inf")
        # Threads left running, limits changed or scratch not emptied: the next call would inherit them.
        worker.spoiled = frame.get("threads") != 0 or bool(frame.get("spoiled"))
        if frame.get("ok"):
            output = frame.get("output")
            if not isinstance(output, str):
                return failed("bad_output", "the worker returned no output text")
            problem = output_problem(output, self.config.max_output_bytes)
            if problem is not None:
                return failed("bad_output", problem)
            return GeneOutcome(ok=True, output=output, duration=time.perf_counter() - start)
        kind = frame.get("kind")
        if kind not in _WORKER_KINDS:
            return failed("crash", f"the worker reported an unknown outcome {str(kind)[:50]!r}")
        # Written in the gene's own process, so the gene's words whatever the worker's code meant to say.
        return failed(kind, f"its process said {quoted(str(frame.get('message', '')))}")

    @staticmethod
    def _perform(handler: Handler, frame: dict) -> dict:
        """One gene_sdk call: a KernelError is the gene's to handle; anything else is sggit's bug."""
        name, args, kwargs = frame.get("name"), frame.get("args"), frame.get("kwargs")
        if not isinstance(name, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"ok": False, "error": "malformed gene_sdk request"}
        try:
            value = handler(name, args, kwargs)
        except KernelError as exc:
            return {"ok": False, "error": str(exc) or type(exc).__name__}
        except Exception as exc:
            raise OrchestratorError(f"gene_sdk.{name[:80]} failed inside sggit, not in the gene: "
                                    f"{type(exc).__name__}: {safe_text(str(exc))}") from exc
        reply = {"ok": True, "value": value}
        try:
            protocol.body(reply)
        except (TypeError, ValueError, RecursionError) as exc:
            raise OrchestratorError(f"gene_sdk.{name[:80]} returned a value that is not JSON: {exc}") from exc
        return reply

    def close(self) -> None:
        """Stop every idle worker; workers still running a gene are killed when they return."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            warm = [w for workers in self._warm.values() for w in workers]
            self._warm.clear()
        for worker in warm:
            worker.kill()
        self._spawner.shutdown(wait=True)
        while True:
            try:
                self._spares.get_nowait().stop()
            except queue.Empty:
                break
        self._release_root()
