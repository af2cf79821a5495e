"""Norwegian working days: Monday to Friday except public holidays (DESIGN.md §8).

Reminders are never sent on weekends or public holidays; one due on such a day goes out the
working day before. The calendar comes from the `holidays` package (research/mail.md §4).
Sundays are excluded by the weekday test, not by the calendar. 24 and 31 December are
working days by law, so they are working days here too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays

_ONE_DAY = timedelta(days=1)


@cache
def _calendar(year: int) -> dict[date, str]:
    """The public holidays of one year with their Norwegian names (computed once per year)."""
    # language="no" explicitly: without it the names follow the process locale.
    found = holidays.country_holidays("NO", years=year, language="no")
    return {day: str(name) for day, name in found.items()}


def _as_date(day: date) -> date:
    # A datetime is a date too, but hashes differently; compare calendar days only.
    return day.date() if isinstance(day, datetime) else day


def holiday_name(day: date) -> str | None:
    """The Norwegian name of the public holiday on this day, or None."""
    day = _as_date(day)
    return _calendar(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Tell whether the day is Monday–Friday and not a public holiday."""
    day = _as_date(day)
    return day.weekday() < 5 and day not in _calendar(day.year)


def on_or_before(day: date) -> date:
    """The working day on or before this day (where a reminder due on a day off goes)."""
    day = _as_date(day)
    while not is_working_day(day):
        day -= _ONE_DAY
    return day


def next_working_day(day: date) -> date:
    """The first working day strictly after this day."""
    day = _as_date(day) + _ONE_DAY
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def prep_deadline(start: date, days_before: int) -> date:
    """The day prep files are due: `days_before` the conversation, moved back to a working day."""
    return on_or_before(start - timedelta(days=days_before))
