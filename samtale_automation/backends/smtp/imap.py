"""Read returned files from a mailbox over IMAP, for the smtp backend (`[smtp] imap_host`).

One connection per run, opened on first use (implicit TLS, STARTTLS, or plain on loopback only),
logged in with the SMTP login (`smtp_password`, or XOAUTH2 with `smtp_oauth_token`).

`fetch_files` selects the folder (INBOX by default), asks for every message not marked deleted,
reads their structure in one command and downloads only messages that can carry a file
(application/* or message/* parts), a few at a time, with BODY.PEEK[] so nothing is marked as
read. Each attachment whose (RFC 2231 / RFC 2047 decoded) name ends in one of the suffixes
becomes an IncomingFile, also inside a forwarded message. Its `message_id` is
`<UIDVALIDITY>:<UID>`, which stays valid as long as the server keeps the folder's UIDVALIDITY.

`mark_handled` moves the message to the done folder («Samtale behandlet», created once when
missing): UID MOVE where the server offers MOVE, else UID COPY + \\Deleted + (UID) EXPUNGE. A
message id from before a change of UIDVALIDITY is left alone, with a note (`notes`, and a log
warning): its UID may now name another message.

A connection lost in the middle is opened again once; a second loss, a refused login, an unknown
host, a TLS failure or a missing folder stops the run with BackendError (exit code 4) naming the
setting to fix. The password or token never appears in a message.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from samtale_automation.backends.smtp.imap_syntax import (
    fetch_items,
    imap_utf7,
    incoming_files,
    internal_date,
    may_hold_files,
    parse_responses,
    quoted_folder,
    uid_set,
)
from samtale_automation.backends.smtp.network_errors import explain_network
from samtale_automation.config import ImapSettings
from samtale_automation.domain.messages import BackendStats, IncomingFile
from samtale_automation.errors import BackendError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

#: Messages downloaded per FETCH command, and roughly how many bytes at most.
BATCH_MESSAGES = 25
BATCH_BYTES = 8 * 1024 * 1024

_TOML = "samtale.toml"
_PORTS_NB = 'imap_security = "ssl" hører til port 993, "starttls" til port 143'
_PORTS_EN = 'imap_security = "ssl" goes with port 993, "starttls" with port 143'

log = logging.getLogger(__name__)


# ---- the reader ----------------------------------------------------------------------------------


class _Dropped(Exception):
    """The connection went away in the middle of a command."""


class ImapReader:
    """Fetch returned files from one IMAP folder and move handled messages to the done folder."""

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
        self.notes: list[str] = []  # what was left alone, and why (also logged)
        self._conn: imaplib.IMAP4 | None = None
        self._caps: frozenset[str] = frozenset()
        self._validity: int | None = None  # UIDVALIDITY of the selected folder on this connection
        self._exists_count = 0  # messages in the folder when it was selected
        self._done_ready = False
        self._delimiter: str | None = None  # the server's hierarchy separator, once asked
        self._phase = "connect"
        for counter in ("imap_connections", "imap_commands", "imap_downloads", "imap_moved"):
            stats.extra.setdefault(counter, 0)

    def __repr__(self) -> str:  # no secret in reprs or logs
        s = self.settings
        return f"ImapReader({s.host}:{s.port}, {s.security}, {self.username}, {s.folder!r})"

    # ---- what the backend offers ----------------------------------------------------------------

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files attached to messages in the folder; nothing is moved or marked as read."""
        done: set[str] = set()  # messages whose files were handed out before a lost connection
        for attempt in (0, 1):
            try:
                yield from self._fetch_pass(suffixes, done)
                return
            except _Dropped as exc:
                self._drop(polite=False)
                if attempt:
                    raise self._lost(exc) from None

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder (nothing, with a note, when its UIDVALIDITY is stale)."""
        validity, uid = _split_id(message_id)
        for attempt in (0, 1):
            try:
                self._move(message_id, validity, uid)
                return
            except _Dropped as exc:
                self._drop(polite=False)
                if attempt:
                    raise self._lost(exc) from None

    def probe(self) -> list[str]:
        """Log in, open the folder and look for the done folder; one line each."""
        s = self.settings
        for attempt in (0, 1):
            try:
                conn = self._connection()
                self._validity = None  # select again: the message count is the one of now
                self._select(conn)
                count = self._exists_count
                done = self._done_exists(conn)
                break
            except _Dropped as exc:
                self._drop(polite=False)
                if attempt:
                    raise self._lost(exc) from None
        login = tr(f"Logget inn på IMAP-serveren {s.host}:{s.port} som {self.username} ({s.security}).",
                   f"Logged in to the IMAP server {s.host}:{s.port} as {self.username} ({s.security}).")
        folder = tr(f"Mappen «{s.folder}» har {count} meldinger.", f"The folder «{s.folder}» holds {count} messages.")
        target = (tr(f"Mappen for behandlede meldinger «{s.done_folder}» finnes.",
                     f"The folder for handled messages «{s.done_folder}» exists.") if done else
                  tr(f"Mappen for behandlede meldinger «{s.done_folder}» finnes ikke ennå; den opprettes ved "
                     "første flytting.",
                     f"The folder for handled messages «{s.done_folder}» does not exist yet; it is created at the "
                     "first move."))
        return [login, folder, target]

    def close(self) -> None:
        """Log out and close the connection, if one is open."""
        self._drop(polite=True)

    # ---- fetching -------------------------------------------------------------------------------

    def _fetch_pass(self, suffixes: tuple[str, ...], done: set[str]) -> Iterator[IncomingFile]:
        conn = self._connection()
        self._validity = None  # SELECT again: a server need not announce messages that arrived meanwhile
        validity = self._select(conn)
        typ, data = self._call(conn.uid, "SEARCH", "UNDELETED")
        self._expect_ok(typ, data, "UID SEARCH")
        uids = [int(word) for chunk in data if chunk for word in bytes(chunk).split() if word.isdigit()]
        if not uids:
            return
        typ, data = self._call(conn.uid, "FETCH", uid_set(uids), "(UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE)")
        self._expect_ok(typ, data, "UID FETCH")
        facts = fetch_items(data)
        wanted = [uid for uid in sorted(facts) if f"{validity}:{uid}" not in done
                  and may_hold_files(facts[uid].get("BODYSTRUCTURE"))]
        for batch in _batches(wanted, {uid: _size(facts[uid]) for uid in wanted}):
            typ, data = self._call(conn.uid, "FETCH", uid_set(batch), "(UID BODY.PEEK[])")
            self._expect_ok(typ, data, "UID FETCH")
            bodies = fetch_items(data)
            self.stats.extra["imap_downloads"] += len(bodies)
            for uid in batch:
                raw = bodies.get(uid, {}).get("BODY[]")
                if not isinstance(raw, bytes):
                    continue  # gone meanwhile (moved or deleted elsewhere)
                message_id = f"{validity}:{uid}"
                try:
                    found = incoming_files(message_id, raw, suffixes, internal_date(facts[uid].get("INTERNALDATE")))
                except Exception:  # a message the email package cannot take apart stays for a person to read
                    log.warning("IMAP: message %s could not be read and is left in place", message_id)
                    continue
                yield from found
                done.add(message_id)

    # ---- moving ---------------------------------------------------------------------------------

    def _move(self, message_id: str, validity: int, uid: int) -> None:
        conn = self._connection()
        current = self._select(conn)
        if current != validity:
            note = tr(f"Meldingen {message_id} ble ikke flyttet: mappen «{self.settings.folder}» har fått ny "
                      f"UIDVALIDITY ({current}) siden den ble hentet. Den hentes på nytt neste gang.",
                      f"Message {message_id} was not moved: the folder «{self.settings.folder}» has a new "
                      f"UIDVALIDITY ({current}) since it was fetched. It is fetched again next time.")
            self.notes.append(note)
            self.stats.extra["imap_stale"] = self.stats.extra.get("imap_stale", 0) + 1
            log.warning("%s", note)
            return
        target = quoted_folder(self._server_name(conn, self.settings.done_folder))
        self._ensure_done_folder(conn)
        if "MOVE" in self._caps:
            typ, data = self._call(conn.uid, "MOVE", str(uid), target)
            if typ != "OK" and _code(data) == "TRYCREATE":  # someone deleted the folder meanwhile
                self._done_ready = False
                self._ensure_done_folder(conn)
                typ, data = self._call(conn.uid, "MOVE", str(uid), target)
            self._expect_ok(typ, data, "UID MOVE", done_folder=True)
        else:
            typ, data = self._call(conn.uid, "COPY", str(uid), target)
            if typ != "OK" and _code(data) == "TRYCREATE":
                self._done_ready = False
                self._ensure_done_folder(conn)
                typ, data = self._call(conn.uid, "COPY", str(uid), target)
            self._expect_ok(typ, data, "UID COPY", done_folder=True)
            typ, data = self._call(conn.uid, "STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
            self._expect_ok(typ, data, "UID STORE")
            if "UIDPLUS" in self._caps:
                typ, data = self._call(conn.uid, "EXPUNGE", str(uid))
            else:  # removes every message marked deleted in the folder: the only way without UIDPLUS
                typ, data = self._call(conn.expunge)
            self._expect_ok(typ, data, "EXPUNGE")
        self.stats.extra["imap_moved"] += 1

    def _server_name(self, conn: imaplib.IMAP4, name: str) -> str:
        """The folder name with «/» as the server's hierarchy separator («Behandlet/2027» → «Behandlet.2027»)."""
        if "/" not in name:
            return name
        if self._delimiter is None:
            typ, data = self._call(conn.list, '""', '""')
            self._expect_ok(typ, data, "LIST")
            answers = [r for r in parse_responses(data) if len(r) >= 2]
            found = answers[0][1] if answers else None
            self._delimiter = found.decode("utf-8", "replace") if isinstance(found, bytes) else "/"
        return name.replace("/", self._delimiter) if self._delimiter else name

    def _done_exists(self, conn: imaplib.IMAP4) -> bool:
        done = self._server_name(conn, self.settings.done_folder)
        encoded = imap_utf7(done)
        typ, data = self._call(conn.list, '""', quoted_folder(done))
        self._expect_ok(typ, data, "LIST")
        for response in parse_responses(data):
            name = response[-1] if response else None
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
            if text == encoded:
                return True
        return False

    def _ensure_done_folder(self, conn: imaplib.IMAP4) -> None:
        """Create the done folder the first time it is needed, if it is missing."""
        if self._done_ready:
            return
        if not self._done_exists(conn):
            done = quoted_folder(self._server_name(conn, self.settings.done_folder))
            typ, data = self._call(conn.create, done)
            if typ != "OK" and _code(data) != "ALREADYEXISTS":
                self._expect_ok(typ, data, "CREATE", done_folder=True)
            self._call(conn.subscribe, done)  # so mail programs show it
        self._done_ready = True

    # ---- the connection -------------------------------------------------------------------------

    def _call(self, command: Callable[..., tuple[str, list[Any]]], *args: str) -> tuple[str, list[Any]]:
        """Run one IMAP command; a lost connection becomes _Dropped, a protocol error BackendError."""
        self.stats.extra["imap_commands"] += 1
        name = str(getattr(command, "__name__", "")).upper()
        label = f"UID {args[0]}" if name == "UID" and args else name
        try:
            return command(*args)
        except imaplib.IMAP4.readonly as exc:  # (a kind of abort) the folder cannot be changed
            raise self._refused(label, self._scrub(str(exc))) from None
        except imaplib.IMAP4.abort as exc:
            raise _Dropped(self._scrub(str(exc))) from exc
        except OSError as exc:
            raise _Dropped(self._scrub(str(exc)) or type(exc).__name__) from exc
        except imaplib.IMAP4.error as exc:  # BAD: a command the server did not understand
            raise self._refused(label, self._scrub(str(exc))) from None

    def _select(self, conn: imaplib.IMAP4) -> int:
        """SELECT the folder once per connection; its UIDVALIDITY."""
        if self._validity is not None:
            return self._validity
        typ, data = self._call(conn.select, quoted_folder(self._server_name(conn, self.settings.folder)))
        if typ != "OK":
            raise self._missing_folder(data)
        self._exists_count = int(data[0]) if data and isinstance(data[0], bytes) and data[0].isdigit() else 0
        _, values = conn.response("UIDVALIDITY")
        digits = [int(v) for v in values if isinstance(v, bytes) and v.strip().isdigit()]
        self._validity = digits[-1] if digits else 0
        return self._validity

    def _connection(self) -> imaplib.IMAP4:
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
            self._caps = frozenset(line.decode("ascii", "replace").upper().split())
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

    def _drop(self, *, polite: bool) -> None:
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

    def _scrub(self, text: str) -> str:
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
        detail = self._scrub(str(exc)) or type(exc).__name__
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

    def _lost(self, exc: BaseException) -> BackendError:
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
            tr(f"Mappen «{folder}» kunne ikke åpnes på IMAP-serveren {self._where} ({_answer(data)}).",
               f"The folder «{folder}» could not be opened on the IMAP server {self._where} ({_answer(data)})."),
            hint=tr(f"Rett [smtp] imap_folder i {_TOML} (standard INBOX); undermapper skrives med serverens "
                    "skilletegn, f.eks. «INBOX/Svar» eller «INBOX.Svar».",
                    f"Correct [smtp] imap_folder in {_TOML} (default INBOX); subfolders are written with the "
                    "server's separator, e.g. «INBOX/Svar» or «INBOX.Svar»."))

    def _refused(self, command: str, detail: str, *, done_folder: bool = False) -> BackendError:
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

    def _expect_ok(self, typ: str, data: list[Any], command: str, *, done_folder: bool = False) -> None:
        if typ != "OK":
            raise self._refused(command, self._scrub(_answer(data)), done_folder=done_folder)


def _split_id(message_id: str) -> tuple[int, int]:
    validity, _, uid = message_id.partition(":")
    if not (validity.isdigit() and uid.isdigit()):
        raise ValueError(f"not an IMAP message id (UIDVALIDITY:UID): {message_id!r}")
    return int(validity), int(uid)


def _answer(data: list[Any]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d is not None]
    return " ".join(parts).strip()


def _code(data: list[Any]) -> str:
    """The response code of a NO answer («[TRYCREATE] ...» → TRYCREATE)."""
    match = re.match(r"\s*\[([A-Z-]+)", _answer(data))
    return match.group(1) if match else ""


def _size(items: dict[str, Any]) -> int:
    value = items.get("RFC822.SIZE")
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """UIDs in groups of at most BATCH_MESSAGES and about BATCH_BYTES (a bigger message goes alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= BATCH_MESSAGES or total + sizes.get(uid, 0) > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes.get(uid, 0)
    if batch:
        yield batch
