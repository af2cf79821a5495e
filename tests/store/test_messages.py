"""The journal's record of sends: intent before, result after, older versions superseded."""

from __future__ import annotations

from pathlib import Path

from samtale_automation.domain.messages import ACTIVE, FAILED, INTENT, SENT, SUPERSEDED, MeetingState
from samtale_automation.store.journal import Journal
from samtale_automation.store.messages import MessageStore, row_key


def state(sequence: int, content_hash: str = "h0") -> MeetingState:
    return MeetingState("2027-1", "samtale-2027-1@firma.no", sequence, content_hash,
                        ("kari@firma.no", "ola@firma.no"), "2027-01-20T10:00:00+01:00", ACTIVE, "smtp")


def test_intent_then_result_per_recipient(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite") as journal:
        store = MessageStore(journal)
        store.record_intent("invitation:2027-1:0", "invitation", ["Kari@firma.no", "ola@firma.no"], meeting=state(0))
        assert {r.recipient: r.state for r in store.messages()} == {"kari@firma.no": INTENT, "ola@firma.no": INTENT}
        store.record_result("invitation:2027-1:0", ["kari@firma.no"], {"ola@firma.no": "450 busy"})
        rows = {r.recipient: r for r in store.messages()}
        assert rows["kari@firma.no"].state == SENT and rows["ola@firma.no"].state == FAILED
        assert rows["ola@firma.no"].error == "450 busy" and rows["ola@firma.no"].attempts == 1
        assert store.meetings()["2027-1"].sequence == 0
        # Recording the same intent again (a re-run) keeps what was delivered.
        store.record_intent("invitation:2027-1:0", "invitation", ["ola@firma.no"], meeting=state(0))
        assert {r.recipient: r.state for r in store.messages()}["kari@firma.no"] == SENT


def test_a_new_version_supersedes_what_was_not_delivered_of_the_old(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite") as journal:
        store = MessageStore(journal)
        store.record_intent("invitation:2027-1:0", "invitation", ["kari@firma.no", "ola@firma.no"], meeting=state(0))
        store.record_result("invitation:2027-1:0", ["kari@firma.no"], {"ola@firma.no": "450 busy"})
        store.record_intent("update:2027-1:1", "update", ["kari@firma.no", "ola@firma.no"], meeting=state(1, "h1"))
        everything = {r.key: r.state for r in store.messages(include_superseded=True)}
        assert everything[row_key("invitation:2027-1:0", "ola@firma.no")] == SUPERSEDED
        assert everything[row_key("invitation:2027-1:0", "kari@firma.no")] == SENT
        assert store.meetings()["2027-1"].content_hash == "h1"
        assert all(r.sequence == 1 or r.state == SENT for r in store.messages())


def test_reminders_count_once_their_digest_is_delivered(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite") as journal:
        store = MessageStore(journal)
        store.record_intent("digest:2:2027-01-13", "digest", ["kari@firma.no"],
                            reminders=["prep_employee:2027-2:2"], covers=["prep_employee:2027-2:7"])
        assert store.reminders_done() == {"prep_employee:2027-2:7"}
        store.record_result("digest:2:2027-01-13", [], {"kari@firma.no": "0 no answer"})
        assert store.reminders_done() == {"prep_employee:2027-2:7"}  # not delivered: due again next run
        store.record_result("digest:2:2027-01-13", ["kari@firma.no"], {})
        assert store.reminders_done() == {"prep_employee:2027-2:7", "prep_employee:2027-2:2"}
