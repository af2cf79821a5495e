"""`samtale upgrade-workbook --macros`: samtaler.xlsx becomes samtaler.xlsm with every row, or nothing changes."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.table import TableColumn

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.upgrade_macros import run_upgrade_macros
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import UsageError
from samtale_automation.faces.present import present
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A folder with an .xlsx master holding people, a conversation, an action, a room and Logg rows."""
    folder = tmp_path / "Samtaler"
    init_folder(folder)
    cs = ChangeSet("HR")
    cs.upsert("Innstillinger", "Firmanavn", force=True, value="Fjord & Fjell AS")
    for employee_id, manager in (("1001", "1003"), ("1002", "1003"), ("1003", "")):
        cs.upsert("Ansatte", employee_id, name=f"Person {employee_id}", email=f"{employee_id}@firma.no",
                  manager_id=manager, active="Ja", department="Salg")
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003",
              start=datetime(2027, 1, 20, 9, 0, tzinfo=OSLO), place="=Møterom 1")
    cs.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001", description="Kurs",
              deadline=date(2027, 3, 1))
    cs.upsert("Rom", "Møterom 1", capacity=6)
    cs.append("Logg", time=datetime(2027, 1, 2, 10, 0), event="Import", who="hr", result="3 ansatte")
    Workspace.open(folder, TODAY).commit(cs)
    return folder


def _tables(path: Path) -> dict[str, list[dict[str, object]]]:
    raw = read_workbook(path)
    return {name: [row.values for row in table.rows] for name, table in raw.tables.items()}


def test_every_row_is_carried_into_the_xlsm(root: Path) -> None:
    """Verify the .xlsm holds every table's rows, has the VBA project, and the .xlsx went to the backups."""
    before = _tables(root / "samtaler.xlsx")
    result = run_upgrade_macros(Workspace.open(root, TODAY))
    assert result.refused == [] and result.master == root / "samtaler.xlsm"
    assert not (root / "samtaler.xlsx").exists()
    assert result.backup is not None and result.backup.exists()
    after = _tables(root / "samtaler.xlsm")
    for table in ("Ansatte", "Samtaler", "Tiltak", "Rom", "Logg", "Sporsmal"):
        assert after[table] == before[table], table
    assert after["Samtaler"][0]["place"] == "=Møterom 1"  # text stays text
    with zipfile.ZipFile(root / "samtaler.xlsm") as package:
        assert "xl/vbaProject.bin" in package.namelist()
    assert "alle rader er med" in present(result).text()
    assert Workspace.open(root, TODAY).folder.master().name == "samtaler.xlsm"


def test_what_cannot_be_carried_is_named_and_nothing_changes(root: Path) -> None:
    """Verify HR's own column, sheet and comment are named, and the .xlsx stays the master, byte for byte."""
    path = root / "samtaler.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Ansatte"]
    table = ws.tables["Ansatte"]
    col = ws.max_column + 1
    ws.cell(1, col).value = "Notat fra HR"
    table.tableColumns.append(TableColumn(id=len(table.tableColumns) + 1, name="Notat fra HR"))
    min_col, min_row, _, max_row = range_boundaries(table.ref)
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(col)}{max_row}"
    wb.create_sheet("Lønn")
    wb.save(path)
    data = path.read_bytes()
    result = run_upgrade_macros(Workspace.open(root, TODAY))
    text = present(result).text()
    assert "Ansatte: kolonnen «Notat fra HR»" in text and "arket «Lønn»" in text
    assert present(result).exit_code == 1
    assert path.read_bytes() == data and not (root / "samtaler.xlsm").exists()
    assert not list(root.glob(".~samtale-*"))


def test_a_comment_the_new_file_would_lose_is_named(root: Path) -> None:
    """Verify a cell comment HR wrote (the loss guard counts it) refuses the upgrade."""
    path = root / "samtaler.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Ansatte"]["B2"].comment = Comment("Sjekk e-posten", "HR")
    wb.save(path)
    result = run_upgrade_macros(Workspace.open(root, TODAY))
    assert result.refused and not (root / "samtaler.xlsm").exists() and path.exists()


def test_an_xlsm_is_not_upgraded_again(tmp_path: Path) -> None:
    """Verify a folder that already has the .xlsm gets a usage error."""
    init_folder(tmp_path / "m", macros=True)
    with pytest.raises(UsageError, match="har allerede knappene"):
        run_upgrade_macros(Workspace.open(tmp_path / "m", TODAY))


def test_the_release_0_1_0_folder_gets_its_buttons(tmp_path: Path) -> None:
    """Verify a folder made by release 0.1.0 (older columns, Oversikt with formulas) becomes an .xlsm with every
    conversation, and reads as before."""
    import shutil

    folder = tmp_path / "Medarbeidersamtaler"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "release-0.1.0", folder)
    before = Workspace.open(folder, TODAY).load(with_pending=False)
    result = run_upgrade_macros(Workspace.open(folder, TODAY))
    assert result.refused == [] and (folder / "samtaler.xlsm").exists()
    after = Workspace.open(folder, TODAY).load(with_pending=False)
    assert after.conversations == before.conversations and after.employees == before.employees
