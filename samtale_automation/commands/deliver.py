"""Send planned messages through a backend, journal first: intent before each send, result after.

Shared by `invite` and `remind`, with the mailbox they send from. A recipient the server refuses
is recorded with the server's answer and retried by the next run; the others go on. If the server
cannot be reached at all, what was sent so far stays recorded and the error travels in the
SendReport to the presenter (exit code 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING

from samtale_automation.config import Config
from samtale_automation.domain.messages import Backend, Delivery, Failure, Job, MeetingState, Person
from samtale_automation.errors import BackendError
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.config import Config


def sending_mailbox(config: Config, company: str = "") -> Person:
    """The mailbox invitations and reminders come from, shown with its own name, else `sender_name`, else the
    company. `HR <hr@firma.no>` and `hr@firma.no` both work; ConfigError saying what to set when there is none."""
    mailbox = config.require_mailbox()
    return Person(mailbox.address, mailbox.name or config.mail.sender_name or company)


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: its idempotency group, recipients, and what to send."""

    group: str
    kind: str
    recipients: tuple[Person, ...]
    job: Job
    meeting: MeetingState | None = None
    reminders: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    describe: str = ""  # «Åse Kjærstad, Bjørn Sæther: invitasjon 2027-1001» for the summary


@dataclass
class SendReport:
    """What a run sent and what failed, for the summary and the exit code."""

    delivered: list[tuple[Outgoing, tuple[str, ...]]] = field(default_factory=list)
    failed: list[tuple[Outgoing, Failure]] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    stopped: BackendError | None = None
    retries: int = 0  # how often the backend tried again (throttling, temporary failures)
    waited_seconds: float = 0.0  # and how long it waited for that in all


def dispatch(backend: Backend, store: MessageStore, items: Iterable[Outgoing],
             progress: Callable[[str], None] = lambda _: None) -> SendReport:
    """Send the items in the backend's batches: intents first, then the batch, then who got what.

    `items` may be a generator: a batch is built (templates, attachments read), recorded, sent and
    forgotten before the next is built, so memory stays flat however large the round; the report
    keeps each item without its message. Stops cleanly when the server cannot be reached; what was
    sent so far stays recorded, and an intent without a result is sent again by the next run
    (server-side backends find their item again by its tag, so that does not duplicate it).
    """
    report = SendReport()
    for batch in _batches(items, max(1, backend.batch_size)):
        for item in batch:
            store.record_intent(item.group, item.kind, [p.email for p in item.recipients], meeting=item.meeting,
                                reminders=item.reminders, covers=item.covers)
        try:
            deliveries = backend.send_batch([item.job for item in batch])
        except BackendError as error:
            report.stopped = error
            break
        gone = False
        for item, delivery in zip(batch, deliveries, strict=True):
            gone = _record(store, report, _settled(item), delivery) or gone
            progress(item.group)
        if gone:
            # No answer at all even after the backend's retries: the server is gone; waiting out
            # every remaining message would only delay the summary. The rest goes next run.
            report.stopped = BackendError(
                tr("Serveren svarer ikke; resten sendes ved neste kjøring.",
                   "The server does not answer; the rest is sent on the next run."),
                hint=tr("Sjekk nettverket og serveren, og kjør kommandoen igjen.",
                        "Check the network and the server, and run the command again."))
            break
    report.retries, report.waited_seconds = backend.stats.retries, backend.stats.waited_seconds
    return report


def _batches(items: Iterable[Outgoing], size: int) -> Iterator[list[Outgoing]]:
    """The items `size` at a time, taking the next ones from `items` only when the last batch is done."""
    pending = iter(items)
    while batch := list(islice(pending, size)):
        yield batch


def _settled(item: Outgoing) -> Outgoing:
    """The item as the report keeps it: who, what and why, without the message and its attachments."""
    return replace(item, job=Job(item.recipients, cancel=item.job.cancel, reason=item.job.reason))


def _record(store: MessageStore, report: SendReport, item: Outgoing, delivery: Delivery) -> bool:
    """Record one result; True when nobody got it because the server never answered."""
    refused = {f.email.casefold(): f for f in delivery.failures}
    ok = tuple(p.email.casefold() for p in item.recipients if p.email.casefold() not in refused)
    store.record_result(item.group, ok, {email: f"{f.code} {f.message}".strip() for email, f in refused.items()},
                        meeting_key=item.meeting.key if item.meeting else None,
                        remote_id=delivery.remote_id, change_key=delivery.change_key)
    if ok:
        report.delivered.append((item, ok))
    report.failed.extend((item, failure) for failure in delivery.failures)
    if delivery.location:
        report.locations.append(delivery.location)
    return bool(delivery.failures) and not ok and all(f.code == 0 for f in delivery.failures)
