"""`plan_invites`: which meetings are created, updated or cancelled, and which mails go with them (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import (
    ACTIVE,
    CANCEL,
    CANCELLED,
    FAILED,
    REQUEST,
    SENT,
    MeetingState,
    MessageRow,
    Person,
)
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, Sheet
from samtale_automation.plans.invites import plan_invites
from samtale_automation.plans.meetings import InviteInput, InvitePlan

pytestmark = pytest.mark.usefixtures("nb_messages")  # problems are asserted in Norwegian

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)  # a Monday, three weeks before the conversation
FEB3 = datetime(2027, 2, 3, 10, 0, tzinfo=OSLO)
HR = Person("hr@firma.no", "Firma AS")
ROOM_PLACE = "Møterom Fjorden <fjorden@firma.no>"

SJEF = Employee("1", "Sjef Sjefsen", "sjef@firma.no")
KARI = Employee("1001", "Kari Nordmann", "kari@firma.no", manager_id="1")
OLA = Employee("1002", "Ola Hansen", "ola@firma.no", manager_id="1")
ASE = Employee("2", "Åse Leder", "ase@firma.no")

P_SJEF = Person("sjef@firma.no", "Sjef Sjefsen")
P_KARI = Person("kari@firma.no", "Kari Nordmann")
P_ASE = Person("ase@firma.no", "Åse Leder")
P_ROOM = Person("fjorden@firma.no", "Møterom Fjorden")


def _conv(emp_id: str = "1001", start: datetime | None = FEB3, *, round_name: str = "2027", manager: str = "1",
          place: str = ROOM_PLACE, **kw: Any) -> Conversation:
    end = start + timedelta(minutes=75) if start is not None else None
    return Conversation(f"{round_name}-{emp_id}", emp_id, manager, start=start, end=end, place=place, **kw)


def _master(convs: Iterable[Conversation] = (), actions: Iterable[Action] = (),
            employees: Iterable[Employee] = (SJEF, KARI, OLA, ASE), raw: RawWorkbook | None = None) -> Master:
    return Master(settings=Settings(company="Firma AS", round="2027", prep_deadline_days=3),
                  employees={e.employee_id: e for e in employees},
                  conversations={c.conversation_id: c for c in convs},
                  actions={a.action_id: a for a in actions}, raw=raw)


def _files(conv: Conversation, variant: str) -> str | None:
    return f"{conv.conversation_id} {variant}.xlsx"


def _given(*, organizer_is_manager: bool = False,
           prep_file: Callable[[Conversation, str], str | None] = _files) -> InviteInput:
    return InviteInput(NOW, HR, organizer_is_manager, "outbox", {}, [], prep_file)


def _row(group: str, kind: str, email: str, state: MeetingState | None, failed: Iterable[str]) -> MessageRow:
    outcome = FAILED if email in failed else SENT
    return MessageRow(f"{group}:{email.casefold()}", group, kind, state.key if state else None,
                      state.sequence if state else None, email.casefold(), outcome, 1,
                      "550 refused" if outcome == FAILED else None)


def _after(given: InviteInput, plan: InvitePlan, failed: Iterable[str] = ()) -> InviteInput:
    """The input of the next run once everything planned went out (except to `failed` addresses)."""
    failed = set(failed)
    meetings = dict(given.meetings)
    messages = list(given.messages)
    for meeting in plan.meetings:
        meetings[meeting.state.key] = meeting.state
        messages += [_row(meeting.group, meeting.kind, p.email, meeting.state, failed) for p in meeting.recipients]
    for mail in plan.mails:
        messages += [_row(mail.group, mail.kind, p.email, None, failed) for p in mail.recipients]
    return replace(given, meetings=meetings, messages=messages)


def _raw(tables: dict[Sheet, list[dict[str, Any]]]) -> RawWorkbook:
    """A raw workbook whose tables start at A1, data from row 2, columns in schema order."""
    found = {}
    for sheet, rows in tables.items():
        columns = {c.field: i for i, c in enumerate(sheet.columns)}
        found[sheet.table] = RawTable(sheet, sheet.name, columns, 1,
                                      [RawRow(n, values) for n, values in enumerate(rows, start=2)])
    return RawWorkbook(Path("master.xlsx"), found, [], [s.name for s in tables])


# ---- conversations ----------------------------------------------------------------------------


def test_a_new_conversation_gets_one_request_to_employee_manager_and_room_and_the_manager_his_prep() -> None:
    """A new conversation: one REQUEST at SEQUENCE 0 to employee, manager and room; the manager's prep by mail."""
    plan = plan_invites(_master([_conv()]), _given())
    assert plan.problems == [] and plan.needs_prep == [] and plan.unchanged == 0
    [meeting] = plan.meetings
    assert (meeting.group, meeting.kind, meeting.method, meeting.template) == (
        "invitation:2027-1001:0", "invitation", REQUEST, "invitation")
    assert meeting.recipients == (P_KARI, P_SJEF, P_ROOM)
    assert meeting.attendees == (P_KARI, P_SJEF) and meeting.rooms == (P_ROOM,)
    assert meeting.organizer == HR and meeting.location == "Møterom Fjorden"
    assert (meeting.start, meeting.end) == (FEB3, FEB3 + timedelta(minutes=75))
    assert meeting.attachment == ("2027-1001", "ansatt") and meeting.conversation_id == "2027-1001"
    assert not meeting.retry and meeting.lang == "nb"
    assert meeting.state == MeetingState(
        "2027-1001", "samtale-2027-1001@firma.no", 0, meeting.state.content_hash,
        ("kari@firma.no", "sjef@firma.no", "fjorden@firma.no"), FEB3.isoformat(), ACTIVE, "outbox")
    assert meeting.context["attachment_name"] == "2027-1001 ansatt.xlsx"
    assert meeting.context["prep_deadline"] == date(2027, 1, 29)  # 31 Jan is a Sunday: the Friday before
    assert meeting.context["previous_start"] is None
    [mail] = plan.mails
    assert (mail.group, mail.kind, mail.template) == ("manager_prep:2027-1001", "manager_prep", "manager_prep")
    assert mail.recipients == (P_SJEF,) and mail.attachment == ("2027-1001", "leder")
    assert mail.context["attachment_name"] == "2027-1001 leder.xlsx" and not mail.retry


def test_missing_prep_files_are_asked_for_once_and_returned_preps_travel_no_more() -> None:
    """Missing prep files put the employee in needs_prep once; a returned prep is not attached or mailed again."""
    plan = plan_invites(_master([_conv()]), _given(prep_file=lambda conv, variant: None))
    assert plan.needs_prep == ["1001"]
    assert [m.kind for m in plan.meetings] == ["invitation"] and [m.kind for m in plan.mails] == ["manager_prep"]
    done = _conv(prep_returned=date(2027, 1, 20), manager_prepared=date(2027, 1, 21))
    plan = plan_invites(_master([done]), _given(prep_file=lambda conv, variant: None))
    assert plan.needs_prep == [] and plan.mails == []
    [meeting] = plan.meetings
    assert meeting.attachment is None


def test_an_invited_unchanged_meeting_is_not_sent_again() -> None:
    """A meeting sent at its current content, and the manager's prep sent, give nothing to send."""
    master = _master([_conv()])
    given = _given()
    again = plan_invites(master, _after(given, plan_invites(master, given)))
    assert again.empty and again.unchanged == 1 and again.problems == []


def test_a_moved_meeting_is_an_update_with_the_next_sequence_and_the_same_uid() -> None:
    """A new time: an update (REQUEST) at SEQUENCE+1 with the same UID, saying when it was before."""
    given = _given()
    first = plan_invites(_master([_conv()]), given)
    moved = FEB3 + timedelta(days=1, hours=3)
    plan = plan_invites(_master([_conv(start=moved)]), _after(given, first))
    [update] = plan.meetings
    assert (update.group, update.kind, update.method) == ("update:2027-1001:1", "update", REQUEST)
    assert update.state.uid == first.meetings[0].state.uid and update.state.sequence == 1
    assert update.state.start == moved.isoformat() and update.state.content_hash != first.meetings[0].state.content_hash
    assert update.recipients == (P_KARI, P_SJEF, P_ROOM) and update.start == moved
    assert update.context["previous_start"] == FEB3
    assert plan.mails == []  # the manager's prep went out with the first run


def test_a_replaced_manager_gets_the_update_and_the_old_one_a_removal() -> None:
    """An attendee replaced: a CANCEL «removal» to the one who left, the update to the new attendees."""
    given = _given()
    first = plan_invites(_master([_conv()]), given)
    plan = plan_invites(_master([_conv(manager="2")]), _after(given, first))
    removal, update = plan.meetings
    assert (removal.group, removal.kind, removal.method) == ("removal:2027-1001:1", "removal", CANCEL)
    assert removal.recipients == (Person("sjef@firma.no"),)
    assert "ikke lenger med" in removal.context["reason"]
    assert (update.group, update.kind, update.method) == ("update:2027-1001:1", "update", REQUEST)
    assert update.recipients == (P_KARI, P_ASE, P_ROOM) and update.attendees == (P_KARI, P_ASE)
    assert removal.state == update.state
    assert update.state.attendees == ("kari@firma.no", "ase@firma.no", "fjorden@firma.no")


def test_a_replaced_manager_gets_their_own_prep_file() -> None:
    """The manager's own prep version goes to the manager who holds the conversation, also after a change."""
    given = _given()
    first = plan_invites(_master([_conv()]), given)
    plan = plan_invites(_master([_conv(manager="2")]), _after(given, first))
    assert [mail.recipients for mail in plan.mails] == [(P_ASE,)]


def test_a_cancelled_conversation_sends_cancel_to_everyone_last_invited_once() -> None:
    """Avlyst: a CANCEL at SEQUENCE+1 to everyone the last version went to (room too), with the reason; once."""
    given = _given()
    first = plan_invites(_master([_conv()]), given)
    master = _master([_conv(cancelled=True, cancel_reason="Sykdom")])
    after_invite = _after(given, first)
    plan = plan_invites(master, after_invite)
    [cancel] = plan.meetings
    assert (cancel.group, cancel.kind, cancel.method) == ("cancellation:2027-1001:1", "cancellation", CANCEL)
    assert cancel.recipients == (P_KARI, P_SJEF, Person("fjorden@firma.no"))
    assert cancel.attendees == (P_KARI, P_SJEF) and cancel.rooms == (P_ROOM,)
    assert cancel.state == replace(first.meetings[0].state, sequence=1, state=CANCELLED)
    assert cancel.context["reason"] == "Sykdom" and plan.mails == []
    assert plan_invites(master, _after(after_invite, plan)).empty
    never_invited = plan_invites(master, given)
    assert never_invited.empty and never_invited.problems == []


def test_undelivered_messages_are_planned_again_for_those_who_missed_them() -> None:
    """A recipient the server refused gets the same version again (same group), nobody else does."""
    given = _given()
    master = _master([_conv()])
    first = plan_invites(master, given)
    plan = plan_invites(master, _after(given, first, failed={"kari@firma.no"}))
    [retry] = plan.meetings
    assert retry.retry and retry.recipients == (Person("kari@firma.no"),)
    assert (retry.group, retry.kind, retry.method) == ("invitation:2027-1001:0", "invitation", REQUEST)
    assert retry.state == first.meetings[0].state
    cancelled = _master([_conv(cancelled=True)])
    after_invite = _after(given, first)
    cancel = plan_invites(cancelled, after_invite)
    again = plan_invites(cancelled, _after(after_invite, cancel, failed={"sjef@firma.no"}))
    assert [(m.group, m.method, m.recipients, m.retry) for m in again.meetings] == [
        ("cancellation:2027-1001:1", CANCEL, (Person("sjef@firma.no"),), True)]


def test_an_undelivered_removal_is_planned_again() -> None:
    """The docstring's promise holds for removals too: undelivered at the current version → planned again."""
    given = _given()
    first = plan_invites(_master([_conv()]), given)
    replaced = _master([_conv(manager="2")])
    change = plan_invites(replaced, _after(given, first))
    again = plan_invites(replaced, _after(_after(given, first), change, failed={"sjef@firma.no"}))
    assert [(m.kind, m.method, m.recipients) for m in again.meetings] == [
        ("removal", CANCEL, (Person("sjef@firma.no"),))]


def test_a_manager_who_organizes_gets_no_copy_and_the_uid_follows_their_domain() -> None:
    """With organizer = manager, the manager sends (no copy to themselves) and the UID carries their domain."""
    boss = replace(SJEF, email="sjef@ledelse.no")
    plan = plan_invites(_master([_conv()], employees=(boss, KARI)), _given(organizer_is_manager=True))
    [meeting] = plan.meetings
    assert meeting.organizer == Person("sjef@ledelse.no", "Sjef Sjefsen")
    assert meeting.recipients == (P_KARI, P_ROOM)
    assert meeting.attendees == (P_KARI, Person("sjef@ledelse.no", "Sjef Sjefsen"))
    assert meeting.state.uid == "samtale-2027-1001@ledelse.no"


def test_a_manager_who_organizes_gets_no_copy_of_the_cancellation() -> None:
    """With organizer = manager, the CANCEL goes to the other attendees, not to the manager who sends it."""
    given = _given(organizer_is_manager=True)
    first = plan_invites(_master([_conv()]), given)
    plan = plan_invites(_master([_conv(cancelled=True)]), _after(given, first))
    [cancel] = plan.meetings
    assert cancel.recipients == (P_KARI, Person("fjorden@firma.no"))


def test_rows_with_problems_are_skipped_and_named_with_their_cell() -> None:
    """Unknown employee, missing address, inactive manager, no time: each skipped with its cell; others go."""
    siri = Employee("1003", "Siri Dahl", "siri@firma.no", manager_id="3")
    gone = Employee("3", "Per Borte", "per@firma.no", active=False)
    no_mail = replace(OLA, email="")
    convs = [_conv("1001"), _conv("1002", FEB3 + timedelta(hours=2)), _conv("1003", FEB3 + timedelta(hours=4),
                                                                         manager="3"),
             _conv("1004", start=None), _conv("1009", FEB3 + timedelta(days=1))]
    raw = _raw({EMPLOYEES: [{"employee_id": e} for e in ("1", "1001", "1002", "1003", "3", "1004")],
                CONVERSATIONS: [{"conversation_id": c.conversation_id} for c in convs]})
    employees = (SJEF, KARI, no_mail, siri, gone, Employee("1004", "Liv Lie", "liv@firma.no", manager_id="1"))
    plan = plan_invites(_master(convs, employees=employees, raw=raw), _given())
    assert [(p.where, p.message) for p in plan.problems] == [
        ("Ansatte!C4", "Ola Hansen har ingen e-postadresse; 2027-1002 blir ikke sendt"),
        ("Ansatte!G6", "Per Borte er ikke aktiv; 2027-1003 blir ikke sendt"),
        ("Samtaler!F5", "2027-1004 har ingen tid og blir ikke invitert"),
        ("Samtaler!B6", "2027-1009 blir ikke invitert: ansatt «1009» finnes ikke i Ansatte"),
    ]
    assert all(p.fix for p in plan.problems)
    assert [m.state.key for m in plan.meetings] == ["2027-1001"]
    assert [m.conversation_id for m in plan.mails] == ["2027-1001"]


def test_rows_with_schedule_errors_are_not_invited_and_named() -> None:
    """Verify two conversations of one manager at the same time are both held back (cell and fix), a bad address
    blocks its row, and a row without errors still goes."""
    bad_mail = replace(OLA, email="ola.firma.no")
    convs = [_conv("1001"), _conv("1002", place="Teams"), _conv("1003", FEB3 + timedelta(days=1), place="Teams"),
             _conv("1004", FEB3 + timedelta(days=2), place="Teams")]
    employees = (SJEF, KARI, bad_mail, ASE, Employee("1004", "Liv Lie", "liv@firma.no", manager_id="1"))
    raw = _raw({EMPLOYEES: [{"employee_id": e.employee_id} for e in employees],
                CONVERSATIONS: [{"conversation_id": c.conversation_id} for c in convs]})
    plan = plan_invites(_master(convs, employees=employees, raw=raw), _given())
    assert [m.state.key for m in plan.meetings] == ["2027-1004"]
    assert plan.blocked == ["2027-1001", "2027-1002", "2027-1003"]
    messages = [p.message for p in plan.problems]
    assert any(m.startswith("2027-1001 blir ikke invitert: ") and "samtidig" in m for m in messages)
    assert "2027-1002 blir ikke invitert: «ola.firma.no» er ikke en gyldig e-postadresse" in messages
    assert all(p.fix for p in plan.problems)


def test_held_conversations_and_other_rounds_are_left_alone() -> None:
    """A meeting already over and a conversation of another round are neither invited nor updated."""
    past = _conv("1001", start=NOW - timedelta(days=2))
    other_round = _conv("1002", round_name="2026")
    plan = plan_invites(_master([past, other_round]), _given())
    assert plan.empty and plan.problems == [] and plan.needs_prep == []


# ---- follow-up meetings for actions -----------------------------------------------------------


def _action(*, follow_up: date | None = date(2027, 3, 6), status: str = "Ikke startet",
            owner: str = "Kari Nordmann") -> Action:
    return Action("2027-1001-1", "2027-1001", "1001", "Kurs i Excel", goal="Pivottabeller", owner=owner,
                  deadline=date(2027, 6, 1), status=status, follow_up=follow_up)


def test_a_follow_up_date_gets_a_short_meeting_on_the_working_day_before() -> None:
    """Oppfølging on a Saturday: a 30-minute REQUEST on the Friday at workday start, to owner and manager."""
    plan = plan_invites(_master(actions=[_action()]), _given())
    [meeting] = plan.meetings
    start = datetime(2027, 3, 5, 8, 30, tzinfo=OSLO)
    assert (meeting.group, meeting.kind, meeting.method) == (
        "follow_up:oppfolging-2027-1001-1:0", "follow_up", REQUEST)
    assert (meeting.start, meeting.end) == (start, start + timedelta(minutes=30))
    assert meeting.attendees == (P_KARI, P_SJEF) and meeting.recipients == (P_KARI, P_SJEF)
    assert meeting.state.key == "oppfolging-2027-1001-1"
    assert meeting.state.uid == "samtale-oppfolging-2027-1001-1@firma.no" and meeting.state.sequence == 0
    assert meeting.context["action"] == {"description": "Kurs i Excel", "goal": "Pivottabeller",
                                         "deadline": date(2027, 6, 1)}
    assert plan.mails == []
    again = plan_invites(_master(actions=[_action()]), _after(_given(), plan))
    assert again.empty and again.unchanged == 1


def test_no_follow_up_for_closed_actions_past_dates_or_blank_dates() -> None:
    """A closed action, a follow-up day already over, or no Oppfølging: no meeting."""
    for action in (_action(status="Fullført"), _action(status="Avbrutt"), _action(follow_up=None),
                   _action(follow_up=date(2027, 1, 8))):
        plan = plan_invites(_master(actions=[action]), _given())
        assert plan.empty and plan.problems == [], action


def test_a_closed_action_cancels_its_future_follow_up_once() -> None:
    """An action closed after its follow-up was booked: a CANCEL at SEQUENCE+1 to both attendees, once."""
    given = _given()
    booked = plan_invites(_master(actions=[_action()]), given)
    closed = _master(actions=[_action(status="Fullført")])
    after_booking = _after(given, booked)
    plan = plan_invites(closed, after_booking)
    [cancel] = plan.meetings
    assert (cancel.group, cancel.kind, cancel.method) == (
        "follow_up_cancellation:oppfolging-2027-1001-1:1", "follow_up_cancellation", CANCEL)
    assert cancel.recipients == (P_KARI, P_SJEF)
    assert cancel.state == replace(booked.meetings[0].state, sequence=1, state=CANCELLED)
    assert plan_invites(closed, _after(after_booking, plan)).empty


def test_an_undelivered_follow_up_cancellation_is_planned_again() -> None:
    """A follow-up CANCEL the server refused for one attendee is planned again for that attendee."""
    given = _given()
    booked = plan_invites(_master(actions=[_action()]), given)
    closed = _master(actions=[_action(status="Fullført")])
    after_booking = _after(given, booked)
    cancel = plan_invites(closed, after_booking)
    again = plan_invites(closed, _after(after_booking, cancel, failed={"kari@firma.no"}))
    assert [(m.kind, m.recipients, m.retry) for m in again.meetings] == [
        ("follow_up_cancellation", (Person("kari@firma.no"),), True)]


# ---- follow-up meetings in a free half hour (busy times given) ----------------------------------


FRIDAY = date(2027, 3, 5)  # the working day before the action's Oppfølging (Saturday 6 March)


def _at(hour: int, minute: int = 0, day: date = FRIDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), OSLO)


def _with_busy(busy: dict[str, list[tuple[datetime, datetime]]]) -> InviteInput:
    return replace(_given(), busy=busy)


def test_the_follow_up_goes_in_the_first_half_hour_both_are_free() -> None:
    """Verify Kari busy until 10.00 and her manager until 10.40 put the follow-up at 10.40–11.10."""
    given = _with_busy({"1001": [(_at(8, 30), _at(10))], "1": [(_at(10), _at(10, 40))]})
    [meeting] = plan_invites(_master(actions=[_action()]), given).meetings
    assert (meeting.start, meeting.end) == (_at(10, 40), _at(11, 10))


def test_a_booked_follow_up_keeps_its_time_though_it_is_busy_in_the_calendars_now() -> None:
    """Verify the next run, which sees the meeting itself as busy, neither moves nor resends it."""
    given = _with_busy({"1001": [(_at(8, 30), _at(10))]})
    booked = plan_invites(_master(actions=[_action()]), given)
    assert booked.meetings[0].start == _at(10)
    later = replace(_after(given, booked), busy={"1001": [(_at(8, 30), _at(10)), (_at(10), _at(10, 30))]})
    again = plan_invites(_master(actions=[_action()]), later)
    assert again.empty and again.unchanged == 1


def test_a_new_date_gets_a_new_free_slot() -> None:
    """Verify a follow-up moved to another day is placed in that day's free time (an update)."""
    given = _with_busy({"1": [(_at(8, 30, date(2027, 3, 10)), _at(12, 0, date(2027, 3, 10)))]})
    booked = plan_invites(_master(actions=[_action()]), given)
    moved = plan_invites(_master(actions=[_action(follow_up=date(2027, 3, 10))]), _after(given, booked))
    [meeting] = moved.meetings
    assert meeting.start == _at(12, 0, date(2027, 3, 10)) and meeting.state.sequence == 1


def test_no_free_half_hour_keeps_the_start_of_the_working_day() -> None:
    """Verify a day both are busy all day still gets the follow-up (the date was agreed), at 08.30."""
    given = _with_busy({"1001": [(_at(7), _at(17))]})
    [meeting] = plan_invites(_master(actions=[_action()]), given).meetings
    assert meeting.start == _at(8, 30)


def test_without_busy_times_the_follow_up_starts_with_the_day() -> None:
    """Verify the behaviour without free/busy is as before: the start of the working day."""
    [meeting] = plan_invites(_master(actions=[_action()]), _given()).meetings
    assert meeting.start == _at(8, 30)


def test_the_follow_up_avoids_the_rounds_conversations_and_the_follow_up_before_it() -> None:
    """Verify without any calendar the follow-up is not put on top of the manager's own conversation that day
    (from the workbook), and a second follow-up for the same people the same day goes after the first."""
    other_conv = Conversation("2027-1002", "1002", "1", start=_at(8, 30), end=_at(9, 30))  # Ola with the manager
    second_action = replace(_action(), action_id="2027-1001-2", description="Mentor")
    master = _master([other_conv], actions=[_action(), second_action])
    follow_ups = [m for m in plan_invites(master, _given()).meetings if m.kind == "follow_up"]
    assert [m.start for m in follow_ups] == [_at(9, 30), _at(10)]
