"""Technical settings in `samtale.toml` (backend, mailbox; never secrets), validated as a whole."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtale_automation.errors import ConfigError, Problem
from samtale_automation.texts import tr

BACKENDS = ("outbox", "smtp", "ews", "graph")
SECRET_WORDS = ("password", "passord", "secret", "token", "hemmelig")

DEFAULT_TOML = """\
# Tekniske innstillinger for samtale. Forretningsinnstillinger står i arket «Innstillinger».
# Technical settings for samtale. Business settings live in the «Innstillinger» sheet.
# Ingen passord her: de hentes fra miljøvariabler eller operativsystemets nøkkelring.
# No passwords here: they come from environment variables or the OS keyring.

[mail]
# outbox (standard: skriver .eml/.ics til utboks/), smtp, ews eller graph
backend = "outbox"
# Postkassen som sender invitasjoner og påminnelser, f.eks. hr@firma.no
mailbox = ""

# Oppsett av [smtp], [graph] (Microsoft 365) og [ews] (Exchange): se README, «Mail backends».
# Setup of [smtp], [graph] (Microsoft 365) and [ews] (Exchange): see the README, «Mail backends».
# Sjekk oppsettet med / check the setup with: samtale doctor --test-item
"""

KNOWN_KEYS: dict[str, set[str]] = {
    "mail": {"backend", "mailbox", "organizer", "sender_name"},
    "smtp": {"host", "port", "security", "username", "auth", "timeout", "imap_host", "imap_port", "imap_folder",
             "imap_done_folder", "imap_security", "imap_username"},
    "ews": {"server", "username", "auth", "access", "chunk_size", "folder", "done_folder", "version", "max_wait"},
    "graph": {"tenant_id", "client_id", "auth", "certificate_path", "folder", "done_folder", "base_url",
              "authority_host", "max_wait"},
}


@dataclass(frozen=True)
class Config:
    """Validated technical settings."""

    backend: str = "outbox"
    mailbox: str = ""
    raw: dict[str, Any] | None = None


def load_config(path: Path) -> tuple[Config, list[Problem]]:
    """Read and validate samtale.toml; a missing file means the defaults."""
    if not path.exists():
        return Config(), []
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Config(), [Problem(where, tr(f"kan ikke leses: {exc}", f"cannot be read: {exc}"),
                                  tr("Rett skrivefeilen i filen.", "Correct the typo in the file."))]
    problems: list[Problem] = []
    for section, values in data.items():
        if section not in KNOWN_KEYS or not isinstance(values, dict):
            problems.append(Problem(f"{where}: [{section}]", tr("ukjent seksjon", "unknown section"),
                                    tr("Slett den eller rett navnet.", "Delete it or correct the name.")))
            continue
        for key in values:
            if any(word in key.casefold() for word in SECRET_WORDS):
                problems.append(Problem(f"{where}: {section}.{key}",
                                        tr("passord og hemmeligheter skal ikke stå i filen",
                                           "passwords and secrets must not be in the file"),
                                        tr("Slett linjen og legg hemmeligheten i nøkkelringen eller en "
                                           "miljøvariabel (se README).",
                                           "Delete the line and put the secret in the keyring or an "
                                           "environment variable (see README).")))
            elif key not in KNOWN_KEYS[section]:
                problems.append(Problem(f"{where}: {section}.{key}", tr("ukjent innstilling", "unknown setting"),
                                        tr("Slett den eller rett navnet.", "Delete it or correct the name.")))
    mail = data.get("mail", {}) if isinstance(data.get("mail"), dict) else {}
    backend = str(mail.get("backend", "outbox"))
    if backend not in BACKENDS:
        names = ", ".join(BACKENDS)
        problems.append(Problem(f"{where}: mail.backend",
                                tr(f"ukjent backend «{backend}»", f"unknown backend «{backend}»"),
                                tr(f"Bruk {names}.", f"Use {names}.")))
        backend = "outbox"
    return Config(backend=backend, mailbox=str(mail.get("mailbox", "")), raw=data), problems


def bad_setting(section: str, key: str, value: object, allowed: str) -> ConfigError:
    """The error for a samtale.toml value that cannot be used: the section, the key, and what to use."""
    return ConfigError(tr(f"Ugyldig verdi for [{section}] {key} i samtale.toml: {value!r}.",
                          f"Invalid value for [{section}] {key} in samtale.toml: {value!r}."),
                       hint=tr(f"Bruk {allowed}.", f"Use {allowed}."))


def require_config(path: Path) -> Config:
    """The settings for a command that sends: any problem in samtale.toml stops it, listed line by line."""
    config, problems = load_config(path)
    if problems:
        raise ConfigError(tr("samtale.toml har feil.", "samtale.toml has errors."),
                          hint=tr("Rett linjene under og prøv igjen.", "Correct the lines below and try again."),
                          problems=[p.render() for p in problems])
    return config
