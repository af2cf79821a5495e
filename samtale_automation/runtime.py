"""The moment and the person a command runs for: one clock and one user name (DESIGN.md §9 `--today`).

Everything the rules decide by — deadlines, status, reminders, the working day, the day in the
journal's reminder keys — reads the workspace's moment, made once per command by `now()` from
`--today` or the wall clock, so `--today` moves all of it. Stamps that record when something really
happened (DTSTAMP and the Date header, file arrival, backups, journal and log times, archive and
quarantine names) read the wall clock where they are made, with a comment «real time» there; a test
holds every wall-clock read in the package to that.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

#: The zone the rules count days in (the same zone as domain.model.OSLO; basics may not import domain).
OSLO = ZoneInfo("Europe/Oslo")

#: The name recorded when the operating system cannot tell who runs samtale (a service without a user).
UNKNOWN_USER = "samtale"


def now(today: date | datetime | None = None) -> datetime:
    """The moment the rules decide by, in Oslo time.

    `today` is `--today`: a date stands for its first moment (midnight in Oslo), a datetime for
    itself; None reads the wall clock.
    """
    if today is None:
        return datetime.now(OSLO)
    if isinstance(today, datetime):
        return today.astimezone(OSLO)
    return datetime.combine(today, time(), OSLO)


def current_user() -> str:
    """Who runs samtale: the name for Logg's «Hvem» column and the journal's run history."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises OSError or KeyError (no USER variable, no passwd entry)
        return UNKNOWN_USER
