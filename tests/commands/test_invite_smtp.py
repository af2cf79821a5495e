"""`samtale invite` against a real SMTP server on loopback: server faults, the CLI, and kill -9 at random points.

Every received message is identified by what people see (UID and SEQUENCE for a meeting, subject
for a mail) and counted per recipient, so «arrived at least once» and «at most the one in flight
arrived twice» are checked on what the server got, not on what the tool believes it sent.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from folders import MAILBOX, PASSWORD, START, make_folder, use_smtp
from itip import parse_eml
from smtp_server import SmtpServer, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext
from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.config import load_config
from samtale_automation.domain.changeset import ChangeSet


def identity(raw: bytes) -> str:
    """What a person sees: «UID SEQUENCE METHOD» for a meeting, the subject for a mail."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if any(part.get_content_type() == "text/calendar" for part in message.walk()):
        parsed = parse_eml(raw)
        text = parsed.calendar.decode()
        uid = next(line for line in text.splitlines() if line.startswith("UID:"))
        sequence = next(line for line in text.splitlines() if line.startswith("SEQUENCE:"))
        return f"{uid} {sequence} {parsed.method}"
    return str(message["Subject"])


def received(server: SmtpServer) -> Counter[tuple[str, str]]:
    """(identity, recipient) → how many times the server accepted it."""
    counts: Counter[tuple[str, str]] = Counter()
    for message in server.messages:
        for rcpt in message.rcpt_tos:
            counts[(identity(message.data), rcpt.casefold())] += 1
    return counts


def context(ws: Workspace, sleeps: list[float]) -> BackendContext:
    config, _ = load_config(ws.folder.config)
    return BackendContext(ws.folder, config, ws.now, sleep=sleeps.append)


def test_server_faults_others_delivered_failed_named_and_retried_next_run(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", PASSWORD)
    server = smtp_server(security="none", users={MAILBOX: PASSWORD})
    ws = make_folder(tmp_path / "f")
    use_smtp(ws, server)
    server.refuse("bjorn@firma.example", "450 4.2.1 Mailbox busy")  # 4xx, every attempt this run
    server.refuse("cecilie@firma.example", "550 5.1.1 No such user")  # 5xx
    server.drop_after(1)  # the connection drops once, after the first message
    sleeps: list[float] = []
    result = run_invite(ws, context=context(ws, sleeps))
    assert result.report is not None
    failed = {(f.email, f.code) for _, f in result.report.failed}
    assert failed == {("bjorn@firma.example", 450), ("cecilie@firma.example", 550)}
    got = received(server)
    # The others got theirs: the manager both invitations and both prep mails, the room its request.
    assert got[("UID:samtale-2027-2@firma.example SEQUENCE:0 REQUEST", "ase@firma.example")] == 1
    assert got[("UID:samtale-2027-3@firma.example SEQUENCE:0 REQUEST", "ase@firma.example")] == 1
    assert got[("UID:samtale-2027-2@firma.example SEQUENCE:0 REQUEST", "rom-fjorden@firma.example")] == 1
    assert all(rcpt not in ("bjorn@firma.example", "cecilie@firma.example") for _, rcpt in got)
    assert max(got.values()) == 1
    assert server.connections == 2  # reconnected once after the drop
    master = ws.load()
    assert master.conversations["2027-2"].invited is None  # Bjørn has not got it yet
    assert master.conversations["2027-3"].invited is None

    server.refuse("bjorn@firma.example", "250 OK", times=0)  # the faults are gone
    server.refuse("cecilie@firma.example", "250 OK", times=0)
    again = run_invite(ws, context=context(ws, sleeps))
    assert again.report is not None and not again.report.failed
    retried = {(item.group, emails) for item, emails in again.report.delivered}
    assert retried == {("invitation:2027-2:0", ("bjorn@firma.example",)),
                       ("invitation:2027-3:0", ("cecilie@firma.example",))}
    got = received(server)
    assert got[("UID:samtale-2027-2@firma.example SEQUENCE:0 REQUEST", "bjorn@firma.example")] == 1
    assert max(got.values()) == 1  # nobody got anything twice
    assert ws.load().conversations["2027-2"].invited == ws.now.date()
    assert run_invite(ws, context=context(ws, sleeps)).plan.empty


def _cli(folder: Path, *args: str, env: dict[str, str] | None = None,
         stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "samtale_automation", "--dir", str(folder), "--today", "2027-01-04", *args]
    return subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def test_cli_without_a_terminal_and_without_yes_sends_nothing(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:  # noqa: F811
    server = smtp_server(security="none", users={MAILBOX: PASSWORD})
    ws = make_folder(tmp_path / "f")
    use_smtp(ws, server)
    env = {"SAMTALE_SMTP_PASSWORD": PASSWORD, "SAMTALE_LANG": "nb"}
    process = _cli(ws.folder.root, "invite", env=env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err.decode()
    assert "--yes" in err.decode() and "ingenting er sendt" in err.decode()
    assert "Åse Kjærstad" in out.decode()  # the plan was shown
    assert server.messages == []
    process = _cli(ws.folder.root, "invite", "--yes", env=env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert len(server.messages) == 4 and "4 meldinger sendt" in out.decode()


def test_kill_during_invite_then_rerun_delivers_everything_at_most_one_twice(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:  # noqa: F811
    """50 kill -9 trials at random moments of `samtale invite --yes`, each followed by a full re-run."""
    server = smtp_server(security="none", users={MAILBOX: PASSWORD})
    env = {"SAMTALE_SMTP_PASSWORD": PASSWORD}
    template = tmp_path / "template"
    ws = make_folder(template)
    more = ChangeSet("more people")
    for number in range(4, 10):
        more.upsert("Ansatte", str(number), name=f"Person Nummer{number}", email=f"p{number}@firma.example",
                    manager_id="1", active="Ja")
    ws.commit(more)
    from samtale_automation.plans.rounds import plan_new_round

    ws.commit(plan_new_round(ws.load(), "2027", None, None, ws.now, "test").changeset)
    times = ChangeSet("times")
    for number in range(4, 10):
        start = START + timedelta(days=number)
        times.upsert("Samtaler", f"2027-{number}", force=True, start=start, end=start + timedelta(hours=1))
    ws.commit(times)
    run_prep(ws)
    use_smtp(ws, server)

    # An uninterrupted run tells what should arrive, and how long a run takes.
    baseline = tmp_path / "baseline"
    shutil.copytree(template, baseline)
    began = time.monotonic()
    process = _cli(baseline, "invite", "--yes", env=env)
    _, err = process.communicate(timeout=120)
    duration = time.monotonic() - began
    assert process.returncode == 0, err.decode()
    intended = received(server)
    assert len(intended) == 8 * 2 + 1 + 8  # 8 invitations to employee and manager, the room once, 8 manager mails
    assert max(intended.values()) == 1

    rng = random.Random(20270104)
    killed = 0
    for trial in range(50):
        folder = tmp_path / f"trial{trial}"
        shutil.copytree(template, folder)
        server.messages.clear()
        process = _cli(folder, "invite", "--yes", env=env)
        # Kill once the server has taken a random number of messages (or at a random moment before the
        # first): the kill lands mid-send however fast or loaded the machine is.
        target = rng.randint(0, len(intended) - 2)
        deadline = time.monotonic() + max(10 * duration, 60)
        while process.poll() is None and sum(received(server).values()) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        if target == 0:
            time.sleep(rng.uniform(0, 0.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.communicate(timeout=120)
        rerun = _cli(folder, "invite", "--yes", env={**env, "SAMTALE_LOCK_WAIT": "5"})
        _, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, (trial, err.decode())
        got = received(server)
        assert set(got) == set(intended), trial  # everything arrived at least once, nothing else
        twice = {who for who, count in got.items() if count > 1}
        assert all(count <= 2 for count in got.values()), trial
        assert len({what for what, _ in twice}) <= 1, (trial, twice)  # only the message in flight
        final = _cli(folder, "invite", "--yes", env=env)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()
        assert "Ingenting å sende" in out.decode() or "Nothing to send" in out.decode()
        shutil.rmtree(folder)
    print(f"{killed} of 50 runs were killed before they finished")  # information, not a promise
