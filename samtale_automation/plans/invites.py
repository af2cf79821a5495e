"""Plan `samtale invite`: which meetings to create, update or cancel, and which mails go with them.

Pure: the register, what the journal remembers about earlier sends, and the time in; a list of
sends and the problems met out. A meeting is identified by its key (the SamtaleID, or
`oppfolging-<TiltakID>` for an action's follow-up), keeps its UID for ever, and gets SEQUENCE+1
whenever what people see in their calendar changes (time, place, room, attendees). Messages a
crash or a server fault left undelivered at the current version are planned again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
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
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES
from samtale_automation.domain.workdays import on_or_before, prep_deadline
from samtale_automation.errors import Problem
from samtale_automation.plans.reminders import resolve_owner
from samtale_automation.texts import tr

FOLLOW_UP_MINUTES = 30
CLOSED_ACTION = ("Fullført", "Avbrutt")


@dataclass(frozen=True)
class MeetingSend:
    """One meeting message (REQUEST or CANCEL) to some of its attendees."""

    group: str  # «invitation:2027-1001:0» — with each recipient's address, the idempotency key
    kind: str  # invitation | update | cancellation | removal | follow_up | follow_up_cancellation
    method: str
    state: MeetingState  # the meeting as it will be once this is sent
    recipients: tuple[Person, ...]
    start: datetime
    end: datetime
    organizer: Person
    attendees: tuple[Person, ...]
    rooms: tuple[Person, ...]
    location: str
    template: str
    context: dict[str, Any]
    lang: str
    attachment: tuple[str, str] | None = None  # (conversation id, prep variant) whose file goes along
    conversation_id: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class MailSend:
    """One ordinary mail (the manager's own prep file)."""

    group: str
    kind: str
    recipients: tuple[Person, ...]
    template: str
    context: dict[str, Any]
    lang: str
    attachment: tuple[str, str] | None = None
    conversation_id: str | None = None
    retry: bool = False


@dataclass
class InvitePlan:
    """What `samtale invite` will send, what it needs first, and what it cannot send."""

    meetings: list[MeetingSend] = field(default_factory=list)
    mails: list[MailSend] = field(default_factory=list)
    needs_prep: list[str] = field(default_factory=list)  # employee ids whose prep file must be made first
    problems: list[Problem] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to send."""
        return not self.meetings and not self.mails


@dataclass(frozen=True)
class InviteInput:
    """Everything the planner reads besides the master workbook."""

    now: datetime
    organizer: Person  # the sending mailbox
    organizer_is_manager: bool
    backend: str
    meetings: dict[str, MeetingState]
    messages: list[MessageRow]
    prep_file: Callable[[Conversation, str], str | None]  # file name of a prep variant, if it exists


def plan_invites(master: Master, given: InviteInput) -> InvitePlan:
    """Plan the invitations, updates and cancellations of the current round and actions' follow-ups."""
    plan = InvitePlan()
    delivered = _delivered(given.messages)
    for conv in sorted(master.current_round().conversations, key=lambda c: c.conversation_id):
        _plan_conversation(master, conv, given, delivered, plan)
    for action in sorted(master.actions.values(), key=lambda a: a.action_id):
        _plan_follow_up(master, action, given, delivered, plan)
    return plan


def uid_for(key: str, organizer: Person) -> str:
    """A UID that stays the meeting's for ever: `samtale-<key>@<organizer's domain>`."""
    domain = organizer.email.rpartition("@")[2] or "samtale.invalid"
    return f"samtale-{key}@{domain}"


def person(employee: Employee) -> Person:
    """The mail identity of an employee."""
    return Person(employee.email, employee.name)


# ---- conversations ---------------------------------------------------------------------


def _plan_conversation(master: Master, conv: Conversation, given: InviteInput,
                       delivered: dict[tuple[str, int], dict[str, MessageRow]], plan: InvitePlan) -> None:
    key = conv.conversation_id
    previous = given.meetings.get(key)
    if conv.cancelled:
        if previous is not None:
            _plan_cancellation(master, conv, given, previous, delivered, plan)
        return
    if conv.start is None or conv.end is None:
        if previous is None:
            plan.problems.append(_conversation_problem(master, conv, "start", tr(
                "har ingen tid og blir ikke invitert", "has no time and is not invited"), tr(
                "Fyll inn Start og Slutt.", "Fill in Start and Slutt.")))
        return
    if conv.end <= given.now:
        return  # held: a past meeting is neither invited nor updated
    people = _people(master, conv, plan)
    if people is None:
        return
    employee, manager = people
    location, rooms = place_parts(conv.place)
    organizer = person(manager) if given.organizer_is_manager else given.organizer
    attendees = (person(employee), person(manager))
    content_hash = _hash(organizer.email, conv.start, conv.end, location, rooms, attendees)
    current = previous if previous and previous.state == ACTIVE and previous.content_hash == content_hash else None
    prep_name = given.prep_file(conv, EMPLOYEE)
    if prep_name is None and conv.prep_returned is None:
        plan.needs_prep.append(conv.employee_id)
    context = _conversation_context(master, conv, employee, manager, prep_name, previous)
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
                {**context, "reason": _removed_reason()}, lang,
                conversation_id=key))
        plan.meetings.append(MeetingSend(f"{kind}:{key}:{sequence}", kind, REQUEST, state, recipients,
                                         conv.start, conv.end, organizer, attendees, rooms, location, kind,
                                         context, lang, attachment, key))
    else:
        retries = _undelivered(delivered, current, ("removal", "invitation", "update"))
        for group, kind, recipients in retries:
            if kind == "removal":
                plan.meetings.append(MeetingSend(group, kind, CANCEL, current, recipients, conv.start, conv.end,
                                                 organizer, attendees, rooms, location, "cancellation",
                                                 {**context, "reason": _removed_reason()}, lang,
                                                 conversation_id=key, retry=True))
            else:
                plan.meetings.append(MeetingSend(group, kind, REQUEST, current, recipients, conv.start, conv.end,
                                                 organizer, attendees, rooms, location, kind, context, lang,
                                                 attachment, key, retry=True))
        if not retries:
            plan.unchanged += 1
    _plan_manager_prep(conv, employee, manager, given, context, plan)


def _plan_manager_prep(conv: Conversation, employee: Employee, manager: Employee, given: InviteInput,
                       context: dict[str, Any], plan: InvitePlan) -> None:
    """The manager's own version goes by separate mail, once (a meeting carries one attachment for all)."""
    if conv.manager_prepared is not None:
        return
    name = given.prep_file(conv, MANAGER)
    group = f"manager_prep:{conv.conversation_id}"
    # Per recipient: a manager who takes over the conversation gets their own copy.
    rows = [r for r in given.messages if r.group == group and r.recipient == manager.email.casefold()]
    if any(r.state == SENT for r in rows):
        return
    if name is None and employee.employee_id not in plan.needs_prep:
        plan.needs_prep.append(employee.employee_id)
    plan.mails.append(MailSend(group, "manager_prep", (person(manager),), "manager_prep",
                               {**context, "attachment_name": name or ""}, manager.language,
                               (conv.conversation_id, MANAGER), conv.conversation_id, retry=bool(rows)))


def _plan_cancellation(master: Master, conv: Conversation, given: InviteInput, previous: MeetingState,
                       delivered: dict[tuple[str, int], dict[str, MessageRow]], plan: InvitePlan) -> None:
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
               "reason": conv.cancel_reason}
    attendees = tuple(p for p in everyone if not any(r.email.casefold() == p.email.casefold() for r in rooms))
    recipients = tuple(p for p in everyone if p.email.casefold() != organizer.email.casefold())
    if previous.state == CANCELLED:
        for group, kind, missed in _undelivered(delivered, previous, ("cancellation",)):
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
            for a in sorted(master.actions.values(), key=lambda a: a.action_id)
            if a.employee_id == conv.employee_id and a.conversation_id != conv.conversation_id]
    return {
        "company": settings.company, "round": conv.round, "employee": person(employee),
        "manager": person(manager), "start": start, "end": conv.end, "place": place_parts(conv.place)[0],
        "prep_deadline": prep_deadline(start.date(), settings.prep_deadline_days) if start else None,
        "attachment_name": prep_name or "", "past_actions": past,
        "previous_start": previous_start if previous_start != start else None,
        "reason": conv.cancel_reason,
    }


# ---- follow-up meetings for actions ----------------------------------------------------


def _plan_follow_up(master: Master, action: Action, given: InviteInput,
                    delivered: dict[tuple[str, int], dict[str, MessageRow]], plan: InvitePlan) -> None:
    """«Sett umiddelbart av tid i kalenderen»: a short meeting on the action's Oppfølging date."""
    key = f"oppfolging-{action.action_id}"
    previous = given.meetings.get(key)
    employee = master.employees.get(action.employee_id)
    manager = master.employees.get(employee.manager_id) if employee and employee.manager_id else None
    wanted = (action.follow_up is not None and action.status not in CLOSED_ACTION and employee is not None
              and manager is not None)
    if not wanted:
        if previous is not None and employee is not None:
            start = datetime.fromisoformat(previous.start or given.now.isoformat())
            if start > given.now:
                _cancel_follow_up(master, action, given, previous, start, delivered, plan)
        return
    assert action.follow_up is not None and employee is not None and manager is not None
    day = on_or_before(action.follow_up)
    start = datetime.combine(day, master.settings.workday_start, OSLO)
    end = start + timedelta(minutes=FOLLOW_UP_MINUTES)
    if end <= given.now:
        return
    owner_id = resolve_owner(master, action)
    owner = master.employees.get(owner_id or "", employee)
    other = manager if owner.employee_id != manager.employee_id else employee
    if not _reachable(master, action.action_id, [owner, other], plan):
        return
    organizer = person(manager) if given.organizer_is_manager else given.organizer
    attendees = (person(owner), person(other))
    content_hash = _hash(organizer.email, start, end, "", (), attendees)
    context = {"company": master.settings.company, "round": "", "owner": person(owner),
               "manager": person(manager), "employee": person(employee), "start": start, "end": end,
               "action": {"description": action.description, "goal": action.goal, "deadline": action.deadline}}
    recipients = tuple(a for a in attendees if a.email.casefold() != organizer.email.casefold())
    if previous and previous.state == ACTIVE and previous.content_hash == content_hash:
        retries = _undelivered(delivered, previous, ("follow_up",))
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


def _cancel_follow_up(master: Master, action: Action, given: InviteInput, previous: MeetingState,
                      start: datetime, delivered: dict[tuple[str, int], dict[str, MessageRow]],
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
        for group, kind, missed in _undelivered(delivered, previous, ("follow_up_cancellation",)):
            plan.meetings.append(MeetingSend(group, kind, CANCEL, previous, missed, start, end, organizer, everyone,
                                             (), "", "follow_up_cancellation", context, lang, retry=True))
        return
    state = replace(previous, sequence=previous.sequence + 1, state=CANCELLED)
    recipients = tuple(p for p in everyone if p.email.casefold() != organizer.email.casefold())
    plan.meetings.append(MeetingSend(f"follow_up_cancellation:{previous.key}:{state.sequence}",
                                     "follow_up_cancellation", CANCEL, state, recipients, start, end, organizer,
                                     everyone, (), "", "follow_up_cancellation", context, lang))


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
    if not _reachable(master, conv.conversation_id, [employee, manager], plan):
        return None
    return employee, manager


def _reachable(master: Master, key: str, people: Iterable[Employee], plan: InvitePlan) -> bool:
    ok = True
    for who in people:
        if who.email and who.active:
            continue
        ok = False
        where = cell_of(master, EMPLOYEES.table, who.employee_id, "email" if not who.email else "active")
        if not who.email:
            message = tr(f"{who.name} har ingen e-postadresse; {key} blir ikke sendt",
                         f"{who.name} has no e-mail address; {key} is not sent")
        else:
            message = tr(f"{who.name} er ikke aktiv; {key} blir ikke sendt",
                         f"{who.name} is not active; {key} is not sent")
        fix = tr("Fyll inn E-post.", "Fill in E-post.") if not who.email else tr(
            "Sett Aktiv til Ja, eller velg en annen leder/ansvarlig.", "Set Aktiv to Ja, or choose another person.")
        plan.problems.append(Problem(where, message, fix))
    return ok


def _conversation_problem(master: Master, conv: Conversation, field_name: str, message: str,
                          fix: str) -> Problem:
    return Problem(cell_of(master, CONVERSATIONS.table, conv.conversation_id, field_name),
                   f"{conv.conversation_id} {message}", fix)


def _hash(organizer: str, start: datetime, end: datetime, location: str, rooms: tuple[Person, ...],
          attendees: tuple[Person, ...]) -> str:
    parts = [organizer.casefold(), start.isoformat(), end.isoformat(), location,
             ",".join(sorted(r.email.casefold() for r in rooms)),
             ",".join(sorted(a.email.casefold() for a in attendees))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _delivered(messages: list[MessageRow]) -> dict[tuple[str, int], dict[str, MessageRow]]:
    by_version: dict[tuple[str, int], dict[str, MessageRow]] = {}
    for row in messages:
        if row.meeting_key is not None and row.sequence is not None:
            by_version.setdefault((row.meeting_key, row.sequence), {})[row.recipient] = row
    return by_version


def _undelivered(delivered: dict[tuple[str, int], dict[str, MessageRow]], state: MeetingState,
                 kinds: tuple[str, ...]) -> list[tuple[str, str, tuple[Person, ...]]]:
    """Per message of a version (in `kinds`' order): its group, kind and the recipients who did not get it yet."""
    missing: dict[str, list[MessageRow]] = {}
    for row in delivered.get((state.key, state.sequence), {}).values():
        if row.kind in kinds and row.state != SENT:
            missing.setdefault(row.group, []).append(row)
    groups = sorted(missing.values(), key=lambda rows: kinds.index(rows[0].kind))
    return [(rows[0].group, rows[0].kind, tuple(Person(r.recipient) for r in rows)) for rows in groups]


def _removed_reason() -> str:
    return tr("Du er ikke lenger med i denne samtalen.", "You are no longer part of this conversation.")

