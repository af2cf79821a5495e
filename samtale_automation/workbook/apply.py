"""The file applier: apply pending ChangeSets to the master workbook headlessly (openpyxl).

Rows are found by their ID, columns by header; tables grow when rows are appended. Text is
always written as text. The save goes through the loss guard and the safe-write protocol;
when either refuses, the ChangeSets stay pending with the reason.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.changeset import ChangeSet, Conflict, PendingChanges, merge_row, seeded_fields
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import normalise_header
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, LOG, STATUS_LABELS, TABLE_BY_NAME, Kind, Sheet
from samtale_automation.errors import WorkbookError, WorkbookLockedError
from samtale_automation.paths import Folder
from samtale_automation.safe_write import Fingerprint, assert_writable, replace_safely
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.overview import OverviewPlanner, refresh_overview
from samtale_automation.workbook.upgrade import upgrade_workbook

DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"


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
        from openpyxl.utils import get_column_letter

        last = self.max_row
        # Reuse trailing blank rows inside the table (a new table has one).
        while last > self.min_row and all(
                self.ws.cell(last, c).value in (None, "") for c in range(self.min_col, self.max_col + 1)):
            last -= 1
        target: int = last + 1
        if target > self.max_row:
            self.max_row = target
            ref = (f"{get_column_letter(self.min_col)}{self.min_row}:"
                   f"{get_column_letter(self.max_col)}{self.max_row}")
            self.table.ref = ref
            if self.table.autoFilter is not None:
                self.table.autoFilter.ref = ref
            if target > self.min_row + 1:
                _copy_row_style(self.ws, target - 1, target, self.min_col, self.max_col)
        return target


def write_cell(cell: Any, value: Any, kind: Kind) -> None:
    """Write one value: strings stay strings even when they start with «=»."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(OSLO).replace(tzinfo=None)
        cell.value = value
        cell.number_format = DATETIME_FORMAT if kind is Kind.DATETIME else DATE_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, str):
        cell.value = value
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
    """Return the Logg table, creating its sheet and table when the workbook has none."""
    view = find_table(wb, LOG)
    if view is not None:
        return view
    from openpyxl.worksheet.table import Table, TableStyleInfo

    name = LOG.name if LOG.name not in wb.sheetnames else f"{LOG.name} samtale"
    ws = wb.create_sheet(name)
    for index, column in enumerate(LOG.columns, start=1):
        write_cell(ws.cell(1, index), column.header, Kind.TEXT)
    ref = f"A1:{chr(64 + len(LOG.columns))}2"
    table = Table(displayName=LOG.table, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    return TableView(ws, ws.tables[LOG.table], LOG)


def apply_changes(wb: Any, changesets: list[ChangeSet], journal: PendingChanges,
                  result: ApplyResult) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets to an open workbook; return the seeded values written."""
    views: dict[str, TableView] = {}
    written: dict[tuple[str, str, str], Any] = {}
    last_written: dict[str, dict[str, dict[str, Any]]] = {}
    for changeset in changesets:
        for change in changeset.changes:
            view = views.get(change.table)
            if view is None:
                schema = TABLE_BY_NAME[change.table]
                found = ensure_log_table(wb) if schema is LOG else find_table(wb, schema)
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
        log = views.get(LOG.table) or ensure_log_table(wb)
        stamp = datetime.now(OSLO).replace(tzinfo=None, microsecond=0)
        for conflict in result.conflicts:
            log.write(log.new_row(), {"time": stamp, "event": "Konflikt", "who": "samtale",
                                      "result": conflict.describe()})
    return written


def refresh_statuses(wb: Any, now: datetime) -> int:
    """Write the derived status into every Samtaler row whose Status cell is out of date."""
    from samtale_automation.domain.master import conversation_from_row, parse_row
    from samtale_automation.domain.rows import RawRow, RawTable

    view = find_table(wb, CONVERSATIONS)
    if view is None or "status" not in view.columns:
        return 0
    shim = RawTable(CONVERSATIONS, view.ws.title, view.columns, view.min_row)
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


def refresh_names(wb: Any) -> int:
    """Write each Samtaler row's employee and manager names from Ansatte where they are out of date."""
    from samtale_automation.domain.cells import as_id

    conversations, employees = find_table(wb, CONVERSATIONS), find_table(wb, EMPLOYEES)
    if conversations is None or employees is None or "name" not in employees.columns:
        return 0
    names = {key: employees.ws.cell(row, employees.columns["name"]).value or "" for key, row in employees.rows.items()}
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


def apply_pending(folder: Folder, journal: PendingChanges, now: datetime, *,
                  overview: OverviewPlanner) -> ApplyResult:
    """Apply every pending ChangeSet to the master file now, or record why it must wait.

    `overview` works out the Oversikt sheet, written on every write (plans.overview.plan_overview).
    """
    result = ApplyResult()
    pending = [p.changeset for p in journal.pending()]
    if not pending:
        return result
    ids = [cs.id for cs in pending]
    master = folder.master()
    try:
        assert_writable(master)
        before = Fingerprint.of(master)
        result.backup = _save_with_changes(folder, master, before, pending, journal, result, now, overview)
    except WorkbookLockedError as exc:
        journal.mark_blocked(ids, exc.message)
        result.blocked = exc.message
        return result
    return result


def _save_with_changes(folder: Folder, master: Path, before: Fingerprint,
                       pending: list[ChangeSet], journal: PendingChanges, result: ApplyResult,
                       now: datetime, overview: OverviewPlanner) -> Path:
    import openpyxl

    keep_vba = master.suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(master, keep_vba=keep_vba, rich_text=True, keep_links=True)
    upgrade = upgrade_workbook(wb)
    result.upgraded, result.upgrade_refused = upgrade.added, upgrade.refused
    written = apply_changes(wb, pending, journal, result)
    refresh_statuses(wb, now)
    refresh_names(wb)
    if refresh_overview(wb, now, overview):  # a master from an earlier version had formulas there
        upgrade.added.append(tr("Oversikt: tall og diagram i stedet for formler",
                                "Oversikt: numbers and a chart instead of formulas"))
    if upgrade.changed:
        log = find_table(wb, LOG) or ensure_log_table(wb)
        log.write(log.new_row(), {"time": datetime.now(OSLO).replace(tzinfo=None, microsecond=0),
                                  "event": tr("Arbeidsboken oppgradert", "Workbook upgraded"), "who": "samtale",
                                  "result": tr("La til ", "Added ") + "; ".join(upgrade.added)})
    inventory_before = loss_guard.inventory(master)

    def verify(temp: Path) -> None:
        with zipfile.ZipFile(temp) as package:
            if package.testzip() is not None:
                raise WorkbookError(tr("Den nye arbeidsboken ble skadet under lagring.",
                                       "The new workbook was damaged while saving."))
        lost = loss_guard.lost_features(inventory_before, loss_guard.inventory(temp))
        if lost:
            raise WorkbookLockedError(
                tr("Arbeidsboken inneholder noe samtale ikke kan lagre uten å miste det: ",
                   "The workbook holds something samtale cannot save without losing it: ")
                + "; ".join(lost),
                hint=tr("Fjern det som nevnes, eller åpne arbeidsboken i Excel og bruk knappene der.",
                        "Remove what is named, or open the workbook in Excel and use its buttons."),
            )
        openpyxl.load_workbook(temp, read_only=True).close()

    try:
        backup = replace_safely(master, before, wb.save, verify, folder.backups)
    finally:
        if getattr(wb, "vba_archive", None) is not None:
            wb.vba_archive.close()  # openpyxl keeps the source zip open for the VBA parts
    journal.mark_applied([cs.id for cs in pending], written)
    result.applied = [cs.id for cs in pending]
    return backup
