"""Every sheet of the master prints on A4, one page wide, with its header row on every page (DESIGN.md §4).

Set by the openpyxl writer on every write (workbook/apply.py) and when a new master is built
(workbook/build.py), so a master made by an earlier version gets it on its next write and a
person's own change of margins or orientation is only overwritten where it would not print on A4
one page wide. Wide sheets print landscape. A table's header row is repeated on every printed page
and frozen on screen (a pane a person set elsewhere is left alone).
"""

from __future__ import annotations

from typing import Any

from samtale_automation.domain.schema import LISTS_SHEET, OVERVIEW_SHEET, START_SHEET, TABLES
from samtale_automation.errors import WorkbookError
from samtale_automation.workbook.tables import find_table

A4 = 9  # the paper size code of A4 in SpreadsheetML
#: Wider than this (in Excel's character widths) prints landscape: about what A4 portrait holds at 100 %.
PORTRAIT_WIDTH = 95
MARGIN_INCH = 0.4  # narrow margins: more of the table on each page
HEADER_HEIGHT = 30  # points: two lines of a bold 11 pt header (as workbook/build.py makes it)


def print_setup(wb: Any) -> list[str]:
    """Set A4, one page wide, orientation, margins, repeated and frozen header rows; the sheets changed."""
    changed: list[str] = []
    header_rows = {}
    for schema in TABLES:
        try:
            view = find_table(wb, schema)
        except WorkbookError:
            continue  # a table lacking a column: check names it; the sheet still prints on A4
        if view is not None:
            header_rows[view.grid.title] = view.min_row
    ours = {*header_rows, START_SHEET, OVERVIEW_SHEET}
    for ws in wb.worksheets:
        # Only the master's own sheets: a sheet a person added keeps the print setup they gave it.
        if ws.title not in ours or ws.title == LISTS_SHEET or ws.sheet_state != "visible":
            continue
        if _set_sheet(ws, header_rows.get(ws.title)):
            changed.append(ws.title)
    return changed


def _set_sheet(ws: Any, header_row: int | None) -> bool:
    """Set one sheet's print setup; whether anything changed."""
    orientation = "landscape" if _width(ws) > PORTRAIT_WIDTH else "portrait"
    setup = ws.page_setup
    properties = ws.sheet_properties.pageSetUpPr
    before = (str(setup.paperSize), setup.orientation, setup.fitToWidth, setup.fitToHeight,
              properties.fitToPage if properties is not None else None, _titles(ws))
    setup.paperSize = A4
    setup.orientation = orientation
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    margins = ws.page_margins
    if before[0] != str(A4) or before[4] is not True:  # first setup: narrow margins (a person's own kept later)
        margins.left = margins.right = MARGIN_INCH
        margins.top = margins.bottom = MARGIN_INCH + 0.1
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
        if ws.row_dimensions[header_row].height is None:  # an earlier version's one-line header: room for two
            ws.row_dimensions[header_row].height = HEADER_HEIGHT
        if ws.freeze_panes is None:
            ws.freeze_panes = f"A{header_row + 1}"
    after = (str(setup.paperSize), setup.orientation, setup.fitToWidth, setup.fitToHeight,
             ws.sheet_properties.pageSetUpPr.fitToPage, _titles(ws))
    return before != after


def _titles(ws: Any) -> str | None:
    """The repeated rows as «1:1» (a file read back says «$1:$1»)."""
    titles = ws.print_title_rows
    return titles.replace("$", "") if titles else None


def _width(ws: Any) -> float:
    """The printed width of the used columns, in Excel's character widths (hidden columns not counted).

    A file may give one width to a range of columns (<col min max>): openpyxl keeps it under the
    first column's letter with its min and max.
    """
    last = ws.max_column or 1
    widths: dict[int, float] = {}
    for dimension in ws.column_dimensions.values():
        low, high = dimension.min or 0, dimension.max or 0
        for col in range(max(low, 1), min(high, last) + 1):
            widths[col] = 0.0 if dimension.hidden else (dimension.width or 8.43)
    return sum(widths.get(col, 8.43) for col in range(1, last + 1))
