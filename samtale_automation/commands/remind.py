"""`samtale remind` (run nightly): at most one digest per person per day with everything they need to do.

The rules live in plans.reminders (pure); this module reads the journal and the files, renders
the digest in each person's language (mail.templates), and sends through the same plumbing as
`invite` (commands.deliver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.deliver import Outgoing, dispatch, sending_mailbox
from samtale_automation.commands.results import RemindResult
from samtale_automation.config import require_config
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import SENT, Attachment, Backend, Job, Mail, Person
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.domain.schema import LOG
from samtale_automation.domain.workdays import is_working_day
from samtale_automation.errors import Problem
from samtale_automation.mail.templates import Templates
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
from samtale_automation.plans.reminders import Digest, group_digests, plan_reminders
from samtale_automation.prepfile.locations import COPY_SUFFIX, GUIDE_SUFFIX, prep_path, signed_pdf_path
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

GUIDE = "guide"


def attachment_files(workspace: Workspace, master: Master) -> Callable[[str, str], Path | None]:
    """Where a conversation's guide, fresh minutes copy for signing, or signed PDF is, if anywhere.

    Never a returned file: those hold their writer's private note. The copies for finalising and
    countersigning are made fresh by collect from the parsed minutes (plans/signing_files.py).
    """

    def find(conversation_id: str, what: str) -> Path | None:
        conv = master.conversations.get(conversation_id)
        employee = master.employees.get(conv.employee_id) if conv else None
        if conv is None or employee is None:
            return None
        if what == GUIDE:
            path = prep_path(workspace.folder, conv.round, employee, GUIDE_SUFFIX)
        elif what == "minutes":
            path = prep_path(workspace.folder, conv.round, employee, COPY_SUFFIX[MANAGER])
        elif what == "countersign":
            path = prep_path(workspace.folder, conv.round, employee, COPY_SUFFIX[EMPLOYEE])
        elif what == "pdf":
            path = signed_pdf_path(workspace.folder, conv.round, conv.employee_id, conversation_id)
        else:
            return None
        return path if path.exists() else None
    return find


def plan(workspace: Workspace, master: Master) -> tuple[list[Digest], list[Problem], Callable[..., Path | None]]:
    """Today's digests from the workbook, the journal and the files."""
    files = attachment_files(workspace, master)
    with workspace.journal() as journal:
        store = MessageStore(journal)
        done = store.reminders_done()
        invited = {row.meeting_key for row in store.messages()
                   if row.kind in ("invitation", "update") and row.state == SENT and row.meeting_key}
    invited |= {c.conversation_id for c in master.conversations.values() if c.invited is not None}
    items, problems = plan_reminders(master, workspace.now, done, invited,
                                     lambda conv_id, what: files(conv_id, what) is not None)
    return group_digests(items, workspace.now.date()), problems, files


def run_remind(workspace: Workspace, *, dry_run: bool = False, who: str = "samtale",
               confirm: Callable[[list[Digest], Backend], bool] = lambda _digests, _backend: True,
               progress: Callable[[str], None] = lambda _: None,
               context: BackendContext | None = None, backend: Backend | None = None) -> RemindResult:
    """Plan today's digests, confirm, send; a Logg row for the run."""
    config = require_config(workspace.folder.config)
    master = workspace.load()
    sender = sending_mailbox(config, master.settings.company)
    digests, problems, files = plan(workspace, master)
    result = RemindResult(digests, problems, backend=config.backend, dry_run=dry_run,
                          working_day=is_working_day(workspace.now.date()))
    if dry_run or not digests:
        return result
    backend = backend or open_backend(context or BackendContext(workspace.folder, config, workspace.now))
    try:
        result.confirmed = confirm(digests, backend)
        if not result.confirmed:
            return result
        override = workspace.folder.root / TEMPLATE_OVERRIDE_DIR
        templates: dict[str, Templates] = {}
        items = []
        for digest in digests:
            lang = digest.recipient.language
            if lang not in templates:
                templates[lang] = Templates(lang, override if override.is_dir() else None)
            items.append(_digest_outgoing(digest, templates[lang], files, sender, master))
        with workspace.journal() as journal:
            result.report = dispatch(backend, MessageStore(journal), items, progress)
    finally:
        backend.close()
    log = ChangeSet(tr("Påminnelser sendt", "Reminders sent"))
    log.append(LOG.table, time=workspace.now.replace(tzinfo=None, microsecond=0),
               event=tr("Påminnelser sendt", "Reminders sent"), who=who,
               result=tr(f"{len(result.report.delivered)} sammendrag sendt via {config.backend}, "
                         f"{len(result.report.failed)} feilet",
                         f"{len(result.report.delivered)} digests sent via {config.backend}, "
                         f"{len(result.report.failed)} failed"))
    result.apply = workspace.commit(log)
    return result


def _digest_outgoing(digest: Digest, templates: Templates, files: Callable[[str, str], Path | None],
                     sender: Person, master: Master) -> Outgoing:
    attachments: list[Attachment] = []
    parts = []
    for item in digest.items:
        path = files(item.conversation_id, item.attachment) if item.attachment and item.conversation_id else None
        if path is not None and all(a.filename != path.name for a in attachments):
            attachments.append(Attachment(path.name, path.read_bytes()))
        fragment = templates.fragment(f"reminder_{item.kind}",
                                      {**item.context, "attachment_name": path.name if path else None})
        parts.append(_Part(item.kind, fragment.text, fragment.html))
    recipient = Person(digest.recipient.email, digest.recipient.name)
    rendered = templates.render("digest", {"recipient": recipient, "day": digest.day, "items": parts,
                                           "company": master.settings.company, "round": master.settings.round})
    mail = Mail(digest.key, (recipient,), rendered.subject, rendered.text, rendered.html, tuple(attachments), sender)
    covers = tuple(key for item in digest.items for key in item.covers)
    return Outgoing(digest.key, "digest", (recipient,), Job((recipient,), mail=mail),
                    reminders=tuple(item.key for item in digest.items), covers=covers,
                    describe=f"{recipient.name}: {len(digest.items)} " + tr("påminnelser", "reminders"))


@dataclass(frozen=True)
class _Part:
    kind: str
    text: str
    html: object
