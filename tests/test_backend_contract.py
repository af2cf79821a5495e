"""The contract every mail and calendar backend keeps (DESIGN.md §7), run against each backend.

Each backend comes as a kit: the backend, and a way to see what its peer received (files for the
outbox, a real SMTP server on loopback for smtp). The same scenarios run on all of them:
create → reschedule → cancel, a mail with an attachment, Norwegian letters, capabilities, and at
the core level «a second `invite` sends nothing».
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from itip import check_cancel, check_request, parse_eml
from smtp_server import SmtpServer, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext
from samtale_automation.backends.outbox import OutboxBackend
from samtale_automation.backends.smtp import SmtpBackend, read_settings
from samtale_automation.config import Config
from samtale_automation.invite import run_invite
from samtale_automation.mail_model import Attachment, Backend, Cap, Mail, Meeting, NotSupported, Person
from samtale_automation.model import OSLO
from samtale_automation.paths import Folder

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
    attendees: set[str]
    cancelled: bool
    attachments: list[str]
    subject: str


@dataclass
class Kit:
    """A backend and what its peer received, normalised."""

    backend: Backend
    raw_messages: Callable[[], list[tuple[list[str], bytes]]]  # (envelope recipients, bytes)
    meetings: dict[str, Seen] = field(default_factory=dict)

    def seen(self) -> tuple[dict[str, Seen], list[tuple[set[str], str, list[str]]]]:
        """Meetings by UID (latest message wins) and ordinary mails (to, subject, attachment names)."""
        meetings: dict[str, Seen] = {}
        mails = []
        for recipients, raw in self.raw_messages():
            message = BytesParser(policy=policy.default).parsebytes(raw)
            if not any(part.get_content_type() == "text/calendar" for part in message.walk()):
                names = [part.get_filename() or "" for part in message.iter_attachments()]
                mails.append(({r.casefold() for r in recipients}, str(message["Subject"]), names))
                continue
            parsed = parse_eml(raw)
            if parsed.method == "CANCEL":
                calendar = check_cancel(parsed.calendar, whole=True)
            else:
                calendar = check_request(parsed.calendar)
            event = calendar.walk("VEVENT")[0]
            uid = str(event["UID"])
            meetings[uid] = Seen(int(event["SEQUENCE"]), event.decoded("DTSTART"), event.decoded("DTEND"),
                                 {str(a).removeprefix("mailto:").casefold() for a in event.get("ATTENDEE")},
                                 parsed.method == "CANCEL", list(parsed.attachments), str(event["SUMMARY"]))
        return meetings, mails


def _outbox_kit(tmp_path: Path) -> Kit:
    root = tmp_path / "utboks" / "2027-03-01"
    backend = OutboxBackend(root, ORGANIZER)

    def raw() -> list[tuple[list[str], bytes]]:
        manifest = root / "manifest.jsonl"
        if not manifest.exists():
            return []
        entries = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
        return [(entry["to"], (root / entry["file"]).read_bytes()) for entry in entries]
    return Kit(backend, raw)


def _smtp_kit(server: SmtpServer) -> Kit:
    config = Config(backend="smtp", mailbox=ORGANIZER.email, raw={"mail": {"mailbox": ORGANIZER.email},
                                                                  "smtp": server.settings(auth="password")})
    backend = SmtpBackend(read_settings(config), ORGANIZER, "hemmelig", sleep=lambda _s: None,
                          ssl_context=server.client_context)
    return Kit(backend, lambda: [(m.rcpt_tos, m.data) for m in server.messages])


@pytest.fixture(params=["outbox", "smtp"])
def kit(request: pytest.FixtureRequest, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> Iterator[Kit]:  # noqa: F811
    """Each backend with a way to see what its peer received."""
    if request.param == "outbox":
        made = _outbox_kit(tmp_path)
    else:
        made = _smtp_kit(smtp_server(security="starttls", users={ORGANIZER.email: "hemmelig"}))
    yield made
    made.backend.close()


def meeting(**changes: Any) -> Meeting:
    """The contract's meeting: employee and manager, one prep file."""
    base = Meeting(key="2027-1001", uid="samtale-2027-1001@fjordlys.example", sequence=0,
                   subject="Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther", start=START,
                   end=START + timedelta(minutes=75), organizer=ORGANIZER, attendees=(EMPLOYEE, MANAGER),
                   location="Møterom Fjorden", body_text="Velkommen til samtale.",
                   body_html="<p>Velkommen til samtale.</p>", attachments=(FILE,), stamp=START - timedelta(days=30))
    return replace(base, **changes)


def test_create_reschedule_cancel(kit: Kit) -> None:
    first = kit.backend.upsert_meeting(meeting(), (EMPLOYEE, MANAGER))
    assert not first.failures
    seen, _ = kit.seen()
    created = seen["samtale-2027-1001@fjordlys.example"]
    assert (created.sequence, created.start, created.cancelled) == (0, START, False)
    assert created.attendees == {EMPLOYEE.email, MANAGER.email}
    assert created.attachments == [FILE.filename]
    assert created.start.utcoffset() == timedelta(hours=2)  # summer time, right after the switch

    moved = START + timedelta(days=1, hours=3)
    kit.backend.upsert_meeting(meeting(sequence=1, start=moved, end=moved + timedelta(hours=1)), (EMPLOYEE, MANAGER))
    seen, _ = kit.seen()
    assert len(seen) == 1  # the same meeting, not a second one
    updated = seen["samtale-2027-1001@fjordlys.example"]
    assert (updated.sequence, updated.start, updated.end) == (1, moved, moved + timedelta(hours=1))

    kit.backend.cancel_meeting(meeting(sequence=2, attachments=()), (EMPLOYEE, MANAGER), "Sykdom")
    seen, _ = kit.seen()
    cancelled = seen["samtale-2027-1001@fjordlys.example"]
    assert cancelled.cancelled and cancelled.sequence == 2
    assert cancelled.attendees == {EMPLOYEE.email, MANAGER.email}


def test_a_mail_with_an_attachment_and_norwegian_letters(kit: Kit) -> None:
    mail = Mail("manager_prep:2027-1001", (MANAGER,), "Din forberedelse til samtalen med Åse Kjærstad",
                "Hei Bjørn,\n\nHer er skjemaet ditt.", "<p>Hei Bjørn,</p>", (FILE,))
    delivery = kit.backend.send_mail(mail)
    assert not delivery.failures
    _, mails = kit.seen()
    assert mails == [({MANAGER.email}, "Din forberedelse til samtalen med Åse Kjærstad", [FILE.filename])]


def test_capabilities_are_declared_and_kept(kit: Kit) -> None:
    assert {Cap.INVITE, Cap.UPDATE, Cap.CANCEL, Cap.SEND_MAIL} <= kit.backend.capabilities
    if Cap.FREE_BUSY not in kit.backend.capabilities:
        with pytest.raises(NotSupported):
            kit.backend.free_busy([EMPLOYEE.email], START, START + timedelta(days=1))
    if Cap.READ_INBOX not in kit.backend.capabilities:
        with pytest.raises(NotSupported):
            list(kit.backend.fetch_files())


def test_a_second_invite_through_the_backend_sends_nothing(kit: Kit, tmp_path: Path) -> None:
    from test_invite import make_folder

    workspace = make_folder(tmp_path / "f")
    first = run_invite(workspace, backend=kit.backend)
    assert first.report is not None and len(first.report.delivered) == 4 and not first.report.failed
    count = len(kit.raw_messages())
    assert count == 4
    again = run_invite(workspace, backend=kit.backend)
    assert again.plan.empty and again.report is None
    assert len(kit.raw_messages()) == count


def test_backends_are_found_by_name_from_samtale_toml(tmp_path: Path) -> None:
    from samtale_automation.backends import open_backend

    config = Config(backend="outbox", mailbox=ORGANIZER.email, raw={})
    backend = open_backend(BackendContext(Folder(tmp_path), config, START))
    assert backend.name == "outbox" and not backend.needs_confirmation
