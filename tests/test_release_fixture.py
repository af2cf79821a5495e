"""A folder made by release 0.1.0 (tests/fixtures/release-0.1.0) still works with this version.

Real companies upgrade in the middle of a round: the workbook, journal and prep files already out
with employees must still read, verify and collect.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.plans.status import status_report

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    """A private copy of the 0.1.0 folder (the fixture itself is never written)."""
    folder = tmp_path / "Medarbeidersamtaler"
    shutil.copytree(FIXTURES / "release-0.1.0", folder)
    for empty in ("innkommende", "karantene", "maler"):  # git keeps no empty folders
        (folder / empty).mkdir(exist_ok=True)
    return folder


def test_old_folder_reads_with_its_round_and_journal(old_folder: Path) -> None:
    workspace = Workspace.open(old_folder, NOW)
    master = workspace.load()
    assert sorted(master.conversations) == ["2027-2001", "2027-2002", "2027-2003", "2027-2004"]
    assert master.conversations["2027-2001"].prep_returned is not None
    report = status_report(master, workspace.pending(), workspace.now)
    assert sum(report["counts"].values()) == 4


def test_files_still_out_with_employees_collect(old_folder: Path) -> None:
    for returned in (FIXTURES / "release-0.1.0-still-out").iterdir():
        shutil.copy2(returned, old_folder / "innkommende" / returned.name)
    workspace = Workspace.open(old_folder, NOW)
    result = run_collect(workspace, who="test")
    assert result.plan is not None
    outcomes = {d.arrival.name: d.outcome for d in result.plan.decisions}
    assert outcomes == {"2002 forberedelse.xlsx": ACCEPTED, "2003 referat signert.xlsx": ACCEPTED}
    master = workspace.load()
    assert master.conversations["2027-2002"].prep_returned is not None
    assert master.conversations["2027-2003"].minutes_returned is not None
    actions = [a.description for a in master.actions.values() if a.conversation_id == "2027-2003"]
    assert actions == ["Kurs i lønnssystemet"]
    assert not list((old_folder / "karantene").iterdir())


def test_minutes_still_out_enter_the_signing_loop_after_the_upgrade(old_folder: Path) -> None:
    """The 0.1.0 manager's minutes (both sign-offs typed into the manager's file) collect into an upgraded workbook:
    the hidden version columns are added, the manager's signature counts with its version, the employee's typed
    into the manager's file does not, and the employee's fresh copy to countersign completes the loop."""
    import openpyxl

    from samtale_automation.prepfile.fill import fill_minutes

    shutil.copy2(FIXTURES / "release-0.1.0-still-out" / "2003 referat signert.xlsx", old_folder / "innkommende")
    workspace = Workspace.open(old_folder, NOW)
    run_collect(workspace, who="test")
    headers = [c.value for c in openpyxl.load_workbook(old_folder / "samtaler.xlsx")["Samtaler"][1]]
    assert {"Signert ansatt versjon", "Signert leder versjon"} <= set(headers)
    conv = workspace.load().conversations["2027-2003"]
    assert conv.signed_manager is not None and len(conv.signed_manager_version) == 64
    assert conv.signed_employee is None and conv.status(NOW) == "minutes_returned"
    [copy] = list((old_folder / "forberedelse").rglob("2003 * - referat til signering.xlsx"))
    workbook = openpyxl.load_workbook(copy)
    fill_minutes(workbook, signed=("Dag", NOW.date(), "", None))
    workbook.save(old_folder / "innkommende" / "2003 kontrasignert.xlsx")
    run_collect(Workspace.open(old_folder, NOW), who="test")
    conv = Workspace.open(old_folder, NOW).load().conversations["2027-2003"]
    assert conv.status(NOW) == "signed" and conv.signed_employee_version == conv.signed_manager_version
    assert (old_folder / "arkiv" / "2027" / "2003" / "2027-2003 referat signert.pdf").exists()
