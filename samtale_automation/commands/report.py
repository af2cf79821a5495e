"""`samtale report [--out FILE] [--names]`: the round as one self-contained HTML file for management.

The numbers are plans.report's (the Oversikt's, with small groups folded into «andre»); the
HTML is mail.report's. Written private to the running user; `--dry-run` shows where it would go.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.results_night import ReportResult
from samtale_automation.mail.report import render_report
from samtale_automation.paths import sanitize_filename
from samtale_automation.plans.report import plan_report
from samtale_automation.safe_write import write_chosen_file

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def default_report_path(workspace: Workspace, round_name: str) -> Path:
    """`samtalerapport <round>.html` beside the workbook."""
    return workspace.folder.root / sanitize_filename(f"samtalerapport {round_name or 'uten runde'}.html")


def run_report(workspace: Workspace, *, out: Path | None = None, names: bool = False,
               dry_run: bool = False) -> ReportResult:
    """Work out the report, render it, and write it (unless a dry run)."""
    master = workspace.load()
    report = plan_report(master, workspace.now, names=names)
    path = out or default_report_path(workspace, report.round)
    result = ReportResult(path, report, dry_run=dry_run)
    if not dry_run:
        write_chosen_file(path, render_report(report).encode("utf-8"))
    return result
