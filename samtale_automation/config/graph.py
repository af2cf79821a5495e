"""The `[graph]` section: the Entra app samtale signs in as, the mail folders, and the Graph endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from samtale_automation.config.reader import Section
from samtale_automation.texts import tr

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_FOLDER = "Inbox"
DEFAULT_DONE_FOLDER = "Samtale behandlet"
DEFAULT_MAX_WAIT = 300.0
AUTH_KINDS = ("secret", "certificate", "device")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_EXAMPLE_ID = "00000000-0000-0000-0000-000000000000"


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


def _app_id(section: Section, key: str, pattern: re.Pattern[str], allowed: str) -> str:
    """tenant_id or client_id: required, and of its form."""
    value = section.required_text(key, tr("er ikke angitt", "is not set"),
                                  tr(f'Sett [graph] {key}, f.eks. {key} = "{_EXAMPLE_ID}" (fra appregistreringen i '
                                     "Entra ID).",
                                     f'Set [graph] {key}, e.g. {key} = "{_EXAMPLE_ID}" (from the app registration in '
                                     "Entra ID)."))
    if value and not pattern.match(value):
        section.bad(key, allowed)
        return ""
    return value


def _url(section: Section, key: str, default: str, *, loopback_http: bool) -> str:
    value = section.values.get(key, default)
    text = value.strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (loopback_http and parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not (secure and parts.hostname):
        section.bad(key, tr(f'en https-adresse, f.eks. "{default}"', f'an https address, e.g. "{default}"'))
        return default
    return text


def _folder(section: Section, key: str, default: str) -> str:
    value = section.values.get(key, default)
    if not isinstance(value, str) or not value.strip("/ "):
        section.bad(key, tr(f'et mappenavn, f.eks. "{default}"', f'a folder name, e.g. "{default}"'))
        return default
    return value.strip("/ ")


def read_graph(section: Section) -> GraphSettings | None:
    """The `[graph]` settings; None when the app ids are missing or a value is bad (recorded in `section`)."""
    auth = section.choice("auth", AUTH_KINDS, "secret")
    tenant = _app_id(section, "tenant_id", _TENANT,
                     tr("katalog-ID-en (en GUID) eller domenet, f.eks. firma.onmicrosoft.com",
                        "the directory ID (a GUID) or the domain, e.g. firma.onmicrosoft.com"))
    client = _app_id(section, "client_id", _GUID, tr("program-ID-en (klient-ID) fra appregistreringen, en GUID",
                                                     "the application (client) ID from the app registration, a GUID"))
    certificate = section.text("certificate_path")
    if auth == "certificate" and not certificate:
        section.problem("certificate_path", tr('[graph] auth = "certificate" trenger certificate_path',
                                               '[graph] auth = "certificate" needs certificate_path'),
                        tr("Oppgi PEM-filen med sertifikatet og den private nøkkelen, f.eks. "
                           'certificate_path = "samtale-app.pem".',
                           "Give the PEM file holding the certificate and its private key, e.g. "
                           'certificate_path = "samtale-app.pem".'))
    folder = _folder(section, "folder", DEFAULT_FOLDER)
    done_folder = _folder(section, "done_folder", DEFAULT_DONE_FOLDER)
    max_wait = section.seconds("max_wait", DEFAULT_MAX_WAIT, 300)
    base_url = _url(section, "base_url", DEFAULT_BASE_URL, loopback_http=True)
    authority_host = _url(section, "authority_host", DEFAULT_AUTHORITY_HOST, loopback_http=False)
    if not section.usable:
        return None
    return GraphSettings(tenant_id=tenant, client_id=client, auth=auth, certificate_path=certificate, folder=folder,
                         done_folder=done_folder, base_url=base_url, authority_host=authority_host, max_wait=max_wait)

