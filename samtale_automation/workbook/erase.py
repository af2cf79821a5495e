"""Scrub every mention of a person from the master workbook's cells (GDPR erase, after its ChangeSet).

The ChangeSet anonymises the person's own rows; what is left — a file name in Logg, a name in
free text or a comment, a header a person typed — is found cell by cell on every sheet and
replaced. Saved like every write (safe write protocol, loss guard, backup); openpyxl writes
the shared strings anew, so the old text is gone from the file's XML too.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.errors import WorkbookError, WorkbookLockedError
from samtale_automation.paths import Folder
from samtale_automation.safe_write import Fingerprint, assert_writable, replace_safely
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.overview import OverviewPlanner, refresh_overview


def scrub_workbook(folder: Folder, change: Callable[[str], str], now: datetime, overview: OverviewPlanner) -> int:
    """Replace each text cell (and comment) that `change` alters; save only when something changed. Cells changed.

    Oversikt is worked out again (`overview`, as on every write): openpyxl does not keep its chart."""
    import openpyxl

    master = folder.master()
    assert_writable(master)
    before = Fingerprint.of(master)
    inventory = loss_guard.inventory(master)
    wb = openpyxl.load_workbook(master, keep_vba=master.suffix.lower() == ".xlsm", rich_text=False,
                                keep_links=True)
    try:
        changed = _scrub(wb, change)
        if not changed:
            return 0
        refresh_overview(wb, now, overview)

        def verify(temp: Path) -> None:
            with zipfile.ZipFile(temp) as package:
                if package.testzip() is not None:
                    raise WorkbookError(tr("Den nye arbeidsboken ble skadet under lagring.",
                                           "The new workbook was damaged while saving."))
            lost = loss_guard.lost_features(inventory, loss_guard.inventory(temp))
            if lost:
                raise WorkbookLockedError(tr("Arbeidsboken inneholder noe samtale ikke kan lagre uten å miste det: ",
                                             "The workbook holds something samtale cannot save without losing it: ")
                                          + "; ".join(lost))

        replace_safely(master, before, wb.save, verify, folder.backups)
        return changed
    finally:
        archive = getattr(wb, "vba_archive", None)
        if archive is not None:
            archive.close()


def _scrub(wb: Any, change: Callable[[str], str]) -> int:
    changed = 0
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    new = change(cell.value)
                    if new != cell.value:
                        cell.value = new
                        changed += 1
                if cell.comment is not None and change(cell.comment.text) != cell.comment.text:
                    cell.comment.text = change(cell.comment.text)
                    changed += 1
    return changed
