"""What the core asks of a mail and calendar backend (DESIGN.md §7, research/mail.md §5).

Plain dataclasses and one Protocol, no I/O. The core decides *what* to send (UID, SEQUENCE,
recipients, rendered texts); a backend only carries it: writes files (outbox), speaks SMTP,
EWS or Graph. Every backend declares its capabilities and callers degrade gracefully.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

REQUEST = "REQUEST"
CANCEL = "CANCEL"


class Cap(Enum):
    """Something a backend can do."""

    INVITE = "invite"
    UPDATE = "update"
    CANCEL = "cancel"
    SEND_MAIL = "send_mail"
    FREE_BUSY = "free_busy"
    READ_INBOX = "read_inbox"
    SERVER_SIDE_STATE = "server_side_state"


class NotSupported(RuntimeError):
    """The backend lacks the capability asked for (check `capabilities` first)."""


@dataclass(frozen=True)
class Person:
    """A mailbox with a display name."""

    email: str
    name: str = ""

    @property
    def first_name(self) -> str:
        """The first word of the name (for «Hei Kari»), else the name or the address."""
        return self.name.split()[0] if self.name.strip() else self.email

    def formatted(self) -> str:
        """`Name <address>` for a header (the email package encodes non-ASCII names)."""
        return f"{self.name} <{self.email}>" if self.name else self.email


def place_parts(place: str) -> tuple[str, tuple[Person, ...]]:
    """Samtaler «Sted» → the location text and a room to book: «Møterom Fjorden <rom-fjorden@firma.no>»."""
    match = _ROOM.match(place) or _BARE_EMAIL.match(place)
    if not match:
        return place.strip(), ()
    email = match.group("email")
    name = match.groupdict().get("name") or email
    return name, (Person(email, name),)


_ROOM = re.compile(r"^\s*(?P<name>[^<]*?)\s*<\s*(?P<email>[^<>@\s]+@[^<>@\s]+)\s*>\s*$")
_BARE_EMAIL = re.compile(r"^\s*(?P<email>[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)\s*$")


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message."""

    filename: str
    content: bytes
    mime_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Meeting:
    """One calendar meeting as the core wants it to be (the same object for create and update).

    `uid` and `sequence` are decided and persisted by the core (the journal), so every backend
    sends the same identity; `remote_id`/`change_key` carry a server's ids (EWS, Graph) from the
    last send.
    """

    key: str  # our idempotency key: the SamtaleID, or «oppfolging-<TiltakID>»
    uid: str
    sequence: int
    subject: str
    start: dt.datetime  # aware
    end: dt.datetime
    organizer: Person
    attendees: tuple[Person, ...]  # required participants (employee and manager)
    rooms: tuple[Person, ...] = ()
    location: str = ""
    body_text: str = ""
    body_html: str = ""
    attachments: tuple[Attachment, ...] = ()
    stamp: dt.datetime | None = None  # DTSTAMP; None means now
    private: bool = True
    remote_id: str | None = None
    change_key: str | None = None


@dataclass(frozen=True)
class Mail:
    """An ordinary e-mail (the manager's prep mail, a reminder digest)."""

    key: str  # idempotency key, also the outbox file name
    to: tuple[Person, ...]
    subject: str
    body_text: str
    body_html: str = ""
    attachments: tuple[Attachment, ...] = ()
    sender: Person | None = None  # None: the configured mailbox


@dataclass(frozen=True)
class Job:
    """One thing to send; backends that talk to a server send many at once (`send_batch`)."""

    recipients: tuple[Person, ...]
    meeting: Meeting | None = None  # a meeting to create or update (REQUEST), or to cancel
    mail: Mail | None = None  # or an ordinary e-mail
    cancel: bool = False
    reason: str = ""

    @property
    def key(self) -> str:
        """The meeting's or the mail's idempotency key."""
        return self.meeting.key if self.meeting else self.mail.key if self.mail else ""


@dataclass(frozen=True)
class Failure:
    """A recipient the server refused, with its answer."""

    email: str
    code: int  # SMTP-style: 4xx temporary, 5xx permanent, 0 when no server answer
    message: str

    @property
    def temporary(self) -> bool:
        """A 4xx (or no answer): worth retrying later."""
        return self.code < 500


@dataclass(frozen=True)
class Delivery:
    """What became of one send: who was refused, and a server's ids for the item."""

    failures: tuple[Failure, ...] = ()
    remote_id: str | None = None
    change_key: str | None = None
    location: str = ""  # where an outbox wrote it, for the summary

    def failed(self, email: str) -> Failure | None:
        """The failure for this recipient, if any."""
        wanted = email.casefold()
        return next((f for f in self.failures if f.email.casefold() == wanted), None)


@dataclass(frozen=True)
class BusySlot:
    """A busy period in someone's calendar."""

    start: dt.datetime
    end: dt.datetime
    status: str  # free|tentative|busy|oof|elsewhere|unknown


@dataclass(frozen=True)
class IncomingFile:
    """A returned file found in a mailbox; `mark_handled(message_id)` once it is safely stored."""

    message_id: str
    sender: str
    received: dt.datetime
    filename: str
    content: bytes
    subject: str = ""
    #: The message's Authentication-Results header values (RFC 8601), as the receiving server added them.
    authentication: tuple[str, ...] = ()
    #: Why the file could not be downloaded ("" when it was; then `content` is empty): its message stays
    #: in the mailbox for the next run, and the other messages go on.
    problem: str = ""


@dataclass
class BackendStats:
    """Counters a backend keeps for the summary and the benchmarks."""

    connections: int = 0
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)


class Backend(Protocol):
    """The interface every backend implements (outbox, smtp, ews, graph)."""

    name: str
    capabilities: frozenset[Cap]
    #: The mailbox it sends from (and reads replies into).
    mailbox: Person
    #: Sending through it reaches people, so the CLI asks first (the outbox does not).
    needs_confirmation: bool
    #: How many jobs `send_batch` takes at once (1 for outbox and smtp).
    batch_size: int
    stats: BackendStats

    def upsert_meeting(self, meeting: Meeting, recipients: Sequence[Person]) -> Delivery:
        """Create or update the meeting (METHOD:REQUEST) for these recipients."""
        ...

    def cancel_meeting(self, meeting: Meeting, recipients: Sequence[Person], reason: str = "") -> Delivery:
        """Cancel the meeting (METHOD:CANCEL) for these recipients."""
        ...

    def send_mail(self, mail: Mail) -> Delivery:
        """Send an ordinary e-mail."""
        ...

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Send up to `batch_size` jobs; one Delivery per job, in order."""
        ...

    def free_busy(self, people: Sequence[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[BusySlot]]:
        """Busy periods per address (needs Cap.FREE_BUSY)."""
        ...

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Returned files waiting in the mailbox (needs Cap.READ_INBOX); nothing is moved yet."""
        ...

    def mark_handled(self, message_id: str) -> None:
        """Move a message whose files are safely stored to the done folder (needs Cap.READ_INBOX)."""
        ...

    def probe(self) -> list[str]:
        """Log in and reach the mailbox; what was found, one line each; BackendError naming the setting to fix."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: What an attendee answered: the Svar column's words come from these codes.
ACCEPTED, DECLINED, TENTATIVE, PROPOSED = "accepted", "declined", "tentative", "proposed"


@dataclass(frozen=True)
class AttendeeReply:
    """One attendee's answer to a meeting invitation, as the calendar server shows it."""

    email: str
    response: str  # ACCEPTED | DECLINED | TENTATIVE | PROPOSED
    proposed_start: dt.datetime | None = None  # a new time proposed (with PROPOSED)


@runtime_checkable
class ReadsReplies(Protocol):
    """A backend that sees the attendees' answers on its meetings (graph reads them from the event)."""

    def replies(self, keys: Sequence[str]) -> dict[str, list[AttendeeReply]]:
        """The answers per meeting key (the SamtaleID); a meeting nobody answered is left out."""
        ...


def send_one(backend: Backend, job: Job) -> Delivery:
    """Send one job through the single-item methods (for backends that send one at a time)."""
    if job.mail is not None:
        return backend.send_mail(job.mail)
    assert job.meeting is not None
    if job.cancel:
        return backend.cancel_meeting(job.meeting, job.recipients, job.reason)
    return backend.upsert_meeting(job.meeting, job.recipients)


# ---- what the journal remembers of sent meetings and messages (store.messages keeps them) ----

INTENT, SENT, FAILED, SUPERSEDED = "intent", "sent", "failed", "superseded"
ACTIVE, CANCELLED = "active", "cancelled"


@dataclass(frozen=True)
class MeetingState:
    """A meeting as last sent: its identity, version and what it contained."""

    key: str
    uid: str
    sequence: int
    content_hash: str
    attendees: tuple[str, ...]  # addresses, lower case, as last sent
    start: str | None  # ISO start as last sent (for «moved from» in the update mail)
    state: str  # active | cancelled
    backend: str
    remote_id: str | None = None
    change_key: str | None = None


@dataclass(frozen=True)
class MessageRow:
    """One message to one recipient."""

    key: str
    group: str
    kind: str
    meeting_key: str | None
    sequence: int | None
    recipient: str
    state: str
    attempts: int
    error: str | None
