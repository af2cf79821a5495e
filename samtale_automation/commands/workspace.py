"""The composition root: one folder, its journal, the master, the run lock, and committing ChangeSets.

The CLI, the Excel buttons and the demo all go through a Workspace, so each face only parses
input and calls the same commands. Its `now` is the moment the rules decide by (runtime.now:
`--today` or the wall clock).

A button in Excel opens the workspace with the open workbook (`book`, xlwings' Book): then
every command reads the open book's tables (workbook.live.read_live, the same row form as the
file reader) and writes through the live applier, which saves through Excel before anything
counts as applied. Without a book, the file is read and written (openpyxl, safe write).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation import runtime
from samtale_automation.domain.changeset import ChangeSet, PendingChange, SetAsideChange
from samtale_automation.domain.master import Master, parse_master
from samtale_automation.domain.rows import RawWorkbook
from samtale_automation.paths import Folder, make_private_dir
from samtale_automation.plans.overlay import overlay_pending
from samtale_automation.plans.overview import plan_overview
from samtale_automation.store.journal import Journal
from samtale_automation.workbook.apply import ApplyResult, Preloaded, apply_pending, preload
from samtale_automation.workbook.read import read_workbook


@dataclass
class Workspace:
    """A samtale folder as of a moment in time (`--today` sets the moment for tests and replays)."""

    folder: Folder
    now: datetime
    book: Any = None  # the workbook open in Excel when a button runs the command (xlwings Book)

    @classmethod
    def open(cls, root: Path, today: date | datetime | None = None, book: Any = None) -> Workspace:
        """Open the folder at `root`; `today` (`--today`: a date, or a moment) stands for the current time."""
        return cls(Folder(root.resolve()), runtime.now(today), book)

    def journal(self) -> Journal:
        """Open the folder's journal (created on first use, private to the user)."""
        make_private_dir(self.folder.state)
        return Journal(self.folder.journal)

    def pending(self) -> list[PendingChange]:
        """ChangeSets recorded but not yet applied to the workbook."""
        if not self.folder.journal.exists():
            return []
        with self.journal() as journal:
            return journal.pending()

    def set_aside(self) -> list[SetAsideChange]:
        """ChangeSets set aside because their data could not be written (until retried or discarded)."""
        if not self.folder.journal.exists():
            return []
        with self.journal() as journal:
            return journal.set_aside()

    def load(self, *, with_pending: bool = True) -> Master:
        """Read the master into a Master, with pending changes laid over it by default."""
        if self.book is not None:
            from samtale_automation.workbook.live import read_live

            raw = read_live(self.book)
        else:
            raw = read_workbook(self.folder.master())
        return parse_master(self.pending_overlay(raw)[0] if with_pending else raw)

    def pending_overlay(self, raw: RawWorkbook) -> tuple[RawWorkbook, list[ChangeSet]]:
        """The workbook with the pending ChangeSets laid over it, and those ChangeSets."""
        if not self.folder.journal.exists():
            return raw, []
        with self.journal() as journal:
            pending = [p.changeset for p in journal.pending()]
            if pending:
                raw = overlay_pending(raw, pending, functools.cache(journal.last_written))
        return raw, pending

    def record(self, changeset: ChangeSet | None) -> None:
        """Record a ChangeSet as pending only: the run's own write of the workbook applies it later."""
        if changeset:
            with self.journal() as journal:
                journal.add_changeset(changeset)

    def commit(self, changeset: ChangeSet | None, preloaded: Preloaded | None = None) -> ApplyResult:
        """Record a ChangeSet as pending, then apply everything pending that can be applied (with the
        master loaded ahead by `preload` when given and still current)."""
        with self.journal() as journal:
            if changeset:
                journal.add_changeset(changeset)
            if self.book is not None:
                from samtale_automation.workbook.live import apply_pending_live

                return apply_pending_live(self.book, journal, self.now, overview=plan_overview)
            return apply_pending(self.folder, journal, self.now, overview=plan_overview, preloaded=preloaded)

    def preload(self) -> Preloaded | None:
        """Load the master file for this run's write ahead of it (only reads; None with Excel's open book)."""
        return None if self.book is not None else preload(self.folder)

    @contextmanager
    def locked(self, command: str) -> Iterator[None]:
        """Hold the folder's run lock; a second run waits SAMTALE_LOCK_WAIT seconds (default 30), then refuses.
        Holding it, temp files a killed run left anywhere in the folder are removed first."""
        from samtale_automation.safe_write import remove_orphaned_temps
        from samtale_automation.store.lockholder import pid_alive
        from samtale_automation.store.runlock import run_lock

        with run_lock(self.folder.run_lock, command, wait_seconds=float(os.environ.get("SAMTALE_LOCK_WAIT", "30"))):
            remove_orphaned_temps(self.folder.root, pid_alive)
            yield

    def commit_run(self, changeset: ChangeSet | None, command: str) -> ApplyResult:
        """Commit under the run lock as one run in the journal's history («pending» when the workbook waits)."""
        with self.locked(command):
            with self.journal() as journal:
                run_id = journal.start_run(command)
            result = self.commit(changeset)
            with self.journal() as journal:
                journal.finish_run(run_id, "pending" if result.blocked else "ok")
        return result
