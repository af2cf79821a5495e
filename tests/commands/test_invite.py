"""`samtale invite` end to end with the outbox backend: real workbook, real files, parsed back."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from folders import NOW, START, make_folder, samtale
from itip import check_cancel, check_request, parse_eml

from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.errors import ConfigError
from samtale_automation.store.journal import Journal
from samtale_automation.store.messages import MessageStore


def outbox_files(ws: Workspace, suffix: str = ".eml") -> list[Path]:
    """Every file the outbox wrote, in name order."""
    return sorted((ws.folder.root / "utboks").rglob(f"*{suffix}"))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_folder(tmp_path / "f")


def test_first_run_invites_each_conversation_with_the_prep_file_and_sets_invitert(ws: Workspace) -> None:
    result = run_invite(ws)
    assert result.report is not None and not result.report.failed
    assert len(result.prepared) == 4  # prep files were made first: the invitation carries them
    invitations = [p for p in outbox_files(ws) if p.name == "0-invitasjon.eml"]
    assert {p.parent.name for p in invitations} == {"2027-2", "2027-3"}
    message = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-2" / "0-invitasjon.eml").read_bytes())
    calendar = check_request(message.calendar)
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == "samtale-2027-2@firma.example"
    assert int(event["SEQUENCE"]) == 0
    attendees = {str(a).removeprefix("mailto:") for a in event.get("ATTENDEE")}
    assert attendees == {"bjorn@firma.example", "ase@firma.example", "rom-fjorden@firma.example"}
    assert event.decoded("DTSTART") == START
    assert list(message.attachments) == ["2 Bjørn Sæther - forberedelse.xlsx"]
    assert "Hei Bjørn og Åse" in message.text and "fredag 15. januar 2027" in message.text  # Sunday 17th moves back
    # The manager's own version went by separate mail.
    manager_mail = [p for p in outbox_files(ws) if "lederskjema" in str(p)]
    assert len(manager_mail) == 2
    raw = next(p for p in manager_mail if "2027-2" in p.name).read_bytes()
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail["To"].addresses[0].addr_spec == "ase@firma.example"
    assert [part.get_filename() for part in mail.iter_attachments()] == ["2 Bjørn Sæther - leder.xlsx"]
    # Cecilie reads English.
    english = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-3" / "0-invitasjon.eml").read_bytes())
    assert "conversation" in english.text.lower()
    master = ws.load()
    assert master.conversations["2027-2"].invited == NOW.date()
    assert master.conversations["2027-3"].invited == NOW.date()


def test_a_second_run_sends_nothing(ws: Workspace) -> None:
    run_invite(ws)
    before = outbox_files(ws)
    again = run_invite(ws)
    assert again.plan.empty and again.report is None
    assert again.plan.unchanged == 2
    assert outbox_files(ws) == before


def test_moving_a_conversation_sends_an_update_of_the_same_meeting(ws: Workspace) -> None:
    run_invite(ws)
    moved = ChangeSet("move")
    moved.upsert("Samtaler", "2027-2", force=True, start=START + timedelta(days=2),
                 end=START + timedelta(days=2, minutes=60))
    ws.commit(moved)
    result = run_invite(ws)
    assert result.report is not None
    assert [item.kind for item, _ in result.report.delivered] == ["update"]
    update = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-2" / "1-invitasjon.eml").read_bytes())
    event = check_request(update.calendar).walk("VEVENT")[0]
    assert str(event["UID"]) == "samtale-2027-2@firma.example" and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == START + timedelta(days=2)


def test_cancelling_sends_a_cancel_to_everyone_with_a_higher_sequence(ws: Workspace) -> None:
    run_invite(ws)
    cancel = ChangeSet("cancel")
    cancel.upsert("Samtaler", "2027-3", force=True, cancelled="Ja", cancel_reason="Sykdom")
    ws.commit(cancel)
    result = run_invite(ws)
    assert result.report is not None
    assert [item.kind for item, _ in result.report.delivered] == ["cancellation"]
    message = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-3" / "1-avlysning.eml").read_bytes())
    event = check_cancel(message.calendar).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CANCELLED"
    assert not message.attachments
    assert run_invite(ws).plan.empty  # cancelled once, not again


def test_aktiv_nei_after_the_invitation_cancels_the_meeting_with_a_reason(ws: Workspace) -> None:
    """Verify an invited employee set Aktiv = Nei gets a CANCEL (shown in the plan with its reason first), and
    the row is marked Avlyst with that reason; another run sends nothing more."""
    from samtale_automation.faces.present_send import invite_lines

    run_invite(ws)
    gone = ChangeSet("gone")
    gone.upsert("Ansatte", "3", force=True, active="Nei")
    ws.commit(gone)
    shown: list[str] = []

    def confirm(plan: object, _backend: object) -> bool:
        shown.extend(invite_lines(plan))  # type: ignore[arg-type]
        return True

    result = run_invite(ws, confirm=confirm)
    assert result.report is not None
    assert [item.kind for item, _ in result.report.delivered] == ["cancellation"]
    assert len(shown) == 1 and shown[0].startswith("  avlysning") and "2027-3" in shown[0]
    assert shown[0].endswith("er avlyst fordi Cecilie Berg ikke lenger er aktiv.")
    cancel = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-3" / "1-avlysning.eml").read_bytes())
    check_cancel(cancel.calendar)
    assert "ikke lenger er aktiv" in cancel.text
    row = ws.load().conversations["2027-3"]
    assert row.cancelled and "ikke lenger er aktiv" in row.cancel_reason
    assert run_invite(ws).report is None


def test_changing_the_manager_removes_the_old_one_and_updates_the_rest(ws: Workspace) -> None:
    run_invite(ws)
    change = ChangeSet("new manager")
    change.upsert("Ansatte", "4", name="Dag Dahl", email="dag@firma.example", active="Ja")
    change.upsert("Samtaler", "2027-3", force=True, manager_id="4")
    ws.commit(change)
    result = run_invite(ws)
    assert result.report is not None
    kinds = {item.kind: emails for item, emails in result.report.delivered}
    assert kinds["removal"] == ("ase@firma.example",)
    assert set(kinds["update"]) == {"cecilie@firma.example", "dag@firma.example"}
    removal = parse_eml((ws.folder.root / "utboks" / "2027-01-04" / "2027-3" / "1-avlysning.eml").read_bytes())
    check_cancel(removal.calendar, whole=False)


def test_bad_rows_are_reported_with_their_cell_and_the_rest_goes_on(ws: Workspace) -> None:
    bad = ChangeSet("bad")
    bad.upsert("Ansatte", "3", force=True, email="")
    bad.upsert("Ansatte", "5", name="Eva Ny", email="eva@firma.example", manager_id="1", active="Ja")
    bad.upsert("Samtaler", "2027-5", employee_id="5", manager_id="1")
    ws.commit(bad)
    result = run_invite(ws)
    wheres = {p.where: p.message for p in result.plan.problems}
    assert any(w.startswith("Ansatte!C") for w in wheres), wheres  # Cecilie's empty E-post cell
    assert any(w.startswith("Samtaler!F") and "2027-5" in m for w, m in wheres.items()), wheres  # no Start
    assert result.report is not None
    assert {item.meeting.key for item, _ in result.report.delivered if item.meeting} == {"2027-2"}
    assert not result.plan.meetings  # once sent, the report holds them (the write-back reuses their memory)


def test_without_a_mailbox_nothing_is_planned_and_the_message_says_what_to_set(tmp_path: Path,
                                                                                  nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f", mailbox="")
    with pytest.raises(ConfigError) as caught:
        run_invite(ws)
    named = " ".join(caught.value.problems)
    assert "mail.mailbox" in named and "Sett [mail] mailbox i samtale.toml" in named


def test_a_mailbox_written_with_a_name_sends_from_its_address(tmp_path: Path) -> None:
    ws = make_folder(tmp_path / "f", mailbox="Fjordlys HR <hr@firma.example>")
    process = samtale("--dir", str(ws.folder.root), "--today", f"{NOW:%Y-%m-%d}", "invite", "--yes",
                      env={"SAMTALE_LANG": "nb"})
    assert process.returncode == 0, process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    day = ws.folder.root / "utboks" / "2027-01-04"
    invitation = parse_eml((day / "2027-2" / "0-invitasjon.eml").read_bytes())
    sender = invitation.message["From"].addresses[0]
    assert (sender.addr_spec, sender.display_name) == ("hr@firma.example", "Fjordlys HR")
    organizer = check_request(invitation.calendar).walk("VEVENT")[0]["ORGANIZER"]
    assert str(organizer) == "mailto:hr@firma.example" and organizer.params["CN"] == "Fjordlys HR"
    manager_mail = BytesParser(policy=policy.default).parsebytes((day / "lederskjema" / "2027-2 Åse Kjærstad.eml")
                                                                  .read_bytes())
    assert manager_mail["From"].addresses[0].addr_spec == "hr@firma.example"
    assert ws.load().conversations["2027-2"].invited == NOW.date()


def test_dry_run_writes_nothing(ws: Workspace) -> None:
    result = run_invite(ws, dry_run=True)
    assert len(result.plan.meetings) == 2 and len(result.plan.mails) == 2
    assert sorted(result.plan.needs_prep) == ["2", "3"]
    assert not (ws.folder.root / "utboks").exists() or not outbox_files(ws)
    assert not list((ws.folder.root / "forberedelse").rglob("*.xlsx"))


def test_declined_confirmation_sends_nothing(ws: Workspace) -> None:
    result = run_invite(ws, confirm=lambda _plan, _backend: False)
    assert not result.confirmed and result.report is None
    assert not outbox_files(ws)
    with Journal(ws.folder.journal) as journal:
        assert MessageStore(journal).messages() == []


def test_follow_up_meeting_for_an_action_with_oppfolging(ws: Workspace) -> None:
    run_invite(ws)
    action = ChangeSet("action")
    action.upsert("Tiltak", "2027-2-T1", conversation_id="2027-2", employee_id="2", description="Kurs i Excel",
                  owner="Bjørn", follow_up=datetime(2027, 3, 6).date())  # a Saturday
    ws.commit(action)
    result = run_invite(ws)
    assert result.report is not None
    assert [item.kind for item, _ in result.report.delivered] == ["follow_up"]
    path = ws.folder.root / "utboks" / "2027-01-04" / "oppfolging-2027-2-T1" / "0-invitasjon.eml"
    event = check_request(parse_eml(path.read_bytes()).calendar).walk("VEVENT")[0]
    assert event.decoded("DTSTART").date() == datetime(2027, 3, 5).date()  # the working day before
    assert {str(a).removeprefix("mailto:") for a in event.get("ATTENDEE")} == {"bjorn@firma.example",
                                                                                "ase@firma.example"}
    done = ChangeSet("done")
    done.upsert("Tiltak", "2027-2-T1", force=True, status="Avbrutt")
    ws.commit(done)
    cancelled = run_invite(ws)
    assert cancelled.report is not None
    assert [item.kind for item, _ in cancelled.report.delivered] == ["follow_up_cancellation"]


def test_a_start_that_is_not_a_date_is_reported_with_its_cell(ws: Workspace) -> None:
    import openpyxl

    master = ws.folder.master()
    workbook = openpyxl.load_workbook(master)
    sheet = workbook["Samtaler"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "2027-3")
    sheet.cell(row, 4).value = "neste torsdag"
    workbook.save(master)
    result = run_invite(ws, dry_run=True)
    assert any(p.where == f"Samtaler!D{row}" for p in result.plan.problems), [p.render() for p in result.plan.problems]
    assert {m.state.key for m in result.plan.meetings} == {"2027-2"}


def test_a_run_that_makes_the_prep_files_first_writes_the_workbook_once(ws: Workspace) -> None:
    """Verify invite, making the missing prep files first, saves the workbook once with both Logg rows."""
    backups = ws.folder.backups

    def saved() -> int:
        return len(list(backups.glob("samtaler.*.xlsx"))) if backups.exists() else 0

    before = saved()
    result = run_invite(ws)
    assert result.prepared and result.apply is not None and not result.apply.blocked
    assert saved() == before + 1
    raw = ws.load().raw
    assert raw is not None
    events = [row.values.get("event") for row in raw.tables["Logg"].rows]
    assert events[-2:] == ["Forberedelsesskjema laget", "Invitasjoner"]
    with Journal(ws.folder.journal) as journal:
        assert journal.pending() == []


def test_the_summary_after_sending_counts_what_was_sent(ws: Workspace, nb_messages: None) -> None:
    """Verify the words after a run that sent name the messages put in the outbox, not «nothing to send», though
    the sent plan keeps no messages (the one workbook write reuses their memory)."""
    from samtale_automation.faces.present import present

    result = run_invite(ws)
    assert result.report is not None and len(result.report.delivered) == 4 and result.plan.empty
    shown = present(result)
    assert shown.exit_code == 0
    assert any("4 meldinger lagt i utboks" in line for line in shown.lines), shown.lines
    assert not any("Ingenting å sende" in line for line in shown.lines), shown.lines
