"""Contracts written for the reference runtime parse, check and format without edits."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sggit.contract import nodes as n
from sggit.contract.checks import check_tree
from sggit.contract.errors import ContractError
from sggit.contract.fmt import format_document
from sggit.contract.parser import parse_text
from sggit.contract.tree import ContractTree
from sggit.contract.validate import compile_validator
from tests import helpers  # the shared command runner; this module's sg is contract text
from tests.contract.helpers import sg

INGEST = sg('''
    gene ingest_csv for data
      is configuration
      risk low

      does:
        Fetch a CSV file and load its rows into a table.

      takes:
        url         string    "URL to fetch" default="https://example.org/air.csv"
        connection  string    "Warehouse database"
        columns     string[]  "Columns to keep" default="Month,1958"
        sizes       int[]     "Batch sizes" default="10, 20,30"
        options     object?   "Reader options"

      gives:
        success  bool    "Whether the rows were loaded"
        stats    object  "Row statistics"

      connects:
        url         https   "CSV dataset endpoint"
        connection  sqlite  "Warehouse database"

      before:
        The URL answers with a CSV file
        - The table may exist already

      after:
        The table holds every row of the file

      fails when:
        url unreachable -> success=false
        - malformed CSV -> error
    ''')

ROWS = sg('''
    gene check_row_count for data
      is diagnostic
      risk none

      takes:
        connection  string  "Warehouse database"

      gives:
        healthy  bool  "True if the table has rows"

      verify:
        - table has at least one row
        - no column is entirely null

      feeds:
        ingest_csv
    ''')

PATHWAY = sg('''
    pathway ingest_and_validate for data
      risk low

      takes:
        url         string  "CSV endpoint"
        connection  string  "Warehouse database"

      connects:
        url https
        connection sqlite "Warehouse database"

      steps:
        1. ingest_csv
             url = {url}
             connection = {connection}

        2. check_row_count
             connection = {connection}
    ''')


def _gene(text: str) -> n.Gene:
    definition = parse_text(text).definitions[0]
    assert isinstance(definition, n.Gene)
    return definition


def _tree(*texts: str) -> ContractTree:
    tree = ContractTree()
    for i, text in enumerate(texts):
        tree.add_text(text, f"c{i}.sg")
    return tree


def test_headers_keep_their_domain() -> None:
    doc = parse_text(INGEST + "\n" + PATHWAY + "\n" + "topology lab for data\n  has:\n    mgmt:\n      is bridge\n")
    assert [(d.kind, d.name, d.domain) for d in doc.definitions] == [  # type: ignore[union-attr]
        ("gene", "ingest_csv", "data"),
        ("pathway", "ingest_and_validate", "data"),
        ("topology", "lab", "data"),
    ]
    assert _gene(ROWS.replace(" for data", "")).domain is None


def test_connects_records_which_inputs_name_external_resources() -> None:
    gene = _gene(INGEST)
    assert [(c.name, c.protocol, c.description) for c in gene.connects] == [
        ("url", "https", "CSV dataset endpoint"),
        ("connection", "sqlite", "Warehouse database"),
    ]
    pathway = parse_text(PATHWAY).definitions[0]
    assert [(c.name, c.protocol, c.description) for c in pathway.connects] == [  # type: ignore[union-attr]
        ("url", "https", None),
        ("connection", "sqlite", "Warehouse database"),
    ]


def test_defaults_after_the_description_and_comma_separated_lists() -> None:
    takes = {f.name: f for f in _gene(INGEST).takes}
    assert takes["url"].description == "URL to fetch"
    assert isinstance(takes["url"].default, n.Scalar) and takes["url"].default.value == "https://example.org/air.csv"
    columns = takes["columns"].default
    assert isinstance(columns, n.ListValue) and [i.value for i in columns.items] == ["Month", "1958"]  # type: ignore[union-attr]
    sizes = takes["sizes"].default
    assert isinstance(sizes, n.ListValue) and [i.value for i in sizes.items] == [10, 20, 30]  # type: ignore[union-attr]
    assert compile_validator(_gene(INGEST), "takes")({"connection": "w.db", "options": {}})["columns"] == ["Month", "1958"]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ('x  string[]?  "d" default=""', []),
        ('x  float[]  "d" default="1.5,2"', [1.5, 2.0]),
        ('x  bool[]  "d" default="true,false"', [True, False]),
        ('x  json[]  "d" default="1,null,abc"', [1, None, "abc"]),
        ('x  string  "d" default="a,b"', "a,b"),
        ('x  int  default=5', 5),
    ],
)
def test_keyword_defaults_by_type(field: str, expected: object) -> None:
    from sggit.contract.validate import literal_value

    gene = _gene(f"gene g\n  is transform\n  risk none\n  takes:\n    {field}\n")
    default = gene.takes[0].default
    assert default is not None and literal_value(default) == expected


def test_object_type_accepts_json_objects_only() -> None:
    validator = compile_validator(_gene(INGEST), "gives")
    assert validator({"success": True, "stats": {"rows": 3}})["stats"] == {"rows": 3}
    _, problems = validator.validate({"success": True, "stats": [1]})
    assert [str(p) for p in problems] == ["stats: expected object, got list"]


def test_prose_checks_of_a_diagnostic_are_descriptions_not_checks() -> None:
    gene = _gene(ROWS)
    assert gene.verify is None
    assert [b.text for b in gene.verifies] == ["table has at least one row", "no column is entirely null"]


def test_a_feed_without_timescale_means_convergence() -> None:
    assert [(f.locus, f.timescale) for f in _gene(ROWS).feeds] == [("ingest_csv", "convergence")]


def test_unbulleted_prose_is_one_item_per_line() -> None:
    gene = _gene(INGEST)
    assert [b.text for b in gene.before] == ["The URL answers with a CSV file", "The table may exist already"]
    assert [b.text for b in gene.after] == ["The table holds every row of the file"]
    assert [(m.condition, m.outcome, m.assignments) for m in gene.fails_when] == [
        ("url unreachable", "result", {"success": False}),
        ("malformed CSV", "error", {}),
    ]


def test_reference_contracts_pass_the_checks() -> None:
    assert check_tree(_tree(INGEST, ROWS, PATHWAY)) == []


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (INGEST.replace("    url         https", "    uri         https"), 20, "connects names uri, which ingest_csv does not take"),
        (INGEST.replace("    connection  sqlite", "    url         sqlite"), 21, "url is listed twice in connects"),
        (INGEST.replace('default="10, 20,30"', 'default="10,twenty"'), 12, "default of sizes does not match its type int[] at [1]: expected int, got string"),
        (ROWS.replace("is diagnostic", "is configuration").replace("  feeds:\n    ingest_csv\n", ""), 12, "prose bullets in `verify:` describe what a diagnostic checks"),
    ],
)
def test_reference_forms_are_checked(text: str, line: int, fragment: str) -> None:
    problems = check_tree(_tree(text, INGEST if "check_row_count" in text else ROWS))
    matching = [d for d in problems if fragment in d.message]
    assert matching and matching[0].line == line, problems


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('gene g\n  is transform\n  risk none\n  takes:\n    a  int = 1  "d" default=2\n', 5, "field a has two defaults"),
        ("gene g\n  is diagnostic\n  risk none\n  verify:\n    - prose\n    check_link_state device=eth0\n", 6, "either checks or prose bullets"),
        ("pathway p\n  steps:\n    1. g\n  verify:\n    - prose\n", 5, "a pathway verifies with checks"),
        ("gene g\n  is configuration\n  risk none\n  fails when:\n    disk full\n", 5, "a failure mode needs an outcome"),
    ],
)
def test_reference_forms_have_located_syntax_errors(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_text(text, "x.sg")
    assert any(d.line == line and fragment in d.message for d in info.value.diagnostics), info.value


def test_a_failure_outcome_in_unbulleted_prose_is_located_on_its_text() -> None:
    with pytest.raises(ContractError) as info:
        parse_text("gene g\n  is configuration\n  risk none\n  fails when:\n    disk full -> retry now\n", "x.sg")
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.column) == (5, 18) and "unknown failure outcome `retry now`" in diag.message


def test_fmt_writes_the_canonical_forms() -> None:
    out = format_document(parse_text(INGEST + "\n" + ROWS))
    assert out == sg('''
        gene ingest_csv for data
          is configuration
          risk low

          does:
            Fetch a CSV file and load its rows into a table.

          takes:
            url         string = "https://example.org/air.csv"  "URL to fetch"
            connection  string                                  "Warehouse database"
            columns     string[] = ["Month", "1958"]            "Columns to keep"
            sizes       int[] = [10, 20, 30]                    "Batch sizes"
            options     object?                                 "Reader options"

          gives:
            success  bool    "Whether the rows were loaded"
            stats    object  "Row statistics"

          connects:
            url         https   "CSV dataset endpoint"
            connection  sqlite  "Warehouse database"

          before:
            - The URL answers with a CSV file
            - The table may exist already

          after:
            - The table holds every row of the file

          fails when:
            - url unreachable -> success=false
            - malformed CSV -> error

        gene check_row_count for data
          is diagnostic
          risk none

          takes:
            connection  string  "Warehouse database"

          gives:
            healthy  bool  "True if the table has rows"

          verify:
            - table has at least one row
            - no column is entirely null

          feeds:
            ingest_csv  convergence
        ''')


# ---- through the CLI, on files, next to the shipped genome ------------------------------


def test_check_and_fmt_on_reference_contract_files(project: Path) -> None:
    data = project / "contracts" / "data"
    data.mkdir()
    files = {"ingest_csv.sg": INGEST, "check_row_count.sg": ROWS, "ingest_and_validate.sg": PATHWAY}
    for name, text in files.items():
        (data / name).write_text(text)
    before = {name: parse_text(text).semantic() for name, text in files.items()}
    helpers.sg("check", str(project / "contracts"))
    would = helpers.sg("fmt", "--check", str(data), code=1)
    assert sorted(would.stdout.split("\n")[:-1]) == sorted(f"would reformat {data / name}" for name in files)
    helpers.sg("fmt", str(data))
    for name in files:
        text = (data / name).read_text()
        assert "default=" not in text and parse_text(text).semantic() == before[name]
    helpers.sg("fmt", "--check", str(data))
    helpers.sg("check", str(project / "contracts"))


def test_check_reports_a_reference_form_error_with_file_line_and_column(project: Path) -> None:
    path = project / "contracts" / "ingest_csv.sg"
    path.write_text(INGEST.replace("    url         https", "    uri         https"))
    result = helpers.sg("check", str(path), code=1)
    assert f"{path}:20:5: error: connects names uri, which ingest_csv does not take" in result.stdout
    assert "hint: did you mean url?" in result.stdout


# ---- property: parse, format, re-parse gives the same AST --------------------------------

_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda s: s not in {"for", "when", "all", "within", "true", "false", "null", "default", "step", "in", "is", "risk"}
)
_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,:;!?'()é", min_size=1, max_size=30).map(str.strip).filter(bool)
_ITEM = st.text(alphabet="abcxyzMonth0123456789 ./-é", max_size=8)


@st.composite
def _reference_field(draw: st.DrawFn, name: str) -> str:
    kind = draw(st.sampled_from(["string", "string[]", "int", "int[]", "float[]", "bool", "object", "json[]?"]))
    desc = draw(_TEXT)
    line = f'{name}  {kind}  "{desc}"'
    if kind == "string":
        line += draw(st.sampled_from(["", ' default="https://example.org/a.csv"', ' default="a, b"']))
    elif kind in ("string[]", "json[]?"):
        if draw(st.booleans()):
            line += ' default="' + ",".join(draw(st.lists(_ITEM, max_size=4))) + '"'
    elif kind == "int[]":
        if draw(st.booleans()):
            line += ' default="' + ", ".join(str(i) for i in draw(st.lists(st.integers(-99, 999), max_size=4))) + '"'
    elif kind == "float[]":
        if draw(st.booleans()):
            line += ' default="' + ",".join(repr(x) for x in draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), max_size=3))) + '"'
    elif kind == "int":
        line += draw(st.sampled_from(["", " default=3", " default=-7"]))
    elif kind == "bool":
        line += draw(st.sampled_from(["", " default=true", " default=false"]))
    return line


def _prose_block(draw: st.DrawFn, title: str, arrow: bool = False) -> list[str]:
    lines = [f"  {title}:"]
    for text in draw(st.lists(_TEXT, min_size=1, max_size=3)):
        if arrow:
            text = text.replace("->", " ") + " -> " + draw(st.sampled_from(["error", "success=false", 'error="bad input"']))
        lines.append("    " + ("- " if draw(st.booleans()) else "") + text)
    return lines


@st.composite
def reference_gene(draw: st.DrawFn) -> str:
    name = draw(_NAME)
    family = draw(st.sampled_from(["configuration", "diagnostic"]))
    header = f"gene {name}" + (f" for {draw(_NAME)}" if draw(st.booleans()) else "")
    lines = [header, f"  is {family}", "  risk low", "", "  takes:"]
    inputs = draw(st.lists(_NAME, min_size=1, max_size=4, unique=True))
    lines += ["    " + draw(_reference_field(f)) for f in inputs]
    lines += ["", "  gives:", '    success  bool  "ok"', "    healthy  bool"]
    connected = draw(st.lists(st.sampled_from(inputs), max_size=len(inputs), unique=True))
    if connected:
        lines += ["", "  connects:"]
        lines += [f"    {c}  {draw(st.sampled_from(['https', 'http', 'sqlite', 'postgres']))}" + (f'  "{draw(_TEXT)}"' if draw(st.booleans()) else "") for c in connected]
    if family == "configuration":
        lines += [""] + _prose_block(draw, "before") + [""] + _prose_block(draw, "after") + [""] + _prose_block(draw, "fails when", arrow=True)
    else:
        lines += ["", "  verify:"] + [f"    - {t}" for t in draw(st.lists(_TEXT, min_size=1, max_size=3))]
        feeds = draw(st.lists(_NAME, min_size=1, max_size=3, unique=True))
        lines += ["", "  feeds:"] + [f"    {f}" + draw(st.sampled_from(["", "  immediate", "  convergence", "  resilience"])) for f in feeds]
    return "\n".join(lines) + "\n"


@st.composite
def reference_composite(draw: st.DrawFn) -> str:
    """A pathway or topology with a domain, reference-form fields and connects."""
    kind = draw(st.sampled_from(["pathway", "topology"]))
    lines = [f"{kind} {draw(_NAME)}" + (f" for {draw(_NAME)}" if draw(st.booleans()) else ""), "  risk low", "", "  takes:"]
    inputs = draw(st.lists(_NAME, min_size=1, max_size=3, unique=True))
    lines += ["    " + draw(_reference_field(f)) for f in inputs]
    connected = draw(st.lists(st.sampled_from(inputs), min_size=1, max_size=len(inputs), unique=True))
    lines += ["", "  connects:"] + [f"    {c}   https" + (f' "{draw(_TEXT)}"' if draw(st.booleans()) else "") for c in connected]
    if kind == "pathway":
        lines += ["", "  steps:", f"    1. {draw(_NAME)}"]
    else:
        lines += ["", "  has:", "    mgmt:", "      is bridge"]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(reference_gene(), reference_composite()), min_size=1, max_size=3))
def test_fmt_of_reference_contracts_keeps_the_ast(genes: list[str]) -> None:
    text = "\n".join(genes)
    doc = parse_text(text)
    formatted = format_document(doc)
    again = parse_text(formatted)
    assert [d.semantic() for d in again.definitions] == [d.semantic() for d in doc.definitions]
    assert format_document(again) == formatted
    assert "default=" not in formatted
