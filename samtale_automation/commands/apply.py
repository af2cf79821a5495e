"""`samtale apply`: write the ChangeSets that wait in the journal to the workbook now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands.results import ApplyPendingResult

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_apply(workspace: Workspace, *, dry_run: bool = False) -> ApplyPendingResult:
    """List what waits and, unless a dry run, apply it as one run under the run lock."""
    result = ApplyPendingResult(workspace.pending(), dry_run=dry_run, set_aside=workspace.set_aside())
    if result.pending and not dry_run:
        result.apply = workspace.commit_run(None, "apply")
    return result
