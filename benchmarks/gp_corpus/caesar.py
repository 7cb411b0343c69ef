import json


def caesar(s, k):
    out = []
    for ch in s:
        if ch.isalpha():
            base = ord("a") if ch.islower() else ord("A")
            out.append(chr((ord(ch) - base + k) % 26 + base))
        else:
            out.append(ch)
    return "".join(out)


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"result": caesar(data["s"], data["k"])})
