"""Benchmark `samtale nightly`: 1,000 employees, 10,000 actions, outbox backend, 50 returned files, first reminders.

Run from the repository root: `python benchmarks/nightly_bench.py [--employees 1000] [--runs 10]`.
Setup (not timed): a folder with the company, the round invited on 4 January, ten actions per
employee (deadlines spread so that some are due and some overdue), prep files for 50 employees
filled in as a person would and put in innkommende/. Each run gets a fresh copy of that folder.
Timed: one whole `samtale nightly` process on 5 January 2027 (the first night of reminders), as
the scheduler starts it. Prints every run's wall and CPU time, the median, the slowest against the
target, and each step's share (from the run's own log line). On a shared machine the wall time
follows the load; the CPU time does not.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run import last_year, synthetic_actions, synthetic_company
from samtale_automation.backends.outbox import FOLDERS
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.paths import MASTER_XLSX
from samtale_automation.prepfile.fill import fill_employee
from samtale_automation.workbook.build import build_master

TARGET_SECONDS = 20.0
NIGHT = "2027-01-05"
STEP = re.compile(r"(\w+)=(ok|failed|skipped)(?:\([^)]*\))*\[([\d.]+)s\]")


def make_folder(root: Path, size: int, actions_per_employee: int) -> Path:
    """The company with its round invited and `actions_per_employee` actions each."""
    folder = root / "firma"
    init_folder(folder)
    config = folder / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', 'mailbox = "hr@firma.example"'),
                      encoding="utf-8")
    employees, conversations = synthetic_company(size)
    for conv in conversations:
        conv["invited"] = date(2027, 1, 4)
        conv["status"] = "Invitert"
    actions = synthetic_actions(conversations, actions_per_employee)
    (folder / MASTER_XLSX).unlink()
    build_master(folder / MASTER_XLSX, settings={"round": "2027", "period_start": "11.01.2027",
                                                 "period_end": "31.03.2027"},
                 employees=employees, conversations=conversations + last_year(conversations), actions=actions)
    return folder


def returned_files(folder: Path, count: int) -> int:
    """Prep files for the first `count` employees, filled in and put in innkommende/."""
    from datetime import datetime

    workspace = Workspace.open(folder, datetime(2027, 1, 4, 9, tzinfo=OSLO))
    ids = [conv_id.split("-", 1)[1] for conv_id in sorted(workspace.load().conversations)[:count]]
    plan = run_prep(workspace, tuple(ids)).plan
    made = 0
    for item in plan.files:
        if item.content.identity.variant == "ansatt":
            fill_employee(item.path, folder / "innkommende" / item.path.name, chosen=["S01", "S02", "S09"],
                          notes={"S02": "Et notat"})
            made += 1
    return made


def main() -> None:
    """Build the folder once, then time `runs` nightly processes on fresh copies."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--actions", type=int, default=10, help="actions per employee")
    parser.add_argument("--returned", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = make_folder(Path(tmp), args.employees + 1, args.actions)  # the top manager has no conversation
        returned = returned_files(base, args.returned)
        times: list[float] = []
        cpus: list[float] = []
        shares: dict[str, list[float]] = {}
        for run in range(args.runs):
            copy = Path(tmp) / f"run-{run}"
            shutil.copytree(base, copy)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(copy), "--today", NIGHT,
                                   "nightly"], capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpus.append(cpu)
            times.append(seconds)
            line = (copy / ".samtale" / "logs" / "samtale.log").read_text(encoding="utf-8").splitlines()[-1]
            steps = {name: float(secs) for name, _outcome, secs in STEP.findall(line)}
            for name, secs in steps.items():
                shares.setdefault(name, []).append(secs / seconds)
            digests = len(list((copy / "utboks" / NIGHT / FOLDERS["digest"]).glob("*.eml")))
            print(f"run {run + 1}: {seconds:.2f} s wall, {cpu:.2f} s CPU, exit {done.returncode}, {digests} digests, "
                  + " ".join(f"{n} {s:.2f}s" for n, s in steps.items()))
            shutil.rmtree(copy)
        print(f"\nnightly, {args.employees} employees, {args.employees * args.actions} actions, {returned} returned "
              f"files, outbox: median {statistics.median(times):.2f} s, slowest {max(times):.2f} s of {args.runs}; "
              f"target {TARGET_SECONDS} s every run → slowest ratio {max(times) / TARGET_SECONDS:.2f}; CPU median "
              f"{statistics.median(cpus):.2f} s (what other load on the machine does not change)")
        print("share of the wall time (median): " + ", ".join(
            f"{name} {statistics.median(values) * 100:.0f} %" for name, values in shares.items())
            + f", start-up and the rest {100 - sum(statistics.median(v) for v in shares.values()) * 100:.0f} %")


if __name__ == "__main__":
    main()
