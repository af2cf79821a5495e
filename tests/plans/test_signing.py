"""Signatures bound to content (plans/signing.py), pure: every path of the state machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from samtale_automation.domain.model import Conversation
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, Identity, ReturnedFile
from samtale_automation.plans.signing import (
    BACK_TO_MANAGER,
    COUNTERSIGN,
    NOTHING,
    SIGNED,
    SIGNED_ONE,
    SignState,
    describe,
    sign_step,
)
from samtale_automation.texts import language, set_language


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    before = language()
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


A, B = "a" * 64, "b" * 64
MON, TUE, WED = date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)


def _file(variant: str, *, employee: date | None = None, manager: date | None = None) -> ReturnedFile:
    return ReturnedFile(Identity("2027-1001", "1001", variant, "2027"), None, signed_employee_date=employee,
                        signed_manager_date=manager, summaries={"mal": "x"})


def test_employee_signs_first_then_the_manager_signs_the_same_version() -> None:
    first = sign_step(SignState(), _file(EMPLOYEE, employee=MON), A)
    assert (first.event, first.values) == (SIGNED_ONE, {"signed_employee": MON, "signed_employee_version": A})
    second = sign_step(first.state, _file(MANAGER, manager=TUE), A)
    assert second.event == SIGNED and second.state.signed
    assert second.values == {"signed_manager": TUE, "signed_manager_version": A}


def test_the_manager_signing_other_content_sends_it_back_to_countersign() -> None:
    state = SignState(MON, A)
    step = sign_step(state, _file(MANAGER, manager=TUE), B)
    assert step.event == COUNTERSIGN and not step.state.signed
    assert step.values == {"signed_manager": TUE, "signed_manager_version": B, "signed_employee": None}
    assert step.state.employee_version == A  # what the employee signed before stays known
    done = sign_step(step.state, _file(EMPLOYEE, employee=WED), B)
    assert done.event == SIGNED and done.state.signed


def test_the_manager_signing_first_asks_the_employee_to_countersign() -> None:
    assert sign_step(SignState(), _file(MANAGER, manager=TUE), A).event == COUNTERSIGN


def test_an_employee_who_signs_an_edited_version_sends_it_back_to_the_manager() -> None:
    state = SignState(None, A, TUE, B)
    step = sign_step(state, _file(EMPLOYEE, employee=WED), "c" * 64)
    assert step.event == BACK_TO_MANAGER and not step.state.signed and step.earlier == B
    assert step.values == {"signed_employee": WED, "signed_employee_version": "c" * 64, "signed_manager": None,
                           "signed_manager_version": ""}


def test_a_signature_counts_only_from_its_own_variant() -> None:
    with use_language("nb"):
        from_employee = sign_step(SignState(), _file(EMPLOYEE, manager=MON), A)
        from_manager = sign_step(SignState(), _file(MANAGER, employee=MON), A)
    assert (from_employee.event, from_employee.values) == (NOTHING, {})
    assert "lederens signering i medarbeiderens fil er ikke tatt med" in from_employee.ignored
    assert (from_manager.event, from_manager.values) == (NOTHING, {})
    assert "medarbeiderens signering i lederens fil er ikke tatt med" in from_manager.ignored


def test_a_signature_from_before_versions_were_kept_counts_as_it_did() -> None:
    legacy = SignState.of(Conversation("2027-1001", "1001", "1", signed_employee=MON))
    assert sign_step(legacy, _file(MANAGER, manager=TUE), A).event == SIGNED
    assert SignState(MON, "", TUE, "").signed and not SignState(MON, A, TUE, B).signed


def test_each_event_says_what_happened_with_the_short_version() -> None:
    with use_language("en"):
        step = sign_step(SignState(MON, A), _file(MANAGER, manager=TUE), B)
        assert describe(step, B) == "the manager's final version bbbbbbbb goes to the employee to countersign"
