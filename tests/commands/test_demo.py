"""`samtale demo`'s story keeps its own clock: the dates it leaves in the workbook do not depend on the day it runs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from samtale_automation import texts
from samtale_automation.commands.demo import DEMO_PERIOD, run_demo
from samtale_automation.domain.schema import CONVERSATIONS


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """The steps and the folder of a Norwegian demo run."""
    texts.set_language("nb")
    result = run_demo(tmp_path_factory.mktemp("clock") / "demo")
    return result.steps, result.folder


def test_returned_dates_follow_the_demo_story(demo: tuple[list[str], Path]) -> None:
    """Verify «Forberedelse mottatt» and «Referat mottatt» are days of the demo's story (December before the round,
    or in it), not the day the demo was run."""
    sheet = openpyxl.load_workbook(demo[1] / "samtaler.xlsx")["Samtaler"]
    headers = [cell.value for cell in sheet[1]]
    returned = [headers.index(CONVERSATIONS.header(field)) for field in ("prep_returned", "minutes_returned")]
    days = {row[i].date() if isinstance(row[i], datetime) else row[i]
            for row in sheet.iter_rows(min_row=2, values_only=True) for i in returned if row[i]}
    assert days, "the demo returns prep files and minutes"
    assert all(date(2026, 12, 1) <= day <= DEMO_PERIOD[1] for day in days), days
    assert date(2026, 12, 1) in days  # the day the demo's people return their files


def test_collect_believes_the_saved_times_of_the_demo_files(demo: tuple[list[str], Path]) -> None:
    """Verify no collect in the demo says a file's own saved time was not believed (before the form, after arrival)."""
    steps, _ = demo
    assert [step for step in steps if "egen lagringstid" in step] == []
