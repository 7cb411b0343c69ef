"""The worker's relay: the only process that writes frames the orchestrator trusts (stdlib only).

A gene runs in the same process as the code that talks to its gene_sdk, so it can
read and patch anything there. The frames the orchestrator acts on are therefore
written by another process: right after making its namespaces the worker forks;
the child becomes the gene process (PID 1 of the new PID namespace) with a pipe
pair to its parent on the descriptor numbers it was started with, and never holds
the orchestrator's pipes. The parent is the relay. It reads the per-worker key only
after the fork, so no copy of it exists in the gene process's memory; it makes
itself undumpable, drops to the unprivileged uid and installs the same seccomp
filter. It then hands each request to the gene and accepts exactly one answer per
request (any number of gene_sdk calls, each waiting for its reply, then one
`done`), sealing each with the request id and a MAC. Anything else discards the
gene process.
"""

from __future__ import annotations

import os
import select
import signal
from typing import Any, NoReturn

from sggit.runtime.sandbox import confine, protocol

EXIT_OUT_OF_TURN = 77  # the gene wrote to the relay outside a request
_EXIT_ORCHESTRATOR = 78  # the orchestrator broke the protocol (never a gene's doing)


def split(fd_in: int, fd_out: int, init: dict, disabled: frozenset[str]) -> None:
    """Fork; return in the gene process, whose `fd_in`/`fd_out` now lead to the relay. The relay never returns."""
    gene_in, relay_out = os.pipe()
    relay_in, gene_out = os.pipe()
    child = os.fork()
    if child == 0:
        confine.parent_death_signal(signal.SIGKILL)
        os.dup2(gene_in, fd_in)
        os.dup2(gene_out, fd_out)
        for fd in (gene_in, relay_out, relay_in, gene_out):
            os.close(fd)
        return
    os.close(gene_in)
    os.close(gene_out)
    try:
        _Relay(fd_in, fd_out, relay_in, relay_out, child, int(init["max_frame"])).serve(
            int(init["uid"]), int(init["gid"]), disabled)
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


_NO_SERIAL = bytes(protocol.SERIAL.size)


class _Relay:
    """The relay's loop. Frames pass as read (header included); the request id stays the 8 bytes it came as."""

    def __init__(self, fd_in: int, fd_out: int, gene_in: int, gene_out: int, child: int, max_frame: int) -> None:
        self.fd_in, self.fd_out, self.gene_out, self.child = fd_in, fd_out, gene_out, child
        self.orchestrator = protocol.BlockingReader(fd_in)
        self.gene = protocol.BlockingReader(gene_in, max_frame)
        self.gene_fd = gene_in
        self.idle = select.poll()
        self.idle.register(fd_in, select.POLLIN)
        self.idle.register(gene_in, select.POLLIN)
        self.waiting = select.poll()
        self.waiting.register(gene_in, select.POLLIN)
        self.seal: Any = None

    def serve(self, uid: int, gid: int, disabled: frozenset[str]) -> NoReturn:
        key = protocol.read_payload(self.fd_in)
        if key[:1] != protocol.KEY or len(key) != 1 + protocol.KEY_SIZE:
            self._stop(_EXIT_ORCHESTRATOR)
        self.seal = protocol.sealer(key[1:])
        del key
        status = harden(uid, gid, disabled)
        frame = self._from_gene(_NO_SERIAL)
        if frame[4:5] != protocol.READY:
            self._discard(_NO_SERIAL, "the gene process sent something other than its ready report")
        ready = protocol.decode(frame[5:])
        ready["report"]["relay"] = status
        self._to_orchestrator(_NO_SERIAL, protocol.frame(protocol.READY, protocol.body(ready)))
        self._loop()

    def _loop(self) -> NoReturn:
        """The hot path: one request in, gene_sdk calls and one `done` out, in as few Python steps as will do."""
        only_request = [(self.fd_in, select.POLLIN)]
        poll, from_gene, to_gene, seal, send = self.idle.poll, self._from_gene, self._to_gene, self.seal, self._send
        done, call = protocol.DONE, protocol.CALL
        while True:
            if self.gene.buffered() or self.orchestrator.buffered() or poll() != only_request:
                request = self._request_after_event()
            else:
                request = self._read_request()
            serial = request[5:13]
            to_gene(request)
            while True:
                frame = from_gene(serial)
                tag = frame[4:5]
                if tag != done and tag != call:
                    self._discard(serial, f"the gene process wrote a frame tagged {tag!r} while answering a request "
                                          "(a forged or repeated answer)")
                send(seal(serial, frame))
                if tag == done:
                    break
                self._relay_reply(serial)

    def _request_after_event(self) -> bytes:
        """Something besides a request happened while idle: the gene wrote out of turn or died."""
        while True:
            if self.gene.buffered():  # frames read along with the last answer
                self._stop(EXIT_OUT_OF_TURN)
            ready = dict(self.idle.poll()) if not self.orchestrator.buffered() else {self.fd_in: select.POLLIN}
            gene = ready.get(self.gene_fd, 0)
            if gene & select.POLLIN:
                if self.fd_in in ready:  # this request meets the gene's out-of-turn frames: nothing of it ran
                    self._to_orchestrator(self._read_request()[5:13], protocol.frame(protocol.STALE, b"{}"))
                self._stop(EXIT_OUT_OF_TURN)
            if gene:
                _exit_like(self.child)
            if self.fd_in in ready:
                return self._read_request()

    def _read_request(self) -> bytes:
        try:
            frame = self.orchestrator.read()
        except EOFError:
            self._stop(0)
        if frame[4:5] != protocol.RUN or len(frame) < 5 + protocol.SERIAL.size:
            self._stop(_EXIT_ORCHESTRATOR)
        return frame

    def _relay_reply(self, serial: bytes) -> None:
        """The orchestrator's reply to a gene_sdk call; the gene must have waited for it."""
        try:
            reply = self.orchestrator.read()
        except EOFError:
            self._stop(0)
        if reply[4:5] != protocol.RET or reply[5:13] != serial:
            self._stop(_EXIT_ORCHESTRATOR)
        if self.gene.buffered() or self.waiting.poll(0):
            self._discard(serial, "the gene process wrote again before its gene_sdk call was answered "
                                  "(a forged or repeated answer)")
        self._to_gene(reply)

    def _from_gene(self, serial: bytes) -> bytes:
        try:
            return self.gene.read()
        except EOFError:
            _exit_like(self.child)
        except protocol.ProtocolError as exc:
            self._discard(serial, f"the gene process wrote a frame the relay refuses: {exc}")

    def _to_gene(self, frame: bytes) -> None:
        try:
            protocol.write_all(self.gene_out, frame)
        except BrokenPipeError:
            _exit_like(self.child)

    def _send(self, sealed: bytes) -> None:
        try:
            protocol.write_all(self.fd_out, sealed)
        except BrokenPipeError:
            self._stop(0)

    def _to_orchestrator(self, serial: bytes, frame: bytes) -> None:
        self._send(self.seal(serial, frame))

    def _discard(self, serial: bytes, message: str) -> NoReturn:
        self._to_orchestrator(serial, protocol.frame(protocol.DISCARDED, protocol.body({"message": message})))
        self._stop(EXIT_OUT_OF_TURN)

    def _stop(self, code: int) -> NoReturn:
        _kill(self.child)
        try:
            os.waitpid(self.child, 0)
        except ChildProcessError:
            pass
        os._exit(code)
