"""HR's daily digest as a mail (DESIGN.md §8): what the journal and the folder hold for it, and its rendering.

Plumbing shared by `remind` (which sends it when run on its own) and `nightly` (which sends it
once at the end of the night, with what the run found added). The decisions are in
plans/hr_digest.py; this module reads their inputs and renders the overridable `hr_digest` template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from samtale_automation.commands.deliver import Outgoing
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import FAILED, Job, Mail, Person
from samtale_automation.mail.templates import Templates
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
from samtale_automation.plans.consolidate import QUARANTINED
from samtale_automation.plans.hr_digest import HrDigest, HrInput, HrItem, sections
from samtale_automation.store.kept_mail import KeptMailStore
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import count

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def hr_input(workspace: Workspace, replies: Sequence[HrItem] = (), night: HrInput | None = None) -> HrInput:
    """What the journal and the folder hold for HR's digest, with `night`'s findings (nightly) laid on top."""
    with workspace.journal() as journal:
        store = MessageStore(journal)
        sent = store.reminders_done()
        refused = [(row.key, row.recipient, row.error or "") for row in store.messages() if row.state == FAILED]
        quarantined = [row["destination"] for row in journal.received(QUARANTINED) if row["destination"]]
        moved_mail = [(m.message_id, m.sender, m.names, m.reason) for m in KeptMailStore(journal).moved()]
    waiting = [(p.changeset.id, p.changeset.reason, p.blocked_reason or "", _local(p.changeset.created))
               for p in workspace.pending()]
    given = HrInput(workspace.now, sent, quarantined, refused, waiting, replies, moved_mail=moved_mail)
    if night is None:
        return given
    quarantined += [where for where in night.quarantined if where not in quarantined]
    return replace(given, quarantined=quarantined, blocked=night.blocked, real_now=night.real_now, alarms=night.alarms,
                   failed_steps=night.failed_steps, set_aside=night.set_aside, removed=night.removed)


def hr_outgoing(digest: HrDigest, master: Master, workspace: Workspace, mailbox: Person) -> Outgoing:
    """HR's digest to the sending mailbox itself; its lines are journaled like reminders, each told once."""
    override = workspace.folder.root / TEMPLATE_OVERRIDE_DIR
    templates = Templates(master.settings.language, override if override.is_dir() else None)
    rendered = templates.render("hr_digest", {
        "company": master.settings.company, "round": master.settings.round, "lang": master.settings.language,
        "day": digest.day, "total": len(digest.items),
        "sections": [{"title": title, "lines": lines} for title, lines in sections(digest)]})
    mail = Mail(digest.key, (mailbox,), rendered.subject, rendered.text, rendered.html, (), mailbox)
    return Outgoing(digest.key, "hr_digest", (mailbox,), Job((mailbox,), mail=mail),
                    reminders=tuple(item.key for item in digest.items),
                    describe=f"HR ({mailbox.email}): " + count(len(digest.items), "sak", "saker", "item", "items"))


def _local(stamp: str) -> datetime:
    """A ChangeSet's creation time (machine-local, written without a zone) as an aware moment."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):  # a hand-edited journal: count it as new rather than stop the digest
        return datetime.now().astimezone()  # real time: when the change is taken to have been made
    return moment if moment.tzinfo else moment.astimezone()
