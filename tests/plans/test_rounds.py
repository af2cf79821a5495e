"""`samtale round new`: plan one Samtaler row per active employee with a manager, apply it, and stay idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import EXIT_USAGE, UsageError
from samtale_automation.plans.rounds import plan_new_round, validate_round_name

pytestmark = pytest.mark.usefixtures("nb_messages")  # skip reasons are asserted in Norwegian

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=OSLO)
PERIOD = (date(2027, 1, 11), date(2027, 2, 26))


def _person(emp_id: Any, name: str, manager: Any = "1", active: str = "Ja") -> dict[str, Any]:
    return {"employee_id": emp_id, "name": name, "email": f"{name.casefold()}@firma.no", "manager_id": manager,
            "active": active}


STAFF = [
    _person("1", "Sjef", manager=""),  # no manager: skipped
    _person("2", "Kari"),
    _person(3, "Ola"),  # an ID stored as a number still makes «2027-3»
    _person("4", "Gammel", active="Nei"),  # inactive: skipped
    _person("5", "Per", manager="99"),  # manager not in Ansatte: skipped
    _person("6", "Siri", manager=2.0),  # manager ID stored as a float
]


@pytest.fixture
def folder(master_folder: Callable[..., Path]) -> Path:
    return master_folder(employees=STAFF)


def _plan(workspace: Workspace, name: str = "2027") -> Any:
    return plan_new_round(workspace.load(), name, *PERIOD, workspace.now, "hr")


def _samtaler_rows(workspace: Workspace) -> list[dict[str, Any]]:
    """The Samtaler rows as they are in the file (pending changes not laid over)."""
    raw = workspace.load(with_pending=False).raw
    assert raw is not None
    return [row.values for row in raw.tables["Samtaler"].rows]


def test_plan_adds_active_employees_with_a_manager(folder: Path) -> None:
    """Verify the plan adds exactly the active employees whose manager exists, with SamtaleID <round>-<AnsattID>."""
    plan = _plan(Workspace.open(folder, NOW))
    assert [e.employee_id for e in plan.added] == ["2", "3", "6"]
    samtaler = [c for c in plan.changeset.changes if c.table == "Samtaler"]
    assert [(c.key, c.values) for c in samtaler] == [
        ("2027-2", {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1", "status": "Foreslått"}),
        ("2027-3", {"conversation_id": "2027-3", "employee_id": "3", "manager_id": "1", "status": "Foreslått"}),
        ("2027-6", {"conversation_id": "2027-6", "employee_id": "6", "manager_id": "2", "status": "Foreslått"}),
    ]
    assert all(not c.force for c in samtaler)


def test_plan_skips_with_reasons(folder: Path) -> None:
    """Verify inactive people, people without a manager and people with an unknown manager are skipped with why."""
    plan = _plan(Workspace.open(folder, NOW))
    assert [(e.employee_id, why) for e, why in plan.skipped] == [
        ("1", "har ingen leder (øverste leder)"),
        ("4", "ikke aktiv"),
        ("5", "lederen 99 finnes ikke i Ansatte"),
    ]
    # Only the unknown manager is a problem HR must fix; the top manager and the inactive are not.
    assert [(p.where, p.message) for p in plan.problems] == [("Ansatte!F6", "lederen 99 finnes ikke i Ansatte")]
    assert "samtale round new" in plan.problems[0].fix


def test_a_duplicate_id_and_a_bad_address_are_skipped_and_named(master_folder: Callable[..., Path]) -> None:
    """Verify a duplicate AnsattID skips the ID (both rows named), a bad or missing e-mail skips the person."""
    staff = [*STAFF[:3], _person("2", "Kari2"), {**_person("7", "Eva"), "email": "eva.firma.no"},
             {**_person("8", "Tor"), "email": ""}]
    plan = _plan(Workspace.open(master_folder(employees=staff), NOW))
    assert [e.employee_id for e in plan.added] == ["3"]
    assert [(p.where, p.message) for p in plan.problems] == [
        ("Ansatte!A3", "AnsattID 2 står på flere rader (Ansatte!A3, Ansatte!A5)"),
        ("Ansatte!C6", "e-postadressen «eva.firma.no» er ugyldig"),
        ("Ansatte!C7", "mangler e-postadresse"),
    ]
    assert [e.employee_id for e, _ in plan.skipped] == ["1", "2", "7", "8"]
    from samtale_automation.commands.results import RoundResult
    from samtale_automation.faces.present import present

    shown = present(RoundResult(plan, dry_run=True))  # a dry run too: what would be skipped needs a fix
    assert shown.exit_code == 1
    assert "  – hoppet over 7 Eva: e-postadressen «eva.firma.no» er ugyldig" in shown.lines
    assert any(line.startswith("Ansatte!A3: AnsattID 2 står på flere rader") for line in shown.lines)
    assert plan.existing == []


def test_plan_sets_round_and_period_and_logs(folder: Path) -> None:
    """Verify the plan forces the round name and period into Innstillinger and appends one Logg row."""
    plan = _plan(Workspace.open(folder, NOW))
    settings = [(c.key, c.values["value"], c.force) for c in plan.changeset.changes if c.table == "Innstillinger"]
    assert settings == [("Samtalerunde", "2027", True), ("Periode start", PERIOD[0], True),
                        ("Periode slutt", PERIOD[1], True)]
    logs = [c for c in plan.changeset.changes if c.table == "Logg"]
    assert len(logs) == 1
    assert logs[0].key is None
    assert logs[0].values == {"time": datetime(2026, 12, 1, 9, 0), "event": "Ny samtalerunde 2027", "who": "hr",
                              "result": "3 samtaler lagt til, 3 hoppet over"}


def test_commit_writes_the_round_into_the_workbook(folder: Path) -> None:
    """Verify committing the plan writes the Samtaler rows, the settings and the Logg row into the file."""
    workspace = Workspace.open(folder, NOW)
    result = workspace.commit(_plan(workspace).changeset)
    assert result.blocked is None
    assert len(result.applied) == 1
    assert workspace.pending() == []
    master = workspace.load(with_pending=False)
    assert master.settings.round == "2027"
    assert (master.settings.period_start, master.settings.period_end) == PERIOD
    assert {cid: (c.employee_id, c.manager_id) for cid, c in master.conversations.items()} == {
        "2027-2": ("2", "1"), "2027-3": ("3", "1"), "2027-6": ("6", "2")}
    assert [row["status"] for row in _samtaler_rows(workspace)] == ["Foreslått"] * 3
    assert [c.conversation_id for c in master.current_round().conversations] == ["2027-2", "2027-3", "2027-6"]
    assert master.raw is not None
    assert [row.values["result"] for row in master.raw.tables["Logg"].rows] == [
        "3 samtaler lagt til, 3 hoppet over"]


def test_round_new_twice_adds_nothing_the_second_time(folder: Path) -> None:
    """Verify a second plan after the first was applied adds no conversation and rewrites no row."""
    workspace = Workspace.open(folder, NOW)
    workspace.commit(_plan(workspace).changeset)
    before = _samtaler_rows(workspace)

    again = _plan(workspace)
    assert again.added == []
    assert [e.employee_id for e in again.existing] == ["2", "3", "6"]
    assert [e.employee_id for e, _ in again.skipped] == ["1", "4", "5"]
    assert [c for c in again.changeset.changes if c.table == "Samtaler"] == []

    result = workspace.commit(again.changeset)
    assert result.blocked is None
    assert result.created == 1  # only the Logg row
    assert result.updated == 0  # round and period already hold these values
    assert _samtaler_rows(workspace) == before
    master = workspace.load(with_pending=False)
    assert len(master.conversations) == 3
    assert master.raw is not None
    assert [row.values["result"] for row in master.raw.tables["Logg"].rows] == [
        "3 samtaler lagt til, 3 hoppet over", "0 samtaler lagt til, 3 hoppet over"]


def test_second_round_new_adds_only_new_staff(folder: Path) -> None:
    """Verify someone hired after the round started gets their conversation, and nobody else is added twice."""
    workspace = Workspace.open(folder, NOW)
    workspace.commit(_plan(workspace).changeset)
    hired = ChangeSet("Ny ansatt")
    hired.upsert("Ansatte", "7", name="Nyansatt", email="ny@firma.no", manager_id="1", active="Ja")
    workspace.commit(hired)

    plan = _plan(workspace)
    assert [e.employee_id for e in plan.added] == ["7"]
    workspace.commit(plan.changeset)
    assert sorted(workspace.load(with_pending=False).conversations) == ["2027-2", "2027-3", "2027-6", "2027-7"]
    assert len(_samtaler_rows(workspace)) == 4


def test_plan_counts_pending_rows_as_existing(folder: Path) -> None:
    """Verify a round planned while the first plan is still pending (workbook open) does not add the rows twice."""
    workspace = Workspace.open(folder, NOW)
    (folder / "~$samtaler.xlsx").write_bytes(b"\x04Kari")
    assert workspace.commit(_plan(workspace).changeset).blocked
    again = _plan(workspace)
    assert again.added == []
    assert [e.employee_id for e in again.existing] == ["2", "3", "6"]
    assert _samtaler_rows(workspace) == []


@pytest.mark.parametrize("name", ["", "20 27", "2027-H", "-2027", "a/b", "x" * 40])
def test_bad_round_names_are_usage_errors(name: str) -> None:
    """Verify a round name with spaces, hyphens or slashes is refused as a usage error (exit 2) naming it."""
    with pytest.raises(UsageError) as caught:
        validate_round_name(name)
    assert caught.value.exit_code == EXIT_USAGE
    assert f"«{name.strip()}»" in caught.value.message
    assert "2027H" in caught.value.hint


@pytest.mark.parametrize("name", ["2027", "2027H", " 2028 ", "Høst_2027"])
def test_good_round_names_are_accepted(name: str) -> None:
    """Verify ordinary round names are accepted and trimmed."""
    assert validate_round_name(name) == name.strip()


def test_period_ending_before_it_starts_is_refused(folder: Path) -> None:
    """Verify --to before --from is a usage error and nothing is planned."""
    workspace = Workspace.open(folder, NOW)
    with pytest.raises(UsageError, match="--to er før --from"):
        plan_new_round(workspace.load(), "2027", date(2027, 2, 26), date(2027, 1, 11), NOW, "hr")
