"""Length-prefixed JSON frames between the orchestrator and a worker (stdlib only).

Frames travel on dedicated pipes, never on stdin/stdout, so whatever a gene prints
cannot corrupt the conversation. A 4-byte big-endian length precedes each JSON body.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

HEADER = struct.Struct(">I")


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


def encode(message: Any) -> bytes:
    body = _dumps(message).encode("utf-8")
    return HEADER.pack(len(body)) + body


def write_frame(fd: int, message: Any) -> None:
    view = memoryview(encode(message))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int) -> bytes:
    """Blocking read used by the worker; EOF means the orchestrator went away."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    (size,) = HEADER.unpack(read_exact(fd, HEADER.size))
    return _loads(read_exact(fd, size))


class BlockingReader:
    """The worker's side: blocking reads, as few as possible (a frame usually arrives in one)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = b""

    def read(self) -> Any:
        """The next frame; EOFError when the orchestrator went away."""
        while len(self._buf) < HEADER.size:
            self._fill()
        (size,) = HEADER.unpack_from(self._buf)
        end = HEADER.size + size
        while len(self._buf) < end:
            self._fill()
        body, self._buf = self._buf[HEADER.size:end], self._buf[end:]
        return _loads(body)

    def _fill(self) -> None:
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            raise EOFError("pipe closed")
        self._buf += chunk


class FrameReader:
    """Reads frames with a deadline and a size cap; the orchestrator's side of the pipe."""

    def __init__(self, fd: int, max_frame: int) -> None:
        self.fd = fd
        self.max_frame = max_frame
        self._buf = bytearray()
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def _frame_in_buffer(self) -> Any | None:
        if len(self._buf) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buf)
        if size > self.max_frame:
            raise ProtocolError(f"frame of {size} bytes exceeds the limit of {self.max_frame}")
        end = HEADER.size + size
        if len(self._buf) < end:
            return None
        body = bytes(self._buf[HEADER.size:end])
        del self._buf[:end]
        try:
            return _loads(body)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"frame is not JSON: {str(exc)[:200]}") from None

    def pending(self) -> bool:
        """Whether anything (bytes or a hang-up) waits on the pipe right now."""
        return bool(self._buf) or bool(self._poll.poll(0))

    def read(self, deadline: float | None) -> Any:
        """The next frame; Timeout past `deadline` (time.monotonic), EOFError when the pipe closes."""
        while True:
            frame = self._frame_in_buffer()
            if frame is not None:
                return frame
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout()
                if not self._poll.poll(max(1, int(remaining * 1000 + 0.999))):
                    continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError("worker closed its pipe")
            self._buf += chunk
