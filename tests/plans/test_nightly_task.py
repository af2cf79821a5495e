"""The scheduled task: a marked cron line per folder, and Task Scheduler XML that validates."""

from __future__ import annotations

import shlex
from datetime import date, time

from lxml import etree

from samtale_automation.plans.nightly_task import (
    TASK_NAMESPACE,
    NightlyTask,
    _windows_quote,
    cron_line,
    crontab_with,
    crontab_without,
    installed_line,
    schtasks_create,
    task_xml,
)

TASK = NightlyTask("/opt/samtale/bin/python", "/srv/HR/Medarbeidersamtaler 2027", time(2, 30), 30)
OTHER = NightlyTask("/opt/samtale/bin/python", "/srv/Andre", time(3, 0), 30)


def test_the_cron_line_runs_nightly_in_the_folder_every_day_and_names_its_folder() -> None:
    line = cron_line(TASK)
    fields = line.split(" ", 5)
    assert fields[:5] == ["30", "2", "*", "*", "*"]
    command = fields[5].split(" # samtale-nightly ")[0]
    words = shlex.split(command)
    assert words[:3] == ["cd", TASK.folder, "&&"]
    assert words[3:9] == [TASK.python, "-m", "samtale_automation", "--dir", TASK.folder, "nightly"]
    assert line.endswith(f"# samtale-nightly {TASK.tag}")
    assert "%" not in line  # cron turns % into a newline


def test_install_replaces_only_its_own_line_and_remove_removes_only_it() -> None:
    existing = "MAILTO=it@firma.example\n0 5 * * 1 /usr/bin/backup\n" + cron_line(OTHER) + "\n"
    once = crontab_with(existing, TASK)
    twice = crontab_with(once, NightlyTask(TASK.python, TASK.folder, time(4, 15), 30))
    assert twice.count(f"samtale-nightly {TASK.tag}") == 1 and "15 4 * * *" in twice
    assert "/usr/bin/backup" in twice and installed_line(twice, OTHER) == cron_line(OTHER)
    removed = crontab_without(twice, TASK)
    assert installed_line(removed, TASK) is None and installed_line(removed, OTHER) is not None
    assert removed.startswith("MAILTO=it@firma.example\n")
    assert crontab_without(cron_line(TASK) + "\n", TASK) == ""


def test_the_windows_task_xml_is_well_formed_and_says_what_it_must() -> None:
    text = task_xml(TASK, r"FIRMA\svc-samtale", date(2027, 1, 4))
    root = etree.fromstring(text.replace('encoding="UTF-16"', 'encoding="UTF-8"').encode("utf-8"))
    ns = {"t": TASK_NAMESPACE}
    assert root.get("version") == "1.2"
    assert root.findtext("t:Triggers/t:CalendarTrigger/t:StartBoundary", namespaces=ns) == "2027-01-04T02:30:00"
    assert root.findtext("t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval", namespaces=ns) == "1"
    assert root.findtext("t:Principals/t:Principal/t:UserId", namespaces=ns) == r"FIRMA\svc-samtale"
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=ns) == "Password"
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=ns) == "IgnoreNew"
    assert root.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=ns) == "PT60M"
    assert root.findtext("t:Actions/t:Exec/t:Command", namespaces=ns) == TASK.python
    assert root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=ns) == \
        '-m samtale_automation --dir "/srv/HR/Medarbeidersamtaler 2027" nightly'
    assert root.findtext("t:Actions/t:Exec/t:WorkingDirectory", namespaces=ns) == TASK.folder
    # The schema's order of the top-level elements (Task Scheduler refuses another order).
    assert [etree.QName(child).localname for child in root] == ["RegistrationInfo", "Triggers", "Principals",
                                                                 "Settings", "Actions"]


def test_hostile_folder_names_stay_text_in_the_xml() -> None:
    task = NightlyTask(r"C:\Program Files\Python\python.exe", r"C:\HR\<&>\"quoted\"", time(1, 5), 30)
    root = etree.fromstring(task_xml(task, "kari", date(2027, 1, 4)).replace('encoding="UTF-16"', "").encode())
    ns = {"t": TASK_NAMESPACE}
    assert root.findtext("t:Actions/t:Exec/t:WorkingDirectory", namespaces=ns) == task.folder
    assert root.findtext("t:Actions/t:Exec/t:Command", namespaces=ns) == task.python


def test_windows_quoting_follows_the_c_runtime() -> None:
    assert _windows_quote("plain") == "plain"
    assert _windows_quote(r"C:\Mine filer\HR") == r'"C:\Mine filer\HR"'
    assert _windows_quote("ends with\\") == '"ends with\\\\"'
    assert _windows_quote('say "hi"') == '"say \\"hi\\""'
    assert schtasks_create(TASK, r"C:\x.xml", "kari")[:4] == ["schtasks", "/Create", "/TN", TASK.task_name]


def test_one_folder_one_tag() -> None:
    assert NightlyTask("a", "/srv/x").tag == NightlyTask("b", "/srv/x").tag != NightlyTask("a", "/srv/y").tag


def test_systemd_units_run_nightly_daily_and_catch_up_a_missed_night() -> None:
    from samtale_automation.plans.nightly_task import systemd_units

    service, timer = systemd_units(NightlyTask("/opt/py/bin/python", "/srv/HR 100%", time(2, 5), 45), "hr")
    assert "ExecStart=/opt/py/bin/python -m samtale_automation --dir \"/srv/HR 100%%\" nightly" in service
    assert "WorkingDirectory=/srv/HR 100%%" in service and "User=hr" in service and "TimeoutStartSec=90min" in service
    assert "OnCalendar=*-*-* 02:05:00" in timer and "Persistent=true" in timer and "WantedBy=timers.target" in timer
