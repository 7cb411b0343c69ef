"""Seeded bugs: small transform alleles, each with its correct source and single-edit bugs.

Used by the tests and the benchmarks to measure repair. Examples play the
contract's `examples`; held-out inputs are judged against the correct source's
output and are never shown to the engine, so a repair that only fits the
examples is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sggit.engines.base import ContractBrief, MutationContext


@dataclass(frozen=True)
class Bug:
    name: str
    kind: str
    old: str
    new: str


@dataclass(frozen=True)
class Program:
    locus: str
    source: str
    examples: list[dict[str, Any]]
    held_out: list[dict[str, Any]]
    bugs: list[Bug] = field(default_factory=list)

    def buggy(self, bug: Bug) -> str:
        assert self.source.count(bug.old) == 1, f"{bug.name}: {bug.old!r} must occur once"
        return self.source.replace(bug.old, bug.new)


CLAMP = Program(
    locus="clamp",
    source='''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    value = data["value"]
    low = data["low"]
    high = data["high"]
    if low > high:
        return json.dumps({"success": False, "value": None, "error": "low is above high"})
    if value < low:
        value = low
    elif value > high:
        value = high
    return json.dumps({"success": True, "value": value, "error": None})
''',
    examples=[
        {"input": {"value": 5, "low": 0, "high": 10}, "output": {"success": True, "value": 5}},
        {"input": {"value": -3, "low": 0, "high": 10}, "output": {"success": True, "value": 0}},
        {"input": {"value": 12, "low": 0, "high": 10}, "output": {"success": True, "value": 10}},
        {"input": {"value": 4, "low": 4, "high": 4}, "output": {"success": True, "value": 4}},
        {"input": {"value": 1, "low": 3, "high": 2}, "output": {"success": False}},
        {"input": {"value": 1, "low": 3, "high": 8}, "output": {"success": True, "value": 3}},
    ],
    held_out=[
        {"value": 100, "low": -5, "high": 5}, {"value": -100, "low": -5, "high": 5},
        {"value": 0, "low": -5, "high": 5}, {"value": 7, "low": 7, "high": 9},
        {"value": 9, "low": 7, "high": 9}, {"value": 8, "low": 7, "high": 9},
        {"value": 2, "low": 5, "high": 1}, {"value": 6, "low": 1, "high": 5},
    ],
    bugs=[
        Bug("clamp-swapped-comparison", "swapped comparison", "if value < low:", "if value > low:"),
        Bug("clamp-wrong-variable", "wrong variable", "value = high\n", "value = low\n"),
        Bug("clamp-off-by-one", "off-by-one", "value = low\n", "value = low + 1\n"),
    ],
)

MAC_SOURCE = Program(
    locus="mac_preserve_select",
    source='''import json
PRIORITY = ["dhcp_lease", "original", "uplink", "current"]


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    best = None
    best_rank = len(PRIORITY)
    for candidate in data["candidates"]:
        mac = candidate.get("mac")
        if not mac:
            continue
        rank = PRIORITY.index(candidate["source"])
        if rank < best_rank:
            best_rank = rank
            best = candidate
    if best is None:
        return json.dumps({"success": False, "mac": None, "source": None, "error": "no MAC available"})
    return json.dumps({"success": True, "mac": best["mac"].lower(), "source": best["source"], "error": None})
''',
    examples=[
        {"input": {"candidates": [{"source": "current", "mac": "AA:00:00:00:00:04"},
                                  {"source": "dhcp_lease", "mac": "aa:00:00:00:00:01"}]},
         "output": {"success": True, "mac": "aa:00:00:00:00:01", "source": "dhcp_lease"}},
        {"input": {"candidates": [{"source": "uplink", "mac": "aa:00:00:00:00:03"},
                                  {"source": "original", "mac": "aa:00:00:00:00:02"},
                                  {"source": "current", "mac": "aa:00:00:00:00:04"}]},
         "output": {"success": True, "mac": "aa:00:00:00:00:02", "source": "original"}},
        {"input": {"candidates": [{"source": "current", "mac": "AA:00:00:00:00:04"}]},
         "output": {"success": True, "mac": "aa:00:00:00:00:04", "source": "current"}},
        {"input": {"candidates": [{"source": "dhcp_lease", "mac": None}, {"source": "uplink", "mac": "aa:00:00:00:00:03"}]},
         "output": {"success": True, "mac": "aa:00:00:00:00:03", "source": "uplink"}},
        {"input": {"candidates": []}, "output": {"success": False, "mac": None}},
    ],
    held_out=[
        {"candidates": [{"source": "uplink", "mac": "AB:CD:00:00:00:03"}, {"source": "current", "mac": "ab:cd:00:00:00:04"}]},
        {"candidates": [{"source": "current", "mac": "ab:cd:00:00:00:04"}, {"source": "original", "mac": "AB:CD:00:00:00:02"},
                        {"source": "uplink", "mac": "ab:cd:00:00:00:03"}]},
        {"candidates": [{"source": "original", "mac": ""}, {"source": "current", "mac": "ab:cd:00:00:00:04"}]},
        {"candidates": [{"source": "dhcp_lease", "mac": None}]},
        {"candidates": [{"source": "dhcp_lease", "mac": "ab:cd:00:00:00:01"}, {"source": "uplink", "mac": "ab:cd:00:00:00:03"}]},
    ],
    bugs=[
        Bug("mac-swapped-comparison", "swapped comparison", "if rank < best_rank:", "if rank > best_rank:"),
        Bug("mac-wrong-variable", "wrong variable", '"source": best["source"]', '"source": candidate["source"]'),
        Bug("mac-off-by-one", "off-by-one", "best_rank = len(PRIORITY)\n", "best_rank = len(PRIORITY) - 1\n"),
    ],
)

VLAN_NAME = Program(
    locus="vlan_interface_name",
    source='''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    parent = data["parent"]
    vid = data["vlan_id"]
    if vid < 1 or vid > 4094:
        return json.dumps({"success": False, "name": None, "error": "vlan id out of range"})
    suffix = "." + str(vid)
    name = parent + suffix
    if len(name) > 15:
        keep = 15 - len(suffix)
        name = parent[:keep] + suffix
    return json.dumps({"success": True, "name": name, "error": None})
''',
    examples=[
        {"input": {"parent": "eth0", "vlan_id": 100}, "output": {"success": True, "name": "eth0.100"}},
        {"input": {"parent": "enp0s31f6", "vlan_id": 4094}, "output": {"success": True, "name": "enp0s31f6.4094"}},
        {"input": {"parent": "enx00e04c680001", "vlan_id": 12}, "output": {"success": True, "name": "enx00e04c680.12"}},
        {"input": {"parent": "enp0s31f6abc", "vlan_id": 4000}, "output": {"success": True, "name": "enp0s31f6a.4000"}},
        {"input": {"parent": "eth0", "vlan_id": 0}, "output": {"success": False}},
        {"input": {"parent": "eth0", "vlan_id": 4095}, "output": {"success": False}},
        {"input": {"parent": "eth1", "vlan_id": 1}, "output": {"success": True, "name": "eth1.1"}},
        {"input": {"parent": "eth1", "vlan_id": 5000}, "output": {"success": False}},
    ],
    held_out=[
        {"parent": "bond0", "vlan_id": 7}, {"parent": "enp0s31f6a", "vlan_id": 4000},
        {"parent": "enp0s31f6ab", "vlan_id": 4000}, {"parent": "wlp2s0", "vlan_id": 5000},
        {"parent": "abcdefghijklmnopq", "vlan_id": 3}, {"parent": "br0", "vlan_id": -1},
        {"parent": "br0", "vlan_id": 4094},
    ],
    bugs=[
        Bug("vlan-off-by-one", "off-by-one", "vid > 4094", "vid > 4095"),
        Bug("vlan-swapped-comparison", "swapped comparison", "if len(name) > 15:", "if len(name) < 15:"),
        Bug("vlan-wrong-variable", "wrong variable", "keep = 15 - len(suffix)", "keep = 15 - len(parent)"),
    ],
)

FLAPPING = Program(
    locus="check_fdb_flapping",
    source='''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    threshold = data.get("threshold", 2)
    last_port = {}
    moves = {}
    for event in data["events"]:
        mac = event["mac"]
        port = event["port"]
        if mac in last_port and last_port[mac] != port:
            moves[mac] = moves.get(mac, 0) + 1
        last_port[mac] = port
    flapping = sorted((mac for mac, count in moves.items() if count >= threshold))
    return json.dumps({"flapping": flapping, "count": len(flapping)})
''',
    examples=[
        {"input": {"events": [{"mac": "a", "port": "p1"}, {"mac": "a", "port": "p2"}, {"mac": "a", "port": "p1"}]},
         "output": {"flapping": ["a"], "count": 1}},
        {"input": {"events": [{"mac": "a", "port": "p1"}, {"mac": "a", "port": "p1"}, {"mac": "a", "port": "p1"},
                              {"mac": "b", "port": "p2"}]},
         "output": {"flapping": [], "count": 0}},
        {"input": {"events": [{"mac": "b", "port": "p1"}, {"mac": "b", "port": "p2"}], "threshold": 1},
         "output": {"flapping": ["b"], "count": 1}},
        {"input": {"events": [{"mac": "e", "port": "p1"}, {"mac": "e", "port": "p2"}, {"mac": "e", "port": "p1"}],
                   "threshold": 3},
         "output": {"flapping": [], "count": 0}},
        {"input": {"events": [{"mac": "c", "port": "p1"}, {"mac": "c", "port": "p2"}]},
         "output": {"flapping": [], "count": 0}},
        {"input": {"events": [{"mac": "d", "port": "p1"}, {"mac": "c", "port": "p1"}, {"mac": "d", "port": "p2"},
                              {"mac": "c", "port": "p2"}, {"mac": "d", "port": "p1"}, {"mac": "c", "port": "p1"}]},
         "output": {"flapping": ["c", "d"], "count": 2}},
    ],
    held_out=[
        {"events": []},
        {"events": [{"mac": "x", "port": "1"}, {"mac": "x", "port": "2"}, {"mac": "x", "port": "3"}, {"mac": "y", "port": "1"}]},
        {"events": [{"mac": "x", "port": "1"}, {"mac": "y", "port": "1"}, {"mac": "x", "port": "1"}], "threshold": 1},
        {"events": [{"mac": "z", "port": "1"}, {"mac": "z", "port": "2"}, {"mac": "z", "port": "1"}, {"mac": "z", "port": "2"}],
         "threshold": 3},
        {"events": [{"mac": "q", "port": "1"}, {"mac": "q", "port": "2"}, {"mac": "r", "port": "2"}, {"mac": "r", "port": "3"},
                    {"mac": "q", "port": "1"}], "threshold": 2},
    ],
    bugs=[
        Bug("flap-swapped-comparison", "swapped comparison", "count >= threshold", "count > threshold"),
        Bug("flap-wrong-variable", "wrong variable", "last_port[mac] = port", "last_port[mac] = mac"),
        Bug("flap-off-by-one", "off-by-one", "moves.get(mac, 0) + 1", "moves.get(mac, 1) + 1"),
    ],
)

FIRST_FREE = Program(
    locus="first_free_vlan",
    source='''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    used = sorted(set(data["used"]))
    candidate = data.get("low", 1)
    for vid in used:
        if vid < candidate:
            continue
        if vid != candidate:
            break
        candidate += 1
    return json.dumps({"id": candidate})
''',
    examples=[
        {"input": {"used": []}, "output": {"id": 1}},
        {"input": {"used": [1, 2, 3]}, "output": {"id": 4}},
        {"input": {"used": [3, 1, 2, 5]}, "output": {"id": 4}},
        {"input": {"used": [2, 3]}, "output": {"id": 1}},
        {"input": {"used": [1, 2, 10, 11], "low": 10}, "output": {"id": 12}},
        {"input": {"used": [4, 5, 7], "low": 5}, "output": {"id": 6}},
    ],
    held_out=[
        {"used": [1, 1, 2, 2, 4]}, {"used": [5, 6, 7], "low": 5}, {"used": [100], "low": 100},
        {"used": [1, 3, 5, 7], "low": 3}, {"used": [2, 4, 6], "low": 2}, {"used": [9, 8, 7, 6], "low": 6},
    ],
    bugs=[
        Bug("free-off-by-one", "off-by-one", "candidate += 1", "candidate += 2"),
        Bug("free-swapped-comparison", "swapped comparison", "if vid < candidate:", "if vid > candidate:"),
        Bug("free-wrong-variable", "wrong variable", "if vid != candidate:", "if vid != used:"),
    ],
)

PROGRAMS: tuple[Program, ...] = (CLAMP, MAC_SOURCE, VLAN_NAME, FLAPPING, FIRST_FREE)


def all_bugs() -> list[tuple[Program, Bug]]:
    return [(program, bug) for program in PROGRAMS for bug in program.bugs]


def context_for(program: Program, bug: Bug, failing_input: dict[str, Any] | None) -> MutationContext:
    """The context the runtime would hand an engine after the buggy allele failed."""
    return MutationContext(
        contract=ContractBrief(locus=program.locus, examples=program.examples),
        parent=f"{program.locus}-{bug.name}",
        parent_source=program.buggy(bug),
        failing_input=failing_input,
        error="the allele gave a wrong answer",
    )


def double_bugs() -> list[tuple[Program, Bug, str]]:
    """Pairs of seeded bugs in one allele (a harder tier: two edits away from correct)."""
    out: list[tuple[Program, Bug, str]] = []
    for program in PROGRAMS:
        for i, first in enumerate(program.bugs):
            for second in program.bugs[i + 1:]:
                once = program.buggy(first)
                if once.count(second.old) != 1:
                    continue
                combined = Bug(f"{first.name}+{second.name.split('-', 1)[1]}", "double", first.old, first.new)
                out.append((program, combined, once.replace(second.old, second.new)))
    return out
