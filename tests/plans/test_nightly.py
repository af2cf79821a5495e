"""The nightly run's decisions: the lock verdict, the budget, and what HR's digest lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Conversation, Employee, Settings
from samtale_automation.plans.nightly import (
    OVERRUN,
    RUNNING,
    HrFacts,
    lock_verdict,
    over_budget,
    plan_hr_digest,
)

NOW = datetime(2027, 2, 10, 2, 30, tzinfo=OSLO)


def master(*convs: Conversation) -> Master:
    people = {e: Employee(e, f"Person {e}", f"{e}@firma.example") for e in ("1", "2", "3", "4")}
    return Master(Settings(round="2027", minutes_deadline_days=7), people, {c.conversation_id: c for c in convs})


def test_a_second_run_waits_within_the_budget_and_alarms_after_it() -> None:
    assert lock_verdict(1000.0, 1000.0 + 29 * 60, 30 * 60) == RUNNING
    assert lock_verdict(1000.0, 1000.0 + 31 * 60, 30 * 60) == OVERRUN
    assert lock_verdict(None, 10**9, 60) == RUNNING  # a note being written right now


def test_the_budget_is_used_up_at_its_end() -> None:
    assert not over_budget(0.0, 1799.0, 1800)
    assert over_budget(0.0, 1800.0, 1800)


def test_nothing_for_hr_is_no_digest() -> None:
    assert plan_hr_digest(master(), HrFacts(), NOW) is None


def test_hr_hears_of_changes_waiting_more_than_a_day_by_the_real_clock() -> None:
    real = datetime(2026, 12, 4, 3, 0)
    facts = HrFacts(pending=[("a1", real - timedelta(hours=30), "samtaler.xlsx er åpen hos kari"),
                             ("a2", real - timedelta(hours=2), "samtaler.xlsx er åpen hos kari")],
                    workbook_blocked="samtaler.xlsx er åpen hos kari.")
    digest = plan_hr_digest(master(), facts, NOW, real_now=real)
    assert digest is not None and digest.key == "hr:2027-02-10"
    locked = [s for s in digest.sections if s.kind == "locked"]
    assert len(locked) == 1 and "1 endringer" in locked[0].lines[0] and "kari" in locked[0].lines[0]
    fresh = HrFacts(pending=[("a2", real - timedelta(hours=2), "")])
    assert plan_hr_digest(master(), fresh, NOW, real_now=real) is None  # waiting two hours is no news


def test_hr_sees_quarantine_refusals_missing_times_unsigned_minutes_and_failures() -> None:
    ended = datetime(2027, 1, 25, 10, tzinfo=OSLO)
    convs = (Conversation("2027-1", "1", "4"),  # no time
             Conversation("2027-2", "2", "4", start=ended - timedelta(hours=1), end=ended,
                          minutes_returned=date(2027, 1, 26)),  # unsigned, deadline 1 February passed
             Conversation("2027-3", "3", "4", cancelled=True))
    facts = HrFacts(quarantined=[("x.xlsx", "ikke en samtale-fil")], refused=[("ola@firma.example", "550 no")],
                    failed_steps=[("fetch", "serveren svarer ikke")], removed=["arkiv/2022"],
                    set_aside=[("c9", "for lang tekst")])
    digest = plan_hr_digest(master(*convs), facts, NOW)
    assert digest is not None
    kinds = {s.kind: s.lines for s in digest.sections}
    assert kinds["no_time"] == ("2027-1",)
    assert kinds["unsigned"] == ("2027-2",)
    assert kinds["quarantined"] == ("x.xlsx: ikke en samtale-fil",)
    assert kinds["refused"] == ("ola@firma.example: 550 no",)
    assert kinds["set_aside"] == ("c9: for lang tekst",)
    assert kinds["retention"] == ("arkiv/2022",)
    assert "fetch" in kinds["alarm"][0]
    assert digest.sections[0].kind == "alarm"  # the alarm comes first
