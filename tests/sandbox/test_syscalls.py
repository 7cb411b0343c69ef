"""The syscall tables agree with the kernel headers, where the headers are installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sggit.runtime.sandbox import _syscalls

HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("arch", sorted(HEADERS))
def test_table_matches_kernel_header(arch):
    header = HEADERS[arch]
    if not header.exists():
        pytest.skip(f"{header} not installed (linux-libc-dev)")
    numbers = {m.group(1): int(m.group(2))
               for m in re.finditer(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", header.read_text())}
    table = _syscalls.TABLES[arch]
    assert {name: number for name, number in table.items() if numbers.get(name) != number} == {}


def test_every_denied_call_is_known_where_the_architecture_has_it():
    generic_only_missing = {"fork", "vfork", "iopl", "ioperm"}
    assert set(_syscalls.DENIED) <= set(_syscalls.TABLES["x86_64"])
    assert set(_syscalls.DENIED) - set(_syscalls.TABLES["aarch64"]) == generic_only_missing
