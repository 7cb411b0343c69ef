"""`init_project` from Python, in an interpreter that imported nothing else of sggit.

The test suite's own imports install the domains' resource kinds, so only a
fresh interpreter shows whether the library call stands on its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_init_project_checks_the_shipped_topologies_without_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "genome"
    script = ("import sys\nfrom pathlib import Path\nfrom sggit.genome.init import init_project\n"
              "report = init_project(Path(sys.argv[1]))\nprint(len(report.alleles_registered))\n")
    done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "unknown resource kind" not in done.stderr
    assert int(done.stdout) > 0
    assert (root / "contracts" / "topologies" / "production_server.sg").is_file()
