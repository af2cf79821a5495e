"""Upgrade in place: a master made by release 0.1.0 gains this version's columns on its next write.

The fixture folder (tests/fixtures/release-0.1.0) was made by 0.1.0 in the middle of a round; every
value a person or the old version wrote must survive, and the new columns must be filled.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import CONVERSATIONS, LOG
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.read import read_workbook

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release-0.1.0"
NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    """A private copy of the 0.1.0 folder."""
    folder = tmp_path / "Medarbeidersamtaler"
    shutil.copytree(FIXTURE, folder)
    return folder


def _cells(path: Path) -> dict[tuple[str, str], Any]:
    """Every non-empty cell value of a workbook by (sheet, coordinate)."""
    workbook = openpyxl.load_workbook(path)
    return {(ws.title, cell.coordinate): cell.value for ws in workbook.worksheets for row in ws.iter_rows()
            for cell in row if cell.value not in (None, "")}


def _write_something(folder: Path) -> Workspace:
    """The kind of small change any command makes: a note on one conversation."""
    workspace = Workspace.open(folder, NOW)
    change = ChangeSet("test: a note")
    change.upsert(CONVERSATIONS.table, "2027-2004", note="Flyttet etter ønske")
    workspace.commit(change)
    return workspace


def test_the_old_master_lacks_the_new_columns() -> None:
    """Verify the fixture really is older than this version (otherwise the tests below prove nothing)."""
    table = read_workbook(FIXTURE / "samtaler.xlsx").tables[CONVERSATIONS.table]
    assert "employee_name" not in table.columns and "manager_name" not in table.columns


def test_the_next_write_adds_and_fills_the_new_columns_keeping_every_old_value(old_folder: Path) -> None:
    """Verify one write adds Navn and Ledernavn, fills them from Ansatte, logs it, and keeps every old cell."""
    master = old_folder / "samtaler.xlsx"
    before = _cells(master)
    inventory = loss_guard.inventory(master)
    workspace = _write_something(old_folder)
    assert workspace.pending() == []
    after = _cells(master)
    status_column = read_workbook(master).tables[CONVERSATIONS.table].columns["status"]
    changed = {key: (value, after.get(key)) for key, value in before.items() if after.get(key) != value}
    # Only the tool's own cells may change: the note written, Status (derived from the dates and today),
    # the hidden value lists (a status label was renamed) and the Oversikt sheet (the tool's own, rewritten).
    status_letter = chr(65 + status_column)
    assert all(sheet in ("Lister", "Oversikt") or (sheet == "Samtaler" and (coordinate.startswith(status_letter)
               or after.get((sheet, coordinate)) == "Flyttet etter ønske")) for sheet, coordinate in changed), changed
    assert after[("Lister", "D6")] == "Tidspunkt passert – venter på referat"
    assert loss_guard.lost_features(inventory, loss_guard.inventory(master)) == []
    rows = {row.values["conversation_id"]: row.values for row in read_workbook(master).tables[
        CONVERSATIONS.table].rows}
    assert rows["2027-2001"]["employee_name"] == "Bjørn Sæther"
    assert rows["2027-2002"]["employee_name"] == "Chloé Dupont"
    assert {values["manager_name"] for values in rows.values()} == {"Åse Kjærstad"}
    log = [row.values for row in read_workbook(master).tables[LOG.table].rows]
    assert any(value.get("event") == "Arbeidsboken oppgradert" and "Samtaler: Navn" in value.get("result", "")
               for value in log)


def test_the_upgraded_table_is_one_table_excel_can_open(old_folder: Path) -> None:
    """Verify the table's range, its column list and the header row agree after the upgrade."""
    from openpyxl.utils.cell import range_boundaries

    _write_something(old_folder)
    ws = openpyxl.load_workbook(old_folder / "samtaler.xlsx")["Samtaler"]
    table = ws.tables[CONVERSATIONS.table]
    min_col, min_row, max_col, _ = range_boundaries(table.ref)
    names = [column.name for column in table.tableColumns]
    assert names == [ws.cell(min_row, col).value for col in range(min_col, max_col + 1)]
    assert names[-4:] == ["Navn", "Ledernavn", "Signert ansatt versjon", "Signert leder versjon"]
    assert len({column.id for column in table.tableColumns}) == len(names)
    assert table.autoFilter is None or table.autoFilter.ref == table.ref


def test_a_column_in_use_beside_the_table_is_never_overwritten(old_folder: Path) -> None:
    """Verify the upgrade refuses (and says why) when a person uses the column beside the table; the write goes on."""
    master = old_folder / "samtaler.xlsx"
    workbook = openpyxl.load_workbook(master)
    ws = workbook["Samtaler"]
    beside = ws.cell(3, len(ws.tables[CONVERSATIONS.table].tableColumns) + 1)
    beside.value = "HRs egen merknad"
    workbook.save(master)
    _write_something(old_folder)
    reread = openpyxl.load_workbook(master)["Samtaler"]
    assert reread.cell(beside.row, beside.column).value == "HRs egen merknad"
    assert "employee_name" not in read_workbook(master).tables[CONVERSATIONS.table].columns
    notes = [row.values.get("note") for row in read_workbook(master).tables[CONVERSATIONS.table].rows]
    assert "Flyttet etter ønske" in notes


def test_a_new_master_needs_no_upgrade(tmp_path: Path) -> None:
    """Verify a master made by this version is left as it is (nothing added, nothing logged)."""
    from samtale_automation.commands.init import init_folder
    from samtale_automation.workbook.upgrade import upgrade_workbook

    init_folder(tmp_path / "ny")
    report = upgrade_workbook(openpyxl.load_workbook(tmp_path / "ny" / "samtaler.xlsx"))
    assert report.added == [] and report.refused == []


@pytest.mark.libreoffice
def test_libreoffice_opens_the_upgraded_master_and_keeps_the_new_columns(
        old_folder: Path, soffice_convert: Any, tmp_path: Path) -> None:
    """Verify LibreOffice reads the upgraded table and saves it back with the new, filled columns."""
    _write_something(old_folder)
    resaved = soffice_convert(old_folder / "samtaler.xlsx", "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    rows = read_workbook(resaved).tables[CONVERSATIONS.table].rows
    assert {row.values["conversation_id"]: row.values["employee_name"] for row in rows}["2027-2003"] == "Dag Øvrebø"


def test_check_says_the_upgrade_is_coming_and_not_after_it(old_folder: Path) -> None:
    """Verify `check` names the columns the next write adds (a warning, not an error), and not once added."""
    from samtale_automation.plans.check import check_master

    before = [p for p in check_master(Workspace.open(old_folder, NOW).load()) if "eldre versjon" in p.message]
    assert sorted((p.where, p.is_warning) for p in before) == [
        ("Ansatte", True), ("Logg", True), ("Rom", True), ("Samtaler", True), ("Spørsmål", True)]
    said = {p.where: p.message for p in before}
    assert "«Navn», «Ledernavn»" in said["Samtaler"] and "«Arbeidsdager», «Borte»" in said["Ansatte"]
    assert "arket «Rom»" in said["Rom"] and "«Endringssett»" in said["Logg"]
    _write_something(old_folder)
    after = check_master(Workspace.open(old_folder, NOW).load())
    assert not [p for p in after if "eldre versjon" in p.message]


def test_the_next_write_adds_the_rom_sheet_and_the_ansatte_columns(old_folder: Path) -> None:
    """Verify the 0.1.0 master gains the Rom sheet (its table, before Logg) and Arbeidsdager and Borte, both usable."""
    from samtale_automation.domain.schema import EMPLOYEES, ROOMS

    master = old_folder / "samtaler.xlsx"
    assert [s.name for s in read_workbook(master).missing] == ["Rom"]
    workspace = _write_something(old_folder)
    workbook = openpyxl.load_workbook(master)
    assert workbook.sheetnames.index("Rom") == workbook.sheetnames.index("Logg") - 1
    table = workbook["Rom"].tables[ROOMS.table]
    assert table.ref == "A1:C2" and [workbook["Rom"].cell(1, c).value for c in (1, 2, 3)] == ["Rom", "E-post", "Aktiv"]
    employees = workbook["Ansatte"].tables[EMPLOYEES.table]
    assert [c.name for c in employees.tableColumns][-2:] == ["Arbeidsdager", "Borte"]
    raw = read_workbook(master)
    assert raw.missing == [] and raw.tables[ROOMS.table].rows == []
    log = [row.values.get("result", "") for row in raw.tables[LOG.table].rows]
    assert any("arket Rom" in line and "Ansatte: Arbeidsdager" in line for line in log)

    change = ChangeSet("test: a room and days away")
    change.upsert(ROOMS.table, "Møterom Fjorden", email="rom-fjorden@firma.no", active="Ja")
    employee_id = next(iter(workspace.load().employees))
    change.upsert(EMPLOYEES.table, employee_id, force=True, work_days="man–ons", away="01.02.2027–05.02.2027")
    applied = workspace.commit(change)
    assert applied.blocked is None and applied.upgraded == []
    loaded = workspace.load()
    assert [(r.name, r.email, r.active) for r in loaded.rooms.values()] == [
        ("Møterom Fjorden", "rom-fjorden@firma.no", True)]
    employee = loaded.employees[employee_id]
    assert employee.work_days == (0, 1, 2) and employee.away[0][0].isoformat() == "2027-02-01"
    assert not [p for p in loaded.problems if "Rom" in p.where]


def test_plan_keeps_every_time_a_person_typed_in_the_old_master(old_folder: Path) -> None:
    """Verify `plan --replan` on the 0.1.0 round moves nothing: those times were typed by people, not planned."""
    from samtale_automation.commands.plan import run_plan

    workspace = Workspace.open(old_folder, NOW)
    before = {cid: (c.start, c.end, c.place) for cid, c in workspace.load().conversations.items()}
    result = run_plan(workspace, replan=True)
    assert result.prepared is not None and result.prepared.moved == {} and result.plan.placed == []
    after = {cid: (c.start, c.end, c.place) for cid, c in workspace.load().conversations.items()}
    assert after == before


def test_the_question_menu_gains_english_columns_filled_for_shipped_questions(old_folder: Path) -> None:
    """Verify an older Spørsmål table gains «Spørsmål (en)» and «Hjelpespørsmål (en)» on the next write, filled
    for the shipped questions a person has not reworded, and that an English reader's prep file then uses them."""
    from samtale_automation.commands.workspace import Workspace as Ws
    from samtale_automation.domain.model import Employee
    from samtale_automation.plans.prep import applicable_questions

    wb = openpyxl.load_workbook(old_folder / "samtaler.xlsx")
    ws = wb["Spørsmål"]
    headers = [c.value for c in ws[1]]
    assert "Spørsmål (en)" not in headers
    text_col = headers.index("Spørsmål") + 1
    reworded = ws.cell(3, 1).value
    ws.cell(3, text_col).value = "Et spørsmål HR har skrevet om"
    wb.save(old_folder / "samtaler.xlsx")
    _write_something(old_folder)
    master = Ws.open(old_folder, NOW).load()
    questions = {q.question_id: q for q in master.questions}
    assert questions["S01"].text_en == "How have the actions we agreed on in our last conversation gone?"
    assert questions["S01"].follow_ups_en[0] == "Which actions have been completed, and what made that possible?"
    assert questions[reworded].text_en == ""
    reader = Employee("9", "Reader", "r@example.com", language="en")
    shown = {q.question_id: q for q in applicable_questions(master, reader, "en")}
    assert shown["S01"].text.startswith("How have the actions")
    assert shown[reworded].text == "Et spørsmål HR har skrevet om"  # no English: Norwegian per question
