"""Follow-up meetings for actions: «sett umiddelbart av tid i kalenderen» on the action's Oppfølging date.

Pure, like the invite planner: booked once, moved when the date changes, cancelled when the action
is closed or the date removed; a message a failed send missed is planned again. The meeting goes in
the first half hour the owner and the other party are both free that day (the round planner's slot
code, plans/slots.py): free of the round's conversations in the workbook, of the follow-ups placed
before it in the same run, and of the calendars' busy times when the backend gave them
(`InviteInput.busy`); with no free half hour, at the start of the day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import ACTIVE, CANCEL, CANCELLED, REQUEST, MeetingState, Person
from samtale_automation.domain.model import OSLO, Action, Employee
from samtale_automation.domain.workdays import on_or_before
from samtale_automation.plans.meetings import (
    Delivered,
    InviteInput,
    InvitePlan,
    MeetingSend,
    meeting_hash,
    person,
    reachable,
    uid_for,
    undelivered,
)
from samtale_automation.plans.reminders import resolve_owner
from samtale_automation.plans.slots import first_free_start

FOLLOW_UP_MINUTES = 30
CLOSED_ACTION = ("Fullført", "Avbrutt")


def known_busy(master: Master, calendars: Mapping[str, Sequence[tuple[datetime, datetime]]] | None,
               ) -> dict[str, list[tuple[datetime, datetime]]]:
    """Busy periods by AnsattID: the calendars' (when the backend gave them) and every conversation in the workbook."""
    busy = {who: list(periods) for who, periods in (calendars or {}).items()}
    for conv in master.conversations.values():
        if conv.cancelled or conv.start is None or conv.end is None:
            continue
        for who in {conv.employee_id, conv.manager_id} - {""}:
            busy.setdefault(who, []).append((conv.start, conv.end))
    return busy


def calendars_wanted(master: Master, meetings: Mapping[str, MeetingState], today: date) -> tuple[set[date], set[str]]:
    """The days follow-up meetings are to be booked on (new, or moved to another day) from `today` on, and whose
    calendars (AnsattID) that needs; a meeting already booked on its day keeps its time and needs none."""
    days: set[date] = set()
    people: set[str] = set()
    for action in master.actions.values():
        if action.follow_up is None or action.status in CLOSED_ACTION:
            continue
        parties = _parties(master, action)
        if parties is None:
            continue
        day = on_or_before(action.follow_up)
        previous = meetings.get(f"oppfolging-{action.action_id}")
        if day < today or (previous is not None and previous.state == ACTIVE and previous.start
                           and datetime.fromisoformat(previous.start).astimezone(OSLO).date() == day):
            continue
        days.add(day)
        people |= {parties[2].employee_id, parties[3].employee_id}
    return days, people


def _parties(master: Master, action: Action) -> tuple[Employee, Employee, Employee, Employee] | None:
    """(employee, manager, owner, the other party) of an action's follow-up, or None without both people."""
    employee = master.employees.get(action.employee_id)
    manager = master.employees.get(employee.manager_id) if employee and employee.manager_id else None
    if employee is None or manager is None:
        return None
    owner = master.employees.get(resolve_owner(master, action) or "", employee)
    other = manager if owner.employee_id != manager.employee_id else employee
    return employee, manager, owner, other


def plan_follow_up(master: Master, action: Action, given: InviteInput,
                   delivered: Delivered, plan: InvitePlan, busy: dict[str, list[tuple[datetime, datetime]]]) -> None:
    """«Sett umiddelbart av tid i kalenderen»: a short meeting on the action's Oppfølging date.

    `busy` (from `known_busy`) gets the meeting's own time, so the next follow-up of the run does not clash."""
    key = f"oppfolging-{action.action_id}"
    previous = given.meetings.get(key)
    wanted = action.follow_up is not None and action.status not in CLOSED_ACTION
    parties = _parties(master, action) if wanted else None
    if parties is None or action.follow_up is None:
        employee = master.employees.get(action.employee_id)
        if previous is not None and employee is not None:
            start = datetime.fromisoformat(previous.start or given.now.isoformat())
            if start > given.now:
                _cancel_follow_up(master, action, given, previous, start, delivered, plan)
        return
    employee, manager, owner, other = parties
    start = follow_up_start(master, on_or_before(action.follow_up), (owner, other), busy, previous)
    end = start + timedelta(minutes=FOLLOW_UP_MINUTES)
    for taken in (owner.employee_id, other.employee_id):
        busy.setdefault(taken, []).append((start, end))
    if end <= given.now:
        return
    if not reachable(master, action.action_id, [owner, other], plan):
        return
    organizer = person(manager) if given.organizer_is_manager else given.organizer
    attendees = (person(owner), person(other))
    content_hash = meeting_hash(organizer.email, start, end, "", (), attendees)
    context = {"company": master.settings.company, "round": "", "owner": person(owner),
               "manager": person(manager), "employee": person(employee), "start": start, "end": end,
               "action": {"description": action.description, "goal": action.goal, "deadline": action.deadline}}
    recipients = tuple(a for a in attendees if a.email.casefold() != organizer.email.casefold())
    if previous and previous.state == ACTIVE and previous.content_hash == content_hash:
        retries = undelivered(delivered, previous, ("follow_up",))
        for group, kind, who in retries:
            plan.meetings.append(MeetingSend(group, kind, REQUEST, previous, who, start, end, organizer,
                                             attendees, (), "", "follow_up", context, owner.language, retry=True))
        if not retries:
            plan.unchanged += 1
        return
    sequence = previous.sequence + 1 if previous else 0
    state = MeetingState(key, previous.uid if previous else uid_for(key, organizer), sequence, content_hash,
                         tuple(a.email.casefold() for a in attendees), start.isoformat(), ACTIVE, given.backend)
    plan.meetings.append(MeetingSend(f"follow_up:{key}:{sequence}", "follow_up", REQUEST, state, recipients,
                                     start, end, organizer, attendees, (), "", "follow_up", context,
                                     owner.language))


def follow_up_start(master: Master, day: date, people: tuple[Employee, Employee],
                    busy: Mapping[str, Sequence[tuple[datetime, datetime]]] | None,
                    previous: MeetingState | None) -> datetime:
    """When the follow-up starts on its day: at the start of the working day, or, when busy times are
    given (AnsattID → busy periods), the first half hour both are free that day.

    A meeting already booked on that day keeps its time: it is in both calendars itself. With no free
    half hour that day, the start of the working day (the date was agreed in the minutes).
    """
    settings = master.settings
    opening = datetime.combine(day, settings.workday_start, OSLO)
    if busy is None:
        return opening
    if previous is not None and previous.state == ACTIVE and previous.start:
        booked = datetime.fromisoformat(previous.start).astimezone(OSLO)
        if booked.date() == day:
            return booked
    free = first_free_start(day, [busy.get(p.employee_id, ()) for p in people], settings.workday_start,
                            settings.workday_end, FOLLOW_UP_MINUTES)
    return free or opening


def _cancel_follow_up(master: Master, action: Action, given: InviteInput, previous: MeetingState,
                      start: datetime, delivered: Delivered,
                      plan: InvitePlan) -> None:
    """Cancel a booked follow-up once (and again only for those a failed send missed)."""
    names = {e.email.casefold(): e for e in master.employees.values()}
    everyone = tuple(Person(email, names[email].name if email in names else "") for email in previous.attendees)
    employee = master.employees[action.employee_id]
    manager = master.employees.get(employee.manager_id)
    organizer = person(manager) if given.organizer_is_manager and manager else given.organizer
    owner = names.get(previous.attendees[0]) if previous.attendees else None
    context = {"company": master.settings.company, "round": "", "owner": everyone[0] if everyone else organizer,
               "manager": person(manager) if manager else organizer, "employee": person(employee),
               "start": start, "end": start + timedelta(minutes=FOLLOW_UP_MINUTES),
               "action": {"description": action.description, "goal": action.goal, "deadline": action.deadline}}
    lang = owner.language if owner else employee.language
    end = start + timedelta(minutes=FOLLOW_UP_MINUTES)
    if previous.state == CANCELLED:
        for group, kind, missed in undelivered(delivered, previous, ("follow_up_cancellation",)):
            plan.meetings.append(MeetingSend(group, kind, CANCEL, previous, missed, start, end, organizer, everyone,
                                             (), "", "follow_up_cancellation", context, lang, retry=True))
        return
    state = replace(previous, sequence=previous.sequence + 1, state=CANCELLED)
    recipients = tuple(p for p in everyone if p.email.casefold() != organizer.email.casefold())
    plan.meetings.append(MeetingSend(f"follow_up_cancellation:{previous.key}:{state.sequence}",
                                     "follow_up_cancellation", CANCEL, state, recipients, start, end, organizer,
                                     everyone, (), "", "follow_up_cancellation", context, lang))
