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

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
_loads = json.loads


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
