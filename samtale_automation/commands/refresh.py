"""The «Oppdater oversikt» button: write what waits, then bring Status, names and Oversikt up to date.

Through the file every write already refreshes them (workbook/apply.py). In the open book
(Workspace.book) the refresh is its own live write, saved through Excel like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands.apply import run_apply
from samtale_automation.commands.results import RefreshResult

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_refresh(workspace: Workspace) -> RefreshResult:
    """Apply the pending ChangeSets, then (in the open book) refresh Status, names and the Oversikt numbers."""
    result = RefreshResult(run_apply(workspace))
    if workspace.book is None or (result.pending.apply is not None and result.pending.apply.blocked):
        return result
    from samtale_automation.plans.overview import plan_overview
    from samtale_automation.workbook.live import save_live
    from samtale_automation.workbook.live_refresh import refresh_live

    with workspace.locked("refresh"):
        done = refresh_live(workspace.book, workspace.now, plan_overview)
        result.statuses, result.names, result.overview = done.statuses, done.names, done.overview
        result.saved = save_live(workspace.book)
    return result
