"""The attendees' answers through the graph backend and its stand-in: the Svar column and HR's digest.

The real GraphBackend reads our events' attendees (found by their tag) from the loopback Graph
stand-in, where attendees have answered as Outlook records it. `remind` writes each conversation's
Svar, and a decline or a proposed new time goes into HR's digest once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from folders import make_folder
from graph_server import GraphServer, static_backend

from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.remind import run_remind
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import DECLINED, PROPOSED, AttendeeReply
from samtale_automation.domain.model import OSLO, Conversation, Employee, Settings
from samtale_automation.faces.present import present
from samtale_automation.plans.replies import plan_replies

pytestmark = pytest.mark.usefixtures("nb_messages")


@pytest.fixture
def server() -> Iterator[GraphServer]:
    """A plain-HTTP Graph stand-in."""
    started = GraphServer().start()
    yield started
    started.stop()


def _day(ws: Workspace, day: date) -> Workspace:
    return Workspace.open(ws.folder.root, datetime.combine(day, time(6, 30), OSLO))


def test_answers_fill_svar_and_a_decline_and_a_new_time_go_to_hr_once(tmp_path: Path, server: GraphServer) -> None:
    """Verify accepted, declined and a proposed new time are read from the events, written to Svar in words,
    and that HR's digest names the decline and the proposal once (the next night tells nothing again)."""
    ws = make_folder(tmp_path / "f")
    run_invite(ws, backend=static_backend(server, "hr@firma.example"))
    server.respond("hr@firma.example", "Bjørn Sæther", "bjorn@firma.example", "accepted")
    server.respond("hr@firma.example", "Bjørn Sæther", "ase@firma.example", "declined")
    proposed = datetime(2027, 1, 22, 13, 0, tzinfo=OSLO)
    server.respond("hr@firma.example", "Cecilie Berg", "cecilie@firma.example", "tentativelyAccepted", proposed)

    night = _day(ws, date(2027, 1, 6))
    result = run_remind(night, backend=static_backend(server, "hr@firma.example"))
    assert result.replies_read and result.replies_written == 2
    master = night.load()
    assert master.conversations["2027-2"].replies == "Bjørn Sæther: godtatt; Åse Kjærstad: avslått"
    assert master.conversations["2027-3"].replies == "Cecilie Berg: foreslår 22.01.2027 13.00"
    assert result.hr is not None
    lines = [item.text for item in result.hr.items if item.kind == "reply"]
    assert lines == [
        "2027-2: Åse Kjærstad har avslått – finn en ny tid sammen, endre Start og Slutt og kjør «samtale invite».",
        "2027-3: Cecilie Berg har foreslått 22.01.2027 13.00 – finn en ny tid sammen, endre Start og Slutt og kjør "
        "«samtale invite».",
    ]
    assert "Svar på invitasjonene lest: 2 samtaler med endret Svar." in present(result).lines

    again = run_remind(_day(ws, date(2027, 1, 7)), backend=static_backend(server, "hr@firma.example"))
    assert again.replies_written == 0
    assert again.hr is None or all(item.kind != "reply" for item in again.hr.items)


def test_the_outbox_says_it_sees_no_answers(tmp_path: Path) -> None:
    """Verify a run through the outbox says that answers cannot be seen there and leaves Svar blank."""
    ws = make_folder(tmp_path / "f")
    run_invite(ws)
    result = run_remind(_day(ws, date(2027, 1, 13)))
    assert not result.replies_read
    assert ("Svar på invitasjonene kan ikke ses med backend outbox; kolonnen Svar fylles med backend graph eller "
            "ews, eller smtp med imap_host." in present(result).lines)
    assert _day(ws, date(2027, 1, 13)).load().conversations["2027-2"].replies == ""


def test_plan_replies_writes_only_what_changed() -> None:
    """Verify an unchanged Svar is not written again, and a decline is an HR line with a stable key."""
    ws_master = make_master()
    changes, items = plan_replies(ws_master, {"2027-2": [AttendeeReply("bjorn@firma.example", DECLINED)]})
    assert [c.values["replies"] for c in changes.changes] == ["Bjørn Sæther: avslått"]
    assert [i.key for i in items] == ["hr:reply:2027-2:bjorn@firma.example:declined:"]
    same = plan_replies(ws_master, {"2027-2": [AttendeeReply("bjorn@firma.example", PROPOSED, None)]})
    assert same[1][0].text.startswith("2027-2: Bjørn Sæther har foreslått ny tid")


def make_master() -> Master:
    """Bjørn's conversation, invited."""
    return Master(settings=Settings(round="2027"),
                  employees={"2": Employee("2", "Bjørn Sæther", "bjorn@firma.example", manager_id="1")},
                  conversations={"2027-2": Conversation("2027-2", "2", "1", invited=date(2027, 1, 4))})


def test_answers_through_ews_fill_svar(tmp_path: Path) -> None:
    """Verify the ews backend reads ResponseType (and a proposed start) from our meetings in the stand-in."""
    from backend_kit import ORGANIZER
    from ews_server import EwsStandIn

    (tmp_path / "ews").mkdir()
    with EwsStandIn(tmp_path / "ews", {"CORP\\svc-samtale": "Passord-7431"}) as ews:
        ws = make_folder(tmp_path / "f", mailbox=ORGANIZER.email)
        backend = ews.backend()
        try:
            run_invite(ws, backend=backend)
        finally:
            backend.close()
        ews.respond(ORGANIZER.email, "Bjørn Sæther", "bjorn@firma.example", "Accept")
        ews.respond(ORGANIZER.email, "Bjørn Sæther", "ase@firma.example", "Decline")
        proposed = datetime(2027, 1, 22, 13, 0, tzinfo=OSLO)
        ews.respond(ORGANIZER.email, "Cecilie Berg", "cecilie@firma.example", "Tentative", proposed)
        night = _day(ws, date(2027, 1, 6))
        backend = ews.backend()
        try:
            result = run_remind(night, backend=backend)
        finally:
            backend.close()
        assert ews.violations == []
    assert result.replies_read and result.replies_written == 2
    master = night.load()
    assert master.conversations["2027-2"].replies == "Bjørn Sæther: godtatt; Åse Kjærstad: avslått"
    assert master.conversations["2027-3"].replies == "Cecilie Berg: foreslår 22.01.2027 13.00"
