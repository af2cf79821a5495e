"""The EWS requests of one mailbox's batch: ONE of each kind, each item's result pinned on its job.

`ItemRequests` is given the backend's EwsConnection. `look_up` finds our tagged meetings and sent
mails (FindItem), `read` reads the meetings we have ids for (GetItem); `create`, `update`, `cancel`,
`delete` and `send_mails` write (CreateItem, UpdateItem, DeleteItem). A per-item error is a failure
for that job only; a request that fails as a whole fails its jobs, unless the settings cannot work
at all: then BackendError stops the run (EwsConnection.fatal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests.adapters
from exchangelib import (
    CalendarItem,
    EWSDateTime,
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
    SEND_TO_NONE,
    CancelCalendarItem,
)
from exchangelib.properties import ReferenceItemId
from exchangelib.restriction import Restriction
from exchangelib.services import FindItem

from samtale_automation.backends.ews.connection import EwsConnection
from samtale_automation.backends.ews.constants import GONE_ERRORS, MEETING_FIELDS, T
from samtale_automation.backends.ews.protocol import (
    MailboxAccess,
    TaggedCreateItem,
    TaggedDeleteItem,
    TaggedUpdateItem,
    Work,
    attendee_entries,
    file_attachment,
    item_body,
    item_code,
)
from samtale_automation.config.ews import MAX_CHUNK_SIZE
from samtale_automation.domain.messages import Delivery, Failure, Job, Meeting


def calendar_item(box: MailboxAccess, meeting: Meeting, zone: Any) -> Any:
    """The meeting as exchangelib's CalendarItem: attendees, the rooms as resources, private, our tag."""
    organizer = meeting.organizer.email
    location = meeting.location or ", ".join(room.name or room.email for room in meeting.rooms)
    return CalendarItem(
        account=box.account, folder=box.calendar, subject=meeting.subject,
        body=item_body(meeting.body_html, meeting.body_text),
        start=EWSDateTime.from_datetime(meeting.start).astimezone(zone),
        end=EWSDateTime.from_datetime(meeting.end).astimezone(zone),
        location=location or None, sensitivity="Private" if meeting.private else "Normal",
        required_attendees=attendee_entries(meeting.attendees, organizer) or None,
        resources=attendee_entries(meeting.rooms, organizer) or None, uid=meeting.uid, samtale_id=meeting.key,
        attachments=[file_attachment(a) for a in meeting.attachments])


class ItemRequests:
    """One EWS request per kind of change for a group of jobs of one mailbox."""

    def __init__(self, connection: EwsConnection) -> None:
        self.connection = connection
        self.stats = connection.stats
        self.mailbox = connection.mailbox

    # ---- looking up ---------------------------------------------------------------------------

    def look_up(self, box: MailboxAccess, meetings: list[Work], mails: list[Work]) -> set[str] | None:
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

    def read(self, box: MailboxAccess, works: list[Work]) -> None:
        """Read the meetings we have an id for with ONE GetItem: fresh change keys, and what to compare."""
        known = [w for w in works if w.delivery is None and w.remote is not None and w.current is None]
        if not known:
            return
        ids = [w.remote for w in known]
        items = self._guarded(known, lambda: list(box.account.fetch(ids=ids, folder=box.calendar,
                                                                    only_fields=list(MEETING_FIELDS))))
        for work, item in self._each(known, items):
            if isinstance(item, Exception) and type(item).__name__ not in GONE_ERRORS:
                work.delivery = self.failed(work.job, item_code(item), item)
            elif isinstance(item, Exception) or item.is_cancelled:  # a cancelled meeting waits in Deleted Items
                work.gone, work.remote = True, None
            else:
                work.current = item

    def create(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE CreateItem for the new meetings: saved in the calendar, invitations (with the file) sent."""
        if not works:
            return
        items = [calendar_item(box, w.meeting, self.connection.zone) for w in works]
        results = self._guarded(works, lambda: list(TaggedCreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.calendar, message_disposition="SaveOnly",
            send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self.failed(work.job, item_code(result), result)
            else:
                self.stats.extra["created"] += 1
                work.delivery = Delivery(remote_id=result.id, change_key=result.changekey)

    def update(self, box: MailboxAccess, updates: list[tuple[Work, Any, list[str]]], send: str, counter: str) -> None:
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
                work.delivery = self.failed(work.job, item_code(result), result)
            else:
                self.stats.extra[counter] += 1
                item_id, change_key = result
                work.delivery = Delivery(remote_id=item_id, change_key=change_key)

    def cancel(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE CreateItem of CancelCalendarItem responses: every attendee gets the cancellation."""
        if not works:
            return
        items = [CancelCalendarItem(account=box.account, reference_item_id=ReferenceItemId(
            id=w.current.id, changekey=w.current.changekey), subject=w.meeting.subject or None,
            new_body=item_body(w.meeting.body_html, w.meeting.body_text or w.job.reason)) for w in works]
        self._send_and_save(box, works, items, "cancelled", keep_id=True)

    def delete(self, box: MailboxAccess, works: list[Work]) -> None:
        """ONE DeleteItem for appointments that have nobody to tell."""
        if not works:
            return
        ids = [(w.current.id, w.current.changekey) for w in works]
        results = self._guarded(works, lambda: list(TaggedDeleteItem(account=box.account, chunk_size=len(ids)).call(
            items=ids, delete_type=HARD_DELETE, send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences="AllOccurrences", suppress_read_receipts=True)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception) and type(result).__name__ not in GONE_ERRORS:
                work.delivery = self.failed(work.job, item_code(result), result)
            else:
                self.stats.extra["deleted"] += 1
                work.delivery = Delivery()

    def send_mails(self, box: MailboxAccess, works: list[Work]) -> None:
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
                work.delivery = self.failed(work.job, item_code(result), result)
            else:
                self.stats.extra[counter] += 1
                work.delivery = Delivery(remote_id=work.current.id if keep_id else None)

    # ---- failures -----------------------------------------------------------------------------

    def failed(self, job: Job, code: int, exc: BaseException) -> Delivery:
        """A failure for every recipient of the job (the owner's mailbox when it has none)."""
        people = job.recipients or ((job.meeting.organizer,) if job.meeting else (self.mailbox,))
        message = self.connection.scrub(f"{type(exc).__name__}: {exc}".strip())
        return Delivery(failures=tuple(Failure(p.email, code, message) for p in people))

    def _each(self, works: list[Work], results: list[Any] | None) -> list[tuple[Work, Any]]:
        """Each job with its item's result; none when the request failed (the jobs have their failures then)."""
        if results is None:
            return []
        if len(results) != len(works):  # never seen from Exchange, but an answer must not be pinned on the wrong job
            problem = EWSError(f"the server answered {len(results)} of {len(works)} items")
            for work in works:
                work.delivery = work.delivery or self.failed(work.job, 0, problem)
            return []
        return list(zip(works, results, strict=True))

    def _guarded(self, works: list[Work], call: Callable[[], T]) -> T | None:
        """Run one request; BackendError when the settings cannot work, else failures for these jobs and None."""
        try:
            return call()
        except (EWSError, requests.RequestException, OSError) as exc:
            fatal = self.connection.fatal(exc)
            if fatal is not None:
                raise fatal from None
            name = type(exc).__name__
            no_answer = name == "ErrorTimeoutExpired" and "Reraised from" in str(exc)
            code = 0 if no_answer else item_code(exc)
            for work in works:
                if work.delivery is None:
                    work.delivery = self.failed(work.job, code, exc)
            return None
