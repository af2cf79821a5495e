"""The `[ews]` settings in samtale.toml, and the fixed values of Exchange Web Services the backend keeps to.

Split from ews.py so the settings (and their Norwegian errors naming the key) read on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from exchangelib import (
    BASIC,
    GSSAPI,
    NTLM,
    SSPI,
    Build,
    Version,
)

from samtale_automation.config import bad_setting
from samtale_automation.errors import ConfigError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.config import Config


TOML = "samtale.toml"
AUTH_KINDS = ("ntlm", "basic", "kerberos", "sspi")
ACCESS_KINDS = ("delegate", "impersonation")
SECRET_NAME = "ews_password"
DEFAULT_CHUNK_SIZE = 20
MAX_CHUNK_SIZE = 100  # EWS's own limit per request (exchangelib's CHUNK_SIZE)
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
#: Our tag on every item we create: a named MAPI property, the same one Graph sees.
TAG_PROPERTY_SET = "c11ff724-aa03-4555-9952-8fa248a11c3e"
TAG_NAME = "samtale-id"
#: GetUserAvailability limits: mailboxes per request and days per time window.
FREE_BUSY_MAILBOXES = 100
FREE_BUSY_DAYS = 42
#: Hosts of Microsoft 365, where EWS is blocked (1 Oct 2026) and switched off (1 Apr 2027).
M365_HOSTS = ("outlook.office365.com", "outlook.office.com")
M365_SUFFIXES = (".outlook.com",)
#: What Microsoft 365 answers when EWS is blocked for the tenant or the app.
BLOCKED_MARKERS = ("ews is blocked", "exchangewebservicesdisabled", "ews has been disabled", "ews is disabled",
                   "ewsenabled", "ews access is blocked", "blocked by policy")
AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "kerberos": GSSAPI, "sspi": SSPI}
EXTRAS = {"kerberos": ("exchangelib[kerberos]", "requests_gssapi"), "sspi": ("exchangelib[sspi]",
                                                                           "requests_negotiate_sspi")}
#: Per-item errors worth trying again later (SMTP-style 450); any other per-item error is permanent (550).
TEMPORARY_ERRORS = frozenset({
    "ErrorServerBusy", "ErrorTimeoutExpired", "ErrorTooManyObjectsOpened", "ErrorInternalServerTransientError",
    "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "ErrorConnectionFailed",
    "ErrorBatchProcessingStopped", "ErrorExceededConnectionCount", "ErrorInternalServerError", "RateLimitError",
    "ErrorServerTemporaryError"})
#: Server ids that no longer lead to an item (deleted, or moved with its mailbox): look it up by tag.
GONE_ERRORS = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId",
                          "ErrorInvalidIdMalformedEwsLegacyIdFormat"})
BUSY_TYPES = {"Free": "free", "Tentative": "tentative", "Busy": "busy", "OOF": "oof",
               "WorkingElsewhere": "elsewhere", "NoData": "unknown"}
#: The fields we manage on a meeting; an update writes only those that changed.
MEETING_FIELDS = ("samtale_id", "subject", "start", "end", "location", "required_attendees", "optional_attendees",
                   "resources", "is_cancelled")

T = TypeVar("T")


# ---- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EwsSettings:
    """The validated `[ews]` section."""

    endpoint: str  # https://host/EWS/Exchange.asmx (http only for a loopback test server)
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


def _or(*choices: str) -> str:
    quoted = [f'"{c}"' for c in choices]
    return ", ".join(quoted[:-1]) + " " + tr("eller", "or") + " " + quoted[-1]


def _endpoint(server: str) -> str:
    """The EWS URL from a host name or a full URL; http is accepted for a loopback test server only."""
    example = tr('et vertsnavn som "mail.firma.no", eller hele adressen '
                 '"https://mail.firma.no/EWS/Exchange.asmx"',
                 'a host name such as "mail.firma.no", or the whole address "https://mail.firma.no/EWS/Exchange.asmx"')
    if "://" not in server:
        parts = urlsplit(f"https://{server}")
        if not parts.hostname or parts.path or parts.query or " " in server:
            raise bad_setting("ews", "server", server, example)
        return f"https://{server}/EWS/Exchange.asmx"
    parts = urlsplit(server)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise bad_setting("ews", "server", server, example)
    path = parts.path if parts.path not in ("", "/") else "/EWS/Exchange.asmx"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _folder_path(key: str, value: object, default: str) -> str:
    text = str(value if value is not None else default).strip().strip("/")
    if any(not part.strip() for part in text.split("/")) and text:
        raise bad_setting("ews", key, value, tr('et mappenavn, eller en sti under innboksen som "Samtaler/Svar"',
                                                 'a folder name, or a path below the inbox such as "Samtaler/Svar"'))
    return "/".join(part.strip() for part in text.split("/")) if text else ""


def _version(value: object) -> str:
    text = str(value).strip()
    if not text:
        return ""
    try:
        numbers = [int(part) for part in text.split(".")]
        if not 2 <= len(numbers) <= 4:
            raise ValueError(text)
        Version(build=Build(*numbers))
    except (ValueError, TypeError):
        raise bad_setting("ews", "version", value,
                          tr('Exchange-versjonen som tall, f.eks. "15.2" (Exchange 2019 og SE), '
                             '"15.1" (2016) eller "15.0" (2013)',
                             'the Exchange version as numbers, e.g. "15.2" (Exchange 2019 and SE), '
                             '"15.1" (2016) or "15.0" (2013)')) from None
    return text


def read_settings(config: Config) -> EwsSettings:
    """The `[ews]` settings, with defaults; ConfigError for a missing server or a bad value."""
    raw = (config.raw or {}).get("ews", {})
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    server = str(section.get("server", "")).strip()
    if not server:
        raise ConfigError(tr(f"Exchange-serveren (EWS) er ikke angitt i {TOML}.",
                             f"The Exchange (EWS) server is not set in {TOML}."),
                          hint=tr('Sett [ews] server, f.eks. server = "mail.firma.no".',
                                  'Set [ews] server, e.g. server = "mail.firma.no".'))
    auth = section.get("auth", "ntlm")
    if auth not in AUTH_KINDS:
        raise bad_setting("ews", "auth", auth, _or(*AUTH_KINDS))
    access = section.get("access", "delegate")
    if access not in ACCESS_KINDS:
        raise bad_setting("ews", "access", access, _or(*ACCESS_KINDS))
    chunk_size = section.get("chunk_size", DEFAULT_CHUNK_SIZE)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise bad_setting("ews", "chunk_size", chunk_size, tr(f"et helt tall fra 1 til {MAX_CHUNK_SIZE}, f.eks. 20",
                                                               f"a whole number from 1 to {MAX_CHUNK_SIZE}, e.g. 20"))
    max_wait = section.get("max_wait", DEFAULT_MAX_WAIT)
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait <= 0:
        raise bad_setting("ews", "max_wait", max_wait,
                          tr("et antall sekunder, f.eks. 300", "a number of seconds, e.g. 300"))
    done_folder = _folder_path("done_folder", section.get("done_folder"), DEFAULT_DONE_FOLDER)
    if not done_folder:
        raise bad_setting("ews", "done_folder", section.get("done_folder"),
                           tr(f'et mappenavn, f.eks. "{DEFAULT_DONE_FOLDER}"',
                              f'a folder name, e.g. "{DEFAULT_DONE_FOLDER}"'))
    return EwsSettings(endpoint=_endpoint(server), username=str(section.get("username", "")).strip(), auth=auth,
                       access=access, chunk_size=chunk_size, folder=_folder_path("folder", section.get("folder"), ""),
                       done_folder=done_folder, version=_version(section.get("version", "")),
                       max_wait=float(max_wait))


def missing_secret() -> ConfigError:
    """The error for a password that is nowhere to be found."""
    return ConfigError(
        tr(f"Fant ikke Exchange-passordet ({SECRET_NAME}).", f"The Exchange password ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre det i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. På en Windows-PC i domenet kan [ews] auth = "sspi" i {TOML} '
                "logge inn som den innloggede brukeren uten passord.",
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. On a Windows PC in the domain, [ews] auth = "sspi" in {TOML} '
                "logs in as the signed-in user without a password."))


def missing_extra(auth: str) -> ConfigError:
    extra, module = EXTRAS[auth]
    return ConfigError(
        tr(f'[ews] auth = "{auth}" trenger Python-pakken {module}, som ikke er installert.',
           f'[ews] auth = "{auth}" needs the Python package {module}, which is not installed.'),
        hint=tr(f'Installer den med `pip install "{extra}"`, eller bruk [ews] auth = "ntlm" i {TOML}. '
                "(Kerberos og SSPI er ikke prøvd mot en ekte server i denne versjonen.)",
                f'Install it with `pip install "{extra}"`, or use [ews] auth = "ntlm" in {TOML}. '
                "(Kerberos and SSPI have not been tried against a real server in this version.)"))
