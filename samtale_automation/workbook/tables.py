"""The master's Excel tables as openpyxl sees them: rows by ID, columns by header, growing tables.

Text is always written as text, holding only what XML can (`domain.cells.xml_safe_text`).
A tool column a workbook made by an earlier version lacks (Logg's hidden «Endringssett») is
added to the table on the next write, right of its last column, when those cells are empty.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from samtale_automation.domain.cells import xml_safe_text
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import normalise_header
from samtale_automation.domain.schema import LOG, Kind, Sheet
from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr

DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"


class TableView:
    """One Excel table in an openpyxl worksheet, addressed by header and ID."""

    def __init__(self, ws: Any, table: Any, schema: Sheet) -> None:
        from openpyxl.utils.cell import range_boundaries

        self.ws, self.table, self.schema = ws, table, schema
        bounds = range_boundaries(table.ref)
        self.min_col: int = bounds[0]
        self.min_row: int = bounds[1]
        self.max_col: int = bounds[2]
        self.max_row: int = bounds[3]
        wanted = {normalise_header(c.header): c.field for c in schema.columns}
        self.columns: dict[str, int] = {}
        for col in range(self.min_col, self.max_col + 1):
            field_name = wanted.get(normalise_header(ws.cell(self.min_row, col).value))
            if field_name and field_name not in self.columns:
                self.columns[field_name] = col
        missing = [c.header for c in schema.columns if c.required and c.field not in self.columns]
        if missing:
            raise WorkbookError(
                tr(f"Tabellen {schema.table} mangler kolonnene {', '.join(missing)}.",
                   f"Table {schema.table} lacks the columns {', '.join(missing)}."),
                hint=tr("Kjør «samtale check» for detaljer.", "Run «samtale check» for details."),
            )
        self.rows: dict[str, int] = {}
        if schema.key:
            from samtale_automation.domain.cells import as_id

            key_col = self.columns[schema.key]
            for row in range(self.min_row + 1, self.max_row + 1):
                key = as_id(ws.cell(row, key_col).value)
                if key and key not in self.rows:
                    self.rows[key] = row

    def current(self, row: int) -> dict[str, Any]:
        """The row's values by field."""
        return {f: self.ws.cell(row, col).value for f, col in self.columns.items()}

    def write(self, row: int, values: dict[str, Any]) -> None:
        """Write field values into a row (text as text, dates with a date format)."""
        for field_name, value in values.items():
            col = self.columns.get(field_name)
            if col is not None:
                write_cell(self.ws.cell(row, col), value, self.schema.column(field_name).kind)

    def new_row(self) -> int:
        """Give a blank row at the end of the table, growing the table when needed."""
        last = self.max_row
        # Reuse trailing blank rows inside the table (a new table has one).
        while last > self.min_row and all(
                self.ws.cell(last, c).value in (None, "") for c in range(self.min_col, self.max_col + 1)):
            last -= 1
        target: int = last + 1
        if target > self.max_row:
            self.max_row = target
            self._set_ref()
            if target > self.min_row + 1:
                _copy_row_style(self.ws, target - 1, target, self.min_col, self.max_col)
        return target

    def add_column(self, field_name: str) -> bool:
        """Add a schema column the table lacks, right of its last column; False when those cells hold data.

        For a tool column a workbook made by an earlier version does not have yet.
        """
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.table import TableColumn

        column = self.schema.column(field_name)
        col = self.max_col + 1
        if any(self.ws.cell(row, col).value not in (None, "") for row in range(self.min_row, self.max_row + 1)):
            return False
        header = self.ws.cell(self.min_row, col)
        write_cell(header, column.header, Kind.TEXT)
        neighbour = self.ws.cell(self.min_row, self.max_col)
        if neighbour.has_style:
            from copy import copy

            header._style = copy(neighbour._style)
        ids = [c.id for c in self.table.tableColumns]
        self.table.tableColumns.append(TableColumn(id=max(ids, default=0) + 1, name=column.header))
        self.max_col = col
        self.columns[field_name] = col
        self._set_ref()
        dimension = self.ws.column_dimensions[get_column_letter(col)]
        dimension.width = column.width
        dimension.hidden = column.hidden
        return True

    def _set_ref(self) -> None:
        from openpyxl.utils import get_column_letter

        ref = (f"{get_column_letter(self.min_col)}{self.min_row}:"
               f"{get_column_letter(self.max_col)}{self.max_row}")
        self.table.ref = ref
        if self.table.autoFilter is not None:
            self.table.autoFilter.ref = ref


def write_cell(cell: Any, value: Any, kind: Kind) -> None:
    """Write one value: strings stay strings even when they start with «=», and hold only what XML can."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(OSLO).replace(tzinfo=None)
        cell.value = value
        cell.number_format = DATETIME_FORMAT if kind is Kind.DATETIME else DATE_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, str):
        cell.value = xml_safe_text(value)  # a control character would make openpyxl refuse the save
        cell.data_type = "s"  # never a formula: text from data is written as text
    else:
        cell.value = value


def _copy_row_style(ws: Any, source: int, target: int, first: int, last: int) -> None:
    from copy import copy

    for col in range(first, last + 1):
        above, below = ws.cell(source, col), ws.cell(target, col)
        if above.has_style:
            below._style = copy(above._style)


def find_table(wb: Any, schema: Sheet) -> TableView | None:
    """Find a schema table in an openpyxl workbook by table name, else on its sheet."""
    for ws in wb.worksheets:
        if schema.table in ws.tables:
            return TableView(ws, ws.tables[schema.table], schema)
    if schema.name in wb.sheetnames:
        ws = wb[schema.name]
        for table in ws.tables.values():
            return TableView(ws, table, schema)
    return None


def ensure_log_table(wb: Any) -> TableView:
    """Return the Logg table with its ChangeSet marker column, creating the sheet and table when missing.

    An older Logg without the marker gets it added; where a person keeps data right of the
    table it cannot be, and `columns` then lacks `changeset` (rows are written unmarked).
    """
    view = find_table(wb, LOG)
    if view is not None:
        if "changeset" not in view.columns:
            view.add_column("changeset")
        return view
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    name = LOG.name if LOG.name not in wb.sheetnames else f"{LOG.name} samtale"
    ws = wb.create_sheet(name)
    for index, column in enumerate(LOG.columns, start=1):
        write_cell(ws.cell(1, index), column.header, Kind.TEXT)
        ws.column_dimensions[get_column_letter(index)].width = column.width
        ws.column_dimensions[get_column_letter(index)].hidden = column.hidden
    ref = f"A1:{get_column_letter(len(LOG.columns))}2"
    table = Table(displayName=LOG.table, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    return TableView(ws, ws.tables[LOG.table], LOG)
