"""The round planner over random companies and calendars (hypothesis).

For every plan: no person or room twice at once; every break and buffer kept; nothing on a weekend,
public holiday or closed day; within the period and the hours; the daily limit kept; part-time days
and days away honoured; every conversation placed or listed once; the same plan for the same input
in any order; every unplaced conversation's reason true of the calendars (checked here by brute force
on the five-minute grid, not with the planner's own code); and `check` finds nothing to say about a
plan written into the workbook. When each conversation's free capacity is at least twice the demand
on its people, everything is placed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, ClosedDay, Conversation, Employee, Room, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook
from samtale_automation.domain.schema import CONVERSATIONS
from samtale_automation.domain.workdays import holiday_name
from samtale_automation.errors import ERROR
from samtale_automation.plans.check import check_master
from samtale_automation.plans.schedule import (
    EMPLOYEE_AWAY,
    EMPLOYEE_BUSY,
    MANAGER_AWAY,
    MANAGER_FULL,
    NO_COMMON_DAY,
    NO_COMMON_TIME,
    NO_DAYS,
    NO_ROOM,
    Booked,
    Rules,
    ScheduleInput,
    SchedulePlan,
    Wanted,
    plan_schedule,
)
from samtale_automation.plans.schedule_checks import schedule_findings

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class Conv:
    """A conversation with a time, placed or kept, as the oracles see it."""

    conversation_id: str
    employee_id: str
    manager_id: str
    start: datetime
    end: datetime
    room: str | None


def moment(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), OSLO)


@st.composite
def companies(draw: st.DrawFn, *, ample: bool = False, kept: bool = True) -> ScheduleInput:
    """A company: managers (some reporting to the first), employees, calendars, rooms, kept conversations."""
    first = date(2027, 1, 4) + timedelta(days=draw(st.integers(0, 150)))
    length = draw(st.integers(8, 25) if ample else st.integers(-1, 20))
    days = [first + timedelta(days=n) for n in range(max(length, 0) + 1)]
    closed = tuple(ClosedDay(d.month, d.day) for d in draw(st.lists(st.sampled_from(days), max_size=3))) if days else ()
    duration = draw(st.sampled_from([30, 45, 60, 75, 90]))
    rules = Rules(first, first + timedelta(days=length), draw(st.sampled_from([time(8), time(8, 30), time(9)])),
                  draw(st.sampled_from([time(15), time(16), time(17)])),
                  draw(st.none() | st.sampled_from([time(11), time(13), time(14, 30)])), duration,
                  draw(st.sampled_from([0, 5, 15, 25, 40])), draw(st.sampled_from([0, 10, 15, 30])),
                  draw(st.integers(1, 4)), closed,
                  draw(st.none() | st.sampled_from([(time(9), time(12)), (time(12), time(23, 59)),
                                                    (time(10), time(14))])))
    managers = [f"M{n}" for n in range(draw(st.integers(1, 4)))]
    pairs = [(f"E{n:02}", draw(st.sampled_from(managers))) for n in range(draw(st.integers(2, 12) if ample else
                                                                                   st.integers(0, 14)))]
    pairs += [(m, managers[0]) for m in managers[1:] if draw(st.booleans())]
    everyone = sorted({*managers, *(e for e, _ in pairs)})
    people = {}
    for person in everyone:
        part_time = draw(st.integers(0, 4)) == 0
        work_days = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4, unique=True)) if part_time else []
        away = []
        for _ in range(draw(st.sampled_from([0] if ample else [0, 0, 1, 2]))):
            start = first + timedelta(days=draw(st.integers(-3, max(length, 0))))
            away.append((start, start + timedelta(days=draw(st.integers(0, 12)))))
        people[person] = Employee(person, person, f"{person.casefold()}@firma.no", work_days=tuple(sorted(work_days)),
                                  away=tuple(away))

    def calendar(most: int) -> list[Period]:
        if draw(st.integers(0, 9)) == 0:  # busy all day, every day, but perhaps for one free hour
            gap = draw(st.none() | st.tuples(st.integers(0, max(length, 0)), st.integers(8, 15)))
            full = [(moment(day, 7 * 60), moment(day, 17 * 60)) for n, day in enumerate(days)
                    if gap is None or gap[0] != n]
            if gap and days:
                hour = gap[1] * 60
                full += [(moment(days[gap[0]], 7 * 60), moment(days[gap[0]], hour)),
                         (moment(days[gap[0]], hour + 60), moment(days[gap[0]], 17 * 60))]
            return full
        found = []
        for _ in range(draw(st.integers(0, most))):
            day = first + timedelta(days=draw(st.integers(0, max(length, 0))))
            start = draw(st.integers(7 * 4, 17 * 4)) * 15
            found.append((moment(day, start), moment(day, start + draw(st.integers(1, 16)) * 15)))
        return found

    busy = {person: calendar(3 if ample else draw(st.sampled_from([4, 8, 30]))) for person in everyone}
    rooms = [Room(f"Rom {n}", f"rom{n}@firma.no" if n % 2 else "") for n in range(draw(st.integers(0, 3)))]
    room_busy = {room.key: calendar(draw(st.sampled_from([2, 8, 30]))) for room in rooms}
    wanted = []
    for employee, manager in pairs:
        kind = "teams" if ample else draw(st.sampled_from(["any", "any", "fixed", "teams"]))
        room = draw(st.sampled_from(rooms)).key if kind == "fixed" and rooms else None
        wanted.append(Wanted(f"2027-{employee}", employee, manager, room, kind != "teams"))
    booked = []
    for n in range(draw(st.integers(0, 4)) if kept else 0):
        employee, manager = draw(st.sampled_from(everyone)), draw(st.sampled_from(managers))
        start = moment(first + timedelta(days=draw(st.integers(0, max(length, 0)))), draw(st.integers(32, 60)) * 15)
        room = draw(st.sampled_from(rooms)).key if rooms and draw(st.booleans()) else None
        booked.append(Booked(f"2026-{n}", employee, manager, start, start + timedelta(minutes=duration), room))
    return ScheduleInput(wanted, rules, booked, busy, room_busy, people, rooms)


# ---- oracles: plain datetime comparisons, nothing of the planner's --------------------------------


def all_conversations(given: ScheduleInput, plan: SchedulePlan) -> list[Conv]:
    kept = [Conv(b.conversation_id, b.employee_id, b.manager_id, b.start, b.end, b.room) for b in given.booked]
    by_id = {w.conversation_id: w for w in given.wanted}
    return kept + [Conv(p.conversation_id, by_id[p.conversation_id].employee_id, p.manager_id, p.start, p.end,
                        p.room.key if p.room else None) for p in plan.placed]


def person_free(given: ScheduleInput, convs: Sequence[Conv], person: str, start: datetime, end: datetime, *,
                manager: bool, besides: str = "") -> bool:
    """Free for a conversation [start, end): no meeting (nor its buffer, for a manager), no conversation
    within the break."""
    rules = given.rules
    buffer = timedelta(minutes=rules.buffer_minutes if manager else 0)
    pause = timedelta(minutes=rules.break_minutes)
    if any(s < end and e + buffer > start for s, e in given.busy.get(person, ())):
        return False
    return not any(c.conversation_id != besides and person in (c.employee_id, c.manager_id)
                   and c.start - pause < end and c.end + pause > start for c in convs)


def room_free(given: ScheduleInput, convs: Sequence[Conv], room: str, start: datetime, end: datetime,
              besides: str = "") -> bool:
    return not any(s < end and e > start for s, e in given.room_busy.get(room, ())) and not any(
        c.conversation_id != besides and c.room == room and c.start < end and c.end > start for c in convs)


def open_days(rules: Rules) -> list[date]:
    found = []
    for n in range((rules.last_day - rules.first_day).days + 1):
        day = rules.first_day + timedelta(days=n)
        if day.weekday() < 5 and not holiday_name(day) and not any(c.matches(day) for c in rules.closed_days):
            found.append(day)
    return found


def starts(rules: Rules, day: date) -> list[datetime]:
    """Every five-minute start on a day that keeps within the hours and the latest start."""
    first = rules.day_start.hour * 60 + rules.day_start.minute
    last = rules.day_end.hour * 60 + rules.day_end.minute - rules.duration
    if rules.latest_start:
        last = min(last, rules.latest_start.hour * 60 + rules.latest_start.minute)
    return [moment(day, minute) for minute in range(-(-first // 5) * 5, last + 1, 5)]


def at_work(given: ScheduleInput, person: str, day: date) -> bool:
    employee = given.people.get(person)
    return employee is None or employee.available(day)


def managed_that_day(convs: Sequence[Conv], manager: str, day: date) -> int:
    return sum(1 for c in convs if c.manager_id == manager and c.start.date() == day)


# ---- the properties -------------------------------------------------------------------------------


@SETTINGS
@given(companies())
def test_every_plan_keeps_every_rule(given_input: ScheduleInput) -> None:
    """Verify times, days, hours, overlaps, breaks, buffers, rooms, daily limits and availability of every placement."""
    plan = plan_schedule(given_input)
    rules = given_input.rules
    convs = all_conversations(given_input, plan)
    by_id = {w.conversation_id: w for w in given_input.wanted}
    assert sorted([*(p.conversation_id for p in plan.placed), *(u.conversation_id for u in plan.unplaced)]) == sorted(
        by_id)
    days = set(open_days(rules))
    for placed in plan.placed:
        wanted, day = by_id[placed.conversation_id], placed.start.date()
        assert day in days and placed.start.minute % 5 == 0
        assert placed.end - placed.start == timedelta(minutes=rules.duration)
        assert rules.day_start <= placed.start.time() and placed.end.time() <= rules.day_end
        assert rules.latest_start is None or placed.start.time() <= rules.latest_start
        assert at_work(given_input, wanted.employee_id, day) and at_work(given_input, wanted.manager_id, day)
        assert person_free(given_input, convs, wanted.manager_id, placed.start, placed.end, manager=True,
                           besides=placed.conversation_id)
        assert person_free(given_input, convs, wanted.employee_id, placed.start, placed.end, manager=False,
                           besides=placed.conversation_id)
        assert managed_that_day(convs, wanted.manager_id, day) <= rules.max_per_day
        if not wanted.needs_room or not given_input.rooms:
            assert placed.room is None
        else:
            assert placed.room is not None and placed.room in given_input.rooms
            assert wanted.room in (None, placed.room.key)
            assert room_free(given_input, convs, placed.room.key, placed.start, placed.end, placed.conversation_id)


@SETTINGS
@given(companies(), st.randoms(use_true_random=False))
def test_the_same_input_in_any_order_gives_the_same_plan(given_input: ScheduleInput, shuffler: random.Random) -> None:
    """Verify the plan is the same twice, and with the conversations and kept ones shuffled."""
    plan = plan_schedule(given_input)
    assert plan_schedule(given_input) == plan
    wanted, booked = list(given_input.wanted), list(given_input.booked)
    shuffler.shuffle(wanted)
    shuffler.shuffle(booked)
    assert plan_schedule(replace(given_input, wanted=wanted, booked=booked)) == plan


@SETTINGS
@given(companies())
def test_every_reason_is_true_of_the_calendars(given_input: ScheduleInput) -> None:
    """Verify each unplaced conversation's reason against the calendars as the plan left them."""
    plan = plan_schedule(given_input)
    rules = given_input.rules
    convs = all_conversations(given_input, plan)
    days = open_days(rules)
    by_id = {w.conversation_id: w for w in given_input.wanted}
    span = timedelta(minutes=rules.duration)
    for unplaced in plan.unplaced:
        wanted = by_id[unplaced.conversation_id]
        employee, manager = wanted.employee_id, wanted.manager_id
        both = [d for d in days if at_work(given_input, employee, d) and at_work(given_input, manager, d)]
        room_days = [d for d in both if managed_that_day(convs, manager, d) < rules.max_per_day]

        def manager_free(start: datetime, manager: str = manager) -> bool:
            return person_free(given_input, convs, manager, start, start + span, manager=True)

        def employee_free(start: datetime, employee: str = employee) -> bool:
            return person_free(given_input, convs, employee, start, start + span, manager=False)

        reason = unplaced.reason
        if reason == NO_DAYS:
            assert days == []
        elif reason == EMPLOYEE_AWAY:
            assert not any(at_work(given_input, employee, d) for d in days)
        elif reason == MANAGER_AWAY:
            assert not any(at_work(given_input, manager, d) for d in days)
        elif reason == NO_COMMON_DAY:
            assert both == []
        elif reason == MANAGER_FULL:
            assert not any(manager_free(s) for d in room_days for s in starts(rules, d))
        elif reason == EMPLOYEE_BUSY:
            assert not any(employee_free(s) for d in both for s in starts(rules, d))
        elif reason == NO_COMMON_TIME:
            assert not any(manager_free(s) and employee_free(s) for d in room_days for s in starts(rules, d))
        else:
            assert reason == NO_ROOM and wanted.needs_room and given_input.rooms
            rooms = [wanted.room] if wanted.room else [r.key for r in given_input.rooms]
            assert not any(manager_free(s) and employee_free(s) and room_free(given_input, convs, r, s, s + span)
                           for d in room_days for s in starts(rules, d) for r in rooms)


def capacity(given_input: ScheduleInput, wanted: Wanted) -> int:
    """Conversations that fit where manager and employee are both free, with the break between them and
    within the daily limit, on the days both work, before anything is placed (greedy, earliest first)."""
    rules = given_input.rules
    kept = all_conversations(given_input, SchedulePlan())
    span, pause = timedelta(minutes=rules.duration), timedelta(minutes=rules.break_minutes)
    total = 0
    for day in open_days(rules):
        if not (at_work(given_input, wanted.employee_id, day) and at_work(given_input, wanted.manager_id, day)):
            continue
        fitted, until = 0, None
        for start in starts(rules, day):
            if (until is None or start >= until) and person_free(
                    given_input, kept, wanted.manager_id, start, start + span, manager=True) and person_free(
                    given_input, kept, wanted.employee_id, start, start + span, manager=False):
                fitted, until = fitted + 1, start + span + pause
        total += min(fitted, rules.max_per_day - managed_that_day(kept, wanted.manager_id, day))
    return total


@SETTINGS
@given(companies(ample=True))
def test_everything_is_placed_when_capacity_is_twice_the_demand(given_input: ScheduleInput) -> None:
    """Verify nothing is left unplaced when each conversation's free capacity is at least twice the number of
    conversations that need its manager or its employee (itself included)."""
    wanted = given_input.wanted
    for item in wanted:
        demand = sum(1 for w in wanted if {w.employee_id, w.manager_id} & {item.employee_id, item.manager_id})
        if capacity(given_input, item) < 2 * demand:
            return  # not an ample company: the other tests cover it
    assert plan_schedule(given_input).unplaced == []


@SETTINGS
@given(companies(kept=False))
def test_check_finds_nothing_to_say_about_a_plan_in_the_workbook(given_input: ScheduleInput) -> None:
    """Verify `check` reports no error at all, and no warning about a placed conversation, once the plan is
    in Samtaler."""
    plan = plan_schedule(given_input)
    rules = given_input.rules
    by_id = {w.conversation_id: w for w in given_input.wanted}
    convs = [Conversation(p.conversation_id, by_id[p.conversation_id].employee_id, p.manager_id, p.start, p.end,
                          p.room.place if p.room else "Teams") for p in plan.placed]
    convs += [Conversation(u.conversation_id, by_id[u.conversation_id].employee_id, u.manager_id)
              for u in plan.unplaced]
    columns = {c.field: i for i, c in enumerate(CONVERSATIONS.columns)}
    rows = [RawRow(n, {"conversation_id": c.conversation_id, "employee_id": c.employee_id,
                       "manager_id": c.manager_id, "start": c.start, "end": c.end, "place": c.place})
            for n, c in enumerate(convs, start=2)]
    table = RawTable(CONVERSATIONS, "Samtaler", columns, 1, rows)
    raw = RawWorkbook(Path("samtaler.xlsx"), {CONVERSATIONS.table: table}, [], ["Samtaler"])
    master = Master(settings=Settings(
        round="2027", period_start=min(rules.first_day, rules.last_day), period_end=rules.last_day,
        duration_minutes=rules.duration,
        break_minutes=rules.break_minutes, buffer_minutes=rules.buffer_minutes,
        max_per_manager_per_day=rules.max_per_day, workday_start=rules.day_start, workday_end=rules.day_end,
        closed_days=rules.closed_days, latest_start=rules.latest_start, preferred_time=rules.preferred),
        employees=dict(given_input.people), conversations={c.conversation_id: c for c in convs}, raw=raw)
    assert [p.render() for p in check_master(master) if p.severity == ERROR] == []
    placed = {p.conversation_id for p in plan.placed}
    assert [f.problem.render() for f in schedule_findings(master) if placed & set(f.conversation_ids)] == []
