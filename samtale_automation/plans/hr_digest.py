"""HR's daily digest (DESIGN.md §8): what needs a person today, sent to the mailbox; nothing when nothing does.

Pure: the register (its Logg for conflicts) and what the caller read from the journal and the
folder (quarantined files, refused addresses, changes waiting for the workbook) and what the
nightly run found (failed steps, an overrun, changes set aside, folders retention removed) go in;
one digest of plain lines comes out, or None. `remind` sends it on its own; `nightly` sends it
once at the end of the night with its own findings added. Each line says what, where and what to
do, and has a reason key like a reminder's: sent once, never again (the journal's reminders
table), so Monday's digest holds the weekend's quarantined files and nothing is told twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from samtale_automation.domain import cells
from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import CONVERSATIONS, LOG
from samtale_automation.domain.workdays import next_working_day
from samtale_automation.texts import short_date, tr

#: The kinds of lines, in the order the digest lists them.
KINDS = ("alarm", "quarantined", "mail", "conflict", "refused", "set_aside", "reply", "waiting", "no_time", "unsigned",
         "retention")
#: A change has waited «long» for the workbook after a day.
WAITED_TOO_LONG = timedelta(days=1)


@dataclass(frozen=True)
class HrItem:
    """One thing a person has to look at: its reason key, kind and one line saying what, where and what to do."""

    key: str  # «hr:quarantined:karantene/…», sent once
    kind: str
    text: str


@dataclass(frozen=True)
class HrDigest:
    """The day's lines for HR, under one idempotency key («hr_digest:<day>»)."""

    key: str
    day: date
    items: tuple[HrItem, ...]


@dataclass(frozen=True)
class HrInput:
    """What the caller read besides the workbook."""

    now: datetime
    sent: Set[str] = frozenset()  # reason keys already told
    quarantined: Sequence[str] = ()  # where each quarantined file is, «karantene/<time> <name>»
    refused: Sequence[tuple[str, str, str]] = ()  # (message key, address, the server's answer), still undelivered
    waiting: Sequence[tuple[str, str, str, datetime]] = field(default_factory=tuple)  # (id, what, why, since)
    replies: Sequence[HrItem] = ()  # declines and proposed times (plans.replies)
    moved_mail: Sequence[tuple[str, str, str, str]] = ()  # (message id, sender, attachment names, why): unfetched
    blocked: str = ""  # why the workbook cannot be written now (used when a waiting change has no reason)
    real_now: datetime | None = None  # the wall clock, for how long changes waited (`now` may be --today)
    alarms: Sequence[str] = ()  # the nightly run overran its budget
    failed_steps: Sequence[tuple[str, str]] = ()  # (step, error) of tonight's run
    set_aside: Sequence[tuple[str, str]] = ()  # (change set id, why it can never be applied)
    removed: Sequence[str] = ()  # folders retention removed tonight


def plan_hr_digest(master: Master, given: HrInput) -> HrDigest | None:
    """The digest of what needs a person today and was not told before, or None when nothing does."""
    now = given.now.astimezone(OSLO)
    today = now.date()
    items: list[HrItem] = []
    for where in given.quarantined:
        items.append(HrItem(f"hr:quarantined:{where}", "quarantined", tr(
            f"En fil ble satt i karantene: {where} – se {where}.txt for hvorfor, og be avsenderen sende riktig fil.",
            f"A file was quarantined: {where} – see {where}.txt for why, and ask the sender for the right file.")))
    for message_id, sender, names, why in given.moved_mail:
        key = hashlib.sha256(message_id.encode()).hexdigest()[:16]
        items.append(HrItem(f"hr:mail:{key}", "mail", tr(
            f"E-posten fra {sender} med {names} er flyttet til behandlet-mappen uten at vedlegget ble hentet ({why}) "
            "– åpne den der og lagre vedlegget i innkommende/ for hånd.",
            f"The mail from {sender} with {names} was moved to the done folder without its attachment ({why}) – "
            "open it there and save the attachment in innkommende/ by hand.")))
    items += _conflicts(master)
    items += given.replies
    for key, address, answer in given.refused:
        items.append(HrItem(f"hr:refused:{key}", "refused", tr(
            f"E-post til {address} ble ikke levert ({answer}) – rett adressen i Ansatte; den prøves igjen ved neste "
            "kjøring.", f"Mail to {address} was not delivered ({answer}) – correct the address in Ansatte; it is "
            "retried on the next run.")))
    items += _night(given, today)
    items += _waiting(given, now)
    items += _conversations(master, today)
    fresh = [item for item in items if item.key not in given.sent]
    if not fresh:
        return None
    fresh.sort(key=lambda item: KINDS.index(item.kind))
    return HrDigest(f"hr_digest:{today.isoformat()}", today, tuple(fresh))


def alarm_digest(alarm: str, day: date) -> HrDigest:
    """A digest of one alarm (a nightly run overran its budget), under its own key: at most one a day."""
    return HrDigest(f"hr_digest:alarm-{day.isoformat()}", day, (HrItem(f"hr:alarm:{day.isoformat()}", "alarm", alarm),))


def sections(digest: HrDigest) -> list[tuple[str, list[str]]]:
    """The digest's lines under a heading per kind, in KINDS order, for the mail."""
    grouped: dict[str, list[str]] = {}
    for item in digest.items:
        grouped.setdefault(item.kind, []).append(item.text)
    return [(_title(kind), grouped[kind]) for kind in KINDS if kind in grouped]


def _title(kind: str) -> str:
    titles = {"alarm": ("Nattkjøringen", "The nightly run"),
              "quarantined": ("Filer i karantene", "Quarantined files"),
              "mail": ("E-post som ikke kunne hentes", "Mail that could not be fetched"),
              "conflict": ("Konflikter i arbeidsboken", "Conflicts in the workbook"),
              "refused": ("E-post som ikke ble levert", "Mail that was not delivered"),
              "set_aside": ("Endringer satt til side", "Changes set aside"),
              "reply": ("Svar på invitasjoner", "Answers to invitations"),
              "waiting": ("Arbeidsboken", "The workbook"),
              "no_time": ("Samtaler uten tidspunkt", "Conversations without a time"),
              "unsigned": ("Referater etter fristen", "Minutes past the deadline"),
              "retention": ("Slettet etter lagringstiden", "Removed after the retention period")}
    return tr(*titles[kind])


def _night(given: HrInput, today: date) -> list[HrItem]:
    """What tonight's run found: an overrun, failed steps, changes set aside, folders removed."""
    day = today.isoformat()
    found = [HrItem(f"hr:alarm:{day}:{hashlib.sha256(text.encode()).hexdigest()[:12]}", "alarm", text)
             for text in given.alarms]
    found += [HrItem(f"hr:failed:{day}:{step}", "alarm", tr(
        f"Steget «{step}» i nattkjøringen feilet: {why} – se .samtale/logs/samtale.log; resten av kjøringen gikk.",
        f"The nightly step «{step}» failed: {why} – see .samtale/logs/samtale.log; the rest of the run went on."))
        for step, why in given.failed_steps]
    found += [HrItem(f"hr:set_aside:{changeset_id}", "set_aside", tr(
        f"Endringen {changeset_id} kan aldri skrives og er satt til side: {why} – se «samtale status».",
        f"The change {changeset_id} can never be written and was set aside: {why} – see «samtale status»."))
        for changeset_id, why in given.set_aside]
    found += [HrItem(f"hr:removed:{where}", "retention", tr(
        f"{where} er slettet etter lagringstiden.", f"{where} was removed after the retention period."))
        for where in given.removed]
    return found


def _waiting(given: HrInput, now: datetime) -> list[HrItem]:
    """Changes that have waited more than a day for the workbook: one line, keyed by the oldest."""
    until = (given.real_now or now).astimezone(OSLO)
    old = sorted((when.astimezone(OSLO), changeset_id, what, why or given.blocked)
                 for changeset_id, what, why, when in given.waiting
                 if until - when.astimezone(OSLO) > WAITED_TOO_LONG)
    if not old:
        return []
    since, changeset_id, what, why = old[0]
    why = why or tr("ukjent grunn", "unknown reason")
    todo = tr("lukk arbeidsboken der den er åpen, eller kjør «samtale apply».",
              "close the workbook where it is open, or run «samtale apply».")
    if len(old) == 1:
        text = tr(f"Endringen «{what}» har ventet siden {short_date(since.date(), 'nb')}: {why} – {todo}",
                  f"The change «{what}» has waited since {short_date(since.date(), 'en')}: {why} – {todo}")
    else:
        text = tr(f"{len(old)} endringer har ventet siden {short_date(since.date(), 'nb')}: {why} – {todo}",
                  f"{len(old)} changes have waited since {short_date(since.date(), 'en')}: {why} – {todo}")
    return [HrItem(f"hr:waiting:{changeset_id}", "waiting", text)]


def _conflicts(master: Master) -> list[HrItem]:
    """Logg's «Konflikt» rows: a newer file disagreed with a cell a person had changed."""
    table = master.raw.tables.get(LOG.table) if master.raw else None
    found = []
    for row in table.rows if table else []:
        if cells.as_text(row.values.get("event")) != "Konflikt":
            continue
        what = cells.as_text(row.values.get("result"))
        digest = hashlib.sha256(f"{row.values.get('time')}|{what}".encode()).hexdigest()[:16]
        found.append(HrItem(f"hr:conflict:{digest}", "conflict", tr(
            f"Konflikt: {what} – personens verdi er beholdt; sjekk hvilken som er riktig.",
            f"Conflict: {what} – the person's value was kept; check which one is right.")))
    return found


def _conversations(master: Master, today: date) -> list[HrItem]:
    """The round's conversations without a time, and minutes unsigned after their deadline."""
    found = []
    days = master.settings.minutes_deadline_days
    for conv in sorted(master.current_round().conversations, key=lambda c: c.conversation_id):
        if conv.cancelled:
            continue
        employee = master.employees.get(conv.employee_id)
        who = f"{conv.conversation_id} ({employee.name})" if employee and employee.name else conv.conversation_id
        if conv.start is None:
            where = cell_of(master, CONVERSATIONS.table, conv.conversation_id, "start")
            found.append(HrItem(f"hr:no_time:{conv.conversation_id}", "no_time", tr(
                f"{who} har ingen tid ({where}) – kjør «samtale plan» eller skriv Start og Slutt.",
                f"{who} has no time ({where}) – run «samtale plan» or fill in Start and Slutt.")))
            continue
        if conv.end is None or (conv.signed_employee and conv.signed_manager):
            continue
        deadline = conv.end.astimezone(OSLO).date() + timedelta(days=days)
        if today >= next_working_day(deadline):
            missing = tr("referatet er ikke kommet", "the minutes have not come") if conv.minutes_returned is None \
                else tr("referatet er ikke signert av begge", "the minutes are not signed by both")
            found.append(HrItem(f"hr:unsigned:{conv.conversation_id}", "unsigned", tr(
                f"{who}: {missing}, og fristen var {short_date(deadline, 'nb')} – ta det opp med lederen.",
                f"{who}: {missing}, and the deadline was {short_date(deadline, 'en')} – raise it with the manager.")))
    return found

