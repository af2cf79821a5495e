"""The file applier: apply pending ChangeSets to the master workbook headlessly (openpyxl).

Rows are found by their ID, columns by header; tables grow when rows are appended. Text is
always written as text. The save goes through the loss guard and the safe-write protocol;
when either refuses, the ChangeSets stay pending with the reason.

A ChangeSet whose data cannot be written (a value openpyxl refuses while writing or saving)
is set aside in the journal with its reason and a Logg notice, and every other pending
ChangeSet is applied in the same write: one bad value never blocks the rest, and nothing is
dropped silently (DESIGN.md §6). Appended rows (Logg) carry their ChangeSet's id in a hidden
column, so a ChangeSet applied again after a crash between the save and the journal's mark
does not write them twice.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.cells import as_text, xml_safe, xml_safe_text
from samtale_automation.domain.changeset import (
    NOTICE_REASON,
    ChangeSet,
    Conflict,
    PendingChanges,
    merge_row,
    seeded_fields,
    set_aside_notice,
)
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, LOG, STATUS_LABELS, TABLE_BY_NAME
from samtale_automation.errors import WorkbookError, WorkbookLockedError
from samtale_automation.paths import Folder
from samtale_automation.safe_write import Fingerprint, assert_writable, replace_safely
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.overview import OverviewPlanner, refresh_overview
from samtale_automation.workbook.printing import print_setup
from samtale_automation.workbook.tables import TableView, ensure_log_table, find_table
from samtale_automation.workbook.upgrade import upgrade_workbook

#: The hidden Logg column naming the ChangeSet that appended a row.
MARKER = "changeset"
MAX_REASON = 300


@dataclass
class ApplyResult:
    """What one apply did: ChangeSets applied or set aside, rows created/updated, conflicts, or why not."""

    applied: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    blocked: str | None = None
    backup: Path | None = None
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # (ChangeSet id, why) set aside now
    upgraded: list[str] = field(default_factory=list)  # «Samtaler: Navn»: added by upgrade in place
    upgrade_refused: list[str] = field(default_factory=list)


class ChangeSetFailed(Exception):
    """Writing one ChangeSet's data failed: it is set aside, the others are applied."""

    def __init__(self, changeset: ChangeSet, why: str) -> None:
        super().__init__(why)
        self.changeset = changeset
        self.why = why


def data_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a value cannot be written (not a locked, missing or damaged file)."""
    from openpyxl.utils.exceptions import IllegalCharacterError

    return (ValueError, TypeError, KeyError, IndexError, OverflowError, IllegalCharacterError)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for Logg and the journal: the error, made safe to write and kept short."""
    text = xml_safe_text(as_text(f"{type(exc).__name__}: {exc}"))
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


def apply_changes(wb: Any, changesets: list[ChangeSet], journal: PendingChanges,
                  result: ApplyResult, now: datetime | None = None) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets to an open workbook; return the seeded values written.

    Raises ChangeSetFailed naming the ChangeSet whose data could not be written (the workbook
    is then half-written and must be reloaded). Rows a ChangeSet appends carry its id; when
    Logg already holds rows with that id, the ChangeSet was applied before and they are skipped.
    """
    applier = _Applier(wb, journal, result)
    for changeset in changesets:
        try:
            applier.apply(changeset)
        except data_errors() as exc:
            raise ChangeSetFailed(changeset, f"{applier.at}: {describe_error(exc)}") from exc
    # real time when the run gives no moment
    stamp = (now or datetime.now(OSLO)).astimezone(OSLO).replace(tzinfo=None, microsecond=0)
    for changeset_id, conflict in applier.conflicts:
        log = applier.view(LOG.table)
        log.write(log.new_row(), {"time": stamp, "event": "Konflikt", "who": "samtale",
                                  "result": conflict.describe(), MARKER: changeset_id})
    return applier.written


class _Applier:
    """Applies ChangeSets one by one to an open workbook, remembering what it wrote."""

    def __init__(self, wb: Any, journal: PendingChanges, result: ApplyResult) -> None:
        self.wb, self.journal, self.result = wb, journal, result
        self.views: dict[str, TableView] = {}
        self.written: dict[tuple[str, str, str], Any] = {}
        self.last_written: dict[str, dict[str, dict[str, Any]]] = {}
        self.conflicts: list[tuple[str, Conflict]] = []
        self.marked: set[str] | None = None  # ChangeSet ids Logg's marker column holds
        self.at = ""  # the row being written, for the reason when it fails

    def view(self, table: str) -> TableView:
        view = self.views.get(table)
        if view is None:
            schema = TABLE_BY_NAME[table]
            found = ensure_log_table(self.wb) if schema is LOG else find_table(self.wb, schema)
            if found is None:
                raise WorkbookError(
                    tr(f"Fant ikke tabellen {schema.table} på arket «{schema.name}».",
                       f"Table {schema.table} on sheet «{schema.name}» not found."),
                    hint=tr("Kjør «samtale check».", "Run «samtale check»."))
            view = self.views[table] = found
        return view

    def applied_before(self, changeset_id: str) -> bool:
        """Whether Logg already holds rows this ChangeSet appended (a re-apply after a crash)."""
        if self.marked is None:
            log = self.view(LOG.table)
            col = log.columns.get(MARKER)
            self.marked = set() if col is None else {
                as_text(log.ws.cell(row, col).value) for row in range(log.min_row + 1, log.max_row + 1)}
        return changeset_id in self.marked

    def apply(self, changeset: ChangeSet) -> None:
        appends = any(change.key is None for change in changeset.changes)
        repeat = appends and self.applied_before(changeset.id)
        conflicts: list[Conflict] = []
        for unsafe in changeset.changes:
            # Merged and remembered as written, so the journal's last-written value is the cell's.
            self.at = xml_safe_text(f"{unsafe.table} {unsafe.key or '+'}")
            change = replace(unsafe, values={k: xml_safe(v) for k, v in unsafe.values.items()})
            view = self.view(change.table)
            if change.key is None:
                if not repeat:
                    view.write(view.new_row(), {**change.values, MARKER: changeset.id})
                    self.result.created += 1
                continue
            if change.table not in self.last_written:
                self.last_written[change.table] = self.journal.last_written(change.table)
            last = self.last_written[change.table]
            row = view.rows.get(change.key)
            current = view.current(row) if row is not None else None
            writes, found = merge_row(change, current, last.get(change.key, {}))
            conflicts += found
            if row is None:
                row = view.rows[change.key] = view.new_row()
                self.result.created += 1
            elif writes:
                self.result.updated += 1
            view.write(row, writes)
            for field_name in seeded_fields(change.table) & writes.keys():
                self.written[(change.table, change.key, field_name)] = writes[field_name]
                last.setdefault(change.key, {})[field_name] = writes[field_name]
        self.result.conflicts += conflicts
        if conflicts and not self.applied_before(changeset.id):
            self.conflicts += [(changeset.id, conflict) for conflict in conflicts]


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

    A ChangeSet whose data cannot be written is set aside (with a Logg notice) and the write
    is made with the others; `result.set_aside` names it. `overview` works out the Oversikt
    sheet, written on every write (plans.overview.plan_overview).
    """
    result = ApplyResult()
    if not journal.pending():
        return result
    master = folder.master()
    try:
        assert_writable(master)
        before = Fingerprint.of(master)
        result.backup = _Writer(folder, master, journal, result, now, overview).write(before)
    except WorkbookLockedError as exc:
        journal.mark_blocked([p.changeset.id for p in journal.pending()], exc.message)
        result.blocked = exc.message
    return result


class _Writer:
    """One write of the master: load, apply, save safely; set aside what cannot be written and retry."""

    def __init__(self, folder: Folder, master: Path, journal: PendingChanges, result: ApplyResult,
                 now: datetime, overview: OverviewPlanner) -> None:
        self.folder, self.master, self.journal, self.result, self.now = folder, master, journal, result, now
        self.overview = overview
        self.inventory_before = loss_guard.inventory(master)

    def write(self, before: Fingerprint) -> Path:
        while True:
            pending = [p.changeset for p in self.journal.pending()]
            attempt = ApplyResult()
            wb = self._load()
            try:
                written = self._fill(wb, pending, attempt)
                backup = replace_safely(self.master, before, wb.save, self._verify, self.folder.backups)
            except ChangeSetFailed as failure:
                self._set_aside(failure)
                continue
            except data_errors() as exc:  # a value openpyxl took but could not save
                self._set_aside(self._find_unsaveable(pending, exc))
                continue
            finally:
                _close(wb)
            self.journal.mark_applied([cs.id for cs in pending], written)
            self.result.applied = [cs.id for cs in pending]
            self.result.created, self.result.updated = attempt.created, attempt.updated
            self.result.conflicts = attempt.conflicts
            self.result.upgraded, self.result.upgrade_refused = attempt.upgraded, attempt.upgrade_refused
            return backup

    def _load(self) -> Any:
        import openpyxl

        keep_vba = self.master.suffix.lower() == ".xlsm"
        return openpyxl.load_workbook(self.master, keep_vba=keep_vba, rich_text=True, keep_links=True)

    def _fill(self, wb: Any, pending: list[ChangeSet], result: ApplyResult) -> dict[tuple[str, str, str], Any]:
        upgrade = upgrade_workbook(wb)
        result.upgraded, result.upgrade_refused = upgrade.added, upgrade.refused
        written = apply_changes(wb, pending, self.journal, result, self.now)
        refresh_statuses(wb, self.now)
        refresh_names(wb)
        if refresh_overview(wb, self.now, self.overview):  # a master from an earlier version had formulas there
            upgrade.added.append(tr("Oversikt: tall og diagram i stedet for formler",
                                    "Oversikt: numbers and a chart instead of formulas"))
        print_setup(wb)  # every sheet on A4 one page wide: a master of an earlier version gets it here too
        if upgrade.changed:
            log = ensure_log_table(wb)
            log.write(log.new_row(), {"time": self.now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
                                      "event": tr("Arbeidsboken oppgradert", "Workbook upgraded"), "who": "samtale",
                                      "result": tr("La til ", "Added ") + "; ".join(upgrade.added)})
        return written

    def _set_aside(self, failure: ChangeSetFailed) -> None:
        changeset = failure.changeset
        # A notice that cannot be written itself gets no notice of its own (and so no loop).
        notice = None if changeset.reason == NOTICE_REASON else set_aside_notice(changeset, failure.why, self.now)
        self.journal.mark_set_aside(changeset.id, failure.why, notice)
        self.result.set_aside.append((changeset.id, failure.why))

    def _find_unsaveable(self, pending: list[ChangeSet], error: BaseException) -> ChangeSetFailed:
        """Find the first ChangeSet whose values make the save fail, by saving ever longer prefixes in memory.

        When the workbook cannot be saved even without any of them, or with all of them, the
        fault is not one ChangeSet's data and is raised as it is.
        """
        for count in range(len(pending) + 1):
            wb = self._load()
            try:
                self._fill(wb, pending[:count], ApplyResult())
                wb.save(io.BytesIO())
            except data_errors() as exc:
                if count == 0:
                    raise error from exc
                return ChangeSetFailed(pending[count - 1], describe_error(exc))
            finally:
                _close(wb)
        raise error

    def _verify(self, temp: Path) -> None:
        import openpyxl

        with zipfile.ZipFile(temp) as package:
            if package.testzip() is not None:
                raise WorkbookError(tr("Den nye arbeidsboken ble skadet under lagring.",
                                       "The new workbook was damaged while saving."))
        lost = loss_guard.lost_features(self.inventory_before, loss_guard.inventory(temp))
        if lost:
            raise WorkbookLockedError(
                tr("Arbeidsboken inneholder noe samtale ikke kan lagre uten å miste det: ",
                   "The workbook holds something samtale cannot save without losing it: ")
                + "; ".join(lost),
                hint=tr("Fjern det som nevnes, eller åpne arbeidsboken i Excel og bruk knappene der.",
                        "Remove what is named, or open the workbook in Excel and use its buttons."),
            )
        openpyxl.load_workbook(temp, read_only=True).close()


def _close(wb: Any) -> None:
    if getattr(wb, "vba_archive", None) is not None:
        wb.vba_archive.close()  # openpyxl keeps the source zip open for the VBA parts
