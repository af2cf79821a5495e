"""Read the master in the background while a command's own modules are still being imported.

Most of a read is calamine's work in Rust, which releases the GIL, so on two cores the read
overlaps the command's start-up instead of following it. What was read is used once, and only if
the file still holds exactly the bytes that were read when the command (holding the run lock by
then) asks for it; otherwise the command reads the file again as it always did.
"""

from __future__ import annotations

import threading
from pathlib import Path

from samtale_automation.domain.rows import RawWorkbook
from samtale_automation.errors import SamtaleError
from samtale_automation.paths import Folder
from samtale_automation.workbook.read import read_workbook


class _Read:
    """One background read of one file: its bytes and what they held."""

    def __init__(self, path: Path) -> None:
        self.data: bytes | None = None
        self.raw: RawWorkbook | None = None
        self.thread = threading.Thread(target=self._run, args=(path,), name="samtale-prefetch", daemon=True)

    def _run(self, path: Path) -> None:
        try:
            data = path.read_bytes()
            self.raw = read_workbook(path, data)
            self.data = data
        except Exception:  # the command reads the file again and reports the problem in its own words
            self.raw = None


_reads: dict[Path, _Read] = {}


def start(path: Path) -> threading.Thread:
    """Start reading the master workbook at `path` in a background thread (returned, to wait for)."""
    read = _reads[path] = _Read(path)
    read.thread.start()
    return read.thread


def start_in(root: Path) -> None:
    """Start reading the master of the folder at `root` (a missing one is left to the command to report)."""
    try:
        master = Folder(root.resolve()).master()
    except SamtaleError:
        return
    start(master)


def take(path: Path) -> RawWorkbook | None:
    """The background read of `path` if one was started and the file still holds the same bytes (once)."""
    read = _reads.pop(path, None)
    if read is None:
        return None
    read.thread.join()
    if read.raw is None:
        return None
    try:
        unchanged = path.read_bytes() == read.data
    except OSError:
        return None
    return read.raw if unchanged else None
