"""The master workbook built from the schema: tables, validations, lists, looks, languages, LibreOffice."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hostile_text import HOSTILE_TEXTS, xml_ok

from samtale_automation.commands.init import init_folder
from samtale_automation.domain.master import parse_master
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import (
    LISTS_SHEET,
    SETTING_SPECS,
    SHEET_ORDER,
    TABLES,
    TOPICS,
    Owner,
    value_lists,
)
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.build import build_master, default_questions
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

GREY = "FF808080"
TABLE_NAMES = {"Innstillinger", "Ansatte", "Samtaler", "Sporsmal", "Tiltak", "Rom", "Logg"}


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The master workbook `samtale init` makes (Norwegian)."""
    root = tmp_path_factory.mktemp("init") / "Medarbeidersamtaler"
    init_folder(root)
    return root / "samtaler.xlsx"


@pytest.fixture(scope="module")
def book(master: Path) -> openpyxl.Workbook:
    """The init master opened with openpyxl."""
    return openpyxl.load_workbook(master)


def test_sheets_and_seven_tables(book: openpyxl.Workbook) -> None:
    """Verify the sheets come in the designed order and the seven tables sit on their sheets with exact headers."""
    assert tuple(book.sheetnames) == SHEET_ORDER
    found = {name: ws.title for ws in book.worksheets for name in ws.tables}
    assert set(found) == TABLE_NAMES
    for schema in TABLES:
        ws = book[schema.name]
        assert found[schema.table] == schema.name
        table = ws.tables[schema.table]
        assert table.ref.startswith("A1:")
        headers = [c.value for c in ws[1][: len(schema.columns)]]
        assert headers == [c.header for c in schema.columns], schema.name
        assert [c.name for c in table.tableColumns] == headers


def test_list_validations_use_defined_names(book: openpyxl.Workbook) -> None:
    """Verify every column with a value list has a list validation whose source is its Liste_ defined name."""
    names = set(book.defined_names)
    checked = 0
    for schema in TABLES:
        ws = book[schema.name]
        by_column = {}
        for dv in ws.data_validations.dataValidation:
            for cell_range in dv.sqref.ranges:
                by_column[cell_range.min_col] = dv
        for index, column in enumerate(schema.columns, start=1):
            if not column.value_list:
                continue
            dv = by_column[index]
            assert dv.type == "list", column.header
            assert dv.formula1 == column.value_list, column.header
            assert dv.formula1.startswith("Liste_")
            assert dv.formula1 in names
            assert str(dv.sqref).startswith(f"{ws.cell(2, index).column_letter}2:")
            checked += 1
    assert checked >= 10
    for schema in TABLES:  # no list validation points at a range directly
        for dv in book[schema.name].data_validations.dataValidation:
            assert dv.type != "list" or "!" not in (dv.formula1 or "")


def test_lister_hidden_with_defined_names(book: openpyxl.Workbook) -> None:
    """Verify the Lister sheet is hidden and each Liste_ name points at its values there."""
    lister = book[LISTS_SHEET]
    assert lister.sheet_state == "hidden"
    lists = value_lists("nb")
    for name, values in lists.items():
        target = book.defined_names[name].attr_text
        assert target.startswith(f"'{LISTS_SHEET}'!$"), target
        cells = list(book.defined_names[name].destinations)
        assert len(cells) == 1
        read = [c.value for row in lister[cells[0][1].replace("$", "")] for c in row]
        assert tuple(read) == values, name
    assert book.defined_names["Liste_AnsattID"].attr_text == "Ansatte[AnsattID]"


def test_frozen_headers_and_grey_tool_columns(book: openpyxl.Workbook) -> None:
    """Verify each table sheet freezes its header row and tool-owned headers (only those) are grey with a message."""
    for schema in TABLES:
        ws = book[schema.name]
        assert ws.freeze_panes == "A2", schema.name
        prompts = {next(iter(dv.sqref.ranges)).min_col: dv for dv in ws.data_validations.dataValidation}
        for index, column in enumerate(schema.columns, start=1):
            fill = ws.cell(1, index).fill.fgColor.rgb
            assert (fill == GREY) is (column.owner is Owner.TOOL), (schema.name, column.header, fill)
            if column.owner is not Owner.PERSON:
                assert prompts[index].promptTitle == "Fylles av samtale"
                assert prompts[index].prompt


def test_nothing_a_headless_save_would_lose(master: Path) -> None:
    """Verify the built master has no part the loss guard predicts would be dropped, and no x14 extensions."""
    assert loss_guard.predict(master) == []
    counts = loss_guard.inventory(master)
    assert counts["x14_validation"] == counts["x14_conditional"] == counts["shape"] == 0
    assert counts["table"] == 7
    assert counts["conditional_format"] >= 1


def test_question_menu(master: Path) -> None:
    """Verify at least 40 questions cover all six topics, each with one to three follow-up questions."""
    master = parse_master(read_workbook(master))
    questions = master.questions
    assert len(questions) >= 40
    assert len({q.question_id for q in questions}) == len(questions)
    per_topic = Counter(q.topic for q in questions)
    assert set(per_topic) == {t.key for t in TOPICS}
    assert min(per_topic.values()) >= 3
    for question in questions:
        assert 1 <= len(question.follow_ups) <= 3, question.question_id
        assert question.text.strip(), question.question_id
        assert question.active
    assert master.problems == []


def test_english_texts_norwegian_names(tmp_path: Path) -> None:
    """Verify `init --lang en` writes English texts but keeps Norwegian sheet names and headers."""
    root = tmp_path / "en"
    done = subprocess.run([sys.executable, "-m", "samtale_automation", "init", str(root), "--lang", "en"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    path = root / "samtaler.xlsx"
    wb = openpyxl.load_workbook(path)
    assert tuple(wb.sheetnames) == SHEET_ORDER
    for schema in TABLES:
        assert [c.value for c in wb[schema.name][1][: len(schema.columns)]] == [c.header for c in schema.columns]
    raw = read_workbook(path)
    master = parse_master(raw)
    assert master.settings.language == "en"
    explanations = {r.values["key"]: r.values["explanation"] for r in raw.tables["Innstillinger"].rows}
    assert explanations == {s.key: s.en for s in SETTING_SPECS}
    english = {q.question_id: q.text["en"] for q in default_questions()}
    norwegian = {q.question_id: q.text["nb"] for q in default_questions()}
    rows = raw.tables["Sporsmal"].rows
    assert {r.values["question_id"]: r.values["text"] for r in rows} == english
    assert all(english[i] != norwegian[i] for i in english)
    assert {r.values["topic"] for r in rows} == {t.en for t in TOPICS}
    assert not any(ch in "æøåÆØÅ" for r in rows for ch in r.values["text"] + r.values["follow_ups"])
    assert wb["Start"]["A3"].value.startswith("This workbook")
    assert wb["Oversikt"]["A1"].value == "Overview"
    lister = wb[LISTS_SHEET]
    assert [c.value for c in lister["F"][1:7]] == [t.en for t in TOPICS]
    assert [c.value for c in lister["D"][1:9]] == list(value_lists("en")["Liste_Status"])


def test_text_xml_cannot_hold_is_made_safe(tmp_path: Path) -> None:
    """Verify names and departments with control characters, lone surrogates, U+FFFE/U+FFFF and Excel escapes
    of them give a master that opens, with only characters XML can hold."""
    path = tmp_path / "samtaler.xlsx"
    employees = [{"employee_id": f"{n:04d}", "name": text, "department": text, "email": f"{n}@firma.no",
                  "active": True} for n, text in enumerate(HOSTILE_TEXTS)]
    build_master(path, employees=employees)
    raw = read_workbook(path)
    names = [row.values["name"] for row in raw.tables["Ansatte"].rows]
    assert len(names) == len(HOSTILE_TEXTS) and "før\netter" in names
    every = [c.value for ws in openpyxl.load_workbook(path).worksheets for row in ws.iter_rows() for c in row]
    assert all(xml_ok(v) for v in names + [v for v in every if isinstance(v, str)])


def test_rows_given_to_build_master(tmp_path: Path) -> None:
    """Verify rows passed to build_master are written typed: text IDs as text, dates as dates, no formulas."""
    path = tmp_path / "samtaler.xlsx"
    build_master(path, employees=[{"employee_id": "0042", "name": "=SUM(A1)", "email": "a@firma.no", "active": True}],
                 actions=[{"action_id": "2027-0042-1", "conversation_id": "2027-0042", "employee_id": "0042",
                           "description": "Kurs", "deadline": date(2027, 3, 1)}])
    wb = openpyxl.load_workbook(path)
    employee = wb["Ansatte"]
    assert employee["A2"].value == "0042"
    assert employee["A2"].data_type == "s"
    assert employee["B2"].value == "=SUM(A1)"
    assert employee["B2"].data_type == "s"
    assert employee["G2"].value == "Ja"
    assert wb["Tiltak"]["G2"].value == datetime(2027, 3, 1)
    assert wb["Tiltak"]["G2"].number_format == "dd.mm.yyyy"
    assert wb["Ansatte"].tables["Ansatte"].ref == "A1:J2"  # Arbeidsdager and Borte


# ---- LibreOffice interop ----------------------------------------------------------------

@pytest.mark.libreoffice
def test_libreoffice_round_trip(tmp_path: Path, soffice_convert: Callable[[Path, str, Path], Path]) -> None:
    """Verify a master saved again by LibreOffice reads back with the same tables and rows."""
    source = tmp_path / "samtaler.xlsx"
    build_master(
        source,
        employees=[
            {"employee_id": "1001", "name": "Kari Nordmann", "email": "kari@firma.no", "department": "Salg",
             "manager_id": "1003", "active": "Ja"},
            {"employee_id": 1002, "name": "Åse Ødegård", "email": "ase@firma.no", "active": "Nei", "language": "en"},
        ],
        conversations=[{"conversation_id": "2027-1001", "employee_id": "1001", "manager_id": "1003",
                        "start": datetime(2027, 1, 11, 9, 0, tzinfo=OSLO),
                        "end": datetime(2027, 1, 11, 10, 15, tzinfo=OSLO), "place": "Møterom 2",
                        "invited": date(2027, 1, 2), "note": '=HYPERLINK("x")'}],
        actions=[{"action_id": "2027-1001-1", "conversation_id": "2027-1001", "employee_id": "1001",
                  "description": "Kurs i Excel", "deadline": date(2027, 3, 1), "status": "Pågår"}],
    )
    converted = soffice_convert(source, "xlsx", tmp_path / "lo")
    before, after = read_workbook(source), read_workbook(converted)
    assert after.missing == []
    assert set(after.tables) == set(before.tables) == TABLE_NAMES
    assert after.sheet_names == before.sheet_names
    for name, table in before.tables.items():
        assert after.tables[name].found_as_table, name
        assert [r.values for r in after.tables[name].rows] == [r.values for r in table.rows], name
    assert after.tables["Samtaler"].rows[0].values["note"] == '=HYPERLINK("x")'
    master = parse_master(after)
    assert master.conversations["2027-1001"].start == datetime(2027, 1, 11, 9, 0, tzinfo=OSLO)
    assert sorted(master.employees) == ["1001", "1002"]
    assert len(master.questions) >= 40
