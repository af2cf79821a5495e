"""Questions in the reader's language, on real prep files: the employee's Språk, the manager's for the manager."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from folders import make_folder

from samtale_automation.commands.prep import run_prep
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.fill import name_cells


def _questions(path: Path) -> dict[str, str]:
    """Question ID → the question cell's text, from a generated prep file."""
    workbook = openpyxl.load_workbook(path)
    sheet, ids = name_cells(workbook, pn.N_QUESTION_ID)
    return {str(cell.value): str(sheet.cell(cell.row, cell.column + 1).value) for (cell,) in ids if cell.value}


def test_an_english_readers_file_has_english_questions_and_norwegian_where_none(tmp_path: Path) -> None:
    """Cecilie (Språk = en) gets «Spørsmål (en)» with its follow-ups; S02 without English stays Norwegian; Bjørn
    (nb) gets Norwegian throughout."""
    ws = make_folder(tmp_path / "f")
    blank = ChangeSet("no English for S02")
    blank.upsert("Sporsmal", "S02", force=True, text_en="", follow_ups_en="")  # as HR would clear it
    ws.commit(blank)
    run_prep(ws)
    root = ws.folder.root / "forberedelse" / "2027"
    english = _questions(next(root.rglob("3 * - forberedelse.xlsx")))
    assert english["S01"].startswith("How have the actions we agreed on in our last conversation gone? (mandatory)")
    assert "– Which actions have been completed, and what made that possible?" in english["S01"]
    assert english["S02"].startswith("Hvordan ser du selv tilbake på perioden som har gått?")
    assert "– Hva er du mest fornøyd med?" in english["S02"]
    norwegian = _questions(next(root.rglob("2 * - forberedelse.xlsx")))
    assert norwegian["S01"].startswith("Hvordan har det gått med tiltakene vi ble enige om i forrige samtale?")
    workbook = openpyxl.load_workbook(next(root.rglob("3 * - forberedelse.xlsx")))
    assert workbook.sheetnames[:2] == ["Preparation", "Minutes"]
