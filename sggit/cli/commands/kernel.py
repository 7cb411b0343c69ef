"""`sggit kernel ...`: look at and poke the kernel genes act on (host, netns or mock)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sggit.cli.usage import Subgroup
from sggit.errors import UsageError
from sggit.genome.jsonio import loads_input
from sggit.kernel.api import INTERFACE, ArgumentError
from sggit.kernel.dispatch import perform
from sggit.kernel.mock import MockDescription, default_description
from sggit.kernel.session import create_mock_state, mock_session, open_kernel

_NETNS = click.option("--netns", default=None, metavar="NAME", help="Act inside this network namespace.")
_MOCK = click.option(
    "--mock", "mock_state", type=click.Path(dir_okay=False, path_type=Path), default=None,
    metavar="STATE", help="Act on the mock kernel kept in this state file.",
)


@click.group("kernel", cls=Subgroup)
def kernel_group() -> None:
    """The kernel genes act on: features, mock state, single operations."""


@kernel_group.command("features")
@_NETNS
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def features(netns: str | None, fmt: str) -> None:
    """Which link types this machine's kernel supports (inside NAME with --netns), found by
    trying them; and the installed domains with their kernel kinds."""
    from sggit.cli.commands.doctor import echo_checks
    from sggit.doctor import as_check
    from sggit.domains.checks import installed_domains
    from sggit.domains.listing import domain_rows
    from sggit.kernel.features import doctor_checks
    from sggit.kernel.netlink import netns_exists

    if netns is not None and not netns_exists(netns):
        raise UsageError(f"network namespace {netns!r} does not exist", hint="see `ip netns list`")
    checks = doctor_checks(netns)
    rows = domain_rows()
    if fmt == "json":
        click.echo(json.dumps({"netns": netns, "features": [c._asdict() for c in checks], "domains": rows}, indent=2))
        return
    echo_checks([as_check(c) for c in [*checks, *installed_domains(rows)]])


@kernel_group.command("mock-reset")
@click.option("--phenotype", help="Phenotype whose simulated host to reset (default: the only one).")
def mock_reset(phenotype: str | None) -> None:
    """Put a phenotype's mock host (.git/sggit/mock-<phenotype>.json) back as it boots."""
    from sggit.genome.repo import Genome
    from sggit.kernel import kinds
    from sggit.runtime.session import choose_phenotype, kernel_target, project_root

    genome = Genome.open(project_root())
    name = choose_phenotype(genome, phenotype)
    path = kinds.get("mock").reset(kernel_target(genome, name))  # type: ignore[attr-defined]
    click.echo(f"mock host of {name} reset: {path}")


@kernel_group.command("mock-init")
@click.argument("state", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--nics", default=4, show_default=True, type=click.IntRange(1, 64), help="NICs eth0..ethN-1.")
@click.option("--reflecting-switch", is_flag=True, help="The upstream switch reflects frames (MAC flapping after an uplink change).")
@click.option("--description", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSON machine description instead of --nics.")
@click.option("--force", is_flag=True, help="Replace an existing state file.")
def mock_init(state: Path, nics: int, reflecting_switch: bool, description: Path | None, force: bool) -> None:
    """Create a mock kernel state file for runs without root."""
    if description is not None:
        try:
            desc = MockDescription.model_validate_json(description.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{description}: not a mock machine description: {str(exc).splitlines()[0]}") from None
        desc.reflecting_switch = desc.reflecting_switch or reflecting_switch
    else:
        desc = default_description(nics, reflecting_switch=reflecting_switch)
    kernel = create_mock_state(state, desc, force=force)
    names = ", ".join(link["name"] for link in kernel.list_links())
    click.echo(f"mock kernel with {names} written to {state}")


@kernel_group.command("call")
@click.argument("operation")
@click.argument("arguments", required=False, default="[]")
@_NETNS
@_MOCK
def call(operation: str, arguments: str, netns: str | None, mock_state: Path | None) -> None:
    """Run one gene_sdk OPERATION with ARGUMENTS (a JSON list, or an object of keywords)."""
    if operation not in INTERFACE:
        raise UsageError(f"unknown operation {operation!r}", hint=f"one of: {', '.join(sorted(INTERFACE))}")
    parsed = loads_input(arguments, "ARGUMENTS")
    args, kwargs = (parsed, {}) if isinstance(parsed, list) else ([], parsed)
    if not isinstance(kwargs, dict):
        raise UsageError("ARGUMENTS must be a JSON list or object")
    with open_kernel(netns=netns, mock_state=mock_state) as kernel:
        try:
            result = perform(kernel, operation, args, kwargs)
        except ArgumentError as exc:
            raise UsageError(str(exc)) from None
    click.echo(json.dumps(result, indent=2))


@kernel_group.command("inject")
@click.argument("kind", type=click.Choice(["link_down", "link_up", "reflecting_switch", "netlink_error"]))
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--mock", "mock_state", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="STATE")
def inject(kind: str, params: tuple[str, ...], mock_state: Path) -> None:
    """Make the mock world misbehave, e.g. `inject link_down dev=eth0`."""
    values: dict[str, object] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {item!r}")
        try:
            values[key] = loads_input(value, key)
        except UsageError:
            if value.lstrip()[:1] in ("[", "{"):  # meant as JSON: say what is wrong with it
                raise
            values[key] = value  # a plain word, as `dev=eth0`
    with mock_session(mock_state) as kernel:
        try:
            kernel.inject(kind, **values)
        except (TypeError, KeyError) as exc:
            raise UsageError(f"{kind}: bad parameters: {exc}") from None
        except ArgumentError as exc:
            raise UsageError(str(exc)) from None
    click.echo(f"injected {kind}")


