"""Reading returned prep/minutes files (returned.py): what people filled in, and every rejection with its reason."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from prep_samples import (
    KEY,
    OTHER_KEY,
    fill_employee,
    fill_minutes,
    insert_rows_like_excel,
    name_cells,
    sample_content,
    set_name,
    set_text,
)

from samtale_automation import texts
from samtale_automation.domain.prepsheet import MANAGER, ReturnedAction
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile
from samtale_automation.prepfile.untrusted_xlsx import MAX_FILE_BYTES
from samtale_automation.prepfile.write import write_prep

pytestmark = pytest.mark.usefixtures("nb_messages")


@pytest.fixture
def prep(tmp_path: Path) -> Path:
    """A freshly generated employee prep file (12 questions, S01 mandatory, two past actions)."""
    path = tmp_path / "prep.xlsx"
    write_prep(path, sample_content(), KEY)
    return path


def _rejected(path: Path, key: bytes = KEY) -> str:
    with pytest.raises(RejectedFile) as caught:
        read_returned(path, key)
    assert caught.value.reason and caught.value.reason == caught.value.message
    return caught.value.reason


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a package entry by entry; `change` returns new bytes, or None to drop the entry."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)
    return target


def _minutes(path: Path, out: Path, **values: object) -> Path:
    workbook = openpyxl.load_workbook(path)
    fill_minutes(workbook, **values)  # type: ignore[arg-type]
    workbook.save(out)
    return out


# ---- reading ------------------------------------------------------------------------------------


def test_untouched_file_reads_as_generated(prep: Path) -> None:
    """Verify an unfilled file reads: identity, only the mandatory question chosen, nothing else, no problems."""
    result = read_returned(prep, KEY)
    assert result.identity == sample_content().identity
    assert result.chosen == ["S01"] and result.notes == {} and result.actions == []
    assert result.modified == datetime(2020, 1, 1, tzinfo=UTC)
    assert result.problems == [] and result.prep_filled and not result.minutes_filled


def test_filled_file_reads_back_what_was_typed(prep: Path, tmp_path: Path) -> None:
    """Verify choices, notes, assessments, free texts, summaries, actions, private note and sign-off come back."""
    filled = tmp_path / "filled.xlsx"
    fill_employee(prep, filled, chosen=["S01", "S04", "S09"],
                  notes={"S04": '=HYPERLINK("x")', "S09": "Linje 1\nLinje 2"},
                  assessments={"2026-1001-2": "Halvveis"}, other="@x og lønn", feedback="+47 22 33 44 55")
    _minutes(filled, filled, summaries={0: "Et godt år", 3: "Trives"},
             actions=[("Kurs i Excel", "Raskere rapporter", "Kari", datetime(2027, 3, 1)),
                      ("=1+1", "", "Åse", "15.04.2027")],
             private="Bare for arkivet", signed=("Kari Nordmann", date(2027, 1, 20), "Åse Leder", date(2027, 1, 21)))
    result = read_returned(filled, KEY)
    assert result.chosen == ["S01", "S04", "S09"]
    assert result.notes == {"S04": '=HYPERLINK("x")', "S09": "Linje 1\nLinje 2"}
    assert result.assessments == {"2026-1001-2": "Halvveis"}
    assert (result.other_topics, result.feedback_to_leader) == ("@x og lønn", "+47 22 33 44 55")
    assert result.summaries == {"tilbakeblikk": "Et godt år", "trivsel": "Trives"}
    first_row = result.actions[0].row
    assert result.actions == [ReturnedAction("Kurs i Excel", "Raskere rapporter", "Kari", date(2027, 3, 1), first_row),
                              ReturnedAction("=1+1", "", "Åse", date(2027, 4, 15), first_row + 1)]
    assert result.private_note == "Bare for arkivet"
    assert (result.signed_employee_name, result.signed_employee_date) == ("Kari Nordmann", date(2027, 1, 20))
    assert (result.signed_manager_name, result.signed_manager_date) == ("Åse Leder", date(2027, 1, 21))
    assert result.problems == []
    assert result.modified is not None and result.modified.year >= 2024


def test_rows_inserted_inside_the_action_table(prep: Path, tmp_path: Path) -> None:
    """Verify 5 more actions than the table's rows are read after people inserted rows inside it (as in Excel)."""
    workbook = openpyxl.load_workbook(prep)
    _, rows = name_cells(workbook, pn.N_ACTIONS)
    count = len(rows) + 5
    insert_rows_like_excel(workbook, "Referat", rows[3][0].row, 5)
    actions = [(f"Tiltak {n}", f"Mål {n}", "Kari", date(2027, 2, 1 + n)) for n in range(count)]
    fill_minutes(workbook, actions=actions)
    workbook.save(tmp_path / "more.xlsx")
    result = read_returned(tmp_path / "more.xlsx", KEY)
    assert [a.description for a in result.actions] == [f"Tiltak {n}" for n in range(count)]
    assert result.actions[-1].deadline == date(2027, 2, count) and count >= 20


def test_rows_added_just_below_the_action_table(prep: Path, tmp_path: Path) -> None:
    """Verify actions typed in rows inserted right below the table (outside the name) are read too."""
    workbook = openpyxl.load_workbook(prep)
    sheet, rows = name_cells(workbook, pn.N_ACTIONS)
    below = rows[-1][0].row + 1
    insert_rows_like_excel(workbook, "Referat", below, 2)
    fill_minutes(workbook, actions=[("Første", "", "", date(2027, 5, 1))])
    for offset, text in enumerate(("Ekstra 1", "Ekstra 2")):
        set_text(sheet.cell(row=below + offset, column=1), text)
        sheet.cell(row=below + offset, column=4).value = date(2027, 6, 1 + offset)
    workbook.save(tmp_path / "below.xlsx")
    result = read_returned(tmp_path / "below.xlsx", KEY)
    assert [a.description for a in result.actions] == ["Første", "Ekstra 1", "Ekstra 2"]
    assert result.private_note == "", "the private note below the table is not read as an action"


def test_changed_column_widths_do_not_matter(prep: Path, tmp_path: Path) -> None:
    """Verify a file whose columns were widened reads the same."""
    workbook = openpyxl.load_workbook(prep)
    for sheet in workbook.worksheets:
        for letter in "ABCD":
            sheet.column_dimensions[letter].width = 80
    workbook.save(tmp_path / "wide.xlsx")
    assert read_returned(tmp_path / "wide.xlsx", KEY).chosen == ["S01"]


def test_manager_file(tmp_path: Path) -> None:
    """Verify the manager's preparation texts, assessments and signed minutes are read."""
    path = tmp_path / "leder.xlsx"
    write_prep(path, sample_content(MANAGER), KEY)
    workbook = openpyxl.load_workbook(path)
    set_name(workbook, pn.N_MANAGER_VIEW, "Sterkt år")
    set_name(workbook, pn.N_FEEDBACK_TO_GIVE, "Mer deling")
    set_name(workbook, pn.N_DEVELOPMENT_IDEAS, "Kurs")
    set_name(workbook, pn.N_ASSESSMENT, "Godt gjennomført")
    fill_minutes(workbook, actions=[("Mentor", "Vekst", "Åse", date(2027, 9, 1))],
                 signed=("", None, "Åse Leder", date(2027, 1, 22)))
    workbook.save(path)
    result = read_returned(path, KEY)
    assert result.identity.variant == MANAGER
    assert (result.manager_view, result.feedback_to_give, result.development_ideas) == ("Sterkt år", "Mer deling",
                                                                                        "Kurs")
    assert result.assessments == {"2026-1001-1": "Godt gjennomført"}
    assert result.chosen == [] and result.signed_manager_date == date(2027, 1, 22)
    assert [a.description for a in result.actions] == ["Mentor"]


def test_problems_that_do_not_reject(prep: Path, tmp_path: Path) -> None:
    """Verify notes on an unchosen question, an odd choice value and a summary beside no topic become problems."""
    out = tmp_path / "odd.xlsx"
    fill_employee(prep, out, chosen=["S01"], notes={"S02": "Vil likevel snakke om dette"})
    workbook = openpyxl.load_workbook(out)
    sheet, choose = name_cells(workbook, pn.N_CHOOSE)
    _, ids = name_cells(workbook, pn.N_QUESTION_ID)
    row = next(c[0].row for c in ids if c[0].value == "S03")
    set_text(sheet.cell(row=row, column=choose[0][0].column), "kanskje")
    _, summaries = name_cells(workbook, pn.N_SUMMARY)
    referat = workbook["Referat"]
    set_text(referat.cell(row=summaries[1][0].row, column=1), "Noe helt annet")
    set_text(summaries[1][0], "Hører ingen steder hjemme")
    workbook.save(out)
    result = read_returned(out, KEY)
    assert result.chosen == ["S01"] and result.notes == {"S02": "Vil likevel snakke om dette"}
    assert result.summaries == {}
    joined = "\n".join(result.problems)
    assert "S02 har notater, men er ikke valgt" in joined
    assert "S03: «kanskje» i Velg er verken Ja eller Nei" in joined
    assert "står ikke ved et kjent tema" in joined


def test_english_file_and_yes(tmp_path: Path) -> None:
    """Verify an English file whose choices say «Yes» reads the same way."""
    path = tmp_path / "en.xlsx"
    write_prep(path, sample_content(lang="en", mandatory=()), KEY)
    fill_employee(path, path, chosen=["S02", "S03"])
    assert read_returned(path, KEY).chosen == ["S02", "S03"]


# ---- rejections ---------------------------------------------------------------------------------


def test_reject_not_xlsx_kinds(tmp_path: Path) -> None:
    """Verify csv, xls and ods renamed to .xlsx, a Word file and random bytes are refused, each saying what it is."""
    cases = {
        "csv": (b"AnsattID;Navn\n1001;Kari\n", "tekst- eller CSV-fil"),
        "csv-cp1252": ("Navn;Spørsmål\nKåre;Æ\n".encode("cp1252"), "tekst- eller CSV-fil"),
        "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "Workbook".encode("utf-16-le"), ".xls-formatet"),
        "random": (bytes(range(256)) * 4, "ikke en Excel-arbeidsbok (.xlsx)"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("content.xml", "<office:document-content/>")
    cases["ods"] = (buffer.getvalue(), "LibreOffice-formatet .ods")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as docx:
        docx.writestr("word/document.xml", "<w:document/>")
    cases["docx"] = (buffer.getvalue(), "Word- eller PowerPoint-dokument")
    for name, (data, phrase) in cases.items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(data)
        assert phrase in _rejected(path), name


def test_reject_empty_missing_and_too_large(tmp_path: Path) -> None:
    """Verify an empty file, a missing file and one over the size limit are refused with their reasons."""
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert "Filen er tom" in _rejected(empty)
    assert "kunne ikke leses" in _rejected(tmp_path / "gone.xlsx")
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\x00" * MAX_FILE_BYTES)
    assert "for stor (over 5 MB)" in _rejected(big)


def test_reject_encrypted(tmp_path: Path) -> None:
    """Verify an Office-encrypted workbook (a CFB container with EncryptionInfo) is refused as password-protected."""
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + "EncryptionInfo".encode("utf-16-le")
                     + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le"))
    assert "passordbeskyttet" in _rejected(path)


def test_reject_zip_bombs_and_too_many_entries(prep: Path, tmp_path: Path) -> None:
    """Verify too many entries, a huge total, a high expansion ratio and a lying size are refused."""
    many = _rewrite(prep, tmp_path / "many.xlsx", lambda n, d: d)
    with zipfile.ZipFile(many, "a") as package:
        for n in range(200):
            package.writestr(f"xl/extra/{n}.xml", "<x/>")
    assert "for mange deler (over 200)" in _rejected(many)
    ratio = _rewrite(prep, tmp_path / "ratio.xlsx", lambda n, d: d + b" " * 3_000_000 if n.endswith("core.xml") else d)
    assert "zip-bombe" in _rejected(ratio)
    total = _rewrite(prep, tmp_path / "total.xlsx", lambda n, d: d)
    with zipfile.ZipFile(total, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/media/big.bin", b"\x00" * (51 * 1024 * 1024))
    assert "zip-bombe" in _rejected(total)
    lying = tmp_path / "lying.xlsx"
    lying.write_bytes(_shrink_declared_size(prep.read_bytes(), "xl/worksheets/sheet1.xml"))
    assert "skadet" in _rejected(lying)


def _shrink_declared_size(data: bytes, name: str) -> bytes:
    """Halve an entry's declared uncompressed size in both headers (the deflate stream goes on beyond it)."""
    out = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        for match in re.finditer(re.escape(signature), bytes(out)):
            start = match.start()
            if out[start + name_at:start + name_at + len(encoded)] == encoded:
                size = int.from_bytes(out[start + size_at:start + size_at + 4], "little")
                out[start + size_at:start + size_at + 4] = (size // 2).to_bytes(4, "little")
    return bytes(out)


def test_reject_damaged_zip(prep: Path, tmp_path: Path) -> None:
    """Verify a truncated package is refused as damaged."""
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(prep.read_bytes()[: prep.stat().st_size // 2])
    assert "skadet" in _rejected(cut)


def test_reject_oversized_sheets(prep: Path, tmp_path: Path) -> None:
    """Verify a far-away cell or a huge declared string count is refused before calamine allocates for it."""
    far = _rewrite(prep, tmp_path / "far.xlsx", lambda n, d: d.replace(
        b"</sheetData>", b'<row r="900000"><c r="A900000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
        if n.endswith("sheet3.xml") else d)
    assert "langt større enn skjemaet" in _rejected(far)
    strings = _rewrite(prep, tmp_path / "sst.xlsx", lambda n, d: re.sub(
        rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', d) if n.endswith("sharedStrings.xml") else d)
    assert "langt større enn skjemaet" in _rejected(strings)


def test_reject_identity_missing(prep: Path, tmp_path: Path) -> None:
    """Verify a workbook without the identity sheet (a copy in a new workbook) is refused."""
    workbook = openpyxl.load_workbook(prep)
    del workbook[pn.IDENTITY_SHEET]
    workbook.save(tmp_path / "copy.xlsx")
    assert "mangler samtale-identiteten" in _rejected(tmp_path / "copy.xlsx")


@pytest.mark.parametrize("field", ["SamtaleID", "AnsattID", "Variant", "Runde", "Malversjon", "MAC", "MaksValg",
                                   "Områder", "Synlig"])
def test_reject_tampered_identity(prep: Path, tmp_path: Path, field: str) -> None:
    """Verify changing any value of the hidden sheet (the identity, the MAC, the choice limit raised, the region
    list, the visible identity's copy) makes the file fail verification."""
    workbook = openpyxl.load_workbook(prep)
    sheet = workbook[pn.IDENTITY_SHEET]
    row = next(r for r in sheet.iter_rows() if r[0].value == field)
    set_text(row[1], {"Variant": "leder", "MAC": "0" * 64, "MaksValg": "60"}.get(field, str(row[1].value) + "9"))
    workbook.save(tmp_path / "tampered.xlsx")
    assert "Identiteten i filen stemmer ikke" in _rejected(tmp_path / "tampered.xlsx")


def test_reject_a_row_added_to_the_hidden_sheet(prep: Path, tmp_path: Path) -> None:
    """Verify a row added to the hidden sheet (a second MaksValg) makes the file fail verification."""
    workbook = openpyxl.load_workbook(prep)
    sheet = workbook[pn.IDENTITY_SHEET]
    sheet.append(["MaksValg", "60"])
    workbook.save(tmp_path / "added.xlsx")
    assert "Identiteten i filen stemmer ikke" in _rejected(tmp_path / "added.xlsx")


def _with_identity_of(target: Path, donor: Path, out: Path) -> Path:
    """`target` with its hidden identity sheet replaced by `donor`'s (as a person copying the sheet would)."""
    donor_rows = [[c.value for c in row] for row in openpyxl.load_workbook(donor)[pn.IDENTITY_SHEET].iter_rows()]
    workbook = openpyxl.load_workbook(target)
    sheet = workbook[pn.IDENTITY_SHEET]
    sheet.delete_rows(1, sheet.max_row)
    for values in donor_rows:
        sheet.append(values)
    workbook.save(out)
    return out


def test_reject_an_identity_sheet_copied_from_another_employees_file(prep: Path, tmp_path: Path) -> None:
    """Verify Kari's answers under Per's copied identity sheet are quarantined: the visible and hidden identity
    disagree, and the reason names both."""
    per = tmp_path / "per.xlsx"
    content = sample_content(employee_id="2002", employee_name="Per Annen")
    write_prep(per, replace(content, identity=replace(content.identity, conversation_id="2027-2002",
                                                      employee_id="2002")), KEY)
    filled = tmp_path / "kari-filled.xlsx"
    fill_employee(prep, filled, chosen=["S01", "S02"], notes={"S01": "Kari skrev dette."})
    reason = _rejected(_with_identity_of(filled, per, tmp_path / "forged.xlsx"))
    kari = read_returned(prep, KEY).identity.visible()
    assert f"viser «{kari}» under «Skjema for»" in reason and "gjelder «2027-2002 · 2002 · ansatt»" in reason
    assert "kopiert fra en annen fil" in reason


def test_reject_a_changed_visible_identity(prep: Path, tmp_path: Path) -> None:
    """Verify editing the visible «Skjema for» cell (to match a copied sheet, say) is refused too."""
    workbook = openpyxl.load_workbook(prep)
    set_name(workbook, pn.N_VISIBLE_ID, "2027-2002 · 2002 · ansatt")
    workbook.save(tmp_path / "edited.xlsx")
    assert "viser «2027-2002 · 2002 · ansatt»" in _rejected(tmp_path / "edited.xlsx")


def test_release_0_1_files_verify_under_their_own_rule_and_the_workbook_caps_their_limit(tmp_path: Path) -> None:
    """A file made by release 0.1.0 (template version 1: MAC over the identity only, no visible identity)
    still reads; its unsigned MaksValg raised to 60 is capped at the workbook's limit."""
    old = Path(__file__).parent.parent / "fixtures" / "release-0.1.0-still-out" / "2002 forberedelse.xlsx"
    fixture_key = (Path(__file__).parent.parent / "fixtures" / "release-0.1.0" / ".samtale" / "key").read_bytes()
    returned = read_returned(old, fixture_key)
    assert returned.identity.template_version == "1" and returned.chosen
    workbook = openpyxl.load_workbook(old)
    row = next(r for r in workbook[pn.IDENTITY_SHEET].iter_rows() if r[0].value == "MaksValg")
    set_text(row[1], "60")
    workbook.save(tmp_path / "raised.xlsx")
    _, ids = name_cells(workbook, pn.N_QUESTION_ID)
    every = [str(cell.value) for (cell,) in ids if cell.value]
    fill_employee(tmp_path / "raised.xlsx", tmp_path / "all.xlsx", chosen=every)
    assert len(every) > 10
    reason = _rejected(tmp_path / "all.xlsx", fixture_key)
    assert f"valgt {len(every)} spørsmål, men grensen er 10" in reason


def test_reject_other_key(prep: Path) -> None:
    """Verify a file made for another samtale folder (another key) is refused."""
    assert "laget for en annen samtale-mappe" in _rejected(prep, OTHER_KEY)


def test_reject_unknown_template_version(tmp_path: Path) -> None:
    """Verify a correctly signed file of an unknown template version is refused, naming the version."""
    content = sample_content()
    path = tmp_path / "future.xlsx"
    write_prep(path, replace(content, identity=replace(content.identity, template_version="99")), KEY)
    assert "malversjon «99»" in _rejected(path)


def test_reject_too_many_choices(prep: Path, tmp_path: Path) -> None:
    """Verify 11 chosen questions with a limit of 10 are refused, saying how many to remove."""
    out = tmp_path / "eleven.xlsx"
    fill_employee(prep, out, chosen=[f"S{n:02d}" for n in range(1, 12)])
    reason = _rejected(out)
    assert "valgt 11 spørsmål, men grensen er 10" in reason and "Fjern «Ja» fra 1" in reason
    fill_employee(prep, out, chosen=[f"S{n:02d}" for n in range(1, 11)])
    assert len(read_returned(out, KEY).chosen) == 10


@pytest.mark.parametrize(("action", "signed", "phrase"), [
    (("Kurs", "", "Kari", "neste uke"), None, "fristen i rad {row} («neste uke») er ikke en dato"),
    (("Kurs", "", "Kari", 5), None, "fristen i rad {row} («05.01.1900») er ikke en dato"),
    (("", "Mål", "Kari", date(2027, 3, 1)), None, "tiltaket i rad {row} mangler beskrivelse"),
    (("Kurs", "Mål", "Kari", None), None, "tiltaket i rad {row} mangler frist"),
    (None, ("Kari", "i går", "", None), "signeringsdatoen for medarbeideren («i går») er ikke en dato"),
    (None, ("", None, "Åse", "32.01.2027"), "signeringsdatoen for lederen («32.01.2027») er ikke en dato"),
])
def test_reject_bad_minutes(prep: Path, tmp_path: Path, action: tuple[object, ...] | None,
                            signed: tuple[object, ...] | None, phrase: str) -> None:
    """Verify dates that are not dates and actions without description or deadline are refused, naming the row."""
    workbook = openpyxl.load_workbook(prep)
    _, rows = name_cells(workbook, pn.N_ACTIONS)
    fill_minutes(workbook, actions=[action] if action else None, signed=signed)  # type: ignore[arg-type, list-item]
    workbook.save(tmp_path / "bad.xlsx")
    reason = _rejected(tmp_path / "bad.xlsx")
    assert phrase.format(row=rows[0][0].row) in reason
    assert reason.startswith("Referatet har feil som må rettes") and "arket Referat" in reason


def test_reject_layout_without_a_region(prep: Path, tmp_path: Path) -> None:
    """Verify a file whose action table's name is gone (deleted rows give #REF!) is refused, naming the area."""
    workbook = openpyxl.load_workbook(prep)
    workbook.defined_names[pn.N_ACTIONS].attr_text = "Referat!#REF!"
    workbook.save(tmp_path / "ref.xlsx")
    assert "området «Referattiltak» ikke finnes lenger" in _rejected(tmp_path / "ref.xlsx")


@pytest.fixture
def english(nb_messages: None) -> None:
    """Messages in English for one test (nb_messages restores the language afterwards)."""
    texts.set_language("en")


@pytest.mark.usefixtures("english")
def test_reasons_follow_the_message_language(prep: Path, tmp_path: Path) -> None:
    """Verify rejection reasons are English when the current language is English."""
    assert "made for another samtale folder" in _rejected(prep, OTHER_KEY)
    csv = tmp_path / "a.xlsx"
    csv.write_text("a,b\n1,2\n")
    assert "not an Excel workbook but a text or CSV file" in _rejected(csv)
