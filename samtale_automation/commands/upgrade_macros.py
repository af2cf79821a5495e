"""`samtale upgrade-workbook --macros`: turn the folder's samtaler.xlsx into samtaler.xlsm with the buttons.

Under the run lock: what waits in the journal is written first (so the new file holds it), then
the .xlsm is built beside the .xlsx holding every row (workbook/to_macros.py) and checked. Only
when nothing is left behind does the .xlsm take the .xlsx's place; a copy of the .xlsx stays in
.samtale/backups (a folder with both is refused by every command, DESIGN.md §3). Otherwise the
.xlsx stays the master and the result names what could not be carried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands.results import UpgradeMacrosResult
from samtale_automation.errors import UsageError, WorkbookLockedError
from samtale_automation.paths import MASTER_XLSM, MASTER_XLSX
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_upgrade_macros(workspace: Workspace) -> UpgradeMacrosResult:
    """Make samtaler.xlsm from samtaler.xlsx, or name what it cannot carry and change nothing."""
    from samtale_automation.plans.overview import plan_overview
    from samtale_automation.safe_write import assert_writable, make_backup, make_private, temp_path
    from samtale_automation.workbook.to_macros import build_macro_copy, uncarried

    master = workspace.folder.master()
    if master.name == MASTER_XLSM:
        raise UsageError(tr(f"{master.name} har allerede knappene.", f"{master.name} already has the buttons."))
    if master.name != MASTER_XLSX:
        raise UsageError(tr(f"Fant ikke {MASTER_XLSX} i {workspace.folder.root}.",
                            f"{MASTER_XLSX} not found in {workspace.folder.root}."))
    with workspace.locked("upgrade-workbook"):
        applied = workspace.commit(None)
        if applied.blocked:
            raise WorkbookLockedError(applied.blocked, hint=tr("Lukk arbeidsboken og prøv igjen.",
                                                               "Close the workbook and try again."))
        assert_writable(master)
        result = UpgradeMacrosResult(master, refused=uncarried(master))
        if result.refused:
            return result
        target = workspace.folder.root / MASTER_XLSM
        temp = temp_path(target)
        lang = workspace.load(with_pending=False).settings.language or "nb"
        try:
            result.refused = build_macro_copy(master, temp, lang, workspace.now, plan_overview)
            if result.refused:
                return result
            make_private(temp)
            result.backup = make_backup(master, workspace.folder.backups)
            # The .xlsm first: a crash before the .xlsx is gone leaves both, which every command refuses
            # with a message, never a folder without a master.
            temp.replace(target)
            master.unlink()
            result.master = target
        finally:
            temp.unlink(missing_ok=True)
    return result
