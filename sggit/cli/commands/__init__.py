"""The command table: each command's name and where it lives, loaded only when it runs.

`sggit --version` and `sggit status` therefore import only what they use. A new
command is a function in one of these modules plus one line here.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "check": "contract:check",
    "ci": "ci:ci",
    "completion": "completion:completion",
    "corpus": "evolve:corpus_group",
    "deploy": "topology:deploy_command",
    "doctor": "doctor:doctor",
    "fmt": "contract:fmt_command",
    "gc": "gc:gc_command",
    "generate": "evolve:generate_command",
    "heal": "evolve:heal_command",
    "host": "host:host",
    "init": "genome:init_command",
    "kernel": "kernel:kernel_group",
    "lineage": "genome:lineage_command",
    "plan": "topology:plan_command",
    "promote": "evolve:promote_command",
    "pull": "fleet:pull_command",
    "push": "fleet:push_command",
    "register": "genome:register_command",
    "report": "report:report_command",
    "resolve": "fleet:resolve_command",
    "rollback": "genome:rollback_command",
    "run": "run:run",
    "show": "genome:show_command",
    "status": "status:status_command",
    "sync": "genome:sync_command",
    "test": "run:test_command",
    "verify": "watch:verify",
    "watch": "watch:watch",
    "why": "genome:why_command",
}
"""Command name -> "module:attribute" within this package."""
