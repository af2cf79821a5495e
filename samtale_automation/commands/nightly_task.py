"""`samtale nightly install|show|remove`: the OS schedule that starts `samtale nightly` once a day.

Linux and macOS: a line in the running user's crontab (`crontab -l` / `crontab -`), marked with
the folder's tag so only this folder's line is ever replaced or removed. The environment variable
SAMTALE_CRONTAB_FILE names a file to use instead (a cron.d-style file, and the tests).
Windows: the Task Scheduler XML (plans.nightly_task) written to `.samtale/nightly-task.xml` in
UTF-16 and imported with `schtasks /Create /XML … /RU <account> /RP *` (schtasks asks for the
password; the task then runs whether the user is logged on or not).

Before installing, `doctor` is run as the task will run: the same interpreter and folder, in
the bare environment cron gives (PATH, HOME, LANG and SAMTALE_* only), so a secret that only the
current shell holds is found now rather than at 02:30. When it fails, install refuses with its
output. On Windows it runs as the current user (another account's check needs its password).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.results_night import NightlyTaskResult
from samtale_automation.errors import SamtaleError, UsageError
from samtale_automation.plans.nightly_task import (
    DEFAULT_AT,
    NightlyTask,
    cron_line,
    crontab_with,
    crontab_without,
    installed_line,
    schtasks_create,
    systemd_units,
    task_xml,
)
from samtale_automation.runtime import current_user
from samtale_automation.safe_write import write_private
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

CRONTAB_FILE_ENV = "SAMTALE_CRONTAB_FILE"
WINDOWS, CRON, SYSTEMD = "windows", "cron", "systemd"


def _kind(windows: bool | None) -> str:
    return WINDOWS if (windows if windows is not None else os.name == "nt") else CRON


def _task(workspace: Workspace, at: time | None) -> NightlyTask:
    budget = 30
    with contextlib.suppress(SamtaleError):  # no readable workbook yet: doctor says so before installing
        budget = workspace.load(with_pending=False).settings.nightly_budget_minutes
    return NightlyTask(sys.executable, str(workspace.folder.root), at or DEFAULT_AT, budget)


def run_nightly_show(workspace: Workspace, *, windows: bool | None = None, at: time | None = None,
                     user: str | None = None, systemd: bool = False) -> NightlyTaskResult:
    """What is installed for this folder (cron), or the task XML (Windows) or systemd units it would get."""
    task, kind = _task(workspace, at), _kind(windows)
    if systemd:
        service, timer = systemd_units(task, user or current_user())
        name = f"samtale-nightly-{task.tag}"
        return NightlyTaskResult("show", SYSTEMD, name, text=f"# /etc/systemd/system/{name}.service\n{service}\n"
                                 f"# /etc/systemd/system/{name}.timer\n{timer}",
                                 command=["systemctl", "enable", "--now", f"{name}.timer"])
    result = NightlyTaskResult("show", kind, task.task_name)
    if kind == CRON:
        result.text = cron_line(task)
        result.installed = installed_line(read_crontab(), task)
    else:
        result.text = task_xml(task, user or _windows_user(), workspace.now.date())
        result.command = schtasks_create(task, str(_xml_path(workspace)), user or _windows_user())
        if os.name == "nt":  # pragma: no cover - Windows only (reviewed, not run here)
            shown = subprocess.run(["schtasks", "/Query", "/TN", task.task_name, "/XML"], capture_output=True,
                                   text=True, check=False)
            result.installed = shown.stdout if shown.returncode == 0 else None
    return result


def run_nightly_install(workspace: Workspace, *, at: time | None = None, windows: bool | None = None,
                        user: str | None = None, dry_run: bool = False,
                        doctor: bool = True) -> NightlyTaskResult:
    """Check with doctor as the task will run, then put this folder's task in place (replacing its old one)."""
    task, kind = _task(workspace, at), _kind(windows)
    result = NightlyTaskResult("install", kind, task.task_name, dry_run=dry_run)
    if kind == WINDOWS and os.name != "nt" and not dry_run:
        raise UsageError(tr("En Windows-oppgave kan bare installeres på Windows.",
                            "A Windows task can only be installed on Windows."),
                         hint=tr("Bruk «samtale nightly show --windows» for å se XML-en.",
                                 "Use «samtale nightly show --windows» to see the XML."))
    if doctor:
        ok, output = run_doctor_as_task(task)
        result.doctor_output = output
        if not ok:
            result.refused = tr("samtale doctor feilet slik oppgaven vil kjøre (samme Python, mappe og et "
                                "nakent miljø som cron gir); ingenting er installert.",
                                "samtale doctor failed the way the task will run (same Python, folder and the bare "
                                "environment cron gives); nothing was installed.")
            return result
    if kind == CRON:
        result.text = cron_line(task)
        if not dry_run:
            write_crontab(crontab_with(read_crontab(), task))
            result.installed = installed_line(read_crontab(), task)
        return result
    who = user or _windows_user()
    result.text = task_xml(task, who, workspace.now.date())
    path = _xml_path(workspace)
    result.command = schtasks_create(task, str(path), who)
    if not dry_run:  # pragma: no cover - Windows only (reviewed, not run here)
        write_private(path, result.text.encode("utf-16"))
        done = subprocess.run(result.command, check=False)
        if done.returncode != 0:
            raise SamtaleError(tr(f"schtasks svarte med kode {done.returncode}.",
                                  f"schtasks answered with code {done.returncode}."))
        result.installed = result.task_name
    return result


def run_nightly_remove(workspace: Workspace, *, windows: bool | None = None, dry_run: bool = False,
                       ) -> NightlyTaskResult:
    """Remove this folder's task (only this folder's)."""
    task, kind = _task(workspace, None), _kind(windows)
    result = NightlyTaskResult("remove", kind, task.task_name, dry_run=dry_run)
    if kind == CRON:
        existing = read_crontab()
        result.installed = installed_line(existing, task)
        if result.installed and not dry_run:
            write_crontab(crontab_without(existing, task))
        return result
    result.command = ["schtasks", "/Delete", "/TN", task.task_name, "/F"]
    if not dry_run and os.name == "nt":  # pragma: no cover - Windows only (reviewed, not run here)
        subprocess.run(result.command, check=False)
    return result


def run_doctor_as_task(task: NightlyTask) -> tuple[bool, str]:
    """Run `samtale doctor` with the task's interpreter and folder in cron's bare environment: (ok, output)."""
    env = {key: value for key, value in os.environ.items()
           if key in ("PATH", "HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "SYSTEMROOT", "PYTHONPATH")
           or key.startswith("SAMTALE_")}
    env.setdefault("PATH", "/usr/bin:/bin")
    if os.name != "nt":
        env["PATH"] = "/usr/bin:/bin"  # what cron gives
    try:
        done = subprocess.run([task.python, "-m", "samtale_automation", "--dir", task.folder, "doctor"],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def read_crontab() -> str:
    """The running user's crontab (or SAMTALE_CRONTAB_FILE); "" when there is none."""
    file = os.environ.get(CRONTAB_FILE_ENV)
    if file:
        path = Path(file)
        return path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        done = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise _no_cron() from None
    if done.returncode != 0:
        if "no crontab" in done.stderr.casefold():
            return ""
        raise SamtaleError(tr(f"crontab -l feilet: {done.stderr.strip()}", f"crontab -l failed: {done.stderr.strip()}"))
    return done.stdout


def write_crontab(text: str) -> None:
    """Replace the running user's crontab (or SAMTALE_CRONTAB_FILE); cron checks the syntax."""
    file = os.environ.get(CRONTAB_FILE_ENV)
    if file:
        write_private(Path(file), text.encode("utf-8"))
        return
    try:
        done = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise _no_cron() from None
    if done.returncode != 0:
        raise SamtaleError(tr(f"crontab avviste linjen: {done.stderr.strip()}",
                              f"crontab refused the line: {done.stderr.strip()}"))


def _no_cron() -> SamtaleError:
    return SamtaleError(tr("cron er ikke installert på denne maskinen (fant ikke «crontab»).",
                           "cron is not installed on this machine («crontab» not found)."),
                        hint=tr("Installer cron (f.eks. apt-get install cron), eller legg linjen fra "
                                "«samtale nightly show» i en systemd-timer.",
                                "Install cron (e.g. apt-get install cron), or put the line from "
                                "«samtale nightly show» in a systemd timer."))


def _windows_user() -> str:
    domain = os.environ.get("USERDOMAIN")
    user = current_user()
    return f"{domain}\\{user}" if domain else user


def _xml_path(workspace: Workspace) -> Path:
    return workspace.folder.state / "nightly-task.xml"
