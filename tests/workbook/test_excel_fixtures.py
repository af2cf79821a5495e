"""Excel-authored workbooks: a headless write either loses nothing or is refused, naming the loss.

Each fixture in ../shared/fixtures/excel-authored/ becomes a master workbook; one Logg row is
written through the Workspace (which creates a Logg sheet and table when missing). Then the
workbook either saved with every feature intact, checked directly (not only by the loss guard),
or the loss guard refused and the reason names something a plain openpyxl save really loses.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.store.journal import Journal
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.read import read_workbook

pytestmark = [pytest.mark.usefixtures("nb_messages"), pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")]

FIXTURE_DIR = Path(__file__).resolve().parents[3] / "shared/fixtures/excel-authored"
VML_NS = "urn:schemas-microsoft-com:vml"

#: Fixtures the loss guard must refuse, with words each refusal must contain (Norwegian messages).
REFUSED: dict[str, tuple[str, ...]] = {
    "macro04.xlsm": ("en digital signatur på makroene",),
    "openpyxl_vba+comments.xlsm": ("en skjemakontroll", "notater og knapper på samme ark (samme figur-ID)"),
    "openpyxl_legacy_drawing.xlsm": ("en skjemakontroll", "en figur eller tekstboks"),
    "xw_button01.xlsx": ("knapper eller notater (VML)",),
    "xw_checkbox01.xlsx": ("avkrysningsbokser i celler",),
}
SAVED: tuple[str, ...] = (
    "button07.xlsm", "macro01.xlsm", "macro02.xlsm", "xw_comment01.xlsx", "xw_cond_format01.xlsx",
    "xw_cond_format12.xlsx", "xw_data_validation02.xlsx", "xw_defined_name01.xlsx", "xw_properties01.xlsx",
    "xw_protect01.xlsx", "xw_table01.xlsx", "xw_table10.xlsx",
)
MISSING = "<fixtures missing>"


def _fixture_names() -> list[str]:
    if not FIXTURE_DIR.is_dir():
        return [MISSING]
    return sorted(p.name for p in FIXTURE_DIR.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm"))


def _require_fixture_dir() -> None:
    """Fail (never skip) when the shared fixture folder is not beside the clone."""
    if not FIXTURE_DIR.is_dir():
        pytest.fail(f"The Excel-authored fixtures were not found at {FIXTURE_DIR}. They must be at "
                    "../shared/fixtures/excel-authored beside the clone (see PROVENANCE.md there).", pytrace=False)


def _fixture(name: str) -> Path:
    """The fixture file by name (fails when the folder is missing)."""
    _require_fixture_dir()
    return FIXTURE_DIR / name


def _as_master(source: Path, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    master = root / f"samtaler{source.suffix.lower()}"
    shutil.copyfile(source, master)
    return master


def _write_logg_row(root: Path, event: str) -> Any:
    cs = ChangeSet("test: én rad i Logg")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 30), event=event, who="pytest", result="ok")
    return Workspace.open(root).commit(cs), cs


def _openpyxl_save(source: Path, target: Path) -> Path:
    """What a plain headless save does, with the same options the file applier uses."""
    wb = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm", rich_text=True, keep_links=True)
    wb.save(target)
    if wb.vba_archive is not None:
        wb.vba_archive.close()
    return target


# ---- direct inspection (independent of the loss guard) --------------------------------

def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def _sheet_parts(parts: dict[str, bytes]) -> list[bytes]:
    return [data for name, data in parts.items() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)]


def _vml_macros(parts: dict[str, bytes]) -> list[str]:
    found: list[str] = []
    for name, data in parts.items():
        if name.endswith(".vml"):
            found += [m.decode().strip() for m in re.findall(rb"<(?:\w+:)?FmlaMacro>([^<]*)<", data)]
    return sorted(found)


def _vml_duplicate_ids(parts: dict[str, bytes]) -> list[str]:
    duplicates: list[str] = []
    for name, data in parts.items():
        if name.endswith(".vml"):
            ids = Counter(shape.get("id") for shape in ET.fromstring(data).iter(f"{{{VML_NS}}}shape")
                          if shape.get("id"))
            duplicates += [i for i, n in ids.items() if n > 1 and i]
    return duplicates


def _snapshot(path: Path, skip_sheet: str | None = None) -> dict[str, Any]:
    """What openpyxl sees per sheet: tables, validations, conditional formats, protection; names."""
    wb = openpyxl.load_workbook(path)
    sheets: dict[str, Any] = {}
    for ws in wb.worksheets:
        if ws.title == skip_sheet:
            continue
        sheets[ws.title] = {
            "tables": sorted((t.displayName, t.ref) for t in ws.tables.values()),
            "validations": sorted((str(dv.sqref), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation),
            "conditional": sorted((str(rng.sqref), rule.type, tuple(rule.formula or ()))
                                  for rng in ws.conditional_formatting for rule in rng.rules),
            "protected": (bool(ws.protection.sheet), ws.protection.password),
            "local_names": sorted(ws.defined_names),
            "comments": sorted((c.coordinate, c.comment.text) for row in ws.iter_rows() for c in row if c.comment),
            "code_name": ws.sheet_properties.codeName,
            "print_area": ws.print_area,
            "auto_filter": ws.auto_filter.ref,
        }
    return {"sheets": sheets, "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items()),
            "code_name": wb.code_name}


# ---- the fixtures ----------------------------------------------------------------------

def test_every_fixture_has_an_expected_outcome() -> None:
    """Verify each workbook in the shared fixture folder is listed as saved or refused, and each listed one exists."""
    _require_fixture_dir()
    present = set(_fixture_names())
    assert present == set(SAVED) | set(REFUSED), "update SAVED/REFUSED for new or removed fixtures"


@pytest.mark.parametrize("name", _fixture_names())
def test_fixture_saved_intact_or_refused(name: str, tmp_path: Path) -> None:
    """Verify a Logg row is written to the fixture losing nothing, or the save is refused naming a loss."""
    source = _fixture(name)
    root = tmp_path / "mappe"
    master = _as_master(source, root)
    original = master.read_bytes()
    result, cs = _write_logg_row(root, f"Skrevet i {name}")
    if name in REFUSED:
        _assert_refused(name, source, master, original, result, cs, root, tmp_path)
    else:
        assert name in SAVED, f"{name} has no expected outcome"
        assert result.blocked is None, f"{name} was refused: {result.blocked}"
        _assert_saved_intact(name, source, master, result, cs)


def _assert_refused(name: str, source: Path, master: Path, original: bytes, result: Any, cs: ChangeSet,
                    root: Path, tmp_path: Path) -> None:
    assert result.blocked, f"{name} should have been refused"
    assert result.blocked.startswith("Arbeidsboken inneholder noe samtale ikke kan lagre uten å miste det: ")
    for words in REFUSED[name]:
        assert words in result.blocked, f"{name}: «{words}» not in «{result.blocked}»"
    assert result.applied == []
    assert master.read_bytes() == original
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        pending = journal.pending()
    assert [(p.changeset.id, p.blocked_reason) for p in pending] == [(cs.id, result.blocked)]
    assert not any((root / ".samtale" / "backups").glob("*"))
    assert [p.name for p in root.iterdir() if p.name.startswith(".~samtale-")] == []
    # The named loss is real: a plain openpyxl save of the same file drops it.
    before = _parts(source)
    after = _parts(_openpyxl_save(source, tmp_path / f"plain{source.suffix}"))
    if "signatur" in result.blocked:
        assert b"vbaProjectSignature" in before["xl/_rels/vbaProject.bin.rels"]
        assert b"vbaProjectSignature" not in after.get("xl/_rels/vbaProject.bin.rels", b"")
    if "skjemakontroll" in result.blocked:
        assert any(b"<controls>" in s for s in _sheet_parts(before))
        assert not any(b"<controls>" in s for s in _sheet_parts(after))
    if "samme figur-ID" in result.blocked:
        assert _vml_duplicate_ids(before) == []
        assert _vml_duplicate_ids(after) != []
    if "knapper eller notater (VML)" in result.blocked:
        assert any(b"<legacyDrawing" in s for s in _sheet_parts(before))
        assert not any(b"<legacyDrawing" in s for s in _sheet_parts(after))
    if "avkrysningsbokser" in result.blocked:
        assert any(n.startswith("xl/featurePropertyBag/") for n in before)
        assert not any(n.startswith("xl/featurePropertyBag/") for n in after)


def _assert_saved_intact(name: str, source: Path, master: Path, result: Any, cs: ChangeSet) -> None:
    assert result.applied == [cs.id]
    assert result.backup is not None
    assert result.backup.read_bytes() == source.read_bytes()
    before, after = _parts(source), _parts(master)
    # VBA project byte-identical, still declared as a macro-enabled workbook.
    if "xl/vbaProject.bin" in before:
        assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
        assert b"macroEnabled" in after["[Content_Types].xml"]
    # VML buttons (and notes): the legacy drawing and each button's macro are still there.
    assert sum(s.count(b"<legacyDrawing") for s in _sheet_parts(after)) == sum(
        s.count(b"<legacyDrawing") for s in _sheet_parts(before))
    assert _vml_macros(after) == _vml_macros(before)
    assert _vml_duplicate_ids(after) == []
    # Tables, validations, conditional formats, names, protection, comments, code names: as openpyxl sees them.
    assert _snapshot(master, skip_sheet="Logg") == _snapshot(source)
    # The loss guard's inventory agrees: the same counts, plus the new Logg table and its repeated header row
    # when printed (a Print_Titles defined name, workbook/printing.py).
    inv_before, inv_after = loss_guard.inventory(source), loss_guard.inventory(master)
    expected = inv_before + Counter({"table": 1, "defined_name": 1})
    assert +inv_after == +expected
    # The file opens, and the Logg row is there.
    reopened = openpyxl.load_workbook(master, keep_vba=master.suffix == ".xlsm")
    assert reopened.sheetnames[-1] == "Logg"
    if reopened.vba_archive is not None:
        reopened.vba_archive.close()
    logg = read_workbook(master).tables["Logg"]
    assert [(r.values["event"], r.values["who"]) for r in logg.rows] == [(f"Skrevet i {name}", "pytest")]
    assert logg.rows[0].values["time"] == datetime(2027, 1, 4, 9, 30)


def test_button_fixture_details() -> None:
    """Verify the fixtures hold what PROVENANCE.md says, so the checks above have something to check."""
    button = _parts(_fixture("button07.xlsm"))
    assert _vml_macros(button) == ["[0]!say_hello"]
    assert "xl/vbaProject.bin" in button
    names = _fixture("xw_defined_name01.xlsx")
    assert _parts(names)["xl/workbook.xml"].count(b"<definedName ") == 10
    snapshot = _snapshot(names)
    assert len(snapshot["names"]) + sum(len(s["local_names"]) for s in snapshot["sheets"].values()) == 8
    assert snapshot["sheets"]["Sheet1"]["print_area"] == "'Sheet1'!$A$1:$E$6"
    assert _snapshot(_fixture("macro02.xlsm"))["code_name"] == "MyWorkbook"
    assert _snapshot(_fixture("xw_table10.xlsx"))["sheets"]["Sheet1"]["tables"] == [("Table1", "B3:K6")]
    assert _snapshot(_fixture("xw_comment01.xlsx"))["sheets"]["Sheet1"]["comments"]


def test_properties_fixture_keeps_core_properties(tmp_path: Path) -> None:
    """Verify title, subject, author, keywords and category survive a write (app.xml extras do not)."""
    source = _fixture("xw_properties01.xlsx")
    root = tmp_path / "mappe"
    master = _as_master(source, root)
    assert _write_logg_row(root, "egenskaper")[0].blocked is None
    old, new = openpyxl.load_workbook(source).properties, openpyxl.load_workbook(master).properties
    for field in ("title", "subject", "creator", "keywords", "category", "description"):
        assert getattr(new, field) == getattr(old, field), field
    assert new.title == "This is an example spreadsheet"


def test_protected_sheet_and_table_keep_protection(tmp_path: Path) -> None:
    """Verify a password-protected sheet (no fixture has one) keeps its protection and hash after a write."""
    root = tmp_path / "mappe"
    root.mkdir()
    master = root / "samtaler.xlsx"
    book = xlsxwriter.Workbook(str(master))
    sheet = book.add_worksheet("Beskyttet")
    sheet.write_row(0, 0, ["Navn", "Verdi"])
    sheet.write_row(1, 0, ["a", 1])
    sheet.add_table(0, 0, 1, 1, {"name": "Tabell", "columns": [{"header": "Navn"}, {"header": "Verdi"}]})
    sheet.protect("hemmelig", {"sort": True, "autofilter": True})
    book.close()
    before = _snapshot(master)
    assert before["sheets"]["Beskyttet"]["protected"][0] is True
    assert loss_guard.inventory(master)["sheet_protection"] == 1
    assert _write_logg_row(root, "beskyttet")[0].blocked is None
    assert _snapshot(master, skip_sheet="Logg") == before
    assert loss_guard.inventory(master)["sheet_protection"] == 1
    ws = openpyxl.load_workbook(master)["Beskyttet"]
    assert ws.protection.sort is False
    assert ws.protection.autoFilter is False


# ---- x14 features built with XlsxWriter ------------------------------------------------

X14_VALIDATION = (
    '<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    "<x14:formula1><xm:f>Lister!$A$1:$A$2</xm:f></x14:formula1><xm:sqref>C1:C10</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext>"
)


def _inject_x14_validation(path: Path) -> None:
    """Rewrite the package with an Excel-style x14 cross-sheet list validation in sheet1's extLst."""
    with zipfile.ZipFile(path) as package:
        items = [(info, package.read(info)) for info in package.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                if text.endswith("</extLst></worksheet>"):  # the sheet's own extLst is its last child
                    head, _, tail = text.rpartition("</extLst>")
                    text = head + X14_VALIDATION + "</extLst>" + tail
                else:
                    text = text.replace("</worksheet>", f"<extLst>{X14_VALIDATION}</extLst></worksheet>")
                data = text.encode("utf-8")
            package.writestr(info, data)


def _x14_workbook(path: Path, data_bar: bool, x14_validation: bool) -> Path:
    book = xlsxwriter.Workbook(str(path))
    data = book.add_worksheet("Data")
    lists = book.add_worksheet("Lister")
    lists.write_column("A1", ["Ja", "Nei"])
    data.write_column("A1", [1, 5, -2, 8])
    data.data_validation("B1:B10", {"validate": "list", "source": "=Lister!$A$1:$A$2"})  # plain: openpyxl keeps it
    if data_bar:
        data.conditional_format("A1:A4", {"type": "data_bar", "data_bar_2010": True})
    book.close()
    if x14_validation:
        _inject_x14_validation(path)
    return path


@pytest.mark.parametrize(("data_bar", "x14_validation"), [(True, False), (False, True), (True, True)])
def test_x14_features_are_refused(tmp_path: Path, data_bar: bool, x14_validation: bool) -> None:
    """Verify an x14 data bar and an x14 cross-sheet list validation block the save, each named."""
    root = tmp_path / "mappe"
    root.mkdir()
    master = _x14_workbook(root / "samtaler.xlsx", data_bar, x14_validation)
    counts = loss_guard.inventory(master)
    assert counts["x14_conditional"] == (1 if data_bar else 0)
    assert counts["x14_validation"] == (1 if x14_validation else 0)
    assert counts["data_validation"] == 1
    original = master.read_bytes()
    result, _ = _write_logg_row(root, "x14")
    assert result.blocked is not None
    assert ("betinget formatering av ny type" in result.blocked) is data_bar
    assert ("rullegardinliste som henter verdier fra et annet ark" in result.blocked) is x14_validation
    assert "en datavalidering –" not in result.blocked  # the plain validation is kept
    assert master.read_bytes() == original
    with Journal(root / ".samtale" / "journal.sqlite") as journal:
        assert [p.blocked_reason for p in journal.pending()] == [result.blocked]
    predicted = " ".join(loss_guard.predict(master))
    assert ("betinget formatering av ny type" in predicted) is data_bar
    assert ("rullegardinliste" in predicted) is x14_validation


def test_plain_validation_and_data_bar_save(tmp_path: Path) -> None:
    """Verify the same workbook without x14 parts saves, keeping its plain cross-sheet list validation."""
    root = tmp_path / "mappe"
    root.mkdir()
    master = _x14_workbook(root / "samtaler.xlsx", data_bar=False, x14_validation=False)
    result, _ = _write_logg_row(root, "vanlig")
    assert result.blocked is None
    ws = openpyxl.load_workbook(master)["Data"]
    assert [(str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation] == [
        ("B1:B10", "Lister!$A$1:$A$2")]


def test_notes_and_two_buttons_on_one_sheet_are_refused(tmp_path: Path) -> None:
    """Verify a note beside two VML buttons is refused: openpyxl would give the note a button's shape id."""
    vba = _parts(_fixture("macro01.xlsm"))["xl/vbaProject.bin"]
    root = tmp_path / "mappe"
    root.mkdir()
    (tmp_path / "vbaProject.bin").write_bytes(vba)
    master = root / "samtaler.xlsm"
    book = xlsxwriter.Workbook(str(master))
    start = book.add_worksheet("Start")
    book.add_vba_project(str(tmp_path / "vbaProject.bin"))
    start.write_comment("A1", "Et notat")
    start.insert_button("C3", {"macro": "Planlegg", "caption": "Planlegg"})
    start.insert_button("C8", {"macro": "Send", "caption": "Send"})
    book.close()
    assert _vml_duplicate_ids(_parts(master)) == []
    assert _vml_duplicate_ids(_parts(_openpyxl_save(master, tmp_path / "plain.xlsm"))) != []
    original = master.read_bytes()
    result, _ = _write_logg_row(root, "knapper")
    assert result.blocked is not None
    assert "notater og knapper på samme ark (samme figur-ID)" in result.blocked
    assert master.read_bytes() == original
