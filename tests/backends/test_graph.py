"""The graph backend against the loopback Graph stand-in (tests/graph_server.py), beyond the contract suite.

Request economy (`$batch`, getSchedule), throttling (top level and inside `$batch`), crash safety
(the tag and `transactionId`), upload sessions, mailbox reading, settings and `probe()` messages,
and the msal token path over HTTPS (client secret, certificate, device code with the keyring).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from backend_kit import EMPLOYEE, FILE, MANAGER, ORGANIZER, START, contract_meeting
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from graph_server import CLIENT_ID, CLIENT_SECRET, TENANT, GraphServer, static_backend
from smtp_server import MemoryKeyring, memory_keyring, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.backends.graph.auth import load_token_cache, store_token_cache
from samtale_automation.backends.graph.backend import GraphBackend
from samtale_automation.backends.graph.constants import CACHE_NAME, SECRET_NAME, TAG_ID
from samtale_automation.config import Config, load_config, parse_config
from samtale_automation.domain.messages import Attachment, Cap, Job, Mail, Meeting, Person
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import BackendError, ConfigError
from samtale_automation.paths import Folder
from samtale_automation.texts import set_language

OTHER_MANAGER = Person("cecilie@fjordlys.example", "Cecilie Berg")
ROOM = Person("rom-fjorden@fjordlys.example", "Møterom Fjorden")


@pytest.fixture(autouse=True)
def norwegian() -> Iterator[None]:
    """Messages in Norwegian bokmål, whatever SAMTALE_LANG says."""
    from samtale_automation import texts

    before = texts.language()
    set_language("nb")
    yield
    set_language(before)


@pytest.fixture
def server() -> Iterator[GraphServer]:
    """A plain-HTTP stand-in (the backend gets a fixed token)."""
    started = GraphServer().start()
    yield started
    started.stop()


@pytest.fixture
def https_server(tls_ca: trustme.CA) -> Iterator[GraphServer]:  # noqa: F811
    """An HTTPS stand-in that is also the Entra ID authority (msal insists on https)."""
    started = GraphServer(ca=tls_ca, certificate_pem=CERT_PEM).start()
    yield started
    started.stop()


def person(n: int) -> Person:
    """Employee number n."""
    return Person(f"ansatt{n:03}@fjordlys.example", f"Ansatt {n}")


def meeting(n: int, **changes: Any) -> Meeting:
    """Conversation n: employee n and the manager, with the employee's prep file."""
    start = START + timedelta(days=n // 6, hours=n % 6)
    base = replace(contract_meeting(), key=f"2027-{1000 + n}", uid=f"samtale-2027-{1000 + n}@fjordlys.example",
                   subject=f"Medarbeidersamtale: Ansatt {n}", start=start, end=start + timedelta(minutes=45),
                   attendees=(person(n), MANAGER),
                   attachments=(Attachment(f"{1000 + n} Ansatt {n} - forberedelse.xlsx", b"PK\x03\x04" + bytes([n])),))
    return replace(base, **changes)


def invitations(server: GraphServer, kind: str = "invitation") -> list[tuple[str, str]]:
    """(event id, recipient) of every notice of one kind."""
    return [(n.event_id, n.recipient) for n in server.notices if n.kind == kind]


# ---- request economy ------------------------------------------------------------------------------


def test_hundred_invitations_with_files_take_at_most_15_batches(server: GraphServer,
                                                                 record_property: Any) -> None:
    backend = static_backend(server)
    jobs = [Job((person(n), MANAGER), meeting=meeting(n)) for n in range(100)]
    deliveries = [d for first in range(0, 100, backend.batch_size)
                  for d in backend.send_batch(jobs[first:first + backend.batch_size])]

    counts = dict(server.counts)
    record_property("graph_counts", counts)
    print(f"\n100 invitations with files: {server.counts['$batch']} $batch calls, {server.http_requests} HTTP "
          f"requests; by kind: {counts}")
    assert server.counts["$batch"] <= 15
    assert backend.stats.extra["batches"] == server.counts["$batch"]
    events = {e.id: e for e in server.live_events(ORGANIZER.email)}
    assert len(events) == 100 and all(not d.failures for d in deliveries)
    # One Delivery per job, in order, carrying the event's id and its latest changeKey.
    for n, delivery in enumerate(deliveries):
        event = events[delivery.remote_id or ""]
        assert event.props[TAG_ID] == f"2027-{1000 + n}"
        assert delivery.change_key == event.change_key
        assert [f.name for f in event.files] == [f"{1000 + n} Ansatt {n} - forberedelse.xlsx"]
    # Exactly one invitation per attendee, and it already carried the file; no updates at all.
    sent = [n for n in server.notices if n.kind == "invitation"]
    assert len(sent) == 200 and len(set((n.event_id, n.recipient) for n in sent)) == 200
    assert all(len(n.snapshot.attachments) == 1 for n in sent)
    assert invitations(server, "update") == [] and server.counts["transaction replay"] == 0
    assert server.without_prefer == 0  # every Graph request asked for W. Europe times and immutable ids
    first = events[deliveries[0].remote_id or ""]
    assert (first.start, first.end) == (START, START + timedelta(minutes=45))
    assert first.sensitivity == "private" and first.body["contentType"] == "HTML"


def test_free_busy_for_100_people_over_six_weeks_takes_5_calls(server: GraphServer) -> None:
    backend = static_backend(server)
    people = [person(n).email for n in range(100)]
    day = START + timedelta(days=10)
    server.add_busy(people[7], day.replace(hour=10), day.replace(hour=11, minute=30))
    server.add_busy(people[93], day.replace(hour=13), day.replace(hour=14), "oof")
    server.schedule_errors.add(people[50])
    backend.upsert_meeting(meeting(0, attendees=(Person(people[3]), MANAGER)), ())

    busy = backend.free_busy(people, START, START + timedelta(weeks=6))

    print(f"\nfree/busy for 100 people over 6 weeks: {server.counts['getSchedule']} getSchedule calls in "
          f"{server.counts['$batch']} $batch")
    assert server.counts["getSchedule"] == 5 and server.counts["$batch"] == 1
    assert list(busy) == people
    assert [(s.start, s.end, s.status) for s in busy[people[7]]] == [
        (day.replace(hour=10), day.replace(hour=11, minute=30), "busy")]
    assert [(s.start, s.status) for s in busy[people[93]]] == [(day.replace(hour=13), "oof")]
    assert [(s.start, s.end) for s in busy[people[3]]] == [(START, START + timedelta(minutes=45))]
    assert all(s.start.tzinfo is not None for slots in busy.values() for s in slots)
    assert busy[people[50]] == [] and backend.stats.extra["free_busy_errors"] == 1
    assert any(people[50] in note for note in backend.notes)
    assert sum(len(v) for v in busy.values()) == 3


def test_a_long_period_is_split_into_windows_shorter_than_62_days(server: GraphServer) -> None:
    backend = static_backend(server)
    spanning = START + timedelta(days=60, hours=20)  # crosses the first window's end
    server.add_busy(EMPLOYEE.email, spanning, spanning + timedelta(hours=8))
    busy = backend.free_busy([EMPLOYEE.email], START, START + timedelta(days=100))
    assert server.counts["getSchedule"] == 2
    assert [(s.start, s.end) for s in busy[EMPLOYEE.email]] == [(spanning, spanning + timedelta(hours=8))]


# ---- throttling -----------------------------------------------------------------------------------


def test_a_burst_of_429s_is_absorbed_without_loss_or_duplicates(server: GraphServer) -> None:
    slept: list[float] = []
    backend = static_backend(server, slept=slept)
    server.fail_next(2, 429, retry_after=7)  # the first two HTTP requests
    server.fail_next(6, 429, retry_after=11, inner=True)  # six requests inside the first $batch
    server.fail_next(3, 503, retry_after=2, inner=True)  # and three more in the same $batch

    deliveries = backend.send_batch([Job((person(n), MANAGER), meeting=meeting(n)) for n in range(20)])

    assert all(not d.failures for d in deliveries)
    assert len(server.live_events(ORGANIZER.email)) == 20  # nothing lost, nothing twice
    assert len(invitations(server)) == 40 and len(set(invitations(server))) == 40
    assert all(len(e.files) == 1 for e in server.live_events(ORGANIZER.email))
    assert server.counts["throttled"] == 11
    # Retry-After honoured; the nine throttled inner requests are retried together after the longest wait.
    assert slept == [7, 7, 11]
    assert backend.stats.waited_seconds == 25 and backend.stats.retries == 3


def test_without_retry_after_the_waits_are_1_4_and_15_seconds(server: GraphServer) -> None:
    slept: list[float] = []
    backend = static_backend(server, slept=slept)
    server.fail_next(3, 503, retry_after=None)
    delivery = backend.send_mail(Mail("digest:1", (MANAGER,), "Påminnelse", "Husk samtalene."))
    assert not delivery.failures and slept == [1, 4, 15]
    assert [m.subject for m in server.mails] == ["Påminnelse"]


def test_throttling_beyond_max_wait_gives_up_with_a_backend_error(server: GraphServer) -> None:
    slept: list[float] = []
    backend = static_backend(server, max_wait=20, slept=slept)
    server.fail_next(100, 429, retry_after=8)
    with pytest.raises(BackendError) as caught:
        backend.upsert_meeting(meeting(1), (person(1), MANAGER))
    assert slept == [8, 8] and backend.stats.waited_seconds == 16
    assert "struper" in caught.value.message and "max_wait" in caught.value.hint
    server.clear_faults()
    assert server.live_events(ORGANIZER.email) == []


def test_inner_throttling_beyond_max_wait_fails_just_those_jobs_temporarily(server: GraphServer) -> None:
    slept: list[float] = []
    backend = static_backend(server, max_wait=20, slept=slept)
    server.fail_next(1, 429, retry_after=30, inner=True)  # the first job's create, beyond max_wait
    jobs = [Job((person(n), MANAGER), meeting=meeting(n, attachments=())) for n in range(3)]
    deliveries = backend.send_batch(jobs)
    assert [f.code for f in deliveries[0].failures] == [450, 450]
    assert {f.email for f in deliveries[0].failures} == {person(0).email, MANAGER.email}
    assert all(not d.failures and d.remote_id for d in deliveries[1:])
    assert slept == [] and len(server.live_events(ORGANIZER.email)) == 2


# ---- crash safety ---------------------------------------------------------------------------------


def test_a_job_resent_without_remote_id_finds_its_event_by_the_tag(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(1), (person(1), MANAGER))
    sent = server.sent_count()

    again = backend.send_batch([Job((person(1), MANAGER), meeting=meeting(1))])[0]

    assert not again.failures and again.remote_id == first.remote_id
    assert len(server.live_events(ORGANIZER.email)) == 1 and server.counts["POST events"] == 1
    assert server.sent_count() == sent  # no second invitation
    assert [f.name for f in server.live_events(ORGANIZER.email)[0].files] == [meeting(1).attachments[0].filename]


def test_a_crash_between_create_and_attendees_completes_the_same_event(server: GraphServer) -> None:
    backend = static_backend(server)
    server.fail_kind("PATCH event", 500)
    broken = backend.upsert_meeting(meeting(2), (person(2), MANAGER))
    assert {f.code for f in broken.failures} == {450} and broken.remote_id
    assert server.sent_count() == 0  # the event exists, but nobody was invited yet

    resent = backend.upsert_meeting(meeting(2), (person(2), MANAGER))  # remote_id None, as after a crash

    (event,) = server.live_events(ORGANIZER.email)
    assert resent.remote_id == broken.remote_id == event.id and not resent.failures
    assert len(event.files) == 1  # the file was not added twice
    assert sorted(invitations(server)) == sorted([(event.id, person(2).email), (event.id, MANAGER.email)])
    assert all(n.snapshot.attachments for n in server.notices)


def test_transaction_id_makes_a_retried_create_return_the_same_event(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(3), (person(3), MANAGER))
    server.search_lag = True  # the tag search does not see the new event yet
    sent = server.sent_count()

    again = backend.upsert_meeting(meeting(3), (person(3), MANAGER))

    assert server.counts["transaction replay"] == 1 and again.remote_id == first.remote_id
    assert len(server.live_events(ORGANIZER.email)) == 1 and server.sent_count() == sent
    assert len(server.live_events(ORGANIZER.email)[0].files) == 1


def test_a_known_remote_id_that_is_gone_is_looked_up_by_the_tag(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(4), (person(4), MANAGER))
    moved = START + timedelta(days=3)
    update = backend.upsert_meeting(meeting(4, sequence=1, start=moved, end=moved + timedelta(hours=1),
                                            remote_id="AAMkGone=", change_key="x"), (person(4), MANAGER))
    assert update.remote_id == first.remote_id and not update.failures
    (event,) = server.live_events(ORGANIZER.email)
    assert (event.start, event.sequence) == (moved, 1)
    assert sorted(r for _, r in invitations(server, "update")) == sorted([person(4).email, MANAGER.email])
    assert len(event.files) == 1


# ---- meetings: rooms, removals, appointments, files -----------------------------------------------


def test_a_room_is_a_resource_attendee_and_the_location(server: GraphServer) -> None:
    backend = static_backend(server)
    backend.upsert_meeting(meeting(5, rooms=(ROOM,), location="Møterom Fjorden"), (person(5), MANAGER, ROOM))
    (event,) = server.live_events(ORGANIZER.email)
    assert [(a["emailAddress"]["address"], a["type"]) for a in event.attendees] == [
        (person(5).email, "required"), (MANAGER.email, "required"), (ROOM.email, "resource")]
    assert event.location["locationEmailAddress"] == ROOM.email
    assert event.location["displayName"] == "Møterom Fjorden"


def test_an_update_adds_a_missing_file_and_then_pushes_it_to_the_attendees(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(6, attachments=()), (person(6), MANAGER))
    update = backend.upsert_meeting(meeting(6, sequence=1, remote_id=first.remote_id), (person(6), MANAGER))
    (event,) = server.live_events(ORGANIZER.email)
    assert [f.name for f in event.files] == [meeting(6).attachments[0].filename]
    updates = [n for n in server.notices if n.kind == "update"]
    assert {n.recipient for n in updates} == {person(6).email, MANAGER.email}
    assert all(n.snapshot.attachments == (meeting(6).attachments[0].filename,) for n in updates)
    assert update.change_key == event.change_key


def test_an_unchanged_meeting_sent_again_sends_nothing(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(7), (person(7), MANAGER))
    sent = server.sent_count()
    again = backend.upsert_meeting(meeting(7, remote_id=first.remote_id, change_key=first.change_key),
                                   (person(7), MANAGER))
    assert server.sent_count() == sent and server.counts["PATCH event"] == 1  # only the first attendee PATCH
    assert again.change_key == first.change_key


def test_removal_and_update_in_one_batch_run_in_order(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(8), (person(8), MANAGER))
    changed = meeting(8, sequence=1, attendees=(person(8), OTHER_MANAGER), remote_id=first.remote_id)
    removal, update = backend.send_batch([Job((MANAGER,), meeting=changed, cancel=True, reason="Ny leder"),
                                          Job((person(8), OTHER_MANAGER), meeting=changed)])
    assert not removal.failures and not update.failures
    (event,) = server.live_events(ORGANIZER.email)
    assert event.emails() == [person(8).email, OTHER_MANAGER.email.casefold()]
    assert invitations(server, "removed") == [(event.id, MANAGER.email)]
    assert invitations(server)[-1] == (event.id, OTHER_MANAGER.email)
    assert invitations(server, "update") == []  # only the attendees changed: the employee hears nothing


def test_an_appointment_without_attendees_is_created_and_deleted(server: GraphServer) -> None:
    backend = static_backend(server)
    test_item = Meeting(key="doctor-20270301", uid="samtale-doctor@samtale.invalid", sequence=0,
                        subject="samtale doctor: testavtale", start=START, end=START + timedelta(minutes=15),
                        organizer=ORGANIZER, attendees=())
    created = backend.upsert_meeting(test_item, ())
    assert created.remote_id and not created.failures
    assert [e.subject for e in server.live_events(ORGANIZER.email)] == ["samtale doctor: testavtale"]
    deleted = backend.cancel_meeting(replace(test_item, remote_id=created.remote_id), ())
    assert not deleted.failures and server.live_events(ORGANIZER.email) == []
    assert server.counts["DELETE event"] == 1 and server.sent_count() == 0


def test_a_cancellation_of_an_event_already_gone_is_done(server: GraphServer) -> None:
    backend = static_backend(server)
    first = backend.upsert_meeting(meeting(9), (person(9), MANAGER))
    backend.cancel_meeting(meeting(9, sequence=1, remote_id=first.remote_id), (person(9), MANAGER), "Sykdom")
    cancels = len(invitations(server, "cancellation"))
    again = backend.cancel_meeting(meeting(9, sequence=1, remote_id=first.remote_id), (person(9), MANAGER), "Sykdom")
    assert not again.failures and len(invitations(server, "cancellation")) == cancels == 2


def test_a_large_file_goes_through_an_upload_session_byte_for_byte(server: GraphServer) -> None:
    backend = static_backend(server)
    big = Attachment("1010 Ansatt 10 - forberedelse.xlsx", os.urandom(5 * 1024 * 1024 + 17))
    delivery = backend.upsert_meeting(meeting(10, attachments=(big,)), (person(10), MANAGER))
    assert not delivery.failures
    (event,) = server.live_events(ORGANIZER.email)
    assert [(f.name, f.content) for f in event.files] == [(big.filename, big.content)]
    assert server.counts["createUploadSession"] == 1 and server.counts["PUT upload"] == 2
    assert all(n.snapshot.attachments == (big.filename,) for n in server.notices)

    small = Attachment("guide.pdf", b"%PDF-1.7 small")
    mail = Mail("manager_prep:2027-1010", (MANAGER,), "Din forberedelse", "Hei Bjørn", attachments=(big, small))
    assert not backend.send_mail(mail).failures
    (sent,) = server.mails
    assert sorted((f.name, f.content) for f in sent.files) == sorted([(big.filename, big.content),
                                                                      (small.filename, small.content)])
    assert server.counts["sendMail"] == 0 and server.counts["POST send"] == 1  # a draft, then send


def test_a_forbidden_mailbox_fails_only_its_own_job(server: GraphServer) -> None:
    backend = static_backend(server)
    server.forbidden.add(MANAGER.email)
    own = replace(meeting(11), organizer=MANAGER, attendees=(person(11), MANAGER))
    refused, fine = backend.send_batch([Job((person(11),), meeting=own), Job((person(12), MANAGER),
                                                                              meeting=meeting(12))])
    assert [(f.email, f.code) for f in refused.failures] == [(person(11).email, 550)]
    assert "Calendars.ReadWrite" in refused.failures[0].message
    assert not fine.failures and len(server.live_events(ORGANIZER.email)) == 1


def test_lookups_fall_back_to_one_filter_per_key(server: GraphServer) -> None:
    backend = static_backend(server)
    for n in range(3):
        backend.upsert_meeting(meeting(n), (person(n), MANAGER))
    server.reject_or_filters = True
    sent = server.sent_count()
    again = backend.send_batch([Job((person(n), MANAGER), meeting=meeting(n)) for n in range(3)])
    assert all(not d.failures for d in again) and server.sent_count() == sent
    assert len(server.live_events(ORGANIZER.email)) == 3


# ---- returned files -------------------------------------------------------------------------------


def test_returned_files_are_paged_filtered_and_moved_to_a_created_done_folder(server: GraphServer) -> None:
    backend = static_backend(server)
    for n in range(55):
        server.add_reply(ORGANIZER.email, person(n).email, f"SV: samtale {n}",
                         [(f"{n} svar.XLSX", bytes([n]) * 10), ("logo.png", b"\x89PNG")],
                         received=dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC) + timedelta(minutes=n))
    server.add_reply(ORGANIZER.email, EMPLOYEE.email, "Uten vedlegg", [])

    files = list(backend.fetch_files((".xlsx",)))

    assert [(f.sender, f.filename, f.content) for f in files] == [
        (person(n).email, f"{n} svar.XLSX", bytes([n]) * 10) for n in range(55)]
    assert files[0].received == dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC) and files[0].subject == "SV: samtale 0"
    assert server.counts["GET messages"] == 2  # two pages
    backend.mark_handled(files[0].message_id)
    backend.mark_handled(files[1].message_id)
    assert server.counts["POST folder"] == 1  # «Samtale behandlet» created once
    assert len(list(backend.fetch_files())) == 53


# ---- settings and probe ---------------------------------------------------------------------------


def graph_config(graph: dict[str, Any], mailbox: str = ORGANIZER.email) -> Config:
    """A Config with a [graph] section."""
    return parse_config({"mail": {"backend": "graph", "mailbox": mailbox}, "graph": graph})


GOOD = {"tenant_id": TENANT, "client_id": CLIENT_ID}


@pytest.mark.parametrize(("graph", "key"), [
    ({"client_id": CLIENT_ID}, "tenant_id"),
    ({"tenant_id": TENANT}, "client_id"),
    ({**GOOD, "client_id": "samtale-app"}, "client_id"),
    ({**GOOD, "tenant_id": "fjord lys"}, "tenant_id"),
    ({**GOOD, "auth": "password"}, "auth"),
    ({**GOOD, "auth": "certificate"}, "certificate_path"),
    ({**GOOD, "base_url": "http://graph.microsoft.com/v1.0"}, "base_url"),
    ({**GOOD, "authority_host": "http://127.0.0.1:9"}, "authority_host"),
    ({**GOOD, "max_wait": 0}, "max_wait"),
    ({**GOOD, "folder": ""}, "folder"),
    ({**GOOD, "done_folder": 7}, "done_folder"),
])
def test_bad_settings_name_the_key(graph: dict[str, Any], key: str) -> None:
    config = graph_config(graph)
    assert config.graph is None
    assert [p.where for p in config.problems] == [f"samtale.toml: graph.{key}"]


def test_settings_defaults_and_known_keys(tmp_path: Path) -> None:
    settings = graph_config(GOOD).graph
    assert settings is not None
    assert (settings.auth, settings.folder, settings.done_folder, settings.max_wait) == (
        "secret", "Inbox", "Samtale behandlet", 300.0)
    assert settings.base_url == "https://graph.microsoft.com/v1.0"
    assert settings.authority == f"https://login.microsoftonline.com/{TENANT}"
    toml = tmp_path / "samtale.toml"
    toml.write_text('[mail]\nbackend = "graph"\nmailbox = "hr@fjordlys.example"\n[graph]\n'
                    f'tenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\nbase_url = "http://127.0.0.1:8080/v1.0"\n'
                    'authority_host = "https://login.microsoftonline.us"\nmax_wait = 60\n', encoding="utf-8")
    config, problems = load_config(toml)
    assert problems == [] and config.graph is not None and config.graph.max_wait == 60.0


def test_a_missing_secret_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    monkeypatch.delenv("SAMTALE_GRAPH_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigError) as caught:
        open_backend(BackendContext(Folder(tmp_path), graph_config(GOOD), START))
    assert SECRET_NAME in caught.value.message and "SAMTALE_GRAPH_CLIENT_SECRET" in caught.value.hint


def test_probe_reports_login_mailbox_and_folder(server: GraphServer) -> None:
    server.directory_forbidden = True  # reading the directory needs a permission samtale does not ask for
    backend = static_backend(server)
    lines = backend.probe()
    assert lines[1:] == ["Postkassen hr@fjordlys.example er tilgjengelig (med kalender)", "Mappen «Inbox» kan leses"]
    assert lines[0] == "Logget inn i Microsoft Graph med et gitt tilgangstoken"


def test_probe_explains_missing_permissions(server: GraphServer) -> None:
    server.forbidden.add(ORGANIZER.email)
    with pytest.raises(BackendError) as caught:
        static_backend(server).probe()
    error = caught.value
    assert error.exit_code == 4 and "nekter appen tilgang" in error.message
    for needed in ("Calendars.ReadWrite", "Mail.Send", "Mail.ReadWrite", "RBAC for Applications"):
        assert needed in error.hint


def test_probe_names_a_wrong_folder_and_an_unknown_mailbox(server: GraphServer) -> None:
    static = static_backend(server)
    backend = GraphBackend(static.mailbox, static.client, replace(static.settings, folder="Svar/Samtaler"))
    with pytest.raises(BackendError) as caught:
        backend.probe()
    assert "[graph] folder" in caught.value.hint
    server.unknown_users.add(ORGANIZER.email)
    with pytest.raises(BackendError) as unknown:
        static_backend(server).probe()
    assert "[mail] mailbox" in unknown.value.hint


# ---- msal over HTTPS ------------------------------------------------------------------------------


def _certificate() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "samtale-app")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


CERT_PEM, KEY_PEM = _certificate()


def msal_context(server: GraphServer, tmp_path: Path, **graph: Any) -> BackendContext:
    """A BackendContext whose samtale.toml points [graph] at the HTTPS stand-in (Graph and Entra ID)."""
    settings = {**GOOD, "base_url": server.base_url, "authority_host": server.root, **graph}
    return BackendContext(Folder(tmp_path), graph_config(settings), START, sleep=lambda _s: None,
                          ssl_context=server.client_context)


def test_create_with_a_client_secret_gets_a_token_from_msal(https_server: GraphServer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMTALE_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    backend = open_backend(msal_context(https_server, tmp_path))
    assert isinstance(backend, GraphBackend) and backend.capabilities == frozenset(Cap)
    assert CLIENT_SECRET not in repr(backend) and CLIENT_SECRET not in repr(backend.client.token_provider)

    lines = backend.probe()
    delivery = backend.upsert_meeting(meeting(1), (person(1), MANAGER))

    assert lines[0] == f"Logget inn i Microsoft Graph som app {CLIENT_ID} (klienthemmelighet)"
    assert not delivery.failures and len(https_server.live_events(ORGANIZER.email)) == 1
    assert https_server.counts["token"] == 1  # msal's cache serves the later requests
    backend.close()


def test_a_wrong_secret_is_explained_in_norwegian_naming_the_secret(https_server: GraphServer, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMTALE_GRAPH_CLIENT_SECRET", "feil-hemmelighet-123")
    backend = open_backend(msal_context(https_server, tmp_path))
    with pytest.raises(BackendError) as caught:
        backend.probe()
    error = caught.value
    assert error.exit_code == 4
    assert "klienthemmeligheten er feil" in error.message and "AADSTS7000215" in error.message
    assert SECRET_NAME in error.hint and "SAMTALE_GRAPH_CLIENT_SECRET" in error.hint
    assert "feil-hemmelighet-123" not in error.message + error.hint


@pytest.mark.parametrize(("graph", "key", "words"), [
    ({"tenant_id": "ukjent.onmicrosoft.com"}, "[graph] tenant_id", "AADSTS90002"),
    ({"client_id": "00000000-1111-2222-3333-444444444444"}, "[graph] client_id", "appen finnes ikke"),
])
def test_a_wrong_tenant_or_client_names_the_setting(https_server: GraphServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, graph: dict[str, str], key: str,
                                                    words: str) -> None:
    monkeypatch.setenv("SAMTALE_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    backend = open_backend(msal_context(https_server, tmp_path, **graph))
    with pytest.raises(BackendError) as caught:
        backend.probe()
    assert key in caught.value.hint and words in caught.value.message


def test_create_with_a_certificate_signs_an_assertion(https_server: GraphServer, tmp_path: Path) -> None:
    (tmp_path / "samtale-app.pem").write_bytes(KEY_PEM + CERT_PEM)
    backend = open_backend(msal_context(https_server, tmp_path, auth="certificate",
                                        certificate_path="samtale-app.pem"))
    lines = backend.probe()
    thumbprint = x509.load_pem_x509_certificate(CERT_PEM).fingerprint(hashes.SHA1()).hex().upper()
    assert lines[0] == f"Logget inn i Microsoft Graph som app {CLIENT_ID} (sertifikat {thumbprint})"
    assert https_server.counts["token"] == 1  # the stand-in verified the signed assertion against the certificate

    other_cert, other_key = _certificate()
    (tmp_path / "other.pem").write_bytes(other_key + other_cert)
    wrong = open_backend(msal_context(https_server, tmp_path, auth="certificate", certificate_path="other.pem"))
    with pytest.raises(BackendError) as caught:
        wrong.probe()
    assert "AADSTS700027" in caught.value.message and "[graph] certificate_path" in caught.value.hint
    (tmp_path / "broken.pem").write_bytes(CERT_PEM)
    with pytest.raises(ConfigError) as broken:
        open_backend(msal_context(https_server, tmp_path, auth="certificate", certificate_path="broken.pem"))
    assert "[graph] certificate_path" in broken.value.message


def test_device_code_login_prints_the_message_and_keeps_the_cache_in_the_keyring(
        https_server: GraphServer, tmp_path: Path, memory_keyring: MemoryKeyring,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    first = open_backend(msal_context(https_server, tmp_path, auth="device"))
    lines = first.probe()
    err = capsys.readouterr().err
    assert "enter the code FJRD-2027" in err and lines[0] == ("Logget inn i Microsoft Graph som brukeren "
                                                              "hr.admin@fjordlys.example")
    assert ("samtale", CACHE_NAME) in memory_keyring.passwords
    assert not list(tmp_path.rglob("*cache*"))  # never a plain file
    stored = load_token_cache()
    assert stored is not None and "RefreshToken" in stored

    second = open_backend(msal_context(https_server, tmp_path, auth="device"))
    second.upsert_meeting(meeting(1), (person(1), MANAGER))
    assert https_server.counts["devicecode"] == 1 and capsys.readouterr().err == ""  # the cached login was used
    assert len(https_server.live_events(ORGANIZER.email)) == 1


def test_the_secret_and_certificate_modes_print_nothing(https_server: GraphServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAMTALE_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    open_backend(msal_context(https_server, tmp_path)).probe()
    assert capsys.readouterr().err == ""


def test_a_long_token_cache_is_split_into_keyring_parts(memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    serialized = os.urandom(6000).hex()  # incompressible: several parts
    assert store_token_cache(serialized)
    parts = [name for service, name in memory_keyring.passwords if name.startswith(f"{CACHE_NAME}.")]
    assert len(parts) > 2 and all(len(v) <= 1000 for v in memory_keyring.passwords.values())
    assert load_token_cache() == serialized


def test_times_are_sent_as_w_europe_local_times(server: GraphServer) -> None:
    backend = static_backend(server)
    winter = dt.datetime(2027, 10, 31, 9, 0, tzinfo=OSLO)  # the Sunday the clocks go back
    backend.upsert_meeting(meeting(1, start=winter, end=winter + timedelta(hours=1), attachments=()), (MANAGER,))
    (event,) = server.live_events(ORGANIZER.email)
    assert event.start == winter and event.start.utcoffset() == timedelta(hours=1)
    assert FILE.filename not in [f.name for f in event.files]


def test_the_stand_in_refuses_what_graph_refuses(server: GraphServer) -> None:
    from samtale_automation.backends.graph.client import Call, GraphClient

    client = GraphClient(lambda: "graph-test-token", server.base_url, sleep=lambda _s: None)
    events = f"/users/{ORGANIZER.email}/events"
    oslo = {"subject": "x", "start": {"dateTime": "2027-03-30T09:00:00", "timeZone": "Europe/Oslo"},
            "end": {"dateTime": "2027-03-30T10:00:00", "timeZone": "Europe/Oslo"}}
    answer = client.call(Call("POST", events, oslo))
    assert (answer.status, answer.error()[0]) == (400, "TimeZoneNotSupportedException")
    windows = {**oslo, "start": {**oslo["start"], "timeZone": "W. Europe Standard Time"},
               "end": {**oslo["end"], "timeZone": "W. Europe Standard Time"}}
    assert client.call(Call("POST", events, {**windows, "attachments": []})).status == 400
    too_big = Attachment("stor.xlsx", b"\0" * (3 * 1024 * 1024 + 1))
    mail = {"message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": MANAGER.email}}],
                        "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": too_big.filename,
                                         "contentBytes": base64.b64encode(too_big.content).decode()}]}}
    assert client.call(Call("POST", f"/users/{ORGANIZER.email}/sendMail", mail)).status == 413
    batch = {"requests": [{"id": str(n), "method": "GET", "url": "/users/x@y.z/calendar"} for n in range(21)]}
    assert client.call(Call("POST", "/$batch", batch)).status == 400
    with pytest.raises(BackendError):  # no valid Bearer token: 401
        GraphClient(lambda: "wrong", server.base_url).call(Call("GET", f"/users/{ORGANIZER.email}/calendar"))
    assert server.live_events(ORGANIZER.email) == [] and server.mails == []
