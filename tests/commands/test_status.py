"""`samtale status --by manager|department`: the Oversikt sheet's numbers in the terminal and in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from folders import make_folder, samtale

from samtale_automation.commands.results import StatusResult
from samtale_automation.commands.status import run_status
from samtale_automation.faces.present import present, present_json

pytestmark = pytest.mark.usefixtures("nb_messages")


def test_status_by_manager_shows_one_row_per_manager_and_the_total(tmp_path: Path) -> None:
    """Verify the table: the manager's name, the statuses in use, conversations, actions, then «Totalt»."""
    ws = make_folder(tmp_path / "f")
    result = run_status(ws, check_saving=False, by="manager")
    assert isinstance(result, StatusResult) and result.overview is not None
    shown = present(result)
    assert shown.table is not None
    assert shown.table.title == "Samtalerunde 2027 per leder"
    assert shown.table.headers == ["Leder", "Planlagt", "Samtaler i alt", "Tiltak åpne", "Tiltak forfalt"]
    assert shown.table.rows == [["Åse Kjærstad", "2", "2", "0", "0"], ["Totalt", "2", "2", "0", "0"]]
    assert shown.exit_code == 0


def test_status_by_department_in_json_and_on_the_command_line(tmp_path: Path) -> None:
    """Verify --json --by department adds the groups under «by», and the CLI prints the table."""
    ws = make_folder(tmp_path / "f")
    data = json.loads(present_json(run_status(ws, check_saving=False, by="department")).lines[0])
    assert data["round"] == "2027" and len(data["conversations"]) == 2
    assert data["by"]["kind"] == "department"
    names = [group["name"] for group in data["by"]["groups"]]
    assert names[-1] == "Totalt" and data["by"]["groups"][-1]["conversations"] == 2
    shown = samtale("--dir", str(ws.folder.root), "--today", "2027-01-04", "status", "--by", "department")
    assert shown.returncode == 0, shown.stderr
    assert "per avdeling" in shown.stdout and "Totalt" in shown.stdout
    bad = samtale("--dir", str(ws.folder.root), "status", "--by", "team")
    assert bad.returncode == 2 and "Ugyldig verdi for '--by'" in bad.stderr
