"""Norwegian working days: Monday to Friday except public holidays (DESIGN.md §8).

Reminders are never sent on weekends or public holidays; one due on such a day goes out the
working day before. The public holidays are those of the Norwegian holiday act
(helligdagsloven, with 1 and 17 May from lov om 1. og 17. mai som høgtidsdager), computed here
from Easter: the `holidays` package gives the same days (a test compares them for 1990–2100),
but importing its country tables costs a third of a second on every command, and the law has not
changed since 1947. Sundays are excluded by the weekday test, not by the calendar. 24 and 31
December are working days by law, so they are working days here too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

_ONE_DAY = timedelta(days=1)

#: Days fixed in the calendar (month, day) and days counted from Easter Sunday, with their names.
_FIXED = (((1, 1), "Første nyttårsdag"), ((5, 1), "Arbeidernes dag"), ((5, 17), "Grunnlovsdag"),
          ((12, 25), "Første juledag"), ((12, 26), "Andre juledag"))
_FROM_EASTER = ((-3, "Skjærtorsdag"), (-2, "Langfredag"), (0, "Første påskedag"), (1, "Andre påskedag"),
                (39, "Kristi himmelfartsdag"), (49, "Første pinsedag"), (50, "Andre pinsedag"))


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm, «Meeus/Jones/Butcher»)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month = (h + weekday - 7 * m + 90) // 25
    return date(year, month, (h + weekday - 7 * m + 33 * month + 19) % 32)


@cache
def _calendar(year: int) -> dict[date, str]:
    """The public holidays of one year with their Norwegian names (computed once per year)."""
    found: dict[date, list[str]] = {}
    easter = easter_sunday(year)
    days = [(date(year, month, day), name) for (month, day), name in _FIXED]
    days += [(easter + timedelta(days=offset), name) for offset, name in _FROM_EASTER]
    for day, name in sorted(days):
        found.setdefault(day, []).append(name)
    return {day: "; ".join(names) for day, names in found.items()}


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
