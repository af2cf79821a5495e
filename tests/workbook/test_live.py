"""The live applier (workbook/live.py) passes the file applier's scenarios.

Each applier scenario runs twice: on the file (Workspace.commit: openpyxl, safe write) and on the
open book (apply_pending_live) through the in-memory xlwings stand-in (tests/xlwings_standin.py),
loaded from the same folder. The reader's scenarios and the stand-in's honesty are in
test_live_read.py.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import openpyxl
import pytest
import xlwings_standin as xs
from openpyxl.worksheet.table import Table

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import parse_master
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import RawWorkbook
from samtale_automation.domain.schema import STATUS_LABELS
from samtale_automation.errors import WorkbookError
from samtale_automation.store.journal import Journal
from samtale_automation.workbook import live
from samtale_automation.workbook.read import read_workbook
from samtale_automation.workbook.rules import ApplyResult

pytestmark = pytest.mark.usefixtures("nb_messages")

TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


# ---- two sides of one scenario ---------------------------------------------------------

class Side(Protocol):
    """One applier under test, over a folder made by `samtale init`."""

    root: Path

    def commit(self, cs: ChangeSet) -> ApplyResult: ...
    def raw(self) -> RawWorkbook: ...
    def table_ref(self, table: str) -> str: ...
    def type_into(self, sheet: str, row: int, col: int, value: Any) -> None: ...
    def cell(self, sheet: str, row: int, col: int) -> tuple[Any, str, bool]: ...


class FileSide:
    """The file applier: Workspace.commit writes samtaler.xlsx with openpyxl."""

    def __init__(self, root: Path) -> None:
        self.root, self.master = root, root / "samtaler.xlsx"

    def commit(self, cs: ChangeSet) -> ApplyResult:
        return Workspace.open(self.root, TODAY).commit(cs)

    def raw(self) -> RawWorkbook:
        return read_workbook(self.master)

    def table_ref(self, table: str) -> str:
        wb = openpyxl.load_workbook(self.master)
        return next(str(ws.tables[table].ref) for ws in wb.worksheets if table in ws.tables)

    def type_into(self, sheet: str, row: int, col: int, value: Any) -> None:
        wb = openpyxl.load_workbook(self.master)
        wb[sheet].cell(row, col).value = value
        wb.save(self.master)

    def cell(self, sheet: str, row: int, col: int) -> tuple[Any, str, bool]:
        cell = openpyxl.load_workbook(self.master)[sheet].cell(row, col)
        return xs.xlwings_read(cell.value), cell.number_format, cell.data_type == "f"


class LiveSide:
    """The live applier: the same folder's workbook open in (stand-in) Excel, saved through Excel."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.book = xs.Book.from_file(root / "samtaler.xlsx")

    def commit(self, cs: ChangeSet) -> ApplyResult:
        with Workspace.open(self.root, TODAY).journal() as journal:
            journal.add_changeset(cs)
            return live.apply_pending_live(self.book, journal, TODAY)

    def raw(self) -> RawWorkbook:
        return live.read_live(self.book)

    def table_ref(self, table: str) -> str:
        found = next(t for s in self.book.sheets for t in s.tables if t.name == table)
        return found.range.address.replace("$", "")

    def type_into(self, sheet: str, row: int, col: int, value: Any) -> None:
        self.book.sheets[sheet].cell(row, col).value = value  # as a person pastes it

    def cell(self, sheet: str, row: int, col: int) -> tuple[Any, str, bool]:
        state = self.book.sheets[sheet].cell(row, col)
        return xs.xlwings_read(state.value), state.number_format, state.formula


@pytest.fixture(params=["file", "live"])
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Side:
    """A new folder, driven through the file applier or the live one."""
    root = tmp_path / "Medarbeidersamtaler"
    init_folder(root)
    return FileSide(root) if request.param == "file" else LiveSide(root)


def _rows(side: Side, table: str) -> list[dict[str, Any]]:
    return [r.values for r in side.raw().tables[table].rows]


def _employee(cs: ChangeSet, employee_id: str, name: str, manager: str = "") -> None:
    cs.upsert("Ansatte", employee_id, name=name, email=f"{employee_id}@firma.no", manager_id=manager, active="Ja")


# ---- the applier scenarios -------------------------------------------------------------

def test_upsert_creates_rows_and_grows_table(side: Side) -> None:
    """Verify upserts create rows by ID and the table grows to hold them."""
    assert side.table_ref("Ansatte") == "A1:J2"
    cs = ChangeSet("nye ansatte")
    _employee(cs, "1001", "Kari Nordmann", "1003")
    _employee(cs, "1002", "Ola Hansen", "1003")
    _employee(cs, "1003", "Åse Ødegård")
    result = side.commit(cs)
    assert (result.applied, result.blocked, result.created, result.updated) == ([cs.id], None, 3, 0)
    assert side.table_ref("Ansatte") == "A1:J4"
    rows = _rows(side, "Ansatte")
    assert [r["employee_id"] for r in rows] == ["1001", "1002", "1003"]
    assert rows[2]["name"] == "Åse Ødegård" and rows[0]["manager_id"] == "1003"
    assert Workspace.open(side.root).pending() == []


def test_update_by_id_after_rows_were_sorted(side: Side) -> None:
    """Verify a later upsert finds its row by SamtaleID after a person swapped the rows."""
    cs = ChangeSet("runde")
    for number in ("1001", "1002"):
        cs.upsert("Samtaler", f"2027-{number}", employee_id=number, manager_id="1003")
    side.commit(cs)
    first = [side.cell("Samtaler", 2, c)[0] for c in range(1, 19)]
    second = [side.cell("Samtaler", 3, c)[0] for c in range(1, 19)]
    for col, (a, b) in enumerate(zip(first, second, strict=True), start=1):
        side.type_into("Samtaler", 2, col, b)
        side.type_into("Samtaler", 3, col, a)
    update = ChangeSet("invitert")
    update.upsert("Samtaler", "2027-1001", invited=date(2027, 1, 4), note="sendt")
    result = side.commit(update)
    assert (result.created, result.updated) == (0, 1)
    rows = {r["conversation_id"]: r for r in _rows(side, "Samtaler")}
    assert parse_master(side.raw()).conversations["2027-1001"].invited == date(2027, 1, 4)
    assert rows["2027-1001"]["note"] == "sendt"
    assert rows["2027-1002"]["invited"] is None
    assert side.cell("Samtaler", 3, 1)[0] == "2027-1001"


def test_append_to_logg(side: Side) -> None:
    """Verify appended Logg rows land at the end of the growing Logg table, with a real date and its format."""
    for number in range(3):
        cs = ChangeSet("logg")
        cs.append("Logg", time=datetime(2027, 1, 4, 9, number, tzinfo=OSLO), event=f"Hendelse {number}",
                  who="hr", result="ok")
        assert side.commit(cs).applied == [cs.id]
    assert side.table_ref("Logg") == "A1:E4"
    assert [r["event"] for r in _rows(side, "Logg")] == ["Hendelse 0", "Hendelse 1", "Hendelse 2"]
    assert side.cell("Logg", 4, 1) == (datetime(2027, 1, 4, 9, 2), "dd.mm.yyyy hh:mm", False)


def test_text_is_written_as_text(side: Side) -> None:
    """Verify text that Excel would take for a formula, number or date is stored as that text."""
    cs = ChangeSet("farlige verdier")
    _employee(cs, "0042", '=HYPERLINK("x")')
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event="@SUM(A1)", who="+cmd", result="-2+3")
    cs.upsert("Samtaler", "2027-0042", employee_id="0042", manager_id="0042", note="1/2", place="01.02.2027")
    side.commit(cs)
    employee = _rows(side, "Ansatte")[0]
    assert (employee["employee_id"], employee["name"]) == ("0042", '=HYPERLINK("x")')
    log = _rows(side, "Logg")[0]
    assert (log["event"], log["who"], log["result"]) == ("@SUM(A1)", "+cmd", "-2+3")
    conversation = _rows(side, "Samtaler")[0]
    assert (conversation["note"], conversation["place"]) == ("1/2", "01.02.2027")
    for sheet, width in (("Ansatte", 8), ("Logg", 4), ("Samtaler", 18)):
        assert not any(side.cell(sheet, 2, c)[2] for c in range(1, width + 1)), sheet


def test_dates_are_dates(side: Side) -> None:
    """Verify a date is written as a date with the date format, a date-time with the date-time format."""
    cs = ChangeSet("tiltak")
    cs.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001", description="Kurs",
              deadline=date(2027, 3, 1))
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003",
              start=datetime(2027, 1, 11, 9, 0, tzinfo=OSLO), end=datetime(2027, 1, 11, 10, 15, tzinfo=OSLO))
    side.commit(cs)
    assert side.cell("Tiltak", 2, 7) == (datetime(2027, 3, 1), "dd.mm.yyyy", False)
    assert side.cell("Samtaler", 2, 6) == (datetime(2027, 1, 11, 9, 0), "dd.mm.yyyy hh:mm", False)
    master = parse_master(side.raw())
    assert master.actions["2027-1001-1"].deadline == date(2027, 3, 1)
    assert master.conversations["2027-1001"].start == datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)


def test_seeded_conflict_keeps_person_value(side: Side) -> None:
    """Verify a seeded cell a person changed is kept with a Konflikt row in Logg, and untouched cells update."""
    first = ChangeSet("referat")
    first.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001",
                 description="Kurs i Excel", goal="Raskere rapporter", deadline=date(2027, 3, 1))
    side.commit(first)
    assert side.cell("Tiltak", 2, 4)[0] == "Kurs i Excel"
    side.type_into("Tiltak", 2, 4, "Kurs i Excel og Power BI")  # the person edits the action text
    second = ChangeSet("nytt referat")
    second.upsert("Tiltak", "2027-1001-1", description="Excel-kurs (nytt referat)", goal="Rapporter på 1 dag",
                  deadline=date(2027, 4, 1))
    result = side.commit(second)
    assert result.applied == [second.id]
    assert [(c.field, c.kept, c.offered) for c in result.conflicts] == [
        ("description", "Kurs i Excel og Power BI", "Excel-kurs (nytt referat)")]
    action = parse_master(side.raw()).actions["2027-1001-1"]
    assert (action.description, action.goal, action.deadline) == (
        "Kurs i Excel og Power BI", "Rapporter på 1 dag", date(2027, 4, 1))
    log = _rows(side, "Logg")
    assert [(r["event"], r["who"]) for r in log] == [("Konflikt", "samtale")]
    assert log[0]["result"] == ("2027-1001-1 «Tiltak»: beholdt «Kurs i Excel og Power BI», "
                                "ikke skrevet «Excel-kurs (nytt referat)»")


def test_status_and_names_are_refreshed(side: Side) -> None:
    """Verify each write fills Samtaler's Navn, Ledernavn and Status from Ansatte and the dates."""
    cs = ChangeSet("runde")
    _employee(cs, "1001", "Kari Nordmann", "1003")
    _employee(cs, "1003", "Åse Ødegård")
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003")
    side.commit(cs)
    row = _rows(side, "Samtaler")[0]
    assert (row["employee_name"], row["manager_name"]) == ("Kari Nordmann", "Åse Ødegård")
    assert row["status"] == STATUS_LABELS[parse_master(side.raw()).conversations["2027-1001"].status(TODAY)]


# ---- live only: saving, a missing Logg, a missing column --------------------------------

def test_live_write_is_not_a_save(tmp_path: Path) -> None:
    """Verify apply_live writes into the open book without saving it or marking anything applied."""
    root = tmp_path / "f"
    init_folder(root)
    book = xs.Book.from_file(root / "samtaler.xlsx")
    cs = ChangeSet("ny")
    _employee(cs, "1001", "Kari")
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        journal.add_changeset(cs)
        outcome = live.apply_live(book, [cs], journal, TODAY)
        assert (outcome.result.created, outcome.result.applied, book.saves) == (1, [], 0)
        assert [p.changeset.id for p in journal.pending()] == [cs.id]
    assert live.save_live(book) is True and book.saves == 1


def test_failed_save_keeps_changesets_pending(tmp_path: Path) -> None:
    """Verify a save Excel refuses leaves the ChangeSets pending with the reason; the next save applies them."""
    root = tmp_path / "f"
    init_folder(root)
    side = LiveSide(root)
    side.book.save_fails = True
    cs = ChangeSet("ny")
    _employee(cs, "1001", "Kari")
    result = side.commit(cs)
    assert result.applied == [] and result.blocked is not None and "kunne ikke lagre" in result.blocked
    assert live.save_live(side.book) is False
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        assert [(p.changeset.id, p.blocked_reason) for p in journal.pending()] == [(cs.id, result.blocked)]
        side.book.save_fails = False
        again = live.apply_pending_live(side.book, journal, TODAY)
        assert (again.applied, again.created, again.updated) == ([cs.id], 0, 0)  # already in the open book
        assert journal.pending() == []
    assert side.book.saves == 1


def test_live_adds_a_missing_logg_table(tmp_path: Path) -> None:
    """Verify a conflict in a book without Logg adds a Logg sheet (last) with its table and the row."""
    path = tmp_path / "samtaler.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tiltak"
    ws.append(["TiltakID", "SamtaleID", "AnsattID", "Tiltak", "Frist"])
    ws.append(["2027-1001-1", "2027-1001", "1001", "Kurs i Excel og BI", None])
    ws.add_table(Table(displayName="Tiltak", ref="A1:E2"))
    wb.save(path)
    book = xs.Book.from_file(path)
    cs = ChangeSet("nytt referat")
    cs.upsert("Tiltak", "2027-1001-1", description="Excel-kurs")
    with Journal(tmp_path / "journal.sqlite") as journal:
        journal.add_changeset(cs)
        result = live.apply_pending_live(book, journal, TODAY)
    assert len(result.conflicts) == 1 and result.applied == [cs.id]
    assert [s.name for s in book.sheets] == ["Tiltak", "Logg"]
    logg = live.read_live(book).tables["Logg"]
    assert [r.values["event"] for r in logg.rows] == ["Konflikt"]
    assert book.sheets["Logg"].tables["Logg"].range.address == "$A$1:$E$2"


def test_live_refuses_a_table_without_a_required_column(tmp_path: Path) -> None:
    """Verify the live applier names the missing required column, as the file applier does."""
    path = tmp_path / "samtaler.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ansatte"
    ws.append(["AnsattID", "Navn", "Aktiv"])
    ws.append(["1001", "Kari", "Ja"])
    ws.add_table(Table(displayName="Ansatte", ref="A1:C2"))
    wb.save(path)
    cs = ChangeSet("ny")
    _employee(cs, "1002", "Ola")
    with Journal(tmp_path / "journal.sqlite") as journal, pytest.raises(WorkbookError, match="E-post"):
        live.apply_live(xs.Book.from_file(path), [cs], journal, TODAY)


# ---- the shared rules: XML-safe text, set aside, the Logg marker ------------------------

def test_text_is_made_xml_safe_on_both_sides(side: Side) -> None:
    """Verify a control character in data is written as the same cleaned text by both appliers."""
    cs = ChangeSet("ny")
    _employee(cs, "1001", "Kari\x01 Nordmann")
    side.commit(cs)
    names = [r["name"] for r in _rows(side, "Ansatte")]
    assert len(names) == 1 and "\x01" not in names[0] and names[0].startswith("Kari")


def test_a_value_excel_refuses_is_set_aside_and_rolled_back(tmp_path: Path) -> None:
    """Verify a ChangeSet whose value Excel refuses is set aside with a Logg notice, its earlier writes are
    undone, and the ChangeSets before and after it are applied and saved once."""
    root = tmp_path / "f"
    init_folder(root)
    side = LiveSide(root)
    first, bad, last = ChangeSet("først"), ChangeSet("dårlig"), ChangeSet("sist")
    _employee(first, "1001", "Kari Nordmann")
    _employee(bad, "1002", "Ola Hansen")
    bad.upsert("Ansatte", "1003", name="Avvist av Excel", email="1003@firma.no", active="Ja")
    _employee(last, "1004", "Åse Ødegård")
    side.book.sheets["Ansatte"].refused.add("Avvist av Excel")
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        for cs in (first, bad, last):
            journal.add_changeset(cs)
        result = live.apply_pending_live(side.book, journal, TODAY)
        assert [item.changeset.id for item in journal.set_aside()] == [bad.id]
        assert journal.pending() == []
    assert [changeset_id for changeset_id, _ in result.set_aside] == [bad.id]
    assert "Ansatte 1003" in result.set_aside[0][1]
    assert bad.id not in result.applied and {first.id, last.id} <= set(result.applied)
    assert sorted(r["employee_id"] for r in _rows(side, "Ansatte")) == ["1001", "1004"]  # 1002 rolled back
    assert side.table_ref("Ansatte") == "A1:J3"
    notices = [r for r in _rows(side, "Logg") if bad.id in str(r.get("result"))]
    assert len(notices) == 1
    assert side.book.saves == 1


def test_appended_rows_are_not_written_twice_after_a_crash_before_the_mark(tmp_path: Path) -> None:
    """Verify a ChangeSet applied and saved, but not marked applied (a crash), adds no second Logg row."""
    root = tmp_path / "f"
    init_folder(root)
    book = xs.Book.from_file(root / "samtaler.xlsx")
    cs = ChangeSet("logg")
    cs.append("Logg", time=TODAY.replace(tzinfo=None), event="Test", who="hr", result="én gang")
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        journal.add_changeset(cs)
        live.apply_live(book, [cs], journal, TODAY)
        assert live.save_live(book)  # … and the process dies before journal.mark_applied
        again = live.apply_pending_live(book, journal, TODAY)
    assert again.applied == [cs.id] and again.created == 0
    rows = live.read_live(book).tables["Logg"].rows
    assert [r.values["result"] for r in rows] == ["én gang"]
    assert rows[0].values["changeset"] == cs.id


def test_a_value_for_a_column_the_book_lacks_waits_for_the_file_write(tmp_path: Path) -> None:
    """Verify a change to a column the open book's table lacks (a book from an earlier version) is not dropped:
    everything stays pending with the reason, and nothing is written or saved."""
    path = tmp_path / "samtaler.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ansatte"
    ws.append(["AnsattID", "Navn", "E-post", "Aktiv"])
    ws.append(["1001", "Kari", "1001@firma.no", "Ja"])
    ws.add_table(Table(displayName="Ansatte", ref="A1:D2"))
    wb.save(path)
    book = xs.Book.from_file(path)
    cs = ChangeSet("HR")
    cs.upsert("Ansatte", "1001", department="Salg")
    with Journal(tmp_path / "journal.sqlite") as journal:
        journal.add_changeset(cs)
        result = live.apply_pending_live(book, journal, TODAY)
        assert result.applied == [] and result.blocked is not None and "Ansatte: Avdeling" in result.blocked
        assert [p.changeset.id for p in journal.pending()] == [cs.id]
    assert book.saves == 0
    assert live.read_live(book).tables["Ansatte"].rows[0].values.get("department") is None
