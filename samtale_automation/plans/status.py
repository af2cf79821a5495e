"""`samtale status`: where each conversation stands, counted by status, with the changes still waiting.

Status is derived (domain.model.derive_status), never typed; the workbook's Status column is rewritten
from it on every write (workbook.apply.refresh_statuses).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from samtale_automation.domain.changeset import PendingChange, SetAsideChange
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Conversation
from samtale_automation.domain.schema import STATUS_LABELS
from samtale_automation.errors import Problem
from samtale_automation.texts import tr


def round_conversations(master: Master) -> list[Conversation]:
    """The current round's conversations (all of them when no round is set), by ID."""
    current = master.current_round()
    convs = current.conversations if current.name else tuple(master.conversations.values())
    return sorted(convs, key=lambda c: c.conversation_id)


def status_report(master: Master, pending: list[PendingChange], now: datetime,
                  set_aside: Sequence[SetAsideChange] = ()) -> dict[str, Any]:
    """The `status --json` object: round, conversations, actions, counts, pending_changes, set_aside_changes."""
    conversations = round_conversations(master)
    counts = Counter(c.status(now) for c in conversations)
    return {
        "round": master.settings.round or None,
        "conversations": [{
            "id": c.conversation_id,
            "employee_id": c.employee_id,
            "manager_id": c.manager_id,
            "start": _iso(c.start),
            "end": _iso(c.end),
            "place": c.place or None,
            "status": c.status(now),
            "invited": _iso(c.invited),
            "prep_returned": _iso(c.prep_returned),
            "manager_prepared": _iso(c.manager_prepared),
            "minutes_returned": _iso(c.minutes_returned),
            "signed_employee": _iso(c.signed_employee),
            "signed_manager": _iso(c.signed_manager),
        } for c in conversations],
        "actions": [{
            "id": a.action_id,
            "conversation_id": a.conversation_id,
            "employee_id": a.employee_id,
            "owner": a.owner or None,
            "deadline": _iso(a.deadline),
            "status": a.status,
        } for a in sorted(master.actions.values(), key=lambda a: a.action_id)],
        "counts": {code: counts.get(code, 0) for code in STATUS_LABELS},
        "pending_changes": [{"id": p.changeset.id, "reason": pending_reason(p)} for p in pending],
        "set_aside_changes": [{"id": s.changeset.id, "reason": s.changeset.reason, "why": s.reason,
                               "since": s.since} for s in set_aside],
    }


def set_aside_problems(set_aside: Sequence[SetAsideChange]) -> list[Problem]:
    """One problem per ChangeSet set aside (for `check`): what it was, why it cannot be written, what to do."""
    return [Problem(tr(f"endringssett {s.changeset.id}", f"change set {s.changeset.id}"),
                    tr(f"«{s.changeset.reason}» er satt til side og ikke skrevet: {s.reason}",
                       f"«{s.changeset.reason}» is set aside and not written: {s.reason}"),
                    tr(f"Kjør «samtale apply --retry {s.changeset.id}» når feilen er rettet, eller "
                       f"«samtale apply --discard {s.changeset.id}» for å forkaste endringene.",
                       f"Run «samtale apply --retry {s.changeset.id}» once the fault is fixed, or "
                       f"«samtale apply --discard {s.changeset.id}» to discard the changes."))
            for s in set_aside]


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(OSLO).isoformat()
    return value.isoformat()


def pending_reason(pending: PendingChange) -> str:
    """What a pending ChangeSet is, and why it waits if an apply was refused."""
    if pending.blocked_reason:
        return f"{pending.changeset.reason}: {pending.blocked_reason}"
    return pending.changeset.reason
