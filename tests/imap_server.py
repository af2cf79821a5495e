"""A real Dovecot IMAP server on loopback for the tests, and the smtp+imap contract kit.

Use the fixtures by importing them into a test module (tests/ is on sys.path):

    from imap_server import Dovecot, dovecot, dovecot_server  # noqa: F401  (pytest fixtures)
    from smtp_server import tls_ca  # noqa: F401

    def test_x(dovecot: Dovecot) -> None:
        dovecot.append(USER, "INBOX", raw_bytes)
        ...read with the settings dovecot.settings() and trusting dovecot.client_context...
        assert dovecot.folder_uids(USER, "Samtale behandlet") == [1]

What runs: the `dovecot` binary of the machine (Debian: `apt-get install dovecot-imapd`; CI installs
it) with a configuration generated in a temporary directory: only IMAP, listening on 127.0.0.1 on
two free ports (implicit TLS, and STARTTLS), `ssl = required` with a trustme certificate, users in a
passwd-file, maildirs, state, sockets and log in the same directory. One server is shared by the
whole test session (`dovecot_server`, started on first use); `dovecot` empties every user's
folders before each test. Without the binary the tests fail, saying what to install.

Users (all with UTF-8 passwords):

* `USER` (hr@fjordlys.example): the mailbox, with every capability Dovecot has (MOVE, UIDPLUS);
* `NO_MOVE_USER`: a server that offers UIDPLUS but no MOVE (Dovecot's `imap_capability`, per user);
* `PLAIN_USER`: neither MOVE nor UIDPLUS, as old servers.

XOAUTH2 works for `USER` with the bearer token `TOKEN`: Dovecot's oauth2 passdb asks a small
loopback HTTP endpoint (RFC 7662 token introspection, `introspections` records what it was asked).

Dovecot refuses to give mail access to root, so as root the maildirs belong to `nobody` and the
internal/login processes run as the `dovecot`/`dovenull` users of the Debian package; as anyone
else every process runs as that user.

`ImapProxy` sits between a client and the plain (STARTTLS) port: it records every command line
the client sent and can cut the connection when a command contains a marker.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import grp
import http.server
import imaplib
import json
import mimetypes
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
import trustme
from backend_kit import ORGANIZER, Kit, mime_seen
from smtp_server import SmtpServer, free_port

from samtale_automation.backends.smtp.backend import SmtpBackend
from samtale_automation.backends.smtp.imap_syntax import quoted_folder
from samtale_automation.config import SmtpSettings, parse_config
from samtale_automation.domain.model import OSLO

HOST = "127.0.0.1"
USER = ORGANIZER.email
PASSWORD = "Blåbærsyltetøy-æøå-7431"
NO_MOVE_USER = "utenmove@fjordlys.example"
PLAIN_USER = "gammel@fjordlys.example"
#: user → (password, IMAP capabilities after login; "" = Dovecot's own).
USERS = {
    USER: (PASSWORD, ""),
    NO_MOVE_USER: ("Ingen-flytting-åø-1", "IMAP4rev1 LITERAL+ UIDPLUS"),
    PLAIN_USER: ("Gammel-server-æ-2", "IMAP4rev1 LITERAL+"),
}
#: The bearer token Dovecot's oauth2 passdb accepts for USER (XOAUTH2).
TOKEN = "eyJ0eXAiOiJKV1QifQ.test-token-for-imap.ikke-ekte"
INSTALL_HINT = ("dovecot is not installed: the IMAP tests need the real server. "
                "Install it with `apt-get install -y --no-install-recommends dovecot-imapd` (CI does).")
START_TIMEOUT = 30.0


def dovecot_binary() -> str:
    """The dovecot executable (also in /usr/sbin, which is not on every PATH); fails the test when missing."""
    found = shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
                                             if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


class Dovecot:
    """One running Dovecot instance; see the module docstring."""

    def __init__(self, ca: trustme.CA | None = None) -> None:
        self.binary = dovecot_binary()  # first: without it, nothing is made that would need cleaning up
        self.ca = ca or trustme.CA()
        self.host = HOST
        self.client_context = ssl.create_default_context()
        self.ca.configure_trust(self.client_context)
        self.root = Path(tempfile.mkdtemp(prefix="samtale-dovecot-"))
        self.ssl_port = free_port()
        self.starttls_port = free_port()
        self.log_path = self.root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.introspections: list[str] = []  # the tokens Dovecot asked the introspection endpoint about
        self._introspection = _introspection_server(self)

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Dovecot:
        """Write the configuration, start `dovecot -F` and wait until it greets on the STARTTLS port."""
        config = self._write_config()
        environment = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                       **{_caps_variable(user): caps for user, (_, caps) in USERS.items() if caps}}
        threading.Thread(target=self._introspection.serve_forever, daemon=True).start()
        self._process = subprocess.Popen([self.binary, "-F", "-c", str(config)], env=environment,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._greets():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                errors = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
                pytest.fail(f"dovecot did not start:\n{errors}\n{log}", pytrace=False)
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory (again: nothing)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        self._introspection.shutdown()
        self._introspection.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Whether the dovecot master process is still alive."""
        return self._process is not None and self._process.poll() is None

    def _greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.starttls_port), timeout=2) as probe:
                return probe.recv(100).startswith(b"* OK")
        except OSError:
            return False

    def _write_config(self) -> Path:
        root = self.root
        as_root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        my_group = grp.getgrgid(os.getegid()).gr_name
        if as_root:  # Dovecot gives no mail access to root; the Debian package made dovecot and dovenull
            mail_user, mail_group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
            internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
            root.chmod(0o755)  # the mail processes (nobody) must reach the maildirs under it
        else:
            mail_user, mail_group, internal_user, internal_group, login_user = me, my_group, me, my_group, me
        (root / "mail").mkdir()
        (root / "run").mkdir()
        (root / "state").mkdir()
        if as_root:
            shutil.chown(root / "mail", mail_user, mail_group)
        cert = self.ca.issue_cert(HOST, "localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        (root / "server.pem").chmod(0o600)
        lines = []
        for user, (password, caps) in USERS.items():
            extra = f"userdb_imap_capability=%{{env:{_caps_variable(user)}}}" if caps else ""
            lines.append(f"{user}:{{PLAIN}}{password}::::::{extra}\n")
        users = root / "users"
        users.write_text("".join(lines), encoding="utf-8")
        users.chmod(0o644)  # read by the auth process, which runs as the internal user
        oauth2 = root / "oauth2.conf"
        oauth2.write_text(f"""\
introspection_mode = post
introspection_url = http://{HOST}:{self._introspection.server_address[1]}/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
""", encoding="utf-8")
        oauth2.chmod(0o644)
        config = root / "dovecot.conf"
        config.write_text(f"""\
# Generated by tests/imap_server.py for one test session.
protocols = imap
listen = {HOST}
instance_name = samtale-test-{os.getpid()}-{self.ssl_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
import_environment = TZ {" ".join(_caps_variable(u) for u, (_, caps) in USERS.items() if caps)}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_uid = {mail_user}
mail_gid = {mail_group}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/mail/%u
ssl = required
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.pem
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {oauth2}
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no growing delay for logins after a failed one (the wrong-password tests)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""", encoding="utf-8")
        return config

    # ---- what tests use -----------------------------------------------------------------------

    def settings(self, security: str = "ssl", **overrides: object) -> dict[str, object]:
        """The `imap_*` keys of an `[smtp]` section pointing at this server."""
        port = self.ssl_port if security == "ssl" else self.starttls_port
        return {"imap_host": self.host, "imap_port": port, "imap_security": security, **overrides}

    @contextlib.contextmanager
    def client(self, user: str = USER) -> Iterator[imaplib.IMAP4_SSL]:
        """The test's own IMAP connection (implicit TLS), logged in as `user`."""
        password = USERS[user][0]
        connection = imaplib.IMAP4_SSL(HOST, self.ssl_port, ssl_context=self.client_context, timeout=30)
        try:
            connection.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.logout()

    def append(self, user: str, folder: str, raw: bytes, flags: str = "") -> int:
        """Store a raw message in the folder (created when missing); its UID."""
        return self.append_many(user, folder, [raw], flags)[0]

    def append_many(self, user: str, folder: str, raws: list[bytes], flags: str = "") -> list[int]:
        """Store raw messages in the folder (created when missing) over one connection; their UIDs."""
        uids = []
        with self.client(user) as imap:
            imap.create(quoted_folder(folder))  # NO [ALREADYEXISTS] when it exists: fine
            for raw in raws:
                typ, data = imap.append(quoted_folder(folder), flags or None, None, raw)
                assert typ == "OK", data
                match = re.search(rb"APPENDUID \d+ (\d+)", data[0])
                assert match, data
                uids.append(int(match.group(1)))
        return uids

    def folder_uids(self, user: str, folder: str) -> list[int]:
        """UIDs of the messages in the folder ([] when it does not exist)."""
        with self.client(user) as imap:
            typ, _ = imap.select(quoted_folder(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("SEARCH", "ALL")
            return [int(n) for n in data[0].split()] if data and data[0] else []

    def flags(self, user: str, folder: str, uid: int) -> set[str]:
        """The flags of one message (\\Seen, \\Deleted, ...)."""
        with self.client(user) as imap:
            imap.select(quoted_folder(folder), readonly=True)
            _, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            match = re.search(rb"FLAGS \(([^)]*)\)", data[0] if data and data[0] else b"")
            assert match, data
            return set(match.group(1).decode().split()) - {"\\Recent"}  # \Recent belongs to a session, not stored

    def folders(self, user: str, subscribed: bool = False) -> set[str]:
        """The user's folders (or only those subscribed), as IMAP names (modified UTF-7)."""
        with self.client(user) as imap:
            _, data = imap.lsub() if subscribed else imap.list()
            return {_last_name(line) for line in data if isinstance(line, bytes)}

    def uidvalidity(self, user: str, folder: str) -> int:
        """The folder's UIDVALIDITY."""
        with self.client(user) as imap:
            _, data = imap.status(quoted_folder(folder), "(UIDVALIDITY)")
            match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert match, data
            return int(match.group(1))

    def reset(self) -> None:
        """Empty every user's INBOX, delete every other folder and forget the token checks."""
        self.introspections.clear()
        for user in USERS:
            with self.client(user) as imap:
                _, data = imap.list()
                names = sorted((_last_name(line) for line in data if isinstance(line, bytes)), key=len, reverse=True)
                for name in names:
                    if name.upper() != "INBOX":
                        imap.unsubscribe(f'"{name}"')
                        imap.delete(f'"{name}"')
                _, data = imap.select("INBOX")
                if data and data[0] and int(data[0]) > 0:
                    imap.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    imap.expunge()


def _introspection_server(owner: Dovecot) -> http.server.ThreadingHTTPServer:
    """RFC 7662 token introspection for Dovecot's oauth2 passdb: TOKEN is USER's, anything else is inactive."""

    class Introspection(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8", "replace")
            token = urllib.parse.parse_qs(body).get("token", [""])[0]
            owner.introspections.append(token)
            answer = {"active": True, "username": USER} if token == TOKEN else {"active": False}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    return http.server.ThreadingHTTPServer((HOST, 0), Introspection)


def _caps_variable(user: str) -> str:
    """The environment variable carrying a user's capability list (passwd-file fields cannot hold spaces)."""
    return "SAMTALE_TEST_CAPS_" + re.sub(r"[^A-Z0-9]", "_", user.upper())


def _last_name(line: bytes) -> str:
    """The folder name at the end of a LIST/LSUB line (quoted or an atom)."""
    text = line.decode("ascii", "replace").strip()
    if text.endswith('"'):
        return text[text.rstrip('"').rfind('"') + 1:-1]
    return text.rsplit(" ", 1)[-1]


# ---- one server per test session ------------------------------------------------------------------

_shared: Dovecot | None = None


def shared_dovecot(ca: trustme.CA | None = None) -> Dovecot:
    """The session's Dovecot, started on first use (stopped at the end of the session or of the process)."""
    global _shared
    if _shared is None or not _shared.running:
        _shared = Dovecot(ca).start()
        atexit.register(_shared.stop)
    return _shared


def stop_shared() -> None:
    """Stop the shared server, if one runs."""
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


@pytest.fixture(scope="session")
def dovecot_server(tls_ca: trustme.CA) -> Iterator[Dovecot]:
    """The shared Dovecot (trusting the session's test CA when it starts it)."""
    yield shared_dovecot(tls_ca)
    stop_shared()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The shared Dovecot with every folder emptied for this test."""
    dovecot_server.reset()
    return dovecot_server


# ---- a recording, cutting proxy -------------------------------------------------------------------


class ImapProxy:
    """A TCP proxy on loopback in front of Dovecot's plain port: records commands, can cut connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server((HOST, 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections = 0
        self._sent = bytearray()
        self._cuts: list[list[object]] = []  # [marker, times left, passes left]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_when(self, marker: bytes, times: int = 1, after: int = 0) -> None:
        """Close the connection (no answer) when the client sends a command containing `marker`, `times` times,
        letting the first `after` such commands through."""
        with self._lock:
            self._cuts.append([marker, times, after])

    def commands(self) -> list[str]:
        """Every command line clients sent, without the tag («UID MOVE 3 "Samtale behandlet"»)."""
        with self._lock:
            lines = bytes(self._sent).decode("utf-8", "replace").split("\r\n")
        return [line.split(" ", 1)[1] for line in lines if " " in line]

    def close(self) -> None:
        """Stop listening and close every connection."""
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((HOST, self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self._should_cut(data):
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            self._sent += data
            for cut in self._cuts:
                marker, left, passes = cut
                assert isinstance(marker, bytes) and isinstance(left, int) and isinstance(passes, int)
                if left > 0 and marker in data:
                    if passes > 0:
                        cut[2] = passes - 1
                        continue
                    cut[1] = left - 1
                    return True
            return False


# ---- messages and the contract kit ----------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def reply_message(sender: str, subject: str, files: list[tuple[str, bytes]], *, to: str = USER,
                  date: str | None = None) -> bytes:
    """A reply as a mail program sends it: text, then the files as attachments (names RFC 2231-encoded)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = date or format_datetime(_now())
    message["Message-ID"] = make_msgid(domain="fjordlys.example")
    message.set_content("Hei,\n\nher er skjemaet mitt.\n\nHilsen\n")
    for name, data in files:
        maintype, subtype = (XLSX if name.lower().endswith(".xlsx") else _guess(name)).split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))  # as it travels: CRLF


def _guess(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _now() -> dt.datetime:
    return dt.datetime.now(OSLO).replace(microsecond=0)


@contextlib.contextmanager
def contract_kit(tmp_path: Path) -> Iterator[Kit]:
    """The smtp backend sending through aiosmtpd and reading replies from Dovecot over IMAP."""
    server = shared_dovecot()
    server.reset()
    smtp = SmtpServer(security="starttls", users={USER: PASSWORD}, ca=server.ca).start()
    try:
        section = {**smtp.settings(auth="password", username=USER), **server.settings("ssl")}
        settings: SmtpSettings | None = parse_config({"smtp": section}).smtp
        assert settings is not None
        backend = SmtpBackend(settings, ORGANIZER, PASSWORD, sleep=lambda _s: None, ssl_context=smtp.client_context)

        def add_reply(sender: str, subject: str, files: list[tuple[str, bytes]]) -> None:
            server.append(USER, "INBOX", reply_message(sender, subject, files))

        yield Kit(backend, lambda: mime_seen((m.rcpt_tos, m.data) for m in smtp.messages),
                  lambda: len(smtp.messages), add_reply=add_reply)
    finally:
        smtp.stop()
