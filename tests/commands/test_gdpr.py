"""`samtale gdpr export|erase`: everything about one person out in one zip, then gone from every file and table."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
from folders import make_folder, samtale

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.gdpr import run_gdpr_erase, run_gdpr_export
from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.nightly import run_nightly
from samtale_automation.commands.report import run_report
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.faces.present import present
from samtale_automation.prepfile.fill import fill_employee
from samtale_automation.store.gdpr import bytes_text, file_text

BJORN = ("Bjørn Sæther", "bjorn@firma.example")
ASE = ("Åse Kjærstad", "ase@firma.example")
CECILIE = ("Cecilie Berg", "cecilie@firma.example")


def night(ws: Workspace, day: date) -> Workspace:
    return Workspace.open(ws.folder.root, datetime.combine(day, time(2, 30), OSLO))


@pytest.fixture
def used(tmp_path: Path) -> Workspace:
    """A folder after a few weeks: invitations, returned preps, a file that names Bjørn quarantined, nightly runs,
    a management report with names, and the log."""
    ws = make_folder(tmp_path / "f")
    run_invite(ws)
    root = ws.folder.root
    for employee_id in ("2", "3"):
        source = next((root / "forberedelse").rglob(f"{employee_id} * - forberedelse.xlsx"))
        fill_employee(source, root / "innkommende" / source.name, chosen=["S01", "S02"],
                      notes={"S01": "Samarbeidet med Bjørn Sæther går fint."} if employee_id == "3" else {})
    (root / "innkommende" / "liste.xlsx").write_text("Bjørn Sæther;bjorn@firma.example\n", encoding="utf-8")
    run_collect(night(ws, date(2027, 1, 12)))
    run_nightly(night(ws, date(2027, 1, 13)))
    run_nightly(night(ws, date(2027, 1, 18)))
    run_report(night(ws, date(2027, 1, 18)), out=root / "rapport med navn.html", names=True)
    return night(ws, date(2027, 1, 19))


def names_in(text: str, *people: tuple[str, str]) -> list[str]:
    """Which of the people's names or addresses a text holds (case-blind)."""
    folded = text.casefold()
    return [term for person in people for term in person if term.casefold() in folded]


def every_file_naming(root: Path, person: tuple[str, str]) -> list[str]:
    """Every file under the folder whose bytes or readable text names the person (xlsx XML, mail parts, journal)."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        texts = [raw.decode("utf-8", errors="replace"), raw.decode("utf-16-le", errors="replace"), file_text(path)]
        if any(names_in(text, person) for text in texts):
            found.append(path.relative_to(root).as_posix())
    return found


def test_export_holds_every_occurrence_and_nothing_about_anyone_else(used: Workspace) -> None:
    result = run_gdpr_export(used, "2")
    assert result.path is not None and result.path.exists()
    with zipfile.ZipFile(result.path) as package:
        members = package.namelist()
        rows = json.loads(package.read("arbeidsbok.json"))
        journal = json.loads(package.read("journal.json"))
        readme = package.read("LESMEG.txt").decode("utf-8")
    root = used.folder.root
    own = sorted(p.relative_to(root).as_posix() for p in root.rglob("2 Bjørn Sæther - *.xlsx"))
    own += sorted(p.relative_to(root).as_posix() for p in (root / "arkiv" / "2027" / "2").iterdir())
    assert {f"filer/{p}" for p in own} <= set(members)
    assert rows["Ansatte"] == [{**rows["Ansatte"][0], "AnsattID": "2", "Navn": "Bjørn Sæther",
                                "E-post": "bjorn@firma.example"}]
    assert [r["SamtaleID"] for r in rows["Samtaler"]] == ["2027-2"]
    assert {m["recipient"] for m in journal["messages"]} == {"bjorn@firma.example"}
    assert all(c["key"] in ("2", "2027-2") or c["key"] is None for cs in journal["changesets"] for c in cs["changes"])
    assert any("liste.xlsx" in m for m in members)  # the quarantined list that names him
    assert "gå gjennom filen" in readme
    # Nothing about anyone else: Cecilie is named nowhere (Åse is his manager, named in his own files).
    everything = bytes_text(result.path.read_bytes(), ".zip")
    assert names_in(everything, CECILIE) == []
    assert names_in(everything, BJORN)
    # Cecilie's prep note names him: listed, not exported.
    assert any("3 Cecilie Berg" in p for p in result.listed)
    assert not any("3 Cecilie Berg" in m for m in members)


def test_erase_leaves_no_file_or_table_naming_him_but_the_listed_originals(used: Workspace) -> None:
    root = used.folder.root
    assert every_file_naming(root, BJORN)  # before: the workbook, journal, backups, logs, outbox, …
    run_gdpr_export(used, "2")  # an export lying in the folder goes too
    result = run_gdpr_erase(used, "2", confirm=lambda _plan: True, who="hr")
    assert result.remaining == []
    left = every_file_naming(root, BJORN)
    assert left == sorted(result.listed) and all(p.startswith(("arkiv/2027/3/", "forberedelse/")) for p in left)
    assert not list(root.rglob("2 Bjørn Sæther*"))
    journal = root / ".samtale" / "journal.sqlite"
    assert names_in(journal.read_bytes().decode("utf-8", errors="replace"), BJORN) == []
    assert not (root / ".samtale" / "journal.sqlite-wal").exists() or \
        names_in((root / ".samtale" / "journal.sqlite-wal").read_bytes().decode("utf-8", "replace"), BJORN) == []
    # The others are untouched, and the tool still works on the folder.
    master = used.load()
    assert master.employees["2"].name == "(slettet)" and master.employees["3"].name == "Cecilie Berg"
    assert every_file_naming(root, CECILIE)
    assert run_nightly(night(used, date(2027, 1, 20))).steps[-1].outcome == "ok"
    shown = present(result)
    assert shown.exit_code == 0 and "slettet" in shown.lines[0]


def test_erasing_a_manager_lists_her_mentions_in_the_employees_files(used: Workspace) -> None:
    result = run_gdpr_erase(used, "1", confirm=lambda _plan: True)
    assert result.remaining == []
    left = every_file_naming(used.folder.root, ASE)
    assert left == sorted(result.listed) and left  # the employees' own prep files name their manager
    assert all("Bjørn Sæther" in p or "Cecilie Berg" in p for p in left)


def test_a_dry_run_and_a_refusal_change_nothing(used: Workspace) -> None:
    root = used.folder.root
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    plan = run_gdpr_erase(used, "2", dry_run=True)
    assert plan.dry_run and "forberedelse/2027/Uten avdeling/2 Bjørn Sæther - forberedelse.xlsx" in plan.files
    declined = run_gdpr_erase(used, "2")
    assert declined.declined and present(declined).exit_code == 1
    done = samtale("--dir", str(root), "gdpr", "erase", "2")  # no terminal, no --yes
    assert done.returncode == 1 and "Ingenting er slettet" in done.stdout + done.stderr
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "samtale.log"}
    assert after == {p: b for p, b in before.items() if p.name != "samtale.log"}


def test_an_unknown_id_is_a_usage_error(used: Workspace) -> None:
    done = samtale("--dir", str(used.folder.root), "gdpr", "export", "99")
    assert done.returncode == 2 and "AnsattID «99»" in done.stdout + done.stderr


def test_the_cli_erases_with_yes(used: Workspace) -> None:
    done = samtale("--dir", str(used.folder.root), "gdpr", "erase", "2", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ansatt 2 er slettet" in done.stdout
    assert names_in(io.BytesIO((used.folder.root / "samtaler.xlsx").read_bytes()).read().decode("latin-1"),
                    BJORN) == []


def test_two_people_of_one_conversation_erased_in_turn(used: Workspace) -> None:
    first = run_gdpr_erase(used, "2", confirm=lambda _plan: True)
    second = run_gdpr_erase(used, "1", confirm=lambda _plan: True)  # the manager: same invitations
    assert first.remaining == [] and second.remaining == []
    root = used.folder.root
    for person in (BJORN, ASE):
        assert every_file_naming(root, person) == sorted(p for p in every_file_naming(root, person)
                                                         if p in second.listed)
