"""`samtale plan` with real free/busy answers: the Graph and EWS stand-ins, requests counted.

The people's and the room's calendars live in the stand-in; the plan must keep clear of every busy
period (and the buffer after the manager's), treat «free» as free, and ask in as few requests as the
protocols allow: getSchedule ≤ 20 people and < 62 days a call, all in one `$batch`; GetUserAvailability
≤ 100 mailboxes and ≤ 42 days a call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from ews_server import EwsStandIn
from graph_server import GraphServer, static_backend

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.plan import run_plan
from samtale_automation.commands.results import PlanResult
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.faces.present_plan import plan_lines
from samtale_automation.plans.rounds import plan_new_round

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
FIRST = date(2027, 1, 18)
SIX_WEEKS = date(2027, 2, 26)
DOMAIN = "fjordlys.example"
ROOM = f"rom-fjorden@{DOMAIN}"
USER, PASSWORD = "CORP\\svc-samtale", "Passord-som-ikke-må-lekke-7431"


def company(root: Path, employees: int, last: date = SIX_WEEKS) -> Workspace:
    """Managers 1 (Åse) and 2 (Per), employees 101… alternately theirs, the room Fjorden, round 2027."""
    init_folder(root)
    ws = Workspace.open(root, NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Kjærstad", email=f"ase@{DOMAIN}", active="Ja")
    staff.upsert("Ansatte", "2", name="Per Lie", email=f"per@{DOMAIN}", active="Ja")
    for n in range(employees):
        staff.upsert("Ansatte", str(101 + n), name=f"Ansatt {101 + n}", email=f"a{101 + n}@{DOMAIN}",
                     manager_id=str(1 + n % 2), active="Ja")
    staff.upsert("Rom", "Fjorden", email=ROOM, active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", FIRST, last, NOW, "test").changeset)
    return ws


def days(first: date = FIRST, last: date = SIX_WEEKS) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), OSLO)


def check_calendars(result: PlanResult) -> None:
    """What the seeded calendars demand of the plan (see `seed`)."""
    placed = {p.conversation_id: p for p in result.plan.placed}
    for item in placed.values():
        if item.manager_id == "1":  # busy 08.00–12.00 every day, then 15 minutes' buffer
            assert item.start.time() >= time(12, 15), item
        if item.room is not None and item.start.date() in (FIRST, FIRST + timedelta(days=1)):
            pytest.fail(f"{item.conversation_id} is in the room on a day it is booked")
    assert placed["2027-101"].start.date() == date(2027, 2, 10)  # the one day 101 is not busy
    assert placed["2027-102"].start.time() == time(8, 30)  # Per's «free» all day is free
    assert [(u.conversation_id, u.reason) for u in result.plan.unplaced] == [("2027-103", "employee_busy")]


def seed(add_busy: Callable[[str, datetime, datetime, str], None], busy: str, oof: str, free: str) -> None:
    """Åse busy every morning, 101 busy but on 10 February, 103 out of office throughout, Per «free» all
    day, the room booked the first two days."""
    for day in days():
        add_busy(f"ase@{DOMAIN}", at(day, 8), at(day, 12), busy)
        add_busy(f"per@{DOMAIN}", at(day, 7), at(day, 17), free)
        if day != date(2027, 2, 10):
            add_busy(f"a101@{DOMAIN}", at(day, 7), at(day, 17), busy)
    add_busy(f"a103@{DOMAIN}", at(FIRST, 0), at(SIX_WEEKS + timedelta(days=1), 0), oof)
    add_busy(ROOM, at(FIRST, 0), at(FIRST + timedelta(days=2), 0), busy)


# ---- Graph ---------------------------------------------------------------------------------------------


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    started = GraphServer().start()
    yield started
    started.stop()


def test_graph_free_busy_shapes_the_plan_in_one_batch(tmp_path: Path, graph: GraphServer) -> None:
    """Verify 28 people and a room over six weeks take two getSchedule calls in one $batch, and the plan keeps
    clear of every busy period; a calendar the server cannot read is named, not guessed."""
    ws = company(tmp_path / "f", 26)
    seed(graph.add_busy, "busy", "oof", "free")
    graph.schedule_errors.add(f"a125@{DOMAIN}")
    result = run_plan(ws, backend=static_backend(graph, f"hr@{DOMAIN}"))
    assert graph.counts["getSchedule"] == 2 and graph.counts["$batch"] == 1
    assert result.busy_source == "graph" and result.free_busy_requests == 1
    check_calendars(result)
    assert any(f"a125@{DOMAIN}" in note for note in result.notes)
    lines = plan_lines(result)
    assert lines[0] == "Periode 18.01.2027–26.02.2027 (ledig/opptatt fra graph, 1 forespørsel)."
    assert "      2027-103  Ansatt 103: ingen ledig tid i den ansattes kalender de dagene begge er på jobb" in lines


def test_graph_a_long_period_with_many_people_is_split_in_the_protocols_limits(tmp_path: Path,
                                                                                graph: GraphServer) -> None:
    """Verify 123 addresses over ten weeks are 7 groups of ≤ 20 × 2 windows < 62 days = 14 getSchedule calls."""
    ws = company(tmp_path / "f", 120, last=date(2027, 3, 26))
    result = run_plan(ws, dry_run=True, backend=static_backend(graph, f"hr@{DOMAIN}"))
    assert graph.counts["getSchedule"] == 14 and graph.counts["$batch"] == 1
    assert result.unplaced == 0 and len(result.plan.placed) == 120


# ---- EWS -----------------------------------------------------------------------------------------------


@pytest.fixture
def ews(tmp_path: Path) -> Iterator[EwsStandIn]:
    (tmp_path / "ews").mkdir()
    with EwsStandIn(tmp_path / "ews", {USER: PASSWORD}) as stand_in:
        yield stand_in
        assert stand_in.violations == []


def test_ews_free_busy_shapes_the_plan_in_one_request(tmp_path: Path, ews: EwsStandIn) -> None:
    """Verify 28 people and a room over six weeks are one GetUserAvailability, and the plan keeps clear of it."""
    ws = company(tmp_path / "f", 26)
    seed(ews.add_busy, "Busy", "OOF", "Free")
    backend = ews.backend()
    try:
        result = run_plan(ws, backend=backend)
    finally:
        backend.close()
    assert ews.counts["GetUserAvailability"] == 1 and result.busy_source == "ews"
    check_calendars(result)


def test_ews_many_mailboxes_over_ten_weeks_are_split_in_the_protocols_limits(tmp_path: Path,
                                                                              ews: EwsStandIn) -> None:
    """Verify 123 mailboxes over ten weeks are 2 groups of ≤ 100 × 2 windows of ≤ 42 days = 4 requests."""
    ws = company(tmp_path / "f", 120, last=date(2027, 3, 26))
    ews.add_busy(f"a150@{DOMAIN}", at(FIRST, 0), at(date(2027, 3, 1), 0), "Busy")  # across the first window's end
    backend = ews.backend()
    try:
        result = run_plan(ws, dry_run=True, backend=backend)
    finally:
        backend.close()
    assert ews.counts["GetUserAvailability"] == 4
    placed = {p.conversation_id: p for p in result.plan.placed}
    assert placed["2027-150"].start.date() >= date(2027, 3, 1) and len(placed) == 120
