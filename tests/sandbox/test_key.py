"""A hostile allele hunts for the key that seals its worker's frames, by every route it has.

The key lives in the relay, the gene process's parent; the gene process never held
a copy. The allele digs through its own process (every object the garbage
collector knows and everything they reach, frame locals, every module's globals,
its environment and descriptors), then at the relay (`/proc/<pid>/mem`, its
descriptors through /proc, process_vm_readv, ptrace, pidfd_getfd) by the relay's
real pid. It reports what it found; the test, which knows the key, checks that
nothing it found is the key, that the same hunt does find a key planted where it
can look, and that frames forged with any guess are not accepted. The degraded
configurations take away the PID namespace, the private root, Landlock and
seccomp one after another: the relay's own hardening still holds.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import secrets

import pytest

from sggit.runtime.sandbox import WorkerPool, protocol

from .helpers import DIG, FAST, assert_healthy, gene, needs_landlock, needs_root

HUNT = """
def hunt(gc, sys, prefix, digest):
    '''Every bytes and str this process can reach, searched for a 32-byte key by its prefix and digest.'''
    import hashlib
    roots = list(gc.get_objects())
    frame = sys._getframe()
    while frame is not None:
        roots += [frame.f_locals, frame.f_globals]
        frame = frame.f_back
    roots += [vars(module) for module in list(sys.modules.values()) if module is not None]
    hex_prefix = prefix.hex()
    seen, stack, checked, found = set(), roots, 0, False
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        checked += 1
        if isinstance(obj, (bytes, bytearray, memoryview)):
            data = bytes(obj)
            at = data.find(prefix)
            while at >= 0 and not found:
                found = hashlib.sha256(data[at:at + 32]).hexdigest() == digest
                at = data.find(prefix, at + 1)
        elif isinstance(obj, str):
            at = obj.find(hex_prefix)
            while at >= 0 and not found:
                try:
                    found = hashlib.sha256(bytes.fromhex(obj[at:at + 64])).hexdigest() == digest
                except ValueError:
                    pass
                at = obj.find(hex_prefix, at + 1)
        else:
            stack.extend(gc.get_referents(obj))
    return checked, found
"""

ATTACKER = DIG + HUNT + """
import hashlib
sys = _os["sys"]

def _real_import(name):
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "_LockedImports"]
    return sys.modules["builtins"].__import__(name)

def _errno_of(call):
    try:
        call()
        return "succeeded"
    except OSError as exc:
        return exc.errno

def _read_proc(path):
    def read():
        with open(path, "rb") as handle:
            if path.endswith("/mem"):
                handle.seek(0x400000)
            if not handle.read(4096):
                raise OSError(0, "empty")
    return _errno_of(read)

def _environ():
    try:
        with open("/proc/self/environ", "rb") as handle:
            return handle.read().decode("latin-1")
    except OSError as exc:
        return exc.errno

class _Iovec(_ct["Structure"]):
    _fields_ = [("base", _ct["c_void_p"]), ("len", _ct["c_size_t"])]

def _vm_read(pid):
    buffer = _ct["create_string_buffer"](4096)
    local = _Iovec(_ct["addressof"](buffer), 4096)
    remote = _Iovec(0x400000, 4096)
    got = libc.syscall(310, pid, _ct["byref"](local), 1, _ct["byref"](remote), 1, 0)
    return [got, get_errno()]

def execute(input_json):
    ask = json.loads(input_json)
    sys.modules["json"].__dict__["_planted"] = bytes.fromhex(ask["decoy"])  # where the hunt must look
    gc = _real_import("gc")
    checked, key_found = hunt(gc, sys, bytes.fromhex(ask["prefix"]), ask["digest"])
    _, decoy_found = hunt(gc, sys, bytes.fromhex(ask["decoy"])[:4], ask["decoy_digest"])
    pids = sorted({os_.getppid(), ask["relay"]} - {0})
    fds = []
    for fd in range(ask["fd_scan"]):
        try:
            st = os_.fstat(fd)
        except OSError:
            continue
        fds.append([fd, st.st_ino, st.st_mode])
    report = {
        "checked": checked, "key_found": key_found, "decoy_found": decoy_found,
        "ppid": os_.getppid(), "fds": fds,
        "environ": _environ(),
        "os_environ": dict(os_.environ),
        "proc": {f"/proc/{pid}/{what}": _read_proc(f"/proc/{pid}/{what}")
                 for pid in pids for what in ("mem", "environ", "fd/3", "fd/4", "fd/5", "fd/6")},
        "process_vm_readv": {str(pid): _vm_read(pid) for pid in pids},
        "ptrace": {str(pid): [libc.ptrace(16, pid, 0, 0), get_errno()] for pid in pids},
        "pidfd": {},
    }
    for pid in pids:
        pidfd = libc.syscall(434, pid, 0)
        report["pidfd"][str(pid)] = [pidfd, get_errno()] + [
            [libc.syscall(438, pidfd, target, 0), get_errno()] for target in range(3, 8)] if pidfd >= 0 else []
    return json.dumps(report)
"""

# Frames in the relay's sealed format under every key the gene could guess, written to every descriptor it has.
FORGER = DIG + """
import hashlib
def _sealed(key, serial, body):
    payload = b"D" + serial.to_bytes(8, "big") + bytes(8) + body
    mac = hashlib.blake2s(payload, key=key, digest_size=16).digest()
    return (len(payload) + 16).to_bytes(4, "big") + mac + payload

def execute(input_json):
    body = json.dumps({"ok": True, "output": "666", "cpu": 0, "threads": 0}).encode()
    frames = b"".join(_sealed(key, serial, body) for key in (bytes(32), b"k" * 32) for serial in range(0, 6))
    wrote = []
    for fd in range(3, 4096):  # a busy orchestrator hands on pipes numbered in the hundreds
        try:
            os_.write(fd, frames)
            wrote.append(fd)
        except OSError:
            pass
    return json.dumps(wrote)
"""

CONFIGS = {
    "full": FAST,
    "no pid namespace, no private root": FAST.model_copy(
        update={"disable": ("pidns", "private_root"), "allow_degraded": True}),
    "only the relay's own hardening": FAST.model_copy(
        update={"disable": ("pidns", "private_root", "landlock", "seccomp"), "allow_degraded": True}),
}

_REFUSED = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.ESRCH}


def _hunt_in_this_process(key: bytes) -> tuple[int, bool]:
    """The same hunt where a key does live (the orchestrator's process): it finds it."""
    import gc
    import sys

    namespace: dict = {}
    exec(HUNT, namespace)
    return namespace["hunt"](gc, sys, key[:4], hashlib.sha256(key).hexdigest())


@needs_root
@needs_landlock
@pytest.mark.skipif(platform.machine() != "x86_64", reason="the attacker uses x86_64 syscall numbers")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_no_route_from_the_gene_reaches_the_key(name: str) -> None:
    config = CONFIGS[name].model_copy(update={"timeout_seconds": 60.0, "cpu_seconds_per_call": 50})
    with WorkerPool(config, size=1) as pool:
        assert pool.confinement is not None
        applied = {m.name: m.applied for m in pool.confinement.mechanisms}
        assert applied["relay"] and all(not applied[off] for off in config.disable)
        (relay_pid,) = pool.worker_pids()
        worker = pool._spares.queue[0]
        key = worker.secret
        assert _hunt_in_this_process(key)[1], "the hunt must find a key where one is"
        decoy = secrets.token_bytes(32)
        ask = {"prefix": key[:4].hex(), "digest": hashlib.sha256(key).hexdigest(), "relay": relay_pid,
               "decoy": decoy.hex(), "decoy_digest": hashlib.sha256(decoy).hexdigest(),
               "fd_scan": max(_gene_fds(relay_pid)) + 256}  # past the numbers a busy orchestrator hands on
        outcome = pool.run("attacker", gene(ATTACKER), json.dumps(ask))
        assert outcome.ok, outcome
        report = json.loads(outcome.output)

        assert report["decoy_found"] and report["checked"] > 10_000  # the hunt looked, and can find
        assert report["key_found"] is False
        assert key.hex() not in outcome.output and key.hex() not in json.dumps(report["os_environ"])
        assert report["environ"] in (errno.EACCES, errno.ENOENT) or name == "only the relay's own hardening"
        assert key.hex() not in str(report["environ"]) and "PYTHONPATH" in json.dumps(report["os_environ"])

        held = {inode for _fd, inode, _mode in report["fds"]}
        assert os.fstat(worker.resp_r).st_ino not in held  # no descriptor of the pipe the orchestrator trusts
        assert os.fstat(worker.req_w).st_ino in held  # only the end of the request pipe it reads its requests from
        assert sorted(fd for fd, _inode, _mode in report["fds"]) == [0, 1, 2, *_gene_fds(relay_pid)]

        if name == "full":
            assert report["ppid"] == 0  # the relay is outside the gene's PID namespace
        else:
            assert report["ppid"] == relay_pid
        for path, result in report["proc"].items():
            assert result in _REFUSED, (path, result)
        for pid, (got, err) in report["process_vm_readv"].items():
            assert got == -1 and err in _REFUSED, (pid, got, err)
        for pid, (got, err) in report["ptrace"].items():
            assert got == -1 and err in _REFUSED, (pid, got, err)
        for pid, attempt in report["pidfd"].items():
            assert all(got == -1 for got, _err in attempt[2:]), (pid, attempt)

        forged = pool.run("forger", gene(FORGER), "{}")
        assert (forged.ok, forged.error) in ((False, "crash"), (False, "forbidden")), forged  # its own garbage at most
        assert_healthy(pool)


def _gene_fds(relay_pid: int) -> list[int]:
    """The descriptor numbers the worker was started with: the gene process's only pipes lead to the relay."""
    with open(f"/proc/{relay_pid}/cmdline", "rb") as handle:
        argv = handle.read().split(b"\0")
    return sorted(int(arg) for arg in argv[-3:-1])


def test_a_frame_not_sealed_with_the_workers_key_is_refused() -> None:
    key, other = secrets.token_bytes(protocol.KEY_SIZE), secrets.token_bytes(protocol.KEY_SIZE)
    stamp = protocol.SERIAL.pack(7) + secrets.token_bytes(8)
    sealed = protocol.sealer(key)(protocol.stamped(protocol.DONE, stamp, {"ok": True}))
    payload = sealed[protocol.HEADER.size:]
    assert protocol.unsealer(key)(payload) == (protocol.DONE, stamp, b'{"ok":true}')
    with pytest.raises(protocol.ProtocolError):
        protocol.unsealer(other)(payload)
    for at in range(len(payload)):  # any byte changed: MAC, tag, stamp or body
        damaged = bytearray(payload)
        damaged[at] ^= 1
        with pytest.raises(protocol.ProtocolError):
            protocol.unsealer(key)(bytes(damaged))
