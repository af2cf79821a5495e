"""The one presenter: command results → lines and the exit code of DESIGN.md §9, for the CLI and Excel alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from samtale_automation import texts
from samtale_automation.commands.deliver import Outgoing, SendReport
from samtale_automation.commands.results import (
    LEFT_OUT,
    NOT_STORED,
    TO_INCOMING,
    TO_QUARANTINE,
    ApplyPendingResult,
    Check,
    CheckResult,
    CollectResult,
    DoctorReport,
    FetchedFile,
    FetchResult,
    InviteResult,
    RemindResult,
    RoundResult,
)
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.messages import Failure, Job, Person
from samtale_automation.domain.model import OSLO, Employee
from samtale_automation.errors import (
    EXIT_BACKEND,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    EXIT_WORKBOOK,
    BackendError,
    ConfigError,
    Problem,
)
from samtale_automation.faces.present import (
    Presentation,
    present,
    present_crash,
    present_error,
    present_interrupted,
)
from samtale_automation.faces.present_send import confirmation
from samtale_automation.plans.consolidate import QUARANTINED, Arrival, CollectPlan, Decision
from samtale_automation.plans.meetings import InvitePlan, MailSend
from samtale_automation.plans.reminders import Digest, ReminderItem
from samtale_automation.plans.rounds import RoundPlan
from samtale_automation.workbook.apply import ApplyResult

ASE = Employee("1", "Åse Kjærstad", "ase@firma.example")
BJORN = Employee("2", "Bjørn Sæther", "bjorn@firma.example", manager_id="1")
WAITING = "samtaler.xlsx er åpen hos Kari HR."


@pytest.fixture(autouse=True)
def norwegian() -> Iterator[None]:
    """Every test reads bokmål unless it switches; the language is put back after."""
    before = texts.language()
    texts.set_language("nb")
    yield
    texts.set_language(before)


def _stdout(shown: Presentation) -> list[str]:
    return [line for index, line in enumerate(shown.lines) if index not in shown.warnings]


def _stderr(shown: Presentation) -> list[str]:
    return [line for index, line in enumerate(shown.lines) if index in shown.warnings]


def _outgoing(name: str) -> Outgoing:
    person = Person(f"{name.lower()}@firma.example", name)
    return Outgoing(f"group-{name}", "invitation", (person,), Job((person,)), describe=f"{name}: invitasjon 2027-2")


def _sent(*, delivered: int = 1, failed: int = 0, stopped: bool = False) -> SendReport:
    report = SendReport()
    report.delivered = [(_outgoing(f"Ok{i}"), (f"ok{i}@firma.example",)) for i in range(delivered)]
    report.failed = [(_outgoing(f"Nei{i}"), Failure(f"nei{i}@firma.example", 550, "mailbox unavailable"))
                     for i in range(failed)]
    if stopped:
        report.stopped = BackendError("SMTP-serveren svarer ikke.", hint="Sjekk nettverket.")
    return report


def _invite(report: SendReport | None, *, apply: ApplyResult | None = None, problems: int = 0,
            confirmed: bool = True) -> InviteResult:
    plan = InvitePlan(problems=[Problem(f"Samtaler!D{4 + i}", "har ingen tid") for i in range(problems)])
    manager = Person(ASE.email, ASE.name)
    plan.mails.append(MailSend("manager_prep:2027-2", "manager_prep", (manager,), "manager_prep", {}, "nb",
                               conversation_id="2027-2"))
    return InviteResult(plan, report=report, apply=apply, confirmed=confirmed, backend="smtp")


def test_a_presentation_marks_its_warnings_and_reads_as_text() -> None:
    """Verify warnings are told apart from the lines and the whole reads as plain text for a message box."""
    plan = RoundPlan("2027", ChangeSet("ny runde"), added=[BJORN], skipped=[(ASE, "har ingen leder")])
    shown = present(RoundResult(plan, apply=ApplyResult(blocked=WAITING)))
    assert _stdout(shown) == ["  + 2027-2  Bjørn Sæther", "  – hoppet over 1 Åse Kjærstad: har ingen leder",
                              "Runde 2027: 1 lagt til, 1 hoppet over."]
    assert _stderr(shown) == [f"Venter: {WAITING}",
                              "Endringene er tatt vare på og skrives av neste kommando eller «samtale apply»."]
    assert shown.exit_code == EXIT_WORKBOOK
    assert shown.text().splitlines()[0] == "  + 2027-2  Bjørn Sæther"


def test_a_dry_run_writes_nothing_and_exits_0() -> None:
    """Verify a dry run ends with the dry-run line and exit 0."""
    shown = present(RoundResult(RoundPlan("2027", ChangeSet("ny runde"), added=[BJORN]), dry_run=True))
    assert shown.lines[-1] == "\nPrøvekjøring: ingenting er skrevet." and shown.exit_code == EXIT_OK


def test_check_counts_problems_and_exits_1() -> None:
    """Verify check's summary and exit code with and without problems, in both languages."""
    assert present(CheckResult([])).lines == ["Ingen problemer funnet."]
    found = present(CheckResult([Problem("maler/invitasjon.txt", "overstyrer ingen mal", "Gi filen navnet")]))
    assert found.lines == ["maler/invitasjon.txt: overstyrer ingen mal – Gi filen navnet", "\n1 problem funnet."]
    assert found.exit_code == EXIT_PROBLEMS
    texts.set_language("en")
    assert present(CheckResult([])).lines == ["No problems found."]


def test_check_counts_warnings_in_the_plural_and_they_alone_exit_0() -> None:
    """Verify «4 advarsler» (not «advarseler»), «1 advarsel», and that warnings alone do not exit 1."""
    from samtale_automation.errors import WARNING

    warned = [Problem(f"Samtaler!F{n}", "sent på dagen", severity=WARNING) for n in range(2, 6)]
    shown = present(CheckResult(warned))
    assert "4 advarsler" in shown.lines[-1] and shown.exit_code == EXIT_OK
    assert "1 advarsel" in present(CheckResult(warned[:1])).lines[-1]


def test_an_install_time_that_is_not_a_time_says_how_to_write_one(tmp_path: Path) -> None:
    """Verify `nightly install --at 25:99` is refused as a time of day (exit 2), not as a date."""
    from folders import samtale

    done = samtale("--dir", str(tmp_path), "nightly", "install", "--at", "25:99")
    assert done.returncode == 2
    assert "--at 25:99: ikke et klokkeslett" in done.stdout + done.stderr and "TT:MM" in done.stdout + done.stderr


def test_apply_with_nothing_waiting() -> None:
    """Verify `apply` says so when no change waits."""
    shown = present(ApplyPendingResult([]))
    assert shown == Presentation(["Ingen endringer venter."])


def test_a_send_reports_what_went_and_what_did_not() -> None:
    """Verify refused recipients go to stderr with the server's answer, and make exit 1."""
    shown = present(_invite(_sent(delivered=2, failed=1), apply=ApplyResult(applied=["x"], created=1)))
    assert "\n2 meldinger sendt." in _stdout(shown)
    assert _stderr(shown) == ["  IKKE levert til nei0@firma.example (Nei0: invitasjon 2027-2): 550 mailbox "
                              "unavailable – prøves igjen ved neste kjøring"]
    assert shown.exit_code == EXIT_PROBLEMS


def test_a_clean_send_exits_0() -> None:
    """Verify everything delivered and written gives exit 0."""
    assert present(_invite(_sent(delivered=3), apply=ApplyResult(applied=["x"]))).exit_code == EXIT_OK


@pytest.mark.parametrize(("result", "code"), [
    (_invite(_sent(stopped=True), apply=ApplyResult(blocked=WAITING)), EXIT_BACKEND),  # the server first
    (_invite(_sent(failed=1), apply=ApplyResult(blocked=WAITING)), EXIT_WORKBOOK),  # then the workbook
    (_invite(_sent(), problems=1), EXIT_PROBLEMS),  # then problems and refusals
    (_invite(None, confirmed=False), EXIT_PROBLEMS),  # a «no» sends nothing
])
def test_the_first_thing_that_went_wrong_sets_the_exit_code(result: InviteResult, code: int) -> None:
    """Verify the exit code order of a send: backend 4, workbook 3, problems or refused 1."""
    assert present(result).exit_code == code


def test_a_server_that_stopped_answering_ends_the_summary_with_its_error() -> None:
    """Verify what was sent is told first, then the error with what to do, and exit 4."""
    shown = present(_invite(_sent(delivered=1, stopped=True), apply=ApplyResult(applied=["x"])))
    assert _stderr(shown)[-2:] == ["Feil: SMTP-serveren svarer ikke.", "Gjør dette: Sjekk nettverket."]
    assert shown.lines[-2:] == _stderr(shown)[-2:]
    assert shown.exit_code == EXIT_BACKEND


def test_remind_on_a_day_off_with_nothing_to_send() -> None:
    """Verify a weekend says no reminders go out, and nothing to send is exit 0."""
    shown = present(RemindResult(working_day=False))
    assert shown.lines[0].startswith("I dag er ikke en arbeidsdag")
    assert shown.lines[-1] == "\n0 sammendrag å sende." and shown.exit_code == EXIT_OK


def test_the_plan_before_sending_and_the_question() -> None:
    """Verify the confirmation names the digests' reminders and asks in the person's language."""
    item = ReminderItem("minutes:2027-2", "minutes", BJORN, "2027-2", None, {}, None)
    digest = Digest("digest:2:2027-01-25", BJORN, date(2027, 1, 25), (item,))
    shown = confirmation([digest], "smtp")
    assert shown.lines == ["  Bjørn Sæther             skriv referat 2027-2"]
    assert shown.question == "Sende påminnelsene via smtp?"
    assert "--yes" in shown.refusal
    assert confirmation(InvitePlan(), "ews").question == "Sende invitasjonene via ews?"


def test_a_fetch_that_left_a_message_in_the_mailbox_says_so_and_exits_1(tmp_path: Path) -> None:
    """Verify a file that could not be stored (its message kept) and a left-out lock file are named; exit 1."""
    fetched = FetchResult([FetchedFile("stor.xlsx", "x@y.example", NOT_STORED, "kunne ikke lagres (disk full)"),
                           FetchedFile("~$a.xlsx", "x@y.example", LEFT_OUT, "en låsefil fra Excel")], 1, "graph",
                          kept_messages=1)
    shown = present(CollectResult(CollectPlan(ChangeSet("collect")), tmp_path, fetched=fetched))
    assert shown.lines[:2] == ["  IKKE lagret stor.xlsx (x@y.example): kunne ikke lagres (disk full)",
                               "  utelatt    ~$a.xlsx (x@y.example): en låsefil fra Excel"]
    assert any("1 melding ble liggende i postkassen" in line for line in shown.lines)
    assert shown.exit_code == EXIT_PROBLEMS


def test_collect_with_quarantined_files_exits_1_but_not_on_a_dry_run(tmp_path: Path) -> None:
    """Verify a quarantined file (collected or fetched) is exit 1, and a dry run is exit 0."""
    arrival = Arrival("liste.xlsx", "0" * 64, datetime(2027, 1, 15, tzinfo=OSLO), None, "ikke en arbeidsbok")
    plan = CollectPlan(ChangeSet("collect"), [Decision(arrival, QUARANTINED, "ikke en arbeidsbok")])
    assert present(CollectResult(plan, tmp_path)).exit_code == EXIT_PROBLEMS
    assert present(CollectResult(plan, tmp_path, dry_run=True)).exit_code == EXIT_OK
    fetched = FetchResult([FetchedFile("a.xlsx", "x@y.example", TO_QUARANTINE, "feil avsender"),
                           FetchedFile("b.xlsx", "ase@firma.example", TO_INCOMING)], 1, "graph")
    shown = present(CollectResult(CollectPlan(ChangeSet("collect")), tmp_path, fetched=fetched))
    assert shown.lines[0] == "  karantene  a.xlsx (x@y.example): feil avsender"
    assert shown.lines[2].startswith("Postkassen (graph): 1 fil hentet til innkommende/, 1 i karantene")
    assert shown.exit_code == EXIT_PROBLEMS
    blocked = present(CollectResult(plan, tmp_path, apply=ApplyResult(blocked=WAITING), fetched=fetched))
    assert blocked.exit_code == EXIT_WORKBOOK


def test_doctor_stops_at_the_first_failure_with_its_exit_code() -> None:
    """Verify the checks are listed and a failed one ends with the error's exit code."""
    report = DoctorReport("smtp", [Check("samtale.toml er gyldig", True, ("backend: smtp",)),
                                   Check("innlogging og postkasse", False)],
                          BackendError("Innloggingen ble avvist.", hint="Sjekk passordet."))
    shown = present(report)
    assert _stdout(shown) == ["  OK   samtale.toml er gyldig", "       backend: smtp", "  FEIL innlogging og postkasse"]
    assert _stderr(shown) == ["Feil: Innloggingen ble avvist.", "Gjør dette: Sjekk passordet."]
    assert shown.exit_code == EXIT_BACKEND
    assert present(DoctorReport("outbox", report.checks[:1])).lines[-1] == "\nAlt i orden med backend «outbox»."


def test_errors_interruptions_and_bugs() -> None:
    """Verify an error, a «no», Ctrl+C and a bug each get their words on stderr and their exit code."""
    error = present_error(ConfigError("Ugyldig backend.", hint="Velg outbox.", problems=["backend = «x»"]))
    assert _stderr(error) == ["Feil: Ugyldig backend.", "  - backend = «x»", "Gjør dette: Velg outbox."]
    assert error.exit_code == EXIT_USAGE
    assert present_interrupted(by_person=True) == Presentation(["Avbrutt."], EXIT_PROBLEMS, frozenset({0}))
    assert present_interrupted(by_person=False).exit_code == 130
    crash = present_crash("Traceback ...")
    assert _stdout(crash) == [] and crash.exit_code == EXIT_PROBLEMS and "Traceback ..." in crash.lines


def test_the_faces_stay_thin() -> None:
    """Verify the CLI makes no words of its own (they come from the presenter), faces use no Any, files stay short."""
    faces = Path(present.__code__.co_filename).parent
    cli = (faces / "cli.py").read_text(encoding="utf-8")
    assert "tr(" not in cli and "texts import tr" not in cli
    for path in faces.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\bAny\b", source), path.name
        assert len(source.splitlines()) < 400, path.name


def test_the_outbox_says_lagt_i_utboks_never_sendt() -> None:
    """Verify an outbox run says what happened: the messages were put in utboks/, nothing was sent."""
    result = _invite(_sent(delivered=1), apply=ApplyResult(applied=["x"], created=1))
    result.backend = "outbox"
    out = _stdout(present(result))
    assert "\n1 melding lagt i utboks/." in out
    assert "sendt" not in out


def test_counts_agree_with_their_nouns() -> None:
    """Verify «1 ny rad», «1 rad endret», «2 nye rader» after a write."""
    one = present(_invite(_sent(delivered=2), apply=ApplyResult(applied=["x"], created=1, updated=1)))
    assert "Skrev til arbeidsboken: 1 ny rad, 1 rad endret." in _stdout(one)
    two = present(_invite(_sent(delivered=2), apply=ApplyResult(applied=["x"], created=2, updated=0)))
    assert "Skrev til arbeidsboken: 2 nye rader, 0 rader endret." in _stdout(two)


def test_collect_names_the_signing_files_and_one_it_could_not_make(tmp_path: Path) -> None:
    """Verify the copies and the signed PDF are listed, and a file that could not be made is exit 1 with why."""
    made = [("finalise", tmp_path / "forberedelse" / "2 Bjørn - referat til leder.xlsx"),
            ("signed_pdf", tmp_path / "arkiv" / "2027" / "2" / "2027-2 referat signert.pdf")]
    shown = present(CollectResult(CollectPlan(ChangeSet("collect")), tmp_path, signing_files=made))
    assert shown.lines[:2] == ["  til leder    forberedelse/2 Bjørn - referat til leder.xlsx",
                               "  signert PDF  arkiv/2027/2/2027-2 referat signert.pdf"]
    assert shown.exit_code == EXIT_OK
    failed = present(CollectResult(CollectPlan(ChangeSet("collect")), tmp_path,
                                   signing_failed=[(made[1][1], "OSError: disk full")]))
    assert failed.lines[0] == "  ikke laget  arkiv/2027/2/2027-2 referat signert.pdf: OSError: disk full"
    assert failed.exit_code == EXIT_PROBLEMS
