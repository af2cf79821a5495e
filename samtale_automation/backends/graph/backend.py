"""Invitations, mails, free/busy and returned files through Microsoft Graph (research/mail.md §2).

Tokens come from msal (app-only with a client secret or a certificate, or a delegated device-code
login: auth.py); every call goes through our own thin `requests` client, `GraphClient` (client.py);
the `[graph]` settings are read in samtale_automation/config/graph.py; what each job (meeting,
cancellation, mail) becomes in Graph requests is in flows.py; free/busy, returned files and the
probe are in mailbox.py. This module is the backend itself: it runs the jobs' flows side by side.

How a meeting travels:

* a new meeting is created in the organizer's calendar with a `transactionId` derived from its UID
  and SEQUENCE (a retried POST cannot make a second event) and our extended-property tag
  (`String {c11ff724-…} Name samtale-id` = `Meeting.key`). With a file, the event is created
  without attendees, the file added, and only then are the attendees PATCHed in, so the one
  invitation carries the file;
* an update reads the event first (by `remote_id`, or by the tag when the id is unknown or gone),
  adds a file only if no file of that name is there, and PATCHes just what changed: only the
  attendees when only they changed (Graph then writes to just the added and removed people);
* a whole cancellation is `POST …/cancel`; an appointment without attendees is deleted; removing
  some attendees PATCHes the attendee list without them.

`send_batch` runs the jobs side by side in rounds: every job's next request goes out together,
in `$batch` requests of at most 20 (lookups by tag are merged into one filtered GET per few keys).
100 new invitations with files thus take 3 `$batch` calls per 20 jobs: creates, files, attendees.

Throttling: 429, 503 and 504 are retried, honouring `Retry-After` (else after 1, 4 and 15 s), until
`[graph] max_wait` seconds have been spent waiting for one request; then BackendError (or, inside a
`$batch`, a temporary failure 450 for that job). The client is sequential: one HTTP request at a time
per run, so it stays well within Outlook's limit of 4 concurrent requests per mailbox (Graph itself
runs at most 4 items of a `$batch` in parallel).

Settings: samtale.toml `[graph]` tenant_id, client_id, auth, certificate_path, folder, done_folder,
base_url, authority_host, max_wait, and `[mail] mailbox`. The client secret (`graph_client_secret`)
and the device-code token cache (`graph_token_cache`) live in the environment or the OS keyring, never
in a file, and never appear in a message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samtale_automation.backends.batch import BatchBackend
from samtale_automation.backends.graph.auth import Certificate, MsalTokens, missing_secret, read_certificate
from samtale_automation.backends.graph.client import Answer, Call, GraphClient, box_path, make_session, with_query
from samtale_automation.backends.graph.constants import EVENT_EXPAND, EVENT_SELECT, LOOKUP_KEYS, SECRET_NAME
from samtale_automation.backends.graph.flows import Flow, GraphFlows, tag_filter, tag_value
from samtale_automation.backends.graph.mailbox import GraphMailbox
from samtale_automation.config import GraphSettings
from samtale_automation.domain.messages import BusySlot, Cap, Delivery, IncomingFile, Job, Person
from samtale_automation.secrets import get_secret

if TYPE_CHECKING:
    from samtale_automation.backends import BackendContext


class GraphBackend(BatchBackend):
    """Meetings, mails, free/busy and returned files in Exchange Online through Microsoft Graph."""

    name = "graph"
    capabilities: frozenset[Cap] = frozenset(Cap)
    needs_confirmation = True
    batch_size = 20

    def __init__(self, mailbox: Person, client: GraphClient, settings: GraphSettings | None = None, *,
                 login: Callable[[], str] | None = None) -> None:
        self.mailbox = mailbox
        self.client = client
        self.settings = settings or GraphSettings(base_url=client.base_url)
        self.stats = client.stats
        self.flows = GraphFlows(client, mailbox)
        self.reading = GraphMailbox(client, mailbox, self.settings, login=login)
        #: Notes for the summary (per-person free/busy errors); never secrets.
        self.notes = self.reading.notes

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"GraphBackend({self.mailbox.email}, {self.settings.auth}, {self.client.base_url})"

    # ---- batches ------------------------------------------------------------------------------

    def send_batch(self, jobs: Sequence[Job]) -> list[Delivery]:
        """Run the jobs side by side in rounds of `$batch` requests; one Delivery per job, in order."""
        return self._run([job.key for job in jobs], [functools.partial(self.flows.job, job) for job in jobs])

    def _run(self, keys: list[str], makers: list[Callable[[], Flow]]) -> list[Delivery]:
        """Advance every job's flow one round at a time; jobs for the same key run one after the other."""
        results: list[Delivery | None] = [None] * len(makers)
        active: dict[int, tuple[Flow, list[Call]]] = {}
        waiting = list(range(len(makers)))

        def start_free() -> None:
            # A job waits while an earlier job for the same key is unfinished (a removal before its update).
            started = True
            while started:
                started = False
                for index in list(waiting):
                    key = keys[index]
                    if key and (any(keys[i] == key for i in active)
                                or any(keys[w] == key for w in waiting if w < index)):
                        continue
                    waiting.remove(index)
                    flow = makers[index]()
                    try:
                        active[index] = (flow, next(flow))
                    except StopIteration as stop:
                        results[index] = stop.value
                        started = True
                        break

        start_free()
        while active:
            order = sorted(active)
            calls = [call for index in order for call in active[index][1]]
            answers = self._execute(calls)
            position = 0
            for index in order:
                flow, pending = active[index]
                mine = answers[position:position + len(pending)]
                position += len(pending)
                try:
                    active[index] = (flow, flow.send(mine))
                except StopIteration as stop:
                    results[index] = stop.value
                    del active[index]
            start_free()
        return [r if r is not None else Delivery() for r in results]

    def _execute(self, calls: list[Call]) -> list[Answer]:
        """One round: tag lookups merged into filtered GETs, the rest through `GraphClient.batch`."""
        answers: list[Answer | None] = [None] * len(calls)
        lookups: dict[str, list[int]] = {}
        others = []
        for index, call in enumerate(calls):
            if call.lookup is not None:
                lookups.setdefault(call.lookup[0].casefold(), []).append(index)
            else:
                others.append(index)
        for indexes in lookups.values():
            mailbox = calls[indexes[0]].lookup[0]  # type: ignore[index]
            keys = list(dict.fromkeys(calls[i].lookup[1] for i in indexes))  # type: ignore[index]
            found = self._lookup(mailbox, keys)
            for index in indexes:
                key = calls[index].lookup[1]  # type: ignore[index]
                answers[index] = found if isinstance(found, Answer) else Answer(200, {"value": found.get(key, [])})
        for index, answer in zip(others, self.client.batch([calls[i] for i in others]), strict=True):
            answers[index] = answer
        return [a if a is not None else Answer(0) for a in answers]

    def _lookup(self, mailbox: str, keys: list[str]) -> dict[str, list[dict[str, Any]]] | Answer:
        """Our events by tag value, a few keys per GET; the failing answer if Graph refuses."""
        found: dict[str, list[dict[str, Any]]] = {}
        for first in range(0, len(keys), LOOKUP_KEYS):
            chunk = keys[first:first + LOOKUP_KEYS]
            events = self._events_matching(mailbox, chunk)
            if isinstance(events, Answer) and events.status == 400 and len(chunk) > 1:
                # A server that will not take OR-ed lambda filters: one documented filter per key instead.
                answers = self.client.batch([self._lookup_call(mailbox, [key]) for key in chunk])
                events = []
                for answer in answers:
                    if not answer.ok:
                        return answer
                    events.extend(answer.json().get("value", []))
            if isinstance(events, Answer):
                return events
            wanted = {k.casefold(): k for k in chunk}
            for event in events:
                value = tag_value(event)
                key = wanted.get((value or "").casefold())
                if key is not None and not event.get("isCancelled"):
                    found.setdefault(key, []).append(event)
        return found

    def _lookup_call(self, mailbox: str, keys: Sequence[str]) -> Call:
        return Call("GET", with_query(f"{box_path(mailbox)}/events", {
            "$filter": tag_filter(keys), "$select": EVENT_SELECT, "$expand": EVENT_EXPAND, "$top": "50"}))

    def _events_matching(self, mailbox: str, keys: Sequence[str]) -> list[dict[str, Any]] | Answer:
        events: list[dict[str, Any]] = []
        call = self._lookup_call(mailbox, keys)
        while True:
            answer = self.client.call(call)
            if not answer.ok:
                return answer
            events.extend(e for e in answer.json().get("value", []) if isinstance(e, dict))
            next_link = answer.json().get("@odata.nextLink")
            if not next_link:
                return events
            call = Call("GET", str(next_link))

    # ---- the mailbox side (mailbox.py) -----------------------------------------------------------

    def probe(self) -> list[str]:
        """Log in, read the mailbox, its calendar and the reply folder; one line per finding."""
        return self.reading.probe()

    def free_busy(self, people: Sequence[str], start: datetime, end: datetime) -> dict[str, list[BusySlot]]:
        """Busy periods per address from getSchedule."""
        return self.reading.free_busy(people, start, end)

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files with these endings in the reply folder's messages; nothing is moved."""
        return self.reading.fetch_files(suffixes)

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder."""
        self.reading.mark_handled(message_id)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.session.close()


def create(context: BackendContext) -> GraphBackend:
    """The Graph backend from samtale.toml, with msal for tokens; ConfigError when something is missing."""
    settings = context.config.graph
    if settings is None:
        raise context.config.refusal("graph")
    mailbox = context.sending_mailbox()
    secret: str | None = None
    certificate: Certificate | None = None
    if settings.auth == "secret":
        secret = get_secret(SECRET_NAME)
        if not secret:
            raise missing_secret()
    elif settings.auth == "certificate":
        path = Path(settings.certificate_path).expanduser()
        certificate = read_certificate(path if path.is_absolute() else context.folder.root / path)
    session = make_session(context.ssl_context)
    tokens = MsalTokens(settings, secret=secret, certificate=certificate, session=session)
    client = GraphClient(tokens, settings.base_url, session=session, sleep=context.sleep, max_wait=settings.max_wait,
                         secrets=[secret or ""])
    return GraphBackend(mailbox, client, settings, login=tokens.describe)
