"""A value a workbook cannot hold never stops the writes: it is made safe, or its ChangeSet is set aside.

The attack: a returned minutes file whose action text holds a pasted vertical tab (Excel stores
it as `_x000B_`) was archived, but its ChangeSet could never be saved, and every later command
retried it first and crashed, so no later change reached the workbook.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.set_aside import discard_set_aside, find_set_aside, retry_set_aside
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import UsageError
from samtale_automation.plans.check import check_master
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.plans.status import set_aside_problems, status_report
from samtale_automation.prepfile.fill import fill_minutes
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)
#: Two lines pasted into the action from Word (a vertical tab, stored by Excel as `_x000B_`) below one typed.
PASTED = "Kurs i Power BI\nDel 1_x000B_Del 2"
WRITTEN = "Kurs i Power BI\nDel 1\nDel 2"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A folder with round 2027 for two employees and their prep files written."""
    init_folder(tmp_path / "f")
    ws = Workspace.open(tmp_path / "f", NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Ansatt", email="bjorn@firma.example", manager_id="1", active="Ja")
    staff.upsert("Ansatte", "3", name="Cecilie Ansatt", email="cecilie@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    run_prep(ws)
    return ws


def _returned_minutes(ws: Workspace, name: str, action: str) -> Path:
    prep = next((ws.folder.root / "forberedelse" / "2027").rglob("2 * - forberedelse.xlsx"))
    workbook = openpyxl.load_workbook(prep)
    fill_minutes(workbook, summaries={0: "Et godt år."}, actions=[(action, "Bedre rapporter", "Bjørn",
                                                                   date(2027, 5, 1))])
    out = ws.folder.root / "innkommende" / name
    workbook.save(out)
    return out


def _rows(ws: Workspace, table: str) -> list[dict[str, Any]]:
    return [r.values for r in read_workbook(ws.folder.master()).tables[table].rows]


def _without_xml_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write text as it comes, as before the fix: what openpyxl refuses now reaches it."""
    monkeypatch.setattr("samtale_automation.workbook.apply.xml_safe", lambda value: value)
    monkeypatch.setattr("samtale_automation.workbook.tables.xml_safe_text", lambda text: text)


def _staff_change(name: str) -> ChangeSet:
    change = ChangeSet(f"ny ansatt {name}")
    change.upsert("Ansatte", "4", name=name, email="dag@firma.example", manager_id="1", active="Ja")
    return change


def test_vertical_tab_in_minutes_and_file_name_is_written_and_later_commands_work(workspace: Workspace) -> None:
    """Verify minutes whose action holds a pasted vertical tab, in a file whose name holds one, are accepted
    and written (the tab a line break; the file name shown with «?» for each control character), and the next
    commands write as usual with nothing set aside."""
    _returned_minutes(workspace, "referat\x0bBjørn\x01.xlsx", PASTED)
    result = run_collect(workspace)
    assert result.plan is not None and [d.outcome for d in result.plan.decisions] == [ACCEPTED]
    assert result.apply is not None and result.apply.set_aside == [] and result.apply.blocked is None
    assert [a["description"] for a in _rows(workspace, "Tiltak")] == [WRITTEN]
    received = [r["result"] for r in _rows(workspace, "Logg") if r["event"] == "Fil mottatt"]
    assert len(received) == 1 and received[0].startswith("referat?Bjørn?.xlsx")
    assert workspace.commit(_staff_change("Dag Ny")).applied
    assert workspace.commit(plan_new_round(workspace.load(), "2028", None, None, NOW, "test").changeset).applied
    assert workspace.pending() == [] and workspace.set_aside() == []
    assert set_aside_problems(workspace.set_aside()) == []


def test_changeset_openpyxl_refuses_is_set_aside_while_the_others_land(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify the attack without the text fix: the minutes' ChangeSet is set aside with its reason, a good
    ChangeSet pending with it lands in the same write, Logg says so, later commands work, check and status
    name it, and a retry once it can be written lands it."""
    _without_xml_safe(monkeypatch)
    good = _staff_change("Dag Ny")
    with workspace.journal() as journal:
        journal.add_changeset(good)  # waiting from an earlier run
    _returned_minutes(workspace, "referat.xlsx", PASTED)
    result = run_collect(workspace)
    assert result.plan is not None and [d.outcome for d in result.plan.decisions] == [ACCEPTED]
    assert result.apply is not None and result.apply.blocked is None
    [(bad_id, why)] = result.apply.set_aside
    assert "Tiltak 2027-2-1" in why and "IllegalCharacterError" in why and good.id in result.apply.applied
    assert [e["name"] for e in _rows(workspace, "Ansatte") if e["employee_id"] == "4"] == ["Dag Ny"]
    assert _rows(workspace, "Tiltak") == []
    notices = [r for r in _rows(workspace, "Logg") if r["event"] == "Endring satt til side"]
    assert len(notices) == 1 and bad_id in notices[0]["result"] and "--retry" in notices[0]["result"]
    [item] = workspace.set_aside()
    assert (item.changeset.id, item.reason) == (bad_id, why)
    # Later commands write as usual: the set-aside change is no longer retried first.
    assert workspace.commit(_staff_change("Dag Nyere")).applied
    assert workspace.commit(plan_new_round(workspace.load(), "2028", None, None, NOW, "test").changeset).applied
    assert run_collect(workspace).apply is not None
    assert workspace.pending() == []
    [problem] = set_aside_problems(workspace.set_aside())
    assert bad_id in problem.where and "IllegalCharacterError" in problem.message and "--discard" in problem.fix
    assert not any(bad_id in p.where for p in check_master(workspace.load()))  # the workbook itself is fine
    report = status_report(workspace.load(), workspace.pending(), workspace.now, workspace.set_aside())
    assert [(c["id"], c["why"]) for c in report["set_aside_changes"]] == [(bad_id, why)]
    # Retried before the fault is fixed: set aside again, nothing else disturbed.
    again = retry_set_aside(workspace, [bad_id])
    assert [i for i, _ in again.set_aside] == [bad_id] and again.blocked is None
    monkeypatch.undo()
    fixed = retry_set_aside(workspace, [bad_id])
    assert bad_id in fixed.applied and fixed.set_aside == []
    assert [a["description"] for a in _rows(workspace, "Tiltak")] == [WRITTEN]
    assert workspace.set_aside() == []


def test_value_openpyxl_takes_but_cannot_save_is_set_aside(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a value that fails only when the workbook is saved (U+FFFE without the text fix) is found,
    set aside, and the other ChangeSets of the write still land."""
    _without_xml_safe(monkeypatch)
    first, bad, last = _staff_change("Dag Ny"), ChangeSet("ugyldig tegn"), ChangeSet("logg")
    bad.upsert("Ansatte", "5", name="Eva\ufffe", email="eva@firma.example", manager_id="1", active="Ja")
    last.append("Logg", time=datetime(2027, 1, 20, 9, 0), event="Test", who="hr", result="ok")
    with workspace.journal() as journal:
        journal.add_changeset(first)
        journal.add_changeset(bad)
    result = workspace.commit(last)
    assert [i for i, _ in result.set_aside] == [bad.id] and "ValueError" in result.set_aside[0][1]
    assert {first.id, last.id} <= set(result.applied)
    assert {"4"} <= {e["employee_id"] for e in _rows(workspace, "Ansatte")}
    assert "5" not in {e["employee_id"] for e in _rows(workspace, "Ansatte")}
    assert [r["event"] for r in _rows(workspace, "Logg")][-2:] == ["Test", "Endring satt til side"]


def test_value_of_a_type_no_cell_holds_is_set_aside(workspace: Workspace) -> None:
    """Verify a stored ChangeSet with a value no cell can hold (a list) is set aside, with the fix in place."""
    bad = ChangeSet("rar verdi")
    bad.upsert("Ansatte", "5", name=["Eva", "Berg"], email="eva@firma.example", active="Ja")
    result = workspace.commit(bad)
    assert [i for i, _ in result.set_aside] == [bad.id] and "Ansatte" in result.set_aside[0][1]
    assert workspace.commit(_staff_change("Dag Ny")).applied


def test_discard_keeps_the_record_and_says_so_in_logg(workspace: Workspace) -> None:
    """Verify a discarded ChangeSet leaves the set-aside list, is never written, and Logg names who discarded it."""
    bad = ChangeSet("rar verdi")
    bad.upsert("Ansatte", "5", name={"fornavn": "Eva"}, email="eva@firma.example", active="Ja")
    workspace.commit(bad)
    with pytest.raises(UsageError, match="Ikke satt til side"):
        find_set_aside(workspace, ["finnes-ikke"])
    result = discard_set_aside(workspace, [bad.id], "kari.hr")
    assert result.set_aside == [] and workspace.set_aside() == [] and workspace.pending() == []
    [notice] = [r for r in _rows(workspace, "Logg") if r["event"] == "Endring forkastet"]
    assert notice["who"] == "kari.hr" and bad.id in notice["result"]
    with workspace.journal() as journal:
        assert journal.db.execute("SELECT state FROM changesets WHERE id = ?", (bad.id,)).fetchone() == ("discarded",)
    with pytest.raises(UsageError):
        retry_set_aside(workspace, [bad.id])
