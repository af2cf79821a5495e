"""The nightly run's decisions: the lock verdict and the budget (HR's digest: tests/plans/test_hr_digest.py)."""

from __future__ import annotations

from samtale_automation.plans.nightly import OVERRUN, RUNNING, STEPS, lock_verdict, over_budget


def test_a_second_run_waits_within_the_budget_and_alarms_after_it() -> None:
    assert lock_verdict(1000.0, 1000.0 + 29 * 60, 30 * 60) == RUNNING
    assert lock_verdict(1000.0, 1000.0 + 31 * 60, 30 * 60) == OVERRUN
    assert lock_verdict(None, 10**9, 60) == RUNNING  # a note being written right now


def test_the_budget_is_used_up_at_its_end() -> None:
    assert not over_budget(0.0, 1799.0, 1800)
    assert over_budget(0.0, 1800.0, 1800)


def test_the_steps_run_in_the_documented_order() -> None:
    assert STEPS == ("fetch", "collect", "remind", "retention", "hr", "write")
