"""The parsed master workbook: the indexes the planners look things up in."""

from __future__ import annotations

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import Action, Settings


def _action(action_id: str, employee_id: str) -> Action:
    return Action(action_id, action_id.rpartition("-")[0], employee_id, f"Tiltak {action_id}")


def test_actions_of_an_employee_come_in_tiltakid_order() -> None:
    """Verify each employee's actions, sorted by TiltakID, and none for someone without any."""
    master = Master(Settings(), actions={a.action_id: a for a in (
        _action("2027-2-2", "2"), _action("2026-3-1", "3"), _action("2026-2-1", "2"), _action("2027-2-1", "2"))})
    assert [a.action_id for a in master.actions_of("2")] == ["2026-2-1", "2027-2-1", "2027-2-2"]
    assert [a.action_id for a in master.actions_of("3")] == ["2026-3-1"]
    assert master.actions_of("9") == ()


def test_the_index_follows_actions_added_after_it_was_built() -> None:
    """Verify an action added to the Master after a lookup is found by the next one (the index is rebuilt)."""
    master = Master(Settings(), actions={"2026-2-1": _action("2026-2-1", "2")})
    assert len(master.actions_of("2")) == 1
    master.actions["2027-2-1"] = _action("2027-2-1", "2")
    assert [a.action_id for a in master.actions_of("2")] == ["2026-2-1", "2027-2-1"]
