"""The nightly run's decisions (DESIGN.md §8): its steps and the time budget (HR's digest: plans/hr_digest.py).

Pure: the caller passes the times (the wall clock is read in commands/nightly.py) and what the
journal and the run found. `lock_verdict` tells a second run whether the first is still within
its budget («kjører allerede», exit 0) or has overrun it (an alarm for HR, exit 1).
"""

from __future__ import annotations

#: The night's steps, in order; each is isolated (a failure is logged and the others go on).
STEPS = ("fetch", "collect", "remind", "retention", "hr", "write")
RUNNING, OVERRUN = "running", "overrun"
DEFAULT_BUDGET_MINUTES = 30


def lock_verdict(holder_started: float | None, now: float, budget_seconds: float) -> str:
    """Another nightly holds the folder: RUNNING while it is within its budget, else OVERRUN.

    `holder_started` and `now` are seconds since the epoch; an unknown start counts as running
    (the note is being written right now)."""
    if holder_started is None:
        return RUNNING
    return OVERRUN if now - holder_started > budget_seconds else RUNNING


def over_budget(started: float, now: float, budget_seconds: float) -> bool:
    """Whether a run that started at `started` has used its whole budget by `now` (a clean stop follows)."""
    return now - started >= budget_seconds
