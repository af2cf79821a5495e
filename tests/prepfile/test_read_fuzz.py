"""Fuzzing the returned-file reader with mutated real files: it never crashes, it reads or it rejects with a reason.

About 700 cases: byte flips, cuts and insertions in the raw package; mutations of single zip entries
(slices replaced, removed or repeated, numbers and texts swapped for hostile ones, entries dropped or
stored uncompressed); and every entry dropped, emptied or halved, in an XlsxWriter-made and an
openpyxl-filled file. A crash of python-calamine's Rust code would abort the test process itself.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prep_samples import KEY, fill_employee, fill_minutes, sample_content

from samtale_automation.domain.prepsheet import ReturnedFile
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile
from samtale_automation.prepfile.write import write_prep

pytestmark = [pytest.mark.usefixtures("nb_messages"),
              pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")]

# FUZZ_N=5000 FUZZ_RANDOM=1 pytest tests/test_returned_fuzz.py runs a longer, randomised session by hand.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_N", "250")), deadline=None, database=None,
                derandomize=not os.environ.get("FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HOSTILE_NUMBERS = (b"0", b"-1", b"1048576", b"1048577", b"16384", b"99999999999", b"4294967296", b"1e308",
                   b"NaN", b"", b"2958466", b"45000.5", b"9" * 30)
HOSTILE_TEXTS = (b"=1+1", b"#REF!", b"XFD1048576", b"A0", b"&amp;", b"&bogus;", b"<", b"]]>", b"\x00",
                 "æøå".encode(), b"x" * 5000, b"Referat!$A$1:$XFD$1048576", b"'", b"_samtale!A1")


@dataclass(frozen=True)
class Base:
    """One real file to mutate: its bytes and its zip entries in order."""

    data: bytes
    entries: tuple[tuple[str, bytes], ...]


def _base(path: Path) -> Base:
    with zipfile.ZipFile(path) as package:
        entries = tuple((i.filename, package.read(i.filename)) for i in package.infolist())
    return Base(path.read_bytes(), entries)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Base, ...]:
    """An XlsxWriter-made prep file and the same file filled in with openpyxl (inline strings, new names)."""
    folder = tmp_path_factory.mktemp("fuzz-base")
    made = folder / "made.xlsx"
    write_prep(made, sample_content(questions=15), KEY)
    filled = folder / "filled.xlsx"
    fill_employee(made, filled, chosen=["S01", "S02"], notes={"S02": "notat"}, assessments={"2026-1001-1": "ok"})
    workbook = openpyxl.load_workbook(filled)
    fill_minutes(workbook, summaries={0: "bra"}, actions=[("Kurs", "Mål", "Kari", date(2027, 3, 1))],
                 signed=("Kari", date(2027, 1, 20), "", None))
    workbook.save(filled)
    return _base(made), _base(filled)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one path each mutated file is written to before it is read."""
    return tmp_path_factory.mktemp("fuzz") / "returned.xlsx"


def _check(target: Path, data: bytes) -> str:
    """Write `data` and read it: it must read or be rejected with a reason; anything else fails the test."""
    target.write_bytes(data)
    try:
        result = read_returned(target, KEY)
    except RejectedFile as rejected:
        reason = rejected.reason
    else:
        reason = None
    if reason is not None:
        assert isinstance(reason, str) and reason.strip()
        return "rejected"
    assert isinstance(result, ReturnedFile) and result.identity.employee_id == "1001"
    assert all(isinstance(p, str) and p for p in result.problems)
    return "read"


def _zip(entries: list[tuple[str, bytes]], stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as package:
        for name, data in entries:
            package.writestr(name, data)
    return buffer.getvalue()


@FUZZ
@given(data=st.data())
def test_raw_byte_mutations(bases: tuple[Base, ...], target: Path, data: st.DataObject) -> None:
    """Verify flipped, cut or inserted bytes anywhere in the package never crash the reader."""
    base = bases[data.draw(st.integers(0, len(bases) - 1), label="base")]
    raw = bytearray(base.data)
    size = len(raw)
    for position, value in data.draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)),
                                              max_size=6), label="flips"):
        raw[position] = value
    if data.draw(st.booleans(), label="cut"):
        del raw[data.draw(st.integers(0, size - 1), label="cut at"):]
    if data.draw(st.booleans(), label="insert"):
        at = data.draw(st.integers(0, len(raw)), label="insert at")
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=40), label="inserted")
    _check(target, bytes(raw))


@st.composite
def _entry_mutation(draw: st.DrawFn, base: Base) -> tuple[list[tuple[str, bytes]], bool]:
    entries = list(base.entries)
    # Mostly the parts the reader parses: sheets, workbook, its relationships, strings, styles, properties.
    parsed = [i for i, (n, _) in enumerate(entries) if n.startswith(("xl/worksheets/", "xl/workbook", "xl/_rels",
                                                                     "xl/sharedStrings", "xl/styles", "docProps/core"))]
    index = draw(st.sampled_from(parsed) | st.integers(0, len(entries) - 1), label="entry")
    name, content = entries[index]
    operation = draw(st.sampled_from(["replace", "delete", "repeat", "number", "text", "drop", "rename"]))
    start = draw(st.integers(0, max(0, len(content) - 1)))
    end = draw(st.integers(start, min(len(content), start + 400)))
    if operation == "replace":
        content = content[:start] + draw(st.binary(max_size=30)) + content[end:]
    elif operation == "delete":
        content = content[:start] + content[end:]
    elif operation == "repeat":
        content = content[:end] + content[start:end] * draw(st.integers(1, 50)) + content[end:]
    elif operation == "number":
        numbers = list(re.finditer(rb"\d+", content))
        if numbers:
            found = numbers[draw(st.integers(0, len(numbers) - 1))]
            content = content[:found.start()] + draw(st.sampled_from(HOSTILE_NUMBERS)) + content[found.end():]
    elif operation == "text":
        texts = list(re.finditer(rb">([^<]+)<", content))
        if texts:
            found = texts[draw(st.integers(0, len(texts) - 1))]
            content = content[:found.start(1)] + draw(st.sampled_from(HOSTILE_TEXTS)) + content[found.end(1):]
    elif operation == "rename":
        name = draw(st.sampled_from(["xl/workbook.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet3.xml",
                                     "mimetype", "xl/workbook.bin", name.upper()]))
    if operation == "drop":
        del entries[index]
    else:
        entries[index] = (name, content)
    return entries, draw(st.booleans(), label="stored")


@settings(FUZZ, max_examples=FUZZ.max_examples + 100)
@given(data=st.data())
def test_zip_entry_mutations(bases: tuple[Base, ...], target: Path, data: st.DataObject) -> None:
    """Verify hostile changes inside single zip entries (XML, numbers, texts, names) never crash the reader."""
    base = bases[data.draw(st.integers(0, len(bases) - 1), label="base")]
    entries, stored = data.draw(_entry_mutation(base), label="mutation")
    _check(target, _zip(entries, stored))


def test_every_entry_dropped_emptied_or_halved(bases: tuple[Base, ...], target: Path) -> None:
    """Verify each entry of each base file dropped, emptied or cut in half gives a read or a reason, never a crash."""
    outcomes = []
    for base in bases:
        for index, (name, content) in enumerate(base.entries):
            for changed in (None, b"", content[: len(content) // 2]):
                entries = list(base.entries)
                if changed is None:
                    del entries[index]
                else:
                    entries[index] = (name, changed)
                outcomes.append(_check(target, _zip(entries)))
    assert len(outcomes) >= 60 and "rejected" in outcomes and "read" in outcomes
