"""What the backend contract suite needs from each backend's test peer (tests/test_backend_contract.py).

A kit is a backend plus a view of its peer: what the attendees of each meeting now see, which
ordinary mails arrived, and hooks to put a busy period in someone's calendar or a reply with a
file in the mailbox. MIME backends (outbox, smtp) are seen through the raw messages their peer
got; server-side backends (ews, graph) through their stand-in's in-memory mailbox.

Each backend's peer module (smtp_server, ews_server, graph_server, imap_server) offers
`contract_kit(tmp_path) -> Kit` (as a context manager where a server must be stopped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Protocol

from itip import check_cancel, check_request, parse_eml

from samtale_automation.domain.messages import Attachment, Backend, Meeting, Person
from samtale_automation.domain.model import OSLO

ORGANIZER = Person("hr@fjordlys.example", "Fjordlys HR")
EMPLOYEE = Person("ase@fjordlys.example", "Åse Kjærstad")
MANAGER = Person("bjorn@fjordlys.example", "Bjørn Sæther")
START = datetime(2027, 3, 30, 9, 0, tzinfo=OSLO)  # the Tuesday after the switch to summer time
FILE = Attachment("1001 Åse Kjærstad - forberedelse.xlsx", b"PK\x03\x04 not really a workbook \xe6\xf8\xe5")


@dataclass
class Seen:
    """A meeting as its attendees now see it."""

    sequence: int
    start: datetime
    end: datetime
    attendees: set[str]  # casefolded addresses
    cancelled: bool
    attachments: list[str]
    subject: str


@dataclass(frozen=True)
class MailSeen:
    """An ordinary mail as its recipients got it."""

    to: frozenset[str]  # casefolded addresses
    subject: str
    attachments: tuple[str, ...]


class AddReply(Protocol):
    """Put a reply from `sender` with files (name, bytes) in the mailbox, with these internet headers first."""

    def __call__(self, sender: str, subject: str, files: list[tuple[str, bytes]],
                 headers: list[tuple[str, str]] | None = None) -> None: ...


@dataclass
class Kit:
    """A backend and what its peer received."""

    backend: Backend
    #: Meetings by the peer's identity for them (UID or event id) and the mails, as seen now.
    seen: Callable[[], tuple[dict[str, Seen], list[MailSeen]]]
    #: How many things went out so far (messages, or items created/updated/cancelled and mails).
    sent_count: Callable[[], int]
    #: Put a busy period in a calendar (backends with Cap.FREE_BUSY).
    add_busy: Callable[[str, datetime, datetime], None] | None = None
    #: Put a reply from `sender` with files (name, bytes) in the mailbox (backends with Cap.READ_INBOX).
    add_reply: AddReply | None = None


def mime_seen(raw_messages: Iterable[tuple[list[str], bytes]]) -> tuple[dict[str, Seen], list[MailSeen]]:
    """Meetings by UID (latest message wins) and mails, from raw iMIP/RFC 5322 messages and their recipients."""
    meetings: dict[str, Seen] = {}
    mails: list[MailSeen] = []
    for recipients, raw in raw_messages:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        if not any(part.get_content_type() == "text/calendar" for part in message.walk()):
            names = tuple(part.get_filename() or "" for part in message.iter_attachments())
            mails.append(MailSeen(frozenset(r.casefold() for r in recipients), str(message["Subject"]), names))
            continue
        parsed = parse_eml(raw)
        whole = b"STATUS:CANCELLED" in parsed.calendar
        if parsed.method == "CANCEL":
            calendar = check_cancel(parsed.calendar, whole=whole)
            if not whole:
                continue  # some attendees removed: the others' meeting is unchanged
        else:
            calendar = check_request(parsed.calendar)
        event = calendar.walk("VEVENT")[0]
        uid = str(event["UID"])
        meetings[uid] = Seen(int(event["SEQUENCE"]), event.decoded("DTSTART"), event.decoded("DTEND"),
                             {str(a).removeprefix("mailto:").casefold() for a in event.get("ATTENDEE")},
                             parsed.method == "CANCEL", list(parsed.attachments), str(event["SUMMARY"]))
    return meetings, mails


def contract_meeting() -> Meeting:
    """The contract's meeting: employee and manager, one prep file, organised by HR."""
    return Meeting(key="2027-1001", uid="samtale-2027-1001@fjordlys.example", sequence=0,
                   subject="Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther", start=START,
                   end=START + timedelta(minutes=75), organizer=ORGANIZER, attendees=(EMPLOYEE, MANAGER),
                   location="Møterom Fjorden", body_text="Velkommen til samtale.",
                   body_html="<p>Velkommen til samtale.</p>", attachments=(FILE,), stamp=START - timedelta(days=30))
