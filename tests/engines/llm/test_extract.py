from sggit.engines.llm.extract import has_unclosed_block, python_blocks


def test_each_python_fence_is_one_candidate_in_order():
    text = (
        "First approach:\n```python\ndef execute(x):\n    return x\n```\n"
        "Second:\n```py\ndef execute(x):\n    return '{}'\n```\n"
        "Third:\n``` Python3\nimport json\n```"
    )
    assert python_blocks(text) == [
        "def execute(x):\n    return x\n",
        "def execute(x):\n    return '{}'\n",
        "import json\n",
    ]


def test_other_fences_and_blank_blocks_are_not_candidates():
    text = "```json\n{\"a\": 1}\n```\n```\nplain\n```\n```python\n\n```\n"
    assert python_blocks(text) == []


def test_inline_backticks_do_not_open_a_block():
    assert python_blocks("Use ```python fences``` like this.") == []


def test_unclosed_fence_is_detected():
    assert has_unclosed_block("```python\ndef execute(x):\n    ret")
    assert not has_unclosed_block("```python\ndef execute(x):\n    return x\n```\n")
    assert not has_unclosed_block("no code at all")
