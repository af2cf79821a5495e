"""Tokens for Microsoft Graph through msal: client secret, certificate, or a delegated device-code login.

The device-code token cache lives in the OS keyring (never a file); login failures (AADSTS codes) are
explained in Norwegian with the `[graph]` setting or the secret to fix.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from samtale_automation.backends.graph.constants import (
    CACHE_NAME,
    CACHE_PART,
    PERMISSIONS,
    SECRET_NAME,
    TOML,
)
from samtale_automation.config.graph import DEFAULT_AUTHORITY_HOST, GraphSettings
from samtale_automation.errors import BackendError, ConfigError, MissingSecretError
from samtale_automation.secrets import SERVICE, env_name, get_secret, keyring_command
from samtale_automation.texts import tr

# ---- tokens ---------------------------------------------------------------------------------------

#: Entra ID error codes → (the setting to fix, Norwegian text, English text).
_AADSTS: dict[str, tuple[str, str, str]] = {
    "90002": ("tenant_id", "tenanten finnes ikke", "the tenant does not exist"),
    "900023": ("tenant_id", "tenant-ID-en er ugyldig", "the tenant ID is invalid"),
    "90013": ("tenant_id", "tenant-ID-en er ugyldig", "the tenant ID is invalid"),
    "50059": ("tenant_id", "tenanten kunne ikke bestemmes", "the tenant could not be determined"),
    "700016": ("client_id", "appen finnes ikke i denne tenanten", "the app does not exist in this tenant"),
    "7000215": ("secret", "klienthemmeligheten er feil", "the client secret is wrong"),
    "7000222": ("secret", "klienthemmeligheten er utløpt", "the client secret has expired"),
    "700027": ("certificate_path", "sertifikatet er ikke registrert på appen eller signaturen er feil",
               "the certificate is not registered on the app or the signature is wrong"),
    "700024": ("certificate_path", "sertifikat-påstanden er utenfor gyldighetstiden",
               "the certificate assertion is outside its validity period"),
    "7000218": ("auth", "appen tillater ikke offentlige klientflyter (enhetskode)",
                "the app does not allow public client flows (device code)"),
    "65001": ("consent", "appen mangler samtykke til tillatelsene", "the app lacks consent to the permissions"),
    "50126": ("user", "brukernavnet eller passordet er feil", "the user name or password is wrong"),
    "53003": ("user", "betinget tilgang stoppet innloggingen", "conditional access blocked the sign-in"),
    "70020": ("user", "innloggingen ble ikke fullført i tide", "the sign-in was not completed in time"),
}


def missing_secret() -> MissingSecretError:
    """The error for an app-only login whose client secret is nowhere to be found."""
    return MissingSecretError(
        tr(f"Fant ikke klienthemmeligheten for Microsoft Graph ({SECRET_NAME}).",
           f"The client secret for Microsoft Graph ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre den i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. Med et sertifikat: sett [graph] auth = "certificate".',
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. With a certificate: set [graph] auth = "certificate".'))


def explain_login(settings: GraphSettings, error: str, description: str) -> BackendError:
    """A Norwegian (or English) error for a failed Entra ID login, naming the setting or secret to fix."""
    first_line = (description or error).strip().splitlines()[0] if (description or error).strip() else error
    match = re.search(r"AADSTS(\d+)", description or "")
    setting, nb, en = _AADSTS.get(match.group(1) if match else "", ("", "", ""))
    if not setting and error == "expired_token":
        setting, nb, en = _AADSTS["70020"]
    if not setting and error == "invalid_tenant":
        setting, nb, en = "tenant_id", "tenanten ble ikke funnet", "the tenant was not found"
    where = f"{TOML}"
    hints = {
        "tenant_id": (f"Rett [graph] tenant_id i {where}: katalog-ID-en (tenant-ID) fra Entra ID, eller domenet "
                      "(firma.onmicrosoft.com).",
                      f"Correct [graph] tenant_id in {where}: the directory (tenant) ID from Entra ID, or the domain "
                      "(firma.onmicrosoft.com)."),
        "client_id": (f"Rett [graph] client_id i {where}: program-ID-en (klient-ID) fra appregistreringen; kontroller "
                      "også [graph] tenant_id.",
                      f"Correct [graph] client_id in {where}: the application (client) ID of the app registration; "
                      "check [graph] tenant_id too."),
        "secret": (f"Lag en ny klienthemmelighet i appregistreringen og lagre verdien (ikke ID-en) som {SECRET_NAME}: "
                   f"miljøvariabelen {env_name(SECRET_NAME)} eller `{keyring_command(SECRET_NAME)}`.",
                   f"Create a new client secret in the app registration and store its value (not its ID) as "
                   f"{SECRET_NAME}: the environment variable {env_name(SECRET_NAME)} or "
                   f"`{keyring_command(SECRET_NAME)}`."),
        "certificate_path": (f"Last opp sertifikatet i [graph] certificate_path ({settings.certificate_path}) til "
                             "appregistreringen (Sertifikater og hemmeligheter), eller rett stien.",
                             f"Upload the certificate in [graph] certificate_path ({settings.certificate_path}) to the "
                             "app registration (Certificates & secrets), or correct the path."),
        "auth": ('Slå på «Tillat offentlige klientflyter» i appregistreringen, eller bruk [graph] auth = "secret" '
                 'eller "certificate".',
                 'Turn on «Allow public client flows» in the app registration, or use [graph] auth = "secret" or '
                 '"certificate".'),
        "consent": (f"En administrator må gi samtykke til tillatelsene ({PERMISSIONS}) for appen i Entra ID.",
                    f"An administrator must grant consent to the permissions ({PERMISSIONS}) for the app in Entra "
                    "ID."),
        "user": ("Logg inn på nytt med en bruker som har tilgang til postkassen.",
                 "Sign in again with a user who has access to the mailbox."),
    }
    hint_nb, hint_en = hints.get(setting, (
        f"Kontroller [graph] tenant_id, client_id og auth i {where} og hemmeligheten {SECRET_NAME}.",
        f"Check [graph] tenant_id, client_id and auth in {where} and the secret {SECRET_NAME}."))
    reason_nb = f": {nb}" if nb else ""
    reason_en = f": {en}" if en else ""
    return BackendError(tr(f"Innloggingen i Microsoft Entra ID mislyktes{reason_nb} ({first_line}).",
                           f"Signing in to Microsoft Entra ID failed{reason_en} ({first_line})."),
                        hint=tr(hint_nb, hint_en))


def load_token_cache() -> str | None:
    """The serialized msal token cache from the keyring (split into parts where it is long)."""
    stored = get_secret(CACHE_NAME)
    if not stored:
        return None
    if stored.startswith("parts:"):
        try:
            count = int(stored.removeprefix("parts:"))
        except ValueError:
            return None
        pieces = [get_secret(f"{CACHE_NAME}.{n}") for n in range(1, count + 1)]
        if any(p is None for p in pieces):
            return None
        stored = "".join(p or "" for p in pieces)
    try:
        return zlib.decompress(base64.b64decode(stored.removeprefix("z:"))).decode("utf-8")
    except (ValueError, zlib.error):
        return None


def store_token_cache(serialized: str, *, stderr: IO[str] | None = None) -> bool:
    """Keep the msal token cache in the OS keyring (compressed, in parts that fit Windows' limit)."""
    packed = "z:" + base64.b64encode(zlib.compress(serialized.encode("utf-8"), 9)).decode("ascii")
    entries = {CACHE_NAME: packed}
    if len(packed) > CACHE_PART:
        parts = [packed[i:i + CACHE_PART] for i in range(0, len(packed), CACHE_PART)]
        entries = {CACHE_NAME: f"parts:{len(parts)}", **{f"{CACHE_NAME}.{n}": p for n, p in enumerate(parts, 1)}}
    try:
        import keyring

        for name, value in entries.items():
            keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # any keyring failure: the login works for this run, the next one asks again
        print(tr(f"Advarsel: innloggingen kunne ikke lagres i nøkkelringen ({type(exc).__name__}); du blir bedt om å "
                 "logge inn igjen neste gang.",
                 f"Warning: the sign-in could not be stored in the keyring ({type(exc).__name__}); you will be asked "
                 "to sign in again next time."), file=stderr or sys.stderr)
        return False
    return True


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate with its private key, and the thumbprint Entra ID shows for it."""

    private_key: str
    public_certificate: str
    thumbprint: str  # SHA-1, upper-case hex, as in the app registration

    def __repr__(self) -> str:  # never the key
        return f"Certificate({self.thumbprint})"


def read_certificate(path: Path) -> Certificate:
    """The certificate and private key in a PEM file; ConfigError naming [graph] certificate_path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    def bad(reason_nb: str, reason_en: str) -> ConfigError:
        return ConfigError(tr(f"[graph] certificate_path ({path}) kan ikke brukes: {reason_nb}.",
                              f"[graph] certificate_path ({path}) cannot be used: {reason_en}."),
                           hint=tr("Oppgi en PEM-fil med både sertifikatet (BEGIN CERTIFICATE) og den private nøkkelen "
                                   "(BEGIN PRIVATE KEY).",
                                   "Give a PEM file holding both the certificate (BEGIN CERTIFICATE) and the private "
                                   "key (BEGIN PRIVATE KEY)."))
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"filen kan ikke leses ({type(exc).__name__})",
                  f"the file cannot be read ({type(exc).__name__})") from None
    certificate = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    key = re.search(r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE "
                    r"KEY-----", text, re.S)
    if certificate is None or key is None:
        raise bad("sertifikatet eller den private nøkkelen mangler", "the certificate or the private key is missing")
    try:
        parsed = x509.load_pem_x509_certificate(certificate.group(0).encode("ascii"))
    except ValueError:
        raise bad("sertifikatet er ugyldig", "the certificate is invalid") from None
    return Certificate(key.group(0), certificate.group(0), parsed.fingerprint(hashes.SHA1()).hex().upper())


def _discovery_error(exc: BaseException) -> str:
    """Entra ID's own words from a failed tenant discovery (msal wraps them in a generic ValueError)."""
    for error in (exc.__context__, exc.__cause__, exc):
        text = str(error or "")
        start = text.find("{")
        if start >= 0:
            try:
                data = json.loads(text[start:])
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("error_description"):
                return str(data["error_description"])
    return str(exc)


class MsalTokens:
    """Access tokens from msal: app-only (client secret or certificate) or delegated (device code).

    msal keeps tokens in its cache and renews them before they expire, so asking for one before every
    request costs nothing. The device-code login's cache lives in the OS keyring.
    """

    def __init__(self, settings: GraphSettings, *, secret: str | None = None, certificate: Certificate | None = None,
                 session: requests.Session | None = None, stderr: IO[str] | None = None) -> None:
        self.settings = settings
        self._secret = secret
        self._certificate = certificate
        self._session = session or requests.Session()
        self._stderr = stderr
        self._app: Any = None
        self._cache: Any = None
        self._user = ""

    def __repr__(self) -> str:  # no secret in reprs
        return f"MsalTokens({self.settings.auth}, {self.settings.client_id})"

    @property
    def scopes(self) -> list[str]:
        """App-only: the resource's `.default`; delegated: what samtale does, in the user's name."""
        resource = self.settings.resource
        if self.settings.auth != "device":
            return [f"{resource}/.default"]
        return [f"{resource}/{scope}" for scope in ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared", "Mail.Send",
                                                    "Mail.Send.Shared", "Mail.ReadWrite", "Mail.ReadWrite.Shared")]

    def describe(self) -> str:
        """Who we are logged in as, for `probe`."""
        if self.settings.auth == "device":
            return tr(f"brukeren {self._user or '?'}", f"the user {self._user or '?'}")
        via = tr("sertifikat", "certificate") if self._certificate else tr("klienthemmelighet", "client secret")
        extra = f" {self._certificate.thumbprint}" if self._certificate else ""
        return tr(f"app {self.settings.client_id} ({via}{extra})", f"app {self.settings.client_id} ({via}{extra})")

    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        import msal

        s = self.settings
        common: dict[str, Any] = {"authority": s.authority, "http_client": self._session,
                                  # Known Microsoft hosts need no discovery; any other host is trusted as configured.
                                  "instance_discovery": False}
        try:
            if s.auth == "device":
                self._cache = msal.SerializableTokenCache()
                stored = load_token_cache()
                if stored:
                    self._cache.deserialize(stored)
                self._app = msal.PublicClientApplication(s.client_id, token_cache=self._cache, **common)
            else:
                credential: Any = self._secret
                if self._certificate is not None:
                    credential = {"private_key": self._certificate.private_key,
                                  "public_certificate": self._certificate.public_certificate}
                self._app = msal.ConfidentialClientApplication(s.client_id, client_credential=credential, **common)
        except ValueError as exc:  # msal's tenant discovery failed: a wrong tenant or authority host
            raise explain_login(s, "invalid_tenant", _discovery_error(exc)) from None
        return self._app

    def __call__(self) -> str:
        """A valid access token; BackendError explaining a failed login."""
        try:
            app = self._application()
            result = self._device(app) if self.settings.auth == "device" else app.acquire_token_for_client(self.scopes)
        except requests.RequestException as exc:
            raise BackendError(
                tr(f"Fikk ikke kontakt med Microsoft Entra ID ({self.settings.authority_host}): {type(exc).__name__}.",
                   f"Could not reach Microsoft Entra ID ({self.settings.authority_host}): {type(exc).__name__}."),
                hint=tr(f"Kontroller nettverket og [graph] authority_host i {TOML} (standard "
                        f"{DEFAULT_AUTHORITY_HOST}).",
                        f"Check the network and [graph] authority_host in {TOML} (default "
                        f"{DEFAULT_AUTHORITY_HOST}).")) from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            description = str(result.get("error_description", ""))
            if self._secret:
                description = description.replace(self._secret, "***")
            raise explain_login(self.settings, str(result.get("error", "")), description)
        return str(result["access_token"])

    def _device(self, app: Any) -> dict[str, Any]:
        for account in app.get_accounts():
            result = app.acquire_token_silent(self.scopes, account=account)
            if result and "access_token" in result:
                self._user = str(account.get("username", ""))
                self._save()
                return dict(result)
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            return dict(flow)
        print(flow.get("message", ""), file=self._stderr or sys.stderr, flush=True)
        result = app.acquire_token_by_device_flow(flow)
        claims = result.get("id_token_claims") or {}
        self._user = str(claims.get("preferred_username", ""))
        self._save()
        return dict(result)

    def _save(self) -> None:
        changed = self._cache is not None and self._cache.has_state_changed
        if changed and store_token_cache(self._cache.serialize(), stderr=self._stderr):
            self._cache.has_state_changed = False
