"""Invitations, mails, free/busy and returned files through Exchange Web Services (research/mail.md §1).

For on-premises Exchange, through exchangelib. Microsoft 365 blocks EWS (by default from 1 October
2026, for good from 1 April 2027): there the graph backend is the one to use, and `probe()` says so.

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

import calendar
import contextlib
import datetime as dt
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests.adapters
import urllib3.exceptions
from exchangelib import (
    BASIC,
    DELEGATE,
    GSSAPI,
    IMPERSONATION,
    NTLM,
    SSPI,
    Account,
    Body,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FaultTolerance,
    FileAttachment,
    Folder,
    FolderCollection,
    HTMLBody,
    Mailbox,
    Message,
    Q,
    Version,
)
from exchangelib.errors import EWSError, RateLimitError, UnauthorizedError
from exchangelib.fields import FieldPath, InvalidField
from exchangelib.folders import SHALLOW, Calendar, Inbox, Root, SentItems
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
    Attendee,
    DaylightTime,
    DistinguishedFolderId,
    FolderId,
    FreeBusyViewOptions,
    MailboxData,
    ReferenceItemId,
    StandardTime,
    TimeWindow,
    TimeZone,
)
from exchangelib.protocol import Protocol
from exchangelib.restriction import Restriction
from exchangelib.services import (
    CreateFolder,
    CreateItem,
    DeleteItem,
    FindItem,
    GetAttachment,
    GetUserAvailability,
    MoveItem,
    UpdateItem,
)
from exchangelib.transport import AUTH_TYPE_MAP

from samtale_automation.backends.smtp import read_mailbox
from samtale_automation.errors import BackendError, ConfigError
from samtale_automation.mail_model import (
    BackendStats,
    BusySlot,
    Cap,
    Delivery,
    Failure,
    IncomingFile,
    Job,
    Mail,
    Meeting,
    Person,
)
from samtale_automation.model import OSLO
from samtale_automation.secrets import env_name, get_secret, keyring_command
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext
    from samtale_automation.config import Config

_TOML = "samtale.toml"
AUTH_KINDS = ("ntlm", "basic", "kerberos", "sspi")
ACCESS_KINDS = ("delegate", "impersonation")
SECRET_NAME = "ews_password"
DEFAULT_CHUNK_SIZE = 20
MAX_CHUNK_SIZE = 100  # EWS's own limit per request (exchangelib's CHUNK_SIZE)
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
#: Our tag on every item we create: a named MAPI property, the same one Graph sees.
TAG_PROPERTY_SET = "c11ff724-aa03-4555-9952-8fa248a11c3e"
TAG_NAME = "samtale-id"
#: GetUserAvailability limits: mailboxes per request and days per time window.
FREE_BUSY_MAILBOXES = 100
FREE_BUSY_DAYS = 42
#: Hosts of Microsoft 365, where EWS is blocked (1 Oct 2026) and switched off (1 Apr 2027).
M365_HOSTS = ("outlook.office365.com", "outlook.office.com")
M365_SUFFIXES = (".outlook.com",)
#: What Microsoft 365 answers when EWS is blocked for the tenant or the app.
BLOCKED_MARKERS = ("ews is blocked", "exchangewebservicesdisabled", "ews has been disabled", "ews is disabled",
                   "ewsenabled", "ews access is blocked", "blocked by policy")
_AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "kerberos": GSSAPI, "sspi": SSPI}
_EXTRAS = {"kerberos": ("exchangelib[kerberos]", "requests_gssapi"), "sspi": ("exchangelib[sspi]",
                                                                           "requests_negotiate_sspi")}
#: Per-item errors worth trying again later (SMTP-style 450); any other per-item error is permanent (550).
_TEMPORARY_ERRORS = frozenset({
    "ErrorServerBusy", "ErrorTimeoutExpired", "ErrorTooManyObjectsOpened", "ErrorInternalServerTransientError",
    "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "ErrorConnectionFailed",
    "ErrorBatchProcessingStopped", "ErrorExceededConnectionCount", "ErrorInternalServerError", "RateLimitError",
    "ErrorServerTemporaryError"})
#: Server ids that no longer lead to an item (deleted, or moved with its mailbox): look it up by tag.
_GONE_ERRORS = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId",
                          "ErrorInvalidIdMalformedEwsLegacyIdFormat"})
_BUSY_TYPES = {"Free": "free", "Tentative": "tentative", "Busy": "busy", "OOF": "oof",
               "WorkingElsewhere": "elsewhere", "NoData": "unknown"}
#: The fields we manage on a meeting; an update writes only those that changed.
_MEETING_FIELDS = ("samtale_id", "subject", "start", "end", "location", "required_attendees", "optional_attendees",
                   "resources", "is_cancelled")

_T = TypeVar("_T")


# ---- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EwsSettings:
    """The validated `[ews]` section."""

    endpoint: str  # https://host/EWS/Exchange.asmx (http only for a loopback test server)
    username: str = ""  # DOMAIN\user, UPN or address; empty: the mailbox
    auth: str = "ntlm"  # ntlm | basic | kerberos | sspi
    access: str = "delegate"  # delegate | impersonation
    chunk_size: int = DEFAULT_CHUNK_SIZE
    folder: str = ""  # where replies are read: a folder path below the inbox; empty: the inbox
    done_folder: str = DEFAULT_DONE_FOLDER  # where handled replies go, below the inbox
    version: str = ""  # e.g. "15.2": skips asking the server
    max_wait: float = DEFAULT_MAX_WAIT

    @property
    def host(self) -> str:
        """The server's host name (without port)."""
        return urlsplit(self.endpoint).hostname or ""

    @property
    def needs_password(self) -> bool:
        """NTLM and Basic log in with a password; Kerberos and SSPI use the signed-in Windows user."""
        return self.auth in ("ntlm", "basic")

    @property
    def microsoft_365(self) -> bool:
        """The server is Exchange Online, where EWS is being switched off."""
        host = self.host.casefold()
        return host in M365_HOSTS or host.endswith(M365_SUFFIXES)


def _bad_setting(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(tr(f"Ugyldig verdi for [ews] {key} i {_TOML}: {value!r}.",
                          f"Invalid value for [ews] {key} in {_TOML}: {value!r}."),
                       hint=tr(f"Bruk {allowed}.", f"Use {allowed}."))


def _or(*choices: str) -> str:
    quoted = [f'"{c}"' for c in choices]
    return ", ".join(quoted[:-1]) + " " + tr("eller", "or") + " " + quoted[-1]


def _endpoint(server: str) -> str:
    """The EWS URL from a host name or a full URL; http is accepted for a loopback test server only."""
    example = tr('et vertsnavn som "mail.firma.no", eller hele adressen '
                 '"https://mail.firma.no/EWS/Exchange.asmx"',
                 'a host name such as "mail.firma.no", or the whole address "https://mail.firma.no/EWS/Exchange.asmx"')
    if "://" not in server:
        parts = urlsplit(f"https://{server}")
        if not parts.hostname or parts.path or parts.query or " " in server:
            raise _bad_setting("server", server, example)
        return f"https://{server}/EWS/Exchange.asmx"
    parts = urlsplit(server)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise _bad_setting("server", server, example)
    path = parts.path if parts.path not in ("", "/") else "/EWS/Exchange.asmx"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _folder_path(key: str, value: object, default: str) -> str:
    text = str(value if value is not None else default).strip().strip("/")
    if any(not part.strip() for part in text.split("/")) and text:
        raise _bad_setting(key, value, tr('et mappenavn, eller en sti under innboksen som "Samtaler/Svar"',
                                          'a folder name, or a path below the inbox such as "Samtaler/Svar"'))
    return "/".join(part.strip() for part in text.split("/")) if text else ""


def _version(value: object) -> str:
    text = str(value).strip()
    if not text:
        return ""
    try:
        numbers = [int(part) for part in text.split(".")]
        if not 2 <= len(numbers) <= 4:
            raise ValueError(text)
        Version(build=Build(*numbers))
    except (ValueError, TypeError):
        raise _bad_setting("version", value, tr('Exchange-versjonen som tall, f.eks. "15.2" (Exchange 2019 og SE), '
                                                '"15.1" (2016) eller "15.0" (2013)',
                                                'the Exchange version as numbers, e.g. "15.2" (Exchange 2019 and SE), '
                                                '"15.1" (2016) or "15.0" (2013)')) from None
    return text


def read_settings(config: Config) -> EwsSettings:
    """The `[ews]` settings, with defaults; ConfigError for a missing server or a bad value."""
    raw = (config.raw or {}).get("ews", {})
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    server = str(section.get("server", "")).strip()
    if not server:
        raise ConfigError(tr(f"Exchange-serveren (EWS) er ikke angitt i {_TOML}.",
                             f"The Exchange (EWS) server is not set in {_TOML}."),
                          hint=tr('Sett [ews] server, f.eks. server = "mail.firma.no".',
                                  'Set [ews] server, e.g. server = "mail.firma.no".'))
    auth = section.get("auth", "ntlm")
    if auth not in AUTH_KINDS:
        raise _bad_setting("auth", auth, _or(*AUTH_KINDS))
    access = section.get("access", "delegate")
    if access not in ACCESS_KINDS:
        raise _bad_setting("access", access, _or(*ACCESS_KINDS))
    chunk_size = section.get("chunk_size", DEFAULT_CHUNK_SIZE)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise _bad_setting("chunk_size", chunk_size, tr(f"et helt tall fra 1 til {MAX_CHUNK_SIZE}, f.eks. 20",
                                                        f"a whole number from 1 to {MAX_CHUNK_SIZE}, e.g. 20"))
    max_wait = section.get("max_wait", DEFAULT_MAX_WAIT)
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait <= 0:
        raise _bad_setting("max_wait", max_wait, tr("et antall sekunder, f.eks. 300", "a number of seconds, e.g. 300"))
    done_folder = _folder_path("done_folder", section.get("done_folder"), DEFAULT_DONE_FOLDER)
    if not done_folder:
        raise _bad_setting("done_folder", section.get("done_folder"),
                           tr(f'et mappenavn, f.eks. "{DEFAULT_DONE_FOLDER}"',
                              f'a folder name, e.g. "{DEFAULT_DONE_FOLDER}"'))
    return EwsSettings(endpoint=_endpoint(server), username=str(section.get("username", "")).strip(), auth=auth,
                       access=access, chunk_size=chunk_size, folder=_folder_path("folder", section.get("folder"), ""),
                       done_folder=done_folder, version=_version(section.get("version", "")),
                       max_wait=float(max_wait))


def missing_secret() -> ConfigError:
    """The error for a password that is nowhere to be found."""
    return ConfigError(
        tr(f"Fant ikke Exchange-passordet ({SECRET_NAME}).", f"The Exchange password ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre det i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. På en Windows-PC i domenet kan [ews] auth = "sspi" i {_TOML} '
                "logge inn som den innloggede brukeren uten passord.",
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. On a Windows PC in the domain, [ews] auth = "sspi" in {_TOML} '
                "logs in as the signed-in user without a password."))


def _missing_extra(auth: str) -> ConfigError:
    extra, module = _EXTRAS[auth]
    return ConfigError(
        tr(f'[ews] auth = "{auth}" trenger Python-pakken {module}, som ikke er installert.',
           f'[ews] auth = "{auth}" needs the Python package {module}, which is not installed.'),
        hint=tr(f'Installer den med `pip install "{extra}"`, eller bruk [ews] auth = "ntlm" i {_TOML}. '
                "(Kerberos og SSPI er ikke prøvd mot en ekte server i denne versjonen.)",
                f'Install it with `pip install "{extra}"`, or use [ews] auth = "ntlm" in {_TOML}. '
                "(Kerberos and SSPI have not been tried against a real server in this version.)"))


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


class _CreateItem(CreateItem):  # type: ignore[misc]
    """CreateItem with every per-item error returned, never raised.

    exchangelib raises some per-item errors (ErrorServerBusy, ErrorQuotaExceeded) and then sends the
    whole request again, which would create the other items of the request a second time.
    """

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class _UpdateItem(UpdateItem):  # type: ignore[misc]
    """UpdateItem with every per-item error returned (see _CreateItem)."""

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class _DeleteItem(DeleteItem):  # type: ignore[misc]
    """DeleteItem with every per-item error returned (see _CreateItem)."""

    ERRORS_TO_CATCH_IN_RESPONSE = (EWSError,)


class _Patience(FaultTolerance):  # type: ignore[misc]
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


class _TlsAdapter(requests.adapters.HTTPAdapter):
    """An HTTP adapter verifying with our SSL context: the OS's trusted CAs (a company CA too) or a test CA."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0, pool_block=True)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool with our SSL context."""
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        """A proxy pool with our SSL context."""
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


def _distinguished(account: Any, folder_class: Any, root: Any) -> Any:
    """A well-known folder addressed by name and mailbox: no GetFolder request to find it."""
    return folder_class(root=root, _distinguished_id=DistinguishedFolderId(
        id=folder_class.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=account.primary_smtp_address)))


@dataclass
class _Mailbox:
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


def _is_dns_failure(exc: BaseException) -> bool:
    text = str(exc)
    return any(isinstance(e, socket.gaierror | urllib3.exceptions.NameResolutionError) for e in _cause_chain(exc)) \
        or "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo failed" in text


def _is_refused(exc: BaseException) -> bool:
    return any(isinstance(e, ConnectionRefusedError) for e in _cause_chain(exc)) \
        or "Connection refused" in str(exc) or "actively refused" in str(exc)


def _is_tls_failure(exc: BaseException) -> bool:
    text = str(exc)
    return any(isinstance(e, ssl.SSLError | requests.exceptions.SSLError) for e in _cause_chain(exc)) \
        or "SSLError" in text or "CERTIFICATE_VERIFY_FAILED" in text


def _status(exc: BaseException) -> int:
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
    return _status(exc) == 403 or (type(exc).__name__ == "ErrorAccessDenied" and "ews" in text)


def graph_advice() -> str:
    """What to do when the server is Microsoft 365, where EWS is being switched off."""
    return tr(f"Microsoft 365 slår av EWS (sperret fra 1. oktober 2026, slått av 1. april 2027): bruk "
              f'[mail] backend = "graph" i {_TOML} (se README, «Microsoft 365»).',
              f"Microsoft 365 is switching EWS off (blocked from 1 October 2026, switched off 1 April 2027): "
              f'use [mail] backend = "graph" in {_TOML} (see README, «Microsoft 365»).')


def _item_code(exc: BaseException) -> int:
    return 450 if type(exc).__name__ in _TEMPORARY_ERRORS else 550


def _oslo(value: dt.datetime) -> dt.datetime:
    """A plain datetime in Oslo time (exchangelib's EWSDateTime stays inside this module)."""
    return dt.datetime.fromtimestamp(value.timestamp(), tz=OSLO)


def _emails(attendees: Any) -> frozenset[str]:
    return frozenset(a.mailbox.email_address.casefold() for a in attendees or () if a.mailbox and
                     a.mailbox.email_address)


def _attendees(people: Sequence[Person], organizer: str) -> list[Any]:
    """Attendee entries, each mailbox once and without the organizer (who sends, and gets no invitation)."""
    seen: dict[str, Person] = {}
    for person in people:
        if person.email.casefold() != organizer.casefold():
            seen.setdefault(person.email.casefold(), person)
    return [Attendee(mailbox=Mailbox(name=p.name or None, email_address=p.email), response_type="Unknown")
            for p in seen.values()]


def _body(html: str, text: str) -> Any:
    return HTMLBody(html) if html else Body(text)


def _file(attachment: Any) -> Any:
    return FileAttachment(name=attachment.filename, content=attachment.content, content_type=attachment.mime_type)


@dataclass
class _Work:
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


# ---- the backend ----------------------------------------------------------------------------


class EwsBackend:
    """Meetings, mails, free/busy and returned files in on-premises Exchange, through EWS."""

    name = "ews"
    capabilities: frozenset[Cap] = frozenset(Cap)
    needs_confirmation = True

    def __init__(self, settings: EwsSettings, mailbox: Person, secret: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> None:
        if settings.auth in _EXTRAS and _AUTH_TYPES[settings.auth] not in AUTH_TYPE_MAP:
            raise _missing_extra(settings.auth)
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
        self._mailboxes: dict[str, _Mailbox] = {}
        self._configuration: Any = None
        self._policy = _Patience(settings.max_wait, sleep, self.stats)
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

    # ---- connecting ---------------------------------------------------------------------------

    def _config(self) -> Any:
        if self._configuration is None:
            s = self.settings
            credentials = Credentials(self.username, self._secret) if s.needs_password else None
            version = Version(build=Build(*(int(p) for p in s.version.split(".")))) if s.version else None
            self._configuration = Configuration(service_endpoint=s.endpoint, credentials=credentials,
                                                auth_type=_AUTH_TYPES[s.auth], version=version,
                                                retry_policy=self._policy, max_connections=1)
            # exchangelib keeps one Protocol per endpoint and login for the whole process; ours carries our
            # retry policy (and sleep), so a Protocol left by an earlier backend must not be reused.
            with contextlib.suppress(KeyError):
                del Protocol[self._configuration]
        return self._configuration

    def _box(self, address: str) -> _Mailbox:
        """The mailbox (an Account) for an address, made once; making it sends nothing."""
        key = address.casefold()
        if key not in self._mailboxes:
            access = IMPERSONATION if self.settings.access == "impersonation" else DELEGATE
            account = Account(address, config=self._config(), access_type=access, autodiscover=False,
                              default_timezone=self._zone)
            self._sessions(account.protocol)
            root = Root(account=account, _distinguished_id=DistinguishedFolderId(
                id=Root.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=account.primary_smtp_address)))
            box = _Mailbox(account, _distinguished(account, Calendar, root), _distinguished(account, SentItems, root),
                           _distinguished(account, Inbox, root))
            # Account.root, .calendar, .sent and .inbox would each ask the server (GetFolder) on first use, also
            # inside exchangelib; a well-known folder is addressed by its name and mailbox just as well.
            account.__dict__.update(root=root, calendar=box.calendar, sent=box.sent, inbox=box.inbox)
            self._mailboxes[key] = box
        return self._mailboxes[key]

    def _sessions(self, protocol: Any) -> None:
        """Count the Protocol's sessions (one connection each), and for https verify the server with our SSL
        context: the OS's CAs (where a company CA lives, unlike requests' own list), or a test CA."""
        if getattr(protocol, "_samtale_sessions", False):
            return
        context = self._ssl_context or ssl.create_default_context()
        tls = urlsplit(self.settings.endpoint).scheme == "https"
        make = protocol.raw_session

        def raw_session(prefix: str, **kwargs: Any) -> Any:
            session = make(prefix, **kwargs)
            if tls:
                session.mount(prefix, _TlsAdapter(context))
            self.stats.connections += 1
            return session

        protocol.raw_session = raw_session  # the Protocol makes its sessions through this
        protocol._samtale_sessions = True

    def close(self) -> None:
        """Close the connections and forget the cached Protocol."""
        for box in self._mailboxes.values():
            with contextlib.suppress(Exception):  # closing must never fail a run that worked
                box.account.protocol.close()
        if self._configuration is not None:
            with contextlib.suppress(KeyError):
                del Protocol[self._configuration]
        self._mailboxes.clear()

    # ---- sending ------------------------------------------------------------------------------

    def upsert_meeting(self, meeting: Meeting, recipients: Sequence[Person]) -> Delivery:
        """Create the meeting with invitations, or update the changed fields (the attendees get the update)."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting)])[0]

    def cancel_meeting(self, meeting: Meeting, recipients: Sequence[Person], reason: str = "") -> Delivery:
        """Cancel the meeting for everybody, or remove just these recipients from it."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting, cancel=True, reason=reason)])[0]

    def send_mail(self, mail: Mail) -> Delivery:
        """Send an ordinary e-mail (a copy stays in Sent Items)."""
        return self.send_batch([Job(mail.to, mail=mail)])[0]

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Send the jobs with a few requests per mailbox (see the module text); one Delivery per job, in order."""
        works = [_Work(index, job) for index, job in enumerate(jobs)]
        for wave in self._waves(works):
            owners: dict[str, list[_Work]] = {}
            for work in wave:
                owners.setdefault(self._owner(work.job).casefold(), []).append(work)
            for owner, group in owners.items():
                self._send_group(self._box(owner), group)
        return [work.delivery or Delivery() for work in works]

    @staticmethod
    def _waves(works: list[_Work]) -> list[list[_Work]]:
        """Jobs for the same meeting go one per wave, in order (a removal first, then the update)."""
        waves: list[list[_Work]] = []
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

    def _send_group(self, box: _Mailbox, works: list[_Work]) -> None:
        meetings = [w for w in works if w.job.meeting is not None]
        mails = [w for w in works if w.job.mail is not None]
        sent = self._look_up(box, [w for w in meetings if w.remote is None], mails)
        self._read(box, meetings)
        gone = [w for w in meetings if w.gone and not w.looked_up and w.delivery is None]
        if gone:  # known ids that lead nowhere: find the meetings by their tag instead
            self._look_up(box, gone, [])
            self._read(box, gone)
        creates: list[_Work] = []
        updates: list[tuple[_Work, Any, list[str]]] = []
        removals: list[tuple[_Work, Any, list[str]]] = []
        cancels: list[_Work] = []
        deletes: list[_Work] = []
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

    def _look_up(self, box: _Mailbox, meetings: list[_Work], mails: list[_Work]) -> set[str] | None:
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

    def _read(self, box: _Mailbox, works: list[_Work]) -> None:
        """Read the meetings we have an id for with ONE GetItem: fresh change keys, and what to compare."""
        known = [w for w in works if w.delivery is None and w.remote is not None and w.current is None]
        if not known:
            return
        ids = [w.remote for w in known]
        items = self._guarded(known, lambda: list(box.account.fetch(ids=ids, folder=box.calendar,
                                                                    only_fields=list(_MEETING_FIELDS))))
        for work, item in self._each(known, items):
            if isinstance(item, Exception) and type(item).__name__ not in _GONE_ERRORS:
                work.delivery = self._failed(work.job, _item_code(item), item)
            elif isinstance(item, Exception) or item.is_cancelled:  # a cancelled meeting waits in Deleted Items
                work.gone, work.remote = True, None
            else:
                work.current = item

    # ---- deciding -----------------------------------------------------------------------------

    def _calendar_item(self, box: _Mailbox, meeting: Meeting) -> Any:
        """The meeting as exchangelib's CalendarItem: attendees, the rooms as resources, private, our tag."""
        organizer = meeting.organizer.email
        location = meeting.location or ", ".join(room.name or room.email for room in meeting.rooms)
        return CalendarItem(
            account=box.account, folder=box.calendar, subject=meeting.subject,
            body=_body(meeting.body_html, meeting.body_text),
            start=EWSDateTime.from_datetime(meeting.start).astimezone(self._zone),
            end=EWSDateTime.from_datetime(meeting.end).astimezone(self._zone),
            location=location or None, sensitivity="Private" if meeting.private else "Normal",
            required_attendees=_attendees(meeting.attendees, organizer) or None,
            resources=_attendees(meeting.rooms, organizer) or None, uid=meeting.uid, samtale_id=meeting.key,
            attachments=[_file(a) for a in meeting.attachments])

    def _changes(self, box: _Mailbox, work: _Work) -> tuple[Any, list[str]] | None:
        """The item to write and the fields that differ from the server's; None when nothing does."""
        wanted = self._calendar_item(box, work.meeting)
        current = work.current
        changed = []
        if current.start != wanted.start or current.end != wanted.end:
            changed += ["start", "end"]
        changed += [name for name in ("subject", "location") if (getattr(current, name) or "") !=
                    (getattr(wanted, name) or "")]
        changed += [name for name in ("required_attendees", "resources") if _emails(getattr(current, name)) !=
                    _emails(getattr(wanted, name))]
        if not changed:
            return None
        # The body explains the change (the core renders it per kind); alone it is no reason to send an update.
        wanted.attachments = []  # the file went with the invitation; an update does not attach it again
        wanted._id = current._id
        return wanted, [*changed, "body"]

    def _whole(self, work: _Work) -> bool:
        """A cancellation for everybody, rather than removing some recipients from the meeting."""
        organizer = work.meeting.organizer.email.casefold()
        recipients = {p.email.casefold() for p in work.job.recipients}
        return recipients >= {p.email.casefold() for p in work.meeting.attendees if p.email.casefold() != organizer}

    def _without(self, box: _Mailbox, work: _Work) -> tuple[Any, list[str]]:
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

    def _create(self, box: _Mailbox, works: list[_Work]) -> None:
        """ONE CreateItem for the new meetings: saved in the calendar, invitations (with the file) sent."""
        if not works:
            return
        items = [self._calendar_item(box, w.meeting) for w in works]
        results = self._guarded(works, lambda: list(_CreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.calendar, message_disposition="SaveOnly",
            send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, _item_code(result), result)
            else:
                self.stats.extra["created"] += 1
                work.delivery = Delivery(remote_id=result.id, change_key=result.changekey)

    def _update(self, box: _Mailbox, updates: list[tuple[_Work, Any, list[str]]], send: str, counter: str) -> None:
        """ONE UpdateItem for these meetings, writing only the changed fields."""
        if not updates:
            return
        works = [work for work, _, _ in updates]
        changes = [(item, fields) for _, item, fields in updates]
        results = self._guarded(works, lambda: list(_UpdateItem(account=box.account, chunk_size=len(changes)).call(
            items=changes, conflict_resolution="AutoResolve", message_disposition="SaveOnly",
            send_meeting_invitations_or_cancellations=send, suppress_read_receipts=True)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, _item_code(result), result)
            else:
                self.stats.extra[counter] += 1
                item_id, change_key = result
                work.delivery = Delivery(remote_id=item_id, change_key=change_key)

    def _cancel(self, box: _Mailbox, works: list[_Work]) -> None:
        """ONE CreateItem of CancelCalendarItem responses: every attendee gets the cancellation."""
        if not works:
            return
        items = [CancelCalendarItem(account=box.account, reference_item_id=ReferenceItemId(
            id=w.current.id, changekey=w.current.changekey), subject=w.meeting.subject or None,
            new_body=_body(w.meeting.body_html, w.meeting.body_text or w.job.reason)) for w in works]
        results = self._guarded(works, lambda: list(_CreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.sent, message_disposition=SEND_AND_SAVE_COPY,
            send_meeting_invitations=SEND_TO_NONE)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, _item_code(result), result)
            else:
                self.stats.extra["cancelled"] += 1
                work.delivery = Delivery(remote_id=work.current.id)

    def _delete(self, box: _Mailbox, works: list[_Work]) -> None:
        """ONE DeleteItem for appointments that have nobody to tell."""
        if not works:
            return
        ids = [(w.current.id, w.current.changekey) for w in works]
        results = self._guarded(works, lambda: list(_DeleteItem(account=box.account, chunk_size=len(ids)).call(
            items=ids, delete_type=HARD_DELETE, send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences="AllOccurrences", suppress_read_receipts=True)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception) and type(result).__name__ not in _GONE_ERRORS:
                work.delivery = self._failed(work.job, _item_code(result), result)
            else:
                self.stats.extra["deleted"] += 1
                work.delivery = Delivery()

    def _send_mails(self, box: _Mailbox, works: list[_Work]) -> None:
        """ONE CreateItem with SendAndSaveCopy for the mails (tagged, so a crash cannot send one twice)."""
        if not works:
            return
        items = []
        for work in works:
            mail = work.job.mail
            assert mail is not None
            items.append(Message(account=box.account, folder=box.sent, subject=mail.subject,
                                 body=_body(mail.body_html, mail.body_text),
                                 to_recipients=[Mailbox(name=p.name or None, email_address=p.email) for p in mail.to],
                                 attachments=[_file(a) for a in mail.attachments], samtale_id=mail.key))
        results = self._guarded(works, lambda: list(_CreateItem(account=box.account, chunk_size=len(items)).call(
            items=items, folder=box.sent, message_disposition=SEND_AND_SAVE_COPY,
            send_meeting_invitations=SEND_TO_NONE)))
        for work, result in self._each(works, results):
            if isinstance(result, Exception):
                work.delivery = self._failed(work.job, _item_code(result), result)
            else:
                self.stats.extra["mails"] += 1
                work.delivery = Delivery()

    # ---- failures -----------------------------------------------------------------------------

    def _failed(self, job: Job, code: int, exc: BaseException) -> Delivery:
        """A failure for every recipient of the job (the owner's mailbox when it has none)."""
        people = job.recipients or ((job.meeting.organizer,) if job.meeting else (self.mailbox,))
        message = self._scrub(f"{type(exc).__name__}: {exc}".strip())
        return Delivery(failures=tuple(Failure(p.email, code, message) for p in people))

    def _each(self, works: list[_Work], results: list[Any] | None) -> list[tuple[_Work, Any]]:
        """Each job with its item's result; none when the request failed (the jobs have their failures then)."""
        if results is None:
            return []
        if len(results) != len(works):  # never seen from Exchange, but an answer must not be pinned on the wrong job
            problem = EWSError(f"the server answered {len(results)} of {len(works)} items")
            for work in works:
                work.delivery = work.delivery or self._failed(work.job, 0, problem)
            return []
        return list(zip(works, results, strict=True))

    def _guarded(self, works: list[_Work], call: Callable[[], _T]) -> _T | None:
        """Run one request; BackendError when the settings cannot work, else failures for these jobs and None."""
        try:
            return call()
        except (EWSError, requests.RequestException, OSError) as exc:
            fatal = self._fatal(exc)
            if fatal is not None:
                raise fatal from None
            name = type(exc).__name__
            no_answer = name == "ErrorTimeoutExpired" and "Reraised from" in str(exc)
            code = 0 if no_answer else _item_code(exc)
            for work in works:
                if work.delivery is None:
                    work.delivery = self._failed(work.job, code, exc)
            return None

    def _fatal(self, exc: BaseException) -> BackendError | None:
        """The error to stop the run with, when the settings (or Microsoft 365) cannot work at all."""
        name = type(exc).__name__
        if isinstance(exc, UnauthorizedError) or is_blocked(exc) or _is_tls_failure(exc) or _is_dns_failure(exc):
            return self._explain(exc)
        if name in ("RedirectError", "CASError", "RateLimitError") or _status(exc) in (403, 404, 405):
            return self._explain(exc)  # RateLimitError: busy beyond [ews] max_wait; the next batch would wait too
        if not self._policy.answered and (_is_refused(exc) or name in ("ErrorTimeoutExpired", "TransportError",
                                                                        "MalformedResponseError")):
            return self._explain(exc)  # never got through: not a passing outage
        return None

    def _scrub(self, text: str) -> str:
        """The text without the password, should a server or a library ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    def _explain(self, exc: BaseException) -> BackendError:
        """A Norwegian (or English) error naming the setting to fix; for Microsoft 365, the advice to use graph."""
        error = self._describe(exc)
        if self.settings.microsoft_365 and "graph" not in error.hint:
            error.hint = f"{error.hint} {graph_advice()}".strip()
        return error

    def _describe(self, exc: BaseException) -> BackendError:
        s = self.settings
        host = s.host
        detail = self._scrub(str(exc))[:300] or type(exc).__name__
        name = type(exc).__name__
        if is_blocked(exc):
            return BackendError(tr(f"Exchange-serveren {host} sperrer EWS ({detail}).",
                                   f"The Exchange server {host} blocks EWS ({detail})."), hint=graph_advice())
        hint_nb = f"Kontroller [ews] server i {_TOML} og nettverket."
        hint_en = f"Check [ews] server in {_TOML} and the network."
        if isinstance(exc, UnauthorizedError):
            if s.needs_password:
                hint_nb = (f"Kontroller [ews] username i {_TOML} (DOMENE\\bruker, UPN eller adresse), [ews] auth "
                           f'("{s.auth}") og passordet ({SECRET_NAME}: miljøvariabelen {env_name(SECRET_NAME)} '
                           f"eller `{keyring_command(SECRET_NAME)}`).")
                hint_en = (f"Check [ews] username in {_TOML} (DOMAIN\\user, UPN or address), [ews] auth "
                           f'("{s.auth}") and the password ({SECRET_NAME}: the environment variable '
                           f"{env_name(SECRET_NAME)} or `{keyring_command(SECRET_NAME)}`).")
            else:
                hint_nb = (f'Med [ews] auth = "{s.auth}" logger du inn som den påloggede Windows-brukeren; kontroller '
                           f'at den har tilgang, eller bruk auth = "ntlm" med [ews] username og {SECRET_NAME}.')
                hint_en = (f'With [ews] auth = "{s.auth}" you log in as the signed-in Windows user; check that it has '
                           f'access, or use auth = "ntlm" with [ews] username and {SECRET_NAME}.')
            return BackendError(tr(f"Exchange-serveren {host} godtok ikke innloggingen for «{self.username}» "
                                   f"({s.auth}).", f"The Exchange server {host} refused the login for "
                                   f"«{self.username}» ({s.auth})."), hint=tr(hint_nb, hint_en))
        if _is_dns_failure(exc):
            return BackendError(tr(f"Fant ikke Exchange-serveren «{host}».", f"The Exchange server «{host}» was not "
                                   "found."), hint=tr(f"Rett [ews] server i {_TOML}, og kontroller nettverket.",
                                                      f"Correct [ews] server in {_TOML}, and check the network."))
        if _is_tls_failure(exc):
            return BackendError(
                tr(f"TLS mot Exchange-serveren {host} mislyktes: sertifikatet kunne ikke godkjennes ({detail}).",
                   f"TLS with the Exchange server {host} failed: the certificate could not be verified ({detail})."),
                hint=tr(f"Kontroller [ews] server i {_TOML}: navnet må være det som står i serverens sertifikat, "
                        "og sertifikatutstederen må være godkjent i operativsystemet.",
                        f"Check [ews] server in {_TOML}: the name must be the one in the server's certificate, and "
                        "its issuer must be trusted by the operating system."))
        if _is_refused(exc):
            return BackendError(tr(f"Exchange-serveren {host} avviste tilkoblingen.",
                                   f"The Exchange server {host} refused the connection."),
                                hint=tr(f"Kontroller [ews] server (og eventuelt port) i {_TOML}, og at brannmuren "
                                        "slipper gjennom.", f"Check [ews] server (and any port) in {_TOML}, and that "
                                        "the firewall lets it through."))
        if name in ("RedirectError", "CASError") or _status(exc) in (404, 405):
            return BackendError(tr(f"{s.endpoint} svarer ikke som en EWS-tjeneste ({detail}).",
                                   f"{s.endpoint} does not answer as an EWS service ({detail})."),
                                hint=tr(f'Sett [ews] server i {_TOML} til vertsnavnet ("mail.firma.no") eller hele '
                                        'adressen til EWS, "https://mail.firma.no/EWS/Exchange.asmx".',
                                        f'Set [ews] server in {_TOML} to the host name ("mail.firma.no") or the whole '
                                        'EWS address, "https://mail.firma.no/EWS/Exchange.asmx".'))
        if name == "RateLimitError" or name == "ErrorServerBusy":
            return BackendError(tr(f"Exchange-serveren {host} er opptatt og svarte ikke innen {s.max_wait:g} "
                                   "sekunder.", f"The Exchange server {host} is busy and did not answer within "
                                   f"{s.max_wait:g} seconds."),
                                hint=tr(f"Prøv igjen senere, eller øk [ews] max_wait i {_TOML}.",
                                        f"Try again later, or raise [ews] max_wait in {_TOML}."))
        if name == "ErrorNonExistentMailbox" or name == "ErrorFolderNotFound":
            return BackendError(tr(f"Postkassen {self.mailbox.email} finnes ikke på Exchange-serveren {host} "
                                   f"({detail}).", f"The mailbox {self.mailbox.email} does not exist on the "
                                   f"Exchange server {host} ({detail})."),
                                hint=tr(f"Rett [mail] mailbox i {_TOML}.", f"Correct [mail] mailbox in {_TOML}."))
        if name in ("ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorImpersonationDenied", "ErrorNotDelegate",
                    "ErrorSendAsDenied"):
            access_nb = ("ApplicationImpersonation-rollen" if s.access == "impersonation" else
                         "full tilgang (FullAccess) og «Send som» til postkassen")
            access_en = ("the ApplicationImpersonation role" if s.access == "impersonation" else
                         "full access (FullAccess) and Send As on the mailbox")
            return BackendError(tr(f"«{self.username}» har ikke tilgang til postkassen {self.mailbox.email} "
                                   f"({detail}).", f"«{self.username}» has no access to the mailbox "
                                   f"{self.mailbox.email} ({detail})."),
                                hint=tr(f"Be Exchange-administratoren gi «{self.username}» {access_nb}, eller rett "
                                        f'[ews] access ("delegate" eller "impersonation") i {_TOML}.',
                                        f"Ask the Exchange administrator to give «{self.username}» {access_en}, or "
                                        f'correct [ews] access ("delegate" or "impersonation") in {_TOML}.'))
        return BackendError(tr(f"Kunne ikke bruke Exchange-serveren {host} ({detail}).",
                               f"Could not use the Exchange server {host} ({detail})."), hint=tr(hint_nb, hint_en))

    # ---- checking the connection ----------------------------------------------------------------

    def probe(self) -> list[str]:
        """Log in, reach the mailbox's calendar and the reply folder; one line per finding."""
        s = self.settings
        lines = []
        port = urlsplit(s.endpoint).port or (443 if s.endpoint.startswith("https") else 80)
        try:
            socket.getaddrinfo(s.host, port)
        except socket.gaierror as exc:
            raise self._explain(exc) from None
        box = self._box(self.mailbox.email)
        name = FieldPath(field=Folder.get_field_by_fieldname("name"))
        try:
            found = list(FolderCollection(account=box.account, folders=[box.calendar, box.inbox])
                         .get_folders(additional_fields={name}))
            problem = next((f for f in found if isinstance(f, Exception)), None)
            if problem is not None:
                raise problem
            replies = self._folder(box, s.folder, create=False) if s.folder else box.inbox
            done = self._folder(box, s.done_folder, create=False)
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self._explain(exc) from None
        if replies is None:
            raise BackendError(tr(f"Mappen «{s.folder}» finnes ikke under innboksen til {self.mailbox.email}.",
                                  f"The folder «{s.folder}» does not exist below the inbox of {self.mailbox.email}."),
                               hint=tr(f"Rett [ews] folder i {_TOML}, eller lag mappen i Outlook.",
                                       f"Correct [ews] folder in {_TOML}, or make the folder in Outlook."))
        who = self.username if s.needs_password else tr("den påloggede Windows-brukeren", "the signed-in Windows user")
        version = box.account.version
        lines.append(tr(f"Logget inn på Exchange (EWS) som {who}", f"Logged in to Exchange (EWS) as {who}"))
        lines.append(tr(f"Exchange-versjon: {version.fullname} ({version.build})",
                        f"Exchange version: {version.fullname} ({version.build})"))
        lines.append(tr(f"Postkassen {self.mailbox.email} er tilgjengelig (kalender og innboks)",
                        f"The mailbox {self.mailbox.email} is available (calendar and inbox)"))
        inbox = tr("Innboks", "Inbox")
        where = f"{inbox}/{s.folder}" if s.folder else inbox
        later = tr("finnes", "exists") if done is not None else tr("lages ved første bruk", "made when first used")
        lines.append(tr(f"Svar leses fra «{where}»; behandlede flyttes til «{inbox}/{s.done_folder}» ({later})",
                        f"Replies are read from «{where}»; handled ones move to «{inbox}/{s.done_folder}» ({later})"))
        if s.microsoft_365:
            lines.append(tr("Merk: ", "Note: ") + graph_advice())
        return lines

    # ---- free/busy ----------------------------------------------------------------------------

    def free_busy(self, people: Sequence[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[BusySlot]]:
        """Busy periods per address: one GetUserAvailability per 100 mailboxes and 42 days (no time zone lookup)."""
        result: dict[str, list[BusySlot]] = {person: [] for person in people}
        windows = []
        first = start
        while first < end:
            last = min(end, first + dt.timedelta(days=FREE_BUSY_DAYS))
            windows.append((first, last))
            first = last
        protocol = self._box(self.mailbox.email).account.protocol
        unique = list(dict.fromkeys(people))
        for offset in range(0, len(unique), FREE_BUSY_MAILBOXES):
            chunk = unique[offset:offset + FREE_BUSY_MAILBOXES]
            for window_start, window_end in windows:
                views = self._availability(protocol, chunk, window_start, window_end)
                for person, view in zip(chunk, views, strict=True):
                    if isinstance(view, Exception):
                        continue  # an unknown mailbox, or one we may not see: no busy periods known
                    for event in view.calendar_events or ():
                        slot = BusySlot(_oslo(event.start), _oslo(event.end),
                                        _BUSY_TYPES.get(event.busy_type, "unknown"))
                        if slot not in result[person]:
                            result[person].append(slot)
        for slots in result.values():
            slots.sort(key=lambda slot: (slot.start, slot.end))
        return result

    def _availability(self, protocol: Any, people: list[str], start: dt.datetime, end: dt.datetime) -> list[Any]:
        year = start.astimezone(OSLO).year
        if year not in self._timezones:
            self._timezones[year] = availability_timezone(OSLO, year)
        options = FreeBusyViewOptions(time_window=TimeWindow(start=EWSDateTime.from_datetime(start).astimezone(
            self._zone), end=EWSDateTime.from_datetime(end).astimezone(self._zone)), merged_free_busy_interval=30,
            requested_view="Detailed")
        try:
            return list(GetUserAvailability(protocol=protocol, chunk_size=FREE_BUSY_MAILBOXES).call(
                tzinfo=self._zone, mailbox_data=[MailboxData(email=p, attendee_type="Required", exclude_conflicts=False)
                                           for p in people],
                timezone=self._timezones[year], free_busy_view_options=options))
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self._explain(exc) from None

    # ---- returned files -----------------------------------------------------------------------

    def _folder(self, box: _Mailbox, path: str, *, create: bool) -> Any:
        """A folder by its path below the inbox (FindFolder per level, cached); made when missing and `create`."""
        parent = box.inbox
        parts = path.split("/")
        name_field = FieldPath(field=Folder.get_field_by_fieldname("name"))
        for depth, part in enumerate(parts):
            sub = "/".join(parts[:depth + 1]).casefold()
            if sub not in box.folders:
                found = FolderCollection(account=box.account, folders=[parent]).find_folders(
                    q=Q(name=part), depth=SHALLOW, additional_fields={name_field})
                match = next((f for f in found if not isinstance(f, Exception) and (f.name or "").casefold() ==
                              part.casefold()), None)
                if match is None:
                    if not create:
                        return None
                    made = CreateFolder(account=box.account).get(parent_folder=parent, folders=[
                        Folder(root=box.calendar.root, name=part, folder_class="IPF.Note")])
                    match = Folder(root=box.calendar.root, _id=FolderId(id=made.id, changekey=made.changekey),
                                   name=part)
                box.folders[sub] = match
            parent = box.folders[sub]
        return parent

    def _reply_folder(self, box: _Mailbox) -> Any:
        if not self.settings.folder:
            return box.inbox
        folder = self._folder(box, self.settings.folder, create=False)
        if folder is None:
            raise BackendError(tr(f"Mappen «{self.settings.folder}» finnes ikke under innboksen til "
                                  f"{self.mailbox.email}.", f"The folder «{self.settings.folder}» does not exist "
                                  f"below the inbox of {self.mailbox.email}."),
                               hint=tr(f"Rett [ews] folder i {_TOML}, eller lag mappen i Outlook.",
                                       f"Correct [ews] folder in {_TOML}, or make the folder in Outlook."))
        return folder

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these suffixes in the reply folder's messages (oldest first); nothing is moved yet."""
        wanted = tuple(s.casefold() for s in suffixes)
        box = self._box(self.mailbox.email)
        try:
            folder = self._reply_folder(box)
            messages = [m for m in folder.filter(has_attachments=True).only(
                "subject", "sender", "author", "datetime_received", "attachments").order_by("datetime_received")
                if isinstance(m, Message)]
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self._explain(exc) from None
        files = [(message, attachment) for message in messages for attachment in message.attachments or ()
                 if isinstance(attachment, FileAttachment) and (attachment.name or "").casefold().endswith(wanted)]
        for offset in range(0, len(files), self.settings.chunk_size):
            chunk = files[offset:offset + self.settings.chunk_size]
            try:
                contents = list(GetAttachment(account=box.account, chunk_size=len(chunk)).call(
                    items=[attachment.attachment_id for _, attachment in chunk], include_mime_content=False,
                    body_type=None, filter_html_content=None, additional_fields=None))
            except (EWSError, requests.RequestException, OSError) as exc:
                raise self._explain(exc) from None
            for (message, attachment), content in zip(chunk, contents, strict=True):
                if isinstance(content, Exception) or content.content is None:
                    continue  # gone meanwhile, or unreadable: it stays in the mailbox for the next run
                sender = message.sender or message.author
                received = message.datetime_received
                yield IncomingFile(message_id=message.id, sender=sender.email_address if sender else "",
                                   received=_oslo(received) if received else dt.datetime.now(OSLO),
                                   filename=attachment.name, content=content.content, subject=message.subject or "")

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder (made below the inbox the first time)."""
        box = self._box(self.mailbox.email)
        try:
            done = self._folder(box, self.settings.done_folder, create=True)
            results = list(MoveItem(account=box.account).call(items=[(message_id, None)], to_folder=done))
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self._explain(exc) from None
        problem = next((r for r in results if isinstance(r, Exception)), None)
        if problem is not None and type(problem).__name__ not in _GONE_ERRORS:  # gone: moved already
            raise self._explain(problem)


def create(context: BackendContext) -> EwsBackend:
    """The EWS backend from samtale.toml, with its password; ConfigError when something is missing."""
    settings = read_settings(context.config)
    mailbox = read_mailbox(context.config)
    secret = get_secret(SECRET_NAME) if settings.needs_password else None
    if settings.needs_password and not secret:
        raise missing_secret()
    return EwsBackend(settings, mailbox, secret, sleep=context.sleep, ssl_context=context.ssl_context)
