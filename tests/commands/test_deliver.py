"""Sending through a backend in bounded batches: each batch built, recorded, sent and forgotten before the next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from samtale_automation.backends.outbox import OutboxBackend
from samtale_automation.commands.deliver import Outgoing, dispatch
from samtale_automation.domain.messages import INTENT, SENT, Attachment, Job, Mail, Person
from samtale_automation.store.journal import Journal
from samtale_automation.store.messages import MessageStore

SENDER = Person("hr@firma.no", "HR")


def _item(n: int) -> Outgoing:
    person = Person(f"p{n}@firma.no", f"Person {n}")
    mail = Mail(f"digest:2027-01-05:p{n}", (person,), f"Påminnelse {n}", "Hei",
                attachments=(Attachment(f"fil {n}.xlsx", b"x" * 50_000),))
    return Outgoing(mail.key, "digest", (person,), Job((person,), mail=mail), describe=f"Person {n}")


def test_each_item_is_built_only_after_the_one_before_was_sent_and_marked(tmp_path: Path) -> None:
    """Verify dispatch takes the next item from a generator only once the last batch is sent and its result
    recorded, and that the report keeps who and what without the message and its attachment."""
    outbox = tmp_path / "utboks"
    backend = OutboxBackend(outbox, SENDER)
    seen: list[tuple[int, int, dict[str, str]]] = []

    with Journal(tmp_path / "journal.sqlite") as journal:
        store = MessageStore(journal)

        def items() -> Iterator[Outgoing]:
            for n in range(5):
                states = {row.recipient: row.state for row in store.messages()}
                seen.append((n, len(list(outbox.rglob("*.eml"))) if outbox.exists() else 0, states))
                yield _item(n)

        report = dispatch(backend, store, items())
        states = {row.recipient: row.state for row in store.messages()}
    assert backend.batch_size == 1
    for n, files, before in seen:
        assert files == n  # every earlier message was written before this one was built
        assert before == {f"p{k}@firma.no": SENT for k in range(n)}  # and marked sent, none left as intent
    assert states == {f"p{k}@firma.no": SENT for k in range(5)} and INTENT not in states.values()
    assert [item.describe for item, _ in report.delivered] == [f"Person {n}" for n in range(5)]
    assert all(item.job.mail is None and item.job.meeting is None for item, _ in report.delivered)
    assert len(list(outbox.rglob("*.eml"))) == 5
