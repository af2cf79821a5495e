"""The attendees' answers to the invitations: the Svar column, and declines and new times for HR (pure).

The backend that can see answers (graph) hands them in per meeting key; the round's conversations
get a Svar text naming each person and their answer («Bjørn Sæther: godtatt; Åse Kjærstad:
avslått»), written only when it changed. A decline or a proposed new time is something a person
must act on, so each becomes a line of HR's daily digest, told once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import ACCEPTED, DECLINED, PROPOSED, TENTATIVE, AttendeeReply
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import CONVERSATIONS
from samtale_automation.plans.hr_digest import HrItem
from samtale_automation.texts import clock, language, short_date, tr


def reply_words(reply: AttendeeReply) -> str:
    """An answer in words: «godtatt», «avslått», «foreløpig», «foreslår 12.01.2027 10.00»."""
    if reply.response == PROPOSED and reply.proposed_start is not None:
        moment = reply.proposed_start.astimezone(OSLO)
        when = f"{short_date(moment.date(), language())} {clock(moment, language())}"
        return tr(f"foreslår {when}", f"proposes {when}")
    words = {ACCEPTED: tr("godtatt", "accepted"), DECLINED: tr("avslått", "declined"),
             TENTATIVE: tr("foreløpig", "tentative"), PROPOSED: tr("foreslår ny tid", "proposes a new time")}
    return words.get(reply.response, reply.response)


def plan_replies(master: Master, answers: Mapping[str, Sequence[AttendeeReply]]) -> tuple[ChangeSet, list[HrItem]]:
    """The Svar cells that changed, and HR's lines for declines and proposed times."""
    changes = ChangeSet(tr("Svar på invitasjoner", "Replies to invitations"))
    names = {e.email.casefold(): e.name or e.email for e in master.employees.values() if e.email}
    items: list[HrItem] = []
    for conv in sorted(master.current_round().conversations, key=lambda c: c.conversation_id):
        replies = answers.get(conv.conversation_id)
        if not replies or conv.cancelled:
            continue
        parts = [f"{names.get(r.email.casefold(), r.email)}: {reply_words(r)}" for r in replies]
        text = "; ".join(parts)
        if text != conv.replies:
            changes.upsert(CONVERSATIONS.table, conv.conversation_id, replies=text)
        for reply in replies:
            if reply.response not in (DECLINED, PROPOSED):
                continue
            who = names.get(reply.email.casefold(), reply.email)
            stamp = reply.proposed_start.isoformat() if reply.proposed_start else ""
            key = f"hr:reply:{conv.conversation_id}:{reply.email.casefold()}:{reply.response}:{stamp}"
            done = reply_words(reply).replace("foreslår", "foreslått")
            items.append(HrItem(key, "reply", tr(
                f"{conv.conversation_id}: {who} har {done} – finn en ny tid sammen, endre Start og Slutt og kjør "
                "«samtale invite».", f"{conv.conversation_id}: {who} {reply_words(reply)} – agree on a new time, "
                "change Start and Slutt and run «samtale invite».")))
    return changes, items
