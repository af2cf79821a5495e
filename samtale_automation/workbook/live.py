"""The live reader and applier: the workbook open in Excel, through xlwings (DESIGN.md §6, §9).

A button's Python runs while Excel holds the workbook open, so it neither reads nor writes the
file: it reads the open book's tables into the same RawWorkbook the file reader makes (one
parser for both), and applies ChangeSets into the open book with the same rules as the file
applier (rules.py over tables.TableView: merge by ID, the Logg marker, XML-safe text, set
aside). A live write is not a save: `save_live` saves through Excel, and only then do the
ChangeSets count as applied (`apply_pending_live` does all three).

What faces/excel.py calls:

    book = caller_book()                              # the workbook whose button was clicked
    master = parse_master(read_live(book))            # read
    result = apply_pending_live(book, journal, now)   # apply what is pending, save, mark applied

or, step by step, `apply_live` (writes, no save) then `save_live` (True when Excel saved) and
`journal.mark_applied(ids, outcome.written)` only after a successful save.

A ChangeSet whose data Excel refuses is set aside as the file applier does it: everything this
apply wrote into the book is rolled back cell by cell (the live counterpart of reloading the
file), the ChangeSet is set aside with a Logg notice, and the others are applied again.

Only what xlwings' own Book, Sheets, Sheet, Range, Tables and Table offer is used (no `.api`), so
the tests' in-memory stand-in is checked against those classes. xlwings is imported only in
`caller_book`; nothing else here needs it.

Text is written with a leading apostrophe, as Excel's own «store as text» mark: Excel parses a
string assigned to a cell as if typed («=...» becomes a formula, «0123» a number, «1/2» a
date), and the apostrophe stops that for any text in any cell, without changing the cell's
number format (a Text format «@» would stay behind and turn a date a person types later into
text). Excel does not keep the apostrophe in the value, so the cell reads back as the text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samtale_automation.domain.cells import xml_safe_text
from samtale_automation.domain.changeset import ChangeSet, PendingChanges
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import RawTable, RawWorkbook, find_header_row, map_headers, raw_rows
from samtale_automation.domain.schema import LOG, TABLE_BY_NAME, TABLES, Column, Kind, Sheet
from samtale_automation.errors import WorkbookLockedError
from samtale_automation.texts import tr
from samtale_automation.workbook import rules
from samtale_automation.workbook.rules import ApplyResult, ChangeSetFailed
from samtale_automation.workbook.tables import TableView

if TYPE_CHECKING:
    from samtale_automation.workbook.overview import OverviewPlanner

DATE_FORMAT = "dd.mm.yyyy"  # Range.NumberFormat takes Excel's English codes in every locale
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"
TEXT_PREFIX = "'"


def caller_book() -> Any:
    """The workbook whose button ran this Python (xlwings' Book.caller)."""
    import xlwings

    return xlwings.Book.caller()


# ---- reading ---------------------------------------------------------------------------

def read_live(book: Any, schemas: tuple[Sheet, ...] = TABLES) -> RawWorkbook:
    """Read every schema table (or those of `schemas`) of the open workbook, as the file reader does (read.py)."""
    sheets = list(book.sheets)
    tables: dict[str, RawTable] = {}
    missing: list[Sheet] = []
    for schema in schemas:
        raw = _read_table(sheets, schema)
        if raw is None:
            missing.append(schema)
        else:
            tables[schema.table] = raw
    return RawWorkbook(Path(book.fullname), tables, missing, [s.name for s in sheets])


def locate_table(sheets: Iterable[Any], schema: Sheet) -> tuple[Any, Any] | None:
    """The (sheet, table) of a schema table: by its name, else the first table (by name) on its sheet."""
    on_sheet: list[tuple[str, Any, Any]] = []
    for sheet in sheets:
        for table in sheet.tables:
            if table.name == schema.table:
                return sheet, table
            if sheet.name == schema.name:
                on_sheet.append((table.name, sheet, table))
    if on_sheet:
        _, sheet, table = min(on_sheet, key=lambda found: found[0])
        return sheet, table
    return None


def _values(rng: Any) -> list[list[Any]]:
    """A range's values as a list of rows, however many cells it has."""
    return [list(row) for row in rng.options(ndim=2).value]


def _read_table(sheets: list[Any], schema: Sheet) -> RawTable | None:
    found = locate_table(sheets, schema)
    if found is not None:
        sheet, table = found
        rng = table.range
        values = _values(rng)
        start_col = rng.column - 1
        columns = map_headers(schema, values[0], start_col)
        rows = raw_rows(values[1:], columns, start_col, first_excel_row=rng.row + 1)
        return RawTable(schema, sheet.name, columns, rng.row, rows)
    for sheet in sheets:
        if sheet.name == schema.name:
            return _read_plain_sheet(sheet, schema)
    return None


def _read_plain_sheet(sheet: Any, schema: Sheet) -> RawTable | None:
    """A sheet whose table was converted to a range: find the header row, read below it."""
    used = sheet.used_range
    data = _values(used)
    index = find_header_row(schema, data)
    if index is None:
        return None
    start_col = used.column - 1
    columns = map_headers(schema, data[index], start_col)
    header_row = used.row + index
    rows = raw_rows(data[index + 1:], columns, start_col, first_excel_row=header_row + 1)
    return RawTable(schema, sheet.name, columns, header_row, rows, found_as_table=False)


# ---- writing ---------------------------------------------------------------------------

class LiveWriteError(ValueError):
    """Excel refused one value (the cell itself still answers): the ChangeSet's data is at fault."""


def data_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a value cannot be written into the open book."""
    return (ValueError, TypeError, KeyError, IndexError, OverflowError)


def write_live(cell: Any, value: Any, kind: Kind) -> Any:
    """Write one value into an xlwings Range of one cell; return the value as the cell now reads."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(OSLO).replace(tzinfo=None)
        cell.value = value
        cell.number_format = DATETIME_FORMAT if kind is Kind.DATETIME else DATE_FORMAT
        return value
    if isinstance(value, date):
        moment = datetime.combine(value, time())
        cell.value = moment
        cell.number_format = DATE_FORMAT
        return moment
    if isinstance(value, str):
        value = xml_safe_text(value)  # the same text the file applier writes (the file must save it later)
        if value == "":
            cell.value = None
            return None
        cell.value = TEXT_PREFIX + value  # text stays text: never a formula, number or date
        return value
    cell.value = value
    return value


class LiveGrid:
    """One Excel table (ListObject) in the open book: the live applier's cell access (a tables.Grid).

    The table's values are read once, with one call to Excel; writes go to Excel cell by cell and
    into that copy, so the rules see what they wrote. Each write's undo goes onto `undo`.
    """

    def __init__(self, sheet: Any, table: Any, undo: list[Callable[[], None]]) -> None:
        self.sheet, self.table, self.undo = sheet, table, undo
        rng = table.range
        rows, cols = rng.shape
        self._first_row, self._first_col = rng.row, rng.column
        self._last_row, self._last_col = rng.row + rows - 1, rng.column + cols - 1
        self._values = _values(rng)

    @property
    def title(self) -> str:
        """The sheet's name."""
        return str(self.sheet.name)

    def bounds(self) -> tuple[int, int, int, int]:
        """The table's range: first column, first row, last column, last row (1-based)."""
        return self._first_col, self._first_row, self._last_col, self._last_row

    def get(self, row: int, col: int) -> Any:
        """One cell's value from the copy read at the start."""
        r, c = row - self._first_row, col - self._first_col
        if 0 <= r < len(self._values) and 0 <= c < len(self._values[r]):
            return self._values[r][c]
        return None

    def put(self, row: int, col: int, value: Any, kind: Kind) -> None:
        """Write one value into Excel (text as text, dates as dates) and into the copy."""
        cell = self.sheet.range((row, col))
        before, before_format = cell.value, cell.number_format
        self.undo.append(lambda: _restore(cell, before, before_format))
        try:
            stored = write_live(cell, value, kind)
        except data_errors():
            raise
        except Exception as exc:  # COM or AppleScript: Excel refused the value, or Excel is gone
            _still_answers(cell)
            raise LiveWriteError(str(exc)) from exc
        r, c = row - self._first_row, col - self._first_col
        if 0 <= r < len(self._values) and 0 <= c < len(self._values[r]):
            self._values[r][c] = stored

    def grow(self, last_row: int) -> None:
        """Resize the ListObject down to `last_row`; Excel formats the new rows as the table's own."""
        self._resize(self._last_col, last_row)
        width = self._last_col - self._first_col + 1
        self._values += [[None] * width for _ in range(last_row - self._last_row)]
        self._last_row = last_row

    def add_column(self, col: int, column: Column) -> bool:
        """Widen the ListObject by one column at `col` headed `column.header`; False when those cells hold data."""
        beside = self.sheet.range((self._first_row, col), (self._last_row, col))
        if any(v not in (None, "") for row in _values(beside) for v in row):
            return False
        self.put(self._first_row, col, column.header, Kind.TEXT)
        self._resize(col, self._last_row)
        if column.hidden:
            beside.column_width = 0  # Excel hides a column whose width is 0
        for r, values in enumerate(self._values):
            values.append(column.header if r == 0 else None)
        self._last_col = col
        return True

    def _resize(self, last_col: int, last_row: int) -> None:
        first = (self._first_row, self._first_col)
        old = self.sheet.range(first, (self._last_row, self._last_col))
        self.table.resize(self.sheet.range(first, (last_row, last_col)))
        self.undo.append(lambda: self.table.resize(old))


def _restore(cell: Any, value: Any, number_format: str) -> None:
    cell.value = TEXT_PREFIX + value if isinstance(value, str) and value else value
    cell.number_format = number_format


def _still_answers(cell: Any) -> None:
    """Raise WorkbookLockedError when Excel no longer answers at all (not the value's fault)."""
    try:
        _ = cell.value
    except Exception as exc:  # COM or AppleScript: the book was closed, Excel quit or hangs
        raise WorkbookLockedError(
            tr("Excel svarer ikke, så endringene venter.", "Excel does not answer, so the changes wait."),
            hint=tr("Lukk dialogbokser i Excel og trykk knappen igjen.",
                    "Close any dialog boxes in Excel and click the button again.")) from exc


class LiveTables:
    """The schema's tables in the open book (a tables.Tables); one view per table for the whole apply."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.undo: list[Callable[[], None]] = []
        self._views: dict[str, TableView] = {}

    def find(self, schema: Sheet) -> TableView | None:
        """The schema's table by its name, else the first table on its sheet."""
        if schema.table not in self._views:
            found = locate_table(self.book.sheets, schema)
            if found is None:
                return None
            self._views[schema.table] = TableView(LiveGrid(*found, self.undo), schema)
        return self._views[schema.table]

    def create_log(self) -> TableView:
        """A Logg sheet (last) with LOG's table, for a book that has none."""
        sheets = self.book.sheets
        names = [s.name for s in sheets]
        sheet = sheets.add(LOG.name if LOG.name not in names else f"{LOG.name} samtale", after=sheets[len(names) - 1])
        for index, column in enumerate(LOG.columns, start=1):
            write_live(sheet.range((1, index)), column.header, Kind.TEXT)
        table = sheet.tables.add(source=sheet.range((1, 1), (2, len(LOG.columns))), name=LOG.table)
        self._views[LOG.table] = TableView(LiveGrid(sheet, table, self.undo), LOG)
        return self._views[LOG.table]

    def roll_back(self) -> None:
        """Undo every write of this apply, newest first (a created Logg sheet stays, empty)."""
        while self.undo:
            self.undo.pop()()
        self._views.clear()


@dataclass
class LiveApply:
    """What `apply_live` wrote into the open book (not yet saved), and the seeded values to remember."""

    result: ApplyResult
    written: dict[tuple[str, str, str], Any]


def apply_live(book: Any, changesets: list[ChangeSet], journal: PendingChanges, now: datetime) -> LiveApply:
    """Apply ChangeSets into the open book by ID, then refresh Status and names; nothing is saved.

    Raises ChangeSetFailed naming a ChangeSet whose data Excel refused, after rolling back
    everything this call wrote; any other failure (a table missing, Excel gone) is rolled back as
    far as Excel still answers, and raised.
    """
    tables = LiveTables(book)
    _refuse_missing_columns(tables, changesets)
    result = ApplyResult()
    try:
        written = rules.apply_to_tables(tables, changesets, journal, result, now, data_errors())
        rules.refresh_statuses(tables, now)
        rules.refresh_names(tables)
    except BaseException:
        with contextlib.suppress(Exception):  # Excel gone: nothing left to roll back, the error says why
            tables.roll_back()
        raise
    return LiveApply(result, written)


def _refuse_missing_columns(tables: LiveTables, changesets: list[ChangeSet]) -> None:
    """Raise WorkbookLockedError when a change has a value for a column the open book's table lacks.

    The file applier adds such a column first (upgrade in place); inside Excel the book is not
    upgraded, so rather than drop the value the changes wait for the next write of the file.
    """
    missing: set[str] = set()
    for changeset in changesets:
        for change in changeset.changes:
            schema = TABLE_BY_NAME.get(change.table)
            view = tables.find(schema) if schema is not None else None
            if schema is None or view is None:
                continue  # a missing table is the rules' error to name
            known = {c.field for c in schema.columns} - {rules.MARKER}
            missing |= {f"{schema.name}: {schema.column(f).header}" for f in change.values
                        if f in known and f not in view.columns}
    if missing:
        raise WorkbookLockedError(
            tr("Arbeidsboken mangler kolonner denne versjonen av samtale skriver i: ",
               "The workbook lacks columns this version of samtale writes to: ") + ", ".join(sorted(missing)) + ".",
            hint=tr("Lukk arbeidsboken og kjør «samtale apply» (eller vent på nattkjøringen): da legges kolonnene "
                    "til og endringene skrives.",
                    "Close the workbook and run «samtale apply» (or wait for the nightly run): the columns are "
                    "added and the changes written."))


def save_live(book: Any) -> bool:
    """Save the open book through Excel; True only when Excel saved it."""
    try:
        book.save()
    except Exception:  # COM or AppleScript errors: read-only, file gone, disk full, a dialog refused
        return False
    return True


def apply_pending_live(book: Any, journal: PendingChanges, now: datetime,
                       overview: OverviewPlanner | None = None) -> ApplyResult:
    """Apply every pending ChangeSet into the open book and save it; mark them applied only once saved.

    A ChangeSet whose data Excel refuses is set aside (with its Logg notice) and the others are
    applied, as the file applier does; when Excel does not answer, everything stays pending.
    `overview` (plans.overview.plan_overview, as the file applier's) works out the Oversikt
    numbers, written into the open book before the save (live_refresh.write_overview_live).
    """
    result = ApplyResult()
    while True:
        pending = [p.changeset for p in journal.pending()]
        if not pending:
            return result
        ids = [cs.id for cs in pending]
        try:
            outcome = apply_live(book, pending, journal, now)
        except ChangeSetFailed as failure:
            rules.set_aside(journal, failure, now, result)
            continue
        except WorkbookLockedError as exc:
            journal.mark_blocked(ids, exc.message)
            result.blocked = exc.message
            return result
        break
    result.created, result.updated, result.conflicts = (outcome.result.created, outcome.result.updated,
                                                        outcome.result.conflicts)
    if overview is not None:
        from samtale_automation.domain.master import parse_master
        from samtale_automation.workbook.live_refresh import write_overview_live  # it imports this module

        write_overview_live(book, overview(parse_master(read_live(book)), now))
    if not save_live(book):
        reason = tr("Excel kunne ikke lagre arbeidsboken, så endringene venter. Sjekk at den ikke er åpnet "
                    "skrivebeskyttet, og prøv igjen.",
                    "Excel could not save the workbook, so the changes wait. Check that it is not open read-only, and "
                    "try again.")
        journal.mark_blocked(ids, reason)
        result.blocked = reason
        return result
    journal.mark_applied(ids, outcome.written)
    result.applied = ids
    return result
