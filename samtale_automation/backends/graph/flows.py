"""What each job becomes in Microsoft Graph requests: the steps of a meeting, a cancellation and a mail.

Each flow is a generator: it yields the requests of its next round and is sent their answers, so
GraphBackend can run many jobs side by side and put each round's requests in shared `$batch` calls
(backend.py). How a meeting travels is told in backend.py's module text.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import replace
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
    BATCH_BODY_LIMIT,
    EVENT_EXPAND,
    EVENT_SELECT,
    INLINE_LIMIT,
    PERMISSIONS,
    TAG_GUID,
    TAG_ID,
    THROTTLED,
    UPLOAD_CHUNK,
)
from samtale_automation.domain.messages import Attachment, Delivery, Failure, Job, Mail, Meeting, Person
from samtale_automation.texts import tr

Flow = Generator[list[Call], list[Answer], Delivery]


# ---- JSON shapes ----------------------------------------------------------------------------------


def transaction_id(meeting: Meeting) -> str:
    """The create's `transactionId`: the same UID and SEQUENCE give the same id, so a retry is no duplicate."""
    return str(uuid.uuid5(uuid.UUID(TAG_GUID), f"{meeting.uid}#{meeting.sequence}"))


def tag_filter(keys: Sequence[str]) -> str:
    """The `$filter` finding our events by their tag value(s)."""
    clause = "singleValueExtendedProperties/Any(ep: ep/id eq '{tag}' and ep/value eq '{value}')"
    return " or ".join(clause.format(tag=TAG_ID, value=odata_literal(k)) for k in keys)


def tag_value(event: Mapping[str, Any]) -> str | None:
    """The value of our tag on an event (None when it has none)."""
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


# ---- the flows ------------------------------------------------------------------------------------


class GraphFlows:
    """The steps of each kind of job, as Graph requests through `client`, for mail sent from `mailbox`."""

    def __init__(self, client: GraphClient, mailbox: Person) -> None:
        self.client = client
        self.mailbox = mailbox
        self.stats = client.stats

    def job(self, job: Job) -> Flow:
        """The steps of one job (a generator: it yields the requests of each round and gets their answers)."""
        if job.mail is not None:
            return (yield from self._mail_flow(job.mail))
        if job.meeting is None:
            return Delivery()
        if job.cancel:
            return (yield from self._cancel_flow(job.meeting, job.recipients, job.reason))
        return (yield from self._upsert_flow(job.meeting, job.recipients))

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
        if tag_value(event) is None and "singleValueExtendedProperties" in event:
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
