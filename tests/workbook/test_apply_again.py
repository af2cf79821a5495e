"""Applying a ChangeSet twice writes its rows once: a crash between the save and the journal's mark.

Rows a ChangeSet appends (Logg) carry its id in Logg's hidden «Endringssett» column; the applier
skips them when Logg already holds that id, however a person has sorted Logg meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.store.journal import Journal
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


class Killed(BaseException):
    """The process dies: after os.replace, before the journal marks the ChangeSets applied."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder made by `samtale init`."""
    root = tmp_path / "Medarbeidersamtaler"
    init_folder(root)
    return root


def _workspace(root: Path) -> Workspace:
    return Workspace.open(root, TODAY)


def _rows(root: Path, table: str) -> list[dict[str, Any]]:
    return [r.values for r in read_workbook(root / "samtaler.xlsx").tables[table].rows]


def _commit_then_die(root: Path, changeset: ChangeSet | None, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(self: Journal, ids: list[str], written: dict[tuple[str, str, str], Any]) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "mark_applied", killed)
        with pytest.raises(Killed):
            _workspace(root).commit(changeset)


def _sort_logg_newest_first(root: Path) -> None:
    """What a person does in Excel: sort Logg by Tid, newest first (whole rows move, hidden column too)."""
    master = root / "samtaler.xlsx"
    wb = openpyxl.load_workbook(master)
    ws = wb["Logg"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_col=5)]
    rows.sort(key=lambda r: r[0] or datetime.min, reverse=True)
    for index, values in enumerate(rows, start=2):
        for col, value in enumerate(values, start=1):
            ws.cell(index, col).value = value
    wb.save(master)


def test_changeset_applied_again_after_a_crash_writes_its_logg_rows_once(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a crash between the save and the journal's mark, then a sort of Logg, then the next write,
    leaves each Logg row and each upserted row exactly once, and the ChangeSet applied."""
    earlier = ChangeSet("tidligere")
    earlier.append("Logg", time=datetime(2027, 1, 3, 9, 0), event="Tidligere", who="hr", result="ok")
    _workspace(folder).commit(earlier)
    cs = ChangeSet("runde")
    cs.upsert("Ansatte", "1001", name="Kari Nordmann", email="kari@firma.no", active="Ja")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event="Runde startet", who="hr", result="1 lagt til")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 1), event="Runde klar", who="hr", result="ok")
    _commit_then_die(folder, cs, monkeypatch)
    assert [p.changeset.id for p in _workspace(folder).pending()] == [cs.id], "the journal never heard"
    assert [r["event"] for r in _rows(folder, "Logg")] == ["Tidligere", "Runde startet", "Runde klar"]
    _sort_logg_newest_first(folder)
    result = _workspace(folder).commit(None)
    assert result.applied == [cs.id] and result.created == 0
    events = sorted(r["event"] for r in _rows(folder, "Logg"))
    assert events == ["Runde klar", "Runde startet", "Tidligere"]
    assert [r["employee_id"] for r in _rows(folder, "Ansatte")] == ["1001"]
    markers = {r["event"]: r["changeset"] for r in _rows(folder, "Logg")}
    assert markers == {"Tidligere": earlier.id, "Runde startet": cs.id, "Runde klar": cs.id}
    assert _workspace(folder).pending() == []


def test_conflict_row_is_not_written_twice(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify the Konflikt row of a ChangeSet applied again after a crash is written once."""
    master = folder / "samtaler.xlsx"
    first = ChangeSet("referat")
    first.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001",
                 description="Kurs i Excel", deadline=date(2027, 3, 1))
    _workspace(folder).commit(first)
    wb = openpyxl.load_workbook(master)
    wb["Tiltak"]["D2"] = "Kurs i Excel og Power BI"  # the person edits the action text
    wb.save(master)
    second = ChangeSet("nytt referat")
    second.upsert("Tiltak", "2027-1001-1", description="Excel-kurs")
    _commit_then_die(folder, second, monkeypatch)
    result = _workspace(folder).commit(None)
    assert result.applied == [second.id] and len(result.conflicts) == 1, "the conflict is still reported"
    assert [r["event"] for r in _rows(folder, "Logg")] == ["Konflikt"]


def _drop_marker_column(master: Path) -> None:
    """Make the master look like one an earlier version made: Logg without «Endringssett»."""
    wb = openpyxl.load_workbook(master)
    ws = wb["Logg"]
    table = ws.tables["Logg"]
    ws["E1"] = None
    ws.column_dimensions["E"].hidden = False
    table.ref = table.autoFilter.ref = "A1:D2"
    table.tableColumns = table.tableColumns[:4]
    wb.save(master)


def test_logg_of_an_earlier_version_gains_the_hidden_marker_column(folder: Path) -> None:
    """Verify the next write adds «Endringssett» to an older Logg table, hidden, and marks the rows."""
    master = folder / "samtaler.xlsx"
    _drop_marker_column(master)
    assert "changeset" not in read_workbook(master).tables["Logg"].columns
    cs = ChangeSet("logg")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event="Hendelse", who="hr", result="ok")
    assert _workspace(folder).commit(cs).applied == [cs.id]
    wb = openpyxl.load_workbook(master)
    ws = wb["Logg"]
    table = ws.tables["Logg"]
    assert table.ref == "A1:E3" and [c.name for c in table.tableColumns][-1] == "Endringssett"
    assert ws.column_dimensions["E"].hidden
    logged, upgraded = _rows(folder, "Logg")
    assert logged == {"time": datetime(2027, 1, 4, 9, 0), "event": "Hendelse", "who": "hr", "result": "ok",
                      "changeset": cs.id}
    assert upgraded["event"] == "Arbeidsboken oppgradert" and "Logg: Endringssett" in upgraded["result"]


def test_logg_with_data_beside_it_is_written_without_marker(folder: Path) -> None:
    """Verify a person's notes right of an older Logg table are left alone; rows are written unmarked."""
    master = folder / "samtaler.xlsx"
    _drop_marker_column(master)
    wb = openpyxl.load_workbook(master)
    wb["Logg"]["E2"] = "mitt notat"
    wb.save(master)
    cs = ChangeSet("logg")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event="Hendelse", who="hr", result="ok")
    assert _workspace(folder).commit(cs).applied == [cs.id]
    ws = openpyxl.load_workbook(master)["Logg"]
    assert ws.tables["Logg"].ref == "A1:D2" and ws["E2"].value == "mitt notat" and ws["B2"].value == "Hendelse"
