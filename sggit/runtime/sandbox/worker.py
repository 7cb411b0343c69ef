"""The sandbox worker: confines itself, then runs allele code on request (stdlib only).

Started by the pool as `python -S -B -m sggit.runtime.sandbox.worker IN_FD OUT_FD`.
After making its namespaces it splits in two (see `relay`): the parent keeps the
orchestrator's response pipe and seals what it passes on; the child, the gene
process, reads requests and writes only to its parent. The gene process confines itself before it has seen any
gene: a private scratch
tmpfs, rlimits, Landlock, an unprivileged uid and a seccomp filter. The import
allowlist and the bounded stdout below are conveniences that turn common mistakes
into clear errors; the kernel mechanisms are what hold a hostile gene.
"""

from __future__ import annotations

import _thread
import builtins
import errno
import importlib
import os
import resource
import signal
import sys
import time
import types
from typing import Any

from sggit.runtime.sandbox import confine, protocol, relay

EXIT_CPU = 75
EXIT_CPU_LOWERED = 76  # the gene lowered its own CPU limit: its doing, not the sandbox's limit
EXIT_PROTOCOL = 79  # the orchestrator sent something that is not a request
_CODE_CACHE_SIZE = 256
# Modules the allowlisted ones load lazily; the filesystem is closed after startup.
_SUPPORT_MODULES = (
    "_strptime", "collections.abc", "json.decoder", "json.encoder", "json.scanner",
    "encodings.ascii", "encodings.latin_1", "encodings.utf_8", "encodings.utf_16",
    "encodings.utf_32", "encodings.idna", "encodings.unicode_escape",
    "encodings.raw_unicode_escape",
)
_HIDDEN_BUILTINS = ("breakpoint", "input", "help", "exit", "quit", "copyright", "credits", "license")


class ForbiddenImport(ImportError):
    """A gene imported something outside the allowlist."""


class OutputLimit(Exception):
    """A gene printed more than its stdout allowance."""


class KernelError(Exception):
    """A gene_sdk call failed on the orchestrator's side; raised inside the gene."""


class _LockedImports:
    """Meta-path finder that refuses every module not already loaded at lock time."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        raise ForbiddenImport(f"module {name!r} is not available in the sandbox")


class _BoundedOut:
    """The gene's sys.stdout/stderr: counts characters and discards them."""

    encoding = "utf-8"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        if self.written > self.limit:
            raise OutputLimit(f"printed more than the stdout limit of {self.limit} characters")
        return len(text)

    def flush(self) -> None:
        return None

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False


class _Channel:
    """The gene process's pipes: requests straight from the orchestrator, everything it writes to the relay.

    Whatever it writes carries the stamp of the request it answers; the relay, a
    process the gene cannot reach, seals it with a key the gene never sees.
    """

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.stamp = protocol.NO_STAMP
        self.reader = protocol.BlockingReader(fd_in)
        self.linger = 0.0
        """How long to keep polling for the orchestrator's next frame before sleeping, as its last request said."""

    def send(self, tag: bytes, message: dict) -> None:
        protocol.write_all(self.fd_out, protocol.stamped(tag, self.stamp, message))

    def receive(self) -> tuple[bytes, dict]:
        frame = self.reader.read(self.linger)
        self.stamp = frame[5:5 + protocol.STAMP_SIZE]
        return frame[4:5], protocol.decode(frame[5 + protocol.STAMP_SIZE:])

    def call(self, name: str, args: list, kwargs: dict) -> Any:
        try:
            frame = protocol.stamped(protocol.CALL, self.stamp, {"name": name, "args": args, "kwargs": kwargs})
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(f"gene_sdk.{name}: arguments must be JSON values ({exc})") from None
        protocol.write_all(self.fd_out, frame)
        tag, reply = self.receive()
        if tag != protocol.RET:
            raise KernelError(f"gene_sdk.{name}: unexpected reply from the orchestrator")
        if reply.get("ok"):
            return reply.get("value")
        raise KernelError(str(reply.get("error", "kernel error")))


def _make_gene_sdk(channel: _Channel) -> types.ModuleType:
    class GeneSdk(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)

            def forward(*args: Any, **kwargs: Any) -> Any:
                return channel.call(name, list(args), kwargs)

            forward.__name__ = name
            return forward

    module = GeneSdk("gene_sdk", "The kernel, reached through the orchestrator.")
    module.KernelError = KernelError  # type: ignore[attr-defined]
    return module


def _guarded_import_factory(allowed: frozenset[str]):
    real_import = builtins.__import__

    def guarded_import(name: str, globals: Any = None, locals: Any = None,
                       fromlist: Any = (), level: int = 0) -> Any:
        if level != 0:
            raise ForbiddenImport("relative imports are not available to a gene")
        if name.partition(".")[0] not in allowed:
            raise ForbiddenImport(f"import of {name!r} is not allowed in a gene "
                                  f"(allowed: {', '.join(sorted(allowed))})")
        return real_import(name, globals, locals, fromlist, level)

    return guarded_import


def _clear_dir(path: str) -> None:
    """Empty `path` whatever modes a gene gave its entries: the worker owns them, so it may chmod them."""
    with os.scandir(path) as entries:
        for entry in entries:
            child = os.path.join(path, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    os.chmod(child, 0o700)
                    _clear_dir(child)
                    os.rmdir(child)
                else:
                    os.unlink(child)
            except OSError:
                pass


def _where(exc: BaseException) -> str:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<allele "):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (allele line {line})" if line else ""


_MESSAGE_LIMIT = 2000


def _describe(exc: BaseException) -> str:
    """The exception as text, even when a gene's own exception class cannot say itself."""
    try:
        said = str(exc)
    except BaseException:  # noqa: BLE001 - a gene-defined __str__ may do anything
        said = "<unprintable>"
    if not isinstance(said, str):
        said = "<unprintable>"
    return said if len(said) <= _MESSAGE_LIMIT else said[:_MESSAGE_LIMIT] + "..."


def _lowered(name: str, limits: dict) -> str | None:
    """Set when the gene itself lowered limit `name` below the sandbox's: then hitting it is the gene's doing."""
    soft, _hard = resource.getrlimit(getattr(resource, name))
    if soft != resource.RLIM_INFINITY and soft < limits[name]:
        return f"the gene lowered its own {name} to {soft} (the sandbox allows {limits[name]})"
    return None


def _limit(name: str, what: str, text: str, limits: dict) -> tuple[str, str]:
    lowered = _lowered(name, limits)
    if lowered is not None:
        return "exception", f"{lowered}: {text}"
    return "limit", f"{what} of {limits[name]}{' bytes' if name != 'RLIMIT_NOFILE' else ''} reached: {text}"


def classify(exc: BaseException, limits: dict) -> tuple[str, str]:
    """Map what a gene raised to an outcome kind and a reason a person can act on.

    A limit failure always names the limit the orchestrator set; one the gene set
    on itself is the gene's own exception.
    """
    text = f"{type(exc).__name__}: {_describe(exc)}{_where(exc)}"
    if isinstance(exc, ForbiddenImport):
        return "forbidden", text
    if isinstance(exc, MemoryError):
        return _limit("RLIMIT_AS", "address-space limit", text, limits)
    if isinstance(exc, OutputLimit):
        return "limit", text
    if isinstance(exc, RecursionError):
        return "exception", text
    if isinstance(exc, OSError):
        if exc.errno == errno.EFBIG:
            return _limit("RLIMIT_FSIZE", "file-size limit", text, limits)
        if exc.errno == errno.ENOSPC:
            return "limit", f"scratch space is full: {text}"
        if exc.errno in (errno.EMFILE, errno.ENFILE):
            return _limit("RLIMIT_NOFILE", "open-file limit", text, limits)
        if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS, errno.ENOSYS):
            return "forbidden", f"the sandbox refused: {text}"
    if isinstance(exc, RuntimeError) and "new thread" in text:
        return "forbidden", f"threads are not available in the sandbox: {text}"
    if isinstance(exc, KernelError):
        return "exception", f"kernel error: {_describe(exc)}{_where(exc)}"
    return "exception", text


class Runner:
    """Runs the one allele this worker is bound to, with fresh module globals each time.

    The first request binds the worker; a request for any other allele is refused,
    so nothing a gene does to this process can reach another allele. Output is
    handed back as the gene returned it: judging it is the orchestrator's job.
    """

    def __init__(self, init: dict, channel: _Channel) -> None:
        self.channel = channel
        self.limits: dict = init["rlimits"]
        self.cpu_per_call = int(init["cpu_seconds_per_call"])
        self.max_output = int(init["max_output_bytes"])
        self.stdout = _BoundedOut(int(init["max_stdout_bytes"]))
        self.entry_point = str(init.get("entry_point", "execute"))
        self.allele: str | None = None
        self.code: Any = None
        self.armed_cpu = -1
        self.cpu = 0.0  # as of the end of the last call (lingering for the next request uses a little more)
        self.clean_ctime = -1
        self.expected = {getattr(resource, name): (value, value) for name, value in self.limits.items()
                         if name != "RLIMIT_CPU"}
        allowed = frozenset(init["allowlist"])
        self.builtins = {k: v for k, v in vars(builtins).items() if k not in _HIDDEN_BUILTINS}
        self.builtins["__import__"] = _guarded_import_factory(allowed)

    def _cpu_used(self) -> float:
        return time.process_time()  # the clock RLIMIT_CPU counts, in one cheap call

    def _arm_cpu_limit(self) -> None:
        hard = self.limits["RLIMIT_CPU"]
        soft = min(hard, int(self._cpu_used()) + self.cpu_per_call + 1)  # lingering between calls used some too
        if soft != self.armed_cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            self.armed_cpu = soft

    def _limits_intact(self) -> bool:
        """Whether the rlimits a gene can change are still what the orchestrator set.

        With seccomp only RLIMIT_CPU can be changed (the worker moves it each call);
        without, a gene may lower any of its own.
        """
        for which, expected in self.expected.items():
            if resource.getrlimit(which) != expected:
                return False
        return resource.getrlimit(resource.RLIMIT_CPU) == (self.armed_cpu, self.limits["RLIMIT_CPU"])

    def _wipe_scratch(self) -> bool:
        """Empty scratch; its ctime moves whenever an entry is added, removed or touched. False if it stays dirty."""
        if os.stat(".").st_ctime_ns == self.clean_ctime:
            return True
        os.chmod(".", 0o700)
        _clear_dir(".")
        self.clean_ctime = os.stat(".").st_ctime_ns
        with os.scandir(".") as left:
            return next(left, None) is None

    def _done(self, ok: bool, **fields: Any) -> dict:
        # Threads a gene left running could meddle with its next call: the pool discards such a worker.
        self.cpu = self._cpu_used()
        return {"ok": ok, "cpu": self.cpu, "threads": _thread._count(), **fields}

    def _bind(self, request: dict) -> dict | None:
        allele = request["allele"]
        if self.allele is not None:
            if allele == self.allele:
                return None
            return self._done(False, kind="forbidden", spoiled=True,
                              message=f"this worker runs allele {self.allele} only, not {allele}")
        source = request.get("source")
        if not isinstance(source, str):
            return self._done(False, kind="exception", message="no source was sent for the allele")
        self.allele = allele
        try:
            self.code = compile(source, f"<allele {allele}>", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            return self._done(False, kind="exception", message=f"{type(exc).__name__}: {_describe(exc)}")
        return None

    def run(self, request: dict) -> dict:
        refused = self._bind(request)
        if refused is not None:
            return refused
        if self.code is None:
            return self._done(False, kind="exception", message="the allele's source does not compile")
        self._arm_cpu_limit()
        self.stdout.written = 0
        sys.stdout = sys.stderr = self.stdout  # type: ignore[assignment]
        namespace = {"__builtins__": self.builtins, "__name__": "allele"}
        try:
            exec(self.code, namespace)
            entry = namespace.get(self.entry_point)
            if not callable(entry):
                return self._done(False, kind="exception",
                                  message=f"the allele defines no {self.entry_point}(input_json) function")
            output = entry(request["input"])
            if type(output) is not str:
                return self._done(False, kind="bad_output",
                                  message=f"{self.entry_point} returned {type(output).__name__}, not a JSON string")
            if len(output) > self.max_output:
                return self._done(False, kind="bad_output",
                                  message=f"output of {len(output)} characters exceeds {self.max_output}")
            return self._done(True, output=output)
        except BaseException as exc:  # noqa: BLE001 - every failure of a gene is an outcome
            kind, message = classify(exc, self.limits)
            return self._done(False, kind=kind, message=message)
        finally:
            namespace.clear()

    def serve(self, request: dict) -> dict:
        """One request, then the checks that the next one meets a clean worker."""
        try:
            done = self.run(request)
        except BaseException as exc:  # noqa: BLE001 - even the worker's own checks meet a gene's damage
            done = self._done(False, kind="exception", message=f"{type(exc).__name__}: {_describe(exc)}")
        try:
            clean = self._wipe_scratch() and self._limits_intact()
        except OSError:
            clean = False
        if not clean:
            done["spoiled"] = True
        return done


def _preimport(allowlist: list[str]) -> list[str]:
    missing = []
    for name in [*allowlist, *_SUPPORT_MODULES]:
        if name == "gene_sdk":
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _lock_imports(gene_sdk: types.ModuleType) -> None:
    sys.modules["gene_sdk"] = gene_sdk
    for name in ("socket", "_socket", "subprocess", "_posixsubprocess", "ctypes", "_ctypes",
                 "sggit.runtime.sandbox.confine", "sggit.runtime.sandbox._syscalls", "sggit.runtime.sandbox.relay"):
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, _LockedImports())  # type: ignore[arg-type]
    sys.path_hooks.clear()
    sys.path_importer_cache.clear()


def main(argv: list[str]) -> None:
    fd_in, fd_out = int(argv[0]), int(argv[1])
    confine.parent_death_signal(signal.SIGKILL)
    init = protocol.decode(protocol.read_payload(fd_in)[1:])
    disabled = frozenset(init.get("disable", ()))

    def apply(name: str, step: Any, *args: Any) -> None:
        report[name] = (False, "disabled by configuration") if name in disabled else step(*args)

    report: dict[str, tuple[bool, str]] = {"no_new_privs": confine.no_new_privs()}
    namespaces = confine.unshare_namespaces(frozenset(("netns", "mountns", "pidns", "ipcns")) - disabled)
    for name in ("netns", "mountns", "pidns", "ipcns"):
        report[name] = namespaces.get(name, (False, "disabled by configuration"))
    relay.split(fd_in, fd_out, init, disabled)  # from here on: the gene process, PID 1 of its namespace
    scratch = init["scratch"]
    uid, gid = int(init["uid"]), int(init["gid"])
    if report["mountns"][0]:
        report["scratch_tmpfs"] = confine.private_scratch(scratch, int(init["scratch_bytes"]), uid, gid)
    else:
        report["scratch_tmpfs"] = (False, "no mount namespace")
    os.chdir(scratch)
    missing = _preimport(init["allowlist"])
    if report["mountns"][0]:
        apply("private_root", confine.private_root, scratch, report["pidns"][0])
    else:
        report["private_root"] = (False, "no mount namespace")
    channel = _Channel(fd_in, fd_out)
    runner = Runner(init, channel)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    def cpu_limit_struck(*_: Any) -> None:
        lowered = resource.getrlimit(resource.RLIMIT_CPU)[0] < runner.armed_cpu
        os._exit(EXIT_CPU_LOWERED if lowered else EXIT_CPU)

    signal.signal(signal.SIGXCPU, cpu_limit_struck)
    apply("rlimits", confine.set_rlimits, init["rlimits"])
    if not report["rlimits"][0]:
        runner.expected = {}
    apply("landlock", confine.landlock, ".")
    apply("uid", confine.drop_privileges, uid, gid)
    confine.parent_death_signal(signal.SIGKILL)  # before seccomp, which refuses changing it
    apply("seccomp", confine.seccomp)
    if report["seccomp"][0]:
        runner.expected = {}  # the filter refuses changing any limit but RLIMIT_CPU, which is checked
    _lock_imports(_make_gene_sdk(channel))
    channel.send(protocol.READY, {"pid": os.getpid(), "report": report, "missing_modules": missing})
    while True:
        try:
            tag, request = channel.receive()
        except EOFError:
            os._exit(0)
        if tag != protocol.RUN:
            os._exit(EXIT_PROTOCOL)
        linger = request.get("linger", 0.0)
        channel.linger = min(linger, protocol.MAX_LINGER_SECONDS) if type(linger) in (int, float) and linger > 0 else 0.0
        channel.send(protocol.DONE, runner.serve(request))


if __name__ == "__main__":
    main(sys.argv[1:])
