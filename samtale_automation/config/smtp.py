"""The `[smtp]` section: the SMTP server, and with `imap_host` the IMAP folder returned files are read from."""

from __future__ import annotations

from dataclasses import dataclass, field

from samtale_automation.config.reader import Section
from samtale_automation.texts import tr

#: security → the usual port.
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
AUTH_KINDS = ("password", "xoauth2", "none")
#: auth → the name of its secret (environment SAMTALE_<NAME>, or the keyring).
SECRET_NAMES = {"password": "smtp_password", "xoauth2": "smtp_oauth_token"}
DEFAULT_TIMEOUT = 60.0
#: imap_security → the usual port.
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
DEFAULT_IMAP_FOLDER = "INBOX"
DEFAULT_IMAP_DONE_FOLDER = "Samtale behandlet"
#: Plain IMAP sends the password as it is: only for a server on this machine (tests).
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ImapSettings:
    """The validated `imap_*` keys of the `[smtp]` section."""

    host: str
    port: int = 993
    security: str = "ssl"  # ssl | starttls | none (loopback only)
    folder: str = DEFAULT_IMAP_FOLDER
    done_folder: str = DEFAULT_IMAP_DONE_FOLDER
    username: str = ""  # empty: the SMTP login


@dataclass(frozen=True)
class SmtpSettings:
    """The validated `[smtp]` section."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""  # empty: the mailbox address
    auth: str = "password"  # password | xoauth2 | none
    timeout: float = DEFAULT_TIMEOUT
    #: Reading returned files, when imap_host is set (keys imap_host, imap_port, …).
    imap: ImapSettings | None = field(default=None, metadata={"prefix": "imap_", "nested": ImapSettings})

    @property
    def secret_name(self) -> str | None:
        """The secret this kind of login needs (None for auth = "none")."""
        return SECRET_NAMES.get(self.auth)


def same_folder(a: str, b: str) -> bool:
    """INBOX is case-insensitive (RFC 3501 §5.1), other names are not."""
    return a.upper() == b.upper() == "INBOX" or a == b


def read_smtp(section: Section) -> SmtpSettings | None:
    """The `[smtp]` settings; None when the host is missing or a value is bad (recorded in `section`)."""
    host = section.required_text("host", tr("SMTP-serveren er ikke angitt", "the SMTP server is not set"),
                                 tr('Sett [smtp] host, f.eks. host = "smtp.office365.com".',
                                    'Set [smtp] host, e.g. host = "smtp.office365.com".'))
    security = section.choice("security", tuple(DEFAULT_PORTS), "starttls")
    auth = section.choice("auth", AUTH_KINDS, "password")
    port = section.whole("port", DEFAULT_PORTS[security], 1, 65535,
                         tr("et portnummer, f.eks. 587 (starttls) eller 465 (ssl)",
                            "a port number, e.g. 587 (starttls) or 465 (ssl)"))
    timeout = section.seconds("timeout", DEFAULT_TIMEOUT, 60)
    username = section.text("username")
    imap = _read_imap(section, auth)
    if not section.usable:
        return None
    return SmtpSettings(host=host, port=port, security=security, username=username, auth=auth, timeout=timeout,
                        imap=imap)


def _read_imap(section: Section, auth: str) -> ImapSettings | None:
    """The imap_* keys: every value written is checked, the settings made only with imap_host."""
    host = section.text("imap_host")
    security = section.choice("imap_security", tuple(IMAP_PORTS), "ssl")
    if host and security == "none" and host.casefold() not in LOOPBACK:
        section.problem("imap_security",
                        tr(f'imap_security = "none" sender passordet ukryptert og brukes bare mot denne maskinen, '
                           f"ikke mot «{host}»",
                           f'imap_security = "none" sends the password unencrypted and is only for this machine, '
                           f"not for «{host}»"),
                        tr(f'Bruk [smtp] imap_security = "ssl" (port 993) eller "starttls" (port 143) i '
                           f"{section.source}.",
                           f'Use [smtp] imap_security = "ssl" (port 993) or "starttls" (port 143) in '
                           f"{section.source}."))
    port = section.whole("imap_port", IMAP_PORTS[security], 1, 65535,
                         tr("et portnummer, f.eks. 993 (ssl) eller 143 (starttls)",
                            "a port number, e.g. 993 (ssl) or 143 (starttls)"))
    folder = section.folder("imap_folder", DEFAULT_IMAP_FOLDER)
    done = section.folder("imap_done_folder", DEFAULT_IMAP_DONE_FOLDER)
    if same_folder(folder, done):
        section.problem("imap_done_folder",
                        tr(f"kan ikke være samme mappe som imap_folder («{folder}»)",
                           f"cannot be the same folder as imap_folder («{folder}»)"),
                        tr(f'Sett [smtp] imap_done_folder i {section.source} til en egen mappe, f.eks. '
                           f'"{DEFAULT_IMAP_DONE_FOLDER}".',
                           f'Set [smtp] imap_done_folder in {section.source} to a folder of its own, e.g. '
                           f'"{DEFAULT_IMAP_DONE_FOLDER}".'))
    username = section.text("imap_username")
    if not host:
        return None
    if auth == "none":
        section.problem("auth", tr('[smtp] imap_host er satt, men IMAP trenger en innlogging, og auth er "none"',
                                   '[smtp] imap_host is set, but IMAP needs a login, and auth is "none"'),
                        tr('Sett [smtp] auth = "password" eller "xoauth2" (IMAP bruker samme innlogging som SMTP), '
                           "eller fjern imap_host.",
                           'Set [smtp] auth = "password" or "xoauth2" (IMAP uses the same login as SMTP), '
                           "or remove imap_host."))
    return ImapSettings(host=host, port=port, security=security, folder=folder, done_folder=done, username=username)
