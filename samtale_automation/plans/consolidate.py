"""Consolidation: the register and the returned files → one ChangeSet and a decision per file.

Pure (DESIGN.md §4–§6): nothing is read or written here. Rules:
- a file whose conversation is not in the workbook, or whose employee does not match it, is
  quarantined;
- a returned prep sets «Forberedelse mottatt» (employee) or «Leder forberedt» (manager) and asks
  for the manager's conversation guide;
- returned minutes set «Referat mottatt» and the agreed actions as Tiltak rows `<SamtaleID>-<n>` (seeded
  columns, the follow-up date into «Oppfølging»); an action missing from a newer version is marked, not
  deleted; every signature is recorded with the version of the content it covers (plans/signing.py);
- of two returns of the same conversation and variant the one saved last counts; the manager's
  signed minutes outrank the employee's; the private note never reaches the register;
- a file's own saved time (docProps/core.xml, written by whoever made the file) is believed only
  between the form's issue and the file's arrival; otherwise its arrival counts and the decision
  says why. Dates written to the workbook are the Oslo day of that time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Conversation
from samtale_automation.domain.prepsheet import EMPLOYEE, FIXED_CREATED, MANAGER, ReturnedFile
from samtale_automation.domain.schema import ACTION_STATUSES, ACTIONS, CONVERSATIONS, LOG
from samtale_automation.plans.signing import SignState, SignStep, describe, sign_step
from samtale_automation.texts import tr

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
DUPLICATE = "duplicate"
REMOVED_MARK = " – ikke med i nyeste referat"


@dataclass(frozen=True)
class Arrival:
    """A file found in innkommende/: read into a ReturnedFile, or rejected with a reason."""

    name: str
    sha256: str
    arrived: datetime  # the file's time on disk, aware
    returned: ReturnedFile | None
    rejection: str | None = None
    issued: datetime | None = None  # when the form it came from was made (journal), if known

    @property
    def saved(self) -> datetime:
        """When the file was saved (Oslo time): its own modified time if believable, else its arrival."""
        return self.saved_time()[0]

    def saved_time(self) -> tuple[datetime, str]:
        """The saved time (Oslo) and, when the file's own time was not believed, why (message language)."""
        arrived = (self.arrived if self.arrived.tzinfo else self.arrived.replace(tzinfo=OSLO)).astimezone(OSLO)
        returned = self.returned
        own = returned.modified if returned else None
        if returned is None or own is None:
            text = returned.modified_text if returned else ""
            return arrived, tr(f"filens egen lagringstid («{_shown_text(text)}») er ikke en tid; ankomsttiden er brukt",
                               f"the file's own saved time («{_shown_text(text)}») is not a time; its arrival "
                               "time was used") if text else ""
        own = own if own.tzinfo else own.replace(tzinfo=UTC)
        if own == TEMPLATE_SAVED:
            return arrived, ""  # never saved by a person's program: the template's fixed time
        if own <= TEMPLATE_SAVED or (self.issued is not None and own < self.issued):
            return arrived, tr(f"filens egen lagringstid ({_shown(own)}) er før skjemaet ble laget; ankomsttiden "
                               "er brukt",
                               f"the file's own saved time ({_shown(own)}) is before the form was made; its "
                               "arrival time was used")
        if own > arrived:
            return arrived, tr(f"filens egen lagringstid ({_shown(own)}) er etter at filen kom inn; ankomsttiden "
                               "er brukt",
                               f"the file's own saved time ({_shown(own)}) is after the file arrived; its "
                               "arrival time was used")
        return own.astimezone(OSLO), ""


#: The created/modified time every prep file is written with (naive in domain.prepsheet; UTC in the file).
TEMPLATE_SAVED = FIXED_CREATED.replace(tzinfo=UTC)


def _shown(moment: datetime) -> str:
    """A time from inside a file for a message: Oslo time where it can be, any year, never an exception."""
    try:
        moment = moment.astimezone(OSLO)
        zone = ""
    except (OverflowError, ValueError):
        zone = f" {moment.tzname() or ''}".rstrip()
    return f"{moment.day:02d}.{moment.month:02d}.{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}{zone}"


def _shown_text(text: str) -> str:
    """Text from inside a file for a message: printable, short."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text)
    return cleaned if len(cleaned) <= 40 else cleaned[:39] + "…"


@dataclass(frozen=True)
class Counted:
    """A return accepted earlier (from the journal): what it counted for."""

    conversation_id: str
    variant: str
    saved: datetime
    has_prep: bool
    has_minutes: bool
    manager_signed: bool


@dataclass
class Decision:
    """What happens to one arrival."""

    arrival: Arrival
    outcome: str  # ACCEPTED, QUARANTINED or DUPLICATE
    reason: str = ""  # why quarantined, or what it counted for
    conversation: Conversation | None = None
    counts_prep: bool = False
    counts_minutes: bool = False
    note: str = ""  # why the file's own saved time was not believed, if it was not
    signing: SignStep | None = None  # what the file's signature did (plans/signing.py); None: no minutes
    version: str = ""  # the version of the minutes' content the file holds


@dataclass
class CollectPlan:
    """The ChangeSet for the workbook, a decision per file, and the guides to make."""

    changeset: ChangeSet
    decisions: list[Decision] = field(default_factory=list)
    guides: list[Decision] = field(default_factory=list)  # accepted employee preps that count

    def signing(self, *events: str) -> list[Decision]:
        """The accepted files whose signature did one of `events` (plans/signing.py), in order."""
        return [d for d in self.decisions if d.signing is not None and d.signing.event in events]


def _minutes_rank(variant: str, manager_signed: bool, saved: datetime) -> tuple[bool, datetime]:
    # The manager's signed minutes outrank the employee's; then the one saved last.
    return (variant == MANAGER and manager_signed, saved)


def plan_collect(master: Master, arrivals: list[Arrival], counted: list[Counted], seen: set[str],
                 now: datetime, who: str) -> CollectPlan:
    """Decide every arrival and build the ChangeSet (`seen`: sha256 of files accepted before)."""
    plan = CollectPlan(ChangeSet(tr("Innsamling av returnerte filer", "Collecting returned files")))
    best_prep: dict[tuple[str, str], datetime] = {}
    best_minutes: dict[str, tuple[bool, datetime]] = {}
    for item in counted:
        if item.has_prep:
            key = (item.conversation_id, item.variant)
            best_prep[key] = max(best_prep.get(key, item.saved), item.saved)
        if item.has_minutes:
            rank = _minutes_rank(item.variant, item.manager_signed, item.saved)
            best_minutes[item.conversation_id] = max(best_minutes.get(item.conversation_id, rank), rank)
    states: dict[str, SignState] = {}
    for arrival in sorted(arrivals, key=lambda a: (a.saved, a.name)):
        decision = _decide(master, arrival, seen)
        plan.decisions.append(decision)
        if decision.outcome != ACCEPTED:
            continue
        returned, conv = arrival.returned, decision.conversation
        assert returned is not None and conv is not None
        seen.add(arrival.sha256)
        variant = returned.identity.variant
        if returned.prep_filled and arrival.saved >= best_prep.get((conv.conversation_id, variant), arrival.saved):
            best_prep[(conv.conversation_id, variant)] = arrival.saved
            decision.counts_prep = True
            field_name = "prep_returned" if variant == EMPLOYEE else "manager_prepared"
            plan.changeset.upsert_row(CONVERSATIONS.table, conv.conversation_id, {field_name: arrival.saved.date()})
            # saved is Oslo time: a file saved 23:30 UTC on 3 February counts for 4 February
            if variant == EMPLOYEE:
                plan.guides = [g for g in plan.guides if g.conversation is not conv] + [decision]
        manager_signed = returned.signed_manager_date is not None
        rank = _minutes_rank(variant, manager_signed, arrival.saved)
        if returned.minutes_filled and rank >= best_minutes.get(conv.conversation_id, rank):
            best_minutes[conv.conversation_id] = rank
            decision.counts_minutes = True
            _minutes_changes(plan.changeset, master, conv, returned, arrival)
        if returned.minutes_filled:
            # Every signature counts in its order, whichever version's content the register keeps.
            decision.version = returned.minutes().version()
            state = states.get(conv.conversation_id) or SignState.of(conv)
            decision.signing = sign_step(state, returned, decision.version)
            states[conv.conversation_id] = decision.signing.state
            if decision.signing.values:
                plan.changeset.upsert_row(CONVERSATIONS.table, conv.conversation_id, decision.signing.values)
        decision.note = arrival.saved_time()[1]
        decision.reason = _summary(decision)
        plan.changeset.append(LOG.table, time=now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
                              event=tr("Fil mottatt", "File received"), who=who,
                              result=f"{arrival.name}: {decision.reason}")
    for decision in plan.decisions:
        if decision.outcome == QUARANTINED:
            plan.changeset.append(LOG.table, time=now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
                                  event=tr("Fil i karantene", "File quarantined"), who=who,
                                  result=f"{decision.arrival.name}: {decision.reason}")
    return plan


def _decide(master: Master, arrival: Arrival, seen: set[str]) -> Decision:
    if arrival.returned is None:
        return Decision(arrival, QUARANTINED, arrival.rejection or tr("kunne ikke leses", "could not be read"))
    identity = arrival.returned.identity
    conv = master.conversations.get(identity.conversation_id)
    if conv is None:
        return Decision(arrival, QUARANTINED, tr(
            f"samtalen {identity.conversation_id} finnes ikke i arbeidsboken. Er den slettet, eller kommer filen "
            "fra en annen mappe? Legg samtalen inn igjen i Samtaler og legg filen tilbake i innkommende/.",
            f"conversation {identity.conversation_id} is not in the workbook. Was it deleted, or is the file from "
            "another folder? Add the conversation to Samtaler again and put the file back in innkommende/."))
    if conv.employee_id != identity.employee_id:
        return Decision(arrival, QUARANTINED, tr(
            f"filen hører til ansatt {identity.employee_id}, men samtalen {conv.conversation_id} gjelder "
            f"{conv.employee_id}. Sjekk at riktig fil ble sendt.",
            f"the file belongs to employee {identity.employee_id}, but conversation {conv.conversation_id} is "
            f"for {conv.employee_id}. Check that the right file was sent."), conv)
    if arrival.sha256 in seen:
        return Decision(arrival, DUPLICATE, tr("samme fil er mottatt før; ingenting endret",
                                               "the same file was received before; nothing changed"), conv)
    if not (arrival.returned.prep_filled or arrival.returned.minutes_filled):
        return Decision(arrival, QUARANTINED, tr(
            "filen er ikke fylt ut. Fyll ut forberedelsen eller referatet, lagre, og send den igjen.",
            "the file is not filled in. Fill in the preparation or the minutes, save, and send it again."), conv)
    return Decision(arrival, ACCEPTED, conversation=conv)


def _minutes_changes(changeset: ChangeSet, master: Master, conv: Conversation, returned: ReturnedFile,
                     arrival: Arrival) -> None:
    # The sign-off dates are plans/signing.py's: each only from its signer's own file, with its version.
    changeset.upsert_row(CONVERSATIONS.table, conv.conversation_id, {"minutes_returned": arrival.saved.date()})
    source = tr(f"Referat ({returned.identity.variant}) {arrival.saved:%d.%m.%Y}",
                f"Minutes ({returned.identity.variant}) {arrival.saved:%d.%m.%Y}")
    for number, action in enumerate(returned.actions, start=1):
        action_id = f"{conv.conversation_id}-{number}"
        fields: dict[str, object] = {"conversation_id": conv.conversation_id, "employee_id": conv.employee_id,
                                     "description": action.description, "goal": action.goal,
                                     "owner": action.owner, "deadline": action.deadline, "source": source}
        if action.follow_up is not None:  # seeded into Tiltak «Oppfølging» (a date a person typed is kept)
            fields["follow_up"] = action.follow_up
        if action_id not in master.actions:
            fields["status"] = ACTION_STATUSES[0]
        changeset.upsert_row(ACTIONS.table, action_id, fields)
    prefix = f"{conv.conversation_id}-"
    for existing in master.actions.values():
        suffix = existing.action_id[len(prefix):]
        if (existing.action_id.startswith(prefix) and suffix.isdigit() and int(suffix) > len(returned.actions)
                and not existing.source.endswith(REMOVED_MARK)):
            changeset.upsert(ACTIONS.table, existing.action_id, source=existing.source + REMOVED_MARK)


def _summary(decision: Decision) -> str:
    parts = []
    if decision.counts_prep:
        parts.append(tr("forberedelse registrert", "preparation recorded"))
    if decision.counts_minutes:
        parts.append(tr("referat registrert", "minutes recorded"))
    signing = decision.signing
    if signing is not None and signing.event:
        parts.append(describe(signing, decision.version))
    if signing is not None and signing.ignored:
        parts.append(signing.ignored)
    summary = ", ".join(parts) or tr("arkivert; en nyere versjon gjelder", "archived; a newer version counts")
    return f"{summary}; {decision.note}" if decision.note else summary
