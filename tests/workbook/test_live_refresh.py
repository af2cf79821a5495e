"""The live refresh (workbook/live_refresh.py): the Oversikt numbers written into the open book.

The cells must be the ones the file rendering (workbook/overview.py) writes, so the two paths
show one layout: compared cell by cell on a workbook with departments, managers and actions.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlwings_standin as xs

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.overview import plan_overview
from samtale_automation.workbook.live_refresh import overview_cells, refresh_live
from samtale_automation.workbook.opened import parse_open_workbook
from samtale_automation.workbook.overview import OVERDUE_COL

pytestmark = pytest.mark.usefixtures("nb_messages")

TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


@pytest.fixture
def master(tmp_path: Path) -> Path:
    """A master with two departments, two managers, conversations and one overdue action."""
    root = tmp_path / "f"
    init_folder(root)
    cs = ChangeSet("HR")
    for employee_id, manager, department in (("1001", "1003", "Salg"), ("1002", "1003", "Salg"),
                                             ("1003", "", "Ledelse"), ("1004", "1003", "Lager")):
        cs.upsert("Ansatte", employee_id, name=f"Person {employee_id}", email=f"{employee_id}@firma.no",
                  manager_id=manager, active="Ja", department=department)
    cs.upsert("Innstillinger", "Runde", force=True, value="2027")
    for employee_id in ("1001", "1002", "1004"):
        cs.upsert("Samtaler", f"2027-{employee_id}", employee_id=employee_id, manager_id="1003")
    cs.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001", description="Kurs",
              deadline=date(2026, 12, 1))
    Workspace.open(root, TODAY).commit(cs)
    return root / "samtaler.xlsx"


def test_overview_cells_are_the_file_renderings_cells(master: Path) -> None:
    """Verify every value overview_cells gives is in the same cell of the openpyxl rendering, and no other."""
    wb = openpyxl.load_workbook(master)
    overview = plan_overview(parse_open_workbook(wb), TODAY)
    ws = wb["Oversikt"]
    rendered = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                if c.value is not None and c.column <= OVERDUE_COL}
    cells = {k: v for k, v in overview_cells(overview).items() if v is not None}
    assert cells == rendered


def test_refresh_live_writes_the_numbers_and_clears_old_lines(master: Path) -> None:
    """Verify refresh_live writes the same numbers into the open book and empties a line that is gone."""
    book = xs.Book.from_file(master)
    sheet = book.sheets["Oversikt"]
    sheet.cell(40, 1).value = "Avdeling som er borte"
    done = refresh_live(book, TODAY, plan_overview)
    assert done.overview
    wb = openpyxl.load_workbook(master)
    expected = overview_cells(plan_overview(parse_open_workbook(wb), TODAY))
    for (row, col), value in expected.items():
        assert sheet.cell(row, col).value == (float(value) if isinstance(value, int) else value), (row, col)
    assert sheet.cell(40, 1).value is None
