"""The count of runs that kept a mail in the mailbox (store/kept_mail.py): counted, moved aside, forgotten."""

from __future__ import annotations

from pathlib import Path

from samtale_automation.store.journal import Journal
from samtale_automation.store.kept_mail import KeptMailStore


def test_a_mail_moved_aside_is_listed_with_its_reason_and_a_fetched_one_is_forgotten(tmp_path: Path) -> None:
    """Verify the count grows per run, a moved-aside mail is listed with sender, names and the latest reason
    (and is no longer counted), and a mail fetched in the end leaves no trace."""
    with Journal(tmp_path / "journal.sqlite") as journal:
        kept = KeptMailStore(journal)
        assert [kept.kept("m1", "kari@firma.no", "a.xlsx", "disk full") for _ in range(3)] == [1, 2, 3]
        kept.kept("m1", "kari@firma.no", "a.xlsx, b.xlsx", "serveren svarte 500")
        kept.moved_aside("m1")
        kept.kept("m2", "ola@firma.no", "c.xlsx", "disk full")
        assert kept.counting() == {"m2"}
        [moved] = kept.moved()
        assert (moved.message_id, moved.sender, moved.names, moved.reason, moved.attempts) == (
            "m1", "kari@firma.no", "a.xlsx, b.xlsx", "serveren svarte 500", 4)
        kept.fetched("m2")
        kept.fetched("m1")  # a moved-aside mail stays listed for HR
        assert kept.counting() == set() and [m.message_id for m in kept.moved()] == ["m1"]
