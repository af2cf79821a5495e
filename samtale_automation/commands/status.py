"""`samtale status`: where each conversation stands (plans.status), as of the workspace's day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from samtale_automation.commands.results import StatusReport, StatusResult
from samtale_automation.plans.status import status_report

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.changeset import PendingChange, SetAsideChange
    from samtale_automation.domain.master import Master


def report_of(master: Master, pending: list[PendingChange], now: datetime,
              set_aside: Sequence[SetAsideChange] = ()) -> StatusReport:
    """The `status --json` object, typed (plans.status builds it as plain JSON data)."""
    return cast("StatusReport", status_report(master, pending, now, set_aside))


def run_status(workspace: Workspace, *, check_saving: bool = True) -> StatusResult:
    """The report with pending changes laid over the workbook; with `check_saving`, also what
    would stop a save without Excel (workbook.loss_guard, which opens the file: left out for --json)."""
    pending = workspace.pending()
    result = StatusResult(report_of(workspace.load(), pending, workspace.now, workspace.set_aside()))
    if check_saving:
        from samtale_automation.workbook import loss_guard

        result.save_blockers = loss_guard.predict(workspace.folder.master())
    return result
