"""Send planned messages through a backend, journal first: intent before each send, result after.

Shared by `invite` and `remind`. A recipient the server refuses is recorded with the server's
answer and retried by the next run; the others go on. If the server cannot be reached at all,
what was sent so far stays recorded and the error goes to the CLI (exit code 4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from samtale_automation.errors import BackendError
from samtale_automation.mail_model import Backend, Delivery, Failure, Person
from samtale_automation.message_store import MeetingState, MessageStore
from samtale_automation.texts import tr


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: its idempotency group, recipients, and how to send it."""

    group: str
    kind: str
    recipients: tuple[Person, ...]
    send: Callable[[Backend], Delivery]
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

    def delivered_to(self, kind: str) -> set[tuple[str, str]]:
        """(group, address) pairs delivered for messages of one kind."""
        return {(item.group, email) for item, emails in self.delivered if item.kind == kind for email in emails}


def dispatch(backend: Backend, store: MessageStore, items: Sequence[Outgoing],
             progress: Callable[[str], None] = lambda _: None) -> SendReport:
    """Send each item: record intent, send, record who got it; stop cleanly if the server is gone."""
    report = SendReport()
    for item in items:
        store.record_intent(item.group, item.kind, [p.email for p in item.recipients], meeting=item.meeting,
                            reminders=item.reminders, covers=item.covers)
        try:
            delivery = item.send(backend)
        except BackendError as error:
            report.stopped = error
            break
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
        progress(item.group)
        if delivery.failures and not ok and all(f.code == 0 for f in delivery.failures):
            # No answer at all even after the backend's retries: the server is gone; waiting out
            # every remaining message would only delay the summary. The rest goes next run.
            report.stopped = BackendError(
                tr("Serveren svarer ikke; resten sendes ved neste kjøring.",
                   "The server does not answer; the rest is sent on the next run."),
                hint=tr("Sjekk nettverket og serveren, og kjør kommandoen igjen.",
                        "Check the network and the server, and run the command again."))
            break
    return report
