"""The `[ews]` section: the on-premises Exchange server, the login, and the folders replies are read from."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from samtale_automation.config.reader import Section
from samtale_automation.texts import tr

AUTH_KINDS = ("ntlm", "basic", "kerberos", "sspi")
ACCESS_KINDS = ("delegate", "impersonation")
DEFAULT_CHUNK_SIZE = 20
MAX_CHUNK_SIZE = 100  # EWS's own limit per request (exchangelib's CHUNK_SIZE)
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
#: Hosts of Microsoft 365, where EWS is blocked (1 Oct 2026) and switched off (1 Apr 2027).
M365_HOSTS = ("outlook.office365.com", "outlook.office.com")
M365_SUFFIXES = (".outlook.com",)
#: Exchange versions exchangelib knows (major, minor), so `version` is checked without importing it.
EXCHANGE_VERSIONS = frozenset({(15, 20), (15, 2), (15, 1), (15, 0), (14, 3), (14, 2), (14, 1), (14, 0), (8, 3),
                               (8, 2), (8, 1), (8, 0)})
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class EwsSettings:
    """The validated `[ews]` section."""

    #: https://host/EWS/Exchange.asmx (http only for a loopback test server), from the key `server`.
    endpoint: str = field(metadata={"key": "server"})
    username: str = ""  # DOMAIN\user, UPN or address; empty: the mailbox
    auth: str = "ntlm"  # ntlm | basic | kerberos | sspi
    access: str = "delegate"  # delegate | impersonation
    chunk_size: int = DEFAULT_CHUNK_SIZE
    folder: str = ""  # where replies are read: a folder path below the inbox; empty: the inbox
    done_folder: str = DEFAULT_DONE_FOLDER  # where handled replies go, below the inbox
    version: str = ""  # e.g. "15.2": skips asking the server
    max_wait: float = DEFAULT_MAX_WAIT

    @property
    def host(self) -> str:
        """The server's host name (without port)."""
        return urlsplit(self.endpoint).hostname or ""

    @property
    def needs_password(self) -> bool:
        """NTLM and Basic log in with a password; Kerberos and SSPI use the signed-in Windows user."""
        return self.auth in ("ntlm", "basic")

    @property
    def microsoft_365(self) -> bool:
        """The server is Exchange Online, where EWS is being switched off."""
        host = self.host.casefold()
        return host in M365_HOSTS or host.endswith(M365_SUFFIXES)


def endpoint(server: str) -> str | None:
    """The EWS URL from a host name or a full URL (http for a loopback test server only); None if it is neither."""
    if "://" not in server:
        parts = urlsplit(f"https://{server}")
        if not parts.hostname or parts.path or parts.query or " " in server:
            return None
        return f"https://{server}/EWS/Exchange.asmx"
    parts = urlsplit(server)
    loopback = parts.hostname in _LOOPBACK
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        return None
    path = parts.path if parts.path not in ("", "/") else "/EWS/Exchange.asmx"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _folder_path(section: Section, key: str, default: str) -> str:
    """A folder path below the inbox, «Samtaler/Svar» (parts stripped); "" for none."""
    value = section.values.get(key)
    text = str(value if value is not None else default).strip().strip("/")
    if any(not part.strip() for part in text.split("/")) and text:
        section.bad(key, tr('et mappenavn, eller en sti under innboksen som "Samtaler/Svar"',
                            'a folder name, or a path below the inbox such as "Samtaler/Svar"'))
        return default
    return "/".join(part.strip() for part in text.split("/")) if text else ""


def _version(section: Section) -> str:
    text = str(section.values.get("version", "")).strip()
    try:
        numbers = [int(part) for part in text.split(".")] if text else []
    except ValueError:
        numbers = [-1]
    if text and not (2 <= len(numbers) <= 4 and tuple(numbers[:2]) in EXCHANGE_VERSIONS and min(numbers) >= 0):
        section.bad("version", tr('Exchange-versjonen som tall, f.eks. "15.2" (Exchange 2019 og SE), '
                                  '"15.1" (2016) eller "15.0" (2013)',
                                  'the Exchange version as numbers, e.g. "15.2" (Exchange 2019 and SE), '
                                  '"15.1" (2016) or "15.0" (2013)'))
        return ""
    return text


def read_ews(section: Section) -> EwsSettings | None:
    """The `[ews]` settings; None when the server is missing or a value is bad (recorded in `section`)."""
    server = section.required_text("server", tr("Exchange-serveren (EWS) er ikke angitt",
                                                "the Exchange (EWS) server is not set"),
                                   tr('Sett [ews] server, f.eks. server = "mail.firma.no".',
                                      'Set [ews] server, e.g. server = "mail.firma.no".'))
    url = endpoint(server) if server else ""
    if url is None:
        section.bad("server", tr('et vertsnavn som "mail.firma.no", eller hele adressen '
                                 '"https://mail.firma.no/EWS/Exchange.asmx"',
                                 'a host name such as "mail.firma.no", or the whole address '
                                 '"https://mail.firma.no/EWS/Exchange.asmx"'))
    auth = section.choice("auth", AUTH_KINDS, "ntlm")
    access = section.choice("access", ACCESS_KINDS, "delegate")
    chunk_size = section.whole("chunk_size", DEFAULT_CHUNK_SIZE, 1, MAX_CHUNK_SIZE,
                               tr(f"et helt tall fra 1 til {MAX_CHUNK_SIZE}, f.eks. 20",
                                  f"a whole number from 1 to {MAX_CHUNK_SIZE}, e.g. 20"))
    max_wait = section.seconds("max_wait", DEFAULT_MAX_WAIT, 300)
    done_folder = _folder_path(section, "done_folder", DEFAULT_DONE_FOLDER)
    if not done_folder:
        section.bad("done_folder", tr(f'et mappenavn, f.eks. "{DEFAULT_DONE_FOLDER}"',
                                      f'a folder name, e.g. "{DEFAULT_DONE_FOLDER}"'))
    folder = _folder_path(section, "folder", "")
    version = _version(section)
    username = section.text("username")
    if not section.usable or not url:
        return None
    return EwsSettings(endpoint=url, username=username, auth=auth, access=access, chunk_size=chunk_size,
                       folder=folder, done_folder=done_folder, version=version, max_wait=max_wait)

