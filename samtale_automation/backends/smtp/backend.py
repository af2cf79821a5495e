"""Send iMIP invitations and mails through an SMTP server (research/mail.md §3.7).

One connection per run, opened on the first message (EHLO, STARTTLS or implicit TLS, AUTH by
password or XOAUTH2) and reused for every message until `close()` sends QUIT.

What becomes of a message:

* recipients the server refuses one by one (RCPT) are reported as failures with the server's
  code (4xx temporary, 5xx permanent); the others get the message;
* a temporary failure of the whole transaction (4xx at MAIL or after DATA) or a lost connection
  is retried on a new connection after 1, 4 and 15 seconds; recipients still failing then are
  reported as temporary failures (code 0 when the server gave no answer);
* a permanent failure of the whole message (5xx) is a failure for every recipient, at once;
* a setting that cannot work (unknown host, refused connection, TLS or login failure) stops the
  run with BackendError (exit code 4) naming the setting to fix.

Settings: `config.smtp` (samtale.toml `[smtp]` host, port, security, username, auth, timeout) and
`[mail] mailbox` as the sender. The password or token comes from `secrets.get_secret` and never appears in a message.

With `[smtp] imap_host` the backend also reads returned files from the mailbox over IMAP, with the
same login (backends/imap.py; imap_port, imap_security, imap_folder, imap_done_folder, imap_username).
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

from samtale_automation.backends import mime
from samtale_automation.backends.mime_base import MimeBackend
from samtale_automation.backends.smtp.imap import ImapReader
from samtale_automation.backends.smtp.network_errors import explain_network
from samtale_automation.config import SmtpSettings
from samtale_automation.domain.messages import Cap, Delivery, Failure, IncomingFile, Person
from samtale_automation.errors import BackendError, ConfigError
from samtale_automation.secrets import env_name, get_secret, keyring_command
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext

#: Waits before the retries of a temporarily failed message.
RETRY_DELAYS = (1.0, 4.0, 15.0)

_TOML = "samtale.toml"


def missing_secret(settings: SmtpSettings) -> ConfigError:
    """The error for a login whose password or token is nowhere to be found."""
    name = settings.secret_name or ""
    what_nb, what_en = ("passordet", "password") if settings.auth == "password" else ("OAuth-tokenet", "OAuth token")
    return ConfigError(
        tr(f"Fant ikke SMTP-{what_nb} ({name}).", f"The SMTP {what_en} ({name}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(name)}, eller lagre det i nøkkelringen med `{keyring_command(name)}`. "
                f'Trenger serveren ingen innlogging, sett [smtp] auth = "none" i {_TOML}.',
                f"Set the environment variable {env_name(name)}, or store it in the keyring with "
                f'`{keyring_command(name)}`. If the server needs no login, set [smtp] auth = "none" in {_TOML}.'))


class _Temporary(Exception):
    """The whole transaction failed in a way worth retrying (4xx, or no answer: code 0)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.settled: tuple[Failure, ...] = ()  # recipients already failed for good, whatever the retries do


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _network_trouble(exc: BaseException) -> bool:
    """A lost or failed connection rather than a server's answer (SMTPException is an OSError too)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpBackend(MimeBackend):
    """iMIP and mails over one SMTP connection per run."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, mailbox: Person, secret: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(mailbox)
        if settings.auth != "none" and not secret:
            raise missing_secret(settings)
        self.settings = settings
        self.username = settings.username or mailbox.email
        self._secret = secret or ""
        self._sleep = sleep
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._connected_before = False
        self._phase = "connect"  # connect | starttls | auth: where opening a connection got to
        self.stats.extra["messages"] = 0
        self.imap: ImapReader | None = None
        if settings.imap is not None:
            self.imap = ImapReader(settings.imap, username=self.username, secret=self._secret, auth=settings.auth,
                                   secret_name=settings.secret_name or "", stats=self.stats,
                                   timeout=settings.timeout, ssl_context=ssl_context)
            self.capabilities = MimeBackend.capabilities | {Cap.READ_INBOX}

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"SmtpBackend({self.settings.host}:{self.settings.port}, {self.settings.security}, {self.username})"

    # ---- sending ------------------------------------------------------------------------------

    def deliver(self, message: EmailMessage, recipients: Sequence[Person], *, key: str, label: str) -> Delivery:
        """Send to these recipients (envelope), retrying temporary failures of the whole message."""
        seen: dict[str, str] = {}  # each mailbox once, whatever its capitals
        for person in recipients:
            seen.setdefault(person.email.casefold(), person.email)
        addresses = list(seen.values())
        if not addresses:
            return Delivery()
        data = mime.message_bytes(message)
        last = _Temporary(0, "")
        for attempt in range(len(RETRY_DELAYS) + 1):
            if attempt:
                delay = RETRY_DELAYS[attempt - 1]
                self.stats.retries += 1
                self.stats.waited_seconds += delay
                self._sleep(delay)
            try:
                return self._send_once(data, addresses)
            except _Temporary as exc:
                last = exc
        settled = {f.email: f for f in last.settled}
        return Delivery(failures=tuple(settled.get(a) or Failure(a, last.code, last.message) for a in addresses))

    def _send_once(self, data: bytes, addresses: list[str]) -> Delivery:
        """One try on the open (or a new) connection; raises _Temporary for what a new connection may cure."""
        connection = self._connection()
        utf8 = connection.has_extn("smtputf8")
        if not (utf8 or self.mailbox.email.isascii()):
            raise BackendError(
                tr(f"Avsenderadressen «{self.mailbox.email}» har tegn utenfor ASCII, og SMTP-serveren støtter ikke "
                   "SMTPUTF8.", f"The sender address «{self.mailbox.email}» has non-ASCII characters, and the SMTP "
                   "server does not support SMTPUTF8."),
                hint=tr(f"Bruk en adresse med bare ASCII-tegn i [mail] mailbox i {_TOML}.",
                        f"Use an address with ASCII characters only in [mail] mailbox in {_TOML}."))
        # A non-ASCII address (åse@…) needs SMTPUTF8; without it, that recipient alone is refused.
        unsendable = tuple(Failure(a, 553, tr("adressen har tegn utenfor ASCII, og SMTP-serveren støtter ikke "
                                              "SMTPUTF8", "the address has non-ASCII characters, and the SMTP "
                                              "server does not support SMTPUTF8"))
                           for a in addresses if not (utf8 or a.isascii()))
        sendable = [a for a in addresses if utf8 or a.isascii()]
        if not sendable:
            return Delivery(failures=unsendable)
        try:
            delivery = self._transaction(connection, data, sendable)
        except _Temporary as exc:
            exc.settled = unsendable
            raise
        failures = {f.email: f for f in (*unsendable, *delivery.failures)}
        return Delivery(failures=tuple(failures[a] for a in addresses if a in failures))

    def _transaction(self, connection: smtplib.SMTP, data: bytes, addresses: list[str]) -> Delivery:
        """MAIL, RCPT…, DATA; refused recipients as failures; _Temporary for a temporary whole failure."""
        self.stats.requests += 1
        options = ["BODY=8BITMIME"] if not data.isascii() and connection.has_extn("8bitmime") else []
        if not all(a.isascii() for a in [self.mailbox.email, *addresses]):
            options.append("SMTPUTF8")
        try:
            refused = connection.sendmail(self.mailbox.email, addresses, data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused: nothing was sent
            replies = {a: (code, _text(reply)) for a, (code, reply) in exc.recipients.items()}
            closing = [(code, reply) for code, reply in replies.values() if code == 421]
            if closing:  # the server is closing the connection: not the recipients' fault
                self._drop(polite=False)
                raise _Temporary(*closing[0]) from exc
            return Delivery(failures=self._failures(replies, addresses))
        except smtplib.SMTPServerDisconnected as exc:
            self._drop(polite=False)
            raise _Temporary(0, self._scrub(str(exc)) or "connection closed") from exc
        except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused: the whole message
            reply = self._scrub(_text(exc.smtp_error))
            if exc.smtp_code < 500:
                self._drop(polite=exc.smtp_code != 421)
                raise _Temporary(exc.smtp_code, reply) from exc
            return Delivery(failures=tuple(Failure(a, exc.smtp_code, reply) for a in addresses))
        except OSError as exc:  # reset, timeout, TLS record error
            self._drop(polite=False)
            raise _Temporary(0, self._scrub(str(exc)) or type(exc).__name__) from exc
        self.stats.extra["messages"] += 1
        return Delivery(failures=self._failures({a: (code, _text(r)) for a, (code, r) in refused.items()}, addresses))

    def _failures(self, replies: dict[str, tuple[int, str]], addresses: list[str]) -> tuple[Failure, ...]:
        return tuple(Failure(a, replies[a][0], self._scrub(replies[a][1])) for a in addresses if a in replies)

    # ---- the connection -----------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one; BackendError when the settings cannot work."""
        if self._smtp is not None:
            return self._smtp
        try:
            self._smtp = self._open()
        except (smtplib.SMTPException, OSError) as exc:
            refused_login = self._phase == "auth" and not _network_trouble(exc)
            lasting = refused_login or isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError)
            if self._connected_before and not lasting:  # it worked before: a passing outage
                code, reply = (exc.smtp_code, _text(exc.smtp_error)) if isinstance(
                    exc, smtplib.SMTPResponseException) else (0, str(exc))
                raise _Temporary(code if 400 <= code < 500 else 0, self._scrub(reply) or type(exc).__name__) from exc
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
            if isinstance(exc, smtplib.SMTPException) and not _network_trouble(exc):
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
            code, reply = smtp.docmd("AUTH", "PLAIN " + _b64(f"\0{user}\0{password}"))
        elif "LOGIN" in offered:
            code, reply = smtp.docmd("AUTH", "LOGIN " + _b64(user))
            if code == 334:
                code, reply = smtp.docmd(_b64(password))
        else:
            raise smtplib.SMTPException("No suitable authentication method found.")
        if code not in (235, 503):  # 503: already logged in
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _xoauth2(self, smtp: smtplib.SMTP) -> None:
        """AUTH XOAUTH2 (mail.md §3.7), sent by hand: smtplib.auth() would crash on a non-ASCII paste."""
        initial = f"user={self.username}\x01auth=Bearer {self._secret}\x01\x01"
        code, reply = smtp.docmd("AUTH", "XOAUTH2 " + _b64(initial))
        if code == 334:  # error details as a challenge; the empty answer ends the exchange with 535
            code, reply = smtp.docmd("")
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _drop(self, *, polite: bool) -> None:
        """Forget the connection (QUIT first when the server still listens)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if polite:
            with contextlib.suppress(OSError):  # SMTPException is an OSError too
                smtp.quit()
        smtp.close()

    def close(self) -> None:
        """Say QUIT (and IMAP LOGOUT) and close the connections that are open."""
        self._drop(polite=True)
        if self.imap is not None:
            self.imap.close()

    # ---- reading the mailbox (IMAP) and checking the settings ---------------------------------

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Returned files in the IMAP folder (needs [smtp] imap_host); nothing is moved yet."""
        if self.imap is None:
            return super().fetch_files(suffixes)
        return self.imap.fetch_files(suffixes)

    def mark_handled(self, message_id: str) -> None:
        """Move a message whose files are stored to the done folder (needs [smtp] imap_host)."""
        if self.imap is None:
            super().mark_handled(message_id)
            return
        self.imap.mark_handled(message_id)

    def probe(self) -> list[str]:
        """Connect and log in to the SMTP server (and to IMAP, with imap_host); one line each."""
        s = self.settings
        try:
            self._connection()
        except _Temporary as exc:  # it worked earlier in this run, but not now
            raise BackendError(tr(f"SMTP-serveren {s.host}:{s.port} svarer ikke nå ({exc.code} {exc.message}).",
                                  f"The SMTP server {s.host}:{s.port} does not answer now ({exc.code} {exc.message})."),
                               hint=tr(f"Prøv igjen senere, og kontroller [smtp] host og port i {_TOML}.",
                                       f"Try again later, and check [smtp] host and port in {_TOML}.")) from None
        if s.auth == "none":
            lines = [tr(f"Koblet til SMTP-serveren {s.host}:{s.port} (uten innlogging, {s.security}).",
                        f"Connected to the SMTP server {s.host}:{s.port} (without login, {s.security}).")]
        else:
            lines = [tr(f"Logget inn på SMTP-serveren {s.host}:{s.port} som {self.username}.",
                        f"Logged in to the SMTP server {s.host}:{s.port} as {self.username}.")]
        if self.imap is not None:
            lines += self.imap.probe()
        return lines

    # ---- messages -----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """The text without the password or token, should a server ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    def _explain(self, exc: BaseException, phase: str) -> BackendError:
        """A Norwegian (or English) error naming the setting to fix."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        detail = self._scrub(_text(exc.smtp_error) if isinstance(exc, smtplib.SMTPResponseException) else str(exc))
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
            if not _network_trouble(exc):
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


def create(context: BackendContext) -> SmtpBackend:
    """The SMTP backend from samtale.toml, with its secret; ConfigError when something is missing."""
    settings = context.config.smtp
    if settings is None:
        raise context.config.refusal("smtp")
    mailbox = context.sending_mailbox()
    secret = get_secret(settings.secret_name) if settings.secret_name else None
    if settings.secret_name and secret is None:
        raise missing_secret(settings)
    return SmtpBackend(settings, mailbox, secret, sleep=context.sleep,
                       ssl_context=context.ssl_context)
