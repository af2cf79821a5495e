"""Folders and processes the command tests share: a round-2027 folder, the CLI in a fresh process, SMTP set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.plans.rounds import plan_new_round

if TYPE_CHECKING:
    from smtp_server import SmtpServer

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
START = datetime(2027, 1, 20, 10, 0, tzinfo=OSLO)
PASSWORD = "hemmelig-æøå"
MAILBOX = "hr@firma.example"


def samtale(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process with no terminal attached."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "samtale_automation", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, timeout=120, check=False)



def make_folder(root: Path, *, mailbox: str = "hr@firma.example") -> Workspace:
    """A folder with round 2027: manager 1 (Åse), employees 2 (Bjørn) and 3 (Cecilie), times set."""
    init_folder(root)
    config = root / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', f'mailbox = "{mailbox}"'),
                      encoding="utf-8")
    ws = Workspace.open(root, NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Kjærstad", email="ase@firma.example", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Sæther", email="bjorn@firma.example", manager_id="1", active="Ja")
    staff.upsert("Ansatte", "3", name="Cecilie Berg", email="cecilie@firma.example", manager_id="1", active="Ja",
                 language="en")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    times = ChangeSet("times")
    times.upsert("Samtaler", "2027-2", force=True, start=START, end=START + timedelta(minutes=75),
                 place="Møterom Fjorden <rom-fjorden@firma.example>")
    times.upsert("Samtaler", "2027-3", force=True, start=START + timedelta(days=1),
                 end=START + timedelta(days=1, minutes=75), place="Stillerommet")
    ws.commit(times)
    return ws



def use_smtp(ws: Workspace, server: SmtpServer) -> None:
    """Point the folder's samtale.toml at the loopback server (no TLS: the SMTP tests cover TLS)."""
    config = ws.folder.config
    text = config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
    text += f'\n[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
    config.write_text(text, encoding="utf-8")
