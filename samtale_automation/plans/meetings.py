"""What the invite planners share: the sends they plan, what they read, and how a meeting's versions are told apart.

A meeting keeps its UID for ever and gets SEQUENCE+1 whenever what people see changes; the journal's
message rows, by version and recipient, tell what still has to go out after a crash or a refusal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.messages import SENT, MeetingState, MessageRow, Person
from samtale_automation.domain.model import Conversation, Employee
from samtale_automation.domain.schema import EMPLOYEES
from samtale_automation.errors import Problem
from samtale_automation.texts import tr

#: The journal's message rows by (meeting key, SEQUENCE), then recipient address.
Delivered = dict[tuple[str, int], dict[str, MessageRow]]


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
    blocked: list[str] = field(default_factory=list)  # SamtaleIDs not sent because check reports their rows

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
    #: Busy periods by AnsattID from the calendars (free/busy), for the follow-up meetings' slot, besides the
    #: workbook's own conversations (always counted); None: the backend gave none.
    busy: Mapping[str, Sequence[tuple[datetime, datetime]]] | None = None


def uid_for(key: str, organizer: Person) -> str:
    """A UID that stays the meeting's for ever: `samtale-<key>@<organizer's domain>`."""
    domain = organizer.email.rpartition("@")[2] or "samtale.invalid"
    return f"samtale-{key}@{domain}"


def person(employee: Employee) -> Person:
    """The mail identity of an employee."""
    return Person(employee.email, employee.name)


def reachable(master: Master, key: str, people: Iterable[Employee], plan: InvitePlan) -> bool:
    """Tell whether everyone has an address and is active; name each who is not in the plan's problems."""
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


def meeting_hash(organizer: str, start: datetime, end: datetime, location: str, rooms: tuple[Person, ...],
                 attendees: tuple[Person, ...]) -> str:
    """What people see of a meeting (organizer, time, place, rooms, attendees): a change means SEQUENCE+1."""
    parts = [organizer.casefold(), start.isoformat(), end.isoformat(), location,
             ",".join(sorted(r.email.casefold() for r in rooms)),
             ",".join(sorted(a.email.casefold() for a in attendees))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def delivered_by_version(messages: list[MessageRow]) -> Delivered:
    """The journal's message rows by meeting version and recipient."""
    by_version: dict[tuple[str, int], dict[str, MessageRow]] = {}
    for row in messages:
        if row.meeting_key is not None and row.sequence is not None:
            by_version.setdefault((row.meeting_key, row.sequence), {})[row.recipient] = row
    return by_version


def undelivered(delivered: Delivered, state: MeetingState,
                 kinds: tuple[str, ...]) -> list[tuple[str, str, tuple[Person, ...]]]:
    """Per message of a version (in `kinds`' order): its group, kind and the recipients who did not get it yet."""
    missing: dict[str, list[MessageRow]] = {}
    for row in delivered.get((state.key, state.sequence), {}).values():
        if row.kind in kinds and row.state != SENT:
            missing.setdefault(row.group, []).append(row)
    groups = sorted(missing.values(), key=lambda rows: kinds.index(rows[0].kind))
    return [(rows[0].group, rows[0].kind, tuple(Person(r.recipient) for r in rows)) for rows in groups]
