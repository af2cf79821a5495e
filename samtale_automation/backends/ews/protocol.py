"""The exchangelib plumbing of the ews backend: our tag, the services we call, retries, TLS, one mailbox.

exchangelib's account-level bulk methods re-send a whole chunk on a per-item ErrorServerBusy (which
would create the other items twice), so the backend calls the CreateItem/UpdateItem/DeleteItem
services itself, with our own patience for ErrorServerBusy and HTTP 503.
"""

from __future__ import annotations

import calendar
import datetime as dt
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests.adapters
import urllib3.exceptions
from exchangelib import (
    Body,
    CalendarItem,
    ExtendedProperty,
    FaultTolerance,
    FileAttachment,
    HTMLBody,
    Mailbox,
    Message,
)
from exchangelib.errors import EWSError, RateLimitError, UnauthorizedError
from exchangelib.fields import InvalidField
from exchangelib.properties import (
    Attendee,
    DaylightTime,
    DistinguishedFolderId,
    StandardTime,
    TimeZone,
)
from exchangelib.services import (
    CreateItem,
    DeleteItem,
    UpdateItem,
)

from samtale_automation.backends.ews.constants import (
    BLOCKED_MARKERS,
    TAG_NAME,
    TAG_PROPERTY_SET,
    TEMPORARY_ERRORS,
    TOML,
)
from samtale_automation.domain.messages import (
    BackendStats,
    Delivery,
    Job,
    Meeting,
    Person,
)
from samtale_automation.domain.model import OSLO
from samtale_automation.texts import tr

if TYPE_CHECKING:
    pass


# ---- exchangelib plumbing -------------------------------------------------------------------


class SamtaleId(ExtendedProperty):  # type: ignore[misc]
    """Our tag: the named property that holds a meeting's or a mail's key (findable from Graph too)."""

    property_set_id = TAG_PROPERTY_SET
    property_name = TAG_NAME
    property_type = "String"


def register_tag() -> None:
    """Make `samtale_id` a field of CalendarItem and Message (once; calling again does nothing)."""
    for item_class in (CalendarItem, Message):
        try:
            item_class.get_field_by_fieldname("samtale_id")
        except InvalidField:
            item_class.register("samtale_id", SamtaleId)


class TaggedCreateItem(CreateItem):  # type: ignore[misc]
    """CreateItem with every per-item error returned, never raised.

    exchangelib raises some per-item errors (ErrorServerBusy, ErrorQuotaExceeded) and then sends the
    whole request again, which would create the other items of the request a second time.
    """

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class TaggedUpdateItem(UpdateItem):  # type: ignore[misc]
    """UpdateItem with every per-item error returned (see TaggedCreateItem)."""

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class TaggedDeleteItem(DeleteItem):  # type: ignore[misc]
    """DeleteItem with every per-item error returned (see TaggedCreateItem)."""

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class Patience(FaultTolerance):  # type: ignore[misc]
    """FaultTolerance that waits with an injected sleep, at most `max_wait` seconds without an answer in all.

    exchangelib's FaultTolerance sleeps with time.sleep before the next request and bounds each
    single wait only; here every wait counts against `max_wait` until an answer comes. A 401 before
    the first answer is a refused login (FaultTolerance would retry it as throttling until it gives up).
    """

    def __init__(self, max_wait: float, sleep: Callable[[float], None], stats: BackendStats) -> None:
        super().__init__(max_wait=max_wait)
        self._sleep = sleep
        self._stats = stats
        self._waited = 0.0
        self.answered = False  # a request got through: the login works

    def back_off(self, seconds: float | None) -> None:
        """Wait before the next try, or give up (RateLimitError) once the patience is used up."""
        wait = float(self.DEFAULT_BACKOFF if seconds is None else seconds)
        if self._waited + wait > self.max_wait:
            self._waited = 0.0
            raise RateLimitError("Max timeout reached", wait=wait)
        self._waited += wait
        self._stats.retries += 1
        self._stats.waited_seconds += wait
        self._sleep(wait)

    def raise_response_errors(self, response: Any) -> None:
        """Count the request; a 401 before any answer is a refused login, not throttling."""
        self._stats.requests += 1
        if response.status_code == 401 and not self.answered:
            raise UnauthorizedError(f"Invalid credentials for {response.url}")
        super().raise_response_errors(response)
        self.answered = True  # even a SOAP fault (HTTP 500) shows the login works
        if response.status_code == 200:  # a fault (ErrorServerBusy) is no answer: the patience keeps running
            self._waited = 0.0




def distinguished_folder(account: Any, folder_class: Any, root: Any) -> Any:
    """A well-known folder addressed by name and mailbox: no GetFolder request to find it."""
    return folder_class(root=root, _distinguished_id=DistinguishedFolderId(
        id=folder_class.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=account.primary_smtp_address)))


@dataclass
class MailboxAccess:
    """One mailbox (an exchangelib Account) and its folders, addressed without extra requests."""

    account: Any
    calendar: Any
    sent: Any
    inbox: Any
    folders: dict[str, Any] = field(default_factory=dict)  # path below the inbox → Folder


def availability_timezone(zone: dt.tzinfo, year: int) -> Any:
    """The zone's bias and daylight saving rules for GetUserAvailability, built here instead of asked for.

    exchangelib's get_free_busy_info asks the server with GetServerTimeZones on every call; the
    rules are the same as the server's (and the EWS Managed API builds them locally as well).
    """
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    before = start.astimezone(zone).utcoffset() or dt.timedelta()
    changes: list[tuple[dt.datetime, dt.timedelta, dt.timedelta]] = []
    for hour in range(1, (366 if calendar.isleap(year) else 365) * 24):
        moment = start + dt.timedelta(hours=hour)
        after = moment.astimezone(zone).utcoffset() or dt.timedelta()
        if after != before:
            changes.append((moment, before, after))
            before = after
    minutes = round(before.total_seconds() / 60)
    if len(changes) != 2:  # no daylight saving time: two transitions that change nothing
        rule: dict[str, Any] = {"bias": 0, "time": dt.time(0), "occurrence": 1, "iso_month": 1, "weekday": 7}
        return TimeZone(bias=-minutes, standard_time=StandardTime(**rule), daylight_time=DaylightTime(**rule))

    def transition(moment: dt.datetime, offset: dt.timedelta) -> dict[str, Any]:
        local = (moment + offset).replace(tzinfo=None)  # the wall clock just before the change
        last = local.day + 7 > calendar.monthrange(local.year, local.month)[1]
        return {"time": local.time(), "occurrence": 5 if last else (local.day - 1) // 7 + 1,
                "iso_month": local.month, "weekday": local.isoweekday()}

    (first, first_before, first_after), (second, second_before, _) = changes
    # Into daylight saving time is the change that puts the clock forward (March here, October down under).
    forward, back = ((first, first_before), (second, second_before)) if first_after > first_before else \
        ((second, second_before), (first, first_before))
    standard, daylight = min(first_before, first_after), max(first_before, first_after)
    return TimeZone(bias=-round(standard.total_seconds() / 60),
                    standard_time=StandardTime(bias=0, **transition(*back)),
                    daylight_time=DaylightTime(bias=-round((daylight - standard).total_seconds() / 60),
                                               **transition(*forward)))


def _cause_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and exceptions carried inside (urllib3 keeps its cause in `.reason`)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(e for e in inner if isinstance(e, BaseException))


def is_dns_failure(exc: BaseException) -> bool:
    text = str(exc)
    return any(isinstance(e, socket.gaierror | urllib3.exceptions.NameResolutionError) for e in _cause_chain(exc)) \
        or "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo failed" in text


def is_refused(exc: BaseException) -> bool:
    return any(isinstance(e, ConnectionRefusedError) for e in _cause_chain(exc)) \
        or "Connection refused" in str(exc) or "actively refused" in str(exc)


def is_tls_failure(exc: BaseException) -> bool:
    text = str(exc)
    return any(isinstance(e, ssl.SSLError | requests.exceptions.SSLError) for e in _cause_chain(exc)) \
        or "SSLError" in text or "CERTIFICATE_VERIFY_FAILED" in text


def http_status(exc: BaseException) -> int:
    """The HTTP status exchangelib found unexpected (it only keeps it in the message)."""
    text = str(exc)
    marker = "Code: "
    if type(exc).__name__ == "MalformedResponseError" and marker in text:
        digits = text.split(marker, 1)[1][:3]
        return int(digits) if digits.isdigit() else 0
    return 0


def is_blocked(exc: BaseException) -> bool:
    """Microsoft 365's answer when EWS is blocked or switched off (HTTP 403, or access denied naming EWS)."""
    text = str(exc).casefold()
    if any(marker in text for marker in BLOCKED_MARKERS):
        return True
    return http_status(exc) == 403 or (type(exc).__name__ == "ErrorAccessDenied" and "ews" in text)


def graph_advice() -> str:
    """What to do when the server is Microsoft 365, where EWS is being switched off."""
    return tr(f"Microsoft 365 slår av EWS (sperret fra 1. oktober 2026, slått av 1. april 2027): bruk "
              f'[mail] backend = "graph" i {TOML} (se README, «Microsoft 365»).',
              f"Microsoft 365 is switching EWS off (blocked from 1 October 2026, switched off 1 April 2027): "
              f'use [mail] backend = "graph" in {TOML} (see README, «Microsoft 365»).')


def item_code(exc: BaseException) -> int:
    return 450 if type(exc).__name__ in TEMPORARY_ERRORS else 550


def in_oslo(value: dt.datetime) -> dt.datetime:
    """A plain datetime in Oslo time (exchangelib's EWSDateTime stays inside this module)."""
    return dt.datetime.fromtimestamp(value.timestamp(), tz=OSLO)


def addresses_of(attendees: Any) -> frozenset[str]:
    return frozenset(a.mailbox.email_address.casefold() for a in attendees or () if a.mailbox and
                     a.mailbox.email_address)


def attendee_entries(people: Sequence[Person], organizer: str) -> list[Any]:
    """Attendee entries, each mailbox once and without the organizer (who sends, and gets no invitation)."""
    seen: dict[str, Person] = {}
    for person in people:
        if person.email.casefold() != organizer.casefold():
            seen.setdefault(person.email.casefold(), person)
    return [Attendee(mailbox=Mailbox(name=p.name or None, email_address=p.email), response_type="Unknown")
            for p in seen.values()]


def item_body(html: str, text: str) -> Any:
    return HTMLBody(html) if html else Body(text)


def file_attachment(attachment: Any) -> Any:
    return FileAttachment(name=attachment.filename, content=attachment.content, content_type=attachment.mime_type)


@dataclass
class Work:
    """One job of a batch on its way: the server's item for it, and its result once known."""

    index: int
    job: Job
    remote: tuple[str, str | None] | None = None  # the item's id and change key, known or found by tag
    current: Any = None  # the meeting as the server has it (GetItem), or None
    looked_up: bool = False  # searched by tag already
    gone: bool = False  # the known id leads nowhere (deleted, or moved with the mailbox)
    delivery: Delivery | None = None

    def __post_init__(self) -> None:
        if self.job.meeting is not None and self.job.meeting.remote_id:
            self.remote = (self.job.meeting.remote_id, self.job.meeting.change_key)

    @property
    def meeting(self) -> Meeting:
        """The job's meeting (only for meeting jobs)."""
        assert self.job.meeting is not None
        return self.job.meeting

    @property
    def key(self) -> str:
        """The meeting's or mail's key: the value of our tag."""
        return self.job.key
