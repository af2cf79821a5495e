"""`samtale collect`: returned files into the register, archive and quarantine, on real files."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.consolidate import ACCEPTED, DUPLICATE, QUARANTINED, REMOVED_MARK
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.prepfile.fill import fill_employee, fill_minutes

NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A folder with round 2027 for two employees and their prep files written."""
    init_folder(tmp_path / "f")
    ws = Workspace.open(tmp_path / "f", NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Ansatt", email="bjorn@firma.example", manager_id="1",
                 department="Regnskap", active="Ja")
    staff.upsert("Ansatte", "3", name="Cecilie Ansatt", email="cecilie@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    run_prep(ws)
    return ws


def _prep_file(ws: Workspace, employee: str, variant: str) -> Path:
    return next((ws.folder.root / "forberedelse" / "2027").rglob(f"{employee} * - {variant}.xlsx"))


def _incoming(ws: Workspace, name: str) -> Path:
    return ws.folder.root / "innkommende" / name


def _filled_minutes(ws: Workspace, employee: str, variant: str, out_name: str, actions: list[tuple[object, ...]],
                    signed: tuple[str, date | None, str, date | None] | None = None) -> Path:
    workbook = openpyxl.load_workbook(_prep_file(ws, employee, variant))
    fill_minutes(workbook, summaries={0: "Et godt år."}, actions=actions, private="Privat: skal aldri i registeret",
                 signed=signed)
    out = _incoming(ws, out_name)
    workbook.save(out)
    return out


def test_prep_returned_sets_date_makes_guide_and_archives(workspace: Workspace) -> None:
    """Verify a returned prep sets «Forberedelse mottatt», writes the guide, and is moved byte-identical."""
    source = _incoming(workspace, "Bjørn forberedelse.xlsx")
    fill_employee(_prep_file(workspace, "2", "forberedelse"), source, chosen=["S01", "S09", "S02"],
                  notes={"S02": "Jeg vil snakke om arbeidsmengde"})
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    result = run_collect(workspace)
    assert result.plan is not None
    assert [d.outcome for d in result.plan.decisions] == [ACCEPTED]
    assert not source.exists()
    archived = list((workspace.folder.root / "arkiv" / "2027" / "2").iterdir())
    assert len(archived) == 1 and hashlib.sha256(archived[0].read_bytes()).hexdigest() == digest
    conv = workspace.load().conversations["2027-2"]
    assert conv.prep_returned is not None
    assert [g.name for g in result.guides] == ["2 Bjørn Ansatt - samtaleguide.xlsx"]
    again = run_collect(workspace)
    assert again.plan is not None and again.plan.decisions == [] and not again.plan.changeset.changes


def test_minutes_become_actions_and_private_note_stays_out(workspace: Workspace) -> None:
    """Verify minutes give Tiltak rows and sign-off dates; the private note never reaches the register."""
    _filled_minutes(workspace, "2", "forberedelse", "referat.xlsx",
                    [("Kurs i Power BI", "Bedre rapporter", "Bjørn", date(2027, 5, 1)),
                     ("Mentor", "Trygghet", "Åse", date(2027, 3, 1))],
                    signed=("Bjørn Ansatt", date(2027, 1, 19), "", None))
    run_collect(workspace)
    master = workspace.load()
    conv = master.conversations["2027-2"]
    assert conv.minutes_returned is not None and conv.signed_employee == date(2027, 1, 19)
    assert conv.signed_manager is None
    actions = {a.action_id: a for a in master.actions.values()}
    assert sorted(actions) == ["2027-2-1", "2027-2-2"]
    assert actions["2027-2-1"].description == "Kurs i Power BI" and actions["2027-2-1"].deadline == date(2027, 5, 1)
    assert actions["2027-2-1"].status == "Ikke startet"
    xml = b"".join(_sheet_bytes(workspace.folder.master()))
    assert b"aldri i registeret" not in xml


def _sheet_bytes(path: Path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(path) as package:
        return [package.read(n) for n in package.namelist() if n.startswith("xl/")]


def test_manager_signed_minutes_outrank_and_removed_action_is_marked(workspace: Workspace) -> None:
    """Verify the manager's signed minutes win over the employee's, and a dropped action is marked, not deleted."""
    _filled_minutes(workspace, "2", "leder", "leder.xlsx", [("Kurs", "Mål", "Bjørn", date(2027, 5, 1))],
                    signed=("Bjørn Ansatt", date(2027, 1, 19), "Åse Leder", date(2027, 1, 20)))
    run_collect(workspace)
    _filled_minutes(workspace, "2", "forberedelse", "ansatt-senere.xlsx",
                    [("Noe annet", "x", "y", date(2027, 6, 1)), ("To", "x", "y", date(2027, 6, 1))])
    run_collect(workspace)
    master = workspace.load()
    assert master.actions["2027-2-1"].description == "Kurs", "the employee's later, unsigned minutes do not count"
    assert "2027-2-2" not in master.actions
    assert master.conversations["2027-2"].signed_manager == date(2027, 1, 20)
    _filled_minutes(workspace, "2", "leder", "leder-ny.xlsx", [],
                    signed=("Bjørn Ansatt", date(2027, 1, 21), "Åse Leder", date(2027, 1, 22)))
    run_collect(workspace)
    master = workspace.load()
    assert master.actions["2027-2-1"].source.endswith(REMOVED_MARK)


def test_the_employees_file_cannot_sign_for_the_manager(workspace: Workspace) -> None:
    """Verify an employee's file with the manager's sign-off filled in sets only «Signert ansatt»: «Signert leder»
    and the status «Signert» wait for the manager's own file, and the decision (its Logg row) says why."""
    _filled_minutes(workspace, "2", "forberedelse", "signert av meg.xlsx",
                    [("Kurs", "Mål", "Bjørn", date(2027, 5, 1))],
                    signed=("Bjørn Ansatt", date(2027, 1, 19), "Åse Leder", date(2027, 1, 19)))
    result = run_collect(workspace)
    assert result.plan is not None
    [decision] = result.plan.decisions
    assert decision.outcome == ACCEPTED
    assert "lederens signering i medarbeiderens fil er ikke tatt med" in decision.reason
    conv = workspace.load().conversations["2027-2"]
    assert (conv.signed_employee, conv.signed_manager) == (date(2027, 1, 19), None)
    assert conv.status(workspace.now) == "minutes_returned"
    _filled_minutes(workspace, "2", "leder", "leder.xlsx", [("Kurs", "Mål", "Bjørn", date(2027, 5, 1))],
                    signed=("", None, "Åse Leder", date(2027, 1, 20)))
    run_collect(workspace)
    conv = workspace.load().conversations["2027-2"]
    assert (conv.signed_employee, conv.signed_manager) == (date(2027, 1, 19), date(2027, 1, 20))
    assert conv.status(workspace.now) == "signed"


def test_hostile_files_are_quarantined_with_a_note(workspace: Workspace) -> None:
    """Verify empty, csv, tampered and unknown-conversation files go to karantene/ with a Norwegian reason."""
    _incoming(workspace, "tom.xlsx").write_bytes(b"")
    _incoming(workspace, "liste.xlsx").write_text("AnsattID;Navn\n1;Åse\n", encoding="utf-8")
    tampered = _incoming(workspace, "tuklet.xlsx")
    fill_employee(_prep_file(workspace, "3", "forberedelse"), tampered, chosen=["S01"])
    _tamper(tampered)
    cancelled = ChangeSet("delete-ish")
    cancelled.upsert("Samtaler", "2027-3", force=True, employee_id="2")  # the file's employee no longer matches
    fill_employee(_prep_file(workspace, "3", "forberedelse"), _incoming(workspace, "feil ansatt.xlsx"),
                  chosen=["S01"])
    workspace.commit(cancelled)
    (workspace.folder.root / "innkommende" / "~$liste.xlsx").write_bytes(b"lock")
    result = run_collect(workspace)
    assert result.plan is not None
    outcomes = {d.arrival.name: d for d in result.plan.decisions}
    assert {n: d.outcome for n, d in outcomes.items()} == {
        "tom.xlsx": QUARANTINED, "liste.xlsx": QUARANTINED, "tuklet.xlsx": QUARANTINED,
        "feil ansatt.xlsx": QUARANTINED}
    assert "2027-3" in outcomes["feil ansatt.xlsx"].reason
    notes = sorted((workspace.folder.root / "karantene").glob("*.txt"))
    assert len(notes) == 4
    assert all("Årsak:" in n.read_text(encoding="utf-8") for n in notes)
    assert (workspace.folder.root / "innkommende" / "~$liste.xlsx").exists(), "lock files are left alone"
    quarantined = next(p for p in (workspace.folder.root / "karantene").iterdir() if p.name.endswith("liste.xlsx"))
    shutil.move(quarantined, _incoming(workspace, "liste.xlsx"))
    again = run_collect(workspace)
    assert again.plan is not None and [d.outcome for d in again.plan.decisions] == [QUARANTINED], "read again"


def _tamper(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path) as package:
        parts = {n: package.read(n) for n in package.namelist()}
    for name, data in parts.items():
        if b"2027-3" in data and name.startswith("xl/"):
            parts[name] = data.replace(b"2027-3", b"2027-2")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)


def test_same_file_twice_is_a_duplicate(workspace: Workspace) -> None:
    """Verify a file that was accepted before changes nothing the second time, and is archived again."""
    source = _incoming(workspace, "a.xlsx")
    fill_employee(_prep_file(workspace, "2", "forberedelse"), source, chosen=["S01"])
    copy = source.read_bytes()
    run_collect(workspace)
    source.write_bytes(copy)
    result = run_collect(workspace)
    assert result.plan is not None and [d.outcome for d in result.plan.decisions] == [DUPLICATE]
    assert len(list((workspace.folder.root / "arkiv" / "2027" / "2").iterdir())) == 2


def test_open_workbook_leaves_changes_pending(workspace: Workspace) -> None:
    """Verify files are archived and the register change waits while the workbook is open."""
    fill_employee(_prep_file(workspace, "2", "forberedelse"), _incoming(workspace, "b.xlsx"), chosen=["S01"])
    (workspace.folder.root / "~$samtaler.xlsx").write_bytes(b"\x03HR " + b" " * 60)
    before = workspace.folder.master().read_bytes()
    result = run_collect(workspace)
    assert result.apply is not None and result.apply.blocked
    assert workspace.folder.master().read_bytes() == before
    assert workspace.load().conversations["2027-2"].prep_returned is not None, "status sees the pending change"
    (workspace.folder.root / "~$samtaler.xlsx").unlink()
    workspace.commit(None)
    assert workspace.load(with_pending=False).conversations["2027-2"].prep_returned is not None


def test_more_hostile_returns(workspace: Workspace) -> None:
    """Verify an .ods and a zip bomb named .xlsx, and a file for a conversation not in the workbook, are quarantined."""
    import io
    import zipfile
    from dataclasses import replace

    from samtale_automation.domain.prepsheet import EMPLOYEE
    from samtale_automation.plans.prep import build_content
    from samtale_automation.prepfile.write import write_prep

    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("content.xml", "<office:document-content/>")
    _incoming(workspace, "regneark.xlsx").write_bytes(ods.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("xl/worksheets/sheet1.xml", b"0" * (80 * 1024 * 1024))
    _incoming(workspace, "bombe.xlsx").write_bytes(bomb.getvalue())
    master = workspace.load()
    content = build_content(master, master.conversations["2027-2"], EMPLOYEE)
    stranger = replace(content, identity=replace(content.identity, conversation_id="2027-99", employee_id="99"))
    blank = workspace.folder.root / "stranger.xlsx"
    write_prep(blank, stranger, workspace.folder.key.read_bytes())
    fill_employee(blank, _incoming(workspace, "ukjent samtale.xlsx"), chosen=["S01"])
    result = run_collect(workspace)
    assert result.plan is not None
    reasons = {d.arrival.name: (d.outcome, d.reason) for d in result.plan.decisions}
    assert {name: outcome for name, (outcome, _) in reasons.items()} == {
        "regneark.xlsx": QUARANTINED, "bombe.xlsx": QUARANTINED, "ukjent samtale.xlsx": QUARANTINED}
    assert "2027-99 finnes ikke i arbeidsboken" in reasons["ukjent samtale.xlsx"][1]
    assert all(reason for _, reason in reasons.values())


def test_file_still_being_written_is_left_for_next_run(workspace: Workspace) -> None:
    """Verify a file that is growing while collect reads it stays in innkommende/ for the next run."""
    import subprocess
    import sys
    import time

    path = _incoming(workspace, "halvferdig.xlsx")
    path.write_bytes(b"PK")
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "end = time.monotonic() + 20\n"
        "with open(sys.argv[1], 'ab', buffering=0) as f:\n"
        "    while time.monotonic() < end:\n"
        "        f.write(b'x' * 64)\n"), str(path)])
    try:
        time.sleep(0.5)
        result = run_collect(workspace)
    finally:
        writer.kill()
        writer.wait()
    assert path.exists()
    assert result.ignored == [("halvferdig.xlsx", "skrives fortsatt; tas neste gang")]
    assert result.plan is not None and result.plan.decisions == []
