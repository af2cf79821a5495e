"""Reading the master workbook: tolerant of what people do to it, clear about what it cannot read."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.worksheet.table import Table

from samtale_automation.domain.master import parse_master
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import column_letter, normalise_header
from samtale_automation.domain.schema import EMPLOYEES, TABLES
from samtale_automation.errors import EXIT_WORKBOOK, WorkbookError
from samtale_automation.paths import Folder
from samtale_automation.workbook.build import build_master
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

EMPLOYEE_ROWS = [
    {"employee_id": "1001", "name": "Kari Nordmann", "email": "kari@firma.no", "department": "Salg",
     "title": "Selger", "manager_id": "1003", "active": "Ja", "language": "nb"},
    {"employee_id": 1002, "name": "Ola Hansen", "email": "ola@firma.no", "department": "Lager",
     "manager_id": 1003.0, "active": "Ja", "language": "en"},
    {"employee_id": "1003", "name": "Åse Ødegård", "email": "ase@firma.no", "active": "Ja"},
]


def _cell_problems(raw: object) -> list[str]:
    """Problems of parse_master other than the tables a hand-made workbook leaves out."""
    return [p.render() for p in parse_master(raw).problems  # type: ignore[arg-type]
            if "fant ikke tabellen" not in p.message]


def _master(tmp_path: Path, **rows: object) -> Path:
    path = tmp_path / "samtaler.xlsx"
    build_master(path, **rows)  # type: ignore[arg-type]
    return path


def _plain_workbook(path: Path, sheets: dict[str, list[list[object]]], tables: dict[str, str] | None = None) -> Path:
    """Write sheets of rows with openpyxl (row 1 = first list); optionally add named tables per sheet."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if tables and name in tables:
            ws.add_table(Table(displayName=tables[name], ref=ws.dimensions))
    wb.save(path)
    return path


def test_build_master_rows_read_back(tmp_path: Path) -> None:
    """Verify rows written by build_master come back by field, with the sheet row of each."""
    start = datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)
    path = _master(tmp_path, employees=EMPLOYEE_ROWS, conversations=[
        {"conversation_id": "2027-1001", "employee_id": "1001", "manager_id": "1003", "start": start,
         "end": datetime(2027, 1, 11, 10, 15, tzinfo=OSLO), "place": "Møterom 2"}])
    raw = read_workbook(path)
    assert raw.missing == []
    assert set(raw.tables) == {s.table for s in TABLES}
    employees = raw.tables["Ansatte"]
    assert employees.found_as_table
    assert employees.header_row == 1
    assert [r.excel_row for r in employees.rows] == [2, 3, 4]
    assert employees.rows[2].values["name"] == "Åse Ødegård"
    assert employees.cell(employees.rows[1], "email") == "Ansatte!C3"
    conversation = raw.tables["Samtaler"].rows[0].values
    assert conversation["start"] == datetime(2027, 1, 11, 9, 0)
    assert conversation["place"] == "Møterom 2"
    master = parse_master(raw)
    assert master.problems == []
    assert sorted(master.employees) == ["1001", "1002", "1003"]
    assert master.employees["1002"].manager_id == "1003"
    assert master.conversations["2027-1001"].start == start


def test_empty_tables_and_settings_read(tmp_path: Path) -> None:
    """Verify a fresh master reads with empty data tables, default settings and the question menu."""
    raw = read_workbook(_master(tmp_path))
    assert raw.tables["Ansatte"].rows == []
    assert raw.tables["Logg"].rows == []
    assert len(raw.tables["Sporsmal"].rows) >= 40
    keys = [r.values["key"] for r in raw.tables["Innstillinger"].rows]
    assert "Varighet (minutter)" in keys
    assert "Spørsmål" in raw.sheet_names
    assert "Lister" in raw.sheet_names


def test_columns_moved_extra_columns_blank_rows(tmp_path: Path) -> None:
    """Verify a table with columns in another order, extra columns and blank rows reads by header."""
    path = _plain_workbook(tmp_path / "samtaler.xlsx", {"Ansatte": [
        ["Notat", "E-post", "Navn", "Aktiv", "AnsattID", "Fødselsdag"],
        ["ny", "kari@firma.no", "Kari", "Ja", "1001", "01.01.1990"],
        [None, None, None, None, None, None],
        [None, None, None, None, None, None],
        ["", "ola@firma.no", "Ola", "Nei", 1002, None],
    ]}, tables={"Ansatte": "Tabell1"})
    raw = read_workbook(path)
    table = raw.tables["Ansatte"]
    assert table.found_as_table  # found by its sheet although the table is called Tabell1
    assert table.columns == {"email": 1, "name": 2, "active": 3, "employee_id": 4}
    assert [r.excel_row for r in table.rows] == [2, 5]
    assert table.rows[1].values == {"email": "ola@firma.no", "name": "Ola", "active": "Nei", "employee_id": 1002.0}
    assert table.cell(table.rows[1], "employee_id") == "Ansatte!E5"
    assert table.missing_headers == []
    master = parse_master(raw)
    assert sorted(master.employees) == ["1001", "1002"]
    assert master.employees["1002"].active is False


def test_numbers_stored_as_text_and_trailing_spaces(tmp_path: Path) -> None:
    """Verify «1001» and 1001.0 give the same ID, and spaces around headers and values are trimmed."""
    path = _plain_workbook(tmp_path / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID ", "  Navn", "E-POST", "Leder", "Aktiv"],
        ["1001 ", "Kari Nordmann   ", " kari@firma.no ", 1003, "Ja "],
        [1003.0, "Per", "per@firma.no", "1001", "ja"],
        ["   ", "   ", None, None, None],
    ]}, tables={"Ansatte": "Ansatte"})
    raw = read_workbook(path)
    rows = raw.tables["Ansatte"].rows
    assert len(rows) == 2  # the row of spaces is blank
    assert rows[0].values["employee_id"] == "1001"
    assert rows[0].values["name"] == "Kari Nordmann"
    assert rows[0].values["email"] == "kari@firma.no"
    assert _cell_problems(raw) == []
    master = parse_master(raw)
    assert master.employees["1001"].manager_id == "1003"
    assert master.employees["1003"].manager_id == "1001"
    assert master.employees["1003"].active is True


def test_excel_dates_serials_and_text_dates(tmp_path: Path) -> None:
    """Verify real Excel dates, bare serial numbers and dd.mm.åååå text all read as the same moment."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Samtaler"
    ws.append(["SamtaleID", "AnsattID", "Leder", "Start", "Slutt", "Invitert"])
    ws.append(["2027-1001", "1001", "1003", datetime(2027, 1, 11, 9, 0), datetime(2027, 1, 11, 10, 15),
               date(2027, 1, 2)])
    ws.append(["2027-1002", 1002, 1003, 46398.375, "11.01.2027 10:15", "02.01.2027"])
    ws["D2"].number_format = "dd.mm.yyyy hh:mm"
    ws["F2"].number_format = "dd.mm.yyyy"
    ws.add_table(Table(displayName="Samtaler", ref="A1:F3"))
    path = tmp_path / "samtaler.xlsx"
    wb.save(path)
    raw = read_workbook(path)
    first, second = raw.tables["Samtaler"].rows
    assert first.values["start"] == datetime(2027, 1, 11, 9, 0)
    assert second.values["start"] == 46398.375
    assert _cell_problems(raw) == []
    master = parse_master(raw)
    a, b = master.conversations["2027-1001"], master.conversations["2027-1002"]
    assert a.start == b.start == datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)
    assert a.end == b.end == datetime(2027, 1, 11, 10, 15, tzinfo=OSLO)
    assert a.invited == b.invited == date(2027, 1, 2)
    assert b.employee_id == "1002"


def test_table_converted_to_range(tmp_path: Path) -> None:
    """Verify a sheet whose table was converted back to a plain range is read below its header row."""
    path = _plain_workbook(tmp_path / "samtaler.xlsx", {
        "Ansatte": [
            ["Ansatte i Firma AS"],
            [],
            ["AnsattID", "Navn", "E-post", "Aktiv"],
            ["1001", "Kari", "kari@firma.no", "Ja"],
            [],
            [1002, "Ola", "ola@firma.no", "Ja"],
        ],
        "Logg": [["Tid", "Hendelse", "Hvem", "Resultat"], [datetime(2027, 1, 1, 8, 0), "Test", "hr", "ok"]],
    })
    raw = read_workbook(path)
    table = raw.tables["Ansatte"]
    assert not table.found_as_table
    assert table.header_row == 3
    assert [r.excel_row for r in table.rows] == [4, 6]
    assert table.cell(table.rows[1], "name") == "Ansatte!B6"
    assert [r.values["employee_id"] for r in table.rows] == ["1001", 1002.0]
    assert raw.tables["Logg"].rows[0].values["event"] == "Test"
    assert sorted(s.table for s in raw.missing) == sorted(["Innstillinger", "Samtaler", "Sporsmal", "Tiltak", "Rom"])


def test_table_in_the_middle_of_a_sheet(tmp_path: Path) -> None:
    """Verify a table that starts at B3 gives correct sheet rows and cell addresses."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ansatte"
    ws["A1"] = "Oversikt over ansatte"
    for r, row in enumerate([["AnsattID", "Navn", "E-post", "Aktiv"], ["1001", "Kari", "k@firma.no", "Ja"],
                             [1002, "Ola", "o@firma.no", "Nei"]], start=3):
        for c, value in enumerate(row, start=2):
            ws.cell(r, c, value)
    ws.add_table(Table(displayName="Personer", ref="B3:E5"))
    path = tmp_path / "samtaler.xlsx"
    wb.save(path)
    table = read_workbook(path).tables["Ansatte"]
    assert table.header_row == 3
    assert table.columns["employee_id"] == 1
    assert [r.excel_row for r in table.rows] == [4, 5]
    assert table.cell(table.rows[0], "email") == "Ansatte!D4"


def test_missing_required_column_is_reported(tmp_path: Path) -> None:
    """Verify a table without a required header lists it and parse_master reports it by sheet."""
    path = _plain_workbook(tmp_path / "samtaler.xlsx", {"Ansatte": [
        ["AnsattID", "Navn", "Aktiv"], ["1001", "Kari", "Ja"]]}, tables={"Ansatte": "Ansatte"})
    raw = read_workbook(path)
    assert raw.tables["Ansatte"].missing_headers == ["E-post"]
    messages = [p.render() for p in parse_master(raw).problems]
    assert any(m.startswith("Ansatte:") and "«E-post» mangler" in m for m in messages)


def test_xlsxwriter_workbook_with_text_numbers(tmp_path: Path) -> None:
    """Verify a workbook written by XlsxWriter with IDs as text and numbers reads as equal IDs."""
    path = tmp_path / "samtaler.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Ansatte")
    ws.add_table(0, 0, 2, 3, {"name": "Ansatte", "columns": [
        {"header": "Navn"}, {"header": "AnsattID"}, {"header": "E-post"}, {"header": "Aktiv"}]})
    ws.write_row(1, 0, ["Kari", "1001", "kari@firma.no", "Ja"])
    ws.write_string(2, 0, "Ola")
    ws.write_number(2, 1, 1002)
    ws.write_row(2, 2, ["ola@firma.no", "Ja"])
    book.close()
    master = parse_master(read_workbook(path))
    assert sorted(master.employees) == ["1001", "1002"]


def test_helpers() -> None:
    """Verify column letters and header folding used to match headers."""
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert normalise_header("  Avlyst   GRUNN ") == normalise_header("Avlyst grunn")
    assert normalise_header(None) == ""
    assert EMPLOYEES.header("email") == "E-post"


# ---- what cannot be read ---------------------------------------------------------------

def _read_error(path: Path) -> WorkbookError:
    with pytest.raises(WorkbookError) as caught:
        read_workbook(path)
    assert caught.value.exit_code == EXIT_WORKBOOK == 3
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    """Verify a missing workbook gives a Norwegian «Fant ikke» error with exit code 3."""
    error = _read_error(tmp_path / "samtaler.xlsx")
    assert error.message.startswith("Fant ikke")
    assert "samtaler.xlsx" in error.message


def test_xls_renamed_to_xlsx(tmp_path: Path) -> None:
    """Verify an OLE (.xls) file with an .xlsx name is named as an old .xls file, with how to save it."""
    path = tmp_path / "samtaler.xlsx"
    path.write_bytes(OLE_MAGIC + b"\x00" * 504 + b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" + b"\x00" * 1000)
    error = _read_error(path)
    assert error.message == "samtaler.xlsx er en gammel .xls-fil med feil filendelse."
    assert "Excel-arbeidsbok (*.xlsx)" in error.hint


def test_encrypted_ooxml(tmp_path: Path) -> None:
    """Verify a password-encrypted workbook (OLE with an EncryptedPackage stream) is named as such."""
    path = tmp_path / "samtaler.xlsx"
    path.write_bytes(OLE_MAGIC + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 400)
    error = _read_error(path)
    assert error.message == "samtaler.xlsx er beskyttet med passord, og samtale kan ikke lese den."
    assert "Fjern passordet" in error.hint


def test_csv_renamed_to_xlsx(tmp_path: Path) -> None:
    """Verify a CSV file with an .xlsx name is refused as not an Excel workbook."""
    path = tmp_path / "samtaler.xlsx"
    path.write_text("AnsattID;Navn;E-post\n1001;Kari;kari@firma.no\n", encoding="utf-8")
    error = _read_error(path)
    assert error.message == "samtaler.xlsx er ikke en Excel-arbeidsbok (.xlsx/.xlsm)."
    assert ".samtale/backups/" in error.hint


def test_damaged_zip(tmp_path: Path) -> None:
    """Verify a truncated workbook (zip header, broken body) gives «Kan ikke lese» and a restore hint."""
    good = _master(tmp_path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:3000])
    error = _read_error(broken)
    assert error.message.startswith("Kan ikke lese broken.xlsx")
    assert "backups" in error.hint


def test_cli_reports_unreadable_workbook_with_exit_3(tmp_path: Path) -> None:
    """Verify the CLI prints the Norwegian reason without a traceback and exits 3 for a CSV master."""
    (tmp_path / "samtaler.xlsx").write_text("a,b\n1,2\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(tmp_path), "status"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr
    assert "Feil: samtaler.xlsx er ikke en Excel-arbeidsbok" in done.stderr
    assert "Traceback" not in done.stderr


# ---- finding the master in its folder --------------------------------------------------

def test_master_prefers_single_file(tmp_path: Path) -> None:
    """Verify Folder.master finds samtaler.xlsx or samtaler.xlsm when exactly one is present."""
    (tmp_path / "samtaler.xlsx").write_bytes(b"PK")
    assert Folder(tmp_path).master() == tmp_path / "samtaler.xlsx"
    (tmp_path / "samtaler.xlsx").rename(tmp_path / "samtaler.xlsm")
    assert Folder(tmp_path).master() == tmp_path / "samtaler.xlsm"


def test_master_both_present(tmp_path: Path) -> None:
    """Verify both samtaler.xlsx and samtaler.xlsm present is an error naming both."""
    (tmp_path / "samtaler.xlsx").write_bytes(b"PK")
    (tmp_path / "samtaler.xlsm").write_bytes(b"PK")
    with pytest.raises(WorkbookError) as caught:
        Folder(tmp_path).master()
    assert caught.value.exit_code == 3
    assert "Både samtaler.xlsm og samtaler.xlsx" in caught.value.message
    assert "Behold den ene" in caught.value.hint


def test_master_only_xls(tmp_path: Path) -> None:
    """Verify only samtaler.xls present says it is the old format and how to save it as .xlsx."""
    (tmp_path / "samtaler.xls").write_bytes(OLE_MAGIC)
    with pytest.raises(WorkbookError) as caught:
        Folder(tmp_path).master()
    assert caught.value.exit_code == 3
    assert caught.value.message == "samtaler.xls er i det gamle .xls-formatet."
    assert "*.xlsx" in caught.value.hint


def test_master_missing(tmp_path: Path) -> None:
    """Verify an empty folder says no master was found and suggests «samtale init»."""
    with pytest.raises(WorkbookError) as caught:
        Folder(tmp_path).master()
    assert caught.value.message.startswith("Fant ingen samtaler.xlsx eller samtaler.xlsm")
    assert "samtale init" in caught.value.hint


@pytest.mark.libreoffice
def test_real_xls_renamed(tmp_path: Path, soffice_convert) -> None:  # type: ignore[no-untyped-def]
    """Verify a real .xls written by LibreOffice and renamed .xlsx is refused as an old .xls file."""
    source = _master(tmp_path, employees=EMPLOYEE_ROWS[:1])
    xls = soffice_convert(source, "xls", tmp_path / "out")
    assert xls.read_bytes().startswith(OLE_MAGIC)
    renamed = xls.with_suffix(".xlsx")
    xls.rename(renamed)
    assert _read_error(renamed).message == "samtaler.xlsx er en gammel .xls-fil med feil filendelse."
