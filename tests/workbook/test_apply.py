"""The file applier, end to end through a Workspace on a folder made by `samtale init`."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hostile_text import HOSTILE_TEXTS, xml_ok

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.store.journal import Journal
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder made by `samtale init`."""
    root = tmp_path / "Medarbeidersamtaler"
    init_folder(root)
    return root


def _workspace(root: Path) -> Workspace:
    return Workspace.open(root, TODAY)


def _employee(cs: ChangeSet, employee_id: str, name: str, manager: str = "") -> None:
    cs.upsert("Ansatte", employee_id, name=name, email=f"{employee_id}@firma.no", manager_id=manager, active="Ja")


def _table_ref(path: Path, table: str) -> str:
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        if table in ws.tables:
            return str(ws.tables[table].ref)
    raise AssertionError(f"no table {table}")


def _rows(path: Path, table: str) -> list[dict[str, object]]:
    return [r.values for r in read_workbook(path).tables[table].rows]


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX-only; Windows inherits the folder's ACL")
def test_master_and_settings_are_private_from_init_and_stay_so(folder: Path) -> None:
    """Verify init creates the master and samtale.toml 0600, and a write keeps the master 0600 with no temp left."""
    master = folder / "samtaler.xlsx"
    assert master.stat().st_mode & 0o777 == 0o600
    assert (folder / "samtale.toml").stat().st_mode & 0o777 == 0o600
    cs = ChangeSet("ny ansatt")
    _employee(cs, "1001", "Kari Nordmann")
    assert _workspace(folder).commit(cs).applied == [cs.id]
    assert master.stat().st_mode & 0o777 == 0o600
    assert [b.stat().st_mode & 0o777 for b in (folder / ".samtale" / "backups").iterdir()] == [0o600]
    assert not list(folder.glob(".~samtale-*"))


def test_upsert_creates_rows_and_grows_table(folder: Path) -> None:
    """Verify upserts create rows by ID, the table's range grows to hold them, and nothing stays pending."""
    master = folder / "samtaler.xlsx"
    assert _table_ref(master, "Ansatte") == "A1:J2"
    cs = ChangeSet("nye ansatte")
    _employee(cs, "1001", "Kari Nordmann", "1003")
    _employee(cs, "1002", "Ola Hansen", "1003")
    _employee(cs, "1003", "Åse Ødegård")
    result = _workspace(folder).commit(cs)
    assert result.blocked is None
    assert result.applied == [cs.id]
    assert (result.created, result.updated) == (3, 0)
    assert _table_ref(master, "Ansatte") == "A1:J4"
    rows = _rows(master, "Ansatte")
    assert [r["employee_id"] for r in rows] == ["1001", "1002", "1003"]
    assert rows[2]["name"] == "Åse Ødegård"
    assert rows[0]["manager_id"] == "1003"
    assert _workspace(folder).pending() == []
    wb = openpyxl.load_workbook(master)
    table = wb["Ansatte"].tables["Ansatte"]
    assert table.autoFilter.ref == "A1:J4"


def test_upsert_updates_by_id_after_rows_were_sorted(folder: Path) -> None:
    """Verify a later upsert finds its row by SamtaleID even after a person reversed the row order."""
    master = folder / "samtaler.xlsx"
    cs = ChangeSet("runde")
    for number in ("1001", "1002"):
        cs.upsert("Samtaler", f"2027-{number}", employee_id=number, manager_id="1003")
    _workspace(folder).commit(cs)
    wb = openpyxl.load_workbook(master)
    ws = wb["Samtaler"]
    first = [c.value for c in ws[2]]
    second = [c.value for c in ws[3]]
    for col, (a, b) in enumerate(zip(first, second, strict=True), start=1):
        ws.cell(2, col, b)
        ws.cell(3, col, a)
    wb.save(master)
    update = ChangeSet("invitert")
    update.upsert("Samtaler", "2027-1001", invited=date(2027, 1, 4), note="sendt")
    result = _workspace(folder).commit(update)
    assert (result.created, result.updated) == (0, 1)
    rows = {r["conversation_id"]: r for r in _rows(master, "Samtaler")}
    assert rows["2027-1001"]["invited"] == date(2027, 1, 4)
    assert rows["2027-1001"]["note"] == "sendt"
    assert rows["2027-1002"]["invited"] is None
    assert openpyxl.load_workbook(master)["Samtaler"]["A3"].value == "2027-1001"


def test_append_to_logg(folder: Path) -> None:
    """Verify appended Logg rows land at the end of the Logg table, which grows, with a real date."""
    master = folder / "samtaler.xlsx"
    for number in range(3):
        cs = ChangeSet("logg")
        cs.append("Logg", time=datetime(2027, 1, 4, 9, number, tzinfo=OSLO), event=f"Hendelse {number}",
                  who="hr", result="ok")
        assert _workspace(folder).commit(cs).applied == [cs.id]
    assert _table_ref(master, "Logg") == "A1:E4"  # E: the hidden Endringssett column
    rows = _rows(master, "Logg")
    assert [r["event"] for r in rows] == ["Hendelse 0", "Hendelse 1", "Hendelse 2"]
    assert rows[2]["time"] == datetime(2027, 1, 4, 9, 2)
    assert openpyxl.load_workbook(master)["Logg"]["A4"].number_format == "dd.mm.yyyy hh:mm"


def test_text_xml_cannot_hold_never_breaks_a_save(folder: Path) -> None:
    """Verify control characters, lone surrogates, U+FFFE/U+FFFF and Excel escapes of them in names and Logg
    text are made safe and saved, and the journal remembers the value the cell holds."""
    master = folder / "samtaler.xlsx"
    cs = ChangeSet("vanskelig tekst")
    for n, text in enumerate(HOSTILE_TEXTS):
        _employee(cs, f"{n:04d}", text)
        cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event=text, who="samtale", result=text)
    cs.upsert("Tiltak", "2027-0000-1", conversation_id="2027-0000", employee_id="0000",
              description="Kurs\x0bi Excel", deadline=date(2027, 6, 1))
    result = _workspace(folder).commit(cs)
    assert result.blocked is None and result.applied == [cs.id]
    texts = [r["name"] for r in _rows(master, "Ansatte")] + [r["result"] for r in _rows(master, "Logg")]
    assert len(texts) == 2 * len(HOSTILE_TEXTS) and all(isinstance(t, str) and xml_ok(t) for t in texts)
    assert _rows(master, "Tiltak")[0]["description"] == "Kurs\ni Excel"
    with Journal(folder / ".samtale" / "journal.sqlite") as journal:
        assert journal.last_written("Tiltak")["2027-0000-1"]["description"] == "Kurs\ni Excel"


def test_formula_text_is_written_as_text(folder: Path, sheet_xml: Callable[[Path, str], str]) -> None:
    """Verify a name like «=HYPERLINK("x")» is stored as an inline string, never as a formula."""
    master = folder / "samtaler.xlsx"
    cs = ChangeSet("farlig navn")
    _employee(cs, "1001", '=HYPERLINK("x")')
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0), event="@SUM(A1)", who="+cmd", result="-2+3")
    _workspace(folder).commit(cs)
    root = ET.fromstring(sheet_xml(master, "Ansatte"))
    cell = root.find(".//m:c[@r='B2']", NS)
    assert cell is not None
    assert cell.get("t") == "inlineStr"
    assert cell.find("m:f", NS) is None
    assert "".join(cell.itertext()) == '=HYPERLINK("x")'
    assert root.find(".//m:f", NS) is None
    assert "<f>" not in sheet_xml(master, "Logg")
    assert "<f " not in sheet_xml(master, "Logg")
    assert _rows(master, "Ansatte")[0]["name"] == '=HYPERLINK("x")'
    assert _rows(master, "Logg")[0]["event"] == "@SUM(A1)"


def test_seeded_conflict_keeps_person_value(folder: Path) -> None:
    """Verify a seeded cell a person changed is kept, a Konflikt row goes to Logg, and untouched cells update."""
    master = folder / "samtaler.xlsx"
    first = ChangeSet("referat")
    first.upsert("Tiltak", "2027-1001-1", conversation_id="2027-1001", employee_id="1001",
                 description="Kurs i Excel", goal="Raskere rapporter", deadline=date(2027, 3, 1))
    _workspace(folder).commit(first)

    wb = openpyxl.load_workbook(master)
    ws = wb["Tiltak"]
    assert ws["D2"].value == "Kurs i Excel"
    ws["D2"] = "Kurs i Excel og Power BI"  # the person edits the action text
    wb.save(master)

    second = ChangeSet("nytt referat")
    second.upsert("Tiltak", "2027-1001-1", description="Excel-kurs (nytt referat)", goal="Rapporter på 1 dag",
                  deadline=date(2027, 4, 1))
    result = _workspace(folder).commit(second)
    assert result.applied == [second.id]
    assert [(c.field, c.kept, c.offered) for c in result.conflicts] == [
        ("description", "Kurs i Excel og Power BI", "Excel-kurs (nytt referat)")]
    action = _rows(master, "Tiltak")[0]
    assert action["description"] == "Kurs i Excel og Power BI"
    assert action["goal"] == "Rapporter på 1 dag"
    assert action["deadline"] == date(2027, 4, 1)
    log = _rows(master, "Logg")
    assert len(log) == 1
    assert log[0]["event"] == "Konflikt"
    assert log[0]["who"] == "samtale"
    assert log[0]["result"] == ("2027-1001-1 «Tiltak»: beholdt «Kurs i Excel og Power BI», "
                                "ikke skrevet «Excel-kurs (nytt referat)»")


def test_owner_file_keeps_change_pending_then_cli_applies(folder: Path,
                                                          excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify an Excel owner file leaves the master's bytes alone and the change pending; `apply` writes it later."""
    master = folder / "samtaler.xlsx"
    original = master.read_bytes()
    owner = folder / "~$samtaler.xlsx"
    owner.write_bytes(excel_owner_file("Kari Nordmann"))
    cs = ChangeSet("ny ansatt")
    _employee(cs, "1001", "Ola Hansen")
    result = _workspace(folder).commit(cs)
    assert result.applied == []
    assert result.blocked is not None
    assert "Kari Nordmann" in result.blocked
    assert master.read_bytes() == original
    with Journal(folder / ".samtale" / "journal.sqlite") as journal:
        pending = journal.pending()
    assert [p.changeset.id for p in pending] == [cs.id]
    assert pending[0].blocked_reason == result.blocked
    assert list((folder / ".samtale" / "backups").iterdir()) == []

    owner.unlink()
    done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "apply"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Skrev til arbeidsboken: " in done.stdout
    assert [r["name"] for r in _rows(master, "Ansatte")] == ["Ola Hansen"]
    with Journal(folder / ".samtale" / "journal.sqlite") as journal:
        assert journal.pending() == []


def test_cli_apply_while_open_exits_3(folder: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify `apply` while the workbook is open says who has it, keeps the change and exits 3."""
    (folder / "~$samtaler.xlsx").write_bytes(excel_owner_file("Kari Nordmann"))
    cs = ChangeSet("ny ansatt")
    _employee(cs, "1001", "Ola Hansen")
    _workspace(folder).commit(cs)
    done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "apply"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "er åpen hos Kari Nordmann" in done.stderr
    assert len(_workspace(folder).pending()) == 1


def test_backup_after_write(folder: Path) -> None:
    """Verify every write leaves a timestamped copy of the previous master in .samtale/backups/."""
    master = folder / "samtaler.xlsx"
    backups = folder / ".samtale" / "backups"
    before = master.read_bytes()
    cs = ChangeSet("ny ansatt")
    _employee(cs, "1001", "Kari Nordmann")
    result = _workspace(folder).commit(cs)
    assert result.backup is not None
    copies = sorted(backups.glob("samtaler.*.xlsx"))
    assert copies == [result.backup]
    assert copies[0].read_bytes() == before
    assert copies[0].name.removeprefix("samtaler.").removesuffix(".xlsx")[:8].isdigit()
    assert master.read_bytes() != before
    second = ChangeSet("en til")
    _employee(second, "1002", "Ola Hansen")
    _workspace(folder).commit(second)
    assert len(list(backups.glob("samtaler.*.xlsx"))) == 2
    assert [p.name for p in folder.iterdir() if p.name.startswith(".~samtale-")] == []


def test_write_keeps_the_tools_own_workbook_intact(folder: Path) -> None:
    """Verify a headless write keeps tables, validations, formats, names and the hidden Lister sheet."""
    master = folder / "samtaler.xlsx"
    before = loss_guard.inventory(master)
    assert loss_guard.predict(master) == []
    cs = ChangeSet("ny ansatt")
    _employee(cs, "1001", "Kari Nordmann")
    _workspace(folder).commit(cs)
    after = loss_guard.inventory(master)
    assert loss_guard.lost_features(before, after) == []
    for key in ("table", "data_validation", "conditional_format", "defined_name"):
        assert after[key] == before[key] > 0, key
    wb = openpyxl.load_workbook(master)
    assert wb["Lister"].sheet_state == "hidden"
    assert {n for n in wb.defined_names if n.startswith("Liste_")} >= {"Liste_JaNei", "Liste_Status"}
    assert wb["Ansatte"].freeze_panes == "A2"


def test_a_preloaded_master_is_written_as_a_fresh_load_would_be(folder: Path) -> None:
    """Verify a write with the master loaded ahead (apply.preload, as `samtale prep` does while its workers
    write) applies the change and keeps what the file held, and the preload itself changes nothing."""
    master = folder / "samtaler.xlsx"
    staff = ChangeSet("staff")
    _employee(staff, "1", "Åse Leder")
    _workspace(folder).commit(staff)
    before = master.read_bytes()
    ahead = _workspace(folder).preload()
    assert ahead is not None and master.read_bytes() == before
    cs = ChangeSet("logg")
    cs.append("Logg", time=datetime(2027, 1, 4, 9, 0, tzinfo=OSLO), event="Forberedelsesskjema laget", who="hr",
              result="2 filer")
    result = _workspace(folder).commit(cs, ahead)
    assert result.applied == [cs.id] and not result.blocked
    assert [r["event"] for r in _rows(master, "Logg")][-1] == "Forberedelsesskjema laget"
    assert [r["name"] for r in _rows(master, "Ansatte")] == ["Åse Leder"]


def test_a_master_changed_after_it_was_preloaded_is_loaded_again(folder: Path) -> None:
    """Verify a preload made stale by another write is not used: both that write's row and the new one stay."""
    master = folder / "samtaler.xlsx"
    ahead = _workspace(folder).preload()
    staff = ChangeSet("staff")
    _employee(staff, "1", "Åse Leder")
    _workspace(folder).commit(staff)  # the file changes after the preload
    more = ChangeSet("more")
    _employee(more, "2", "Bjørn Ansatt", manager="1")
    result = _workspace(folder).commit(more, ahead)
    assert result.applied == [more.id] and not result.blocked
    assert [r["name"] for r in _rows(master, "Ansatte")] == ["Åse Leder", "Bjørn Ansatt"]


def test_a_master_that_cannot_be_loaded_is_not_preloaded(folder: Path) -> None:
    """Verify preload gives None for a damaged or missing master; the write then reports it as always."""
    from samtale_automation.workbook.apply import preload

    master = folder / "samtaler.xlsx"
    master.write_bytes(b"not a workbook")
    assert preload(_workspace(folder).folder) is None
    master.unlink()
    assert preload(_workspace(folder).folder) is None
