"""What both appliers do with ChangeSets, once: merge by ID, mark appended rows, conflicts, Status, names.

The file applier (apply.py) and the live applier (live.py) hand a `tables.Tables` over their own
cell access; everything decided about the rows is here (DESIGN.md §4, §6):

- every value is made XML-safe before it is merged, so what the journal remembers as written is
  what the cell holds;
- rows a ChangeSet appends (Logg) carry its id in the hidden «Endringssett» column, so applying
  it again after a crash between the save and the journal's mark does not write them twice;
- a ChangeSet whose data cannot be written raises ChangeSetFailed naming it: the applier then
  undoes the write (reload, or roll back the open book), sets it aside and applies the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.cells import as_id, as_text, xml_safe, xml_safe_text
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
from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr
from samtale_automation.workbook.tables import Tables, TableView, ensure_log

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


def describe_error(exc: BaseException) -> str:
    """A one-line reason for Logg and the journal: the error, made safe to write and kept short."""
    text = xml_safe_text(as_text(f"{type(exc).__name__}: {exc}"))
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


def set_aside(journal: PendingChanges, failure: ChangeSetFailed, now: datetime, result: ApplyResult) -> None:
    """Set the failed ChangeSet aside in the journal with its reason and a Logg notice (pending, applied next)."""
    changeset = failure.changeset
    # A notice that cannot be written itself gets no notice of its own (and so no loop).
    notice = None if changeset.reason == NOTICE_REASON else set_aside_notice(changeset, failure.why, now)
    journal.mark_set_aside(changeset.id, failure.why, notice)
    result.set_aside.append((changeset.id, failure.why))


def apply_to_tables(tables: Tables, changesets: list[ChangeSet], journal: PendingChanges, result: ApplyResult,
                    now: datetime | None, errors: tuple[type[BaseException], ...],
                    safe: Callable[[Any], Any] = xml_safe) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets to a workbook's tables; return the seeded values written.

    `safe` cleans each value before it is merged (domain.cells.xml_safe; the applier hands its own).

    Raises ChangeSetFailed naming the ChangeSet whose data raised one of `errors` (the workbook
    is then half-written and must be reloaded or rolled back). Rows a ChangeSet appends carry its
    id; when Logg already holds rows with that id, the ChangeSet was applied before and they are skipped.
    """
    applier = _Applier(tables, journal, result, safe)
    for changeset in changesets:
        try:
            applier.apply(changeset)
        except errors as exc:
            raise ChangeSetFailed(changeset, f"{applier.at}: {describe_error(exc)}") from exc
    # real time when the run gives no moment
    stamp = (now or datetime.now(OSLO)).astimezone(OSLO).replace(tzinfo=None, microsecond=0)
    for changeset_id, conflict in applier.conflicts:
        log = applier.view(LOG.table)
        log.write(log.new_row(), {"time": stamp, "event": "Konflikt", "who": "samtale",
                                  "result": conflict.describe(), MARKER: changeset_id})
    return applier.written


class _Applier:
    """Applies ChangeSets one by one to a workbook's tables, remembering what it wrote."""

    def __init__(self, tables: Tables, journal: PendingChanges, result: ApplyResult,
                 safe: Callable[[Any], Any]) -> None:
        self.tables, self.journal, self.result, self.safe = tables, journal, result, safe
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
            found = ensure_log(self.tables) if schema is LOG else self.tables.find(schema)
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
            self.marked = set() if MARKER not in log.columns else {
                as_text(log.value(row, MARKER)) for row in range(log.min_row + 1, log.max_row + 1)}
        return changeset_id in self.marked

    def apply(self, changeset: ChangeSet) -> None:
        appends = any(change.key is None for change in changeset.changes)
        repeat = appends and self.applied_before(changeset.id)
        conflicts: list[Conflict] = []
        for unsafe in changeset.changes:
            # Merged and remembered as written, so the journal's last-written value is the cell's.
            self.at = xml_safe_text(f"{unsafe.table} {unsafe.key or '+'}")
            change = replace(unsafe, values={k: self.safe(v) for k, v in unsafe.values.items()})
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
