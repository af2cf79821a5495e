"""An in-memory stand-in for the few xlwings objects the live reader and applier use (no Excel here).

Book, Sheets, Sheet, Range, Tables and Table, each with only the members workbook/live.py uses,
named and shaped as xlwings.main's own (tests/workbook/test_live.py checks that every member here
exists there, with the same parameters). A book is loaded from an .xlsx/.xlsm file, so the same
workbooks feed the file reader and the live one.

What it models of Excel, because the live applier depends on it:
- reads give what xlwings gives: numbers as float, dates as datetime, empty cells as None; one
  cell a scalar, one row or column a flat list, else a list of rows; `options(ndim=2)` always rows;
- a string assigned to `Range.value` is parsed as if typed: a leading apostrophe makes text (and
  is not kept), a Text number format («@») keeps text, «=», «+», «-» or «@» makes a formula,
  numbers, dates (dd.mm.yyyy, d/m/yyyy, yyyy-mm-dd) and TRUE/FALSE become values;
- a table (ListObject) covers a rectangle whose first row is the header; `resize` moves its end;
- a value Excel refuses (a sheet's `refused` texts, a test helper) raises as a COM error does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

#: Members that are test helpers, not xlwings': the live code must never use them (test_live.py checks).
HELPERS = frozenset({"cell", "from_file"})

_NUMBER = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)([eE][+-]?\d+)?")
_DATES = ("%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y %H:%M")


@dataclass
class CellState:
    """One cell as Excel holds it."""

    value: Any = None
    number_format: str = "General"
    formula: bool = False  # Excel took the text as a formula
    quote_prefix: bool = False  # Excel's «stored as text» mark (PrefixCharacter «'»)


def excel_entry(text: str, number_format: str) -> tuple[Any, bool, bool]:
    """What Excel makes of a string assigned to a cell: (value, is formula, apostrophe)."""
    if text.startswith("'"):
        return text[1:], False, True
    if number_format == "@" or text == "":
        return text, False, False
    if text[0] in "=+-@" and len(text) > 1 and not _NUMBER.fullmatch(text):
        return text if text[0] == "=" else "=" + text.lstrip("@"), True, False
    if _NUMBER.fullmatch(text.strip()):
        return float(text.strip().replace(",", ".")), False, False
    if text.strip().upper() in ("TRUE", "FALSE"):
        return text.strip().upper() == "TRUE", False, False
    for fmt in _DATES:
        try:
            return datetime.strptime(text.strip(), fmt), False, False
        except ValueError:
            continue
    return text, False, False


def xlwings_read(value: Any) -> Any:
    """A value as xlwings hands it to Python."""
    if isinstance(value, bool) or value is None or isinstance(value, str | datetime):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


class Range:
    """A rectangle of cells on one sheet (1-based, inclusive)."""

    def __init__(self, sheet: Sheet, first: tuple[int, int], last: tuple[int, int], ndim: int | None = None) -> None:
        self._sheet, self._first, self._last, self._ndim = sheet, first, last, ndim

    @property
    def sheet(self) -> Sheet:
        """The sheet the range is on."""
        return self._sheet

    @property
    def row(self) -> int:
        """The first row."""
        return self._first[0]

    @property
    def column(self) -> int:
        """The first column."""
        return self._first[1]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self._last[0] - self._first[0] + 1, self._last[1] - self._first[1] + 1

    @property
    def address(self) -> str:
        """«$A$1:$H$4» as xlwings gives it."""
        from openpyxl.utils import get_column_letter

        (r1, c1), (r2, c2) = self._first, self._last
        first = f"${get_column_letter(c1)}${r1}"
        return first if (r1, c1) == (r2, c2) else f"{first}:${get_column_letter(c2)}${r2}"

    def options(self, convert: Any = None, **options: Any) -> Range:
        """Only `ndim=2` is modelled."""
        assert convert is None and set(options) <= {"ndim"}, options
        return Range(self._sheet, self._first, self._last, options.get("ndim"))

    @property
    def value(self) -> Any:
        """The values, shaped as xlwings shapes them."""
        rows = [[xlwings_read(self._sheet.cell(r, c).value) for c in range(self._first[1], self._last[1] + 1)]
                for r in range(self._first[0], self._last[0] + 1)]
        if self._ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len(rows) == 1:
            return rows[0]
        if all(len(r) == 1 for r in rows):
            return [r[0] for r in rows]
        return rows

    @value.setter
    def value(self, data: Any) -> None:
        assert self._first == self._last, "the stand-in writes single cells only"
        if isinstance(data, str) and data.removeprefix("'") in self._sheet.refused:
            raise OSError(-2146827284, "OLE error 0x800a03ec")  # what Excel's COM answers a value it refuses
        cell = self._sheet.cell(*self._first)
        cell.formula = cell.quote_prefix = False
        if isinstance(data, str):
            cell.value, cell.formula, cell.quote_prefix = excel_entry(data, cell.number_format)
        else:
            cell.value = xlwings_read(data)

    @property
    def number_format(self) -> str:
        """The first cell's number format."""
        return self._sheet.cell(*self._first).number_format

    @number_format.setter
    def number_format(self, value: str) -> None:
        for r in range(self._first[0], self._last[0] + 1):
            for c in range(self._first[1], self._last[1] + 1):
                self._sheet.cell(r, c).number_format = value


class Table:
    """A ListObject: a rectangle whose first row is the header."""

    def __init__(self, sheet: Sheet, name: str, first: tuple[int, int], last: tuple[int, int]) -> None:
        self._sheet, self._name, self._first, self._last = sheet, name, first, last

    @property
    def name(self) -> str:
        """The table's name."""
        return self._name

    @property
    def range(self) -> Range:
        """The whole table, header included."""
        return Range(self._sheet, self._first, self._last)

    def resize(self, range: Range) -> None:  # xlwings' own parameter name
        """Excel's ListObject.Resize: the header stays in its row."""
        assert range.sheet is self._sheet and range.row == self._first[0] and range.column == self._first[1]
        rows, cols = range.shape
        self._last = (range.row + rows - 1, range.column + cols - 1)


class Tables:
    """The tables of one sheet."""

    def __init__(self, sheet: Sheet) -> None:
        self._sheet = sheet
        self._items: list[Table] = []

    def __iter__(self) -> Iterator[Table]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key: int | str) -> Table:
        if isinstance(key, int):
            return self._items[key]
        return next(t for t in self._items if t.name == key)

    def add(self, source: Range | None = None, name: str | None = None) -> Table:
        """A new table over `source`, whose first row is the header."""
        assert source is not None and name is not None
        rows, cols = source.shape
        table = Table(self._sheet, name, (source.row, source.column),
                      (source.row + rows - 1, source.column + cols - 1))
        self._items.append(table)
        return table


class Sheet:
    """One worksheet: cells by (row, column) and its tables."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._cells: dict[tuple[int, int], CellState] = {}
        self._tables = Tables(self)
        self.refused: set[str] = set()  # test helper: texts Excel refuses to take into a cell

    @property
    def name(self) -> str:
        """The sheet's name."""
        return self._name

    @property
    def tables(self) -> Tables:
        """Its tables."""
        return self._tables

    def cell(self, row: int, col: int) -> CellState:
        """Test helper (not xlwings): one cell's state, made on first touch."""
        return self._cells.setdefault((row, col), CellState())

    def range(self, cell1: tuple[int, int], cell2: tuple[int, int] | None = None) -> Range:
        """A range by (row, column) tuples, as the live code asks for it."""
        return Range(self, cell1, cell2 or cell1)

    @property
    def used_range(self) -> Range:
        """From the first to the last cell holding a value (A1 on an empty sheet)."""
        used = [key for key, cell in self._cells.items() if cell.value is not None]
        if not used:
            return Range(self, (1, 1), (1, 1))
        rows, cols = [r for r, _ in used], [c for _, c in used]
        return Range(self, (min(rows), min(cols)), (max(rows), max(cols)))


class Sheets:
    """The sheets of a book, in order."""

    def __init__(self) -> None:
        self._items: list[Sheet] = []

    def __iter__(self) -> Iterator[Sheet]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key: int | str) -> Sheet:
        if isinstance(key, int):
            return self._items[key]
        return next(s for s in self._items if s.name == key)

    def add(self, name: str | None = None, before: Sheet | None = None, after: Sheet | None = None) -> Sheet:
        """A new sheet, after `after` (or before `before`, or first)."""
        assert name is not None and name not in [s.name for s in self._items]
        sheet = Sheet(name)
        at = self._items.index(after) + 1 if after else self._items.index(before) if before else 0
        self._items.insert(at, sheet)
        return sheet


class App:
    """Excel itself: the status bar and the alert box (a button's progress and its closing message)."""

    def __init__(self) -> None:
        self._status_bar: str | None = None
        self.shown: list[tuple[str, str | None, str]] = []  # test helper: every alert (prompt, title, buttons)
        self.statuses: list[str | None] = []  # test helper: every status bar text
        self.answer = "no"  # test helper: the button a person clicks in a yes/no alert

    @property
    def status_bar(self) -> str | None:
        """The status bar's text (None: Excel's own)."""
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value: str | None) -> None:
        self._status_bar = value
        self.statuses.append(value)

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok") -> str | None:
        """A message box; the button clicked."""
        self.shown.append((prompt, title, buttons))
        return self.answer if buttons == "yes_no" else "ok"


class Book:
    """The open workbook."""

    def __init__(self, fullname: str) -> None:
        self._fullname = fullname
        self._sheets = Sheets()
        self._app = App()
        self.saves = 0  # test helper: how often Excel saved
        self.save_fails = False  # test helper: make the next saves fail as Excel would (read-only, ...)

    @property
    def name(self) -> str:
        """The file name."""
        return Path(self._fullname).name

    @property
    def fullname(self) -> str:
        """The file's full path."""
        return self._fullname

    @property
    def sheets(self) -> Sheets:
        """Its sheets."""
        return self._sheets

    @property
    def app(self) -> App:
        """The Excel that has it open."""
        return self._app

    def save(self, path: str | None = None) -> None:
        """Save in place (the only save the live code asks for)."""
        assert path is None
        if self.save_fails:
            raise OSError("Microsoft Excel cannot access the file (read-only)")
        self.saves += 1

    @classmethod
    def from_file(cls, path: Path) -> Book:
        """Test helper: the book as Excel would hold it after opening `path` (values, formats, tables)."""
        import openpyxl
        from openpyxl.utils.cell import range_boundaries

        wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
        book = cls(str(path))
        for ws in wb.worksheets:
            sheet = book.sheets.add(ws.title, after=book.sheets[len(book.sheets) - 1] if len(book.sheets) else None)
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is None:
                        continue
                    state = sheet.cell(cell.row, cell.column)
                    state.number_format = cell.number_format
                    if cell.data_type == "f":
                        state.formula = True
                        state.value = None  # no cached result in a file written by a library
                    else:
                        state.value = xlwings_read(cell.value)
            for table in ws.tables.values():
                min_col, min_row, max_col, max_row = range_boundaries(table.ref)
                sheet.tables.add(Range(sheet, (min_row, min_col), (max_row, max_col)), table.displayName)
        return book
