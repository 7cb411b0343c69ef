"""`make demo`: the contract tooling on the shipped genome (the runtime joins later)."""

from __future__ import annotations

import sys

from sggit.cli import cli


def main() -> int:
    from sggit.shipped import shipped_root

    root = shipped_root()
    steps = [
        ["check", str(root / "contracts"), str(root / "phenotypes")],
        ["fmt", "--check", str(root / "contracts")],
    ]
    for args in steps:
        print(f"$ sggit {' '.join(args)}", flush=True)
        try:
            cli.main(args=args, prog_name="sggit", standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                return int(exc.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
