"""A domain's value types: accepted by the checker, enforced by validators, refused as a local type's name.

The suite installs the built-in domains (tests/conftest.py), so the network domain's
`ifname` is registered here as it is for the command line.
"""

from __future__ import annotations

from sggit.contract.nodes import FieldDecl, TypeRef
from sggit.contract.parser import parse_text
from sggit.contract.validate import compile_validator
from sggit.contract.value_types import VALUE_TYPES, ValueType, kernel_refusal, kernel_refusals
from tests.contract.helpers import sg
from tests.contract.test_checks import messages

GENE = sg("""
    gene g
      is configuration
      risk low
      takes:
        bridge  ifname     "a bridge"
        ports   ifname[]   "its ports"
        note    ifname?    "optional"
        mode    string = "x"  "not an interface"
      gives:
        ok  bool  "o"
    """)


def test_the_network_domain_registers_ifname() -> None:
    assert "ifname" in VALUE_TYPES and VALUE_TYPES["ifname"].base == "string"


def test_a_contract_may_name_a_domain_type() -> None:
    assert messages(GENE) == []


def test_a_bad_literal_of_a_domain_type_is_located() -> None:
    got = messages("""
        gene g
          is diagnostic
          risk none
          takes:
            device  ifname = "way too long a name"  "d"
          gives:
            ok  bool  "o"
        """)
    assert any("default of device does not match its type ifname: interface name 'way too long a name' is longer than 15 bytes" in m
               for m in got), got


def test_validator_applies_the_base_type_then_the_rule_with_json_paths() -> None:
    validate = compile_validator(parse_text(GENE).definitions[0], "takes")
    value, violations = validate.validate({"bridge": "br0", "ports": ["eth0", "a/b", 7], "note": None})
    assert [(v.path, v.message) for v in violations] == [
        ("ports[1]", "interface name 'a/b' contains '/', which the kernel refuses (no NUL, '/', ':' or whitespace)"),
        ("ports[2]", "expected string, got int"),
    ]
    ok, none = validate.validate({"bridge": "br-mgmt.10", "ports": []})
    assert none == [] and ok["note"] is None and ok["mode"] == "x"
    _, nul = validate.validate({"bridge": "ev\0il", "ports": []})
    assert [v.path for v in nul] == ["bridge"] and "contains '\\x00'" in nul[0].message


def test_a_local_type_cannot_take_a_domain_types_name() -> None:
    got = messages("""
        gene g
          is transform
          risk none
          takes:
            a  ifname  "x"
          gives:
            ok  bool  "o"
          types:
            ifname:
              name  string  "n"
        """)
    assert any("type ifname is already one of the installed domains' types" in m for m in got), got


def test_an_unknown_type_names_the_domain_types_too() -> None:
    got = messages("""
        gene g
          is transform
          risk none
          takes:
            a  interface  "x"
          gives:
            ok  bool  "o"
        """)
    assert any("unknown type interface" in m for m in got), got


def test_the_network_types_keep_the_rules_every_kernel_applies() -> None:
    from sggit.kernel.api import BOND_MODES

    vlan, mode = VALUE_TYPES["vlanid"], VALUE_TYPES["bondmode"]
    assert vlan.base == "int" and mode.base == "string"
    assert [vlan.problem(v) is None for v in (1, 4094, 0, 4095)] == [True, True, False, False]
    assert all(mode.problem(m) is None for m in BOND_MODES) and all(m in mode.description for m in BOND_MODES)
    assert mode.problem("active_backup") == f"unknown bonding mode 'active_backup'; one of: {', '.join(BOND_MODES)}"
    count = VALUE_TYPES["probecount"]
    assert count.base == "int" and [count.problem(v) is None for v in (1, 20, 0, -1, 21)] == [True, True, False, False, False]
    probe = VALUE_TYPES["probemethod"]
    assert [probe.problem(v) is None for v in ("arp", "icmp", "udp", "tcp")] == [True, True, True, False]
    mac = VALUE_TYPES["ifmac"]
    assert [mac.problem(v) is None for v in ("AA:BB:CC:00:00:10", "aa:bb:cc:00:00:10", "01:00:5e:00:00:01",
                                              "00:00:00:00:00:00", "aa:bb:cc")] == [True, True, False, False, False]


def test_the_network_types_of_a_probe_target_and_a_watched_mac() -> None:
    target, mac = VALUE_TYPES["probetarget"], VALUE_TYPES["macaddr"]
    assert [target.problem(v) is None for v in ("gateway", "192.0.2.1", "192.0.2.256", "host.example", "::1")] == [
        True, True, False, False, False]
    assert [mac.problem(v) is None for v in ("01:00:5e:00:00:01", "AA:BB:CC:00:00:10", "aa:bb:cc", "aa-bb-cc-dd-ee-ff")] == [
        True, True, False, False]


def test_the_data_domain_types_the_url_it_fetches() -> None:
    url = VALUE_TYPES["httpurl"]
    good = ("https://fixtures.invalid/readings.csv", "http://127.0.0.1:8000/r.csv", "http://[::1]:8000/r.csv")
    bad = ("http://[::1", "ftp://host/r.csv", "readings.csv", "http://host:99999/r.csv", "http://host/a b.csv", "http://host/\x00")
    assert [url.problem(v) is None for v in good + bad] == [True] * len(good) + [False] * len(bad)
    assert url.problem("http://[::1") == "fetch_url: 'http://[::1' is not a valid URL: Invalid IPv6 URL"


def test_the_data_domain_types_table_and_column_names() -> None:
    ident = VALUE_TYPES["sqlident"]
    assert ident.base == "string"
    assert [ident.problem(v) is None for v in ("readings", "_tmp2", "2fast", "a-b", "x" * 64)] == [True, True, False, False, False]


def test_the_data_domain_types_its_column_maps_types_and_values() -> None:
    """Each json input of the data genes is checked as the kernel would: every key and name a column name."""
    mapping, types, values = VALUE_TYPES["columnmap"], VALUE_TYPES["columntypes"], VALUE_TYPES["columnvalues"]
    assert mapping.base == types.base == values.base == "json"
    assert [mapping.problem(v) is None for v in ({"celsius": "temperature"}, {}, {"a b": "x"}, {"x": "a;b"}, {"x": 1}, [])] == [
        True, False, False, False, False, False]
    assert mapping.problem({"x": "a;b"}) == "source column of 'x': a column name must be a letter or _ followed by letters, digits or _ (at most 63), got 'a;b'"
    assert [types.problem(v) is None for v in ({"c": "REAL"}, {"c": "integer"}, {}, {"c": "BLOB"}, {"c": None}, {"-": "TEXT"})] == [
        True, True, True, False, False, False]
    assert types.problem({"c": "BLOB"}) == "column c: column type must be one of TEXT, INTEGER, REAL, got 'BLOB'"
    assert [values.problem(v) is None for v in ({"t": "0"}, {"t": 0.5, "u": True}, {"t": None}, {"t": [1]}, {"t t": "0"})] == [
        True, True, False, False, False]
    assert values.problem({"t": {"a": 1}}) == 'column t: a value must be a string, a number or a boolean, got {"a": 1}'


def test_a_value_type_must_stand_on_a_base_type_and_not_take_its_name() -> None:
    import pytest

    from sggit.contract.value_types import ValueType

    with pytest.raises(ValueError, match="base 'str' is not one of string"):
        ValueType(name="word", base="str", problem=lambda v: None, description="d")
    with pytest.raises(ValueError, match="no base type's"):
        ValueType(name="string", base="string", problem=lambda v: None, description="d")


class _Host:
    allowed = {"a.example"}


def _fetchable(kernel: object, value: object) -> str | None:
    return None if value in getattr(kernel, "allowed", set()) else f"{value} is not allowed here"


def test_a_kernel_refusal_is_found_in_a_list_or_an_optional_value_and_named_by_its_path() -> None:
    host = ValueType(name="hostname", base="string", problem=lambda value: None, description="a host", refused=_fetchable)
    named = TypeRef(kind="named", name="hostname")
    listed = TypeRef(kind="list", of=named)
    optional = TypeRef(kind="optional", of=named)
    assert kernel_refusal(_Host(), "hosts", listed, host, ["a.example", "b.example"]) == ("hosts[1]", "b.example is not allowed here")
    assert kernel_refusal(_Host(), "hosts", listed, host, ["a.example"]) is None
    assert kernel_refusal(_Host(), "spare", optional, host, None) is None
    assert kernel_refusal(_Host(), "spare", optional, host, "c.example") == ("spare", "c.example is not allowed here")


def test_only_fields_whose_type_asks_the_kernel_are_checked_against_it() -> None:
    fields = [FieldDecl(name="url", type=TypeRef(kind="named", name="httpurl")),
              FieldDecl(name="urls", type=TypeRef(kind="list", of=TypeRef(kind="named", name="httpurl"))),
              FieldDecl(name="table", type=TypeRef(kind="named", name="sqlident")),
              FieldDecl(name="count", type=TypeRef(kind="named", name="int"))]
    assert [name for name, _, _ in kernel_refusals(fields)] == ["url", "urls"]
