"""The IMAP connection of the smtp backend's reader: opened on first use (implicit TLS, STARTTLS, or plain
on loopback only), logged in with the SMTP login (`smtp_password`, or XOAUTH2 with `smtp_oauth_token`),
one command at a time, and every failure explained in words naming the `[smtp] imap_*` setting to fix.

A lost connection becomes `Dropped` (the reader opens a new one once); a refused login, an unknown
host, a TLS failure or a missing folder is a BackendError (exit code 4). The password or token never
appears in a message.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from typing import Any

from samtale_automation.backends.smtp.imap_syntax import parse_responses, quoted_folder
from samtale_automation.backends.smtp.network_errors import explain_network
from samtale_automation.config import ImapSettings
from samtale_automation.domain.messages import BackendStats
from samtale_automation.errors import BackendError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

_TOML = "samtale.toml"
_PORTS_NB = 'imap_security = "ssl" hører til port 993, "starttls" til port 143'
_PORTS_EN = 'imap_security = "ssl" goes with port 993, "starttls" with port 143'


class Dropped(Exception):
    """The connection went away in the middle of a command."""


class ImapConnection:
    """One logged-in IMAP connection with its folder selected; BackendError naming the setting when it fails."""

    def __init__(self, settings: ImapSettings, *, username: str, secret: str, auth: str, secret_name: str,
                 stats: BackendStats, timeout: float = 60.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.username = settings.username or username
        self._secret = secret
        self._auth = auth  # password | xoauth2
        self._secret_name = secret_name
        self._timeout = timeout
        self._ssl_context = ssl_context
        self.stats = stats
        self._conn: imaplib.IMAP4 | None = None
        self.caps: frozenset[str] = frozenset()
        self._validity: int | None = None  # UIDVALIDITY of the selected folder on this connection
        self.exists_count = 0  # messages in the folder when it was selected
        self._delimiter: str | None = None  # the server's hierarchy separator, once asked
        self._phase = "connect"
        for counter in ("imap_connections", "imap_commands", "imap_downloads", "imap_moved"):
            stats.extra.setdefault(counter, 0)

    def __repr__(self) -> str:  # no secret in reprs or logs
        s = self.settings
        return f"ImapConnection({s.host}:{s.port}, {s.security}, {self.username}, {s.folder!r})"

    def call(self, command: Callable[..., tuple[str, list[Any]]], *args: str) -> tuple[str, list[Any]]:
        """Run one IMAP command; a lost connection becomes Dropped, a protocol error BackendError."""
        self.stats.extra["imap_commands"] += 1
        name = str(getattr(command, "__name__", "")).upper()
        label = f"UID {args[0]}" if name == "UID" and args else name
        try:
            return command(*args)
        except imaplib.IMAP4.readonly as exc:  # (a kind of abort) the folder cannot be changed
            raise self.refused(label, self.scrub(str(exc))) from None
        except imaplib.IMAP4.abort as exc:
            raise Dropped(self.scrub(str(exc))) from exc
        except OSError as exc:
            raise Dropped(self.scrub(str(exc)) or type(exc).__name__) from exc
        except imaplib.IMAP4.error as exc:  # BAD: a command the server did not understand
            raise self.refused(label, self.scrub(str(exc))) from None

    def select(self, conn: imaplib.IMAP4, *, again: bool = False) -> int:
        """SELECT the folder once per connection (`again`: anew, to see what arrived); its UIDVALIDITY."""
        if again:
            self._validity = None
        if self._validity is not None:
            return self._validity
        typ, data = self.call(conn.select, quoted_folder(self.server_name(conn, self.settings.folder)))
        if typ != "OK":
            raise self._missing_folder(data)
        self.exists_count = int(data[0]) if data and isinstance(data[0], bytes) and data[0].isdigit() else 0
        _, values = conn.response("UIDVALIDITY")
        digits = [int(v) for v in values if isinstance(v, bytes) and v.strip().isdigit()]
        self._validity = digits[-1] if digits else 0
        return self._validity

    def server_name(self, conn: imaplib.IMAP4, name: str) -> str:
        """The folder name with «/» as the server's hierarchy separator («Behandlet/2027» → «Behandlet.2027»)."""
        if "/" not in name:
            return name
        if self._delimiter is None:
            typ, data = self.call(conn.list, '""', '""')
            self.expect_ok(typ, data, "LIST")
            answers = [r for r in parse_responses(data) if len(r) >= 2]
            found = answers[0][1] if answers else None
            self._delimiter = found.decode("utf-8", "replace") if isinstance(found, bytes) else "/"
        return name.replace("/", self._delimiter) if self._delimiter else name

    def get(self) -> imaplib.IMAP4:
        """The open connection, or a new one; BackendError when it cannot be opened."""
        if self._conn is not None:
            return self._conn
        try:
            conn = self._open()
        except BackendError:
            raise
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._explain(exc, self._phase) from None
        self.stats.extra["imap_connections"] += 1
        self._conn = conn
        self._validity = None
        return conn

    def _open(self) -> imaplib.IMAP4:
        s = self.settings
        self._phase = "connect"
        self.stats.extra["imap_commands"] += 2  # the greeting and CAPABILITY
        if s.security != "none" and self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        if s.security == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=self._ssl_context,
                                                    timeout=self._timeout)
        else:
            conn = imaplib.IMAP4(s.host, s.port, timeout=self._timeout)
        try:
            if s.security == "starttls":
                self._phase = "starttls"
                self.stats.extra["imap_commands"] += 2  # STARTTLS and CAPABILITY again
                conn.starttls(ssl_context=self._ssl_context)
            self._phase = "auth"
            self.stats.extra["imap_commands"] += 1
            self._login(conn)
            _, data = conn.response("CAPABILITY")  # the post-login list, sent with the login's OK
            line = data[-1] if data and isinstance(data[-1], bytes) else None
            if line is None:
                self.stats.extra["imap_commands"] += 1
                _, data = conn.capability()
                line = data[-1] if data and isinstance(data[-1], bytes) else b""
            self.caps = frozenset(line.decode("ascii", "replace").upper().split())
        except BaseException:
            with contextlib.suppress(Exception):
                conn.shutdown()
            raise
        return conn

    def _login(self, conn: imaplib.IMAP4) -> None:
        """AUTHENTICATE PLAIN (UTF-8, so æøå in a password work) or XOAUTH2; LOGIN for an ASCII password."""
        offered = {c.upper() for c in conn.capabilities}
        if self._auth == "xoauth2":
            initial = f"user={self.username}\x01auth=Bearer {self._secret}\x01\x01".encode()
            answers = iter([initial])
            # After a refusal the server sends its error as a challenge; the empty answer ends the exchange.
            conn.authenticate("XOAUTH2", lambda _challenge: next(answers, b""))
            return
        if "AUTH=PLAIN" in offered:
            secret = f"\0{self.username}\0{self._secret}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
        elif "LOGINDISABLED" in offered:
            raise self._no_mechanism("LOGINDISABLED")
        elif (self.username + self._secret).isascii():
            conn.login(self.username, self._secret)
        else:  # imaplib sends LOGIN as ASCII only
            raise self._no_mechanism("AUTH=PLAIN")

    def drop(self, *, polite: bool) -> None:
        """Forget the connection (LOGOUT first when `polite`)."""
        conn, self._conn = self._conn, None
        self._validity = None
        if conn is None:
            return
        if polite:
            with contextlib.suppress(Exception):
                conn.logout()
        with contextlib.suppress(Exception):
            conn.shutdown()

    # ---- messages -------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """The text without the password or token, should a server ever echo it."""
        return text.replace(self._secret, "***") if self._secret else text

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _secret_hint(self) -> tuple[str, str]:
        name = self._secret_name
        what_nb, what_en = ("passordet", "password") if self._auth == "password" else ("OAuth-tokenet", "token")
        return (f"{what_nb} ({name}: miljøvariabelen {env_name(name)} eller `{keyring_command(name)}`)",
                f"the {what_en} ({name}: the environment variable {env_name(name)} or `{keyring_command(name)}`)")

    def _explain(self, exc: BaseException, phase: str) -> BackendError:
        """Why the connection could not be opened, naming the setting to fix."""
        s = self.settings
        where = self._where
        detail = self.scrub(str(exc)) or type(exc).__name__
        if phase == "auth" and isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
            secret_nb, secret_en = self._secret_hint()
            scope = tr(" Tokenet må gjelde IMAP også (IMAP.AccessAsUser.All).",
                       " The token must cover IMAP too (IMAP.AccessAsUser.All).") if self._auth == "xoauth2" else ""
            return BackendError(
                tr(f"IMAP-serveren {where} godtok ikke innloggingen for «{self.username}» ({detail}).",
                   f"The IMAP server {where} refused the login for «{self.username}» ({detail})."),
                hint=tr(f"Kontroller [smtp] imap_username (eller username) i {_TOML} og {secret_nb}; IMAP bruker "
                        f"samme innlogging som SMTP.{scope}",
                        f"Check [smtp] imap_username (or username) in {_TOML} and {secret_en}; IMAP uses the same "
                        f"login as SMTP.{scope}"))
        if phase == "starttls" and isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
            return BackendError(
                tr(f"IMAP-serveren {where} tilbyr ikke STARTTLS ({detail}).",
                   f"The IMAP server {where} does not offer STARTTLS ({detail})."),
                hint=tr(f"Rett [smtp] imap_security og imap_port i {_TOML}: {_PORTS_NB}.",
                        f"Correct [smtp] imap_security and imap_port in {_TOML}: {_PORTS_EN}."))
        network = explain_network(exc, server="IMAP", host=s.host, where=where, detail=detail,
                                  keys=("imap_host", "imap_port", "imap_security"), ports=tr(_PORTS_NB, _PORTS_EN))
        if network is not None:
            return network
        return BackendError(
            tr(f"IMAP-serveren {where} svarte ikke som ventet ({detail}).",
               f"The IMAP server {where} did not answer as expected ({detail})."),
            hint=tr(f"Kontroller [smtp] imap_host, imap_port og imap_security i {_TOML} ({_PORTS_NB}), og at "
                    "brannmuren slipper gjennom.",
                    f"Check [smtp] imap_host, imap_port and imap_security in {_TOML} ({_PORTS_EN}), and that the "
                    "firewall lets it through."))

    def _no_mechanism(self, missing: str) -> BackendError:
        return BackendError(
            tr(f"IMAP-serveren {self._where} tilbyr ingen innlogging samtale kan bruke ({missing}).",
               f"The IMAP server {self._where} offers no login samtale can use ({missing})."),
            hint=tr(f'Bruk [smtp] imap_security = "ssl" eller "starttls" i {_TOML}; mange servere tilbyr '
                    "innlogging bare over TLS.",
                    f'Use [smtp] imap_security = "ssl" or "starttls" in {_TOML}; many servers offer login only '
                    "over TLS."))

    def lost(self, exc: BaseException) -> BackendError:
        """The error for a connection lost twice in a row."""
        return BackendError(
            tr(f"Forbindelsen til IMAP-serveren {self._where} ble brutt to ganger ({exc}).",
               f"The connection to the IMAP server {self._where} was lost twice ({exc})."),
            hint=tr(f"Prøv igjen senere. Skjer det igjen, kontroller [smtp] imap_host og imap_port i {_TOML} og "
                    "nettverket; ingen meldinger er flyttet uten at filene er lagret.",
                    f"Try again later. If it happens again, check [smtp] imap_host and imap_port in {_TOML} and "
                    "the network; no message was moved without its files being stored."))

    def _missing_folder(self, data: list[Any]) -> BackendError:
        folder = self.settings.folder
        return BackendError(
            tr(f"Mappen «{folder}» kunne ikke åpnes på IMAP-serveren {self._where} ({answer_text(data)}).",
               f"The folder «{folder}» could not be opened on the IMAP server {self._where} ({answer_text(data)})."),
            hint=tr(f"Rett [smtp] imap_folder i {_TOML} (standard INBOX); undermapper skrives med serverens "
                    "skilletegn, f.eks. «INBOX/Svar» eller «INBOX.Svar».",
                    f"Correct [smtp] imap_folder in {_TOML} (default INBOX); subfolders are written with the "
                    "server's separator, e.g. «INBOX/Svar» or «INBOX.Svar»."))

    def refused(self, command: str, detail: str, *, done_folder: bool = False) -> BackendError:
        """The error for a command the server refused (moving to the done folder, or anything else)."""
        if done_folder:
            folder = self.settings.done_folder
            return BackendError(
                tr(f"IMAP-serveren {self._where} kunne ikke flytte meldinger til «{folder}» ({command}: {detail}).",
                   f"The IMAP server {self._where} could not move messages to «{folder}» ({command}: {detail})."),
                hint=tr(f"Rett [smtp] imap_done_folder i {_TOML}, eller opprett mappen selv i e-postprogrammet.",
                        f"Correct [smtp] imap_done_folder in {_TOML}, or create the folder yourself in the mail "
                        "program."))
        return BackendError(
            tr(f"IMAP-serveren {self._where} avviste {command} ({detail}).",
               f"The IMAP server {self._where} refused {command} ({detail})."),
            hint=tr(f"Kontroller at «{self.username}» har tilgang til mappen [smtp] imap_folder "
                    f"(«{self.settings.folder}») i {_TOML}.",
                    f"Check that «{self.username}» may use the folder [smtp] imap_folder "
                    f"(«{self.settings.folder}») in {_TOML}."))

    def expect_ok(self, typ: str, data: list[Any], command: str, *, done_folder: bool = False) -> None:
        """BackendError unless the server answered OK."""
        if typ != "OK":
            raise self.refused(command, self.scrub(answer_text(data)), done_folder=done_folder)



def answer_text(data: list[Any]) -> str:
    """A server's answer as one line of text."""
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d is not None]
    return " ".join(parts).strip()


def response_code(data: list[Any]) -> str:
    """The response code of a NO answer («[TRYCREATE] ...» → TRYCREATE)."""
    match = re.match(r"\s*\[([A-Z-]+)", answer_text(data))
    return match.group(1) if match else ""

