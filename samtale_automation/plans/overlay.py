"""What the workbook will say once pending ChangeSets are applied (for `status` and planning).

Applies the same merge rule as the file applier, in memory, to the raw rows just read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from samtale_automation.domain import cells
from samtale_automation.domain.changeset import ChangeSet, merge_row, seeded_fields
from samtale_automation.domain.rows import RawRow, RawWorkbook

PENDING_ROW = 0  # excel_row of a row that exists only in a pending change


def overlay_pending(raw: RawWorkbook, changesets: list[ChangeSet],
                    last_written: Callable[[str], dict[str, dict[str, Any]]]) -> RawWorkbook:
    """Apply pending ChangeSets to raw rows in memory (the workbook file is not touched)."""
    indexes: dict[str, dict[str, RawRow]] = {}
    written: dict[str, dict[str, dict[str, Any]]] = {}  # like the applier: seeded values as they are written
    for changeset in changesets:
        for change in changeset.changes:
            table = raw.tables.get(change.table)
            if table is None:
                continue
            if change.key is None:
                table.rows.append(RawRow(PENDING_ROW, dict(change.values)))
                continue
            key_field = table.schema.key
            assert key_field is not None
            if change.table not in indexes:
                index: dict[str, RawRow] = {}
                for existing in table.rows:
                    index.setdefault(cells.as_id(existing.values.get(key_field)), existing)
                indexes[change.table] = index
            row = indexes[change.table].get(change.key)
            current = dict(row.values) if row is not None else None
            if change.table not in written:
                written[change.table] = {key: dict(values) for key, values in last_written(change.table).items()}
            writes, _ = merge_row(change, current, written[change.table].get(change.key, {}))
            for field_name in seeded_fields(change.table) & writes.keys():
                written[change.table].setdefault(change.key, {})[field_name] = writes[field_name]
            if row is None:
                row = indexes[change.table][change.key] = RawRow(PENDING_ROW, writes)
                table.rows.append(row)
            else:
                row.values.update(writes)
    return raw
