"""Norwegian working days: weekends, public holidays, and where a reminder due on a day off goes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
import pytest

from samtale_automation.domain import workdays
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.workdays import holiday_name, is_working_day, next_working_day, on_or_before


@pytest.mark.parametrize(("day", "name"), [
    (date(2027, 3, 25), "Skjærtorsdag"),
    (date(2027, 3, 26), "Langfredag"),
    (date(2027, 3, 29), "Andre påskedag"),
    (date(2027, 5, 17), "Grunnlovsdag"),  # shared with 2. pinsedag in 2027
    (date(2027, 5, 6), "Kristi himmelfartsdag"),
    (date(2027, 1, 1), "Første nyttårsdag"),
])
def test_public_holidays_2027_are_days_off_with_norwegian_names(day: date, name: str) -> None:
    assert not is_working_day(day)
    assert name in (holiday_name(day) or "")


def test_ordinary_days_weekends_and_christmas_eve() -> None:
    assert is_working_day(date(2027, 3, 24))  # Wednesday before Easter
    assert is_working_day(date(2027, 3, 30))  # Tuesday after 2. påskedag
    assert not is_working_day(date(2027, 1, 9))  # Saturday
    assert not is_working_day(date(2027, 1, 10))  # Sunday, not in the calendar but still off
    assert holiday_name(date(2027, 1, 10)) is None
    # 24 and 31 December are working days by law (both Fridays in 2027).
    assert is_working_day(date(2027, 12, 24)) and is_working_day(date(2027, 12, 31))
    assert holiday_name(date(2027, 12, 24)) is None


def test_reminder_due_on_2nd_easter_day_goes_out_the_wednesday_before() -> None:
    assert on_or_before(date(2027, 3, 29)) == date(2027, 3, 24)


def test_saturday_and_sunday_go_back_to_friday() -> None:
    assert on_or_before(date(2027, 1, 9)) == date(2027, 1, 8)
    assert on_or_before(date(2027, 1, 10)) == date(2027, 1, 8)
    assert on_or_before(date(2027, 1, 8)) == date(2027, 1, 8)  # a working day stays


def test_next_working_day_is_strictly_after() -> None:
    assert next_working_day(date(2027, 3, 24)) == date(2027, 3, 30)
    assert next_working_day(date(2027, 1, 8)) == date(2027, 1, 11)
    assert next_working_day(date(2027, 1, 11)) == date(2027, 1, 12)
    assert next_working_day(date(2027, 12, 31)) == date(2028, 1, 3)  # over New Year


def test_datetimes_count_by_their_day() -> None:
    moment = datetime(2027, 3, 26, 12, 0, tzinfo=OSLO)
    assert not is_working_day(moment)
    assert holiday_name(moment) == "Langfredag"
    assert on_or_before(moment) == date(2027, 3, 24)


def test_agrees_with_the_holidays_package_working_day_helper_over_two_years() -> None:
    calendar = holidays.country_holidays("NO", years=[2026, 2027], language="no")
    day = date(2026, 1, 1)
    while day.year < 2028:
        assert is_working_day(day) == calendar.is_working_day(day), day
        day += timedelta(days=1)


def test_calendar_is_cached_per_year() -> None:
    workdays._calendar.cache_clear()
    for _ in range(3):
        is_working_day(date(2027, 5, 17))
        is_working_day(date(2027, 12, 1))
    info = workdays._calendar.cache_info()
    assert info.misses == 1 and info.hits == 5


def test_the_calendar_is_the_holidays_packages_for_1990_to_2100() -> None:
    """Verify the computed public holidays (dates and names) equal the `holidays` package's, year by year."""
    for year in range(1990, 2101):
        expected = {day: str(name) for day, name in
                    holidays.country_holidays("NO", years=year, language="no").items()}
        assert workdays._calendar(year) == expected, year


@pytest.mark.parametrize(("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                              (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22))])
def test_easter_sunday_on_its_earliest_latest_and_ordinary_days(year: int, easter: date) -> None:
    """Verify Easter Sunday, including the latest (25 April) and earliest (22 March) possible dates."""
    assert workdays.easter_sunday(year) == easter


def test_working_days_need_no_holiday_tables() -> None:
    """Verify the working-day calendar does not import the `holidays` package (a third of a second per command)."""
    import subprocess
    import sys

    code = ("import sys; from samtale_automation.domain.workdays import is_working_day; "
            "from datetime import date; assert not is_working_day(date(2027, 5, 17)); "
            "print('holidays' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
