"""In a fresh process (no test conftest), every command that checks contracts sees the domains' resource kinds."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import sggit


def test_init_register_check_and_plan_on_the_shipped_genome(tmp_path: Path) -> None:
    root = tmp_path / "g"
    sggit(tmp_path, "init", str(root))
    (root / "mine.py").write_text("import json\n\ndef execute(input_json):\n    return json.dumps({})\n")
    register = sggit(root, "register", "bridge_create", "mine.py", "--phenotype", "dell_r740")
    assert "registered" in register.stdout
    sggit(root, "check", "contracts")
    plan = sggit(root, "plan", "production_server", "--phenotype", "dell_r740")
    assert "provision_management_bridge" in plan.stdout
