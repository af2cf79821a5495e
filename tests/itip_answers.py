"""Answers to invitations as Outlook mails them (iTIP REPLY and COUNTER), for the reply-reading tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

STAMP = dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC)


def answer(sender: str, partstat: str = "ACCEPTED", *, method: str = "REPLY", uid: str = "samtale-2027-2@firma.no",
           attendee: str | None = None, stamp: dt.datetime = STAMP, start: dt.datetime | None = None) -> bytes:
    """An answer as Outlook mails it: a short text and a text/calendar part with the METHOD."""
    from icalendar import Calendar, Event, vCalAddress

    calendar = Calendar()
    calendar.add("prodid", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start or dt.datetime(2027, 1, 20, 9, 0, tzinfo=dt.UTC))
    address = vCalAddress(f"mailto:{attendee or sender}")
    address.params["PARTSTAT"] = partstat
    event.add("attendee", address)
    calendar.add_component(event)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "hr@firma.no"
    message["Subject"] = "Godtatt: Medarbeidersamtale 2027"
    message.set_content("Svar")
    message.add_attachment(calendar.to_ical(), maintype="text", subtype="calendar", params={"method": method})
    return message.as_bytes()
