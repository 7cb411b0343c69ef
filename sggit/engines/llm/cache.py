"""Answers already paid for, keyed by the question, so the same failure never pays twice.

The key covers everything that shapes the question: the mode, the locus, a
digest of the contract, the parent allele, the failure signature and the model.
An entry stores the raw answer and the candidates that passed screening; a
rejected candidate was logged when the answer first arrived and is not logged
again on a hit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, Field

from sggit.engines.base import MutationContext
from sggit.fsutil import atomic_write_text

CACHE_VERSION = 1


def cache_key(mode: str, context: MutationContext, model: str) -> str:
    contract = hashlib.sha256(context.contract.model_dump_json().encode()).hexdigest()
    blob = json.dumps(
        [CACHE_VERSION, mode, context.contract.locus, contract, context.parent, context.signature(), model]
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class CachedAnswer(BaseModel):
    key: str
    model: str
    prompt_hash: str
    text: str
    candidates: list[str] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


class AnswerCache:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedAnswer | None:
        path = self._path(key)
        try:
            return CachedAnswer.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return None

    def put(self, answer: CachedAnswer) -> None:
        path = self._path(answer.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, answer.model_dump_json(indent=2) + "\n")
