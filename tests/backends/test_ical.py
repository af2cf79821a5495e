"""The meeting calendar: iTIP REQUEST/CANCEL rules, the Outlook-style Oslo VTIMEZONE, DST, folding."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar, Timezone
from itip import (
    EMPLOYEE,
    MANAGER,
    ROOM,
    attendee_params,
    attendees_of,
    check_cancel,
    check_lines,
    check_request,
    event,
    sample_meeting,
)

from samtale_automation.backends.ical import PRODID, meeting_calendar, oslo_timezone
from samtale_automation.domain.messages import CANCEL, REQUEST, Person
from samtale_automation.domain.model import OSLO

OUTLOOK_VTIMEZONE = (
    b"BEGIN:VTIMEZONE\r\n"
    b"TZID:Europe/Oslo\r\n"
    b"BEGIN:STANDARD\r\n"
    b"DTSTART:16010101T030000\r\n"
    b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    b"TZOFFSETFROM:+0200\r\n"
    b"TZOFFSETTO:+0100\r\n"
    b"END:STANDARD\r\n"
    b"BEGIN:DAYLIGHT\r\n"
    b"DTSTART:16010101T020000\r\n"
    b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
    b"TZOFFSETFROM:+0100\r\n"
    b"TZOFFSETTO:+0200\r\n"
    b"END:DAYLIGHT\r\n"
    b"END:VTIMEZONE\r\n"
)


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=OSLO)


# ---- VTIMEZONE ---------------------------------------------------------------------------


def test_oslo_timezone_is_the_outlook_rrule_form() -> None:
    """Verify the VTIMEZONE is exactly the two-rule form Exchange maps (no RDATE lists)."""
    assert oslo_timezone().to_ical() == OUTLOOK_VTIMEZONE


def test_oslo_timezone_rules_agree_with_the_tz_database() -> None:
    """Verify the rules give Oslo's offset every day 2026–2035, at noon and around the 01:00 UTC switches."""
    rules = oslo_timezone().to_tz(lookup_tzid=False)
    day = dt.date(2026, 1, 1)
    checked = 0
    while day < dt.date(2036, 1, 1):
        for hour in (0, 1, 4, 12):
            wall = dt.datetime.combine(day, dt.time(hour))
            assert wall.replace(tzinfo=rules).utcoffset() == wall.replace(tzinfo=OSLO).utcoffset(), wall
            checked += 1
        day += dt.timedelta(days=1)
    assert checked > 14_000


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (at(2027, 3, 28), 2),  # the last Sunday of March: summer time from 02:00
        (at(2026, 10, 25), 1),  # the last Sunday of October: winter time from 03:00
        (at(2027, 1, 14), 1),
        (at(2026, 6, 15), 2),
        (at(2027, 3, 27, 23, 30), 1),  # the evening before the spring switch
    ],
)
def test_start_resolves_to_the_right_offset_in_every_parser(start: dt.datetime, hours: int) -> None:
    """Verify DTSTART;TZID=Europe/Oslo resolves to the expected UTC offset in vobject, icalendar and its rules."""
    raw = meeting_calendar(sample_meeting(start=start, end=start + dt.timedelta(hours=1)), REQUEST)
    check_request(raw)  # also: ics.py agrees with icalendar on the instant and the offset
    assert f"DTSTART;TZID=Europe/Oslo:{start:%Y%m%dT%H%M%S}\r\n".encode() in raw
    offset = dt.timedelta(hours=hours)

    parsed = vobject.readOne(raw.decode("utf-8"), validate=True)
    assert parsed.vevent.dtstart.value.utcoffset() == offset
    assert parsed.vevent.dtstart.value.replace(tzinfo=None) == start.replace(tzinfo=None)

    calendar = Calendar.from_ical(raw)
    moment = event(calendar).decoded("DTSTART")
    assert moment.utcoffset() == offset
    zone = calendar.walk("VTIMEZONE")[0]
    assert isinstance(zone, Timezone)
    rules = zone.to_tz(lookup_tzid=False)  # the VTIMEZONE's own rules, not the tz database
    assert moment.replace(tzinfo=rules).utcoffset() == offset


def test_aware_start_in_another_zone_is_written_as_oslo_wall_time() -> None:
    """Verify a UTC start is converted to Oslo local time with TZID, not written as UTC."""
    start = dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.UTC)
    end = dt.datetime(2026, 11, 3, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    raw = meeting_calendar(sample_meeting(start=start, end=end), REQUEST)
    assert b"DTSTART;TZID=Europe/Oslo:20261103T090000\r\n" in raw
    assert b"DTEND;TZID=Europe/Oslo:20261103T150000\r\n" in raw  # 09:00 in New York (EST) = 15:00 in Oslo
    assert event(check_request(raw)).decoded("DTSTART") == start


def test_naive_start_is_taken_as_oslo_time() -> None:
    """Verify a naive datetime is read as Oslo wall time."""
    raw = meeting_calendar(sample_meeting(start=dt.datetime(2026, 11, 3, 9), end=dt.datetime(2026, 11, 3, 10)), REQUEST)
    assert b"DTSTART;TZID=Europe/Oslo:20261103T090000\r\n" in raw
    check_request(raw)


# ---- REQUEST -----------------------------------------------------------------------------


def test_request_carries_every_property_outlook_needs() -> None:
    """Verify the REQUEST: calendar header, identity, times, people, texts and Outlook hints."""
    meeting = sample_meeting()
    raw = meeting_calendar(meeting, REQUEST)
    calendar = check_request(raw, attendees=[EMPLOYEE.email, MANAGER.email, ROOM.email])
    assert str(calendar["PRODID"]) == PRODID == "-//samtale//samtale-automation//NO"
    assert "UID" not in calendar  # no RFC 7986 calendar UID: only the event has one
    assert len(calendar.walk("VTIMEZONE")) == 1

    vevent = event(calendar)
    assert str(vevent["UID"]) == "samtale-1001@fjordlys.example"
    assert b"\r\nSEQUENCE:0\r\n" in raw  # written also when 0
    assert vevent.decoded("DTSTAMP") == meeting.stamp
    assert b"\r\nDTSTAMP:20261001T083000Z\r\n" in raw
    assert vevent.decoded("DTSTART") == meeting.start and vevent.decoded("DTEND") == meeting.end
    assert str(vevent["ORGANIZER"]) == "mailto:hr@fjordlys.example"
    assert vevent["ORGANIZER"].params["CN"] == "HR Fjordlys"
    assert str(vevent["SUMMARY"]) == "Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther"
    assert str(vevent["DESCRIPTION"]) == meeting.body_text
    assert str(vevent["LOCATION"]) == "Møterom Fjorden"
    assert str(vevent["CLASS"]) == "PRIVATE"
    assert str(vevent["TRANSP"]) == "OPAQUE"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["X-MICROSOFT-CDO-BUSYSTATUS"]) == "BUSY"
    assert str(vevent["X-MICROSOFT-CDO-INTENDEDSTATUS"]) == "BUSY"

    person = {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
    assert attendee_params(vevent) == {
        EMPLOYEE.email: {"CN": "Åse Kjærstad", **person},
        MANAGER.email: {"CN": "Bjørn Sæther", **person},
        ROOM.email: {"CN": "Møterom Fjorden", "CUTYPE": "ROOM", "ROLE": "NON-PARTICIPANT",
                     "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"},
    }


def test_stamp_defaults_to_now_in_utc() -> None:
    """Verify DTSTAMP is the current UTC time when the meeting has no stamp."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    vevent = event(check_request(meeting_calendar(sample_meeting(stamp=None), REQUEST)))
    after = dt.datetime.now(dt.UTC)
    assert before <= vevent.decoded("DTSTAMP") <= after


def test_stamp_in_local_time_is_written_in_utc() -> None:
    """Verify an Oslo DTSTAMP is converted to UTC (…Z)."""
    raw = meeting_calendar(sample_meeting(stamp=at(2026, 10, 1, 10, 30)), REQUEST)
    assert b"\r\nDTSTAMP:20261001T083000Z\r\n" in raw


def test_public_meeting_has_no_class() -> None:
    """Verify CLASS:PRIVATE is left out when the meeting is not private."""
    assert "CLASS" not in event(check_request(meeting_calendar(sample_meeting(private=False), REQUEST)))


@pytest.mark.parametrize(
    ("location", "rooms", "expected"),
    [
        ("Kantina, 2. etg.", (ROOM,), "Kantina, 2. etg."),
        ("", (ROOM, Person("rom-vika@fjordlys.example")), "Møterom Fjorden, rom-vika@fjordlys.example"),
        ("", (), None),
    ],
)
def test_location_is_given_or_the_room_names(location: str, rooms: tuple[Person, ...], expected: str | None) -> None:
    """Verify LOCATION is the given text, else the rooms (name or address), else absent."""
    vevent = event(check_request(meeting_calendar(sample_meeting(location=location, rooms=rooms), REQUEST)))
    assert (str(vevent["LOCATION"]) if "LOCATION" in vevent else None) == expected


def test_empty_body_has_no_description() -> None:
    """Verify an empty body text writes no DESCRIPTION."""
    assert "DESCRIPTION" not in event(check_request(meeting_calendar(sample_meeting(body_text=""), REQUEST)))


def test_organizing_manager_attends_as_chair() -> None:
    """Verify an organizer who is also an attendee is CHAIR, ACCEPTED and asked for no reply."""
    meeting = sample_meeting(organizer=MANAGER)
    vevent = event(check_request(meeting_calendar(meeting, REQUEST)))
    assert attendee_params(vevent)[MANAGER.email] == {
        "CN": "Bjørn Sæther", "CUTYPE": "INDIVIDUAL", "ROLE": "CHAIR", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE",
    }
    assert attendee_params(vevent)[EMPLOYEE.email]["ROLE"] == "REQ-PARTICIPANT"


def test_texts_with_special_characters_round_trip() -> None:
    """Verify commas, semicolons, quotes, backslashes and line breaks survive in texts and names."""
    body = 'Linje 1; «sitat», "anførsel"\\sti\nLinje 2\n\nÆØÅ æøå'
    name = 'Sæther, Bjørn "Bjørnen"'
    meeting = sample_meeting(body_text=body, subject=body.replace("\n", " "),
                             attendees=(EMPLOYEE, Person(MANAGER.email, name)))
    raw = meeting_calendar(meeting, REQUEST)
    vevent = event(check_request(raw))
    assert str(vevent["DESCRIPTION"]) == body
    assert str(vevent["SUMMARY"]) == body.replace("\n", " ")
    assert attendee_params(vevent)[MANAGER.email]["CN"] == name
    assert vobject.readOne(raw.decode("utf-8")).vevent.description.value == body


# ---- update and CANCEL -------------------------------------------------------------------


def test_request_update_cancel_share_uid_and_raise_sequence() -> None:
    """Verify create → update → cancel keep the UID and raise SEQUENCE 0 → 1 → 2."""
    first = sample_meeting()
    moved = sample_meeting(sequence=1, start=at(2026, 11, 5, 13), end=at(2026, 11, 5, 14))
    gone = sample_meeting(sequence=2, start=moved.start, end=moved.end)
    events = [
        event(check_request(meeting_calendar(first, REQUEST))),
        event(check_request(meeting_calendar(moved, REQUEST))),
        event(check_cancel(meeting_calendar(gone, CANCEL))),
    ]
    assert [str(e["UID"]) for e in events] == [first.uid] * 3
    assert [int(str(e["SEQUENCE"])) for e in events] == [0, 1, 2]
    assert events[1].decoded("DTSTART") == at(2026, 11, 5, 13)


def test_whole_cancel_lists_everyone_as_cancelled() -> None:
    """Verify a whole CANCEL has STATUS:CANCELLED and lists every attendee and the room."""
    raw = meeting_calendar(sample_meeting(sequence=2), CANCEL)
    calendar = check_cancel(raw, whole=True, attendees=[EMPLOYEE.email, MANAGER.email, ROOM.email])
    assert str(calendar["METHOD"]) == "CANCEL"
    vevent = event(calendar)
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert int(str(vevent["SEQUENCE"])) == 2
    # The slot is free again in everyone's calendar (Outlook shows a cancelled meeting as free).
    assert str(vevent["X-MICROSOFT-CDO-BUSYSTATUS"]) == "FREE"
    assert str(vevent["X-MICROSOFT-CDO-INTENDEDSTATUS"]) == "FREE"
    assert str(vevent["TRANSP"]) == "TRANSPARENT"


def test_partial_cancel_lists_only_the_removed_attendee() -> None:
    """Verify removing one attendee lists only that attendee and carries no STATUS."""
    raw = meeting_calendar(sample_meeting(sequence=1), CANCEL, cancel_only=[MANAGER])
    vevent = event(check_cancel(raw, whole=False, attendees=[MANAGER.email]))
    assert "STATUS" not in vevent
    assert str(vevent["X-MICROSOFT-CDO-BUSYSTATUS"]) == "FREE"  # free in the removed attendee's calendar
    assert attendees_of(vevent) == [MANAGER.email]
    assert attendee_params(vevent)[MANAGER.email]["ROLE"] == "REQ-PARTICIPANT"


def test_partial_cancel_of_the_room_keeps_its_room_parameters() -> None:
    """Verify a room being removed is still described as a room."""
    raw = meeting_calendar(sample_meeting(), CANCEL, cancel_only=[ROOM])
    assert attendee_params(event(check_cancel(raw, whole=False)))[ROOM.email]["CUTYPE"] == "ROOM"


def test_wrong_method_or_cancel_only_on_request_is_refused() -> None:
    """Verify only REQUEST and CANCEL are written, and cancel_only only with CANCEL."""
    with pytest.raises(ValueError, match="METHOD"):
        meeting_calendar(sample_meeting(), "PUBLISH")
    with pytest.raises(ValueError, match="cancel_only"):
        meeting_calendar(sample_meeting(), REQUEST, cancel_only=[MANAGER])


# ---- lines -------------------------------------------------------------------------------


def test_long_norwegian_lines_are_folded_at_75_octets_on_character_boundaries() -> None:
    """Verify CRLF, ≤ 75 octets per line, folds never split a UTF-8 letter, and unfolding restores the text."""
    subject = "Medarbeidersamtale for Åse Kjærstad – " + "ærlig østlandsk åpenhet " * 8
    body = "Æ" * 200 + "\n" + "ø" * 77
    raw = meeting_calendar(sample_meeting(subject=subject, body_text=body), REQUEST)
    check_lines(raw)
    lines = raw.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines), "expected folded lines"
    for line in lines:
        line.decode("utf-8")  # each physical line is whole characters
    assert b"\n" not in raw.replace(b"\r\n", b"")
    vevent = event(check_request(raw))
    assert str(vevent["SUMMARY"]) == subject
    assert str(vevent["DESCRIPTION"]) == body
