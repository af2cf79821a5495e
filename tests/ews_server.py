"""A loopback stand-in for Exchange Web Services, behind a real NTLM handshake (research/mail.md §1.13).

No light EWS server exists for Linux, so this one speaks the part of EWS SOAP that the ews backend
(through exchangelib) sends, over HTTP/1.1 with keep-alive on 127.0.0.1, and keeps an in-memory
mailbox per address: calendar items (id, change key that changes on every write, our tag,
attendees, rooms, attachments, a sequence raised when an invited meeting's time, place or attendees
change, cancelled), the messages it "sent" (each invitation, update, cancellation and mail with a
snapshot of what its recipients see), folders with messages and attachments, and seeded busy periods.

Login is a real NTLM handshake (pyspnego's acceptor, credentials in an NTLM_USER_FILE), or Basic.
Every request is checked: the SOAP envelope, the RequestServerVersion header, the impersonation
header exactly when impersonation is configured, the attributes each operation requires; with
SAMTALE_EWS_XSD_DIR naming a folder with Microsoft's messages.xsd and types.xsd, each request is
also validated against them (with lxml). What is wrong lands in `violations` (and a fault answer).

For tests it counts SOAP requests per operation and can answer the next requests with
ErrorServerBusy (with BackOffMilliseconds) or HTTP 503, drop the connection after doing the work,
fail one item of a request, or answer like Microsoft 365 when EWS is blocked.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import itertools
import os
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import spnego
from backend_kit import ORGANIZER, Kit, MailSeen, Seen
from lxml import etree

from samtale_automation.backends.ews.backend import EwsBackend
from samtale_automation.config import EwsSettings
from samtale_automation.domain.model import OSLO

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"s": SOAP, "m": M, "t": T}
PATH = "/EWS/Exchange.asmx"
API_VERSIONS = {"Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
                "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2015_SP1", "Exchange2016"}
#: Operations that act on a mailbox (they carry ExchangeImpersonation when impersonating).
MAILBOX_OPERATIONS = {"CreateItem", "UpdateItem", "DeleteItem", "FindItem", "GetItem", "GetFolder", "FindFolder",
                      "CreateFolder", "MoveItem", "GetAttachment"}
#: Attributes each operation must carry (the XSD's `use="required"`, plus what calendar items need).
REQUIRED_ATTRIBUTES = {"FindItem": ("Traversal",), "FindFolder": ("Traversal",), "MoveItem": (),
                       "UpdateItem": ("ConflictResolution",), "DeleteItem": ("DeleteType",)}
#: Properties FindItem cannot return (real Exchange answers ErrorInvalidPropertyRequest); GetItem can.
NOT_IN_FIND = {"item:Body", "item:Attachments", "calendar:RequiredAttendees", "calendar:OptionalAttendees",
               "calendar:Resources", "message:ToRecipients", "message:CcRecipients", "message:BccRecipients"}
BLOCKED_TEXT = ("ExchangeWebServicesDisabled: EWS is blocked for this tenant or application. "
                "Use Microsoft Graph instead.")
WELL_KNOWN = {"msgfolderroot": ("Top of Information Store", "IPF.Note"), "root": ("Root", "IPF.Note"),
              "inbox": ("Innboks", "IPF.Note"), "calendar": ("Kalender", "IPF.Appointment"),
              "sentitems": ("Sendte elementer", "IPF.Note"), "deleteditems": ("Slettede elementer", "IPF.Note"),
              "drafts": ("Kladd", "IPF.Note")}
_ENV_LOCK = threading.Lock()  # NTLM_USER_FILE is process-wide: one acceptor step at a time


def q(namespace: str, name: str) -> str:
    """A Clark-notation tag."""
    return f"{{{namespace}}}{name}"


def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    """Append a child `t:Name`/`m:Name` element."""
    prefix, name = tag.split(":")
    child = etree.SubElement(parent, q(NSMAP[prefix], name), {k: v for k, v in attrs.items()})
    if text is not None:
        child.text = text
    return child


def ews_time(moment: dt.datetime) -> str:
    """UTC with a Z, as Exchange writes it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
    """An xs:dateTime; a value without offset is in `zone`."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=zone)


class Fault(Exception):
    """A request-level SOAP fault."""

    def __init__(self, code: str, text: str, back_off_ms: int | None = None) -> None:
        super().__init__(code, text)
        self.code, self.text, self.back_off_ms = code, text, back_off_ms


class ItemError(Exception):
    """A per-item error: the ResponseMessage for that item says Error."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(code, text)
        self.code, self.text = code, text or code


@dataclass(frozen=True)
class Person:
    """An address and a display name, as in a t:Mailbox."""

    email: str
    name: str = ""


@dataclass
class FileAttachment:
    """A file on an item."""

    id: str
    name: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Snapshot:
    """A calendar item as one sent message shows it."""

    item_id: str
    sequence: int
    start: dt.datetime
    end: dt.datetime
    attendees: tuple[str, ...]
    cancelled: bool
    attachments: tuple[str, ...]
    subject: str
    location: str


@dataclass(frozen=True)
class Sent:
    """One message the stand-in "sent": an invitation, update, cancellation or mail."""

    sender: str
    recipients: tuple[str, ...]
    kind: str  # request | update | cancel | mail
    subject: str
    attachments: tuple[str, ...] = ()
    snapshot: Snapshot | None = None
    whole: bool = True  # a cancellation of the whole meeting (False: only some attendees removed)


@dataclass
class Item:
    """A calendar item or a message in a mailbox folder."""

    id: str
    changekey: str
    mailbox: str
    folder: str
    kind: str  # CalendarItem | Message
    subject: str = ""
    body: str = ""
    body_type: str = "Text"
    sensitivity: str = "Normal"
    tag: str | None = None
    uid: str = ""
    attachments: list[FileAttachment] = field(default_factory=list)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    location: str = ""
    required: list[Person] = field(default_factory=list)
    optional: list[Person] = field(default_factory=list)
    resources: list[Person] = field(default_factory=list)
    sequence: int = 0
    invited: bool = False  # a meeting whose invitations went out
    cancelled: bool = False
    to: list[Person] = field(default_factory=list)
    sender: Person | None = None
    received: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    is_read: bool = False

    def attendees(self) -> list[Person]:
        """Everybody invited: required, optional and rooms."""
        return [*self.required, *self.optional, *self.resources]


@dataclass
class Folder:
    """A mailbox folder."""

    id: str
    mailbox: str
    name: str
    folder_class: str
    parent: str | None
    distinguished: str | None = None
    changekey: str = "AQAAAA=="


@dataclass
class Busy:
    """A seeded busy period in someone's calendar."""

    start: dt.datetime
    end: dt.datetime
    busy_type: str = "Busy"


class EwsStandIn:
    """The stand-in server: start it with `with`, point the backend at `url`."""

    def __init__(self, tmp_path: Path, users: dict[str, str], *, auth: str = "ntlm", access: str = "delegate",
                 tls: ssl.SSLContext | None = None, build: tuple[int, int, int, int] = (15, 2, 1118, 7)) -> None:
        self.users = users  # login (DOMAIN\user or address) → password
        self.auth = auth  # ntlm | basic
        self.access = access  # delegate | impersonation
        self.build = build
        self.user_file = tmp_path / "ntlm-users.txt"
        self.user_file.write_text("".join(self._ntlm_line(u, p) for u, p in users.items()), encoding="utf-8")
        self.lock = threading.RLock()
        self.counts: Counter[str] = Counter()
        self.bodies: list[tuple[str, bytes]] = []
        self.violations: list[str] = []
        self.logins: list[str] = []
        self.failed_logins = 0
        self.handshakes = 0
        self.items: dict[str, Item] = {}
        self.folders: dict[str, Folder] = {}
        self.busy: dict[str, list[Busy]] = {}
        self.sent: list[Sent] = []
        self.unknown_recipients: set[str] = set()
        self.item_errors: dict[str, str] = {}  # tag → per-item error code for its next write (once)
        self._busy = (0, "", 0)  # (requests left, only this operation or "", back-off in ms)
        self._http = (0, "", 503)  # (requests left, only this operation or "", status)
        self._drop = (0, "")  # (requests left, only this operation or "")
        self.blocked = ""  # "", "http" (403) or "soap" (ErrorAccessDenied naming EWS)
        self._ids = itertools.count(1)
        self._schema = _load_schema()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=lambda: self._server.serve_forever(poll_interval=0.02), daemon=True)

    # ---- lifecycle and test hooks -------------------------------------------------------------

    def __enter__(self) -> EwsStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The EWS endpoint."""
        return f"{self.scheme}://127.0.0.1:{self._server.server_port}{PATH}"

    def settings(self, **changes: Any) -> EwsSettings:
        """Backend settings pointing at this server."""
        values: dict[str, Any] = {"endpoint": self.url, "username": next(iter(self.users)), "auth": self.auth,
                                  "access": self.access, "version": ""}
        values.update(changes)
        return EwsSettings(**values)

    def backend(self, mailbox: Any = ORGANIZER, *, password: str | None = None, sleep: Callable[[float], None] |
                None = None, **changes: Any) -> EwsBackend:
        """An ews backend logged in to this server (the configured user's password unless given)."""
        settings = self.settings(**changes)
        secret = password if password is not None else self.users.get(settings.username, "")
        return EwsBackend.connect(settings, mailbox, secret, sleep=sleep or (lambda _seconds: None))

    def inject_busy(self, count: int, back_off_ms: int = 2000, operation: str = "") -> None:
        """Answer the next `count` SOAP requests (of `operation`) with ErrorServerBusy, without doing them."""
        self._busy = (count, operation, back_off_ms)

    def inject_http(self, count: int, status: int = 503, operation: str = "") -> None:
        """Answer the next `count` SOAP requests (of `operation`) with an HTTP error, without doing them."""
        self._http = (count, operation, status)

    def drop_after_work(self, count: int, operation: str = "") -> None:
        """Do the next `count` requests (of `operation`), then close the connection without answering."""
        self._drop = (count, operation)

    def block(self, style: str = "http") -> None:
        """Answer like Microsoft 365 with EWS switched off: "http" (403) or "soap" (ErrorAccessDenied)."""
        self.blocked = style

    def add_busy(self, address: str, start: dt.datetime, end: dt.datetime, busy_type: str = "Busy") -> None:
        """Put a busy period in someone's calendar."""
        with self.lock:
            self.busy.setdefault(address.casefold(), []).append(Busy(start, end, busy_type))

    def add_reply(self, mailbox: str, sender: str, subject: str, files: list[tuple[str, bytes]],
                  received: dt.datetime | None = None, folder: str = "inbox") -> str:
        """Put a message from `sender` with these files in the mailbox's inbox (or another folder); its id."""
        with self.lock:
            target = self.well_known(mailbox, folder)
            item = Item(self._id(), self._changekey(), mailbox.casefold(), target.id, "Message", subject=subject,
                        body="Se vedlegg.", sender=Person(sender), to=[Person(mailbox)],
                        received=received or dt.datetime.now(dt.UTC),
                        attachments=[FileAttachment(self._id("att"), name, content,
                                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                                     for name, content in files])
            self.items[item.id] = item
            return item.id

    def add_folder(self, mailbox: str, name: str, parent: str = "inbox") -> str:
        """Make a folder below a well-known one (or below another folder id); its id."""
        with self.lock:
            parent_id = self.well_known(mailbox, parent).id if parent in WELL_KNOWN else parent
            folder = Folder(self._id("fld"), mailbox.casefold(), name, "IPF.Note", parent_id)
            self.folders[folder.id] = folder
            return folder.id

    def calendar(self, mailbox: str) -> list[Item]:
        """The items in a mailbox's calendar now."""
        with self.lock:
            folder = self.well_known(mailbox, "calendar")
            return [i for i in self.items.values() if i.folder == folder.id]

    def in_folder(self, mailbox: str, folder_id: str) -> list[Item]:
        """The items in a folder."""
        with self.lock:
            return [i for i in self.items.values() if i.folder == folder_id and i.mailbox == mailbox.casefold()]

    def folder_named(self, mailbox: str, name: str) -> Folder | None:
        """A folder of the mailbox by display name."""
        with self.lock:
            return next((f for f in self.folders.values() if f.mailbox == mailbox.casefold() and f.name == name), None)

    def soap_requests(self) -> int:
        """SOAP requests answered so far (all operations)."""
        return sum(self.counts.values())

    # ---- what the peers see ------------------------------------------------------------------

    def seen(self) -> tuple[dict[str, Seen], list[MailSeen]]:
        """Per calendar item what its attendees now see (its latest whole message), and the mails sent."""
        meetings: dict[str, Seen] = {}
        mails: list[MailSeen] = []
        with self.lock:
            for message in self.sent:
                if message.kind == "mail":
                    mails.append(MailSeen(frozenset(message.recipients), message.subject, message.attachments))
                    continue
                shot = message.snapshot
                if shot is None or (message.kind == "cancel" and not message.whole):
                    continue  # some attendees removed: the others' meeting is unchanged
                meetings[shot.item_id] = Seen(shot.sequence, shot.start.astimezone(OSLO), shot.end.astimezone(OSLO),
                                              set(shot.attendees), shot.cancelled, list(shot.attachments),
                                              shot.subject)
        return meetings, mails

    def sent_count(self) -> int:
        """Invitations, updates, cancellations and mails sent (one per message, whatever its recipients)."""
        with self.lock:
            return len(self.sent)

    def sent_to(self, address: str) -> list[Sent]:
        """Every message one address got."""
        with self.lock:
            return [s for s in self.sent if address.casefold() in s.recipients]

    # ---- mailbox plumbing ---------------------------------------------------------------------

    def _id(self, kind: str = "itm") -> str:
        return base64.b64encode(f"AAMk-{kind}-{next(self._ids):06d}".encode()).decode()

    def _changekey(self) -> str:
        return base64.b64encode(f"CK-{next(self._ids):06d}".encode()).decode()

    def well_known(self, mailbox: str, name: str) -> Folder:
        """A mailbox's distinguished folder (made on first use, like the mailbox itself)."""
        address = mailbox.casefold()
        found = next((f for f in self.folders.values() if f.mailbox == address and f.distinguished == name), None)
        if found is not None:
            return found
        if name not in WELL_KNOWN:
            raise ItemError("ErrorFolderNotFound", f"The distinguished folder {name} was not found.")
        root = None if name == "root" else self.well_known(mailbox, "root" if name == "msgfolderroot" else
                                                           "msgfolderroot").id
        display, folder_class = WELL_KNOWN[name]
        folder = Folder(self._id("fld"), address, display, folder_class, root, distinguished=name)
        self.folders[folder.id] = folder
        return folder

    @staticmethod
    def _ntlm_line(user: str, password: str) -> str:
        domain, _, name = user.rpartition("\\")
        return f"{domain}:{name}:{password}\n"

    def snapshot(self, item: Item, *, cancelled: bool = False) -> Snapshot:
        """What a message about this item shows."""
        assert item.start is not None and item.end is not None
        return Snapshot(item.id, item.sequence, item.start, item.end,
                        tuple(p.email.casefold() for p in item.attendees()), cancelled,
                        tuple(a.name for a in item.attachments), item.subject, item.location)

    def record(self, item: Item, people: list[Person], kind: str, *, whole: bool = True) -> None:
        """An invitation, update or cancellation from the item's mailbox to these people."""
        if not people:
            return
        shot = self.snapshot(item, cancelled=kind == "cancel" and whole)
        self.sent.append(Sent(item.mailbox, tuple(p.email.casefold() for p in people), kind, item.subject,
                              shot.attachments, shot, whole))

    # ---- HTTP ---------------------------------------------------------------------------------

    def check_login(self, handler: _Handler) -> str | None:
        """The logged-in user, or None after sending the 401 (or challenge) that the client must answer."""
        header = handler.headers.get("Authorization", "")
        if self.auth == "basic":
            if header.startswith("Basic "):
                # IIS reads Basic credentials in the Windows code page (requests sends Latin-1, which agrees on æøå)
                user, _, password = base64.b64decode(header[6:]).decode("cp1252", "replace").partition(":")
                if self.users.get(user) == password:
                    return user
                self.failed_logins += 1
            handler.reply(401, b"", {"WWW-Authenticate": 'Basic realm="127.0.0.1"'})
            return None
        if handler.ntlm_user is not None and not header.startswith("NTLM "):
            return handler.ntlm_user  # NTLM authenticates the connection, not each request
        if not header.startswith("NTLM "):
            handler.reply(401, b"", {"WWW-Authenticate": "NTLM"})
            return None
        token = base64.b64decode(header[5:])
        with _ENV_LOCK:
            before = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = str(self.user_file)
            try:
                if token[8:12] == b"\x01\x00\x00\x00":  # NEGOTIATE: a new handshake on this connection
                    handler.ntlm = spnego.server(protocol="ntlm")
                    handler.ntlm_user = None
                    self.handshakes += 1
                if handler.ntlm is None:
                    raise spnego.exceptions.SpnegoError(context_msg="no NTLM handshake under way")
                answer = handler.ntlm.step(token)
            except spnego.exceptions.SpnegoError:
                handler.ntlm = None
                self.failed_logins += 1
                handler.reply(401, b"", {"WWW-Authenticate": "NTLM"})
                return None
            finally:
                if before is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = before
        if not handler.ntlm.complete:
            handler.reply(401, b"", {"WWW-Authenticate": "NTLM " + base64.b64encode(answer or b"").decode()})
            return None
        handler.ntlm_user = str(handler.ntlm.client_principal)
        return handler.ntlm_user

    def serve(self, handler: _Handler, body: bytes) -> None:
        """One POST: path, Microsoft 365 blocking, login, injected failures, then the SOAP operation."""
        if handler.path.split("?")[0].casefold() != PATH.casefold():
            handler.reply(404, b"Not Found", {"Content-Type": "text/plain"})
            return
        if self.blocked == "http":
            handler.reply(403, BLOCKED_TEXT.encode(), {"Content-Type": "text/plain"})
            return
        user = self.check_login(handler)
        if user is None:
            return
        with self.lock:
            self.logins.append(user)
            try:
                envelope = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
                operation, request, acting = self.check(envelope)
            except Fault as fault:
                handler.reply(500, fault_xml(fault, self.build), {"Content-Type": "text/xml; charset=utf-8"})
                return
            self.counts[operation] += 1
            self.bodies.append((operation, body))
            left, only, status = self._http
            if left and only in ("", operation):
                self._http = (left - 1, only, status)
                handler.reply(status, b"Service Unavailable", {"Content-Type": "text/plain", "Retry-After": "3"})
                return
            left, only, back_off = self._busy
            if left and only in ("", operation):
                self._busy = (left - 1, only, back_off)
                busy = Fault("ErrorServerBusy", "The server cannot service this request right now.", back_off)
                handler.reply(500, fault_xml(busy, self.build), {"Content-Type": "text/xml; charset=utf-8"})
                return
            if self.blocked == "soap":
                denied = Fault("ErrorAccessDenied", "Access is denied. " + BLOCKED_TEXT)
                handler.reply(500, fault_xml(denied, self.build), {"Content-Type": "text/xml; charset=utf-8"})
                return
            try:
                answer = OPERATIONS[operation](self, request, acting)
            except Fault as fault:
                handler.reply(500, fault_xml(fault, self.build), {"Content-Type": "text/xml; charset=utf-8"})
                return
            except Exception as exc:  # a bug here, or a request it cannot read: make the test fail visibly
                self.violations.append(f"{operation}: the stand-in failed: {exc!r}")
                crash = Fault("ErrorInternalServerError", repr(exc))
                handler.reply(500, fault_xml(crash, self.build), {"Content-Type": "text/xml; charset=utf-8"})
                return
            left, only = self._drop
            if left and only in ("", operation):
                self._drop = (left - 1, only)
                handler.drop()
                return
            handler.reply(200, envelope_xml(answer, self.build), {"Content-Type": "text/xml; charset=utf-8"})

    def periods(self, address: str, start: dt.datetime, end: dt.datetime) -> list[tuple[Any, Any, str]]:
        """Seeded busy periods, the mailbox's own meetings (Busy) and meetings it is invited to (Tentative)."""
        who = address.casefold()
        found = [(b.start, b.end, b.busy_type) for b in self.busy.get(who, [])]
        for item in self.items.values():
            if item.kind != "CalendarItem" or item.cancelled or item.start is None or item.end is None:
                continue
            if item.mailbox == who and item.folder == self.well_known(who, "calendar").id:
                found.append((item.start, item.end, "Busy"))
            elif item.invited and who in {p.email.casefold() for p in item.attendees()}:
                found.append((item.start, item.end, "Tentative"))
        return sorted((f for f in found if f[0] < end and f[1] > start), key=lambda f: f[0])

    # ---- checks -------------------------------------------------------------------------------

    def violation(self, text: str) -> Fault:
        """Note what was wrong with a request; the fault to answer it with."""
        self.violations.append(text)
        return Fault("ErrorSchemaValidation", text)

    def check(self, envelope: Any) -> tuple[str, Any, str | None]:
        """The operation, its element and the impersonated mailbox; Fault (and a violation) when malformed."""
        if envelope.tag != q(SOAP, "Envelope"):
            raise self.violation(f"not a SOAP envelope: {envelope.tag}")
        header = envelope.find(q(SOAP, "Header"))
        body = envelope.find(q(SOAP, "Body"))
        if body is None or len(body) != 1:
            raise self.violation("the SOAP body must hold exactly one operation")
        request = body[0]
        operation = etree.QName(request).localname.removesuffix("Request")
        if etree.QName(request).namespace != M or operation not in OPERATIONS:
            raise self.violation(f"unknown operation {request.tag}")
        version = header.find(q(T, "RequestServerVersion")) if header is not None else None
        if version is None or version.get("Version") not in API_VERSIONS:
            raise self.violation(f"{operation}: RequestServerVersion missing or unknown")
        impersonation = header.find(q(T, "ExchangeImpersonation")) if header is not None else None
        acting = None
        if operation in MAILBOX_OPERATIONS:
            if self.access == "impersonation":
                address = impersonation.findtext(f"{{{T}}}ConnectingSID/{{{T}}}PrimarySmtpAddress") \
                    if impersonation is not None else None
                if not address:
                    raise self.violation(f"{operation}: ExchangeImpersonation header missing")
                acting = address.casefold()
            elif impersonation is not None:
                raise self.violation(f"{operation}: ExchangeImpersonation without impersonation configured")
        for name in REQUIRED_ATTRIBUTES.get(operation, ()):
            if not request.get(name):
                raise self.violation(f"{operation}: attribute {name} missing")
        if self._schema is not None:
            for element in [request, *([] if header is None else list(header))]:
                if not self._schema.validate(etree.ElementTree(element)):
                    raise self.violation(f"{operation}: XSD: {self._schema.error_log.last_error}")
        return operation, request, acting

    # ---- reading requests ---------------------------------------------------------------------

    def folder_of(self, element: Any, acting: str | None) -> Folder:
        """The folder a t:FolderId or t:DistinguishedFolderId names."""
        if element.tag == q(T, "FolderId"):
            found = self.folders.get(element.get("Id", ""))
            if found is None:
                raise ItemError("ErrorFolderNotFound", "The folder id is unknown.")
            return found
        if element.tag != q(T, "DistinguishedFolderId"):
            raise self.violation(f"not a folder id: {element.tag}")
        mailbox = element.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress") or acting
        if not mailbox:
            raise self.violation("DistinguishedFolderId without a mailbox")
        return self.well_known(mailbox, element.get("Id", ""))


TAG_SET = "c11ff724-aa03-4555-9952-8fa248a11c3e"
TAG_NAME = "samtale-id"
SEND_TO_ALL = ("SendToAllAndSaveCopy", "SendOnlyToAll")
SEND_TO_CHANGED = ("SendToChangedAndSaveCopy", "SendOnlyToChanged")


def is_tag(element: Any) -> bool:
    """An ExtendedFieldURI naming our tag."""
    return (element.get("PropertySetId", "").casefold() == TAG_SET and element.get("PropertyName") == TAG_NAME
            and element.get("PropertyType") == "String")


def people(element: Any) -> list[Person]:
    """The t:Mailbox entries under a recipients or attendees element."""
    found = []
    for mailbox in element.iter(q(T, "Mailbox")):
        address = mailbox.findtext(q(T, "EmailAddress")) or ""
        found.append(Person(address, mailbox.findtext(q(T, "Name")) or ""))
    return found


def read_item(stand_in: EwsStandIn, element: Any) -> dict[str, Any]:
    """The fields an item element carries (what CreateItem sends, or one SetItemField value)."""
    data: dict[str, Any] = {}
    for child in element:
        name = etree.QName(child).localname
        if name == "Subject":
            data["subject"] = child.text or ""
        elif name == "Body":
            data["body"], data["body_type"] = child.text or "", child.get("BodyType", "Text")
        elif name == "Sensitivity":
            data["sensitivity"] = child.text or "Normal"
        elif name == "Attachments":
            data["attachments"] = [FileAttachment(stand_in._id("att"), a.findtext(q(T, "Name")) or "",
                                                  base64.b64decode(a.findtext(q(T, "Content")) or ""),
                                                  a.findtext(q(T, "ContentType")) or "application/octet-stream")
                                   for a in child if a.tag == q(T, "FileAttachment")]
        elif name == "ExtendedProperty":
            uri = child.find(q(T, "ExtendedFieldURI"))
            if uri is not None and is_tag(uri):
                data["tag"] = child.findtext(q(T, "Value"))
        elif name in ("Start", "End"):
            data[name.lower()] = parse_time(child.text or "")
        elif name in ("UID", "Location"):
            data[name.lower()] = child.text or ""
        elif name in ("RequiredAttendees", "OptionalAttendees", "Resources", "ToRecipients", "CcRecipients",
                      "BccRecipients"):
            data[{"RequiredAttendees": "required", "OptionalAttendees": "optional", "Resources": "resources",
                  "ToRecipients": "to", "CcRecipients": "cc", "BccRecipients": "bcc"}[name]] = people(child)
        elif name == "From":
            data["sender"] = next(iter(people(child)), None)
        elif name == "IsRead":
            data["is_read"] = child.text in ("true", "1")
    return data


# ---- writing answers ------------------------------------------------------------------------


def envelope_xml(content: Any, build: tuple[int, int, int, int]) -> bytes:
    """A SOAP answer with the ServerVersionInfo header exchangelib reads the version from."""
    envelope = etree.Element(q(SOAP, "Envelope"), nsmap=NSMAP)
    header = sub(envelope, "s:Header")
    sub(header, "t:ServerVersionInfo", MajorVersion=str(build[0]), MinorVersion=str(build[1]),
        MajorBuildNumber=str(build[2]), MinorBuildNumber=str(build[3]), Version="V2017_07_11")
    sub(envelope, "s:Body").append(content)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def fault_xml(fault: Fault, build: tuple[int, int, int, int]) -> bytes:
    """A SOAP fault as Exchange sends it (HTTP 500), with BackOffMilliseconds for ErrorServerBusy."""
    envelope = etree.Element(q(SOAP, "Envelope"), nsmap={**NSMAP, "e": E})
    body = sub(envelope, "s:Body")
    fault_el = sub(body, "s:Fault")
    etree.SubElement(fault_el, "faultcode").text = "s:Client" if fault.code == "ErrorSchemaValidation" else \
        "s:Server"
    etree.SubElement(fault_el, "faultstring").text = fault.text
    detail = etree.SubElement(fault_el, "detail")
    etree.SubElement(detail, q(E, "ResponseCode")).text = fault.code
    etree.SubElement(detail, q(E, "Message")).text = fault.text
    if fault.back_off_ms is not None:
        xml = sub(detail, "t:MessageXml")
        sub(xml, "t:Value", str(fault.back_off_ms), Name="BackOffMilliseconds")
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def answer(operation: str) -> tuple[Any, Any]:
    """`m:<Op>Response` and its `m:ResponseMessages`."""
    root = etree.Element(q(M, f"{operation}Response"), nsmap=NSMAP)
    return root, sub(root, "m:ResponseMessages")


def message(messages: Any, operation: str, error: ItemError | None = None) -> Any:
    """One `m:<Op>ResponseMessage`, Success or Error."""
    element = sub(messages, f"m:{operation}ResponseMessage", ResponseClass="Error" if error else "Success")
    if error is not None:
        sub(element, "m:MessageText", error.text)
        sub(element, "m:ResponseCode", error.code)
        sub(element, "m:DescriptiveLinkKey", "0")
    else:
        sub(element, "m:ResponseCode", "NoError")
    return element


def mailbox_xml(parent: Any, tag: str, person: Person) -> None:
    """A t:Mailbox element (under `tag`, when given)."""
    holder = sub(parent, tag) if tag else parent
    box = sub(holder, "t:Mailbox")
    if person.name:
        sub(box, "t:Name", person.name)
    sub(box, "t:EmailAddress", person.email)
    sub(box, "t:RoutingType", "SMTP")
    sub(box, "t:MailboxType", "Mailbox")


def requested(shape: Any) -> tuple[str, set[str], bool]:
    """The base shape, the FieldURIs and whether our tag was asked for."""
    base = shape.findtext(q(T, "BaseShape")) or "IdOnly"
    extra = shape.find(q(T, "AdditionalProperties"))
    paths = {e.get("FieldURI", "") for e in extra.iter(q(T, "FieldURI"))} if extra is not None else set()
    tag = extra is not None and any(is_tag(e) for e in extra.iter(q(T, "ExtendedFieldURI")))
    if base != "IdOnly":
        paths |= {"item:Subject", "item:HasAttachments", "item:DateTimeReceived", "calendar:Start", "calendar:End",
                  "calendar:Location", "message:From", "message:IsRead", "item:ItemClass"}
    return base, paths, tag


def item_xml(parent: Any, item: Item, paths: set[str], tag: bool) -> None:
    """An item with the asked-for properties, in the schema's order."""
    element = sub(parent, f"t:{item.kind}")
    sub(element, "t:ItemId", Id=item.id, ChangeKey=item.changekey)
    calendar = item.kind == "CalendarItem"
    if "item:ItemClass" in paths:
        sub(element, "t:ItemClass", "IPM.Appointment" if calendar else "IPM.Note")
    if "item:Subject" in paths:
        sub(element, "t:Subject", item.subject)
    if "item:Sensitivity" in paths:
        sub(element, "t:Sensitivity", item.sensitivity)
    if "item:Body" in paths:
        sub(element, "t:Body", item.body, BodyType=item.body_type)
    if "item:Attachments" in paths and item.attachments:
        holder = sub(element, "t:Attachments")
        for attachment in item.attachments:
            file_el = sub(holder, "t:FileAttachment")
            sub(file_el, "t:AttachmentId", Id=attachment.id)
            sub(file_el, "t:Name", attachment.name)
            sub(file_el, "t:ContentType", attachment.content_type)
            sub(file_el, "t:Size", str(len(attachment.content)))
            sub(file_el, "t:IsInline", "false")
    if "item:DateTimeReceived" in paths:
        sub(element, "t:DateTimeReceived", ews_time(item.received))
    if "item:HasAttachments" in paths:
        sub(element, "t:HasAttachments", "true" if item.attachments else "false")
    if tag and item.tag is not None:
        prop = sub(element, "t:ExtendedProperty")
        sub(prop, "t:ExtendedFieldURI", PropertySetId=TAG_SET, PropertyName=TAG_NAME, PropertyType="String")
        sub(prop, "t:Value", item.tag)
    if not calendar:
        if "message:Sender" in paths and item.sender:
            mailbox_xml(element, "t:Sender", item.sender)
        if "message:ToRecipients" in paths and item.to:
            holder = sub(element, "t:ToRecipients")
            for person in item.to:
                mailbox_xml(holder, "", person)
        if "message:From" in paths and item.sender:
            mailbox_xml(element, "t:From", item.sender)
        if "message:IsRead" in paths:
            sub(element, "t:IsRead", "true" if item.is_read else "false")
        return
    if "calendar:UID" in paths:
        sub(element, "t:UID", item.uid)
    if "calendar:Start" in paths and item.start:
        sub(element, "t:Start", ews_time(item.start))
    if "calendar:End" in paths and item.end:
        sub(element, "t:End", ews_time(item.end))
    if "calendar:Location" in paths and item.location:
        sub(element, "t:Location", item.location)
    if "calendar:IsMeeting" in paths:
        sub(element, "t:IsMeeting", "true" if item.attendees() else "false")
    if "calendar:IsCancelled" in paths:
        sub(element, "t:IsCancelled", "true" if item.cancelled else "false")
    for uri, name, entries in (("calendar:RequiredAttendees", "RequiredAttendees", item.required),
                               ("calendar:OptionalAttendees", "OptionalAttendees", item.optional),
                               ("calendar:Resources", "Resources", item.resources)):
        if uri in paths and entries:
            holder = sub(element, f"t:{name}")
            for person in entries:
                attendee = sub(holder, "t:Attendee")
                mailbox_xml(attendee, "", person)
                sub(attendee, "t:ResponseType", "Unknown")
    if "calendar:AppointmentSequenceNumber" in paths:
        sub(element, "t:AppointmentSequenceNumber", str(item.sequence))


def folder_xml(parent: Any, folder: Folder, stand_in: EwsStandIn, paths: set[str]) -> None:
    """A folder element with its ids, class, name and counts."""
    element = sub(parent, "t:CalendarFolder" if folder.folder_class == "IPF.Appointment" else "t:Folder")
    sub(element, "t:FolderId", Id=folder.id, ChangeKey=folder.changekey)
    if folder.parent:
        sub(element, "t:ParentFolderId", Id=folder.parent, ChangeKey="AQAAAA==")
    sub(element, "t:FolderClass", folder.folder_class)
    sub(element, "t:DisplayName", folder.name)
    contents = [i for i in stand_in.items.values() if i.folder == folder.id]
    sub(element, "t:TotalCount", str(len(contents)))
    sub(element, "t:ChildFolderCount", str(sum(1 for f in stand_in.folders.values() if f.parent == folder.id)))
    if "folder:DistinguishedFolderId" in paths and folder.distinguished:
        sub(element, "t:DistinguishedFolderId", folder.distinguished)
    if folder.folder_class != "IPF.Appointment":
        sub(element, "t:UnreadCount", str(sum(1 for i in contents if not i.is_read)))


# ---- restrictions ---------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b, "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b, "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b, "IsLessThanOrEqualTo": lambda a, b: a <= b}


def value_of(thing: Item | Folder, path: Any) -> Any:
    """A property's value for restrictions and sorting (strings casefolded: Exchange compares that way)."""
    if path.tag == q(T, "ExtendedFieldURI"):
        return (thing.tag or "").casefold() if isinstance(thing, Item) and is_tag(path) else None
    uri = path.get("FieldURI", "")
    if isinstance(thing, Folder):
        return thing.name.casefold() if uri == "folder:DisplayName" else None
    values = {"item:Subject": thing.subject.casefold(), "item:HasAttachments": bool(thing.attachments),
              "item:DateTimeReceived": thing.received, "calendar:Start": thing.start, "calendar:End": thing.end,
              "message:IsRead": thing.is_read}
    if uri not in values:
        raise Fault("ErrorUnsupportedPathForQuery", f"The stand-in cannot restrict on {uri}.")
    return values[uri]


def constant(sample: Any, text: str) -> Any:
    """A restriction's constant in the property's type."""
    if isinstance(sample, bool):
        return text in ("true", "1")  # xs:boolean
    if isinstance(sample, dt.datetime):
        return parse_time(text)
    return text.casefold()


def matches(expression: Any, thing: Item | Folder) -> bool:
    """Whether an item or folder satisfies a restriction expression."""
    name = etree.QName(expression).localname
    if name in ("Or", "And"):
        results = [matches(child, thing) for child in expression]
        return any(results) if name == "Or" else all(results)
    if name == "Not":
        return not matches(expression[0], thing)
    if name == "Exists":
        return value_of(thing, expression[0]) not in (None, "")
    if name in _COMPARE:
        left = value_of(thing, expression[0])
        right = expression[1].find(q(T, "Constant"))
        if left is None or right is None:
            return False
        return _COMPARE[name](left, constant(left, right.get("Value", "")))
    if name == "Contains":
        left = value_of(thing, expression[0])
        right = expression.find(q(T, "Constant"))
        return isinstance(left, str) and right is not None and right.get("Value", "").casefold() in left
    raise Fault("ErrorUnsupportedQueryFilter", f"The stand-in cannot evaluate {name}.")


# ---- time zones (GetUserAvailability) -------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Rule:
    """One yearly change: on the n-th (5 = last) weekday of a month, at a wall-clock time."""

    bias: int
    time: dt.time
    order: int
    month: int
    weekday: int  # 0 = Monday

    def day(self, year: int) -> dt.date:
        """The date of the change in a year."""
        first = dt.date(year, self.month, 1)
        day = first + dt.timedelta(days=(self.weekday - first.weekday()) % 7)
        for _ in range(self.order - 1):
            if (day + dt.timedelta(days=7)).month != self.month:
                break
            day += dt.timedelta(days=7)
        return day


@dataclass(frozen=True)
class Zone:
    """A t:TimeZone as GetUserAvailability sends it: a bias and two rules (UTC = local + bias)."""

    bias: int
    standard: Rule
    daylight: Rule

    @classmethod
    def parse(cls, element: Any) -> Zone:
        """Read a t:TimeZone element."""
        def rule(tag: str) -> Rule:
            part = element.find(q(T, tag))
            return Rule(int(part.findtext(q(T, "Bias"))), dt.time.fromisoformat(part.findtext(q(T, "Time"))),
                        int(part.findtext(q(T, "DayOrder"))), int(part.findtext(q(T, "Month"))),
                        _WEEKDAYS.index(part.findtext(q(T, "DayOfWeek"))))
        return cls(int(element.findtext(q(T, "Bias"))), rule("StandardTime"), rule("DaylightTime"))

    def offset(self, moment: dt.datetime) -> dt.timedelta:
        """Local time minus UTC at this instant, by the rules."""
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
        if self.standard == self.daylight:
            return -dt.timedelta(minutes=self.bias + self.standard.bias)
        year = utc.year
        begins = dt.datetime.combine(self.daylight.day(year), self.daylight.time) + dt.timedelta(
            minutes=self.bias + self.standard.bias)
        ends = dt.datetime.combine(self.standard.day(year), self.standard.time) + dt.timedelta(
            minutes=self.bias + self.daylight.bias)
        daylight = begins <= utc < ends if begins < ends else not ends <= utc < begins
        return -dt.timedelta(minutes=self.bias + (self.daylight.bias if daylight else self.standard.bias))

    def local(self, moment: dt.datetime) -> str:
        """The wall-clock time without offset, as EWS writes times in the requested zone."""
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return (utc + self.offset(moment)).strftime("%Y-%m-%dT%H:%M:%S")


# ---- operations -----------------------------------------------------------------------------


def op_convert_id(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """ConvertId: exchangelib's version probe; every id is refused, the header tells the version."""
    root, messages = answer("ConvertId")
    for _ in request.iter(q(T, "AlternateId")):
        message(messages, "ConvertId", ItemError("ErrorInvalidIdMalformed", "Id is malformed."))
    return root


def op_create_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """CreateItem: calendar items (invitations sent when asked), messages, and CancelCalendarItem."""
    disposition = request.get("MessageDisposition")
    invitations = request.get("SendMeetingInvitations")
    saved = request.find(q(M, "SavedItemFolderId"))
    folder = self.folder_of(saved[0], acting) if saved is not None else None
    items = request.find(q(M, "Items"))
    if items is None or not len(items):
        raise self.violation("CreateItem without items")
    root, messages = answer("CreateItem")
    for element in items:
        kind = etree.QName(element).localname
        if kind == "CalendarItem" and not invitations:
            raise self.violation("CreateItem of a CalendarItem without SendMeetingInvitations")
        if kind in ("Message", "CancelCalendarItem") and not disposition:
            raise self.violation(f"CreateItem of a {kind} without MessageDisposition")
        try:
            if kind == "CalendarItem":
                created = create_calendar_item(self, element, folder, invitations or "", acting)
            elif kind == "Message":
                created = create_message(self, element, folder, disposition or "", acting)
            elif kind == "CancelCalendarItem":
                created = cancel_calendar_item(self, element)
            else:
                raise self.violation(f"CreateItem of an unsupported {kind}")
        except ItemError as error:
            sub(message(messages, "CreateItem", error), "m:Items")
            continue
        holder = sub(message(messages, "CreateItem"), "m:Items")
        if created is not None:
            element_out = sub(holder, f"t:{created.kind}")
            sub(element_out, "t:ItemId", Id=created.id, ChangeKey=created.changekey)
            if created.attachments:
                attachments = sub(element_out, "t:Attachments")
                for attachment in created.attachments:
                    sub(sub(attachments, "t:FileAttachment"), "t:AttachmentId", Id=attachment.id,
                        RootItemId=created.id, RootItemChangeKey=created.changekey)
    return root


def _one_shot_error(self: EwsStandIn, tag: str | None) -> None:
    if tag is not None and tag in self.item_errors:
        code = self.item_errors.pop(tag)
        raise ItemError(code, f"{code} (injected for {tag})")


def _unknown(self: EwsStandIn, persons: list[Person]) -> None:
    missing = [p.email for p in persons if p.email.casefold() in self.unknown_recipients]
    if missing:
        raise ItemError("ErrorMailRecipientNotFound", f"Recipient not found: {', '.join(missing)}")


def create_calendar_item(self: EwsStandIn, element: Any, folder: Folder | None, invitations: str,
                         acting: str | None) -> Item:
    """A new calendar item; invitations to every attendee and room when SendMeetingInvitations says so."""
    data = read_item(self, element)
    if folder is None:
        if not acting:
            raise self.violation("CreateItem of a CalendarItem without a folder or a mailbox")
        folder = self.well_known(acting, "calendar")
    if folder.folder_class != "IPF.Appointment":
        raise ItemError("ErrorCannotCreateCalendarItemInNonCalendarFolder", "Not a calendar folder.")
    if "start" not in data or "end" not in data:
        raise self.violation("CalendarItem without Start and End")
    if element.find(q(T, "StartTimeZone")) is None:
        raise self.violation("CalendarItem without StartTimeZone")
    if data["end"] < data["start"]:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate")
    _one_shot_error(self, data.get("tag"))
    item = Item(self._id(), self._changekey(), folder.mailbox, folder.id, "CalendarItem",
                **{k: v for k, v in data.items() if k in Item.__dataclass_fields__})
    if invitations in SEND_TO_ALL and item.attendees():
        _unknown(self, item.attendees())
        item.invited = True
    self.items[item.id] = item
    if item.invited:
        self.record(item, item.attendees(), "request")
    return item


def create_message(self: EwsStandIn, element: Any, folder: Folder | None, disposition: str,
                   acting: str | None) -> Item | None:
    """A mail: sent (a copy kept when asked), or saved as a draft."""
    data = read_item(self, element)
    recipients = [*data.get("to", []), *data.get("cc", []), *data.get("bcc", [])]
    owner = folder.mailbox if folder is not None else acting
    if not owner:
        raise self.violation("CreateItem of a Message without a folder or a mailbox")
    if disposition != "SaveOnly":
        if not recipients:
            raise ItemError("ErrorInvalidRecipients", "The message has no recipients.")
        _unknown(self, recipients)
        _one_shot_error(self, data.get("tag"))
    target = folder or self.well_known(owner, "sentitems" if disposition == "SendAndSaveCopy" else "drafts")
    data.update(sender=Person(owner), is_read=True)
    item = Item(self._id(), self._changekey(), owner, target.id, "Message",
                **{k: v for k, v in data.items() if k in Item.__dataclass_fields__})
    if disposition != "SaveOnly":
        self.sent.append(Sent(owner, tuple(p.email.casefold() for p in recipients), "mail", item.subject,
                              tuple(a.name for a in item.attachments)))
    if disposition != "SendOnly":
        self.items[item.id] = item
    return item if disposition == "SaveOnly" else None


def cancel_calendar_item(self: EwsStandIn, element: Any) -> None:
    """CancelCalendarItem: every attendee gets the cancellation; the organizer's item goes to Deleted Items."""
    reference = element.find(q(T, "ReferenceItemId"))
    if reference is None:
        raise self.violation("CancelCalendarItem without ReferenceItemId")
    item = self.items.get(reference.get("Id", ""))
    if item is None or item.kind != "CalendarItem":
        raise ItemError("ErrorItemNotFound", "The specified object was not found in the store.")
    if reference.get("ChangeKey") and reference.get("ChangeKey") != item.changekey:
        raise ItemError("ErrorIrresolvableConflict", "The change key is out of date.")
    if item.cancelled:
        raise ItemError("ErrorInvalidOperation", "The meeting is cancelled already.")
    item.cancelled = True
    item.sequence += 1
    item.changekey = self._changekey()
    item.folder = self.well_known(item.mailbox, "deleteditems").id
    self.record(item, item.attendees(), "cancel")


def op_update_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """UpdateItem: set or delete fields; meeting updates and cancellations as SendMeetingInvitations... says."""
    send = request.get("SendMeetingInvitationsOrCancellations")
    conflict = request.get("ConflictResolution")
    root, messages = answer("UpdateItem")
    changes = request.find(q(M, "ItemChanges"))
    if changes is None or not len(changes):
        raise self.violation("UpdateItem without ItemChanges")
    for change in changes:
        reference = change.find(q(T, "ItemId"))
        try:
            item = self.items.get(reference.get("Id", "") if reference is not None else "")
            if item is None:
                raise ItemError("ErrorItemNotFound", "The specified object was not found in the store.")
            if not reference.get("ChangeKey"):
                raise ItemError("ErrorChangeKeyRequiredForWriteOperations", "A change key is required.")
            if reference.get("ChangeKey") != item.changekey and conflict == "NeverOverwrite":
                raise ItemError("ErrorIrresolvableConflict", "The change key is out of date.")
            if item.kind == "CalendarItem" and not send:
                raise self.violation("UpdateItem of a CalendarItem without SendMeetingInvitationsOrCancellations")
            update_one(self, item, change.find(q(T, "Updates")), send or "SendToNone")
        except ItemError as error:
            sub(message(messages, "UpdateItem", error), "m:Items")
            continue
        result = message(messages, "UpdateItem")
        sub(sub(sub(result, "m:Items"), f"t:{item.kind}"), "t:ItemId", Id=item.id, ChangeKey=item.changekey)
        sub(sub(result, "m:ConflictResults"), "t:Count", "0")
    return root


_FIELDS = {"item:Subject": "subject", "item:Body": "body", "item:Sensitivity": "sensitivity", "calendar:Start": "start",
           "calendar:End": "end", "calendar:Location": "location", "calendar:RequiredAttendees": "required",
           "calendar:OptionalAttendees": "optional", "calendar:Resources": "resources", "calendar:UID": "uid",
           "message:IsRead": "is_read"}
_EMPTY: dict[str, Any] = {"subject": "", "body": "", "location": "", "required": [], "optional": [], "resources": [],
                          "sensitivity": "Normal", "uid": "", "is_read": False}


def update_one(self: EwsStandIn, item: Item, updates: Any, send: str) -> None:
    """Apply one ItemChange; what the attendees get depends on what changed and on `send`."""
    before = (item.start, item.end, item.location)
    had = {p.email.casefold(): p for p in item.attendees()}
    values: dict[str, Any] = {}
    for update in updates:
        action = etree.QName(update).localname
        path = update[0]
        if path.tag == q(T, "ExtendedFieldURI"):
            if is_tag(path) and action == "SetItemField":
                values["tag"] = read_item(self, update[1]).get("tag")
            continue
        uri = path.get("FieldURI", "")
        if uri in ("calendar:StartTimeZone", "calendar:EndTimeZone", "calendar:MeetingTimeZone"):
            continue  # exchangelib sends these with Start and End; the instants carry the time
        if uri not in _FIELDS:
            raise self.violation(f"UpdateItem of an unsupported field {uri}")
        name = _FIELDS[uri]
        if action == "DeleteItemField":
            values[name] = _EMPTY.get(name)
        else:
            data = read_item(self, update[1])
            if name == "body":
                values["body_type"] = data.get("body_type", "Text")
            values[name] = data.get(name, _EMPTY.get(name))
    if values.get("start", item.start) and values.get("end", item.end) and values.get("end", item.end) < \
            values.get("start", item.start):
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate")
    _one_shot_error(self, item.tag)
    now = {p.email.casefold(): p for key in ("required", "optional", "resources")
           for p in values.get(key, getattr(item, key))}
    added = [p for e, p in now.items() if e not in had]
    removed = [p for e, p in had.items() if e not in now]
    if item.kind == "CalendarItem" and send != "SendToNone":
        _unknown(self, added)
    for name, value in values.items():
        setattr(item, name, value)
    item.changekey = self._changekey()
    if item.kind != "CalendarItem":
        return
    moved = before != (item.start, item.end, item.location)
    if item.invited and (moved or added or removed):
        item.sequence += 1
    if send == "SendToNone":
        return
    if not item.invited:
        if item.attendees():
            item.invited = True
            self.record(item, item.attendees(), "request")
        return
    if send in SEND_TO_ALL or moved:
        self.record(item, [p for e, p in now.items() if e in had], "update")
    self.record(item, added, "request")
    self.record(item, removed, "cancel", whole=False)


def op_delete_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """DeleteItem: gone (or to Deleted Items); cancellations sent when SendMeetingCancellations says so."""
    send = request.get("SendMeetingCancellations")
    how = request.get("DeleteType")
    root, messages = answer("DeleteItem")
    for reference in request.iter(q(T, "ItemId")):
        item = self.items.get(reference.get("Id", ""))
        if item is None:
            message(messages, "DeleteItem", ItemError("ErrorItemNotFound", "The specified object was not found."))
            continue
        if item.kind == "CalendarItem" and not send:
            raise self.violation("DeleteItem of a CalendarItem without SendMeetingCancellations")
        if item.kind == "CalendarItem" and item.invited and send != "SendToNone" and not item.cancelled:
            item.cancelled = True
            item.sequence += 1
            self.record(item, item.attendees(), "cancel")
        if how == "MoveToDeletedItems":
            item.folder = self.well_known(item.mailbox, "deleteditems").id
        else:
            del self.items[item.id]
        message(messages, "DeleteItem")
    return root


def _shape_check(self: EwsStandIn, paths: set[str]) -> None:
    refused = sorted(paths & NOT_IN_FIND)
    if refused:
        raise Fault("ErrorInvalidPropertyRequest", f"FindItem cannot return {', '.join(refused)}; use GetItem.")


def op_find_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """FindItem: the items of each folder matching the restriction, sorted and paged."""
    _, paths, tag = requested(request.find(q(M, "ItemShape")))
    _shape_check(self, paths)
    view = request.find(q(M, "IndexedPageItemView"))
    size = int(view.get("MaxEntriesReturned", "1000")) if view is not None else 1000
    offset = int(view.get("Offset", "0")) if view is not None else 0
    restriction = request.find(q(M, "Restriction"))
    order = request.find(q(M, "SortOrder"))
    root, messages = answer("FindItem")
    for folder_id in request.find(q(M, "ParentFolderIds")):
        try:
            folder = self.folder_of(folder_id, acting)
        except ItemError as error:
            message(messages, "FindItem", error)
            continue
        found = [i for i in self.items.values() if i.folder == folder.id and
                 (restriction is None or matches(restriction[0], i))]
        if order is not None:
            for field_order in reversed(list(order)):
                found.sort(key=lambda i, path=field_order[0]: value_of(i, path) or "",
                           reverse=field_order.get("Order") == "Descending")
        page = found[offset:offset + size]
        folder_el = sub(message(messages, "FindItem"), "m:RootFolder", IndexedPagingOffset=str(offset + len(page)),
                        TotalItemsInView=str(len(found)),
                        IncludesLastItemInRange="true" if offset + len(page) >= len(found) else "false")
        holder = sub(folder_el, "t:Items")
        for item in page:
            item_xml(holder, item, paths, tag)
    return root


def op_get_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """GetItem: each item with the asked-for properties (attendees, attachments and body too)."""
    _, paths, tag = requested(request.find(q(M, "ItemShape")))
    root, messages = answer("GetItem")
    for reference in request.find(q(M, "ItemIds")):
        item = self.items.get(reference.get("Id", ""))
        if item is None:
            sub(message(messages, "GetItem", ItemError("ErrorItemNotFound", "The specified object was not found.")),
                "m:Items")
            continue
        item_xml(sub(message(messages, "GetItem"), "m:Items"), item, paths, tag)
    return root


def op_get_folder(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """GetFolder: well-known folders by name and mailbox, or folders by id."""
    _, paths, _ = requested(request.find(q(M, "FolderShape")))
    root, messages = answer("GetFolder")
    for folder_id in request.find(q(M, "FolderIds")):
        try:
            folder = self.folder_of(folder_id, acting)
        except ItemError as error:
            message(messages, "GetFolder", error)
            continue
        folder_xml(sub(message(messages, "GetFolder"), "m:Folders"), folder, self, paths)
    return root


def op_find_folder(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """FindFolder: the sub-folders (Shallow) or all below (Deep) matching the restriction."""
    _, paths, _ = requested(request.find(q(M, "FolderShape")))
    deep = request.get("Traversal") == "Deep"
    restriction = request.find(q(M, "Restriction"))
    root, messages = answer("FindFolder")
    for folder_id in request.find(q(M, "ParentFolderIds")):
        try:
            parent = self.folder_of(folder_id, acting)
        except ItemError as error:
            message(messages, "FindFolder", error)
            continue
        below, todo = [], [parent.id]
        while todo:
            current = todo.pop()
            children = [f for f in self.folders.values() if f.parent == current]
            below += children
            todo += [f.id for f in children] if deep else []
        found = [f for f in below if restriction is None or matches(restriction[0], f)]
        holder = sub(message(messages, "FindFolder"), "m:RootFolder", IndexedPagingOffset=str(len(found)),
                     TotalItemsInView=str(len(found)), IncludesLastItemInRange="true")
        folders = sub(holder, "t:Folders")
        for folder in found:
            folder_xml(folders, folder, self, paths)
    return root


def op_create_folder(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """CreateFolder: new folders below a parent (ErrorFolderExists for a name taken)."""
    parent = self.folder_of(request.find(q(M, "ParentFolderId"))[0], acting)
    root, messages = answer("CreateFolder")
    for element in request.find(q(M, "Folders")):
        name = element.findtext(q(T, "DisplayName")) or ""
        if any(f.parent == parent.id and f.name.casefold() == name.casefold() for f in self.folders.values()):
            message(messages, "CreateFolder", ItemError("ErrorFolderExists", "A folder with that name exists."))
            continue
        folder = Folder(self._id("fld"), parent.mailbox, name, element.findtext(q(T, "FolderClass")) or "IPF.Note",
                        parent.id)
        self.folders[folder.id] = folder
        sub(sub(sub(message(messages, "CreateFolder"), "m:Folders"), "t:Folder"), "t:FolderId", Id=folder.id,
            ChangeKey=folder.changekey)
    return root


def op_move_item(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """MoveItem: the item gets a new id in its new folder, as in Exchange."""
    target = self.folder_of(request.find(q(M, "ToFolderId"))[0], acting)
    root, messages = answer("MoveItem")
    for reference in request.find(q(M, "ItemIds")):
        item = self.items.pop(reference.get("Id", ""), None)
        if item is None:
            sub(message(messages, "MoveItem", ItemError("ErrorItemNotFound", "The specified object was not found.")),
                "m:Items")
            continue
        item.id, item.changekey, item.folder = self._id(), self._changekey(), target.id
        self.items[item.id] = item
        sub(sub(sub(message(messages, "MoveItem"), "m:Items"), f"t:{item.kind}"), "t:ItemId", Id=item.id,
            ChangeKey=item.changekey)
    return root


def op_get_attachment(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """GetAttachment: the files with their content."""
    files = {a.id: a for i in self.items.values() for a in i.attachments}
    root, messages = answer("GetAttachment")
    for reference in request.find(q(M, "AttachmentIds")):
        attachment = files.get(reference.get("Id", ""))
        if attachment is None:
            sub(message(messages, "GetAttachment", ItemError("ErrorInvalidAttachmentId", "No such attachment.")),
                "m:Attachments")
            continue
        element = sub(sub(message(messages, "GetAttachment"), "m:Attachments"), "t:FileAttachment")
        sub(element, "t:AttachmentId", Id=attachment.id)
        sub(element, "t:Name", attachment.name)
        sub(element, "t:ContentType", attachment.content_type)
        sub(element, "t:Size", str(len(attachment.content)))
        sub(element, "t:IsInline", "false")
        sub(element, "t:Content", base64.b64encode(attachment.content).decode("ascii"))
    return root


def op_get_user_availability(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """GetUserAvailability: each mailbox's busy periods in the window, in the requested time zone's wall clock."""
    zone_el = request.find(q(T, "TimeZone"))
    if zone_el is None:
        raise self.violation("GetUserAvailability without TimeZone")
    zone = Zone.parse(zone_el)
    options = request.find(q(T, "FreeBusyViewOptions"))
    window = options.find(q(T, "TimeWindow"))
    start = parse_time(window.findtext(q(T, "StartTime")) or "")
    end = parse_time(window.findtext(q(T, "EndTime")) or "")
    if start.tzinfo is dt.UTC and not (window.findtext(q(T, "StartTime")) or "").endswith("Z"):
        raise self.violation("TimeWindow without an offset")
    if end - start > dt.timedelta(days=42):
        raise Fault("ErrorTimeIntervalTooBig", "The time window is longer than 42 days.")
    addresses = [m.findtext(f"{{{T}}}Email/{{{T}}}Address") or "" for m in request.iter(q(T, "MailboxData"))]
    if len(addresses) > 100:
        raise Fault("ErrorMailboxDataArrayTooBig", "More than 100 mailboxes in one request.")
    view_type = options.findtext(q(T, "RequestedView")) or "Detailed"
    root = etree.Element(q(M, "GetUserAvailabilityResponse"), nsmap=NSMAP)
    array = sub(root, "m:FreeBusyResponseArray")
    for address in addresses:
        response = sub(array, "m:FreeBusyResponse")
        if address.casefold() in self.unknown_recipients:
            failed = sub(response, "m:ResponseMessage", ResponseClass="Error")
            sub(failed, "m:MessageText", "The mailbox was not found.")
            sub(failed, "m:ResponseCode", "ErrorMailRecipientNotFound")
            continue
        sub(sub(response, "m:ResponseMessage", ResponseClass="Success"), "m:ResponseCode", "NoError")
        view = sub(response, "m:FreeBusyView")
        sub(view, "t:FreeBusyViewType", view_type)
        events = sub(view, "t:CalendarEventArray")
        for first, last, busy_type in self.periods(address, start, end):
            event = sub(events, "t:CalendarEvent")
            sub(event, "t:StartTime", zone.local(first))
            sub(event, "t:EndTime", zone.local(last))
            sub(event, "t:BusyType", busy_type)
    return root




def op_get_server_time_zones(self: EwsStandIn, request: Any, acting: str | None) -> Any:
    """GetServerTimeZones: Microsoft's definition of W. Europe Standard Time (Europe/Oslo)."""
    wanted = [e.text for e in request.iter(q(T, "Id"))]
    root, messages = answer("GetServerTimeZones")
    if wanted and wanted != ["W. Europe Standard Time"]:
        message(messages, "GetServerTimeZones", ItemError("ErrorInvalidRequest", "Unknown time zone."))
        return root
    holder = sub(message(messages, "GetServerTimeZones"), "m:TimeZoneDefinitions")
    definition = sub(holder, "t:TimeZoneDefinition", Id="W. Europe Standard Time",
                     Name="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna")
    periods_el = sub(definition, "t:Periods")
    sub(periods_el, "t:Period", Bias="-PT1H", Name="Standard", Id="Std")
    sub(periods_el, "t:Period", Bias="-PT2H", Name="Daylight", Id="Dlt/1")
    group = sub(sub(definition, "t:TransitionsGroups"), "t:TransitionsGroup", Id="0")
    for to, offset, month in (("Dlt/1", "PT2H", "3"), ("Std", "PT3H", "10")):
        rule = sub(group, "t:RecurringDayTransition")
        sub(rule, "t:To", to, Kind="Period")
        sub(rule, "t:TimeOffset", offset)
        sub(rule, "t:Month", month)
        sub(rule, "t:DayOfWeek", "Sunday")
        sub(rule, "t:Occurrence", "-1")
    sub(sub(sub(definition, "t:Transitions"), "t:Transition"), "t:To", "0", Kind="Group")
    return root


OPERATIONS: dict[str, Callable[[EwsStandIn, Any, str | None], Any]] = {
    "ConvertId": op_convert_id, "CreateItem": op_create_item, "UpdateItem": op_update_item,
    "DeleteItem": op_delete_item, "FindItem": op_find_item, "GetItem": op_get_item, "GetFolder": op_get_folder,
    "FindFolder": op_find_folder, "CreateFolder": op_create_folder, "MoveItem": op_move_item,
    "GetAttachment": op_get_attachment, "GetUserAvailability": op_get_user_availability,
    "GetServerTimeZones": op_get_server_time_zones}


# ---- HTTP plumbing --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """One connection: keep-alive, NTLM state per connection (NTLM authenticates connections)."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    stand_in: EwsStandIn

    def setup(self) -> None:
        super().setup()
        self.ntlm: Any = None
        self.ntlm_user: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.stand_in.serve(self, body)

    def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Answer and keep the connection open."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)


def _handler(stand_in: EwsStandIn) -> type[_Handler]:
    return type("Handler", (_Handler,), {"stand_in": stand_in})


@functools.cache
def _load_schema() -> Any:
    """Microsoft's EWS schema from SAMTALE_EWS_XSD_DIR (messages.xsd, types.xsd), or None to skip validation."""
    folder = os.environ.get("SAMTALE_EWS_XSD_DIR")
    if not folder:
        return None
    messages = next((p for p in Path(folder).iterdir() if p.name.casefold() == "messages.xsd"), None)
    if messages is None:
        return None
    # types.xsd imports the xml namespace without a location: declare xml:lang first, then the EWS schema.
    xml_xsd = Path(tempfile.mkdtemp(prefix="samtale-xsd-")) / "xml.xsd"
    xml_xsd.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                       'targetNamespace="http://www.w3.org/XML/1998/namespace">'
                       '<xs:attribute name="lang" type="xs:language"/></xs:schema>', encoding="utf-8")
    wrapper = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
               f'<xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="{xml_xsd.as_uri()}"/>'
               f'<xs:import namespace="{M}" schemaLocation="{messages.as_uri()}"/></xs:schema>')
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=xml_xsd.with_name("all.xsd").as_uri()))


# ---- the contract suite's kit ---------------------------------------------------------------


@contextlib.contextmanager
def contract_kit(tmp_path: Path) -> Iterator[Kit]:
    """The ews backend against the stand-in, logged in with NTLM as CORP\\svc-samtale."""
    with EwsStandIn(tmp_path, {"CORP\\svc-samtale": "hemmelig"}) as server:
        backend = server.backend()
        yield Kit(backend, server.seen, server.sent_count, add_busy=server.add_busy,
                  add_reply=lambda sender, subject, files: server.add_reply(ORGANIZER.email, sender, subject, files) and
                  None)
        assert server.violations == []
