"""`overlay_pending`: pending ChangeSets laid over the raw rows just read, by ID, in memory (pure)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS, EMPLOYEES, LOG, Sheet
from samtale_automation.plans.overlay import PENDING_ROW, overlay_pending

LastWritten = dict[str, dict[str, dict[str, Any]]]  # table -> key -> field -> value the tool last wrote

KARI = {"conversation_id": "2027-1001", "employee_id": "1001", "manager_id": "1",
        "start": datetime(2027, 2, 3, 10, 0), "place": "Møterom 1", "invited": date(2027, 1, 4)}
OLA = {"conversation_id": "2027-1002", "employee_id": "1002", "manager_id": "1", "place": "Kantina"}


def _raw(tables: dict[Sheet, list[dict[str, Any]]]) -> RawWorkbook:
    """A raw workbook whose tables start at A1, data from row 2, columns in schema order."""
    found = {}
    for sheet, rows in tables.items():
        columns = {c.field: i for i, c in enumerate(sheet.columns)}
        found[sheet.table] = RawTable(sheet, sheet.name, columns, 1,
                                      [RawRow(n, dict(values)) for n, values in enumerate(rows, start=2)])
    return RawWorkbook(Path("master.xlsx"), found, [], [s.name for s in tables])


def _overlay(raw: RawWorkbook, *changesets: ChangeSet, written: LastWritten | None = None) -> RawWorkbook:
    known = written or {}
    return overlay_pending(raw, list(changesets), lambda table: known.get(table, {}))


def _rows(raw: RawWorkbook, sheet: Sheet) -> list[tuple[int, dict[str, Any]]]:
    return [(row.excel_row, row.values) for row in raw.tables[sheet.table].rows]


def _changes(by_key: dict[str, dict[str, Any]]) -> ChangeSet:
    """One ChangeSet of Samtaler upserts, by SamtaleID."""
    changeset = ChangeSet("test")
    for key, values in by_key.items():
        changeset.upsert_row(CONVERSATIONS.table, key, values)
    return changeset


def test_a_pending_change_merges_into_the_row_with_its_id_and_touches_nothing_else() -> None:
    """An existing row gets only the changeset's columns; its other cells, its row number and other rows stay."""
    raw = _raw({CONVERSATIONS: [KARI, OLA]})
    result = _overlay(raw, _changes({"2027-1002": {"prep_returned": date(2027, 1, 20)}}))
    assert result is raw  # laid over the rows just read, not a copy
    assert _rows(result, CONVERSATIONS) == [
        (2, KARI),
        (3, {**OLA, "prep_returned": date(2027, 1, 20)}),
    ]


def test_a_new_id_is_appended_as_a_pending_row() -> None:
    """A key not in the table becomes a new row (excel_row PENDING_ROW) holding exactly the change's values."""
    raw = _raw({CONVERSATIONS: [KARI]})
    values = {"employee_id": "1003", "manager_id": "1", "start": datetime(2027, 2, 4, 9, 0)}
    _overlay(raw, _changes({"2027-1003": values}))
    assert _rows(raw, CONVERSATIONS) == [(2, KARI), (PENDING_ROW, {"conversation_id": "2027-1003", **values})]


def test_rows_without_an_id_are_appended_to_logg() -> None:
    """An append (Logg) adds one row per change, after the rows already there."""
    first = {"time": datetime(2027, 1, 4, 2, 0), "event": "Invitasjoner sendt", "who": "samtale", "result": "ok"}
    raw = _raw({LOG: [first]})
    changeset = ChangeSet("test")
    changeset.append(LOG.table, time=datetime(2027, 1, 5, 2, 0), event="Fil mottatt", who="nattjobb", result="a")
    changeset.append(LOG.table, time=datetime(2027, 1, 5, 2, 0), event="Fil mottatt", who="nattjobb", result="b")
    _overlay(raw, changeset)
    assert [(n, v["result"]) for n, v in _rows(raw, LOG)] == [(2, "ok"), (PENDING_ROW, "a"), (PENDING_ROW, "b")]


def test_person_columns_of_an_existing_row_are_kept_unless_forced() -> None:
    """A person's cells (Start, Sted) are not overwritten on an existing row; a forced change is."""
    raw = _raw({CONVERSATIONS: [KARI]})
    plain = _changes({"2027-1001": {"place": "Kantina", "start": datetime(2027, 2, 5, 9, 0),
                                      "note": "flyttet"}})
    _overlay(raw, plain)
    assert _rows(raw, CONVERSATIONS) == [(2, {**KARI, "note": "flyttet"})]
    forced = ChangeSet("round new")
    forced.upsert(CONVERSATIONS.table, "2027-1001", force=True, place="Kantina")
    _overlay(raw, forced)
    assert raw.tables[CONVERSATIONS.table].rows[0].values["place"] == "Kantina"


def test_seeded_columns_follow_the_tool_until_a_person_changes_them() -> None:
    """Seeded cells: blank → written; still what the tool last wrote → written; changed by a person → kept."""
    rows = [{"action_id": "2027-1001-1", "description": "Kurs", "goal": "", "owner": "Kari"},
            {"action_id": "2027-1001-2", "description": "Mentor (rettet av Kari)", "owner": "Kari"}]
    raw = _raw({ACTIONS: rows})
    written = {ACTIONS.table: {"2027-1001-1": {"description": "Kurs"}, "2027-1001-2": {"description": "Mentor"}}}
    changeset = ChangeSet("collect")
    changeset.upsert(ACTIONS.table, "2027-1001-1", description="Kurs i Excel", goal="Pivottabeller")
    changeset.upsert(ACTIONS.table, "2027-1001-2", description="Mentorordning", owner="Sjef")
    asked: list[str] = []

    def last_written(table: str) -> dict[str, dict[str, Any]]:
        asked.append(table)
        return written.get(table, {})

    overlay_pending(raw, [changeset], last_written)
    assert _rows(raw, ACTIONS) == [
        (2, {"action_id": "2027-1001-1", "description": "Kurs i Excel", "goal": "Pivottabeller", "owner": "Kari"}),
        (3, {"action_id": "2027-1001-2", "description": "Mentor (rettet av Kari)", "owner": "Kari"}),
    ]
    assert set(asked) == {ACTIONS.table}


def test_ids_match_as_ids_whatever_the_cell_holds() -> None:
    """A key typed as a number (1001 or 1001.0) is the row with ID «1001»; the first of duplicate IDs gets it."""
    raw = _raw({EMPLOYEES: [{"employee_id": 1001.0, "name": "Kari"}, {"employee_id": 1001, "name": "Kari igjen"},
                            {"employee_id": 7, "name": "Per"}]})
    changeset = ChangeSet("test")
    changeset.upsert(EMPLOYEES.table, "1001", force=True, name="Kari Nordmann")
    changeset.upsert(EMPLOYEES.table, "7", force=True, name="Per Hansen")
    _overlay(raw, changeset)
    assert [v["name"] for _, v in _rows(raw, EMPLOYEES)] == ["Kari Nordmann", "Kari igjen", "Per Hansen"]
    assert len(raw.tables[EMPLOYEES.table].rows) == 3


def test_changesets_apply_in_order_and_a_pending_row_takes_later_changes() -> None:
    """Later ChangeSets win on tool cells, and a row created by an earlier pending change is updated, not duplicated."""
    raw = _raw({CONVERSATIONS: [KARI]})
    first = _changes({"2027-1001": {"prep_returned": date(2027, 1, 20)},
                        "2027-1003": {"employee_id": "1003", "manager_id": "1"}})
    second = _changes({"2027-1001": {"prep_returned": date(2027, 1, 22)},
                         "2027-1003": {"invited": date(2027, 1, 21)}})
    _overlay(raw, first, second)
    assert _rows(raw, CONVERSATIONS) == [
        (2, {**KARI, "prep_returned": date(2027, 1, 22)}),
        (PENDING_ROW, {"conversation_id": "2027-1003", "employee_id": "1003", "manager_id": "1",
                       "invited": date(2027, 1, 21)}),
    ]


def test_changes_for_a_table_the_workbook_lacks_are_left_out() -> None:
    """A table not found in the workbook gets nothing (its changes wait for the applier); the others still apply."""
    raw = _raw({CONVERSATIONS: [KARI]})
    changeset = _changes({"2027-1001": {"note": "sjekket"}})
    changeset.upsert(ACTIONS.table, "2027-1001-1", description="Kurs")
    changeset.append(LOG.table, event="Fil mottatt")
    _overlay(raw, changeset)
    assert set(raw.tables) == {CONVERSATIONS.table}
    assert _rows(raw, CONVERSATIONS) == [(2, {**KARI, "note": "sjekket"})]


def test_an_empty_list_of_changesets_changes_nothing() -> None:
    """No pending ChangeSets: the rows are exactly as read."""
    raw = _raw({CONVERSATIONS: [KARI, OLA]})
    _overlay(raw)
    assert _rows(raw, CONVERSATIONS) == [(2, KARI), (3, OLA)]


def test_a_seeded_cell_written_by_an_earlier_pending_change_follows_a_later_one() -> None:
    """Two pending collects revise the same action: the overlay shows the later text, as the applier writes it."""
    raw = _raw({ACTIONS: [{"action_id": "2027-1001-1", "description": "Kurs"}]})
    written = {ACTIONS.table: {"2027-1001-1": {"description": "Kurs"}}}
    first, second = ChangeSet("collect 1"), ChangeSet("collect 2")
    first.upsert(ACTIONS.table, "2027-1001-1", description="Kurs i Excel")
    second.upsert(ACTIONS.table, "2027-1001-1", description="Kurs i Excel og Power BI")
    _overlay(raw, first, second, written=written)
    assert raw.tables[ACTIONS.table].rows[0].values["description"] == "Kurs i Excel og Power BI"
