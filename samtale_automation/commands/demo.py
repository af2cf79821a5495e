"""`samtale demo`: a made-up company run through every step that exists, without any server.

An orchestrator: it runs the other commands (their `run_*` functions) on a folder it makes, and
reports each step through `say` as it happens.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.plan import run_plan
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.results import CollectResult, DemoResult
from samtale_automation.commands.status import report_of
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.messages import place_parts
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import (
    CONVERSATIONS,
    EMPLOYEES,
    ROOMS,
    SETTING_BY_FIELD,
    SETTINGS,
    STATUS_LABELS,
)
from samtale_automation.paths import data_dir
from samtale_automation.plans.check import check_master
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.texts import count, short_date, tr

DEMO_ROUND = "2027"
DEMO_PERIOD = (date(2027, 1, 11), date(2027, 2, 26))
REMINDER_DAY = date(2027, 1, 18)  # a Monday with prep deadlines and minutes due in the planned round
#: The private notes the demo's employee and manager write; no file the demo sends may hold them.
DEMO_NOTES = ("Privat notat fra Bjørn: vurderer å søke annen stilling.", "Privat notat fra Åse: følg med på trivselen.")


def demo_company() -> dict[str, Any]:
    """The shipped made-up company (workbooks/demo.toml)."""
    with (data_dir("workbooks") / "demo.toml").open("rb") as handle:
        return tomllib.load(handle)


def run_demo(target: Path, say: Callable[[str], None] = lambda _: None, macros: bool = False) -> DemoResult:
    """Build the demo folder at `target` and run every step; `say` reports each step (`macros`: the .xlsm)."""
    result = DemoResult(target.resolve())

    def step(text: str) -> None:
        result.steps.append(text)
        say(text)

    company = demo_company()
    init_folder(target, command="demo", macros=macros)
    book_name = result.workbook = "samtaler.xlsm" if macros else "samtaler.xlsx"
    step(tr(f"Laget mappen {result.folder} med {book_name}, samtale.toml og nøkkel.",
            f"Made the folder {result.folder} with {book_name}, samtale.toml and key."))
    workspace = Workspace.open(target, datetime.combine(date(2026, 12, 1), time(9), OSLO))
    staff = ChangeSet(tr("Demo: ansatte fra HR", "Demo: staff from HR"))
    staff.upsert(SETTINGS.table, SETTING_BY_FIELD["company"].key, force=True, value=company["firma"])
    for person in company["ansatt"]:
        staff.upsert(EMPLOYEES.table, person["id"], name=person["navn"], email=person["epost"],
                     department=person["avdeling"], title=person["stilling"],
                     manager_id=person["leder"], active=person["aktiv"], language=person["sprak"])
    workspace.commit(staff)
    step(tr(f"Fylte inn {len(company['ansatt'])} ansatte i {company['firma']} (arket Ansatte).",
            f"Filled in {len(company['ansatt'])} employees of {company['firma']} (sheet Ansatte)."))

    plan = plan_new_round(workspace.load(), DEMO_ROUND, *DEMO_PERIOD, workspace.now, "demo")
    workspace.commit(plan.changeset)
    skipped = ", ".join(f"{e.name} ({why})" for e, why in plan.skipped)
    added = count(len(plan.added), "samtale", "samtaler", "conversation", "conversations")
    step(tr(f"samtale round new {DEMO_ROUND}: {added} lagt til; hoppet over: {skipped}.",
            f"samtale round new {DEMO_ROUND}: {added} added; skipped: {skipped}."))

    rooms = ChangeSet(tr("Demo: møterom fra HR", "Demo: meeting rooms from HR"))
    for room in company["rom"]:
        name, bookable = place_parts(room)  # «Møterom Fjorden <rom-fjorden@…>»: a room with its own calendar
        rooms.upsert(ROOMS.table, name, email=bookable[0].email if bookable else "", active="Ja")
    workspace.commit(rooms)
    planned = run_plan(workspace, who="demo")
    busiest = max((m for m in planned.managers), key=lambda m: m.placed, default=None)
    shown = (tr(f" {busiest.name} har {count(busiest.placed, 'samtale', 'samtaler', '', '')}, "
                f"{short_date(busiest.first_day, 'nb')}–{short_date(busiest.last_day, 'nb')}.",
                f" {busiest.name} has {count(busiest.placed, '', '', 'conversation', 'conversations')}, "
                f"{short_date(busiest.first_day, 'en')}–"
                f"{short_date(busiest.last_day, 'en')}.")
             if busiest and busiest.first_day and busiest.last_day else "")
    placed = count(len(planned.plan.placed), "samtale", "samtaler", "conversation", "conversations")
    step(tr(f"samtale plan: {placed} fikk tid og rom (arket Rom har "
            f"{len(company['rom'])} rom), spredt over perioden med pause mellom samtalene.{shown}",
            f"samtale plan: {placed} got a time and a room (the Rom sheet has "
            f"{len(company['rom'])} rooms), spread over the period with a break between them.{shown}"))

    prepared = run_prep(workspace, who="demo")
    step(tr(f"samtale prep: {len(prepared.plan.files)} forberedelsesskjema i forberedelse/{DEMO_ROUND}/ "
            "(ett for den ansatte og ett for lederen per samtale).",
            f"samtale prep: {len(prepared.plan.files)} prep files in forberedelse/{DEMO_ROUND}/ "
            "(one for the employee and one for the manager per conversation)."))

    _demo_invite(workspace, company, step)
    _demo_doctor(workspace, step)

    names = _fill_returned(workspace, [e.employee_id for e in plan.added])
    step(tr(f"Noen har levert: {len(names)} utfylte filer lagt i innkommende/ ({', '.join(names)}).",
            f"Some have returned: {len(names)} filled-in files put in innkommende/ ({', '.join(names)})."))

    collected = run_collect(workspace, who="demo")
    outcome = "; ".join(f"{d.arrival.name}: {d.reason.rstrip('.')}" for d in collected.plan.decisions)
    step(tr(f"samtale collect: {outcome}. {len(collected.guides)} samtaleguider laget for lederne; filene er "
            "flyttet til arkiv/ og karantene/.",
            f"samtale collect: {outcome}. {len(collected.guides)} conversation guides made for the managers; "
            "the files were moved to arkiv/ and karantene/."))

    _demo_changes(workspace, [e.employee_id for e in plan.added], step)
    _demo_minutes(workspace, plan.added[0].employee_id, step)
    _demo_reminders(workspace, step)
    last_day = _demo_signing(workspace, plan.added[0].employee_id, step)

    master = workspace.load()
    step(tr(f"Tiltaksregisteret (arket Tiltak) har nå {len(master.actions)} tiltak fra referatet.",
            f"The action register (sheet Tiltak) now holds {len(master.actions)} actions from the minutes."))
    problems = check_master(master)
    step(f"samtale check: {count(len(problems), 'problem', 'problemer', 'problem', 'problems')}."
         + "".join(f"\n    {p.render()}" for p in problems))
    result.status = report_of(master, workspace.pending(), workspace.now)
    counts = ", ".join(f"{tr(STATUS_LABELS[code], code)}: {n}" for code, n in result.status["counts"].items() if n)
    step(tr(f"samtale status: {counts}.", f"samtale status: {counts}."))
    _demo_nightly(workspace, step, last_day + timedelta(days=1))
    return result


def _demo_nightly(workspace: Workspace, step: Callable[[str], None], day: date) -> None:
    """The scheduled run in the night to `day` (after the demo's last day), then the round report for management."""
    from samtale_automation.commands.nightly import run_nightly
    from samtale_automation.commands.report import run_report
    from samtale_automation.commands.results_night import said

    tonight = Workspace.open(workspace.folder.root, datetime.combine(day, time(2, 30), OSLO))
    ran = run_nightly(tonight, who="demo")
    steps = ", ".join(said(s) for s in ran.steps)
    step(tr(f"samtale nightly natt til {day:%d.%m.%Y} (det IT setter opp med «samtale nightly install»): {steps}; "
            "én lagring av arbeidsboken, og ingen får samme påminnelse to ganger. Loggen står i "
            ".samtale/logs/samtale.log.",
            f"samtale nightly in the night to {day.isoformat()} (what IT schedules with «samtale nightly install»): "
            f"{steps}; one save of the workbook, and nobody gets the same reminder twice. The log is "
            ".samtale/logs/samtale.log."))
    report = run_report(tonight)
    total = report.report.total
    step(tr(f"samtale report: {report.path.name} – én HTML-fil for ledelsen med tall per avdeling og leder "
            f"({total.people} samtaler, {total.completion} % fullført), uten navn på medarbeiderne.",
            f"samtale report: {report.path.name} – one HTML file for management with numbers per department and "
            f"manager ({total.people} conversations, {total.completion} % completed), without employees' names."))


def _demo_invite(workspace: Workspace, company: dict[str, Any], step: Callable[[str], None]) -> None:
    """The round's invitations, written to utboks/ by the outbox backend."""
    from samtale_automation.commands.invite import run_invite

    config = workspace.folder.config
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', f'mailbox = "{company["postkasse"]}"'),
                      encoding="utf-8")
    sent = run_invite(workspace, who="demo")
    assert sent.report is not None
    messages = count(len(sent.report.delivered), "melding", "meldinger", "message", "messages")
    step(tr(f"samtale invite (backend outbox): {messages} lagt i utboks/ – en "
            "kalenderinvitasjon per samtale til ansatt og leder med forberedelsesskjemaet vedlagt, og lederens "
            "eget skjema i egen e-post. Hver .ics kan åpnes i Outlook.",
            f"samtale invite (backend outbox): {messages} put in utboks/ – one calendar "
            "invitation per conversation to employee and manager with the prep file attached, and the manager's "
            "own file by separate mail. Each .ics opens in Outlook."))


def _demo_doctor(workspace: Workspace, step: Callable[[str], None]) -> None:
    """The backend check a person runs after setting up mail (here the outbox: no server)."""
    from samtale_automation.commands.doctor import run_doctor

    report = run_doctor(workspace)
    assert report.failure is None, report.failure
    found = "; ".join(detail.rstrip(".") for check in report.checks for detail in check.details)
    step(tr(f"samtale doctor: {len(report.checks)} sjekker i orden ({found}). Med backend graph (Microsoft 365), "
            "ews (Exchange) eller smtp sjekker den innlogging, postkasse, ledig/opptatt og svar-mappen, og "
            "`collect --from-mailbox` henter svarfilene fra postkassen.",
            f"samtale doctor: {len(report.checks)} checks in order ({found}). With the graph (Microsoft 365), ews "
            "(Exchange) or smtp backend it checks login, mailbox, free/busy and the reply folder, and "
            "`collect --from-mailbox` fetches the returned files from the mailbox."))


def _demo_changes(workspace: Workspace, employee_ids: list[str], step: Callable[[str], None]) -> None:
    """HR moves a conversation and cancels one; invite again sends only what changed."""
    from samtale_automation.commands.invite import kind_label, run_invite

    moved, cancelled = f"{DEMO_ROUND}-{employee_ids[4]}", f"{DEMO_ROUND}-{employee_ids[5]}"
    master = workspace.load()
    start = master.conversations[moved].start
    assert start is not None
    changes = ChangeSet(tr("Demo: HR flytter én samtale og avlyser én", "Demo: HR moves one conversation and "
                                                                          "cancels one"))
    # The next day, in its free afternoon slot: at the same time of day its room is taken then.
    new_start = start + timedelta(days=1, hours=3)
    changes.upsert(CONVERSATIONS.table, moved, force=True, start=new_start, end=new_start + timedelta(minutes=75))
    changes.upsert(CONVERSATIONS.table, cancelled, force=True, cancelled="Ja",
                   cancel_reason=tr("Foreldrepermisjon", "Parental leave"))
    workspace.commit(changes)
    again = run_invite(workspace, who="demo")
    assert again.report is not None
    kinds = ", ".join(sorted({kind_label(item.kind) for item, _ in again.report.delivered}))
    messages = count(len(again.report.delivered), "melding", "meldinger", "message", "messages")
    step(tr(f"HR flyttet {moved} og avlyste {cancelled}; samtale invite igjen: {messages} ({kinds}) – samme møte "
            "med høyere SEQUENCE, de andre sendes ikke på nytt.",
            f"HR moved {moved} and cancelled {cancelled}; samtale invite again: {messages} ({kinds}) – the same "
            "meeting with a higher SEQUENCE, the others are not sent again."))


def _demo_minutes(workspace: Workspace, employee_id: str, step: Callable[[str], None]) -> None:
    """After the first conversation the employee writes the minutes in their own file, signs and returns it; collect
    puts its actions in Tiltak, and invite books the follow-up meeting one of them asks for."""
    from samtale_automation.commands.invite import run_invite

    day = _minutes_day(workspace, f"{DEMO_ROUND}-{employee_id}")
    minutes, evening, collected = _return_minutes(
        workspace, f"{employee_id} * - forberedelse.xlsx", f"{employee_id} referat signert.xlsx", day,
        summaries={0: "Et godt år med mye ansvar.", 2: "Ønsker kurs i rådgivning."},
        actions=[("Kurs i rådgivningssamtaler", "Tryggere i kundemøter", "Åse", date(2027, 4, 30), date(2027, 3, 1)),
                 ("Fast ukesmøte med leder", "Bedre oppfølging", "Åse", date(2027, 2, 15))],
        private=DEMO_NOTES[0], signed=("Bjørn Sæther", day, "", None))
    outcome = "; ".join(d.reason.rstrip(".") for d in collected.plan.decisions)
    booked = run_invite(evening, who="demo")
    assert booked.report is not None
    meetings = ", ".join(item.meeting.key for item, _ in booked.report.delivered if item.meeting)
    step(tr(f"Etter samtalen {day:%d.%m.%Y} skrev medarbeideren referatet i sitt eget skjema og signerte "
            f"({minutes.name}); samtale collect: {outcome}. Ett tiltak har oppfølgingsdato, så samtale invite sender "
            f"et oppfølgingsmøte ({meetings}).",
            f"After the conversation on {day.isoformat()} the employee wrote the minutes in their own file and signed "
            f"({minutes.name}); samtale collect: {outcome}. One action has a follow-up date, so samtale invite sends "
            f"a follow-up meeting ({meetings})."))


def _demo_reminders(workspace: Workspace, step: Callable[[str], None]) -> None:
    """A day of reminders: one digest per person, and what needs a person to HR."""
    from samtale_automation.commands.remind import run_remind

    later = Workspace.open(workspace.folder.root, datetime.combine(REMINDER_DAY, time(6, 30), OSLO))
    reminded = run_remind(later, who="demo")
    assert reminded.report is not None
    items = sum(len(d.items) for d in reminded.digests)
    people = count(len(reminded.digests), "person", "personer", "person", "people")
    hr = reminded.hr
    told = count(len(hr.items), "sak", "saker", "item", "items") if hr else ""
    step(tr(f"samtale remind den {REMINDER_DAY:%d.%m.%Y}: {people} får ett sammendrag hver med til sammen "
            f"{count(items, 'påminnelse', 'påminnelser', '', '')} (utboks/{REMINDER_DAY.isoformat()}/påminnelser/)"
            + (f", og HR får det som trenger en person: {told} (utboks/{REMINDER_DAY.isoformat()}/til HR/)."
               if hr else "."),
            f"samtale remind on {REMINDER_DAY.isoformat()}: {people} get one digest each with "
            f"{count(items, '', '', 'reminder', 'reminders')} in all (utboks/{REMINDER_DAY.isoformat()}/påminnelser/)"
            + (f", and HR gets what needs a person: {told} (utboks/{REMINDER_DAY.isoformat()}/til HR/)."
               if hr else ".")))


def _demo_signing(workspace: Workspace, employee_id: str, step: Callable[[str], None]) -> date:
    """One conversation through the signing loop: the manager finalises with a change, the employee countersigns
    the final version, and the signed minutes become a PDF that goes to both."""
    from samtale_automation.commands.remind import run_remind

    root = workspace.folder.root
    cid = f"{DEMO_ROUND}-{employee_id}"
    # The days after the conversation: the manager finalises, the employee countersigns, the PDF goes out.
    finalised = _next_weekday(max(_minutes_day(workspace, cid), REMINDER_DAY))  # after the demo's reminder day
    countersigned = _next_weekday(finalised)
    final_mail = _next_weekday(countersigned)

    _, later, _ = _return_minutes(workspace, f"{employee_id} * - referat til leder.xlsx",
                                     f"{employee_id} referat fra leder.xlsx", finalised,
                                     summaries={3: "Trives godt, men ønsker mer variasjon i oppgavene."},
                                     private=DEMO_NOTES[1], signed=("", None, "Åse Kjærstad", finalised))
    conv = later.load().conversations[cid]
    final = next((root / "forberedelse" / DEMO_ROUND).rglob(f"{employee_id} * - referat til signering.xlsx"))
    step(tr(f"Lederen fikk en ny kopi av referatet (uten medarbeiderens private notat), la til et sammendrag og "
            f"signerte: versjonen er en annen enn den medarbeideren signerte, så status er fortsatt "
            f"«{STATUS_LABELS[conv.status(workspace.now)]}» og medarbeideren får den endelige versjonen "
            f"({final.name}) til kontrasignering.",
            f"The manager got a fresh copy of the minutes (without the employee's private note), added a summary "
            f"and signed: the version differs from the one the employee signed, so the status is still "
            f"«{STATUS_LABELS[conv.status(workspace.now)]}» and the employee gets the final version to countersign."))
    day = countersigned
    reminded = run_remind(Workspace.open(root, datetime.combine(day, time(6, 30), OSLO)), who="demo")
    asked = [item for digest in reminded.digests for item in digest.items if item.kind == "countersign"]
    step(tr(f"samtale remind den {day:%d.%m.%Y}: {len(asked)} påminnelse om å kontrasignere, med den nye kopien "
            f"vedlagt (utboks/{day.isoformat()}/påminnelser/).",
            f"samtale remind on {day.isoformat()}: {len(asked)} reminder to countersign, with the fresh copy "
            f"attached (utboks/{day.isoformat()}/påminnelser/)."))
    _, later, _ = _return_minutes(workspace, f"{employee_id} * - referat til signering.xlsx",
                                  f"{employee_id} referat kontrasignert.xlsx", day,
                                  signed=("Bjørn Sæther", countersigned, "", None))
    conv = later.load().conversations[cid]
    pdf = next((root / "arkiv" / DEMO_ROUND / employee_id).glob("*.pdf"))
    run_remind(Workspace.open(root, datetime.combine(final_mail, time(6, 30), OSLO)), who="demo")
    step(tr(f"Medarbeideren kontrasignerte: {cid} er «{STATUS_LABELS[conv.status(later.now)]}» (begge på versjon "
            f"{conv.signed_manager_version[:8]}). Referatet ligger som PDF for personalmappen i "
            f"{pdf.relative_to(root)}, og den gikk til begge i sammendraget {final_mail:%d.%m.%Y}.",
            f"The employee countersigned: {cid} is «{STATUS_LABELS[conv.status(later.now)]}» (both on version "
            f"{conv.signed_manager_version[:8]}). The minutes are kept as a PDF for the personnel file in "
            f"{pdf.relative_to(root)}, sent to both in the digest of {final_mail.isoformat()}."))
    return final_mail


def _return_minutes(workspace: Workspace, form: str, name: str, day: date,
                    **filled: Any) -> tuple[Path, Workspace, CollectResult]:
    """A person fills in the minutes in the form matching `form` under forberedelse/ (fill_minutes' `filled`),
    saves it in the afternoon of `day` as `name` in innkommende/, and collect runs that evening: the file
    returned, the evening's workspace and what collect did."""
    import openpyxl

    from samtale_automation.paths import INCOMING_DIR
    from samtale_automation.prepfile.fill import fill_minutes, saved_at

    root = workspace.folder.root
    workbook = openpyxl.load_workbook(next((root / "forberedelse" / DEMO_ROUND).rglob(form)))
    fill_minutes(workbook, **filled)
    returned = root / INCOMING_DIR / name
    workbook.save(returned)
    saved_at(returned, datetime.combine(day, time(15), OSLO))
    evening = Workspace.open(root, datetime.combine(day, time(18), OSLO))
    return returned, evening, run_collect(evening, who="demo")


def _minutes_day(workspace: Workspace, conversation_id: str) -> date:
    """The day the employee writes and signs the minutes: the conversation's day (its planned start)."""
    conv = workspace.load().conversations[conversation_id]
    return conv.start.astimezone(OSLO).date() if conv.start else DEMO_PERIOD[0]


def _next_weekday(day: date) -> date:
    """The next Monday–Friday after `day`."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _fill_returned(workspace: Workspace, employee_ids: list[str]) -> list[str]:
    """Fill a few prep files as people would and drop them in innkommende/, plus one wrong file."""
    from samtale_automation.paths import INCOMING_DIR
    from samtale_automation.prepfile.fill import fill_employee, saved_at

    incoming = workspace.folder.root / INCOMING_DIR
    prep_root = workspace.folder.root / "forberedelse" / DEMO_ROUND
    names = []
    notes = {"S02": "Jeg er mest fornøyd med årsoppgjøret.", "S25": "Jeg trives, men vil ha mer variasjon."}
    for employee_id in employee_ids[:3]:
        source = next(prep_root.rglob(f"{employee_id} * - forberedelse.xlsx"))
        target = incoming / source.name
        fill_employee(source, target, chosen=["S01", "S02", "S09", "S17", "S25", "S33", "S41"], notes=notes,
                      other="Hjemmekontor på fredager", feedback="Gi gjerne flere tilbakemeldinger underveis.")
        saved_at(target, workspace.now)
        names.append(target.name)
    wrong = incoming / "ansattliste.xlsx"
    wrong.write_text("AnsattID;Navn\n1001;Åse Kjærstad\n", encoding="utf-8")
    os.utime(wrong, (workspace.now.timestamp(), workspace.now.timestamp()))
    names.append(wrong.name)
    return names
