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


class _Relay:
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
        payload = self._from_gene(0)
        if payload[:1] != protocol.READY:
            self._discard(0, "the gene process sent something other than its ready report")
        ready = protocol.decode(payload[1:])
        ready["report"]["relay"] = status
        self._to_orchestrator(protocol.READY, 0, protocol.body(ready))
        while True:
            serial, request = self._next_request()
            self._to_gene(request)
            self._answer(serial)

    def _next_request(self) -> tuple[int, bytes]:
        """The next request; anything from the gene meanwhile (bytes or its death) ends the worker."""
        while True:
            if self.gene.buffered():  # frames read along with the last answer
                self._stop(EXIT_OUT_OF_TURN)
            ready = dict(self.idle.poll()) if not self.orchestrator.buffered() else {self.fd_in: select.POLLIN}
            gene = ready.get(self.gene_fd, 0)
            if gene & select.POLLIN:
                if self.fd_in in ready:  # this request meets the gene's out-of-turn frames: nothing of it ran
                    self._to_orchestrator(protocol.STALE, self._read_request()[0], b"{}")
                self._stop(EXIT_OUT_OF_TURN)
            if gene:
                _exit_like(self.child)
            if self.fd_in in ready:
                return self._read_request()

    def _read_request(self) -> tuple[int, bytes]:
        try:
            payload = self.orchestrator.read()
        except EOFError:
            self._stop(0)
        if payload[:1] != protocol.RUN:
            self._stop(_EXIT_ORCHESTRATOR)
        return protocol.SERIAL.unpack_from(payload, 1)[0], payload

    def _answer(self, serial: int) -> None:
        """Gene_sdk calls, each waiting for its reply, then exactly one `done`."""
        while True:
            payload = self._from_gene(serial)
            tag = payload[:1]
            if tag == protocol.DONE:
                self._to_orchestrator(protocol.DONE, serial, payload[1:])
                return
            if tag != protocol.CALL:
                self._discard(serial, f"the gene process wrote a frame tagged {tag!r} while answering a request "
                                      "(a forged or repeated answer)")
            self._to_orchestrator(protocol.CALL, serial, payload[1:])
            try:
                reply = self.orchestrator.read()
            except EOFError:
                self._stop(0)
            if reply[:1] != protocol.RET or protocol.SERIAL.unpack_from(reply, 1)[0] != serial:
                self._stop(_EXIT_ORCHESTRATOR)
            if self.gene.buffered() or self.waiting.poll(0):
                self._discard(serial, "the gene process wrote again before its gene_sdk call was answered "
                                      "(a forged or repeated answer)")
            self._to_gene(reply)

    def _from_gene(self, serial: int) -> bytes:
        try:
            return self.gene.read()
        except EOFError:
            _exit_like(self.child)
        except protocol.ProtocolError as exc:
            self._discard(serial, f"the gene process wrote a frame the relay refuses: {exc}")

    def _to_gene(self, payload: bytes) -> None:
        try:
            protocol.write_all(self.gene_out, protocol.HEADER.pack(len(payload)) + payload)
        except BrokenPipeError:
            _exit_like(self.child)

    def _to_orchestrator(self, tag: bytes, serial: int, text: bytes) -> None:
        try:
            protocol.write_all(self.fd_out, self.seal(tag, serial, text))
        except BrokenPipeError:
            self._stop(0)

    def _discard(self, serial: int, message: str) -> NoReturn:
        self._to_orchestrator(protocol.DISCARDED, serial, protocol.body({"message": message}))
        self._stop(EXIT_OUT_OF_TURN)

    def _stop(self, code: int) -> NoReturn:
        _kill(self.child)
        try:
            os.waitpid(self.child, 0)
        except ChildProcessError:
            pass
        os._exit(code)
