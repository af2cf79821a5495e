"""The master workbook's tables as raw rows, by header: what a reader (file or live) hands the parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtale_automation.domain.schema import Sheet


@dataclass
class RawRow:
    """One data row: the sheet row number and each known field's raw value."""

    excel_row: int
    values: dict[str, Any]


@dataclass
class RawTable:
    """One table as found in the workbook, with where each field's column is."""

    schema: Sheet
    sheet_name: str
    columns: dict[str, int]  # field -> 0-based sheet column
    header_row: int  # 1-based sheet row of the header
    rows: list[RawRow] = field(default_factory=list)
    found_as_table: bool = True

    def cell(self, row: RawRow | int, field_name: str) -> str:
        """Return the A1 address (with sheet) of a field in a row, e.g. «Ansatte!C5»."""
        excel_row = row.excel_row if isinstance(row, RawRow) else row
        col = self.columns.get(field_name)
        letter = column_letter(col) if col is not None else "?"
        return f"{self.sheet_name}!{letter}{excel_row}"

    @property
    def missing_headers(self) -> list[str]:
        """Headers of required columns that the table lacks."""
        return [c.header for c in self.schema.columns if c.required and c.field not in self.columns]


@dataclass
class RawWorkbook:
    """All schema tables found in one workbook, and the schema tables not found."""

    path: Path
    tables: dict[str, RawTable]  # schema table name -> table
    missing: list[Sheet]
    sheet_names: list[str]


def column_letter(index: int) -> str:
    """Convert a 0-based column index to Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def normalise_header(text: Any) -> str:
    """Fold a header cell for matching: trimmed, single spaces, case-insensitive."""
    return " ".join(str(text).split()).casefold() if text is not None else ""


#: How many rows from the top a reader looks for the header row of a table turned into a plain range.
HEADER_SEARCH_ROWS = 20


def map_headers(schema: Sheet, headers: list[Any], start_col: int) -> dict[str, int]:
    """Map each schema field to the sheet column (0-based) whose header matches it; the first match wins."""
    wanted = {normalise_header(c.header): c.field for c in schema.columns}
    columns: dict[str, int] = {}
    for offset, header in enumerate(headers):
        field_name = wanted.get(normalise_header(header))
        if field_name and field_name not in columns:
            columns[field_name] = start_col + offset
    return columns


def find_header_row(schema: Sheet, data: list[list[Any]]) -> int | None:
    """The index in `data` of the first row holding the schema's key header (its first column), if any."""
    key_header = normalise_header(schema.columns[0].header)
    for index, row in enumerate(data[:HEADER_SEARCH_ROWS]):
        if key_header in (normalise_header(v) for v in row):
            return index
    return None


def raw_rows(data: list[list[Any]], columns: dict[str, int], start_col: int, first_excel_row: int) -> list[RawRow]:
    """Turn data rows into RawRows, skipping blank rows; '' becomes None, text is trimmed.

    Every reader (calamine for files, xlwings inside Excel) hands its cell values through here,
    so the parser sees one row form whatever read the workbook.
    """
    rows: list[RawRow] = []
    places = [(field_name, col - start_col) for field_name, col in columns.items()]
    for offset, values in enumerate(data):
        picked: dict[str, Any] = {}
        width = len(values)
        filled = False
        for field_name, index in places:  # the hot loop of every read: 100,000 cells at 10,000 actions
            value = values[index] if index < width else None
            if isinstance(value, str):
                value = value.strip() or None
            if value is not None:
                filled = True
            picked[field_name] = value
        if filled:
            rows.append(RawRow(first_excel_row + offset, picked))
    return rows
