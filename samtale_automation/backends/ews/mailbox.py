"""The mailbox side of the ews backend: the probe, free/busy, and returned files in a mail folder.

`EwsMailbox` is given the backend's EwsConnection (the login, one Account per mailbox, the errors
naming the setting to fix); the sending flows in backend.py and the reading side here each read
in one sitting.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests.adapters
from exchangelib import (
    EWSDateTime,
    FileAttachment,
    Folder,
    FolderCollection,
    Message,
    Q,
)
from exchangelib.errors import EWSError
from exchangelib.fields import FieldPath
from exchangelib.folders import SHALLOW
from exchangelib.properties import (
    FolderId,
    FreeBusyViewOptions,
    MailboxData,
    TimeWindow,
)
from exchangelib.services import (
    CreateFolder,
    GetAttachment,
    GetUserAvailability,
    MoveItem,
)

from samtale_automation.backends.ews.connection import EwsConnection
from samtale_automation.backends.ews.constants import (
    BUSY_TYPES,
    FREE_BUSY_DAYS,
    FREE_BUSY_MAILBOXES,
    GONE_ERRORS,
    TOML,
)
from samtale_automation.backends.ews.protocol import (
    MailboxAccess,
    availability_timezone,
    graph_advice,
    in_oslo,
)
from samtale_automation.domain.messages import (
    BusySlot,
    IncomingFile,
)
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import BackendError
from samtale_automation.texts import tr


class EwsMailbox:
    """probe, free_busy, fetch_files and mark_handled for EwsBackend, through its connection."""

    def __init__(self, connection: EwsConnection) -> None:
        self.connection = connection
        self.settings = connection.settings
        self.mailbox = connection.mailbox
        self._timezones: dict[int, Any] = {}  # year → the Oslo time zone as GetUserAvailability wants it

    # ---- checking the connection ----------------------------------------------------------------

    def probe(self) -> list[str]:
        """Log in, reach the mailbox's calendar and the reply folder; one line per finding."""
        s = self.settings
        lines = []
        port = urlsplit(s.endpoint).port or (443 if s.endpoint.startswith("https") else 80)
        try:
            socket.getaddrinfo(s.host, port)
        except socket.gaierror as exc:
            raise self.connection.explain(exc) from None
        box = self.connection.box(self.mailbox.email)
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
            raise self.connection.explain(exc) from None
        if replies is None:
            raise BackendError(tr(f"Mappen «{s.folder}» finnes ikke under innboksen til {self.mailbox.email}.",
                                  f"The folder «{s.folder}» does not exist below the inbox of {self.mailbox.email}."),
                               hint=tr(f"Rett [ews] folder i {TOML}, eller lag mappen i Outlook.",
                                       f"Correct [ews] folder in {TOML}, or make the folder in Outlook."))
        who = (self.connection.username if s.needs_password else
               tr("den påloggede Windows-brukeren", "the signed-in Windows user"))
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
        protocol = self.connection.box(self.mailbox.email).account.protocol
        unique = list(dict.fromkeys(people))
        for offset in range(0, len(unique), FREE_BUSY_MAILBOXES):
            chunk = unique[offset:offset + FREE_BUSY_MAILBOXES]
            for window_start, window_end in windows:
                views = self._availability(protocol, chunk, window_start, window_end)
                for person, view in zip(chunk, views, strict=True):
                    if isinstance(view, Exception):
                        continue  # an unknown mailbox, or one we may not see: no busy periods known
                    for event in view.calendar_events or ():
                        slot = BusySlot(in_oslo(event.start), in_oslo(event.end),
                                        BUSY_TYPES.get(event.busy_type, "unknown"))
                        if slot not in result[person]:
                            result[person].append(slot)
        for slots in result.values():
            slots.sort(key=lambda slot: (slot.start, slot.end))
        return result

    def _availability(self, protocol: Any, people: list[str], start: dt.datetime, end: dt.datetime) -> list[Any]:
        year = start.astimezone(OSLO).year
        if year not in self._timezones:
            self._timezones[year] = availability_timezone(OSLO, year)
        zone = self.connection.zone
        options = FreeBusyViewOptions(time_window=TimeWindow(start=EWSDateTime.from_datetime(start).astimezone(zone),
                                                             end=EWSDateTime.from_datetime(end).astimezone(zone)),
                                      merged_free_busy_interval=30, requested_view="Detailed")
        try:
            return list(GetUserAvailability(protocol=protocol, chunk_size=FREE_BUSY_MAILBOXES).call(
                tzinfo=zone, mailbox_data=[MailboxData(email=p, attendee_type="Required", exclude_conflicts=False)
                                           for p in people],
                timezone=self._timezones[year], free_busy_view_options=options))
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self.connection.explain(exc) from None

    # ---- returned files -----------------------------------------------------------------------

    def _folder(self, box: MailboxAccess, path: str, *, create: bool) -> Any:
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

    def _reply_folder(self, box: MailboxAccess) -> Any:
        if not self.settings.folder:
            return box.inbox
        folder = self._folder(box, self.settings.folder, create=False)
        if folder is None:
            raise BackendError(tr(f"Mappen «{self.settings.folder}» finnes ikke under innboksen til "
                                  f"{self.mailbox.email}.", f"The folder «{self.settings.folder}» does not exist "
                                  f"below the inbox of {self.mailbox.email}."),
                               hint=tr(f"Rett [ews] folder i {TOML}, eller lag mappen i Outlook.",
                                       f"Correct [ews] folder in {TOML}, or make the folder in Outlook."))
        return folder

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these suffixes in the reply folder's messages (oldest first); nothing is moved yet."""
        wanted = tuple(s.casefold() for s in suffixes)
        box = self.connection.box(self.mailbox.email)
        try:
            folder = self._reply_folder(box)
            messages = [m for m in folder.filter(has_attachments=True).only(
                "subject", "sender", "author", "datetime_received", "attachments").order_by("datetime_received")
                if isinstance(m, Message)]
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self.connection.explain(exc) from None
        files = [(message, attachment) for message in messages for attachment in message.attachments or ()
                 if isinstance(attachment, FileAttachment) and (attachment.name or "").casefold().endswith(wanted)]
        for offset in range(0, len(files), self.settings.chunk_size):
            chunk = files[offset:offset + self.settings.chunk_size]
            try:
                contents = list(GetAttachment(account=box.account, chunk_size=len(chunk)).call(
                    items=[attachment.attachment_id for _, attachment in chunk], include_mime_content=False,
                    body_type=None, filter_html_content=None, additional_fields=None))
            except (EWSError, requests.RequestException, OSError) as exc:
                raise self.connection.explain(exc) from None
            for (message, attachment), content in zip(chunk, contents, strict=True):
                if isinstance(content, Exception) or content.content is None:
                    continue  # gone meanwhile, or unreadable: it stays in the mailbox for the next run
                sender = message.sender or message.author
                received = message.datetime_received
                yield IncomingFile(message_id=message.id, sender=sender.email_address if sender else "",
                                   received=in_oslo(received) if received else dt.datetime.now(OSLO),
                                   filename=attachment.name, content=content.content, subject=message.subject or "")

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder (made below the inbox the first time)."""
        box = self.connection.box(self.mailbox.email)
        try:
            done = self._folder(box, self.settings.done_folder, create=True)
            results = list(MoveItem(account=box.account).call(items=[(message_id, None)], to_folder=done))
        except (EWSError, requests.RequestException, OSError) as exc:
            raise self.connection.explain(exc) from None
        problem = next((r for r in results if isinstance(r, Exception)), None)
        if problem is not None and type(problem).__name__ not in GONE_ERRORS:  # gone: moved already
            raise self.connection.explain(problem)
