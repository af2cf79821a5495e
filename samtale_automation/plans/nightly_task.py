"""The scheduled task that starts `samtale nightly`: a cron line, or Windows Task Scheduler XML (pure text).

Both point at the interpreter and folder given (the caller passes `sys.executable` and the
folder), run once a day at `at`, and carry a marker naming the folder so that `install` replaces
its own line, `remove` removes only its own, and two folders on one machine keep two tasks.
The Task XML follows the Task Scheduler 1.2 schema (Windows 7 and later): a daily calendar
trigger, «run whether the user is logged on or not» (LogonType Password), no second instance
while one runs (IgnoreNew), started late when the machine was off (StartWhenAvailable), and an
execution limit of twice the time budget, after which Windows ends it.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from datetime import date, time
from xml.sax.saxutils import escape

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
MARKER = "# samtale-nightly"
DEFAULT_AT = time(2, 30)


@dataclass(frozen=True)
class NightlyTask:
    """What to schedule: the interpreter, the folder, the time of day, and the budget (minutes)."""

    python: str
    folder: str
    at: time = DEFAULT_AT
    budget_minutes: int = 30

    @property
    def tag(self) -> str:
        """A short stable id of the folder (the same folder always gives the same tag)."""
        return hashlib.sha256(self.folder.encode("utf-8")).hexdigest()[:10]

    @property
    def task_name(self) -> str:
        """The Windows task's name: «samtale nightly <tag>» (one task per folder)."""
        return f"samtale nightly {self.tag}"

    def arguments(self) -> list[str]:
        """The command line after the interpreter."""
        return ["-m", "samtale_automation", "--dir", self.folder, "nightly"]


def cron_line(task: NightlyTask) -> str:
    """One crontab line: every day at `at`, output appended to the folder's logs, with the folder's marker."""
    command = " ".join(shlex.quote(part) for part in [task.python, *task.arguments()])
    output = shlex.quote(f"{task.folder.rstrip('/')}/.samtale/logs/cron.out")
    return (f"{task.at.minute} {task.at.hour} * * * cd {shlex.quote(task.folder)} && {command} >> {output} 2>&1 "
            f"{MARKER} {task.tag}")


def crontab_with(existing: str, task: NightlyTask) -> str:
    """The crontab text with this folder's line put in (replacing its old one), others untouched."""
    kept = [line for line in existing.splitlines() if not _ours(line, task)]
    return "\n".join([*kept, cron_line(task)]) + "\n"


def crontab_without(existing: str, task: NightlyTask) -> str:
    """The crontab text without this folder's line."""
    kept = [line for line in existing.splitlines() if not _ours(line, task)]
    return "\n".join(kept) + "\n" if kept else ""


def installed_line(existing: str, task: NightlyTask) -> str | None:
    """This folder's line in a crontab, if there is one."""
    return next((line for line in existing.splitlines() if _ours(line, task)), None)


def _ours(line: str, task: NightlyTask) -> bool:
    return line.rstrip().endswith(f"{MARKER} {task.tag}")


def task_xml(task: NightlyTask, user: str, today: date) -> str:
    """The Task Scheduler XML that `schtasks /Create /XML` imports (declared UTF-16: save it so)."""
    limit = max(10, 2 * task.budget_minutes)
    args = " ".join(_windows_quote(a) for a in task.arguments())
    start = f"{today.isoformat()}T{task.at.hour:02d}:{task.at.minute:02d}:00"
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NAMESPACE}">
  <RegistrationInfo>
    <Description>samtale nightly: {escape(task.folder)}</Description>
    <URI>\\{escape(task.task_name)}</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>{start}</StartBoundary>
      <Enabled>true</Enabled>
      <ScheduleByDay>
        <DaysInterval>1</DaysInterval>
      </ScheduleByDay>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{escape(user)}</UserId>
      <LogonType>Password</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT{limit}M</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(task.python)}</Command>
      <Arguments>{escape(args)}</Arguments>
      <WorkingDirectory>{escape(task.folder)}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""


def systemd_units(task: NightlyTask, user: str) -> tuple[str, str]:
    """A systemd service and timer (`samtale-nightly-<tag>.service` / `.timer`) for machines without cron.

    Persistent=true runs a missed night at the next boot; TimeoutStartSec ends a run at twice the budget."""
    command = " ".join(_systemd_quote(part) for part in [task.python, *task.arguments()])
    limit = max(10, 2 * task.budget_minutes)
    folder = task.folder.replace("%", "%%")  # % starts a systemd specifier
    service = (f"[Unit]\nDescription=samtale nightly: {folder}\n\n[Service]\nType=oneshot\nUser={user}\n"
               f"WorkingDirectory={folder}\nExecStart={command}\nTimeoutStartSec={limit}min\n")
    timer = (f"[Unit]\nDescription=samtale nightly: {folder}\n\n[Timer]\n"
             f"OnCalendar=*-*-* {task.at.hour:02d}:{task.at.minute:02d}:00\nPersistent=true\n\n"
             "[Install]\nWantedBy=timers.target\n")
    return service, timer


def _systemd_quote(arg: str) -> str:
    """Quote one word for a systemd Exec line (double quotes; backslash, quote and % escaped)."""
    escaped = arg.replace("%", "%%")
    if escaped and not any(ch in escaped for ch in ' \t"\'\\'):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def schtasks_create(task: NightlyTask, xml_path: str, user: str) -> list[str]:
    """The schtasks command line that imports the XML for `user` (/RP * makes schtasks ask for the password)."""
    return ["schtasks", "/Create", "/TN", task.task_name, "/XML", xml_path, "/RU", user, "/RP", "*", "/F"]


def _windows_quote(arg: str) -> str:
    """Quote one argument the way the Windows C runtime splits a command line."""
    if arg and not any(ch in arg for ch in ' \t"'):
        return arg
    out, slashes = ['"'], 0
    for ch in arg:
        if ch == "\\":
            slashes += 1
            continue
        if ch == '"':
            out.append("\\" * (2 * slashes + 1) + '"')
        else:
            out.append("\\" * slashes + ch)
        slashes = 0
    out.append("\\" * (2 * slashes) + '"')
    return "".join(out)
