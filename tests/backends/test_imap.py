"""Reading returned files over IMAP (smtp backend with [smtp] imap_host) against a real Dovecot on loopback.

Dovecot runs once for the module (tests/imap_server.py); every test starts with empty folders.
What the reader did is checked on the server: which folder holds the message, its flags, and —
through a recording proxy in front of the plain port — which commands Dovecot received.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr
from pathlib import Path

import pytest
from imap_server import (
    NO_MOVE_USER,
    PASSWORD,
    PLAIN_USER,
    TOKEN,
    USER,
    USERS,
    Dovecot,
    ImapProxy,
    dovecot,  # noqa: F401  (pytest fixture)
    dovecot_server,  # noqa: F401  (pytest fixture)
    reply_message,
)
from smtp_server import SmtpServer, free_port, smtp_server, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.backends.smtp.backend import SmtpBackend
from samtale_automation.backends.smtp.imap import BATCH_MESSAGES
from samtale_automation.backends.smtp.imap_syntax import imap_utf7, quoted_folder, uid_set
from samtale_automation.config import load_config, parse_config
from samtale_automation.domain.messages import Cap, IncomingFile, Person
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import EXIT_BACKEND, BackendError
from samtale_automation.paths import Folder

MAILBOX = Person(USER, "Fjordlys HR")
ASE = "Åse Kjærstad <ase@fjordlys.example>"
WORKBOOK = b"PK\x03\x04 en utfylt arbeidsbok \xc3\xa6\xc3\xb8\xc3\xa5"
DONE = "Samtale behandlet"


def backend_for(server: Dovecot, *, user: str = USER, password: str | None = None, smtp_port: int | None = None,
                **imap: object) -> SmtpBackend:
    """The smtp backend from a samtale.toml [smtp] section whose imap_* keys point at Dovecot."""
    section: dict[str, object] = {"host": "127.0.0.1", "port": smtp_port or free_port(), "security": "starttls",
                                  "username": user, **server.settings(str(imap.pop("imap_security", "ssl"))), **imap}
    settings = parse_config({"mail": {"mailbox": USER}, "smtp": section}).smtp
    assert settings is not None
    return SmtpBackend(settings, MAILBOX, password or USERS[user][0], sleep=lambda _s: None,
                       ssl_context=server.client_context)


@pytest.fixture
def proxy(dovecot: Dovecot) -> Iterator[ImapProxy]:  # noqa: F811
    """A recording proxy in front of Dovecot's plain port (the reader then uses imap_security = "none")."""
    made = ImapProxy(dovecot.starttls_port)
    yield made
    made.close()


def proxied(server: Dovecot, proxy: ImapProxy, **options: object) -> SmtpBackend:
    """A backend talking to Dovecot through the proxy, in plain IMAP (loopback only)."""
    return backend_for(server, imap_security="none", imap_port=proxy.port, **options)


def verbs(proxy: ImapProxy) -> list[str]:
    """The commands Dovecot received, by name («UID FETCH», «SELECT»)."""
    words = [command.split(" ") for command in proxy.commands()]
    return [" ".join(w[:2]) if w[0] == "UID" else w[0] for w in words]


def fetched(backend: SmtpBackend) -> list[IncomingFile]:
    """Every file the backend finds now."""
    return list(backend.fetch_files((".xlsx",)))


def outlook_style(sender: tuple[str, str], subject: str, name: str, data: bytes) -> bytes:
    """A reply whose file name is an RFC 2047 encoded word in quotes (not RFC 2231), as Outlook writes it."""
    word = "=?utf-8?B?" + base64.b64encode(name.encode()).decode() + "?="
    text = (f"From: {formataddr(sender)}\r\nTo: {USER}\r\nSubject: {Header(subject, 'utf-8').encode()}\r\n"
            "Date: Tue, 30 Mar 2027 09:15:00 +0200\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="grense"\r\n\r\n'
            "--grense\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedlegg.\r\n"
            f'--grense\r\nContent-Type: application/octet-stream; name="{word}"\r\n'
            f'Content-Disposition: attachment; filename="{word}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            f"{base64.b64encode(data).decode()}\r\n--grense--\r\n")
    return text.encode("ascii")


# ---- what is found -------------------------------------------------------------------------------


def test_norwegian_file_names_subjects_and_senders_come_through(dovecot: Dovecot) -> None:  # noqa: F811
    rfc2231 = reply_message(ASE, "SV: Medarbeidersamtale – Åse Kjærstad",
                            [("1001 Åse Kjærstad - forberedelse.xlsx", WORKBOOK)],
                            date="Tue, 30 Mar 2027 09:00:00 +0200")
    rfc2047 = outlook_style(("Bjørn Sæther", "bjorn@fjordlys.example"), "VS: Skjema ø", "Bjørn Sæther – referat.XLSX",
                            b"PK\x03\x04 ref")
    assert b"filename*=utf-8''1001%20%C3%85se" in rfc2231 and b'filename="=?utf-8?B?' in rfc2047
    first = dovecot.append(USER, "INBOX", rfc2231)
    second = dovecot.append(USER, "INBOX", rfc2047)
    validity = dovecot.uidvalidity(USER, "INBOX")

    files = fetched(backend_for(dovecot))

    assert [(f.message_id, f.sender, f.filename, f.content, f.subject) for f in files] == [
        (f"{validity}:{first}", "ase@fjordlys.example", "1001 Åse Kjærstad - forberedelse.xlsx", WORKBOOK,
         "SV: Medarbeidersamtale – Åse Kjærstad"),
        (f"{validity}:{second}", "bjorn@fjordlys.example", "Bjørn Sæther – referat.XLSX", b"PK\x03\x04 ref",
         "VS: Skjema ø")]
    assert files[0].received == dt.datetime(2027, 3, 30, 9, 0, tzinfo=OSLO)
    assert files[1].received == dt.datetime(2027, 3, 30, 7, 15, tzinfo=dt.UTC)


def test_a_workbook_in_a_forwarded_message_is_found_and_a_pdf_alone_is_left(dovecot: Dovecot) -> None:  # noqa: F811
    inner = reply_message(ASE, "Skjemaet mitt", [("1001 Åse Kjærstad - forberedelse.xlsx", WORKBOOK)])
    forward = EmailMessage()
    forward["From"] = "Kari Leder <kari@fjordlys.example>"
    forward["To"] = USER
    forward["Subject"] = "VS: Skjemaet mitt"
    forward.set_content("Videresender fra Åse.")
    forward.add_attachment(BytesParser(policy=policy.default).parsebytes(inner))  # message/rfc822, as it is
    forwarded = dovecot.append(USER, "INBOX", forward.as_bytes())
    encoded = EmailMessage()  # some programs base64-encode the forwarded message (RFC 2046 says not to)
    for header in ("From", "To", "Subject"):
        encoded[header] = forward[header]
    encoded.set_content("Videresender fra Åse.")
    encoded.add_attachment(inner, maintype="message", subtype="rfc822")
    assert b"Content-Transfer-Encoding: base64" in encoded.as_bytes()
    forwarded_encoded = dovecot.append(USER, "INBOX", encoded.as_bytes())
    pdf_only = dovecot.append(USER, "INBOX", reply_message(ASE, "Kvittering", [("kvittering.pdf", b"%PDF-1.7")]))
    text_only = dovecot.append(USER, "INBOX", reply_message(ASE, "Takk for samtalen", []))
    backend = backend_for(dovecot)

    files = fetched(backend)

    assert [(f.message_id.split(":")[1], f.sender, f.filename, f.content) for f in files] == [
        (str(uid), "kari@fjordlys.example", "1001 Åse Kjærstad - forberedelse.xlsx", WORKBOOK)
        for uid in (forwarded, forwarded_encoded)]
    assert backend.stats.extra["imap_downloads"] == 3  # the text-only message was never downloaded
    backend.mark_handled(files[1].message_id)
    backend.mark_handled(files[0].message_id)
    assert dovecot.folder_uids(USER, "INBOX") == [pdf_only, text_only]  # left alone, still unread
    assert dovecot.flags(USER, "INBOX", pdf_only) == set()


def test_a_message_without_a_date_header_gets_its_arrival_time(dovecot: Dovecot) -> None:  # noqa: F811
    raw = reply_message(ASE, "Uten dato", [("skjema.xlsx", WORKBOOK)])
    raw = b"".join(line for line in raw.splitlines(keepends=True) if not line.startswith(b"Date:"))
    # (in the past: Dovecot ignores an INTERNALDATE in the future)
    arrived = dt.datetime(2025, 4, 2, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with dovecot.client(USER) as imap:
        assert imap.append("INBOX", None, arrived, raw)[0] == "OK"

    (found,) = fetched(backend_for(dovecot))

    assert found.received == arrived and found.received.utcoffset() is not None


# ---- moving handled messages ----------------------------------------------------------------------


def test_fetching_marks_nothing_and_handled_messages_move_once(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    uids = [dovecot.append(USER, "INBOX", reply_message(ASE, f"Svar {n}", [(f"{n}.xlsx", WORKBOOK)]))
            for n in range(2)]
    backend = proxied(dovecot, proxy)

    files = fetched(backend)
    assert len(files) == 2 and fetched(backend) == files  # nothing moved until handled
    assert [dovecot.flags(USER, "INBOX", uid) for uid in uids] == [set(), set()]  # BODY.PEEK: not \Seen

    backend.mark_handled(files[0].message_id)
    assert dovecot.folder_uids(USER, "INBOX") == [uids[1]]
    assert len(dovecot.folder_uids(USER, DONE)) == 1
    assert imap_utf7(DONE) in dovecot.folders(USER, subscribed=True)  # created and subscribed once
    with dovecot.client(USER) as imap:
        imap.unsubscribe(quoted_folder(DONE))  # someone hides it: a second CREATE/SUBSCRIBE would show it again

    backend.mark_handled(files[1].message_id)
    backend.mark_handled(files[1].message_id)  # again (a crash between move and journal): harmless

    assert dovecot.folder_uids(USER, "INBOX") == []
    assert len(dovecot.folder_uids(USER, DONE)) == 2
    assert imap_utf7(DONE) not in dovecot.folders(USER, subscribed=True)
    assert fetched(backend) == []
    sent = verbs(proxy)
    assert sent.count("CREATE") == 1 and sent.count("SUBSCRIBE") == 1
    assert sent.count("UID MOVE") == 3 and "UID COPY" not in sent and "UID STORE" not in sent
    assert [dovecot.flags(USER, DONE, uid) for uid in dovecot.folder_uids(USER, DONE)] == [set(), set()]


def test_without_move_the_message_is_copied_flagged_and_expunged_by_uid(dovecot: Dovecot,  # noqa: F811
                                                                        proxy: ImapProxy) -> None:
    other = dovecot.append(NO_MOVE_USER, "INBOX", reply_message(ASE, "Slettet av brukeren", []), flags=r"(\Deleted)")
    reply = dovecot.append(NO_MOVE_USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    backend = proxied(dovecot, proxy, user=NO_MOVE_USER, imap_done_folder="Behandlet/Samtaler æøå")

    (found,) = fetched(backend)
    backend.mark_handled(found.message_id)

    done = "Behandlet.Samtaler æøå"  # Dovecot's maildir separates levels with «.»
    sent = proxy.commands()
    assert not any(c.startswith("UID MOVE") for c in sent)
    assert [c for c in sent if c.startswith(("UID COPY", "UID STORE", "UID EXPUNGE", "EXPUNGE"))] == [
        f'UID COPY {reply} "{imap_utf7(done)}"', rf"UID STORE {reply} +FLAGS.SILENT (\Deleted)",
        f"UID EXPUNGE {reply}"]
    assert dovecot.folder_uids(NO_MOVE_USER, "INBOX") == [other]  # UID EXPUNGE left the user's own deletion
    (copied,) = dovecot.folder_uids(NO_MOVE_USER, done)
    assert dovecot.flags(NO_MOVE_USER, done, copied) == set()


def test_without_move_and_uidplus_a_plain_expunge_removes_it(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    reply = dovecot.append(PLAIN_USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    keep = dovecot.append(PLAIN_USER, "INBOX", reply_message(ASE, "Annet", [("annet.xlsx", WORKBOOK)]))
    backend = proxied(dovecot, proxy, user=PLAIN_USER)

    first, _ = fetched(backend)
    backend.mark_handled(first.message_id)

    moving = [c for c in proxy.commands() if c.startswith(("UID MOVE", "UID COPY", "UID STORE", "UID EXPUNGE",
                                                           "EXPUNGE"))]
    assert moving == [f'UID COPY {reply} "{DONE}"', rf"UID STORE {reply} +FLAGS.SILENT (\Deleted)", "EXPUNGE"]
    assert dovecot.folder_uids(PLAIN_USER, "INBOX") == [keep]
    assert len(dovecot.folder_uids(PLAIN_USER, DONE)) == 1


def test_a_message_id_from_before_a_new_uidvalidity_is_left_alone(dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.append(USER, "Svar", reply_message(ASE, "Gammel", [("gammel.xlsx", WORKBOOK)]))
    backend = backend_for(dovecot, imap_folder="Svar")
    (old,) = fetched(backend)
    backend.close()
    with dovecot.client(USER) as imap:  # the folder is recreated: UIDs start again, under a new UIDVALIDITY
        assert imap.delete('"Svar"')[0] == "OK"
    newcomer = dovecot.append(USER, "Svar", reply_message(ASE, "Ny", [("ny.xlsx", WORKBOOK)]))
    assert str(newcomer) == old.message_id.split(":")[1]  # the same UID, now naming another message
    assert f"{dovecot.uidvalidity(USER, 'Svar')}:{newcomer}" != old.message_id

    backend.mark_handled(old.message_id)

    assert dovecot.folder_uids(USER, "Svar") == [newcomer]  # the new message with the same UID stays
    assert dovecot.folder_uids(USER, DONE) == []
    assert backend.imap is not None and len(backend.imap.notes) == 1 and old.message_id in backend.imap.notes[0]
    assert backend.stats.extra["imap_stale"] == 1


# ---- lost connections ------------------------------------------------------------------------------


def test_a_connection_lost_mid_fetch_is_opened_again_once(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    for n in range(3):
        dovecot.append(USER, "INBOX", reply_message(ASE, f"Svar {n}", [(f"skjema {n}.xlsx", WORKBOOK)]))
    proxy.cut_when(b"BODY.PEEK[]")
    backend = proxied(dovecot, proxy)

    files = fetched(backend)

    assert sorted(f.filename for f in files) == ["skjema 0.xlsx", "skjema 1.xlsx", "skjema 2.xlsx"]
    assert proxy.connections == 2
    assert sum("BODY.PEEK[]" in c for c in proxy.commands()) == 2  # the cut one, and the one that worked


def test_files_handed_out_before_a_lost_connection_are_not_handed_out_again(dovecot: Dovecot,  # noqa: F811
                                                                            proxy: ImapProxy) -> None:
    count = BATCH_MESSAGES + 5  # two downloads: the connection goes during the second
    dovecot.append_many(USER, "INBOX", [reply_message(ASE, f"Svar {n}", [(f"{n:02}.xlsx", WORKBOOK)])
                                        for n in range(count)])
    proxy.cut_when(b"BODY.PEEK[]", after=1)
    backend = proxied(dovecot, proxy)

    files = fetched(backend)

    assert [f.filename for f in files] == [f"{n:02}.xlsx" for n in range(count)]  # each once, in order
    downloads = [c.split(" ")[2] for c in proxy.commands() if "BODY.PEEK[]" in c]
    uids = dovecot.folder_uids(USER, "INBOX")
    first, rest = f"{uids[0]}:{uids[BATCH_MESSAGES - 1]}", f"{uids[BATCH_MESSAGES]}:{uids[-1]}"
    assert downloads == [first, rest, rest]  # the second batch again, not the first
    assert proxy.connections == 2


def test_a_connection_lost_twice_is_a_backend_error(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    proxy.cut_when(b"BODY.PEEK[]", times=2)
    backend = proxied(dovecot, proxy)

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    assert caught.value.exit_code == EXIT_BACKEND
    assert "imap_host" in caught.value.hint and PASSWORD not in caught.value.message + caught.value.hint
    assert proxy.connections == 2
    assert dovecot.folder_uids(USER, "INBOX") != []  # nothing moved


def test_a_connection_lost_before_a_move_is_opened_again(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    backend = proxied(dovecot, proxy)
    (found,) = fetched(backend)
    proxy.cut_when(b"LIST")  # the first command of the move (looking for the done folder)

    backend.mark_handled(found.message_id)

    assert dovecot.folder_uids(USER, "INBOX") == [] and len(dovecot.folder_uids(USER, DONE)) == 1
    assert proxy.connections == 2


# ---- settings and errors ---------------------------------------------------------------------------


def test_starttls_works_too(dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    backend = backend_for(dovecot, imap_security="starttls")

    (found,) = fetched(backend)
    backend.mark_handled(found.message_id)

    assert found.content == WORKBOOK and len(dovecot.folder_uids(USER, DONE)) == 1


def test_a_wrong_password_names_the_secret(dovecot: Dovecot, nb_messages: None) -> None:  # noqa: F811
    backend = backend_for(dovecot, password="feil-passord-æøå")

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    error = caught.value
    assert error.exit_code == EXIT_BACKEND
    assert "godtok ikke innloggingen" in error.message and USER in error.message
    assert "smtp_password" in error.hint and "SAMTALE_SMTP_PASSWORD" in error.hint and "imap_username" in error.hint
    assert "feil-passord" not in error.message + error.hint


def test_xoauth2_logs_in_with_the_bearer_token(dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    backend = backend_for(dovecot, password=TOKEN, auth="xoauth2")

    (found,) = fetched(backend)

    assert found.content == WORKBOOK
    assert dovecot.introspections == [TOKEN]  # Dovecot checked exactly this token with the identity provider


def test_a_refused_token_names_the_token_and_the_imap_scope(dovecot: Dovecot) -> None:  # noqa: F811
    backend = backend_for(dovecot, password="utløpt-token-123", auth="xoauth2")

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    error = caught.value
    assert "smtp_oauth_token" in error.hint and "SAMTALE_SMTP_OAUTH_TOKEN" in error.hint
    assert "IMAP.AccessAsUser.All" in error.hint
    assert "utløpt-token" not in error.message + error.hint
    assert dovecot.introspections == ["utløpt-token-123"]


def test_a_wrong_port_names_imap_port(dovecot: Dovecot) -> None:  # noqa: F811
    backend = backend_for(dovecot, imap_port=free_port())

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    assert caught.value.exit_code == EXIT_BACKEND and "[smtp] imap_host" in caught.value.hint
    assert "imap_port" in caught.value.hint


def test_tls_against_the_plain_port_names_imap_security(dovecot: Dovecot) -> None:  # noqa: F811
    backend = backend_for(dovecot, imap_security="ssl", imap_port=dovecot.starttls_port)

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    assert "imap_security" in caught.value.hint and "imap_port" in caught.value.hint


def test_a_missing_folder_names_imap_folder(dovecot: Dovecot) -> None:  # noqa: F811
    backend = backend_for(dovecot, imap_folder="Finnes ikke")

    with pytest.raises(BackendError) as caught:
        fetched(backend)

    assert "Finnes ikke" in caught.value.message and "[smtp] imap_folder" in caught.value.hint


def test_probe_logs_in_to_smtp_and_imap(dovecot: Dovecot, smtp_server: Callable[..., SmtpServer],  # noqa: F811
                                        nb_messages: None) -> None:
    smtp = smtp_server(security="starttls", users={USER: PASSWORD}, ca=dovecot.ca)
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    backend = backend_for(dovecot, smtp_port=smtp.port)

    lines = backend.probe()

    assert lines == [
        f"Logget inn på SMTP-serveren 127.0.0.1:{smtp.port} som {USER}.",
        f"Logget inn på IMAP-serveren 127.0.0.1:{dovecot.ssl_port} som {USER} (ssl).",
        "Mappen «INBOX» har 1 meldinger.",
        f"Mappen for behandlede meldinger «{DONE}» finnes ikke ennå; den opprettes ved første flytting."]
    assert [login.user for login in smtp.logins if login.ok] == [USER]
    assert dovecot.folders(USER) == {"INBOX"}  # probing created nothing
    backend.close()
    assert smtp.quits == 1


def test_capabilities_follow_imap_host(dovecot: Dovecot, tmp_path: Path,  # noqa: F811
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", PASSWORD)
    plain = {"host": "127.0.0.1", "port": 2525, "username": USER}
    for section, reads in ((plain, False), ({**plain, **dovecot.settings()}, True)):
        config = parse_config({"mail": {"backend": "smtp", "mailbox": USER}, "smtp": section})
        backend = open_backend(BackendContext(Folder(tmp_path), config, dt.datetime.now(OSLO),
                                              ssl_context=dovecot.client_context))
        assert (Cap.READ_INBOX in backend.capabilities) is reads
    dovecot.append(USER, "INBOX", reply_message(ASE, "Svar", [("skjema.xlsx", WORKBOOK)]))
    assert [f.filename for f in backend.fetch_files()] == ["skjema.xlsx"]  # the secret came from the environment
    backend.close()


def test_samtale_toml_accepts_the_imap_keys(tmp_path: Path) -> None:
    toml = tmp_path / "samtale.toml"
    toml.write_text('[mail]\nbackend = "smtp"\nmailbox = "hr@fjordlys.example"\n[smtp]\nhost = "smtp.firma.no"\n'
                    'imap_host = "imap.firma.no"\nimap_port = 993\nimap_security = "ssl"\nimap_folder = "INBOX"\n'
                    'imap_done_folder = "Samtale behandlet"\nimap_username = "hr@firma.no"\n', encoding="utf-8")
    config, problems = load_config(toml)
    assert problems == []
    settings = config.smtp
    assert settings is not None and settings.imap is not None
    assert (settings.imap.host, settings.imap.port, settings.imap.security, settings.imap.username) == (
        "imap.firma.no", 993, "ssl", "hr@firma.no")


@pytest.mark.parametrize(("imap", "key"), [
    ({"imap_security": "tls"}, "imap_security"),
    ({"imap_port": "993"}, "imap_port"),
    ({"imap_port": 0}, "imap_port"),
    ({"imap_folder": ""}, "imap_folder"),
    ({"imap_done_folder": "INBOX"}, "imap_done_folder"),
    ({"imap_security": "none"}, "imap_security"),  # plain IMAP only to this machine
    ({"auth": "none"}, "auth"),  # IMAP needs a login
])
def test_bad_imap_settings_name_the_key(imap: dict[str, object], key: str) -> None:
    section = {"host": "smtp.firma.no", "imap_host": "imap.firma.no", **imap}
    config = parse_config({"smtp": section})
    assert config.smtp is None
    assert [p.where for p in config.problems] == [f"samtale.toml: smtp.{key}"]


def test_the_default_ports_follow_imap_security() -> None:
    for security, port in (("ssl", 993), ("starttls", 143)):
        section = {"host": "smtp.firma.no", "imap_host": "imap.firma.no", "imap_security": security}
        smtp = parse_config({"smtp": section}).smtp
        assert smtp is not None and smtp.imap is not None and smtp.imap.port == port


# ---- how many commands ----------------------------------------------------------------------------


def test_many_replies_take_a_few_commands(dovecot: Dovecot, proxy: ImapProxy) -> None:  # noqa: F811
    for n in range(12):
        dovecot.append(USER, "INBOX", reply_message(ASE, f"Svar {n}", [(f"{n:02}.xlsx", WORKBOOK)]))
    for n in range(5):
        dovecot.append(USER, "INBOX", reply_message(ASE, f"Bare tekst {n}", []))
    backend = proxied(dovecot, proxy)

    files = fetched(backend)
    for found in files:
        backend.mark_handled(found.message_id)
    backend.close()

    assert [f.filename for f in files] == [f"{n:02}.xlsx" for n in range(12)]
    sent = verbs(proxy)
    assert sent.count("UID SEARCH") == 1 and sent.count("UID FETCH") == 2
    assert sent.count("UID MOVE") == 12 and sent.count("CREATE") == 1 and sent.count("SELECT") == 1
    assert backend.stats.extra["imap_connections"] == 1 and backend.stats.extra["imap_downloads"] == 12
    assert len(dovecot.folder_uids(USER, "INBOX")) == 5


def test_uid_sets_and_folder_names_are_encoded() -> None:
    assert uid_set([7, 1, 2, 3, 5, 6, 9]) == "1:3,5:7,9"
    assert imap_utf7("Behandlet æøå & co") == "Behandlet &AOYA+ADl- &- co"
    assert quoted_folder('Mappe "x"') == '"Mappe \\"x\\""'
