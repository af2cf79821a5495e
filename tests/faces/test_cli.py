"""The `samtale` command line as a person or the nightly job runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from folders import samtale

from samtale_automation.commands.init import init_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder made by `samtale init`."""
    target = tmp_path / "Medarbeidersamtaler"
    assert samtale("init", str(target)).returncode == 0
    return target


def test_init_creates_folder_and_check_is_clean(folder: Path) -> None:
    """Verify init makes the workbook, toml, private key and folders, and check then exits 0."""
    for name in ("samtaler.xlsx", "samtale.toml", ".samtale/key", "forberedelse", "innkommende", "arkiv",
                 "karantene", "utboks", "maler", ".samtale/backups"):
        assert (folder / name).exists(), name
    assert len((folder / ".samtale/key").read_bytes()) == 32
    if os.name == "posix":  # private from the start: the workbook and toml name people and the mailbox
        for private in ("samtaler.xlsx", "samtale.toml", ".samtale/key"):
            assert (folder / private).stat().st_mode & 0o077 == 0, private
    result = samtale("--dir", str(folder), "check")
    # The one thing left to set: the mailbox invitations come from (invite would refuse without it).
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("samtale.toml: mail.mailbox: Postkassen som skal sende, er ikke angitt – Sett "
                                    "[mail] mailbox i samtale.toml")
    assert "\n1 problem funnet." in result.stdout
    _set_mailbox(folder)
    result = samtale("--dir", str(folder), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ingen problemer funnet" in result.stdout


def _set_mailbox(folder: Path) -> None:
    config = folder / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', 'mailbox = "hr@firma.example"'),
                      encoding="utf-8")


def test_init_refuses_to_overwrite(folder: Path) -> None:
    """Verify a second init into the same folder changes nothing and exits 2 with a reason."""
    before = (folder / "samtaler.xlsx").read_bytes()
    result = samtale("init", str(folder))
    assert result.returncode == 2
    assert "overskriver ingenting" in result.stderr
    assert "Traceback" not in result.stderr
    assert (folder / "samtaler.xlsx").read_bytes() == before


def test_missing_workbook_exits_3_with_advice(tmp_path: Path) -> None:
    """Verify a folder without a workbook gives exit 3 and says how to make one."""
    result = samtale("--dir", str(tmp_path), "status")
    assert result.returncode == 3
    assert "Fant ingen samtaler.xlsx" in result.stderr
    assert "samtale init" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_today_is_a_usage_error(folder: Path) -> None:
    """Verify an unreadable --today gives exit 2 and the expected format."""
    result = samtale("--dir", str(folder), "--today", "15.01.2027", "status")
    assert result.returncode == 2
    assert "ÅÅÅÅ-MM-DD" in result.stderr


def test_unknown_option_is_a_usage_error(folder: Path) -> None:
    """Verify click's usage errors map to exit 2."""
    assert samtale("--dir", str(folder), "status", "--nonsense").returncode == 2


def test_english_messages(tmp_path: Path) -> None:
    """Verify --lang en gives English messages."""
    result = samtale("--lang", "en", "--dir", str(tmp_path), "status")
    assert result.returncode == 3
    assert "No samtaler.xlsx" in result.stderr


def _fill_staff(folder: Path) -> None:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.changeset import ChangeSet

    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Ansatt", email="bjorn@firma.example", manager_id="1", active="Ja")
    staff.upsert("Ansatte", "3", name="Cæcilie Borte", email="c@firma.example", manager_id="1", active="Nei")
    Workspace.open(folder).commit(staff)


def test_round_new_then_status_json(folder: Path) -> None:
    """Verify round new adds the right rows, reports the skipped, and status --json shows them."""
    _fill_staff(folder)
    result = samtale("--dir", str(folder), "round", "new", "2027", "--from", "2027-01-11", "--to", "2027-02-26")
    assert result.returncode == 0, result.stderr
    assert "+ 2027-2  Bjørn Ansatt" in result.stdout
    assert "hoppet over 3 Cæcilie Borte: ikke aktiv" in result.stdout
    assert "hoppet over 1 Åse Leder: har ingen leder" in result.stdout
    status = samtale("--dir", str(folder), "--today", "2027-01-05", "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["round"] == "2027"
    assert [c["id"] for c in report["conversations"]] == ["2027-2"]
    assert report["conversations"][0]["status"] == "proposed"
    assert report["pending_changes"] == []
    again = samtale("--dir", str(folder), "round", "new", "2027")
    assert "1 person hadde allerede en samtale" in again.stdout
    assert json.loads(samtale("--dir", str(folder), "status", "--json").stdout)["counts"]["proposed"] == 1


def test_dry_run_writes_nothing(folder: Path) -> None:
    """Verify round new --dry-run shows the plan and leaves workbook and journal as they were."""
    _fill_staff(folder)
    before = (folder / "samtaler.xlsx").read_bytes()
    result = samtale("--dir", str(folder), "round", "new", "2027", "--dry-run")
    assert result.returncode == 0
    assert "Prøvekjøring" in result.stdout
    assert (folder / "samtaler.xlsx").read_bytes() == before
    assert json.loads(samtale("--dir", str(folder), "status", "--json").stdout)["pending_changes"] == []


def test_open_workbook_keeps_changes_pending_until_apply(folder: Path) -> None:
    """Verify an Excel owner file stops the write (exit 3, bytes unchanged), and apply writes it later."""
    _fill_staff(folder)
    master = folder / "samtaler.xlsx"
    owner = folder / "~$samtaler.xlsx"
    name = "Kari HR"
    owner.write_bytes(bytes([len(name)]) + name.encode("cp1252").ljust(54, b" ")
                      + len(name).to_bytes(2, "little") + name.encode("utf-16-le") + b" \x00" * 40)
    before = master.read_bytes()
    result = samtale("--dir", str(folder), "round", "new", "2027")
    assert result.returncode == 3
    assert "Kari HR" in result.stderr
    assert master.read_bytes() == before
    report = json.loads(samtale("--dir", str(folder), "status", "--json").stdout)
    assert [c["id"] for c in report["conversations"]] == ["2027-2"], "status shows what the workbook will say"
    assert len(report["pending_changes"]) == 1
    assert "Kari HR" in report["pending_changes"][0]["reason"]
    check = samtale("--dir", str(folder), "check")
    assert check.returncode == 1
    assert "venter" in check.stdout
    owner.unlink()
    applied = samtale("--dir", str(folder), "apply")
    assert applied.returncode == 0, applied.stderr
    assert master.read_bytes() != before
    after = json.loads(samtale("--dir", str(folder), "status", "--json").stdout)
    assert after["pending_changes"] == []
    assert [c["id"] for c in after["conversations"]] == ["2027-2"]
    assert list((folder / ".samtale/backups").glob("samtaler.*.xlsx")), "a backup was kept"


def test_second_run_waits_then_refuses(folder: Path) -> None:
    """Verify a second writing run refuses (exit 3) while another holds the folder, and the workbook is untouched."""
    _fill_staff(folder)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from samtale_automation.store.runlock import run_lock\n"
        "with run_lock(Path(sys.argv[1]), 'test holder'):\n"
        "    print('held', flush=True); time.sleep(30)\n"), str(folder / ".samtale/run.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        before = (folder / "samtaler.xlsx").read_bytes()
        started = time.monotonic()
        result = samtale("--dir", str(folder), "round", "new", "2027", env={"SAMTALE_LOCK_WAIT": "1"})
        assert time.monotonic() - started >= 1.0, "it waited before refusing"
        assert result.returncode == 3
        assert "En annen samtale-kjøring" in result.stderr
        assert "test holder" in result.stderr
        assert (folder / "samtaler.xlsx").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    assert samtale("--dir", str(folder), "round", "new", "2027").returncode == 0, "the killed holder left no lock"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """Verify the demo builds a company, starts the round, and check/status agree."""
    result = samtale("demo", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "13 samtaler lagt til" in result.stdout
    assert "samtale plan: 13 samtaler fikk tid og rom" in result.stdout  # planned, not typed in by the demo
    assert "samtale check: 0 problemer" in result.stdout
    report = json.loads(samtale("--dir", str(tmp_path / "demo"), "--today", "2026-12-01", "status", "--json").stdout)
    assert report["counts"] == {"proposed": 0, "planned": 0, "invited": 9, "prepared": 2, "held": 0,
                                "minutes_returned": 0, "signed": 1, "cancelled": 1}
    assert all(c["start"] and c["start"].endswith("+01:00") for c in report["conversations"])
    rooms = {"Møterom Fjorden <rom-fjorden@fjordlys.example>", "Møterom Lyset", "Stillerommet"}
    assert {c["place"] for c in report["conversations"]} <= rooms
    demo = tmp_path / "demo"
    assert len(list((demo / "forberedelse" / "2027").rglob("* - forberedelse.xlsx"))) == 13
    assert len(list((demo / "forberedelse" / "2027").rglob("* - samtaleguide.xlsx"))) == 3
    assert list((demo / "innkommende").iterdir()) == []
    assert len(list((demo / "karantene").glob("*.txt"))) == 1
    assert len(list((demo / "arkiv" / "2027").rglob("*.xlsx"))) == 6  # 3 preps, minutes, final, countersigned
    assert (demo / "arkiv" / "2027" / "1002" / "2027-1002 referat signert.pdf").exists()
    outbox = demo / "utboks"
    assert "2027-1002 er «Signert»" in result.stdout
    signed_pdf_mails = [eml for eml in outbox.rglob("påminnelser/*.eml") if b"referat signert.pdf" in eml.read_bytes()]
    assert len(signed_pdf_mails) == 2  # the signed PDF to both
    assert [a["id"] for a in report["actions"]] == ["2027-1002-1", "2027-1002-2"]
    outbox = demo / "utboks"
    assert len(list((outbox / "2026-12-01").glob("2027-*/0-invitasjon.eml"))) == 13
    assert len(list((outbox / "2026-12-01").glob("2027-*/0-invitasjon.ics"))) == 13
    assert (outbox / "2026-12-01" / "2027-1006" / "1-invitasjon.eml").exists()  # moved: same meeting, SEQUENCE 1
    assert (outbox / "2026-12-01" / "2027-1007" / "1-avlysning.eml").exists()
    assert (outbox / "2027-01-12" / "oppfolging-2027-1002-1" / "0-invitasjon.eml").exists()  # after the minutes
    assert len(list((outbox / "2027-01-18" / "påminnelser").glob("*.eml"))) >= 5


def test_init_folder_in_english(tmp_path: Path) -> None:
    """Verify --lang en writes English explanations but keeps Norwegian sheet names."""
    init_folder(tmp_path / "en", lang="en")
    from samtale_automation.commands.workspace import Workspace

    master = Workspace.open(tmp_path / "en").load()
    assert master.settings.language == "en"
    assert master.questions[0].text.startswith("How")


def test_templates_list_and_show_with_an_override(folder: Path) -> None:
    """`templates list` marks what maler/ overrides; `templates show` prints the files and a sample."""
    (folder / "maler" / "invitation.subject.txt").write_text("Samtale med {{ manager.name }}\n", encoding="utf-8")
    listed = samtale("--dir", str(folder), "templates", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.strip().startswith("invitation "))
    assert "maler/invitation.subject.txt" in line
    shown = samtale("--dir", str(folder), "templates", "show", "invitation")
    assert shown.returncode == 0, shown.stderr
    assert "==> invitation.subject.txt (maler/invitation.subject.txt)" in shown.stdout
    assert "Emne: Samtale med Bjørn Sæther" in shown.stdout or "Emne: Samtale med " in shown.stdout
    unknown = samtale("--dir", str(folder), "templates", "show", "invitasjon")
    assert unknown.returncode == 2 and "samtale templates list" in unknown.stderr


def test_invite_and_remind_dry_run_in_a_folder_without_a_mailbox(folder: Path) -> None:
    """Without [mail] mailbox, invite says exactly what to set (exit 2) and sends nothing."""
    result = samtale("--dir", str(folder), "invite", "--dry-run", env={"SAMTALE_LANG": "nb"})
    assert result.returncode == 2
    assert "mailbox" in result.stderr and "samtale.toml" in result.stderr
    assert not list((folder / "utboks").rglob("*.eml"))


def test_a_misspelt_template_file_is_named_by_list_and_by_check(folder: Path) -> None:
    """`templates list` names a file in maler/ that overrides nothing; `check` counts it as a problem with the fix."""
    _set_mailbox(folder)
    (folder / "maler" / "invitasjon.txt").write_text("Hei {{ employee.first_name }}\n", encoding="utf-8")
    listed = samtale("--dir", str(folder), "templates", "list")
    assert listed.returncode == 0, listed.stderr
    assert "overstyrer ingen mal" in listed.stdout and "  maler/invitasjon.txt" in listed.stdout.splitlines()
    check = samtale("--dir", str(folder), "check")
    assert check.returncode == 1
    assert ("maler/invitasjon.txt: overstyrer ingen mal – Gi filen navnet til en mal, se samtale templates list"
            in check.stdout.splitlines())
    (folder / "maler" / "invitasjon.txt").rename(folder / "maler" / "invitation.txt")
    assert samtale("--dir", str(folder), "check").returncode == 0


def test_today_moves_what_the_rules_decide(tmp_path: Path) -> None:
    """Verify `--today` is the day for status and for reminders: two days, two outcomes, same folder."""
    from folders import make_folder

    folder = make_folder(tmp_path / "f").folder.root  # conversations on 20 and 21 January 2027, not invited

    def statuses(day: str) -> list[str]:
        result = samtale("--dir", str(folder), "--today", day, "status", "--json")
        assert result.returncode == 0, result.stderr
        return [c["status"] for c in json.loads(result.stdout)["conversations"]]

    assert statuses("2027-01-05") == ["planned", "planned"]
    assert statuses("2027-01-25") == ["held", "held"]
    saturday = samtale("--dir", str(folder), "--today", "2027-01-16", "remind", "--dry-run")
    thursday = samtale("--dir", str(folder), "--today", "2027-01-14", "remind", "--dry-run")
    assert saturday.returncode == thursday.returncode == 0, saturday.stderr + thursday.stderr
    assert "ikke en arbeidsdag" in saturday.stdout and "ikke en arbeidsdag" not in thursday.stdout
