"""The Oversikt sheet, written with openpyxl on every write and once by `init` (the one layout).

Values, not formulas: calamine, Excel on the web and phone previews show them at once, and
openpyxl keeps no cached formula results. The sheet is the tool's own: its cells are cleared and
written again each time (a master from an earlier version loses its old formulas here), and it
holds exactly one chart of the tool's: a stacked bar per department, one series per status,
added when missing and otherwise replaced where it stands, with its ranges fitted to the block.

Layout (1-based rows; n departments, m managers):
  1 title · 2 «Oppdatert dd.mm.åååå tt:mm» · 3 «Dager igjen av runden:» with the number in B
  5 «Per avdeling» · 6 headers · 7..6+n departments · 7+n «Totalt»
  9+n «Per leder» · 10+n headers · managers · «Totalt»
  columns: A name · B..I the eight statuses · J all conversations · K «Tiltak åpne» · L «Tiltak forfalt»
  the chart beside the blocks, from N5.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from samtale_automation.domain.master import Master
from samtale_automation.domain.overview import STATUS_CODES, Overview, OverviewLine
from samtale_automation.domain.schema import EMPLOYEES, OVERVIEW_SHEET, STATUS_LABELS
from samtale_automation.texts import short_date
from samtale_automation.workbook.opened import parse_open_workbook

#: Works out the overview from the parsed master and the time now (plans.overview.plan_overview).
OverviewPlanner = Callable[[Master, datetime], Overview]

TITLE_ROW, UPDATED_ROW, DAYS_ROW = 1, 2, 3
FIRST_BLOCK_ROW = 5
FIRST_STATUS_COL = 2
LAST_STATUS_COL = FIRST_STATUS_COL + len(STATUS_CODES) - 1  # I
CONVERSATIONS_COL, OPEN_COL, OVERDUE_COL = LAST_STATUS_COL + 1, LAST_STATUS_COL + 2, LAST_STATUS_COL + 3
CHART_ANCHOR = "N5"
CHART_WIDTH_CM = 17.0

#: Series colours by status: grey while nothing is booked, blues on the way, amber waiting, greens done, red off.
STATUS_COLOURS = {"proposed": "BFBFBF", "planned": "9DC3E6", "invited": "5B9BD5", "prepared": "2E75B6",
                  "held": "FFC000", "minutes_returned": "A9D18E", "signed": "548235", "cancelled": "C00000"}
HEADER_FILL = "DDEBF7"
OVERDUE_RED = "9C0006"


def refresh_overview(wb: Any, now: datetime, planner: OverviewPlanner) -> bool:
    """Work out the overview from the open workbook's rows and write it; True when old formulas were replaced.

    A master that lost its Oversikt sheet gets it back; a workbook with neither the sheet nor the Ansatte
    table is not a master, and is left alone.
    """
    master = parse_open_workbook(wb)
    if OVERVIEW_SHEET not in wb.sheetnames and (master.raw is None or EMPLOYEES.table not in master.raw.tables):
        return False
    return render_overview(wb, planner(master, now))


def render_overview(wb: Any, overview: Overview) -> bool:
    """Write `overview` into the Oversikt sheet (made when missing); True when old formulas were replaced."""
    ws = wb[OVERVIEW_SHEET] if OVERVIEW_SHEET in wb.sheetnames else wb.create_sheet(
        OVERVIEW_SHEET, index=min(1, len(wb.sheetnames)))
    had_formulas = _clear(ws)
    en = overview.language == "en"

    def t(nb: str, english: str) -> str:
        return english if en else nb

    title = t("Oversikt", "Overview")
    if overview.round:
        title += t(f" – samtalerunde {overview.round}", f" – round {overview.round}")
    _text(ws, TITLE_ROW, 1, title, bold=True, size=16)
    stamp = overview.updated
    _text(ws, UPDATED_ROW, 1, t("Oppdatert ", "Updated ") + short_date(stamp.date(), overview.language)
          + f" {stamp.hour:02d}:{stamp.minute:02d}")
    _text(ws, DAYS_ROW, 1, t("Dager igjen av runden:", "Days left in the round:"))
    ws.cell(DAYS_ROW, 2).value = overview.days_left

    headers = (*STATUS_LABELS.values(), t("Samtaler i alt", "All conversations"), t("Tiltak åpne", "Actions open"),
               t("Tiltak forfalt", "Actions overdue"))
    department_header = FIRST_BLOCK_ROW + 1
    department_total = _block(ws, FIRST_BLOCK_ROW, t("Per avdeling", "By department"), t("Avdeling", "Department"),
                              headers, overview.departments, overview.total)
    _block(ws, department_total + 2, t("Per leder", "By manager"), t("Leder", "Manager"), headers,
           overview.managers, overview.total)
    _widths(ws, overview)
    _page_setup(ws)
    first = department_header + 1
    last = department_total - 1 if overview.departments else department_total  # no department yet: the total
    _keep_one_chart(ws, _chart(ws, department_header, first, last, t("Samtaler per avdeling og status",
                                                                      "Conversations by department and status")))
    return had_formulas


def _clear(ws: Any) -> bool:
    """Empty the sheet's cells (values, formulas, styles, merges, row heights); True when a formula was there."""
    had_formulas = any(cell.data_type == "f" for row in ws.iter_rows() for cell in row)
    for merged in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(merged))
    if ws.max_row:
        ws.delete_rows(1, ws.max_row)
    for key in list(ws.row_dimensions):
        del ws.row_dimensions[key]
    return had_formulas


def _text(ws: Any, row: int, col: int, value: str, *, bold: bool = False, size: float | None = None) -> Any:
    """Write text as text (a name starting with «=» is never a formula)."""
    from openpyxl.styles import Font

    cell = ws.cell(row, col)
    cell.value = value
    cell.data_type = "s"
    if bold or size:
        cell.font = Font(bold=bold, size=size)
    return cell


def _block(ws: Any, row: int, title: str, first_header: str, headers: tuple[str, ...],
           lines: tuple[OverviewLine, ...], total: OverviewLine) -> int:
    """Write a block (title, header row, one row per line, the total); return the total's row."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    _text(ws, row, 1, title, bold=True, size=12)
    header_row = row + 1
    fill = PatternFill("solid", fgColor=HEADER_FILL)
    bottom = Border(bottom=Side(style="thin"))
    for col, text in enumerate((first_header, *headers), start=1):
        cell = _text(ws, header_row, col, text, bold=True)
        cell.fill, cell.border = fill, bottom
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="left" if col == 1 else "center")
    ws.row_dimensions[header_row].height = 62  # four lines for «Tidspunkt passert – venter på referat»
    for offset, line in enumerate((*lines, total), start=1):
        at = header_row + offset
        _text(ws, at, 1, line.name)
        values = (*line.statuses, line.conversations, line.actions_open, line.actions_overdue)
        for col, value in enumerate(values, start=FIRST_STATUS_COL):
            ws.cell(at, col).value = value
        if line.actions_overdue:
            ws.cell(at, OVERDUE_COL).font = Font(bold=True, color=OVERDUE_RED)
    total_row = header_row + len(lines) + 1
    top = Border(top=Side(style="thin"))
    for col in range(1, OVERDUE_COL + 1):
        cell = ws.cell(total_row, col)
        cell.font = Font(bold=True, color=OVERDUE_RED if col == OVERDUE_COL and total.actions_overdue else None)
        cell.border = top
    return total_row


def _widths(ws: Any, overview: Overview) -> None:
    from openpyxl.utils import get_column_letter

    names = [line.name for line in (*overview.departments, *overview.managers)]
    ws.column_dimensions["A"].width = max(24, min(40, max((len(n) for n in names), default=0) + 2))
    for col in range(FIRST_STATUS_COL, OVERDUE_COL + 1):
        ws.column_dimensions[get_column_letter(col)].width = 13 if col <= LAST_STATUS_COL else 12


def _page_setup(ws: Any) -> None:
    """Landscape A4, the width on one page (for people who print it)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _chart(ws: Any, header_row: int, first: int, last: int, title: str) -> Any:
    """Stacked bars, one per department (first on top), one series per status column."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.data_source import AxDataSource, StrRef

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 60
    chart.title = title
    chart.legend.position = "b"
    chart.add_data(Reference(ws, min_col=FIRST_STATUS_COL, max_col=LAST_STATUS_COL, min_row=header_row,
                             max_row=last), titles_from_data=True)
    categories = Reference(ws, min_col=1, min_row=first, max_row=last)
    for series, code in zip(chart.series, STATUS_CODES, strict=True):
        series.cat = AxDataSource(strRef=StrRef(f=str(categories)))
        series.graphicalProperties.solidFill = STATUS_COLOURS[code]
        series.graphicalProperties.line.noFill = True
    chart.x_axis.scaling.orientation = "maxMin"  # the departments in the table's order, top down
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorGridlines = None
    chart.y_axis.number_format = "0"
    chart.width = CHART_WIDTH_CM
    chart.height = max(7.5, 4.5 + 0.9 * (last - first + 1))
    return chart


def is_overview_chart(chart: Any, sheet: str = OVERVIEW_SHEET) -> bool:
    """Whether a chart is the tool's: its series take their values from the Oversikt sheet."""
    for series in getattr(chart, "series", None) or ():
        ref = series.val.numRef if series.val is not None else None
        formula = (ref.f or "") if ref is not None else ""
        if "!" in formula and formula.rsplit("!", 1)[0].strip("'").replace("''", "'") == sheet:
            return True
    return False


def _keep_one_chart(ws: Any, chart: Any) -> None:
    """Put the chart in place of the tool's existing one (where a person moved it), else add it; never a second."""
    from openpyxl.drawing.spreadsheet_drawing import OneCellAnchor
    from openpyxl.drawing.xdr import XDRPositiveSize2D
    from openpyxl.utils.units import cm_to_EMU

    ours = [index for index, existing in enumerate(ws._charts) if is_overview_chart(existing, ws.title)]
    if not ours:
        ws.add_chart(chart, CHART_ANCHOR)
        return
    old = ws._charts[ours[0]]
    marker = getattr(old.anchor, "_from", None)
    if marker is not None:
        chart.anchor = OneCellAnchor(_from=marker, ext=XDRPositiveSize2D(cm_to_EMU(chart.width),
                                                                         cm_to_EMU(chart.height)))
    else:
        chart.anchor = CHART_ANCHOR
    ws._charts[ours[0]] = chart
