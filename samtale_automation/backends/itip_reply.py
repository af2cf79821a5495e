"""Attendees' answers sent back by mail (iTIP, RFC 5546): METHOD:REPLY (accepted, declined, tentative)
and METHOD:COUNTER (a new time proposed, as Outlook sends it), read from a message's text/calendar part.

Every byte is hostile: a message that does not parse, a calendar of another tool (a UID not ours),
or an answer whose ATTENDEE is not the message's sender is skipped, never guessed at. The meeting
key is read back from our UID, `samtale-<key>@<domain>` (plans.meetings.uid_for).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

from samtale_automation.domain.messages import ACCEPTED, DECLINED, PROPOSED, TENTATIVE, AttendeeReply

#: A calendar part larger than this is no answer (an answer is a few kilobytes).
MAX_CALENDAR_BYTES = 256 * 1024
_OUR_UID = re.compile(r"^samtale-(.+)@[^@\s]+$")
_PARTSTAT = {"ACCEPTED": ACCEPTED, "DECLINED": DECLINED, "TENTATIVE": TENTATIVE}


@dataclass(frozen=True)
class SeenReply:
    """One answer found in a message: the meeting key, the answer, and when the attendee made it."""

    key: str
    reply: AttendeeReply
    stamp: dt.datetime  # DTSTAMP (aware), to keep an attendee's latest answer


def replies_in(raw: bytes) -> list[SeenReply]:
    """The answers a raw message carries (none when it is no iTIP answer of ours from the attendee)."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception:  # the email package gives up on some hostile input: no answer here
        return []
    if not isinstance(message, EmailMessage):
        return []
    sender = parseaddr(str(message.get("From", "")))[1].casefold()
    found: list[SeenReply] = []
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or len(payload) > MAX_CALENDAR_BYTES:
            continue
        found += _calendar_replies(payload, sender)
    return found


def _calendar_replies(payload: bytes, sender: str) -> list[SeenReply]:
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(payload)
    except Exception:  # not a calendar icalendar can read: no answer here
        return []
    method = str(calendar.get("METHOD", "")).upper()
    if method not in ("REPLY", "COUNTER"):
        return []
    found = []
    for event in calendar.walk("VEVENT"):
        match = _OUR_UID.match(str(event.get("UID", "")))
        attendees = event.get("ATTENDEE")
        if match is None or attendees is None:
            continue
        stamp = _moment(event.get("DTSTAMP")) or dt.datetime.min.replace(tzinfo=dt.UTC)
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            email = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip()
            if not email or email.casefold() != sender:
                continue  # an answer counts only from the attendee's own address
            if method == "COUNTER":
                start = _moment(event.get("DTSTART"))
                if start is not None:
                    found.append(SeenReply(match.group(1), AttendeeReply(email, PROPOSED, start), stamp))
                continue
            status = _PARTSTAT.get(str(attendee.params.get("PARTSTAT", "")).upper())
            if status is not None:
                found.append(SeenReply(match.group(1), AttendeeReply(email, status), stamp))
    return found


def _moment(prop: object) -> dt.datetime | None:
    """An aware moment from a DTSTAMP/DTSTART property; None when it is missing or only a date."""
    value = getattr(prop, "dt", None)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def latest(seen: list[SeenReply], keys: set[str]) -> dict[str, list[AttendeeReply]]:
    """Each meeting's answers, the latest per attendee, for the keys asked about; attendees in first-seen order."""
    chosen: dict[str, dict[str, SeenReply]] = {}
    for item in seen:
        if item.key not in keys:
            continue
        mine = chosen.setdefault(item.key, {})
        email = item.reply.email.casefold()
        if email not in mine or item.stamp >= mine[email].stamp:
            mine[email] = item
    return {key: [item.reply for item in answers.values()] for key, answers in chosen.items()}
