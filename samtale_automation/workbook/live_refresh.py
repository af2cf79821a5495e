"""The «Oppdater oversikt» button inside Excel: Status, names and the Oversikt sheet's numbers, live.

The file applier renders Oversikt with openpyxl on every write (workbook/overview.py: values,
styles, one chart). In the open book the same numbers are written into the same cells
(`overview_cells`, checked against the file rendering by a test); the styles and the chart the
file write made stay where they are, so a department added since then shows in the numbers at
once and in the chart's range after the next write of the file (the nightly run or any command
line write).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from samtale_automation.domain.overview import Overview, OverviewLine
from samtale_automation.domain.schema import OVERVIEW_SHEET, STATUS_LABELS, Kind
from samtale_automation.texts import short_date
from samtale_automation.workbook import rules
from samtale_automation.workbook.live import LiveTables, read_live, write_live
from samtale_automation.workbook.overview import (
    DAYS_ROW,
    FIRST_BLOCK_ROW,
    FIRST_STATUS_COL,
    OVERDUE_COL,
    TITLE_ROW,
    UPDATED_ROW,
    OverviewPlanner,
)


@dataclass
class LiveRefresh:
    """What a live refresh changed in the open book (not yet saved)."""

    statuses: int = 0
    names: int = 0
    overview: bool = False  # the Oversikt sheet's numbers were written


def overview_cells(overview: Overview) -> dict[tuple[int, int], Any]:
    """Every value the Oversikt layout holds, by (row, column): the cells workbook/overview.py writes."""
    en = overview.language == "en"

    def t(nb: str, english: str) -> str:
        return english if en else nb

    title = t("Oversikt", "Overview")
    if overview.round:
        title += t(f" – samtalerunde {overview.round}", f" – round {overview.round}")
    stamp = overview.updated
    cells: dict[tuple[int, int], Any] = {
        (TITLE_ROW, 1): title,
        (UPDATED_ROW, 1): t("Oppdatert ", "Updated ") + short_date(stamp.date(), overview.language)
        + f" {stamp.hour:02d}:{stamp.minute:02d}",
        (DAYS_ROW, 1): t("Dager igjen av runden:", "Days left in the round:"),
        (DAYS_ROW, 2): overview.days_left,
    }
    headers = (*STATUS_LABELS.values(), t("Samtaler i alt", "All conversations"), t("Tiltak åpne", "Actions open"),
               t("Tiltak forfalt", "Actions overdue"))
    total_row = _block(cells, FIRST_BLOCK_ROW, t("Per avdeling", "By department"), t("Avdeling", "Department"),
                       headers, overview.departments, overview.total)
    _block(cells, total_row + 2, t("Per leder", "By manager"), t("Leder", "Manager"), headers,
           overview.managers, overview.total)
    return cells


def _block(cells: dict[tuple[int, int], Any], row: int, title: str, first_header: str, headers: tuple[str, ...],
           lines: tuple[OverviewLine, ...], total: OverviewLine) -> int:
    cells[(row, 1)] = title
    for col, text in enumerate((first_header, *headers), start=1):
        cells[(row + 1, col)] = text
    for offset, line in enumerate((*lines, total), start=2):
        cells[(row + offset, 1)] = line.name
        values = (*line.statuses, line.conversations, line.actions_open, line.actions_overdue)
        for col, value in enumerate(values, start=FIRST_STATUS_COL):
            cells[(row + offset, col)] = value
    return row + len(lines) + 2


def write_overview_live(book: Any, overview: Overview) -> bool:
    """Write the overview's values into the open book's Oversikt sheet; False when the book has none."""
    sheet = next((s for s in book.sheets if s.name == OVERVIEW_SHEET), None)
    if sheet is None:
        return False
    wanted = overview_cells(overview)
    used = sheet.used_range
    old = used.options(ndim=2).value
    for r, values in enumerate(old, start=used.row):
        for c, value in enumerate(values, start=used.column):
            if c <= OVERDUE_COL and value is not None and (r, c) not in wanted:
                sheet.range((r, c)).value = None  # a line of a department or manager that is gone
    for (r, c), value in wanted.items():
        write_live(sheet.range((r, c)), value, Kind.TEXT)
    return True


def refresh_live(book: Any, now: datetime, planner: OverviewPlanner) -> LiveRefresh:
    """Bring Status, the names and the Oversikt numbers of the open book up to date (nothing is saved)."""
    from samtale_automation.domain.master import parse_master

    tables = LiveTables(book)
    done = LiveRefresh(rules.refresh_statuses(tables, now), rules.refresh_names(tables))
    done.overview = write_overview_live(book, planner(parse_master(read_live(book)), now))
    return done
