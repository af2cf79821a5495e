"""Retention: rounds and outbox days kept `years` full years after their year, the current round never removed."""

from __future__ import annotations

from datetime import date

from samtale_automation.plans.retention import expired, plan_retention, round_year


def test_a_round_belongs_to_the_first_year_in_its_name() -> None:
    assert round_year("2027") == 2027
    assert round_year("Vår 2026") == 2026
    assert round_year("2027-2") == 2027
    assert round_year("Pilot") is None
    assert round_year("120270") is None  # digits inside a longer number are not a year


def test_kept_through_the_last_year_and_gone_the_day_after() -> None:
    assert not expired(2027, 3, date(2030, 12, 31))
    assert expired(2027, 3, date(2031, 1, 1))


def test_the_plan_removes_old_rounds_and_days_and_lists_names_without_a_year() -> None:
    plan = plan_retention({"2020", "2023", "2024", "Pilot", "2022"}, {"2022-12-31", "2024-01-02", "notes"},
                          date(2027, 1, 13), 3, "2022")
    assert plan.rounds == ("2020", "2023")  # 2022 is the current round: never removed
    assert plan.outbox_days == ("2022-12-31",)
    assert plan.unknown == ("Pilot",)
    assert plan


def test_nothing_to_remove_is_an_empty_plan() -> None:
    plan = plan_retention({"2027"}, {"2027-01-04"}, date(2027, 1, 13), 3, "2027")
    assert not plan and plan.rounds == () and plan.unknown == ()
