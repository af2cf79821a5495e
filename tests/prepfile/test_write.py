"""Writing prep files and conversation guides (prepsheets.py): content, text safety, protection, print, privacy."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hostile_text import HOSTILE_TEXTS, xml_ok
from prep_samples import KEY, TRICKY, name_cells, sample_content, with_tricky_texts

from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, GuideContent, Identity, PrepContent
from samtale_automation.domain.schema import TOPICS
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.identity import verify
from samtale_automation.prepfile.write import write_guide, write_prep


def _write(tmp_path: Path, content: PrepContent, name: str = "prep.xlsx") -> Path:
    path = tmp_path / name
    write_prep(path, content, KEY)
    return path


def _strings(path: Path) -> list[str]:
    workbook = openpyxl.load_workbook(path)
    return [str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row
            if c.value is not None]


def _package_text(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        return "\n".join(package.read(n).decode("utf-8") for n in package.namelist())


def _guide(content: PrepContent) -> GuideContent:
    chosen = tuple(q for q in content.questions if q.question_id in ("S01", "S03"))
    return GuideContent(content.identity, content.lang, content.company, content.employee_name,
                        content.manager_name, content.start, content.place, chosen,
                        {"S03": "Mitt notat", "S05": "Notat uten valg"}, content.past_actions,
                        {content.past_actions[0].action_id: "Gikk fint"}, "Lønn", "Mer ros",
                        noted=tuple(q for q in content.questions if q.question_id == "S05"))


def test_employee_file_has_every_section(tmp_path: Path) -> None:
    """Verify the employee's Forberedelse and Referat sheets hold intro, menu, counter, actions and sign-off."""
    content = sample_content()
    path = _write(tmp_path, content)
    text = "\n".join(_strings(path))
    for expected in ("Forberedelse til medarbeidersamtale 2027", "Firma AS", "Kari Nordmann, Rådgiver, Regnskap",
                     "Åse Leder (ase@firma.example)", "torsdag 14.01.2027 kl. 09:00, Møterom 2",
                     "Send skjemaet tilbake senest 11.01.2027.", "Formål", "fortrolig", "Velg inntil 10 spørsmål",
                     "som vedlegg i et svar på e-posten", "Tiltak fra forrige samtale", "Tiltak 1 for Kari Nordmann",
                     "Mål: Mål 1", "Frist: 01.06.2026", "Fullført", "Din vurdering", "Andre tema du vil ta opp",
                     "Tilbakemelding til lederen din", "Referat fra medarbeidersamtale 2027", "Sammendrag per tema",
                     "Avtalte tiltak", "Ansvarlig", "Privat notat (valgfritt)",
                     "blir stående i din arkiverte fil. samtale kopierer det aldri til registeret",
                     "Medarbeider (Kari Nordmann)", "Leder (Åse Leder)", "Dette kopierer samtale til registeret",
                     "innen 7 dager"):
        assert expected in text, expected
    for topic in TOPICS:
        assert topic.nb in text
    for question in content.questions:
        assert question.question_id in text and question.text in text
        assert all(follow in text for follow in question.follow_ups)
    assert "(obligatorisk)" in text
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Forberedelse", "Referat", "_samtale"]


def test_menu_choices_counter_and_names(tmp_path: Path) -> None:
    """Verify Velg/SporsmalID/Notater share rows, mandatory questions are pre-set and the counter counts «Ja»."""
    content = sample_content(mandatory=(0, 4), max_questions=7)
    workbook = openpyxl.load_workbook(_write(tmp_path, content))
    sheet, ids = name_cells(workbook, pn.N_QUESTION_ID)
    _, choose = name_cells(workbook, pn.N_CHOOSE)
    _, notes = name_cells(workbook, pn.N_NOTES)
    assert [c[0].row for c in ids] == [c[0].row for c in choose] == [c[0].row for c in notes]
    by_id = {row[0].value: (choice[0], note[0]) for row, choice, note in zip(ids, choose, notes, strict=True)
             if row[0].value}
    assert list(by_id) == [q.question_id for q in content.questions]
    assert by_id["S01"][0].value == "Ja" and by_id["S05"][0].value == "Ja" and by_id["S02"][0].value is None
    _, counter = name_cells(workbook, pn.N_COUNTER)
    assert counter[0][0].value == '=COUNTIF(Velg,"Ja")&" av 7 valgt"'
    rules = [r for cf in sheet.conditional_formatting for r in cf.rules]
    assert [r.formula for r in rules] == [['COUNTIF(Velg,"Ja")>7']]
    (cf_range,) = [str(cf.sqref) for cf in sheet.conditional_formatting]
    assert cf_range == counter[0][0].coordinate
    assert workbook._differential_styles[rules[0].dxfId].font.color.rgb == "FF9C0006"  # red text
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert lists[0].formula1 == '"Ja,Nei"'
    assert str(lists[0].sqref) == f"C{choose[0][0].row}:C{choose[-1][0].row}"


def test_counter_cached_value_counts_mandatory(tmp_path: Path, sheet_xml: Callable[[Path, str], str]) -> None:
    """Verify the counter's stored value is right for an untouched file (1 mandatory question of 10)."""
    xml = sheet_xml(_write(tmp_path, sample_content()), "Forberedelse")
    assert re.search(r'<f>COUNTIF\(Velg,"Ja"\)&amp;" av 10 valgt"</f><v>1 av 10 valgt</v>', xml)
    assert xml.count("<f>") == 1, "the counter is the only formula"


def test_referat_has_room_for_actions_with_date_validation(tmp_path: Path) -> None:
    """Verify the action table has ≥15 rows of 5 input columns (the fifth the follow-up date) and its deadlines,
    follow-ups and sign dates only take dates."""
    workbook = openpyxl.load_workbook(_write(tmp_path, sample_content()))
    sheet, rows = name_cells(workbook, pn.N_ACTIONS)
    assert len(rows) >= 15 and all(len(r) == 5 for r in rows)
    deadline_col, follow_col = rows[0][3].column_letter, rows[0][4].column_letter
    dates = [v for v in sheet.data_validations.dataValidation if v.type == "date"]
    ranges = " ".join(str(v.sqref) for v in dates)
    assert f"{deadline_col}{rows[0][3].row}:{follow_col}{rows[-1][4].row}" in ranges
    for name in (pn.N_SIGN_EMPLOYEE_DATE, pn.N_SIGN_MANAGER_DATE):
        _, (cell,), = name_cells(workbook, name)
        assert cell[0].coordinate in ranges
        assert cell[0].number_format == "dd.mm.yyyy"
    _, summaries = name_cells(workbook, pn.N_SUMMARY)
    labels = [sheet.cell(row=c[0].row, column=c[0].column - 1).value for c in summaries]
    assert labels == [t.nb for t in TOPICS]


def test_manager_variant(tmp_path: Path) -> None:
    """Verify the manager's file has their own preparation, the employee's past actions and the same Referat."""
    content = sample_content(MANAGER)
    path = _write(tmp_path, content)
    text = "\n".join(_strings(path))
    for expected in ("Lederens forberedelse til medarbeidersamtale 2027", "Ditt syn på perioden",
                     "Tilbakemeldinger du vil gi", "Ideer til utvikling", "Tiltak 2 for Kari Nordmann",
                     "bedre å flytte samtalen", "Sammendrag per tema", "Leder (Åse Leder)"):
        assert expected in text, expected
    workbook = openpyxl.load_workbook(path)
    names = set(workbook.defined_names)
    assert {pn.N_MANAGER_VIEW, pn.N_FEEDBACK_TO_GIVE, pn.N_DEVELOPMENT_IDEAS, pn.N_PAST_ACTION_ID,
            pn.N_ASSESSMENT, *pn.MINUTES_NAMES} == names
    assert "Spørsmål nummer 1" not in text


def test_english_file(tmp_path: Path) -> None:
    """Verify lang='en' gives English sheets, texts and a Yes/No dropdown counted by the counter."""
    path = _write(tmp_path, sample_content(lang="en"))
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Preparation", "Minutes", "_samtale"]
    text = "\n".join(_strings(path))
    for expected in ("Preparing for your development conversation 2027", "Please return this form by 11.01.2027.",
                     "Thursday 14.01.2027 at 09:00", "Agreed actions", "never copies it to the register"):
        assert expected in text, expected
    _, counter = name_cells(workbook, pn.N_COUNTER)
    assert counter[0][0].value == '=COUNTIF(Velg,"Yes")&" of 10 chosen"'
    _, choose = name_cells(workbook, pn.N_CHOOSE)
    assert choose[0][0].value is None and "Yes" in [c[0].value for c in choose]


@pytest.mark.parametrize("variant", [EMPLOYEE, MANAGER])
def test_every_text_is_written_as_text(tmp_path: Path, variant: str, sheet_xml: Callable[[Path, str], str]) -> None:
    """Verify names, question texts, follow-ups and actions that look like formulas stay strings (no <f>)."""
    path = _write(tmp_path, with_tricky_texts(sample_content(variant)))
    workbook = openpyxl.load_workbook(path)
    seen = {c.value: c.data_type for ws in workbook.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}
    found = [v for v in seen if any(t in v for t in TRICKY)]
    assert found, "the tricky texts are in the file"
    assert all(seen[v] == "s" for v in found)
    for tricky in TRICKY:
        assert any(tricky in v for v in seen), tricky
    formulas = sheet_xml(path, "Forberedelse").count("<f>") + sheet_xml(path, "Referat").count("<f>")
    assert formulas == (1 if variant == EMPLOYEE else 0)
    assert "<hyperlink" not in _package_text(path)


def _calamine_strings(path: Path) -> list[str]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return [v for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
            for v in row if isinstance(v, str)]


@pytest.mark.parametrize("variant", [EMPLOYEE, MANAGER])
def test_text_xml_cannot_hold_never_breaks_a_file(tmp_path: Path, variant: str) -> None:
    """Verify names, questions, notes and actions with control characters, lone surrogates, U+FFFE/U+FFFF
    and Excel escapes of them are written (made safe) into prep files and guides that open everywhere."""
    content = sample_content(variant, questions=len(HOSTILE_TEXTS))
    hostile = HOSTILE_TEXTS
    questions = tuple(replace(q, text=hostile[n], follow_ups=(hostile[-n - 1],))
                      for n, q in enumerate(content.questions))
    actions = tuple(replace(a, description=hostile[n], goal=hostile[n + 3]) for n, a in enumerate(content.past_actions))
    content = replace(content, employee_name=hostile[0], manager_name=hostile[10], place=hostile[-2],
                      company=hostile[-1], title=hostile[-3], department=hostile[-4], questions=questions,
                      past_actions=actions)
    prep = _write(tmp_path, content)
    guide = tmp_path / "guide.xlsx"
    write_guide(guide, replace(_guide(content), notes={"S03": hostile[5]}, feedback_to_leader=hostile[-1]))
    for path in (prep, guide):
        strings = _calamine_strings(path)
        assert any("før\netter" in s for s in strings), "a vertical tab became a line break"
        assert all(xml_ok(s) for s in strings + _strings(path))


def test_protection_and_unlocked_inputs(tmp_path: Path) -> None:
    """Verify every sheet is protected, every named input cell is unlocked, labels and mandatory choices locked."""
    workbook = openpyxl.load_workbook(_write(tmp_path, sample_content(mandatory=(0,))))
    for sheet in workbook.worksheets:
        assert sheet.protection.sheet, sheet.title
    assert workbook["Referat"].protection.insertRows is False, "rows may be inserted in the action table"
    assert workbook["Forberedelse"].protection.formatColumns is False, "columns may be widened"
    inputs = (pn.N_ASSESSMENT, pn.N_OTHER_TOPICS, pn.N_FEEDBACK_TO_LEADER, *pn.MINUTES_NAMES)
    for name in inputs:
        _, rows = name_cells(workbook, name)
        assert all(not cell.protection.locked for row in rows for cell in row), name
    _, ids = name_cells(workbook, pn.N_QUESTION_ID)
    _, choose = name_cells(workbook, pn.N_CHOOSE)
    _, notes = name_cells(workbook, pn.N_NOTES)
    for (id_cell,), (choice,), (note,) in zip(ids, choose, notes, strict=True):
        assert id_cell.protection.locked
        assert note.protection.locked is not bool(id_cell.value), "notes are open on question rows only"
        if id_cell.value == "S01":
            assert choice.protection.locked and choice.value == "Ja", "a mandatory question stays chosen"
        elif id_cell.value:
            assert not choice.protection.locked
    assert workbook["Forberedelse"]["A1"].protection.locked


def test_print_setup(tmp_path: Path) -> None:
    """Verify A4 portrait, one page wide, the title row repeated on every page, for every sheet."""
    path = _write(tmp_path, sample_content())
    guide_path = tmp_path / "guide.xlsx"
    write_guide(guide_path, _guide(sample_content()))
    for workbook in (openpyxl.load_workbook(path), openpyxl.load_workbook(guide_path)):
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue
            assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "portrait"
            assert sheet.sheet_properties.pageSetUpPr.fitToPage
            assert sheet.page_setup.fitToHeight == 0 and sheet.page_setup.fitToWidth in (None, 1)
            assert sheet.print_title_rows.replace("$", "") == "1:1"


def test_identity_sheet(tmp_path: Path) -> None:
    """Verify the very hidden, protected _samtale sheet holds the identity, a MAC that verifies, the limit and names."""
    content = sample_content(max_questions=8)
    workbook = openpyxl.load_workbook(_write(tmp_path, content))
    sheet = workbook[pn.IDENTITY_SHEET]
    assert sheet.sheet_state == "veryHidden" and sheet.protection.sheet
    values = {row[0].value: row[1].value for row in sheet.iter_rows()}
    identity = Identity(values["SamtaleID"], values["AnsattID"], values["Variant"], values["Runde"],
                        values["Malversjon"])
    assert identity == content.identity
    assert verify(identity, values["MAC"], KEY)
    assert values["MaksValg"] == "8"
    assert set(values["Områder"].split(",")) == set(workbook.defined_names)


def test_only_own_data_in_the_file(tmp_path: Path) -> None:
    """Verify a prep file holds its employee's data and the manager's name and e-mail, nothing of another employee."""
    other = sample_content(employee_id="2002", employee_name="Per Annen", manager_name="Ole Sjef",
                           manager_email="ole@firma.example")
    _write(tmp_path, other, "other.xlsx")  # written first in the same process: no state may leak between files
    path = _write(tmp_path, sample_content())
    package = _package_text(path)
    assert set(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", package)) == {"ase@firma.example"}
    for foreign in ("Per Annen", "Ole Sjef", "2002", "Tiltak 1 for Per"):
        assert foreign not in package
    with zipfile.ZipFile(path) as zipped:
        core = zipped.read("docProps/core.xml").decode()
    assert not re.search(r"<dc:creator>[^<]+</dc:creator>", core), "no author (the user running the tool)"


def test_output_is_deterministic_atomic_and_private(tmp_path: Path) -> None:
    """Verify the same content gives the same bytes, the file is 0600 and no temp file is left behind."""
    content = sample_content()
    first = _write(tmp_path, content, "a.xlsx").read_bytes()
    path = _write(tmp_path, content, "a.xlsx")
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx"]
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600


def test_no_questions_and_no_past_actions(tmp_path: Path) -> None:
    """Verify a file without a menu or past actions is still written, without the names it cannot have."""
    content = replace(sample_content(questions=0, past=0), questions=())
    workbook = openpyxl.load_workbook(_write(tmp_path, content))
    names = set(workbook.defined_names)
    assert pn.N_CHOOSE not in names and pn.N_PAST_ACTION_ID not in names
    assert {pn.N_OTHER_TOPICS, pn.N_FEEDBACK_TO_LEADER, *pn.MINUTES_NAMES} <= names
    assert "Ingen tiltak fra forrige samtale." in "\n".join(_strings(tmp_path / "prep.xlsx"))


def test_unknown_variant_is_refused(tmp_path: Path) -> None:
    """Verify a variant other than ansatt/leder raises before anything is written."""
    content = sample_content()
    with pytest.raises(ValueError, match="variant"):
        write_prep(tmp_path / "x.xlsx", replace(content, identity=replace(content.identity, variant="hr")), KEY)
    assert not (tmp_path / "x.xlsx").exists()


def test_guide_file(tmp_path: Path, sheet_xml: Callable[[Path, str], str]) -> None:
    """Verify the guide shows chosen questions with follow-ups and notes, past actions with assessments, as text."""
    content = with_tricky_texts(sample_content())
    path = tmp_path / "guide.xlsx"
    write_guide(path, _guide(content))
    text = "\n".join(_strings(path))
    for expected in ("Samtaleguide: medarbeidersamtale 2027", "Mitt notat", "Notat uten valg",
                     "Notater til spørsmål som ikke er valgt", "Gikk fint", "Lønn", "Mer ros",
                     "Medarbeiderens vurdering", "Status: Fullført", TRICKY[0], TRICKY[1]):
        assert expected in text, expected
    chosen_follow_up = content.questions[2].follow_ups[0]
    assert chosen_follow_up in text
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Samtaleguide"]
    assert sheet.protection.sheet and workbook.sheetnames == ["Samtaleguide"]
    assert "<f>" not in sheet_xml(path, "Samtaleguide")
    unlocked = [c for row in sheet.iter_rows() for c in row if not c.protection.locked]
    assert unlocked and {c.column_letter for c in unlocked} == {"D"}, "only the manager's note column takes input"
    assert os.name != "posix" or path.stat().st_mode & 0o777 == 0o600


def _values(path: Path) -> dict[str, Any]:
    workbook = openpyxl.load_workbook(path)
    return {name: name_cells(workbook, name)[1][0][0].value for name in workbook.defined_names}


def test_input_cells_start_empty(tmp_path: Path) -> None:
    """Verify every named input starts empty (nothing pre-typed that could be mistaken for an answer)."""
    values = _values(_write(tmp_path, sample_content(MANAGER)))
    assert all(v is None for k, v in values.items() if k not in (pn.N_PAST_ACTION_ID,)), values


def test_a_fresh_copy_writes_every_text_as_text_and_reads_back_the_same(tmp_path: Path) -> None:
    """Verify a copy for signing made from hostile minutes (a formula, a phone number, a long text) holds them
    as text, no formula, and reads back to the same minutes and version; the private note box is empty."""
    from datetime import date

    from samtale_automation.domain.minutes import Minutes, MinutesAction
    from samtale_automation.domain.prepsheet import MinutesDraft, Signature
    from samtale_automation.prepfile.read import read_returned

    minutes = Minutes("2027-1001", {"tilbakeblikk": "=1+1", "leder": "+47 99 99 99 99\nlinje to"},
                      (MinutesAction("=HYPERLINK(\"http://x\")", "@SUM(A1)", "-3", date(2027, 3, 1)),
                       MinutesAction("Mentor " * 40, "", "Åse", date(2027, 6, 1), date(2027, 4, 1))))
    draft = MinutesDraft(minutes, None, Signature("Åse Leder", date(2027, 1, 22), minutes.version()))
    path = tmp_path / "kopi.xlsx"
    write_prep(path, replace(sample_content(), questions=(), past_actions=(), minutes=draft), KEY)
    with zipfile.ZipFile(path) as package:
        assert not any(b"<f>" in package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/"))
    back = read_returned(path, KEY)
    assert back.minutes().version() == minutes.version()
    assert back.private_note == "" and back.signed_employee_date is None
    assert openpyxl.load_workbook(path).sheetnames == ["Referat", "_samtale"]  # the minutes only
