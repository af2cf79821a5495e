"""Benchmark how samtale scales: 50 / 500 / 5,000 employees (and 1,000 employees with 10,000 actions).

Run from the repository root: `python benchmarks/scale_bench.py [--sizes 50,500,5000] [--repeat 3]
[--repeat-large 1] [--no-actions]`. Every command is a whole `samtale` process (interpreter start-up
and imports included) on a fresh copy of a folder built once per size (not timed), as a person or
the nightly job starts it. Each is reported with its wall time, its peak resident memory
(`ru_maxrss` of the child) and its ratio to a floor measured in the same run on the same folder:

- the «read floor»: `samtale status --json` (reading the master with calamine, nothing written);
- the «write floor»: a process that loads and saves the same master with openpyxl and nothing else
  (its Python start-up and openpyxl import included, as in every command);
- the «XlsxWriter floor»: a process writing the same cell values into the same number of files with
  plain XlsxWriter (no formats, validation, names or protection), in two processes as prep does.

The growth exponent from 500 to 5,000 is log(t5000 / t500) / log(10): 1.0 is linear. With
`--repeat-large 1` (the default) the 5,000-employee figures and those with 10,000 actions are
single runs, to keep the whole script near fifteen minutes on the 2-core reference machine; the
smaller sizes are medians of `--repeat` (3). What a target is judged by is a median of at least three
runs at every size: the read floor and the second invite, and with 10,000 actions prep and its
XlsxWriter floor. The comparison with 10,000 actions times the read floor and the two dry runs on
1,000 employees with and without them, alternating between the two folders run by run (nine runs
each), so that a machine slower for a while slows both. Collect and nightly find one returned prep
file per ten employees in innkommende/. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run import last_year, synthetic_actions, synthetic_company
from samtale_automation.commands.init import init_folder
from samtale_automation.paths import MASTER_XLSX
from samtale_automation.workbook.build import build_master

ROUND = {"round": "2027", "period_start": "11.01.2027", "period_end": "31.03.2027"}
PREP_DAY = "2027-01-04"  # prep and invitations
REMIND_DAY = "2027-01-05"  # the first night of reminders
RETURNED_SHARE = 10  # one employee in ten returns a filled prep file for collect
TARGETS = "growth ≤ 1.1; prep ≤ 2.5× the XlsxWriter floor; a second invite < 1 s above the read floor; " \
          "invite at 5,000 < 150 MiB; 10,000 actions add < 20 % to invite/prep --dry-run"


@dataclass
class Measure:
    """One command's runs at one size."""

    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)

    @property
    def time(self) -> float:
        """The median wall time."""
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        """The highest peak resident size of the runs, MiB."""
        return max(self.peak_mib)


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def process(args: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one child process.

    The peak is GNU time's %M: the child is forked from `time`, a small process. A child forked
    straight from this benchmark would report at least this process's own resident size (Linux
    carries the parent's high-water mark across fork and exec). A pool's workers are separate
    processes and not in the figure. Without /usr/bin/time the peak is left out (0).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        command = [GNU_TIME, "-f", "%M", "-o", out.name, *args] if GNU_TIME else args
        started = time.perf_counter()
        code = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False).returncode
        seconds = time.perf_counter() - started
        text = out.read().strip().splitlines()
    peak = int(text[-1]) / 1024 if GNU_TIME and text and text[-1].isdigit() else 0.0
    return seconds, peak, code


def samtale(folder: Path, *args: str, today: str = PREP_DAY) -> list[str]:
    """The command line of a whole samtale process on `folder`."""
    return [sys.executable, "-m", "samtale_automation", "--dir", str(folder), "--today", today, *args]


def make_folder(root: Path, size: int, actions_per_employee: int = 0, past_round: bool | None = None) -> Path:
    """A folder with `size` employees, the 2027 round planned (no double bookings) and a mailbox set; with
    actions (or `past_round`) last year's conversations, which the actions come from, as well."""
    folder = root / f"firma-{size}-{actions_per_employee}"
    init_folder(folder)
    config = folder / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', 'mailbox = "hr@firma.example"'),
                      encoding="utf-8")
    employees, conversations = synthetic_company(size + 1)  # the top manager has no conversation
    actions = synthetic_actions(conversations, actions_per_employee)
    if past_round if past_round is not None else bool(actions):
        conversations += last_year(conversations)
    (folder / MASTER_XLSX).unlink()
    build_master(folder / MASTER_XLSX, settings=ROUND, employees=employees, conversations=conversations,
                 actions=actions)
    return folder


def plain_floor(target: Path, count: int, grids_file: Path) -> None:
    """The XlsxWriter floor's own process: `count` files with the given values, in two spawned processes."""
    import json
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    grids = json.loads(grids_file.read_text(encoding="utf-8"))
    jobs = [(target, list(range(first, min(first + 16, count))), grids) for first in range(0, count, 16)]
    if count < 96:  # as prep: a small batch is written in the one process
        for job in jobs:
            _plain_chunk(job)
        return
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_plain_chunk, jobs))


def _plain_chunk(job: tuple[Path, list[int], list[dict[str, list[list[object]]]]]) -> int:
    import xlsxwriter

    target, numbers, grids = job
    for n in numbers:
        workbook = xlsxwriter.Workbook(str(target / f"{n}.xlsx"), {
            "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
        for name, grid in grids[n % len(grids)].items():
            sheet = workbook.add_worksheet(name)
            for r, row in enumerate(grid):
                for c, value in enumerate(row):
                    if value not in ("", None):
                        sheet.write(r, c, value)
        workbook.close()
    return len(numbers)


def write_floor(master: Path) -> None:
    """The write floor's own process: openpyxl loads and saves the master, nothing else."""
    import openpyxl

    workbook = openpyxl.load_workbook(master, rich_text=True, keep_links=True)
    workbook.save(master.with_name("floor.xlsx"))


def grids_of(paths: list[Path]) -> list[dict[str, list[list[int | float | str]]]]:
    """The cell values of these prep files, sheet by sheet, as calamine reads them (dates as text)."""
    import python_calamine

    found = []
    for path in paths:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        found.append({name: [[v if isinstance(v, str | int | float) else str(v) for v in row]
                             for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
                      for name in book.sheet_names})
    return found


class Bench:
    """Runs the commands of one size on fresh copies of its folders and keeps every measure."""

    def __init__(self, root: Path, size: int, actions: int, repeat: int, returned: int) -> None:
        self.root, self.size, self.actions, self.repeat, self.returned = root, size, actions, repeat, returned
        self.target_repeat = max(3, repeat)  # what a target is judged by: never a single run
        self.measures: dict[str, Measure] = {}
        self.base = make_folder(root, size, actions)
        self.prepped: Path | None = None
        self.invited: Path | None = None

    def run(self, name: str, make: Callable[[], tuple[list[str], Path | None]], repeat: int | None = None) -> None:
        """Time `repeat` runs of the command that `make` sets up (a fresh copy each time)."""
        measure = self.measures.setdefault(name, Measure())
        for _ in range(repeat or self.repeat):
            args, scratch = make()
            seconds, peak, code = process(args)
            measure.seconds.append(seconds)
            measure.peak_mib.append(peak)
            measure.codes.add(code)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    def copy(self, source: Path) -> Path:
        """A fresh copy of a folder (its files and journal), removed after the run."""
        target = Path(tempfile.mkdtemp(dir=self.root)) / "firma"
        shutil.copytree(source, target)
        return target

    def prepare(self) -> None:
        """Untimed: the prep files made (prepped) and the round invited (invited) with returned files waiting."""
        self.prepped = self.root / f"prepped-{self.size}-{self.actions}"
        shutil.copytree(self.base, self.prepped)
        subprocess.run(samtale(self.prepped, "prep"), check=True, capture_output=True)
        self.invited = self.root / f"invited-{self.size}-{self.actions}"
        shutil.copytree(self.prepped, self.invited)
        subprocess.run(samtale(self.invited, "invite", "--yes"), check=True, capture_output=True)
        from samtale_automation.prepfile.fill import fill_employee

        files = sorted(self.invited.glob("forberedelse/**/* - forberedelse.xlsx"))[:self.returned]
        for path in files:
            fill_employee(path, self.invited / "innkommende" / path.name, chosen=["S01", "S02", "S09"],
                          notes={"S02": "Et notat"})

    def measure_all(self) -> None:
        """Every floor and command of this size."""
        base = self.base
        assert self.prepped is not None and self.invited is not None
        self.run("read floor", lambda: (samtale(base, "status", "--json"), None), self.target_repeat)
        self.run("write floor", lambda: ([sys.executable, __file__, "--write-floor", str(base / MASTER_XLSX)], None))
        files = sorted(self.prepped.glob("forberedelse/**/*.xlsx"))
        grids = self.root / f"grids-{self.size}-{self.actions}.json"
        import json

        grids.write_text(json.dumps(grids_of(files[:2]), ensure_ascii=False), encoding="utf-8")

        def plain() -> tuple[list[str], Path | None]:
            scratch = Path(tempfile.mkdtemp(dir=self.root))
            return [sys.executable, __file__, "--plain-floor", str(scratch), str(len(files)), str(grids)], scratch

        prep_repeat = self.target_repeat if self.actions else None  # at 5,000 a prep takes a minute
        self.run("XlsxWriter floor", plain, prep_repeat)

        def fresh(source: Path, *args: str, today: str = PREP_DAY) -> Callable[[], tuple[list[str], Path]]:
            def make() -> tuple[list[str], Path]:
                copy = self.copy(source)
                return samtale(copy, *args, today=today), copy.parent
            return make

        self.run("round new", fresh(base, "round", "new", "2028", "--from", "2028-01-10", "--to", "2028-03-31"))
        self.run("check", lambda: (samtale(base, "check"), None))
        self.run("status", lambda: (samtale(base, "status", "--json"), None))
        self.run("prep --dry-run", lambda: (samtale(base, "prep", "--dry-run"), None))
        self.run("invite --dry-run", lambda: (samtale(base, "invite", "--dry-run"), None))
        self.run("prep", fresh(base, "prep"), prep_repeat)
        self.run("invite", fresh(self.prepped, "invite", "--yes"))
        invited = self.invited
        self.run("invite again (nothing to send)", lambda: (samtale(invited, "invite", "--yes"), None),
                 self.target_repeat)
        self.run("remind", fresh(invited, "remind", "--yes", today=REMIND_DAY))
        self.run("collect", fresh(invited, "collect", today=REMIND_DAY))

        def pending() -> tuple[list[str], Path]:
            copy = self.copy(base)
            from samtale_automation.domain.changeset import ChangeSet
            from samtale_automation.store.journal import Journal

            change = ChangeSet("benchmark")
            for n in range(1, self.size + 1, 10):
                change.upsert("Samtaler", f"2027-{10000 + n}", force=True, place=f"Rom {n}")
            with Journal(copy / ".samtale" / "journal.sqlite") as journal:
                journal.add_changeset(change)
            return samtale(copy, "apply"), copy.parent

        self.run("apply", pending)
        self.run("nightly", fresh(invited, "nightly", today=REMIND_DAY))



#: The comparison with 10,000 actions: the read floor and the two dry runs.
COMPARED = {"read floor": ("status", "--json"), "prep --dry-run": ("prep", "--dry-run"),
            "invite --dry-run": ("invite", "--dry-run")}


def compare_actions(plain: Path, with_actions: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median seconds of each compared command on the two folders, alternating folder by folder each run."""
    times: dict[tuple[str, Path], list[float]] = {}
    for _ in range(runs):
        for name, args in COMPARED.items():
            for folder in (plain, with_actions):
                times.setdefault((name, folder), []).append(process(samtale(folder, *args))[0])
    return {name: (statistics.median(times[name, plain]), statistics.median(times[name, with_actions]))
            for name in COMPARED}


FLOOR_OF = {"round new": "write floor", "check": "read floor", "status": "read floor", "prep": "XlsxWriter floor",
            "prep --dry-run": "read floor", "invite --dry-run": "read floor", "invite": "write floor",
            "invite again (nothing to send)": "read floor", "remind": "write floor", "collect": "write floor",
            "apply": "write floor", "nightly": "write floor"}


def report(benches: list[Bench], comparison: dict[str, tuple[float, float]]) -> None:
    """Markdown tables: per size, time and peak against the floor; growth 500 -> 5,000; the targets."""
    for bench in benches:
        label = f"{bench.size:,} employees" + (f", {bench.size * bench.actions:,} actions" if bench.actions else "")
        print(f"\n### {label} (returned files for collect/nightly: {bench.returned})\n")
        print("| command | wall | × floor | peak RSS | × floor's peak | floor | exit |")
        print("|---|---|---|---|---|---|---|")
        for name, measure in bench.measures.items():
            floor = bench.measures.get(FLOOR_OF.get(name, ""))
            ratio = f"{measure.time / floor.time:.2f}" if floor else "–"
            peak = f"{measure.peak / floor.peak:.2f}" if floor else "–"
            print(f"| {name} | {measure.time:.2f} s (n={len(measure.seconds)}) | {ratio} | {measure.peak:.0f} MiB "
                  f"| {peak} | {FLOOR_OF.get(name, '–')} | {','.join(map(str, sorted(measure.codes)))} |")
    by_size = {(b.size, b.actions): b for b in benches}
    small, large = by_size.get((500, 0)), by_size.get((5000, 0))
    if small and large:
        print("\n### Growth from 500 to 5,000 employees (1.0 = linear; target ≤ 1.1)\n")
        print("| command | 500 | 5,000 | exponent |")
        print("|---|---|---|---|")
        for name, measure in large.measures.items():
            if name in small.measures:
                t1, t2 = small.measures[name].time, measure.time
                print(f"| {name} | {t1:.2f} s | {t2:.2f} s | {math.log10(t2 / t1):.2f} |")
    print("\n### Targets\n")
    if large:
        again, floor = large.measures["invite again (nothing to send)"], large.measures["read floor"]
        print(f"- second invite at 5,000: {again.time:.2f} s, {again.time - floor.time:.2f} s above the read floor "
              "(target < 1 s)")
        print(f"- invite at 5,000: peak {large.measures['invite'].peak:.0f} MiB (target < 150 MiB)")
    for bench in (b for b in benches if "prep" in b.measures):
        print(f"- prep at {bench.size:,}: {bench.measures['prep'].time / bench.measures['XlsxWriter floor'].time:.2f}× "
              "the XlsxWriter floor (target ≤ 2.5×)")
    for name, (t0, t1) in comparison.items():
        print(f"- {name} at 1,000: {t0:.2f} s → {t1:.2f} s with 10,000 actions (+{(t1 / t0 - 1) * 100:.0f} %; "
              f"{t1 - t0:.2f} s; target < 20 % for the dry runs)")
    reading = comparison.get("read floor")
    for name in ("prep --dry-run", "invite --dry-run"):
        if reading and name in comparison:
            above = (comparison[name][0] - reading[0], comparison[name][1] - reading[1])
            print(f"- {name} above the read floor: {above[0]:.2f} s → {above[1]:.2f} s with 10,000 actions")


def main() -> None:
    """Build the folders, run every command at every size, print the tables."""
    if sys.argv[1:2] == ["--plain-floor"]:
        plain_floor(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return
    if sys.argv[1:2] == ["--write-floor"]:
        write_floor(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command below 5,000 employees (median)")
    parser.add_argument("--repeat-large", type=int, default=1, help="runs per command at 5,000 and with actions")
    parser.add_argument("--no-actions", action="store_true",
                        help="skip 1,000 employees with and without 10,000 actions")
    args = parser.parse_args()
    started = time.perf_counter()
    sizes = [(int(s), 0) for s in args.sizes.split(",") if s]  # --sizes "": only the 10,000 actions
    if not args.no_actions:
        sizes.append((1000, 10))
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    benches = []
    comparison: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size, actions in sizes:
            repeat = args.repeat if size < 5000 and not actions else args.repeat_large
            root = Path(tmp) / f"{size}-{actions}"
            root.mkdir()
            bench = Bench(root, size, actions, repeat, max(1, size // RETURNED_SHARE))
            bench.prepare()
            bench.measure_all()
            benches.append(bench)
            if actions:
                comparison = compare_actions(make_folder(root, size, past_round=True), bench.base, 3 * args.repeat)
            print(f"... {size} employees, {size * actions} actions done at {time.perf_counter() - started:.0f} s, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            shutil.rmtree(root, ignore_errors=True)
    report(benches, comparison)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
