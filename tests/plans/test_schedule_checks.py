"""Schedule checks: overlaps, lengths, breaks, days and hours, at their cells with a fix; errors block, warnings not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from samtale_automation import texts
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, ClosedDay, Conversation, Employee, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook, column_letter
from samtale_automation.domain.schema import CONVERSATIONS
from samtale_automation.domain.workdays import holiday_name
from samtale_automation.errors import ERROR, WARNING, Problem
from samtale_automation.plans.check import check_master
from samtale_automation.plans.schedule_checks import blocking_conversations, schedule_problems

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

SETTINGS = Settings(company="Firma AS", round="2027")  # 75 minutes, 15 break, 3 a day, 08:30–16:00
MONDAY = date(2027, 1, 11)
STAFF = (Employee("1", "Sjef Sjefsen", "sjef@firma.no"), Employee("2", "Mona Leder", "mona@firma.no"),
         *(Employee(f"100{n}", name, f"{name.casefold()}@firma.no", manager_id="1")
           for n, name in enumerate(("Kari", "Ola", "Per", "Lise", "Nils"), start=1)))


def _at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), OSLO)


def _conv(emp_id: str, start: datetime | None, minutes: int = 75, *, manager: str = "1", place: str = "Møterom 1",
          round_name: str = "2027", **kw: Any) -> Conversation:
    end = start + timedelta(minutes=minutes) if start is not None else None
    return Conversation(f"{round_name}-{emp_id}", emp_id, manager, start=start, end=end, place=place, **kw)


def _master(*convs: Conversation, **setting: Any) -> Master:
    """A Master with a Samtaler table whose rows start at row 2 in sheet order, as the reader gives them."""
    columns = {c.field: i for i, c in enumerate(CONVERSATIONS.columns)}
    rows = [RawRow(n, {"conversation_id": c.conversation_id, "employee_id": c.employee_id,
                       "manager_id": c.manager_id, "start": c.start, "end": c.end, "place": c.place,
                       "cancelled": "Ja" if c.cancelled else None})
            for n, c in enumerate(convs, start=2)]
    table = RawTable(CONVERSATIONS, CONVERSATIONS.name, columns, 1, rows)
    raw = RawWorkbook(Path("samtaler.xlsx"), {CONVERSATIONS.table: table}, [], [CONVERSATIONS.name])
    return Master(settings=replace(SETTINGS, **setting), employees={e.employee_id: e for e in STAFF},
                  conversations={c.conversation_id: c for c in convs}, raw=raw)


def _cell(master: Master, conversation_id: str, field_name: str) -> str:
    """The address a person sees: the row of the conversation, the column of the field in the schema."""
    assert master.raw is not None
    row = next(r for r in master.raw.tables[CONVERSATIONS.table].rows
               if r.values["conversation_id"] == conversation_id)
    return f"Samtaler!{column_letter(CONVERSATIONS.columns.index(CONVERSATIONS.column(field_name)))}{row.excel_row}"


def _only(master: Master) -> Problem:
    problems = schedule_problems(master)
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


# ---- a clean schedule -----------------------------------------------------------------------------


def test_a_clean_schedule_gives_nothing() -> None:
    """Verify a day of three 75-minute conversations with 15-minute breaks, rooms shared in turn, gives nothing."""
    master = _master(
        _conv("1001", _at(9)), _conv("1002", _at(10, 30)), _conv("1003", _at(12)),
        _conv("1004", _at(9), manager="2", place="Møterom Fjorden <rom-fjorden@firma.no>"),
        _conv("1005", _at(9), manager="2", place="Teams", round_name="2026"),  # another round
    )
    assert schedule_problems(master) == []
    assert blocking_conversations(master) == {}
    assert check_master(master) == []


def test_cancelled_and_untimed_conversations_are_left_out() -> None:
    """Verify a cancelled conversation (overlapping, on a Saturday, 5 hours) and one without Slutt give nothing here."""
    master = _master(_conv("1001", _at(9)),
                     _conv("1002", _at(9), 300, cancelled=True),
                     _conv("1003", _at(10, day=date(2027, 1, 16)), 300, cancelled=True),
                     replace(_conv("1004", _at(9)), end=None))
    assert schedule_problems(master) == []


def test_online_places_are_not_rooms() -> None:
    """Verify two conversations at once on «Teams» (different managers) are not a room clash."""
    master = _master(_conv("1001", _at(9), place="Teams"), _conv("1002", _at(9), manager="2", place=" teams "))
    assert schedule_problems(master) == []


# ---- errors: block the rows -----------------------------------------------------------------------


def test_a_manager_booked_twice_at_once_blocks_both() -> None:
    """Verify 09:00–10:15 and 10:00–11:15 for one manager is an error at the later Start, blocking both rows."""
    master = _master(_conv("1001", _at(9)), _conv("1002", _at(10), place="Møterom 2"))
    problem = _only(master)
    assert problem.where == _cell(master, "2027-1002", "start")
    assert problem.message == ("Sjef Sjefsen har to samtaler samtidig: 2027-1002 (11.01.2027 10.00–11.15) og "
                               "2027-1001 (11.01.2027 09.00–10.15)")
    assert problem.fix == "Flytt en av samtalene."
    assert problem.severity == ERROR
    assert blocking_conversations(master) == {"2027-1001": [problem], "2027-1002": [problem]}


def test_an_employee_who_also_manages_is_booked_twice() -> None:
    """Verify Kari's own conversation and the one she holds with Per at the same time clash for Kari."""
    master = _master(_conv("1001", _at(9)), _conv("1003", _at(9, 30), manager="1001", place="Møterom 2"))
    problem = _only(master)
    assert problem.where == _cell(master, "2027-1003", "start")
    assert problem.message == ("Kari har to samtaler samtidig: 2027-1003 (11.01.2027 09.30–10.45) og "
                               "2027-1001 (11.01.2027 09.00–10.15)")
    assert set(blocking_conversations(master)) == {"2027-1001", "2027-1003"}


def test_a_long_booking_clashes_with_each_short_one_inside_it_and_they_not_with_each_other() -> None:
    """Verify a room held 09:00–12:00 clashes with 09:30–10:15 and 11:00–11:45, which do not clash (three
    managers), and the pairs come in time order: a clash is found however many bookings ended in between."""
    master = _master(_conv("1001", _at(9), 180, place="Møterom 9"),
                     _conv("1003", _at(11), 45, manager="1002", place="Møterom 9"),
                     _conv("1002", _at(9, 30), 45, manager="2", place="Møterom 9"))
    messages = [p.message for p in schedule_problems(master) if p.severity == ERROR]
    assert messages == [
        "Møterom 9 er booket to ganger samtidig: 2027-1002 (11.01.2027 09.30–10.15) og "
        "2027-1001 (11.01.2027 09.00–12.00)",
        "Møterom 9 er booket to ganger samtidig: 2027-1003 (11.01.2027 11.00–11.45) og "
        "2027-1001 (11.01.2027 09.00–12.00)"]


def test_a_room_booked_twice_at_once_by_its_address() -> None:
    """Verify the room address identifies the room, whatever name it is written with, reported at Sted."""
    master = _master(_conv("1001", _at(9), place="Møterom Fjorden <rom-fjorden@firma.no>"),
                     _conv("1004", _at(10), manager="2", place="Fjorden <ROM-FJORDEN@firma.no>"))
    problem = _only(master)
    assert problem.where == _cell(master, "2027-1004", "place")
    assert problem.message == ("Møterom Fjorden er booket to ganger samtidig: 2027-1004 (11.01.2027 10.00–11.15) "
                               "og 2027-1001 (11.01.2027 09.00–10.15)")
    assert problem.fix == "Velg et annet rom, eller flytt en av samtalene."
    assert set(blocking_conversations(master)) == {"2027-1001", "2027-1004"}


def test_a_room_by_its_text_ignores_case_and_spaces() -> None:
    """Verify «Møterom 1» and «møterom  1» are one room."""
    master = _master(_conv("1001", _at(9)), _conv("1004", _at(9), manager="2", place="møterom  1"))
    assert _only(master).where == _cell(master, "2027-1004", "place")


@pytest.mark.parametrize(("minutes", "said"), [(-60, "slutter før den starter"),
                                               (0, "slutter samtidig som den starter")])
def test_an_end_before_or_at_the_start(minutes: int, said: str) -> None:
    """Verify Slutt before or equal to Start is an error at Slutt that blocks the row."""
    master = _master(_conv("1001", _at(12), minutes))
    problem = _only(master)
    assert (problem.where, problem.message) == (_cell(master, "2027-1001", "end"), f"2027-1001 {said}")
    assert problem.fix == "Rett Start eller Slutt."
    assert blocking_conversations(master) == {"2027-1001": [problem]}


@pytest.mark.parametrize("minutes", [20, 29, 181, 300])
def test_a_length_outside_30_to_180_minutes(minutes: int) -> None:
    """Verify a conversation shorter than 30 or longer than 180 minutes is an error at Slutt."""
    master = _master(_conv("1001", _at(8, 30), minutes))
    problems = [p for p in schedule_problems(master) if p.severity == ERROR]
    assert [(p.where, p.message) for p in problems] == [(
        _cell(master, "2027-1001", "end"),
        f"2027-1001 varer {minutes} minutter; en samtale skal vare fra 30 til 180 minutter")]
    assert problems[0].fix == "Rett Slutt («Varighet (minutter)» i Innstillinger er 75)."
    assert set(blocking_conversations(master)) == {"2027-1001"}


@pytest.mark.parametrize("minutes", [30, 180])
def test_30_and_180_minutes_are_allowed(minutes: int) -> None:
    """Verify the limits themselves are no error (only the warning that they are far from «Varighet»)."""
    master = _master(_conv("1001", _at(9), minutes))
    assert [p.severity for p in schedule_problems(master)] == [WARNING]
    assert blocking_conversations(master) == {}


# ---- warnings: shown, never blocking --------------------------------------------------------------


def test_more_conversations_a_day_than_the_setting() -> None:
    """Verify a fourth conversation in a day for a manager (setting 3) is a warning at its Start."""
    master = _master(*(_conv(f"100{n}", _at(9) + timedelta(minutes=90 * (n - 1))) for n in range(1, 5)))
    problem = _only(master)
    assert problem.where == _cell(master, "2027-1004", "start")
    assert problem.message == ("Sjef Sjefsen har 4 samtaler mandag 11. januar 2027 (2027-1001, 2027-1002, "
                               "2027-1003, 2027-1004); «Maks samtaler per leder per dag» er 3")
    assert problem.fix == ("Flytt en samtale til en annen dag, eller endre «Maks samtaler per leder per dag» i "
                           "Innstillinger.")
    assert problem.severity == WARNING
    assert blocking_conversations(master) == {}
    assert schedule_problems(replace(master, settings=replace(master.settings, max_per_manager_per_day=4))) == []


@pytest.mark.parametrize(("gap", "warned"), [(0, True), (5, True), (14, True), (15, False)])
def test_a_short_break_between_a_managers_conversations(gap: int, warned: bool) -> None:
    """Verify less than «Pause» minutes between a manager's conversations is a warning at the second Start."""
    master = _master(_conv("1001", _at(9)), _conv("1002", _at(10, 15 + gap), place="Møterom 2"))
    problems = schedule_problems(master)
    if not warned:
        assert problems == []
        return
    assert [(p.where, p.message, p.severity) for p in problems] == [(
        _cell(master, "2027-1002", "start"),
        f"Sjef Sjefsen har {gap} minutter pause mellom 2027-1001 (slutter 10.15) og 2027-1002 (starter "
        f"10.{15 + gap:02d}); «Pause mellom samtaler (minutter)» er 15", WARNING)]
    assert problems[0].fix == "Flytt en av samtalene, eller endre pausen i Innstillinger."


@pytest.mark.parametrize(("start", "minutes", "field_name", "span", "setting"), [
    (_at(17), 75, "start", "17.00–18.15", "Arbeidstid slutt"),
    (_at(8), 75, "start", "08.00–09.15", "Arbeidstid start"),
    (_at(15), 75, "end", "15.00–16.15", "Arbeidstid slutt"),
])
def test_outside_working_hours(start: datetime, minutes: int, field_name: str, span: str, setting: str) -> None:
    """Verify a conversation starting before, or ending after, Arbeidstid is a warning at that cell."""
    master = _master(_conv("1001", start, minutes))
    problem = _only(master)
    assert (problem.where, problem.message, problem.severity) == (
        _cell(master, "2027-1001", field_name),
        f"2027-1001 (11.01.2027 {span}) er utenfor arbeidstiden 08.30–16.00", WARNING)
    assert problem.fix == f"Flytt samtalen inn i arbeidstiden, eller endre «{setting}» i Innstillinger."


def test_working_hours_from_the_settings() -> None:
    """Verify the check follows Arbeidstid from Innstillinger, and 08:30–16:00 itself is inside."""
    assert schedule_problems(_master(_conv("1001", _at(8, 30), 90), _conv("1002", _at(14, 30), 90))) == []
    late = _master(_conv("1001", _at(14, 30), 90), workday_end=time(15, 0))
    assert _only(late).message == "2027-1001 (11.01.2027 14.30–16.00) er utenfor arbeidstiden 08.30–15.00"


def test_a_weekend() -> None:
    """Verify a Saturday conversation is a warning at Start naming the day."""
    master = _master(_conv("1001", _at(10, day=date(2027, 1, 16))))
    problem = _only(master)
    assert (problem.where, problem.message, problem.severity) == (
        _cell(master, "2027-1001", "start"), "2027-1001 er på en lørdag (16.01.2027)", WARNING)
    assert problem.fix == "Flytt samtalen til en arbeidsdag."


def test_a_public_holiday_is_named() -> None:
    """Verify a conversation on New Year's Day is a warning naming the holiday (from the holidays calendar)."""
    new_year = date(2027, 1, 1)
    master = _master(_conv("1001", _at(10, day=new_year)))
    problem = _only(master)
    assert holiday_name(new_year) in ("1. nyttårsdag", "Første nyttårsdag")
    assert (problem.where, problem.message) == (
        _cell(master, "2027-1001", "start"),
        f"2027-1001 er på en helligdag: {holiday_name(new_year)}, fredag 1. januar 2027")
    assert problem.severity == WARNING


def test_a_company_closed_day() -> None:
    """Verify 24 December (closed by default) is a warning; «Stengte dager» decides which days are closed."""
    master = _master(_conv("1001", _at(10, day=date(2027, 12, 24)), round_name="2027"))
    problem = _only(master)
    assert (problem.where, problem.message) == (_cell(master, "2027-1001", "start"),
                                                "2027-1001 er på en dag firmaet har stengt, fredag 24. desember 2027")
    assert problem.fix == "Flytt samtalen til en arbeidsdag, eller endre «Stengte dager» i Innstillinger."
    assert problem.severity == WARNING
    assert schedule_problems(replace(master, settings=replace(SETTINGS, closed_days=()))) == []
    own = _master(_conv("1001", _at(10, day=date(2027, 1, 15))), closed_days=(ClosedDay(1, 15, 2027),))
    assert _only(own).message == "2027-1001 er på en dag firmaet har stengt, fredag 15. januar 2027"


@pytest.mark.parametrize(("minutes", "said"), [(120, "45 minutter lenger"), (40, "35 minutter kortere")])
def test_a_length_far_from_the_setting(minutes: int, said: str) -> None:
    """Verify a length more than 30 minutes from «Varighet» is a warning at Slutt."""
    master = _master(_conv("1001", _at(9), minutes))
    problem = _only(master)
    assert (problem.where, problem.message, problem.severity) == (
        _cell(master, "2027-1001", "end"),
        f"2027-1001 varer {minutes} minutter, {said} enn «Varighet (minutter)» i Innstillinger (75)", WARNING)
    assert problem.fix == "Rett Slutt, eller la det stå om samtalen skal være slik."


@pytest.mark.parametrize("minutes", [45, 105])
def test_a_length_within_30_minutes_of_the_setting_is_fine(minutes: int) -> None:
    """Verify 30 minutes off «Varighet» is not yet worth a warning."""
    assert schedule_problems(_master(_conv("1001", _at(9), minutes))) == []


# ---- the cases from the issue, through `samtale check` --------------------------------------------


ISSUE_CASES: dict[str, tuple[tuple[Conversation, ...], str, str]] = {
    "09:00–10:15 and 10:00–11:15": ((_conv("1001", _at(9)), _conv("1002", _at(10), place="Møterom 2")),
                                    ERROR, "har to samtaler samtidig"),
    "four a day (setting 3)": (tuple(_conv(f"100{n}", _at(9) + timedelta(minutes=90 * (n - 1)))
                                     for n in range(1, 5)), WARNING, "har 4 samtaler"),
    "17:00–18:15": ((_conv("1001", _at(17)),), WARNING, "utenfor arbeidstiden"),
    "a Saturday": ((_conv("1001", _at(10, day=date(2027, 1, 16))),), WARNING, "er på en lørdag"),
    "5 hours": ((_conv("1001", _at(9), 300),), ERROR, "varer 300 minutter"),
    "20 minutes": ((_conv("1001", _at(9), 20),), ERROR, "varer 20 minutter"),
}


@pytest.mark.parametrize("case", list(ISSUE_CASES))
def test_the_cases_from_the_issue_are_caught_by_check(case: str) -> None:
    """Verify each schedule the issue says `check` used to pass is now reported, with its severity."""
    convs, severity, fragment = ISSUE_CASES[case]
    problems = check_master(_master(*convs))
    assert [p.severity for p in problems if fragment in p.message] == [severity], [p.render() for p in problems]


# ---- the Problem's severity -----------------------------------------------------------------------


def test_problem_is_an_error_unless_it_says_warning() -> None:
    """Verify existing Problems stay errors, and a warning renders labelled on one line."""
    assert Problem("Samtaler!D2", "noe", "gjør noe").severity == ERROR
    warning = Problem("Samtaler!D2", "2027-1 er på en lørdag (16.01.2027)", "Flytt samtalen.", WARNING)
    assert warning.is_warning and not Problem("x", "y").is_warning
    assert warning.render() == "Samtaler!D2: advarsel: 2027-1 er på en lørdag (16.01.2027) – Flytt samtalen."


def test_messages_in_english() -> None:
    """Verify the texts come in English with --lang en (dates and times the English way)."""
    master = _master(_conv("1001", _at(10, day=date(2027, 1, 16))),
                     _conv("1002", _at(10, 30, date(2027, 1, 16)), place="Møterom 2"))
    texts.set_language("en")
    try:
        rendered = [p.render() for p in schedule_problems(master)]
    finally:
        texts.set_language("nb")
    start_2 = _cell(master, "2027-1002", "start")
    assert rendered == [
        f"{_cell(master, '2027-1001', 'start')}: warning: 2027-1001 is on a Saturday (16 Jan 2027) – "
        "Move the conversation to a working day.",
        f"{start_2}: warning: 2027-1002 is on a Saturday (16 Jan 2027) – Move the conversation to a working day.",
        f"{start_2}: Sjef Sjefsen has two conversations at once: 2027-1002 (16 Jan 2027 10:30–11:45) and "
        "2027-1001 (16 Jan 2027 10:00–11:15) – Move one of the conversations.",
    ]
