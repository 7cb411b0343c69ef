"""The contract parser, loaded from a cache file instead of being rebuilt at every start.

Building the LALR tables from `grammar.lark` is a large share of a command's start-up.
Lark serialises a built parser (`Lark.save` / `Lark.load`); the file lives in the
user's cache directory and starts with a key derived from the grammar text, the
parser options, the lark version and the Python version, so a change to any of them
rebuilds it. A damaged or foreign file is rebuilt too, and a cache that cannot be
written costs only the build. Files are written whole (temporary file, then rename),
so concurrent commands never read half a parser.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from pathlib import Path
from typing import Any

import lark

CACHE_ENV = "SGGIT_CACHE_DIR"
_PREFIX = "contract-parser-"


def cache_dir() -> Path | None:
    """`$SGGIT_CACHE_DIR`, else `$XDG_CACHE_HOME/sggit`, else `~/.cache/sggit`; None when there is no home."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "sggit"
    try:
        return Path.home() / ".cache" / "sggit"
    except RuntimeError:
        return None


def cache_key(grammar: str, options: dict[str, Any]) -> str:
    settings = ",".join(f"{k}={options[k]!r}" for k in sorted(options))
    text = "\n".join([grammar, settings, lark.__version__, ".".join(map(str, sys.version_info[:2]))])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def cache_path(grammar: str, options: dict[str, Any]) -> Path | None:
    where = cache_dir()
    return None if where is None else where / f"{_PREFIX}{cache_key(grammar, options)}.lark"


def load_parser(grammar: str, postlex: Any, options: dict[str, Any]) -> lark.Lark:
    """The parser for `grammar`, from the cache when it holds this exact build.

    A parser loaded from the cache carries its own copy of `postlex` (it is saved with
    it): use `parser.options.postlex`, not the object passed in.
    """
    path = cache_path(grammar, options)
    header = f"sggit-contract-parser {cache_key(grammar, options)}\n".encode()
    if path is not None:
        # a missing, unreadable or damaged cache file means: build the parser
        with contextlib.suppress(Exception), path.open("rb") as f:
            if f.readline() == header:
                return lark.Lark.load(f)
    parser = lark.Lark(grammar, postlex=postlex, **options)
    if path is not None:
        _write(path, header, parser)
    return parser


def _write(path: Path, header: bytes, parser: lark.Lark) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            f.write(header)
            parser.save(f)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def loaded_from_cache(parser: lark.Lark) -> bool:
    """Whether `parser` was deserialised rather than built (lark marks what it loads)."""
    return getattr(parser, "source_path", None) == "<deserialized>"
