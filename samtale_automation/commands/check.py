"""`samtale check`: every problem in the workbook, the settings and the folder, each with its place and fix.

The workbook's rules are plans.check (pure); this adds samtale.toml, what would stop a save
without Excel (workbook.loss_guard), the changes that wait with a reason, and files in maler/
that override no template (a misspelt name would otherwise be ignored without a word).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands.results import CheckResult
from samtale_automation.errors import Problem
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_check(workspace: Workspace) -> CheckResult:
    """Collect every problem; nothing is written."""
    from samtale_automation.config import load_config
    from samtale_automation.mail.templates import stray_overrides
    from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
    from samtale_automation.plans.check import check_master
    from samtale_automation.plans.status import pending_reason, set_aside_problems
    from samtale_automation.workbook import loss_guard

    master = workspace.load()
    problems = check_master(master)
    problems += load_config(workspace.folder.config)[1]
    master_file = workspace.folder.master()
    problems += [Problem(master_file.name, tr("hindrer lagring uten Excel: ", "blocks saving without Excel: ") + why)
                 for why in loss_guard.predict(master_file)]
    problems += [Problem("samtale", tr("venter: ", "waiting: ") + pending_reason(p))
                 for p in workspace.pending() if p.blocked_reason]
    problems += set_aside_problems(workspace.set_aside())
    problems += [stray_problem(name) for name in stray_overrides(workspace.folder.root / TEMPLATE_OVERRIDE_DIR)]
    return CheckResult(problems)


def stray_problem(name: str) -> Problem:
    """A file in maler/ that overrides nothing (e.g. «maler/invitasjon.txt» for invitation.txt)."""
    return Problem(name, tr("overstyrer ingen mal", "overrides no template"),
                   tr("Gi filen navnet til en mal, se samtale templates list",
                      "Give the file the name of a template, see samtale templates list"))
