"""RFC 5322 / iMIP (RFC 6047) messages for meetings and ordinary mails, with the stdlib `email` only.

Pure functions, no I/O: a backend writes the result to a file or hands it to SMTP.
Layout Outlook recognises: research/mail.md §3.1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from samtale_automation.backends.ical import meeting_calendar
from samtale_automation.domain.messages import CANCEL, Attachment, Mail, Meeting, Person


def meeting_message(
    meeting: Meeting, method: str, recipients: Sequence[Person], *, cancel_only: Sequence[Person] | None = None
) -> EmailMessage:
    """The iMIP message: mixed(alternative(text, html, text/calendar), attachments, the .ics again)."""
    calendar = meeting_calendar(meeting, method, cancel_only=cancel_only)
    message = _headers(meeting.organizer, recipients, meeting.subject, meeting.stamp)
    _add_texts(message, meeting.body_text, meeting.body_html)
    if not message.is_multipart():
        message.make_alternative()
    message.attach(_calendar_part(calendar, method))  # type: ignore[arg-type]  # any Message nests at runtime
    message.make_mixed()
    if method != CANCEL:  # the prep files belong to the invitation, not to the cancellation
        for attachment in meeting.attachments:
            _attach(message, attachment)
    # The same VCALENDAR as a plain file, for clients that ignore the iMIP part.
    name = "cancel.ics" if method == CANCEL else "invite.ics"
    message.add_attachment(calendar, "application", "ics", filename=name, params={"name": name})
    # Exchange/CDO use this header to treat the mail as a meeting item (mail.md §3.1). Set last:
    # make_alternative/make_mixed move every Content-* header of the message into the first part.
    message["Content-Class"] = "urn:content-classes:calendarmessage"
    return _tidy(message)


def mail_message(mail: Mail, sender: Person, date: dt.datetime | None = None) -> EmailMessage:
    """An ordinary mail: text (+ html as alternative), attachments making it multipart/mixed."""
    message = _headers(sender, mail.to, mail.subject, date)
    _add_texts(message, mail.body_text, mail.body_html)
    for attachment in mail.attachments:
        _attach(message, attachment)
    return _tidy(message)


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line endings, headers folded and encoded for SMTP."""
    return message.as_bytes(policy=policy.SMTP)


def _headers(sender: Person, recipients: Sequence[Person], subject: str, date: dt.datetime | None) -> EmailMessage:
    """A new message with From, To, Subject, Date and Message-ID set."""
    message = EmailMessage()
    # Address objects, not `Name <addr>` strings: names with commas or quotes stay one mailbox,
    # and the header registry writes non-ASCII names as RFC 2047 encoded words.
    message["From"] = _mailbox(sender)
    message["To"] = [_mailbox(person) for person in recipients]
    message["Subject"] = subject
    message["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.email.rpartition("@")[2] if "@" in sender.email else None)
    return message


def _mailbox(person: Person) -> Address:
    return Address(display_name=person.name, addr_spec=person.email)


def _add_texts(message: EmailMessage, text: str, html: str) -> None:
    """The body: text, and html as its alternative when there is any."""
    # Quoted-printable keeps the message 7-bit clean for relays without 8BITMIME, as Outlook does.
    message.set_content(text, cte="quoted-printable")
    if html:
        message.add_alternative(html, subtype="html", cte="quoted-printable")


def _calendar_part(calendar: bytes, method: str) -> MIMEText:
    """text/calendar with an unquoted `method=` parameter, as Outlook and Google write it."""
    # EmailMessage.add_alternative(params=...) always renders method="REQUEST"; a compat32 MIMEText
    # keeps the header as we set it (mail.md §3.1). Base64 keeps the CRLF lines intact in transit.
    part = MIMEText(calendar.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method, requote=False)
    return part


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    """Add a file, its name in Content-Disposition (RFC 2231 when not ASCII)."""
    # No `name=` on Content-Type: with a non-ASCII name the line gets too long and Python 3.11's
    # folder then turns the long xlsx MIME type itself into encoded words, breaking the type.
    maintype, _, subtype = attachment.mime_type.partition("/")
    message.add_attachment(attachment.content, maintype, subtype or "octet-stream", filename=attachment.filename)


def _tidy(message: EmailMessage) -> EmailMessage:
    """Drop the MIME-Version that EmailMessage writes into every part; it belongs on the message only."""
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message
