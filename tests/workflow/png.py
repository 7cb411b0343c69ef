"""Just enough PNG decoding (8-bit RGB/RGBA, not interlaced) to look at a browser screenshot."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG layout"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            corner = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r) for r in rows] if channels == 3 else [bytes(b for j, b in enumerate(r) if j % 4 != 3) for r in rows]


def pixels_like(rows: list[bytes], colour: str, box: tuple[int, int, int, int] | None = None, tolerance: int = 6) -> int:
    """How many pixels are within `tolerance` of `colour` (#rrggbb), optionally inside box (x0, y0, x1, y1)."""
    want = bytes.fromhex(colour.lstrip("#"))
    x0, y0, x1, y1 = box or (0, 0, len(rows[0]) // 3, len(rows))
    count = 0
    for row in rows[y0:y1]:
        for x in range(x0, x1):
            r, g, b = row[3 * x:3 * x + 3]
            if abs(r - want[0]) <= tolerance and abs(g - want[1]) <= tolerance and abs(b - want[2]) <= tolerance:
                count += 1
    return count


def bands(rows: list[bytes], colour: str, min_per_row: int = 100, tolerance: int = 2) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of runs of rows holding at least `min_per_row` pixels of `colour`: one per drawn panel."""
    want = bytes.fromhex(colour.lstrip("#"))
    out: list[tuple[int, int, int, int]] = []
    current: list[int] | None = None
    for y, row in enumerate(rows):
        xs = [x for x in range(len(row) // 3) if all(abs(row[3 * x + i] - want[i]) <= tolerance for i in range(3))]
        if len(xs) >= min_per_row:
            if current is None:
                current = [min(xs), y, max(xs) + 1, y + 1]
            else:
                current = [min(current[0], min(xs)), current[1], max(current[2], max(xs) + 1), y + 1]
        elif current is not None:
            out.append((current[0], current[1], current[2], current[3]))
            current = None
    if current is not None:
        out.append((current[0], current[1], current[2], current[3]))
    return out
