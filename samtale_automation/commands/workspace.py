"""The composition root: one folder, its journal, the register, and committing ChangeSets.

The CLI, the Excel buttons and the demo all go through a Workspace, so each face only parses
input and calls the same core functions.
"""

from __future__ import annotations

import functools
import getpass
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from samtale_automation.domain.changeset import ChangeSet, PendingChange
from samtale_automation.domain.master import Master, parse_master
from samtale_automation.domain.model import OSLO
from samtale_automation.paths import Folder, make_private_dir
from samtale_automation.plans.overlay import overlay_pending
from samtale_automation.plans.overview import plan_overview
from samtale_automation.store.journal import Journal
from samtale_automation.workbook.apply import ApplyResult, apply_pending
from samtale_automation.workbook.read import read_workbook


@dataclass
class Workspace:
    """A samtale folder as of a moment in time (`--today` sets the moment for tests and replays)."""

    folder: Folder
    now: datetime

    @classmethod
    def open(cls, root: Path, today: datetime | None = None) -> Workspace:
        """Open the folder at `root`; `today` overrides the current time."""
        return cls(Folder(root.resolve()), (today or datetime.now(OSLO)).astimezone(OSLO))

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

    def load(self, *, with_pending: bool = True) -> Master:
        """Read the master into a Master, with pending changes laid over it by default."""
        raw = read_workbook(self.folder.master())
        if with_pending and self.folder.journal.exists():
            with self.journal() as journal:
                pending = [p.changeset for p in journal.pending()]
                if pending:
                    raw = overlay_pending(raw, pending, functools.cache(journal.last_written))
        return parse_master(raw)

    def commit(self, changeset: ChangeSet | None) -> ApplyResult:
        """Record a ChangeSet as pending, then apply everything pending that can be applied."""
        with self.journal() as journal:
            if changeset:
                journal.add_changeset(changeset)
            return apply_pending(self.folder, journal, self.now, overview=plan_overview)


def current_user() -> str:
    """The user name for Logg's «Hvem» column."""
    try:
        return getpass.getuser()
    except Exception:
        return "samtale"
