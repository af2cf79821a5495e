"""Technical settings in `samtale.toml`, typed once and validated as a whole (DESIGN.md §10); never secrets.

`load_config` reads every section into frozen dataclasses (`[mail]` → MailSettings, `[smtp]` with
its imap_* keys → SmtpSettings, `[ews]` → EwsSettings, `[graph]` → GraphSettings) and returns every
problem at once, each with its key (`samtale.toml: smtp.port`), what is wrong and how to fix it. A
backend's settings are None when its section is missing or has a bad value; the backend then
refuses with `Config.refusal`. Secrets come from the environment or the keyring (secrets.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from samtale_automation.config.ews import EwsSettings, read_ews
from samtale_automation.config.graph import GraphSettings, read_graph
from samtale_automation.config.mail import BACKENDS, Mailbox, MailSettings, read_mail
from samtale_automation.config.reader import SOURCE, Section
from samtale_automation.config.smtp import ImapSettings, SmtpSettings, read_smtp
from samtale_automation.errors import ConfigError, Problem
from samtale_automation.texts import tr

S = TypeVar("S")
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

#: Each section of samtale.toml and the dataclass it becomes.
SECTIONS: dict[str, type] = {"mail": MailSettings, "smtp": SmtpSettings, "ews": EwsSettings, "graph": GraphSettings}
#: The backends' sections and how each is read.
_READERS: dict[str, Callable[[Section], object]] = {"smtp": read_smtp, "ews": read_ews, "graph": read_graph}


def toml_keys(settings: type) -> set[str]:
    """The keys a settings dataclass is read from (a field's `key`, or a nested one's keys with its `prefix`)."""
    keys: set[str] = set()
    for item in fields(settings):
        if "prefix" in item.metadata:
            keys |= {item.metadata["prefix"] + key for key in toml_keys(item.metadata["nested"])}
        else:
            keys.add(item.metadata.get("key", item.name))
    return keys


KNOWN_KEYS: dict[str, set[str]] = {name: toml_keys(settings) for name, settings in SECTIONS.items()}


@dataclass(frozen=True)
class Config:
    """Validated technical settings, with what is wrong in them."""

    mail: MailSettings = field(default_factory=MailSettings)
    smtp: SmtpSettings | None = None  # None: no [smtp] host, or a bad value in [smtp]
    ews: EwsSettings | None = None
    graph: GraphSettings | None = None
    #: Every problem in the file (what `check` lists and a command that sends refuses on).
    problems: tuple[Problem, ...] = ()
    #: Why the mailbox ("mailbox") or a backend's section ("smtp", "ews", "graph") cannot be used.
    blockers: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        """The backend chosen in `[mail] backend`."""
        return self.mail.backend

    def refusal(self, name: str) -> ConfigError:
        """The error for the mailbox ("mailbox") or a backend's section that cannot be used: what is wrong."""
        return settings_error(self.blockers.get(name) or _missing(name))

    def require_mailbox(self) -> Mailbox:
        """The sending mailbox; ConfigError saying what to set when there is none."""
        if self.mail.mailbox is None:
            raise self.refusal("mailbox")
        return self.mail.mailbox


def parse_config(data: Mapping[str, Any], source: str = SOURCE) -> Config:
    """The settings from the parsed toml, with every problem (`source` names the file in them)."""
    problems = _layout_problems(data, source)
    tables = {name: data[name] if isinstance(data.get(name), dict) else {} for name in SECTIONS}
    mail_section = Section("mail", tables["mail"], source)
    mail = read_mail(mail_section)
    problems += mail_section.problems
    blockers: dict[str, tuple[Problem, ...]] = {}
    if mail.mailbox is None:
        where = mail_section.where("mailbox")
        blockers["mailbox"] = tuple(p for p in (*mail_section.problems, *mail_section.missing) if p.where == where)
        if mail.backend != "outbox":  # every other backend sends from it
            problems += mail_section.missing

    def backend_section(name: str, reader: Callable[[Section], S | None]) -> S | None:
        section = Section(name, tables[name], source)
        settings = reader(section)
        problems.extend(section.problems)
        if mail.backend == name:  # what the chosen backend needs is a problem when missing
            problems.extend(section.missing)
        if settings is None:
            blockers[name] = (*section.problems, *section.missing)
        return settings

    return Config(mail, smtp=backend_section("smtp", read_smtp), ews=backend_section("ews", read_ews),
                  graph=backend_section("graph", read_graph), problems=tuple(problems), blockers=blockers)


def _missing(name: str) -> tuple[Problem, ...]:
    """What an empty section lacks, for settings made without a file (the mailbox is in [mail])."""
    section = Section("mail" if name == "mailbox" else name, {})
    if name == "mailbox":
        read_mail(section)
    else:
        _READERS[name](section)
    return tuple(section.missing)


def _layout_problems(data: Mapping[str, Any], source: str) -> list[Problem]:
    """Unknown sections and keys, and secrets written in the file."""
    problems: list[Problem] = []
    for name, values in data.items():
        if name not in SECTIONS or not isinstance(values, dict):
            problems.append(Problem(f"{source}: [{name}]", tr("ukjent seksjon", "unknown section"),
                                    tr("Slett den eller rett navnet.", "Delete it or correct the name.")))
            continue
        for key in values:
            if any(word in key.casefold() for word in SECRET_WORDS):
                problems.append(Problem(f"{source}: {name}.{key}",
                                        tr("passord og hemmeligheter skal ikke stå i filen",
                                           "passwords and secrets must not be in the file"),
                                        tr("Slett linjen og legg hemmeligheten i nøkkelringen eller en "
                                           "miljøvariabel (se README).",
                                           "Delete the line and put the secret in the keyring or an "
                                           "environment variable (see README).")))
            elif key not in KNOWN_KEYS[name]:
                problems.append(Problem(f"{source}: {name}.{key}", tr("ukjent innstilling", "unknown setting"),
                                        tr("Slett den eller rett navnet.", "Delete it or correct the name.")))
    return problems


def load_config(path: Path) -> tuple[Config, list[Problem]]:
    """Read and validate samtale.toml: the settings and every problem in it; a missing file means the defaults."""
    if not path.exists():
        return Config(), []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        unreadable = Problem(path.name, tr(f"kan ikke leses: {exc}", f"cannot be read: {exc}"),
                             tr("Rett skrivefeilen i filen.", "Correct the typo in the file."))
        return Config(problems=(unreadable,)), [unreadable]
    config = parse_config(data, path.name)
    return config, list(config.problems)


def settings_error(problems: Sequence[Problem]) -> ConfigError:
    """One error for settings that cannot be used: the problem and its fix, or the list of them."""
    if len(problems) == 1:
        return ConfigError(f"{problems[0].where}: {problems[0].message}.", hint=problems[0].fix)
    return _listed(problems)


def _listed(problems: Sequence[Problem]) -> ConfigError:
    return ConfigError(tr("samtale.toml har feil.", "samtale.toml has errors."),
                       hint=tr("Rett linjene under og prøv igjen.", "Correct the lines below and try again."),
                       problems=[p.render() for p in problems])


def bad_setting(section: str, key: str, value: object, allowed: str) -> ConfigError:
    """The error for a samtale.toml value that cannot be used: the section, the key, and what to use."""
    return ConfigError(tr(f"Ugyldig verdi for [{section}] {key} i samtale.toml: {value!r}.",
                          f"Invalid value for [{section}] {key} in samtale.toml: {value!r}."),
                       hint=tr(f"Bruk {allowed}.", f"Use {allowed}."))


def require_config(path: Path) -> Config:
    """The settings for a command that sends: any problem in samtale.toml stops it, listed line by line."""
    config, problems = load_config(path)
    if problems:
        raise _listed(problems)
    return config


__all__ = ["BACKENDS", "DEFAULT_TOML", "KNOWN_KEYS", "Config", "EwsSettings", "GraphSettings", "ImapSettings",
           "MailSettings", "Mailbox", "SmtpSettings", "bad_setting", "load_config", "parse_config", "require_config",
           "settings_error"]
