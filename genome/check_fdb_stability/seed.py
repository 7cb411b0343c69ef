import json

import gene_sdk


def _sample(bridge, target_mac):
    """Learned entries by MAC: every port it is on, and the port it was seen on last."""
    seen = {}
    for entry in gene_sdk.fdb(bridge):
        if entry["local"] or (target_mac and entry["mac"] != target_mac.lower()):
            continue
        seen.setdefault(entry["mac"], []).append((entry["age"] or 0.0, entry["port"]))
    return {mac: (sorted(p for _, p in hits), min(hits)[1]) for mac, hits in seen.items()}


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    bridge = data["bridge"]
    seconds = max(1, data.get("monitor_seconds", 10))
    target_mac = data.get("target_mac")
    try:
        start = gene_sdk.now()
        samples = [_sample(bridge, target_mac)]
        for tick in range(1, seconds + 1):
            gene_sdk.sleep(max(0.0, start + tick - gene_sdk.now()))  # one sample a second, however long a sample takes
            samples.append(_sample(bridge, target_mac))
        entry_count = len(gene_sdk.fdb(bridge))
    except Exception:
        return json.dumps({"healthy": False, "flapping_macs": [], "entry_count": 0, "churn_rate": 0.0})

    ports = {}
    transitions = {}
    changes = 0
    for before, after in zip(samples, samples[1:]):
        changes += len(set(before) ^ set(after))
        for mac, (_, last) in after.items():
            if mac in before and before[mac][1] != last:
                transitions[mac] = transitions.get(mac, 0) + 1
                changes += 1
    for sample in samples:
        for mac, (on, _) in sample.items():
            ports.setdefault(mac, set()).update(on)
    flapping = [
        {"mac": mac, "ports": sorted(on), "transitions": transitions.get(mac, 0)}
        for mac, on in sorted(ports.items())
        if len(on) > 1
    ]
    churn = changes / seconds
    return json.dumps(
        {
            "healthy": not flapping and churn <= 0.1,
            "flapping_macs": flapping,
            "entry_count": entry_count,
            "churn_rate": churn,
        }
    )
