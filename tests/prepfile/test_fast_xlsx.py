"""The fast XlsxWriter paths of prepfile/fast_xlsx.py make byte for byte the package plain XlsxWriter makes."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter
from hostile_text import HOSTILE_TEXTS
from prep_samples import KEY, sample_content, with_tricky_texts

from samtale_automation.domain.minutes import Minutes, MinutesAction
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, GuideContent, MinutesDraft, PrepContent, Signature
from samtale_automation.prepfile import sheetkit
from samtale_automation.prepfile.fast_xlsx import FastWorkbook, SafeWorkbook, workbook_class
from samtale_automation.prepfile.write import write_guide, write_prep

#: Texts XlsxWriter changes or marks when it writes them as shared strings (each must take its own path).
SPECIAL = (" leading space", "trailing space ", "\ttab first", "a & b < c > d", '"quoted"', "line\nbreak",
           "_x0041_ looks escaped", "_x00zz_ does not", "<r>not rich</r>", "", "ÆØÅ æøå – “” €")


def _minutes_draft(signed: bool) -> MinutesDraft:
    minutes = Minutes("2027-1001", {"tilbakeblikk": "=1+1", "leder": " +47 99 99 99 99\nlinje to "},
                      (MinutesAction('=HYPERLINK("http://x")', "@SUM(A1)", "-3", date(2027, 3, 1)),
                       MinutesAction("Mentor " * 40, "", "Åse", date(2027, 6, 1), date(2027, 4, 1))))
    employee = Signature("Kari", date(2027, 1, 21), minutes.version()) if signed else None
    return MinutesDraft(minutes, employee, Signature("Åse Leder", date(2027, 1, 22), minutes.version()), "a" * 64)


def _contents() -> list[PrepContent]:
    found = []
    for variant in (EMPLOYEE, MANAGER):
        for lang in ("nb", "en"):
            plain = sample_content(variant, lang=lang, questions=20, mandatory=(0, 5), past=3)
            found += [plain, with_tricky_texts(plain)]
        base = sample_content(variant)
        found.append(replace(base, employee_name="".join(HOSTILE_TEXTS), place=SPECIAL[0], company=SPECIAL[1],
                             questions=tuple(replace(q, text=SPECIAL[n % len(SPECIAL)],
                                                     follow_ups=(HOSTILE_TEXTS[n % len(HOSTILE_TEXTS)],))
                                             for n, q in enumerate(base.questions))))
        found.append(replace(base, questions=(), past_actions=()))
        found += [replace(base, questions=(), past_actions=(), minutes=_minutes_draft(signed))
                  for signed in (False, True)]
    return found


def _both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: object) -> tuple[bytes, bytes]:
    """(fast, plain) bytes of the same file written both ways."""
    assert callable(write)
    write(tmp_path / "fast.xlsx")
    with monkeypatch.context() as patched:
        patched.setattr(sheetkit, "workbook_class", lambda: SafeWorkbook)
        write(tmp_path / "plain.xlsx")
    return (tmp_path / "fast.xlsx").read_bytes(), (tmp_path / "plain.xlsx").read_bytes()


@pytest.mark.parametrize("index", range(len(_contents())))
def test_prep_file_is_byte_for_byte_plain_xlsxwriters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     index: int) -> None:
    """Verify each kind of prep file (variants, languages, formula-like, hostile and special texts, copies for
    signing) is the same package with and without the fast paths, and `write_prep` returns the bytes it wrote."""
    content = _contents()[index]
    returned: list[bytes] = []
    fast, plain = _both(tmp_path, monkeypatch, lambda path: returned.append(write_prep(path, content, KEY)))
    assert fast == plain
    assert returned[0] == fast


def test_guide_is_byte_for_byte_plain_xlsxwriters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a conversation guide (rich text questions, notes with special texts) is the same both ways."""
    content = with_tricky_texts(sample_content(questions=12, past=2))
    guide = GuideContent(content.identity, content.lang, content.company, content.employee_name,
                         content.manager_name, content.start, content.place, content.questions[:4],
                         {content.questions[1].question_id: SPECIAL[0], content.questions[2].question_id: SPECIAL[6]},
                         content.past_actions, {content.past_actions[0].action_id: SPECIAL[1]}, SPECIAL[3], "",
                         noted=content.questions[5:6])
    fast, plain = _both(tmp_path, monkeypatch, lambda path: write_guide(path, guide))
    assert fast == plain


def _every_kind_of_cell(workbook: xlsxwriter.Workbook) -> None:
    bold = workbook.add_format({"bold": True, "border": 1})
    wrap = workbook.add_format({"text_wrap": True, "bg_color": "#FFF8E1", "locked": False})
    again = workbook.add_format({"bold": True, "border": 1})  # the same properties: one style, as XlsxWriter does
    sheet = workbook.add_worksheet("Ark")
    sheet.set_column(0, 3, 20)
    sheet.set_row(0, 30)
    sheet.set_row(40, 18)  # a row with a height and no cells
    sheet.write_string(0, 0, "tittel", bold)
    sheet.write_string("B2", "A1-notasjon", wrap)
    sheet.write_blank(1, 2, None, again)
    sheet.write_blank("D2", None, wrap)
    sheet.write_blank(2, 0, None)  # no format: no cell
    sheet.write_string(2, 1, "uten format")
    for n, text in enumerate(SPECIAL):
        sheet.write_string(3 + n, 0, text, wrap)
        sheet.write_string(3 + n, 1, text)
    sheet.write_number(20, 0, 3.5, bold)
    sheet.write_number(20, 1, 7)
    sheet.write_datetime(21, 0, datetime(2027, 1, 4, 9, 30), workbook.add_format({"num_format": "dd.mm.yyyy"}))
    sheet.write_formula(22, 0, '=COUNTIF(A1:A9,"x")&" av 10"', bold, "0 av 10")
    sheet.write_boolean(23, 0, True, bold)
    sheet.write_rich_string(24, 0, bold, "fet", " og vanlig", wrap)
    sheet.merge_range(25, 0, 25, 3, "", wrap)
    sheet.write_string(25, 0, "flettet", wrap)
    sheet.conditional_format(26, 0, 26, 0, {"type": "cell", "criteria": ">", "value": 5, "format": bold})
    other = workbook.add_worksheet("Tom")
    other.set_row(3, 40)  # only row heights: no cells at all
    workbook.add_worksheet("Helt tom")


@pytest.mark.parametrize("comments", [False, True])
def test_every_kind_of_cell_is_written_as_xlsxwriter_writes_it(comments: bool) -> None:
    """Verify the fast paths and their fall-backs (numbers, dates, formulas, booleans, rich text, cells without a
    format, A1 notation, rows without cells, a sheet with a comment) give XlsxWriter's own bytes."""
    packages = []
    for kind in (FastWorkbook, SafeWorkbook):
        buffer = io.BytesIO()
        workbook = kind(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
        workbook.set_properties({"created": datetime(2000, 1, 1)})
        _every_kind_of_cell(workbook)
        if comments:
            workbook.get_worksheet_by_name("Ark").write_comment(0, 0, "En kommentar")
        workbook.close()
        packages.append(buffer.getvalue())
    assert packages[0] == packages[1]


def test_formats_are_copies_of_one_prototype_per_process() -> None:
    """Verify two workbooks get their own formats (indices of their own) with the properties asked for."""
    first, second = (FastWorkbook(io.BytesIO(), {"in_memory": True}) for _ in range(2))
    a, b = (book.add_format({"bold": True, "font_color": "#1F3864"}) for book in (first, second))
    assert a is not b and a in first.formats and b in second.formats and b not in first.formats
    assert a.bold and b.bold and a._get_format_key() == b._get_format_key()
    assert a.xf_format_indices is first.xf_format_indices and b.xf_format_indices is second.xf_format_indices
    assert first.add_format({"italic": True})._get_format_key() != a._get_format_key()


def test_an_xlsxwriter_release_not_checked_writes_the_plain_way() -> None:
    """Verify the fast paths are taken only on the XlsxWriter releases they were checked against (this one
    among them), and any other release gets XlsxWriter's own workbook."""
    assert workbook_class() is FastWorkbook, f"XlsxWriter {xlsxwriter.__version__}: check the fast paths, then FAST_FOR"
    assert workbook_class("3.3.9") is FastWorkbook
    assert workbook_class("3.4.0") is SafeWorkbook and workbook_class("4.0.0") is SafeWorkbook
