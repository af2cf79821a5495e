"""The domain model: derived conversation status, the round of a SamtaleID, question scope, round period."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from samtale_automation.domain.model import OSLO, Conversation, Employee, Question, Round, derive_status
from samtale_automation.domain.schema import STATUS_LABELS

NOW = datetime(2027, 1, 25, 12, 0, tzinfo=OSLO)
PAST_START = datetime(2027, 1, 20, 10, 0, tzinfo=OSLO)
FUTURE_START = datetime(2027, 2, 3, 10, 0, tzinfo=OSLO)

# A conversation with every fact set; each step of the precedence removes the fact that won.
EVERYTHING = Conversation(
    "2027-2", "2", "1",
    start=PAST_START, end=PAST_START + timedelta(minutes=75), place="Møterom 1",
    cancelled=True, cancel_reason="Syk",
    invited=date(2027, 1, 4), prep_returned=date(2027, 1, 15), manager_prepared=date(2027, 1, 16),
    minutes_returned=date(2027, 1, 22), signed_employee=date(2027, 1, 23), signed_manager=date(2027, 1, 24),
)


def test_precedence_from_cancelled_down_to_proposed() -> None:
    """Verify cancelled > signed > minutes_returned > held > prepared > invited > planned > proposed."""
    conv = EVERYTHING
    assert derive_status(conv, NOW) == "cancelled"
    conv = replace(conv, cancelled=False)
    assert derive_status(conv, NOW) == "signed"
    conv = replace(conv, signed_manager=None)
    assert derive_status(conv, NOW) == "minutes_returned"
    conv = replace(conv, signed_employee=None)
    assert derive_status(conv, NOW) == "minutes_returned"
    conv = replace(conv, minutes_returned=None)
    assert derive_status(conv, NOW) == "held"
    conv = replace(conv, start=FUTURE_START, end=FUTURE_START + timedelta(minutes=75))
    assert derive_status(conv, NOW) == "prepared"
    conv = replace(conv, prep_returned=None)
    assert derive_status(conv, NOW) == "invited"
    conv = replace(conv, invited=None)
    assert derive_status(conv, NOW) == "planned"
    conv = replace(conv, end=None)
    assert derive_status(conv, NOW) == "proposed"
    conv = replace(conv, start=None)
    assert derive_status(conv, NOW) == "proposed"


def test_every_derived_status_has_a_label() -> None:
    """Verify the statuses the precedence produces are exactly the codes with sheet labels."""
    assert list(STATUS_LABELS) == ["proposed", "planned", "invited", "prepared", "held", "minutes_returned",
                                   "signed", "cancelled"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"signed_employee": date(2027, 1, 23)}, "minutes_returned"),
        ({"signed_manager": date(2027, 1, 24)}, "minutes_returned"),
        ({"signed_employee": date(2027, 1, 23), "signed_manager": date(2027, 1, 24)}, "signed"),
        ({"cancelled": True, "signed_employee": date(2027, 1, 23), "signed_manager": date(2027, 1, 24)},
         "cancelled"),
        ({"cancelled": True}, "cancelled"),
    ],
)
def test_signatures_and_cancellation(changes: dict[str, Any], expected: str) -> None:
    """Verify one signature means the minutes are back, both mean signed, and cancelled beats everything."""
    conv = replace(Conversation("2027-2", "2", "1"), **changes)
    assert derive_status(conv, NOW) == expected


def test_held_once_the_end_time_has_passed() -> None:
    """Verify a conversation counts as held from the moment its end time is reached, not before."""
    end = datetime(2027, 1, 25, 11, 15, tzinfo=OSLO)
    conv = Conversation("2027-2", "2", "1", start=end - timedelta(minutes=75), end=end, invited=date(2027, 1, 4))
    assert derive_status(conv, end - timedelta(minutes=1)) == "invited"
    assert derive_status(conv, end) == "held"
    assert conv.status(end + timedelta(days=1)) == "held"


def test_held_compares_instants_across_time_zones() -> None:
    """Verify 'now' in UTC is compared as the same instant as the Oslo end time."""
    end = datetime(2027, 1, 25, 11, 15, tzinfo=OSLO)  # 10:15 UTC
    conv = Conversation("2027-2", "2", "1", start=end - timedelta(hours=1), end=end)
    assert derive_status(conv, datetime.fromisoformat("2027-01-25T10:14:00+00:00")) == "planned"
    assert derive_status(conv, datetime.fromisoformat("2027-01-25T10:16:00+00:00")) == "held"


@pytest.mark.parametrize(("conversation_id", "employee_id", "expected"),
                         [("2027-2", "2", "2027"), ("2027H-A-7", "A-7", "2027H"), ("2027-x", "9", "2027")])
def test_round_of_a_conversation_id(conversation_id: str, employee_id: str, expected: str) -> None:
    """Verify the round is the SamtaleID without «-<AnsattID>», also when the AnsattID holds a hyphen."""
    assert Conversation(conversation_id, employee_id, "1").round == expected


def test_question_applies_to_scope() -> None:
    """Verify Gjelder: Alle, Avdeling:<navn> and Stilling:<navn> select the right employees."""
    kari = Employee("2", "Kari", "kari@firma.no", department="Salg", title="Selger")
    assert Question("Q1", "trivsel", "?", applies_to="Alle").applies(kari)
    assert Question("Q1", "trivsel", "?", applies_to="").applies(kari)
    assert Question("Q1", "trivsel", "?", applies_to="Avdeling: salg").applies(kari)
    assert not Question("Q1", "trivsel", "?", applies_to="Avdeling:Lager").applies(kari)
    assert Question("Q1", "trivsel", "?", applies_to="Stilling:Selger").applies(kari)
    assert not Question("Q1", "trivsel", "?", applies_to="Noe:annet").applies(kari)


def test_round_contains_whole_days_in_oslo() -> None:
    """Verify the period includes its first and last day entirely, judged in Oslo time."""
    period = Round("2027", date(2027, 1, 11), date(2027, 2, 26))
    assert period.contains(datetime(2027, 1, 11, 0, 0, tzinfo=OSLO))
    assert period.contains(datetime(2027, 2, 26, 23, 59, tzinfo=OSLO))
    assert not period.contains(datetime(2027, 2, 27, 0, 0, tzinfo=OSLO))
    assert not period.contains(datetime(2027, 1, 10, 23, 59, tzinfo=OSLO))
    # 23:30 UTC on 26 Feb is already 27 Feb in Oslo
    assert not period.contains(datetime.fromisoformat("2027-02-26T23:30:00+00:00"))
    assert Round("2027", None, None).contains(datetime(2030, 1, 1, tzinfo=OSLO))
