"""A gene's input text is exactly what `json.dumps` would have given it."""

from __future__ import annotations

import json

import pytest

from sggit.runtime.call import input_json

CASES = [
    {"value": 1},
    {"a": [1, 2.5, None, True, "é\u2028x\"\\"], "b": {"c": -0.0, "d": 1e300, "e": 10**30}},
    "text", 5, None, 1.5, [], {},
    [float("nan"), float("inf"), float("-inf")],
    {1: "int key", False: "bool key", None: "none key", 2.5: "float key"},
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
def test_the_input_text_is_json_dumps_text(value: object) -> None:
    assert input_json(value) == json.dumps(value)


def test_what_json_dumps_refuses_is_refused_alike() -> None:
    loop: list[object] = []
    loop.append(loop)
    for bad, kind in ((loop, ValueError), ({"s": {1, 2}}, TypeError)):
        with pytest.raises(kind) as ours:
            input_json(bad)
        with pytest.raises(kind) as theirs:
            json.dumps(bad)
        assert str(ours.value) == str(theirs.value)
