"""`samtale prep` killed with kill -9 while its workers write: no worker stays behind holding the folder.

Before, the pool's workers were forked: they inherited the run lock and, with their parent gone,
waited for work for ever, so every later command waited and then refused, naming a dead process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from folders import samtale

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.prepfile.parallel import PARALLEL_FROM
from samtale_automation.store.runlock import run_lock

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc")]

EMPLOYEES = 300  # two files each: far above PARALLEL_FROM, so the pool writes for a while
TODAY = "2026-12-01"
BOUND = 60.0  # seconds; generous for a shared CI machine, and never asserted as a speed


def _folder(root: Path) -> Path:
    init_folder(root)
    ws = Workspace.open(root, datetime(2026, 12, 1, 9, 0, tzinfo=OSLO))
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    for n in range(2, EMPLOYEES + 2):
        staff.upsert("Ansatte", str(n), name=f"Ansatt Ø{n}", email=f"a{n}@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, ws.now, "test").changeset)
    return root


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a reaper that a container may not have."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_killed_prep_leaves_no_worker_and_the_next_run_gets_the_lock(tmp_path: Path) -> None:
    """Verify kill -9 of `samtale prep` mid-write: its workers end, and the next command gets the lock at once."""
    assert 2 * EMPLOYEES >= 2 * PARALLEL_FROM
    folder = _folder(tmp_path / "f")
    prep_dir = folder / "forberedelse"
    process = subprocess.Popen([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "--today", TODAY,
                                "prep"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    descendants: set[int] = set()
    try:
        deadline = time.monotonic() + BOUND
        while not (descendants and any(path.is_file() for path in prep_dir.rglob("*.xlsx"))):
            assert process.poll() is None, "prep ended before it was seen writing in its workers"
            assert time.monotonic() < deadline, "prep's workers never started writing"
            descendants |= _descendants(process.pid)
            time.sleep(0.01)
        descendants |= _descendants(process.pid)  # the workers and multiprocessing's resource tracker
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=BOUND) == -signal.SIGKILL
        written = sum(1 for _ in prep_dir.rglob("*.xlsx"))
        assert written < 2 * EMPLOYEES, "killed before the end"

        deadline = time.monotonic() + BOUND
        while left := {pid: _cmdline(pid) for pid in descendants if _alive(pid)}:
            assert time.monotonic() < deadline, f"still running after the parent was killed: {left}"
            time.sleep(0.05)

        with run_lock(folder / ".samtale" / "run.lock", "apply", wait_seconds=0):
            pass
        again = samtale("--dir", str(folder), "--today", TODAY, "prep", env={"SAMTALE_LOCK_WAIT": "0"})
        assert again.returncode == 0, again.stderr
        assert sum(1 for _ in prep_dir.rglob("*.xlsx")) == 2 * EMPLOYEES
    finally:
        for pid in {process.pid, *descendants}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=BOUND)
