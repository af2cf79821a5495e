"""HR's daily digest (plans/hr_digest.py): what needs a person today, each thing told once, nothing when nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Conversation, Employee, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook
from samtale_automation.domain.schema import CONVERSATIONS, LOG, Sheet
from samtale_automation.plans.hr_digest import HrInput, alarm_digest, plan_hr_digest, sections

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 2, 15, 6, 30, tzinfo=OSLO)  # a Monday
HELD = datetime(2027, 2, 1, 9, 0, tzinfo=OSLO)


def _raw(tables: dict[Sheet, list[dict[str, Any]]]) -> RawWorkbook:
    found = {}
    for sheet, rows in tables.items():
        columns = {c.field: i for i, c in enumerate(sheet.columns)}
        found[sheet.table] = RawTable(sheet, sheet.name, columns, 1,
                                      [RawRow(n, values) for n, values in enumerate(rows, start=2)])
    return RawWorkbook(Path("master.xlsx"), found, [], [s.name for s in tables])


def _master(convs: list[Conversation], log: list[dict[str, Any]] | None = None) -> Master:
    employees = {e.employee_id: e for e in (Employee("1", "Sjef", "sjef@firma.no"),
                                            Employee("1001", "Kari Nordmann", "kari@firma.no", manager_id="1"),
                                            Employee("1002", "Ola Hansen", "ola@firma.no", manager_id="1"))}
    raw = _raw({CONVERSATIONS: [{"conversation_id": c.conversation_id} for c in convs], LOG: log or []})
    return Master(settings=Settings(round="2027", minutes_deadline_days=7), employees=employees,
                  conversations={c.conversation_id: c for c in convs}, raw=raw)


def test_nothing_needs_a_person_gives_no_digest() -> None:
    """Verify a round where everything is in order sends HR nothing."""
    signed = Conversation("2027-1001", "1001", "1", start=HELD, end=HELD + timedelta(hours=1),
                          minutes_returned=date(2027, 2, 3), signed_employee=date(2027, 2, 3),
                          signed_manager=date(2027, 2, 4))
    assert plan_hr_digest(_master([signed]), HrInput(NOW)) is None


def test_every_kind_once_in_order_with_what_to_do() -> None:
    """Verify quarantined files, conflicts, refused addresses, long-waiting changes, conversations without a time
    and minutes unsigned past their deadline each become one line, in that order; a key told before is left out."""
    convs = [Conversation("2027-1001", "1001", "1"),
             Conversation("2027-1002", "1002", "1", start=HELD, end=HELD + timedelta(hours=1),
                          minutes_returned=date(2027, 2, 3))]
    log = [{"time": datetime(2027, 2, 12, 18, 0), "event": "Konflikt", "who": "samtale",
            "result": "Tiltak 2027-1001-1 Frist: personen skrev 01.03.2027, filen sier 15.03.2027"}]
    given = HrInput(NOW, frozenset({"hr:quarantined:karantene/old.xlsx"}),
                    quarantined=["karantene/old.xlsx", "karantene/20270212-180000 liste.xlsx"],
                    refused=[("digest:1002:2027-02-12|ola@firma.no", "ola@firma.no", "550 mailbox unavailable")],
                    waiting=[("abc123", "Fil mottatt", "arbeidsboken er åpen hos Kari", NOW - timedelta(days=2)),
                             ("new456", "Ny rad", "arbeidsboken er åpen", NOW - timedelta(hours=3))])
    digest = plan_hr_digest(_master(convs, log), given)
    assert digest is not None and digest.key == "hr_digest:2027-02-15"
    assert [i.kind for i in digest.items] == ["quarantined", "conflict", "refused", "waiting", "no_time", "unsigned"]
    texts = [i.text for i in digest.items]
    assert texts[0].startswith("En fil ble satt i karantene: karantene/20270212-180000 liste.xlsx")
    assert texts[1].startswith("Konflikt: Tiltak 2027-1001-1 Frist") and "personens verdi er beholdt" in texts[1]
    assert texts[2] == ("E-post til ola@firma.no ble ikke levert (550 mailbox unavailable) – rett adressen i "
                        "Ansatte; den prøves igjen ved neste kjøring.")
    assert texts[3].startswith("Endringen «Fil mottatt» har ventet siden 13.02.2027")
    assert texts[4] == ("2027-1001 (Kari Nordmann) har ingen tid (Samtaler!F2) – kjør «samtale plan» eller skriv "
                        "Start og Slutt.")
    assert texts[5] == ("2027-1002 (Ola Hansen): referatet er ikke signert av begge, og fristen var 08.02.2027 – "
                        "ta det opp med lederen.")
    assert [title for title, _ in sections(digest)] == ["Filer i karantene", "Konflikter i arbeidsboken",
                                                        "E-post som ikke ble levert", "Arbeidsboken",
                                                        "Samtaler uten tidspunkt", "Referater etter fristen"]
    told = given.sent | {i.key for i in digest.items}
    assert plan_hr_digest(_master(convs, log), HrInput(NOW, told, given.quarantined, given.refused,
                                                       given.waiting)) is None


def test_changes_waiting_by_the_real_clock_are_one_line_keyed_by_the_oldest() -> None:
    """Verify several changes waiting over a day (by the wall clock, not --today) make one line with the workbook's
    lock as the reason, and changes waiting two hours are no news."""
    real = datetime(2027, 2, 15, 3, 0, tzinfo=OSLO)
    waiting = [("a1", "Fil mottatt", "", real - timedelta(hours=30)), ("a0", "Ny rad", "", real - timedelta(hours=50)),
               ("a2", "Påminnelser", "", real - timedelta(hours=2))]
    given = HrInput(NOW - timedelta(days=30), waiting=waiting, blocked="samtaler.xlsx er åpen hos kari",
                    real_now=real)
    digest = plan_hr_digest(_master([]), given)
    assert digest is not None
    assert [(i.key, i.text) for i in digest.items] == [(
        "hr:waiting:a0", "2 endringer har ventet siden 13.02.2027: samtaler.xlsx er åpen hos kari – lukk "
        "arbeidsboken der den er åpen, eller kjør «samtale apply».")]
    assert plan_hr_digest(_master([]), HrInput(NOW, waiting=waiting[2:], real_now=real)) is None


def test_what_the_night_found_comes_first_and_is_told_once() -> None:
    """Verify a failed step and an overrun lead the digest, then what was set aside, and retention's removals last;
    a step failing again tomorrow is told again (its key holds the day), a removed folder is not."""
    given = HrInput(NOW, failed_steps=[("fetch", "serveren svarer ikke")], alarms=["Kjøringen overskred budsjettet."],
                    set_aside=[("c9", "for lang tekst")], removed=["arkiv/2022"])
    digest = plan_hr_digest(_master([]), given)
    assert digest is not None
    assert [i.kind for i in digest.items] == ["alarm", "alarm", "set_aside", "retention"]
    assert digest.items[1].text.startswith("Steget «fetch» i nattkjøringen feilet: serveren svarer ikke")
    assert digest.items[3].text == "arkiv/2022 er slettet etter lagringstiden."
    told = frozenset(i.key for i in digest.items)
    tomorrow = plan_hr_digest(_master([]), HrInput(NOW + timedelta(days=1), told, failed_steps=given.failed_steps,
                                                   set_aside=given.set_aside, removed=given.removed))
    assert tomorrow is not None and [i.kind for i in tomorrow.items] == ["alarm"]


def test_an_alarm_is_a_digest_of_its_own_once_a_day() -> None:
    """Verify the overrun alarm has its own key per day, apart from the day's digest."""
    alarm = alarm_digest("For lenge", date(2027, 2, 15))
    assert alarm.key == "hr_digest:alarm-2027-02-15" and [i.text for i in alarm.items] == ["For lenge"]
