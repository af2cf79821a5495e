"""The master's tables read from a workbook open in openpyxl, as the raw rows the one parser takes.

The file applier has the workbook open while it writes; what it works out from the rows (the
Oversikt sheet) must see the rows as they are after the write, so it reads them here rather than
from the file. Same rules as the calamine reader (workbook/read.py): columns by header, text
trimmed, '' as blank, blank rows skipped; then `domain.master.parse_master` parses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samtale_automation.domain.master import Master, parse_master
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook, normalise_header
from samtale_automation.domain.schema import TABLES, Sheet
from samtale_automation.workbook.tables import cell_value


def read_open_workbook(wb: Any, path: Path | None = None, tables: tuple[Sheet, ...] = TABLES) -> RawWorkbook:
    """Every schema table of an open openpyxl workbook, found by table name, else the first table on its sheet."""
    found: dict[str, RawTable] = {}
    missing: list[Sheet] = []
    for schema in tables:
        raw = _read_table(wb, schema)
        if raw is None:
            missing.append(schema)
        else:
            found[schema.table] = raw
    return RawWorkbook(path or Path(), found, missing, list(wb.sheetnames))


def parse_open_workbook(wb: Any, path: Path | None = None) -> Master:
    """The open workbook parsed into a Master (problems collected, never raised)."""
    return parse_master(read_open_workbook(wb, path))


def _read_table(wb: Any, schema: Sheet) -> RawTable | None:
    from openpyxl.utils.cell import range_boundaries

    located = _locate(wb, schema)
    if located is None:
        return None
    ws, table = located
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    wanted = {normalise_header(c.header): c.field for c in schema.columns}
    columns: dict[str, int] = {}  # field -> 0-based sheet column, as RawTable keeps them
    for col in range(min_col, max_col + 1):
        field_name = wanted.get(normalise_header(ws.cell(min_row, col).value))
        if field_name and field_name not in columns:
            columns[field_name] = col - 1
    raw = RawTable(schema, ws.title, columns, min_row)
    for row in range(min_row + 1, max_row + 1):
        picked: dict[str, Any] = {}
        for field_name, col in columns.items():
            value = cell_value(ws, row, col + 1)
            if isinstance(value, str):
                value = value.strip() or None
            picked[field_name] = value
        if any(v is not None for v in picked.values()):
            raw.rows.append(RawRow(row, picked))
    return raw


def _locate(wb: Any, schema: Sheet) -> tuple[Any, Any] | None:
    for ws in wb.worksheets:
        if schema.table in ws.tables:
            return ws, ws.tables[schema.table]
    if schema.name in wb.sheetnames:
        ws = wb[schema.name]
        for table in ws.tables.values():
            return ws, table
    return None
