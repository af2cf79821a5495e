"""The live reader (workbook/live.py) reads what the file reader reads; the xlwings stand-in stays honest.

Each reader scenario reads one workbook file with the file reader (calamine) and with the live
reader through the in-memory xlwings stand-in loaded from the same file, and compares what the
parser gets. The stand-in's members are checked against xlwings' own classes, and the live code
against the stand-in.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings_standin as xs
from openpyxl.worksheet.table import Table

from samtale_automation.domain.master import parse_master
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import RawWorkbook
from samtale_automation.workbook import live
from samtale_automation.workbook.build import build_master
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")


# ---- the reader scenarios --------------------------------------------------------------

EMPLOYEES = [
    {"employee_id": "1001", "name": "Kari Nordmann", "email": "kari@firma.no", "department": "Salg",
     "manager_id": "1003", "active": "Ja", "language": "nb"},
    {"employee_id": 1002, "name": "Ola Hansen", "email": "ola@firma.no", "manager_id": 1003.0, "active": "Ja"},
    {"employee_id": "1003", "name": "Åse Ødegård", "email": "ase@firma.no", "active": "Ja"},
]
CONVERSATIONS = [{"conversation_id": "2027-1001", "employee_id": "1001", "manager_id": "1003", "place": "Rom 2",
                  "start": datetime(2027, 1, 11, 9, 0, tzinfo=OSLO), "end": datetime(2027, 1, 11, 10, 15, tzinfo=OSLO),
                  "invited": date(2027, 1, 2)}]


def _plain(path: Path, sheets: dict[str, list[list[Any]]], tables: dict[str, str] | None = None,
           at: tuple[int, int] = (1, 1)) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                ws.cell(at[0] + r, at[1] + c, value)
        if tables and name in tables:
            ws.add_table(Table(displayName=tables[name], ref=ws.dimensions))
    wb.save(path)
    return path


READ_SCENARIOS: dict[str, Callable[[Path], Path]] = {
    "built xlsx": lambda d: _build(d / "samtaler.xlsx", employees=EMPLOYEES, conversations=CONVERSATIONS),
    "built xlsm": lambda d: _build(d / "samtaler.xlsm", employees=EMPLOYEES, conversations=CONVERSATIONS,
                                   macros=True),
    "columns moved, extra columns, blank rows": lambda d: _plain(d / "samtaler.xlsx", {"Ansatte": [
        ["Notat", "E-post", "Navn", "Aktiv", "AnsattID", "Fødselsdag"],
        ["ny", "kari@firma.no", "Kari", "Ja", "1001", "01.01.1990"],
        [None] * 6, [None] * 6,
        ["", "ola@firma.no", "Ola", "Nei", 1002, None]]}, {"Ansatte": "Tabell1"}),
    "numbers as text, spaces": lambda d: _plain(d / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID ", "  Navn", "E-POST", "Leder", "Aktiv"],
        ["1001 ", "Kari Nordmann   ", " kari@firma.no ", 1003, "Ja "],
        [1003.0, "Per", "per@firma.no", "1001", "ja"],
        ["   ", "   ", None, None, None]]}, {"Ansatte": "Ansatte"}),
    "dates, serials and text dates": lambda d: _plain(d / "samtaler.xlsx", {"Samtaler": [
        ["SamtaleID", "AnsattID", "Leder", "Start", "Slutt", "Invitert"],
        ["2027-1001", "1001", "1003", datetime(2027, 1, 11, 9, 0), datetime(2027, 1, 11, 10, 15), date(2027, 1, 2)],
        ["2027-1002", 1002, 1003, 46398.375, "11.01.2027 10:15", "02.01.2027"]]}, {"Samtaler": "Samtaler"}),
    "table converted to a range": lambda d: _plain(d / "samtaler.xlsx", {
        "Ansatte": [["Ansatte i Firma AS"], [], ["AnsattID", "Navn", "E-post", "Aktiv"],
                    ["1001", "Kari", "kari@firma.no", "Ja"], [], [1002, "Ola", "ola@firma.no", "Ja"]],
        "Logg": [["Tid", "Hendelse", "Hvem", "Resultat"], [datetime(2027, 1, 1, 8, 0), "Test", "hr", "ok"]]}),
    "table in the middle of a sheet": lambda d: _plain(d / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID", "Navn", "E-post", "Aktiv"], ["1001", "Kari", "k@firma.no", "Ja"],
        [1002, "Ola", "o@firma.no", "Nei"]]}, {"Ansatte": "Personer"}, at=(3, 2)),
    "range in the middle of a sheet": lambda d: _plain(d / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID", "Navn", "E-post", "Aktiv"], ["1001", "Kari", "k@firma.no", "Ja"]]}, at=(4, 3)),
    "missing required column": lambda d: _plain(d / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID", "Navn", "Aktiv"], ["1001", "Kari", "Ja"]]}, {"Ansatte": "Ansatte"}),
}


def _build(path: Path, **rows: Any) -> Path:
    build_master(path, **rows)
    return path


def _shape(raw: RawWorkbook) -> tuple[object, ...]:
    tables = {name: (t.sheet_name, t.columns, t.header_row, t.found_as_table,
                     [(r.excel_row, {k: xs.xlwings_read(v) for k, v in r.values.items()}) for r in t.rows])
              for name, t in raw.tables.items()}
    return tables, [s.table for s in raw.missing], raw.sheet_names


@pytest.mark.parametrize("scenario", list(READ_SCENARIOS))
def test_live_reader_reads_what_the_file_reader_reads(scenario: str, tmp_path: Path) -> None:
    """Verify read_live on the open book gives the file reader's tables, rows and cells, and the same Master."""
    path = READ_SCENARIOS[scenario](tmp_path)
    from_file, from_book = read_workbook(path), live.read_live(xs.Book.from_file(path))
    assert from_book.path == path
    assert _shape(from_book) == _shape(from_file)
    file_master, live_master = parse_master(from_file), parse_master(from_book)
    for name in ("settings", "employees", "conversations", "questions", "actions"):
        assert getattr(live_master, name) == getattr(file_master, name), name
    assert [p.render() for p in live_master.problems] == [p.render() for p in file_master.problems]


# ---- the stand-in is honest; the live code uses only xlwings' own members ---------------

STANDIN_CLASSES = {"Book": xs.Book, "Sheets": xs.Sheets, "Sheet": xs.Sheet, "Range": xs.Range,
                   "Tables": xs.Tables, "Table": xs.Table, "App": xs.App}


@pytest.mark.parametrize("name", list(STANDIN_CLASSES))
def test_standin_members_exist_on_xlwings(name: str) -> None:
    """Verify every member of the stand-in exists on xlwings' class, as the same kind, with the same parameters."""
    import xlwings.main

    real, fake = getattr(xlwings.main, name), STANDIN_CLASSES[name]
    members = [m for m in vars(fake) if (not m.startswith("_") or m in ("__getitem__", "__iter__", "__len__"))
               and m not in xs.HELPERS]
    assert members, name
    for member in members:
        ours, theirs = inspect.getattr_static(fake, member), inspect.getattr_static(real, member, None)
        assert theirs is not None, f"xlwings.{name} has no {member}"
        if isinstance(ours, property):
            assert isinstance(theirs, property), f"{name}.{member} is not a property in xlwings"
            assert ours.fset is None or theirs.fset is not None, f"{name}.{member} cannot be set in xlwings"
        else:
            ours_params = list(inspect.signature(ours).parameters)
            theirs_params = list(inspect.signature(theirs).parameters)
            assert ours_params == theirs_params[:len(ours_params)], f"{name}.{member}{ours_params} vs {theirs_params}"


def test_live_code_uses_only_standin_members() -> None:
    """Verify live.py never reaches for .api or a stand-in helper, and imports xlwings only in caller_book."""
    source = Path(live.__file__).read_text(encoding="utf-8")
    attributes = {node.attr for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)}
    assert "api" not in attributes
    assert not attributes & xs.HELPERS
    assert re.findall(r"^\s*(?:import|from) xlwings\b.*$", source, re.MULTILINE) == ["    import xlwings"]
