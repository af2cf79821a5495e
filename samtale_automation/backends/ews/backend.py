"""Invitations, mails, free/busy and returned files through Exchange Web Services (research/mail.md §1).

For on-premises Exchange, through exchangelib (the plumbing in protocol.py, the `[ews]` settings in
samtale_automation/config/ews.py, connecting and explaining failures in connection.py, the requests
themselves in item_requests.py, the probe, free/busy and returned files in mailbox.py; this module
is the backend: which EWS requests each batch of jobs becomes).
Microsoft 365 blocks EWS (by default from 1 October 2026, for good from 1 April 2027): there the
graph backend is the one to use, and `probe()` says so.

How a batch goes (`send_batch`, up to `[ews] chunk_size` jobs), per mailbox:

* meetings the core has no server id for, and mails, are looked up by our tag (the named property
  `{c11ff724-aa03-4555-9952-8fa248a11c3e} samtale-id`, value = the meeting's or mail's key) with
  ONE FindItem; the meetings we know or found are read with ONE GetItem;
* then at most one request of each kind: CreateItem for new meetings (with the prep file inline
  and the invitations sent), UpdateItem for changed meetings (only the changed fields; nothing
  at all when nothing changed, so a job sent again after a crash invites nobody twice), UpdateItem
  with SendToChangedAndSaveCopy for attendees removed from a meeting, CreateItem with
  CancelCalendarItem for cancellations, DeleteItem for appointments without attendees, and
  CreateItem with SendAndSaveCopy for mails (a mail whose tagged copy is already in Sent Items
  is not sent again);
* each item's result is checked: an error for one item is a failure for that job only (550 for
  permanent ones such as ErrorMailRecipientNotFound, 450 for ErrorServerBusy and timeouts).

Retries: `FaultTolerance`-style back-off on ErrorServerBusy (its BackOffMilliseconds) and HTTP 503
(its Retry-After), waiting with the injected `sleep`, at most `[ews] max_wait` seconds without an
answer. A connection lost during a request is not retried (the server may have done it): the job
fails with code 0, and the next run finds the item by its tag. A server that cannot be reached or
refuses the login stops the run with BackendError (exit code 4) naming the setting to fix; the
password (`ews_password`) never appears in a message or a log.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exchangelib import CalendarItem
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_CHANGED_AND_SAVE_COPY

from samtale_automation.backends.batch import BatchBackend
from samtale_automation.backends.ews.connection import EwsConnection, missing_secret
from samtale_automation.backends.ews.constants import SECRET_NAME
from samtale_automation.backends.ews.item_requests import ItemRequests, calendar_item
from samtale_automation.backends.ews.mailbox import EwsMailbox
from samtale_automation.backends.ews.protocol import MailboxAccess, Work, addresses_of
from samtale_automation.config import EwsSettings
from samtale_automation.domain.messages import BusySlot, Cap, Delivery, IncomingFile, Job, Person
from samtale_automation.secrets import get_secret

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext


class EwsBackend(BatchBackend):
    """Meetings, mails, free/busy and returned files in on-premises Exchange, through EWS."""

    name = "ews"
    capabilities: frozenset[Cap] = frozenset(Cap)
    needs_confirmation = True

    def __init__(self, connection: EwsConnection) -> None:
        self.connection = connection
        self.settings = connection.settings
        self.mailbox = connection.mailbox
        self.username = connection.username
        self.batch_size = connection.settings.chunk_size
        self.stats = connection.stats
        for name in ("created", "updated", "unchanged", "cancelled", "removed", "deleted", "mails", "lookups"):
            self.stats.extra[name] = 0
        self.requests = ItemRequests(connection)
        self.reading = EwsMailbox(connection)

    @classmethod
    def connect(cls, settings: EwsSettings, mailbox: Person, secret: str | None = None, *,
                sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> EwsBackend:
        """The backend over a new connection (ConfigError when the password or a needed package is missing)."""
        return cls(EwsConnection(settings, mailbox, secret, sleep=sleep, ssl_context=ssl_context))

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"EwsBackend({self.settings.endpoint}, {self.settings.auth}, {self.username})"

    # ---- sending ------------------------------------------------------------------------------

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Send the jobs with a few requests per mailbox (see the module text); one Delivery per job, in order."""
        works = [Work(index, job) for index, job in enumerate(jobs)]
        for wave in self._waves(works):
            owners: dict[str, list[Work]] = {}
            for work in wave:
                owners.setdefault(self._owner(work.job).casefold(), []).append(work)
            for owner, group in owners.items():
                self._send_group(self.connection.box(owner), group)
        return [work.delivery or Delivery() for work in works]

    @staticmethod
    def _waves(works: list[Work]) -> list[list[Work]]:
        """Jobs for the same meeting go one per wave, in order (a removal first, then the update)."""
        waves: list[list[Work]] = []
        seen: dict[tuple[str, str], int] = {}
        for work in works:
            number = 0
            if work.job.meeting is not None:
                ident = (work.meeting.organizer.email.casefold(), work.key)
                number = seen[ident] = seen.get(ident, -1) + 1
            while len(waves) <= number:
                waves.append([])
            waves[number].append(work)
        return waves

    def _owner(self, job: Job) -> str:
        """The mailbox that holds the meeting, or sends the mail."""
        if job.meeting is not None:
            return job.meeting.organizer.email or self.mailbox.email
        assert job.mail is not None
        return (job.mail.sender or self.mailbox).email

    def _send_group(self, box: MailboxAccess, works: list[Work]) -> None:
        meetings = [w for w in works if w.job.meeting is not None]
        mails = [w for w in works if w.job.mail is not None]
        sent = self.requests.look_up(box, [w for w in meetings if w.remote is None], mails)
        self.requests.read(box, meetings)
        gone = [w for w in meetings if w.gone and not w.looked_up and w.delivery is None]
        if gone:  # known ids that lead nowhere: find the meetings by their tag instead
            self.requests.look_up(box, gone, [])
            self.requests.read(box, gone)
        creates: list[Work] = []
        updates: list[tuple[Work, Any, list[str]]] = []
        removals: list[tuple[Work, Any, list[str]]] = []
        cancels: list[Work] = []
        deletes: list[Work] = []
        for work in meetings:
            if work.delivery is not None:
                continue
            if not work.job.cancel:
                if work.current is None:
                    creates.append(work)
                elif changed := self._changes(box, work):
                    updates.append((work, *changed))
                else:  # already as wanted (sent before a crash, or nothing to change): invite nobody twice
                    self.stats.extra["unchanged"] += 1
                    work.delivery = Delivery(remote_id=work.current.id, change_key=work.current.changekey)
            elif work.current is None:
                work.delivery = Delivery()  # nothing to cancel: gone already (cancelled before a crash)
            elif not self._whole(work):
                item, fields = self._without(box, work)
                if fields:
                    removals.append((work, item, fields))
                else:
                    work.delivery = Delivery(remote_id=work.current.id, change_key=work.current.changekey)
            elif work.current.required_attendees or work.current.optional_attendees or work.current.resources:
                cancels.append(work)
            else:
                deletes.append(work)  # an appointment without attendees (doctor's test item): just delete it
        self.requests.create(box, creates)
        self.requests.update(box, updates, SEND_TO_ALL_AND_SAVE_COPY, "updated")
        self.requests.update(box, removals, SEND_TO_CHANGED_AND_SAVE_COPY, "removed")
        self.requests.cancel(box, cancels)
        self.requests.delete(box, deletes)
        if sent is not None:
            for work in mails:
                if work.delivery is None and work.key in sent:
                    work.delivery = Delivery()  # its tagged copy is in Sent Items: it went out before a crash
            self.requests.send_mails(box, [w for w in mails if w.delivery is None])

    # ---- deciding -----------------------------------------------------------------------------

    def _changes(self, box: MailboxAccess, work: Work) -> tuple[Any, list[str]] | None:
        """The item to write and the fields that differ from the server's; None when nothing does."""
        wanted = calendar_item(box, work.meeting, self.connection.zone)
        current = work.current
        changed = []
        if current.start != wanted.start or current.end != wanted.end:
            changed += ["start", "end"]
        changed += [name for name in ("subject", "location") if (getattr(current, name) or "") !=
                    (getattr(wanted, name) or "")]
        changed += [name for name in ("required_attendees", "resources") if addresses_of(getattr(current, name)) !=
                    addresses_of(getattr(wanted, name))]
        if not changed:
            return None
        # The body explains the change (the core renders it per kind); alone it is no reason to send an update.
        wanted.attachments = []  # the file went with the invitation; an update does not attach it again
        wanted._id = current._id
        return wanted, [*changed, "body"]

    def _whole(self, work: Work) -> bool:
        """A cancellation for everybody, rather than removing some recipients from the meeting."""
        organizer = work.meeting.organizer.email.casefold()
        recipients = {p.email.casefold() for p in work.job.recipients}
        return recipients >= {p.email.casefold() for p in work.meeting.attendees if p.email.casefold() != organizer}

    def _without(self, box: MailboxAccess, work: Work) -> tuple[Any, list[str]]:
        """The server's meeting without the recipients of a removal, and the attendee fields that change."""
        gone = {p.email.casefold() for p in work.job.recipients}
        current = work.current
        item = CalendarItem(account=box.account, folder=box.calendar, _id=current._id)
        fields = []
        for name in ("required_attendees", "optional_attendees", "resources"):
            before = list(getattr(current, name) or ())
            kept = [a for a in before if (a.mailbox.email_address or "").casefold() not in gone]
            setattr(item, name, kept or None)
            if len(kept) != len(before):
                fields.append(name)
        return item, fields

    # ---- the mailbox side (mailbox.py) -----------------------------------------------------------

    def probe(self) -> list[str]:
        """Log in, reach the mailbox's calendar and the reply folder; one line per finding."""
        return self.reading.probe()

    def free_busy(self, people: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusySlot]]:
        """Busy periods per address."""
        return self.reading.free_busy(people, start, end)

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these suffixes in the reply folder's messages; nothing is moved yet."""
        return self.reading.fetch_files(suffixes)

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder."""
        self.reading.mark_handled(message_id)

    def close(self) -> None:
        """Close the connections."""
        self.connection.close()


def create(context: BackendContext) -> EwsBackend:
    """The EWS backend from samtale.toml, with its password; ConfigError when something is missing."""
    settings = context.config.ews
    if settings is None:
        raise context.config.refusal("ews")
    mailbox = context.sending_mailbox()
    secret = get_secret(SECRET_NAME) if settings.needs_password else None
    if settings.needs_password and not secret:
        raise missing_secret()
    return EwsBackend.connect(settings, mailbox, secret, sleep=context.sleep, ssl_context=context.ssl_context)
