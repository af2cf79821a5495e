"""`samtale nightly` end to end with the outbox: steps in order, one write, no double sends, overlap, a lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from folders import make_folder, samtale

from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.nightly import run_nightly
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK
from samtale_automation.faces.present import present
from samtale_automation.plans.nightly import OVERRUN, RUNNING
from samtale_automation.prepfile.fill import fill_employee

PREP_DAY = date(2027, 1, 13)  # 7 days before the conversation on the 20th: prepare reminders


def at(ws: Workspace, day: date) -> Workspace:
    """The folder at 02:30 on a night."""
    return Workspace.open(ws.folder.root, datetime.combine(day, clock(2, 30), OSLO))


@pytest.fixture
def invited(tmp_path: Path) -> Workspace:
    """Round 2027 with invitations sent (outbox)."""
    ws = make_folder(tmp_path / "f")
    run_invite(ws)
    return ws


def outbox_files(ws: Workspace, day: date, kind: str) -> list[Path]:
    """The .eml files of one kind (påminnelser, til HR) the outbox holds for a day; «alarm» is HR's alarm."""
    if kind == "alarm":
        return sorted((ws.folder.root / "utboks" / day.isoformat()).rglob("til HR/alarm-*.eml"))
    found = sorted((ws.folder.root / "utboks" / day.isoformat()).rglob(f"{kind}/*.eml"))
    return [p for p in found if not p.name.startswith("alarm-")]


def backups(ws: Workspace) -> set[str]:
    return {p.name for p in ws.folder.backups.glob("*")}


def return_prep(ws: Workspace, employee_id: str) -> None:
    """The employee's filled-in prep file dropped in innkommende/."""
    source = next((ws.folder.root / "forberedelse").rglob(f"{employee_id} * - forberedelse.xlsx"))
    fill_employee(source, ws.folder.root / "innkommende" / source.name, chosen=["S01", "S02"], notes={})


def test_a_night_runs_every_step_in_order_with_one_write(invited: Workspace) -> None:
    return_prep(invited, "2")
    before = backups(invited)
    result = run_nightly(at(invited, PREP_DAY))
    assert [s.name for s in result.steps] == ["fetch", "collect", "remind", "retention", "hr", "write"]
    assert [s.outcome for s in result.steps] == ["skipped", "ok", "ok", "ok", "ok", "ok"]
    assert len(backups(invited) - before) == 1  # one save of the master for the whole run
    master = at(invited, PREP_DAY).load(with_pending=False)
    assert master.conversations["2027-2"].prep_returned is not None  # collected and written
    assert not at(invited, PREP_DAY).pending()
    assert master.raw is not None
    night_rows = [r.values for r in master.raw.tables["Logg"].rows if r.values.get("event") == "Nattkjøring"]
    assert len(night_rows) == 1 and "samle inn: ok (1 fil, 0 i karantene)" in night_rows[0]["result"]
    shown = present(result)
    assert shown.exit_code == EXIT_OK
    # The reminders follow what the night collected: Bjørn returned his prep, so only Åse is reminded.
    recipients = {BytesParser(policy=policy.default).parsebytes(p.read_bytes())["To"].addresses[0].addr_spec
                  for p in outbox_files(invited, PREP_DAY, "påminnelser")}
    assert "bjorn@firma.example" not in recipients and "ase@firma.example" in recipients
    log = (invited.folder.logs / "samtale.log").read_text(encoding="utf-8")
    assert "nightly fetch=skipped[" in log and " collect=ok(1)[" in log and " remind=ok(" in log and " write=ok(" in log
    for private in ("Bjørn", "Åse", "@firma.example"):
        assert private not in log


def test_a_second_run_the_same_night_sends_nothing_again(invited: Workspace) -> None:
    run_nightly(at(invited, PREP_DAY))
    first = outbox_files(invited, PREP_DAY, "påminnelser")
    again = run_nightly(at(invited, PREP_DAY))
    assert outbox_files(invited, PREP_DAY, "påminnelser") == first
    assert again.remind is not None and again.remind.digests == []


def test_two_runs_started_together_do_not_both_send(invited: Workspace) -> None:
    root = str(invited.folder.root)
    procs = [subprocess.Popen([sys.executable, "-m", "samtale_automation", "--dir", root, "--today",
                               PREP_DAY.isoformat(), "nightly"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    digests = outbox_files(invited, PREP_DAY, "påminnelser")
    names = [p.name for p in digests]
    assert len(names) == len(set(names)) and len(digests) == 2  # Åse and Bjørn, once each


@pytest.fixture
def holder(invited: Workspace) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the folder's run lock as a nightly run (until killed)."""
    code = ("import sys, time; from pathlib import Path; from samtale_automation.store.runlock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), 'nightly', wait_seconds=5):\n"
            "    print('held', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(invited.folder.run_lock)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_second_run_while_the_first_works_says_it_is_already_running(invited: Workspace,
                                                                      holder: subprocess.Popen[str]) -> None:
    done = samtale("--dir", str(invited.folder.root), "--today", PREP_DAY.isoformat(), "nightly")
    assert done.returncode == 0, done.stderr
    assert "kjører allerede" in done.stdout
    assert outbox_files(invited, PREP_DAY, "påminnelser") == []


def test_a_run_past_its_budget_alarms_hr_and_exits_non_zero(invited: Workspace, holder: subprocess.Popen[str]) -> None:
    later = time.time() + 31 * 60  # the holder started more than the default 30 minutes «ago»
    result = run_nightly(at(invited, PREP_DAY), clock=lambda: later)
    assert result.already_running == OVERRUN and result.alarm_sent
    assert present(result).exit_code == EXIT_PROBLEMS
    alarm = outbox_files(invited, PREP_DAY, "alarm")
    assert len(alarm) == 1
    message = BytesParser(policy=policy.default).parsebytes(alarm[0].read_bytes())
    assert message["To"].addresses[0].addr_spec == "hr@firma.example"
    body = message.get_body(("plain",))
    assert body is not None and "tidsbudsjettet" in str(body.get_content())
    again = run_nightly(at(invited, PREP_DAY), clock=lambda: later)
    assert again.already_running == OVERRUN and not again.alarm_sent  # one alarm a day
    within = run_nightly(at(invited, PREP_DAY))
    assert within.already_running == RUNNING and present(within).exit_code == EXIT_OK


def test_a_stale_lock_from_a_killed_run_is_taken_over(invited: Workspace, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (invited.folder.state / "run.holder.json").exists()  # the dead run's note is still there
    result = run_nightly(at(invited, PREP_DAY))
    assert not result.already_running
    assert [s.outcome for s in result.steps][1:] == ["ok"] * 5


def test_a_locked_workbook_leaves_changes_pending_while_reminders_go_and_hr_is_told(
        invited: Workspace, excel_owner_file: Callable[[str], bytes]) -> None:
    return_prep(invited, "2")
    owner = invited.folder.root / "~$samtaler.xlsx"
    owner.write_bytes(excel_owner_file("kari"))
    since = datetime.now() - timedelta(days=2)  # real time: how long a change has really waited
    old = ChangeSet("waiting since two days", created=since.isoformat(timespec="seconds"))
    old.upsert("Samtaler", "2027-3", note="venter")
    with invited.journal() as journal:
        journal.add_changeset(old)
    result = run_nightly(at(invited, PREP_DAY))
    assert result.blocked and "kari" in result.blocked
    assert present(result).exit_code == EXIT_WORKBOOK
    pending = at(invited, PREP_DAY).pending()
    assert len(pending) >= 2  # the collect and the old change wait
    recipients = {BytesParser(policy=policy.default).parsebytes(p.read_bytes())["To"].addresses[0].addr_spec
                  for p in outbox_files(invited, PREP_DAY, "påminnelser")}
    assert recipients == {"ase@firma.example"}  # Bjørn's returned prep counts although it is not written yet
    hr = outbox_files(invited, PREP_DAY, "til HR")
    assert len(hr) == 1
    body = BytesParser(policy=policy.default).parsebytes(hr[0].read_bytes()).get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert f"har ventet siden {since:%d.%m.%Y}" in text and "kari" in text
    owner.unlink()
    after = run_nightly(at(invited, date(2027, 1, 14)))
    assert not after.blocked and not at(invited, date(2027, 1, 14)).pending()


def test_one_failing_step_does_not_stop_the_others(invited: Workspace) -> None:
    return_prep(invited, "2")
    config = invited.folder.config
    config.write_text(config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "nosuch"'),
                      encoding="utf-8")
    result = run_nightly(at(invited, PREP_DAY))
    outcomes = {s.name: s.outcome for s in result.steps}
    assert outcomes == {"fetch": "failed", "collect": "ok", "remind": "failed", "retention": "ok", "hr": "failed",
                        "write": "ok"}
    assert at(invited, PREP_DAY).load(with_pending=False).conversations["2027-2"].prep_returned is not None
    shown = present(result)
    assert shown.exit_code != EXIT_OK
    assert any("FEILET" in line for line in shown.lines)
    log = (invited.folder.logs / "samtale.log").read_text(encoding="utf-8")
    assert "fetch=failed(ConfigError)" in log


def test_retention_removes_old_rounds_and_lists_them(invited: Workspace) -> None:
    root = invited.folder.root
    for old in ("forberedelse/2022/Salg", "arkiv/2022/2", "utboks/2022-03-01", "forberedelse/Pilot"):
        (root / old).mkdir(parents=True)
        (root / old / "x.txt").write_text("gammel", encoding="utf-8")
    result = run_nightly(at(invited, PREP_DAY))  # 2027 > 2022 + 3
    assert result.removed == ["forberedelse/2022", "arkiv/2022", "utboks/2022-03-01"]
    assert not (root / "forberedelse" / "2022").exists() and (root / "forberedelse" / "2027").exists()
    assert result.kept_unknown == ["Pilot"] and (root / "forberedelse" / "Pilot").exists()
    hr = outbox_files(invited, PREP_DAY, "til HR")
    assert hr and "arkiv/2022" in hr[0].read_text(encoding="utf-8", errors="replace")


def test_a_dry_run_sends_moves_and_writes_nothing(invited: Workspace) -> None:
    return_prep(invited, "2")
    before = backups(invited)
    result = run_nightly(at(invited, PREP_DAY), dry_run=True)
    assert result.remind is not None and result.remind.digests
    assert outbox_files(invited, PREP_DAY, "påminnelser") == []
    assert list((invited.folder.root / "innkommende").glob("*.xlsx"))
    assert backups(invited) == before
    assert "Prøvekjøring" in present(result).lines[0]


def test_a_clean_stop_at_the_budget(invited: Workspace) -> None:
    ticks = iter(range(0, 10_000, 700))  # every look at the clock: 700 s later
    result = run_nightly(at(invited, PREP_DAY), clock=lambda: float(next(ticks)))
    assert result.stopped_at_budget
    assert [s.outcome for s in result.steps][-1] == "skipped"
    assert any(s.outcome == "ok" for s in result.steps)
    assert present(result).exit_code == EXIT_PROBLEMS


def test_the_night_waits_for_a_persons_command_rather_than_skip(invited: Workspace) -> None:
    code = ("import sys, time; from pathlib import Path; from samtale_automation.store.runlock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), 'collect', wait_seconds=5):\n"
            "    print('held', flush=True); time.sleep(2)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(invited.folder.run_lock)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    result = run_nightly(at(invited, PREP_DAY))
    proc.wait()
    assert not result.already_running and [s.outcome for s in result.steps][-1] == "ok"
    assert outbox_files(invited, PREP_DAY, "påminnelser")
