"""The contract every mail and calendar backend keeps (DESIGN.md §7), run against each backend.

Each backend comes as a kit (tests/backend_kit.py): the backend, and a view of what its peer
received — files for the outbox, a real SMTP server on loopback for smtp, Dovecot for IMAP, and
loopback stand-ins speaking EWS SOAP (behind NTLM) and Microsoft Graph for ews and graph. The
same scenarios run on all of them: create → reschedule → cancel, removing one attendee, a mail
with an attachment, Norwegian letters, free/busy and fetching returned files where the backend
can, and at the core level «a second `invite` sends nothing».
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from backend_kit import EMPLOYEE, FILE, MANAGER, ORGANIZER, START, Kit, MailSeen, Seen, contract_meeting, mime_seen
from smtp_server import SmtpServer, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext
from samtale_automation.backends.outbox import OutboxBackend
from samtale_automation.backends.smtp.backend import SmtpBackend
from samtale_automation.commands.invite import run_invite
from samtale_automation.config import parse_config
from samtale_automation.domain.messages import Cap, Job, Mail, Meeting, NotSupported, Person
from samtale_automation.paths import Folder

#: Backends whose peer lives in its own test module, offering `contract_kit(tmp_path)` as a context manager.
PEER_MODULES: dict[str, str] = {
    "ews": "ews_server",
    "smtp+imap": "imap_server",
    "graph": "graph_server",
}
OTHER_MANAGER = Person("cecilie@fjordlys.example", "Cecilie Berg")


def _outbox_kit(tmp_path: Path) -> Kit:
    root = tmp_path / "utboks" / "2027-03-01"
    backend = OutboxBackend(root, ORGANIZER)

    def raw() -> list[tuple[list[str], bytes]]:
        manifest = root / "manifest.jsonl"
        if not manifest.exists():
            return []
        entries = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
        return [(entry["to"], (root / entry["file"]).read_bytes()) for entry in entries]
    return Kit(backend, lambda: mime_seen(raw()), lambda: len(raw()))


def _smtp_kit(server: SmtpServer) -> Kit:
    settings = parse_config({"smtp": server.settings(auth="password")}).smtp
    assert settings is not None
    backend = SmtpBackend(settings, ORGANIZER, "hemmelig", sleep=lambda _s: None, ssl_context=server.client_context)
    return Kit(backend, lambda: mime_seen((m.rcpt_tos, m.data) for m in server.messages),
               lambda: len(server.messages))


@pytest.fixture(params=["outbox", "smtp", *PEER_MODULES])
def kit(request: pytest.FixtureRequest, tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> Iterator[Kit]:  # noqa: F811
    """Each backend with a view of what its peer received."""
    if request.param == "outbox":
        made = _outbox_kit(tmp_path)
    elif request.param == "smtp":
        made = _smtp_kit(smtp_server(security="starttls", users={ORGANIZER.email: "hemmelig"}))
    else:
        peer: Any = importlib.import_module(PEER_MODULES[request.param])
        context: AbstractContextManager[Kit] = peer.contract_kit(tmp_path)
        with context as made:
            yield made
            made.backend.close()
        return
    yield made
    made.backend.close()


def meeting(**changes: Any) -> Meeting:
    """The contract's meeting with some fields changed."""
    return replace(contract_meeting(), **changes)


def only(seen: dict[str, Seen]) -> Seen:
    """The one meeting the peer knows of."""
    assert len(seen) == 1, seen
    return next(iter(seen.values()))


def test_create_reschedule_cancel(kit: Kit) -> None:
    first = kit.backend.upsert_meeting(meeting(), (EMPLOYEE, MANAGER))
    assert not first.failures
    created = only(kit.seen()[0])
    assert (created.start, created.end, created.cancelled) == (START, START + timedelta(minutes=75), False)
    assert created.attendees == {EMPLOYEE.email, MANAGER.email}
    assert created.attachments == [FILE.filename]
    assert created.subject == "Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther"
    assert created.start.utcoffset() == timedelta(hours=2)  # summer time, right after the switch

    moved = START + timedelta(days=1, hours=3)
    second = kit.backend.upsert_meeting(meeting(sequence=1, start=moved, end=moved + timedelta(hours=1),
                                                remote_id=first.remote_id, change_key=first.change_key),
                                        (EMPLOYEE, MANAGER))
    assert not second.failures
    updated = only(kit.seen()[0])  # the same meeting, not a second one
    assert (updated.start, updated.end) == (moved, moved + timedelta(hours=1))
    assert updated.sequence > created.sequence
    assert updated.attachments == [FILE.filename]  # still one copy of the file

    last = meeting(sequence=2, attachments=(), remote_id=second.remote_id or first.remote_id,
                   change_key=second.change_key)
    third = kit.backend.cancel_meeting(last, (EMPLOYEE, MANAGER), "Sykdom")
    assert not third.failures
    cancelled = only(kit.seen()[0])
    assert cancelled.cancelled and cancelled.sequence >= updated.sequence
    assert cancelled.attendees == {EMPLOYEE.email, MANAGER.email}


def test_a_new_manager_replaces_the_old_one(kit: Kit) -> None:
    first = kit.backend.upsert_meeting(meeting(), (EMPLOYEE, MANAGER))
    changed = meeting(sequence=1, attendees=(EMPLOYEE, OTHER_MANAGER), remote_id=first.remote_id,
                      change_key=first.change_key)
    removal = kit.backend.cancel_meeting(changed, (MANAGER,), "Du er ikke lenger med i denne samtalen.")
    update = kit.backend.upsert_meeting(replace(changed, remote_id=removal.remote_id or first.remote_id,
                                                change_key=removal.change_key or changed.change_key),
                                        (EMPLOYEE, OTHER_MANAGER))
    assert not removal.failures and not update.failures
    now = only(kit.seen()[0])
    assert not now.cancelled
    assert now.attendees == {EMPLOYEE.email, OTHER_MANAGER.email}


def test_a_mail_with_an_attachment_and_norwegian_letters(kit: Kit) -> None:
    mail = Mail("manager_prep:2027-1001", (MANAGER,), "Din forberedelse til samtalen med Åse Kjærstad",
                "Hei Bjørn,\n\nHer er skjemaet ditt.", "<p>Hei Bjørn,</p>", (FILE,))
    delivery = kit.backend.send_mail(mail)
    assert not delivery.failures
    _, mails = kit.seen()
    assert mails == [MailSeen(frozenset({MANAGER.email}), "Din forberedelse til samtalen med Åse Kjærstad",
                              (FILE.filename,))]


def test_a_batch_gives_one_result_per_job_in_order(kit: Kit) -> None:
    others = [replace(contract_meeting(), key=f"2027-10{n:02}", uid=f"samtale-2027-10{n:02}@fjordlys.example",
                      start=START + timedelta(days=n), end=START + timedelta(days=n, hours=1)) for n in range(1, 4)]
    mail = Mail("digest:bjorn:2027-03-01", (MANAGER,), "Påminnelse", "Husk samtalene.")
    jobs = [*(Job((EMPLOYEE, MANAGER), meeting=m) for m in others), Job((MANAGER,), mail=mail)]
    size = kit.backend.batch_size
    results = [d for first in range(0, len(jobs), size) for d in kit.backend.send_batch(jobs[first:first + size])]
    assert len(results) == len(jobs) and all(not r.failures for r in results)
    meetings, mails = kit.seen()
    assert sorted(s.start for s in meetings.values()) == [m.start for m in others]
    assert [m.subject for m in mails] == ["Påminnelse"]


def test_capabilities_are_declared_and_kept(kit: Kit) -> None:
    assert {Cap.INVITE, Cap.UPDATE, Cap.CANCEL, Cap.SEND_MAIL} <= kit.backend.capabilities
    if Cap.FREE_BUSY not in kit.backend.capabilities:
        with pytest.raises(NotSupported):
            kit.backend.free_busy([EMPLOYEE.email], START, START + timedelta(days=1))
    else:
        assert kit.add_busy is not None
    if Cap.READ_INBOX not in kit.backend.capabilities:
        with pytest.raises(NotSupported):
            list(kit.backend.fetch_files())
    else:
        assert kit.add_reply is not None


def test_free_busy_shows_what_is_in_the_calendar(kit: Kit) -> None:
    if Cap.FREE_BUSY not in kit.backend.capabilities or kit.add_busy is None:
        pytest.skip(f"{kit.backend.name} has no free/busy (checked in test_capabilities_are_declared_and_kept)")
    day = START + timedelta(days=7)
    kit.add_busy(EMPLOYEE.email, day.replace(hour=10), day.replace(hour=11, minute=30))
    busy = kit.backend.free_busy([EMPLOYEE.email, MANAGER.email], day.replace(hour=8), day.replace(hour=16))
    assert set(busy) == {EMPLOYEE.email, MANAGER.email}
    slots = [s for s in busy[EMPLOYEE.email] if s.status != "free"]
    assert slots and slots[0].start <= day.replace(hour=10) and slots[-1].end >= day.replace(hour=11, minute=30)
    assert all(s.start.utcoffset() is not None for s in slots)
    assert [s for s in busy[MANAGER.email] if s.status != "free"] == []


def test_returned_files_are_fetched_and_handled_once(kit: Kit) -> None:
    if Cap.READ_INBOX not in kit.backend.capabilities or kit.add_reply is None:
        pytest.skip(f"{kit.backend.name} reads no mailbox (checked in test_capabilities_are_declared_and_kept)")
    workbook = b"PK\x03\x04 returned \xc3\xa6"
    kit.add_reply(EMPLOYEE.email, "SV: Medarbeidersamtale", [("1001 Åse Kjærstad - forberedelse.xlsx", workbook),
                                                            ("signatur.png", b"\x89PNG")])
    files = list(kit.backend.fetch_files())
    assert [(f.sender.casefold(), f.filename, f.content) for f in files] == [
        (EMPLOYEE.email, "1001 Åse Kjærstad - forberedelse.xlsx", workbook)]
    assert list(kit.backend.fetch_files()) != []  # not moved until handled
    kit.backend.mark_handled(files[0].message_id)
    assert list(kit.backend.fetch_files()) == []


def test_a_second_invite_through_the_backend_sends_nothing(kit: Kit, tmp_path: Path) -> None:
    from folders import make_folder

    workspace = make_folder(tmp_path / "f")
    first = run_invite(workspace, backend=kit.backend)
    assert first.report is not None and len(first.report.delivered) == 4 and not first.report.failed
    count = kit.sent_count()
    assert count >= 4
    again = run_invite(workspace, backend=kit.backend)
    assert again.plan.empty and again.report is None
    assert kit.sent_count() == count


def test_backends_are_found_by_name_from_samtale_toml(tmp_path: Path) -> None:
    from samtale_automation.backends import open_backend

    config = parse_config({"mail": {"backend": "outbox", "mailbox": ORGANIZER.email}})
    backend = open_backend(BackendContext(Folder(tmp_path), config, START))
    assert backend.name == "outbox" and not backend.needs_confirmation
