"""Plan the round (`samtale plan`): a time, and a room where the company has rooms, for each conversation.

Pure: the conversations to place, the rules from Innstillinger, the conversations that keep their time,
and everyone's busy periods in; placements and the conversations that could not be placed (each with
its reason) out. What the guidance asks of booking (DESIGN.md §1): «Varighet» minutes on a working
day (no weekend, public holiday or company closed day) within working hours, «Pause» between two of
a person's conversations, «Buffer» after any other meeting in the manager's calendar, at most «Maks
samtaler per leder per dag», never a person or a room twice at once, and nothing earlier than today
plus the prep deadline plus the first reminder's lead time. Part-time days and days away
(Ansatte «Arbeidsdager», «Borte») are honoured for both the employee and the manager.

What people find fair: each manager's conversations are spread over the period (the i-th of n aims at
the i-th n-th of the manager's days, managers staggered within it; a day gets a second conversation only
when no day with fewer has room), and on a day with several they follow each other as a block with the
break between. The
preferred time of day, when set, wins over the block. Same input, same plan: every choice is ordered.

Cost: each conversation looks at one day's few intervals per person and room, day by day outward from
its target, never at all the other conversations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from samtale_automation.domain.model import ClosedDay, Employee, Room, Settings
from samtale_automation.domain.workdays import is_working_day
from samtale_automation.plans.slots import (
    GRID,
    Interval,
    add_interval,
    at,
    ceil_grid,
    first_start,
    floor_grid,
    intersect,
    minute_of,
    padded,
    split_by_day,
    windows,
)

Busy = Mapping[str, Sequence[tuple[datetime, datetime]]]

# Why a conversation could not be placed (the first that holds, in this order).
NO_DAYS = "no_days"  # no working day left in the period
EMPLOYEE_AWAY = "employee_away"  # the employee is away or off every working day of the period
MANAGER_AWAY = "manager_away"
NO_COMMON_DAY = "no_common_day"  # both work, but never on the same day
MANAGER_FULL = "manager_full"  # no free slot for the manager (calendar, breaks, daily limit) on those days
EMPLOYEE_BUSY = "employee_busy"  # no free slot in the employee's calendar on those days
NO_COMMON_TIME = "no_common_time"  # each has free time, never at the same time
NO_ROOM = "no_room"  # both free at times, but no room free then


@dataclass(frozen=True)
class Rules:
    """The booking rules, from Innstillinger and today (see `from_settings`)."""

    first_day: date
    last_day: date
    day_start: time = time(8, 30)
    day_end: time = time(16, 0)
    latest_start: time | None = None  # None: late enough to end by day_end
    duration: int = 75
    break_minutes: int = 15
    buffer_minutes: int = 15
    max_per_day: int = 3
    closed_days: tuple[ClosedDay, ...] = ()
    preferred: tuple[time, time] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, today: date) -> Rules | None:
        """The rules of the round; None when Innstillinger names no period.

        The first day is the period's start, but never before today + «Frist forberedelse» + the first
        reminder's lead time (the employee must get the reminder and have time to prepare), nor today.
        """
        if settings.period_start is None or settings.period_end is None:
            return None
        lead = settings.prep_deadline_days + max(settings.reminder_days, default=0)
        first = max(settings.period_start, today + timedelta(days=max(lead, 1)))
        return cls(first, settings.period_end, settings.workday_start, settings.workday_end, settings.latest_start,
                   settings.duration_minutes, settings.break_minutes, settings.buffer_minutes,
                   settings.max_per_manager_per_day, settings.closed_days, settings.preferred_time)

    def days(self) -> list[date]:
        """The days a conversation may be held: working days of the period the company is open."""
        found, day = [], self.first_day
        while day <= self.last_day:
            if is_working_day(day) and not any(closed.matches(day) for closed in self.closed_days):
                found.append(day)
            day += timedelta(days=1)
        return found

    @property
    def opens(self) -> int:
        """The first minute of the day a conversation may start."""
        return minute_of(self.day_start)

    @property
    def closes(self) -> int:
        """The minute every conversation has ended by (working hours and the latest start)."""
        end = minute_of(self.day_end)
        return min(end, minute_of(self.latest_start) + self.duration) if self.latest_start else end


@dataclass(frozen=True)
class Wanted:
    """A conversation to place."""

    conversation_id: str
    employee_id: str
    manager_id: str
    room: str | None = None  # Room.key of the one room it must be in (Sted names it); None: any
    needs_room: bool = True  # False: Sted says where it is (Teams, an office) and no room is booked


@dataclass(frozen=True)
class Booked:
    """A conversation that keeps its time: busy for its people and its room."""

    conversation_id: str
    employee_id: str
    manager_id: str
    start: datetime
    end: datetime
    room: str | None = None


@dataclass(frozen=True)
class ScheduleInput:
    """Everything the planner reads."""

    wanted: Sequence[Wanted]
    rules: Rules
    booked: Sequence[Booked] = ()
    busy: Busy = field(default_factory=dict)  # AnsattID → other meetings in their calendar
    room_busy: Busy = field(default_factory=dict)  # Room.key → bookings in the room's calendar
    people: Mapping[str, Employee] = field(default_factory=dict)  # for Arbeidsdager and Borte
    rooms: Sequence[Room] = ()  # the active rooms, in the order they are preferred


@dataclass(frozen=True)
class Placement:
    """A conversation's new time and room."""

    conversation_id: str
    manager_id: str
    start: datetime
    end: datetime
    room: Room | None = None


@dataclass(frozen=True)
class Unplaced:
    """A conversation left without a time, and why."""

    conversation_id: str
    manager_id: str
    reason: str
    room: str | None = None  # the room it had to be in, for NO_ROOM


@dataclass
class SchedulePlan:
    """The placements and the conversations left without a time, each sorted by SamtaleID."""

    placed: list[Placement] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)


def plan_schedule(given: ScheduleInput) -> SchedulePlan:
    """Place every wanted conversation that fits; list the others with their reason."""
    planner = _Planner(given)
    plan = SchedulePlan()
    for wanted, aim in _order(given.wanted):
        placed = planner.place(wanted, aim)
        if isinstance(placed, Placement):
            plan.placed.append(placed)
        else:
            plan.unplaced.append(Unplaced(wanted.conversation_id, wanted.manager_id, placed, wanted.room))
    plan.placed.sort(key=lambda p: p.conversation_id)
    plan.unplaced.sort(key=lambda u: u.conversation_id)
    return plan


def _order(wanted: Sequence[Wanted]) -> list[tuple[Wanted, Fraction]]:
    """Round robin over the managers (each one's first, then each one's second, …), so no manager's
    conversations take all the rooms; within a manager by SamtaleID. With each where in the manager's
    days it aims, as a fraction: the i-th of n at (i + s) / n, where s staggers the managers evenly
    over one n-th, so that not every manager's first conversation aims at the same day."""
    by_manager: dict[str, list[Wanted]] = defaultdict(list)
    for item in wanted:
        by_manager[item.manager_id].append(item)
    ordered = []
    managers = sorted(by_manager)
    for rank, manager in enumerate(managers):
        theirs = sorted(by_manager[manager], key=lambda w: w.conversation_id)
        stagger = Fraction(2 * rank + 1, 2 * len(managers))
        ordered += [(index, w, (index + stagger) / len(theirs)) for index, w in enumerate(theirs)]
    ordered.sort(key=lambda item: (item[0], item[1].manager_id, item[1].conversation_id))
    return [(w, aim) for _, w, aim in ordered]


class _Planner:
    """The calendars as they fill up, by (who, day), in minutes."""

    def __init__(self, given: ScheduleInput) -> None:
        self.given, self.rules = given, given.rules
        self.days = self.rules.days()
        self.position = {day: n for n, day in enumerate(self.days)}
        self.meetings: dict[tuple[str, date], list[Interval]] = defaultdict(list)
        self.convs: dict[tuple[str, date], list[Interval]] = defaultdict(list)
        self.room_use: dict[tuple[str, date], list[Interval]] = defaultdict(list)
        self.count: dict[tuple[str, date], int] = defaultdict(int)
        self.rooms_used: dict[tuple[str, date], list[str]] = defaultdict(list)
        self.room_by_key = {room.key: room for room in given.rooms}
        self.room_rank = {key: rank for rank, key in enumerate(self.room_by_key)}
        for target, source in ((self.meetings, given.busy), (self.room_use, given.room_busy)):
            for key, periods in source.items():
                for day, piece in self._pieces(periods):
                    target[(key, day)].append(piece)
        for booked in given.booked:
            for day, piece in self._pieces([(booked.start, booked.end)]):
                self._book(booked.employee_id, booked.manager_id, booked.room, day, piece)
        for intervals in (*self.meetings.values(), *self.room_use.values()):
            intervals.sort()
        self.manager_days: dict[str, list[date]] = {}

    def _pieces(self, periods: Iterable[tuple[datetime, datetime]]) -> Iterable[tuple[date, Interval]]:
        """Only the pieces on days that may hold a conversation matter."""
        for start, end in periods:
            for day, piece in split_by_day(start, end):
                if day in self.position:
                    yield day, piece

    def _book(self, employee: str, manager: str, room: str | None, day: date, piece: Interval) -> None:
        for person in dict.fromkeys((employee, manager)):
            if person:
                add_interval(self.convs[(person, day)], piece)
        if room:
            add_interval(self.room_use[(room, day)], piece)
            self.rooms_used[(manager, day)].append(room)
        self.count[(manager, day)] += 1

    # ---- who is free when ---------------------------------------------------------------------

    def available(self, person: str, day: date) -> bool:
        """At work that day (Arbeidsdager, Borte)."""
        employee = self.given.people.get(person)
        return employee is None or employee.available(day)

    def free(self, person: str, day: date, *, manager: bool) -> list[Interval]:
        """A person's free windows: other meetings (and the buffer after them, for a manager) and their
        conversations with the break before and after kept clear."""
        rules = self.rules
        after = rules.buffer_minutes if manager else 0
        blocked = (padded(self.meetings.get((person, day), ()), 0, after),
                   padded(self.convs.get((person, day), ()), rules.break_minutes, rules.break_minutes))
        return windows(blocked, rules.opens, rules.closes)

    def room_free(self, room: str, day: date) -> list[Interval]:
        """A room's free windows."""
        return windows([self.room_use.get((room, day), ())], self.rules.opens, self.rules.closes)

    # ---- placing one ----------------------------------------------------------------------------

    def place(self, wanted: Wanted, aim: Fraction) -> Placement | str:
        """Place one conversation on the best day near where it aims in the manager's days; else why not."""
        manager, employee = wanted.manager_id, wanted.employee_id
        days = self.manager_days.get(manager)
        if days is None:
            days = self.manager_days[manager] = [d for d in self.days if self.available(manager, d)]
        target = int(aim * len(days))
        order = _outward(target, len(days))
        tried: set[int] = set()
        for level in range(1, self.rules.max_per_day + 1):
            for at_position in order:
                day = days[at_position]
                if at_position in tried or self.count[(manager, day)] >= level:
                    continue
                tried.add(at_position)
                if not self.available(employee, day):
                    continue
                found = self.best(wanted, day)
                if found is not None:
                    start, room = found
                    piece = (start, start + self.rules.duration)
                    self._book(employee, manager, room, day, piece)
                    return Placement(wanted.conversation_id, manager, at(day, piece[0]), at(day, piece[1]),
                                     self.room_by_key.get(room) if room else None)
        return self.reason(wanted)

    def best(self, wanted: Wanted, day: date) -> tuple[int, str | None] | None:
        """The best start and room on a day: preferred time, then next to the manager's other
        conversations (a block), then early, then a room the manager already has that day, then the
        room where it fits most tightly (best fit keeps the rooms' long free stretches whole)."""
        manager_free = self.free(wanted.manager_id, day, manager=True)
        pair = intersect(manager_free, self.free(wanted.employee_id, day, manager=False)) if manager_free else []
        if not pair:
            return None
        rooms: list[str | None]
        if not wanted.needs_room or not self.room_by_key:
            rooms = [None]
        elif wanted.room is not None:
            rooms = [wanted.room]
        else:
            rooms = [*self.room_by_key]
        used = self.rooms_used.get((wanted.manager_id, day), [])
        theirs = self.convs.get((wanted.manager_id, day), [])
        best: tuple[tuple[bool, bool, int, bool, int, int], int, str | None] | None = None
        for room in rooms:
            room_free = self.room_free(room, day) if room is not None else []
            free = pair if room is None else intersect(pair, room_free)
            for start in self._starts(free, theirs):
                # Among rooms: the manager's room of the day, then the tightest fit (big gaps stay whole).
                slack = next((end - begin for begin, end in room_free if begin <= start < end), 0)
                key = (not self._preferred(start), not self._adjacent(start, theirs), start, room not in used,
                       slack, self.room_rank.get(room or "", 0))
                if best is None or key < best[0]:
                    best = (key, start, room)
        return (best[1], best[2]) if best else None

    def _starts(self, free: Sequence[Interval], theirs: Sequence[Interval]) -> Iterable[int]:
        """The starts worth comparing in each window: its first, right after or before each of the
        manager's conversations, and the first inside the preferred time."""
        rules = self.rules
        span, pause = rules.duration, rules.break_minutes
        for begin, end in free:
            low, high = ceil_grid(begin), floor_grid(end - span)
            if low > high:
                continue
            yield low
            for start, finish in theirs:
                for candidate in (ceil_grid(finish + pause), floor_grid(start - pause - span)):
                    if low < candidate <= high:
                        yield candidate
            if rules.preferred:
                candidate = ceil_grid(max(begin, minute_of(rules.preferred[0])))
                if low < candidate <= high:
                    yield candidate

    def _preferred(self, start: int) -> bool:
        preferred = self.rules.preferred
        return preferred is None or (minute_of(preferred[0]) <= start
                                     and start + self.rules.duration <= minute_of(preferred[1]))

    def _adjacent(self, start: int, theirs: Sequence[Interval]) -> bool:
        end, pause = start + self.rules.duration, self.rules.break_minutes
        return any(0 <= start - finish - pause < GRID or 0 <= begin - pause - end < GRID for begin, finish in theirs)

    # ---- why not --------------------------------------------------------------------------------

    def reason(self, wanted: Wanted) -> str:
        """The first reason that holds, checked against the calendars as they are now."""
        manager, employee, span = wanted.manager_id, wanted.employee_id, self.rules.duration
        if not self.days:
            return NO_DAYS
        if not any(self.available(employee, day) for day in self.days):
            return EMPLOYEE_AWAY
        if not any(self.available(manager, day) for day in self.days):
            return MANAGER_AWAY
        both = [day for day in self.days if self.available(employee, day) and self.available(manager, day)]
        if not both:
            return NO_COMMON_DAY
        open_days = [day for day in both if self.count[(manager, day)] < self.rules.max_per_day]
        manager_free = {day: self.free(manager, day, manager=True) for day in open_days}
        if not any(first_start(manager_free[day], span) is not None for day in open_days):
            return MANAGER_FULL
        employee_free = {day: self.free(employee, day, manager=False) for day in both}
        if not any(first_start(employee_free[day], span) is not None for day in both):
            return EMPLOYEE_BUSY
        if not any(first_start(intersect(manager_free[day], employee_free[day]), span) is not None
                   for day in open_days):
            return NO_COMMON_TIME
        return NO_ROOM


def _outward(target: int, size: int) -> list[int]:
    """0..size-1 by distance from target, the earlier first on a tie: 5, 4, 6, 3, 7, …"""
    order = [target] if 0 <= target < size else []
    for step in range(1, size + 1):
        order += [p for p in (target - step, target + step) if 0 <= p < size]
    return order
