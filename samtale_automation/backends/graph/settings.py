"""The `[graph]` settings in samtale.toml and the fixed values of Microsoft Graph the backend keeps to.

Split from graph.py so the settings (and their Norwegian errors naming the key) read on their own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from samtale_automation.config import bad_setting
from samtale_automation.errors import ConfigError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

if TYPE_CHECKING:

    from samtale_automation.config import Config


TAG_GUID = "c11ff724-aa03-4555-9952-8fa248a11c3e"
#: The named MAPI property holding `Meeting.key` (the same property the ews backend uses).
TAG_ID = f"String {{{TAG_GUID}}} Name samtale-id"
#: Graph does not take «Europe/Oslo»; this Windows zone has the same rules.
WINDOWS_ZONE = "W. Europe Standard Time"
PREFER = f'outlook.timezone="{WINDOWS_ZONE}", IdType="ImmutableId"'
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_FOLDER = "Inbox"
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
AUTH_KINDS = ("secret", "certificate", "device")
SECRET_NAME = "graph_client_secret"
CACHE_NAME = "graph_token_cache"
#: Requests per `$batch` (Graph's limit).
BATCH_LIMIT = 20
#: A `$batch` body stays under Graph's 4 MB request limit.
BATCH_BODY_LIMIT = 3_500_000
#: Files this large or larger go through an upload session instead of inline `contentBytes`.
INLINE_LIMIT = 3 * 1024 * 1024
#: Upload session ranges: at most 4 MB, a multiple of 320 KiB as the docs ask.
UPLOAD_CHUNK = 10 * 320 * 1024
#: Tag lookups merged into one filtered GET (keeps the URL well under 2 kB).
LOOKUP_KEYS = 8
#: getSchedule takes at most 20 people and a window shorter than 62 days.
SCHEDULE_PEOPLE = 20
SCHEDULE_WINDOW = dt.timedelta(days=61)
RETRY_DELAYS = (1.0, 4.0, 15.0)
THROTTLED = frozenset({429, 503, 504})
TIMEOUT = 60.0
#: Folder names Graph knows without a lookup (and Outlook's Norwegian name for the inbox).
WELL_KNOWN_FOLDERS = {"inbox": "inbox", "innboks": "inbox", "archive": "archive", "arkiv": "archive",
                      "drafts": "drafts", "sentitems": "sentitems", "deleteditems": "deleteditems",
                      "junkemail": "junkemail"}
#: Part size for the token cache in the keyring (Windows Credential Manager holds 2560 bytes of UTF-16).
CACHE_PART = 1000
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
EVENT_SELECT = "id,changeKey,subject,start,end,location,attendees,sensitivity,hasAttachments,isCancelled"
EVENT_EXPAND = f"attachments($select=id,name),singleValueExtendedProperties($filter=id eq '{TAG_ID}')"
TOML = "samtale.toml"
PERMISSIONS = "Calendars.ReadWrite, Mail.Send, Mail.ReadWrite"


# ---- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphSettings:
    """The validated `[graph]` section."""

    tenant_id: str = ""
    client_id: str = ""
    auth: str = "secret"  # secret | certificate | device
    certificate_path: str = ""
    folder: str = DEFAULT_FOLDER
    done_folder: str = DEFAULT_DONE_FOLDER
    base_url: str = DEFAULT_BASE_URL
    authority_host: str = DEFAULT_AUTHORITY_HOST
    max_wait: float = DEFAULT_MAX_WAIT

    @property
    def resource(self) -> str:
        """The Graph host tokens are for (`https://graph.microsoft.com`, or a national cloud's)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def authority(self) -> str:
        """The Entra ID authority URL for the tenant."""
        return f"{self.authority_host}/{self.tenant_id}"


def _missing_setting(key: str, example: str) -> ConfigError:
    return ConfigError(tr(f"[graph] {key} er ikke angitt i {TOML}.", f"[graph] {key} is not set in {TOML}."),
                       hint=tr(f"Sett [graph] {key}, f.eks. {key} = \"{example}\" (fra appregistreringen i Entra ID).",
                               f"Set [graph] {key}, e.g. {key} = \"{example}\" (from the app registration in "
                               "Entra ID)."))


def _url_setting(section: dict[str, Any], key: str, default: str, *, loopback_http: bool) -> str:
    value = section.get(key, default)
    text = str(value).strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (loopback_http and parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not (secure and parts.hostname):
        raise bad_setting("graph", key, value, tr(f'en https-adresse, f.eks. "{default}"',
                                                   f'an https address, e.g. "{default}"'))
    return text


def read_settings(config: Config) -> GraphSettings:
    """The `[graph]` settings, with defaults; ConfigError naming the key for a missing or bad value."""
    raw = (config.raw or {}).get("graph", {})
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    auth = section.get("auth", "secret")
    if auth not in AUTH_KINDS:
        raise bad_setting("graph", "auth", auth, '"secret", "certificate" ' + tr("eller", "or") + ' "device"')
    tenant = str(section.get("tenant_id", "")).strip()
    if not tenant:
        raise _missing_setting("tenant_id", "00000000-0000-0000-0000-000000000000")
    if not _TENANT.match(tenant):
        raise bad_setting("graph", "tenant_id", tenant, tr("katalog-ID-en (en GUID) eller domenet, f.eks. "
                                                            "firma.onmicrosoft.com", "the directory ID (a GUID) or the "
                                                            "domain, e.g. firma.onmicrosoft.com"))
    client = str(section.get("client_id", "")).strip()
    if not client:
        raise _missing_setting("client_id", "00000000-0000-0000-0000-000000000000")
    if not _GUID.match(client):
        raise bad_setting("graph", "client_id", client,
                          tr("program-ID-en (klient-ID) fra appregistreringen, en GUID",
                             "the application (client) ID from the app registration, a GUID"))
    certificate = str(section.get("certificate_path", "")).strip()
    if auth == "certificate" and not certificate:
        raise ConfigError(tr(f'[graph] auth = "certificate" trenger [graph] certificate_path i {TOML}.',
                             f'[graph] auth = "certificate" needs [graph] certificate_path in {TOML}.'),
                          hint=tr("Oppgi PEM-filen med sertifikatet og den private nøkkelen, f.eks. "
                                  'certificate_path = "samtale-app.pem".',
                                  "Give the PEM file holding the certificate and its private key, e.g. "
                                  'certificate_path = "samtale-app.pem".'))
    folders = {}
    for key, default in (("folder", DEFAULT_FOLDER), ("done_folder", DEFAULT_DONE_FOLDER)):
        value = section.get(key, default)
        if not isinstance(value, str) or not value.strip("/ "):
            raise bad_setting("graph", key, value,
                              tr(f'et mappenavn, f.eks. "{default}"', f'a folder name, e.g. "{default}"'))
        folders[key] = value.strip("/ ")
    max_wait = section.get("max_wait", DEFAULT_MAX_WAIT)
    if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait <= 0:
        raise bad_setting("graph", "max_wait", max_wait,
                          tr("et antall sekunder, f.eks. 300", "a number of seconds, e.g. 300"))
    return GraphSettings(tenant_id=tenant, client_id=client, auth=auth, certificate_path=certificate,
                         folder=folders["folder"], done_folder=folders["done_folder"],
                         base_url=_url_setting(section, "base_url", DEFAULT_BASE_URL, loopback_http=True),
                         authority_host=_url_setting(section, "authority_host", DEFAULT_AUTHORITY_HOST,
                                                     loopback_http=False),
                         max_wait=float(max_wait))


def missing_secret() -> ConfigError:
    """The error for an app-only login whose client secret is nowhere to be found."""
    return ConfigError(
        tr(f"Fant ikke klienthemmeligheten for Microsoft Graph ({SECRET_NAME}).",
           f"The client secret for Microsoft Graph ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre den i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. Med et sertifikat: sett [graph] auth = "certificate".',
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. With a certificate: set [graph] auth = "certificate".'))
