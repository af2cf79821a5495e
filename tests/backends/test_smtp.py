"""The SMTP backend against a real SMTP server on loopback (aiosmtpd, tests/smtp_server.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path

import pytest
from itip import EMPLOYEE, MANAGER, ROOM, check_cancel, check_request, parse_eml, sample_meeting
from smtp_server import MemoryKeyring, SmtpServer, free_port, memory_keyring, smtp_server, tls_ca  # noqa: F401

from samtale_automation.backends import BackendContext, mime, open_backend
from samtale_automation.backends.smtp.backend import SmtpBackend, create
from samtale_automation.config import parse_config
from samtale_automation.domain.messages import Delivery, Mail, Person
from samtale_automation.errors import EXIT_BACKEND, BackendError, ConfigError
from samtale_automation.paths import Folder

MAILBOX = "HR Fjordlys <hr@fjordlys.example>"
USER = "hr@fjordlys.example"
PASSWORD = "Passord-som-ikke-må-lekke-7431"
TOKEN = "eyJ0eXAiOiJKV1QiLCJub3QiOiJyZWFsIn0.bearer-som-ikke-må-lekke"
NOW = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)

KARI = Person("kari@fjordlys.example", "Kari Nordmann")
OLA = Person("ola@fjordlys.example", "Ola Nordmann")
PER = Person("per@fjordlys.example", "Per Hansen")

Start = Callable[..., SmtpServer]


@pytest.fixture(autouse=True)
def no_real_secrets(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> MemoryKeyring:  # noqa: F811
    """No secret from the machine running the tests: empty environment variables and keyring."""
    monkeypatch.delenv("SAMTALE_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("SAMTALE_SMTP_OAUTH_TOKEN", raising=False)
    return memory_keyring


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the backend asked for (nobody waits for real)."""
    return []


def context_for(server: SmtpServer | None, tmp_path: Path, sleeps: list[float], *, mailbox: str = MAILBOX,
                **smtp: object) -> BackendContext:
    """A backend context whose samtale.toml points at the server and whose TLS trusts its CA."""
    section = server.settings(**smtp) if server else dict(smtp)
    config = parse_config({"mail": {"backend": "smtp", "mailbox": mailbox}, "smtp": section})
    context = BackendContext(Folder(tmp_path), config, NOW, sleep=sleeps.append)
    if server is not None:
        context.ssl_context = server.client_context  # the test hook: trust the trustme CA
    return context


def backend_for(server: SmtpServer, tmp_path: Path, sleeps: list[float], **smtp: object) -> SmtpBackend:
    return create(context_for(server, tmp_path, sleeps, **smtp))


def plain_message(subject: str, *to: Person) -> EmailMessage:
    """A small message built directly (independent of mime.py)."""
    message = EmailMessage()
    message["From"] = MAILBOX
    message["To"] = ", ".join(p.formatted() for p in to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="fjordlys.example")
    message.set_content(f"Hei,\n\n{subject} – med æøå.\n")
    return message


def send(backend: SmtpBackend, subject: str, *to: Person) -> tuple[EmailMessage, Delivery]:
    message = plain_message(subject, *to)
    return message, backend.deliver(message, to, key=subject, label="mail")


def with_password(monkeypatch: pytest.MonkeyPatch, password: str = PASSWORD) -> None:
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", password)


# ---- the transports ---------------------------------------------------------------------------


def test_starttls_and_login_carry_the_invitation_unchanged(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                           sleeps: list[float],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = open_backend(context_for(server, tmp_path, sleeps))
    assert isinstance(backend, SmtpBackend)
    meeting = sample_meeting()
    recipients = (EMPLOYEE, MANAGER, ROOM)
    message = mime.meeting_message(meeting, "REQUEST", recipients)

    delivery = backend.deliver(message, recipients, key=meeting.key, label="0-REQUEST")
    backend.close()

    assert delivery.failures == ()
    [received] = server.messages
    assert received.data == mime.message_bytes(message)  # byte for byte what mime.py produced
    assert received.mail_from == USER
    assert received.rcpt_tos == [EMPLOYEE.email, MANAGER.email, ROOM.email]
    assert received.tls and received.login == USER
    assert [(login.user, login.secret, login.ok) for login in server.logins] == [(USER, PASSWORD, True)]
    parsed = parse_eml(received.data)
    check_request(parsed.calendar, attendees=[EMPLOYEE.email, MANAGER.email, ROOM.email])
    assert server.connections == 1 and server.quits == 1
    assert backend.stats.connections == 1 and backend.stats.requests == 1 and backend.stats.extra["messages"] == 1
    assert sleeps == []


@pytest.mark.parametrize(("password", "exclude"), [("ascii-only-Passw0rd", ()), ("ascii-only-Passw0rd", ("PLAIN",)),
                                                   (PASSWORD, ()), ("blåbærsyltetøy-Æ", ("PLAIN",))],
                         ids=["ascii-plain", "ascii-login", "utf8-plain", "utf8-login"])
def test_login_with_plain_or_login_and_norwegian_letters(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                         sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                                         password: str, exclude: tuple[str, ...]) -> None:
    server = smtp_server(security="starttls", users={USER: password}, exclude_auth=exclude)
    with_password(monkeypatch, password)
    backend = backend_for(server, tmp_path, sleeps)

    send(backend, "Innlogging", KARI)
    backend.close()

    [login] = server.logins
    mechanism = "LOGIN" if exclude else "PLAIN"
    assert (login.mechanism, login.user, login.secret, login.ok) == (mechanism, USER, password, True)
    assert server.recipients() == [KARI.email]


def test_implicit_ssl_sends_a_mail(smtp_server: Start, tmp_path: Path, sleeps: list[float],  # noqa: F811
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp_server(security="ssl", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)
    mail = Mail(key="forberedelse-1001", to=(KARI,), subject="Forberedelse til medarbeidersamtale – Åse",
                body_text="Hei Kari,\n\nskjemaet ligger vedlagt.\n")

    delivery = backend.send_mail(mail)
    backend.close()

    assert delivery.failures == ()
    [received] = server.messages
    assert received.tls and received.login == USER and received.rcpt_tos == [KARI.email]
    parsed = BytesParser(policy=policy.default).parsebytes(received.data)
    assert parsed["Subject"] == mail.subject
    assert parsed["To"].addresses[0].addr_spec == KARI.email
    assert parsed.get_body().get_content().replace("\r\n", "\n") == mail.body_text


def test_xoauth2_gives_the_server_user_and_bearer_token(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                        sleeps: list[float],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    service = "tjeneste@fjordlys.example"
    server = smtp_server(security="starttls", tokens={service: TOKEN})
    monkeypatch.setenv("SAMTALE_SMTP_OAUTH_TOKEN", TOKEN)
    backend = backend_for(server, tmp_path, sleeps, auth="xoauth2", username=service)

    send(backend, "Påminnelse", KARI)
    backend.close()

    assert [(login.mechanism, login.user, login.secret, login.ok) for login in server.logins] == [
        ("XOAUTH2", service, TOKEN, True)]
    [received] = server.messages
    assert received.login == service and received.mail_from == USER  # the envelope sender stays the mailbox


def test_relay_without_login(smtp_server: Start, tmp_path: Path, sleeps: list[float]) -> None:  # noqa: F811
    server = smtp_server(security="none")
    backend = backend_for(server, tmp_path, sleeps, auth="none")

    message, delivery = send(backend, "Uten innlogging", KARI, OLA)
    backend.close()

    assert delivery.failures == ()
    [received] = server.messages
    assert received.rcpt_tos == [KARI.email, OLA.email] and received.login is None and not received.tls
    assert received.data == mime.message_bytes(message)
    assert server.logins == []


def test_one_connection_carries_every_message_of_a_run(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                       sleeps: list[float],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)
    meeting = sample_meeting(rooms=(), attachments=())
    moved = sample_meeting(rooms=(), attachments=(), sequence=1, start=meeting.start + dt.timedelta(days=1),
                           end=meeting.end + dt.timedelta(days=1))

    backend.upsert_meeting(meeting, (EMPLOYEE, MANAGER))
    backend.upsert_meeting(moved, (EMPLOYEE, MANAGER))
    backend.cancel_meeting(moved, (EMPLOYEE, MANAGER), reason="Flyttet")
    for number in range(5):
        send(backend, f"Melding {number}", KARI)
    assert server.quits == 0  # still open between messages
    backend.close()

    assert server.connections == 1 and server.quits == 1
    assert {received.connection for received in server.messages} == {1}
    assert len(server.messages) == 8
    requests = [parse_eml(received.data) for received in server.messages[:3]]
    assert [parsed.method for parsed in requests] == ["REQUEST", "REQUEST", "CANCEL"]
    check_request(requests[0].calendar)
    assert b"SEQUENCE:1" in check_request(requests[1].calendar).to_ical()
    check_cancel(requests[2].calendar)
    assert backend.stats.connections == 1 and backend.stats.requests == 8 and backend.stats.retries == 0

    send(backend, "Etter close", KARI)  # a closed backend opens a new connection when asked again
    backend.close()
    assert server.connections == 2 and server.messages[-1].connection == 2


# ---- refusals -----------------------------------------------------------------------------------


def test_refused_recipients_are_reported_and_the_others_get_the_message(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.refuse(KARI.email, "450 4.2.1 mailbox busy")
    server.refuse(OLA.email, "550 5.1.1 no such user")
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    message, delivery = send(backend, "Delvis", KARI, OLA, PER)
    backend.close()

    [received] = server.messages
    assert received.rcpt_tos == [PER.email]
    assert received.data == mime.message_bytes(message)
    kari, ola = delivery.failed(KARI.email), delivery.failed(OLA.email)
    assert kari is not None and kari.code == 450 and kari.temporary and "mailbox busy" in kari.message
    assert ola is not None and ola.code == 550 and not ola.temporary and "no such user" in ola.message
    assert delivery.failed(PER.email) is None
    assert sleeps == [] and backend.stats.retries == 0


def test_all_recipients_refused_is_no_crash_and_the_connection_goes_on(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.refuse(KARI.email, "550 5.1.1 no such user")
    server.refuse(OLA.email, "452 4.2.2 mailbox full")
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    _, refused = send(backend, "Ingen", KARI, OLA)
    _, delivered = send(backend, "Neste", PER)
    backend.close()

    assert [(f.email, f.code) for f in refused.failures] == [(KARI.email, 550), (OLA.email, 452)]
    assert delivered.failures == ()
    assert server.recipients() == [PER.email]
    assert server.connections == 1 and sleeps == []


def test_a_recipient_refused_for_now_gets_the_message_on_the_next_run(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.refuse(KARI.email, "451 4.7.1 greylisted, try again later", times=1)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    _, first = send(backend, "Første", KARI, OLA)
    failure = first.failed(KARI.email)
    assert failure is not None and failure.temporary and failure.code == 451
    _, again = send(backend, "Første", KARI)  # what the core does with a temporary failure
    backend.close()

    assert again.failures == ()
    assert [m.rcpt_tos for m in server.messages] == [[OLA.email], [KARI.email]]


def test_a_whole_message_refused_for_good_fails_for_everyone_without_retry(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.fail_data("554 5.6.0 message content rejected", times=1)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    _, delivery = send(backend, "Avvist", KARI, OLA)
    backend.close()

    assert [(f.email, f.code, f.temporary) for f in delivery.failures] == [
        (KARI.email, 554, False), (OLA.email, 554, False)]
    assert "content rejected" in delivery.failures[0].message
    assert server.messages == [] and sleeps == [] and backend.stats.retries == 0


@pytest.mark.parametrize("smtputf8", [True, False])
def test_a_non_ascii_address_needs_smtputf8(smtp_server: Start, tmp_path: Path, sleeps: list[float],  # noqa: F811
                                            monkeypatch: pytest.MonkeyPatch, smtputf8: bool) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD}, smtputf8=smtputf8)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)
    ase = Person("åse.kjærstad@fjordlys.example", "Åse Kjærstad")

    _, delivery = send(backend, "Utenfor ASCII", KARI, ase)
    backend.close()

    if smtputf8:
        assert delivery.failures == ()
        assert server.recipients() == [KARI.email, ase.email]
    else:
        assert [(f.email, f.code) for f in delivery.failures] == [(ase.email, 553)]
        assert "SMTPUTF8" in delivery.failures[0].message
        assert server.recipients() == [KARI.email]


# ---- temporary trouble: retry ------------------------------------------------------------------


def test_451_after_data_is_retried_and_delivered_once(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                      sleeps: list[float],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.fail_data("451 4.3.0 temporary server error", times=1)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    message, delivery = send(backend, "Igjen", KARI, OLA)
    backend.close()

    assert delivery.failures == ()
    [received] = server.messages
    assert received.rcpt_tos == [KARI.email, OLA.email] and received.data == mime.message_bytes(message)
    assert sleeps == [1.0]
    assert backend.stats.retries == 1 and backend.stats.waited_seconds == 1.0 and backend.stats.requests == 2
    assert server.connections == 2  # a fresh connection for the retry


def test_lasting_temporary_failure_gives_temporary_failures_after_three_retries(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.fail_data("451 4.3.0 temporary server error", times=None)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    _, delivery = send(backend, "Aldri", KARI, OLA)
    backend.close()

    assert [(f.email, f.code, f.temporary) for f in delivery.failures] == [
        (KARI.email, 451, True), (OLA.email, 451, True)]
    assert sleeps == [1.0, 4.0, 15.0]
    assert backend.stats.retries == 3 and backend.stats.waited_seconds == 20.0 and backend.stats.requests == 4
    assert server.messages == []


def test_dropped_connection_reconnects_and_continues(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                     sleeps: list[float],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    server.drop_after(2)
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    deliveries = [send(backend, f"Nr {number}", KARI)[1] for number in range(5)]
    backend.close()

    assert all(d.failures == () for d in deliveries)
    subjects = [BytesParser(policy=policy.default).parsebytes(m.data)["Subject"] for m in server.messages]
    assert subjects == [f"Nr {number}" for number in range(5)]  # each once, in order
    assert [m.connection for m in server.messages] == [1, 1, 2, 2, 2]
    assert server.connections == 2 and backend.stats.connections == 2
    assert sleeps == [1.0] and backend.stats.retries == 1


def test_server_gone_mid_run_gives_temporary_failures_with_code_0(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)
    send(backend, "Før", KARI)
    server.stop()

    _, delivery = send(backend, "Etter", KARI, OLA)
    backend.close()

    assert [(f.email, f.code, f.temporary) for f in delivery.failures] == [
        (KARI.email, 0, True), (OLA.email, 0, True)]
    assert sleeps == [1.0, 4.0, 15.0]
    assert len(server.messages) == 1


# ---- settings that cannot work: BackendError, exit code 4 ---------------------------------------


def test_wrong_password_stops_with_a_norwegian_message_without_the_password(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, nb_messages: None) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    wrong = "Feil-passord-9876"
    with_password(monkeypatch, wrong)
    backend = backend_for(server, tmp_path, sleeps)

    with pytest.raises(BackendError) as caught:
        send(backend, "Skal ikke frem", KARI)

    error = caught.value
    assert error.exit_code == EXIT_BACKEND == 4
    assert "godtok ikke innloggingen" in error.message and USER in error.message and "535" in error.message
    assert "[smtp] username" in error.hint and "SAMTALE_SMTP_PASSWORD" in error.hint
    assert "keyring set samtale smtp_password" in error.hint
    shown = f"{error} {error.message} {error.hint} {error!r} {backend!r} {capsys.readouterr()} {caplog.text}"
    assert wrong not in shown and PASSWORD not in shown
    assert [login.ok for login in server.logins] and not any(login.ok for login in server.logins)
    assert server.messages == [] and sleeps == []


def test_password_changed_mid_run_stops_at_the_reconnect(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                         sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                                         nb_messages: None) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)
    send(backend, "Første", KARI)
    server.users[USER] = "byttet-i-mellomtiden"
    server.drop_after(1)

    with pytest.raises(BackendError) as caught:
        send(backend, "Andre", KARI)

    assert "godtok ikke innloggingen" in caught.value.message and caught.value.exit_code == 4
    assert sleeps == [1.0]  # one reconnect after the drop, then no retrying a refused login
    assert server.recipients() == [KARI.email]


def test_no_common_login_mechanism_names_auth(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                              sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                              nb_messages: None) -> None:
    server = smtp_server(security="starttls", users={USER: "ascii-pw"}, tokens={USER: TOKEN},
                         exclude_auth=("PLAIN", "LOGIN"))
    with_password(monkeypatch, "ascii-pw")
    backend = backend_for(server, tmp_path, sleeps)

    with pytest.raises(BackendError) as caught:
        send(backend, "Feil mekanisme", KARI)

    assert 'auth = "password"' in caught.value.message and "[smtp] auth" in caught.value.hint
    assert server.logins == []


def test_wrong_token_stops_without_showing_the_token(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                     sleeps: list[float], monkeypatch: pytest.MonkeyPatch,
                                                     nb_messages: None) -> None:
    server = smtp_server(security="starttls", tokens={USER: TOKEN})
    monkeypatch.setenv("SAMTALE_SMTP_OAUTH_TOKEN", "utløpt-token")
    backend = backend_for(server, tmp_path, sleeps, auth="xoauth2")

    with pytest.raises(BackendError) as caught:
        send(backend, "Skal ikke frem", KARI)

    error = caught.value
    assert error.exit_code == 4
    assert "godtok ikke innloggingen" in error.message
    assert "SAMTALE_SMTP_OAUTH_TOKEN" in error.hint and "keyring set samtale smtp_oauth_token" in error.hint
    assert "utløpt-token" not in f"{error.message} {error.hint}" and TOKEN not in f"{error.message} {error.hint}"
    assert server.logins[0].ok is False and server.messages == []


def test_connection_refused_names_host_and_port(tmp_path: Path, sleeps: list[float],
                                                nb_messages: None) -> None:
    port = free_port()
    backend = create(context_for(None, tmp_path, sleeps, host="127.0.0.1", port=port, auth="none"))

    with pytest.raises(BackendError) as caught:
        send(backend, "Ingen server", KARI)

    assert caught.value.exit_code == 4
    assert "avviste tilkoblingen" in caught.value.message and str(port) in caught.value.message
    assert "[smtp] host og port" in caught.value.hint
    assert sleeps == []  # the first connection does not retry: the setting is wrong


def test_unknown_host_names_the_host_setting(tmp_path: Path, sleeps: list[float], nb_messages: None) -> None:
    backend = create(context_for(None, tmp_path, sleeps, host="smtp.finnes-ikke.invalid", auth="none"))

    with pytest.raises(BackendError) as caught:
        send(backend, "Ingen server", KARI)

    assert "Fant ikke SMTP-serveren «smtp.finnes-ikke.invalid»" in caught.value.message
    assert "[smtp] host" in caught.value.hint and caught.value.exit_code == 4


def test_untrusted_certificate_is_a_backend_error(smtp_server: Start, tmp_path: Path, sleeps: list[float],  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch, nb_messages: None) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})
    with_password(monkeypatch)
    context = context_for(server, tmp_path, sleeps)
    del context.ssl_context  # the system's CAs do not know the test CA

    with pytest.raises(BackendError) as caught:
        send(create(context), "Usikker", KARI)

    assert "Sertifikatet" in caught.value.message and "[smtp] host" in caught.value.hint
    assert server.logins == [] and server.messages == []  # the password never went out


def test_ssl_against_a_plain_server_names_security_and_port(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                            sleeps: list[float], nb_messages: None) -> None:
    server = smtp_server(security="none")
    backend = create(context_for(server, tmp_path, sleeps, security="ssl", auth="none"))

    with pytest.raises(BackendError) as caught:
        send(backend, "Feil sikkerhet", KARI)

    assert "TLS" in caught.value.message and "[smtp] security og port" in caught.value.hint


def test_starttls_against_an_implicit_tls_port_times_out_with_a_hint(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], nb_messages: None) -> None:  # noqa: F811
    server = smtp_server(security="ssl")  # waits for a TLS hello while the client waits for a greeting
    backend = create(context_for(server, tmp_path, sleeps, security="starttls", auth="none", timeout=0.3))

    with pytest.raises(BackendError) as caught:
        send(backend, "Feil port", KARI)

    assert "svarte ikke som ventet" in caught.value.message
    assert "[smtp] host, port og security" in caught.value.hint and "465" in caught.value.hint


def test_starttls_not_offered_names_security(smtp_server: Start, tmp_path: Path, sleeps: list[float],  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch, nb_messages: None) -> None:
    server = smtp_server(security="none", users={USER: PASSWORD})
    with_password(monkeypatch)
    backend = create(context_for(server, tmp_path, sleeps, security="starttls"))

    with pytest.raises(BackendError) as caught:
        send(backend, "Uten TLS", KARI)

    assert "STARTTLS" in caught.value.message and "[smtp] security" in caught.value.hint
    assert server.logins == []


# ---- secrets and settings ------------------------------------------------------------------------


def test_missing_password_is_a_config_error_that_says_where_to_put_it(smtp_server: Start, tmp_path: Path,  # noqa: F811
                                                                      sleeps: list[float],
                                                                      nb_messages: None) -> None:
    server = smtp_server(security="starttls", users={USER: PASSWORD})

    with pytest.raises(ConfigError) as caught:
        backend_for(server, tmp_path, sleeps)

    assert "smtp_password" in caught.value.message
    assert "SAMTALE_SMTP_PASSWORD" in caught.value.hint and "keyring set samtale smtp_password" in caught.value.hint
    assert server.connections == 0


def test_missing_token_names_its_variable(tmp_path: Path, sleeps: list[float]) -> None:
    with pytest.raises(ConfigError) as caught:
        create(context_for(None, tmp_path, sleeps, host="smtp.office365.com", auth="xoauth2"))
    assert "SAMTALE_SMTP_OAUTH_TOKEN" in caught.value.hint
    assert "keyring set samtale smtp_oauth_token" in caught.value.hint


def test_password_from_the_keyring(smtp_server: Start, tmp_path: Path, sleeps: list[float],  # noqa: F811
                                   no_real_secrets: MemoryKeyring) -> None:
    server = smtp_server(security="ssl", users={USER: PASSWORD})
    no_real_secrets.set_password("samtale", "smtp_password", PASSWORD)
    backend = backend_for(server, tmp_path, sleeps)

    send(backend, "Fra nøkkelringen", KARI)
    backend.close()

    assert [(login.user, login.secret, login.ok) for login in server.logins] == [(USER, PASSWORD, True)]
    assert server.recipients() == [KARI.email]


def test_password_from_the_environment_wins_over_the_keyring(
        smtp_server: Start, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        no_real_secrets: MemoryKeyring) -> None:
    server = smtp_server(security="ssl", users={USER: PASSWORD})
    no_real_secrets.set_password("samtale", "smtp_password", "gammelt-passord")
    with_password(monkeypatch)
    backend = backend_for(server, tmp_path, sleeps)

    send(backend, "Fra miljøet", KARI)
    backend.close()

    assert [login.secret for login in server.logins] == [PASSWORD]


def test_missing_mailbox_is_a_norwegian_config_error(tmp_path: Path, sleeps: list[float],
                                                     monkeypatch: pytest.MonkeyPatch, nb_messages: None) -> None:
    with_password(monkeypatch)
    with pytest.raises(ConfigError) as caught:
        create(context_for(None, tmp_path, sleeps, mailbox="", host="smtp.firma.no"))
    assert "Postkassen" in caught.value.message and "[mail] mailbox" in caught.value.hint


def test_missing_host_is_a_config_error(tmp_path: Path, sleeps: list[float], nb_messages: None) -> None:
    with pytest.raises(ConfigError) as caught:
        create(context_for(None, tmp_path, sleeps, auth="none"))
    assert "[smtp] host" in caught.value.hint


@pytest.mark.parametrize(("section", "port"), [({}, 587), ({"security": "starttls"}, 587),
                                               ({"security": "ssl"}, 465), ({"security": "none"}, 25),
                                               ({"security": "ssl", "port": 2465}, 2465)])
def test_port_follows_security(section: dict[str, object], port: int) -> None:
    settings = parse_config({"smtp": {"host": "smtp.firma.no", **section}}).smtp
    assert settings is not None and settings.port == port
    assert settings.auth == "password" and settings.timeout == 60.0


@pytest.mark.parametrize(("key", "value"), [("security", "tls"), ("auth", "ntlm"), ("port", "587"),
                                            ("port", 0), ("timeout", -1), ("timeout", True)])
def test_bad_setting_is_a_problem_naming_it(key: str, value: object, nb_messages: None) -> None:
    config = parse_config({"smtp": {"host": "smtp.firma.no", key: value}})
    assert config.smtp is None
    assert [p.where for p in config.problems] == [f"samtale.toml: smtp.{key}"]


def test_username_defaults_to_the_mailbox_and_no_secret_shows(tmp_path: Path, sleeps: list[float],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with_password(monkeypatch)
    backend = create(context_for(None, tmp_path, sleeps, host="smtp.firma.no"))
    assert backend.username == USER and backend.mailbox == Person(USER, "HR Fjordlys")
    assert PASSWORD not in repr(backend) and PASSWORD not in str(vars(backend.settings))
