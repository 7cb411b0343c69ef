"""Frames between the orchestrator, a worker's relay and its gene process (stdlib only).

Frames travel on dedicated pipes, never on stdin/stdout, so whatever a gene prints
cannot corrupt the conversation. A 4-byte big-endian length precedes each payload;
a payload is a one-byte tag, a 16-byte stamp and a body. The stamp of a request is
its id and a random nonce; whatever answers the request carries the same stamp, so
no frame written before a request can answer it. The gene process writes only to
its relay, which seals each frame with a MAC under a key only the relay and the
orchestrator hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import select
import struct
import time
from typing import Any

HEADER = struct.Struct(">I")
SERIAL = struct.Struct(">Q")
MAC_SIZE = 16
KEY_SIZE = 32

STAMP_SIZE = SERIAL.size + 8  # request id, nonce
NO_STAMP = bytes(STAMP_SIZE)

# Orchestrator to worker: the gene process reads RUN and RET itself.
INIT, RUN, RET = b"I", b"Q", b"A"
# Gene to relay, and relay to orchestrator once sealed.
READY, CALL, DONE = b"R", b"C", b"D"
# Relay to orchestrator only: the key (its first frame, before any gene ran); it discarded the gene process.
KEY, DISCARDED = b"K", b"X"


MAX_LINGER_SECONDS = 0.01  # the longest a gene process polls before sleeping, as `answer_spin_seconds` allows

def _make_codec() -> tuple[Any, Any]:
    """Encoder and decoder built once: json.dumps/loads rebuild their C helpers on every call,
    which costs more than a small frame itself. Frames are strict JSON (no NaN/Infinity)."""
    from json import decoder, encoder, scanner

    def refuse(value: Any) -> Any:
        raise TypeError(f"{type(value).__name__} is not a JSON value")

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    make_encoder = getattr(encoder, "c_make_encoder", None)
    make_scanner = getattr(scanner, "c_make_scanner", None)
    if make_encoder is None or make_scanner is None:
        slow = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
        return slow, json.JSONDecoder(parse_constant=no_constant).decode
    fast = make_encoder(None, refuse, encoder.encode_basestring_ascii, None, ":", ",", False, False, False)

    def dumps(value: Any) -> str:
        if isinstance(value, str):
            return encoder.encode_basestring_ascii(value)
        return "".join(fast(value, 0))

    scan = make_scanner(decoder.JSONDecoder(parse_constant=no_constant))

    def loads(text: str | bytes) -> Any:
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        try:
            value, end = scan(text, 0)
        except StopIteration as exc:
            raise ValueError(f"expecting a value at character {exc.value}") from None
        if end != len(text):
            raise ValueError(f"extra data at character {end}")
        return value

    return dumps, loads


_dumps, _loads = _make_codec()
loads_strict = _loads


class ProtocolError(Exception):
    """The other side sent something that is not a frame: the worker is not trusted any more."""


class Timeout(Exception):
    """No complete frame arrived before the deadline."""


def frame(tag: bytes, body: bytes) -> bytes:
    return HEADER.pack(len(body) + 1) + tag + body


def body(message: Any) -> bytes:
    return _dumps(message).encode("utf-8")


def stamped(tag: bytes, stamp: bytes, message: Any) -> bytes:
    """A frame with tag, stamp and JSON body."""
    return frame(tag, stamp + body(message))


def write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)  # a small frame goes in one write
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view):]


def read_exact(fd: int, size: int) -> bytes:
    """Blocking read; EOF means the other side went away."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_payload(fd: int) -> bytes:
    """One frame's payload read with exact reads, so nothing after it leaves the pipe."""
    (size,) = HEADER.unpack(read_exact(fd, HEADER.size))
    return read_exact(fd, size)


def sealer(key: bytes) -> Any:
    """The relay's seal: `seal(frame)` is the frame the orchestrator trusts, a MAC before the payload.

    The MAC, a keyed BLAKE2s, covers the payload as the gene wrote it: tag, stamp, body.
    """
    keyed = hashlib.blake2s(key=key, digest_size=MAC_SIZE)
    pack = HEADER.pack

    def seal(frame: bytes) -> bytes:
        mac = keyed.copy()
        mac.update(memoryview(frame)[HEADER.size:])
        return pack(len(frame) - HEADER.size + MAC_SIZE) + mac.digest() + frame[HEADER.size:]

    return seal


def unsealer(key: bytes) -> Any:
    """`unseal(payload)`: tag, stamp and body of a sealed frame; ProtocolError unless the MAC is the relay's."""
    keyed = hashlib.blake2s(key=key, digest_size=MAC_SIZE)
    head = MAC_SIZE + 1 + STAMP_SIZE

    def unseal(payload: bytes) -> tuple[bytes, bytes, bytes]:
        if len(payload) < head:
            raise ProtocolError("frame too short to be sealed")
        mac = keyed.copy()
        mac.update(memoryview(payload)[MAC_SIZE:])
        if not hmac.compare_digest(mac.digest(), payload[:MAC_SIZE]):
            raise ProtocolError("frame not sealed with this worker's key")
        return payload[MAC_SIZE:MAC_SIZE + 1], payload[MAC_SIZE + 1:head], payload[head:]

    return unseal


def decode(text: bytes) -> Any:
    """A JSON body; ProtocolError for anything that is not strict JSON of sane depth."""
    try:
        return _loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON: {str(exc)[:200]}") from None


class BlockingReader:
    """Blocking reads of whole frames, header included, as few as possible (a frame usually arrives in one).

    The relay passes frames on as they came; `payload(frame)` is what follows the header.
    """

    def __init__(self, fd: int, max_frame: int | None = None) -> None:
        self.fd = fd
        self.max_frame = max_frame
        self._buf = b""
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def buffered(self) -> bool:
        return bool(self._buf)

    def read(self, linger: float = 0.0) -> bytes:
        """The next frame; EOFError when the other side went away, ProtocolError past `max_frame`.

        With `linger`, the pipe is polled for up to that many seconds before the read
        sleeps, giving the CPU up between polls: a halted vCPU takes longer to wake
        than a frame that is on its way takes to arrive, and a process that yields
        still lets the relay beside it run (see `spin`).
        """
        buf = self._buf
        if not buf:
            if linger > 0:
                poll, clock, give_up = self._poll.poll, time.monotonic, os.sched_yield
                end = clock() + linger
                while not poll(0) and clock() < end:
                    give_up()
            buf = os.read(self.fd, 1 << 16)
            if not buf:
                raise EOFError("pipe closed")
        while True:
            if len(buf) >= HEADER.size:
                (size,) = HEADER.unpack_from(buf)
                if self.max_frame is not None and size > self.max_frame:
                    raise ProtocolError(f"frame of {size} bytes exceeds the limit of {self.max_frame}")
                size += HEADER.size
                if len(buf) == size:
                    self._buf = b""
                    return buf
                if len(buf) > size:
                    self._buf = buf[size:]
                    return buf[:size]
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError("pipe closed")
            buf += chunk


class FrameReader:
    """Reads payloads with a deadline and a size cap; the orchestrator's side of the pipe."""

    def __init__(self, fd: int, max_frame: int) -> None:
        self.fd = fd
        self.max_frame = max_frame
        self._buf = bytearray()
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def _frame_in_buffer(self) -> bytes | None:
        if len(self._buf) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buf)
        if size > self.max_frame:
            raise ProtocolError(f"frame of {size} bytes exceeds the limit of {self.max_frame}")
        end = HEADER.size + size
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[HEADER.size:end])
        del self._buf[:end]
        return payload

    def pending(self) -> bool:
        """Whether anything (bytes or a hang-up) waits on the pipe right now."""
        return bool(self._buf) or bool(self._poll.poll(0))

    def read(self, deadline: float | None, spin: float = 0.0) -> bytes:
        """The next payload; Timeout past `deadline` (time.monotonic), EOFError when the pipe closes.

        With `spin`, the pipe is polled without sleeping for up to that many seconds
        before the read sleeps (see `spin`): the deadline is never overrun by it.
        """
        while True:
            payload = self._frame_in_buffer()
            if payload is not None:
                return payload
            if deadline is not None:
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    raise Timeout()
                ready = False
                if spin > 0:
                    end, poll, clock, give_up = now + min(spin, remaining), self._poll.poll, time.monotonic, os.sched_yield
                    spin = 0.0
                    while not (ready := bool(poll(0))) and clock() < end:
                        give_up()  # to a worker process polling on this CPU too (see `BlockingReader.read`)
                # poll() takes a C int of milliseconds: a far deadline is slept towards an hour at a time
                if not ready and not self._poll.poll(min(3_600_000, max(1, int((deadline - time.monotonic()) * 1000 + 0.999)))):
                    continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError("worker closed its pipe")
            self._buf += chunk
