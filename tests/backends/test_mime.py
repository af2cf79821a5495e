"""Meeting (iMIP) and ordinary mail messages: MIME layout, Norwegian letters, bytes, golden files.

Regenerate the golden files after an intended change with
`SAMTALE_UPDATE_GOLDEN=1 python -m pytest tests/backends/test_mime.py` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from itip import (
    EMPLOYEE,
    MANAGER,
    ORGANIZER,
    PREP_FILE,
    ROOM,
    check_cancel,
    check_lines,
    check_request,
    parse_eml,
    sample_meeting,
)

from samtale_automation.backends.ical import meeting_calendar
from samtale_automation.backends.mime import mail_message, meeting_message, message_bytes
from samtale_automation.domain.messages import CANCEL, REQUEST, Attachment, Mail, Meeting, Person
from samtale_automation.domain.model import OSLO

GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE_GOLDEN = os.environ.get("SAMTALE_UPDATE_GOLDEN") == "1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def meeting_bytes(meeting: Meeting, method: str = REQUEST, recipients: tuple[Person, ...] | None = None,
                  cancel_only: list[Person] | None = None) -> bytes:
    message = meeting_message(meeting, method, recipients or meeting.attendees, cancel_only=cancel_only)
    return message_bytes(message)


# ---- meeting messages --------------------------------------------------------------------


def test_invitation_has_the_outlook_layout_and_content() -> None:
    """Verify the REQUEST message: tree of mail.md §3.1, headers, texts, prep file, .ics copy."""
    meeting = sample_meeting()
    raw = meeting_bytes(meeting)
    parsed = parse_eml(raw)
    assert parsed.method == "REQUEST"
    assert parsed.calendar == meeting_calendar(meeting, REQUEST)
    check_request(parsed.calendar, attendees=[EMPLOYEE.email, MANAGER.email, ROOM.email])
    assert parsed.text == meeting.body_text
    assert parsed.html.rstrip("\n") == meeting.body_html
    assert parsed.ics_name == "invite.ics"
    assert parsed.attachments == {PREP_FILE.filename: PREP_FILE.content}

    message = parsed.message
    assert message["Subject"] == meeting.subject
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Åse Kjærstad", EMPLOYEE.email), ("Bjørn Sæther", MANAGER.email)]
    assert [(a.display_name, a.addr_spec) for a in message["From"].addresses] == [("HR Fjordlys", ORGANIZER.email)]
    assert message["Date"].datetime == meeting.stamp
    assert re.fullmatch(r"<[^@<>\s]+@fjordlys\.example>", message["Message-ID"])
    assert message["Content-Class"] == "urn:content-classes:calendarmessage"
    assert message["MIME-Version"] == "1.0"
    assert all(part["MIME-Version"] is None for part in message.walk() if part is not message)
    attachment = next(p for p in message.iter_attachments() if p.get_filename() == PREP_FILE.filename)
    assert attachment.get_content_type() == XLSX


def test_calendar_part_has_an_unquoted_method_parameter() -> None:
    """Verify `Content-Type: text/calendar; charset="utf-8"; method=REQUEST` as Outlook and Google write it."""
    raw = meeting_bytes(sample_meeting())
    assert b'\r\nContent-Type: text/calendar; charset="utf-8"; method=REQUEST\r\n' in raw
    assert b'Content-Type: application/ics; name="invite.ics"\r\n' in raw


def test_message_without_html_has_text_and_calendar_only() -> None:
    """Verify an empty html body leaves out the html part."""
    parsed = parse_eml(meeting_bytes(sample_meeting(body_html="")))
    assert parsed.html == ""
    assert [p.get_content_type() for p in next(parsed.message.iter_parts()).iter_parts()] == [
        "text/plain", "text/calendar"]


def test_whole_cancellation_message() -> None:
    """Verify the CANCEL message: method=CANCEL, cancel.ics, everyone cancelled, no prep file."""
    meeting = sample_meeting(sequence=2)
    raw = meeting_bytes(meeting, CANCEL)
    parsed = parse_eml(raw)
    assert parsed.method == "CANCEL"
    assert b'method=CANCEL\r\n' in raw
    assert parsed.ics_name == "cancel.ics"
    assert parsed.attachments == {}
    check_cancel(parsed.calendar, whole=True, attendees=[EMPLOYEE.email, MANAGER.email, ROOM.email])


def test_partial_cancellation_message_names_only_the_removed_attendee() -> None:
    """Verify removing the manager: sent to him, listing only him, no STATUS."""
    raw = meeting_bytes(sample_meeting(sequence=1), CANCEL, recipients=(MANAGER,), cancel_only=[MANAGER])
    parsed = parse_eml(raw)
    assert [a.addr_spec for a in parsed.message["To"].addresses] == [MANAGER.email]
    check_cancel(parsed.calendar, whole=False, attendees=[MANAGER.email])


def test_request_update_cancel_messages_keep_uid_and_raise_sequence() -> None:
    """Verify the three messages of a meeting's life carry one UID and SEQUENCE 0, 1, 2."""
    cals = [
        check_request(parse_eml(meeting_bytes(golden_meeting("invitation"))).calendar),
        check_request(parse_eml(meeting_bytes(golden_meeting("update"))).calendar),
        check_cancel(parse_eml(meeting_bytes(golden_meeting("cancellation"), CANCEL)).calendar),
    ]
    events = [c.walk("VEVENT")[0] for c in cals]
    assert {str(e["UID"]) for e in events} == {"samtale-1001@fjordlys.example"}
    assert [int(str(e["SEQUENCE"])) for e in events] == [0, 1, 2]


@pytest.mark.parametrize(
    "filename",
    [
        "1001 Åse Kjærstad - forberedelse.xlsx",
        "ÆØÅ æøå.xlsx",
        "Medarbeidersamtale høsten 2026 – Åse Kjærstad og Bjørn Sæther – forberedelse og oppfølging av tiltak.xlsx",
        'navn med "anførsel"; semikolon, komma og (parentes).xlsx',
        "plain.xlsx",
    ],
)
def test_norwegian_names_round_trip_exactly(filename: str) -> None:
    """Verify æøå in Subject, display names and (long) attachment names decode back exactly."""
    subject = "Medarbeidersamtale: Åse Kjærstad og Bjørn Sæther – høsten 2026, «viktig» (ÆØÅ æøå) " * 2
    people = (Person("ase@fjordlys.example", "Kjærstad, Åse"), Person("bjorn@fjordlys.example", 'Bjørn "Bamse" Sæther'))
    content = bytes(range(256)) * 3
    meeting = sample_meeting(subject=subject.strip(), attendees=people, organizer=Person(ORGANIZER.email, "HR Øst"),
                             attachments=(Attachment(filename, content),))
    parsed = parse_eml(meeting_bytes(meeting))
    assert parsed.message["Subject"] == subject.strip()
    assert [(a.display_name, a.addr_spec) for a in parsed.message["To"].addresses] == [
        (p.name, p.email) for p in people]
    assert parsed.message["From"].addresses[0].display_name == "HR Øst"
    assert parsed.attachments == {filename: content}
    part = next(p for p in parsed.message.iter_attachments() if p.get_filename() == filename)
    assert part.get_content_type() == XLSX  # Python 3.11 breaks a long type when Content-Type also has a name


def test_message_bytes_are_crlf_and_seven_bit() -> None:
    """Verify every line ends in CRLF, stays within 998 octets, and the message is 7-bit clean for any relay."""
    raw = meeting_bytes(sample_meeting())
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.count(b"\r") == raw.count(b"\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(byte < 128 for byte in raw)


def test_message_ids_differ_between_messages() -> None:
    """Verify each message gets its own Message-ID."""
    meeting = sample_meeting()
    ids = {meeting_message(meeting, REQUEST, meeting.attendees)["Message-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_date_defaults_to_now() -> None:
    """Verify a meeting without stamp is dated now."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    message = parse(meeting_bytes(sample_meeting(stamp=None)))
    assert before <= message["Date"].datetime <= dt.datetime.now(dt.UTC)


# ---- ordinary mails ----------------------------------------------------------------------


def test_text_only_mail_is_a_single_text_part() -> None:
    """Verify a mail with only text is plain text/plain with the headers set."""
    mail = Mail(key="k", to=(MANAGER,), subject="Påminnelse: forberedelse før samtalen",
                body_text="Hei Bjørn,\nhusk å …\n")
    date = dt.datetime(2026, 10, 20, 7, 0, tzinfo=OSLO)
    message = parse(message_bytes(mail_message(mail, ORGANIZER, date)))
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == mail.body_text
    assert message["Subject"] == mail.subject
    assert message["From"].addresses[0].addr_spec == ORGANIZER.email
    assert [a.display_name for a in message["To"].addresses] == ["Bjørn Sæther"]
    assert message["Date"].datetime == date
    assert message["Message-ID"].endswith("@fjordlys.example>")
    assert message["Content-Class"] is None


def test_mail_with_html_and_attachment() -> None:
    """Verify text + html become multipart/alternative, inside multipart/mixed with the file."""
    mail = Mail(key="k", to=(MANAGER, EMPLOYEE), subject="Skjema", body_text="Hei", body_html="<p>Hei</p>",
                attachments=(PREP_FILE,))
    raw = message_bytes(mail_message(mail, ORGANIZER))
    message = parse(raw)
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = message.iter_parts()
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_filename() == PREP_FILE.filename
    assert attachment.get_content_type() == XLSX
    assert attachment.get_content() == PREP_FILE.content
    assert [a.addr_spec for a in message["To"].addresses] == [MANAGER.email, EMPLOYEE.email]
    assert all(byte < 128 for byte in raw)


def test_mail_with_html_only_alternative() -> None:
    """Verify text + html without files is multipart/alternative at the top."""
    mail = Mail(key="k", to=(EMPLOYEE,), subject="Hei", body_text="Hei Åse", body_html="<p>Hei Åse</p>")
    message = parse(message_bytes(mail_message(mail, ORGANIZER)))
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content() == "Hei Åse\r\n" and html.get_content() == "<p>Hei Åse</p>\r\n"  # wire line breaks


# ---- golden files ------------------------------------------------------------------------

GOLDEN_CASES = {"invitation": REQUEST, "update": REQUEST, "cancellation": CANCEL}


def golden_meeting(name: str) -> Meeting:
    """The fixed meeting at each step: invited, moved two days later, cancelled."""
    meeting = sample_meeting()
    if name == "invitation":
        return meeting
    moved = replace(meeting, sequence=1, start=dt.datetime(2026, 11, 5, 13, 0, tzinfo=OSLO),
                    end=dt.datetime(2026, 11, 5, 14, 0, tzinfo=OSLO),
                    stamp=dt.datetime(2026, 10, 8, 8, 30, tzinfo=dt.UTC))
    if name == "update":
        return moved
    return replace(moved, sequence=2, stamp=dt.datetime(2026, 10, 15, 8, 30, tzinfo=dt.UTC))


def normalise(raw: bytes) -> bytes:
    """Replace what changes on every run: Message-ID and MIME boundaries (DTSTAMP and Date follow the fixed stamp)."""
    raw = re.sub(rb"^Message-ID: <[^>\r\n]+>", b"Message-ID: <golden@fjordlys.example>", raw, count=1, flags=re.M)
    for number, boundary in enumerate(dict.fromkeys(re.findall(rb'boundary="([^"]+)"', raw)), start=1):
        raw = raw.replace(boundary, f"golden-boundary-{number}".encode())
    return raw


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_files(name: str) -> None:
    """Verify the message and the bare .ics match tests/golden (SAMTALE_UPDATE_GOLDEN=1 rewrites them)."""
    meeting, method = golden_meeting(name), GOLDEN_CASES[name]
    eml = normalise(meeting_bytes(meeting, method))
    ics = meeting_calendar(meeting, method)
    if UPDATE_GOLDEN:
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / f"{name}.eml").write_bytes(eml)
        (GOLDEN / f"{name}.ics").write_bytes(ics)
    assert eml == (GOLDEN / f"{name}.eml").read_bytes(), f"{name}.eml changed (SAMTALE_UPDATE_GOLDEN=1 to accept)"
    assert ics == (GOLDEN / f"{name}.ics").read_bytes(), f"{name}.ics changed (SAMTALE_UPDATE_GOLDEN=1 to accept)"
    # The committed files are themselves valid, whatever produced them.
    parsed = parse_eml((GOLDEN / f"{name}.eml").read_bytes())
    assert parsed.calendar == (GOLDEN / f"{name}.ics").read_bytes()
    check_lines(parsed.calendar)
    if method == REQUEST:
        check_request(parsed.calendar)
    else:
        check_cancel(parsed.calendar, whole=True)
