from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sggit.engines.base import ContractBrief, MutationContext
from sggit.engines.llm import AnthropicEngine, AnthropicSettings

from .standin import StandIn

GOOD = '''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"success": True, "resources_created": [data["bridge_name"]]})
'''

PARENT = '''import json


def execute(input_json: str) -> str:
    data = json.loads(input_json)
    return json.dumps({"success": True, "resources_created": [data["bridge_name"]], "ports": data["interfaces"]})
'''

DOES = (
    "Create a Linux bridge with the given interfaces. The bridge is the\n"
    "fundamental L2 primitive.\n\n"
    "For VLAN bridges, always disable STP."
)


def fenced(*sources: str, prose: str = "Here is the fix.") -> str:
    return prose + "\n\n" + "\n".join(f"```python\n{s}```\n" for s in sources)


@pytest.fixture
def contract() -> ContractBrief:
    return ContractBrief(
        locus="bridge_create",
        family="configuration",
        risk="low",
        does=DOES,
        takes=['bridge_name string "Name for the bridge"', 'interfaces string[] "Ports"'],
        gives=['success bool "Whether the bridge was created"'],
        before=["Bridge with this name does not already exist"],
        after=["Bridge exists and is in UP state"],
        fails_when=["bridge already exists -> success=false"],
        examples=[{"input": {"bridge_name": "br-example", "interfaces": []}, "output": {"success": True}}],
    )


@pytest.fixture
def failure(contract: ContractBrief) -> MutationContext:
    return MutationContext(
        contract=contract,
        parent="a1" * 32,
        parent_source=PARENT,
        failing_input={"bridge_name": "br0"},
        error="KeyError: 'interfaces'",
        diagnostics=["ip -d link show br0: Device \"br0\" does not exist."],
    )


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make(standin: StandIn, state_dir: Path) -> Callable[..., AnthropicEngine]:
    def build(**overrides: object) -> AnthropicEngine:
        values: dict[str, object] = {
            "model": "claude-standin-1",
            "retry_base_delay": 0.01,
            "retry_max_delay": 2.0,
            "max_retries": 3,
            "timeout": 10.0,
        }
        values.update(overrides)
        return AnthropicEngine(
            state_dir=state_dir,
            settings=AnthropicSettings(**values),  # type: ignore[arg-type]
            api_key="sk-standin",
            base_url=standin.url,
        )

    return build
