"""Start-up cost of the everyday commands: `samtale --help` and `status --json`, as whole processes.

Run from the repository root: `python benchmarks/startup_bench.py [--before DIR] [--repeat 21]`.
With `--before`, the same commands run alternately from another checkout of the package (e.g. a
`git worktree` of an earlier release), in the same run, and the ratio after/before is printed.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(source: Path, args: list[str]) -> float:
    """Seconds for one `python -m samtale_automation ARGS` with the package taken from `source`."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "samtale_automation", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    """Time each command from each checkout, alternating, and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="another checkout to compare with (its repository root)")
    parser.add_argument("--repeat", type=int, default=21)
    options = parser.parse_args()
    sources = {"this": ROOT} | ({"before": options.before.resolve()} if options.before else {})
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "firma"
        subprocess.run([sys.executable, "-m", "samtale_automation", "init", str(folder)], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
        commands = {"--help": ["--help"], "status --json": ["--dir", str(folder), "status", "--json"]}
        for name, args in commands.items():
            times: dict[str, list[float]] = {label: [] for label in sources}
            for source in sources.values():  # warm the file cache and the bytecode
                timed(source, args)
            for _ in range(options.repeat):
                for label, source in sources.items():
                    times[label].append(timed(source, args))
            medians = {label: statistics.median(values) for label, values in times.items()}
            line = f"{name:15} this {medians['this'] * 1000:6.0f} ms"
            if "before" in medians:
                ratio = medians["this"] / medians["before"]
                line += f"   before {medians['before'] * 1000:6.0f} ms   ratio {ratio:.2f}"
            print(line)


if __name__ == "__main__":
    main()
