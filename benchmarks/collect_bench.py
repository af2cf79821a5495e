"""Benchmark `samtale collect`: 1,000 returned prep files into a 1,000-employee workbook.

Run from the repository root: `python benchmarks/collect_bench.py [--employees 1000]`.
Setup (not timed): a folder with the company, the round, prep files, and every employee's prep
filled in with openpyxl as a person would, in innkommende/. Timed: one whole `samtale collect`
process (read, plan, guides, moves, journal, workbook write). Prints the wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run import make_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.prepfile.fill import fill_employee

TARGET_SECONDS = 10.0


def _fill(job: tuple[Path, Path]) -> None:
    source, target = job
    fill_employee(source, target, chosen=["S01", "S02", "S09", "S25"], notes={"S02": "Et notat"})


def main() -> None:
    """Build the folder, fill the files, time one collect."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp), args.employees + 1)  # one more: the top manager has no conversation
        workspace = Workspace.open(folder, datetime(2027, 1, 5, tzinfo=OSLO))
        plan = run_prep(workspace).plan
        jobs = [(item.path, folder / "innkommende" / item.path.name) for item in plan.files
                if item.content.identity.variant == "ansatt"]
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_fill, jobs, chunksize=20))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "--today",
                               "2027-01-05", "collect"], capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        accepted = done.stdout.count("mottatt   ")
        print(f"collect {len(jobs)} files into {args.employees} employees: {seconds:.2f} s wall "
              f"({seconds / len(jobs) * 1000:.1f} ms per file), exit {done.returncode}, {accepted} accepted; "
              f"target {TARGET_SECONDS} s → ratio {seconds / TARGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
