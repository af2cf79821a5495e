"""`samtale doctor`: each check in order, stopping at the first failure with the setting to fix.

Against the outbox and against a real SMTP server on loopback (aiosmtpd); the ews and graph
backends' own probes are tested with their stand-ins in test_ews.py and test_graph.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from folders import MAILBOX, PASSWORD, make_folder, samtale, use_smtp
from smtp_server import SmtpServer, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.commands.doctor import run_doctor
from samtale_automation.errors import EXIT_BACKEND, EXIT_USAGE, BackendError, ConfigError


def test_outbox_is_checked_and_a_test_mail_lands_in_utboks(tmp_path: Path, nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    report = run_doctor(ws, test_item=True)
    assert report.failure is None and report.backend == "outbox"
    names = [c.name for c in report.checks]
    assert names == ["samtale.toml er gyldig", "backend «outbox» kan settes opp", "innlogging og postkasse",
                     "testelement opprettet og slettet", "journalens modus passer mappen"]
    assert all(c.ok for c in report.checks)
    assert "kan skrives" in report.checks[2].details[0]
    assert report.checks[-1].details == ("WAL: lokal disk",)  # tmp is a local disk
    written = list((ws.folder.root / "utboks").rglob("*.eml"))
    assert len(written) == 1 and "samtale doctor" in written[0].read_text(encoding="utf-8")
    assert not list((ws.folder.root / "utboks").rglob(".samtale-doctor"))


def test_a_bad_samtale_toml_stops_at_the_first_check(tmp_path: Path, nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    ws.folder.config.write_text('[mail]\nbackend = "outbox"\npassword = "x"\n', encoding="utf-8")
    report = run_doctor(ws)
    assert [c.ok for c in report.checks] == [False]
    assert isinstance(report.failure, ConfigError)
    assert any("mail.password" in line for line in report.failure.problems)


def test_smtp_login_checked_against_a_real_server(tmp_path: Path, smtp_server: Callable[..., SmtpServer],  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch, nb_messages: None) -> None:
    server = smtp_server(security="none", users={MAILBOX: PASSWORD})
    ws = make_folder(tmp_path / "f")
    use_smtp(ws, server)
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", PASSWORD)
    report = run_doctor(ws, test_item=True)
    assert report.failure is None, report.failure and report.failure.message
    assert [m.rcpt_tos for m in server.messages] == [[MAILBOX]]  # the test mail went to the mailbox itself
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", "feil")
    report = run_doctor(ws)
    assert isinstance(report.failure, BackendError) and [c.ok for c in report.checks] == [True, True, False]
    assert "smtp_password" in report.failure.hint and "feil" not in report.failure.message + report.failure.hint


def test_cli_exit_codes(tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:  # noqa: F811
    server = smtp_server(security="none", users={MAILBOX: PASSWORD})
    ws = make_folder(tmp_path / "f")
    ok = samtale("--dir", str(ws.folder.root), "doctor", env={"SAMTALE_LANG": "nb"})
    assert ok.returncode == 0, ok.stderr
    assert "OK   innlogging og postkasse" in ok.stdout and "Alt i orden med backend «outbox»" in ok.stdout
    use_smtp(ws, server)
    env = {"SAMTALE_LANG": "nb", "SAMTALE_SMTP_PASSWORD": "feil"}
    failed = samtale("--dir", str(ws.folder.root), "doctor", env=env)
    assert failed.returncode == EXIT_BACKEND, failed.stderr
    assert "FEIL innlogging og postkasse" in failed.stdout and "smtp_password" in failed.stderr
    assert "Traceback" not in failed.stderr
    missing = samtale("--dir", str(ws.folder.root), "doctor", env={"SAMTALE_LANG": "nb", "SAMTALE_SMTP_PASSWORD": ""})
    assert missing.returncode == EXIT_USAGE and "SAMTALE_SMTP_PASSWORD" in missing.stderr


def test_the_journal_on_a_share_is_reported_as_the_rollback_journal(tmp_path: Path, nb_messages: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify doctor names the journal's mode and why: SAMTALE_JOURNAL_MODE=delete as IT would set for a share."""
    monkeypatch.setenv("SAMTALE_JOURNAL_MODE", "delete")
    report = run_doctor(make_folder(tmp_path / "f"))
    assert report.checks[-1].details == ("rollback-journal: valgt med SAMTALE_JOURNAL_MODE=delete",)
