"""texts.count and delivered_word: nouns agree with their numbers; the outbox never «sends»."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from samtale_automation import texts


@pytest.fixture(autouse=True)
def _bokmal() -> Iterator[None]:
    texts.set_language("nb")
    yield
    texts.set_language("nb")


def test_count_agrees_in_both_languages() -> None:
    """Verify 0, 1 and 2 take the right form in bokmål and English."""
    forms = ("problem", "problemer", "problem", "problems")
    assert [texts.count(n, *forms) for n in (0, 1, 2)] == ["0 problemer", "1 problem", "2 problemer"]
    texts.set_language("en")
    assert [texts.count(n, *forms) for n in (0, 1, 2)] == ["0 problems", "1 problem", "2 problems"]


def test_the_outbox_puts_in_utboks_and_others_send() -> None:
    """Verify the words for a delivered message per backend, and «via» only for a real one."""
    assert texts.delivered_word("outbox") == "lagt i utboks/"
    assert texts.delivered_word("smtp") == "sendt"
    assert texts.via("outbox") == "" and texts.via("graph") == " via graph"
    texts.set_language("en")
    assert texts.delivered_word("outbox") == "put in utboks/"
