"""Benchmark the round planner: 1,000 conversations, 100 managers, six weeks, 30 % of everyone's time busy.

Run from the repository root: `python benchmarks/plan_bench.py [--conversations 1000] [--managers 100]
[--rooms 15] [--repeat 5]`. Setup (not timed): a company whose managers, employees and rooms each have
meetings covering about 30 % of every working day (seeded, the same every run). Timed: `plan_schedule`
(indexing the busy periods included), and in the same run a naive first-fit placement of the same input
(each conversation at the first five-minute start, day by day from the period's first, where manager,
employee and a room are free with the break and buffer — what one writes first). Prints the medians,
their ratio, what was left unplaced, and how evenly each manager's conversations are spread: the most a
manager has on one day against the ideal (their count over their working days, rounded up).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time as clock
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samtale_automation.domain.model import OSLO, Room
from samtale_automation.plans.schedule import Rules, ScheduleInput, Wanted, plan_schedule

TARGET_SECONDS = 2.0
FIRST = date(2027, 1, 18)
LAST = date(2027, 2, 26)  # six weeks, 30 working days


def busy_day(rng: random.Random, day: date, share: float) -> list[tuple[datetime, datetime]]:
    """Meetings of 30–120 minutes on the half hour until about `share` of 08:30–16:00 is taken."""
    taken: set[int] = set()
    periods = []
    while len(taken) < share * 15:
        first = rng.randrange(0, 15)
        length = rng.choice((1, 2, 2, 3, 4))
        slots = set(range(first, min(first + length, 15)))
        if slots & taken:
            continue
        taken |= slots
        start = datetime.combine(day, time(8, 30), OSLO) + timedelta(minutes=30 * first)
        periods.append((start, start + timedelta(minutes=30 * len(slots))))
    return periods


def company(conversations: int, managers: int, rooms: int, share: float) -> ScheduleInput:
    rng = random.Random(2027)
    rules = Rules(FIRST, LAST)
    days = rules.days()
    wanted = [Wanted(f"2027-{n:04}", f"E{n:04}", f"M{n % managers:03}") for n in range(conversations)]
    people = sorted({w.employee_id for w in wanted} | {w.manager_id for w in wanted})
    busy = {person: [p for day in days for p in busy_day(rng, day, share)] for person in people}
    room_list = [Room(f"Rom {n}", f"rom{n}@firma.no") for n in range(rooms)]
    room_busy = {room.key: [p for day in days for p in busy_day(rng, day, share)] for room in room_list}
    return ScheduleInput(wanted, rules, busy=busy, room_busy=room_busy, rooms=room_list)


def naive_first_fit(given: ScheduleInput) -> tuple[int, dict[str, Counter[date]]]:
    """Each conversation at the first free five-minute start, days in order; (unplaced, per manager per day)."""
    rules = given.rules
    span, pause, buffer = (timedelta(minutes=m) for m in (rules.duration, rules.break_minutes, rules.buffer_minutes))
    by_day: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
    for key, periods in [*given.busy.items(), *given.room_busy.items()]:
        for start, end in periods:
            by_day.setdefault((key, start.date()), []).append((start, end))
    booked: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
    per_day: dict[str, Counter[date]] = {}
    unplaced = 0
    for wanted in given.wanted:
        counts = per_day.setdefault(wanted.manager_id, Counter())
        placed = False
        for day in rules.days():
            if counts[day] >= rules.max_per_day:
                continue
            start = datetime.combine(day, rules.day_start, OSLO)
            last = datetime.combine(day, rules.day_end, OSLO) - span
            while start <= last and not placed:
                end = start + span
                manager_ok = all(not (s < end and e + buffer > start)
                                 for s, e in by_day.get((wanted.manager_id, day), ()))
                employee_ok = all(not (s < end and e > start)
                                  for s, e in by_day.get((wanted.employee_id, day), ()))
                people_ok = all(not (s - pause < end and e + pause > start)
                                for person in (wanted.manager_id, wanted.employee_id)
                                for s, e in booked.get((person, day), ()))
                if manager_ok and employee_ok and people_ok:
                    for room in [*(r.key for r in given.rooms)] or [None]:
                        if room is None or all(not (s < end and e > start) for s, e in [
                                *by_day.get((room, day), ()), *booked.get((room, day), ())]):
                            for key in (wanted.manager_id, wanted.employee_id, room):
                                if key is not None:
                                    booked.setdefault((key, day), []).append((start, end))
                            counts[day] += 1
                            placed = True
                            break
                start += timedelta(minutes=5)
            if placed:
                break
        unplaced += not placed
    return unplaced, per_day


def evenness(per_day: dict[str, Counter[date]], days: int) -> tuple[float, int, int]:
    """(mean of most-on-one-day minus ideal, the largest excess, managers at their ideal)."""
    excess = []
    for counts in per_day.values():
        total = sum(counts.values())
        if total:
            excess.append(max(counts.values()) - math.ceil(total / days))
    return statistics.mean(excess), max(excess), sum(1 for e in excess if e == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=15)
    parser.add_argument("--busy", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    given = company(args.conversations, args.managers, args.rooms, args.busy)
    days = len(given.rules.days())
    ours, naive = [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine
        started = clock.perf_counter()
        plan = plan_schedule(given)
        ours.append(clock.perf_counter() - started)
        started = clock.perf_counter()
        naive_unplaced, naive_days = naive_first_fit(given)
        naive.append(clock.perf_counter() - started)
    mine, theirs = statistics.median(ours), statistics.median(naive)
    per_day: dict[str, Counter[date]] = {}
    for placed in plan.placed:
        per_day.setdefault(placed.manager_id, Counter())[placed.start.date()] += 1
    spans = [(max(c) - min(c)).days for c in per_day.values()]
    print(f"{args.conversations} conversations, {args.managers} managers, {args.rooms} rooms, {days} working days, "
          f"{args.busy:.0%} busy; median of {args.repeat}")
    print(f"  planner:   {mine:.3f} s wall (target {TARGET_SECONDS} s → ratio {mine / TARGET_SECONDS:.2f}); "
          f"{len(plan.placed)} placed, {len(plan.unplaced)} unplaced {dict(Counter(u.reason for u in plan.unplaced))}")
    print(f"  naive first-fit: {theirs:.3f} s; {args.conversations - naive_unplaced} placed, {naive_unplaced} "
          f"unplaced; planner / naive = {mine / theirs:.2f}")
    for name, counts in (("planner", per_day), ("naive", naive_days)):
        mean, worst, at_ideal = evenness(counts, days)
        print(f"  spread, {name}: most on one day − ideal: mean {mean:.2f}, worst {worst}; "
              f"{at_ideal} of {len(counts)} managers at the ideal")
    print(f"  planner: a manager's first to last conversation spans {statistics.mean(spans):.1f} days on average "
          f"(period {(LAST - FIRST).days} days)")


if __name__ == "__main__":
    main()
