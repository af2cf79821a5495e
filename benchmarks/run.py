"""Benchmarks for samtale: synthetic companies of 50, 1,000 and 5,000 employees.

Run from the repository root: `python benchmarks/run.py [--sizes 50,1000,5000] [--repeat 5]`.
Prints the median wall-clock time of each measured step, and its ratio to the issue's target
where one exists. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.paths import MASTER_XLSX
from samtale_automation.workbook.build import build_master

TARGETS = {("status --json", 50): 0.8, ("check", 5000): 5.0}
DEPARTMENTS = ("Regnskap", "Rådgivning", "Administrasjon", "Salg", "Drift")


def synthetic_company(size: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Employees (one manager per 8) and a planned 2027 conversation for each non-top employee.

    The schedule has no double bookings (prep refuses to make files for those): a manager's eight
    conversations and their own take nine different slots (three a day, Monday to Wednesday), each
    in the manager's own office, in one of eleven weeks from 11 January.
    """
    employees: list[dict[str, object]] = []
    conversations: list[dict[str, object]] = []
    free_slot = {0: 0}  # the slot each manager's reports leave free for the manager's own conversation
    for n in range(size):
        emp_id = str(10000 + n)
        parent = (n - 1) // 8
        manager = "" if n == 0 else str(10000 + parent)
        employees.append({"employee_id": emp_id, "name": f"Ansatt Æøå {n}", "email": f"a{n}@firma.example",
                          "department": DEPARTMENTS[n % len(DEPARTMENTS)], "title": "Rådgiver",
                          "manager_id": manager, "active": "Ja", "language": "nb"})
        if manager:
            slot = ((n - 1) % 8 + free_slot[parent] + 1) % 9
            free_slot[n] = slot
            day = date(2027, 1, 11) + timedelta(days=7 * ((n // 24) % 11) + slot // 3)
            start = datetime.combine(day, clock(8, 30), OSLO) + timedelta(minutes=120 * (slot % 3))
            conversations.append({"conversation_id": f"2027-{emp_id}", "employee_id": emp_id,
                                  "manager_id": manager, "start": start, "end": start + timedelta(minutes=75),
                                  "place": f"Kontor {manager}", "status": "Planlagt"})
    return employees, conversations


def last_year(conversations: list[dict[str, object]]) -> list[dict[str, object]]:
    """Last year's conversation (round 2026) of each employee of these, held and signed a year earlier:
    the conversations the synthetic actions come from."""
    held: list[dict[str, object]] = []
    for conv in conversations:
        start = cast(datetime, conv["start"]) - timedelta(weeks=52)
        day = start.date()
        held.append({"conversation_id": f"2026-{conv['employee_id']}", "employee_id": conv["employee_id"],
                     "manager_id": conv["manager_id"], "start": start, "end": start + timedelta(minutes=75),
                     "place": conv["place"], "status": "Signert", "invited": day - timedelta(days=14),
                     "prep_returned": day - timedelta(days=2), "manager_prepared": day - timedelta(days=1),
                     "minutes_returned": day + timedelta(days=3), "signed_employee": day + timedelta(days=4),
                     "signed_manager": day + timedelta(days=5)})
    return held


def synthetic_actions(conversations: list[dict[str, object]], per_employee: int) -> list[dict[str, object]]:
    """`per_employee` open actions from last year's conversation for each conversation's employee, their
    deadlines spread over four months from 1 December 2026 (some due, some overdue in January)."""
    actions: list[dict[str, object]] = []
    for n, conv in enumerate(conversations):
        for k in range(per_employee):
            actions.append({"action_id": f"2026-{conv['employee_id']}-{k + 1}",
                            "conversation_id": f"2026-{conv['employee_id']}", "employee_id": conv["employee_id"],
                            "description": f"Tiltak {k + 1}", "goal": "Bedre hverdag", "owner": "ansatt",
                            "deadline": date(2026, 12, 1) + timedelta(days=(n * 7 + k * 11) % 120),
                            "status": "Pågår", "source": "referat 2026"})
    return actions


def make_folder(root: Path, size: int) -> Path:
    """A samtale folder whose master holds a synthetic company with its round started."""
    folder = root / f"firma-{size}"
    init_folder(folder)
    employees, conversations = synthetic_company(size)
    (folder / MASTER_XLSX).unlink()
    build_master(folder / MASTER_XLSX, settings={"round": "2027", "period_start": "11.01.2027",
                                                 "period_end": "31.03.2027"},
                 employees=employees, conversations=conversations)
    return folder


def median_time(action: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cli(folder: Path, *args: str) -> Callable[[], object]:
    """A whole `samtale` process, as a user or the nightly job starts it."""
    command = [sys.executable, "-m", "samtale_automation", "--dir", str(folder), *args]
    return lambda: subprocess.run(command, check=False, capture_output=True)


def apply_changeset(folder: Path, size: int) -> Callable[[], object]:
    """Apply a ChangeSet touching a tenth of the conversations plus a Logg row, to a fresh copy."""
    def run() -> None:
        copy = folder.with_name(folder.name + "-apply")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(folder, copy)
        workspace = Workspace.open(copy, datetime(2027, 1, 5, tzinfo=OSLO))
        changeset = ChangeSet("benchmark")
        for n in range(1, size, 10):
            changeset.upsert("Samtaler", f"2027-{10000 + n}", note=f"oppdatert {n}")
        changeset.append("Logg", time=datetime(2027, 1, 5, 9, 0), event="benchmark", who="bench", result="ok")
        workspace.commit(changeset)
    return run


def main() -> None:
    """Build the companies, time each step and print a table with medians and target ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,1000,5000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'step':<22}{'employees':>10}{'median s':>11}{'target s':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = make_folder(Path(tmp), size)
            steps = {
                "status --json": cli(folder, "--today", "2027-01-05", "status", "--json"),
                "check": cli(folder, "--today", "2027-01-05", "check"),
                "changeset apply": apply_changeset(folder, size),
            }
            for name, action in steps.items():
                seconds = median_time(action, args.repeat)
                target = TARGETS.get((name, size))
                ratio = f"{seconds / target:.2f}" if target else ""
                print(f"{name:<22}{size:>10}{seconds:>11.3f}{target or '':>10}{ratio:>8}", flush=True)


if __name__ == "__main__":
    main()
