"""The `[mail]` section: which backend, which mailbox sends (`hr@firma.no` or `HR <hr@firma.no>`), who organises."""

from __future__ import annotations

import re
from dataclasses import dataclass

from samtale_automation.config.reader import Section, either
from samtale_automation.texts import tr

BACKENDS = ("outbox", "smtp", "ews", "graph")
#: How `organizer` may be written → what it means.
ORGANIZERS = {"mailbox": "mailbox", "postkasse": "mailbox", "manager": "manager", "leder": "manager"}

_NAMED = re.compile(r'^(?P<name>[^<>]*?)\s*<(?P<address>[^<>\s]+)>$')
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+$")


@dataclass(frozen=True)
class Mailbox:
    """An address, and the name to show with it."""

    address: str
    name: str = ""


def parse_mailbox(text: str) -> Mailbox | None:
    """`hr@firma.no`, `HR <hr@firma.no>` or `"HR, Fjordlys" <hr@firma.no>` as a Mailbox; None if it is none of them."""
    text = text.strip()
    named = _NAMED.match(text)
    name, address = (named.group("name").strip(), named.group("address")) if named else ("", text)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"')
    return Mailbox(address, name) if _ADDRESS.match(address) else None


@dataclass(frozen=True)
class MailSettings:
    """The validated `[mail]` section."""

    backend: str = "outbox"  # one of BACKENDS
    mailbox: Mailbox | None = None  # None: not set (the outbox needs none)
    organizer: str = "mailbox"  # mailbox | manager: whose calendar holds the meetings
    sender_name: str = ""  # the name on mail from the mailbox, when the mailbox has none

    @property
    def organizer_is_manager(self) -> bool:
        """`organizer = "manager"`: each manager organises; otherwise the mailbox does."""
        return self.organizer == "manager"


def missing_mailbox(section: Section) -> None:
    """Record that no mailbox is set (a problem for every backend that sends for real)."""
    section.require("mailbox", tr("Postkassen som skal sende, er ikke angitt",
                                  "The sending mailbox is not set"),
                    tr(f'Sett [mail] mailbox i {section.source} til adressen det sendes fra, f.eks. '
                       'mailbox = "hr@firma.no" eller "HR <hr@firma.no>".',
                       f'Set [mail] mailbox in {section.source} to the address to send from, e.g. '
                       'mailbox = "hr@firma.no" or "HR <hr@firma.no>".'))


def read_mail(section: Section) -> MailSettings:
    """The `[mail]` settings; bad values are recorded in `section` and their defaults used."""
    backend = section.values.get("backend", "outbox")
    if backend not in BACKENDS:
        names = ", ".join(BACKENDS)
        section.problem("backend", tr(f"ukjent backend «{backend}»", f"unknown backend «{backend}»"),
                        tr(f"Bruk {names}.", f"Use {names}."))
        backend = "outbox"
    written = section.text("mailbox")
    mailbox = parse_mailbox(written) if written else None
    if written and mailbox is None:
        section.problem("mailbox", tr(f"«{written}» er ikke en e-postadresse", f"«{written}» is not an e-mail address"),
                        tr('Skriv adressen alene, mailbox = "hr@firma.no", eller med navn, '
                           'mailbox = "HR <hr@firma.no>".',
                           'Write the address alone, mailbox = "hr@firma.no", or with a name, '
                           'mailbox = "HR <hr@firma.no>".'))
    elif not written:
        missing_mailbox(section)
    organizer = section.values.get("organizer", "mailbox")
    meaning = ORGANIZERS.get(organizer.strip().casefold()) if isinstance(organizer, str) else None
    if meaning is None:
        section.bad("organizer", either(("mailbox", "manager")))
    return MailSettings(backend=str(backend), mailbox=mailbox, organizer=meaning or "mailbox",
                        sender_name=section.text("sender_name"))
