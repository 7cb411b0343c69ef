"""Located diagnostics for contracts: `path:line:col: message`, the line, a caret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    column: int
    message: str
    hint: str | None = None
    source_line: str | None = None
    severity: str = "error"

    def render(self) -> str:
        head = f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"
        parts = [head]
        if self.source_line is not None:
            text = self.source_line.rstrip("\n")
            parts.append(f"  {text}")
            parts.append("  " + " " * max(self.column - 1, 0) + "^")
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def as_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class ContractError(Exception):
    """One or more located problems in contracts; exit code 1 for the CLI."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    exit_code: int = 1

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)
