"""Benchmark hostile returned files (tests/hostile.py) against a normal one: time and peak memory.

Run from the repository root: `python benchmarks/hostile_bench.py [--repeat 21] [--collect-repeat 5]`.

Reading: each hostile file is read in its own child process (address space limited to 3 GiB) after
one warm-up read of the normal file, alternating with reads of the normal file so both see the same
load; the child reports both medians of `--repeat` reads, in wall-clock and in CPU time (the ratio
is of CPU time, which other work on a shared machine disturbs least), the Python heap's peak
(tracemalloc), and how far the resident size rose while reading (Linux: the peak is reset through
/proc/self/clear_refs first, so Rust allocations count and the imports do not).
Collect: whole `samtale collect` processes over a fresh copy of a folder whose innkommende/ holds the
normal file or one hostile file (the slowest to read, the one that used most memory, the 2 GiB bomb,
the 5 MiB file), alternating; medians of `--collect-repeat`, and each process's peak resident size.
The goal (DESIGN.md §11): a hostile file takes at most 5x the time of a normal one and at most
200 MiB more memory. Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile import cases  # noqa: E402 - tests/ is on the path only from here

from samtale_automation.commands.init import init_folder  # noqa: E402
from samtale_automation.commands.prep import run_prep  # noqa: E402
from samtale_automation.commands.workspace import Workspace  # noqa: E402
from samtale_automation.domain.changeset import ChangeSet  # noqa: E402
from samtale_automation.domain.model import OSLO  # noqa: E402
from samtale_automation.plans.rounds import plan_new_round  # noqa: E402
from samtale_automation.prepfile.fill import fill_employee  # noqa: E402

MIB = 1024 * 1024
ADDRESS_SPACE = 3 * 1024 * MIB
TODAY = "2027-01-20"

READ_CHILD = """
import json, re, statistics, sys, time, tracemalloc
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile

normal, target, key, repeat = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), bytes.fromhex(
    sys.argv[3]), int(sys.argv[4])

def once(data):
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        read_returned(data, key)
        outcome = "read"
    except RejectedFile as exc:
        outcome = exc.reason[:60]
    return time.perf_counter() - wall, time.process_time() - cpu, outcome

def peak_rise(data):
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    status = lambda: open("/proc/self/status").read()
    before = int(re.search(r"VmRSS:\\s+(\\d+)", status())[1])
    once(data)
    return (int(re.search(r"VmHWM:\\s+(\\d+)", status())[1]) - before) * 1024

once(normal)
runs = {"normal": [], "target": []}
for _ in range(repeat):  # alternating, so both see the same load on the machine
    runs["normal"].append(once(normal))
    runs["target"].append(once(target))
median = lambda name, i: statistics.median(r[i] for r in runs[name])
tracemalloc.start()
once(target)
heap = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"wall": median("target", 0), "cpu": median("target", 1), "normal_wall": median("normal", 0),
                  "normal_cpu": median("normal", 1), "rss": max(peak_rise(target) for _ in range(3)),
                  "normal_rss": max(peak_rise(normal) for _ in range(3)), "heap": heap,
                  "outcome": runs["target"][0][2]}))
"""

COLLECT_CHILD = """
import resource, runpy, sys
sys.argv = ["samtale", "--dir", sys.argv[1], "--today", sys.argv[2], "collect"]
try:
    runpy.run_module("samtale_automation", run_name="__main__")
except SystemExit:
    pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, file=sys.stderr)
"""


@dataclass
class Read:
    """What reading one file in a child process measured (seconds, bytes)."""

    wall: float
    cpu: float
    normal_wall: float
    normal_cpu: float
    rss: int
    normal_rss: int
    heap: int
    outcome: str

    @property
    def ratio(self) -> float:
        return self.cpu / self.normal_cpu


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _env() -> dict[str, str]:
    return {**os.environ, "SAMTALE_LANG": "nb", "PYTHONPATH": str(ROOT)}


def make_folder(root: Path) -> tuple[Path, bytes]:
    """A folder with two employees, their forms made, and a normal returned prep of employee 2."""
    folder = root / "firma"
    init_folder(folder)
    ws = Workspace.open(folder, datetime.fromisoformat(TODAY).replace(tzinfo=OSLO))
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Ansatt", email="bjorn@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, ws.now, "bench").changeset)
    run_prep(ws)
    prep = next((folder / "forberedelse").rglob("2 * - forberedelse.xlsx"))
    filled = root / "normal.xlsx"
    fill_employee(prep, filled, chosen=["S01", "S02", "S09"], notes={"S02": "Arbeidsmengden er stor. " * 20})
    return folder, filled.read_bytes()


def measure_read(normal: Path, target: Path, key: bytes, repeat: int) -> Read:
    """One child process: warm up on the normal file, then read `target` and the normal file in turn."""
    done = subprocess.run([sys.executable, "-c", READ_CHILD, str(normal), str(target), key.hex(), str(repeat)],
                          capture_output=True, text=True, preexec_fn=_limit, check=False, env=_env())
    if done.returncode:
        return Read(float("nan"), float("nan"), 1, 1, 0, 0, 0, f"child failed: {done.stderr[-200:]}")
    return Read(**json.loads(done.stdout))


def measure_collects(folder: Path, files: dict[str, bytes], repeat: int, scratch: Path
                     ) -> dict[str, tuple[float, float, int]]:
    """Per file: median wall and CPU seconds and the largest peak resident size of whole collect
    processes over a fresh copy of the folder with that one file in innkommende/ (files in turn)."""
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in files}
    for n in range(repeat):
        for name, data in files.items():
            copy = scratch / f"run-{n}"
            shutil.copytree(folder, copy)
            (copy / "innkommende" / f"{name}.xlsx").write_bytes(data)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", COLLECT_CHILD, str(copy), TODAY], capture_output=True,
                                  text=True, preexec_fn=_limit, check=False, env=_env())
            wall = time.perf_counter() - started
            cpu, peak = done.stderr.strip().splitlines()[-1].split()
            runs[name].append((wall, float(cpu), int(peak)))
            shutil.rmtree(copy)
    return {name: (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
                   max(r[2] for r in rows)) for name, rows in runs.items()}


def main() -> None:
    """Measure reading every case and collecting the worst; print the tables and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--collect-repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder, normal = make_folder(root)
        key = (folder / ".samtale" / "key").read_bytes()
        files = root / "files"
        files.mkdir()
        (files / "normal.xlsx").write_bytes(normal)
        corpus = {case.name: case.data for case in cases(normal)}
        for name, data in corpus.items():
            (files / f"{name}.xlsx").write_bytes(data)
        reads = {name: measure_read(files / "normal.xlsx", files / f"{name}.xlsx", key, args.repeat)
                 for name in corpus}
        print(f"reading, median of {args.repeat} alternating with the normal file, each case in its own process")
        print(f"{'file':36} {'wall ms':>8} {'cpu ms':>7} {'normal':>7} {'ratio':>6} {'rss MiB':>8} {'normal':>7} "
              f"{'heap MiB':>8}  outcome")
        for name, read in sorted(reads.items(), key=lambda r: -r[1].ratio):
            print(f"{name:36} {read.wall * 1000:8.2f} {read.cpu * 1000:7.2f} {read.normal_cpu * 1000:7.2f} "
                  f"{read.ratio:6.2f} {read.rss / MIB:8.1f} {read.normal_rss / MIB:7.1f} {read.heap / MIB:8.1f}  "
                  f"{read.outcome}")
        slowest = max(reads, key=lambda n: reads[n].ratio)
        hungriest = max(reads, key=lambda n: (reads[n].rss, reads[n].heap))
        normal_cpu = statistics.median(r.normal_cpu for r in reads.values())
        normal_wall = statistics.median(r.normal_wall for r in reads.values())
        worst, most = reads[slowest], reads[hungriest]
        print(f"\nnormal file: {normal_wall * 1000:.2f} ms wall, {normal_cpu * 1000:.2f} ms CPU (medians over all "
              "children)")
        print(f"worst read time: {slowest}: {worst.ratio:.2f}x the normal file's CPU time in the same process "
              f"({worst.cpu * 1000:.2f} ms vs {worst.normal_cpu * 1000:.2f} ms; wall {worst.wall * 1000:.2f} ms vs "
              f"{worst.normal_wall * 1000:.2f} ms, {worst.wall / worst.normal_wall:.2f}x); goal <= 5x")
        print(f"worst read memory: {hungriest}: resident size rose {most.rss / MIB:.1f} MiB (normal file "
              f"{most.normal_rss / MIB:.1f} MiB), Python heap peak {most.heap / MIB:.1f} MiB; goal < 200 MiB more")
        scratch = root / "scratch"
        scratch.mkdir()
        chosen = {"normal": normal} | {n: corpus[n] for n in (slowest, hungriest, "zip_bomb_sheet_2gib", "over_5_mib")}
        collects = measure_collects(folder, chosen, args.collect_repeat, scratch)
        base_wall, base_cpu, base_peak = collects["normal"]
        print(f"\nwhole `samtale collect` process, median of {args.collect_repeat}, one file in innkommende/")
        print(f"{'file':36} {'wall s':>7} {'ratio':>6} {'cpu s':>6} {'ratio':>6} {'peak RSS MiB':>13} {'+MiB':>6}")
        for name, (wall, cpu, peak) in collects.items():
            print(f"{name:36} {wall:7.3f} {wall / base_wall:6.2f} {cpu:6.3f} {cpu / base_cpu:6.2f} "
                  f"{peak / MIB:13.1f} {(peak - base_peak) / MIB:6.1f}")


if __name__ == "__main__":
    main()
