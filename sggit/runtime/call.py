"""Calling an allele and judging what it did: the one path every caller takes.

The organism (stack, canary, fused pathways), the candidate evaluator, conformance
and `examples:`, fusion's replay and CI's shadow replay all call `call_allele`
and hand its outcome to `judge`. The same allele on the same input and kernel
state therefore gets the same verdict whoever asks, and a rule about what counts
as failure (a configuration gene reporting `success: false`, an output that does
not match `gives`, a diagnostic that tried to change the kernel) lives here only.

A diagnostic or transform gene observes; its transaction is read-only, so a
mutating gene_sdk call is refused and fails the attempt even if the gene catches
the refusal.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from sggit.contract import nodes as n
from sggit.contract.validate import Validator, compile_validator
from sggit.genome.said import GENE_FAILURE, quoted
from sggit.kernel.api import Kernel
from sggit.kernel.transaction import Transaction

if TYPE_CHECKING:
    from sggit.runtime.sandbox.outcome import GeneOutcome

READ_ONLY_FAMILIES = ("diagnostic", "transform")
MAX_VIOLATIONS = 5


def _input_encoder() -> Any:
    """`json.dumps(data)` with its defaults, byte for byte, without the three Python layers it crosses first.

    Every gene call encodes its input; `json.dumps` spends more time reaching the C
    encoder than encoding a small object. The encoder is made per call (its
    circular-reference markers are per call, and calls run on several threads).
    """
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return json.dumps
    escape, floats = encoder.encode_basestring_ascii, float.__repr__

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")

    def dumps(data: Any) -> str:
        if isinstance(data, str):
            return escape(data)
        return "".join(make({}, default, escape, floats, ": ", ", ", False, False, True)(data, 0))

    return dumps


input_json = _input_encoder()


class FusedOutput(BaseModel):
    """What a fused pathway's one allele gives: the unfused run's step outputs, or where it broke."""

    ok: bool
    outputs: dict[str, Any] = Field(default_factory=dict)
    failed_step: int | None = None
    error: str | None = None


@dataclass
class Call:
    """One allele run in a sandbox worker inside its own transaction."""

    allele: str
    outcome: GeneOutcome
    transaction: Transaction
    duration_ms: float


@dataclass(frozen=True)
class Verdict:
    """Whether a call succeeded, its checked output, and why not.

    `kind` is None on success, the sandbox's error kind (timeout, crash, limit,
    exception, forbidden, bad_output) when the call itself failed, "bad_output"
    when the output breaks the contract or reports failure, and "mismatch" when it
    differs from an expected example output.
    """

    ok: bool
    output: Any = None
    error: str | None = None
    kind: str | None = None


def read_only_for(gene: n.Gene | n.Pathway) -> bool:
    return isinstance(gene, n.Gene) and gene.family in READ_ONLY_FAMILIES


def checked_input(gene: n.Gene, value: Any) -> tuple[Any, str | None]:
    """`value` with the defaults of `takes` applied, and why it is invalid (None when it is not)."""
    data, problems = compile_validator(gene, "takes").validate(value)
    if problems:
        return data, "input is invalid: " + "; ".join(str(p) for p in problems[:MAX_VIOLATIONS])
    return data, None


def call_allele(
    pool: Any,
    gene: n.Gene | n.Pathway,
    allele: str,
    source: str,
    data: dict[str, Any],
    kernel: Kernel,
    *,
    timeout: float,
) -> Call:
    """Run `allele` on `data` (already validated against `takes`) against `kernel`."""
    family = gene.family if isinstance(gene, n.Gene) else None
    tx = Transaction(kernel, read_only=read_only_for(gene), actor=family or "")
    started = time.perf_counter()
    # A worker is bound to one allele at one locus: one blob registered at two loci (a configuration
    # gene and the diagnostic that judges it) never shares a process between them.
    with tx:  # a call that does not come back (the user's interrupt, sggit's own error) leaves nothing changed
        outcome = pool.run(f"{gene.name}:{allele}", source, input_json(data), handler=tx.handler, timeout=timeout)
    if tx.violations:
        outcome = outcome.model_copy(update={"ok": False, "output": None, "error": "forbidden", "message": tx.violations[0]})
    return Call(allele=allele, outcome=outcome, transaction=tx, duration_ms=(time.perf_counter() - started) * 1000)


def judge(
    gene: n.Gene | n.Pathway,
    outcome: GeneOutcome,
    *,
    expected: dict[str, Any] | None = None,
    gives: Validator | None = None,
) -> Verdict:
    """The verdict on one call; `expected` (an example's output fields) must match where given.

    A configuration gene reporting `success: false` has failed, unless the example
    expects exactly that (a contract may document its failure modes). `gives` is
    the gene's compiled output validator, for callers that keep one.
    """
    if not outcome.ok:
        return Verdict(ok=False, error=outcome.message or outcome.error, kind=outcome.error)
    if isinstance(gene, n.Pathway):
        return _judge_fused(outcome.output)
    try:
        value = json.loads(outcome.output) if isinstance(outcome.output, str) else None
    except json.JSONDecodeError as exc:
        return Verdict(ok=False, error=f"output is not JSON: {exc.msg}", kind="bad_output")
    checked, violations = (gives or compile_validator(gene, "gives")).validate(value)
    if violations:
        listed = "; ".join(str(v) for v in violations[:MAX_VIOLATIONS])
        return Verdict(ok=False, output=value, error=f"output does not match gives: {listed}", kind="bad_output")
    expects_failure = expected is not None and expected.get("success") is False
    if gene.family == "configuration" and isinstance(checked, dict) and checked.get("success") is False and not expects_failure:
        return Verdict(ok=False, output=checked, error=f"{GENE_FAILURE}{checked.get('error') or 'success=false'}", kind="bad_output")
    if expected is not None:
        differs = compare(expected, checked)
        if differs is not None:
            return Verdict(ok=False, output=checked, error=differs, kind="mismatch")
    return Verdict(ok=True, output=checked)


def compare(expected: dict[str, Any], actual: Any) -> str | None:
    """Why `actual` does not have the fields an example lists (fields it does not list are free)."""
    if not isinstance(actual, dict):
        return f"output is {type(actual).__name__}, not an object"
    for key, want in expected.items():
        if key not in actual:
            return f"{key}: missing (expected {json.dumps(want)})"
        if actual[key] != want:
            return f"{key}: expected {json.dumps(want)}, got {json.dumps(actual[key])}"
    return None


def _judge_fused(raw: str | None) -> Verdict:
    try:
        output = FusedOutput.model_validate_json(raw or "")
    except ValueError as exc:
        return Verdict(ok=False, error=f"fused output is not valid: {exc}", kind="bad_output")
    if not output.ok:
        return Verdict(ok=False, output=output, error=f"step {output.failed_step}: gene said {quoted(output.error or '')}", kind="bad_output")
    return Verdict(ok=True, output=output)
