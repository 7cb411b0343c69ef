import json

import gene_sdk


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    source = data["source_interface"]
    target = data.get("target", "gateway")
    method = data.get("method", "arp")
    count = max(1, data.get("count", 3))
    unreachable = {"healthy": False, "reachable": False, "loss": 1.0, "rtt_ms": None}
    try:
        if target == "gateway":
            target = gene_sdk.default_gateway(source) or gene_sdk.default_gateway()
        if not target:
            return json.dumps(unreachable)
        rtts = []
        for _ in range(count):
            answer = gene_sdk.probe(source, target, method, 1.0)
            if answer["reachable"]:
                rtts.append(answer["rtt_ms"])
    except Exception:
        return json.dumps(unreachable)
    loss = 1.0 - len(rtts) / count
    return json.dumps(
        {
            "healthy": bool(rtts) and loss <= 0.5,
            "reachable": bool(rtts),
            "loss": loss,
            "rtt_ms": sum(rtts) / len(rtts) if rtts else None,
        }
    )
