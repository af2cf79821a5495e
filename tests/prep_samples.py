"""Sample prep content and helpers to fill prep files like a person would (openpyxl), for the prep-file tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation import prep_names as pn
from samtale_automation.model import OSLO
from samtale_automation.prep_model import EMPLOYEE, Identity, PastAction, PrepContent, PrepQuestion
from samtale_automation.schema import TOPICS

KEY = b"k" * 32
OTHER_KEY = b"x" * 32
TRICKY = ('=HYPERLINK("http://x.example","klikk")', "+47 22 33 44 55", "@x", "-x", "=1+1")


def sample_questions(count: int = 12, mandatory: tuple[int, ...] = (0,)) -> tuple[PrepQuestion, ...]:
    """A menu of `count` questions spread over the six topics, the given positions mandatory."""
    out = []
    for n in range(count):
        topic = TOPICS[n * len(TOPICS) // count]
        out.append(PrepQuestion(f"S{n + 1:02d}", topic.key, topic.nb, f"Spørsmål nummer {n + 1} om {topic.nb.lower()}?",
                                (f"Hjelpespørsmål {n + 1}a?", f"Hjelpespørsmål {n + 1}b?"), n in mandatory))
    return tuple(out)


def sample_content(variant: str = EMPLOYEE, *, lang: str = "nb", questions: int = 12,
                   mandatory: tuple[int, ...] = (0,), max_questions: int = 10, past: int = 2,
                   employee_id: str = "1001", employee_name: str = "Kari Nordmann",
                   manager_name: str = "Åse Leder", manager_email: str = "ase@firma.example") -> PrepContent:
    """A PrepContent for one employee with a question menu and last round's actions."""
    actions = tuple(PastAction(f"2026-{employee_id}-{n + 1}", f"Tiltak {n + 1} for {employee_name}",
                               f"Mål {n + 1}", date(2026, 6, n + 1), "Pågår" if n % 2 else "Fullført")
                    for n in range(past))
    return PrepContent(
        identity=Identity(f"2027-{employee_id}", employee_id, variant, "2027"),
        lang=lang, company="Firma AS", employee_name=employee_name, manager_name=manager_name,
        manager_email=manager_email, start=datetime(2027, 1, 14, 9, 0, tzinfo=OSLO), place="Møterom 2",
        prep_deadline=date(2027, 1, 11), minutes_deadline_days=7, max_questions=max_questions,
        questions=sample_questions(questions, mandatory), past_actions=actions,
        department="Regnskap", title="Rådgiver")


def with_tricky_texts(content: PrepContent) -> PrepContent:
    """The same content with formula-looking names, question texts, follow-ups and actions."""
    questions = tuple(replace(q, text=TRICKY[n % len(TRICKY)], follow_ups=(TRICKY[(n + 1) % len(TRICKY)],))
                      for n, q in enumerate(content.questions))
    actions = tuple(replace(a, description=TRICKY[n % len(TRICKY)], goal=TRICKY[(n + 2) % len(TRICKY)])
                    for n, a in enumerate(content.past_actions))
    return replace(content, employee_name=TRICKY[0], manager_name=TRICKY[1], place=TRICKY[2], company=TRICKY[3],
                   title=TRICKY[4], questions=questions, past_actions=actions)


# ---- filling a file as a person would ---------------------------------------------------------


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


def insert_rows_like_excel(workbook: Any, sheet_name: str, before_row: int, amount: int) -> None:
    """Insert rows as Excel does: shift the cells, and widen or move the defined names below them."""
    import re

    sheet = workbook[sheet_name]
    sheet.insert_rows(before_row, amount)
    for name, defined in list(workbook.defined_names.items()):
        target, = list(defined.destinations)
        if target[0] != sheet_name:
            continue
        match = re.fullmatch(r"\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?", target[1])
        if not match:
            continue
        c1, r1, c2, r2 = match[1], int(match[2]), match[3] or match[1], int(match[4] or match[2])
        r1 = r1 + amount if r1 >= before_row else r1
        r2 = r2 + amount if r2 >= before_row else r2
        quoted = f"'{sheet_name}'" if " " in sheet_name else sheet_name
        defined.attr_text = f"{quoted}!${c1}${r1}:${c2}${r2}"
        workbook.defined_names[name] = defined


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
                 actions: list[tuple[Any, Any, Any, Any]] | None = None, private: str = "",
                 signed: tuple[str, date | None, str, date | None] | None = None) -> None:
    """Write minutes into an open workbook: summaries by topic position, action rows, private note, sign-off."""
    _, summary_cells = name_cells(workbook, pn.N_SUMMARY)
    for position, value in (summaries or {}).items():
        set_text(summary_cells[position][0], value)
    _, action_rows = name_cells(workbook, pn.N_ACTIONS)
    for row, values in zip(action_rows, actions or [], strict=False):
        for cell, value in zip(row, values, strict=True):
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
    if private:
        set_name(workbook, pn.N_PRIVATE_NOTE, private)
    if signed:
        for name, value in zip((pn.N_SIGN_EMPLOYEE_NAME, pn.N_SIGN_EMPLOYEE_DATE, pn.N_SIGN_MANAGER_NAME,
                                pn.N_SIGN_MANAGER_DATE), signed, strict=True):
            if value:
                set_name(workbook, name, value)
