"""iCalendar (RFC 5545/5546) for one meeting, shaped the way Outlook and Exchange accept it.

Pure functions, no I/O: the core decides UID, SEQUENCE and recipients (domain.messages.Meeting);
this module only writes them down. Layout and rules: research/mail.md §3.2–3.5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from samtale_automation.domain.messages import CANCEL, REQUEST, Meeting, Person
from samtale_automation.domain.model import OSLO

PRODID = "-//samtale//samtale-automation//NO"
TZID = "Europe/Oslo"


def oslo_timezone() -> Timezone:
    """The VTIMEZONE for Europe/Oslo as one yearly RRULE per half-year, the form Exchange maps."""
    # Exchange reads only the STANDARD/DAYLIGHT block with the latest DTSTART and wants a yearly
    # BYDAY rule; icalendar's own Timezone.from_tzid() writes RDATE lists instead (mail.md §3.4).
    timezone = Timezone()
    timezone.add("tzid", TZID)
    for block, start, month, before, after in (
        (TimezoneStandard(), dt.datetime(1601, 1, 1, 3), 10, 2, 1),
        (TimezoneDaylight(), dt.datetime(1601, 1, 1, 2), 3, 1, 2),
    ):
        block.add("dtstart", start)
        block.add("rrule", {"freq": "yearly", "byday": "-1su", "bymonth": month})
        block.add("tzoffsetfrom", dt.timedelta(hours=before))
        block.add("tzoffsetto", dt.timedelta(hours=after))
        timezone.add_component(block)
    return timezone


def meeting_calendar(meeting: Meeting, method: str, *, cancel_only: Sequence[Person] | None = None) -> bytes:
    """The VCALENDAR (CRLF, folded) for a REQUEST, a whole CANCEL, or a CANCEL of `cancel_only` people."""
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unsupported METHOD {method!r}")
    if cancel_only is not None and method != CANCEL:
        raise ValueError("cancel_only belongs to a CANCEL")

    event = Event()
    event.add("uid", meeting.uid)
    # Always written, also 0: a CANCEL must carry it, and Outlook compares it on every update.
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", (meeting.stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    event.add("dtstart", _oslo(meeting.start))
    event.add("dtend", _oslo(meeting.end))
    event.add("organizer", _address(meeting.organizer))
    for attendee in _attendees(meeting, cancel_only):
        event.add("attendee", attendee)
    event.add("summary", meeting.subject)
    if meeting.body_text:
        event.add("description", meeting.body_text)
    location = meeting.location or ", ".join(room.name or room.email for room in meeting.rooms)
    if location:
        event.add("location", location)
    if meeting.private:
        event.add("class", "PRIVATE")
    # A cancelled slot is free again in the attendee's calendar, as Outlook marks its own cancellations
    # (MS-OXOCAL: busy status olFree); otherwise the time would stay blocked after the meeting is gone.
    busy = "BUSY" if method == REQUEST else "FREE"
    event.add("transp", "OPAQUE" if method == REQUEST else "TRANSPARENT")
    # Removing some attendees is a CANCEL without STATUS (RFC 5546 §3.2.5): the meeting goes on.
    if method == REQUEST:
        event.add("status", "CONFIRMED")
    elif cancel_only is None:
        event.add("status", "CANCELLED")
    event.add("x-microsoft-cdo-busystatus", busy)
    event.add("x-microsoft-cdo-intendedstatus", busy)

    # The classic constructor, not Calendar.new(): that one adds a VCALENDAR-level UID (RFC 7986).
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(oslo_timezone())
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics


def _oslo(moment: dt.datetime) -> dt.datetime:
    """Oslo wall time with the zone attached, so icalendar writes TZID=Europe/Oslo (naive = Oslo already)."""
    return moment.astimezone(OSLO) if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _address(person: Person, **params: str) -> vCalAddress:
    """A mailto: address with CN (when named) and the given parameters."""
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    for name, value in params.items():
        address.params[name.upper()] = value
    return address


def _attendees(meeting: Meeting, cancel_only: Sequence[Person] | None) -> list[vCalAddress]:
    """ATTENDEE lines: everyone (request, whole cancel) or just the people being removed."""
    organizer = meeting.organizer.email.casefold()
    rooms = {room.email.casefold() for room in meeting.rooms}
    people = list(cancel_only) if cancel_only is not None else [*meeting.attendees, *meeting.rooms]
    out = []
    for person in people:
        mailbox = person.email.casefold()
        if mailbox in rooms:
            # A room mailbox answers accept/decline itself, so ask for the reply as Outlook does.
            params = {"cutype": "ROOM", "role": "NON-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE"}
        elif mailbox == organizer:
            # A manager who organises attends too, but has nothing to answer.
            params = {"cutype": "INDIVIDUAL", "role": "CHAIR", "partstat": "ACCEPTED", "rsvp": "FALSE"}
        else:
            params = {"cutype": "INDIVIDUAL", "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE"}
        out.append(_address(person, **params))
    return out
