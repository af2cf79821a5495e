"""Invitations, mails, free/busy and returned files through Exchange Web Services (research/mail.md §1).

For on-premises Exchange, through exchangelib (the plumbing in ews_protocol.py, the `[ews]` settings
in samtale_automation/config/ews.py, connecting and explaining failures in ews_connection.py, the probe, free/busy and
returned files in ews_mailbox.py; this module is the backend: what each job becomes in EWS requests).
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

import logging
import ssl
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import requests.adapters
from exchangelib import (
    CalendarItem,
    EWSDateTime,
    EWSTimeZone,
    Mailbox,
    Message,
    Q,
)
from exchangelib.errors import EWSError
from exchangelib.fields import FieldPath
from exchangelib.folders import SHALLOW
from exchangelib.items import (
    HARD_DELETE,
    ID_ONLY,
    SEND_AND_SAVE_COPY,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_CHANGED_AND_SAVE_COPY,
    SEND_TO_NONE,
    CancelCalendarItem,
)
from exchangelib.properties import (
    ReferenceItemId,
)
from exchangelib.restriction import Restriction
from exchangelib.services import (
    FindItem,
)
from exchangelib.transport import AUTH_TYPE_MAP

from samtale_automation.backends.batch import BatchBackend
from samtale_automation.backends.ews.connection import EwsConnectionMixin
from samtale_automation.backends.ews.mailbox import EwsMailboxMixin
from samtale_automation.backends.ews.protocol import (
    MailboxAccess,
    Patience,
    TaggedCreateItem,
    TaggedDeleteItem,
    TaggedUpdateItem,
    Work,
    addresses_of,
    attendee_entries,
    file_attachment,
    item_body,
    item_code,
    register_tag,
)
from samtale_automation.backends.ews.settings import (
    AUTH_TYPES,
    EXTRAS,
    GONE_ERRORS,
    MEETING_FIELDS,
    SECRET_NAME,
    T,
    missing_extra,
    missing_secret,
)
from samtale_automation.config import EwsSettings
from samtale_automation.config.ews import MAX_CHUNK_SIZE
from samtale_automation.domain.messages import (
    BackendStats,
    Cap,
    Delivery,
    Failure,
    Job,
    Meeting,
    Person,
)
from samtale_automation.secrets import get_secret

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext


# ---- the backend ----------------------------------------------------------------------------


class EwsBackend(BatchBackend, EwsConnectionMixin, EwsMailboxMixin):
    """Meetings, mails, free/busy and returned files in on-premises Exchange, through EWS."""

    name = "ews"
    capabilities: frozenset[Cap] = frozenset(Cap)
    needs_confirmation = True

    def __init__(self, settings: EwsSettings, mailbox: Person, secret: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> None:
        if settings.auth in EXTRAS and AUTH_TYPES[settings.auth] not in AUTH_TYPE_MAP:
            raise missing_extra(settings.auth)
        if settings.needs_password and not secret:
            raise missing_secret()
        self.settings = settings
        self.mailbox = mailbox
        self.username = settings.username or mailbox.email
        self.batch_size = settings.chunk_size
        self.stats = BackendStats()
        self._secret = secret or ""
        self._ssl_context = ssl_context
        self._zone = EWSTimeZone("Europe/Oslo")
        self._mailboxes: dict[str, MailboxAccess] = {}
        self._configuration: Any = None
        self._policy = Patience(settings.max_wait, sleep, self.stats)
        self._timezones: dict[int, Any] = {}
        for name in ("created", "updated", "unchanged", "cancelled", "removed", "deleted", "mails", "lookups"):
            self.stats.extra[name] = 0
        register_tag()
        # exchangelib logs request headers at DEBUG, and a Basic login header carries the password.
        util_log = logging.getLogger("exchangelib.util")
        if util_log.getEffectiveLevel() < logging.INFO:
            util_log.setLevel(logging.INFO)

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
                self._send_group(self._box(owner), group)
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
        sent = self._look_up(box, [w for w in meetings if w.remote is None], mails)
        self._read(box, meetings)
        gone = [w for w in meetings if w.gone and not w.looked_up and w.delivery is None]
        if gone:  # known ids that lead nowhere: find the meetings by their tag instead
            self._look_up(box, gone, [])
            self._read(box, gone)
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
        self._create(box, creates)
        self._update(box, updates, SEND_TO_ALL_AND_SAVE_COPY, "updated")
        self._update(box, removals, SEND_TO_CHANGED_AND_SAVE_COPY, "removed")
        self._cancel(box, cancels)
        self._delete(box, deletes)
        if sent is not None:
            for work in mails:
                if work.delivery is None and work.key in sent:
                    work.delivery = Delivery()  # its tagged copy is in Sent Items: it went out before a crash
            self._send_mails(box, [w for w in mails if w.delivery is None])

    # ---- looking up ---------------------------------------------------------------------------

    def _look_up(self, box: MailboxAccess, meetings: list[Work], mails: list[Work]) -> set[str] | None:
        """Find our tagged meetings and sent mails with ONE FindItem: the mail keys found, or None when it failed."""
        meetings = [w for w in meetings if w.delivery is None]
        mails = [w for w in mails if w.delivery is None]
        keys = sorted({w.key for w in meetings} | {w.key for w in mails})
        if not keys:
            return set()
        folders = ([box.calendar] if meetings else []) + ([box.sent] if mails else [])
        tag = FieldPath(field=CalendarItem.get_field_by_fieldname("samtale_id"))
        query = Q(samtale_id=keys[0]) if len(keys) == 1 else Q(samtale_id__in=keys)
        # The FindItem service itself: exchangelib's querysets refuse an extended property among the fields
        # FindItem returns (they would add a GetItem), but EWS returns it, and ids alone cannot tell keys apart.
        restriction = Restriction(query, folders=folders, applies_to=Restriction.ITEMS)
        service = FindItem(account=box.account, page_size=MAX_CHUNK_SIZE)
        found = self._guarded(meetings + mails, lambda: list(service.call(
            folders=folders, additional_fields={tag}, restriction=restriction, order_fields=None, shape=ID_ONLY,
            query_string=None, depth=SHALLOW, calendar_view=None, max_items=None, offset=0)))
        if found is None:
            return None
        self.stats.extra["lookups"] += 1
        ids = {item.samtale_id: (item.id, item.changekey) for item in found
               if type(item) is CalendarItem and getattr(item, "samtale_id", None)}
        for work in meetings:
            work.looked_up = True
            work.gone = False
            work.remote = ids.get(work.key)
        return {item.samtale_id for item in found if type(item) is Message and getattr(item, "samtale_id", None)}

    def _read(self, box: MailboxAccess, works: list[Work]) -> None:
        """Read the meetings we have an id for with ONE GetItem: fresh change keys, and what to compare."""
        known = [w for w in works if w.delivery is None and w.remote is not None and w.current is None]
        if not known:
            return
        ids = [w.remote for w in known]
        items = self._guarded(known, lambda: list(box.account.fetch(ids=ids, folder=box.calendar,
                                                                    only_fields=list(MEETING_FIELDS))))
        for work, item in self._each(known, items):
            if isinstance(item, Exception) and type(item).__name__ not in GONE_ERRORS:
                work.delivery = self._failed(work.job, item_code(item), item)
            elif isinstance(item, Exception) or item.is_cancelled:  # a cancelled meeting waits in Deleted Items
                work.gone, work.remote = True, None
            else:
                work.current = item

    # ---- deciding -----------------------------------------------------------------------------

    def _calendar_item(self, box: MailboxAccess, meeting: Meeting) -> Any:
        """The meeting as exchangelib's CalendarItem: attendees, the rooms as resources, private, our tag."""
        organizer = meeting.organizer.email
        location = meeting.location or ", ".join(room.name or room.email for room in meeting.rooms)
        return CalendarItem(
            account=box.account, folder=box.calendar, subject=meeting.subject,
            body=item_body(meeting.body_html, meeting.body_text),
            start=EWSDateTime.from_datetime(meeting.start).astimezone(self._zone),
            end=EWSDateTime.from_datetime(meeting.end).astimezone(self._zone),
            location=location or None, sensitivity="Private" if meeting.private else "Normal",
            required_attendees=attendee_entries(meeting.attendees, organizer) or None,
            resources=attendee_entries(meeting.rooms, organizer) or None, uid=meeting.uid, samtale_id=meeting.key,
            attachments=[file_attachment(a) for a in meeting.attachments])

    def _changes(self, box: MailboxAccess, work: Work) -> tuple[Any, list[str]] | None:
        """The item to write and the fields that differ from the server's; None when nothing does."""
        wanted = self._calendar_item(box, work.meeting)
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

    # ---- writing ------------------------------------------------------------------------------

    def _create(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE CreateItem for the new meetings: saved in the calendar, invitations (with the file) sent."""
        if not works:
            return
        items = [self._calendar_item(box, w.meeting) for w in works]
        results = self._guarded(works, lambda: list(TaggedCreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.calendar, message_disposition="SaveOnly",
            send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, item_code(result), result)
            else:
                self.stats.extra["created"] += 1
                work.delivery = Delivery(remote_id=result.id, change_key=result.changekey)

    def _update(self, box: MailboxAccess, updates: list[tuple[Work, Any, list[str]]], send: str, counter: str) -> None:
        """ONE UpdateItem for these meetings, writing only the changed fields."""
        if not updates:
            return
        works = [work for work, _, _ in updates]
        changes = [(item, fields) for _, item, fields in updates]
        results = self._guarded(works, lambda: list(TaggedUpdateItem(account=box.account, chunk_size=len(changes)).call(
            items=changes, conflict_resolution="AutoResolve", message_disposition="SaveOnly",
            send_meeting_invitations_or_cancellations=send, suppress_read_receipts=True)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, item_code(result), result)
            else:
                self.stats.extra[counter] += 1
                item_id, change_key = result
                work.delivery = Delivery(remote_id=item_id, change_key=change_key)

    def _cancel(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE CreateItem of CancelCalendarItem responses: every attendee gets the cancellation."""
        if not works:
            return
        items = [CancelCalendarItem(account=box.account, reference_item_id=ReferenceItemId(
            id=w.current.id, changekey=w.current.changekey), subject=w.meeting.subject or None,
            new_body=item_body(w.meeting.body_html, w.meeting.body_text or w.job.reason)) for w in works]
        self._send_and_save(box, works, items, "cancelled", keep_id=True)

    def _delete(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE DeleteItem for appointments that have nobody to tell."""
        if not works:
            return
        ids = [(w.current.id, w.current.changekey) for w in works]
        results = self._guarded(works, lambda: list(TaggedDeleteItem(account=box.account, chunk_size=len(ids)).call(
            items=ids, delete_type=HARD_DELETE, send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences="AllOccurrences", suppress_read_receipts=True)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception) and type(result).__name__ not in GONE_ERRORS:
                work.delivery = self._failed(work.job, item_code(result), result)
            else:
                self.stats.extra["deleted"] += 1
                work.delivery = Delivery()

    def _send_mails(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE CreateItem with SendAndSaveCopy for the mails (tagged, so a crash cannot send one twice)."""
        if not works:
            return
        items = []
        for work in works:
            mail = work.job.mail
            assert mail is not None
            items.append(Message(account=box.account, folder=box.sent, subject=mail.subject,
                                 body=item_body(mail.body_html, mail.body_text),
                                 to_recipients=[Mailbox(name=p.name or None, email_address=p.email) for p in mail.to],
                                 attachments=[file_attachment(a) for a in mail.attachments], samtale_id=mail.key))
        self._send_and_save(box, works, items, "mails", keep_id=False)

    def _send_and_save(self, box: MailboxAccess, works: list[Work], items: list[Any], counter: str, *,
                       keep_id: bool) -> None:
        """ONE CreateItem with SendAndSaveCopy (cancellations, mails); each item's result to its job."""
        results = self._guarded(works, lambda: list(TaggedCreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.sent, message_disposition=SEND_AND_SAVE_COPY,
            send_meeting_invitations=SEND_TO_NONE)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, item_code(result), result)
            else:
                self.stats.extra[counter] += 1
                work.delivery = Delivery(remote_id=work.current.id if keep_id else None)

    # ---- failures -----------------------------------------------------------------------------

    def _failed(self, job: Job, code: int, exc: BaseException) -> Delivery:
        """A failure for every recipient of the job (the owner's mailbox when it has none)."""
        people = job.recipients or ((job.meeting.organizer,) if job.meeting else (self.mailbox,))
        message = self._scrub(f"{type(exc).__name__}: {exc}".strip())
        return Delivery(failures=tuple(Failure(p.email, code, message) for p in people))

    def _each(self, works: list[Work], results: list[Any] | None) -> list[tuple[Work, Any]]:
        """Each job with its item's result; none when the request failed (the jobs have their failures then)."""
        if results is None:
            return []
        if len(results) != len(works):  # never seen from Exchange, but an answer must not be pinned on the wrong job
            problem = EWSError(f"the server answered {len(results)} of {len(works)} items")
            for work in works:
                work.delivery = work.delivery or self._failed(work.job, 0, problem)
            return []
        return list(zip(works, results, strict=True))

    def _guarded(self, works: list[Work], call: Callable[[], T]) -> T | None:
        """Run one request; BackendError when the settings cannot work, else failures for these jobs and None."""
        try:
            return call()
        except (EWSError, requests.RequestException, OSError) as exc:
            fatal = self._fatal(exc)
            if fatal is not None:
                raise fatal from None
            name = type(exc).__name__
            no_answer = name == "ErrorTimeoutExpired" and "Reraised from" in str(exc)
            code = 0 if no_answer else item_code(exc)
            for work in works:
                if work.delivery is None:
                    work.delivery = self._failed(work.job, code, exc)
            return None


def create(context: BackendContext) -> EwsBackend:
    """The EWS backend from samtale.toml, with its password; ConfigError when something is missing."""
    settings = context.config.ews
    if settings is None:
        raise context.config.refusal("ews")
    mailbox = context.sending_mailbox()
    secret = get_secret(SECRET_NAME) if settings.needs_password else None
    if settings.needs_password and not secret:
        raise missing_secret()
    return EwsBackend(settings, mailbox, secret, sleep=context.sleep, ssl_context=context.ssl_context)
