"""`samtale nightly install|show|remove`: cron's file for real, the doctor run first, the Windows XML as text."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from folders import make_folder, samtale

from samtale_automation.commands.nightly_task import run_nightly_install, run_nightly_remove, run_nightly_show
from samtale_automation.commands.workspace import Workspace
from samtale_automation.faces.present import present
from samtale_automation.plans.nightly_task import MARKER


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("SAMTALE_CRONTAB_FILE", str(tmp_path / "crontab"))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    return make_folder(tmp_path / "HR mappe")


def test_install_puts_one_marked_line_in_the_crontab_and_show_finds_it(folder: Workspace, tmp_path: Path) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("MAILTO=it@firma.example\n0 5 * * 1 /usr/bin/backup\n", encoding="utf-8")
    from datetime import time

    result = run_nightly_install(folder, at=time(3, 15))
    assert not result.refused, result.doctor_output
    text = crontab.read_text(encoding="utf-8")
    assert text.startswith("MAILTO=it@firma.example\n0 5 * * 1 /usr/bin/backup\n")
    assert text.count(MARKER) == 1 and "15 3 * * *" in text and "--dir" in text
    again = run_nightly_install(folder, at=time(4, 0), doctor=False)
    assert crontab.read_text(encoding="utf-8").count(MARKER) == 1 and again.installed and "0 4 * * *" in again.installed
    shown = run_nightly_show(folder)
    assert shown.installed == again.installed
    assert "Installert for denne mappen" in present(shown).lines[0]
    removed = run_nightly_remove(folder)
    assert removed.installed == again.installed
    left = crontab.read_text(encoding="utf-8")
    assert MARKER not in left and "/usr/bin/backup" in left


def test_install_refuses_when_doctor_fails_the_way_cron_runs_it(folder: Workspace, tmp_path: Path) -> None:
    config = folder.folder.config
    config.write_text(config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
                      + '\n[smtp]\nhost = "127.0.0.1"\nport = 1\nusername = "hr"\n', encoding="utf-8")
    result = run_nightly_install(folder)
    assert result.refused and not (tmp_path / "crontab").exists()
    shown = present(result)
    assert shown.exit_code == 1 and "doctor" in shown.lines[0]


def test_the_cron_line_runs_the_nightly_as_cron_would(folder: Workspace, tmp_path: Path) -> None:
    result = run_nightly_install(folder, doctor=False)
    assert result.installed is not None
    command = result.installed.split(" ", 5)[5]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.environ["PYTHONPATH"]}
    done = subprocess.run(["/bin/sh", "-c", command], env=env, cwd="/", capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    out = (folder.folder.logs / "cron.out").read_text(encoding="utf-8")
    assert "skriv arbeidsboken" in out
    assert "nightly fetch=" in (folder.folder.logs / "samtale.log").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("crontab") is None, reason="cron is not installed")
def test_cron_itself_accepts_the_crontab(folder: Workspace, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("installing another user's crontab needs root")
    run_nightly_install(folder, doctor=False)
    file = tmp_path / "crontab"
    done = subprocess.run(["crontab", "-u", "nobody", str(file)], capture_output=True, text=True, check=False)
    try:
        assert done.returncode == 0, done.stderr
        listed = subprocess.run(["crontab", "-u", "nobody", "-l"], capture_output=True, text=True, check=False)
        assert MARKER in listed.stdout
    finally:
        subprocess.run(["crontab", "-u", "nobody", "-r"], capture_output=True, check=False)


def test_show_windows_prints_the_task_xml_and_the_schtasks_command(folder: Workspace) -> None:
    done = samtale("--dir", str(folder.folder.root), "nightly", "show", "--windows", "--user", r"FIRMA\hr")
    assert done.returncode == 0, done.stderr
    assert "<Task version=\"1.2\"" in done.stdout and r"<UserId>FIRMA\hr</UserId>" in done.stdout
    assert 'schtasks /Create /TN "samtale nightly' in done.stdout


def test_installing_a_windows_task_elsewhere_is_refused(folder: Workspace) -> None:
    done = samtale("--dir", str(folder.folder.root), "nightly", "install", "--windows")
    assert done.returncode == 2 and "bare installeres på Windows" in done.stdout + done.stderr


def test_show_systemd_prints_a_service_and_a_timer(folder: Workspace) -> None:
    done = samtale("--dir", str(folder.folder.root), "nightly", "show", "--systemd", "--user", "hr")
    assert done.returncode == 0, done.stderr
    assert ".service" in done.stdout and ".timer" in done.stdout and "systemctl enable --now samtale-nightly-" \
        in done.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(folder: Workspace, tmp_path: Path) -> None:
    import getpass

    from samtale_automation.commands.nightly_task import run_nightly_show

    shown = run_nightly_show(folder, systemd=True, user=getpass.getuser())
    units = tmp_path / "units"
    units.mkdir()
    parts = shown.text.split("# /etc/systemd/system/")[1:]
    for part in parts:
        name, _, body = part.partition("\n")
        (units / name).write_text(body, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "samtale" not in done.stderr, done.stderr
