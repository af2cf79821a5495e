"""The mailbox side of the graph backend: free/busy, returned files in a mail folder, and the probe.

`GraphMailbox` is given the backend's GraphClient, so the meeting and mail flows (flows.py) and the
reading side here each read in one sitting. Errors name the setting or the Entra permission to fix.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from samtale_automation.backends.graph.client import (
    Answer,
    Call,
    GraphClient,
    address_of,
    box_path,
    graph_time,
    odata_literal,
    parse_graph_time,
    with_query,
)
from samtale_automation.backends.graph.constants import (
    PERMISSIONS,
    SCHEDULE_PEOPLE,
    SCHEDULE_WINDOW,
    TOML,
    WELL_KNOWN_FOLDERS,
)
from samtale_automation.config import GraphSettings, bad_setting
from samtale_automation.domain.messages import (
    BusySlot,
    IncomingFile,
    Person,
)
from samtale_automation.errors import BackendError
from samtale_automation.texts import tr


class GraphMailbox:
    """free_busy, fetch_files, mark_handled and probe for GraphBackend, through its client."""

    def __init__(self, client: GraphClient, mailbox: Person, settings: GraphSettings, *,
                 login: Callable[[], str] | None = None) -> None:
        self.client = client
        self.mailbox = mailbox
        self.settings = settings
        self.stats = client.stats
        self.stats.extra.setdefault("free_busy_errors", 0)
        #: Notes for the summary (per-person free/busy errors); never secrets.
        self.notes: list[str] = []
        self._login = login  # who we are signed in as, for the probe (None: a given token)
        self._folders: dict[str, str] = {}  # folder path → id, found once

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
        path = f"{box_path(self.mailbox.email)}/calendar/getSchedule"
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
        box = box_path(self.mailbox.email)
        parent: str | None = None
        names = [p.strip() for p in path.split("/") if p.strip()]
        for position, name in enumerate(names):
            well_known = WELL_KNOWN_FOLDERS.get(name.casefold().replace(" ", ""))
            if parent is None and well_known:
                answer = self.client.call(Call("GET", f"{box}/mailFolders/{well_known}?$select=id,displayName"))
            else:
                where = (f"{box}/mailFolders" if parent is None
                         else f"{box}/mailFolders/{quote(parent, safe='')}/childFolders")
                answer = self.client.call(Call("GET", with_query(where, {
                    "$filter": f"displayName eq '{odata_literal(name)}'", "$select": "id,displayName"})))
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
            raise bad_setting("graph", key, path, tr('et mappenavn, f.eks. "Inbox"', 'a folder name, e.g. "Inbox"'))
        self._folders[path] = parent
        return parent

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these endings in the reply folder's messages, oldest page first; nothing is moved."""
        wanted = tuple(s.casefold() for s in suffixes)
        box = box_path(self.mailbox.email)
        folder = self._folder_id(self.settings.folder, create=False, key="folder")
        call = Call("GET", with_query(f"{box}/mailFolders/{quote(folder, safe='')}/messages", {
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
        sender = address_of(message.get("from") or message.get("sender") or {})
        received = dt.datetime.fromisoformat(str(message.get("receivedDateTime", "")).replace("Z", "+00:00"))
        if received.tzinfo is None:
            received = received.replace(tzinfo=dt.UTC)
        call = Call("GET", with_query(path, {"$select": "id,name,size,isInline"}))
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
        message = f"{box_path(self.mailbox.email)}/messages/{quote(message_id, safe='')}"
        answer = self.client.call(Call("POST", f"{message}/move", {"destinationId": folder}))
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
        box = box_path(self.mailbox.email)
        answer = self.client.call(Call("GET", f"{box}?$select=displayName,mail,userPrincipalName"))
        if answer.status == 404:
            raise BackendError(
                tr(f"Postkassen {self.mailbox.email} finnes ikke i Microsoft 365.",
                   f"The mailbox {self.mailbox.email} does not exist in Microsoft 365."),
                hint=tr(f"Rett [mail] mailbox i {TOML}.", f"Correct [mail] mailbox in {TOML}."))
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
                hint=tr(f"Gi appen tillatelsene {PERMISSIONS} i Entra ID med administratorsamtykke, og avgrens "
                        "dem til postkassene samtale bruker med RBAC for Applications i Exchange Online "
                        "(New-ManagementScope og New-ManagementRoleAssignment -App; prøv med "
                        f"Test-ServicePrincipalAuthorization). Er [graph] auth = \"device\": logg inn som en bruker "
                        f"med tilgang til {box}.",
                        f"Grant the app {PERMISSIONS} in Entra ID with admin consent, and scope them to the mailboxes "
                        "samtale uses with RBAC for Applications in Exchange Online (New-ManagementScope and "
                        "New-ManagementRoleAssignment -App; check with Test-ServicePrincipalAuthorization). With "
                        f"[graph] auth = \"device\": sign in as a user with access to {box}."))
        if answer.status == 404 and key:
            setting = f"[graph] {key}"
            return BackendError(tr(f"Fant ikke {what} i {box} ({detail}).",
                                   f"{what} was not found in {box} ({detail})."),
                                hint=tr(f"Rett {setting} i {TOML} (mappenavn som i Outlook, undermapper med «/»).",
                                        f"Correct {setting} in {TOML} (folder names as in Outlook, subfolders with "
                                        "«/»)."))
        if answer.status in (400, 404) and code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI",
                                                     "ResourceNotFound", "ErrorNonExistentMailbox"):
            return BackendError(tr(f"Postkassen {box} kan ikke brukes gjennom Microsoft Graph ({detail}).",
                                   f"The mailbox {box} cannot be used through Microsoft Graph ({detail})."),
                                hint=tr(f"Kontroller [mail] mailbox i {TOML}: en postkasse i Exchange Online.",
                                        f"Check [mail] mailbox in {TOML}: a mailbox in Exchange Online."))
        return BackendError(tr(f"Microsoft Graph svarte med en feil for {what} i {box} ({detail}).",
                               f"Microsoft Graph answered with an error for {what} in {box} ({detail})."),
                            hint=tr(f"Kontroller [graph] base_url i {TOML} og [mail] mailbox; prøv igjen senere.",
                                    f"Check [graph] base_url in {TOML} and [mail] mailbox; try again later."))
