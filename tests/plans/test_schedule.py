"""The round planner by example: spread, blocks, breaks and buffers, days off, rooms, kept times, reasons."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from samtale_automation.domain.model import OSLO, ClosedDay, Employee, Room, Settings
from samtale_automation.plans.schedule import (
    EMPLOYEE_AWAY,
    EMPLOYEE_BUSY,
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
from samtale_automation.plans.slots import first_free_start

MONDAY = date(2027, 1, 11)
TWO_WEEKS = Rules(MONDAY, MONDAY + timedelta(days=11))  # 10 working days; 75 min, 15 break, 15 buffer, 3 a day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), OSLO)


def wanted(manager: str, count: int, first: int = 1) -> list[Wanted]:
    return [Wanted(f"2027-{manager}{n:02}", f"{manager}{n:02}", manager) for n in range(first, first + count)]


def plan(items: list[Wanted], rules: Rules = TWO_WEEKS, **given: object) -> SchedulePlan:
    return plan_schedule(ScheduleInput(items, rules, **given))  # type: ignore[arg-type]


def test_a_managers_conversations_are_spread_over_the_period_not_packed_first() -> None:
    """Verify ten conversations over ten working days land one a day, at the start of each day."""
    result = plan(wanted("A", 10))
    assert result.unplaced == []
    days = Counter(p.start.date() for p in result.placed)
    assert len(days) == 10 and max(days.values()) == 1
    assert {p.start.time() for p in result.placed} == {time(8, 30)}
    assert all(p.end - p.start == timedelta(minutes=75) for p in result.placed)


def test_five_over_ten_days_take_every_other_day() -> None:
    """Verify the i-th of n aims at the middle of the i-th n-th of the period: every other working day."""
    result = plan(wanted("A", 5))
    assert [p.start.date() for p in result.placed] == [date(2027, 1, 12), date(2027, 1, 14), date(2027, 1, 18),
                                                       date(2027, 1, 20), date(2027, 1, 22)]


def test_managers_are_staggered_so_not_everyone_aims_at_the_same_days() -> None:
    """Verify two managers' two conversations each over ten days take four different days, not the same two."""
    result = plan(wanted("A", 2) + wanted("B", 2))
    assert len({p.start.date() for p in result.placed}) == 4


def test_more_than_the_days_hold_come_in_blocks_with_the_break_between() -> None:
    """Verify six conversations over two days are two blocks of three, 15 minutes apart, never four a day."""
    result = plan(wanted("A", 6), replace(TWO_WEEKS, last_day=MONDAY + timedelta(days=1)))
    by_day: dict[date, list[datetime]] = {}
    for placed in result.placed:
        by_day.setdefault(placed.start.date(), []).append(placed.start)
    assert sorted(len(starts) for starts in by_day.values()) == [3, 3]
    for starts in by_day.values():
        assert sorted(s.time() for s in starts) == [time(8, 30), time(10, 0), time(11, 30)]


def test_the_daily_limit_leaves_the_rest_unplaced_with_the_reason() -> None:
    """Verify a seventh conversation over two days of three is left without a time: the manager is full."""
    result = plan(wanted("A", 7), replace(TWO_WEEKS, last_day=MONDAY + timedelta(days=1)))
    assert len(result.placed) == 6
    assert [(u.conversation_id, u.reason) for u in result.unplaced] == [("2027-A07", MANAGER_FULL)]


def test_a_buffer_after_the_managers_other_meeting_and_none_for_the_employee() -> None:
    """Verify the manager gets «Buffer» minutes after a meeting; the employee's own meeting only must not overlap."""
    rules = replace(TWO_WEEKS, last_day=MONDAY)
    result = plan(wanted("A", 1), rules, busy={"A": [(at(MONDAY, 8, 0), at(MONDAY, 9, 0))]})
    assert result.placed[0].start == at(MONDAY, 9, 15)
    result = plan(wanted("A", 1), rules, busy={"A01": [(at(MONDAY, 8, 0), at(MONDAY, 9, 0))]})
    assert result.placed[0].start == at(MONDAY, 9, 0)


def test_busy_times_in_utc_and_odd_minutes_give_starts_on_the_five_minute_grid() -> None:
    """Verify a meeting ending 09:07 Oslo time (given in UTC) gives a start at 09:25, not 09:22."""
    ends = at(MONDAY, 9, 7).astimezone(UTC)
    result = plan(wanted("A", 1), replace(TWO_WEEKS, last_day=MONDAY), busy={"A": [(ends - timedelta(hours=1), ends)]})
    assert result.placed[0].start == at(MONDAY, 9, 25)


def test_weekends_public_holidays_and_closed_days_are_never_used() -> None:
    """Verify Easter 2027 (25, 26 and 29 March) and a company closed day (24 March) are skipped."""
    rules = Rules(date(2027, 3, 22), date(2027, 3, 31), closed_days=(ClosedDay(3, 24),))
    result = plan(wanted("A", 8), rules)
    used = {p.start.date() for p in result.placed}
    assert used <= {date(2027, 3, 22), date(2027, 3, 23), date(2027, 3, 30), date(2027, 3, 31)}
    assert len(result.placed) == 8 and max(Counter(p.start.date() for p in result.placed).values()) == 2


def test_the_first_day_waits_for_the_prep_deadline_and_the_first_reminder() -> None:
    """Verify today + «Frist forberedelse» (3) + the first reminder (7) is the earliest day, and never today."""
    settings = Settings(period_start=date(2027, 1, 4), period_end=date(2027, 2, 26))
    rules = Rules.from_settings(settings, date(2027, 1, 6))
    assert rules is not None and rules.first_day == date(2027, 1, 16)
    assert rules.days()[0] == date(2027, 1, 18)  # the 16th is a Saturday
    no_lead = replace(settings, prep_deadline_days=0, reminder_days=())
    assert Rules.from_settings(no_lead, date(2027, 1, 6)).first_day == date(2027, 1, 7)  # type: ignore[union-attr]
    assert Rules.from_settings(Settings(), date(2027, 1, 6)) is None  # no period: nothing to plan in


def test_no_day_left_in_the_period() -> None:
    """Verify a period that has passed gives every conversation the reason «no day»."""
    result = plan(wanted("A", 2), Rules(MONDAY, MONDAY - timedelta(days=1)))
    assert [u.reason for u in result.unplaced] == [NO_DAYS, NO_DAYS]


def test_part_time_and_away_are_honoured_for_employee_and_manager() -> None:
    """Verify a Monday–Wednesday employee, one away a week and a manager away on Mondays."""
    people = {"A01": Employee("A01", "Deltid", "d@x.no", work_days=(0, 1, 2)),
              "A02": Employee("A02", "Borte", "b@x.no", away=((MONDAY, MONDAY + timedelta(days=6)),)),
              "A03": Employee("A03", "Alltid borte", "a@x.no", away=((MONDAY, MONDAY + timedelta(days=30)),)),
              "A": Employee("A", "Leder", "l@x.no", work_days=(1, 2, 3, 4))}
    result = plan(wanted("A", 3), people=people)
    placed = {p.conversation_id: p.start.date() for p in result.placed}
    assert placed["2027-A01"].weekday() in (1, 2)
    assert placed["2027-A02"] >= MONDAY + timedelta(days=7) and placed["2027-A02"].weekday() != 0
    assert [(u.conversation_id, u.reason) for u in result.unplaced] == [("2027-A03", EMPLOYEE_AWAY)]
    only_mondays = {**people, "A01": replace(people["A01"], work_days=(0,))}
    assert plan(wanted("A", 1), people=only_mondays).unplaced[0].reason == NO_COMMON_DAY


def test_rooms_are_shared_never_double_booked_and_the_block_wins_over_the_room() -> None:
    """Verify two managers at once get two rooms, a room's own booking is kept clear, and a manager's second
    conversation follows the first (in another room) rather than keep the room and lose the block."""
    rooms = [Room("Fjorden", "fjorden@x.no"), Room("Breen")]
    rules = replace(TWO_WEEKS, last_day=MONDAY)
    result = plan(wanted("A", 2) + wanted("B", 2), rules, rooms=rooms,
                  room_busy={"fjorden@x.no": [(at(MONDAY, 11, 0), at(MONDAY, 12, 0))]})
    assert result.unplaced == []
    assert [(p.conversation_id, p.start.time(), p.room.name if p.room else "") for p in result.placed] == [
        ("2027-A01", time(8, 30), "Fjorden"), ("2027-A02", time(10, 0), "Breen"),  # Fjorden is booked at 11
        ("2027-B01", time(8, 30), "Breen"), ("2027-B02", time(11, 15), "Breen")]  # the first room free again


def test_a_manager_keeps_the_room_of_the_day_when_it_is_free() -> None:
    """Verify a manager's next conversation that day goes in the room they already have, not the first listed."""
    rooms = [Room("Fjorden"), Room("Breen")]
    rules = replace(TWO_WEEKS, last_day=MONDAY)
    kept = Booked("2027-A09", "A09", "A", at(MONDAY, 8, 30), at(MONDAY, 9, 45), Room("Breen").key)
    result = plan(wanted("A", 1), rules, rooms=rooms, booked=[kept])
    assert [(p.start.time(), p.room.name if p.room else "") for p in result.placed] == [(time(10, 0), "Breen")]


def test_no_room_free_is_the_reason_when_both_people_are_free() -> None:
    """Verify a conversation whose only room is booked all day is left without a time, naming the room."""
    rules = replace(TWO_WEEKS, last_day=MONDAY)
    result = plan(wanted("A", 1), rules, rooms=[Room("Fjorden", "fjorden@x.no")],
                  room_busy={"fjorden@x.no": [(at(MONDAY, 7), at(MONDAY, 17))]})
    assert [u.reason for u in result.unplaced] == [NO_ROOM]
    teams = [replace(w, needs_room=False) for w in wanted("A", 1)]
    assert plan(teams, rules, rooms=[Room("Fjorden", "fjorden@x.no")],
                room_busy={"fjorden@x.no": [(at(MONDAY, 7), at(MONDAY, 17))]}).placed[0].room is None


def test_kept_conversations_are_busy_and_count_toward_the_daily_limit() -> None:
    """Verify a kept conversation blocks its people and room with the break, and fills the manager's day."""
    rules = replace(TWO_WEEKS, last_day=MONDAY, max_per_day=2)
    kept = Booked("2027-A09", "A09", "A", at(MONDAY, 8, 30), at(MONDAY, 9, 45), "fjorden@x.no")
    result = plan(wanted("A", 2), rules, booked=[kept], rooms=[Room("Fjorden", "fjorden@x.no")])
    assert [p.start.time() for p in result.placed] == [time(10, 0)]
    assert [u.reason for u in result.unplaced] == [MANAGER_FULL]


def test_employee_busy_and_no_common_time_are_told_apart() -> None:
    """Verify an employee busy all day and a pair whose free hours never meet get their own reasons."""
    rules = replace(TWO_WEEKS, last_day=MONDAY)
    assert plan(wanted("A", 1), rules, busy={"A01": [(at(MONDAY, 8), at(MONDAY, 16))]}).unplaced[0].reason == (
        EMPLOYEE_BUSY)
    apart = {"A": [(at(MONDAY, 12), at(MONDAY, 16))], "A01": [(at(MONDAY, 8), at(MONDAY, 12))]}
    assert plan(wanted("A", 1), rules, busy=apart).unplaced[0].reason == NO_COMMON_TIME


def test_preferred_time_and_latest_start() -> None:
    """Verify «Foretrukket tid» afternoon puts a lone conversation at 12.00, and «Seneste starttid» caps starts."""
    rules = replace(TWO_WEEKS, last_day=MONDAY, preferred=(time(12), time(23, 59)))
    assert plan(wanted("A", 1), rules).placed[0].start.time() == time(12, 0)
    capped = replace(TWO_WEEKS, last_day=MONDAY, latest_start=time(9, 0))
    result = plan(wanted("A", 2), capped)
    assert [p.start.time() for p in result.placed] == [time(8, 30)]
    assert result.unplaced[0].reason == MANAGER_FULL


def test_the_same_input_gives_the_same_plan_whatever_its_order() -> None:
    """Verify the plan does not depend on the order the conversations and kept ones come in."""
    items = wanted("A", 7) + wanted("B", 5)
    busy = {"A": [(at(MONDAY, 9), at(MONDAY, 11))], "B03": [(at(MONDAY, 8), at(MONDAY, 16))]}
    rooms = [Room("Fjorden"), Room("Breen")]
    assert plan(items, busy=busy, rooms=rooms) == plan(list(reversed(items)), busy=busy, rooms=rooms)


def test_first_free_start_for_a_follow_up() -> None:
    """Verify the follow-up helper finds the first half hour both are free, or None."""
    day = MONDAY
    owner = [(at(day, 8, 30), at(day, 10, 0))]
    other = [(at(day, 10, 0), at(day, 10, 40))]
    assert first_free_start(day, [owner, other], time(8, 30), time(16), 30) == at(day, 10, 40)
    assert first_free_start(day, [[(at(day, 8), at(day, 16))]], time(8, 30), time(16), 30) is None
