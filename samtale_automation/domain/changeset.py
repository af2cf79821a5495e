"""ChangeSets: keyed upserts and appends that carry only the columns their change owns.

The merge rule is pure and shared by every applier (file, live Excel) and by the status
overlay, so what `status` predicts is what the workbook will say (DESIGN.md §4, §6):

- person columns are written only when the tool creates the row;
- tool columns are always written;
- seeded columns are written while the cell is blank or still holds the value the tool
  last wrote; otherwise the person's value is kept and a Conflict is reported.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from samtale_automation.domain import cells
from samtale_automation.domain.cells import CellValueError
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import LOG, TABLE_BY_NAME, Kind, Owner, Sheet
from samtale_automation.texts import tr

#: The reason of a ChangeSet that only tells Logg a ChangeSet was set aside or discarded.
NOTICE_REASON = "samtale: melding til Logg"


@dataclass(frozen=True)
class RowChange:
    """One row to create or update (by key), or to append (key None, e.g. Logg)."""

    table: str
    key: str | None
    values: dict[str, Any]
    force: bool = False  # a person asked for exactly this (e.g. `round new` sets the round)

    def schema(self) -> Sheet:
        """The table's schema."""
        return TABLE_BY_NAME[self.table]


@dataclass(frozen=True)
class Conflict:
    """A seeded cell a person changed; their value was kept."""

    table: str
    key: str
    field: str
    kept: Any  # the person's value, left in the workbook
    offered: Any  # what the tool would have written

    def describe(self) -> str:
        """Norwegian one-liner for Logg and summaries."""
        header = TABLE_BY_NAME[self.table].header(self.field)
        return (f"{self.key} «{header}»: beholdt «{cells.as_text(self.kept)}», "
                f"ikke skrevet «{cells.as_text(self.offered)}»")


@dataclass
class ChangeSet:
    """A unit of intended workbook change, stored in the journal until applied."""

    reason: str
    changes: list[RowChange] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # real time: when the change was recorded (the journal's own timestamp, not a rule's day)
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    def upsert(self, table: str, key: str, *, force: bool = False, **values: Any) -> None:
        """Create or update the row `key` of `table` with these field values.

        With `force`, every given cell is written whatever its owner: for changes a person
        explicitly asked for on the command line.
        """
        self.upsert_row(table, key, values, force=force)

    def upsert_row(self, table: str, key: str, values: dict[str, Any], *, force: bool = False) -> None:
        """Like `upsert`, with the field values in a dict (built up by the caller)."""
        schema = TABLE_BY_NAME[table]
        assert schema.key is not None, f"{table} has no key column"
        self.changes.append(RowChange(table, key, {schema.key: key, **values}, force))

    def append(self, table: str, **values: Any) -> None:
        """Append a row to a table without an ID column (Logg)."""
        self.changes.append(RowChange(table, None, dict(values)))

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> str:
        """Serialise for the journal (dates tagged so they come back as dates)."""
        data = {
            "id": self.id, "reason": self.reason, "created": self.created,
            "changes": [{"table": c.table, "key": c.key, "force": c.force,
                         "values": {k: _encode(v) for k, v in c.values.items()}}
                        for c in self.changes],
        }
        text = json.dumps(data, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a file name's undecodable byte) is stored escaped
            text = json.dumps(data)
        return text

    @classmethod
    def from_json(cls, text: str) -> ChangeSet:
        """Rebuild a ChangeSet stored with `to_json`."""
        data = json.loads(text)
        changes = [RowChange(c["table"], c["key"],
                             {k: decode_value(v) for k, v in c["values"].items()}, c.get("force", False))
                   for c in data["changes"]]
        return cls(data["reason"], changes, data["id"], data["created"])


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def encode_value(value: Any) -> str:
    """JSON text for one cell value (used for the journal's last-written cells)."""
    return json.dumps(_encode(value), ensure_ascii=False)


def decode_text(text: str) -> Any:
    """Turn JSON text written by `encode_value` back into a cell value."""
    return decode_value(json.loads(text))


def decode_value(value: Any) -> Any:
    """Turn a JSON-decoded value back into a cell value (tagged dates become dates)."""
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


def same_value(kind: Kind, left: Any, right: Any) -> bool:
    """Compare two cell values as the column's kind reads them (01.02.2027 == a date)."""
    if cells.is_blank(left) and cells.is_blank(right):
        return True
    if kind is not Kind.DATE and isinstance(left, date) and isinstance(right, date):
        kind = Kind.DATETIME  # a date in a text column (Innstillinger) comes back from openpyxl as midnight
    try:
        if kind is Kind.DATE:
            return cells.as_date(left) == cells.as_date(right)
        if kind is Kind.DATETIME:
            return cells.as_datetime(left) == cells.as_datetime(right)
        if kind is Kind.ID:
            return cells.as_id(left) == cells.as_id(right)
        if kind is Kind.INT:
            return cells.as_int(left) == cells.as_int(right)
    except CellValueError:
        return False
    return cells.as_text(left) == cells.as_text(right)


def merge_row(
    change: RowChange,
    current: dict[str, Any] | None,
    last_written: dict[str, Any],
) -> tuple[dict[str, Any], list[Conflict]]:
    """Decide which cells of one row to write, by column owner; return writes and conflicts.

    `current` is the row as it is in the workbook (None when the row does not exist yet);
    `last_written` holds what the tool last wrote into this row's seeded cells.
    """
    schema = change.schema()
    if current is None:
        return dict(change.values), []
    writes: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for field_name, value in change.values.items():
        column = schema.column(field_name)
        now = current.get(field_name)
        if same_value(column.kind, now, value) or (column.owner is Owner.PERSON and not change.force):
            continue
        if column.owner is not Owner.SEEDED or change.force:
            writes[field_name] = value
            continue
        untouched = cells.is_blank(now) or (
            field_name in last_written and same_value(column.kind, now, last_written[field_name]))
        if untouched:
            writes[field_name] = value
        else:
            conflicts.append(Conflict(change.table, change.key or "", field_name, now, value))
    return writes, conflicts


def seeded_fields(table: str) -> set[str]:
    """Fields of a table whose written values the journal must remember."""
    return {c.field for c in TABLE_BY_NAME[table].columns if c.owner is Owner.SEEDED}


def set_aside_notice(changeset: ChangeSet, why: str, now: datetime) -> ChangeSet:
    """The Logg row that says a ChangeSet was set aside, why, and how to retry or discard it."""
    notice = ChangeSet(NOTICE_REASON)
    notice.append(LOG.table, time=_log_time(now), event=tr("Endring satt til side", "Change set aside"),
                  who="samtale", result=tr(
                      f"«{changeset.reason}» (endringssett {changeset.id}) kan ikke skrives: {why}. Rett dataene og "
                      f"kjør «samtale apply --retry {changeset.id}», eller forkast med «samtale apply --discard "
                      f"{changeset.id}».",
                      f"«{changeset.reason}» (change set {changeset.id}) cannot be written: {why}. Fix the data and "
                      f"run «samtale apply --retry {changeset.id}», or discard it with «samtale apply --discard "
                      f"{changeset.id}»."))
    return notice


def discard_notice(changeset: ChangeSet, why: str, who: str, now: datetime) -> ChangeSet:
    """The Logg row that says a person discarded a set-aside ChangeSet (its changes are never written)."""
    notice = ChangeSet(NOTICE_REASON)
    notice.append(LOG.table, time=_log_time(now), event=tr("Endring forkastet", "Change discarded"), who=who,
                  result=tr(f"«{changeset.reason}» (endringssett {changeset.id}) ble aldri skrevet: {why}",
                            f"«{changeset.reason}» (change set {changeset.id}) was never written: {why}"))
    return notice


def _log_time(now: datetime) -> datetime:
    return (now.astimezone(OSLO) if now.tzinfo else now).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class SetAsideChange:
    """A ChangeSet that could not be applied because of its data, kept with the reason until retried or discarded."""

    changeset: ChangeSet
    reason: str
    since: str  # when it was set aside (ISO time)


@dataclass(frozen=True)
class PendingChange:
    """A ChangeSet waiting to be applied, with why it could not be applied yet."""

    changeset: ChangeSet
    blocked_reason: str | None


class PendingChanges(Protocol):
    """Where ChangeSets wait until a writer applies them (the journal): what an applier reads and marks."""

    def pending(self) -> list[PendingChange]:
        """Every pending ChangeSet, oldest first."""

    def mark_blocked(self, ids: list[str], reason: str) -> None:
        """Note why pending ChangeSets could not be applied this time."""

    def mark_set_aside(self, changeset_id: str, reason: str, notice: ChangeSet | None) -> None:
        """Set a ChangeSet aside with the reason it cannot be applied; record its Logg notice as pending."""

    def mark_applied(self, ids: list[str], written: dict[tuple[str, str, str], Any]) -> None:
        """Mark ChangeSets applied and remember the seeded values written."""

    def last_written(self, table: str) -> dict[str, dict[str, Any]]:
        """What the tool last wrote into each seeded cell of a table: key -> field -> value."""
