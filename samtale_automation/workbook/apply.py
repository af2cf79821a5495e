"""The file applier: apply pending ChangeSets to the master workbook headlessly (openpyxl).

Rows are found by their ID, columns by header; tables grow when rows are appended (the rules
are in tables.py, shared with the live applier; this module is openpyxl's cell access). Text is
always written as text. The save goes through the loss guard and the safe-write protocol;
when either refuses, the ChangeSets stay pending with the reason.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.changeset import ChangeSet, PendingChanges
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import LOG, Kind, Sheet
from samtale_automation.errors import WorkbookError, WorkbookLockedError
from samtale_automation.paths import Folder
from samtale_automation.safe_write import Fingerprint, assert_writable, replace_safely
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard, tables
from samtale_automation.workbook.tables import ApplyResult as ApplyResult  # re-exported: commands import it here
from samtale_automation.workbook.tables import TableView, apply_to_tables
from samtale_automation.workbook.upgrade import upgrade_workbook

DATE_FORMAT = "dd.mm.yyyy"
DATETIME_FORMAT = "dd.mm.yyyy hh:mm"


class OpenpyxlGrid:
    """One Excel table in an openpyxl worksheet: the file applier's cell access (tables.Grid)."""

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
        """One cell's value."""
        return self.ws.cell(row, col).value

    def put(self, row: int, col: int, value: Any, kind: Kind) -> None:
        """Write one value (text as text, dates with a date format)."""
        write_cell(self.ws.cell(row, col), value, kind)

    def grow(self, last_row: int) -> None:
        """Stretch the table's range (and its filter) down to `last_row`; the new row takes the style above."""
        from openpyxl.utils import get_column_letter

        min_col, min_row, max_col, max_row = self.bounds()
        ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{last_row}"
        self.table.ref = ref
        if self.table.autoFilter is not None:
            self.table.autoFilter.ref = ref
        for row in range(max_row + 1, last_row + 1):
            if row > min_row + 1:
                _copy_row_style(self.ws, row - 1, row, min_col, max_col)


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


class OpenpyxlTables:
    """The schema's tables in an openpyxl workbook (tables.Tables)."""

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

    def ensure_log(self) -> TableView:
        """The Logg table, creating its sheet and table when the workbook has none."""
        view = self.find(LOG)
        if view is not None:
            return view
        from openpyxl.worksheet.table import Table, TableStyleInfo

        name = LOG.name if LOG.name not in self.wb.sheetnames else f"{LOG.name} samtale"
        ws = self.wb.create_sheet(name)
        for index, column in enumerate(LOG.columns, start=1):
            write_cell(ws.cell(1, index), column.header, Kind.TEXT)
        ref = f"A1:{chr(64 + len(LOG.columns))}2"
        table = Table(displayName=LOG.table, ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(table)
        return TableView(OpenpyxlGrid(ws, ws.tables[LOG.table]), LOG)


def find_table(wb: Any, schema: Sheet) -> TableView | None:
    """Find a schema table in an openpyxl workbook by table name, else on its sheet."""
    return OpenpyxlTables(wb).find(schema)


def ensure_log_table(wb: Any) -> TableView:
    """Return the Logg table, creating its sheet and table when the workbook has none."""
    return OpenpyxlTables(wb).ensure_log()


def apply_changes(wb: Any, changesets: list[ChangeSet], journal: PendingChanges,
                  result: ApplyResult) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets to an open openpyxl workbook; return the seeded values written."""
    return apply_to_tables(OpenpyxlTables(wb), changesets, journal, result)


def refresh_statuses(wb: Any, now: datetime) -> int:
    """Write the derived status into every Samtaler row whose Status cell is out of date."""
    return tables.refresh_statuses(OpenpyxlTables(wb), now)


def refresh_names(wb: Any) -> int:
    """Write each Samtaler row's employee and manager names from Ansatte where they are out of date."""
    return tables.refresh_names(OpenpyxlTables(wb))


def apply_pending(folder: Folder, journal: PendingChanges, now: datetime) -> ApplyResult:
    """Apply every pending ChangeSet to the master file now, or record why it must wait."""
    result = ApplyResult()
    pending = [p.changeset for p in journal.pending()]
    if not pending:
        return result
    ids = [cs.id for cs in pending]
    master = folder.master()
    try:
        assert_writable(master)
        before = Fingerprint.of(master)
        result.backup = _save_with_changes(folder, master, before, pending, journal, result, now)
    except WorkbookLockedError as exc:
        journal.mark_blocked(ids, exc.message)
        result.blocked = exc.message
        return result
    return result


def _save_with_changes(folder: Folder, master: Path, before: Fingerprint,
                       pending: list[ChangeSet], journal: PendingChanges, result: ApplyResult,
                       now: datetime) -> Path:
    import openpyxl

    keep_vba = master.suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(master, keep_vba=keep_vba, rich_text=True, keep_links=True)
    upgrade = upgrade_workbook(wb)
    result.upgraded, result.upgrade_refused = upgrade.added, upgrade.refused
    written = apply_changes(wb, pending, journal, result)
    refresh_statuses(wb, now)
    refresh_names(wb)
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
