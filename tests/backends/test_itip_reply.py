"""Answers mailed back (iTIP REPLY and COUNTER, RFC 5546) read from a message: backends/itip_reply.py."""

from __future__ import annotations

import datetime as dt

from itip_answers import STAMP, answer

from samtale_automation.backends.itip_reply import latest, replies_in
from samtale_automation.domain.messages import ACCEPTED, DECLINED, PROPOSED, AttendeeReply
from samtale_automation.domain.model import OSLO


def test_accepted_declined_and_a_proposed_time() -> None:
    """Verify REPLY's PARTSTAT and COUNTER's new DTSTART become answers for our meeting key."""
    assert [(s.key, s.reply) for s in replies_in(answer("kari@firma.no"))] == [
        ("2027-2", AttendeeReply("kari@firma.no", ACCEPTED))]
    assert replies_in(answer("kari@firma.no", "DECLINED"))[0].reply.response == DECLINED
    new = dt.datetime(2027, 1, 22, 12, 0, tzinfo=dt.UTC)
    proposed = replies_in(answer("kari@firma.no", method="COUNTER", start=new))[0].reply
    assert proposed.response == PROPOSED and proposed.proposed_start == new
    assert proposed.proposed_start.astimezone(OSLO).hour == 13


def test_hostile_and_foreign_answers_are_skipped() -> None:
    """Verify another tool's UID, an ATTENDEE that is not the sender, garbage and a request are no answers."""
    assert replies_in(answer("kari@firma.no", uid="040000008200E00074C5B7101A82E008@outlook")) == []
    assert replies_in(answer("mallory@evil.example", attendee="kari@firma.no")) == []
    assert replies_in(answer("kari@firma.no", method="REQUEST")) == []
    assert replies_in(b"\x00\xff not a message") == []
    broken = answer("kari@firma.no").replace(b"BEGIN:VCALENDAR", b"BEGIN:VCALENDAR\r\nBROKEN")
    assert replies_in(broken) == [] or replies_in(broken)[0].key == "2027-2"


def test_the_latest_answer_per_attendee_counts() -> None:
    """Verify a later DECLINED replaces an earlier ACCEPTED, and keys not asked about are left out."""
    seen = replies_in(answer("kari@firma.no", stamp=STAMP)) + replies_in(
        answer("kari@firma.no", "DECLINED", stamp=STAMP + dt.timedelta(hours=2)))
    seen += replies_in(answer("ola@firma.no", uid="samtale-2027-9@firma.no"))
    assert latest(list(reversed(seen)), {"2027-2"}) == {"2027-2": [AttendeeReply("kari@firma.no", DECLINED)]}
