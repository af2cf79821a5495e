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
`[mail] mailbox` as the sender. The password or token comes from `secrets.get_secret` and never
appears in a message. Opening, logging in and explaining a failed connection: connection.py.

With `[smtp] imap_host` the backend also reads returned files from the mailbox over IMAP, with the
same login (imap.py; imap_port, imap_security, imap_folder, imap_done_folder, imap_username).
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

from samtale_automation.backends import mime
from samtale_automation.backends.mime_base import MimeBackend
from samtale_automation.backends.smtp.connection import SmtpConnection, Temporary, missing_secret, reply_text
from samtale_automation.backends.smtp.imap import ImapReader
from samtale_automation.backends.smtp.imap_connection import ImapConnection
from samtale_automation.config import SmtpSettings
from samtale_automation.domain.messages import Cap, Delivery, Failure, IncomingFile, Person
from samtale_automation.errors import BackendError
from samtale_automation.secrets import get_secret
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext

#: Waits before the retries of a temporarily failed message.
RETRY_DELAYS = (1.0, 4.0, 15.0)

_TOML = "samtale.toml"


class SmtpBackend(MimeBackend):
    """iMIP and mails over one SMTP connection per run."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, mailbox: Person, secret: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(mailbox)
        if settings.auth != "none" and not secret:
            raise missing_secret(settings)
        self.settings = settings
        self.connection = SmtpConnection(settings, settings.username or mailbox.email, secret or "", self.stats,
                                         ssl_context=ssl_context)
        self._sleep = sleep
        self.stats.extra["messages"] = 0
        self.imap: ImapReader | None = None
        if settings.imap is not None:
            self.imap = ImapReader(ImapConnection(settings.imap, username=self.username, secret=secret or "",
                                                  auth=settings.auth, secret_name=settings.secret_name or "",
                                                  stats=self.stats, timeout=settings.timeout, ssl_context=ssl_context))
            self.capabilities = MimeBackend.capabilities | {Cap.READ_INBOX}

    @property
    def username(self) -> str:
        """The SMTP login (the mailbox address unless [smtp] username says otherwise)."""
        return self.connection.username

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
        last = Temporary(0, "")
        for attempt in range(len(RETRY_DELAYS) + 1):
            if attempt:
                delay = RETRY_DELAYS[attempt - 1]
                self.stats.retries += 1
                self.stats.waited_seconds += delay
                self._sleep(delay)
            try:
                return self._send_once(data, addresses)
            except Temporary as exc:
                last = exc
        settled = {f.email: f for f in last.settled}
        return Delivery(failures=tuple(settled.get(a) or Failure(a, last.code, last.message) for a in addresses))

    def _send_once(self, data: bytes, addresses: list[str]) -> Delivery:
        """One try on the open (or a new) connection; raises Temporary for what a new connection may cure."""
        connection = self.connection.get()
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
        except Temporary as exc:
            exc.settled = unsendable
            raise
        failures = {f.email: f for f in (*unsendable, *delivery.failures)}
        return Delivery(failures=tuple(failures[a] for a in addresses if a in failures))

    def _transaction(self, connection: smtplib.SMTP, data: bytes, addresses: list[str]) -> Delivery:
        """MAIL, RCPT…, DATA; refused recipients as failures; Temporary for a temporary whole failure."""
        self.stats.requests += 1
        options = ["BODY=8BITMIME"] if not data.isascii() and connection.has_extn("8bitmime") else []
        if not all(a.isascii() for a in [self.mailbox.email, *addresses]):
            options.append("SMTPUTF8")
        try:
            refused = connection.sendmail(self.mailbox.email, addresses, data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused: nothing was sent
            replies = {a: (code, reply_text(reply)) for a, (code, reply) in exc.recipients.items()}
            closing = [(code, reply) for code, reply in replies.values() if code == 421]
            if closing:  # the server is closing the connection: not the recipients' fault
                self.connection.drop(polite=False)
                raise Temporary(*closing[0]) from exc
            return Delivery(failures=self._failures(replies, addresses))
        except smtplib.SMTPServerDisconnected as exc:
            self.connection.drop(polite=False)
            raise Temporary(0, self.connection.scrub(str(exc)) or "connection closed") from exc
        except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused: the whole message
            reply = self.connection.scrub(reply_text(exc.smtp_error))
            if exc.smtp_code < 500:
                self.connection.drop(polite=exc.smtp_code != 421)
                raise Temporary(exc.smtp_code, reply) from exc
            return Delivery(failures=tuple(Failure(a, exc.smtp_code, reply) for a in addresses))
        except OSError as exc:  # reset, timeout, TLS record error
            self.connection.drop(polite=False)
            raise Temporary(0, self.connection.scrub(str(exc)) or type(exc).__name__) from exc
        self.stats.extra["messages"] += 1
        replies = {a: (code, reply_text(reply)) for a, (code, reply) in refused.items()}
        return Delivery(failures=self._failures(replies, addresses))

    def _failures(self, replies: dict[str, tuple[int, str]], addresses: list[str]) -> tuple[Failure, ...]:
        return tuple(Failure(a, replies[a][0], self.connection.scrub(replies[a][1])) for a in addresses if a in replies)

    def close(self) -> None:
        """Say QUIT (and IMAP LOGOUT) and close the connections that are open."""
        self.connection.drop(polite=True)
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
            self.connection.get()
        except Temporary as exc:  # it worked earlier in this run, but not now
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
