"""The Oversikt sheet's numbers, worked out in memory from a Master (plans/overview.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee, Settings
from samtale_automation.domain.overview import STATUS_CODES, Overview, OverviewLine
from samtale_automation.domain.schema import STATUS_LABELS
from samtale_automation.plans.overview import is_open, plan_overview, sort_key

NOW = datetime(2027, 1, 25, 9, 30, tzinfo=OSLO)
SETTINGS = Settings(round="2027", period_start=date(2027, 1, 11), period_end=date(2027, 2, 26))


def _employee(emp_id: str, name: str, department: str = "", manager: str = "", active: bool = True) -> Employee:
    return Employee(emp_id, name, f"{emp_id}@firma.no", department=department, manager_id=manager, active=active)


def _conversation(emp_id: str, manager: str = "", round_name: str = "2027", **dates: object) -> Conversation:
    return Conversation(f"{round_name}-{emp_id}", emp_id, manager, **dates)  # type: ignore[arg-type]


def _action(n: int, emp_id: str, status: str = "Ikke startet", deadline: date | None = None,
            conversation: str = "") -> Action:
    return Action(f"2026-{emp_id}-{n}", conversation or f"2026-{emp_id}", emp_id, f"Tiltak {n}", deadline=deadline,
                  status=status)


def _master(employees: Sequence[Employee], conversations: Sequence[Conversation] = (),
            actions: Sequence[Action] = (), settings: Settings = SETTINGS) -> Master:
    return Master(settings, employees={e.employee_id: e for e in employees},
                  conversations={c.conversation_id: c for c in conversations},
                  actions={a.action_id: a for a in actions})


def _counts(line: OverviewLine) -> dict[str, int]:
    """The line's non-zero status counts by code."""
    return {code: n for code, n in zip(STATUS_CODES, line.statuses, strict=True) if n}


STAFF = [
    _employee("1", "Åse Leder", "Ledelse"),
    _employee("2", "Bjørn Leder", "Salg", manager="1"),
    _employee("10", "Kari", "Salg", manager="2"),
    _employee("11", "Ola", "Lager", manager="2"),
    _employee("12", "Siri", "Lager", manager="1"),
    _employee("13", "Per", "", manager="1"),
]
ROUND = [
    _conversation("2", "1", invited=date(2027, 1, 4)),
    _conversation("10", "2"),  # proposed
    _conversation("11", "2", start=datetime(2027, 1, 20, 9, tzinfo=OSLO), end=datetime(2027, 1, 20, 10, tzinfo=OSLO),
                  invited=date(2027, 1, 4)),  # held (time passed)
    _conversation("12", "1", signed_employee=date(2027, 1, 21), signed_manager=date(2027, 1, 22)),
    _conversation("13", "1", cancelled=True),
    _conversation("10", "2", round_name="2026", signed_employee=date(2026, 2, 1), signed_manager=date(2026, 2, 2)),
]
ACTIONS = [
    _action(1, "10", "Pågår", date(2027, 1, 24)),  # overdue (Frist yesterday)
    _action(2, "10", "Ikke startet", date(2027, 1, 25)),  # due today: open, not overdue
    _action(3, "10", "Fullført", date(2026, 6, 1)),  # closed
    _action(4, "11", "Avbrutt", date(2026, 6, 1)),  # closed
    _action(5, "13", "", date(2026, 12, 1)),  # blank status is open; overdue
    _action(6, "12", "Pågår"),  # no Frist: open, never overdue
]


def test_each_department_counts_its_conversations_by_status_and_its_actions() -> None:
    """Verify per department: the round's conversations by derived status, actions open and overdue."""
    overview = plan_overview(_master(STAFF, ROUND, ACTIONS), NOW)
    lines = {line.name: line for line in overview.departments}
    assert [line.name for line in overview.departments] == ["Lager", "Ledelse", "Salg", "Uten avdeling"]
    assert _counts(lines["Lager"]) == {"held": 1, "signed": 1}
    assert _counts(lines["Ledelse"]) == {}
    assert _counts(lines["Salg"]) == {"invited": 1, "proposed": 1}  # last round's signed one not counted
    assert _counts(lines["Uten avdeling"]) == {"cancelled": 1}
    assert (lines["Salg"].actions_open, lines["Salg"].actions_overdue) == (2, 1)
    assert (lines["Lager"].actions_open, lines["Lager"].actions_overdue) == (1, 0)
    assert (lines["Uten avdeling"].actions_open, lines["Uten avdeling"].actions_overdue) == (1, 1)
    assert lines["Salg"].conversations == 2 and lines["Salg"].count("invited") == 1


def test_each_manager_by_name_counts_the_conversations_they_hold() -> None:
    """Verify per manager (by name): the conversations of the Samtaler row's manager, actions of their staff."""
    overview = plan_overview(_master(STAFF, ROUND, ACTIONS), NOW)
    lines = {line.name: line for line in overview.managers}
    assert [line.name for line in overview.managers] == ["Bjørn Leder", "Åse Leder"]  # Å after Z
    assert _counts(lines["Åse Leder"]) == {"invited": 1, "signed": 1, "cancelled": 1}
    assert _counts(lines["Bjørn Leder"]) == {"proposed": 1, "held": 1}
    assert (lines["Bjørn Leder"].actions_open, lines["Bjørn Leder"].actions_overdue) == (2, 1)
    assert (lines["Åse Leder"].actions_open, lines["Åse Leder"].actions_overdue) == (2, 1)
    # Åse has no manager but no conversation either: no «Uten leder» line.


def test_the_total_adds_up_every_block() -> None:
    """Verify the total row holds the whole round and every open action, and each block sums to it."""
    overview = plan_overview(_master(STAFF, ROUND, ACTIONS), NOW)
    assert overview.total.name == "Totalt"
    assert _counts(overview.total) == {"proposed": 1, "invited": 1, "held": 1, "signed": 1, "cancelled": 1}
    assert (overview.total.actions_open, overview.total.actions_overdue) == (4, 2)
    for block in (overview.departments, overview.managers):
        assert tuple(map(sum, zip(*(line.statuses for line in block), strict=True))) == overview.total.statuses
        assert sum(line.actions_open for line in block) == overview.total.actions_open
        assert sum(line.actions_overdue for line in block) == overview.total.actions_overdue


def test_days_left_in_the_round() -> None:
    """Verify days left is period end minus today, 0 once the period is past, None without an end date."""
    master = _master(STAFF)
    assert plan_overview(master, NOW).days_left == 32
    assert plan_overview(master, datetime(2027, 2, 26, 23, 0, tzinfo=OSLO)).days_left == 0
    assert plan_overview(master, datetime(2027, 3, 10, 8, 0, tzinfo=OSLO)).days_left == 0
    assert plan_overview(master, datetime(2027, 2, 25, 22, 30, tzinfo=UTC)).days_left == 1
    assert plan_overview(master, datetime(2027, 2, 25, 23, 30, tzinfo=UTC)).days_left == 0  # 00:30 in Oslo
    assert plan_overview(_master(STAFF, settings=replace(SETTINGS, period_end=None)), NOW).days_left is None


def test_status_columns_are_the_eight_codes_in_label_order() -> None:
    """Verify each line has one count per status code of STATUS_LABELS, in that order."""
    assert tuple(STATUS_LABELS) == STATUS_CODES and len(STATUS_CODES) == 8
    overview = plan_overview(_master(STAFF, ROUND, ACTIONS), NOW)
    assert all(len(line.statuses) == 8 for line in (*overview.departments, *overview.managers, overview.total))


def test_departments_and_managers_are_listed_before_the_round_has_rows() -> None:
    """Verify a new staff list shows every department and manager of active staff, with zeros."""
    staff = [*STAFF, _employee("20", "Gammel", "Verksted", manager="99", active=False)]
    overview = plan_overview(_master(staff), NOW)
    assert [line.name for line in overview.departments] == ["Lager", "Ledelse", "Salg"]  # no one without one yet
    assert [line.name for line in overview.managers] == ["Bjørn Leder", "Åse Leder"]
    assert overview.total == OverviewLine("Totalt")
    assert overview.round == "2027" and overview.updated == NOW


def test_department_names_fold_spacing_and_case_and_sort_norwegian() -> None:
    """Verify «salg » and «Salg» are one department, and Æ, Ø, Å sort after Z in that order."""
    staff = [_employee("1", "A", "Salg"), _employee("2", "B", " salg "), _employee("3", "C", "Åkeren"),
             _employee("4", "D", "Ørsta"), _employee("5", "E", "Ærfugl"), _employee("6", "F", "Zeta"),
             _employee("7", "G", "Økonomi")]
    overview = plan_overview(_master(staff, [_conversation("2")]), NOW)
    assert [line.name for line in overview.departments] == ["Salg", "Zeta", "Ærfugl", "Økonomi", "Ørsta", "Åkeren"]
    assert overview.departments[0].count("proposed") == 1
    assert sort_key("Émile") == sort_key("emile")


def test_managers_sharing_a_name_are_told_apart_and_unknown_ones_shown_by_id() -> None:
    """Verify two managers named alike show their IDs, and a manager not in Ansatte shows the ID."""
    staff = [_employee("1", "Kari Hansen"), _employee("2", "Kari Hansen"), _employee("10", "X", "Salg", "1"),
             _employee("11", "Y", "Salg", "2"), _employee("12", "Z", "Salg", "77")]
    overview = plan_overview(_master(staff), NOW)
    assert [line.name for line in overview.managers] == ["77", "Kari Hansen (1)", "Kari Hansen (2)"]


def test_the_conversation_manager_counts_and_an_action_falls_back_to_its_conversation() -> None:
    """Verify a Samtaler row's manager wins over Ansatte's for conversations; an unknown employee's action
    counts under its conversation's manager and «Uten avdeling»."""
    staff = [_employee("1", "Åse"), _employee("2", "Bjørn"), _employee("10", "Kari", "Salg", manager="1")]
    conversations = [_conversation("10", "2"), _conversation("50", "1")]
    actions = [_action(1, "50", conversation="2027-50")]
    overview = plan_overview(_master(staff, conversations, actions), NOW)
    lines = {line.name: line for line in overview.managers}
    assert lines["Bjørn"].conversations == 1 and lines["Åse"].conversations == 1
    assert lines["Åse"].actions_open == 1
    assert {line.name: line.actions_open for line in overview.departments} == {"Salg": 0, "Uten avdeling": 1}


def test_english_workbook_labels() -> None:
    """Verify an English workbook gets English group labels (the status labels stay the sheet's Norwegian)."""
    staff = [_employee("10", "Kari")]
    overview = plan_overview(_master(staff, [_conversation("10")], settings=replace(SETTINGS, language="en")), NOW)
    assert overview.language == "en"
    assert [line.name for line in overview.departments] == ["No department"]
    assert [line.name for line in overview.managers] == ["No manager"]
    assert overview.total.name == "Total"


def test_no_round_set_counts_every_conversation() -> None:
    """Verify a master without a round name counts all its conversations (as `status` does)."""
    overview = plan_overview(_master(STAFF, ROUND, settings=Settings()), NOW)
    assert overview.total.conversations == len(ROUND)
    assert overview.days_left is None and overview.round == ""


def test_open_actions() -> None:
    """Verify only Fullført and Avbrutt close an action, whatever the case and spacing."""
    assert all(is_open(_action(1, "1", status)) for status in ("Pågår", "", "Ikke startet"))
    assert not is_open(_action(1, "1", " fullført ")) and not is_open(_action(1, "1", "Avbrutt"))


def test_the_empty_overview() -> None:
    """Verify the overview of a new master is the total row alone, with zeros."""
    empty = Overview.empty("nb", "", NOW)
    assert empty.departments == empty.managers == () and empty.total == OverviewLine("Totalt")
    assert Overview.empty("en", "", NOW).total.name == "Total"
