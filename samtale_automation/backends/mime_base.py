"""The part outbox and smtp share: turn meetings and mails into iMIP / RFC 5322 messages.

Subclasses only say how a finished message travels (`deliver`): written to files, or sent
over one SMTP connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from email.message import EmailMessage

from samtale_automation.backends import mime
from samtale_automation.domain.messages import (
    CANCEL,
    REQUEST,
    BackendStats,
    BusySlot,
    Cap,
    Delivery,
    IncomingFile,
    Job,
    Mail,
    Meeting,
    NotSupported,
    Person,
    send_one,
)


class MimeBackend:
    """A backend that sends whole MIME messages (iMIP for meetings)."""

    name = "mime"
    capabilities: frozenset[Cap] = frozenset({Cap.INVITE, Cap.UPDATE, Cap.CANCEL, Cap.SEND_MAIL})
    needs_confirmation = True
    batch_size = 1

    def __init__(self, mailbox: Person) -> None:
        self.mailbox = mailbox
        self.stats = BackendStats()

    def deliver(self, message: EmailMessage, recipients: Sequence[Person], *, key: str, label: str) -> Delivery:
        """Carry one finished message to these recipients; `key`/`label` name it (file names, logs)."""
        raise NotImplementedError

    def upsert_meeting(self, meeting: Meeting, recipients: Sequence[Person]) -> Delivery:
        """Send METHOD:REQUEST (create, or update with a higher SEQUENCE) to these recipients."""
        message = mime.meeting_message(meeting, REQUEST, recipients)
        return self.deliver(message, recipients, key=meeting.key, label=f"{meeting.sequence}-{REQUEST}")

    def cancel_meeting(self, meeting: Meeting, recipients: Sequence[Person], reason: str = "") -> Delivery:
        """Send METHOD:CANCEL; listing only some attendees removes just them from the meeting."""
        whole = {p.email.casefold() for p in recipients} >= {p.email.casefold() for p in meeting.attendees}
        message = mime.meeting_message(meeting, CANCEL, recipients, cancel_only=None if whole else recipients)
        return self.deliver(message, recipients, key=meeting.key, label=f"{meeting.sequence}-{CANCEL}")

    def send_mail(self, mail: Mail) -> Delivery:
        """Send an ordinary e-mail from the mailbox."""
        message = mime.mail_message(mail, mail.sender or self.mailbox)
        return self.deliver(message, mail.to, key=mail.key, label="mail")

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """One message after the other (a MIME message goes out on its own anyway)."""
        return [send_one(self, job) for job in jobs]

    def free_busy(self, people: Sequence[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[BusySlot]]:
        """Not available without a calendar server."""
        raise NotSupported(f"{self.name}: free/busy")

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Not available in this backend."""
        raise NotSupported(f"{self.name}: fetch files")

    def mark_handled(self, message_id: str) -> None:
        """Not available in this backend."""
        raise NotSupported(f"{self.name}: fetch files")

    def probe(self) -> list[str]:
        """Nothing to reach."""
        return []

    def close(self) -> None:
        """Nothing to release."""
