"""Benchmark the signing loop's own work: the content version, the fresh copies and the signed PDF.

Run from the repository root: `python benchmarks/signing_bench.py [--conversations 200]`.
In process, median of 31 per step, on one realistic set of minutes (six summaries, five actions):
reading the returned file (the baseline every collect already pays), its version (canonical form +
SHA-256), writing a fresh copy to finalise or countersign, and the signed PDF. Then whole `samtale collect` processes on
the same folder set-up, alternating, median of 3: N employees' signed minutes (versions recorded, N
copies for the managers written, 5 Tiltak rows each) against N filled preps (one guide each), the
step of the same size that existed before.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run import make_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import MinutesDraft, Signature
from samtale_automation.prepfile.fill import fill_employee, fill_minutes
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.signed_pdf import signed_pdf_bytes
from samtale_automation.prepfile.write import write_prep

REPEAT = 31
SUMMARIES = {n: f"Sammendrag {n}: et godt år med mye ansvar, nye oppgaver og ønske om kurs i rådgivning. " * 3
             for n in range(6)}
ACTIONS = [(f"Tiltak {n} – kurs, mentor eller nye oppgaver", "Tryggere i kundemøter", "Åse Kjærstad",
            date(2027, 4, n + 1), date(2027, 3, n + 1)) for n in range(5)]


def _median(action: object, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _signed_minutes(source: Path, target: Path) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(source)
    fill_minutes(workbook, summaries=SUMMARIES, actions=ACTIONS, private="Privat notat",
                 signed=("Ansatt", date(2027, 1, 21), "", None))
    workbook.save(target)


def main() -> None:
    """Time the steps in process, then the two collects."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root / "a", args.conversations + 1)
        workspace = Workspace.open(folder, datetime(2027, 1, 5, tzinfo=OSLO))
        plan = run_prep(workspace).plan
        employee_files = [item for item in plan.files if item.content.identity.variant == "ansatt"]
        key = workspace.folder.key.read_bytes()
        sample = root / "sample.xlsx"
        _signed_minutes(employee_files[0].path, sample)
        data = sample.read_bytes()
        returned = read_returned(data, key)
        minutes = returned.minutes()
        version = minutes.version()
        draft = MinutesDraft(minutes, None, Signature("Leder", date(2027, 1, 22), version))
        copy_content = replace(employee_files[0].content, questions=(), past_actions=(), minutes=draft)
        pdf_content = replace(copy_content, minutes=replace(draft, employee_signature=Signature(
            "Ansatt", date(2027, 1, 23), version)))
        read_s = _median(lambda: read_returned(data, key))
        hash_s = _median(lambda: minutes.version())
        copy_s = _median(lambda: write_prep(root / "copy.xlsx", copy_content, key))
        pdf_s = _median(lambda: signed_pdf_bytes(pdf_content))
        print(f"per conversation, median of {REPEAT}:")
        print(f"  read the returned minutes (baseline)  {read_s * 1000:7.2f} ms   1.00x")
        print(f"  content version (canonical + SHA-256) {hash_s * 1000:7.3f} ms   {hash_s / read_s:.3f}x")
        print(f"  fresh copy to finalise/countersign    {copy_s * 1000:7.2f} ms   {copy_s / read_s:.2f}x")
        size = len(signed_pdf_bytes(pdf_content)) // 1024
        print(f"  signed PDF ({size} KiB)                {pdf_s * 1000:7.2f} ms   {pdf_s / read_s:.2f}x")

        template = root / "template"
        shutil.copytree(folder, template)
        jobs = {"signed minutes": _signed_minutes,
                "filled preps (baseline)": lambda s, t: fill_employee(s, t, chosen=["S01", "S02"])}
        results: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(3):
            for name, fill in jobs.items():
                run = root / "run"
                shutil.rmtree(run, ignore_errors=True)
                shutil.copytree(template, run)
                for item in employee_files:
                    source = run / item.path.relative_to(folder)
                    fill(source, run / "innkommende" / item.path.name)
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(run), "--today",
                                "2027-01-25", "collect"], capture_output=True, check=True)
                results[name].append(time.perf_counter() - started)
        base = statistics.median(results["filled preps (baseline)"])
        print(f"whole `samtale collect` of {len(employee_files)} files, median of 3:")
        for name, times in results.items():
            seconds = statistics.median(times)
            print(f"  {name:<26} {seconds:6.2f} s  ({seconds / len(employee_files) * 1000:.1f} ms/file, "
                  f"{seconds / base:.2f}x)")


if __name__ == "__main__":
    main()
