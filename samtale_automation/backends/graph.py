"""Invitations, mails, free/busy and returned files through Microsoft Graph (research/mail.md §2).

Tokens come from msal (app-only with a client secret or a certificate, or a delegated device-code
login); every call goes through our own thin `requests` client, `GraphClient`.

How a meeting travels:

* a new meeting is created in the organizer's calendar with a `transactionId` derived from its UID
  and SEQUENCE (a retried POST cannot make a second event) and our extended-property tag
  (`String {c11ff724-…} Name samtale-id` = `Meeting.key`). With a file, the event is created
  without attendees, the file added, and only then are the attendees PATCHed in, so the one
  invitation carries the file;
* an update reads the event first (by `remote_id`, or by the tag when the id is unknown or gone),
  adds a file only if no file of that name is there, and PATCHes just what changed: only the
  attendees when only they changed (Graph then writes to just the added and removed people);
* a whole cancellation is `POST …/cancel`; an appointment without attendees is deleted; removing
  some attendees PATCHes the attendee list without them.

`send_batch` runs the jobs side by side in rounds: every job's next request goes out together,
in `$batch` requests of at most 20 (lookups by tag are merged into one filtered GET per few keys).
100 new invitations with files thus take 3 `$batch` calls per 20 jobs: creates, files, attendees.

Throttling: 429, 503 and 504 are retried, honouring `Retry-After` (else after 1, 4 and 15 s), until
`[graph] max_wait` seconds have been spent waiting for one request; then BackendError (or, inside a
`$batch`, a temporary failure 450 for that job). The client is sequential: one HTTP request at a time
per run, so it stays well within Outlook's limit of 4 concurrent requests per mailbox (Graph itself
runs at most 4 items of a `$batch` in parallel).

Settings: samtale.toml `[graph]` tenant_id, client_id, auth, certificate_path, folder, done_folder,
base_url, authority_host, max_wait, and `[mail] mailbox`. The client secret (`graph_client_secret`)
and the device-code token cache (`graph_token_cache`) live in the environment or the OS keyring, never
in a file, and never appear in a message.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.adapters import HTTPAdapter

from samtale_automation.backends.smtp import read_mailbox
from samtale_automation.errors import BackendError, ConfigError
from samtale_automation.mail_model import (
    Attachment,
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
from samtale_automation.secrets import SERVICE, env_name, get_secret, keyring_command
from samtale_automation.texts import tr

if TYPE_CHECKING:
    import ssl

    from samtale_automation.backends import BackendContext
    from samtale_automation.config import Config

TAG_GUID = "c11ff724-aa03-4555-9952-8fa248a11c3e"
#: The named MAPI property holding `Meeting.key` (the same property the ews backend uses).
TAG_ID = f"String {{{TAG_GUID}}} Name samtale-id"
#: Graph does not take «Europe/Oslo»; this Windows zone has the same rules.
WINDOWS_ZONE = "W. Europe Standard Time"
PREFER = f'outlook.timezone="{WINDOWS_ZONE}", IdType="ImmutableId"'
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_FOLDER = "Inbox"
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
AUTH_KINDS = ("secret", "certificate", "device")
SECRET_NAME = "graph_client_secret"
CACHE_NAME = "graph_token_cache"
#: Requests per `$batch` (Graph's limit).
BATCH_LIMIT = 20
#: A `$batch` body stays under Graph's 4 MB request limit.
BATCH_BODY_LIMIT = 3_500_000
#: Files this large or larger go through an upload session instead of inline `contentBytes`.
INLINE_LIMIT = 3 * 1024 * 1024
#: Upload session ranges: at most 4 MB, a multiple of 320 KiB as the docs ask.
UPLOAD_CHUNK = 10 * 320 * 1024
#: Tag lookups merged into one filtered GET (keeps the URL well under 2 kB).
LOOKUP_KEYS = 8
#: getSchedule takes at most 20 people and a window shorter than 62 days.
SCHEDULE_PEOPLE = 20
SCHEDULE_WINDOW = dt.timedelta(days=61)
RETRY_DELAYS = (1.0, 4.0, 15.0)
THROTTLED = frozenset({429, 503, 504})
TIMEOUT = 60.0
#: Folder names Graph knows without a lookup (and Outlook's Norwegian name for the inbox).
WELL_KNOWN_FOLDERS = {"inbox": "inbox", "innboks": "inbox", "archive": "archive", "arkiv": "archive",
                      "drafts": "drafts", "sentitems": "sentitems", "deleteditems": "deleteditems",
                      "junkemail": "junkemail"}
#: Part size for the token cache in the keyring (Windows Credential Manager holds 2560 bytes of UTF-16).
CACHE_PART = 1000
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_EVENT_SELECT = "id,changeKey,subject,start,end,location,attendees,sensitivity,hasAttachments,isCancelled"
_EVENT_EXPAND = f"attachments($select=id,name),singleValueExtendedProperties($filter=id eq '{TAG_ID}')"
_TOML = "samtale.toml"
_PERMISSIONS = "Calendars.ReadWrite, Mail.Send, Mail.ReadWrite"


# ---- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphSettings:
    """The validated `[graph]` section."""

    tenant_id: str = ""
    client_id: str = ""
    auth: str = "secret"  # secret | certificate | device
    certificate_path: str = ""
    folder: str = DEFAULT_FOLDER
    done_folder: str = DEFAULT_DONE_FOLDER
    base_url: str = DEFAULT_BASE_URL
    authority_host: str = DEFAULT_AUTHORITY_HOST
    max_wait: float = DEFAULT_MAX_WAIT

    @property
    def resource(self) -> str:
        """The Graph host tokens are for (`https://graph.microsoft.com`, or a national cloud's)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def authority(self) -> str:
        """The Entra ID authority URL for the tenant."""
        return f"{self.authority_host}/{self.tenant_id}"


def _bad_setting(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(tr(f"Ugyldig verdi for [graph] {key} i {_TOML}: {value!r}.",
                          f"Invalid value for [graph] {key} in {_TOML}: {value!r}."),
                       hint=tr(f"Bruk {allowed}.", f"Use {allowed}."))


def _missing_setting(key: str, example: str) -> ConfigError:
    return ConfigError(tr(f"[graph] {key} er ikke angitt i {_TOML}.", f"[graph] {key} is not set in {_TOML}."),
                       hint=tr(f"Sett [graph] {key}, f.eks. {key} = \"{example}\" (fra appregistreringen i Entra ID).",
                               f"Set [graph] {key}, e.g. {key} = \"{example}\" (from the app registration in "
                               "Entra ID)."))


def _url_setting(section: dict[str, Any], key: str, default: str, *, loopback_http: bool) -> str:
    value = section.get(key, default)
    text = str(value).strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (loopback_http and parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not (secure and parts.hostname):
        raise _bad_setting(key, value, tr(f'en https-adresse, f.eks. "{default}"',
                                          f'an https address, e.g. "{default}"'))
    return text


def read_settings(config: Config) -> GraphSettings:
    """The `[graph]` settings, with defaults; ConfigError naming the key for a missing or bad value."""
    raw = (config.raw or {}).get("graph", {})
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    auth = section.get("auth", "secret")
    if auth not in AUTH_KINDS:
        raise _bad_setting("auth", auth, '"secret", "certificate" ' + tr("eller", "or") + ' "device"')
    tenant = str(section.get("tenant_id", "")).strip()
    if not tenant:
        raise _missing_setting("tenant_id", "00000000-0000-0000-0000-000000000000")
    if not _TENANT.match(tenant):
        raise _bad_setting("tenant_id", tenant, tr("katalog-ID-en (en GUID) eller domenet, f.eks. "
                                                   "firma.onmicrosoft.com", "the directory ID (a GUID) or the "
                                                   "domain, e.g. firma.onmicrosoft.com"))
    client = str(section.get("client_id", "")).strip()
    if not client:
        raise _missing_setting("client_id", "00000000-0000-0000-0000-000000000000")
    if not _GUID.match(client):
        raise _bad_setting("client_id", client, tr("program-ID-en (klient-ID) fra appregistreringen, en GUID",
                                                   "the application (client) ID from the app registration, a GUID"))
    certificate = str(section.get("certificate_path", "")).strip()
    if auth == "certificate" and not certificate:
        raise ConfigError(tr(f'[graph] auth = "certificate" trenger [graph] certificate_path i {_TOML}.',
                             f'[graph] auth = "certificate" needs [graph] certificate_path in {_TOML}.'),
                          hint=tr("Oppgi PEM-filen med sertifikatet og den private nøkkelen, f.eks. "
                                  'certificate_path = "samtale-app.pem".',
                                  "Give the PEM file holding the certificate and its private key, e.g. "
                                  'certificate_path = "samtale-app.pem".'))
    folders = {}
    for key, default in (("folder", DEFAULT_FOLDER), ("done_folder", DEFAULT_DONE_FOLDER)):
        value = section.get(key, default)
        if not isinstance(value, str) or not value.strip("/ "):
            raise _bad_setting(key, value, tr(f'et mappenavn, f.eks. "{default}"', f'a folder name, e.g. "{default}"'))
        folders[key] = value.strip("/ ")
    max_wait = section.get("max_wait", DEFAULT_MAX_WAIT)
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait <= 0:
        raise _bad_setting("max_wait", max_wait, tr("et antall sekunder, f.eks. 300", "a number of seconds, e.g. 300"))
    return GraphSettings(tenant_id=tenant, client_id=client, auth=auth, certificate_path=certificate,
                         folder=folders["folder"], done_folder=folders["done_folder"],
                         base_url=_url_setting(section, "base_url", DEFAULT_BASE_URL, loopback_http=True),
                         authority_host=_url_setting(section, "authority_host", DEFAULT_AUTHORITY_HOST,
                                                     loopback_http=False),
                         max_wait=float(max_wait))


def missing_secret() -> ConfigError:
    """The error for an app-only login whose client secret is nowhere to be found."""
    return ConfigError(
        tr(f"Fant ikke klienthemmeligheten for Microsoft Graph ({SECRET_NAME}).",
           f"The client secret for Microsoft Graph ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre den i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. Med et sertifikat: sett [graph] auth = "certificate".',
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. With a certificate: set [graph] auth = "certificate".'))


# ---- the HTTP client ------------------------------------------------------------------------------


@dataclass
class Call:
    """One Graph request: `url` relative to the base URL (or absolute, e.g. an upload URL)."""

    method: str
    url: str
    body: Any = None  # JSON
    data: bytes | None = None  # raw bytes (upload ranges)
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True  # False for upload URLs: they carry their own token and refuse ours
    raw: bool = False  # the answer is bytes (`/$value`)
    lookup: tuple[str, str] | None = None  # (mailbox, key): a tag lookup, merged by the runner

    @property
    def batchable(self) -> bool:
        """Whether it can go inside a `$batch` (JSON, relative URL)."""
        return self.auth and not self.raw and self.data is None and not self.url.startswith(("http:", "https:"))

    def size(self) -> int:
        """Roughly how many bytes it adds to a `$batch` body."""
        return len(json.dumps(self.body)) + len(self.url) + 200 if self.body is not None else len(self.url) + 200


@dataclass
class Answer:
    """What Graph answered: status, JSON body (or bytes) and headers (lower-case names)."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (empty when there is none)."""
        return self.body if isinstance(self.body, dict) else {}

    def error(self) -> tuple[str, str]:
        """Graph's error code and message."""
        error = self.json().get("error")
        if isinstance(error, dict):
            return str(error.get("code", "")), str(error.get("message", ""))
        return "", str(self.body)[:200] if isinstance(self.body, str) else ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class _ContextAdapter(HTTPAdapter):
    """An HTTPS adapter trusting a given SSLContext (a private CA in tests or an in-house proxy)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Pools whose TLS uses the given context."""
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        """Proxies whose TLS uses the given context."""
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


def make_session(ssl_context: ssl.SSLContext | None = None) -> requests.Session:
    """A requests session; with `ssl_context`, HTTPS trusts that context instead of the default CAs."""
    session = requests.Session()
    if ssl_context is not None:
        session.mount("https://", _ContextAdapter(ssl_context))
    return session


class GraphClient:
    """A thin synchronous Graph client: one request at a time, retries for throttling, and `$batch`."""

    def __init__(self, token_provider: Callable[[], str], base_url: str = DEFAULT_BASE_URL, *,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = DEFAULT_MAX_WAIT, stats: BackendStats | None = None, timeout: float = TIMEOUT,
                 secrets: Sequence[str] = ()) -> None:
        self.token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.sleep = sleep
        self.max_wait = max_wait
        self.stats = stats or BackendStats()
        self.timeout = timeout
        self._secrets = [s for s in secrets if s]
        self._tokens: list[str] = []
        for key in ("batches", "batched_requests"):
            self.stats.extra.setdefault(key, 0)

    def __repr__(self) -> str:  # no token or secret in reprs
        return f"GraphClient({self.base_url})"

    def scrub(self, text: str) -> str:
        """The text without any secret or token, should a server ever echo one."""
        for secret in [*self._secrets, *self._tokens]:
            text = text.replace(secret, "***")
        return text

    def _token(self) -> str:
        token = self.token_provider()
        if token not in self._tokens:
            self._tokens.append(token)
        return token

    def _delay(self, waited: float, attempt: int, retry_after: float | None) -> float | None:
        """How long to wait before the next try, or None when `max_wait` would be exceeded."""
        delay = retry_after if retry_after is not None else RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
        return None if waited + delay > self.max_wait else delay

    def _pause(self, delay: float) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += delay
        self.sleep(delay)

    def call(self, request: Call) -> Answer:
        """Send one request, retrying throttling and lost connections; the final answer, whatever its status.

        BackendError when Graph cannot be reached, keeps throttling beyond `max_wait`, or rejects the token.
        """
        url = request.url if request.url.startswith(("http:", "https:")) else self.base_url + request.url
        waited, attempt, connection_tries = 0.0, 0, 0
        while True:
            headers = dict(request.headers)
            if request.auth:
                headers.setdefault("Prefer", PREFER)
                headers["Authorization"] = f"Bearer {self._token()}"
            self.stats.requests += 1
            if not self.stats.connections:
                self.stats.connections = 1
            try:
                response = self.session.request(request.method, url, json=request.body, data=request.data,
                                                headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A POST that timed out while waiting for the answer probably arrived: sending it again could
                # send a mail twice (events are safe by their transactionId, but not worth the difference).
                arrived = isinstance(exc, requests.ReadTimeout) and request.method == "POST"
                if arrived or isinstance(exc, requests.exceptions.SSLError) or connection_tries >= len(RETRY_DELAYS):
                    raise self._unreachable(exc) from None
                self._pause(RETRY_DELAYS[connection_tries])
                connection_tries += 1
                continue
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            answer = self._answer(response, raw=request.raw)
            if answer.status in THROTTLED:
                delay = self._delay(waited, attempt, _retry_after(answer.headers))
                if delay is None:
                    raise self._gave_up(answer, waited)
                self._pause(delay)
                waited += delay
                attempt += 1
                continue
            if answer.status == 401 and request.auth:
                raise self._rejected(answer)
            return answer

    @staticmethod
    def _answer(response: Any, *, raw: bool) -> Answer:
        headers = {k.lower(): v for k, v in response.headers.items()}
        body: Any = None
        if raw and 200 <= response.status_code < 300:
            body = response.content
        elif response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        return Answer(response.status_code, body, headers)

    def batch(self, calls: Sequence[Call]) -> list[Answer]:
        """Send the calls, in `$batch` requests of ≤ 20 where possible; one answer per call, in order.

        Inner 429/503/504 answers are retried together after the longest `Retry-After` among them; those
        still throttled when `max_wait` is spent keep their last (throttled) answer.
        """
        answers: list[Answer | None] = [None] * len(calls)
        todo = list(range(len(calls)))
        waited, attempt = 0.0, 0
        while todo:
            throttled: list[int] = []
            longest: float | None = None
            for group in self._groups(todo, calls):
                if len(group) == 1:
                    answers[group[0]] = self.call(calls[group[0]])
                    continue
                for index, answer in zip(group, self._send_batch([calls[i] for i in group]), strict=True):
                    answers[index] = answer
                    if answer.status in THROTTLED:
                        throttled.append(index)
                        after = _retry_after(answer.headers)
                        if after is not None:
                            longest = after if longest is None else max(longest, after)
            if not throttled:
                break
            delay = self._delay(waited, attempt, longest)
            if delay is None:
                break
            self._pause(delay)
            waited += delay
            attempt += 1
            todo = throttled
        return [a if a is not None else Answer(0) for a in answers]

    def _groups(self, todo: list[int], calls: Sequence[Call]) -> Iterator[list[int]]:
        """The calls in `$batch`-sized groups: ≤ 20 requests and < 4 MB each; others alone."""
        if len(todo) == 1:
            yield todo
            return
        group: list[int] = []
        size = 0
        for index in todo:
            call = calls[index]
            if not call.batchable or call.size() > BATCH_BODY_LIMIT:
                yield [index]
                continue
            if group and (len(group) == BATCH_LIMIT or size + call.size() > BATCH_BODY_LIMIT):
                yield group
                group, size = [], 0
            group.append(index)
            size += call.size()
        if group:
            yield group

    def _send_batch(self, calls: list[Call]) -> list[Answer]:
        requests_ = []
        for number, call in enumerate(calls):
            inner: dict[str, Any] = {"id": str(number), "method": call.method, "url": call.url,
                                     "headers": {"Prefer": PREFER, **call.headers}}
            if call.body is not None:
                inner["body"] = call.body
                inner["headers"]["Content-Type"] = "application/json"
            requests_.append(inner)
        self.stats.extra["batches"] += 1
        self.stats.extra["batched_requests"] += len(calls)
        outer = self.call(Call("POST", "/$batch", {"requests": requests_}))
        if not outer.ok:
            return [outer for _ in calls]  # the whole batch refused: each job fails with that answer
        by_id = {str(r.get("id")): r for r in outer.json().get("responses", []) if isinstance(r, dict)}
        answers = []
        for number in range(len(calls)):
            inner_answer = by_id.get(str(number))
            if inner_answer is None:
                answers.append(Answer(502, {"error": {"code": "MissingResponse", "message": "no answer in $batch"}}))
                continue
            headers = {str(k).lower(): str(v) for k, v in (inner_answer.get("headers") or {}).items()}
            answer = Answer(int(inner_answer.get("status", 0)), inner_answer.get("body"), headers)
            if answer.status == 401:
                raise self._rejected(answer)
            answers.append(answer)
        return answers

    # ---- errors -------------------------------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> BackendError:
        detail = self.scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, requests.exceptions.SSLError):
            return BackendError(
                tr(f"Sertifikatet til Microsoft Graph ({self.base_url}) kunne ikke godkjennes ({detail}).",
                   f"The certificate of Microsoft Graph ({self.base_url}) could not be verified ({detail})."),
                hint=tr(f"Kontroller [graph] base_url i {_TOML} og en eventuell proxy som bryter opp TLS.",
                        f"Check [graph] base_url in {_TOML} and any proxy that intercepts TLS."))
        return BackendError(
            tr(f"Fikk ikke kontakt med Microsoft Graph ({self.base_url}): {detail}.",
               f"Could not reach Microsoft Graph ({self.base_url}): {detail}."),
            hint=tr(f"Kontroller nettverket og [graph] base_url i {_TOML} (standard {DEFAULT_BASE_URL}).",
                    f"Check the network and [graph] base_url in {_TOML} (default {DEFAULT_BASE_URL})."))

    def _gave_up(self, answer: Answer, waited: float) -> BackendError:
        code, message = answer.error()
        return BackendError(
            tr(f"Microsoft Graph struper forespørslene ({answer.status} {code}); ga opp etter å ha ventet "
               f"{waited:.0f} sekunder.",
               f"Microsoft Graph throttles the requests ({answer.status} {code}); gave up after waiting "
               f"{waited:.0f} seconds."),
            hint=tr(f"Kjør kommandoen igjen senere (det som er sendt, er registrert), eller øk [graph] max_wait i "
                    f"{_TOML}. {self.scrub(message)}".rstrip(),
                    f"Run the command again later (what was sent is recorded), or raise [graph] max_wait in "
                    f"{_TOML}. {self.scrub(message)}".rstrip()))

    def _rejected(self, answer: Answer) -> BackendError:
        code, message = answer.error()
        return BackendError(
            tr(f"Microsoft Graph godtok ikke tilgangstokenet ({code}: {self.scrub(message)}).",
               f"Microsoft Graph did not accept the access token ({code}: {self.scrub(message)})."),
            hint=tr(f"Kontroller [graph] tenant_id og client_id i {_TOML}, at appen har fått administratorsamtykke, "
                    f"og at [graph] base_url hører til samme sky som authority_host.",
                    f"Check [graph] tenant_id and client_id in {_TOML}, that the app has admin consent, and that "
                    "[graph] base_url belongs to the same cloud as authority_host."))


# ---- time and JSON shapes -------------------------------------------------------------------------


def graph_time(moment: dt.datetime) -> dict[str, str]:
    """An aware datetime as Graph's dateTimeTimeZone in Norwegian local time (Windows zone name)."""
    local = moment.astimezone(OSLO).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": WINDOWS_ZONE}


def parse_graph_time(value: Mapping[str, Any]) -> dt.datetime:
    """Graph's dateTimeTimeZone (7 decimals, a Windows or IANA zone) as an aware datetime in Oslo."""
    text = str(value.get("dateTime", ""))
    if "." in text:
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction.rstrip('Z')[:6]}"
    moment = dt.datetime.fromisoformat(text.rstrip("Z"))
    if moment.tzinfo is None:
        zone_name = str(value.get("timeZone") or "UTC")
        zone: dt.tzinfo
        if zone_name in (WINDOWS_ZONE, "Romance Standard Time", "Central Europe Standard Time"):
            zone = OSLO  # the same rules as Oslo
        elif zone_name in ("UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
            zone = dt.UTC
        else:
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = dt.UTC
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(OSLO)


def transaction_id(meeting: Meeting) -> str:
    """The create's `transactionId`: the same UID and SEQUENCE give the same id, so a retry is no duplicate."""
    return str(uuid.uuid5(uuid.UUID(TAG_GUID), f"{meeting.uid}#{meeting.sequence}"))


def _odata(text: str) -> str:
    return text.replace("'", "''")


def tag_filter(keys: Sequence[str]) -> str:
    """The `$filter` finding our events by their tag value(s)."""
    return " or ".join(f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_ID}' and ep/value eq '{_odata(k)}')"
                       for k in keys)


def _query(path: str, params: Mapping[str, str]) -> str:
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={quote(v, safe=',()=:/@')}" for k, v in params.items())


def _box(address: str) -> str:
    return f"/users/{quote(address, safe='@')}"


def _address(person: Mapping[str, Any]) -> str:
    email = person.get("emailAddress")
    return str(email.get("address", "")) if isinstance(email, dict) else ""


def _tag_value(event: Mapping[str, Any]) -> str | None:
    for prop in event.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and str(prop.get("id", "")).casefold() == TAG_ID.casefold():
            return str(prop.get("value", ""))
    return None


def _file_attachment(attachment: Attachment) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.fileAttachment", "name": attachment.filename,
            "contentType": attachment.mime_type, "contentBytes": base64.b64encode(attachment.content).decode("ascii")}


def _body(text: str, html_text: str) -> dict[str, str]:
    if html_text:
        return {"contentType": "HTML", "content": html_text}
    return {"contentType": "Text", "content": text}


def _recipient(person: Person) -> dict[str, Any]:
    return {"emailAddress": {"address": person.email, "name": person.name or person.email}}


def _failure_code(status: int) -> int:
    """SMTP-style: 450 for what may pass (throttling, server trouble, conflicts), 550 for a refusal."""
    return 450 if status in THROTTLED or status >= 500 or status in (0, 408, 409, 412, 423) else 550


Flow = Generator[list[Call], list[Answer], Delivery]


# ---- the backend ----------------------------------------------------------------------------------


class GraphBackend:
    """Meetings, mails, free/busy and returned files in Exchange Online through Microsoft Graph."""

    name = "graph"
    capabilities: frozenset[Cap] = frozenset(Cap)
    needs_confirmation = True
    batch_size = 20

    def __init__(self, mailbox: Person, client: GraphClient, settings: GraphSettings | None = None, *,
                 login: Callable[[], str] | None = None) -> None:
        self.mailbox = mailbox
        self.client = client
        self.settings = settings or GraphSettings(base_url=client.base_url)
        self.stats = client.stats
        self.stats.extra.setdefault("free_busy_errors", 0)
        #: Notes for the summary (per-person free/busy errors); never secrets.
        self.notes: list[str] = []
        self._login = login
        self._folders: dict[str, str] = {}

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"GraphBackend({self.mailbox.email}, {self.settings.auth}, {self.client.base_url})"

    # ---- the single-item methods ----------------------------------------------------------------

    def upsert_meeting(self, meeting: Meeting, recipients: Sequence[Person]) -> Delivery:
        """Create the event (invitations go out), or bring it up to date (updates go out)."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting)])[0]

    def cancel_meeting(self, meeting: Meeting, recipients: Sequence[Person], reason: str = "") -> Delivery:
        """Cancel the event for everyone, or remove just these recipients; an appointment is deleted."""
        return self.send_batch([Job(tuple(recipients), meeting=meeting, cancel=True, reason=reason)])[0]

    def send_mail(self, mail: Mail) -> Delivery:
        """Send an ordinary e-mail from the mailbox (`sendMail`; a draft and upload sessions for big files)."""
        return self.send_batch([Job(mail.to, mail=mail)])[0]

    # ---- batches ------------------------------------------------------------------------------

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Run the jobs side by side in rounds of `$batch` requests; one Delivery per job, in order."""
        return self._run([job.key for job in jobs], [functools.partial(self._flow, job) for job in jobs])

    def _flow(self, job: Job) -> Flow:
        """The steps of one job (a generator: it yields the requests of each round and gets their answers)."""
        if job.mail is not None:
            return (yield from self._mail_flow(job.mail))
        if job.meeting is None:
            return Delivery()
        if job.cancel:
            return (yield from self._cancel_flow(job.meeting, job.recipients, job.reason))
        return (yield from self._upsert_flow(job.meeting, job.recipients))

    def _run(self, keys: list[str], makers: list[Callable[[], Flow]]) -> list[Delivery]:
        """Advance every job's flow one round at a time; jobs for the same key run one after the other."""
        results: list[Delivery | None] = [None] * len(makers)
        active: dict[int, tuple[Flow, list[Call]]] = {}
        waiting = list(range(len(makers)))

        def start_free() -> None:
            # A job waits while an earlier job for the same key is unfinished (a removal before its update).
            started = True
            while started:
                started = False
                for index in list(waiting):
                    key = keys[index]
                    if key and (any(keys[i] == key for i in active)
                                or any(keys[w] == key for w in waiting if w < index)):
                        continue
                    waiting.remove(index)
                    flow = makers[index]()
                    try:
                        active[index] = (flow, next(flow))
                    except StopIteration as stop:
                        results[index] = stop.value
                        started = True
                        break

        start_free()
        while active:
            order = sorted(active)
            calls = [call for index in order for call in active[index][1]]
            answers = self._execute(calls)
            position = 0
            for index in order:
                flow, pending = active[index]
                mine = answers[position:position + len(pending)]
                position += len(pending)
                try:
                    active[index] = (flow, flow.send(mine))
                except StopIteration as stop:
                    results[index] = stop.value
                    del active[index]
            start_free()
        return [r if r is not None else Delivery() for r in results]

    def _execute(self, calls: list[Call]) -> list[Answer]:
        """One round: tag lookups merged into filtered GETs, the rest through `GraphClient.batch`."""
        answers: list[Answer | None] = [None] * len(calls)
        lookups: dict[str, list[int]] = {}
        others = []
        for index, call in enumerate(calls):
            if call.lookup is not None:
                lookups.setdefault(call.lookup[0].casefold(), []).append(index)
            else:
                others.append(index)
        for indexes in lookups.values():
            mailbox = calls[indexes[0]].lookup[0]  # type: ignore[index]
            keys = list(dict.fromkeys(calls[i].lookup[1] for i in indexes))  # type: ignore[index]
            found = self._lookup(mailbox, keys)
            for index in indexes:
                key = calls[index].lookup[1]  # type: ignore[index]
                answers[index] = found if isinstance(found, Answer) else Answer(200, {"value": found.get(key, [])})
        for index, answer in zip(others, self.client.batch([calls[i] for i in others]), strict=True):
            answers[index] = answer
        return [a if a is not None else Answer(0) for a in answers]

    def _lookup(self, mailbox: str, keys: list[str]) -> dict[str, list[dict[str, Any]]] | Answer:
        """Our events by tag value, a few keys per GET; the failing answer if Graph refuses."""
        found: dict[str, list[dict[str, Any]]] = {}
        for first in range(0, len(keys), LOOKUP_KEYS):
            chunk = keys[first:first + LOOKUP_KEYS]
            events = self._events_matching(mailbox, chunk)
            if isinstance(events, Answer) and events.status == 400 and len(chunk) > 1:
                # A server that will not take OR-ed lambda filters: one documented filter per key instead.
                answers = self.client.batch([self._lookup_call(mailbox, [key]) for key in chunk])
                events = []
                for answer in answers:
                    if not answer.ok:
                        return answer
                    events.extend(answer.json().get("value", []))
            if isinstance(events, Answer):
                return events
            wanted = {k.casefold(): k for k in chunk}
            for event in events:
                value = _tag_value(event)
                key = wanted.get((value or "").casefold())
                if key is not None and not event.get("isCancelled"):
                    found.setdefault(key, []).append(event)
        return found

    def _lookup_call(self, mailbox: str, keys: Sequence[str]) -> Call:
        return Call("GET", _query(f"{_box(mailbox)}/events", {"$filter": tag_filter(keys), "$select": _EVENT_SELECT,
                                                              "$expand": _EVENT_EXPAND, "$top": "50"}))

    def _events_matching(self, mailbox: str, keys: Sequence[str]) -> list[dict[str, Any]] | Answer:
        events: list[dict[str, Any]] = []
        call = self._lookup_call(mailbox, keys)
        while True:
            answer = self.client.call(call)
            if not answer.ok:
                return answer
            events.extend(e for e in answer.json().get("value", []) if isinstance(e, dict))
            next_link = answer.json().get("@odata.nextLink")
            if not next_link:
                return events
            call = Call("GET", str(next_link))

    # ---- meetings -----------------------------------------------------------------------------

    def _attendees(self, meeting: Meeting) -> list[dict[str, Any]]:
        organizer = meeting.organizer.email.casefold()
        seen: set[str] = set()
        result = []
        for kind, people in (("required", meeting.attendees), ("resource", meeting.rooms)):
            for person in people:
                email = person.email.casefold()
                if email == organizer or email in seen:
                    continue  # the organizer holds the event; nobody twice
                seen.add(email)
                result.append({**_recipient(person), "type": kind})
        return result

    @staticmethod
    def _location(meeting: Meeting) -> dict[str, Any]:
        location: dict[str, Any] = {"displayName": meeting.location or (meeting.rooms[0].name if meeting.rooms else "")}
        if meeting.rooms:
            location["locationEmailAddress"] = meeting.rooms[0].email
            location["locationType"] = "conferenceRoom"
        return location

    def _event_body(self, meeting: Meeting, *, with_attendees: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": meeting.subject,
            "body": _body(meeting.body_text, meeting.body_html),
            "start": graph_time(meeting.start),
            "end": graph_time(meeting.end),
            "sensitivity": "private" if meeting.private else "normal",
            "transactionId": transaction_id(meeting),
            "singleValueExtendedProperties": [{"id": TAG_ID, "value": meeting.key}],
        }
        if meeting.location or meeting.rooms:
            body["location"] = self._location(meeting)
        if with_attendees:
            body["attendees"] = self._attendees(meeting)
        return body

    def _changes(self, meeting: Meeting, event: Mapping[str, Any], *, pushed: bool) -> dict[str, Any]:
        """The PATCH bringing the event up to date: only the attendees when only they changed."""
        patch: dict[str, Any] = {}
        if parse_graph_time(event.get("start") or {}) != meeting.start:
            patch["start"] = graph_time(meeting.start)
        if parse_graph_time(event.get("end") or {}) != meeting.end:
            patch["end"] = graph_time(meeting.end)
        location = self._location(meeting)
        current = event.get("location") or {}
        if (str(current.get("displayName") or ""), str(current.get("locationEmailAddress") or "").casefold()) != (
                location["displayName"], str(location.get("locationEmailAddress", "")).casefold()):
            patch["location"] = location
        if str(event.get("subject") or "") != meeting.subject:
            patch["subject"] = meeting.subject
        sensitivity = "private" if meeting.private else "normal"
        if str(event.get("sensitivity") or "normal") != sensitivity:
            patch["sensitivity"] = sensitivity
        if _tag_value(event) is None and "singleValueExtendedProperties" in event:
            patch["singleValueExtendedProperties"] = [{"id": TAG_ID, "value": meeting.key}]
        if patch or pushed:
            # Something attendees see changed (or a new file must reach them): send the whole text along.
            patch.update(subject=meeting.subject, body=_body(meeting.body_text, meeting.body_html))
        wanted = self._attendees(meeting)
        have = {(_address(a).casefold(), str(a.get("type", "required"))) for a in event.get("attendees") or []}
        if have != {(a["emailAddress"]["address"].casefold(), a["type"]) for a in wanted}:
            patch["attendees"] = wanted
        return patch

    def _get_event(self, mailbox: str, event_id: str) -> Call:
        return Call("GET", _query(f"{_box(mailbox)}/events/{quote(event_id, safe='')}",
                                  {"$select": _EVENT_SELECT, "$expand": _EVENT_EXPAND}))

    def _find_event(self, meeting: Meeting) -> Generator[list[Call], list[Answer], dict[str, Any] | Answer | None]:
        """The event by `remote_id`, else (unknown or gone) by its tag; None when there is none."""
        mailbox = meeting.organizer.email
        if meeting.remote_id:
            [answer] = yield [self._get_event(mailbox, meeting.remote_id)]
            if answer.ok:
                event = answer.json()
                if not event.get("isCancelled"):
                    return event
            elif answer.status != 404:
                return answer
        [answer] = yield [Call("GET", "", lookup=(mailbox, meeting.key))]
        if not answer.ok:
            return answer
        found = answer.json().get("value") or []
        if len(found) > 1:
            self.stats.extra["duplicates_found"] = self.stats.extra.get("duplicates_found", 0) + len(found) - 1
        return found[0] if found else None

    def _failed(self, people: Sequence[Person], fallback: Person, answer: Answer, *, remote_id: str | None = None,
                change_key: str | None = None) -> Delivery:
        """Every recipient failed with Graph's answer (the organizer stands in when there are none)."""
        code, message = answer.error()
        text = f"{answer.status} {code}: {self.client.scrub(message)}".strip()
        if answer.status == 403:
            text += " " + tr(f"(appen mangler tilgang til postkassen: {_PERMISSIONS})",
                             f"(the app lacks access to the mailbox: {_PERMISSIONS})")
        smtp_code = _failure_code(answer.status)
        targets = list({p.email.casefold(): p for p in people}.values()) or [fallback]
        return Delivery(failures=tuple(Failure(p.email, smtp_code, text) for p in targets), remote_id=remote_id,
                        change_key=change_key)

    def _upsert_flow(self, meeting: Meeting, recipients: Sequence[Person]) -> Flow:
        mailbox = meeting.organizer.email
        found = yield from self._find_event(meeting)
        if isinstance(found, Answer):
            return self._failed(recipients, meeting.organizer, found, remote_id=meeting.remote_id)
        event = found
        if event is None:
            # The attendees come after the files, so that the one invitation carries them.
            [answer] = yield [Call("POST", f"{_box(mailbox)}/events",
                                   self._event_body(meeting, with_attendees=not meeting.attachments))]
            if not answer.ok:
                return self._failed(recipients, meeting.organizer, answer)
            event = answer.json()
        event_id = str(event.get("id", ""))
        change_key = str(event.get("changeKey") or "") or None
        if meeting.attachments:
            names: set[str] | None = None
            if isinstance(event.get("attachments"), list):
                names = {str(a.get("name", "")) for a in event["attachments"] if isinstance(a, dict)}
            elif not event.get("hasAttachments"):
                names = set()
            if names is None:  # e.g. an existing event returned for our transactionId
                [answer] = yield [Call("GET", _query(f"{_box(mailbox)}/events/{quote(event_id, safe='')}/attachments",
                                                     {"$select": "id,name"}))]
                if not answer.ok:
                    return self._failed(recipients, meeting.organizer, answer, remote_id=event_id,
                                        change_key=change_key)
                names = {str(a.get("name", "")) for a in answer.json().get("value", []) if isinstance(a, dict)}
            missing = [a for a in meeting.attachments if a.filename not in names]
        else:
            missing = []
        if missing:
            refused = yield from self._attach(f"{_box(mailbox)}/events/{quote(event_id, safe='')}", missing)
            if refused is not None:
                return self._failed(recipients, meeting.organizer, refused, remote_id=event_id, change_key=change_key)
        patch = self._changes(meeting, event, pushed=bool(missing))
        if patch:
            [answer] = yield [Call("PATCH", f"{_box(mailbox)}/events/{quote(event_id, safe='')}", patch)]
            if not answer.ok:
                return self._failed(recipients, meeting.organizer, answer, remote_id=event_id, change_key=change_key)
            change_key = str(answer.json().get("changeKey") or "") or change_key
        return Delivery(remote_id=event_id, change_key=change_key)

    def _attach(self, item_path: str,
                files: Sequence[Attachment]) -> Generator[list[Call], list[Answer], Answer | None]:
        """Add files to an event or a draft: small ones inline, large ones through upload sessions."""
        calls = []
        for attachment in files:
            if len(attachment.content) < INLINE_LIMIT:
                calls.append(Call("POST", f"{item_path}/attachments", _file_attachment(attachment)))
            else:
                calls.append(Call("POST", f"{item_path}/attachments/createUploadSession", {"AttachmentItem": {
                    "attachmentType": "file", "name": attachment.filename, "size": len(attachment.content),
                    "contentType": attachment.mime_type}}))
        answers = yield calls
        for attachment, answer in zip(files, answers, strict=True):
            if not answer.ok:
                return answer
            if len(attachment.content) < INLINE_LIMIT:
                continue
            upload_url = str(answer.json().get("uploadUrl", ""))
            total = len(attachment.content)
            for offset in range(0, total, UPLOAD_CHUNK):
                chunk = attachment.content[offset:offset + UPLOAD_CHUNK]
                headers = {"Content-Type": "application/octet-stream",
                           "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}"}
                [put] = yield [Call("PUT", upload_url, data=chunk, headers=headers, auth=False)]
                if not put.ok:
                    return put
        return None

    def _cancel_flow(self, meeting: Meeting, recipients: Sequence[Person], reason: str) -> Flow:
        mailbox = meeting.organizer.email
        organizer = meeting.organizer.email.casefold()
        leaving = {p.email.casefold() for p in recipients}
        everyone = {p.email.casefold() for p in meeting.attendees} - {organizer}
        whole = not everyone or leaving >= everyone
        if whole and meeting.remote_id:
            # The id is known: cancel straight away (a 404 means it moved or is gone: find it by the tag).
            answer = yield from self._cancel_event(mailbox, meeting.remote_id, reason, has_attendees=bool(everyone))
            if answer.ok:
                return Delivery(remote_id=meeting.remote_id)
            if answer.status != 404:
                return self._failed(recipients, meeting.organizer, answer, remote_id=meeting.remote_id)
            meeting_to_find = replace(meeting, remote_id=None)
        else:
            meeting_to_find = meeting
        found = yield from self._find_event(meeting_to_find)
        if isinstance(found, Answer):
            return self._failed(recipients, meeting.organizer, found, remote_id=meeting.remote_id)
        if found is None:
            return Delivery(remote_id=meeting.remote_id)  # nothing left to cancel
        event_id = str(found.get("id", ""))
        present = [a for a in found.get("attendees") or [] if isinstance(a, dict)]
        if whole:
            answer = yield from self._cancel_event(mailbox, event_id, reason, has_attendees=bool(present))
            if not answer.ok and answer.status != 404:
                return self._failed(recipients, meeting.organizer, answer, remote_id=event_id)
            return Delivery(remote_id=event_id)
        remaining = [a for a in present if _address(a).casefold() not in leaving]
        change_key = str(found.get("changeKey") or "") or None
        if len(remaining) == len(present):
            return Delivery(remote_id=event_id, change_key=change_key)
        attendees = [{"emailAddress": a.get("emailAddress"), "type": a.get("type", "required")} for a in remaining]
        [answer] = yield [Call("PATCH", f"{_box(mailbox)}/events/{quote(event_id, safe='')}", {"attendees": attendees})]
        if not answer.ok:
            return self._failed(recipients, meeting.organizer, answer, remote_id=event_id, change_key=change_key)
        return Delivery(remote_id=event_id, change_key=str(answer.json().get("changeKey") or "") or change_key)

    def _cancel_event(self, mailbox: str, event_id: str, reason: str, *,
                      has_attendees: bool) -> Generator[list[Call], list[Answer], Answer]:
        path = f"{_box(mailbox)}/events/{quote(event_id, safe='')}"
        if has_attendees:
            [answer] = yield [Call("POST", f"{path}/cancel", {"comment": reason})]
            if answer.status != 400:
                return answer
            # Graph refuses to cancel an event that never had attendees: delete it instead.
        [answer] = yield [Call("DELETE", path)]
        return answer

    # ---- mail ---------------------------------------------------------------------------------

    def _mail_flow(self, mail: Mail) -> Flow:
        sender = (mail.sender or self.mailbox).email
        people = list({p.email.casefold(): p for p in mail.to}.values())
        if not people:
            return Delivery()
        message: dict[str, Any] = {"subject": mail.subject, "body": _body(mail.body_text, mail.body_html),
                                   "toRecipients": [_recipient(p) for p in people]}
        inline = [_file_attachment(a) for a in mail.attachments if len(a.content) < INLINE_LIMIT]
        if len(inline) == len(mail.attachments) and len(json.dumps(inline)) < BATCH_BODY_LIMIT - 100_000:
            if inline:
                message["attachments"] = inline
            [answer] = yield [Call("POST", f"{_box(sender)}/sendMail", {"message": message, "saveToSentItems": True})]
            return Delivery() if answer.ok else self._failed(people, self.mailbox, answer)
        # Too big for one request: a draft, its files one by one (upload sessions for large ones), then send.
        [answer] = yield [Call("POST", f"{_box(sender)}/messages", message)]
        if not answer.ok:
            return self._failed(people, self.mailbox, answer)
        path = f"{_box(sender)}/messages/{quote(str(answer.json().get('id', '')), safe='')}"
        refused = yield from self._attach(path, mail.attachments)
        if refused is not None:
            return self._failed(people, self.mailbox, refused)
        [answer] = yield [Call("POST", f"{path}/send")]
        return Delivery() if answer.ok else self._failed(people, self.mailbox, answer)

    # ---- free/busy ----------------------------------------------------------------------------

    def free_busy(self, people: Sequence[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[BusySlot]]:
        """Busy periods per address from getSchedule: ≤ 20 people and < 62 days per call, sent together."""
        result: dict[str, list[BusySlot]] = {p: [] for p in people}
        if not people or end <= start:
            return result
        windows = []
        cursor = start
        while cursor < end:
            windows.append((cursor, min(end, cursor + SCHEDULE_WINDOW)))
            cursor = windows[-1][1]
        unique = list(dict.fromkeys(people))
        path = f"{_box(self.mailbox.email)}/calendar/getSchedule"
        calls = [Call("POST", path, {"schedules": unique[first:first + SCHEDULE_PEOPLE], "startTime": graph_time(a),
                                     "endTime": graph_time(b), "availabilityViewInterval": 30})
                 for first in range(0, len(unique), SCHEDULE_PEOPLE) for a, b in windows]
        by_address = {p.casefold(): p for p in people}
        slots: dict[str, set[BusySlot]] = {p: set() for p in people}
        failed: set[str] = set()
        for answer in self.client.batch(calls):
            if not answer.ok:
                raise self._explain(answer, tr("ledig/opptatt", "free/busy"))
            for schedule in answer.json().get("value", []):
                address = by_address.get(str(schedule.get("scheduleId", "")).casefold())
                if address is None:
                    continue
                if schedule.get("error"):
                    failed.add(address)
                    error = schedule["error"]
                    self.notes.append(tr(f"Ledig/opptatt for {address} kunne ikke leses: {error.get('message', '')}",
                                         f"Free/busy for {address} could not be read: {error.get('message', '')}"))
                    continue
                for item in schedule.get("scheduleItems") or []:
                    status = str(item.get("status", "unknown"))
                    status = {"workingElsewhere": "elsewhere"}.get(status, status)
                    if status not in ("free", "tentative", "busy", "oof", "elsewhere"):
                        status = "unknown"
                    slots[address].add(BusySlot(parse_graph_time(item["start"]), parse_graph_time(item["end"]),
                                                status))
        self.stats.extra["free_busy_errors"] += len(failed)
        for address in people:
            result[address] = [] if address in failed else sorted(slots[address], key=lambda s: (s.start, s.end))
        return result

    # ---- returned files -----------------------------------------------------------------------

    def _folder_id(self, path: str, *, create: bool, key: str) -> str:
        """The id of a folder given by name (`Inbox`, `Innboks/Samtale`), found once, created if asked."""
        if path in self._folders:
            return self._folders[path]
        box = _box(self.mailbox.email)
        parent: str | None = None
        names = [p.strip() for p in path.split("/") if p.strip()]
        for position, name in enumerate(names):
            well_known = WELL_KNOWN_FOLDERS.get(name.casefold().replace(" ", ""))
            if parent is None and well_known:
                answer = self.client.call(Call("GET", f"{box}/mailFolders/{well_known}?$select=id,displayName"))
            else:
                where = (f"{box}/mailFolders" if parent is None
                         else f"{box}/mailFolders/{quote(parent, safe='')}/childFolders")
                answer = self.client.call(Call("GET", _query(where, {"$filter": f"displayName eq '{_odata(name)}'",
                                                                     "$select": "id,displayName"})))
                if answer.ok:
                    matches = answer.json().get("value") or []
                    if matches:
                        answer = Answer(200, matches[0])
                    elif create and position == len(names) - 1:
                        answer = self.client.call(Call("POST", where, {"displayName": name}))
                    else:
                        answer = Answer(404, {"error": {"code": "ErrorFolderNotFound", "message": name}})
            if not answer.ok:
                raise self._explain(answer, tr(f"mappen «{path}»", f"the folder «{path}»"), key=key)
            parent = str(answer.json().get("id", ""))
        if parent is None:
            raise _bad_setting(key, path, tr('et mappenavn, f.eks. "Inbox"', 'a folder name, e.g. "Inbox"'))
        self._folders[path] = parent
        return parent

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these endings in the reply folder's messages, oldest page first; nothing is moved."""
        wanted = tuple(s.casefold() for s in suffixes)
        box = _box(self.mailbox.email)
        folder = self._folder_id(self.settings.folder, create=False, key="folder")
        call = Call("GET", _query(f"{box}/mailFolders/{quote(folder, safe='')}/messages", {
            "$filter": "hasAttachments eq true", "$select": "id,subject,from,sender,receivedDateTime", "$top": "50"}))
        while True:
            answer = self.client.call(call)
            if not answer.ok:
                raise self._explain(answer, tr(f"mappen «{self.settings.folder}»",
                                               f"the folder «{self.settings.folder}»"), key="folder")
            for message in answer.json().get("value", []):
                yield from self._message_files(box, message, wanted)
            next_link = answer.json().get("@odata.nextLink")
            if not next_link:
                return
            call = Call("GET", str(next_link))

    def _message_files(self, box: str, message: Mapping[str, Any], wanted: tuple[str, ...]) -> Iterator[IncomingFile]:
        message_id = str(message.get("id", ""))
        path = f"{box}/messages/{quote(message_id, safe='')}/attachments"
        sender = _address(message.get("from") or message.get("sender") or {})
        received = dt.datetime.fromisoformat(str(message.get("receivedDateTime", "")).replace("Z", "+00:00"))
        if received.tzinfo is None:
            received = received.replace(tzinfo=dt.UTC)
        call = Call("GET", _query(path, {"$select": "id,name,size,isInline"}))
        while True:
            answer = self.client.call(call)
            if not answer.ok:
                raise self._explain(answer, tr("vedleggene", "the attachments"), key="folder")
            for attachment in answer.json().get("value", []):
                kind = str(attachment.get("@odata.type", "#microsoft.graph.fileAttachment"))
                name = str(attachment.get("name", ""))
                if not kind.endswith("fileAttachment") or not name.casefold().endswith(wanted):
                    continue
                content = attachment.get("contentBytes")
                if isinstance(content, str):
                    data = base64.b64decode(content)
                else:
                    raw = self.client.call(Call("GET", f"{path}/{quote(str(attachment.get('id', '')), safe='')}/$value",
                                                raw=True))
                    if not raw.ok or not isinstance(raw.body, bytes):
                        raise self._explain(raw, tr(f"vedlegget «{name}»", f"the attachment «{name}»"), key="folder")
                    data = raw.body
                yield IncomingFile(message_id, sender, received, name, data, str(message.get("subject") or ""))
            next_link = answer.json().get("@odata.nextLink")
            if not next_link:
                return
            call = Call("GET", str(next_link))

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder (found, or created, once)."""
        folder = self._folder_id(self.settings.done_folder, create=True, key="done_folder")
        answer = self.client.call(Call("POST", f"{_box(self.mailbox.email)}/messages/{quote(message_id, safe='')}/move",
                                       {"destinationId": folder}))
        if not answer.ok and answer.status != 404:  # 404: someone moved it already
            raise self._explain(answer, tr(f"mappen «{self.settings.done_folder}»",
                                           f"the folder «{self.settings.done_folder}»"), key="done_folder")

    # ---- probe and errors ---------------------------------------------------------------------

    def probe(self) -> list[str]:
        """Log in, read the mailbox, its calendar and the reply folder; one line per finding."""
        self.client.token_provider()
        if self._login is not None:
            who = self._login()
            lines = [tr(f"Logget inn i Microsoft Graph som {who}", f"Logged in to Microsoft Graph as {who}")]
        else:
            lines = [tr("Logget inn i Microsoft Graph med et gitt tilgangstoken",
                        "Logged in to Microsoft Graph with a given access token")]
        box = _box(self.mailbox.email)
        answer = self.client.call(Call("GET", f"{box}?$select=displayName,mail,userPrincipalName"))
        if answer.status == 404:
            raise BackendError(
                tr(f"Postkassen {self.mailbox.email} finnes ikke i Microsoft 365.",
                   f"The mailbox {self.mailbox.email} does not exist in Microsoft 365."),
                hint=tr(f"Rett [mail] mailbox i {_TOML}.", f"Correct [mail] mailbox in {_TOML}."))
        if not answer.ok and answer.status != 403:
            # 403: reading the directory needs User.Read.All, which the app does not need otherwise.
            raise self._explain(answer, tr("postkassen", "the mailbox"))
        calendar = self.client.call(Call("GET", f"{box}/calendar?$select=id,name"))
        if not calendar.ok:
            raise self._explain(calendar, tr("kalenderen", "the calendar"))
        lines.append(tr(f"Postkassen {self.mailbox.email} er tilgjengelig (med kalender)",
                        f"The mailbox {self.mailbox.email} is reachable (with its calendar)"))
        self._folder_id(self.settings.folder, create=False, key="folder")
        lines.append(tr(f"Mappen «{self.settings.folder}» kan leses",
                        f"The folder «{self.settings.folder}» can be read"))
        return lines

    def _explain(self, answer: Answer, what: str, *, key: str = "") -> BackendError:
        """A Norwegian (or English) error naming the setting or permission to fix."""
        code, message = answer.error()
        detail = f"{answer.status} {code}: {self.client.scrub(message)}".strip()
        box = self.mailbox.email
        if answer.status == 403:
            return BackendError(
                tr(f"Microsoft Graph nekter appen tilgang til {what} i {box} ({detail}).",
                   f"Microsoft Graph denies the app access to {what} in {box} ({detail})."),
                hint=tr(f"Gi appen tillatelsene {_PERMISSIONS} i Entra ID med administratorsamtykke, og avgrens "
                        "dem til postkassene samtale bruker med RBAC for Applications i Exchange Online "
                        "(New-ManagementScope og New-ManagementRoleAssignment -App; prøv med "
                        f"Test-ServicePrincipalAuthorization). Er [graph] auth = \"device\": logg inn som en bruker "
                        f"med tilgang til {box}.",
                        f"Grant the app {_PERMISSIONS} in Entra ID with admin consent, and scope them to the mailboxes "
                        "samtale uses with RBAC for Applications in Exchange Online (New-ManagementScope and "
                        "New-ManagementRoleAssignment -App; check with Test-ServicePrincipalAuthorization). With "
                        f"[graph] auth = \"device\": sign in as a user with access to {box}."))
        if answer.status == 404 and key:
            setting = f"[graph] {key}"
            return BackendError(tr(f"Fant ikke {what} i {box} ({detail}).",
                                   f"{what} was not found in {box} ({detail})."),
                                hint=tr(f"Rett {setting} i {_TOML} (mappenavn som i Outlook, undermapper med «/»).",
                                        f"Correct {setting} in {_TOML} (folder names as in Outlook, subfolders with "
                                        "«/»)."))
        if answer.status in (400, 404) and code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI",
                                                     "ResourceNotFound", "ErrorNonExistentMailbox"):
            return BackendError(tr(f"Postkassen {box} kan ikke brukes gjennom Microsoft Graph ({detail}).",
                                   f"The mailbox {box} cannot be used through Microsoft Graph ({detail})."),
                                hint=tr(f"Kontroller [mail] mailbox i {_TOML}: en postkasse i Exchange Online.",
                                        f"Check [mail] mailbox in {_TOML}: a mailbox in Exchange Online."))
        return BackendError(tr(f"Microsoft Graph svarte med en feil for {what} i {box} ({detail}).",
                               f"Microsoft Graph answered with an error for {what} in {box} ({detail})."),
                            hint=tr(f"Kontroller [graph] base_url i {_TOML} og [mail] mailbox; prøv igjen senere.",
                                    f"Check [graph] base_url in {_TOML} and [mail] mailbox; try again later."))

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.session.close()


# ---- tokens ---------------------------------------------------------------------------------------

#: Entra ID error codes → (the setting to fix, Norwegian text, English text).
_AADSTS: dict[str, tuple[str, str, str]] = {
    "90002": ("tenant_id", "tenanten finnes ikke", "the tenant does not exist"),
    "900023": ("tenant_id", "tenant-ID-en er ugyldig", "the tenant ID is invalid"),
    "90013": ("tenant_id", "tenant-ID-en er ugyldig", "the tenant ID is invalid"),
    "50059": ("tenant_id", "tenanten kunne ikke bestemmes", "the tenant could not be determined"),
    "700016": ("client_id", "appen finnes ikke i denne tenanten", "the app does not exist in this tenant"),
    "7000215": ("secret", "klienthemmeligheten er feil", "the client secret is wrong"),
    "7000222": ("secret", "klienthemmeligheten er utløpt", "the client secret has expired"),
    "700027": ("certificate_path", "sertifikatet er ikke registrert på appen eller signaturen er feil",
               "the certificate is not registered on the app or the signature is wrong"),
    "700024": ("certificate_path", "sertifikat-påstanden er utenfor gyldighetstiden",
               "the certificate assertion is outside its validity period"),
    "7000218": ("auth", "appen tillater ikke offentlige klientflyter (enhetskode)",
                "the app does not allow public client flows (device code)"),
    "65001": ("consent", "appen mangler samtykke til tillatelsene", "the app lacks consent to the permissions"),
    "50126": ("user", "brukernavnet eller passordet er feil", "the user name or password is wrong"),
    "53003": ("user", "betinget tilgang stoppet innloggingen", "conditional access blocked the sign-in"),
    "70020": ("user", "innloggingen ble ikke fullført i tide", "the sign-in was not completed in time"),
}


def explain_login(settings: GraphSettings, error: str, description: str) -> BackendError:
    """A Norwegian (or English) error for a failed Entra ID login, naming the setting or secret to fix."""
    first_line = (description or error).strip().splitlines()[0] if (description or error).strip() else error
    match = re.search(r"AADSTS(\d+)", description or "")
    setting, nb, en = _AADSTS.get(match.group(1) if match else "", ("", "", ""))
    if not setting and error == "expired_token":
        setting, nb, en = _AADSTS["70020"]
    if not setting and error == "invalid_tenant":
        setting, nb, en = "tenant_id", "tenanten ble ikke funnet", "the tenant was not found"
    where = f"{_TOML}"
    hints = {
        "tenant_id": (f"Rett [graph] tenant_id i {where}: katalog-ID-en (tenant-ID) fra Entra ID, eller domenet "
                      "(firma.onmicrosoft.com).",
                      f"Correct [graph] tenant_id in {where}: the directory (tenant) ID from Entra ID, or the domain "
                      "(firma.onmicrosoft.com)."),
        "client_id": (f"Rett [graph] client_id i {where}: program-ID-en (klient-ID) fra appregistreringen; kontroller "
                      "også [graph] tenant_id.",
                      f"Correct [graph] client_id in {where}: the application (client) ID of the app registration; "
                      "check [graph] tenant_id too."),
        "secret": (f"Lag en ny klienthemmelighet i appregistreringen og lagre verdien (ikke ID-en) som {SECRET_NAME}: "
                   f"miljøvariabelen {env_name(SECRET_NAME)} eller `{keyring_command(SECRET_NAME)}`.",
                   f"Create a new client secret in the app registration and store its value (not its ID) as "
                   f"{SECRET_NAME}: the environment variable {env_name(SECRET_NAME)} or "
                   f"`{keyring_command(SECRET_NAME)}`."),
        "certificate_path": (f"Last opp sertifikatet i [graph] certificate_path ({settings.certificate_path}) til "
                             "appregistreringen (Sertifikater og hemmeligheter), eller rett stien.",
                             f"Upload the certificate in [graph] certificate_path ({settings.certificate_path}) to the "
                             "app registration (Certificates & secrets), or correct the path."),
        "auth": ('Slå på «Tillat offentlige klientflyter» i appregistreringen, eller bruk [graph] auth = "secret" '
                 'eller "certificate".',
                 'Turn on «Allow public client flows» in the app registration, or use [graph] auth = "secret" or '
                 '"certificate".'),
        "consent": (f"En administrator må gi samtykke til tillatelsene ({_PERMISSIONS}) for appen i Entra ID.",
                    f"An administrator must grant consent to the permissions ({_PERMISSIONS}) for the app in Entra "
                    "ID."),
        "user": ("Logg inn på nytt med en bruker som har tilgang til postkassen.",
                 "Sign in again with a user who has access to the mailbox."),
    }
    hint_nb, hint_en = hints.get(setting, (
        f"Kontroller [graph] tenant_id, client_id og auth i {where} og hemmeligheten {SECRET_NAME}.",
        f"Check [graph] tenant_id, client_id and auth in {where} and the secret {SECRET_NAME}."))
    reason_nb = f": {nb}" if nb else ""
    reason_en = f": {en}" if en else ""
    return BackendError(tr(f"Innloggingen i Microsoft Entra ID mislyktes{reason_nb} ({first_line}).",
                           f"Signing in to Microsoft Entra ID failed{reason_en} ({first_line})."),
                        hint=tr(hint_nb, hint_en))


def load_token_cache() -> str | None:
    """The serialized msal token cache from the keyring (split into parts where it is long)."""
    stored = get_secret(CACHE_NAME)
    if not stored:
        return None
    if stored.startswith("parts:"):
        try:
            count = int(stored.removeprefix("parts:"))
        except ValueError:
            return None
        pieces = [get_secret(f"{CACHE_NAME}.{n}") for n in range(1, count + 1)]
        if any(p is None for p in pieces):
            return None
        stored = "".join(p or "" for p in pieces)
    try:
        return zlib.decompress(base64.b64decode(stored.removeprefix("z:"))).decode("utf-8")
    except (ValueError, zlib.error):
        return None


def store_token_cache(serialized: str, *, stderr: IO[str] | None = None) -> bool:
    """Keep the msal token cache in the OS keyring (compressed, in parts that fit Windows' limit)."""
    packed = "z:" + base64.b64encode(zlib.compress(serialized.encode("utf-8"), 9)).decode("ascii")
    entries = {CACHE_NAME: packed}
    if len(packed) > CACHE_PART:
        parts = [packed[i:i + CACHE_PART] for i in range(0, len(packed), CACHE_PART)]
        entries = {CACHE_NAME: f"parts:{len(parts)}", **{f"{CACHE_NAME}.{n}": p for n, p in enumerate(parts, 1)}}
    try:
        import keyring

        for name, value in entries.items():
            keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # any keyring failure: the login works for this run, the next one asks again
        print(tr(f"Advarsel: innloggingen kunne ikke lagres i nøkkelringen ({type(exc).__name__}); du blir bedt om å "
                 "logge inn igjen neste gang.",
                 f"Warning: the sign-in could not be stored in the keyring ({type(exc).__name__}); you will be asked "
                 "to sign in again next time."), file=stderr or sys.stderr)
        return False
    return True


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate with its private key, and the thumbprint Entra ID shows for it."""

    private_key: str
    public_certificate: str
    thumbprint: str  # SHA-1, upper-case hex, as in the app registration

    def __repr__(self) -> str:  # never the key
        return f"Certificate({self.thumbprint})"


def read_certificate(path: Path) -> Certificate:
    """The certificate and private key in a PEM file; ConfigError naming [graph] certificate_path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    def bad(reason_nb: str, reason_en: str) -> ConfigError:
        return ConfigError(tr(f"[graph] certificate_path ({path}) kan ikke brukes: {reason_nb}.",
                              f"[graph] certificate_path ({path}) cannot be used: {reason_en}."),
                           hint=tr("Oppgi en PEM-fil med både sertifikatet (BEGIN CERTIFICATE) og den private nøkkelen "
                                   "(BEGIN PRIVATE KEY).",
                                   "Give a PEM file holding both the certificate (BEGIN CERTIFICATE) and the private "
                                   "key (BEGIN PRIVATE KEY)."))
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"filen kan ikke leses ({type(exc).__name__})",
                  f"the file cannot be read ({type(exc).__name__})") from None
    certificate = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    key = re.search(r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE "
                    r"KEY-----", text, re.S)
    if certificate is None or key is None:
        raise bad("sertifikatet eller den private nøkkelen mangler", "the certificate or the private key is missing")
    try:
        parsed = x509.load_pem_x509_certificate(certificate.group(0).encode("ascii"))
    except ValueError:
        raise bad("sertifikatet er ugyldig", "the certificate is invalid") from None
    return Certificate(key.group(0), certificate.group(0), parsed.fingerprint(hashes.SHA1()).hex().upper())


def _discovery_error(exc: BaseException) -> str:
    """Entra ID's own words from a failed tenant discovery (msal wraps them in a generic ValueError)."""
    for error in (exc.__context__, exc.__cause__, exc):
        text = str(error or "")
        start = text.find("{")
        if start >= 0:
            try:
                data = json.loads(text[start:])
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("error_description"):
                return str(data["error_description"])
    return str(exc)


class MsalTokens:
    """Access tokens from msal: app-only (client secret or certificate) or delegated (device code).

    msal keeps tokens in its cache and renews them before they expire, so asking for one before every
    request costs nothing. The device-code login's cache lives in the OS keyring.
    """

    def __init__(self, settings: GraphSettings, *, secret: str | None = None, certificate: Certificate | None = None,
                 session: requests.Session | None = None, stderr: IO[str] | None = None) -> None:
        self.settings = settings
        self._secret = secret
        self._certificate = certificate
        self._session = session or requests.Session()
        self._stderr = stderr
        self._app: Any = None
        self._cache: Any = None
        self._user = ""

    def __repr__(self) -> str:  # no secret in reprs
        return f"MsalTokens({self.settings.auth}, {self.settings.client_id})"

    @property
    def scopes(self) -> list[str]:
        """App-only: the resource's `.default`; delegated: what samtale does, in the user's name."""
        resource = self.settings.resource
        if self.settings.auth != "device":
            return [f"{resource}/.default"]
        return [f"{resource}/{scope}" for scope in ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared", "Mail.Send",
                                                    "Mail.Send.Shared", "Mail.ReadWrite", "Mail.ReadWrite.Shared")]

    def describe(self) -> str:
        """Who we are logged in as, for `probe`."""
        if self.settings.auth == "device":
            return tr(f"brukeren {self._user or '?'}", f"the user {self._user or '?'}")
        via = tr("sertifikat", "certificate") if self._certificate else tr("klienthemmelighet", "client secret")
        extra = f" {self._certificate.thumbprint}" if self._certificate else ""
        return tr(f"app {self.settings.client_id} ({via}{extra})", f"app {self.settings.client_id} ({via}{extra})")

    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        import msal

        s = self.settings
        common: dict[str, Any] = {"authority": s.authority, "http_client": self._session,
                                  # Known Microsoft hosts need no discovery; any other host is trusted as configured.
                                  "instance_discovery": False}
        try:
            if s.auth == "device":
                self._cache = msal.SerializableTokenCache()
                stored = load_token_cache()
                if stored:
                    self._cache.deserialize(stored)
                self._app = msal.PublicClientApplication(s.client_id, token_cache=self._cache, **common)
            else:
                credential: Any = self._secret
                if self._certificate is not None:
                    credential = {"private_key": self._certificate.private_key,
                                  "public_certificate": self._certificate.public_certificate}
                self._app = msal.ConfidentialClientApplication(s.client_id, client_credential=credential, **common)
        except ValueError as exc:  # msal's tenant discovery failed: a wrong tenant or authority host
            raise explain_login(s, "invalid_tenant", _discovery_error(exc)) from None
        return self._app

    def __call__(self) -> str:
        """A valid access token; BackendError explaining a failed login."""
        try:
            app = self._application()
            result = self._device(app) if self.settings.auth == "device" else app.acquire_token_for_client(self.scopes)
        except requests.RequestException as exc:
            raise BackendError(
                tr(f"Fikk ikke kontakt med Microsoft Entra ID ({self.settings.authority_host}): {type(exc).__name__}.",
                   f"Could not reach Microsoft Entra ID ({self.settings.authority_host}): {type(exc).__name__}."),
                hint=tr(f"Kontroller nettverket og [graph] authority_host i {_TOML} (standard "
                        f"{DEFAULT_AUTHORITY_HOST}).",
                        f"Check the network and [graph] authority_host in {_TOML} (default "
                        f"{DEFAULT_AUTHORITY_HOST}).")) from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            description = str(result.get("error_description", ""))
            if self._secret:
                description = description.replace(self._secret, "***")
            raise explain_login(self.settings, str(result.get("error", "")), description)
        return str(result["access_token"])

    def _device(self, app: Any) -> dict[str, Any]:
        for account in app.get_accounts():
            result = app.acquire_token_silent(self.scopes, account=account)
            if result and "access_token" in result:
                self._user = str(account.get("username", ""))
                self._save()
                return dict(result)
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            return dict(flow)
        print(flow.get("message", ""), file=self._stderr or sys.stderr, flush=True)
        result = app.acquire_token_by_device_flow(flow)
        claims = result.get("id_token_claims") or {}
        self._user = str(claims.get("preferred_username", ""))
        self._save()
        return dict(result)

    def _save(self) -> None:
        changed = self._cache is not None and self._cache.has_state_changed
        if changed and store_token_cache(self._cache.serialize(), stderr=self._stderr):
            self._cache.has_state_changed = False


def create(context: BackendContext) -> GraphBackend:
    """The Graph backend from samtale.toml, with msal for tokens; ConfigError when something is missing."""
    settings = read_settings(context.config)
    mailbox = read_mailbox(context.config)
    secret: str | None = None
    certificate: Certificate | None = None
    if settings.auth == "secret":
        secret = get_secret(SECRET_NAME)
        if not secret:
            raise missing_secret()
    elif settings.auth == "certificate":
        path = Path(settings.certificate_path).expanduser()
        certificate = read_certificate(path if path.is_absolute() else context.folder.root / path)
    session = make_session(context.ssl_context)
    tokens = MsalTokens(settings, secret=secret, certificate=certificate, session=session)
    client = GraphClient(tokens, settings.base_url, session=session, sleep=context.sleep, max_wait=settings.max_wait,
                         secrets=[secret or ""])
    return GraphBackend(mailbox, client, settings, login=tokens.describe)
