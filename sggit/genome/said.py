"""Words that came from a gene, told apart from sggit's own wherever a failure is shown.

A failure's text is kept as one string in the journal and the fitness notes. What a
gene wrote into it (its `error` output, what its process reported, its last stderr)
is quoted as a JSON string where the text is made, so it is one line and plainly the
gene's; `failure_detail` shows older records, made before that, the same way.
"""

from __future__ import annotations

import json

GENE_FAILURE = "gene reported failure: "
"""How a failure the gene reported itself (`success: false`) begins; its own words follow."""


def quoted(text: str) -> str:
    """`text` as a JSON string: one line, its quotes and control characters escaped."""
    return json.dumps(text, ensure_ascii=False)


def gene_said(error: str | None) -> str | None:
    """The gene's own words in an error (its `error` output when it returned success: false)."""
    if error and error.startswith(GENE_FAILURE):
        return error[len(GENE_FAILURE):]
    return None


def one_line(text: str) -> str:
    """`text` with its line breaks and other control characters escaped: it cannot start a line of its own."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def failure_detail(error: str) -> str:
    """An error for people: a gene's reported failure quoted after `gene said`, anything else on one line."""
    said = gene_said(error)
    if said is not None:
        return f"gene reported failure, gene said {quoted(said)}"
    return one_line(error)
