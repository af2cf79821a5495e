"""A real SMTP server on loopback for the tests (aiosmtpd), with TLS, AUTH and injected faults.

Use the fixtures by importing them into a test module (tests/ is on sys.path, like prep_samples):

    from smtp_server import SmtpServer, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

    def test_x(smtp_server):
        server = smtp_server(security="starttls", users={"hr@firma.no": "pw"})
        ...send to server.host, server.port, trusting server.client_context...
        assert server.messages[0].rcpt_tos == ["kari@firma.no"]

What the server offers:

* `security`: "starttls" (STARTTLS required before AUTH and MAIL), "ssl" (implicit TLS) or "none";
  the certificate comes from a trustme CA for 127.0.0.1 and localhost (`client_context` trusts it);
* AUTH PLAIN and LOGIN against `users` (login → password, UTF-8) and XOAUTH2 against `tokens`
  (user → bearer token); with either given, MAIL needs a login; `exclude_auth=("PLAIN",)` hides
  mechanisms; `logins` records every attempt; `smtputf8=False` leaves out SMTPUTF8;
* `messages`: every accepted message (envelope sender, recipients, raw bytes, login, connection);
  `connections`: how many SMTP sessions clients opened (the start-up probe is not counted),
  `quits`: how many of them ended with QUIT;
* faults: `refuse(address, reply, times)` answers RCPT for that address with `reply` (the first
  `times` attempts, or always); `fail_data(reply, times)` answers after DATA with `reply`;
  `drop_after(count)` closes the connection (no answer) at the first MAIL after `count` accepted
  messages, once.

`memory_keyring` puts an in-memory keyring (`MemoryKeyring`) in place of the OS keyring for a test.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keyring
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax
from keyring.backend import KeyringBackend

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # exactly as received after DATA (CRLF, dot-unstuffed)
    login: str | None  # who had logged in on that connection
    connection: int  # 1 for the first session a client opened, 2 for the next...
    tls: bool


@dataclass(frozen=True)
class Login:
    """One AUTH attempt."""

    mechanism: str
    user: str
    secret: str
    ok: bool


@dataclass
class _Fault:
    reply: str
    times: int | None  # None: every time

    def take(self) -> str | None:
        if self.times is None:
            return self.reply
        if self.times > 0:
            self.times -= 1
            return self.reply
        return None


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _QuietSession(Session):
    """aiosmtpd's session without the deprecation log line on every login."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _Session(SMTP):
    """aiosmtpd's SMTP session, counting connections and able to drop one."""

    def __init__(self, owner: SmtpServer, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.owner = owner
        self.number = 0
        if owner.security != "starttls":  # aiosmtpd counts only STARTTLS as TLS and would hide AUTH
            self._auth_require_tls = False  # set here: as an argument it logs a warning per session

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def connection_made(self, transport: Any) -> None:
        upgrading = self._original_transport is not None  # the second call, after STARTTLS
        super().connection_made(transport)
        if not upgrading:
            self.number = self.owner._connected(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.owner._sessions.discard(self)
        super().connection_lost(error)

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str) -> None:
        if self.owner._should_drop():
            assert self.transport is not None
            self.transport.close()  # no answer: the client sees the connection vanish
            return
        await super().smtp_MAIL(arg)


class _Handler:
    """aiosmtpd hooks: RCPT and DATA with faults, the XOAUTH2 mechanism, capture."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(self, server: _Session, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.owner._fault_for(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: _Session, session: Session, envelope: Envelope) -> str:
        with self.owner._lock:
            reply = self.owner._data_fault.take() if self.owner._data_fault else None
        if reply is not None:
            return reply
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        data = envelope.original_content or b""
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), data, login, server.number,
                            session.ssl is not None or self.owner.security == "ssl")
        with self.owner._lock:
            self.owner.messages.append(received)
        return "250 2.0.0 OK queued"

    async def handle_QUIT(self, server: _Session, session: Session, envelope: Envelope) -> str:
        with self.owner._lock:
            self.owner.quits += 1
        return "221 2.0.0 Bye"

    async def auth_XOAUTH2(self, server: _Session, args: list[str]) -> AuthResult:
        """RFC 7628-style XOAUTH2: `user=<u>^Aauth=Bearer <token>^A^A`, errors as a 334 JSON challenge."""
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            blob = answer
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        ok = bool(user) and self.owner.tokens.get(user) == token
        self.owner._login("XOAUTH2", user, token, ok)
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), token.encode()))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://outlook.office.com/SMTP.Send"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(success=False, handled=False)  # then 535


class SmtpServer:
    """One running loopback SMTP server; see the module docstring."""

    def __init__(self, *, security: str = "starttls", users: dict[str, str] | None = None,
                 tokens: dict[str, str] | None = None, ca: trustme.CA | None = None,
                 exclude_auth: tuple[str, ...] = (), smtputf8: bool = True) -> None:
        assert security in ("starttls", "ssl", "none"), security
        self.security = security
        self.users = dict(users or {})
        self.tokens = dict(tokens or {})
        self.host = HOST
        self.port = free_port()
        self.messages: list[Received] = []
        self.logins: list[Login] = []
        self.connections = 0
        self.quits = 0
        self._running = False
        self._sessions: set[_Session] = set()  # open sessions, closed on stop (as a server going away does)
        self._lock = threading.Lock()
        self._rcpt_faults: dict[str, _Fault] = {}
        self._data_fault: _Fault | None = None
        self._drop_after: int | None = None
        self._ca = ca or trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(HOST, "localhost").configure_cert(server_context)
        self.client_context = ssl.create_default_context()
        self._ca.configure_trust(self.client_context)
        handler = _Handler(self)
        needs_login = bool(self.users or self.tokens)
        session_options: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_required": needs_login,
            "auth_exclude_mechanism": list(exclude_auth),
            "enable_SMTPUTF8": smtputf8,
        }
        if security == "starttls":
            session_options.update(tls_context=server_context, require_starttls=True)
        owner = self

        class _Controller(Controller):  # type: ignore[misc]
            def factory(self) -> _Session:
                return _Session(owner, self.handler, **self.SMTP_kwargs)

        self._controller = _Controller(handler, hostname=HOST, port=self.port, server_hostname="smtp.test",
                                       ssl_context=server_context if security == "ssl" else None, **session_options)

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        """Listen; the start-up probe connection is not counted."""
        self._controller.start()
        self._running = True
        with self._lock:
            self.connections = 0
        return self

    def stop(self) -> None:
        """Stop listening and end open sessions (again: nothing)."""
        if self._running:
            self._running = False
            self._controller.loop.call_soon_threadsafe(self._close_sessions)
            self._controller.stop()

    def settings(self, **overrides: object) -> dict[str, object]:
        """An `[smtp]` section pointing at this server."""
        return {"host": self.host, "port": self.port, "security": self.security, **overrides}

    # ---- faults -------------------------------------------------------------------------------

    def refuse(self, address: str, reply: str, times: int | None = None) -> None:
        """Answer RCPT TO for `address` with `reply` (e.g. "450 4.2.1 mailbox busy"), `times` times or always."""
        with self._lock:
            self._rcpt_faults[address.casefold()] = _Fault(reply, times)

    def fail_data(self, reply: str = "451 4.3.0 Temporary server error, try again", times: int | None = 1) -> None:
        """Answer the end of DATA with `reply` instead of accepting the message."""
        with self._lock:
            self._data_fault = _Fault(reply, times)

    def drop_after(self, count: int) -> None:
        """Close the connection without an answer at the first MAIL after `count` accepted messages (once)."""
        with self._lock:
            self._drop_after = count

    # ---- views --------------------------------------------------------------------------------

    def recipients(self) -> list[str]:
        """Every envelope recipient of every accepted message, in order."""
        return [address for message in self.messages for address in message.rcpt_tos]

    # ---- called from the server thread --------------------------------------------------------

    def _connected(self, session: _Session) -> int:
        with self._lock:
            self._sessions.add(session)
            self.connections += 1
            return self.connections

    def _close_sessions(self) -> None:
        for session in list(self._sessions):
            # the raw socket's transport: a TLS one would wait for the client's close_notify
            raw = session._original_transport or session.transport
            if raw is not None:
                raw.close()

    def _should_drop(self) -> bool:
        with self._lock:
            if self._drop_after is not None and len(self.messages) >= self._drop_after:
                self._drop_after = None
                return True
            return False

    def _fault_for(self, address: str) -> str | None:
        with self._lock:
            fault = self._rcpt_faults.get(address.casefold())
            return fault.take() if fault else None

    def _login(self, mechanism: str, user: str, secret: str, ok: bool) -> None:
        with self._lock:
            self.logins.append(Login(mechanism, user, secret, ok))

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: LoginPassword) -> AuthResult:
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = user in self.users and self.users[user] == password
        self._login(mechanism, user, password, ok)
        # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class MemoryKeyring(KeyringBackend):
    """An in-memory OS keyring for tests: `keyring.set_keyring(MemoryKeyring({("samtale", name): secret}))`."""

    priority = -1  # never chosen on its own: only where a test sets it

    def __init__(self, passwords: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.passwords = dict(passwords or {})

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory keyring in place of the OS keyring for the test (the real one is never touched)."""
    before = keyring.get_keyring()
    fake = MemoryKeyring()
    keyring.set_keyring(fake)
    yield fake
    keyring.set_keyring(before)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """One test certificate authority for every server of the run."""
    return trustme.CA()


@pytest.fixture
def smtp_server(tls_ca: trustme.CA) -> Iterator[Callable[..., SmtpServer]]:
    """Start loopback SMTP servers: `smtp_server(security=..., users=..., tokens=...)`; stopped after the test."""
    started: list[SmtpServer] = []

    def start(**options: Any) -> SmtpServer:
        options.setdefault("ca", tls_ca)
        server = SmtpServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
