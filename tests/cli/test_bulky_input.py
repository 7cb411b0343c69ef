"""Input a gene's sandbox cannot carry, and timeouts no one means, are refused before anything runs."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from sggit.genome.fitness import MAX_KEPT_INPUT, Record, fold
from sggit.genome.repo import Genome
from sggit.genome.sync import pending_records
from sggit.runtime.sandbox import protocol
from sggit.runtime.session import max_input_chars
from tests.helpers import sg_in, sggit

RUN = ("run", "bridge_create", "--phenotype", "dell_r740", "--input")


def _journalled(project: Path) -> list[Record]:
    return list(pending_records(Genome.open(project)))


def test_an_integer_too_long_to_convert_is_located(project: Path, tmp_path: Path) -> None:
    digits = sys.get_int_max_str_digits() + 1
    text = '{"bridge_name": "br0",\n "interfaces": [1.5, "9' + "9" * digits + '", ' + "9" * digits + "]}"
    (tmp_path / "in.json").write_text(text)
    for source, arg in (("--input", text), (str(tmp_path / "in.json"), f"@{tmp_path / 'in.json'}")):
        err = sg_in(project, *RUN, arg, code=2).stderr
        # the long string and the float before it are not the integer: line 2, column of the bare digits
        assert f"{source}:2:{text.splitlines()[1].index(' 9' + '9' * 9) + 2}: an integer of {digits} digits" in err
    assert _journalled(project) == []


def test_an_input_file_that_is_not_utf8_names_the_byte(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"bridge_name": "br\xe9"}')
    err = sggit(project, *RUN, f"@{path}", code=2).stderr
    assert f"{path}: not UTF-8: byte 0xe9 at offset 19" in err and "save the file as UTF-8" in err


@pytest.mark.parametrize("where", ["inline", "file", "huge file"])
def test_an_input_larger_than_the_sandbox_carries_is_refused_up_front(project: Path, tmp_path: Path, where: str) -> None:
    limit = max_input_chars()
    # a valid input for the gene, just too long: before, it ran, and every record and note kept it whole
    names = json.dumps(["eno1"] * (limit // 8 + 1 if where != "huge file" else limit + 1))
    text = '{"bridge_name": "br0", "interfaces": ' + names + "}"
    arg = text
    if where != "inline":
        (tmp_path / "in.json").write_text(text)
        arg = f"@{tmp_path / 'in.json'}"
    err = sg_in(project, *RUN, arg, code=2).stderr
    size = f"{len(text)} characters" if where != "huge file" else f"more than {4 * limit} bytes"
    assert f"input of {size} is larger than the {limit} characters of JSON a gene's sandbox carries" in err
    assert _journalled(project) == []
    at_the_limit = '{"bridge_name": "br0", "interfaces": []}'.ljust(limit)
    assert json.loads(sg_in(project, *RUN, at_the_limit).stdout)["ok"]


def test_the_bound_is_what_a_gene_frame_carries() -> None:
    from sggit.runtime.sandbox import SandboxConfig

    assert max_input_chars() == SandboxConfig().max_output_bytes


def test_a_note_keeps_only_inputs_small_enough_to_travel() -> None:
    allele = "a" * 40
    small, bulky = {"n": "x"}, {"n": "x" * MAX_KEPT_INPUT}
    records = [Record(allele=allele, locus="l", ok=True, input=small, time=1),
               Record(allele=allele, locus="l", ok=True, input=bulky, time=2),
               Record(allele=allele, locus="l", ok=False, error="no", input=bulky, time=3)]
    counters = fold(records)["l"][allele]
    assert counters.total == 3 and [s.input for s in counters.accepted] == [small]
    assert counters.last_failure is not None and counters.last_failure.input is None
    assert all(f.input is None for f in counters.failures)
    assert len(counters.model_dump_json()) < 2 * MAX_KEPT_INPUT


@pytest.mark.parametrize("command", [RUN[:4], ("deploy", "production_server", "--phenotype", "dell_r740")])
@pytest.mark.parametrize("seconds", ["9999999999", "1e18", "2200000", "86401"])
def test_a_timeout_past_a_day_is_refused(project: Path, command: tuple[str, ...], seconds: str) -> None:
    err = sg_in(project, *command, "--timeout", seconds, code=2).output
    assert f"'{seconds}' seconds is more than the 86400 s (a day) sggit waits at most" in err
    assert _journalled(project) == []


def test_a_day_is_accepted(project: Path) -> None:
    assert json.loads(sg_in(project, *RUN, '{"bridge_name": "br0", "interfaces": []}', "--timeout", "86400").stdout)["ok"]


def test_a_deadline_years_away_still_reads_the_answer() -> None:
    """poll() takes a C int of milliseconds; a deadline past it must still wait, not overflow."""
    read_fd, write_fd = os.pipe()
    try:
        reader = protocol.FrameReader(read_fd, max_frame=1 << 16)
        later = threading.Timer(0.05, lambda: os.write(write_fd, protocol.frame(protocol.DONE, b"answer")))
        later.start()
        payload = reader.read(time.monotonic() + 1e18)
        later.join()
        assert payload.endswith(b"answer")
    finally:
        os.close(read_fd)
        os.close(write_fd)
