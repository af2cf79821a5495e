"""A Microsoft Graph stand-in on loopback for the tests: a small Exchange Online speaking Graph JSON.

    server = GraphServer().start()          # or GraphServer(ca=tls_ca) for HTTPS (msal needs https)
    client = GraphClient(lambda: TOKEN, server.base_url, sleep=...)
    ...
    server.seen()                            # what the attendees of each event now see, and the mails
    server.stop()

What it keeps, per mailbox: events (id, changeKey that changes on every write, iCalUId, attendees,
files, extended properties, a sequence raised when an invited event's time, place or attendees
change, cancelled), the invitations Exchange would send as `notices` (recipient, kind, a snapshot of
the event), sent mails, mail folders with messages and their files, and seeded busy periods.

What it speaks: events (create with `transactionId` replay, GET, PATCH, cancel, DELETE, the tag
`$filter`), event and message attachments (inline and upload sessions), getSchedule (from the
events and the seeded busy periods), sendMail, drafts and send, mail folders, messages, `$value`,
move, `$batch` (≤ 20 requests), and Entra ID's token endpoints (client secret, certificate
assertion, device code) for msal.

What it checks (answering like Graph does when something is wrong): the Bearer token; no
attachments in an event create; only `W. Europe Standard Time` or `UTC` as time zones (not
`Europe/Oslo`); inline files under 3 MB and request bodies under 4 MB; upload ranges ≤ 4 MB, in
order, without our Authorization header; getSchedule ≤ 20 people and < 62 days.

Faults: `fail_next(n, status=429, retry_after=…)` answers the next n requests with 429 (or 503);
`inner=True` does it to requests inside `$batch`. `counts` counts requests by kind (`$batch`,
`POST events`, `PATCH event`, `getSchedule`, …), inner requests included.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import re
import ssl
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import jwt
import trustme
from backend_kit import ORGANIZER, Kit, MailSeen, Seen
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from samtale_automation.backends.graph.backend import GraphBackend
from samtale_automation.backends.graph.client import GraphClient
from samtale_automation.domain.messages import Person
from samtale_automation.domain.model import OSLO

HOST = "127.0.0.1"
TOKEN = "graph-test-token"
TENANT = "fjordlys.onmicrosoft.com"
CLIENT_ID = "6b0c6a63-5a1e-4d57-9b9e-3f0c2f1d7a11"
CLIENT_SECRET = "hemmelig~klient.verdi"
ZONES = {"W. Europe Standard Time": OSLO, "UTC": UTC}
TAG = re.compile(r"^String \{[0-9a-fA-F-]{36}\} Name \S+$")
FILTER_CLAUSE = re.compile(r"singleValueExtendedProperties/Any\(ep: ep/id eq '((?:[^']|'')*)' and "
                           r"ep/value eq '((?:[^']|'')*)'\)")
INLINE_LIMIT = 3 * 1024 * 1024
BODY_LIMIT = 4 * 1024 * 1024
WELL_KNOWN = {"inbox": "Inbox", "sentitems": "Sent Items", "deleteditems": "Deleted Items", "drafts": "Drafts",
              "archive": "Archive", "junkemail": "Junk Email"}


@dataclass
class StoredFile:
    """A file attached to an event or a message."""

    id: str
    name: str
    content: bytes
    content_type: str = "application/octet-stream"

    def json(self, *, content: bool = True) -> dict[str, Any]:
        """As Graph shows a fileAttachment."""
        data: dict[str, Any] = {"@odata.type": "#microsoft.graph.fileAttachment", "id": self.id, "name": self.name,
                                "size": len(self.content), "contentType": self.content_type, "isInline": False}
        if content:
            data["contentBytes"] = base64.b64encode(self.content).decode("ascii")
        return data


@dataclass(frozen=True)
class Snapshot:
    """An event as one invitation, update or cancellation showed it."""

    sequence: int
    start: datetime
    end: datetime
    attendees: frozenset[str]  # casefolded, rooms included
    cancelled: bool
    attachments: tuple[str, ...]
    subject: str
    location: str


@dataclass(frozen=True)
class Notice:
    """A meeting message Exchange would send: invitation, update, cancellation, or removed (one attendee)."""

    event_id: str
    recipient: str
    kind: str
    snapshot: Snapshot


@dataclass
class Event:
    """An event in a mailbox's calendar."""

    id: str
    mailbox: str
    subject: str
    body: dict[str, Any]
    start: datetime
    end: datetime
    location: dict[str, Any]
    attendees: list[dict[str, Any]]
    sensitivity: str
    props: dict[str, str]
    transaction_id: str | None
    change_key: str = ""
    ical_uid: str = ""
    files: list[StoredFile] = field(default_factory=list)
    sequence: int = 0
    sent: bool = False  # invitations went out at least once
    cancelled: bool = False
    comment: str = ""
    #: Attendees' answers as Outlook records them: address → (response, proposed new start or None).
    responses: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)

    def emails(self) -> list[str]:
        """The attendees' addresses, casefolded, in order."""
        return [a["emailAddress"]["address"].casefold() for a in self.attendees]

    def snapshot(self, *, cancelled: bool | None = None) -> Snapshot:
        """What a message about the event shows now."""
        return Snapshot(self.sequence, self.start.astimezone(OSLO), self.end.astimezone(OSLO), frozenset(self.emails()),
                        self.cancelled if cancelled is None else cancelled, tuple(f.name for f in self.files),
                        self.subject, str(self.location.get("displayName", "")))


@dataclass
class SentMail:
    """A mail sent through sendMail or a draft's send."""

    sender: str
    to: list[str]
    subject: str
    body: str
    files: list[StoredFile]


@dataclass
class Message:
    """A message in a mail folder (a reply with files, or a draft)."""

    id: str
    folder: str
    sender: str
    subject: str
    received: datetime
    files: list[StoredFile]
    to: list[str] = field(default_factory=list)
    body: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # internet headers of a received message

    def json(self, select: str = "") -> dict[str, Any]:
        """As Graph shows a message (internetMessageHeaders only when selected, as Graph does)."""
        address = {"emailAddress": {"address": self.sender, "name": self.sender}}
        shown: dict[str, Any] = {
            "id": self.id, "subject": self.subject, "from": address, "sender": address,
            "receivedDateTime": self.received.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hasAttachments": bool(self.files), "parentFolderId": self.folder}
        if "internetMessageHeaders" in select.split(",") and self.headers:
            shown["internetMessageHeaders"] = [{"name": n, "value": v} for n, v in self.headers]
        return shown


@dataclass
class Folder:
    """A mail folder."""

    id: str
    name: str
    parent: str | None


@dataclass
class Mailbox:
    """One user's or shared mailbox."""

    address: str
    events: dict[str, Event] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    busy: list[tuple[datetime, datetime, str]] = field(default_factory=list)


@dataclass
class Upload:
    """An open upload session."""

    mailbox: str
    kind: str  # events | messages
    item: str
    name: str
    size: int
    content_type: str
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Fault:
    """Throttling to inject: the next `count` requests get `status` with Retry-After."""

    count: int
    status: int
    retry_after: float | None


class GraphError(Exception):
    """An error answer: status, Graph error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Reply:
    """What the stand-in answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


def _fmt(moment: datetime, zone: str) -> dict[str, str]:
    local = moment.astimezone(ZONES[zone]).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, dict):
        raise GraphError(400, "ErrorInvalidRequest", "dateTimeTimeZone expected")
    zone = value.get("timeZone")
    if zone not in ZONES:
        raise GraphError(400, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The "
                         f"following TimeZone value is not supported: '{zone}'.")
    moment = datetime.fromisoformat(str(value.get("dateTime", "")).split(".")[0])
    if moment.tzinfo is not None:
        raise GraphError(400, "ErrorInvalidRequest", "dateTime must not carry an offset")
    return moment.replace(tzinfo=ZONES[zone])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class GraphServer:
    """The stand-in: a ThreadingHTTPServer on 127.0.0.1 (HTTPS with a trustme CA when given)."""

    def __init__(self, *, ca: trustme.CA | None = None, tenant: str = TENANT, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, certificate_pem: bytes | None = None) -> None:
        self.ca = ca
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate = x509.load_pem_x509_certificate(certificate_pem) if certificate_pem else None
        self.tokens: set[str] = {TOKEN}
        self.mailboxes: dict[str, Mailbox] = {}
        self.notices: list[Notice] = []
        self.mails: list[SentMail] = []
        self.counts: Counter[str] = Counter()
        self.http_requests = 0
        self.without_prefer = 0  # Graph requests lacking the time zone or immutable-id preference
        self.unknown_users: set[str] = set()
        self.forbidden: set[str] = set()
        self.directory_forbidden = False
        self.schedule_errors: set[str] = set()
        self.reject_or_filters = False
        self.search_lag = False  # the tag $filter finds nothing yet (as a lagging search would)
        self._kind_faults: dict[str, list[int]] = {}  # kind → [status, times]
        self.device_codes: dict[str, str] = {}
        self.uploads: dict[str, Upload] = {}
        self._faults: list[Fault] = []
        self._inner_faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> GraphServer:
        """Listen on an OS-assigned port and serve in a thread."""
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        if self.ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert(HOST, "localhost").configure_cert(context)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def root(self) -> str:
        """`http(s)://127.0.0.1:port`."""
        return f"{'https' if self.ca else 'http'}://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The Graph base URL (`…/v1.0`)."""
        return f"{self.root}/v1.0"

    @property
    def client_context(self) -> ssl.SSLContext:
        """A client SSL context trusting the CA."""
        assert self.ca is not None
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    # ---- seeding and faults -------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 429, retry_after: float | None = 1.0, *, inner: bool = False) -> None:
        """Answer the next `count` Graph requests (or requests inside `$batch`) with `status`."""
        with self._lock:
            (self._inner_faults if inner else self._faults).append(Fault(count, status, retry_after))

    def fail_kind(self, kind: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests of one kind (e.g. "PATCH event") with `status`, doing nothing."""
        with self._lock:
            self._kind_faults[kind] = [status, times]

    def clear_faults(self) -> None:
        """Forget faults not yet used."""
        with self._lock:
            self._faults.clear()
            self._inner_faults.clear()

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox (created on first use, with the well-known folders)."""
        key = address.casefold()
        with self._lock:
            box = self.mailboxes.get(key)
            if box is None:
                box = self.mailboxes[key] = Mailbox(address)
                root = Folder(f"root-{self._next()}", "Top of Information Store", None)
                box.folders[root.id] = root
                for well_known, name in WELL_KNOWN.items():
                    folder = Folder(f"{well_known}-{self._next()}", name, root.id)
                    box.folders[folder.id] = folder
            return box

    def add_busy(self, address: str, start: datetime, end: datetime, status: str = "busy") -> None:
        """Put a busy period in someone's calendar."""
        with self._lock:
            self.mailbox(address).busy.append((start, end, status))

    def add_reply(self, mailbox: str, sender: str, subject: str, files: list[tuple[str, bytes]],
                  received: datetime | None = None, headers: list[tuple[str, str]] | None = None) -> str:
        """Put a reply with files in the mailbox's inbox; its id."""
        with self._lock:
            box = self.mailbox(mailbox)
            message = Message(f"msg-{self._next()}", self._well_known(box, "inbox").id, sender, subject,
                              received or datetime(2027, 3, 31, 8, 0, tzinfo=UTC),
                              [StoredFile(f"att-{self._next()}", name, data) for name, data in files],
                              headers=list(headers or ()))
            box.messages[message.id] = message
            return message.id

    # ---- views ----------------------------------------------------------------------------------

    def seen(self) -> tuple[dict[str, Seen], list[MailSeen]]:
        """Per event, what its attendees now see (the last message to them), and the mails sent."""
        with self._lock:
            meetings: dict[str, Seen] = {}
            for notice in self.notices:
                if notice.kind == "removed":
                    continue  # one person taken off: the others' meeting is unchanged
                s = notice.snapshot
                meetings[notice.event_id] = Seen(s.sequence, s.start, s.end, set(s.attendees), s.cancelled,
                                                 list(s.attachments), s.subject)
            mails = [MailSeen(frozenset(t.casefold() for t in m.to), m.subject, tuple(f.name for f in m.files))
                     for m in self.mails]
            return meetings, mails

    def sent_count(self) -> int:
        """Invitations, updates and cancellations (one per recipient) plus mails sent."""
        with self._lock:
            return len(self.notices) + len(self.mails)

    def respond(self, mailbox: str, subject_part: str, attendee: str, response: str,
                proposed: datetime | None = None) -> None:
        """An attendee answers the live event whose subject holds `subject_part` (as Outlook would record it)."""
        with self._lock:
            event = next(e for e in self.mailbox(mailbox).events.values()
                         if not e.cancelled and subject_part in e.subject)
            event.responses[attendee.casefold()] = (response, proposed)

    def live_events(self, mailbox: str) -> list[Event]:
        """The events in a mailbox's calendar that are not cancelled."""
        with self._lock:
            return [e for e in self.mailbox(mailbox).events.values() if not e.cancelled]

    # ---- plumbing -----------------------------------------------------------------------------

    def _next(self) -> int:
        return next(self._ids)

    def _new_id(self, prefix: str) -> str:
        # Immutable-looking ids with characters that need URL quoting, like Exchange's.
        return f"{prefix}AAMkAG{self._next():04d}+x/y="

    def _take(self, faults: list[Fault]) -> Fault | None:
        while faults and faults[0].count <= 0:
            faults.pop(0)
        if not faults:
            return None
        faults[0].count -= 1
        return faults[0]

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, *, inner: bool = False,
               auth: str | None = None) -> Reply:
        """Answer one request (top level or inside `$batch`)."""
        with self._lock:
            parts = urlsplit(target)
            path = "/".join(unquote(segment).replace("/", "\0") for segment in parts.path.split("/"))
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if not inner:
                self.http_requests += 1
            if not inner and len(body) > BODY_LIMIT:
                return Reply(413, {"error": {"code": "RequestEntityTooLarge", "message": "request body over 4 MB"}})
            try:
                if path.startswith("/upload/"):
                    return self._upload(method, path.removeprefix("/upload/"), headers, body)
                if not path.startswith("/v1.0/"):
                    return self._identity(method, path, query, body)
                token = auth if auth is not None else headers.get("authorization", "")
                if not token.startswith("Bearer ") or token.removeprefix("Bearer ") not in self.tokens:
                    raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
                faults = self._inner_faults if inner else self._faults
                fault = self._take(faults)
                if fault is not None:
                    self.counts["throttled"] += 1
                    extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                    return Reply(fault.status, {"error": {"code": "ApplicationThrottled", "message":
                                                          "Application is over its MailboxConcurrency limit."}}, extra)
                return self._graph(method, path.removeprefix("/v1.0"), query, headers, body, token)
            except GraphError as exc:
                return Reply(exc.status, {"error": {"code": exc.code, "message": exc.message}})

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "a JSON object expected")
        return data

    # ---- Graph ------------------------------------------------------------------------------------

    def _graph(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
               token: str) -> Reply:
        if path == "/$batch" and method == "POST":
            return self._batch(self._json(body), token)
        match = re.match(r"^/users/([^/]+)(/.*)?$", path)
        if not match:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{path}'.")
        address, rest = match.group(1), match.group(2) or ""
        prefer = headers.get("prefer", "")
        if 'IdType="ImmutableId"' not in prefer or "outlook.timezone=" not in prefer:
            self.without_prefer += 1
        zone_match = re.search(r'outlook\.timezone="([^"]+)"', prefer)
        zone = zone_match.group(1) if zone_match and zone_match.group(1) in ZONES else "UTC"
        if address.casefold() in self.unknown_users:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
        if rest == "" and method == "GET":
            self.counts["GET user"] += 1
            if self.directory_forbidden:
                raise GraphError(403, "Authorization_RequestDenied",
                                 "Insufficient privileges to complete the operation.")
            return Reply(200, {"id": hashlib.sha1(address.casefold().encode()).hexdigest(), "mail": address,
                               "displayName": address.split("@")[0], "userPrincipalName": address})
        if address.casefold() in self.forbidden:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        box = self.mailbox(address)
        data = self._json(body) if method in ("POST", "PATCH") and body else {}
        routes: list[tuple[str, str, str, Any]] = [
            ("GET", r"/calendar", "GET calendar", lambda: Reply(200, {"id": f"cal-{box.address}", "name": "Kalender"})),
            ("POST", r"/calendar/getSchedule", "getSchedule", lambda: self._get_schedule(box, data, zone)),
            ("POST", r"/events", "POST events", lambda: self._create_event(box, data, zone)),
            ("GET", r"/events", "GET events", lambda: self._list_events(box, query, zone)),
            ("GET", r"/events/([^/]+)", "GET event",
             lambda i: Reply(200, self._event_json(self._event(box, i), zone, query))),
            ("PATCH", r"/events/([^/]+)", "PATCH event", lambda i: self._patch_event(box, i, data, zone)),
            ("DELETE", r"/events/([^/]+)", "DELETE event", lambda i: self._delete_event(box, i)),
            ("POST", r"/events/([^/]+)/cancel", "POST cancel", lambda i: self._cancel_event(box, i, data)),
            ("GET", r"/events/([^/]+)/attachments", "GET event attachments",
             lambda i: self._list_files(self._event(box, i).files, query)),
            ("POST", r"/events/([^/]+)/attachments", "POST event attachment",
             lambda i: self._add_file(box, "events", i, data)),
            ("POST", r"/(events|messages)/([^/]+)/attachments/createUploadSession", "createUploadSession",
             lambda k, i: self._create_upload(box, k, i, data)),
            ("POST", r"/sendMail", "sendMail", lambda: self._send_mail(box, data)),
            ("POST", r"/messages", "POST draft", lambda: self._create_draft(box, data)),
            ("GET", r"/messages/([^/]+)/attachments", "GET message attachments",
             lambda i: self._list_files(self._message(box, i).files, query)),
            ("POST", r"/messages/([^/]+)/attachments", "POST message attachment",
             lambda i: self._add_file(box, "messages", i, data)),
            ("GET", r"/messages/([^/]+)/attachments/([^/]+)/\$value", "GET $value",
             lambda i, a: self._file_value(box, i, a)),
            ("POST", r"/messages/([^/]+)/send", "POST send", lambda i: self._send_draft(box, i)),
            ("POST", r"/messages/([^/]+)/move", "POST move", lambda i: self._move(box, i, data)),
            ("GET", r"/mailFolders", "GET folders", lambda: self._list_folders(box, self._root(box).id, query)),
            ("POST", r"/mailFolders", "POST folder", lambda: self._create_folder(box, self._root(box).id, data)),
            ("GET", r"/mailFolders/([^/]+)", "GET folder",
             lambda i: Reply(200, self._folder_json(self._folder(box, i)))),
            ("GET", r"/mailFolders/([^/]+)/childFolders", "GET folders",
             lambda i: self._list_folders(box, self._folder(box, i).id, query)),
            ("POST", r"/mailFolders/([^/]+)/childFolders", "POST folder",
             lambda i: self._create_folder(box, self._folder(box, i).id, data)),
            ("GET", r"/mailFolders/([^/]+)/messages", "GET messages",
             lambda i: self._list_messages(box, self._folder(box, i), query)),
        ]
        for route_method, pattern, kind, action in routes:
            found = re.fullmatch(pattern, rest)
            if found and route_method == method:
                self.counts[kind] += 1
                fault = self._kind_faults.get(kind)
                if fault and fault[1] > 0:
                    fault[1] -= 1
                    raise GraphError(fault[0], "ErrorInternalServerTransientError", f"injected failure of {kind}")
                # A "/" inside one path segment (quoted as %2F) travels as NUL until here.
                return action(*(g.replace("\0", "/") for g in found.groups()))
        raise GraphError(405 if any(re.fullmatch(p, rest) for _, p, _, _ in routes) else 400, "BadRequest",
                         f"{method} {rest} is not supported by the stand-in")

    # ---- events -----------------------------------------------------------------------------

    def _event(self, box: Mailbox, event_id: str) -> Event:
        event = box.events.get(event_id)
        if event is None or event.cancelled:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    def _touch(self, event: Event) -> None:
        event.change_key = base64.b64encode(uuid.uuid4().bytes).decode("ascii")

    def _notify(self, event: Event, recipients: list[str], kind: str, *, cancelled: bool | None = None) -> None:
        snapshot = event.snapshot(cancelled=cancelled)
        self.notices.extend(Notice(event.id, r, kind, snapshot) for r in recipients)

    def _attendees(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise GraphError(400, "ErrorInvalidRequest", "attendees must be a list")
        attendees = []
        for attendee in value:
            email = (attendee.get("emailAddress") or {}).get("address") if isinstance(attendee, dict) else None
            kind = attendee.get("type", "required") if isinstance(attendee, dict) else None
            if not email or "@" not in email or kind not in ("required", "optional", "resource"):
                raise GraphError(400, "ErrorInvalidRequest", f"invalid attendee {attendee!r}")
            attendees.append({"emailAddress": {"address": email, "name": attendee["emailAddress"].get("name", email)},
                              "type": kind})
        return attendees

    def _props(self, value: Any) -> dict[str, str]:
        if not isinstance(value, list):
            raise GraphError(400, "ErrorInvalidRequest", "singleValueExtendedProperties must be a list")
        props = {}
        for prop in value:
            if not isinstance(prop, dict) or not TAG.match(str(prop.get("id", ""))):
                raise GraphError(400, "ErrorInvalidProperty", f"invalid extended property {prop!r}")
            props[str(prop["id"])] = str(prop.get("value", ""))
        return props

    def _create_event(self, box: Mailbox, data: dict[str, Any], zone: str) -> Reply:
        if "attachments" in data:
            raise GraphError(400, "ErrorInvalidRequest", "Attachments cannot be added when an event is created; "
                             "add them to the event afterwards.")
        transaction = data.get("transactionId")
        if transaction:
            for existing in box.events.values():
                if existing.transaction_id == transaction and not existing.cancelled:
                    self.counts["transaction replay"] += 1
                    return Reply(201, self._event_json(existing, zone, {}))
        if not data.get("subject") or "start" not in data or "end" not in data:
            raise GraphError(400, "ErrorInvalidRequest", "subject, start and end are required")
        event = Event(self._new_id("evt"), box.address, str(data["subject"]), dict(data.get("body") or {}),
                      _parse_time(data["start"]), _parse_time(data["end"]), dict(data.get("location") or {}),
                      self._attendees(data.get("attendees", [])), str(data.get("sensitivity", "normal")),
                      self._props(data.get("singleValueExtendedProperties", [])), transaction,
                      ical_uid=f"040000008200E00074C5B7101A82E008{uuid.uuid4().hex.upper()}")
        self._touch(event)
        box.events[event.id] = event
        if event.attendees:
            event.sent = True
            self._notify(event, event.emails(), "invitation")
        return Reply(201, self._event_json(event, zone, {}))

    def _patch_event(self, box: Mailbox, event_id: str, data: dict[str, Any], zone: str) -> Reply:
        event = self._event(box, event_id)
        if "attachments" in data:
            raise GraphError(400, "ErrorInvalidRequest", "attachments cannot be set by PATCH")
        if "transactionId" in data and data["transactionId"] != event.transaction_id:
            raise GraphError(400, "ErrorInvalidRequest", "transactionId cannot be changed")
        before = (event.start, event.end, str(event.location.get("displayName", "")),
                  str(event.location.get("locationEmailAddress", "")).casefold())
        old = event.emails()
        if "subject" in data:
            event.subject = str(data["subject"])
        if "body" in data:
            event.body = dict(data["body"])
        if "start" in data:
            event.start = _parse_time(data["start"])
        if "end" in data:
            event.end = _parse_time(data["end"])
        if "location" in data:
            event.location = dict(data["location"] or {})
        if "sensitivity" in data:
            event.sensitivity = str(data["sensitivity"])
        if "attendees" in data:
            event.attendees = self._attendees(data["attendees"])
        if "singleValueExtendedProperties" in data:
            event.props.update(self._props(data["singleValueExtendedProperties"]))
        self._touch(event)
        new = event.emails()
        moved = before != (event.start, event.end, str(event.location.get("displayName", "")),
                           str(event.location.get("locationEmailAddress", "")).casefold())
        if not event.sent:
            if new:
                event.sent = True
                self._notify(event, new, "invitation")
        else:
            removed = [e for e in old if e not in new]
            added = [e for e in new if e not in old]
            if moved or removed or added:
                event.sequence += 1
            self._notify(event, removed, "removed", cancelled=True)
            if set(data) <= {"attendees"}:
                # Only the attendees changed: Graph writes to just the added (and removed) people.
                self._notify(event, added, "invitation")
            elif set(data) & {"subject", "body", "start", "end", "location"}:
                self._notify(event, added, "invitation")
                self._notify(event, [e for e in new if e not in added], "update")
        return Reply(200, self._event_json(event, zone, {}))

    def _cancel_event(self, box: Mailbox, event_id: str, data: dict[str, Any]) -> Reply:
        event = self._event(box, event_id)
        if not event.attendees:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The meeting has no "
                             "attendees to cancel it for.")
        event.sequence += 1
        event.cancelled = True
        event.comment = str(data.get("comment", ""))
        self._touch(event)
        self._notify(event, event.emails(), "cancellation")
        return Reply(202)

    def _delete_event(self, box: Mailbox, event_id: str) -> Reply:
        event = self._event(box, event_id)
        if event.sent and event.attendees:  # the organizer deleting a meeting cancels it too
            event.sequence += 1
            event.cancelled = True
            self._notify(event, event.emails(), "cancellation")
        del box.events[event_id]
        return Reply(204)

    def _list_events(self, box: Mailbox, query: dict[str, str], zone: str) -> Reply:
        wanted: list[tuple[str, str]] | None = None
        text = query.get("$filter")
        if text is not None:
            clauses = FILTER_CLAUSE.findall(text)
            rebuilt = " or ".join(f"singleValueExtendedProperties/Any(ep: ep/id eq '{i}' and ep/value eq '{v}')"
                                  for i, v in clauses)
            if not clauses or rebuilt != text:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", f"The stand-in cannot filter by {text!r}")
            if self.reject_or_filters and len(clauses) > 1:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The filter is too complex.")
            wanted = [(i.replace("''", "'"), v.replace("''", "'").casefold()) for i, v in clauses]
        events = [e for e in box.events.values() if not e.cancelled and (
            wanted is None or (not self.search_lag and any(e.props.get(i, "").casefold() == v for i, v in wanted)))]
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        page = events[skip:skip + top]
        body: dict[str, Any] = {"value": [self._event_json(e, zone, query) for e in page]}
        if skip + top < len(events):
            params = {**query, "$skip": str(skip + top)}
            body["@odata.nextLink"] = f"{self.base_url}/users/{quote(box.address)}/events?" + urlencode(
                params, quote_via=quote)
        return Reply(200, body)

    def _event_json(self, event: Event, zone: str, query: dict[str, str]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": event.id, "changeKey": event.change_key, "iCalUId": event.ical_uid, "subject": event.subject,
            "body": event.body, "start": _fmt(event.start, zone), "end": _fmt(event.end, zone),
            "location": event.location, "sensitivity": event.sensitivity, "hasAttachments": bool(event.files),
            "isCancelled": event.cancelled, "transactionId": event.transaction_id,
            "organizer": {"emailAddress": {"address": event.mailbox, "name": event.mailbox}},
            "attendees": [self._attendee_json(a, event) for a in event.attendees]}
        expand = query.get("$expand", "")
        if "attachments" in expand:
            data["attachments"] = [f.json(content=False) for f in event.files]
        prop = re.search(r"singleValueExtendedProperties\(\$filter=id eq '((?:[^']|'')*)'\)", expand)
        if prop:
            wanted = prop.group(1).replace("''", "'")
            data["singleValueExtendedProperties"] = [{"id": i, "value": v} for i, v in event.props.items()
                                                     if i == wanted]
        return data

    @staticmethod
    def _attendee_json(attendee: dict[str, Any], event: Event) -> dict[str, Any]:
        """An attendee with its status as Graph shows it, and a proposed new time when one was made."""
        response, proposed = event.responses.get(attendee["emailAddress"]["address"].casefold(), ("none", None))
        data = {**attendee, "status": {"response": response, "time": "2027-01-05T08:00:00Z"}}
        if proposed is not None:
            data["proposedNewTime"] = {"start": _fmt(proposed, "UTC"),
                                       "end": _fmt(proposed + timedelta(hours=1), "UTC")}
        return data

    # ---- attachments and upload sessions ----------------------------------------------------

    def _item_files(self, box: Mailbox, kind: str, item: str) -> list[StoredFile]:
        return self._event(box, item).files if kind == "events" else self._message(box, item).files

    def _add_file(self, box: Mailbox, kind: str, item: str, data: dict[str, Any]) -> Reply:
        files = self._item_files(box, kind, item)
        if data.get("@odata.type") != "#microsoft.graph.fileAttachment":
            raise GraphError(400, "ErrorInvalidRequest", "@odata.type #microsoft.graph.fileAttachment expected")
        content = base64.b64decode(str(data.get("contentBytes", "")))
        if len(content) > INLINE_LIMIT:
            raise GraphError(413, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize",
                             "Attachments over 3 MB need an upload session.")
        stored = StoredFile(f"att-{self._next()}", str(data.get("name", "")), content,
                            str(data.get("contentType", "application/octet-stream")))
        files.append(stored)
        if kind == "events":
            self._touch(self._event(box, item))
        return Reply(201, stored.json(content=False))

    def _list_files(self, files: list[StoredFile], query: dict[str, str]) -> Reply:
        content = "$select" not in query or "contentBytes" in query["$select"]
        return Reply(200, {"value": [f.json(content=content) for f in files]})

    def _create_upload(self, box: Mailbox, kind: str, item: str, data: dict[str, Any]) -> Reply:
        self._item_files(box, kind, item)
        spec = data.get("AttachmentItem") or {}
        size = int(spec.get("size", 0))
        if spec.get("attachmentType") != "file" or not spec.get("name"):
            raise GraphError(400, "ErrorInvalidRequest", "AttachmentItem with attachmentType file and name expected")
        if size < INLINE_LIMIT:
            raise GraphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                             "Attachment size must be at least 3 MB for an upload session.")
        token = uuid.uuid4().hex
        self.uploads[token] = Upload(box.address, kind, item, str(spec["name"]), size,
                                     str(spec.get("contentType", "application/octet-stream")))
        return Reply(201, {"uploadUrl": f"{self.root}/upload/{token}", "nextExpectedRanges": ["0-"],
                           "expirationDateTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})

    def _upload(self, method: str, token: str, headers: dict[str, str], body: bytes) -> Reply:
        self.counts["PUT upload"] += 1
        upload = self.uploads.get(token)
        if method != "PUT" or upload is None:
            return Reply(404, {"error": {"code": "ErrorItemNotFound", "message": "no such upload session"}})
        if "authorization" in headers:
            return Reply(401, {"error": {"code": "InvalidAudience", "message": "Do not send an Authorization header "
                                         "to an upload URL."}})
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if not found:
            return Reply(400, {"error": {"code": "InvalidContentRange", "message": "Content-Range expected"}})
        first, last, total = (int(g) for g in found.groups())
        if total != upload.size or first != len(upload.data) or last - first + 1 != len(body):
            return Reply(416, {"error": {"code": "InvalidRange", "message": "unexpected range"}})
        if len(body) > 4 * 1024 * 1024:
            return Reply(400, {"error": {"code": "InvalidRange", "message": "ranges may be at most 4 MB"}})
        upload.data.extend(body)
        if len(upload.data) < upload.size:
            return Reply(200, {"nextExpectedRanges": [f"{len(upload.data)}-"]})
        del self.uploads[token]
        box = self.mailbox(upload.mailbox)
        stored = StoredFile(f"att-{self._next()}", upload.name, bytes(upload.data), upload.content_type)
        self._item_files(box, upload.kind, upload.item).append(stored)
        if upload.kind == "events":
            self._touch(self._event(box, upload.item))
        return Reply(201, {}, {"Location": f"{self.base_url}/users/{quote(box.address)}/{upload.kind}/"
                                           f"{quote(upload.item, safe='')}/attachments/{stored.id}"})

    # ---- free/busy --------------------------------------------------------------------------

    def _get_schedule(self, box: Mailbox, data: dict[str, Any], zone: str) -> Reply:
        people = data.get("schedules")
        if not isinstance(people, list) or not people or len(people) > 20:
            raise GraphError(400, "ErrorInvalidParameter", "schedules: between 1 and 20 addresses")
        start, end = _parse_time(data.get("startTime")), _parse_time(data.get("endTime"))
        if end <= start or end - start >= timedelta(days=62):
            raise GraphError(400, "ErrorInvalidParameter", "The time window must be shorter than 62 days.")
        interval = int(data.get("availabilityViewInterval", 30))
        if not 5 <= interval <= 1440:
            raise GraphError(400, "ErrorInvalidParameter", "availabilityViewInterval must be 5–1440")
        value = []
        for person in people:
            address = str(person)
            if address.casefold() in self.schedule_errors | self.unknown_users:
                value.append({"scheduleId": address, "error": {"message": f"No mailbox for {address}.",
                                                               "responseCode": "ErrorMailRecipientNotFound"}})
                continue
            periods = [(s, e, status) for s, e, status in self.mailbox(address).busy]
            for other in self.mailboxes.values():
                for event in other.events.values():
                    if not event.cancelled and (other.address.casefold() == address.casefold()
                                                or address.casefold() in event.emails()):
                        periods.append((event.start, event.end, "busy"))
            periods = sorted(p for p in periods if p[0] < end and p[1] > start)
            view = ""
            slot = start
            digits = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
            while slot < end:
                during = [status for s, e, status in periods if s < slot + timedelta(minutes=interval) and e > slot]
                view += max((digits.get(st, "2") for st in during), default="0")
                slot += timedelta(minutes=interval)
            value.append({"scheduleId": address, "availabilityView": view,
                          "scheduleItems": [{"status": status, "isPrivate": False, "start": _fmt(s, zone),
                                             "end": _fmt(e, zone)} for s, e, status in periods],
                          "workingHours": {"startTime": "08:00:00.0000000", "endTime": "16:00:00.0000000"}})
        return Reply(200, {"value": value})

    # ---- mail ---------------------------------------------------------------------------------

    def _inline_files(self, message: dict[str, Any]) -> list[StoredFile]:
        files = []
        for attachment in message.get("attachments") or []:
            if attachment.get("@odata.type") != "#microsoft.graph.fileAttachment":
                raise GraphError(400, "ErrorInvalidRequest", "fileAttachment expected")
            content = base64.b64decode(str(attachment.get("contentBytes", "")))
            if len(content) > INLINE_LIMIT:
                raise GraphError(413, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize",
                                 "Inline attachments must be under 3 MB; use an upload session.")
            files.append(StoredFile(f"att-{self._next()}", str(attachment.get("name", "")), content))
        return files

    @staticmethod
    def _recipients(message: dict[str, Any]) -> list[str]:
        to = [str((r.get("emailAddress") or {}).get("address", "")) for r in message.get("toRecipients") or []]
        if not to or not all("@" in t for t in to):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        return to

    def _send_mail(self, box: Mailbox, data: dict[str, Any]) -> Reply:
        message = data.get("message")
        if not isinstance(message, dict):
            raise GraphError(400, "ErrorInvalidRequest", "message expected")
        to = self._recipients(message)
        self.mails.append(SentMail(box.address, to, str(message.get("subject", "")),
                                   str((message.get("body") or {}).get("content", "")), self._inline_files(message)))
        return Reply(202)

    def _create_draft(self, box: Mailbox, data: dict[str, Any]) -> Reply:
        message = Message(self._new_id("msg"), self._well_known(box, "drafts").id, box.address,
                          str(data.get("subject", "")), datetime.now(UTC), self._inline_files(data),
                          self._recipients(data), str((data.get("body") or {}).get("content", "")))
        box.messages[message.id] = message
        return Reply(201, message.json())

    def _send_draft(self, box: Mailbox, message_id: str) -> Reply:
        message = self._message(box, message_id)
        self.mails.append(SentMail(box.address, message.to, message.subject, message.body, message.files))
        del box.messages[message_id]
        return Reply(202)

    # ---- folders and messages ------------------------------------------------------------------

    def _root(self, box: Mailbox) -> Folder:
        return next(f for f in box.folders.values() if f.parent is None)

    def _well_known(self, box: Mailbox, name: str) -> Folder:
        return next(f for f in box.folders.values() if f.id.startswith(f"{name}-"))

    def _folder(self, box: Mailbox, folder_id: str) -> Folder:
        if folder_id.casefold() in WELL_KNOWN:
            return self._well_known(box, folder_id.casefold())
        if folder_id.casefold() == "msgfolderroot":
            return self._root(box)
        folder = box.folders.get(folder_id)
        if folder is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified folder could not be found in the store.")
        return folder

    def _folder_json(self, folder: Folder) -> dict[str, Any]:
        return {"id": folder.id, "displayName": folder.name, "parentFolderId": folder.parent}

    def _list_folders(self, box: Mailbox, parent: str, query: dict[str, str]) -> Reply:
        folders = [f for f in box.folders.values() if f.parent == parent]
        text = query.get("$filter")
        if text is not None:
            found = re.fullmatch(r"displayName eq '((?:[^']|'')*)'", text)
            if not found:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", f"cannot filter folders by {text!r}")
            name = found.group(1).replace("''", "'")
            folders = [f for f in folders if f.name.casefold() == name.casefold()]
        return Reply(200, {"value": [self._folder_json(f) for f in folders]})

    def _create_folder(self, box: Mailbox, parent: str, data: dict[str, Any]) -> Reply:
        name = str(data.get("displayName", "")).strip()
        if not name:
            raise GraphError(400, "ErrorInvalidRequest", "displayName expected")
        if any(f.parent == parent and f.name.casefold() == name.casefold() for f in box.folders.values()):
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder = Folder(f"fld-{self._next()}", name, parent)
        box.folders[folder.id] = folder
        self.counts["folder created"] += 1
        return Reply(201, self._folder_json(folder))

    def _message(self, box: Mailbox, message_id: str) -> Message:
        message = box.messages.get(message_id)
        if message is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return message

    def _list_messages(self, box: Mailbox, folder: Folder, query: dict[str, str]) -> Reply:
        text = query.get("$filter")
        if text not in (None, "hasAttachments eq true"):
            raise GraphError(400, "ErrorInvalidUrlQueryFilter", f"cannot filter messages by {text!r}")
        messages = [m for m in box.messages.values() if m.folder == folder.id and (text is None or m.files)]
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        body: dict[str, Any] = {"value": [m.json(query.get("$select", "")) for m in messages[skip:skip + top]]}
        if skip + top < len(messages):
            folder_path = f"/users/{quote(box.address)}/mailFolders/{quote(folder.id, safe='')}/messages"
            body["@odata.nextLink"] = (f"{self.base_url}{folder_path}?"
                                       + urlencode({**query, "$skip": str(skip + top)}, quote_via=quote))
        return Reply(200, body)

    def _file_value(self, box: Mailbox, message_id: str, file_id: str) -> Reply:
        for stored in self._message(box, message_id).files:
            if stored.id == file_id:
                return Reply(200, raw=stored.content, headers={"Content-Type": "application/octet-stream"})
        raise GraphError(404, "ErrorItemNotFound", "attachment not found")

    def _move(self, box: Mailbox, message_id: str, data: dict[str, Any]) -> Reply:
        message = self._message(box, message_id)
        message.folder = self._folder(box, str(data.get("destinationId", ""))).id
        return Reply(201, message.json())  # an immutable id survives the move

    # ---- $batch -----------------------------------------------------------------------------------

    def _batch(self, data: dict[str, Any], token: str) -> Reply:
        self.counts["$batch"] += 1
        requests_ = data.get("requests")
        if not isinstance(requests_, list) or not requests_:
            raise GraphError(400, "BadRequest", "requests expected")
        if len(requests_) > 20:
            raise GraphError(400, "BadRequest", "Number of requests exceeds the limit of 20.")
        responses = []
        for inner in requests_:
            headers = {str(k).lower(): str(v) for k, v in (inner.get("headers") or {}).items()}
            body = json.dumps(inner["body"]).encode("utf-8") if "body" in inner else b""
            url = str(inner.get("url", ""))
            url = url if url.startswith("/") else "/" + url
            reply = self.handle(str(inner.get("method", "GET")), "/v1.0" + url, headers, body, inner=True,
                                auth=token)
            responses.append({"id": inner.get("id"), "status": reply.status, "headers": reply.headers,
                              **({"body": reply.body} if reply.body is not None else {})})
        return Reply(200, {"responses": responses})

    # ---- Entra ID ---------------------------------------------------------------------------------

    def _identity(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        found = re.fullmatch(r"/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token|"
                             r"oauth2/v2\.0/devicecode)", path)
        if not found:
            return Reply(404, {"error": "not_found"})
        tenant, what = found.groups()
        if tenant.casefold() != self.tenant.casefold():
            return Reply(400, {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not "
                               "found. Check to make sure you have the correct tenant ID and are signing into the "
                               "correct cloud.\r\nTrace ID: 0\r\nCorrelation ID: 0"})
        base = f"{self.root}/{tenant}"
        if what.startswith("v2.0"):
            self.counts["openid-configuration"] += 1
            return Reply(200, {"issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
                               "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                               "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("client_id") != self.client_id:
            return Reply(400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application with "
                               f"identifier '{form.get('client_id')}' was not found in the directory '{tenant}'."})
        if what.endswith("devicecode"):
            self.counts["devicecode"] += 1
            code = f"dc-{uuid.uuid4().hex}"
            self.device_codes[code] = form.get("scope", "")
            return Reply(200, {"device_code": code, "user_code": "FJRD-2027", "expires_in": 900, "interval": 5,
                               "verification_uri": "https://microsoft.com/devicelogin",
                               "message": "To sign in, use a web browser to open the page "
                                          "https://microsoft.com/devicelogin and enter the code FJRD-2027 to "
                                          "authenticate."})
        self.counts["token"] += 1
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if not form.get("scope", "").endswith("/.default"):
                return Reply(400, {"error": "invalid_scope", "error_description": "AADSTS1002012: The provided value "
                                   "for scope is not valid. Client credential flows must have a scope value with "
                                   "/.default suffixed to the resource identifier."})
            if "client_assertion" in form:
                problem = self._check_assertion(form["client_assertion"], f"{base}/oauth2/v2.0/token")
                if problem:
                    return Reply(401, {"error": "invalid_client", "error_description": f"AADSTS700027: {problem}"})
            elif form.get("client_secret") != self.client_secret:
                return Reply(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client "
                                   "secret provided. Ensure the secret being sent in the request is the client "
                                   "secret value, not the client secret ID, for a secret added to app "
                                   f"'{self.client_id}'.\r\nTrace ID: 0"})
            return Reply(200, self._issue())
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") not in self.device_codes:
                return Reply(400, {"error": "expired_token", "error_description": "AADSTS70020: The provided value "
                                   "for the input parameter 'device_code' is not valid."})
            return Reply(200, self._issue(user="hr.admin@fjordlys.example", scope=self.device_codes.pop(
                form["device_code"])))
        if grant == "refresh_token":
            return Reply(200, self._issue(user="hr.admin@fjordlys.example", scope=form.get("scope", "")))
        return Reply(400, {"error": "unsupported_grant_type", "error_description": f"AADSTS70003: {grant}"})

    def _issue(self, *, user: str | None = None, scope: str = "") -> dict[str, Any]:
        token = f"at-{uuid.uuid4().hex}"
        self.tokens.add(token)
        answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": token}
        if user:
            claims = {"aud": self.client_id, "iss": f"{self.root}/{self.tenant}/v2.0", "sub": "u1", "oid": "u1",
                      "tid": "t1", "preferred_username": user, "name": "HR Admin", "iat": 1, "nbf": 1,
                      "exp": 4_102_444_800}
            answer.update(
                scope=" ".join(s for s in scope.split() if s not in ("openid", "profile", "offline_access")),
                refresh_token=f"rt-{uuid.uuid4().hex}",
                id_token=f"{_b64url(b'{}')}.{_b64url(json.dumps(claims).encode())}.",
                client_info=_b64url(json.dumps({"uid": "u1", "utid": "t1"}).encode()))
        return answer

    def _check_assertion(self, assertion: str, audience: str) -> str:
        """Why a certificate's client assertion is refused ('' when it is good)."""
        if self.certificate is None:
            return "No certificate is registered for the application."
        header = jwt.get_unverified_header(assertion)
        sha256 = _b64url(self.certificate.fingerprint(hashes.SHA256()))
        sha1 = _b64url(self.certificate.fingerprint(hashes.SHA1()))
        # RFC 7515 wants base64url without padding; msal pads, Entra ID takes both.
        if str(header.get("x5t#S256", "")).rstrip("=") != sha256 and str(header.get("x5t", "")).rstrip("=") != sha1:
            return "The certificate with identifier used to sign the client assertion is not registered on " \
                   "application."
        try:
            claims = jwt.decode(assertion, self.certificate.public_key(), algorithms=["PS256", "RS256"],
                                audience=audience)
        except jwt.PyJWTError as exc:
            return f"Client assertion failed signature validation ({exc})."
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "Client assertion issuer or subject is not the application."
        return ""


class _Handler(BaseHTTPRequestHandler):
    """Hands each HTTP request to the GraphServer."""

    server_owner: GraphServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server_owner.handle(self.command, self.path, headers, body)
        payload = reply.raw if reply.raw is not None else (
            json.dumps(reply.body).encode("utf-8") if reply.body is not None else b"")
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.raw is None and reply.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def static_backend(server: GraphServer, mailbox: str = ORGANIZER.email, *, max_wait: float = 300.0,
                   slept: list[float] | None = None) -> GraphBackend:
    """A GraphBackend on the stand-in with a fixed token (no msal); waits are recorded, not slept."""
    waits = slept if slept is not None else []
    client = GraphClient(lambda: TOKEN, server.base_url, sleep=waits.append, max_wait=max_wait)
    return GraphBackend(Person(mailbox, "Fjordlys HR"), client)


@contextlib.contextmanager
def contract_kit(tmp_path: Path) -> Iterator[Kit]:
    """The graph backend on the stand-in, with a view of what the attendees and mail recipients got."""
    server = GraphServer().start()
    try:
        backend = static_backend(server)

        def add_reply(sender: str, subject: str, files: list[tuple[str, bytes]],
                      headers: list[tuple[str, str]] | None = None) -> None:
            server.add_reply(ORGANIZER.email, sender, subject, files, headers=headers)

        yield Kit(backend, server.seen, server.sent_count, add_busy=server.add_busy, add_reply=add_reply)
    finally:
        server.stop()
