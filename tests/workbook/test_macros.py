"""The macro workbook (.xlsm): its VBA project, code names, buttons and xlwings.conf, checked without Excel.

What is checked here: the committed bin is a fresh, reproducible build of the sources; olevba
(oletools) finds exactly those sources in the .xlsm; every sheet's code name has a document
module; every button names a public Sub; every Sub hands RunPython a command for a known
action, read from the source and also run under pyOpenVBA's VBA interpreter; LibreOffice loads
the modules and binds the buttons; nothing names a path of a machine. What only real Excel can
show (that it runs the project, and RunPython reaches Python) is listed in the README.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import SHEET_ORDER
from samtale_automation.errors import UsageError
from samtale_automation.workbook import buttons, vba_build
from samtale_automation.workbook.build import build_master

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # oletools uses old pyparsing names

WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
SHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
#: The two type libraries Excel itself references in every new project, found by GUID (the path is a hint).
STANDARD_REFERENCES = {"stdole": "{00020430-0000-0000-C000-000000000046}",
                       "Office": "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}"}


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A master .xlsm as `samtale init --macros` makes it (Norwegian)."""
    path = tmp_path_factory.mktemp("xlsm") / "samtaler.xlsm"
    build_master(path, "nb", macros=True)
    return path


@pytest.fixture(scope="module")
def modules(xlsm: Path) -> dict[str, str]:
    """Every VBA module olevba finds in the .xlsm: name -> source."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(xlsm))
    try:
        return {Path(vba_name).stem: code for _, _, vba_name, code in parser.extract_macros()}
    finally:
        parser.close()


def _body(source: str) -> str:
    """A module's code without the class-file preamble and the Attribute lines (CRLF)."""
    lines = vba_build.crlf(source).split("\r\n")
    if lines and lines[0].startswith("VERSION "):
        lines = lines[lines.index("END") + 1:]
    return "\r\n".join(line for line in lines if not line.startswith("Attribute VB_")).strip("\r\n")


def _public_subs(source: str) -> set[str]:
    return set(re.findall(r"^Public Sub (\w+)\(\)\s*$", source.replace("\r\n", "\n"), re.MULTILINE))


def _vml(xlsm: Path) -> str:
    with zipfile.ZipFile(xlsm) as package:
        return "".join(package.read(n).decode("utf-8") for n in package.namelist() if n.endswith(".vml"))


# ---- the sources and the build ---------------------------------------------------------

def test_committed_bas_is_generated_from_the_action_list() -> None:
    """Verify workbooks/vba/SamtaleButtons.bas is exactly what buttons.py generates, and ASCII."""
    committed = (vba_build.workbooks_dir() / "vba" / "SamtaleButtons.bas").read_bytes()
    assert committed.decode("ascii") == buttons.module_source()


def test_committed_bin_is_a_fresh_reproducible_build() -> None:
    """Verify building twice gives identical bytes, equal to the committed workbooks/vbaProject.bin."""
    first, second = vba_build.build(), vba_build.build()
    assert first == second
    assert vba_build.bin_path().read_bytes() == first, (
        "workbooks/vbaProject.bin is out of date: run python -m samtale_automation.workbook.vba_build")
    assert vba_build.main(["--check"]) == 0


def test_action_list_is_consistent() -> None:
    """Verify action ids, Sub names and labels are unique, and commands round-trip to their action."""
    assert len(set(buttons.ACTIONS)) == len(buttons.BUTTONS) == 9
    assert len({b.sub.casefold() for b in buttons.BUTTONS}) == 9
    assert len({b.nb for b in buttons.BUTTONS}) == len({b.en for b in buttons.BUTTONS}) == 9
    for button in buttons.BUTTONS:
        assert buttons.action_of_command(button.command) == button.action
        assert button.command.isascii() and button.sub.isascii()
    assert buttons.BUTTON_BY_ACTION["plan"].nb == "Planlegg samtaler"
    assert buttons.python_command("plan") == "import samtale_automation.faces.excel as x; x.run('plan')"
    assert buttons.action_of_command("import os; os.system('x')") is None
    with pytest.raises(ValueError, match="not an action id"):
        buttons.python_command("plan'); import os; ('")


# ---- the .xlsm: modules, code names, buttons --------------------------------------------

def test_olevba_extracts_exactly_the_sources(modules: dict[str, str]) -> None:
    """Verify the .xlsm holds exactly ThisWorkbook, one document module per sheet, xlwings, Dictionary and ours."""
    code_names = list(buttons.sheet_code_names().values())
    assert list(modules) == ["ThisWorkbook", *code_names, "xlwings", "Dictionary", "SamtaleButtons"]
    for source in vba_build.all_modules():
        if source.is_class:
            assert _body(modules[source.name]) == _body(source.source), source.name
        else:
            assert modules[source.name].rstrip("\r\n") == source.source.rstrip("\r\n"), source.name
    assert f'Public Const XLWINGS_VERSION As String = "{vba_build.XLWINGS_VERSION}"' in modules["xlwings"]
    for name in ("ThisWorkbook", *code_names):
        assert _body(modules[name]) == "", f"{name} holds code"


def test_every_code_name_has_a_document_module(xlsm: Path, modules: dict[str, str]) -> None:
    """Verify the workbook's and each sheet's codeName in the XML names a document module of the right kind."""
    with zipfile.ZipFile(xlsm) as package:
        workbook = package.read("xl/workbook.xml").decode("utf-8")
        sheets = [package.read(f"xl/worksheets/sheet{i}.xml").decode("utf-8")
                  for i in range(1, len(buttons.MACRO_SHEETS) + 1)]
    book_code = re.search(r'<workbookPr[^>]*codeName="([^"]+)"', workbook)
    assert book_code is not None and book_code.group(1) == "ThisWorkbook"
    assert f'Attribute VB_Base = "{WORKBOOK_BASE}"' in modules["ThisWorkbook"]
    names = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook)
    assert names == [*SHEET_ORDER, "xlwings.conf"] == list(buttons.MACRO_SHEETS)
    for name, xml in zip(names, sheets, strict=True):
        code = re.search(r'<sheetPr[^>]*codeName="([^"]+)"', xml)
        assert code is not None, name
        assert code.group(1) == buttons.sheet_code_names()[name]
        assert f'Attribute VB_Base = "{SHEET_BASE}"' in modules[code.group(1)], name


def test_every_button_names_a_public_sub(xlsm: Path, modules: dict[str, str]) -> None:
    """Verify each button on Start has its Norwegian caption and a macro naming a public Sub of SamtaleButtons."""
    vml = _vml(xlsm)
    macros = re.findall(r"<x:FmlaMacro>\[0\]!([\w.]+)</x:FmlaMacro>", vml)
    assert macros == [b.macro for b in buttons.BUTTONS]
    for macro in macros:
        module, sub = macro.split(".")
        assert sub in _public_subs(modules[module]), macro
    for button in buttons.BUTTONS:
        assert f">{button.nb}</font>" in vml
    with zipfile.ZipFile(xlsm) as package:
        rels = package.read("xl/worksheets/_rels/sheet1.xml.rels").decode("utf-8")
    assert "vmlDrawing" in rels  # the buttons are on the first sheet, Start


def test_buttons_are_in_the_users_language(tmp_path: Path) -> None:
    """Verify an English workbook's buttons carry the English captions and the same macros."""
    path = tmp_path / "samtaler.xlsm"
    build_master(path, "en", macros=True)
    vml = _vml(path)
    assert [f">{b.en}</font>" in vml for b in buttons.BUTTONS] == [True] * len(buttons.BUTTONS)
    assert re.findall(r"!([\w.]+)</x:FmlaMacro>", vml) == [b.macro for b in buttons.BUTTONS]


def test_each_sub_hands_runpython_one_known_action(modules: dict[str, str]) -> None:
    """Verify, from the source, each public Sub makes exactly one RunPython call with its own action's command."""
    source = modules["SamtaleButtons"].replace("\r\n", "\n")
    bodies = dict(re.findall(r"^Public Sub (\w+)\(\)\n(.*?)^End Sub", source, re.MULTILINE | re.DOTALL))
    assert set(bodies) == {b.sub for b in buttons.BUTTONS}
    for button in buttons.BUTTONS:
        calls = re.findall(r'^\s*RunPython "([^"]*)"\s*$', bodies[button.sub], re.MULTILINE)
        assert calls == [button.command]
        assert buttons.action_of_command(calls[0]) in buttons.ACTIONS
        assert bodies[button.sub].strip() == f'RunPython "{button.command}"'


def test_each_sub_run_by_the_vba_interpreter(modules: dict[str, str]) -> None:
    """Verify each Sub, run by pyOpenVBA's VBA interpreter with RunPython stubbed, passes its action's command."""
    from pyopenvba.apps.excel import ExcelApplication

    app = ExcelApplication()
    app.add_workbook()
    app.add_module("Public Calls As String\r\n"
                   "Public Function RunPython(PythonCommand As String)\r\n"
                   "    Calls = Calls & PythonCommand & vbLf\r\n"
                   "End Function\r\n"
                   "Public Function TakeCalls() As String\r\n"
                   "    TakeCalls = Calls\r\n"
                   "    Calls = \"\"\r\n"
                   "End Function\r\n", name="Stub")
    body = "\r\n".join(line for line in modules["SamtaleButtons"].split("\r\n") if not line.startswith("Attribute "))
    app.add_module(body, name="SamtaleButtons")
    for button in buttons.BUTTONS:
        app.run(button.sub)
        assert app.run("TakeCalls") == button.command + "\n", button.sub


# ---- no machine paths; xlwings.conf --------------------------------------------------

def test_xlsm_names_no_path_of_any_machine(xlsm: Path) -> None:
    """Verify no part names a user folder or this build's folder, and the VBA project references only Excel's own."""
    import pyopenvba

    patterns = re.compile(r"[A-Za-z]:\\|\\\\[\w.-]+\\|/home/|/root|/tmp/|/Users/|file:/", re.IGNORECASE)
    with zipfile.ZipFile(xlsm) as package:
        for name in package.namelist():
            if name.endswith((".xml", ".rels", ".vml")):
                text = package.read(name).decode("utf-8")
                assert not patterns.search(text), name
                assert str(xlsm.parent) not in text and str(Path.home()) not in text, name
    with pyopenvba.ExcelFile(xlsm) as book:
        references = book.references()
    assert {r.name for r in references} == set(STANDARD_REFERENCES)
    for reference in references:
        assert reference.kind == "registered"
        assert STANDARD_REFERENCES[reference.name] in reference.libid


def test_xlwings_conf_sheet(xlsm: Path) -> None:
    """Verify the hidden xlwings.conf sheet holds its keys from A1 down, no paths, and keeps the folder off sys.path."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsm, keep_vba=True)
    ws = wb["xlwings.conf"]
    assert ws.sheet_state == "hidden"
    rows = [(ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value]
    assert rows == list(buttons.XLWINGS_CONF_ROWS) == [("ADD_WORKBOOK_TO_PYTHONPATH", "false")]
    assert not any(key.upper().startswith(("INTERPRETER", "PYTHONPATH", "CONDA")) for key, _ in rows)
    assert "samtale excel setup" in str(ws["D1"].value)


def test_xlsx_has_no_macro_parts(tmp_path: Path) -> None:
    """Verify the .xlsx has no VBA project, code names, buttons or xlwings.conf, and .xlsx with macros is refused."""
    path = tmp_path / "samtaler.xlsx"
    build_master(path)
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        workbook = package.read("xl/workbook.xml").decode("utf-8")
    assert not [n for n in names if "vba" in n.lower() or n.endswith(".vml")]
    assert "codeName" not in workbook and "xlwings.conf" not in workbook
    with pytest.raises(ValueError, match=r"must be an \.xlsm"):
        build_master(tmp_path / "x.xlsx", macros=True)


# ---- init --macros, and a headless write of the .xlsm -----------------------------------

def test_init_with_macros_makes_the_xlsm(tmp_path: Path) -> None:
    """Verify init with macros makes samtaler.xlsm only, and refuses a folder that already has a master."""
    root = tmp_path / "Medarbeidersamtaler"
    created = init_folder(root, macros=True)
    assert root / "samtaler.xlsm" in created
    assert not (root / "samtaler.xlsx").exists()
    assert Workspace.open(root).folder.master() == root / "samtaler.xlsm"
    other = tmp_path / "andre"
    init_folder(other)
    (other / ".samtale" / "key").unlink()
    (other / "samtale.toml").unlink()
    with pytest.raises(UsageError, match=r"samtaler\.xlsx"):
        init_folder(other, macros=True)


def test_a_file_write_keeps_the_macros(tmp_path: Path) -> None:
    """Verify a headless write of the .xlsm keeps the VBA project byte for byte, the code names and the buttons."""
    root = tmp_path / "Medarbeidersamtaler"
    init_folder(root, macros=True)
    master = root / "samtaler.xlsm"
    with zipfile.ZipFile(master) as package:
        bin_before = package.read("xl/vbaProject.bin")
    cs = ChangeSet("ny ansatt")
    cs.upsert("Ansatte", "1001", name="Kari Nordmann", email="kari@firma.no", active="Ja")
    result = Workspace.open(root, datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)).commit(cs)
    assert result.applied == [cs.id] and result.blocked is None
    with zipfile.ZipFile(master) as package:
        assert package.read("xl/vbaProject.bin") == bin_before == vba_build.bin_path().read_bytes()
        assert 'codeName="ThisWorkbook"' in package.read("xl/workbook.xml").decode("utf-8")
    assert re.findall(r"!([\w.]+)</x:FmlaMacro>", _vml(master)) == [b.macro for b in buttons.BUTTONS]
    assert list(Workspace.open(root).load().employees) == ["1001"]


# ---- LibreOffice ----------------------------------------------------------------------

@pytest.mark.libreoffice
def test_libreoffice_loads_the_modules_and_binds_the_buttons(
        xlsm: Path, tmp_path: Path, soffice_convert: Callable[[Path, str, Path], Path]) -> None:
    """Verify LibreOffice headless imports every module and binds each button to its Sub (through an .ods copy)."""
    ods = soffice_convert(xlsm, "ods", tmp_path / "ods")
    with zipfile.ZipFile(ods) as package:
        names = package.namelist()
        content = package.read("content.xml").decode("utf-8")
        ours = package.read("Basic/VBAProject/SamtaleButtons.xml").decode("utf-8")
    found = sorted(Path(n).stem for n in names if n.startswith("Basic/VBAProject/") and not n.endswith("-lb.xml"))
    assert found == sorted(["ThisWorkbook", *buttons.sheet_code_names().values(), "xlwings", "Dictionary",
                            "SamtaleButtons"])
    bound = re.findall(r'script:event-name="form:performaction" xlink:href="vnd\.sun\.star\.script:([\w.]+)\?'
                       r"language=Basic&amp;location=document\"", content)
    assert bound == [f"VBAProject.{b.macro}" for b in buttons.BUTTONS]
    for button in buttons.BUTTONS:
        assert button.nb in content
        assert f"Public Sub {button.sub}()" in ours
        assert f"x.run(&apos;{button.action}&apos;)" in ours
