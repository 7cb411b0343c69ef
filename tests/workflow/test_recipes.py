"""The shipped CI recipes are valid YAML and every sggit command line in them parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml  # pre-commit depends on PyYAML

from sggit.cli import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"


def _lines(node: object) -> list[str]:
    if isinstance(node, dict):
        return [line for value in node.values() for line in _lines(value)]
    if isinstance(node, list):
        return [line for value in node for line in _lines(value)]
    if isinstance(node, str):
        return node.splitlines()
    return []


def sggit_commands(recipe: dict) -> list[list[str]]:
    found = []
    for line in _lines(recipe):
        match = re.search(r"(?:^|[;&|]\s*)sggit\s+(.*)$", line.strip())
        if match is None or "pip install" in line:
            continue
        words = shlex.split(re.split(r"\s(?:\||>>?|\|\||&&)\s", match.group(1))[0])
        found.append(words)
    return found


def parse(args: list[str]) -> click.Command:
    """Resolve the subcommand and let click parse its options, as the real run would."""
    command: click.Command = cli
    ctx = click.Context(cli, info_name="sggit")
    while isinstance(command, click.Group):
        name, args = args[0], args[1:]
        sub = command.get_command(ctx, name)
        assert sub is not None, f"no command {name}"
        command = sub
    command.make_context(command.name, list(args), parent=ctx)
    return command


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_recipe_commands_exist_with_their_options(name: str) -> None:
    recipe = yaml.safe_load((DOCS / name).read_text())
    commands = sggit_commands(recipe)
    names = {parse(words).name for words in commands}
    assert {"check", "promote", "pull", "report"} <= names, names


def test_a_wrong_option_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        parse(["ci", "check", "--bse", "main"])
