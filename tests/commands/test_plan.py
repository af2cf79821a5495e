"""`samtale plan` on a real folder (workbook only): seeded times, replan, rooms, reasons, dry run, summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.plan import run_plan
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import CONVERSATIONS, LOG, STATUS_LABELS
from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK
from samtale_automation.faces.present_plan import plan_exit_code, plan_lines
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)  # a Monday; the first day is 14 January at the earliest
FIRST, LAST = date(2027, 1, 18), date(2027, 2, 26)  # six weeks


def company(root: Path, employees: int = 8, *, rooms: dict[str, str] | None = None,
            extra: dict[str, dict[str, Any]] | None = None) -> Workspace:
    """Managers 1 (Åse) and 2 (Per); employees 101… alternately theirs; round 2027 over six weeks."""
    init_folder(root)
    ws = Workspace.open(root, NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Kjærstad", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Per Lie", email="per@firma.example", active="Ja")
    for n in range(employees):
        number = str(101 + n)
        staff.upsert("Ansatte", number, name=f"Ansatt {number}", email=f"a{number}@firma.example",
                     manager_id=str(1 + n % 2), active="Ja", **(extra or {}).get(number, {}))
    for name, email in (rooms or {}).items():
        staff.upsert("Rom", name, email=email, active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", FIRST, LAST, NOW, "test").changeset)
    return ws


def person_writes(ws: Workspace, conversation_id: str, **values: Any) -> None:
    """Type into Samtaler as a person would (openpyxl straight into the file, no ChangeSet)."""
    path = ws.folder.master()
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Samtaler"]
    headers = {cell.value: cell.column for cell in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, headers["SamtaleID"]).value == conversation_id)
    for field_name, value in values.items():
        sheet.cell(row, headers[CONVERSATIONS.header(field_name)]).value = value
    workbook.save(path)


def test_plan_gives_every_conversation_a_time_written_as_the_planners(tmp_path: Path) -> None:
    """Verify every conversation gets a time in the period, Status «Planlagt», a Logg row, the journal remembers."""
    ws = company(tmp_path / "f")
    result = run_plan(ws, who="hr")
    assert result.unplaced == 0 and len(result.plan.placed) == 8 and plan_exit_code(result) == EXIT_OK
    assert result.apply is not None and result.apply.blocked is None and result.apply.conflicts == []
    master = ws.load()
    for conv in master.current_round().conversations:
        assert conv.start is not None and conv.end is not None and FIRST <= conv.start.date() <= LAST
        assert conv.end - conv.start == timedelta(minutes=75) and conv.status(ws.now) == "planned"
    rows = read_workbook(ws.folder.master()).tables[CONVERSATIONS.table].rows
    assert {row.values["status"] for row in rows} == {STATUS_LABELS["planned"]}
    with ws.journal() as journal:
        assert set(journal.last_written(CONVERSATIONS.table)["2027-101"]) == {"start", "end"}
    log = [row.values for row in read_workbook(ws.folder.master()).tables[LOG.table].rows]
    assert log[-1]["event"] == "Samtaler planlagt" and log[-1]["who"] == "hr"
    assert log[-1]["result"] == "8 fikk tid, 0 uten tid (fra arbeidsboken)"
    # Four each over thirty working days: one a day, spread out rather than the first four days.
    per_manager = Counter(p.manager_id for p in result.plan.placed)
    assert per_manager == {"1": 4, "2": 4}
    assert [(s.name, s.placed) for s in result.managers] == [("Per Lie", 4), ("Åse Kjærstad", 4)]
    assert max(s.last_day - s.first_day for s in result.managers if s.first_day and s.last_day) > timedelta(days=20)
    lines = plan_lines(result)
    assert lines[0] == "Periode 18.01.2027–26.02.2027 (bare arbeidsboken, ingen ledig/opptatt fra kalenderne)."
    assert lines[-1] == "8 samtaler fikk tid, 0 uten tid."
    assert any(line.startswith("  Åse Kjærstad: 4 samtaler, ") for line in lines)

    again = run_plan(ws)  # nothing without a time: nothing written
    assert again.plan.placed == [] and again.changeset is None and plan_exit_code(again) == EXIT_OK


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """Verify --dry-run plans and describes, but the workbook and the journal's pending list stay as they were."""
    ws = company(tmp_path / "f")
    before = ws.folder.master().read_bytes()
    result = run_plan(ws, dry_run=True)
    assert len(result.plan.placed) == 8 and result.changeset is not None and result.apply is None
    assert ws.folder.master().read_bytes() == before and ws.pending() == []
    assert plan_lines(result)[-1] == "Prøvekjøring: ingenting er skrevet."


def test_a_persons_time_is_never_overwritten_and_replan_moves_only_the_planners(tmp_path: Path) -> None:
    """Verify --replan keeps a time a person typed and an invited one, and moves one whose employee is now away."""
    ws = company(tmp_path / "f")
    first = {p.conversation_id: p for p in run_plan(ws).plan.placed}
    typed = datetime(2027, 2, 1, 13, 0)
    person_writes(ws, "2027-101", start=typed, end=typed + timedelta(minutes=60), place="Kantina")
    invited = ChangeSet("invited")
    invited.upsert(CONVERSATIONS.table, "2027-102", invited=date(2027, 1, 5))
    ws.commit(invited)
    away_day = first["2027-103"].start.date()
    person_writes_employee(ws, "103", away=f"{away_day:%d.%m.%Y}")
    person_writes_employee(ws, "102", away=f"{first['2027-102'].start.date():%d.%m.%Y}")  # invited: stays

    result = run_plan(ws, replan=True)
    master = ws.load()
    assert master.conversations["2027-101"].start == typed.replace(tzinfo=OSLO)  # the person's, untouched
    assert master.conversations["2027-101"].place == "Kantina"
    assert master.conversations["2027-102"].start == first["2027-102"].start  # invited: not moved
    moved = master.conversations["2027-103"].start
    assert moved is not None and moved.date() != away_day
    assert "2027-101" not in result.prepared.moved and "2027-102" not in result.prepared.moved  # type: ignore[union-attr]
    assert result.apply is not None and result.apply.conflicts == []


def person_writes_employee(ws: Workspace, employee_id: str, **values: Any) -> None:
    """Type into Ansatte as a person would."""
    from samtale_automation.domain.schema import EMPLOYEES

    path = ws.folder.master()
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Ansatte"]
    headers = {cell.value: cell.column for cell in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if str(sheet.cell(r, headers["AnsattID"]).value) == employee_id)
    for field_name, value in values.items():
        sheet.cell(row, headers[EMPLOYEES.header(field_name)]).value = value
    workbook.save(path)


def test_a_plan_waiting_for_an_open_workbook_is_still_the_planners(tmp_path: Path,
                                                                     excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify a plan that cannot be written while Excel has the file waits (exit 3), and --replan treats the
    waiting times as the planner's own (it may move them), giving the same plan again."""
    ws = company(tmp_path / "f", 4)
    (ws.folder.root / "~$samtaler.xlsx").write_bytes(excel_owner_file("Kari HR"))
    first = run_plan(ws)
    assert first.apply is not None and first.apply.blocked and plan_exit_code(first) == EXIT_WORKBOOK
    assert ws.load().conversations["2027-101"].start is not None  # the pending change, laid over the file
    again = run_plan(ws, replan=True, dry_run=True)
    assert again.prepared is not None and sorted(again.prepared.moved) == ["2027-101", "2027-102", "2027-103",
                                                                          "2027-104"]
    assert [(p.conversation_id, p.start) for p in again.plan.placed] == [
        (p.conversation_id, p.start) for p in first.plan.placed]


def test_an_edit_made_while_the_plan_waits_is_kept_as_a_conflict(tmp_path: Path) -> None:
    """Verify a Start a person changes after planning but before the write is kept, and reported."""
    ws = company(tmp_path / "f", 2)
    planned = run_plan(ws)
    assert planned.apply is not None
    replanned = run_plan(ws, replan=True, dry_run=True)  # nothing changed: the same times again
    assert [p.start for p in replanned.plan.placed] == [p.start for p in planned.plan.placed]
    moved_by_hand = datetime(2027, 2, 3, 9, 0)
    person_writes(ws, "2027-101", start=moved_by_hand, end=moved_by_hand + timedelta(minutes=75))
    changes = ChangeSet("stale plan")
    changes.upsert(CONVERSATIONS.table, "2027-101", start=planned.plan.placed[0].start,
                   end=planned.plan.placed[0].end)
    applied = ws.commit(changes)
    assert [(c.key, c.field) for c in applied.conflicts] == [("2027-101", "start"), ("2027-101", "end")]
    assert ws.load().conversations["2027-101"].start == moved_by_hand.replace(tzinfo=OSLO)


def test_rooms_come_from_the_rom_sheet_and_a_persons_place_is_kept(tmp_path: Path) -> None:
    """Verify Sted gets a room from Rom, Teams typed by a person stays and books no room, a typed room binds."""
    ws = company(tmp_path / "f", 6, rooms={"Fjorden": "fjorden@firma.example", "Breen": ""})
    person_writes(ws, "2027-101", place="Teams")
    person_writes(ws, "2027-102", place="Breen")
    result = run_plan(ws)
    assert result.unplaced == 0
    master = ws.load()
    places = {cid: conv.place for cid, conv in master.conversations.items()}
    assert places["2027-101"] == "Teams" and places["2027-102"] == "Breen"
    assert {places[f"2027-{n}"] for n in range(103, 107)} <= {"Fjorden <fjorden@firma.example>", "Breen"}
    with ws.journal() as journal:
        assert "place" not in journal.last_written(CONVERSATIONS.table)["2027-101"]


def test_what_cannot_be_placed_is_listed_with_its_reason(tmp_path: Path) -> None:
    """Verify an employee away the whole period is left without a time with the reason; a part-timer gets a Monday."""
    extra = {"101": {"away": "10.01.2027–01.03.2027"}, "103": {"work_days": "man"}}
    ws = company(tmp_path / "f", 4, extra=extra)
    result = run_plan(ws)
    assert [(u.conversation_id, u.reason) for u in result.plan.unplaced] == [("2027-101", "employee_away")]
    assert plan_exit_code(result) == EXIT_PROBLEMS
    master = ws.load()
    assert master.conversations["2027-101"].start is None
    assert master.conversations["2027-103"].start is not None and master.conversations["2027-103"].start.weekday() == 0
    lines = plan_lines(result)
    assert "      2027-101  Ansatt 101: den ansatte er borte eller ikke på jobb noen dag i perioden" in lines
    assert any(line.startswith("  Åse Kjærstad: 1 samtale, ") and line.endswith("; 1 uten tid") for line in lines)
    assert lines[-1] == "3 samtaler fikk tid, 1 uten tid."


def test_an_unreadable_borte_cell_is_named_with_its_cell(tmp_path: Path) -> None:
    """Verify a «Borte» that is not a period is reported at its cell (and the run exits 1), the rest planned."""
    ws = company(tmp_path / "f", 2, extra={"101": {"away": "hele februar"}})
    result = run_plan(ws)
    assert len(result.plan.placed) == 2 and plan_exit_code(result) == EXIT_PROBLEMS
    assert [line for line in plan_lines(result) if line.startswith("Ansatte!")] == [
        "Ansatte!J4: «hele februar» er ikke en dato eller en periode (skriv dd.mm.åååå–dd.mm.åååå) – Skriv datoer "
        "eller perioder, f.eks. «01.03.2027–14.03.2027, 02.04.2027»."]


def test_only_the_managers_asked_for(tmp_path: Path) -> None:
    """Verify --manager 2 places only Per's conversations, around Åse's times."""
    ws = company(tmp_path / "f", 4)
    result = run_plan(ws, managers=("2",))
    assert {p.manager_id for p in result.plan.placed} == {"2"} and len(result.plan.placed) == 2
    master = ws.load()
    assert master.conversations["2027-101"].start is None and master.conversations["2027-102"].start is not None


def test_no_period_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """Verify a round without Periode start/slutt says what to fill in and exits 1."""
    init_folder(tmp_path / "f")
    ws = Workspace.open(tmp_path / "f", NOW)
    result = run_plan(ws)
    assert result.rules is None and plan_exit_code(result) == EXIT_PROBLEMS
    assert plan_lines(result) == ["Innstillinger (Periode start, Periode slutt): runden har ingen periode å planlegge "
                                  "i – Fyll inn Periode start og Periode slutt."]


def test_the_working_day_and_breaks_hold_in_the_written_times(tmp_path: Path) -> None:
    """Verify twelve conversations for one manager over three days are blocks of at most three with breaks."""
    ws = company(tmp_path / "f", 18)
    settings = ChangeSet("short period")
    settings.upsert("Innstillinger", "Periode slutt", force=True, value=date(2027, 1, 22))
    ws.commit(settings)
    result = run_plan(ws)
    by_day: dict[tuple[str, date], list[datetime]] = {}
    for placed in result.plan.placed:
        by_day.setdefault((placed.manager_id, placed.start.date()), []).append(placed.start)
    assert max(len(starts) for starts in by_day.values()) == 2  # nine each over five days: at most two a day
    for starts in by_day.values():
        starts.sort()
        assert all(b - a >= timedelta(minutes=90) for a, b in pairwise(starts))
        assert all(time(8, 30) <= s.time() and (s + timedelta(minutes=75)).time() <= time(16) for s in starts)
