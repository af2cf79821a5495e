"""Retention (Innstillinger «Lagringstid (år)»): which rounds' files are past keeping (pure).

A round is kept for `years` full years after the year it belongs to (the first four-digit year in
its name: «2027», «Vår 2027», «2027-2»), so with 3 years round 2027 goes on 1 January 2031. The
current round is never removed, nor a round whose name has no year (listed, so HR can see it).
The outbox's dated folders (`utboks/YYYY-MM-DD/`) follow the same rule by their date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

_YEAR = re.compile(r"(?<!\d)(19|20|21)\d\d(?!\d)")
_DAY = re.compile(r"^(\d{4})-(\d\d)-(\d\d)$")


@dataclass(frozen=True)
class RetentionPlan:
    """Rounds and outbox days to remove, and rounds kept because their names hold no year."""

    rounds: tuple[str, ...] = ()
    outbox_days: tuple[str, ...] = ()
    unknown: tuple[str, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.rounds or self.outbox_days)


def round_year(name: str) -> int | None:
    """The year a round belongs to, from its name; None when the name holds none."""
    found = _YEAR.search(name)
    return int(found.group(0)) if found else None


def expired(year: int, years: int, today: date) -> bool:
    """Whether something of `year` is past keeping on `today` (kept through year + `years`)."""
    return today.year > year + years


def plan_retention(rounds: Iterable[str], outbox_days: Iterable[str], today: date, years: int,
                   current_round: str) -> RetentionPlan:
    """What to remove on `today`: rounds (folder names under forberedelse/ and arkiv/) and outbox days."""
    remove, unknown = [], []
    for name in sorted(set(rounds)):
        if name == current_round:
            continue
        year = round_year(name)
        if year is None:
            unknown.append(name)
        elif expired(year, years, today):
            remove.append(name)
    days = []
    for name in sorted(set(outbox_days)):
        match = _DAY.match(name)
        if match and expired(int(match.group(1)), years, today):
            days.append(name)
    return RetentionPlan(tuple(remove), tuple(days), tuple(unknown))
