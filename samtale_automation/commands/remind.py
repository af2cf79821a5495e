"""`samtale remind` (run nightly): at most one digest per person per day with everything they need to do.

The rules live in plans.reminders (pure); this module reads the journal and the files, renders
the digest in each person's language (mail.templates), and sends through the same plumbing as
`invite` (commands.deliver).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.deliver import Outgoing, dispatch, sending_mailbox
from samtale_automation.commands.hr_mail import hr_input, hr_outgoing
from samtale_automation.commands.results import RemindResult
from samtale_automation.config import require_config
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import (
    SENT,
    Attachment,
    AttendeeReply,
    Backend,
    Job,
    Mail,
    NotSupported,
    Person,
    ReadsReplies,
)
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.domain.schema import LOG
from samtale_automation.domain.workdays import is_working_day
from samtale_automation.errors import Problem
from samtale_automation.mail.templates import Templates
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
from samtale_automation.plans.hr_digest import HrDigest, HrItem, plan_hr_digest
from samtale_automation.plans.reminders import Digest, group_digests, plan_reminders
from samtale_automation.plans.replies import plan_replies
from samtale_automation.prepfile.locations import COPY_SUFFIX, GUIDE_SUFFIX, prep_path, signed_pdf_path
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import count, delivered_word, tr, via

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

GUIDE = "guide"
#: The backends that see the attendees' answers on their meetings (the Svar column).
REPLY_BACKENDS = frozenset({"graph", "ews", "smtp"})


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
               context: BackendContext | None = None, backend: Backend | None = None,
               hr: bool = True) -> RemindResult:
    """Plan today's digests, confirm, send; a Logg row for the run.

    With `hr` False HR's digest is left to the caller (nightly sends it at the end of the night,
    with the answers to invitations read here, `result.answers`)."""
    config = require_config(workspace.folder.config)
    master = workspace.load()
    sender = sending_mailbox(config, master.settings.company)
    digests, problems, files = plan(workspace, master)
    result = RemindResult(digests, problems, backend=config.backend, dry_run=dry_run,
                          working_day=is_working_day(workspace.now.date()))
    result.hr = hr_digest(workspace, master) if hr and result.working_day else None
    reads_replies = config.backend in REPLY_BACKENDS or isinstance(backend, ReadsReplies)
    if dry_run or (not digests and result.hr is None and not reads_replies):
        return result
    backend = backend or open_backend(context or BackendContext(workspace.folder, config, workspace.now))
    answered = False  # the Svar column waits in the journal for the run's one write of the workbook
    try:
        answers_seen = _answers(backend, master)
        if answers_seen is not None:
            result.replies_read = True
            svar, answers = plan_replies(master, answers_seen)
            if svar:
                result.replies_written = len(svar.changes)
                workspace.record(svar)
                answered = True
            result.answers = list(answers)
            if hr and result.working_day and answers:
                result.hr = hr_digest(workspace, master, answers)
        if not digests and result.hr is None:
            return _written(workspace, result, answered)
        result.confirmed = confirm(digests, backend)
        if not result.confirmed:
            return _written(workspace, result, answered)
        items = _outgoing(workspace, master, digests, files, sender, result.hr)
        with workspace.journal() as journal:
            result.report = dispatch(backend, MessageStore(journal), items, progress)
    finally:
        backend.close()
    log = ChangeSet(tr("Påminnelser", "Reminders"))
    done = f"{delivered_word(config.backend)}{via(config.backend)}"
    log.append(LOG.table, time=workspace.now.replace(tzinfo=None, microsecond=0),
               event=tr("Påminnelser", "Reminders"), who=who,
               result=tr(f"{len(result.report.delivered)} sammendrag {done}, {len(result.report.failed)} feilet",
                         f"{count(len(result.report.delivered), '', '', 'digest', 'digests')} {done}, "
                         f"{len(result.report.failed)} failed"))
    result.apply = workspace.commit(log)
    return result


def _written(workspace: Workspace, result: RemindResult, answered: bool) -> RemindResult:
    """A run that sends nothing still writes the answers it read (the run's one write), if any."""
    if answered:
        result.apply = workspace.commit(None)
    return result


def _answers(backend: Backend, master: Master) -> dict[str, list[AttendeeReply]] | None:
    """The attendees' answers to the round's invitations, or None when this backend cannot see them."""
    if not isinstance(backend, ReadsReplies):
        return None
    invited = [c.conversation_id for c in master.current_round().conversations if c.invited is not None]
    try:
        return backend.replies(invited)
    except NotSupported:  # smtp without an IMAP folder to read them from
        return None


def hr_digest(workspace: Workspace, master: Master, replies: Sequence[HrItem] = ()) -> HrDigest | None:
    """What needs a person today (DESIGN.md §8), from the workbook, the journal and the waiting changes."""
    return plan_hr_digest(master, hr_input(workspace, replies))


def _outgoing(workspace: Workspace, master: Master, digests: Sequence[Digest],
              files: Callable[[str, str], Path | None], sender: Person, hr: HrDigest | None) -> Iterator[Outgoing]:
    """Each digest (then HR's) rendered with its attachments read only when its batch is sent (commands.deliver)."""
    override = workspace.folder.root / TEMPLATE_OVERRIDE_DIR
    templates: dict[str, Templates] = {}
    for digest in digests:
        lang = digest.recipient.language
        if lang not in templates:
            templates[lang] = Templates(lang, override if override.is_dir() else None)
        yield _digest_outgoing(digest, templates[lang], files, sender, master)
    if hr is not None:
        yield hr_outgoing(hr, master, workspace, sender)


def _digest_outgoing(digest: Digest, templates: Templates, files: Callable[[str, str], Path | None],
                     sender: Person, master: Master) -> Outgoing:
    attachments: list[Attachment] = []
    parts = []
    for item in digest.items:
        path = files(item.conversation_id, item.attachment) if item.attachment and item.conversation_id else None
        name = path.name if path else None  # the fresh copy's own name (never an archived file's)
        if path is not None and name is not None and all(a.filename != name for a in attachments):
            attachments.append(Attachment(name, path.read_bytes()))
        fragment = templates.fragment(f"reminder_{item.kind}", {**item.context, "attachment_name": name})
        parts.append(_Part(item.kind, fragment.text, fragment.html))
    recipient = Person(digest.recipient.email, digest.recipient.name)
    rendered = templates.render("digest", {"recipient": recipient, "day": digest.day, "items": parts,
                                           "company": master.settings.company, "round": master.settings.round})
    mail = Mail(digest.key, (recipient,), rendered.subject, rendered.text, rendered.html, tuple(attachments), sender)
    covers = tuple(key for item in digest.items for key in item.covers)
    return Outgoing(digest.key, "digest", (recipient,), Job((recipient,), mail=mail),
                    reminders=tuple(item.key for item in digest.items), covers=covers,
                    describe=f"{recipient.name}: "
                    + count(len(digest.items), "påminnelse", "påminnelser", "reminder", "reminders"))


@dataclass(frozen=True)
class _Part:
    kind: str
    text: str
    html: object
