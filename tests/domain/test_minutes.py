"""The canonical form of the minutes and its version (domain/minutes.py)."""

from __future__ import annotations

from datetime import date

from samtale_automation.domain.minutes import Minutes, MinutesAction, clean, short

ACTION = MinutesAction("Kurs i Excel", "Pivottabeller", "Kari", date(2027, 6, 1), date(2027, 3, 1))


def test_saving_again_keeps_the_version() -> None:
    """Line breaks, trailing spaces, composed and decomposed letters and empty rows do not change the version."""
    one = Minutes("2027-1001", {"mal": "Første linje på\nAndre linje", "trivsel": ""}, (ACTION,))
    other = Minutes("2027-1001", {"mal": "  Første linje på  \r\nAndre linje\u00a0\r\n", "leder": "   "},
                    (ACTION, MinutesAction("", "", "", None, None)))
    decomposed = Minutes("2027-1001", {"mal": "Første linje pa\u030a\nAndre linje"}, (ACTION,))
    assert one.version() == other.version() == decomposed.version()
    assert clean("A\u030a") == "\u00c5"  # Å typed as A + ring is the same Å


def test_every_part_of_the_content_changes_the_version() -> None:
    """Summaries, each action field, the follow-up date and the conversation all count; their order counts."""
    base = Minutes("2027-1001", {"mal": "Tekst"}, (ACTION,))
    changed = [
        Minutes("2027-1001", {"mal": "Tekst."}, (ACTION,)),
        Minutes("2027-1001", {"trivsel": "Tekst"}, (ACTION,)),
        Minutes("2027-1001", {"mal": "Tekst"}, (MinutesAction("Kurs i Excel", "Pivottabeller", "Kari",
                                                              date(2027, 6, 2), date(2027, 3, 1)),)),
        Minutes("2027-1001", {"mal": "Tekst"}, (MinutesAction("Kurs i Excel", "Pivottabeller", "Kari",
                                                              date(2027, 6, 1), None),)),
        Minutes("2027-1002", {"mal": "Tekst"}, (ACTION,)),
        Minutes("2027-1001", {"mal": "Tekst"}, (ACTION, MinutesAction("Mentor"))),
    ]
    versions = {m.version() for m in changed}
    assert base.version() not in versions and len(versions) == len(changed)
    assert len(base.version()) == 64 and short(base.version()) == base.version()[:8]


def test_summaries_follow_the_topic_order_not_the_reading_order() -> None:
    """The same summaries read in another order give the same version."""
    one = Minutes("c", {"mal": "x", "tilbakeblikk": "y"})
    other = Minutes("c", {"tilbakeblikk": "y", "mal": "x"})
    assert one.canonical() == other.canonical()
