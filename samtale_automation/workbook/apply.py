"""The file applier: apply pending ChangeSets to the master workbook headlessly (openpyxl).

Rows are found by their ID, columns by header; tables grow when rows are appended. Text is
always written as text. The save goes through the loss guard and the safe-write protocol;
when either refuses, the ChangeSets stay pending with the reason.

A ChangeSet whose data cannot be written (a value openpyxl refuses while writing or saving)
is set aside in the journal with its reason and a Logg notice, and every other pending
ChangeSet is applied in the same write: one bad value never blocks the rest, and nothing is
dropped silently (DESIGN.md §6). Appended rows (Logg) carry their ChangeSet's id in a hidden
column, so a ChangeSet applied again after a crash between the save and the journal's mark
does not write them twice. Those rules are in rules.py, shared with the live applier (live.py);
this module is the openpyxl load, the retry after a set-aside, and the safe save.
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.cells import xml_safe
from samtale_automation.domain.changeset import ChangeSet, PendingChanges
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import WorkbookError, WorkbookLockedError
from samtale_automation.paths import Folder
from samtale_automation.safe_write import Fingerprint, assert_writable, replace_safely
from samtale_automation.texts import tr
from samtale_automation.workbook import loss_guard, rules
from samtale_automation.workbook.overview import OverviewPlanner, refresh_overview
from samtale_automation.workbook.printing import print_setup
from samtale_automation.workbook.rules import MARKER as MARKER  # re-exported: the marker's one name
from samtale_automation.workbook.rules import ApplyResult as ApplyResult  # re-exported: commands import it here
from samtale_automation.workbook.rules import ChangeSetFailed as ChangeSetFailed
from samtale_automation.workbook.rules import describe_error
from samtale_automation.workbook.tables import OpenpyxlTables, ensure_log_table
from samtale_automation.workbook.upgrade import upgrade_workbook


def data_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a value cannot be written (not a locked, missing or damaged file)."""
    from openpyxl.utils.exceptions import IllegalCharacterError

    return (ValueError, TypeError, KeyError, IndexError, OverflowError, IllegalCharacterError)


def apply_changes(wb: Any, changesets: list[ChangeSet], journal: PendingChanges,
                  result: ApplyResult, now: datetime | None = None) -> dict[tuple[str, str, str], Any]:
    """Apply ChangeSets to an open openpyxl workbook; return the seeded values written (rules.apply_to_tables).

    Raises ChangeSetFailed naming the ChangeSet whose data could not be written (the workbook
    is then half-written and must be reloaded).
    """
    # xml_safe is looked up here at call time, so a test can take it away to reach openpyxl's own refusal
    return rules.apply_to_tables(OpenpyxlTables(wb), changesets, journal, result, now, data_errors(), xml_safe)


def refresh_statuses(wb: Any, now: datetime) -> int:
    """Write the derived status into every Samtaler row whose Status cell is out of date."""
    return rules.refresh_statuses(OpenpyxlTables(wb), now)


def refresh_names(wb: Any) -> int:
    """Write each Samtaler row's employee and manager names from Ansatte where they are out of date."""
    return rules.refresh_names(OpenpyxlTables(wb))


@dataclass
class Preloaded:
    """The master loaded ahead of its write, while other work ran, and the version it was loaded from."""

    fingerprint: Fingerprint
    workbook: Any


def preload(folder: Folder) -> Preloaded | None:
    """Load the master for a write that comes later (`samtale prep` loads it while its workers write files).

    Only reads. None when the file cannot be loaded or changed while loading: the write then loads
    it itself and reports what is wrong as it always does.
    """
    try:
        master = folder.master()
        before = Fingerprint.of(master)
        workbook = _load(master)
    except Exception:  # the write meets the same problem, loads again and reports it
        return None
    if _fingerprint(master) != before:
        _close(workbook)
        return None
    return Preloaded(before, workbook)


def apply_pending(folder: Folder, journal: PendingChanges, now: datetime, *,
                  overview: OverviewPlanner, preloaded: Preloaded | None = None) -> ApplyResult:
    """Apply every pending ChangeSet to the master file now, or record why it must wait.

    A ChangeSet whose data cannot be written is set aside (with a Logg notice) and the write
    is made with the others; `result.set_aside` names it. `overview` works out the Oversikt
    sheet, written on every write (plans.overview.plan_overview). A `preloaded` master (preload)
    is used when the file is still the version it was loaded from, and closed otherwise.
    """
    result = ApplyResult()
    ahead = preloaded.workbook if preloaded is not None else None
    try:
        if not journal.pending():
            return result
        master = folder.master()
        try:
            assert_writable(master)
            before = Fingerprint.of(master)
            if preloaded is not None and preloaded.fingerprint != before:
                _close(preloaded.workbook)  # changed since: load it again
                ahead = None
            writer = _Writer(folder, master, journal, result, now, overview)
            writer.ahead, ahead = ahead, None  # the writer uses it, and closes it
            result.backup = writer.write(before)
        except WorkbookLockedError as exc:
            journal.mark_blocked([p.changeset.id for p in journal.pending()], exc.message)
            result.blocked = exc.message
    finally:
        if ahead is not None:
            _close(ahead)
    return result


def _fingerprint(path: Path) -> Fingerprint | None:
    try:
        return Fingerprint.of(path)
    except OSError:
        return None


class _Writer:
    """One write of the master: load, apply, save safely; set aside what cannot be written and retry."""

    def __init__(self, folder: Folder, master: Path, journal: PendingChanges, result: ApplyResult,
                 now: datetime, overview: OverviewPlanner) -> None:
        self.folder, self.master, self.journal, self.result, self.now = folder, master, journal, result, now
        self.overview = overview
        self.inventory_before = loss_guard.inventory(master)
        self.ahead: Any = None  # the master loaded ahead of the write (preload), for the first attempt

    def write(self, before: Fingerprint) -> Path:
        while True:
            pending = [p.changeset for p in self.journal.pending()]
            attempt = ApplyResult()
            loaded = [self.ahead if self.ahead is not None else self._load()]
            self.ahead = None
            try:
                written = self._fill(loaded[0], pending, attempt)
                backup = replace_safely(self.master, before, functools.partial(_save_and_drop, loaded),
                                        self._verify, self.folder.backups)
            except ChangeSetFailed as failure:
                self._set_aside(failure)
                continue
            except data_errors() as exc:  # a value openpyxl took but could not save
                self._set_aside(self._find_unsaveable(pending, exc))
                continue
            finally:
                if loaded:
                    _close(loaded.pop())
            self.journal.mark_applied([cs.id for cs in pending], written)
            self.result.applied = [cs.id for cs in pending]
            self.result.created, self.result.updated = attempt.created, attempt.updated
            self.result.conflicts = attempt.conflicts
            self.result.upgraded, self.result.upgrade_refused = attempt.upgraded, attempt.upgrade_refused
            return backup

    def _load(self) -> Any:
        return _load(self.master)

    def _fill(self, wb: Any, pending: list[ChangeSet], result: ApplyResult) -> dict[tuple[str, str, str], Any]:
        upgrade = upgrade_workbook(wb)
        result.upgraded, result.upgrade_refused = upgrade.added, upgrade.refused
        written = apply_changes(wb, pending, self.journal, result, self.now)
        refresh_statuses(wb, self.now)
        refresh_names(wb)
        if refresh_overview(wb, self.now, self.overview):  # a master from an earlier version had formulas there
            upgrade.added.append(tr("Oversikt: tall og diagram i stedet for formler",
                                    "Oversikt: numbers and a chart instead of formulas"))
        print_setup(wb)  # every sheet on A4 one page wide: a master of an earlier version gets it here too
        if upgrade.changed:
            log = ensure_log_table(wb)
            log.write(log.new_row(), {"time": self.now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
                                      "event": tr("Arbeidsboken oppgradert", "Workbook upgraded"), "who": "samtale",
                                      "result": tr("La til ", "Added ") + "; ".join(upgrade.added)})
        return written

    def _set_aside(self, failure: ChangeSetFailed) -> None:
        rules.set_aside(self.journal, failure, self.now, self.result)

    def _find_unsaveable(self, pending: list[ChangeSet], error: BaseException) -> ChangeSetFailed:
        """Find the first ChangeSet whose values make the save fail, by saving ever longer prefixes in memory.

        When the workbook cannot be saved even without any of them, or with all of them, the
        fault is not one ChangeSet's data and is raised as it is.
        """
        for count in range(len(pending) + 1):
            wb = self._load()
            try:
                self._fill(wb, pending[:count], ApplyResult())
                wb.save(io.BytesIO())
            except data_errors() as exc:
                if count == 0:
                    raise error from exc
                return ChangeSetFailed(pending[count - 1], describe_error(exc))
            finally:
                _close(wb)
        raise error

    def _verify(self, temp: Path) -> None:
        import openpyxl

        with zipfile.ZipFile(temp) as package:
            if package.testzip() is not None:
                raise WorkbookError(tr("Den nye arbeidsboken ble skadet under lagring.",
                                       "The new workbook was damaged while saving."))
        lost = loss_guard.lost_features(self.inventory_before, loss_guard.inventory(temp))
        if lost:
            raise WorkbookLockedError(
                tr("Arbeidsboken inneholder noe samtale ikke kan lagre uten å miste det: ",
                   "The workbook holds something samtale cannot save without losing it: ")
                + "; ".join(lost),
                hint=tr("Fjern det som nevnes, eller åpne arbeidsboken i Excel og bruk knappene der.",
                        "Remove what is named, or open the workbook in Excel and use its buttons."),
            )
        openpyxl.load_workbook(temp, read_only=True).close()


def _load(master: Path) -> Any:
    import openpyxl

    keep_vba = master.suffix.lower() == ".xlsm"
    return openpyxl.load_workbook(master, keep_vba=keep_vba, rich_text=True, keep_links=True)


def _save_and_drop(loaded: list[Any], temp: Path) -> None:
    """Save the one workbook in `loaded` to `temp` and let it go: the verify that follows reads the new
    file while the old tree (most of a write's memory at 5,000 employees) is already freed."""
    wb = loaded.pop()
    try:
        wb.save(temp)
    finally:
        _close(wb)


def _close(wb: Any) -> None:
    if getattr(wb, "vba_archive", None) is not None:
        wb.vba_archive.close()  # openpyxl keeps the source zip open for the VBA parts
