"""samtale.toml typed once: every section into its dataclass, and every problem at once with its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from folders import make_folder, samtale

from samtale_automation.commands.doctor import run_doctor
from samtale_automation.config import (
    KNOWN_KEYS,
    Config,
    ImapSettings,
    Mailbox,
    SmtpSettings,
    load_config,
    parse_config,
    require_config,
)
from samtale_automation.config.mail import parse_mailbox
from samtale_automation.errors import EXIT_PROBLEMS, ConfigError

BAD = """\
[mail]
backend = "smtp"
mailbox = "HR <hr@firma.no>"

[smtp]
host = "smtp.firma.no"
security = "tls"
port = "abc"
colour = "blue"

[ews]
chunk_size = 500
"""
BAD_KEYS = ["samtale.toml: smtp.colour", "samtale.toml: smtp.security", "samtale.toml: smtp.port",
            "samtale.toml: ews.chunk_size"]

GOOD = """\
[mail]
backend = "graph"
mailbox = '"HR, Fjordlys" <hr@firma.no>'
organizer = "leder"
sender_name = "Fjordlys HR"

[smtp]
host = "smtp.firma.no"
security = "ssl"
auth = "xoauth2"
timeout = 30
imap_host = "imap.firma.no"
imap_security = "starttls"
imap_done_folder = "Behandlet/2027"

[ews]
server = "mail.firma.no"
version = 15.2
folder = "Samtaler/ Svar "

[graph]
tenant_id = "firma.onmicrosoft.com"
client_id = "11111111-1111-1111-1111-111111111111"
auth = "certificate"
certificate_path = "samtale-app.pem"
max_wait = 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samtale.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_bad_key_and_value_is_reported_at_once(tmp_path: Path, nb_messages: None) -> None:
    config, problems = load_config(write(tmp_path, BAD))
    assert [p.where for p in problems] == BAD_KEYS
    assert problems[1].render() == ('samtale.toml: smtp.security: ugyldig verdi \'tls\' – Bruk "starttls", "ssl" '
                                    'eller "none".')
    assert "portnummer" in problems[2].fix and "1 til 100" in problems[3].fix
    assert config.smtp is None and config.ews is None  # a section with a bad value is not used
    assert config.mail.mailbox == Mailbox("hr@firma.no", "HR")  # the rest is read all the same
    with pytest.raises(ConfigError) as caught:
        require_config(tmp_path / "samtale.toml")
    assert [line.split(":")[1].strip() for line in caught.value.problems] == [k.split(": ")[1] for k in BAD_KEYS]


def test_a_good_file_becomes_typed_settings(tmp_path: Path) -> None:
    config, problems = load_config(write(tmp_path, GOOD))
    assert problems == []
    assert config.backend == "graph" and config.mail.organizer_is_manager
    assert config.mail.mailbox == Mailbox("hr@firma.no", "HR, Fjordlys") and config.mail.sender_name == "Fjordlys HR"
    assert config.smtp == SmtpSettings(host="smtp.firma.no", port=465, security="ssl", auth="xoauth2", timeout=30.0,
                                       imap=ImapSettings(host="imap.firma.no", port=143, security="starttls",
                                                         done_folder="Behandlet/2027"))
    assert config.smtp.secret_name == "smtp_oauth_token"
    assert config.ews is not None and config.ews.endpoint == "https://mail.firma.no/EWS/Exchange.asmx"
    assert (config.ews.version, config.ews.folder, config.ews.chunk_size) == ("15.2", "Samtaler/Svar", 20)
    assert config.graph is not None and config.graph.auth == "certificate" and config.graph.max_wait == 60.0
    assert config.graph.authority == "https://login.microsoftonline.com/firma.onmicrosoft.com"


def test_the_known_keys_come_from_the_dataclasses() -> None:
    expected = {
        "mail": {"backend", "mailbox", "organizer", "sender_name"},
        "smtp": {"host", "port", "security", "username", "auth", "timeout", "imap_host", "imap_port", "imap_folder",
                 "imap_done_folder", "imap_security", "imap_username"},
        "ews": {"server", "username", "auth", "access", "chunk_size", "folder", "done_folder", "version", "max_wait"},
        "graph": {"tenant_id", "client_id", "auth", "certificate_path", "folder", "done_folder", "base_url",
                  "authority_host", "max_wait"},
    }
    assert expected == KNOWN_KEYS


def test_what_a_backend_needs_is_required_only_when_it_is_chosen(nb_messages: None) -> None:
    chosen = parse_config({"mail": {"backend": "smtp"}, "graph": {"max_wait": 30}})
    assert [p.where for p in chosen.problems] == ["samtale.toml: mail.mailbox", "samtale.toml: smtp.host"]
    assert "Sett [smtp] host" in chosen.problems[1].fix
    assert parse_config({"mail": {"backend": "outbox"}, "smtp": {"port": 2525}}).problems == ()
    graph = parse_config({"mail": {"backend": "graph", "mailbox": "hr@firma.no"}})
    assert [p.where for p in graph.problems] == ["samtale.toml: graph.tenant_id", "samtale.toml: graph.client_id"]


def test_secrets_unknown_sections_and_a_bad_backend(nb_messages: None) -> None:
    config = parse_config({"mail": {"backend": "exchange", "smtp_password": "x", "organizer": "hr"},
                           "smpt": {"host": "x"}})
    assert {p.where: p.message for p in config.problems} == {
        "samtale.toml: mail.smtp_password": "passord og hemmeligheter skal ikke stå i filen",
        "samtale.toml: [smpt]": "ukjent seksjon",
        "samtale.toml: mail.backend": "ukjent backend «exchange»",
        "samtale.toml: mail.organizer": "ugyldig verdi 'hr'",
    }
    assert config.backend == "outbox"


@pytest.mark.parametrize(("written", "mailbox"), [
    ("hr@firma.no", Mailbox("hr@firma.no")),
    ("HR <hr@firma.no>", Mailbox("hr@firma.no", "HR")),
    ("  Fjordlys HR   <hr@firma.no> ", Mailbox("hr@firma.no", "Fjordlys HR")),
    ('"HR, Fjordlys" <hr@firma.no>', Mailbox("hr@firma.no", "HR, Fjordlys")),
    ("Åse <åse@firma.no>", Mailbox("åse@firma.no", "Åse")),
    ("HR hr@firma.no", None), ("hr@", None), ("<hr@firma.no> x", None), ("a@b@c", None), ("HR <>", None)])
def test_a_mailbox_with_or_without_a_name(written: str, mailbox: Mailbox | None) -> None:
    assert parse_mailbox(written) == mailbox
    config = parse_config({"mail": {"mailbox": written}})
    assert config.mail.mailbox == mailbox
    assert [p.where for p in config.problems] == ([] if mailbox else ["samtale.toml: mail.mailbox"])


def test_unusable_settings_refuse_with_what_is_wrong(nb_messages: None) -> None:
    missing = Config().refusal("smtp")
    assert missing.message == "samtale.toml: smtp.host: SMTP-serveren er ikke angitt." and "[smtp] host" in missing.hint
    with pytest.raises(ConfigError) as no_mailbox:
        Config().require_mailbox()
    assert "Postkassen" in no_mailbox.value.message and "[mail] mailbox i samtale.toml" in no_mailbox.value.hint
    both = parse_config({"smtp": {"host": "x", "port": 0, "timeout": -1}}).refusal("smtp")
    assert both.message == "samtale.toml har feil." and len(both.problems) == 2


def test_an_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    config, problems = load_config(write(tmp_path, "[mail\nbackend = "))
    assert [p.where for p in problems] == ["samtale.toml"] and config.problems == tuple(problems)


def test_doctor_and_check_list_every_bad_key(tmp_path: Path, nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    ws.folder.config.write_text(BAD, encoding="utf-8")
    report = run_doctor(ws)
    assert [c.ok for c in report.checks] == [False] and isinstance(report.failure, ConfigError)
    assert [line.split(" ")[1] for line in report.failure.problems] == [k.split(": ")[1] + ":" for k in BAD_KEYS]
    checked = samtale("--dir", str(ws.folder.root), "check", env={"SAMTALE_LANG": "nb"})
    assert checked.returncode == EXIT_PROBLEMS, checked.stderr
    assert all(key in checked.stdout for key in BAD_KEYS)
