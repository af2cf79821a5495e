"""`samtale status`: the JSON report's exact shape, its values, and pending changes laid over the workbook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.status import status_report

pytestmark = pytest.mark.usefixtures("nb_messages")  # the blocked reason is asserted in Norwegian

NOW = datetime(2027, 1, 25, 0, 0, tzinfo=OSLO)  # what `--today 2027-01-25` gives

TOP_KEYS = {"round", "conversations", "actions", "counts", "pending_changes", "set_aside_changes"}
CONVERSATION_KEYS = {"id", "employee_id", "manager_id", "start", "end", "place", "status", "invited",
                     "prep_returned", "manager_prepared", "minutes_returned", "signed_employee", "signed_manager"}
ACTION_KEYS = {"id", "conversation_id", "employee_id", "owner", "deadline", "status"}
STATUS_CODES = ["proposed", "planned", "invited", "prepared", "held", "minutes_returned", "signed", "cancelled"]


def _person(emp_id: str, name: str, manager: str = "1") -> dict[str, Any]:
    return {"employee_id": emp_id, "name": name, "email": f"{name.casefold()}@firma.no", "manager_id": manager,
            "active": "Ja"}


WORKBOOK: dict[str, Any] = {
    "settings": {"round": "2027", "period_start": "11.01.2027", "period_end": "26.02.2027"},
    "employees": [_person("1", "Sjef", manager=""), _person("2", "Kari"), _person("3", "Ola"), _person("4", "Siri")],
    "conversations": [
        {"conversation_id": "2026-2", "employee_id": "2", "manager_id": "1",  # last round: not in the report
         "start": datetime(2026, 2, 2, 9, 0), "end": datetime(2026, 2, 2, 10, 15),
         "signed_employee": date(2026, 2, 9), "signed_manager": date(2026, 2, 10)},
        {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1", "place": "Møterom 1",
         "start": datetime(2027, 1, 20, 10, 0), "end": datetime(2027, 1, 20, 11, 15),
         "invited": date(2027, 1, 4), "prep_returned": date(2027, 1, 15)},
        {"conversation_id": "2027-3", "employee_id": "3", "manager_id": "1",
         "start": datetime(2027, 2, 3, 13, 0), "end": datetime(2027, 2, 3, 14, 15), "invited": date(2027, 1, 4)},
        {"conversation_id": "2027-4", "employee_id": "4", "manager_id": "1"},
    ],
    "actions": [
        {"action_id": "2026-2-1", "conversation_id": "2026-2", "employee_id": "2", "description": "Kurs i Excel",
         "owner": "Kari", "deadline": date(2026, 6, 1), "status": "Pågår"},
        {"action_id": "2026-2-2", "conversation_id": "2026-2", "employee_id": "2", "description": "Mentor"},
    ],
}


@pytest.fixture
def folder(master_folder: Callable[..., Path]) -> Path:
    return master_folder(**WORKBOOK)


def _report(folder: Path) -> dict[str, Any]:
    workspace = Workspace.open(folder, NOW)
    return status_report(workspace.load(), workspace.pending(), workspace.now)


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["conversations"]}


def test_report_has_exactly_the_agreed_keys(folder: Path) -> None:
    """Verify the top level, each conversation and each action carry exactly the keys of the JSON contract."""
    report = _report(folder)
    assert set(report) == TOP_KEYS
    assert report["conversations"]
    for conversation in report["conversations"]:
        assert set(conversation) == CONVERSATION_KEYS
    assert report["actions"]
    for action in report["actions"]:
        assert set(action) == ACTION_KEYS
    assert list(report["counts"]) == STATUS_CODES
    assert report["pending_changes"] == [] and report["set_aside_changes"] == []
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report  # plain JSON types only


def test_report_values(folder: Path) -> None:
    """Verify the current round's conversations with derived status, ISO dates, and times with their offset."""
    report = _report(folder)
    assert report["round"] == "2027"
    assert [c["id"] for c in report["conversations"]] == ["2027-2", "2027-3", "2027-4"]
    assert _by_id(report)["2027-2"] == {
        "id": "2027-2", "employee_id": "2", "manager_id": "1",
        "start": "2027-01-20T10:00:00+01:00", "end": "2027-01-20T11:15:00+01:00", "place": "Møterom 1",
        "status": "held", "invited": "2027-01-04", "prep_returned": "2027-01-15", "manager_prepared": None,
        "minutes_returned": None, "signed_employee": None, "signed_manager": None,
    }
    assert _by_id(report)["2027-3"]["status"] == "invited"
    assert _by_id(report)["2027-3"]["start"] == "2027-02-03T13:00:00+01:00"
    assert _by_id(report)["2027-4"]["status"] == "proposed"
    assert (_by_id(report)["2027-4"]["start"], _by_id(report)["2027-4"]["place"]) == (None, None)
    assert report["counts"] == {"proposed": 1, "planned": 0, "invited": 1, "prepared": 0, "held": 1,
                                "minutes_returned": 0, "signed": 0, "cancelled": 0}


def test_report_actions(folder: Path) -> None:
    """Verify actions are listed by ID with owner, ISO deadline and status, and defaults for empty cells."""
    assert _report(folder)["actions"] == [
        {"id": "2026-2-1", "conversation_id": "2026-2", "employee_id": "2", "owner": "Kari",
         "deadline": "2026-06-01", "status": "Pågår"},
        {"id": "2026-2-2", "conversation_id": "2026-2", "employee_id": "2", "owner": None, "deadline": None,
         "status": "Ikke startet"},
    ]


def test_start_end_are_iso_8601_with_offset(folder: Path) -> None:
    """Verify every start/end parses as an aware ISO 8601 time that is the Oslo wall-clock time of the cell."""
    for conversation in _report(folder)["conversations"]:
        for field_name in ("start", "end"):
            if conversation[field_name] is None:
                continue
            moment = datetime.fromisoformat(conversation[field_name])
            assert moment.utcoffset() is not None
            assert conversation[field_name][-6:] in ("+01:00", "+02:00")
    start = datetime.fromisoformat(_by_id(_report(folder))["2027-2"]["start"])
    assert start == datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # 10:00 in Oslo is 09:00 UTC in winter


def _invite_change() -> ChangeSet:
    change = ChangeSet("Invitasjon til Siri")
    change.upsert("Samtaler", "2027-4", force=True, start=datetime(2027, 2, 4, 9, 0, tzinfo=OSLO),
                  end=datetime(2027, 2, 4, 10, 15, tzinfo=OSLO), place="Kantina")
    change.upsert("Samtaler", "2027-4", invited=date(2027, 1, 24))
    change.upsert("Ansatte", "5", name="Nyansatt", email="ny@firma.no", manager_id="1", active="Ja")
    change.upsert("Samtaler", "2027-5", employee_id="5", manager_id="1", status="Foreslått")
    return change


def test_pending_changes_are_in_the_values_and_listed(folder: Path,
                                                      excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify a change refused because Excel has the master open shows in the report's values and pending_changes."""
    master = folder / "samtaler.xlsx"
    (folder / "~$samtaler.xlsx").write_bytes(excel_owner_file("Kari HR"))
    before = master.read_bytes()
    workspace = Workspace.open(folder, NOW)
    change = _invite_change()
    result = workspace.commit(change)
    assert result.blocked is not None
    assert "Kari HR" in result.blocked
    assert master.read_bytes() == before  # nothing was written while the workbook is open

    report = _report(folder)
    assert [c["id"] for c in report["conversations"]] == ["2027-2", "2027-3", "2027-4", "2027-5"]
    siri = _by_id(report)["2027-4"]
    assert (siri["start"], siri["end"], siri["place"]) == ("2027-02-04T09:00:00+01:00", "2027-02-04T10:15:00+01:00",
                                                           "Kantina")
    assert (siri["invited"], siri["status"]) == ("2027-01-24", "invited")
    assert _by_id(report)["2027-5"]["status"] == "proposed"
    assert report["counts"]["invited"] == 2
    assert report["counts"]["proposed"] == 1
    assert len(report["pending_changes"]) == 1
    pending = report["pending_changes"][0]
    assert pending["id"] == change.id
    assert pending["reason"] == f"Invitasjon til Siri: {result.blocked}"
    assert "samtaler.xlsx er åpen hos Kari HR" in pending["reason"]


def test_status_predicts_what_the_workbook_will_say(folder: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify the report with pending changes equals the report once they are applied, except the pending list."""
    owner_file = folder / "~$samtaler.xlsx"
    owner_file.write_bytes(excel_owner_file("Kari HR"))
    workspace = Workspace.open(folder, NOW)
    workspace.commit(_invite_change())
    predicted = _report(folder)
    assert predicted["pending_changes"]

    owner_file.unlink()
    result = workspace.commit(None)
    assert result.blocked is None
    assert len(result.applied) == 1
    applied = _report(folder)
    assert applied["pending_changes"] == []
    assert {k: v for k, v in applied.items() if k != "pending_changes"} == {
        k: v for k, v in predicted.items() if k != "pending_changes"}


def test_pending_without_a_blocked_reason_lists_only_its_reason(folder: Path) -> None:
    """Verify a pending ChangeSet that no apply has refused yet is listed by its own reason."""
    workspace = Workspace.open(folder, NOW)
    change = ChangeSet("Venter på neste kjøring")
    change.upsert("Samtaler", "2027-4", place="Rom 2", force=True)
    with workspace.journal() as journal:
        journal.add_changeset(change)
    report = _report(folder)
    assert report["pending_changes"] == [{"id": change.id, "reason": "Venter på neste kjøring"}]
    assert _by_id(report)["2027-4"]["place"] == "Rom 2"


def test_cli_status_json(folder: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify `samtale --dir D --today 2027-01-25 status --json` prints the same object as status_report."""
    (folder / "~$samtaler.xlsx").write_bytes(excel_owner_file("Kari HR"))
    Workspace.open(folder, NOW).commit(_invite_change())
    env = {**os.environ, "SAMTALE_LANG": "nb", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "--today", "2027-01-25",
                           "status", "--json"], capture_output=True, text=True, encoding="utf-8", env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert set(printed) == TOP_KEYS
    assert printed == _report(folder)
    assert [p["reason"].split(":")[0] for p in printed["pending_changes"]] == ["Invitasjon til Siri"]
