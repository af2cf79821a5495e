"""An existing samtaler.xlsx made into samtaler.xlsm with the buttons (`samtale upgrade-workbook --macros`).

openpyxl cannot add a VBA project or form buttons to a workbook, so the .xlsm is built new by
the same builder as `init --macros`, holding every row of every table of the .xlsx, and then
checked: every table's rows read back from the new file equal the old file's, and nothing the
loss guard counts (comments, charts, pictures, conditional formats, …) is fewer. What the new
file cannot carry is named instead, and the .xlsx stays the master:

- a sheet that is not one of the master's (HR's own sheet),
- a column in a table that is not one of its schema's (HR's own column),
- a row in Innstillinger with a name samtale does not know.

Cell formatting (colours, widths, fonts HR changed) is the builder's in the new file; that is
said in the README, not detected here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.rows import normalise_header
from samtale_automation.domain.schema import (
    ACTIONS,
    CONVERSATIONS,
    EMPLOYEES,
    LISTS_SHEET,
    LOG,
    QUESTIONS,
    ROOMS,
    SETTING_BY_KEY,
    SETTINGS,
    SHEET_ORDER,
    TABLES,
    Sheet,
)
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.build import build_master
from samtale_automation.workbook.overview import OverviewPlanner
from samtale_automation.workbook.read import read_workbook


def uncarried(path: Path) -> list[str]:
    """What of the workbook at `path` a new .xlsm would not hold: its own sheets, columns and settings."""
    import openpyxl

    wb = openpyxl.load_workbook(path, keep_links=False)
    known_sheets = {*SHEET_ORDER, LISTS_SHEET}
    found: list[str] = [tr(f"arket «{name}»", f"the sheet «{name}»") for name in wb.sheetnames
                        if name not in known_sheets]
    by_sheet: dict[str, Sheet] = {schema.name: schema for schema in TABLES}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            schema = next((s for s in TABLES if s.table == table.displayName), by_sheet.get(ws.title))
            if schema is None:
                found.append(tr(f"tabellen «{table.displayName}» på arket «{ws.title}»",
                                f"the table «{table.displayName}» on the sheet «{ws.title}»"))
                continue
            wanted = {normalise_header(c.header) for c in schema.columns}
            found += [tr(f"{ws.title}: kolonnen «{column.name}»", f"{ws.title}: the column «{column.name}»")
                      for column in table.tableColumns if normalise_header(column.name) not in wanted]
    raw = read_workbook(path).tables.get(SETTINGS.table)
    for row in raw.rows if raw else []:
        key = str(row.values.get("key") or "")
        if key and key.casefold() not in SETTING_BY_KEY:
            found.append(tr(f"{SETTINGS.name}: innstillingen «{key}»", f"{SETTINGS.name}: the setting «{key}»"))
    return found


def _rows(raw: Any, schema: Sheet) -> list[dict[str, Any]]:
    table = raw.tables.get(schema.table)
    return [dict(row.values) for row in table.rows] if table is not None else []


def build_macro_copy(source: Path, target: Path, lang: str, now: datetime, overview: OverviewPlanner) -> list[str]:
    """Build `target` (.xlsm) holding every row of `source`; return what differs (empty: all carried)."""
    raw = read_workbook(source)
    settings = {SETTING_BY_KEY[str(r["key"]).casefold()].field: "" if r.get("value") is None else r["value"]
                for r in _rows(raw, SETTINGS) if str(r.get("key") or "").casefold() in SETTING_BY_KEY}
    build_master(target, lang, settings=settings, employees=_rows(raw, EMPLOYEES),
                 conversations=_rows(raw, CONVERSATIONS), questions=_rows(raw, QUESTIONS),
                 actions=_rows(raw, ACTIONS), rooms=_rows(raw, ROOMS), log=_rows(raw, LOG),
                 macros=True, overview=overview, now=now)
    built = read_workbook(target)
    differs: list[str] = []
    for schema in TABLES:
        if schema is SETTINGS:
            before = {str(r.get("key")): r.get("value") for r in _rows(raw, schema)}
            after = {str(r.get("key")): r.get("value") for r in _rows(built, schema)}
            differs += [f"{schema.name}: {key}" for key in before if before[key] != after.get(key)]
            continue
        old = raw.tables.get(schema.table)
        old_rows, new_rows = _rows(raw, schema), _rows(built, schema)
        for index, (a, b) in enumerate(zip(old_rows, new_rows, strict=False)):
            fields = [f for f in a if a.get(f) != b.get(f)]
            if fields and old is not None:
                differs.append(old.cell(old.rows[index], fields[0]))
        if len(old_rows) != len(new_rows):
            differs.append(tr(f"{schema.name}: {len(old_rows)} rader ble {len(new_rows)}",
                              f"{schema.name}: {len(old_rows)} rows became {len(new_rows)}"))
    differs += loss_guard.lost_features(loss_guard.inventory(source), loss_guard.inventory(target))
    return differs
