"""The ews backend's connection to Exchange, and the words for why it could not be made.

`EwsConnection` holds the exchangelib Configuration and one Account per mailbox, our TLS context on
their sessions and our retry policy (`Patience`), and explains the errors that stop a run
(BackendError naming the setting to fix, the advice to use graph on Microsoft 365). The backend
(backend.py, item_requests.py) and the mailbox side (mailbox.py) are both given one, so every
message a user sees about a failed connection is in this one place.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSTimeZone,
    Mailbox,
    Version,
)
from exchangelib.errors import UnauthorizedError
from exchangelib.folders import Calendar, Inbox, Root, SentItems
from exchangelib.properties import DistinguishedFolderId
from exchangelib.protocol import Protocol
from exchangelib.transport import AUTH_TYPE_MAP

from samtale_automation.backends.ews.constants import AUTH_TYPES, EXTRAS, SECRET_NAME, TOML
from samtale_automation.backends.ews.protocol import (
    MailboxAccess,
    Patience,
    distinguished_folder,
    graph_advice,
    http_status,
    is_blocked,
    is_dns_failure,
    is_refused,
    is_tls_failure,
    register_tag,
)
from samtale_automation.backends.tls import ContextAdapter
from samtale_automation.config import EwsSettings
from samtale_automation.domain.messages import BackendStats, Person
from samtale_automation.errors import BackendError, ConfigError, MissingSecretError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr


def missing_secret() -> MissingSecretError:
    """The error for a password that is nowhere to be found."""
    return MissingSecretError(
        tr(f"Fant ikke Exchange-passordet ({SECRET_NAME}).", f"The Exchange password ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre det i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. På en Windows-PC i domenet kan [ews] auth = "sspi" i {TOML} '
                "logge inn som den innloggede brukeren uten passord.",
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. On a Windows PC in the domain, [ews] auth = "sspi" in {TOML} '
                "logs in as the signed-in user without a password."))


def missing_extra(auth: str) -> ConfigError:
    """The error for Kerberos or SSPI without the package exchangelib needs for it."""
    extra, module = EXTRAS[auth]
    return ConfigError(
        tr(f'[ews] auth = "{auth}" trenger Python-pakken {module}, som ikke er installert.',
           f'[ews] auth = "{auth}" needs the Python package {module}, which is not installed.'),
        hint=tr(f'Installer den med `pip install "{extra}"`, eller bruk [ews] auth = "ntlm" i {TOML}. '
                "(Kerberos og SSPI er ikke prøvd mot en ekte server i denne versjonen.)",
                f'Install it with `pip install "{extra}"`, or use [ews] auth = "ntlm" in {TOML}. '
                "(Kerberos and SSPI have not been tried against a real server in this version.)"))


class EwsConnection:
    """The login to one Exchange server, the mailboxes reached through it, and why a request failed."""

    def __init__(self, settings: EwsSettings, mailbox: Person, secret: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> None:
        if settings.auth in EXTRAS and AUTH_TYPES[settings.auth] not in AUTH_TYPE_MAP:
            raise missing_extra(settings.auth)
        if settings.needs_password and not secret:
            raise missing_secret()
        self.settings = settings
        self.mailbox = mailbox
        self.username = settings.username or mailbox.email
        self.stats = BackendStats()
        self.zone = EWSTimeZone("Europe/Oslo")
        self._secret = secret or ""
        self._ssl_context = ssl_context
        self._mailboxes: dict[str, MailboxAccess] = {}
        self._configuration: Any = None
        self._policy = Patience(settings.max_wait, sleep, self.stats)
        register_tag()
        # exchangelib logs request headers at DEBUG, and a Basic login header carries the password.
        util_log = logging.getLogger("exchangelib.util")
        if util_log.getEffectiveLevel() < logging.INFO:
            util_log.setLevel(logging.INFO)

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"EwsConnection({self.settings.endpoint}, {self.settings.auth}, {self.username})"

    # ---- connecting ---------------------------------------------------------------------------

    def _config(self) -> Any:
        if self._configuration is None:
            s = self.settings
            credentials = Credentials(self.username, self._secret) if s.needs_password else None
            version = Version(build=Build(*(int(p) for p in s.version.split(".")))) if s.version else None
            self._configuration = Configuration(service_endpoint=s.endpoint, credentials=credentials,
                                                auth_type=AUTH_TYPES[s.auth], version=version,
                                                retry_policy=self._policy, max_connections=1)
            # exchangelib keeps one Protocol per endpoint and login for the whole process; ours carries our
            # retry policy (and sleep), so a Protocol left by an earlier backend must not be reused.
            with contextlib.suppress(KeyError):
                del Protocol[self._configuration]
        return self._configuration

    def box(self, address: str) -> MailboxAccess:
        """The mailbox (an Account) for an address, made once; making it sends nothing."""
        key = address.casefold()
        if key not in self._mailboxes:
            access = IMPERSONATION if self.settings.access == "impersonation" else DELEGATE
            account = Account(address, config=self._config(), access_type=access, autodiscover=False,
                              default_timezone=self.zone)
            self._sessions(account.protocol)
            root = Root(account=account, _distinguished_id=DistinguishedFolderId(
                id=Root.DISTINGUISHED_FOLDER_ID, mailbox=Mailbox(email_address=account.primary_smtp_address)))
            box = MailboxAccess(account, distinguished_folder(account, Calendar, root),
                                distinguished_folder(account, SentItems, root),
                                distinguished_folder(account, Inbox, root))
            # Account.root, .calendar, .sent and .inbox would each ask the server (GetFolder) on first use, also
            # inside exchangelib; a well-known folder is addressed by its name and mailbox just as well.
            account.__dict__.update(root=root, calendar=box.calendar, sent=box.sent, inbox=box.inbox)
            self._mailboxes[key] = box
        return self._mailboxes[key]

    def _sessions(self, protocol: Any) -> None:
        """Count the Protocol's sessions (one connection each), and for https verify the server with our SSL
        context: the OS's CAs (where a company CA lives, unlike requests' own list), or a test CA."""
        if getattr(protocol, "_samtale_sessions", False):
            return
        context = self._ssl_context or ssl.create_default_context()
        tls = urlsplit(self.settings.endpoint).scheme == "https"
        make = protocol.raw_session

        def raw_session(prefix: str, **kwargs: Any) -> Any:
            session = make(prefix, **kwargs)
            if tls:
                # one connection, no urllib3 retries: exchangelib does its own (and NTLM needs one socket)
                session.mount(prefix, ContextAdapter(context, pool_connections=1, pool_maxsize=1, max_retries=0,
                                                     pool_block=True))
            self.stats.connections += 1
            return session

        protocol.raw_session = raw_session  # the Protocol makes its sessions through this
        protocol._samtale_sessions = True

    def close(self) -> None:
        """Close the connections and forget the cached Protocol."""
        for box in self._mailboxes.values():
            with contextlib.suppress(Exception):  # closing must never fail a run that worked
                box.account.protocol.close()
        if self._configuration is not None:
            with contextlib.suppress(KeyError):
                del Protocol[self._configuration]
        self._mailboxes.clear()

    # ---- explaining failures ------------------------------------------------------------------

    def fatal(self, exc: BaseException) -> BackendError | None:
        """The error to stop the run with, when the settings (or Microsoft 365) cannot work at all."""
        name = type(exc).__name__
        if isinstance(exc, UnauthorizedError) or is_blocked(exc) or is_tls_failure(exc) or is_dns_failure(exc):
            return self.explain(exc)
        if name in ("RedirectError", "CASError", "RateLimitError") or http_status(exc) in (403, 404, 405):
            return self.explain(exc)  # RateLimitError: busy beyond [ews] max_wait; the next batch would wait too
        if not self._policy.answered and (is_refused(exc) or name in ("ErrorTimeoutExpired", "TransportError",
                                                                        "MalformedResponseError")):
            return self.explain(exc)  # never got through: not a passing outage
        return None

    def scrub(self, text: str) -> str:
        """The text without the password, should a server or a library ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    def explain(self, exc: BaseException) -> BackendError:
        """A Norwegian (or English) error naming the setting to fix; for Microsoft 365, the advice to use graph."""
        error = self._describe(exc)
        if self.settings.microsoft_365 and "graph" not in error.hint:
            error.hint = f"{error.hint} {graph_advice()}".strip()
        return error

    def _describe(self, exc: BaseException) -> BackendError:
        s = self.settings
        host = s.host
        detail = self.scrub(str(exc))[:300] or type(exc).__name__
        name = type(exc).__name__
        if is_blocked(exc):
            return BackendError(tr(f"Exchange-serveren {host} sperrer EWS ({detail}).",
                                   f"The Exchange server {host} blocks EWS ({detail})."), hint=graph_advice())
        hint_nb = f"Kontroller [ews] server i {TOML} og nettverket."
        hint_en = f"Check [ews] server in {TOML} and the network."
        if isinstance(exc, UnauthorizedError):
            if s.needs_password:
                hint_nb = (f"Kontroller [ews] username i {TOML} (DOMENE\\bruker, UPN eller adresse), [ews] auth "
                           f'("{s.auth}") og passordet ({SECRET_NAME}: miljøvariabelen {env_name(SECRET_NAME)} '
                           f"eller `{keyring_command(SECRET_NAME)}`).")
                hint_en = (f"Check [ews] username in {TOML} (DOMAIN\\user, UPN or address), [ews] auth "
                           f'("{s.auth}") and the password ({SECRET_NAME}: the environment variable '
                           f"{env_name(SECRET_NAME)} or `{keyring_command(SECRET_NAME)}`).")
            else:
                hint_nb = (f'Med [ews] auth = "{s.auth}" logger du inn som den påloggede Windows-brukeren; kontroller '
                           f'at den har tilgang, eller bruk auth = "ntlm" med [ews] username og {SECRET_NAME}.')
                hint_en = (f'With [ews] auth = "{s.auth}" you log in as the signed-in Windows user; check that it has '
                           f'access, or use auth = "ntlm" with [ews] username and {SECRET_NAME}.')
            return BackendError(tr(f"Exchange-serveren {host} godtok ikke innloggingen for «{self.username}» "
                                   f"({s.auth}).", f"The Exchange server {host} refused the login for "
                                   f"«{self.username}» ({s.auth})."), hint=tr(hint_nb, hint_en))
        if is_dns_failure(exc):
            return BackendError(tr(f"Fant ikke Exchange-serveren «{host}».", f"The Exchange server «{host}» was not "
                                   "found."), hint=tr(f"Rett [ews] server i {TOML}, og kontroller nettverket.",
                                                      f"Correct [ews] server in {TOML}, and check the network."))
        if is_tls_failure(exc):
            return BackendError(
                tr(f"TLS mot Exchange-serveren {host} mislyktes: sertifikatet kunne ikke godkjennes ({detail}).",
                   f"TLS with the Exchange server {host} failed: the certificate could not be verified ({detail})."),
                hint=tr(f"Kontroller [ews] server i {TOML}: navnet må være det som står i serverens sertifikat, "
                        "og sertifikatutstederen må være godkjent i operativsystemet.",
                        f"Check [ews] server in {TOML}: the name must be the one in the server's certificate, and "
                        "its issuer must be trusted by the operating system."))
        if is_refused(exc):
            return BackendError(tr(f"Exchange-serveren {host} avviste tilkoblingen.",
                                   f"The Exchange server {host} refused the connection."),
                                hint=tr(f"Kontroller [ews] server (og eventuelt port) i {TOML}, og at brannmuren "
                                        "slipper gjennom.", f"Check [ews] server (and any port) in {TOML}, and that "
                                        "the firewall lets it through."))
        if name in ("RedirectError", "CASError") or http_status(exc) in (404, 405):
            return BackendError(tr(f"{s.endpoint} svarer ikke som en EWS-tjeneste ({detail}).",
                                   f"{s.endpoint} does not answer as an EWS service ({detail})."),
                                hint=tr(f'Sett [ews] server i {TOML} til vertsnavnet ("mail.firma.no") eller hele '
                                        'adressen til EWS, "https://mail.firma.no/EWS/Exchange.asmx".',
                                        f'Set [ews] server in {TOML} to the host name ("mail.firma.no") or the whole '
                                        'EWS address, "https://mail.firma.no/EWS/Exchange.asmx".'))
        if name == "RateLimitError" or name == "ErrorServerBusy":
            return BackendError(tr(f"Exchange-serveren {host} er opptatt og svarte ikke innen {s.max_wait:g} "
                                   "sekunder.", f"The Exchange server {host} is busy and did not answer within "
                                   f"{s.max_wait:g} seconds."),
                                hint=tr(f"Prøv igjen senere, eller øk [ews] max_wait i {TOML}.",
                                        f"Try again later, or raise [ews] max_wait in {TOML}."))
        if name == "ErrorNonExistentMailbox" or name == "ErrorFolderNotFound":
            return BackendError(tr(f"Postkassen {self.mailbox.email} finnes ikke på Exchange-serveren {host} "
                                   f"({detail}).", f"The mailbox {self.mailbox.email} does not exist on the "
                                   f"Exchange server {host} ({detail})."),
                                hint=tr(f"Rett [mail] mailbox i {TOML}.", f"Correct [mail] mailbox in {TOML}."))
        if name in ("ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorImpersonationDenied", "ErrorNotDelegate",
                    "ErrorSendAsDenied"):
            access_nb = ("ApplicationImpersonation-rollen" if s.access == "impersonation" else
                         "full tilgang (FullAccess) og «Send som» til postkassen")
            access_en = ("the ApplicationImpersonation role" if s.access == "impersonation" else
                         "full access (FullAccess) and Send As on the mailbox")
            return BackendError(tr(f"«{self.username}» har ikke tilgang til postkassen {self.mailbox.email} "
                                   f"({detail}).", f"«{self.username}» has no access to the mailbox "
                                   f"{self.mailbox.email} ({detail})."),
                                hint=tr(f"Be Exchange-administratoren gi «{self.username}» {access_nb}, eller rett "
                                        f'[ews] access ("delegate" eller "impersonation") i {TOML}.',
                                        f"Ask the Exchange administrator to give «{self.username}» {access_en}, or "
                                        f'correct [ews] access ("delegate" or "impersonation") in {TOML}.'))
        return BackendError(tr(f"Kunne ikke bruke Exchange-serveren {host} ({detail}).",
                               f"Could not use the Exchange server {host} ({detail})."), hint=tr(hint_nb, hint_en))
