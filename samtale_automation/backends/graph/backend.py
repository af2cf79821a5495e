"""Invitations, mails, free/busy and returned files through Microsoft Graph (research/mail.md §2).

Tokens come from msal (app-only with a client secret or a certificate, or a delegated device-code
login: graph_auth.py); every call goes through our own thin `requests` client, `GraphClient`
(graph_client.py); the `[graph]` settings are read in samtale_automation/config/graph.py; free/busy, returned
files and the probe are in graph_mailbox.py. This module is the backend itself: what each job
(meeting, cancellation, mail) becomes in Graph requests.

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
import functools
import json
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from samtale_automation.backends.batch import BatchBackend
from samtale_automation.backends.graph.auth import Certificate, MsalTokens, read_certificate
from samtale_automation.backends.graph.client import (
    Answer,
    Call,
    GraphClient,
    address_of,
    box_path,
    graph_time,
    make_session,
    odata_literal,
    parse_graph_time,
    with_query,
)
from samtale_automation.backends.graph.mailbox import GraphMailboxMixin
from samtale_automation.backends.graph.settings import (
    BATCH_BODY_LIMIT,
    EVENT_EXPAND,
    EVENT_SELECT,
    INLINE_LIMIT,
    LOOKUP_KEYS,
    PERMISSIONS,
    SECRET_NAME,
    TAG_GUID,
    TAG_ID,
    THROTTLED,
    UPLOAD_CHUNK,
    missing_secret,
)
from samtale_automation.config import GraphSettings
from samtale_automation.domain.messages import (
    Attachment,
    Cap,
    Delivery,
    Failure,
    Job,
    Mail,
    Meeting,
    Person,
)
from samtale_automation.secrets import get_secret
from samtale_automation.texts import tr

if TYPE_CHECKING:

    from samtale_automation.backends import BackendContext


# ---- time and JSON shapes -------------------------------------------------------------------------




def transaction_id(meeting: Meeting) -> str:
    """The create's `transactionId`: the same UID and SEQUENCE give the same id, so a retry is no duplicate."""
    return str(uuid.uuid5(uuid.UUID(TAG_GUID), f"{meeting.uid}#{meeting.sequence}"))



def tag_filter(keys: Sequence[str]) -> str:
    """The `$filter` finding our events by their tag value(s)."""
    clause = "singleValueExtendedProperties/Any(ep: ep/id eq '{tag}' and ep/value eq '{value}')"
    return " or ".join(clause.format(tag=TAG_ID, value=odata_literal(k)) for k in keys)





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


class GraphBackend(BatchBackend, GraphMailboxMixin):
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
        return Call("GET", with_query(f"{box_path(mailbox)}/events", {
            "$filter": tag_filter(keys), "$select": EVENT_SELECT, "$expand": EVENT_EXPAND, "$top": "50"}))

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
        have = {(address_of(a).casefold(), str(a.get("type", "required"))) for a in event.get("attendees") or []}
        if have != {(a["emailAddress"]["address"].casefold(), a["type"]) for a in wanted}:
            patch["attendees"] = wanted
        return patch

    def _get_event(self, mailbox: str, event_id: str) -> Call:
        return Call("GET", with_query(f"{box_path(mailbox)}/events/{quote(event_id, safe='')}",
                                  {"$select": EVENT_SELECT, "$expand": EVENT_EXPAND}))

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
            text += " " + tr(f"(appen mangler tilgang til postkassen: {PERMISSIONS})",
                             f"(the app lacks access to the mailbox: {PERMISSIONS})")
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
            [answer] = yield [Call("POST", f"{box_path(mailbox)}/events",
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
                files = f"{box_path(mailbox)}/events/{quote(event_id, safe='')}/attachments"
                [answer] = yield [Call("GET", with_query(files, {"$select": "id,name"}))]
                if not answer.ok:
                    return self._failed(recipients, meeting.organizer, answer, remote_id=event_id,
                                        change_key=change_key)
                names = {str(a.get("name", "")) for a in answer.json().get("value", []) if isinstance(a, dict)}
            missing = [a for a in meeting.attachments if a.filename not in names]
        else:
            missing = []
        if missing:
            refused = yield from self._attach(f"{box_path(mailbox)}/events/{quote(event_id, safe='')}", missing)
            if refused is not None:
                return self._failed(recipients, meeting.organizer, refused, remote_id=event_id, change_key=change_key)
        patch = self._changes(meeting, event, pushed=bool(missing))
        if patch:
            [answer] = yield [Call("PATCH", f"{box_path(mailbox)}/events/{quote(event_id, safe='')}", patch)]
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
        remaining = [a for a in present if address_of(a).casefold() not in leaving]
        change_key = str(found.get("changeKey") or "") or None
        if len(remaining) == len(present):
            return Delivery(remote_id=event_id, change_key=change_key)
        attendees = [{"emailAddress": a.get("emailAddress"), "type": a.get("type", "required")} for a in remaining]
        event = f"{box_path(mailbox)}/events/{quote(event_id, safe='')}"
        [answer] = yield [Call("PATCH", event, {"attendees": attendees})]
        if not answer.ok:
            return self._failed(recipients, meeting.organizer, answer, remote_id=event_id, change_key=change_key)
        return Delivery(remote_id=event_id, change_key=str(answer.json().get("changeKey") or "") or change_key)

    def _cancel_event(self, mailbox: str, event_id: str, reason: str, *,
                      has_attendees: bool) -> Generator[list[Call], list[Answer], Answer]:
        path = f"{box_path(mailbox)}/events/{quote(event_id, safe='')}"
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
            [answer] = yield [Call("POST", f"{box_path(sender)}/sendMail",
                                   {"message": message, "saveToSentItems": True})]
            return Delivery() if answer.ok else self._failed(people, self.mailbox, answer)
        # Too big for one request: a draft, its files one by one (upload sessions for large ones), then send.
        [answer] = yield [Call("POST", f"{box_path(sender)}/messages", message)]
        if not answer.ok:
            return self._failed(people, self.mailbox, answer)
        path = f"{box_path(sender)}/messages/{quote(str(answer.json().get('id', '')), safe='')}"
        refused = yield from self._attach(path, mail.attachments)
        if refused is not None:
            return self._failed(people, self.mailbox, refused)
        [answer] = yield [Call("POST", f"{path}/send")]
        return Delivery() if answer.ok else self._failed(people, self.mailbox, answer)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.session.close()



def create(context: BackendContext) -> GraphBackend:
    """The Graph backend from samtale.toml, with msal for tokens; ConfigError when something is missing."""
    settings = context.config.graph
    if settings is None:
        raise context.config.refusal("graph")
    mailbox = context.sending_mailbox()
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
