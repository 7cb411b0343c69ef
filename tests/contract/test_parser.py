"""The grammar: every construct parses into the AST it means, with positions."""

from __future__ import annotations

import pytest

from sggit.contract import nodes as n
from sggit.contract.errors import ContractError
from sggit.contract.parser import parse_text
from tests.contract.helpers import sg

GENE = sg(
    """
    # a gene
    gene bridge_create
      is configuration
      risk low

      does:
        Create a bridge.

        Second paragraph,
          with an indented line.

      takes:
        bridge_name  string        "Name for the bridge"
        interfaces   string[]      "Ports"
        stp_enabled  bool = false  "STP"
        tags         string[3..]   "At least three"
        few          int[1..4]?    "One to four, or null"
        blob         json = [1, "two"]

      gives:
        success  bool     "Done"
        error    string?  "Why not"
        flaps    flap[]   "Flaps"

      types:
        flap:
          mac    string    "MAC"
          ports  string[]  "Ports"

      before:
        - Bridge does not exist
      after:
        - Bridge is UP
          and forwarding

      fails when:
        - bridge already exists -> success=false
        - netlink gone -> error

      verify:
        check_link_state device={bridge_name}
        within 1.5m

      examples:
        - {"bridge_name": "b", "interfaces": []} -> {"success": true}
    """
)


def test_gene_sections_parse_into_the_ast() -> None:
    doc = parse_text(GENE, "g.sg")
    gene = doc.definitions[0]
    assert isinstance(gene, n.Gene)
    assert (gene.name, gene.family, gene.risk) == ("bridge_create", "configuration", "low")
    assert gene.does is not None
    assert gene.does.text == "Create a bridge.\n\nSecond paragraph,\n  with an indented line."
    assert [f.name for f in gene.takes] == ["bridge_name", "interfaces", "stp_enabled", "tags", "few", "blob"]
    types = {f.name: f.type.render() for f in gene.takes}
    assert types == {
        "bridge_name": "string",
        "interfaces": "string[]",
        "stp_enabled": "bool",
        "tags": "string[3..]",
        "few": "int[1..4]?",
        "blob": "json",
    }
    tags = gene.takes[3].type
    assert (tags.kind, tags.min_items, tags.max_items) == ("list", 3, None)
    assert gene.takes[2].default is not None and gene.takes[2].default.semantic() == {"kind": "scalar", "value": False}
    assert gene.takes[2].description == "STP"
    assert gene.gives[1].type.is_optional and not gene.gives[1].required
    assert gene.types[0].name == "flap" and [f.name for f in gene.types[0].fields] == ["mac", "ports"]
    assert [b.text for b in gene.after] == ["Bridge is UP and forwarding"]
    assert gene.fails_when[0].outcome == "result" and gene.fails_when[0].assignments == {"success": False}
    assert gene.fails_when[1].outcome == "error" and gene.fails_when[1].condition == "netlink gone"
    assert gene.verify is not None and gene.verify.window is not None
    assert gene.verify.window.seconds == 90.0
    check = gene.verify.checks()[0]
    assert check.locus == "check_link_state" and check.args[0].name == "device"
    assert gene.examples[0].input == {"bridge_name": "b", "interfaces": []}
    assert gene.examples[0].output == {"success": True}
    assert gene.sections == ["is", "risk", "does", "takes", "gives", "types", "before", "after", "fails_when", "verify", "examples"]


def _at(node: n.Node) -> str:
    return GENE.splitlines()[node.line - 1][node.column - 1 :]


def test_positions_point_at_the_source() -> None:
    gene = parse_text(GENE, "g.sg").definitions[0]
    assert (gene.line, gene.column) == (2, 6)
    assert _at(gene) == "bridge_create"
    assert _at(gene.takes[0]).startswith("bridge_name  string")
    assert gene.takes[2].default is not None and _at(gene.takes[2].default).startswith("false")
    assert gene.does is not None and _at(gene.does) == "Create a bridge."
    value = gene.verify.checks()[0].args[0].value  # type: ignore[union-attr]
    assert _at(value) == "{bridge_name}"
    assert _at(gene.examples[0]).startswith('- {"bridge_name"')


def test_comments_are_kept_for_the_formatter() -> None:
    doc = parse_text(GENE, "g.sg")
    assert doc.comments[0].text == "# a gene" and doc.comments[0].own_line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{bridge}", [n.Ref(path=["bridge"])]),
        ("{nic.0}", [n.Ref(path=["nic", 0])]),
        ("{a.b}", [n.Ref(path=["a", "b"])]),
        ("{step 2.interface}", [n.Ref(step=2, path=["interface"])]),
        ("vmbr{vlan_id}", ["vmbr", n.Ref(path=["vlan_id"])]),
        ("storage.{vlan}", ["storage.", n.Ref(path=["vlan"])]),
    ],
)
def test_references_and_templates(text: str, expected: list) -> None:
    doc = parse_text(sg(f"""
        pathway p
          steps:
            1. g
                 x = {text}
        """))
    value = doc.definitions[0].steps[0].body.params[0].value
    assert isinstance(value, n.Template)
    got = [p if isinstance(p, str) else n.Ref(step=p.step, path=p.path) for p in value.parts]
    assert got == expected


def test_pathway_constructs() -> None:
    doc = parse_text(sg("""
        pathway deploy
          risk critical
          takes:
            nics  string[]  "NICs"
            vlans int[]     "VLANs"
          steps:
            1. -> provision_bond
                 members = {nics}
                 mode = active-backup
                 names = ["a", b, 3, 1.5, true, null]

            2. for vlan in {vlans}:
                 -> provision_vlan_bridge
                   vlan_id = {vlan}

            3. when step 1.healthy:
                 true -> check_link_state
                   device = x
                 false -> bridge_stp
          requires:
            step 2 needs step 1
            step 3 needs step 1, step 2
          on failure:
            rollback completed steps
            report partial
        """))
    p = doc.definitions[0]
    assert isinstance(p, n.Pathway) and p.risk == "critical"
    one, two, three = (s.body for s in p.steps)
    assert isinstance(one, n.Call) and one.pathway and one.target == "provision_bond"
    assert one.params[1].value == n.Word(value="active-backup", line=one.params[1].value.line, column=one.params[1].value.column)
    items = one.params[2].value
    assert isinstance(items, n.ListValue)
    assert [getattr(i, "value", None) for i in items.items] == ["a", "b", 3, 1.5, True, None]
    assert isinstance(two, n.ForStep) and two.var == "vlan" and two.body[0].pathway
    assert isinstance(three, n.WhenStep) and three.step == 1 and three.path == ["healthy"]
    assert [(b.when, b.call.target) for b in three.branches] == [(True, "check_link_state"), (False, "bridge_stp")]
    assert [(r.step, r.needs) for r in p.requires] == [(2, [1]), (3, [1, 2])]
    assert [x.text for x in p.on_failure] == ["rollback completed steps", "report partial"]
    assert p.dependencies() == {1: set(), 2: {1}, 3: {1, 2}}


def test_topology_and_phenotype() -> None:
    doc = parse_text(sg("""
        topology server
          has:
            management:
              is bridge
              uplink {nic.0}
              mac preserve
            vm:
              is vlan_bridges
              trunk storage
              vlans [100, 200]
          takes:
            nic  string[3..]  "NICs"
          verify:
            for vlan in [100, 200]:
              check_vlan_tagging interface=storage.{vlan}
            all within 60s
          on failure:
            preserve what works

        phenotype r740
          for server
          nic = [eno1, eno2, eno3]
        """))
    topo, pheno = doc.definitions
    assert isinstance(topo, n.Topology)
    mgmt = topo.has[0]
    assert (mgmt.name, mgmt.kind, [p.name for p in mgmt.properties]) == ("management", "bridge", ["uplink", "mac"])
    assert topo.verify is not None
    within = topo.verify.items[-1]
    assert isinstance(within, n.Within) and within.all and within.duration.seconds == 60
    loop = topo.verify.items[0]
    assert isinstance(loop, n.VerifyFor) and loop.var == "vlan"
    assert isinstance(pheno, n.Phenotype) and pheno.topology == "server"
    assert [w.value for w in pheno.bindings[0].value.items] == ["eno1", "eno2", "eno3"]


def _errors(text: str) -> list:
    with pytest.raises(ContractError) as info:
        parse_text(text, "x.sg")
    return info.value.diagnostics


def test_syntax_error_is_located_with_caret_and_hint() -> None:
    diags = _errors(sg("""
        gene g
          is diagnostic
          takes
            a  string
        """))
    assert len(diags) == 1
    d = diags[0]
    assert (d.path, d.line, d.column) == ("x.sg", 3, 8)
    assert d.hint == "expected `:`"
    rendered = d.render().splitlines()
    assert rendered[0] == "x.sg:3:8: error: unexpected end of line"
    assert rendered[1] == "    takes"
    assert rendered[2] == "  " + " " * 7 + "^"


def test_several_broken_definitions_are_all_reported() -> None:
    diags = _errors(sg("""
        gene a
          is diagnostic
          risk none
          takes:
            x string oops

        gene b
          is diagnostic
          gives
        """))
    assert [(d.line, d.message) for d in diags] == [(5, "unexpected `oops`"), (9, "unexpected end of line")]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("gene g\n\tis diagnostic\n", 2, 1, "tab in indentation"),
        ("gene g\n    is diagnostic\n  risk none\n", 3, 3, "indentation does not match"),
        ("pathway p\n  steps:\n    1. g\n         x = {1bad}\n", 4, 14, "malformed reference"),
        ('gene g\n  examples:\n    - {"a": 1} {"b": 2}\n', 3, 16, "expected `->`"),
        ('gene g\n  examples:\n    - {"a": } -> {}\n', 3, 13, "not JSON"),
        ("gene g\n  fails when:\n    - it breaks\n", 3, 5, "needs an outcome"),
        ("gene g\n  takes:\n    x string[4..2]\n", 3, 17, "is empty"),
        ("gene g\n  is diagnostic\n  is transform\n", 3, 6, "appears twice"),
        ("gene g\n  verify:\n    c x=1\n    within 30 s\n", 4, 12, "unexpected"),
        ("nonsense here\n", 1, 1, "unexpected"),
    ],
)
def test_located_errors(text: str, line: int, column: int, fragment: str) -> None:
    diags = _errors(text)
    assert (diags[0].line, diags[0].column) == (line, column), diags[0].render()
    assert fragment in diags[0].message


def test_word_clauses_record_their_own_position() -> None:
    gene = parse_text("gene g\n  risk low\n  is diagnostic\n").definitions[0]
    assert gene.positions == {"risk": (2, 8), "family": (3, 6)}


def test_keywords_are_plain_names_where_no_keyword_fits() -> None:
    gene = parse_text(sg("""
        gene g
          takes:
            risk   string  "a field called risk"
            steps  int     "and one called steps"
        """)).definitions[0]
    assert [f.name for f in gene.takes] == ["risk", "steps"]


def test_unicode_line_separators_inside_values_are_not_line_breaks() -> None:
    text = 'gene g\n  examples:\n    - {"a": "x\u2028y\x85z"} -> {}\n'
    gene = parse_text(text).definitions[0]
    assert gene.examples[0].input == {"a": "x\u2028y\x85z"}
