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
