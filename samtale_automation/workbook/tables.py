"""What both appliers share: a table addressed by header and ID, and applying ChangeSets to it.

The file applier (apply.py, openpyxl) and the live applier (live.py, xlwings inside Excel) differ
only in how they touch cells: each gives a `Grid` per Excel table and a `Tables` that finds them.
Everything else (header mapping, rows by ID, which cells a ChangeSet may write, conflicts,
growing a table, the derived Status and names) is here, once (DESIGN.md §4, §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from samtale_automation.domain.cells import as_id
from samtale_automation.domain.changeset import ChangeSet, Conflict, PendingChanges, merge_row, seeded_fields
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import map_headers
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, LOG, STATUS_LABELS, TABLE_BY_NAME, Kind, Sheet
from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr


@dataclass
class ApplyResult:
    """What one apply did: ChangeSets applied, rows created/updated, conflicts, or why not."""

    applied: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    blocked: str | None = None
    backup: Path | None = None
    upgraded: list[str] = field(default_factory=list)  # «Samtaler: Navn»: added by upgrade in place
    upgrade_refused: list[str] = field(default_factory=list)


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


class TableView:
    """One Excel table, addressed by header and ID, over either applier's Grid."""

    def __init__(self, grid: Grid, schema: Sheet) -> None:
        self.grid, self.schema = grid, schema
        self.min_col, self.min_row, self.max_col, self.max_row = grid.bounds()
        headers = [grid.get(self.min_row, col) for col in range(self.min_col, self.max_col + 1)]
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
        """Write field values into a row; fields the table has no column for are left out."""
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


class Tables(Protocol):
    """Finds the schema's tables in one workbook (a file in openpyxl, or the open book in Excel)."""

    def find(self, schema: Sheet) -> TableView | None:
        """The schema's table by its name, else the first table on its sheet; None when there is none."""

    def ensure_log(self) -> TableView:
        """The Logg table, made (sheet and table) when the workbook has none."""


def apply_to_tables(tables: Tables, changesets: list[ChangeSet], journal: PendingChanges,
                    result: ApplyResult) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets by ID with merge_row's owner rules; conflicts go to Logg. Returns the seeded values written."""
    views: dict[str, TableView] = {}
    written: dict[tuple[str, str, str], Any] = {}
    last_written: dict[str, dict[str, dict[str, Any]]] = {}
    for changeset in changesets:
        for change in changeset.changes:
            view = views.get(change.table)
            if view is None:
                schema = TABLE_BY_NAME[change.table]
                found = tables.ensure_log() if schema is LOG else tables.find(schema)
                if found is None:
                    raise WorkbookError(
                        tr(f"Fant ikke tabellen {schema.table} på arket «{schema.name}».",
                           f"Table {schema.table} on sheet «{schema.name}» not found."),
                        hint=tr("Kjør «samtale check».", "Run «samtale check»."))
                view = views[change.table] = found
            if change.key is None:
                view.write(view.new_row(), change.values)
                result.created += 1
                continue
            if change.table not in last_written:
                last_written[change.table] = journal.last_written(change.table)
            row = view.rows.get(change.key)
            current = view.current(row) if row is not None else None
            writes, conflicts = merge_row(change, current, last_written[change.table].get(change.key, {}))
            result.conflicts.extend(conflicts)
            if row is None:
                row = view.rows[change.key] = view.new_row()
                result.created += 1
            elif writes:
                result.updated += 1
            view.write(row, writes)
            for field_name in seeded_fields(change.table) & writes.keys():
                written[(change.table, change.key, field_name)] = writes[field_name]
                last_written[change.table].setdefault(change.key, {})[field_name] = writes[field_name]
    if result.conflicts:
        log = views.get(LOG.table) or tables.ensure_log()
        stamp = datetime.now(OSLO).replace(tzinfo=None, microsecond=0)
        for conflict in result.conflicts:
            log.write(log.new_row(), {"time": stamp, "event": "Konflikt", "who": "samtale",
                                      "result": conflict.describe()})
    return written


def refresh_statuses(tables: Tables, now: datetime) -> int:
    """Write the derived status into every Samtaler row whose Status cell is out of date."""
    from samtale_automation.domain.master import conversation_from_row, parse_row
    from samtale_automation.domain.rows import RawRow, RawTable

    view = tables.find(CONVERSATIONS)
    if view is None or "status" not in view.columns:
        return 0
    shim = RawTable(CONVERSATIONS, view.title, view.columns, view.min_row)
    changed = 0
    for row in view.rows.values():
        values = view.current(row)
        conversation = conversation_from_row(parse_row(shim, RawRow(row, values), []))
        if conversation is None:
            continue
        label = STATUS_LABELS[conversation.status(now)]
        if values.get("status") != label:
            view.write(row, {"status": label})
            changed += 1
    return changed


def refresh_names(tables: Tables) -> int:
    """Write each Samtaler row's employee and manager names from Ansatte where they are out of date."""
    conversations, employees = tables.find(CONVERSATIONS), tables.find(EMPLOYEES)
    if conversations is None or employees is None or "name" not in employees.columns:
        return 0
    names = {key: employees.value(row, "name") or "" for key, row in employees.rows.items()}
    pairs = [(f, k) for f, k in (("employee_name", "employee_id"), ("manager_name", "manager_id"))
             if f in conversations.columns and k in conversations.columns]
    changed = 0
    for row in conversations.rows.values():
        values = conversations.current(row)
        wanted = {name_field: str(names.get(as_id(values.get(id_field)), "")) for name_field, id_field in pairs}
        stale = {f: v for f, v in wanted.items() if (values.get(f) or "") != v}
        if stale:
            conversations.write(row, stale)
            changed += 1
    return changed
