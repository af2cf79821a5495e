"""Fill a generated prep file as a person would (openpyxl): for the demo and for tests.

Finds every input region through the defined names the writer put in (prepfile/names.py), so it
fills exactly what a person would type into.
"""

from __future__ import annotations

import os
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.prepfile import names as pn


def name_cells(workbook: Any, name: str) -> tuple[Any, list[list[Any]]]:
    """The worksheet and the cells (rows of cells) a workbook-level defined name points to."""
    defined = workbook.defined_names[name]
    (sheet_name, ref), = list(defined.destinations)
    sheet = workbook[sheet_name]
    cells = sheet[ref.replace("$", "")]
    if not isinstance(cells, tuple):
        return sheet, [[cells]]
    if cells and not isinstance(cells[0], tuple):
        return sheet, [[c] for c in cells]
    return sheet, [list(row) for row in cells]


def set_text(cell: Any, value: str) -> None:
    """Type text into a cell; text that looks like a formula stays text, as Excel does after a leading '."""
    cell.value = value
    cell.data_type = "s"


def set_name(workbook: Any, name: str, value: Any) -> None:
    """Type a value into the first cell of a defined name."""
    _, cells = name_cells(workbook, name)
    if isinstance(value, str):
        set_text(cells[0][0], value)
    else:
        cells[0][0].value = value


def fill_employee(path: Path, out: Path, *, chosen: list[str], notes: dict[str, str] | None = None,
                  assessments: dict[str, str] | None = None, other: str = "", feedback: str = "") -> None:
    """Open a generated employee prep file, choose questions and write notes as a person would, save to `out`."""
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    _, ids = name_cells(workbook, pn.N_QUESTION_ID)
    _, choose = name_cells(workbook, pn.N_CHOOSE)
    _, note_cells = name_cells(workbook, pn.N_NOTES)
    yes = choose_value(workbook)
    for (id_cell,), (choose_cell,), (note_cell,) in zip(ids, choose, note_cells, strict=True):
        qid = id_cell.value
        if not qid:
            continue
        choose_cell.value = yes if qid in chosen else None
        if notes and qid in notes:
            set_text(note_cell, notes[qid])
    _fill_assessments(workbook, assessments or {})
    if other:
        set_name(workbook, pn.N_OTHER_TOPICS, other)
    if feedback:
        set_name(workbook, pn.N_FEEDBACK_TO_LEADER, feedback)
    workbook.save(out)


def choose_value(workbook: Any) -> str:
    """The dropdown's «yes» value of a generated file (Ja, or Yes in English files)."""
    sheet, _ = name_cells(workbook, pn.N_CHOOSE)
    validation = next(v for v in sheet.data_validations.dataValidation if v.type == "list")
    return str(validation.formula1).strip('"').split(",")[0]


def _fill_assessments(workbook: Any, assessments: dict[str, str]) -> None:
    if not assessments:
        return
    _, ids = name_cells(workbook, pn.N_PAST_ACTION_ID)
    _, cells = name_cells(workbook, pn.N_ASSESSMENT)
    for (id_cell,), (cell,) in zip(ids, cells, strict=True):
        if id_cell.value in assessments:
            set_text(cell, assessments[id_cell.value])


def fill_minutes(workbook: Any, *, summaries: dict[int, str] | None = None,
                 actions: list[tuple[Any, ...]] | None = None, private: str = "",
                 signed: tuple[str, date | None, str, date | None] | None = None) -> None:
    """Write minutes into an open workbook: summaries by topic position, action rows (description, goal, owner,
    deadline[, follow-up]), private note, sign-off (a None or '' value leaves that cell as it is)."""
    _, summary_cells = name_cells(workbook, pn.N_SUMMARY)
    for position, value in (summaries or {}).items():
        set_text(summary_cells[position][0], value)
    _, action_rows = name_cells(workbook, pn.N_ACTIONS)
    for row, values in zip(action_rows, actions or [], strict=False):
        for cell, value in zip(row, values, strict=False):  # four values, or five with a follow-up date
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
    if private:
        set_name(workbook, pn.N_PRIVATE_NOTE, private)
    if signed:
        for region, signed_value in zip((pn.N_SIGN_EMPLOYEE_NAME, pn.N_SIGN_EMPLOYEE_DATE, pn.N_SIGN_MANAGER_NAME,
                                  pn.N_SIGN_MANAGER_DATE), signed, strict=True):
            if signed_value:
                set_name(workbook, region, signed_value)


def saved_at(path: Path, when: datetime) -> None:
    """Date a filled workbook as saved at `when` (aware): its own saved time in docProps/core.xml, which openpyxl
    sets to the real clock, and its time on disk, so a story told with `--today` (the demo, tests) keeps its clock."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified\b[^>]*>)[^<]*", lambda m: m.group(1) + stamp, data)
            target.writestr(info, data)
    os.utime(path, (when.timestamp(), when.timestamp()))
