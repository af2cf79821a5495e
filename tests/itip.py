"""Checks for the meeting calendars and messages this tool sends: iTIP (RFC 5546) and iMIP (RFC 6047).

Import from any test as `from itip import check_request, check_cancel, parse_eml` (tests/ is on
sys.path like `prep_samples`). Every check asserts and returns what it parsed, so a test can go on
asserting content:

* `check_request(ics)` / `check_cancel(ics, whole=True)`: the RFC 5546 §3.2.2/§3.2.5 property
  tables (research/mail.md §3.2), RFC 5545 line rules (CRLF, 75 octets), a VTIMEZONE for every
  TZID, and agreement of two independent parsers (vobject, ics.py) with icalendar on UID, start,
  end, UTC offsets and attendees. Returns the icalendar.Calendar.
* `parse_eml(raw)`: the MIME tree of mail.md §3.1, parsed with the stdlib; returns a `ParsedEml`.
* `event(calendar)`, `attendees_of(event)`, `attendee_params(event)`: small helpers for assertions.
* `sample_meeting(**changes)`: the fixed meeting of tests/golden (Åse, Bjørn, a room, a prep file).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from typing import Any

import ics
import vobject
from icalendar import Calendar, Event, Timezone

from samtale_automation.domain.messages import CANCEL, REQUEST, Attachment, Meeting, Person
from samtale_automation.domain.model import OSLO

# ---- RFC 5546 tables for VEVENT (mail.md §3.2) -------------------------------------------

#: Properties that must appear exactly once, per METHOD. SEQUENCE is stricter than the RFC for
#: REQUEST (required there only when > 0): this tool always writes it, and Outlook compares it.
REQUIRED_ONCE = {
    REQUEST: {"DTSTAMP", "DTSTART", "ORGANIZER", "SUMMARY", "UID", "SEQUENCE"},
    CANCEL: {"DTSTAMP", "ORGANIZER", "SEQUENCE", "UID"},
}
#: Properties allowed at most once (both methods).
AT_MOST_ONCE = {
    "CLASS", "CREATED", "DESCRIPTION", "DTEND", "DTSTART", "DURATION", "GEO", "LAST-MODIFIED", "LOCATION",
    "PRIORITY", "RECURRENCE-ID", "RRULE", "SEQUENCE", "STATUS", "SUMMARY", "TRANSP", "URL",
}
#: Properties never allowed in these methods.
FORBIDDEN = {"REQUEST-STATUS"}
#: STATUS values allowed, per METHOD (CANCEL of single attendees carries none).
STATUSES = {REQUEST: {"TENTATIVE", "CONFIRMED"}, CANCEL: {"CANCELLED"}}
#: Date-time properties whose TZID must be defined by a VTIMEZONE in the same object.
TIMED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


def check_request(ics_bytes: bytes, *, attendees: Iterable[str] | None = None) -> Calendar:
    """Assert a valid METHOD:REQUEST (optionally with exactly these attendee addresses); return it."""
    calendar = _check(ics_bytes, REQUEST, attendees)
    vevent = event(calendar)
    assert "DTEND" in vevent or "DURATION" in vevent, "a meeting needs an end (DTEND or DURATION)"
    assert attendees_of(vevent), "REQUEST needs at least one ATTENDEE"
    return calendar


def check_cancel(ics_bytes: bytes, whole: bool = True, *, attendees: Iterable[str] | None = None) -> Calendar:
    """Assert a valid METHOD:CANCEL: of the whole meeting (STATUS:CANCELLED), or of some attendees (no STATUS)."""
    calendar = _check(ics_bytes, CANCEL, attendees)
    vevent = event(calendar)
    # RFC 5546 §3.2.5: a whole cancel lists all attendees, removing some lists just those.
    assert attendees_of(vevent), "CANCEL must list the attendees it concerns"
    if whole:
        assert str(vevent.get("STATUS")) == "CANCELLED", "cancelling the whole meeting needs STATUS:CANCELLED"
    else:
        assert "STATUS" not in vevent, "removing attendees must not carry STATUS"
    assert not vevent.walk("VALARM"), "CANCEL carries no VALARM"
    return calendar


def event(calendar: Calendar) -> Event:
    """The one VEVENT of a calendar this tool wrote."""
    events = calendar.walk("VEVENT")
    assert len(events) == 1, f"expected one VEVENT, found {len(events)}"
    found = events[0]
    assert isinstance(found, Event)
    return found


def attendees_of(vevent: Event) -> list[str]:
    """The ATTENDEE addresses (lower case, without mailto:), in order."""
    return [_mailbox(value) for value in _all(vevent, "ATTENDEE")]


def attendee_params(vevent: Event) -> dict[str, dict[str, str]]:
    """Address -> ATTENDEE parameters (upper-case names), for asserting CN, ROLE, RSVP …"""
    return {_mailbox(value): {k.upper(): str(v) for k, v in value.params.items()} for value in _all(vevent, "ATTENDEE")}


# ---- the calendar itself ------------------------------------------------------------------


def _check(ics_bytes: bytes, method: str, attendees: Iterable[str] | None) -> Calendar:
    """Everything both methods share; returns the icalendar parse."""
    check_lines(ics_bytes)
    calendar = Calendar.from_ical(ics_bytes)
    for component in calendar.walk():
        assert not component.errors, f"{component.name}: {component.errors}"
    top = _counts(calendar)
    assert top["PRODID"] == 1 and top["VERSION"] == 1 and top["METHOD"] == 1, top
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == method, f"METHOD:{calendar['METHOD']}, expected {method}"
    assert top["CALSCALE"] <= 1 and str(calendar.get("CALSCALE", "GREGORIAN")) == "GREGORIAN"
    for kind in ("VTODO", "VJOURNAL", "VFREEBUSY"):
        assert not calendar.walk(kind), f"{method} of an event carries no {kind}"

    vevent = event(calendar)
    counts = _counts(vevent)
    for name in REQUIRED_ONCE[method]:
        assert counts[name] == 1, f"{method}: {name} must appear once, found {counts[name]}"
    for name in AT_MOST_ONCE:
        assert counts[name] <= 1, f"{method}: {name} at most once, found {counts[name]}"
    for name in FORBIDDEN:
        assert counts[name] == 0, f"{method}: {name} not allowed"
    assert not ("DTEND" in vevent and "DURATION" in vevent), "DTEND and DURATION exclude each other"
    if "STATUS" in vevent:
        assert str(vevent["STATUS"]) in STATUSES[method], f"{method}: STATUS {vevent['STATUS']}"
    assert str(vevent["UID"]).strip(), "empty UID"
    assert int(str(vevent["SEQUENCE"])) >= 0
    assert vevent.decoded("DTSTAMP").utcoffset() == dt.timedelta(0), "DTSTAMP must be UTC"
    assert str(vevent["ORGANIZER"]).lower().startswith("mailto:")
    assert all(str(value).lower().startswith("mailto:") for value in _all(vevent, "ATTENDEE"))
    if "DTSTART" in vevent and "DTEND" in vevent:
        assert vevent.decoded("DTEND") > vevent.decoded("DTSTART"), "the meeting must end after it starts"
    if attendees is not None:
        assert sorted(attendees_of(vevent)) == sorted(a.lower() for a in attendees), "other attendees expected"

    _check_timezones(calendar, vevent)
    _check_independent_parsers(ics_bytes, vevent)
    return calendar


def check_lines(ics_bytes: bytes) -> None:
    """RFC 5545 §3.1: every line ends in CRLF and is at most 75 octets; the text is UTF-8."""
    ics_bytes.decode("utf-8")
    assert ics_bytes.endswith(b"\r\n"), "the last line must end in CRLF"
    lines = ics_bytes.split(b"\r\n")[:-1]
    for line in lines:
        assert b"\n" not in line and b"\r" not in line, f"bare LF or CR in {line!r}"
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"


def _check_timezones(calendar: Calendar, vevent: Event) -> None:
    """A VTIMEZONE for each TZID used, and its rules agree with the tz database at the meeting's times."""
    zones = {str(zone["TZID"]): zone for zone in calendar.walk("VTIMEZONE")}
    for name in TIMED:
        for value in _all(vevent, name):
            tzid = value.params.get("TZID")
            if tzid is None:
                continue
            assert tzid in zones, f"{name} uses TZID={tzid} without a VTIMEZONE"
            zone = zones[tzid]
            assert isinstance(zone, Timezone)
            assert zone.walk("STANDARD") or zone.walk("DAYLIGHT"), f"VTIMEZONE {tzid} has no rules"
            # icalendar reads TZID=Europe/Oslo from the tz database; build the zone from the
            # VTIMEZONE's own rules as well, so a wrong rule cannot hide behind the lookup.
            moment = vevent.decoded(name)
            if isinstance(moment, dt.datetime):
                from_rules = moment.replace(tzinfo=zone.to_tz(lookup_tzid=False))
                assert from_rules.utcoffset() == moment.utcoffset(), f"{name}: VTIMEZONE rules disagree"


def _check_independent_parsers(ics_bytes: bytes, vevent: Event) -> None:
    """vobject and ics.py read the same UID, start, end (instant and UTC offset) and attendees."""
    text = ics_bytes.decode("utf-8")
    uid = str(vevent["UID"])
    start = vevent.decoded("DTSTART") if "DTSTART" in vevent else None
    end = vevent.decoded("DTEND") if "DTEND" in vevent else None
    people = sorted(attendees_of(vevent))

    parsed = vobject.readOne(text, validate=True)
    vevents = parsed.contents.get("vevent", [])
    assert len(vevents) == 1
    other = vevents[0]
    assert other.uid.value == uid
    _same_moment("vobject DTSTART", other.dtstart.value if start else None, start)
    _same_moment("vobject DTEND", other.dtend.value if end else None, end)
    assert sorted(_mailbox(a.value) for a in other.contents.get("attendee", [])) == people

    events = list(ics.Calendar(text).events)
    assert len(events) == 1
    assert events[0].uid == uid
    _same_moment("ics DTSTART", events[0].begin.datetime if start else None, start)
    _same_moment("ics DTEND", events[0].end.datetime if end else None, end)
    assert sorted(_mailbox(a.email) for a in events[0].attendees) == people


def _same_moment(what: str, theirs: Any, ours: Any) -> None:
    """The same instant and the same UTC offset (a wrong offset with the same instant is still wrong)."""
    if ours is None:
        return
    assert theirs == ours, f"{what}: {theirs} != {ours}"
    assert theirs.utcoffset() == ours.utcoffset(), f"{what}: offset {theirs.utcoffset()} != {ours.utcoffset()}"


def _counts(component: Any) -> Counter[str]:
    """How often each property appears directly in a component."""
    return Counter(name.upper() for name, _ in component.property_items(recursive=False)
                   if name.upper() not in ("BEGIN", "END"))


def _all(component: Any, name: str) -> list[Any]:
    """A property's values as a list, whether it appears once or many times."""
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _mailbox(address: Any) -> str:
    text = str(address)
    return (text[len("mailto:"):] if text.lower().startswith("mailto:") else text).lower()


# ---- the message (iMIP, mail.md §3.1) -----------------------------------------------------


@dataclass(frozen=True)
class ParsedEml:
    """What a meeting message carries, read back with the stdlib parser."""

    message: EmailMessage
    method: str  # the text/calendar part's `method` parameter (= the VCALENDAR METHOD)
    calendar: bytes  # the iMIP text/calendar part, decoded
    ics_name: str  # the file name of the application/ics copy
    text: str  # line breaks as \n
    html: str  # likewise; "" when the message has no html part
    attachments: dict[str, bytes]  # the other attachments: file name -> bytes


def parse_eml(raw: bytes) -> ParsedEml:
    """Parse a meeting message and assert the layout: mixed(alternative(text, [html], calendar), files, .ics)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        assert message[header] is not None, f"missing {header}"
    assert not message.defects, message.defects
    assert message.get_content_type() == "multipart/mixed"

    parts = list(message.iter_parts())
    assert parts and parts[0].get_content_type() == "multipart/alternative"
    bodies = list(parts[0].iter_parts())
    kinds = [part.get_content_type() for part in bodies]
    assert kinds in (["text/plain", "text/calendar"], ["text/plain", "text/html", "text/calendar"]), kinds
    for part in bodies:
        assert not part.defects, part.defects
        assert part.get_content_charset() == "utf-8"
    imip = bodies[-1]
    method = imip.get_param("method")
    assert isinstance(method, str), "the text/calendar part needs a method parameter"
    calendar = imip.get_payload(decode=True)
    assert isinstance(calendar, bytes)
    assert f"\r\nMETHOD:{method}\r\n".encode() in calendar, "method parameter and METHOD differ"
    organizer = Calendar.from_ical(calendar).walk("VEVENT")[0]["ORGANIZER"]
    sender = message["From"].addresses[0].addr_spec
    assert _mailbox(sender) == _mailbox(organizer), "From must be the ORGANIZER (replies go there)"

    copy = parts[-1]
    assert len(parts) >= 2 and copy.get_content_type() == "application/ics", "the .ics copy comes last"
    ics_name = copy.get_filename()
    assert ics_name and ics_name.endswith(".ics")
    assert copy.get_payload(decode=True) == calendar, "the .ics copy differs from the iMIP part"

    attachments: dict[str, bytes] = {}
    for part in parts[1:-1]:
        assert part.get_content_disposition() == "attachment"
        name = part.get_filename()
        content = part.get_payload(decode=True)
        assert name and isinstance(content, bytes) and name not in attachments
        attachments[name] = content
    text = _text(bodies[0])
    html = _text(bodies[1]) if len(bodies) == 3 else ""
    return ParsedEml(message, method, calendar, ics_name, text, html, attachments)


def _text(part: MIMEPart) -> str:
    """A text part's content with the wire's CRLF line breaks as \\n (the email package ends it with one)."""
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


# ---- the fixed meeting of tests/golden ----------------------------------------------------

ORGANIZER = Person("hr@fjordlys.example", "HR Fjordlys")
EMPLOYEE = Person("ase.kjaerstad@fjordlys.example", "Åse Kjærstad")
MANAGER = Person("bjorn.saether@fjordlys.example", "Bjørn Sæther")
ROOM = Person("rom-fjorden@fjordlys.example", "Møterom Fjorden")
PREP_FILE = Attachment("1001 Åse Kjærstad - forberedelse.xlsx", bytes(range(256)) + b"PK\x03\x04 fast innhold\r\n")


def sample_meeting(**changes: Any) -> Meeting:
    """The meeting of the golden files (employee, manager, room, one prep file); keywords replace fields."""
    meeting = Meeting(
        key="1001",
        uid="samtale-1001@fjordlys.example",
        sequence=0,
        subject="Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther",
        start=dt.datetime(2026, 11, 3, 9, 0, tzinfo=OSLO),
        end=dt.datetime(2026, 11, 3, 10, 0, tzinfo=OSLO),
        organizer=ORGANIZER,
        attendees=(EMPLOYEE, MANAGER),
        rooms=(ROOM,),
        body_text="Hei Åse og Bjørn,\n\nVelkommen til medarbeidersamtale. Forberedelsesskjemaet ligger vedlagt.\n",
        body_html="<p>Hei Åse og Bjørn,</p><p>Velkommen til medarbeidersamtale. "
                  "Forberedelsesskjemaet ligger vedlagt.</p>",
        attachments=(PREP_FILE,),
        stamp=dt.datetime(2026, 10, 1, 8, 30, tzinfo=dt.UTC),
    )
    return replace(meeting, **changes)
