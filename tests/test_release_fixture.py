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
