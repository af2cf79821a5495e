"""Benchmark `samtale invite` over SMTP: 500 invitations to a real SMTP server on loopback (aiosmtpd).

Run from the repository root: `python benchmarks/invite_bench.py [--conversations 500] [--repeat 3]`.
Setup (not timed): a folder with 500 conversations, their prep files, `backend = "smtp"` pointing
at an aiosmtpd server on 127.0.0.1 (no TLS, no AUTH: the transport is what is measured).
Timed, per repeat on a fresh copy:
- the backend alone: 500 meeting REQUESTs (with the 20 KB prep file attached) through one
  `SmtpBackend` — MIME and iCalendar building plus SMTP;
- one whole `samtale invite --yes` process: plan, templates, 500 invitations + 500 mails with the
  manager's file, a journal intent and result per message (fsync'ed), workbook write-back.
Prints medians, messages per second and the number of SMTP connections the server saw.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import SmtpServer  # noqa: E402

from benchmarks.run import make_folder  # noqa: E402
from samtale_automation.backends.smtp.backend import SmtpBackend  # noqa: E402
from samtale_automation.commands.prep import run_prep  # noqa: E402
from samtale_automation.commands.workspace import Workspace  # noqa: E402
from samtale_automation.config import SmtpSettings  # noqa: E402
from samtale_automation.domain.messages import Attachment, Meeting, Person  # noqa: E402
from samtale_automation.domain.model import OSLO  # noqa: E402


def setup(root: Path, conversations: int, server: SmtpServer) -> Path:
    """The folder with prep files made and samtale.toml pointing at the server."""
    folder = make_folder(root, conversations + 1)  # the top manager has no conversation
    workspace = Workspace.open(folder, datetime(2027, 1, 4, 9, tzinfo=OSLO))
    run_prep(workspace)
    config = folder / "samtale.toml"
    text = config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
    text = text.replace('mailbox = ""', 'mailbox = "hr@firma.example"')
    text += f'\n[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\nauth = "none"\n'
    config.write_text(text, encoding="utf-8")
    return folder


def backend_only(server: SmtpServer, count: int) -> float:
    """Seconds for `count` meeting requests through one SmtpBackend."""
    settings = SmtpSettings(host=server.host, port=server.port, security="none", username="", auth="none",
                            timeout=60)
    backend = SmtpBackend(settings, Person("hr@firma.example", "HR"))
    attachment = Attachment("1001 Ansatt Æøå - forberedelse.xlsx", bytes(range(256)) * 80)
    start = datetime(2027, 1, 11, 9, tzinfo=OSLO)
    started = time.perf_counter()
    for n in range(count):
        employee = Person(f"a{n}@firma.example", f"Ansatt Æøå {n}")
        manager = Person("leder@firma.example", "Leder Løvås")
        meeting = Meeting(f"2027-{n}", f"samtale-2027-{n}@firma.example", 0, f"Medarbeidersamtale {n}",
                          start + timedelta(hours=n), start + timedelta(hours=n, minutes=75),
                          Person("hr@firma.example", "HR"), (employee, manager), body_text="Velkommen.",
                          body_html="<p>Velkommen.</p>", attachments=(attachment,))
        backend.upsert_meeting(meeting, (employee, manager))
    backend.close()
    return time.perf_counter() - started


def main() -> None:
    """Run both measurements `repeat` times and print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = SmtpServer(security="none").start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            template = setup(Path(tmp) / "template", args.conversations, server)
            backend_times, cli_times, connections, messages = [], [], [], []
            for repeat in range(args.repeat):
                server.messages.clear()
                before = server.connections
                backend_times.append(backend_only(server, args.conversations))
                assert len(server.messages) == args.conversations
                assert server.connections - before == 1
                copy = Path(tmp) / f"run{repeat}"
                shutil.copytree(template, copy)
                server.messages.clear()
                before = server.connections
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(copy), "--today",
                                       "2027-01-04", "invite", "--yes"], capture_output=True, text=True, check=False)
                cli_times.append(time.perf_counter() - started)
                assert done.returncode == 0, done.stderr
                connections.append(server.connections - before)
                messages.append(len(server.messages))
            backend_s = statistics.median(backend_times)
            cli_s = statistics.median(cli_times)
            sent = statistics.median(messages)
            print(f"backend only: {args.conversations} invitations in {backend_s:.2f} s → "
                  f"{args.conversations / backend_s:.0f} messages/s (1 SMTP connection)")
            print(f"samtale invite --yes: {sent:.0f} messages ({args.conversations} invitations and "
                  f"{sent - args.conversations:.0f} mails with the manager's file) in {cli_s:.2f} s → "
                  f"{sent / cli_s:.0f} messages/s, "
                  f"{args.conversations / cli_s:.0f} invitations/s; SMTP connections per run: {connections}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
