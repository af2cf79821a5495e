"""Sample prep content and helpers to fill prep files like a person would (openpyxl), for the prep-file tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import EMPLOYEE, Identity, PastAction, PrepContent, PrepQuestion
from samtale_automation.domain.schema import TOPICS
from samtale_automation.prepfile.fill import (  # noqa: F401 - re-exported for the tests
    choose_value,
    fill_employee,
    fill_minutes,
    name_cells,
    set_name,
    set_text,
)

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


