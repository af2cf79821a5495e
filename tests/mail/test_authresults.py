"""The receiving server's verdict (authresults.py): Authentication-Results read as RFC 8601 and as Microsoft 365
writes it; only a dmarc or spf `fail` counts, whatever a sender may have added."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samtale_automation.mail.authresults import authentication_problem, results

pytestmark = pytest.mark.usefixtures("nb_messages")


def test_results_skip_the_server_name_comments_and_properties() -> None:
    header = ("mx.firma.example 1; spf=pass (firma.example: 192.0.2.1 is allowed (nested)) smtp.mailfrom=a@b; "
              "dkim=fail header.d=b; DMARC=Fail (p=REJECT sp=NONE) header.from=b")
    assert results(header) == [("spf", "pass"), ("dkim", "fail"), ("dmarc", "fail")]


def test_microsoft_365_without_a_server_name() -> None:
    header = ("spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=firma.example; dkim=none (message not signed) "
              "header.d=none;dmarc=fail action=quarantine header.from=firma.example;compauth=fail reason=000")
    assert results(header)[:3] == [("spf", "fail"), ("dkim", "none"), ("dmarc", "fail")]


@pytest.mark.parametrize(("headers", "named"), [
    (["mx; dmarc=fail header.from=x"], "dmarc=fail"),
    (["mx; spf=fail smtp.mailfrom=x", "mx2; dmarc=pass"], "spf=fail"),  # a pass elsewhere does not undo a fail
    (["mx; dmarc=pass", "forged; dmarc=fail"], "dmarc=fail"),
])
def test_a_fail_anywhere_is_a_problem_naming_it(headers: list[str], named: str) -> None:
    problem = authentication_problem(headers)
    assert named in problem and "kan være forfalsket" in problem and "innkommende/" in problem


@pytest.mark.parametrize("headers", [[], ["mx; none"], ["mx; spf=softfail; dmarc=pass"], ["mx; dkim=fail"],
                                     ["mx; spf=neutral; dmarc=temperror"], ["(dmarc=fail) mx; spf=pass"],
                                     ["mx; x-dmarc=fail"]])
def test_no_fail_no_problem(headers: list[str]) -> None:
    assert authentication_problem(headers) == ""


@given(st.lists(st.text(max_size=300), max_size=4))
def test_any_header_text_gives_an_answer_never_an_error(headers: list[str]) -> None:
    assert isinstance(authentication_problem(headers), str)
