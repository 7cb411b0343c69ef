"""The version is one number everywhere a user meets it: --version, pyproject, CHANGELOG, recipes, hooks docs."""

from __future__ import annotations

import re
import tomllib

import yaml

from sggit import __version__
from tests.helpers import sggit
from tests.workflow.helpers import ROOT


def test_version_changelog_and_pinned_tags_agree(tmp_path) -> None:
    tag = f"v{__version__}"
    assert sggit(tmp_path, "--version").stdout.strip() == f"sggit, version {__version__}"
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == __version__
    headings = re.findall(r"^## (v\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings and headings[0] == tag, headings
    github = yaml.safe_load((ROOT / "docs/ci/github-actions.yml").read_text())["env"]["SGGIT_SOURCE"]
    gitlab = yaml.safe_load((ROOT / "docs/ci/gitlab-ci.yml").read_text())["variables"]["SGGIT_SOURCE"]
    assert github.endswith(f"@{tag}") and gitlab.endswith(f"@{tag}")
    assert f"rev: {tag}" in (ROOT / "docs/workflow.md").read_text()
