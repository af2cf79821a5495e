"""The one SMTP connection of a run: opened on first use (EHLO, STARTTLS or implicit TLS, AUTH by
password or XOAUTH2), reused until `drop`, and explained in words naming the setting to fix when it
cannot be opened. The password or token never appears in a message.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import ssl

from samtale_automation.backends.smtp.network_errors import explain_network
from samtale_automation.config import SmtpSettings
from samtale_automation.domain.messages import BackendStats, Failure
from samtale_automation.errors import BackendError, MissingSecretError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

_TOML = "samtale.toml"


class Temporary(Exception):
    """The whole transaction failed in a way worth retrying (4xx, or no answer: code 0)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.settled: tuple[Failure, ...] = ()  # recipients already failed for good, whatever the retries do


def missing_secret(settings: SmtpSettings) -> MissingSecretError:
    """The error for a login whose password or token is nowhere to be found."""
    name = settings.secret_name or ""
    what_nb, what_en = ("passordet", "password") if settings.auth == "password" else ("OAuth-tokenet", "OAuth token")
    return MissingSecretError(
        tr(f"Fant ikke SMTP-{what_nb} ({name}).", f"The SMTP {what_en} ({name}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(name)}, eller lagre det i nøkkelringen med `{keyring_command(name)}`. "
                f'Trenger serveren ingen innlogging, sett [smtp] auth = "none" i {_TOML}.',
                f"Set the environment variable {env_name(name)}, or store it in the keyring with "
                f'`{keyring_command(name)}`. If the server needs no login, set [smtp] auth = "none" in {_TOML}.'))


def b64(text: str) -> str:
    """UTF-8 text in base64, as SASL wants it."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def network_trouble(exc: BaseException) -> bool:
    """A lost or failed connection rather than a server's answer (SMTPException is an OSError too)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)


def reply_text(reply: bytes | str) -> str:
    """A server's reply as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpConnection:
    """Open, reuse and close the SMTP connection; BackendError (or Temporary, after it worked) when it fails."""

    def __init__(self, settings: SmtpSettings, username: str, secret: str, stats: BackendStats, *,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.username = username
        self.stats = stats
        self._secret = secret
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._connected_before = False
        self._phase = "connect"  # connect | starttls | auth: where opening a connection got to

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"SmtpConnection({self.settings.host}:{self.settings.port}, {self.settings.security}, {self.username})"

    def get(self) -> smtplib.SMTP:
        """The open connection, or a new one; BackendError when the settings cannot work."""
        if self._smtp is not None:
            return self._smtp
        try:
            self._smtp = self._open()
        except (smtplib.SMTPException, OSError) as exc:
            refused_login = self._phase == "auth" and not network_trouble(exc)
            lasting = refused_login or isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError)
            if self._connected_before and not lasting:  # it worked before: a passing outage
                code, reply = (exc.smtp_code, reply_text(exc.smtp_error)) if isinstance(
                    exc, smtplib.SMTPResponseException) else (0, str(exc))
                raise Temporary(code if 400 <= code < 500 else 0, self.scrub(reply) or type(exc).__name__) from exc
            raise self._explain(exc, self._phase) from None
        self._connected_before = True
        self.stats.connections += 1
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        """Connect, say EHLO, secure and log in; `_phase` tells how far it got."""
        s = self.settings
        self._phase = "connect"
        if s.security == "none":
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        else:
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._ssl_context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                self._phase = "starttls"
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if s.auth != "none":
                self._phase = "auth"
                if not smtp.has_extn("auth"):
                    raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
                if s.auth == "xoauth2":
                    self._xoauth2(smtp)
                else:
                    self._login(smtp)
        except BaseException as exc:
            if isinstance(exc, smtplib.SMTPException) and not network_trouble(exc):
                with contextlib.suppress(OSError):
                    smtp.quit()  # the server still listens: end the session politely
            smtp.close()
            raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        """Log in with the password; a non-ASCII one (æøå) as UTF-8, which smtplib cannot send."""
        user, password = self.username, self._secret
        if (user + password).isascii():
            smtp.login(user, password)
            return
        # RFC 4616: PLAIN is UTF-8; servers (Exchange, Postfix/Dovecot) read LOGIN the same way.
        offered = str(smtp.esmtp_features.get("auth", "")).upper().split()
        if "PLAIN" in offered:
            code, reply = smtp.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
        elif "LOGIN" in offered:
            code, reply = smtp.docmd("AUTH", "LOGIN " + b64(user))
            if code == 334:
                code, reply = smtp.docmd(b64(password))
        else:
            raise smtplib.SMTPException("No suitable authentication method found.")
        if code not in (235, 503):  # 503: already logged in
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _xoauth2(self, smtp: smtplib.SMTP) -> None:
        """AUTH XOAUTH2 (mail.md §3.7), sent by hand: smtplib.auth() would crash on a non-ASCII paste."""
        initial = f"user={self.username}\x01auth=Bearer {self._secret}\x01\x01"
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + b64(initial))
        if code == 334:  # error details as a challenge; the empty answer ends the exchange with 535
            code, reply = smtp.docmd("")
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, reply)

    def drop(self, *, polite: bool) -> None:
        """Forget the connection (QUIT first when the server still listens)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if polite:
            with contextlib.suppress(OSError):  # SMTPException is an OSError too
                smtp.quit()
        smtp.close()

    # ---- messages -----------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """The text without the password or token, should a server ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    def _explain(self, exc: BaseException, phase: str) -> BackendError:
        """A Norwegian (or English) error naming the setting to fix."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        detail = self.scrub(reply_text(exc.smtp_error) if isinstance(exc, smtplib.SMTPResponseException) else str(exc))
        if isinstance(exc, smtplib.SMTPResponseException):
            detail = f"{exc.smtp_code} {detail}"
        ports = tr('security = "starttls" hører til port 587, "ssl" til port 465 og "none" til port 25',
                   'security = "starttls" goes with port 587, "ssl" with port 465 and "none" with port 25')
        if phase == "auth":
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                name = s.secret_name or ""
                what_nb, what_en = ("passordet", "password") if s.auth == "password" else ("OAuth-tokenet", "token")
                return BackendError(
                    tr(f"SMTP-serveren {where} godtok ikke innloggingen for «{self.username}» ({detail}).",
                       f"The SMTP server {where} refused the login for «{self.username}» ({detail})."),
                    hint=tr(f"Kontroller [smtp] username i {_TOML} og {what_nb} ({name}: miljøvariabelen "
                            f"{env_name(name)} eller `{keyring_command(name)}`).",
                            f"Check [smtp] username in {_TOML} and the {what_en} ({name}: the environment variable "
                            f"{env_name(name)} or `{keyring_command(name)}`)."))
            if isinstance(exc, smtplib.SMTPNotSupportedError):
                return BackendError(
                    tr(f"SMTP-serveren {where} tilbyr ikke innlogging (AUTH).",
                       f"The SMTP server {where} offers no login (AUTH)."),
                    hint=tr(f'Bruk [smtp] security = "starttls" eller "ssl" i {_TOML} (mange servere tilbyr '
                            'innlogging bare over TLS), eller auth = "none" for en server uten innlogging.',
                            f'Use [smtp] security = "starttls" or "ssl" in {_TOML} (many servers offer login only '
                            'over TLS), or auth = "none" for a server without login.'))
            if not network_trouble(exc):
                return BackendError(
                    tr(f"SMTP-serveren {where} støtter ikke innloggingsmåten [smtp] auth = \"{s.auth}\" ({detail}).",
                       f"The SMTP server {where} does not support the login [smtp] auth = \"{s.auth}\" ({detail})."),
                    hint=tr(f'Rett [smtp] auth i {_TOML}: "password", "xoauth2" eller "none".',
                            f'Correct [smtp] auth in {_TOML}: "password", "xoauth2" or "none".'))
        if phase == "starttls" and isinstance(exc, smtplib.SMTPNotSupportedError):
            return BackendError(
                tr(f"SMTP-serveren {where} tilbyr ikke STARTTLS.", f"The SMTP server {where} does not offer STARTTLS."),
                hint=tr(f"Rett [smtp] security og port i {_TOML}: {ports}.",
                        f"Correct [smtp] security and port in {_TOML}: {ports}."))
        network = explain_network(exc, server="SMTP", host=s.host, where=where, detail=detail,
                                  keys=("host", "port", "security"), ports=ports)
        if network is not None:
            return network
        if isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected):
            return BackendError(
                tr(f"SMTP-serveren {where} svarte ikke som ventet ({detail or type(exc).__name__}).",
                   f"The SMTP server {where} did not answer as expected ({detail or type(exc).__name__})."),
                hint=tr(f"Kontroller [smtp] host, port og security i {_TOML} ({ports}), og at brannmuren "
                        "slipper gjennom.",
                        f"Check [smtp] host, port and security in {_TOML} ({ports}), and that the firewall "
                        "lets it through."))
        return BackendError(
            tr(f"Kunne ikke koble til SMTP-serveren {where} ({detail or type(exc).__name__}).",
               f"Could not connect to the SMTP server {where} ({detail or type(exc).__name__})."),
            hint=tr(f"Kontroller [smtp] host og port i {_TOML}: {ports}.",
                    f"Check [smtp] host and port in {_TOML}: {ports}."))
