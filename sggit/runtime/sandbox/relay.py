"""The worker's relay: the only process that writes frames the orchestrator trusts (stdlib only).

A gene runs in the same process as the code that carries its gene_sdk calls and its
answer, so it can read and patch anything there. The frames the orchestrator acts
on are therefore written by another process: right after making its namespaces the
worker forks; the child becomes the gene process (PID 1 of the new PID namespace),
whose response descriptor now leads to its parent; it never holds the
orchestrator's response pipe. The parent is the relay. It makes the per-worker key
only after the fork, so no copy of it exists in the gene process's memory, sends it
to the orchestrator as its first frame, makes itself undumpable, drops to the
unprivileged uid and installs the same seccomp filter. Then it seals every frame
the gene writes with a MAC. It accepts only gene_sdk calls and answers, and one
answer per request: a second frame for a request already answered, or anything
else, discards the gene process.

Requests go from the orchestrator to the gene process directly, each with a stamp
(its id and a random nonce) the answer must carry: a frame written before a request
cannot answer it, and the relay has only one pipe to wait on.
"""

from __future__ import annotations

import os
import signal
from typing import Any, NoReturn

from sggit.runtime.sandbox import confine, protocol

EXIT_OUT_OF_TURN = 77  # the gene wrote to the relay what answers no request


def split(fd_in: int, fd_out: int, init: dict, disabled: frozenset[str]) -> None:
    """Fork; return in the gene process, whose `fd_out` now leads to the relay. The relay never returns."""
    relay_in, gene_out = os.pipe()
    child = os.fork()
    if child == 0:
        confine.parent_death_signal(signal.SIGKILL)
        os.dup2(gene_out, fd_out)
        os.close(gene_out)
        os.close(relay_in)
        return
    os.close(gene_out)
    os.close(fd_in)
    try:
        _Relay(fd_out, relay_in, child, int(init["max_frame"])).serve(int(init["uid"]), int(init["gid"]), disabled)
    except BaseException:  # noqa: BLE001 - the relay never outlives a failure of its own
        _kill(child)
        os._exit(70)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exit_like(pid: int) -> NoReturn:
    """Leave with the gene process's exit status: the pool reads why it died from it."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def harden(uid: int, gid: int, disabled: frozenset[str]) -> tuple[bool, str]:
    """What keeps the gene process out of the relay's memory, beyond the PID namespace and Landlock."""
    statuses = []
    if "uid" not in disabled:
        statuses.append(confine.drop_privileges(uid, gid))
    confine.parent_death_signal(signal.SIGKILL)  # a uid change clears it; seccomp refuses setting it later
    statuses.append(confine.not_dumpable())  # after the uid change, which resets it
    if "seccomp" not in disabled:
        statuses.append(confine.seccomp())
    layers = [detail if ok else f"FAILED {detail}" for ok, detail in statuses]
    layers += [f"no {name} (disabled by configuration)" for name in ("uid", "seccomp") if name in disabled]
    return (all(ok for ok, _ in statuses),
            "frames are sealed by the worker's parent, which alone holds the key: " + "; ".join(layers))


class _Relay:
    def __init__(self, fd_out: int, gene_in: int, child: int, max_frame: int) -> None:
        self.fd_out, self.child = fd_out, child
        self.gene = protocol.BlockingReader(gene_in, max_frame)
        self.seal: Any = None

    def serve(self, uid: int, gid: int, disabled: frozenset[str]) -> NoReturn:
        key = os.urandom(protocol.KEY_SIZE)
        self.seal = protocol.sealer(key)
        status = harden(uid, gid, disabled)
        self._send(protocol.frame(protocol.KEY, key))
        del key
        frame = self._from_gene()
        if frame[4:5] != protocol.READY:
            self._discard(protocol.NO_STAMP, "the gene process sent something other than its ready report")
        ready = protocol.decode(frame[5 + protocol.STAMP_SIZE:])
        ready["report"]["relay"] = status
        ready["gene_pid"] = self.child  # as the orchestrator's PID namespace sees it, whatever the gene wrote
        self._send(self.seal(protocol.stamped(protocol.READY, protocol.NO_STAMP, ready)))
        self._loop()

    def _loop(self) -> NoReturn:
        """The hot path: one read, one MAC, one write per frame."""
        read, seal, send, done, call = self._from_gene, self.seal, self._send, protocol.DONE, protocol.CALL
        answered = None
        while True:
            frame = read()
            tag = frame[4:5]
            stamp = frame[5:5 + protocol.STAMP_SIZE]
            if tag != done and tag != call:
                self._discard(stamp, f"the gene process wrote a frame tagged {tag!r} (a forged or repeated answer)")
            if stamp == answered:
                self._discard(stamp, "the gene process wrote again for a request it had answered "
                                     "(a forged or repeated answer)")
            send(seal(frame))
            if tag == done:
                answered = stamp

    def _from_gene(self) -> bytes:
        try:
            return self.gene.read()
        except EOFError:
            _exit_like(self.child)
        except protocol.ProtocolError as exc:
            self._discard(protocol.NO_STAMP, f"the gene process wrote a frame the relay refuses: {exc}")

    def _send(self, frame: bytes) -> None:
        try:
            protocol.write_all(self.fd_out, frame)
        except BrokenPipeError:
            self._stop(0)

    def _discard(self, stamp: bytes, message: str) -> NoReturn:
        self._send(self.seal(protocol.stamped(protocol.DISCARDED, stamp, {"message": message})))
        self._stop(EXIT_OUT_OF_TURN)

    def _stop(self, code: int) -> NoReturn:
        _kill(self.child)
        try:
            os.waitpid(self.child, 0)
        except ChildProcessError:
            pass
        os._exit(code)
