"""HR's daily digest (DESIGN.md §8): what needs a person today, sent to the mailbox; nothing when nothing does.

Pure: the register (its Logg for conflicts) and what the caller read from the journal and the
folder (quarantined files, refused addresses, changes waiting for the workbook) go in; one digest
of plain lines comes out, or None. Each line says what, where and what to do, and has a reason
key like a reminder's: sent once, never again (the journal's reminders table), so Monday's digest
holds the weekend's quarantined files and nothing is told twice.
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
from samtale_automation.texts import count, short_date, tr

#: The kinds of lines, in the order the digest lists them.
KINDS = ("quarantined", "conflict", "refused", "reply", "waiting", "no_time", "unsigned")


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


def plan_hr_digest(master: Master, given: HrInput) -> HrDigest | None:
    """The digest of what needs a person today and was not told before, or None when nothing does."""
    now = given.now.astimezone(OSLO)
    today = now.date()
    items: list[HrItem] = []
    for where in given.quarantined:
        items.append(HrItem(f"hr:quarantined:{where}", "quarantined", tr(
            f"En fil ble satt i karantene: {where} – se {where}.txt for hvorfor, og be avsenderen sende riktig fil.",
            f"A file was quarantined: {where} – see {where}.txt for why, and ask the sender for the right file.")))
    items += _conflicts(master)
    items += given.replies
    for key, address, answer in given.refused:
        items.append(HrItem(f"hr:refused:{key}", "refused", tr(
            f"E-post til {address} ble ikke levert ({answer}) – rett adressen i Ansatte; den prøves igjen ved neste "
            "kjøring.", f"Mail to {address} was not delivered ({answer}) – correct the address in Ansatte; it is "
            "retried on the next run.")))
    for changeset_id, what, why, when in given.waiting:
        if now - when.astimezone(OSLO) > timedelta(days=1):
            items.append(HrItem(f"hr:waiting:{changeset_id}", "waiting", tr(
                f"Endringen «{what}» har ventet siden {short_date(when.date(), 'nb')}: {why} – lukk arbeidsboken "
                "der den er åpen, eller kjør «samtale apply».", f"The change «{what}» has waited since "
                f"{short_date(when.date(), 'en')}: {why} – close the workbook where it is open, or run "
                "«samtale apply».")))
    items += _conversations(master, today)
    fresh = [item for item in items if item.key not in given.sent]
    if not fresh:
        return None
    fresh.sort(key=lambda item: KINDS.index(item.kind))
    return HrDigest(f"hr_digest:{today.isoformat()}", today, tuple(fresh))


def subject(digest: HrDigest) -> str:
    """The digest's subject: how many things, and the day."""
    things = count(len(digest.items), "sak", "saker", "item", "items")
    return tr(f"Medarbeidersamtaler: {things} trenger en person ({short_date(digest.day, 'nb')})",
              f"Employee conversations: {things} need a person ({short_date(digest.day, 'en')})")


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


def body(digest: HrDigest) -> tuple[str, str]:
    """The digest's text and HTML: a greeting, the numbered lines, and where they come from."""
    import html

    intro = tr("Dette trenger en person i medarbeidersamtalene i dag:", "This needs a person in the employee "
               "conversations today:")
    outro = tr("Hver sak nevnes én gang. Sendt av samtale (den nattlige kjøringen).",
               "Each item is told once. Sent by samtale (the nightly run).")
    lines = [f"{n}. {item.text}" for n, item in enumerate(digest.items, start=1)]
    text = "\n\n".join([tr("Hei,", "Hello,"), intro, "\n".join(lines), outro]) + "\n"
    listed = "".join(f"<li>{html.escape(item.text)}</li>" for item in digest.items)
    markup = (f"<p>{html.escape(tr('Hei,', 'Hello,'))}</p><p>{html.escape(intro)}</p><ol>{listed}</ol>"
              f"<p>{html.escape(outro)}</p>")
    return text, markup
