"""The nightly run's decisions (DESIGN.md §8): its steps, the time budget, and what HR's own digest says.

Pure: the caller passes the times (the wall clock is read in commands/nightly.py) and what the
journal and the run found. `lock_verdict` tells a second run whether the first is still within
its budget («kjører allerede», exit 0) or has overrun it (an alarm for HR, exit 1).
`plan_hr_digest` lists what needs a person today; nothing when there is nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO
from samtale_automation.texts import tr

#: The night's steps, in order; each is isolated (a failure is logged and the others go on).
STEPS = ("fetch", "collect", "remind", "retention", "write")
RUNNING, OVERRUN = "running", "overrun"
DEFAULT_BUDGET_MINUTES = 30
LOCKED_TOO_LONG = timedelta(days=1)


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


@dataclass(frozen=True)
class HrSection:
    """One heading of HR's digest and its lines (IDs, file names and counts, no private content)."""

    kind: str
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class HrFacts:
    """What the night found that a person must look at; built by the nightly command from its steps."""

    quarantined: Sequence[tuple[str, str]] = ()  # (file name, reason) quarantined tonight
    refused: Sequence[tuple[str, str]] = ()  # (address, server's answer) of messages still failing
    pending: Sequence[tuple[str, datetime | None, str]] = ()  # (change set id, created, why it waits)
    set_aside: Sequence[tuple[str, str]] = ()  # (change set id, why)
    workbook_blocked: str = ""  # why tonight's write did not happen ("" when it did or was not needed)
    alarms: Sequence[str] = ()  # the nightly run overran its budget, a step failed
    failed_steps: Sequence[tuple[str, str]] = ()  # (step, error)
    removed: Sequence[str] = ()  # what retention removed tonight


@dataclass(frozen=True)
class HrDigest:
    """HR's digest for one day: one mail to the mailbox, at most once a day."""

    key: str
    day: date
    sections: tuple[HrSection, ...] = field(default_factory=tuple)


def plan_hr_digest(master: Master, facts: HrFacts, now: datetime, *,
                   real_now: datetime | None = None) -> HrDigest | None:
    """HR's digest for `now`'s day, or None when nothing needs a person.

    `real_now` is the wall clock (how long changes have really waited; `now` may be `--today`)."""
    now = now.astimezone(OSLO) if now.tzinfo else now.replace(tzinfo=OSLO)
    waited_until = _aware(real_now) if real_now is not None else now
    today = now.date()
    sections: list[HrSection] = []

    def add(kind: str, title: str, lines: Sequence[str]) -> None:
        if lines:
            sections.append(HrSection(kind, title, tuple(lines)))

    failures = [tr(f"Steget «{step}» feilet: {why}", f"The step «{step}» failed: {why}")
                for step, why in facts.failed_steps]
    add("alarm", tr("Nattkjøringen", "The nightly run"), [*facts.alarms, *failures])
    old = [(cid, created, why) for cid, created, why in facts.pending
           if created is not None and waited_until - _aware(created) > LOCKED_TOO_LONG]
    locked: list[str] = []
    if old:
        oldest = min(_aware(created) for _, created, _ in old if created is not None)
        why = facts.workbook_blocked or old[0][2] or tr("ukjent grunn", "unknown reason")
        locked.append(tr(f"{len(old)} endringer har ventet på arbeidsboken siden {oldest:%d.%m.%Y %H:%M}: {why}. "
                         "Lukk arbeidsboken der den er åpen, eller kjør «samtale apply».",
                         f"{len(old)} changes have waited for the workbook since {oldest:%Y-%m-%d %H:%M}: {why}. "
                         "Close the workbook where it is open, or run «samtale apply»."))
    add("locked", tr("Arbeidsboken", "The workbook"), locked)
    add("quarantined", tr("Filer i karantene i natt", "Files quarantined tonight"),
        [f"{name}: {why}" for name, why in facts.quarantined])
    add("refused", tr("Adresser serveren avviste", "Addresses the server refused"),
        [f"{address}: {why}" for address, why in facts.refused])
    add("set_aside", tr("Endringer satt til side", "Changes set aside"),
        [f"{cid}: {why}" for cid, why in facts.set_aside])
    current = master.current_round()
    add("no_time", tr("Samtaler uten tidspunkt", "Conversations without a time"),
        [c.conversation_id for c in current.conversations if not c.cancelled and c.start is None])
    deadline = master.settings.minutes_deadline_days
    add("unsigned", tr("Referater som ikke er signert etter fristen", "Minutes unsigned past the deadline"),
        [c.conversation_id for c in current.conversations
         if not c.cancelled and c.end is not None and c.minutes_returned is not None
         and not (c.signed_employee and c.signed_manager)
         and _day(c.end) + timedelta(days=deadline) < today])
    add("retention", tr("Slettet etter lagringstiden", "Removed after the retention period"), list(facts.removed))
    if not sections:
        return None
    return HrDigest(f"hr:{today.isoformat()}", today, tuple(sections))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _day(moment: datetime) -> date:
    return moment.astimezone(OSLO).date() if moment.tzinfo else moment.date()
