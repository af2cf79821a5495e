"""Plan `samtale invite`: which meetings to create, update or cancel, and which mails go with them.

Pure: the master workbook, what the journal remembers about earlier sends, and the time in; a list of
sends and the problems met out. A meeting is identified by its key (the SamtaleID, or
`oppfolging-<TiltakID>` for an action's follow-up), keeps its UID for ever, and gets SEQUENCE+1
whenever what people see in their calendar changes (time, place, room, attendees). Messages a
crash or a server fault left undelivered at the current version are planned again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.messages import (
    ACTIVE,
    CANCEL,
    CANCELLED,
    REQUEST,
    SENT,
    MeetingState,
    MessageRow,
    Person,
    place_parts,
)
from samtale_automation.domain.model import Conversation, Employee
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.domain.schema import CONVERSATIONS
from samtale_automation.domain.workdays import prep_deadline
from samtale_automation.errors import Problem
from samtale_automation.plans.check import conversation_errors
from samtale_automation.plans.follow_ups import known_busy, plan_follow_up
from samtale_automation.plans.meetings import (
    Delivered,
    InviteInput,
    InvitePlan,
    MailSend,
    MeetingSend,
    delivered_by_version,
    meeting_hash,
    person,
    reachable,
    uid_for,
    undelivered,
)
from samtale_automation.texts import tr


def plan_invites(master: Master, given: InviteInput) -> InvitePlan:
    """Plan the invitations, updates and cancellations of the current round and actions' follow-ups."""
    plan = InvitePlan()
    delivered = delivered_by_version(given.messages)
    blocked = conversation_errors(master)
    by_group: dict[str, list[MessageRow]] = {}
    for row in given.messages:  # indexed once: the manager's prep mail looks its group up per conversation
        by_group.setdefault(row.group, []).append(row)
    for conv in sorted(master.current_round().conversations, key=lambda c: c.conversation_id):
        _plan_conversation(master, conv, given, delivered, by_group, plan, blocked.get(conv.conversation_id, []))
    busy = known_busy(master, given.busy)
    for action in sorted(master.actions.values(), key=lambda a: a.action_id):
        plan_follow_up(master, action, given, delivered, plan, busy)
    return plan


# ---- conversations ---------------------------------------------------------------------


def _plan_conversation(master: Master, conv: Conversation, given: InviteInput, delivered: Delivered,
                       by_group: Mapping[str, list[MessageRow]], plan: InvitePlan, errors: list[Problem]) -> None:
    key = conv.conversation_id
    previous = given.meetings.get(key)
    if conv.cancelled:
        if previous is not None:
            _plan_cancellation(master, conv, given, previous, delivered, plan)
        return
    employee = master.employees.get(conv.employee_id)
    if employee is not None and not employee.active and previous is not None and (
            conv.end is None or conv.end > given.now):
        # Aktiv = Nei after the invitation: the meeting is cancelled (the plan shows it before anything goes);
        # a reason HR typed in «Avlyst grunn» is used, else one saying why.
        _plan_cancellation(master, conv, given, previous, delivered, plan,
                           conv.cancel_reason or inactive_reason(employee))
        return
    if conv.start is None or conv.end is None:
        if previous is None:
            plan.problems.append(_conversation_problem(master, conv, "start", tr(
                "har ingen tid og blir ikke invitert", "has no time and is not invited"), tr(
                "Fyll inn Start og Slutt.", "Fill in Start and Slutt.")))
        return
    if conv.end <= given.now:
        return  # held: a past meeting is neither invited nor updated
    if errors:
        # A row check reports as wrong is not sent (an invited one keeps its last sent version) until fixed.
        plan.blocked.append(key)
        plan.problems += [Problem(p.where, tr(f"{key} blir ikke invitert: {p.message}",
                                              f"{key} is not invited: {p.message}"), p.fix) for p in errors]
        return
    people = _people(master, conv, plan)
    if people is None:
        return
    employee, manager = people
    location, rooms = place_parts(conv.place)
    organizer = person(manager) if given.organizer_is_manager else given.organizer
    attendees = (person(employee), person(manager))
    content_hash = meeting_hash(organizer.email, conv.start, conv.end, location, rooms, attendees)
    current = previous if previous and previous.state == ACTIVE and previous.content_hash == content_hash else None
    prep_name = given.prep_file(conv, EMPLOYEE)
    if prep_name is None and conv.prep_returned is None:
        plan.needs_prep.append(conv.employee_id)
    # Made only for a message that is planned: a second run with nothing to send makes none.
    context = functools.cache(lambda: _conversation_context(master, conv, employee, manager, prep_name, previous))
    lang = employee.language
    attachment = (key, EMPLOYEE) if conv.prep_returned is None else None
    if current is None:
        sequence = previous.sequence + 1 if previous else 0
        kind = "update" if previous and previous.state == ACTIVE else "invitation"
        state = MeetingState(key, previous.uid if previous else uid_for(key, organizer), sequence, content_hash,
                             tuple(a.email.casefold() for a in attendees + rooms), conv.start.isoformat(),
                             ACTIVE, given.backend)
        recipients = attendees + rooms
        if organizer.email.casefold() == manager.email.casefold():
            recipients = (attendees[0], *rooms)  # an organizing manager gets the copy as sender
        removed = [email for email in (previous.attendees if previous and previous.state == ACTIVE else ())
                   if email not in state.attendees]
        if removed:
            plan.meetings.append(MeetingSend(
                f"removal:{key}:{sequence}", "removal", CANCEL, state, tuple(Person(e) for e in removed),
                conv.start, conv.end, organizer, attendees, rooms, location, "cancellation",
                {**context(), "reason": _removed_reason()}, lang,
                conversation_id=key))
        plan.meetings.append(MeetingSend(f"{kind}:{key}:{sequence}", kind, REQUEST, state, recipients,
                                         conv.start, conv.end, organizer, attendees, rooms, location, kind,
                                         context(), lang, attachment, key))
    else:
        retries = undelivered(delivered, current, ("removal", "invitation", "update"))
        for group, kind, recipients in retries:
            if kind == "removal":
                plan.meetings.append(MeetingSend(group, kind, CANCEL, current, recipients, conv.start, conv.end,
                                                 organizer, attendees, rooms, location, "cancellation",
                                                 {**context(), "reason": _removed_reason()}, lang,
                                                 conversation_id=key, retry=True))
            else:
                plan.meetings.append(MeetingSend(group, kind, REQUEST, current, recipients, conv.start, conv.end,
                                                 organizer, attendees, rooms, location, kind, context(), lang,
                                                 attachment, key, retry=True))
        if not retries:
            plan.unchanged += 1
    _plan_manager_prep(conv, employee, manager, given, by_group, context, plan)


def _plan_manager_prep(conv: Conversation, employee: Employee, manager: Employee, given: InviteInput,
                       by_group: Mapping[str, list[MessageRow]], context: Callable[[], dict[str, Any]],
                       plan: InvitePlan) -> None:
    """The manager's own version goes by separate mail, once (a meeting carries one attachment for all)."""
    if conv.manager_prepared is not None:
        return
    name = given.prep_file(conv, MANAGER)
    group = f"manager_prep:{conv.conversation_id}"
    # Per recipient: a manager who takes over the conversation gets their own copy.
    rows = [r for r in by_group.get(group, ()) if r.recipient == manager.email.casefold()]
    if any(r.state == SENT for r in rows):
        return
    if name is None and employee.employee_id not in plan.needs_prep:
        plan.needs_prep.append(employee.employee_id)
    plan.mails.append(MailSend(group, "manager_prep", (person(manager),), "manager_prep",
                               {**context(), "attachment_name": name or ""}, manager.language,
                               (conv.conversation_id, MANAGER), conv.conversation_id, retry=bool(rows)))


def inactive_reason(employee: Employee) -> str:
    """The cancellation's reason when the employee was set Aktiv = Nei after the invitation."""
    return tr(f"Samtalen med {employee.name} er avlyst fordi {employee.name} ikke lenger er aktiv.",
              f"The conversation with {employee.name} is cancelled because {employee.name} is no longer active.")


def _plan_cancellation(master: Master, conv: Conversation, given: InviteInput, previous: MeetingState,
                       delivered: Delivered, plan: InvitePlan, reason: str | None = None) -> None:
    employee = master.employees.get(conv.employee_id)
    manager = master.employees.get(conv.manager_id)
    if employee is None or manager is None:
        return
    location, rooms = place_parts(conv.place)
    organizer = person(manager) if given.organizer_is_manager else given.organizer
    names = {e.email.casefold(): e.name for e in master.employees.values()}
    everyone = tuple(Person(email, names.get(email, "")) for email in previous.attendees)
    start = conv.start or datetime.fromisoformat(previous.start or given.now.isoformat())
    end = conv.end or start
    context = {**_conversation_context(master, conv, employee, manager, None, previous),
               "reason": reason if reason is not None else conv.cancel_reason}
    attendees = tuple(p for p in everyone if not any(r.email.casefold() == p.email.casefold() for r in rooms))
    recipients = tuple(p for p in everyone if p.email.casefold() != organizer.email.casefold())
    if previous.state == CANCELLED:
        for group, kind, missed in undelivered(delivered, previous, ("cancellation",)):
            plan.meetings.append(MeetingSend(group, kind, CANCEL, previous, missed, start, end, organizer,
                                             attendees, rooms, location, "cancellation", context,
                                             employee.language, conversation_id=conv.conversation_id, retry=True))
        return
    sequence = previous.sequence + 1
    state = replace(previous, sequence=sequence, state=CANCELLED)
    plan.meetings.append(MeetingSend(f"cancellation:{conv.conversation_id}:{sequence}", "cancellation", CANCEL,
                                     state, recipients, start, end, organizer, attendees, rooms, location,
                                     "cancellation", context, employee.language,
                                     conversation_id=conv.conversation_id))


def _conversation_context(master: Master, conv: Conversation, employee: Employee, manager: Employee,
                          prep_name: str | None, previous: MeetingState | None) -> dict[str, Any]:
    settings = master.settings
    start = conv.start
    previous_start = datetime.fromisoformat(previous.start) if previous and previous.start else None
    past = [{"description": a.description, "deadline": a.deadline, "status": a.status}
            for a in master.actions_of(conv.employee_id) if a.conversation_id != conv.conversation_id]
    return {
        "company": settings.company, "round": conv.round, "employee": person(employee),
        "manager": person(manager), "start": start, "end": conv.end, "place": place_parts(conv.place)[0],
        "prep_deadline": prep_deadline(start.date(), settings.prep_deadline_days) if start else None,
        "attachment_name": prep_name or "", "past_actions": past,
        "previous_start": previous_start if previous_start != start else None,
        "reason": conv.cancel_reason,
    }


# ---- helpers ---------------------------------------------------------------------------


def _people(master: Master, conv: Conversation, plan: InvitePlan) -> tuple[Employee, Employee] | None:
    employee = master.employees.get(conv.employee_id)
    manager = master.employees.get(conv.manager_id)
    if employee is None or manager is None:
        missing = conv.employee_id if employee is None else conv.manager_id
        column = "employee_id" if employee is None else "manager_id"
        plan.problems.append(_conversation_problem(
            master, conv, column, tr(f"{missing} finnes ikke i Ansatte", f"{missing} is not in Ansatte"),
            tr("Rett ID-en eller legg personen til i Ansatte.", "Correct the ID or add the person to Ansatte.")))
        return None
    if not reachable(master, conv.conversation_id, [employee, manager], plan):
        return None
    return employee, manager


def _conversation_problem(master: Master, conv: Conversation, field_name: str, message: str,
                          fix: str) -> Problem:
    return Problem(cell_of(master, CONVERSATIONS.table, conv.conversation_id, field_name),
                   f"{conv.conversation_id} {message}", fix)


def _removed_reason() -> str:
    return tr("Du er ikke lenger med i denne samtalen.", "You are no longer part of this conversation.")
