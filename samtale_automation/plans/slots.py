"""Free time on one day, in whole minutes: what the round planner and the follow-up meetings share.

Pure. A day is worked on as minutes since local midnight (Europe/Oslo wall clock), so a busy period
from a server in UTC and a conversation typed in the workbook compare the same way, and the summer
time switch (at night, on a Sunday) never falls inside working hours. An interval is `(start, end)`,
end exclusive; a window is a stretch of free time a conversation may lie in.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from samtale_automation.domain.model import OSLO

Interval = tuple[int, int]
#: Starts are put on this grid (minutes): «10.05», never «10.07» after a meeting that ended 10.07.
GRID = 5
DAY_MINUTES = 24 * 60


def minute_of(moment: time) -> int:
    """08:30 → 510."""
    return moment.hour * 60 + moment.minute


def at(day: date, minute: int) -> datetime:
    """The aware Europe/Oslo moment of a minute on a day."""
    return datetime.combine(day, time(minute // 60, minute % 60), OSLO)


def local(moment: datetime) -> datetime:
    """A moment on the Oslo wall clock (a naive one is taken to be Oslo time already)."""
    return moment.astimezone(OSLO) if moment.tzinfo else moment.replace(tzinfo=OSLO)


def split_by_day(start: datetime, end: datetime) -> Iterable[tuple[date, Interval]]:
    """A busy period as (day, minutes) pieces, cut at each local midnight."""
    first, last = local(start), local(end)
    if last <= first:
        return
    day = first.date()
    while True:
        begin = first.hour * 60 + first.minute if day == first.date() else 0
        if day == last.date():
            finish = last.hour * 60 + last.minute + (1 if last.second or last.microsecond else 0)
            if finish > begin:
                yield day, (begin, finish)
            return
        if begin < DAY_MINUTES:
            yield day, (begin, DAY_MINUTES)
        day += timedelta(days=1)


def ceil_grid(minute: int) -> int:
    """The first grid minute at or after `minute`."""
    return -(-minute // GRID) * GRID


def floor_grid(minute: int) -> int:
    """The last grid minute at or before `minute`."""
    return minute // GRID * GRID


def add_interval(intervals: list[Interval], item: Interval) -> None:
    """Insert keeping the list sorted (overlaps allowed; `windows` merges)."""
    insort(intervals, item)


def windows(blocked: Iterable[Sequence[Interval]], opens: int, closes: int) -> list[Interval]:
    """The free stretches of [opens, closes) around every blocked interval of every list (each sorted)."""
    merged = sorted(item for items in blocked for item in items if item[1] > opens and item[0] < closes)
    free: list[Interval] = []
    cursor = opens
    for start, end in merged:
        if start > cursor:
            free.append((cursor, min(start, closes)))
        cursor = max(cursor, end)
        if cursor >= closes:
            break
    if cursor < closes:
        free.append((cursor, closes))
    return free


def intersect(left: Sequence[Interval], right: Sequence[Interval]) -> list[Interval]:
    """The stretches free in both (each list sorted and disjoint), in one linear pass."""
    found: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            found.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return found


def padded(intervals: Iterable[Interval], before: int, after: int) -> list[Interval]:
    """Each interval widened: `before` minutes earlier, `after` minutes later (sorted as given)."""
    return [(start - before, end + after) for start, end in intervals]


def first_start(free: Sequence[Interval], minutes: int, latest: int | None = None) -> int | None:
    """The earliest grid start of `minutes` inside the windows (and not after `latest`), or None."""
    for start, end in free:
        candidate = ceil_grid(start)
        if candidate + minutes <= end and (latest is None or candidate <= latest):
            return candidate
    return None


def first_free_start(day: date, busy: Iterable[Iterable[tuple[datetime, datetime]]], opens: time, closes: time,
                     minutes: int) -> datetime | None:
    """The earliest start on `day` between `opens` and `closes` when nobody in `busy` is busy, or None.

    Each element of `busy` is one person's busy periods (any day; only this day's count).
    """
    blocked: list[Interval] = []
    for periods in busy:
        for start, end in periods:
            blocked += [piece for piece_day, piece in split_by_day(start, end) if piece_day == day]
    found = first_start(windows([sorted(blocked)], minute_of(opens), minute_of(closes)), minutes)
    return at(day, found) if found is not None else None
