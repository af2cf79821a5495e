"""Reminder rules (DESIGN.md §8): who gets what on which working day, once, and grouped per person."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import Person
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook, column_letter
from samtale_automation.domain.schema import ACTIONS, EMPLOYEES, Sheet
from samtale_automation.domain.workdays import is_working_day
from samtale_automation.errors import Problem
from samtale_automation.plans.reminders import KINDS, ReminderItem, group_digests, plan_reminders

SETTINGS = Settings(company="Firma AS", round="2027", reminder_days=(7, 2), prep_deadline_days=3,
                    minutes_deadline_days=7, action_reminder_days=14)
CONTEXT_KEYS = {"recipient", "employee", "manager", "start", "end", "place", "deadline", "action",
                "attachment_name", "conversation_id", "round", "company"}

# 2027: Wed 3 Feb is the conversation; its 7-day lead is Wed 27 Jan, the 2-day lead Mon 1 Feb.
FEB3 = datetime(2027, 2, 3, 10, 0, tzinfo=OSLO)


def _emp(emp_id: str, name: str, manager: str = "1", **kw: Any) -> Employee:
    return Employee(emp_id, name, f"{name.split()[0].casefold()}@firma.no", manager_id=manager, **kw)


EMPLOYEES_DEFAULT = (_emp("1", "Sjef Sjefsen", manager=""), _emp("1001", "Kari Nordmann"),
                     _emp("1002", "Ola Hansen"))


def _conv(emp_id: str = "1001", start: datetime | None = FEB3, *, round_name: str = "2027", manager: str = "1",
          **kw: Any) -> Conversation:
    end = start + timedelta(minutes=75) if start is not None else None
    kw.setdefault("invited", date(2027, 1, 4))
    return Conversation(f"{round_name}-{emp_id}", emp_id, manager, start=start, end=end, place="Møterom 1", **kw)


def _action(n: int = 1, *, deadline: date | None = date(2027, 3, 1), owner: str = "Kari Nordmann",
            status: str = "Ikke startet", emp_id: str = "1001") -> Action:
    cid = f"2027-{emp_id}"
    return Action(f"{cid}-{n}", cid, emp_id, "Kurs i Excel", goal="Pivottabeller", owner=owner,
                  deadline=deadline, status=status)


def _master(convs: Iterable[Conversation] = (), actions: Iterable[Action] = (),
              employees: Iterable[Employee] = EMPLOYEES_DEFAULT, raw: RawWorkbook | None = None,
              **setting: Any) -> Master:
    return Master(settings=replace(SETTINGS, **setting),
                    employees={e.employee_id: e for e in employees},
                    conversations={c.conversation_id: c for c in convs},
                    actions={a.action_id: a for a in actions}, raw=raw)


def _plan(master: Master, day: date, *, at: time = time(18, 0), sent: Iterable[str] = (),
          invited: Iterable[str] | None = None,
          has_file: Callable[[str, str], bool] = lambda cid, kind: False) -> tuple[list[ReminderItem], list[Problem]]:
    now = datetime.combine(day, at, tzinfo=OSLO)
    invited_ids = set(master.conversations) if invited is None else set(invited)
    return plan_reminders(master, now, set(sent), invited_ids, has_file)


REFLECTED = "reflection:2027:1"  # keeps the manager's reflection out of tests about other rules


def _keys(items: Iterable[ReminderItem]) -> list[str]:
    return sorted(i.key for i in items)


def _raw(tables: dict[Sheet, list[dict[str, Any]]]) -> RawWorkbook:
    """A raw workbook whose tables start at A1, data from row 2, columns in schema order."""
    found = {}
    for sheet, rows in tables.items():
        columns = {c.field: i for i, c in enumerate(sheet.columns)}
        found[sheet.table] = RawTable(sheet, sheet.name, columns, 1,
                                      [RawRow(n, values) for n, values in enumerate(rows, start=2)])
    return RawWorkbook(Path("master.xlsx"), found, [], [s.name for s in tables])


def _address(sheet: Sheet, field_name: str, row: int) -> str:
    index = [c.field for c in sheet.columns].index(field_name)
    return f"{sheet.name}!{column_letter(index)}{row}"


# ---- prepare ----------------------------------------------------------------------------------


def test_prep_reminders_go_to_both_sides_on_the_7_day_lead() -> None:
    master = _master([_conv()])
    assert _plan(master, date(2027, 1, 26)) == ([], [])
    items, problems = _plan(master, date(2027, 1, 27), has_file=lambda cid, kind: kind == "guide")
    assert problems == []
    by_kind = {i.kind: i for i in items}
    assert set(by_kind) == {"prep_employee", "prep_manager"}
    employee, manager = by_kind["prep_employee"], by_kind["prep_manager"]
    assert employee.key == "prep_employee:2027-1001:7" and employee.recipient.employee_id == "1001"
    assert manager.key == "prep_manager:2027-1001:7" and manager.recipient.employee_id == "1"
    assert employee.attachment is None and manager.attachment == "guide"
    assert employee.covers == () and employee.conversation_id == "2027-1001" and employee.action_id is None
    context = employee.context
    assert set(context) >= CONTEXT_KEYS
    assert context["deadline"] == date(2027, 1, 29)  # start − prep_deadline_days is a Sunday: the Friday before
    assert context["recipient"] == Person("kari@firma.no", "Kari Nordmann")
    assert context["employee"] == Person("kari@firma.no", "Kari Nordmann")
    assert context["manager"] == Person("sjef@firma.no", "Sjef Sjefsen")
    assert context["start"] == FEB3 and context["end"] == FEB3 + timedelta(minutes=75)
    assert context["place"] == "Møterom 1" and context["round"] == "2027" and context["company"] == "Firma AS"
    assert context["action"] is None and context["attachment_name"] is None


def test_no_guide_attachment_without_the_file() -> None:
    items, _ = _plan(_master([_conv()]), date(2027, 1, 27))
    assert all(i.attachment is None for i in items)


def test_prepared_sides_get_no_prep_reminder() -> None:
    employee_done = _master([_conv(prep_returned=date(2027, 1, 20))])
    assert _keys(_plan(employee_done, date(2027, 1, 27))[0]) == ["prep_manager:2027-1001:7"]
    manager_done = _master([_conv(manager_prepared=date(2027, 1, 20))])
    assert _keys(_plan(manager_done, date(2027, 1, 27))[0]) == ["prep_employee:2027-1001:7"]


def test_only_the_nearest_lead_goes_out_and_covers_the_older_one() -> None:
    master = _master([_conv()])
    items, _ = _plan(master, date(2027, 2, 1))  # the 7-day lead was never sent
    employee = next(i for i in items if i.kind == "prep_employee")
    assert employee.key == "prep_employee:2027-1001:2"
    assert employee.covers == ("prep_employee:2027-1001:7",)
    sent = {"prep_employee:2027-1001:7", "prep_manager:2027-1001:7"}
    items, _ = _plan(master, date(2027, 2, 1), sent=sent)
    assert {i.key: i.covers for i in items} == {"prep_employee:2027-1001:2": (), "prep_manager:2027-1001:2": ()}


def test_an_older_lead_is_not_sent_after_the_nearer_one() -> None:
    master = _master([_conv()])
    sent = {"prep_employee:2027-1001:2", "prep_manager:2027-1001:2"}
    assert [i.kind for i in _plan(master, date(2027, 2, 1), sent=sent)[0]] == []
    assert [i.kind for i in _plan(master, date(2027, 2, 2), sent=sent)[0]] == ["not_prepared"]


def test_no_prep_reminder_on_or_after_the_conversation_day() -> None:
    master = _master([_conv()])
    assert [i for i in _plan(master, date(2027, 2, 3), at=time(7, 0))[0] if i.kind.startswith("prep")] == []


def test_a_lead_due_before_the_invitation_is_served_by_the_invitation() -> None:
    master = _master([_conv(invited=date(2027, 1, 29))])  # invited late: the 7-day lead (27 Jan) has passed
    assert _plan(master, date(2027, 1, 29)) == ([], [])
    items, _ = _plan(master, date(2027, 2, 1))
    employee = next(i for i in items if i.kind == "prep_employee")
    assert employee.key == "prep_employee:2027-1001:2" and employee.covers == ("prep_employee:2027-1001:7",)


def test_lead_times_of_zero_or_less_are_ignored() -> None:
    master = _master([_conv()], reminder_days=(0, -1, 2))
    assert _keys(_plan(master, date(2027, 2, 1))[0]) == ["prep_employee:2027-1001:2", "prep_manager:2027-1001:2"]


# ---- not prepared -----------------------------------------------------------------------------


def test_not_prepared_goes_to_the_manager_the_day_before() -> None:
    master = _master([_conv(manager_prepared=date(2027, 1, 30))])
    sent = {"prep_employee:2027-1001:2"}
    assert _plan(master, date(2027, 2, 1), sent=sent)[0] == []
    items, _ = _plan(master, date(2027, 2, 2), sent=sent)
    assert [(i.key, i.recipient.employee_id) for i in items] == [("not_prepared:2027-1001", "1")]
    assert items[0].context["employee_prepared"] is False and items[0].context["manager_prepared"] is True


def test_not_prepared_is_silent_when_both_sides_are_ready() -> None:
    master = _master([_conv(prep_returned=date(2027, 1, 30), manager_prepared=date(2027, 1, 30))])
    assert _plan(master, date(2027, 2, 2)) == ([], [])


def test_monday_conversation_gets_its_reminders_on_friday_not_in_the_weekend() -> None:
    monday = datetime(2027, 2, 8, 9, 0, tzinfo=OSLO)
    master = _master([_conv(start=monday)], reminder_days=(2,))
    sat, sun = date(2027, 2, 6), date(2027, 2, 7)
    assert _plan(master, sat) == ([], []) and _plan(master, sun) == ([], [])
    items, _ = _plan(master, date(2027, 2, 5))  # 2-day lead (Sat) and the day before (Sun) both move to Friday
    assert _keys(items) == ["not_prepared:2027-1001", "prep_employee:2027-1001:2", "prep_manager:2027-1001:2"]


def test_holiday_catch_up_the_working_day_before_easter() -> None:
    after_easter = datetime(2027, 3, 31, 9, 0, tzinfo=OSLO)  # Wednesday; 2-day lead is 2. påskedag
    master = _master([_conv(start=after_easter)], reminder_days=(2,))
    for day in (date(2027, 3, 25), date(2027, 3, 26), date(2027, 3, 29)):
        assert _plan(master, day) == ([], [])
    assert "prep_employee:2027-1001:2" in _keys(_plan(master, date(2027, 3, 24))[0])


# ---- minutes ----------------------------------------------------------------------------------


def test_minutes_reminder_the_day_after_the_conversation() -> None:
    master = _master([_conv(prep_returned=date(2027, 2, 1), manager_prepared=date(2027, 2, 1))])
    assert _plan(master, date(2027, 2, 3), sent={REFLECTED}) == ([], [])  # the end has passed, but due tomorrow
    items, _ = _plan(master, date(2027, 2, 4), sent={REFLECTED})
    assert [(i.key, i.recipient.employee_id) for i in items] == [("minutes:2027-1001", "1001")]
    assert items[0].context["deadline"] == date(2027, 2, 10)


def test_friday_conversation_gets_the_minutes_reminder_that_evening_not_before_it_ends() -> None:
    friday = datetime(2027, 2, 5, 13, 0, tzinfo=OSLO)
    master = _master([_conv(start=friday, prep_returned=date(2027, 2, 1), manager_prepared=date(2027, 2, 1))])
    assert _plan(master, date(2027, 2, 5), sent={REFLECTED}, at=time(12, 0)) == ([], [])
    assert _keys(_plan(master, date(2027, 2, 5), sent={REFLECTED}, at=time(18, 0))[0]) == ["minutes:2027-1001"]


def test_no_minutes_reminder_once_returned_or_signed() -> None:
    for done in (_conv(minutes_returned=date(2027, 2, 4)), _conv(signed_employee=date(2027, 2, 4))):
        master = _master([done])
        items, _ = _plan(master, date(2027, 2, 12), sent={REFLECTED})
        assert [i.kind for i in items if i.kind.startswith("minutes")] == []


def test_minutes_overdue_after_the_deadline_covers_the_first_reminder() -> None:
    master = _master([_conv()])
    # The deadline day itself is not overdue yet.
    assert _keys(_plan(master, date(2027, 2, 10), sent={REFLECTED})[0]) == ["minutes:2027-1001"]
    items, _ = _plan(master, date(2027, 2, 11), sent={REFLECTED})
    assert [(i.key, i.recipient.employee_id, i.covers) for i in items] == [
        ("minutes_overdue:2027-1001", "1001", ("minutes:2027-1001",))]
    items, _ = _plan(master, date(2027, 2, 11), sent={"minutes:2027-1001", REFLECTED})
    assert [(i.key, i.covers) for i in items] == [("minutes_overdue:2027-1001", ())]
    assert _plan(master, date(2027, 2, 12), sent={"minutes_overdue:2027-1001", REFLECTED}) == ([], [])


def test_minutes_overdue_never_goes_out_on_the_deadline_day_itself() -> None:
    # Ends Fri 5 Feb, deadline Fri 12 Feb: the day after is Saturday, yet overdue waits for Monday.
    friday = datetime(2027, 2, 5, 9, 0, tzinfo=OSLO)
    master = _master([_conv(start=friday)])
    sent = {"minutes:2027-1001", REFLECTED}
    assert _keys(_plan(master, date(2027, 2, 12), sent=sent)[0]) == []
    assert _keys(_plan(master, date(2027, 2, 15), sent=sent)[0]) == ["minutes_overdue:2027-1001"]


# ---- sign -------------------------------------------------------------------------------------


def test_sign_goes_to_the_manager_with_the_minutes_when_the_file_is_there() -> None:
    master = _master([_conv(minutes_returned=date(2027, 2, 8))])
    items, _ = _plan(master, date(2027, 2, 8), sent={REFLECTED},
                     has_file=lambda cid, kind: (cid, kind) == ("2027-1001", "minutes"))
    assert [(i.key, i.recipient.employee_id, i.attachment) for i in items] == [("sign:2027-1001", "1", "minutes")]
    items, _ = _plan(master, date(2027, 2, 8), sent={REFLECTED})
    assert items[0].attachment is None


def test_sign_until_both_have_signed() -> None:
    """Finalise and sign goes to the manager until the manager signs, once per version the employee signed."""
    back = _master([_conv(minutes_returned=date(2027, 2, 8))])
    assert _keys(_plan(back, date(2027, 2, 9), sent={REFLECTED})[0]) == ["sign:2027-1001"]
    employee_signed = _master([_conv(minutes_returned=date(2027, 2, 8), signed_employee=date(2027, 2, 8),
                                     signed_employee_version="a" * 64)])
    [item] = _plan(employee_signed, date(2027, 2, 9), sent={REFLECTED})[0]
    assert (item.key, item.recipient.employee_id) == ("sign:2027-1001:aaaaaaaa", "1")
    signed = _master([_conv(minutes_returned=date(2027, 2, 8), signed_manager=date(2027, 2, 9),
                            signed_employee=date(2027, 2, 9))])
    assert [i for i in _plan(signed, date(2027, 2, 9), sent={REFLECTED})[0] if i.kind == "sign"] == []
    assert [i for i in _plan(_master([_conv()]), date(2027, 2, 9))[0] if i.kind == "sign"] == []


def test_countersign_goes_to_the_employee_with_the_fresh_copy() -> None:
    """The manager signed a version the employee has not: the employee is asked to countersign, with the copy."""
    master = _master([_conv(minutes_returned=date(2027, 2, 8), signed_manager=date(2027, 2, 9),
                            signed_manager_version="b" * 64, signed_employee_version="a" * 64)])
    items = _plan(master, date(2027, 2, 10), sent={REFLECTED},
                  has_file=lambda cid, kind: kind == "countersign")[0]
    assert [(i.key, i.kind, i.recipient.employee_id, i.attachment) for i in items] == [
        ("countersign:2027-1001:bbbbbbbb", "countersign", "1001", "countersign")]
    legacy = _master([_conv(minutes_returned=date(2027, 2, 8), signed_manager=date(2027, 2, 9))])
    assert _plan(legacy, date(2027, 2, 10), sent={REFLECTED})[0] == []  # signed before versions were kept


def test_the_signed_pdf_goes_to_both_once_it_exists() -> None:
    """Both signed the same version and the PDF is written: one «signed» item each to employee and manager."""
    master = _master([_conv(minutes_returned=date(2027, 2, 8), signed_manager=date(2027, 2, 9),
                            signed_employee=date(2027, 2, 10), signed_manager_version="c" * 64,
                            signed_employee_version="c" * 64)])
    assert _plan(master, date(2027, 2, 10), sent={REFLECTED})[0] == []  # no PDF yet
    items = _plan(master, date(2027, 2, 10), sent={REFLECTED}, has_file=lambda cid, kind: kind == "pdf")[0]
    assert sorted((i.key, i.attachment) for i in items) == [("signed:2027-1001:cccccccc:1", "pdf"),
                                                             ("signed:2027-1001:cccccccc:1001", "pdf")]


# ---- actions ----------------------------------------------------------------------------------


def test_action_due_goes_to_the_owner_from_the_lead_day_to_the_deadline() -> None:
    master = _master(actions=[_action()])  # deadline Mon 1 Mar, 14 days: Mon 15 Feb
    assert _plan(master, date(2027, 2, 12)) == ([], [])
    items, problems = _plan(master, date(2027, 2, 15))
    assert problems == []
    assert [(i.key, i.recipient.employee_id, i.action_id, i.conversation_id) for i in items] == [
        ("action_due:2027-1001-1:2027-03-01", "1001", "2027-1001-1", "2027-1001")]
    context = items[0].context
    assert set(context) >= CONTEXT_KEYS
    assert context["action"] == {"description": "Kurs i Excel", "goal": "Pivottabeller",
                                 "deadline": date(2027, 3, 1), "status": "Ikke startet"}
    assert context["deadline"] == date(2027, 3, 1) and context["start"] is None
    assert context["manager"] == Person("sjef@firma.no", "Sjef Sjefsen")
    assert _keys(_plan(master, date(2027, 3, 1))[0]) == ["action_due:2027-1001-1:2027-03-01"]  # catch-up


def test_action_due_on_a_saturday_lead_goes_out_friday() -> None:
    master = _master(actions=[_action(deadline=date(2027, 3, 6))])  # 14 days before: Sat 20 Feb
    assert _keys(_plan(master, date(2027, 2, 19))[0]) == ["action_due:2027-1001-1:2027-03-06"]


def test_closed_actions_and_actions_without_deadline_are_silent() -> None:
    master = _master(actions=[_action(1, status="Fullført"), _action(2, status="Avbrutt"),
                                  _action(3, deadline=None)])
    assert _plan(master, date(2027, 2, 15)) == ([], [])
    assert _plan(master, date(2027, 3, 2)) == ([], [])


def test_action_overdue_goes_to_owner_and_manager_with_their_own_keys() -> None:
    master = _master(actions=[_action()])
    items, _ = _plan(master, date(2027, 3, 2))
    assert [(i.key, i.recipient.employee_id) for i in items] == [
        ("action_overdue:2027-1001-1:2027-03-01:1001", "1001"), ("action_overdue:2027-1001-1:2027-03-01:1", "1")]
    items, _ = _plan(master, date(2027, 3, 3), sent={"action_overdue:2027-1001-1:2027-03-01:1001"})
    assert _keys(items) == ["action_overdue:2027-1001-1:2027-03-01:1"]


def test_action_overdue_to_the_manager_once_when_the_manager_owns_it() -> None:
    master = _master(actions=[_action(owner="Leder")])
    assert _keys(_plan(master, date(2027, 3, 2))[0]) == ["action_overdue:2027-1001-1:2027-03-01:1"]


def test_a_new_deadline_gives_a_new_reminder() -> None:
    sent = {"action_due:2027-1001-1:2027-03-01"}
    moved = _master(actions=[_action(deadline=date(2027, 3, 15))])
    assert _keys(_plan(moved, date(2027, 3, 1), sent=sent)[0]) == ["action_due:2027-1001-1:2027-03-15"]


def test_actions_of_earlier_rounds_are_reminded_too() -> None:
    old = replace(_action(), action_id="2026-1001-1", conversation_id="2026-1001")
    assert _keys(_plan(_master(actions=[old]), date(2027, 2, 15))[0]) == ["action_due:2026-1001-1:2027-03-01"]


@pytest.mark.parametrize(("owner", "expected"), [
    ("Kari Nordmann", "1001"), ("  kari   NORDMANN ", "1001"), ("Ola Hansen", "1002"),
    ("kari", "1001"), ("Sjef", "1"), ("ola@firma.no", "1002"), ("SJEF@firma.no", "1"),
    ("ansatt", "1001"), ("Medarbeider", "1001"), ("meg", "1001"), ("employee", "1001"), ("", "1001"),
    ("leder", "1"), ("Nærmeste leder", "1"), ("manager", "1"),
])
def test_owner_resolution(owner: str, expected: str) -> None:
    items, problems = _plan(_master(actions=[_action(owner=owner)]), date(2027, 2, 15))
    assert [i.recipient.employee_id for i in items] == [expected] and problems == []


def test_first_name_counts_only_among_the_conversation_people() -> None:
    # «Ola» is an employee, but neither the action's employee nor the manager: unknown.
    items, problems = _plan(_master(actions=[_action(owner="Ola")]), date(2027, 2, 15))
    assert [i.recipient.employee_id for i in items] == ["1001"] and len(problems) == 1


def test_namesakes_prefer_the_one_in_the_conversation() -> None:
    employees = (*EMPLOYEES_DEFAULT, _emp("1003", "Kari Nordmann", manager="1"))
    items, problems = _plan(_master(actions=[_action(owner="Kari Nordmann", emp_id="1003")],
                                      employees=employees), date(2027, 2, 15))
    assert [i.recipient.employee_id for i in items] == ["1003"] and problems == []


@pytest.mark.usefixtures("nb_messages")
def test_unknown_owner_falls_back_to_the_employee_with_a_problem_at_the_cell() -> None:
    raw = _raw({ACTIONS: [{"action_id": "2027-1002-1"}, {"action_id": "2027-1001-1"}]})
    master = _master(actions=[_action(owner="Per Persen")], raw=raw)
    items, problems = _plan(master, date(2027, 2, 15))
    assert [i.recipient.employee_id for i in items] == ["1001"]
    assert len(problems) == 1
    problem = problems[0]
    assert problem.where == _address(ACTIONS, "owner", 3) == "Tiltak!F3"
    assert problem.message.startswith("ansvarlig «Per Persen» er ingen ansatt")
    assert "Kari Nordmann" in problem.message and problem.fix
    # Without the raw rows the action is named by its ID; and no problem when nothing goes out.
    items, problems = _plan(_master(actions=[_action(owner="Per Persen")]), date(2027, 2, 15))
    assert [p.where for p in problems] == ["Tiltak: 2027-1001-1"]
    assert _plan(_master(actions=[_action(owner="Per Persen")]), date(2027, 2, 12)) == ([], [])
    sent = {"action_due:2027-1001-1:2027-03-01"}
    assert _plan(_master(actions=[_action(owner="Per Persen")]), date(2027, 2, 15), sent=sent) == ([], [])


# ---- reflection -------------------------------------------------------------------------------


def test_reflection_when_the_minutes_of_all_the_managers_conversations_are_back() -> None:
    later = datetime(2027, 2, 10, 9, 0, tzinfo=OSLO)
    both = [_conv("1001", minutes_returned=date(2027, 2, 4)), _conv("1002", start=later)]
    master = _master(both)
    sent = {"prep_employee:2027-1002:7", "prep_employee:2027-1002:2", "prep_manager:2027-1002:7",
            "prep_manager:2027-1002:2", "not_prepared:2027-1002", "sign:2027-1001"}
    assert [i.kind for i in _plan(master, date(2027, 2, 9), sent=sent)[0]] == []
    items, _ = _plan(master, date(2027, 2, 10), sent=sent)  # 1002 ended at 10:15, but no minutes yet
    assert [i for i in items if i.kind == "reflection"] == []
    master = _master([both[0], _conv("1002", start=later, minutes_returned=date(2027, 2, 11))])
    items, _ = _plan(master, date(2027, 2, 11), sent=sent | {"sign:2027-1002"})
    reflection = [i for i in items if i.kind == "reflection"]
    assert [(i.key, i.recipient.employee_id) for i in reflection] == [("reflection:2027:1", "1")]
    context = reflection[0].context
    assert set(context) >= CONTEXT_KEYS
    assert context["manager"] == Person("sjef@firma.no", "Sjef Sjefsen") and context["employee"] is None
    assert context["conversation_id"] is None and context["round"] == "2027"


def test_reflection_ignores_cancelled_and_waits_for_unscheduled() -> None:
    cancelled = _conv("1002", start=datetime(2027, 3, 10, 9, 0, tzinfo=OSLO), cancelled=True)
    done = _conv("1001", signed_employee=date(2027, 2, 4), signed_manager=date(2027, 2, 4))
    assert _keys(_plan(_master([done, cancelled]), date(2027, 2, 10))[0]) == ["reflection:2027:1"]
    unscheduled = _conv("1002", start=None)
    assert _plan(_master([done, unscheduled]), date(2027, 2, 10)) == ([], [])
    assert _plan(_master([cancelled]), date(2027, 3, 11)) == ([], [])  # none left: nothing to reflect on


# ---- scope, once-only, recipients -------------------------------------------------------------


def test_only_invited_conversations_of_the_current_round() -> None:
    master = _master([_conv()])
    assert _plan(master, date(2027, 1, 27), invited=()) == ([], [])
    cancelled = _master([_conv(cancelled=True)])
    assert _plan(cancelled, date(2027, 1, 27)) == ([], [])
    other_round = _master([_conv(round_name="2026")])
    assert _plan(other_round, date(2027, 1, 27)) == ([], [])


def test_conversation_without_times_is_skipped_silently() -> None:
    master = _master([_conv(start=None)])
    for day in (date(2027, 1, 27), date(2027, 2, 2), date(2027, 2, 11)):
        assert _plan(master, day) == ([], [])


def test_keys_in_sent_are_never_returned() -> None:
    master = _master([_conv()])
    first, _ = _plan(master, date(2027, 1, 27))
    assert _plan(master, date(2027, 1, 28), sent=_keys(first)) == ([], [])


def test_weekends_and_holidays_are_silent_even_with_overdue_items() -> None:
    master = _master([_conv(start=datetime(2027, 3, 1, 9, 0, tzinfo=OSLO))], actions=[_action()])
    assert _plan(master, date(2027, 3, 6)) == ([], [])  # Saturday, action overdue since 2 Mar
    assert _plan(master, date(2027, 3, 26)) == ([], [])  # Langfredag
    assert _plan(master, date(2027, 3, 8))[0] != []


@pytest.mark.usefixtures("nb_messages")
def test_recipient_without_email_is_skipped_with_one_problem_at_the_email_cell() -> None:
    employees = (EMPLOYEES_DEFAULT[0], replace(EMPLOYEES_DEFAULT[1], email=""), EMPLOYEES_DEFAULT[2])
    raw = _raw({EMPLOYEES: [{"employee_id": "1"}, {"employee_id": "1001"}, {"employee_id": "1002"}]})
    master = _master([_conv()], actions=[_action(deadline=date(2027, 2, 1))], employees=employees, raw=raw)
    items, problems = _plan(master, date(2027, 1, 27))  # prep and action reminders both for Kari
    assert [i.recipient.employee_id for i in items] == ["1"]
    assert problems == [Problem("Ansatte!C3", "Kari Nordmann (1001) mangler e-post, så påminnelser til hen "
                                              "ble ikke sendt", "Fyll inn jobbadressen.")]


@pytest.mark.usefixtures("nb_messages")
def test_inactive_and_unknown_recipients_are_skipped_with_problems() -> None:
    employees = (replace(EMPLOYEES_DEFAULT[0], active=False), *EMPLOYEES_DEFAULT[1:])
    items, problems = _plan(_master([_conv()], employees=employees), date(2027, 1, 27))
    assert [i.recipient.employee_id for i in items] == ["1001"]
    assert [(p.where, "ikke aktiv" in p.message) for p in problems] == [("Ansatte: 1", True)]
    items, problems = _plan(_master([_conv(manager="9")]), date(2027, 1, 27))
    assert [i.recipient.employee_id for i in items] == ["1001"]
    assert [p.where for p in problems] == ["Samtaler: 2027-1001"] and "«9»" in problems[0].message


# ---- digests ----------------------------------------------------------------------------------


def test_one_digest_per_person_per_day_with_all_their_items_in_order() -> None:
    wednesday = datetime(2027, 2, 17, 9, 0, tzinfo=OSLO)
    convs = [_conv("1001", start=wednesday, manager_prepared=date(2027, 2, 1)),
             _conv("1002", minutes_returned=date(2027, 2, 5))]
    master = _master(convs, actions=[_action(deadline=date(2027, 2, 24), owner="leder")])
    day = date(2027, 2, 10)
    items, _ = _plan(master, day)
    digests = group_digests(items, day)
    assert [(d.key, d.recipient.employee_id, d.day) for d in digests] == [
        ("digest:1:2027-02-10", "1", day), ("digest:1001:2027-02-10", "1001", day)]
    boss, kari = digests
    assert [i.key for i in boss.items] == ["sign:2027-1002", "action_due:2027-1001-1:2027-02-24"]
    assert [i.key for i in kari.items] == ["prep_employee:2027-1001:7"]
    assert sorted(i.key for d in digests for i in d.items) == _keys(items)


def test_digest_orders_by_kind_then_time() -> None:
    early = datetime(2027, 2, 8, 9, 0, tzinfo=OSLO)
    late = datetime(2027, 2, 9, 9, 0, tzinfo=OSLO)
    master = _master([_conv("1002", start=late), _conv("1001", start=early)])
    items, _ = _plan(master, date(2027, 2, 5))
    boss = next(d for d in group_digests(list(reversed(items)), date(2027, 2, 5)) if d.recipient.employee_id == "1")
    assert [i.key for i in boss.items] == ["prep_manager:2027-1001:2", "prep_manager:2027-1002:2",
                                           "not_prepared:2027-1001"]
    assert [i.kind for i in boss.items] == sorted((i.kind for i in boss.items), key=KINDS.index)
    assert group_digests([], date(2027, 2, 5)) == []


# ---- properties -------------------------------------------------------------------------------

_DAYS_2027 = [date(2027, 1, 1) + timedelta(days=n) for n in range(365)]
_DAYS_OFF = [d for d in _DAYS_2027 if not is_working_day(d)]


def _busy_register() -> Master:
    """Something is due on every day of the year unless it is a day off."""
    convs = [_conv(f"{1001 + n}", start=datetime(2027, 1, 1, 9, 0, tzinfo=OSLO) + timedelta(days=3 * n))
             for n in range(120)]
    actions = [replace(_action(n), deadline=date(2027, 1, 1) + timedelta(days=n)) for n in range(365)]
    return _master(convs, actions=actions)


_BUSY = _busy_register()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_DAYS_OFF), st.integers(0, 23))
def test_nothing_on_a_day_off(day: date, hour: int) -> None:
    assert _plan(_BUSY, day, at=time(hour, 0)) == ([], [])


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[Master, list[str]]:
    leads = tuple(draw(st.lists(st.integers(1, 12), min_size=1, max_size=3)))
    convs = []
    unprepared = []
    for n, emp_id in enumerate(("1001", "1002", "1003")):
        day = draw(st.sampled_from([d for d in _DAYS_2027 if date(2027, 2, 1) <= d <= date(2027, 4, 30)]))
        start = datetime.combine(day, time(draw(st.integers(8, 14)), 0), tzinfo=OSLO)
        prepared = draw(st.booleans())
        conv = _conv(emp_id, start=start, invited=date(2027, 1, 4),
                     prep_returned=date(2027, 1, 5) if prepared else None,
                     minutes_returned=draw(st.sampled_from([None, day])) if n else None)
        convs.append(conv)
        if not prepared:
            unprepared.append(conv.conversation_id)
    actions = [_action(n, deadline=draw(st.sampled_from(_DAYS_2027[30:150])),
                       owner=draw(st.sampled_from(["", "leder", "Kari", "nobody"])))
               for n in range(draw(st.integers(0, 3)))]
    employees = (*EMPLOYEES_DEFAULT, _emp("1003", "Siri Berg"))
    master = _master(convs, actions=actions, employees=employees, reminder_days=leads,
                         action_reminder_days=draw(st.integers(0, 20)))
    return master, unprepared


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenarios())
def test_simulated_days_send_each_key_once_and_prep_before_the_start(scenario: tuple[Master, list[str]]) -> None:
    master, unprepared = scenario
    sent: dict[str, date] = {}  # key -> day it went out or was covered
    prep_sent: dict[str, date] = {}
    for day in _DAYS_2027[:160]:
        items, _ = _plan(master, day, sent=sent)
        if not is_working_day(day):
            assert items == []
        for item in items:
            assert item.key not in sent, item.key
            sent[item.key] = day
            for covered in item.covers:
                sent.setdefault(covered, day)
            if item.kind == "prep_employee":
                prep_sent.setdefault(item.conversation_id or "", day)
    for cid in unprepared:
        conv = master.conversations[cid]
        assert conv.start is not None
        start_day = conv.start.date()
        assert prep_sent[cid] < start_day
        for n in master.settings.reminder_days:
            key = f"prep_employee:{cid}:{n}"
            assert key in sent and sent[key] < start_day, key
