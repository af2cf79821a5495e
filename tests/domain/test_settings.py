"""Innstillinger rows into Settings: «Stengte dager» (company closed days) with its default."""

from __future__ import annotations

from typing import Any

import pytest

from samtale_automation.domain.master import parse_settings
from samtale_automation.domain.model import DEFAULT_CLOSED_DAYS, ClosedDay, Settings
from samtale_automation.domain.rows import RawRow, RawTable
from samtale_automation.domain.schema import SETTING_BY_FIELD, SETTINGS
from samtale_automation.errors import Problem

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

CLOSED = SETTING_BY_FIELD["closed_days"].key


def _settings(rows: dict[str, Any]) -> tuple[Settings, list[Problem]]:
    table = RawTable(SETTINGS, SETTINGS.name, {"key": 0, "value": 1, "explanation": 2}, 1,
                     [RawRow(n, {"key": key, "value": value}) for n, (key, value) in enumerate(rows.items(), 2)])
    problems: list[Problem] = []
    return parse_settings(table, problems), problems


def test_closed_days_setting_is_named_as_in_the_sheet() -> None:
    """Verify the new row is «Stengte dager» with 24 and 31 December as its default."""
    assert CLOSED == "Stengte dager"
    assert SETTING_BY_FIELD["closed_days"].default == "24.12, 31.12"
    assert (ClosedDay(12, 24), ClosedDay(12, 31)) == DEFAULT_CLOSED_DAYS


def test_workbook_without_the_row_keeps_the_default() -> None:
    """Verify an existing workbook without «Stengte dager» still parses, closed on 24 and 31 December."""
    settings, problems = _settings({"Varighet (minutter)": 60})
    assert problems == []
    assert settings.closed_days == DEFAULT_CLOSED_DAYS and settings.duration_minutes == 60


def test_blank_value_gives_the_default_and_ingen_gives_none() -> None:
    """Verify a blank «Stengte dager» means the default and «ingen» means no closed days at all."""
    assert _settings({CLOSED: None})[0].closed_days == DEFAULT_CLOSED_DAYS
    assert _settings({CLOSED: "ingen"})[0].closed_days == ()


def test_closed_days_are_read_from_the_row() -> None:
    """Verify the row's days replace the default."""
    settings, problems = _settings({CLOSED: "24.12, 31.12, 02.01.2027"})
    assert problems == []
    assert settings.closed_days == (ClosedDay(12, 24), ClosedDay(12, 31), ClosedDay(1, 2, 2027))


def test_unreadable_closed_days_are_a_problem_at_the_value_cell() -> None:
    """Verify a bad day is reported at the Verdi cell and the default stays."""
    settings, problems = _settings({CLOSED: "julaften"})
    assert [p.where for p in problems] == ["Innstillinger!B2"]
    assert "Stengte dager: «julaften» er ikke en dag (skriv dd.mm eller dd.mm.åååå)" in problems[0].message
    assert settings.closed_days == DEFAULT_CLOSED_DAYS
