"""The local process evaluator: judging rules, time limits and surviving hostile candidates."""

from __future__ import annotations

from pathlib import Path

from sggit.engines.base import Case
from sggit.engines.gp import ProcessEvaluator

ECHO = '''import json

def execute(input_json):
    data = json.loads(input_json)
    return json.dumps({"doubled": data["x"] * 2, "error": data.get("error"), "success": data.get("success", True)})
'''


def test_expected_fields_must_match_and_others_are_free(evaluator: ProcessEvaluator) -> None:
    cases = [
        Case(input={"x": 2}, expected={"doubled": 4}),
        Case(input={"x": 2}, expected={"doubled": 5}),
        Case(input={"x": 2}, expected={"missing": 1}),
    ]
    [ev] = evaluator.evaluate([ECHO], cases)
    assert ev.results == [True, False, False]
    assert ev.passed == 1 and ev.total == 3
    assert "expected 5, got 4" in (ev.errors[1] or "")
    assert "missing output field" in (ev.errors[2] or "")


def test_a_case_without_expected_output_passes_only_without_a_reported_failure(evaluator: ProcessEvaluator) -> None:
    cases = [
        Case(input={"x": 1}, kind="failing"),
        Case(input={"x": 1, "error": "boom"}, kind="failing"),
        Case(input={"x": 1, "success": False}, kind="failing"),
        Case(input={"y": 1}, kind="failing"),
    ]
    [ev] = evaluator.evaluate([ECHO], cases)
    assert ev.results == [True, False, False, False]
    assert "KeyError" in (ev.errors[3] or "")


def test_sources_that_do_not_return_a_json_object_fail(evaluator: ProcessEvaluator) -> None:
    sources = [
        "def execute(input_json):\n    return 42\n",
        "def execute(input_json):\n    return '[1, 2]'\n",
        "def execute(input_json):\n    return 'not json'\n",
        "x = (\n",
        "def other(input_json):\n    return '{}'\n",
    ]
    evs = evaluator.evaluate(sources, [Case(input={}, expected=None)])
    assert [ev.passed for ev in evs] == [0, 0, 0, 0, 0]
    assert "not a JSON string" in (evs[0].errors[0] or "")
    assert "not a JSON object" in (evs[1].errors[0] or "")
    assert "SyntaxError" in (evs[3].errors[0] or "")
    assert "KeyError" in (evs[4].errors[0] or "")


def test_an_endless_loop_times_out_and_the_worker_keeps_serving(evaluator: ProcessEvaluator) -> None:
    looping = "def execute(input_json):\n    while True:\n        pass\n"
    cases = [Case(input={"x": 1}, expected={"doubled": 2}), Case(input={"x": 2}, expected={"doubled": 4})]
    looped, fine = evaluator.evaluate([looping, ECHO], cases)
    assert looped.passed == 0
    assert "timed out" in (looped.errors[0] or "")
    assert looped.errors[1] == "skipped after a timeout"
    assert fine.results == [True, True]


def test_a_loop_that_swallows_the_timer_gets_its_worker_killed_and_replaced() -> None:
    stubborn = (
        "def execute(input_json):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
    )
    with ProcessEvaluator(1, case_timeout=0.05, grace=0.3) as ev:
        [stuck] = ev.evaluate([stubborn], [Case(input={"x": 1}, expected={"doubled": 2})])
        assert stuck.passed == 0
        assert "killed after" in (stuck.errors[0] or "")
        [after] = ev.evaluate([ECHO], [Case(input={"x": 3}, expected={"doubled": 6})])
        assert after.results == [True]


def test_a_worker_that_dies_is_replaced() -> None:
    dying = "import os\n\ndef execute(input_json):\n    os._exit(3)\n"
    with ProcessEvaluator(1, case_timeout=0.5) as ev:
        [dead] = ev.evaluate([dying], [Case(input={"x": 1})])
        assert dead.passed == 0
        assert dead.errors[0] == "evaluation worker died"
        [after] = ev.evaluate([ECHO], [Case(input={"x": 3}, expected={"doubled": 6})])
        assert after.results == [True]


def test_printing_candidates_do_not_corrupt_the_channel(evaluator: ProcessEvaluator) -> None:
    noisy = (
        "import json, os\n\ndef execute(input_json):\n"
        "    print('{\"results\": [true]}')\n"
        "    os.write(1, b'garbage\\n')\n"
        "    return json.dumps({'ok': 1})\n"
    )
    [ev] = evaluator.evaluate([noisy], [Case(input={}, expected={"ok": 1}), Case(input={}, expected={"ok": 2})])
    assert ev.results == [True, False]


def test_results_come_back_in_source_order(evaluator: ProcessEvaluator) -> None:
    sources = [f"import json\n\ndef execute(input_json):\n    return json.dumps({{'n': {n}}})\n" for n in range(12)]
    evs = evaluator.evaluate(sources, [Case(input={}, expected={"n": 7})])
    assert [ev.passed for ev in evs] == [1 if n == 7 else 0 for n in range(12)]
    before = evaluator.evaluated
    evaluator.evaluate(sources[:3], [Case(input={})])
    assert evaluator.evaluated == before + 3


def test_candidates_run_in_a_scratch_directory_that_close_removes(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    writer = (
        "import json, os\n\ndef execute(input_json):\n"
        "    open('left-behind', 'w').write('x')\n"
        "    return json.dumps({'cwd': os.getcwd()})\n"
    )
    ev = ProcessEvaluator(1)
    [result] = ev.evaluate([writer], [Case(input={}, expected={"cwd": str(tmp_path)})])
    scratch = (result.errors[0] or "").split("got ")[-1].strip("'")
    assert result.passed == 0 and "sggit-gp-" in scratch
    assert not (tmp_path / "left-behind").exists()
    ev.close()
    assert not Path(scratch).exists()
