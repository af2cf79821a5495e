"""`invite` end to end through the graph backend and its stand-in: throttling absorbed and reported.

The core (plan, journal, dispatch in batches, write-back) drives the real GraphBackend against the
loopback Graph stand-in, which answers a burst of 429s with Retry-After: every invitation and mail
arrives exactly once, the run reports how long it waited, and a second run sends nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from folders import make_folder
from graph_server import GraphServer, static_backend

from samtale_automation.commands.invite import run_invite


@pytest.fixture
def server() -> Iterator[GraphServer]:
    """A plain-HTTP Graph stand-in."""
    started = GraphServer().start()
    yield started
    started.stop()


def test_a_burst_of_429s_is_absorbed_and_reported(tmp_path: Path, server: GraphServer, nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    waits: list[float] = []
    backend = static_backend(server, "hr@firma.example", slept=waits)
    server.fail_next(3, 429, retry_after=5)  # the first three HTTP requests are throttled
    server.fail_next(4, 429, retry_after=7, inner=True)  # and four inside the next $batch

    result = run_invite(ws, backend=backend)
    report = result.report
    assert report is not None and not report.failed and report.stopped is None
    assert len(report.delivered) == 4  # two invitations, two mails with the manager's file
    assert waits and report.waited_seconds == sum(waits) and report.retries == len(waits)
    assert 5 in waits and 7 in waits

    invitations = Counter((n.event_id, n.recipient) for n in server.notices if n.kind == "invitation")
    # employee and manager of two meetings, and the room of one, once each
    assert sorted(invitations.values()) == [1, 1, 1, 1, 1]
    assert sorted(r for _, r in invitations) == ["ase@firma.example", "ase@firma.example", "bjorn@firma.example",
                                                 "cecilie@firma.example", "rom-fjorden@firma.example"]
    assert all(n.snapshot.attachments for n in server.notices)  # each invitation carried the prep file
    assert len(server.live_events("hr@firma.example")) == 2
    assert [m.to for m in server.mails] == [["ase@firma.example"], ["ase@firma.example"]]  # the manager's files
    assert all(len(m.files) == 1 and m.files[0].name.endswith("leder.xlsx") for m in server.mails)
    assert ws.load().conversations["2027-2"].invited == ws.now.date()
    from samtale_automation.faces.present import Say
    from samtale_automation.faces.present_send import send_report

    say = Say()
    send_report(say, report, ("melding", "meldinger", "message", "messages"), "graph")
    summary = "\n".join(say.done().lines)
    tries = "1 nytt forsøk" if len(waits) == 1 else f"{len(waits)} nye forsøk"
    assert f"Serveren ba oss vente: {tries}, {sum(waits):.0f} s venting i alt." in summary
    assert f"{len(report.delivered)} meldinger sendt." in summary

    sent = server.sent_count()
    again = run_invite(ws, backend=static_backend(server, "hr@firma.example"))
    assert again.plan.empty and server.sent_count() == sent


def test_a_follow_up_meeting_avoids_what_the_calendars_say_is_busy(tmp_path: Path, server: GraphServer,
                                                                   nb_messages: None) -> None:
    """Verify the follow-up of an action goes in the first half hour the owner's and the manager's calendars
    (getSchedule) are both free that day, and the meeting in the stand-in's calendar has that time."""
    from datetime import date, datetime, time

    from samtale_automation.domain.changeset import ChangeSet
    from samtale_automation.domain.model import OSLO

    ws = make_folder(tmp_path / "f")
    action = ChangeSet("tiltak")
    action.upsert("Tiltak", "2027-2-1", conversation_id="2027-2", employee_id="2", description="Kurs i Excel",
                  owner="Bjørn Sæther", deadline=date(2027, 6, 1), status="Ikke startet", follow_up=date(2027, 3, 2))
    ws.commit(action)
    day = date(2027, 3, 2)
    server.add_busy("bjorn@firma.example", datetime.combine(day, time(8), OSLO), datetime.combine(day, time(10), OSLO))
    server.add_busy("ase@firma.example", datetime.combine(day, time(10), OSLO),
                    datetime.combine(day, time(11, 15), OSLO))
    result = run_invite(ws, backend=static_backend(server, "hr@firma.example"))
    assert result.report is not None
    [follow_up] = [item.meeting for item, _ in result.report.delivered if item.kind == "follow_up"]
    assert follow_up is not None and follow_up.start is not None
    assert datetime.fromisoformat(follow_up.start) == datetime.combine(day, time(11, 15), OSLO)
    assert server.counts["getSchedule"] >= 1
