"""`samtale check`: every problem in the workbook is reported once, at its exact cell."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.rows import column_letter
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, QUESTIONS, Sheet
from samtale_automation.errors import Problem
from samtale_automation.plans.check import check_master
from samtale_automation.workbook.build import build_master

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

ROUND_SETTINGS = {"round": "2027", "period_start": "11.01.2027", "period_end": "26.02.2027"}


def _person(emp_id: str | None, name: str, manager: str = "1", active: str = "Ja",
            email: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "email": email or f"{name.casefold()}@firma.no", "manager_id": manager,
                           "active": active, "department": "Salg", "language": "nb"}
    if emp_id is not None:
        row["employee_id"] = emp_id
    return row


# One of each problem. The comment says which problem the row carries; a row without a
# comment is a valid row the others need.
EMPLOYEE_ROWS: list[dict[str, Any]] = [
    _person("1", "Sjef", manager=""),  # no manager, but manages others: fine
    _person("2", "Kari"),
    _person(None, "Utenid"),  # missing AnsattID
    _person("2", "Dobbel"),  # duplicate AnsattID (its own data is otherwise valid)
    _person("3", "Ugyldig", email="ikke-en-epost"),  # invalid e-mail
    _person("4", "Foreldreløs", manager="99"),  # manager not in staff
    _person("5", "Anne", manager="6"),  # manager loop A → B → A (reported once, at the first)
    _person("6", "Bjørn", manager="5"),
    _person("7", "Alene", manager=""),  # active, no manager, manages nobody
    _person("8", "Gammel", manager="", active="Nei"),  # inactive: no manager needed
    _person("9", "Under", manager="8"),  # inactive manager
    _person("10", '=HYPERLINK("x")', email="formel@firma.no"),  # text read as a formula
]

CONVERSATION_ROWS: list[dict[str, Any]] = [
    {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1",  # outside the round's period
     "start": datetime(2027, 3, 10, 10, 0), "end": datetime(2027, 3, 10, 11, 15), "place": "Møterom 1"},
    {"conversation_id": "2027-3", "employee_id": "3", "manager_id": "1",  # unreadable date in Start
     "start": "32.13.2027"},
    {"conversation_id": "2027-5", "employee_id": "5", "manager_id": "6",  # end before start
     "start": datetime(2027, 1, 20, 12, 0), "end": datetime(2027, 1, 20, 11, 0)},
]

QUESTION_ROWS: list[dict[str, Any]] = [
    {"question_id": "Q1", "topic": "Trivsel og motivasjon", "text": "Hva gir deg energi?", "active": "Ja"},
    {"question_id": "Q2", "topic": "Lønn", "text": "Hva tenker du om lønnen?", "active": "Ja"},  # unknown topic
]


def _cell(sheet: Sheet, rows: Sequence[Mapping[str, Any]], row: Mapping[str, Any], field_name: str) -> str:
    """The address build_master gives a row's field: header in row 1, rows in order, schema column order."""
    excel_row = next(i for i, r in enumerate(rows) if r is row) + 2
    column = [c.field for c in sheet.columns].index(field_name)
    return f"{sheet.name}!{column_letter(column)}{excel_row}"


def _expected() -> dict[str, str]:
    """Each problem's cell with a piece of its Norwegian message."""
    emp, conv, que = EMPLOYEE_ROWS, CONVERSATION_ROWS, QUESTION_ROWS
    first_2 = _cell(EMPLOYEES, emp, emp[1], "employee_id")
    return {
        _cell(EMPLOYEES, emp, emp[2], "employee_id"): "raden mangler AnsattID",
        _cell(EMPLOYEES, emp, emp[3], "employee_id"): f"AnsattID «2» finnes også i {first_2}",
        _cell(EMPLOYEES, emp, emp[4], "email"): "«ikke-en-epost» er ikke en gyldig e-postadresse",
        _cell(EMPLOYEES, emp, emp[5], "manager_id"): "lederen «99» til Foreldreløs finnes ikke i Ansatte",
        _cell(EMPLOYEES, emp, emp[6], "manager_id"): "lederkjeden går i ring: Anne → Bjørn → Anne",
        _cell(EMPLOYEES, emp, emp[8], "manager_id"): "Alene har ingen leder",
        _cell(EMPLOYEES, emp, emp[10], "manager_id"): "lederen til Under, Gammel, er ikke aktiv",
        _cell(EMPLOYEES, emp, emp[11], "name"): '«=HYPERLINK("x")» kan bli lest som en formel',
        _cell(CONVERSATIONS, conv, conv[0], "start"): "2027-2 er utenfor runden (11.01.2027–26.02.2027)",
        _cell(CONVERSATIONS, conv, conv[1], "start"): "«32.13.2027» er ikke dato og klokkeslett",
        _cell(CONVERSATIONS, conv, conv[2], "end"): "2027-5 slutter før den starter",
        _cell(QUESTIONS, que, que[1], "topic"): "ukjent tema «Lønn»",
    }


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "feil"
    folder.mkdir()
    build_master(folder / "samtaler.xlsx", settings=ROUND_SETTINGS, employees=EMPLOYEE_ROWS,
                 conversations=CONVERSATION_ROWS, questions=QUESTION_ROWS)
    return folder


def _run_check(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAMTALE_LANG": "nb", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "check"],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False)


def test_expected_addresses_match_the_sheet_layout() -> None:
    """Verify the test's address arithmetic gives the cells a person sees (AnsattID in A, Leder in F, Start in F)."""
    expected = _expected()
    assert "Ansatte!A4" in expected  # the third person, below the header
    assert "Ansatte!F12" in expected  # Leder of the eleventh person
    assert "Samtaler!F3" in expected
    assert "Spørsmål!B3" in expected


def test_new_folder_has_no_problems(tmp_path: Path) -> None:
    """Verify a folder fresh from `samtale init` passes check without a single problem."""
    init_folder(tmp_path / "ny")
    master = Workspace.open(tmp_path / "ny").load()
    assert check_master(master) == []
    assert len(master.questions) > 10  # the shipped menu was read, so the check had something to check


def test_every_problem_is_reported_once_at_its_cell(bad_folder: Path) -> None:
    """Verify each planted problem is reported at its exact cell with its message, and nothing else is reported."""
    problems = check_master(Workspace.open(bad_folder).load())
    by_cell: dict[str, list[Problem]] = {}
    for problem in problems:
        by_cell.setdefault(problem.where, []).append(problem)
    expected = _expected()
    assert sorted(by_cell) == sorted(expected)
    for where, fragment in expected.items():
        assert len(by_cell[where]) == 1, [p.render() for p in by_cell[where]]
        assert fragment in by_cell[where][0].message, by_cell[where][0].render()
    assert len(problems) == len(expected)


def test_every_problem_says_what_to_do(bad_folder: Path) -> None:
    """Verify each reported problem carries a fix, and render puts cell, message and fix on one line."""
    problems = check_master(Workspace.open(bad_folder).load())
    assert problems
    for problem in problems:
        assert problem.fix, problem.render()
        assert problem.render() == f"{problem.where}: {problem.message} – {problem.fix}"
        assert "\n" not in problem.render()


def test_duplicate_row_is_not_checked_with_the_first_rows_data(tmp_path: Path) -> None:
    """Verify a duplicate AnsattID row is only reported as a duplicate, not with the first row's e-mail or manager."""
    rows = [_person("1", "Sjef", manager=""), _person("2", "Kari"), _person("2", "Dobbel"),
            _person("3", "Ola", manager="1", email="ola@firma"), _person("3", "Ola igjen")]
    build_master(tmp_path / "samtaler.xlsx", employees=rows)
    problems = {p.where: p.message for p in check_master(Workspace.open(tmp_path).load())}
    assert problems == {
        "Ansatte!A4": "AnsattID «2» finnes også i Ansatte!A3",
        "Ansatte!C5": "«ola@firma» er ikke en gyldig e-postadresse",
        "Ansatte!A6": "AnsattID «3» finnes også i Ansatte!A5",
    }


def test_cli_check_exits_1_and_prints_every_cell(bad_folder: Path) -> None:
    """Verify `samtale --dir DIR check` exits 1 and prints every problem's cell and the count."""
    done = _run_check(bad_folder)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    for where, fragment in _expected().items():
        assert any(line.startswith(f"{where}: ") and fragment in line for line in lines), (where, done.stdout)
    assert f"{len(_expected())} problemer funnet." in done.stdout
    assert "Traceback" not in done.stderr


def test_cli_check_on_new_folder_exits_0(tmp_path: Path) -> None:
    """Verify `samtale --dir DIR check` on a fresh `init` folder, once the mailbox is set, exits 0 and says no
    problems were found (before that, the empty mailbox is the one problem)."""
    init_folder(tmp_path / "ny")
    assert "mail.mailbox" in _run_check(tmp_path / "ny").stdout
    config = tmp_path / "ny" / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', 'mailbox = "hr@firma.no"'),
                      encoding="utf-8")
    done = _run_check(tmp_path / "ny")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "Ingen problemer funnet."


def test_cli_check_shows_warnings_but_exits_0(tmp_path: Path) -> None:
    """Verify schedule warnings alone (a Saturday conversation) are printed, labelled, and leave the exit code 0."""
    saturday = {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1",
                "start": datetime(2027, 1, 16, 10, 0), "end": datetime(2027, 1, 16, 11, 15), "place": "Møterom 1"}
    build_master(tmp_path / "samtaler.xlsx", settings=ROUND_SETTINGS,
                 employees=[_person("1", "Sjef", manager=""), _person("2", "Kari")], conversations=[saturday])
    done = _run_check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    where = _cell(CONVERSATIONS, [saturday], saturday, "start")
    assert f"{where}: advarsel: 2027-2 er på en lørdag (16.01.2027)" in done.stdout
    assert done.stdout.rstrip().endswith("Ingen problemer funnet, men 1 advarsel.")


def test_questions_without_english_are_named_when_someone_reads_english(tmp_path: Path) -> None:
    """Verify a warning names the active questions with no «Spørsmål (en)» once an employee has Språk = en, and
    says nothing while everyone reads Norwegian (the shipped menu has English for every question)."""
    from samtale_automation.workbook.build import question_rows

    questions = question_rows("nb")
    questions[0] = {**questions[0], "text_en": "", "follow_ups_en": ""}
    questions[1] = {**questions[1], "text_en": "", "active": "Nei"}  # inactive: not named
    norwegian = [_person("1", "Sjef", manager=""), _person("2", "Kari")]
    build_master(tmp_path / "samtaler.xlsx", employees=norwegian, questions=questions)
    assert not [p for p in check_master(Workspace.open(tmp_path).load()) if "engelsk" in p.message]
    (tmp_path / "samtaler.xlsx").unlink()
    build_master(tmp_path / "samtaler.xlsx", employees=[*norwegian, {**_person("3", "Anna"), "language": "en"}],
                 questions=questions)
    [warning] = [p for p in check_master(Workspace.open(tmp_path).load()) if "engelsk" in p.message]
    assert warning.is_warning and warning.where == "Spørsmål (Spørsmål (en))"
    assert warning.message == ("1 aktivt spørsmål mangler engelsk tekst (S01); 1 ansatt med Språk = en får det "
                               "på norsk")
