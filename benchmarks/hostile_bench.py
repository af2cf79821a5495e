"""Benchmark hostile returned files (tests/hostile.py) against a normal one: time and peak memory.

Run from the repository root: `python benchmarks/hostile_bench.py [--repeat 21] [--collect-repeat 5]`.

Reading: each file is read in its own child process (address space limited to 3 GiB) after one
warm-up read of the normal file, alternating with reads of the normal file so both see the same load;
the child reports both medians of `--repeat` reads (the ratio is of these), the Python heap's peak
(tracemalloc), and how far the resident size rose while reading each file (Linux: the peak is reset
through /proc/self/clear_refs first, so Rust allocations count and the imports do not).
Collect: one whole `samtale collect` process over a folder whose innkommende/ holds the normal file,
or the hostile file that was slowest (and the one that used most memory) to read; fresh copy of the
folder each time, median of `--collect-repeat`, and the process's peak resident size.
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
import json, re, resource, statistics, sys, time, tracemalloc
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile

normal, target, key, repeat = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), bytes.fromhex(
    sys.argv[3]), int(sys.argv[4])

def once(data):
    started = time.perf_counter()
    try:
        read_returned(data, key)
        outcome = "read"
    except RejectedFile as exc:
        outcome = exc.reason[:60]
    return time.perf_counter() - started, outcome

def peak_rise(data):
    # Linux: reset the peak resident size, read, and how far it rose (Rust allocations included).
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    status = lambda: open("/proc/self/status").read()
    before = int(re.search(r"VmRSS:\\s+(\\d+)", status())[1])
    once(data)
    return (int(re.search(r"VmHWM:\\s+(\\d+)", status())[1]) - before) * 1024

once(normal)
normal_times, times = [], []
for _ in range(repeat):  # alternating, so both see the same load on the machine
    normal_times.append(once(normal)[0])
    seconds, outcome = once(target)
    times.append(seconds)
rss_normal, rss = max(peak_rise(normal) for _ in range(3)), max(peak_rise(target) for _ in range(3))
tracemalloc.start()
once(target)
heap = tracemalloc.get_traced_memory()[1]
print(json.dumps({"seconds": statistics.median(times), "normal": statistics.median(normal_times),
                  "rss": rss, "rss_normal": rss_normal, "heap": heap, "outcome": outcome}))
"""

COLLECT_CHILD = """
import resource, runpy, sys
sys.argv = ["samtale", "--dir", sys.argv[1], "--today", sys.argv[2], "collect"]
try:
    runpy.run_module("samtale_automation", run_name="__main__")
except SystemExit:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


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


def measure_read(normal: Path, target: Path, key: bytes, repeat: int) -> dict[str, object]:
    """One child process: warm up on the normal file, then read `target` `repeat` times."""
    done = subprocess.run([sys.executable, "-c", READ_CHILD, str(normal), str(target), key.hex(), str(repeat)],
                          capture_output=True, text=True, preexec_fn=_limit, check=False,
                          env={**os.environ, "SAMTALE_LANG": "nb", "PYTHONPATH": str(ROOT)})
    if done.returncode:
        return {"seconds": float("nan"), "normal": 1.0, "rss": 0, "rss_normal": 0, "heap": 0,
                "outcome": f"child failed: {done.stderr[-200:]}"}
    result: dict[str, object] = json.loads(done.stdout)
    return result


def measure_collect(folder: Path, name: str, data: bytes, repeat: int, scratch: Path) -> tuple[float, int]:
    """Median seconds and the largest peak resident size of a whole collect process over one file."""
    times, peaks = [], []
    for n in range(repeat):
        copy = scratch / f"run-{n}"
        shutil.copytree(folder, copy)
        (copy / "innkommende" / name).write_bytes(data)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLLECT_CHILD, str(copy), TODAY], capture_output=True,
                              text=True, preexec_fn=_limit, check=False,
                              env={**os.environ, "SAMTALE_LANG": "nb", "PYTHONPATH": str(ROOT)})
        times.append(time.perf_counter() - started)
        peaks.append(int(done.stderr.strip().splitlines()[-1]))
        shutil.rmtree(copy)
    return statistics.median(times), max(peaks)


def main() -> None:
    """Measure reading every case and collecting the worst; print the table and the ratios."""
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
        rows = {name: measure_read(files / "normal.xlsx", files / f"{name}.xlsx", key, args.repeat) for name in corpus}

        def ratio(row: dict[str, object]) -> float:
            return float(str(row["seconds"])) / float(str(row["normal"]))

        print(f"reading, median of {args.repeat} alternating with the normal file, each case in its own process")
        print(f"{'file':32} {'ms':>8} {'normal':>7} {'ratio':>6} {'rss MiB':>8} {'normal':>7} {'heap MiB':>9}  "
              "outcome")
        for name, row in sorted(rows.items(), key=lambda r: -ratio(r[1])):
            print(f"{name:32} {float(str(row['seconds'])) * 1000:8.2f} {float(str(row['normal'])) * 1000:7.2f} "
                  f"{ratio(row):6.2f} {int(str(row['rss'])) / MIB:8.1f} {int(str(row['rss_normal'])) / MIB:7.1f} "
                  f"{int(str(row['heap'])) / MIB:9.1f}  {row['outcome']}")
        slowest = max(rows, key=lambda n: ratio(rows[n]))
        hungriest = max(rows, key=lambda n: (int(str(rows[n]["rss"])), int(str(rows[n]["heap"]))))
        normal_ms = statistics.median(float(str(r["normal"])) for r in rows.values()) * 1000
        print(f"\nnormal file: {normal_ms:.2f} ms (median over all children)")
        worst = rows[slowest]
        print(f"worst read time: {slowest} {ratio(worst):.2f}x the normal file in the same process "
              f"({float(str(worst['seconds'])) * 1000:.2f} ms vs {float(str(worst['normal'])) * 1000:.2f} ms; "
              "goal <= 5x)")
        most = rows[hungriest]
        print(f"worst read memory: {hungriest}: resident size rose {int(str(most['rss'])) / MIB:.1f} MiB "
              f"(normal file {int(str(most['rss_normal'])) / MIB:.1f} MiB), heap peak "
              f"{int(str(most['heap'])) / MIB:.1f} MiB (goal: under 200 MiB more than normal)")
        scratch = root / "scratch"
        scratch.mkdir()
        normal_seconds, normal_peak = measure_collect(folder, "normal.xlsx", normal, args.collect_repeat, scratch)
        print(f"\nwhole `samtale collect` process, median of {args.collect_repeat}, one file in innkommende/")
        print(f"{'file':32} {'s':>7} {'ratio':>6} {'peak RSS MiB':>13} {'+MiB':>7}")
        print(f"{'normal':32} {normal_seconds:7.3f} {1:6.2f} {normal_peak / MIB:13.1f} {0:7.1f}")
        for name in dict.fromkeys((slowest, hungriest, "zip_bomb_sheet_2gib", "over_5_mib")):
            seconds, peak = measure_collect(folder, f"{name}.xlsx", corpus[name], args.collect_repeat, scratch)
            print(f"{name:32} {seconds:7.3f} {seconds / normal_seconds:6.2f} {peak / MIB:13.1f} "
                  f"{(peak - normal_peak) / MIB:7.1f}")


if __name__ == "__main__":
    main()
