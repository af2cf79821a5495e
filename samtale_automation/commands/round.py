"""`samtale round new`: start a round — the plan (plans.rounds), then one run that writes it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from samtale_automation.commands.results import RoundResult
from samtale_automation.plans.rounds import plan_new_round

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_round_new(workspace: Workspace, name: str, start: date | None, end: date | None, *,
                  dry_run: bool = False, who: str = "samtale") -> RoundResult:
    """Plan the round from the workbook and, unless a dry run, record and apply it under the run lock."""
    plan = plan_new_round(workspace.load(), name, start, end, workspace.now, who)
    if dry_run:
        return RoundResult(plan, dry_run=True)
    return RoundResult(plan, apply=workspace.commit_run(plan.changeset, "round new"))
