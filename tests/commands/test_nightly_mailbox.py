"""`samtale nightly` with a real mail server: returned files fetched over IMAP (Dovecot), digests sent over SMTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from folders import make_folder
from imap_server import PASSWORD, USER, reply_message, shared_dovecot
from smtp_server import SmtpServer

from samtale_automation.backends import BackendContext
from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.nightly import run_nightly
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.config import require_config
from samtale_automation.domain.model import OSLO
from samtale_automation.faces.present import present
from samtale_automation.prepfile.fill import fill_employee

pytestmark = pytest.mark.slow
NIGHT = datetime.combine(date(2027, 1, 13), time(2, 30), OSLO)


@pytest.fixture
def servers() -> Iterator[tuple[object, SmtpServer]]:
    dovecot = shared_dovecot()
    dovecot.reset()
    smtp = SmtpServer(security="starttls", users={USER: PASSWORD}, ca=dovecot.ca).start()
    yield dovecot, smtp
    smtp.stop()


def _toml(section: dict[str, object]) -> str:
    """An [smtp] section in TOML (a JSON string is a TOML basic string)."""
    return "\n[smtp]\n" + "".join(f"{key} = {value if isinstance(value, int) else json.dumps(str(value))}\n"
                                  for key, value in section.items())


def test_the_night_fetches_collects_and_reminds_over_a_real_server(servers: tuple[object, SmtpServer], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot, smtp = servers
    ws = make_folder(tmp_path / "f", mailbox=USER)
    config = ws.folder.config
    section = {**smtp.settings(auth="password", username=USER), **dovecot.settings("ssl")}  # type: ignore[attr-defined]
    config.write_text(config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
                      + _toml(section), encoding="utf-8")
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", PASSWORD)

    def context(moment: datetime) -> BackendContext:
        return BackendContext(ws.folder, require_config(config), moment, sleep=lambda _s: None,
                              ssl_context=smtp.client_context)

    run_prep(ws, ["2"], who="test")
    run_invite(ws, context=context(ws.now))
    invited = len(smtp.messages)
    source = next((ws.folder.root / "forberedelse").rglob("2 * - forberedelse.xlsx"))
    filled = tmp_path / source.name
    fill_employee(source, filled, chosen=["S01", "S02"], notes={"S01": "Sendt på e-post."})
    dovecot.append(USER, "INBOX", reply_message("bjorn@firma.example", "SV: Medarbeidersamtale",  # type: ignore[attr-defined]
                                                [(source.name, filled.read_bytes())]))

    night = Workspace.open(ws.folder.root, NIGHT)
    result = run_nightly(night, context=context(NIGHT))
    outcomes = {s.name: (s.outcome, s.count) for s in result.steps}
    assert outcomes["fetch"] == ("ok", 1) and outcomes["collect"] == ("ok", 1), result.steps
    assert present(result).exit_code == 0
    assert night.load().conversations["2027-2"].prep_returned is not None
    digests = smtp.messages[invited:]
    recipients = sorted(address for m in digests for address in m.rcpt_tos)
    assert recipients == ["ase@firma.example"]  # Bjørn's prep came back tonight: no reminder for him

    again = run_nightly(Workspace.open(ws.folder.root, NIGHT), context=context(NIGHT))
    assert {s.name: s.count for s in again.steps}["fetch"] == 0  # the reply was moved to the done folder
    assert len(smtp.messages) == invited + len(digests)  # nothing sent twice
