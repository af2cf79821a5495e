"""The ews backend against the EWS stand-in on loopback (tests/ews_server.py), behind real NTLM or Basic.

What the stand-in received and stored is asserted: items, invitations per attendee, request counts
per operation, the fields an update wrote. Retries wait through an injected sleep (no wall time).
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import logging
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme
from backend_kit import EMPLOYEE, FILE, MANAGER, ORGANIZER, START, contract_meeting
from ews_server import EwsStandIn
from lxml import etree
from smtp_server import MemoryKeyring, free_port, memory_keyring, tls_ca  # noqa: F401  (pytest fixtures)

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.backends.ews.backend import EwsBackend
from samtale_automation.backends.ews.protocol import availability_timezone
from samtale_automation.config import KNOWN_KEYS, EwsSettings, parse_config
from samtale_automation.domain.messages import Cap, Job, Mail, Meeting, Person
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import EXIT_BACKEND, BackendError, ConfigError
from samtale_automation.paths import Folder

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

USER = "CORP\\svc-samtale"
PASSWORD = "Passord-som-ikke-må-lekke-7431"
OTHER_MANAGER = Person("cecilie@fjordlys.example", "Cecilie Berg")
T = "{http://schemas.microsoft.com/exchange/services/2006/types}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EwsStandIn]:
    """The stand-in with NTLM login for CORP\\svc-samtale; no request may break its checks."""
    with EwsStandIn(tmp_path, {USER: PASSWORD}) as stand_in:
        yield stand_in
        assert stand_in.violations == []


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the backend asked for (nobody waits for real)."""
    return []


@pytest.fixture
def backend(server: EwsStandIn, sleeps: list[float]) -> Iterator[EwsBackend]:
    """The ews backend logged in to the stand-in."""
    made = server.backend(sleep=sleeps.append)
    yield made
    made.close()


def meetings(count: int) -> list[Meeting]:
    """`count` meetings with the prep file, each with its own employee."""
    return [replace(contract_meeting(), key=f"2027-{n:04}", uid=f"samtale-2027-{n:04}@fjordlys.example",
                    attendees=(Person(f"ansatt{n}@fjordlys.example", f"Ansatt {n}"), MANAGER),
                    start=START + dt.timedelta(days=n // 6, hours=n % 6), end=START + dt.timedelta(days=n // 6,
                                                                                                hours=n % 6 + 1))
            for n in range(count)]


def send_all(backend: EwsBackend, jobs: list[Job]) -> list:
    """Send the jobs in the backend's batches, as dispatch does."""
    size = backend.batch_size
    return [d for first in range(0, len(jobs), size) for d in backend.send_batch(jobs[first:first + size])]


def invitations(server: EwsStandIn, address: str, kind: str = "request") -> int:
    """How many messages of one kind an address got."""
    return sum(1 for sent in server.sent_to(address) if sent.kind == kind)


def request_xml(server: EwsStandIn, operation: str) -> list[etree._Element]:
    """The operation elements the stand-in received, oldest first."""
    return [etree.fromstring(body)[-1][0] for name, body in server.bodies if name == operation]


# ---- logging in -------------------------------------------------------------------------------


def test_ntlm_login_and_probe(server: EwsStandIn, backend: EwsBackend) -> None:
    lines = backend.probe()
    assert lines[0] == "Logget inn på Exchange (EWS) som CORP\\svc-samtale"
    assert "Exchange-versjon: Microsoft Exchange Server 2019 (15.2.1118.7)" in lines
    assert "Postkassen hr@fjordlys.example er tilgjengelig (kalender og innboks)" in lines
    assert lines[-1] == ("Svar leses fra «Innboks»; behandlede flyttes til «Innboks/Samtale behandlet» "
                         "(lages ved første bruk)")
    assert server.handshakes >= 1 and server.failed_logins == 0
    assert set(server.logins) == {"CORP\\svc-samtale"}  # what the NTLM acceptor verified
    # One GetFolder for calendar and inbox together, one FindFolder for the done folder (and the version probe).
    assert server.counts == {"ConvertId": 1, "GetFolder": 1, "FindFolder": 1}


def test_basic_login_works_too(tmp_path: Path) -> None:
    with EwsStandIn(tmp_path, {"hr-svc@fjordlys.example": PASSWORD}, auth="basic") as server:
        backend = server.backend(version="15.2")
        delivery = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
        assert not delivery.failures and delivery.remote_id
        assert set(server.logins) == {"hr-svc@fjordlys.example"} and server.failed_logins == 0
        assert "ConvertId" not in server.counts  # [ews] version given: no asking the server
        backend.close()


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
def test_a_wrong_password_names_the_secret_and_is_not_retried(tmp_path: Path, auth: str, sleeps: list[float]) -> None:
    with EwsStandIn(tmp_path, {USER: PASSWORD}, auth=auth) as server:
        backend = server.backend(password="feil-passord-9", sleep=sleeps.append)
        with pytest.raises(BackendError) as caught:
            backend.probe()
        error = caught.value
        assert error.exit_code == EXIT_BACKEND
        assert error.message == f"Exchange-serveren 127.0.0.1 godtok ikke innloggingen for «{USER}» ({auth})."
        assert "ews_password" in error.hint and "SAMTALE_EWS_PASSWORD" in error.hint and "[ews] username" in error.hint
        assert "feil-passord-9" not in error.message + error.hint and "feil-passord-9" not in repr(backend)
        assert server.failed_logins == 1 and sleeps == []  # a refused login is not "throttling" to wait out
        assert server.soap_requests() == 0
        backend.close()


def test_an_unreachable_server_or_a_wrong_address_names_the_setting(server: EwsStandIn) -> None:
    nobody = EwsBackend.connect(EwsSettings(endpoint=f"http://127.0.0.1:{free_port()}/EWS/Exchange.asmx"), ORGANIZER,
                                PASSWORD, sleep=lambda _s: None)
    with pytest.raises(BackendError) as refused:
        nobody.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    assert "avviste tilkoblingen" in refused.value.message and "[ews] server" in refused.value.hint
    wrong_path = server.backend(endpoint=server.url.replace("/EWS/Exchange.asmx", "/owa/"))
    with pytest.raises(BackendError) as not_ews:
        wrong_path.probe()
    assert "svarer ikke som en EWS-tjeneste" in not_ews.value.message
    assert "https://mail.firma.no/EWS/Exchange.asmx" in not_ews.value.hint and "[ews] server" in not_ews.value.hint
    nobody.close()
    wrong_path.close()


def test_the_password_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with EwsStandIn(tmp_path, {USER: PASSWORD}, auth="basic") as server:
        backend = server.backend()
        assert not backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER)).failures
        backend.close()
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode("latin-1")).decode()
    assert caplog.records and PASSWORD not in caplog.text and basic not in caplog.text


# ---- sending: counts, results, retries ------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [10, 20, 50])
def test_100_invitations_with_attachments_take_few_requests(tmp_path: Path, chunk_size: int,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with EwsStandIn(tmp_path, {USER: PASSWORD}) as server:
        backend = server.backend(chunk_size=chunk_size)
        results = send_all(backend, [Job((m.attendees), meeting=m) for m in meetings(100)])
        assert len(results) == 100 and all(not r.failures and r.remote_id for r in results)
        budget = math.ceil(200 / chunk_size) + 2
        with capsys.disabled():
            print(f"\n100 invitations, chunk_size {chunk_size}: {server.soap_requests()} SOAP requests "
                  f"(budget {budget}): {dict(server.counts)}")
        assert server.soap_requests() <= budget
        # per batch: one FindItem for all its tags and one CreateItem; once, the version probe
        assert server.counts == {"ConvertId": 1, "FindItem": math.ceil(100 / chunk_size),
                                 "CreateItem": math.ceil(100 / chunk_size)}
        calendar = server.calendar(ORGANIZER.email)
        assert len(calendar) == 100 and {i.tag for i in calendar} == {f"2027-{n:04}" for n in range(100)}
        assert all([a.name for a in i.attachments] == [FILE.filename] and i.attachments[0].content == FILE.content
                   and i.sensitivity == "Private" for i in calendar)
        assert invitations(server, MANAGER.email) == 100 and invitations(server, "ansatt7@fjordlys.example") == 1
        assert {r.remote_id for r in results} == {i.id for i in calendar}
        assert backend.stats.extra["created"] == 100 and backend.stats.requests == server.soap_requests()
        assert backend.stats.connections == 1  # one NTLM-authenticated connection, kept alive throughout
        backend.close()


def test_per_item_errors_fail_only_their_job(server: EwsStandIn, backend: EwsBackend) -> None:
    first, second, third = meetings(3)
    server.unknown_recipients.add("ansatt1@fjordlys.example")
    server.item_errors["2027-0002"] = "ErrorServerBusy"  # a per-item answer, not a fault for the request
    results = backend.send_batch([Job(m.attendees, meeting=m) for m in (first, second, third)])
    assert not results[0].failures and results[0].remote_id
    assert {(f.email, f.code) for f in results[1].failures} == {("ansatt1@fjordlys.example", 550),
                                                               (MANAGER.email, 550)}
    assert "ErrorMailRecipientNotFound" in results[1].failures[0].message
    assert {(f.email, f.code) for f in results[2].failures} == {("ansatt2@fjordlys.example", 450),
                                                               (MANAGER.email, 450)}
    assert [i.tag for i in server.calendar(ORGANIZER.email)] == ["2027-0000"]
    assert server.counts["CreateItem"] == 1  # the busy item did not make exchangelib send the request again
    # The next run sends the temporary failure again: created once, invited once.
    again = backend.send_batch([Job(third.attendees, meeting=third)])
    assert not again[0].failures
    assert sorted(i.tag or "" for i in server.calendar(ORGANIZER.email)) == ["2027-0000", "2027-0002"]
    assert invitations(server, "ansatt2@fjordlys.example") == 1 and invitations(server, MANAGER.email) == 2


def test_server_busy_and_503_are_retried_without_loss_or_duplicates(server: EwsStandIn, backend: EwsBackend,
                                                                     sleeps: list[float]) -> None:
    server.inject_busy(2, back_off_ms=1500, operation="CreateItem")
    created = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    assert not created.failures and sleeps == [1.5, 1.5]  # BackOffMilliseconds, through the injected sleep
    server.inject_http(2, status=503, operation="UpdateItem")
    moved = START + dt.timedelta(days=1)
    updated = backend.upsert_meeting(replace(contract_meeting(), sequence=1, start=moved,
                                             end=moved + dt.timedelta(hours=1), remote_id=created.remote_id,
                                             change_key=created.change_key), (EMPLOYEE, MANAGER))
    assert not updated.failures and sleeps[2:] == [3.0, 3.0]  # Retry-After of the 503 answers
    assert server.counts["CreateItem"] == 3 and server.counts["UpdateItem"] == 3
    [item] = server.calendar(ORGANIZER.email)
    assert item.start == moved and item.sequence == 1
    assert invitations(server, EMPLOYEE.email) == 1 and invitations(server, EMPLOYEE.email, "update") == 1
    assert backend.stats.retries == 4 and backend.stats.waited_seconds == 9.0


def test_a_server_busy_beyond_max_wait_stops_the_run(tmp_path: Path, sleeps: list[float]) -> None:
    with EwsStandIn(tmp_path, {USER: PASSWORD}) as server:
        backend = server.backend(version="15.2", max_wait=300.0, sleep=sleeps.append)
        server.inject_busy(100, back_off_ms=120_000)
        with pytest.raises(BackendError) as caught:
            backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
        assert "opptatt" in caught.value.message and "[ews] max_wait" in caught.value.hint
        assert sleeps == [120.0, 120.0] and sum(sleeps) <= 300  # a third wait would pass max_wait
        assert server.calendar(ORGANIZER.email) == [] and server.sent == []
        backend.close()


# ---- crash safety -----------------------------------------------------------------------------------


def test_a_create_whose_answer_was_lost_is_found_by_its_tag(server: EwsStandIn, backend: EwsBackend) -> None:
    server.drop_after_work(1, operation="CreateItem")  # created and invited, but the answer never arrives
    lost = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    assert {(f.email, f.code) for f in lost.failures} == {(EMPLOYEE.email, 0), (MANAGER.email, 0)}
    [item] = server.calendar(ORGANIZER.email)
    again = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))  # the next run: remote_id still None
    assert not again.failures and (again.remote_id, again.change_key) == (item.id, item.changekey)
    assert len(server.calendar(ORGANIZER.email)) == 1
    assert invitations(server, EMPLOYEE.email) == 1 and invitations(server, MANAGER.email) == 1
    assert server.counts["CreateItem"] == 1 and "UpdateItem" not in server.counts
    assert backend.stats.extra["unchanged"] == 1


def test_cancellations_and_mails_sent_before_a_crash_are_not_sent_twice(server: EwsStandIn,
                                                                        backend: EwsBackend) -> None:
    created = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    known = replace(contract_meeting(), sequence=1, remote_id=created.remote_id, change_key=created.change_key)
    assert not backend.cancel_meeting(known, (EMPLOYEE, MANAGER), "Sykdom").failures
    assert not backend.cancel_meeting(known, (EMPLOYEE, MANAGER), "Sykdom").failures  # id known, item cancelled
    assert not backend.cancel_meeting(replace(known, remote_id=None), (EMPLOYEE, MANAGER)).failures  # by tag
    assert invitations(server, EMPLOYEE.email, "cancel") == 1 and server.calendar(ORGANIZER.email) == []
    mail = Mail("manager_prep:2027-1001", (MANAGER,), "Din forberedelse", "Hei Bjørn", attachments=(FILE,))
    server.drop_after_work(1, operation="CreateItem")
    assert backend.send_mail(mail).failures[0].code == 0  # sent, but the answer was lost
    assert not backend.send_mail(mail).failures  # its tagged copy is in Sent Items
    assert [s.subject for s in server.sent if s.kind == "mail"] == ["Din forberedelse"]


# ---- what an update and a removal write -------------------------------------------------------------


def test_an_update_writes_only_the_changed_fields(server: EwsStandIn, backend: EwsBackend) -> None:
    created = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    moved = START + dt.timedelta(hours=2)
    backend.upsert_meeting(replace(contract_meeting(), sequence=1, start=moved, end=moved + dt.timedelta(hours=1),
                                   body_html="<p>Ny tid.</p>", remote_id=created.remote_id,
                                   change_key=created.change_key), (EMPLOYEE, MANAGER))
    [update] = request_xml(server, "UpdateItem")
    assert update.get("SendMeetingInvitationsOrCancellations") == "SendToAllAndSaveCopy"
    fields = {f.get("FieldURI") for f in update.iter(f"{T}FieldURI")}
    assert fields == {"calendar:Start", "calendar:End", "calendar:StartTimeZone", "calendar:EndTimeZone",
                      "item:Body"}  # no subject, place, attendees, and no second copy of the file
    [item] = server.calendar(ORGANIZER.email)
    assert (item.start, item.body, [a.name for a in item.attachments]) == (moved, "<p>Ny tid.</p>", [FILE.filename])
    # The same again (a retry after a lost answer): nothing differs, nothing is written, nobody is told twice.
    backend.upsert_meeting(replace(contract_meeting(), sequence=1, start=moved, end=moved + dt.timedelta(hours=1),
                                   remote_id=created.remote_id), (EMPLOYEE, MANAGER))
    assert server.counts["UpdateItem"] == 1 and invitations(server, EMPLOYEE.email, "update") == 1


def test_removing_an_attendee_tells_only_that_attendee(server: EwsStandIn, backend: EwsBackend) -> None:
    created = backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    changed = replace(contract_meeting(), sequence=1, attendees=(EMPLOYEE, OTHER_MANAGER),
                      remote_id=created.remote_id, change_key=created.change_key)
    removal = backend.cancel_meeting(changed, (MANAGER,), "Du er ikke lenger med i denne samtalen.")
    assert not removal.failures
    [update] = request_xml(server, "UpdateItem")
    assert update.get("SendMeetingInvitationsOrCancellations") == "SendToChangedAndSaveCopy"
    assert {f.get("FieldURI") for f in update.iter(f"{T}FieldURI")} == {"calendar:RequiredAttendees"}
    assert [s.kind for s in server.sent_to(MANAGER.email)] == ["request", "cancel"]
    assert [s.kind for s in server.sent_to(EMPLOYEE.email)] == ["request"]  # the employee's meeting is unchanged
    # The removal and the update go in one batch (as dispatch sends them): removal first, then the update.
    results = backend.send_batch([Job((MANAGER,), meeting=changed, cancel=True),
                                  Job((EMPLOYEE, OTHER_MANAGER), meeting=changed)])
    assert all(not r.failures for r in results)
    [item] = server.calendar(ORGANIZER.email)
    assert {p.email for p in item.required} == {EMPLOYEE.email, OTHER_MANAGER.email}
    assert invitations(server, OTHER_MANAGER.email) == 1 and invitations(server, MANAGER.email, "cancel") == 1


def test_a_batch_for_two_organizers_and_a_room(server: EwsStandIn, backend: EwsBackend) -> None:
    room = Person("rom-fjorden@fjordlys.example", "Møterom Fjorden")
    hr, own = meetings(2)
    own = replace(own, organizer=MANAGER, attendees=(own.attendees[0], MANAGER), rooms=(room,), location="")
    results = backend.send_batch([Job(hr.attendees, meeting=hr), Job((own.attendees[0], room), meeting=own)])
    assert all(not r.failures for r in results)
    [in_hr] = server.calendar(ORGANIZER.email)
    [in_manager] = server.calendar(MANAGER.email)
    assert in_hr.tag == hr.key and in_manager.tag == own.key
    assert [p.email for p in in_manager.required] == ["ansatt1@fjordlys.example"]  # the organizer is not invited
    assert ([p.email for p in in_manager.resources], in_manager.location) == ([room.email], "Møterom Fjorden")
    assert invitations(server, room.email) == 1
    assert server.counts["FindItem"] == 2 and server.counts["CreateItem"] == 2  # one of each per mailbox


def test_a_test_appointment_is_created_and_deleted_without_telling_anyone(server: EwsStandIn,
                                                                          backend: EwsBackend) -> None:
    start = START.replace(hour=7)
    appointment = Meeting(key="doctor-20270301", uid="samtale-doctor@samtale.invalid", sequence=0,
                          subject="samtale doctor: testavtale", start=start, end=start + dt.timedelta(minutes=15),
                          organizer=ORGANIZER, attendees=())
    created = backend.upsert_meeting(appointment, ())
    assert not created.failures and created.remote_id in {i.id for i in server.calendar(ORGANIZER.email)}
    deleted = backend.cancel_meeting(replace(appointment, remote_id=created.remote_id,
                                             change_key=created.change_key), ())
    assert not deleted.failures and server.calendar(ORGANIZER.email) == [] and server.sent == []
    assert server.counts["DeleteItem"] == 1


def test_impersonation_sends_the_header_for_each_mailbox(tmp_path: Path) -> None:
    with EwsStandIn(tmp_path, {USER: PASSWORD}, access="impersonation") as server:
        backend = server.backend()
        own = replace(contract_meeting(), organizer=MANAGER, attendees=(EMPLOYEE, MANAGER))
        assert not backend.upsert_meeting(own, (EMPLOYEE,)).failures
        headers = [etree.fromstring(body)[0] for name, body in server.bodies if name in ("FindItem", "CreateItem")]
        impersonated = {h.findtext(f"{T}ExchangeImpersonation/{T}ConnectingSID/{T}PrimarySmtpAddress")
                        for h in headers}
        assert impersonated == {MANAGER.email} and server.violations == []
        assert [i.tag for i in server.calendar(MANAGER.email)] == ["2027-1001"]
        backend.close()


# ---- free/busy ----------------------------------------------------------------------------------------


def test_free_busy_for_100_people_over_6_weeks_takes_at_most_2_requests(server: EwsStandIn, backend: EwsBackend,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    people = [f"ansatt{n}@fjordlys.example" for n in range(99)] + ["ukjent@fjordlys.example"]
    server.unknown_recipients.add("ukjent@fjordlys.example")
    start = dt.datetime(2027, 3, 15, 0, 0, tzinfo=OSLO)  # the switch to summer time (28 March) inside
    winter = dt.datetime(2027, 3, 16, 9, 0, tzinfo=OSLO)
    summer = dt.datetime(2027, 4, 20, 13, 30, tzinfo=OSLO)
    server.add_busy(people[3], winter, winter + dt.timedelta(hours=1))
    server.add_busy(people[3], summer, summer + dt.timedelta(minutes=45), "OOF")
    server.add_busy(people[50], summer, summer + dt.timedelta(hours=2), "Tentative")
    busy = backend.free_busy(people, start, start + dt.timedelta(weeks=6))
    with capsys.disabled():
        print(f"\nfree/busy, 100 people, 6 weeks: {server.soap_requests()} SOAP requests: {dict(server.counts)}")
    assert server.soap_requests() <= 2 and server.counts["GetUserAvailability"] == 1
    assert "GetServerTimeZones" not in server.counts  # the time zone rules are built here, not asked for
    assert [(s.start, s.end, s.status) for s in busy[people[3]]] == [
        (winter, winter + dt.timedelta(hours=1), "busy"), (summer, summer + dt.timedelta(minutes=45), "oof")]
    assert busy[people[3]][1].start.utcoffset() == dt.timedelta(hours=2)
    assert [(s.start, s.status) for s in busy[people[50]]] == [(summer, "tentative")]
    assert busy["ukjent@fjordlys.example"] == [] and busy[people[0]] == [] and len(busy) == 100


def test_free_busy_splits_long_periods_and_many_people(server: EwsStandIn, backend: EwsBackend) -> None:
    people = [f"ansatt{n}@fjordlys.example" for n in range(150)]
    start = dt.datetime(2027, 9, 1, 0, 0, tzinfo=OSLO)
    across = start + dt.timedelta(days=41, hours=20)  # over the first window's end
    server.add_busy(people[120], across, across + dt.timedelta(hours=8))
    created = backend.upsert_meeting(replace(contract_meeting(), start=start + dt.timedelta(days=50, hours=9),
                                             end=start + dt.timedelta(days=50, hours=10)), (EMPLOYEE, MANAGER))
    assert not created.failures
    busy = backend.free_busy([*people, EMPLOYEE.email], start, start + dt.timedelta(days=60))
    assert server.counts["GetUserAvailability"] == 4  # 2 groups of ≤100 mailboxes × 2 windows of ≤42 days
    assert [(s.start, s.end) for s in busy[people[120]]] == [(across, across + dt.timedelta(hours=8))]  # once
    assert [(s.start, s.status) for s in busy[EMPLOYEE.email]] == [(start + dt.timedelta(days=50, hours=9),
                                                                   "tentative")]


def test_the_time_zone_built_here_is_the_servers(server: EwsStandIn, backend: EwsBackend) -> None:
    from exchangelib.properties import TimeZone

    protocol = backend.connection.box(ORGANIZER.email).account.protocol
    [definition] = list(protocol.get_timezones(timezones=[backend.connection.zone], return_full_timezone_data=True))
    for year in (2026, 2027, 2030):
        assert availability_timezone(OSLO, year) == TimeZone.from_server_timezone(tz_definition=definition,
                                                                                  for_year=year)
    assert server.counts["GetServerTimeZones"] == 1  # what exchangelib's get_free_busy_info adds to every call


# ---- returned files ---------------------------------------------------------------------------------


def test_replies_in_a_subfolder_are_fetched_and_moved_to_a_new_done_folder(tmp_path: Path) -> None:
    with EwsStandIn(tmp_path, {USER: PASSWORD}) as server:
        backend = server.backend(folder="Samtaler", done_folder="Samtaler/Behandlet")
        folder = server.add_folder(ORGANIZER.email, "Samtaler")
        old = dt.datetime(2027, 3, 2, 8, 0, tzinfo=dt.UTC)
        server.add_reply(ORGANIZER.email, EMPLOYEE.email, "SV: samtale", [("svar.XLSX", b"PK1"), ("bilde.png", b"x")],
                         received=old + dt.timedelta(hours=1), folder="inbox")
        first = server.add_reply(ORGANIZER.email, MANAGER.email, "SV", [("a.xlsx", b"PK2")], received=old)
        second = server.add_reply(ORGANIZER.email, EMPLOYEE.email, "SV", [("b.xlsm", b"PK3"), ("c.xlsx", b"PK4")],
                                  received=old + dt.timedelta(hours=2))
        for message_id in (first, second):
            server.items[message_id].folder = folder
        files = list(backend.fetch_files((".xlsx", ".xlsm")))
        assert [(f.sender, f.filename, f.content) for f in files] == [
            (MANAGER.email, "a.xlsx", b"PK2"), (EMPLOYEE.email, "b.xlsm", b"PK3"),
            (EMPLOYEE.email, "c.xlsx", b"PK4")]
        assert files[0].received == old.astimezone(OSLO) and files[0].received.utcoffset() == dt.timedelta(hours=1)
        assert server.counts["GetAttachment"] == 1  # all files of the run in one request
        backend.mark_handled(files[0].message_id)
        backend.mark_handled(files[1].message_id)
        backend.mark_handled(files[1].message_id)  # again (a crash after moving): already done
        done = server.folder_named(ORGANIZER.email, "Behandlet")
        assert done is not None and done.parent == folder
        assert len(server.in_folder(ORGANIZER.email, done.id)) == 2 and server.counts["CreateFolder"] == 1
        assert list(backend.fetch_files()) == []
        lines = backend.probe()
        assert lines[-1] == ("Svar leses fra «Innboks/Samtaler»; behandlede flyttes til «Innboks/Samtaler/Behandlet» "
                             "(finnes)")
        backend.close()


def test_a_missing_reply_folder_names_the_setting(server: EwsStandIn) -> None:
    backend = server.backend(folder="Finnes ikke")
    with pytest.raises(BackendError) as caught:
        list(backend.fetch_files())
    assert "«Finnes ikke»" in caught.value.message and "[ews] folder" in caught.value.hint
    backend.close()


# ---- Microsoft 365 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["http", "soap"])
def test_microsoft_365_blocking_ews_advises_graph(server: EwsStandIn, style: str) -> None:
    server.block(style)
    backend = server.backend()
    with pytest.raises(BackendError) as caught:
        backend.probe()
    assert "sperrer EWS" in caught.value.message and '[mail] backend = "graph"' in caught.value.hint
    with pytest.raises(BackendError) as sending:
        backend.upsert_meeting(contract_meeting(), (EMPLOYEE, MANAGER))
    assert '[mail] backend = "graph"' in sending.value.hint and server.calendar(ORGANIZER.email) == []
    backend.close()


def test_microsoft_365_hosts_are_recognised() -> None:
    for server in ("outlook.office365.com", "https://outlook.office365.com/EWS/Exchange.asmx",
                   "eur03.outlook.com"):
        assert ews_settings({"server": server}).microsoft_365
    assert not ews_settings({"server": "mail.firma.no"}).microsoft_365


# ---- TLS ------------------------------------------------------------------------------------------------


def test_tls_with_a_company_ca_and_an_untrusted_certificate(tmp_path: Path, tls_ca: trustme.CA) -> None:  # noqa: F811
    import ssl

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    tls_ca.configure_trust(client_context)
    with EwsStandIn(tmp_path, {USER: PASSWORD}, auth="basic", tls=server_context) as server:
        trusted = EwsBackend.connect(server.settings(), ORGANIZER, PASSWORD, sleep=lambda _s: None,
                                     ssl_context=client_context)
        assert trusted.probe()[0] == "Logget inn på Exchange (EWS) som CORP\\svc-samtale"
        trusted.close()
        untrusted = EwsBackend.connect(server.settings(), ORGANIZER, PASSWORD, sleep=lambda _s: None)
        with pytest.raises(BackendError) as caught:
            untrusted.probe()
        assert "sertifikatet kunne ikke godkjennes" in caught.value.message and "[ews] server" in caught.value.hint
        untrusted.close()


# ---- settings --------------------------------------------------------------------------------------------


def ews_settings(section: dict[str, object]) -> EwsSettings:
    """The [ews] settings read from a section (which must be valid)."""
    settings = parse_config({"ews": section}).ews
    assert settings is not None
    return settings


def test_settings_defaults_and_the_server_address() -> None:
    settings = ews_settings({"server": "mail.firma.no"})
    assert settings == EwsSettings(endpoint="https://mail.firma.no/EWS/Exchange.asmx")
    assert (settings.chunk_size, settings.done_folder, settings.max_wait, settings.auth) == (
        20, "Samtale behandlet", 300.0, "ntlm")
    full = ews_settings({"server": "https://mail.firma.no:8443/ews/exchange.asmx", "access": "impersonation",
                         "chunk_size": 50, "version": "15.1", "folder": "Samtaler/ Svar ", "max_wait": 60})
    assert full.endpoint == "https://mail.firma.no:8443/ews/exchange.asmx"
    assert (full.access, full.chunk_size, full.version, full.folder, full.max_wait) == (
        "impersonation", 50, "15.1", "Samtaler/Svar", 60.0)
    assert ews_settings({"server": "http://127.0.0.1:8080"}).endpoint == \
        "http://127.0.0.1:8080/EWS/Exchange.asmx"
    assert {"server", "username", "auth", "access", "chunk_size", "folder", "done_folder", "version",
            "max_wait"} <= KNOWN_KEYS["ews"]


@pytest.mark.parametrize(("section", "key"), [
    ({}, "server"), ({"server": "http://mail.firma.no"}, "server"), ({"server": "mail firma"}, "server"),
    ({"server": "x.no", "auth": "kerberos5"}, "auth"), ({"server": "x.no", "access": "admin"}, "access"),
    ({"server": "x.no", "chunk_size": 0}, "chunk_size"), ({"server": "x.no", "chunk_size": 500}, "chunk_size"),
    ({"server": "x.no", "chunk_size": True}, "chunk_size"), ({"server": "x.no", "version": "2019"}, "version"),
    ({"server": "x.no", "max_wait": -1}, "max_wait"), ({"server": "x.no", "done_folder": "  "}, "done_folder"),
    ({"server": "x.no", "folder": "a//b"}, "folder")])
def test_bad_settings_name_the_key(section: dict[str, object], key: str) -> None:
    config = parse_config({"mail": {"backend": "ews", "mailbox": ORGANIZER.email}, "ews": section})
    assert config.ews is None
    assert [p.where for p in config.problems] == [f"samtale.toml: ews.{key}"]


def test_open_backend_reads_the_password_from_the_environment(tmp_path: Path, server: EwsStandIn,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    config = parse_config({"mail": {"backend": "ews", "mailbox": "HR <hr@fjordlys.example>"},
                           "ews": {"server": server.url, "username": USER}})
    context = BackendContext(Folder(tmp_path), config, START)
    monkeypatch.delenv("SAMTALE_EWS_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as caught:
        open_backend(context)
    assert "ews_password" in caught.value.message and "SAMTALE_EWS_PASSWORD" in caught.value.hint
    monkeypatch.setenv("SAMTALE_EWS_PASSWORD", PASSWORD)
    backend = open_backend(context)
    assert backend.name == "ews" and backend.capabilities == frozenset(Cap) and backend.needs_confirmation
    assert backend.batch_size == 20 and backend.probe()[0] == f"Logget inn på Exchange (EWS) som {USER}"
    backend.close()


def test_kerberos_without_its_package_says_what_to_install() -> None:
    if importlib.util.find_spec("requests_gssapi") is not None:
        pytest.skip("requests_gssapi is installed here")
    settings = EwsSettings(endpoint="https://mail.firma.no/EWS/Exchange.asmx", auth="kerberos")
    with pytest.raises(ConfigError) as caught:
        EwsBackend.connect(settings, ORGANIZER)
    assert "requests_gssapi" in caught.value.message and 'pip install "exchangelib[kerberos]"' in caught.value.hint
