"""GDPR planning: who a person is, which files are theirs, which are only listed, and their rows anonymised."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee, Settings
from samtale_automation.errors import UsageError
from samtale_automation.plans.gdpr import (
    ERASED,
    erase_changeset,
    mentions,
    person_ref,
    plan_erase,
    scrub_text,
)


def company() -> Master:
    staff = {"1": Employee("1", "Åse Kjærstad", "ase@firma.example"),
             "2": Employee("2", "Bjørn Sæther", "bjorn@firma.example", manager_id="1")}
    convs = {"2027-2": Conversation("2027-2", "2", "1"), "2026-2": Conversation("2026-2", "2", "1")}
    actions = {"2027-2-1": Action("2027-2-1", "2027-2", "2", "Kurs", deadline=date(2027, 5, 1))}
    return Master(Settings(round="2027"), staff, convs, actions=actions)


def test_the_person_with_their_conversations_and_actions() -> None:
    person = person_ref(company(), "2")
    assert person.conversation_ids == ("2026-2", "2027-2") and person.action_ids == ("2027-2-1",)
    assert person.terms == ("bjorn@firma.example", "Bjørn Sæther")
    assert mentions("Referat fra BJØRN SÆTHER", person) and not mentions("Åse", person)
    with pytest.raises(UsageError, match="AnsattID «9»"):
        person_ref(company(), "9")


def test_own_files_go_others_originals_are_listed_and_log_lines_scrubbed() -> None:
    person = person_ref(company(), "2")
    files = [
        ("forberedelse/2027/Salg/2 Bjørn Sæther - forberedelse.xlsx", True),
        ("forberedelse/2027/Salg/2 Bjørn Sæther - samtaleguide.xlsx", True),
        ("arkiv/2027/2/20270110-101010 skjema.xlsx", False),  # theirs by folder, whatever it says
        ("arkiv/2027/3/20270110-101010 referat.xlsx", True),  # Cecilie's minutes naming Bjørn
        ("arkiv/2027/3/20270110-101011 annet.xlsx", False),
        ("karantene/20270110 ukjent.xlsx", True),
        ("utboks/2027-01-04/2027-2/0-REQUEST.eml", True),
        ("utboks/2027-01-04/manifest.jsonl", True),
        (".samtale/logs/samtale.log", True),
        (".samtale/backups/samtaler.1.xlsx", True),
        ("samtaler.xlsx", True),
        ("maler/nb/digest.txt", False),
    ]
    plan = plan_erase(files, person, ["samtaler.xlsx"])
    assert plan.remove == [".samtale/backups/samtaler.1.xlsx", "arkiv/2027/2/20270110-101010 skjema.xlsx",
                           "forberedelse/2027/Salg/2 Bjørn Sæther - forberedelse.xlsx",
                           "forberedelse/2027/Salg/2 Bjørn Sæther - samtaleguide.xlsx",
                           "karantene/20270110 ukjent.xlsx", "utboks/2027-01-04/2027-2/0-REQUEST.eml"]
    assert plan.listed == ["arkiv/2027/3/20270110-101010 referat.xlsx"]
    assert plan.scrub_lines == [".samtale/logs/samtale.log", "utboks/2027-01-04/manifest.jsonl"]


def test_an_id_prefix_is_not_another_persons_file() -> None:
    person = person_ref(company(), "2")
    plan = plan_erase([("forberedelse/2027/Salg/21 Randi - forberedelse.xlsx", False)], person)
    assert plan.remove == []


def test_their_rows_are_anonymised_and_the_erasure_logged_by_id_only() -> None:
    person = person_ref(company(), "2")
    changes = erase_changeset(person, datetime(2027, 3, 1, 9, tzinfo=OSLO), "hr")
    by_key = {(c.table, c.key): c.values for c in changes.changes}
    assert by_key[("Ansatte", "2")]["name"] == ERASED and by_key[("Ansatte", "2")]["email"] == ""
    assert by_key[("Samtaler", "2027-2")]["employee_name"] == ERASED
    assert by_key[("Tiltak", "2027-2-1")]["description"] == ERASED
    assert "Bjørn" not in changes.to_json() and "bjorn@" not in changes.to_json()


def test_scrub_replaces_every_mention_case_blind() -> None:
    person = person_ref(company(), "2")
    assert scrub_text("Fra bjørn sæther <BJORN@firma.example>", person) == f"Fra {ERASED} <{ERASED}>"
