"""Benchmark prep files: writing 1,000 with a 60-question menu, and reading 1,000 returned ones.

Run from the repository root: `python benchmarks/prep_bench.py [--files 1000] [--repeat 3] [--dir D]`.
Generation runs in a pool of 2 processes and is compared, in the same run, with plain XlsxWriter
writing the same cell values without formatting, validation, names or protection (the issue's
goal: at most 2.5x, under 15 s wall). Reading is sequential, one process (goal: under 3 ms a file).
Prints medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl
import python_calamine
import xlsxwriter

from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import EMPLOYEE, Identity, PastAction, PrepContent, PrepQuestion
from samtale_automation.domain.schema import TOPICS
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.read import RejectedFile, read_returned
from samtale_automation.prepfile.write import write_prep
from samtale_automation.workbook.build import default_questions

KEY = b"b" * 32
MENU_SIZE = 60
WORKERS = 2
CHUNKS = 20


def menu() -> tuple[PrepQuestion, ...]:
    """The shipped question menu, topped up to 60 questions."""
    topics = {t.key: t for t in TOPICS}
    questions = [PrepQuestion(q.question_id, q.topic, topics[q.topic].nb, q.text["nb"], tuple(q.follow_ups["nb"]),
                              q.mandatory) for q in default_questions()]
    for n in range(len(questions), MENU_SIZE):
        topic = TOPICS[n % len(TOPICS)]
        questions.append(PrepQuestion(f"X{n:02d}", topic.key, topic.nb, f"Ekstra spørsmål {n} om {topic.nb.lower()}?",
                                      (f"Hjelpespørsmål {n}a?", f"Hjelpespørsmål {n}b?")))
    order = [t.key for t in TOPICS]
    return tuple(sorted(questions[:MENU_SIZE], key=lambda q: order.index(q.topic)))


def content_for(n: int, questions: tuple[PrepQuestion, ...]) -> PrepContent:
    """One employee's prep content; every file differs in names and IDs."""
    emp = str(10000 + n)
    return PrepContent(
        identity=Identity(f"2027-{emp}", emp, EMPLOYEE, "2027"), lang="nb", company="Firma AS",
        employee_name=f"Ansatt Æøå {n}", manager_name=f"Leder {n // 8}", manager_email=f"leder{n // 8}@firma.example",
        start=datetime(2027, 1, 11 + n % 20, 9, 0, tzinfo=OSLO), place="Møterom", prep_deadline=date(2027, 1, 8),
        minutes_deadline_days=7, max_questions=10, questions=questions,
        past_actions=tuple(PastAction(f"2026-{emp}-{k}", f"Tiltak {k}", "Mål", date(2026, 6, k), "Pågår")
                           for k in range(1, 4)),
        department="Regnskap", title="Rådgiver")


def _write_prep_chunk(args: tuple[Path, list[int], tuple[PrepQuestion, ...]]) -> int:
    folder, numbers, questions = args
    for n in numbers:
        write_prep(folder / f"{10000 + n} - forberedelse.xlsx", content_for(n, questions), KEY)
    return len(numbers)


def _write_plain_chunk(args: tuple[Path, list[int], dict[str, list[list[Any]]]]) -> int:
    """Plain XlsxWriter: the same sheets and cell values, no formats, validation, names or protection."""
    folder, numbers, grids = args
    for n in numbers:
        # in_memory as write_prep uses it: the comparison is about formatting, not XlsxWriter's temp files.
        workbook = xlsxwriter.Workbook(str(folder / f"{10000 + n} - plain.xlsx"), {
            "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
        for name, grid in grids.items():
            sheet = workbook.add_worksheet(name)
            for r, row in enumerate(grid):
                for c, value in enumerate(row):
                    if value != "":
                        sheet.write(r, c, value)
        workbook.close()
    return len(numbers)


def _noop(_: int) -> int:
    return 0


def _pool_wall(pool: ProcessPoolExecutor, job: Callable[[Any], int], chunks: list[Any]) -> float:
    started = time.perf_counter()
    done = sum(pool.map(job, chunks))
    assert done == sum(len(c[1]) for c in chunks)
    return time.perf_counter() - started


def grids_of(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's values as calamine reads them (rich text flattened, the counter's cached text)."""
    workbook = python_calamine.CalamineWorkbook.from_path(path)
    return {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in workbook.sheet_names}


def fill(source: Path, target: Path, n: int) -> None:
    """Fill a prep file as a person would: 9 more choices, notes, assessments, minutes with actions, sign-off."""
    workbook = openpyxl.load_workbook(source)

    def cells(name: str) -> list[Any]:
        (sheet_name, ref), = list(workbook.defined_names[name].destinations)
        found = workbook[sheet_name][ref.replace("$", "")]
        return [row[0] if isinstance(row, tuple) else row for row in found] if isinstance(found, tuple) else [found]

    ids, choose, notes = cells(pn.N_QUESTION_ID), cells(pn.N_CHOOSE), cells(pn.N_NOTES)
    already = sum(1 for cell in choose if cell.value == "Ja")  # the mandatory questions
    picked = [i for i, cell in enumerate(ids) if cell.value and choose[i].value != "Ja"][n % 5::6][:10 - already]
    for i in picked:
        choose[i].value = "Ja"
        notes[i].value = f"Notat {n}-{i}: hva tror jeg selv?"
    for cell in cells(pn.N_ASSESSMENT):
        cell.value = "Kom et stykke på vei"
    for k, cell in enumerate(cells(pn.N_SUMMARY)):
        cell.value = f"Sammendrag {k}"
    (sheet_name, ref), = list(workbook.defined_names[pn.N_ACTIONS].destinations)
    for k, row in enumerate(workbook[sheet_name][ref.replace("$", "")][:4]):
        row[0].value, row[1].value, row[2].value, row[3].value = f"Tiltak {k}", "Mål", "Kari", date(2027, 3, 1 + k)
    cells(pn.N_SIGN_EMPLOYEE_NAME)[0].value = "Ansatt"
    cells(pn.N_SIGN_EMPLOYEE_DATE)[0].value = date(2027, 1, 20)
    workbook.save(target)


def read_all(paths: list[Path]) -> list[float]:
    """Read every file with read_returned; return the time of each in milliseconds."""
    times = []
    for path in paths:
        started = time.perf_counter()
        try:
            read_returned(path, KEY)
        except RejectedFile as rejected:
            raise SystemExit(f"{path.name} was rejected: {rejected.reason}") from None
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    """Run the benchmark and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="samtale-prep-bench-", dir=args.dir))
    questions = menu()
    numbers = list(range(args.files))
    parts = [numbers[i::CHUNKS] for i in range(CHUNKS)]
    try:
        probe = root / "probe.xlsx"
        write_prep(probe, content_for(0, questions), KEY)
        grids = grids_of(probe)
        cells = sum(1 for g in grids.values() for row in g for v in row if v != "")
        print(f"{args.files} prep files, {len(questions)} questions, {cells} non-empty cells each, "
              f"{WORKERS} processes, {args.repeat} runs")
        gen_walls, plain_walls = [], []
        with ProcessPoolExecutor(WORKERS) as pool:
            list(pool.map(_noop, range(WORKERS * 4)))  # start the workers before timing
            for run in range(args.repeat):
                gen_dir, plain_dir = root / f"prep{run}", root / f"plain{run}"
                gen_dir.mkdir()
                plain_dir.mkdir()
                gen_walls.append(_pool_wall(pool, _write_prep_chunk, [(gen_dir, p, questions) for p in parts]))
                plain_walls.append(_pool_wall(pool, _write_plain_chunk, [(plain_dir, p, grids) for p in parts]))
                if run < args.repeat - 1:
                    shutil.rmtree(plain_dir)
        gen, plain = statistics.median(gen_walls), statistics.median(plain_walls)
        print(f"generation (write_prep, formatted):  median {gen:6.2f} s wall  ({gen * 1000 / args.files:.1f} ms/file)"
              f"  runs {', '.join(f'{w:.2f}' for w in gen_walls)}   target < 15 s")
        print(f"plain XlsxWriter, same values:       median {plain:6.2f} s wall  "
              f"({plain * 1000 / args.files:.1f} ms/file)  runs {', '.join(f'{w:.2f}' for w in plain_walls)}")
        print(f"ratio generation / plain:            {gen / plain:6.2f}x   target <= 2.5x")

        generated = sorted((root / f"prep{args.repeat - 1}").iterdir())
        filled_dir = root / "filled"
        filled_dir.mkdir()
        templates = []
        for n, source in enumerate(generated[:10]):
            templates.append(filled_dir / f"template-{n}.xlsx")
            fill(source, templates[-1], n)
        returned = []
        for n in range(args.files):
            target = filled_dir / f"returned-{n}.xlsx"
            shutil.copyfile(templates[n % len(templates)], target)
            returned.append(target)
        for label, paths in (("returned, filled with openpyxl", returned), ("returned as generated", generated)):
            runs = [read_all(paths) for _ in range(args.repeat)]
            medians = [statistics.median(r) for r in runs]
            totals = [sum(r) / 1000 for r in runs]
            print(f"reading {len(paths)} files ({label}): median {statistics.median(medians):.2f} ms/file, "
                  f"mean {statistics.median(totals) * 1000 / len(paths):.2f} ms/file, "
                  f"total {statistics.median(totals):.2f} s   target < 3 ms/file")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
