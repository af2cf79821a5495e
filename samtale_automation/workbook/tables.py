"""The master's Excel tables, addressed by header and ID, over either applier's cell access.

The file applier (apply.py, openpyxl) and the live applier (live.py, xlwings inside Excel) differ
only in how they touch cells: each gives a `Grid` per Excel table and a `Tables` that finds them.
`TableView` (header mapping, rows by ID, growing a table, adding a tool column) is here once, and
so is the openpyxl Grid; the rules for applying ChangeSets are in rules.py (DESIGN.md §4, §6).

Text is always written as text, holding only what XML can (`domain.cells.xml_safe_text`).
A tool column a workbook made by an earlier version lacks (Logg's hidden «Endringssett») is
added to the table on the next write, right of its last column, when those cells are empty.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from samtale_automation.domain.cells import as_id, xml_safe_text
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import map_headers
from samtale_automation.domain.schema import LOG, Column, Kind, Sheet
from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr

DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"


class Grid(Protocol):
    """Cell access to one Excel table (ListObject) on its sheet; rows and columns are 1-based sheet numbers."""

    @property
    def title(self) -> str:
        """The sheet's name."""

    def bounds(self) -> tuple[int, int, int, int]:
        """The table's range, header row included: first column, first row, last column, last row."""

    def get(self, row: int, col: int) -> Any:
        """One cell's value (None when empty)."""

    def put(self, row: int, col: int, value: Any, kind: Kind) -> None:
        """Write one value: text always as text (never a formula), dates as dates with a date format."""

    def grow(self, last_row: int) -> None:
        """Make the table reach down to `last_row` (its new rows formatted like the table's own)."""

    def add_column(self, col: int, column: Column) -> bool:
        """Widen the table to sheet column `col` headed `column.header`; False when those cells hold data."""


class TableView:
    """One Excel table, addressed by header and ID, over either applier's Grid."""

    def __init__(self, grid: Grid, schema: Sheet) -> None:
        self.grid, self.schema = grid, schema
        self.min_col, self.min_row, self.max_col, self.max_row = grid.bounds()
        headers = [grid.get(self.min_row, col) for col in range(self.min_col, self.max_col + 1)]
        # map_headers counts columns from the `start_col` given: 1-based sheet columns here
        self.columns: dict[str, int] = map_headers(schema, headers, self.min_col)
        missing = [c.header for c in schema.columns if c.required and c.field not in self.columns]
        if missing:
            raise WorkbookError(
                tr(f"Tabellen {schema.table} mangler kolonnene {', '.join(missing)}.",
                   f"Table {schema.table} lacks the columns {', '.join(missing)}."),
                hint=tr("Kjør «samtale check» for detaljer.", "Run «samtale check» for details."),
            )
        self.rows: dict[str, int] = {}
        if schema.key:
            key_col = self.columns[schema.key]
            for row in range(self.min_row + 1, self.max_row + 1):
                key = as_id(grid.get(row, key_col))
                if key and key not in self.rows:
                    self.rows[key] = row

    @property
    def title(self) -> str:
        """The sheet's name."""
        return self.grid.title

    def value(self, row: int, field_name: str) -> Any:
        """One field's value in a row (None when the table has no such column)."""
        col = self.columns.get(field_name)
        return self.grid.get(row, col) if col is not None else None

    def current(self, row: int) -> dict[str, Any]:
        """The row's values by field."""
        return {f: self.grid.get(row, col) for f, col in self.columns.items()}

    def write(self, row: int, values: dict[str, Any]) -> None:
        """Write field values into a row (text as text, dates with a date format); unknown fields are left out."""
        for field_name, value in values.items():
            col = self.columns.get(field_name)
            if col is not None:
                self.grid.put(row, col, value, self.schema.column(field_name).kind)

    def new_row(self) -> int:
        """Give a blank row at the end of the table, growing the table when needed."""
        last = self.max_row
        # Reuse trailing blank rows inside the table (a new table has one).
        while last > self.min_row and all(
                self.grid.get(last, c) in (None, "") for c in range(self.min_col, self.max_col + 1)):
            last -= 1
        target = last + 1
        if target > self.max_row:
            self.grid.grow(target)
            self.max_row = target
        return target

    def add_column(self, field_name: str) -> bool:
        """Add a schema column the table lacks, right of its last column; False when those cells hold data.

        For a tool column a workbook made by an earlier version does not have yet.
        """
        col = self.max_col + 1
        if not self.grid.add_column(col, self.schema.column(field_name)):
            return False
        self.max_col = col
        self.columns[field_name] = col
        return True


class Tables(Protocol):
    """Finds the schema's tables in one workbook (a file in openpyxl, or the open book in Excel)."""

    def find(self, schema: Sheet) -> TableView | None:
        """The schema's table by its name, else the first table on its sheet; None when there is none."""

    def create_log(self) -> TableView:
        """Add a Logg sheet with its table (all of LOG's columns) to a workbook that has none."""


def ensure_log(tables: Tables) -> TableView:
    """Return the Logg table with its ChangeSet marker column, creating the sheet and table when missing.

    An older Logg without the marker gets it added; where a person keeps data right of the
    table it cannot be, and `columns` then lacks `changeset` (rows are written unmarked).
    """
    view = tables.find(LOG)
    if view is None:
        return tables.create_log()
    if "changeset" not in view.columns:
        view.add_column("changeset")
    return view


# ---- openpyxl ----------------------------------------------------------------------------

def cell_value(ws: Any, row: int, col: int) -> Any:
    """One cell's value in an openpyxl worksheet, read without ws.cell(), which adds an object for every
    empty cell it is asked for (at 5,000 employees most of a write's growth)."""
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


class OpenpyxlGrid:
    """One Excel table in an openpyxl worksheet: the file applier's cell access (a Grid)."""

    def __init__(self, ws: Any, table: Any) -> None:
        self.ws, self.table = ws, table

    @property
    def title(self) -> str:
        """The sheet's name."""
        return str(self.ws.title)

    def bounds(self) -> tuple[int, int, int, int]:
        """The table's range: first column, first row, last column, last row (1-based)."""
        from openpyxl.utils.cell import range_boundaries

        min_col, min_row, max_col, max_row = range_boundaries(self.table.ref)
        return int(min_col), int(min_row), int(max_col), int(max_row)

    def get(self, row: int, col: int) -> Any:
        """One cell's value (cell_value: an empty cell is not created)."""
        return cell_value(self.ws, row, col)

    def put(self, row: int, col: int, value: Any, kind: Kind) -> None:
        """Write one value (text as text, dates with a date format)."""
        write_cell(self.ws.cell(row, col), value, kind)

    def grow(self, last_row: int) -> None:
        """Stretch the table's range (and its filter) down to `last_row`; new rows take the style above."""
        min_col, min_row, max_col, max_row = self.bounds()
        self._set_ref(min_col, min_row, max_col, last_row)
        for row in range(max_row + 1, last_row + 1):
            if row > min_row + 1:
                _copy_row_style(self.ws, row - 1, row, min_col, max_col)

    def add_column(self, col: int, column: Column) -> bool:
        """Widen the table by one column at `col` (header styled as its neighbour's, width, hidden)."""
        from copy import copy

        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.table import TableColumn

        min_col, min_row, max_col, max_row = self.bounds()
        if any(self.ws.cell(row, col).value not in (None, "") for row in range(min_row, max_row + 1)):
            return False
        header = self.ws.cell(min_row, col)
        write_cell(header, column.header, Kind.TEXT)
        neighbour = self.ws.cell(min_row, max_col)
        if neighbour.has_style:
            header._style = copy(neighbour._style)
        ids = [c.id for c in self.table.tableColumns]
        self.table.tableColumns.append(TableColumn(id=max(ids, default=0) + 1, name=column.header))
        self._set_ref(min_col, min_row, col, max_row)
        dimension = self.ws.column_dimensions[get_column_letter(col)]
        dimension.width = column.width
        dimension.hidden = column.hidden
        return True

    def _set_ref(self, min_col: int, min_row: int, max_col: int, max_row: int) -> None:
        from openpyxl.utils import get_column_letter

        ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
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


class OpenpyxlTables:
    """The schema's tables in an openpyxl workbook (a Tables)."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb

    def find(self, schema: Sheet) -> TableView | None:
        """The schema's table by its name, else the first table on its sheet."""
        for ws in self.wb.worksheets:
            if schema.table in ws.tables:
                return TableView(OpenpyxlGrid(ws, ws.tables[schema.table]), schema)
        if schema.name in self.wb.sheetnames:
            ws = self.wb[schema.name]
            for table in ws.tables.values():
                return TableView(OpenpyxlGrid(ws, table), schema)
        return None

    def create_log(self) -> TableView:
        """A new Logg sheet (named «Logg samtale» when a sheet has the name) with LOG's table."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.table import Table, TableStyleInfo

        name = LOG.name if LOG.name not in self.wb.sheetnames else f"{LOG.name} samtale"
        ws = self.wb.create_sheet(name)
        for index, column in enumerate(LOG.columns, start=1):
            write_cell(ws.cell(1, index), column.header, Kind.TEXT)
            ws.column_dimensions[get_column_letter(index)].width = column.width
            ws.column_dimensions[get_column_letter(index)].hidden = column.hidden
        ref = f"A1:{get_column_letter(len(LOG.columns))}2"
        table = Table(displayName=LOG.table, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(table)
        return TableView(OpenpyxlGrid(ws, ws.tables[LOG.table]), LOG)


def find_table(wb: Any, schema: Sheet) -> TableView | None:
    """Find a schema table in an openpyxl workbook by table name, else on its sheet."""
    return OpenpyxlTables(wb).find(schema)


def ensure_log_table(wb: Any) -> TableView:
    """The Logg table of an openpyxl workbook with its marker column (see `ensure_log`)."""
    return ensure_log(OpenpyxlTables(wb))
