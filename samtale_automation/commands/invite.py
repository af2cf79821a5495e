"""`samtale invite`: plan → show → confirm → send → tool-owned dates back through a ChangeSet.

The plan is plans.invites (pure); sending goes through commands.deliver. The one call the CLI,
the Excel button and the demo make. Missing prep files are made first (run_prep), because the
invitation carries the employee's file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.calendars import FREE_BUSY_BACKENDS, Periods, ask_calendars
from samtale_automation.commands.deliver import Outgoing, dispatch, sending_mailbox
from samtale_automation.commands.results import InviteResult
from samtale_automation.config import Config, require_config
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import CANCEL, SENT, Attachment, Backend, Job, Mail, Meeting, MessageRow
from samtale_automation.domain.model import Conversation
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS, EMPLOYEES, LOG
from samtale_automation.mail.templates import Templates
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
from samtale_automation.plans.follow_ups import calendars_wanted
from samtale_automation.plans.invites import inactive_reason, plan_invites
from samtale_automation.plans.meetings import InviteInput, InvitePlan, MailSend, MeetingSend
from samtale_automation.prepfile.locations import SUFFIX, conversation_folder, prep_name, prep_path
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import count, delivered_word, tr, via

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

INVITATION_KINDS = ("invitation", "update")
#: Asks the calendars: (master, AnsattIDs, first day, last day) → busy periods by AnsattID, or None.
Calendars = Callable[[Master, set[str], date, date], "Periods | None"]


def prep_file_lookup(workspace: Workspace, master: Master) -> Callable[[Conversation, str], str | None]:
    """A function telling the name of a conversation's prep file variant, if it exists."""
    listed: dict[Path, frozenset[str]] = {}  # a department folder's file names, read once per plan

    def lookup(conv: Conversation, variant: str) -> str | None:
        employee = master.employees.get(conv.employee_id)
        if employee is None:
            return None
        directory = conversation_folder(workspace.folder, conv.round, employee)
        name = prep_name(employee, SUFFIX[variant])
        names = listed.get(directory)
        if names is None:
            try:
                names = listed[directory] = frozenset(os.listdir(directory))
            except OSError:  # no folder yet: no prep file
                names = listed[directory] = frozenset()
        return name if name in names else None
    return lookup


def plan(workspace: Workspace, master: Master, config: Config, calendars: Calendars | None = None) -> InvitePlan:
    """Plan the invitations from the workbook and the journal (and the calendars, for follow-up meetings)."""
    with workspace.journal() as journal:
        store = MessageStore(journal)
        given = InviteInput(workspace.now, sending_mailbox(config, master.settings.company),
                            config.mail.organizer_is_manager, config.backend, store.meetings(), store.messages(),
                            prep_file_lookup(workspace, master))
    days, people = calendars_wanted(master, given.meetings, workspace.now.date())
    if days and calendars is not None:
        given = replace(given, busy=calendars(master, people, min(days), max(days)))
    planned = plan_invites(master, given)
    # Unreadable cells (a date that is not a date) are why a row is skipped: say so with the cell.
    sheets = (CONVERSATIONS.name, EMPLOYEES.name, ACTIONS.name)
    planned.problems[:0] = [p for p in master.problems if p.where.startswith(sheets)]
    return planned


def run_invite(workspace: Workspace, *, dry_run: bool = False, who: str = "samtale",
               confirm: Callable[[InvitePlan, Backend], bool] = lambda _plan, _backend: True,
               progress: Callable[[str], None] = lambda _: None,
               context: BackendContext | None = None, backend: Backend | None = None) -> InviteResult:
    """Plan, confirm and send the round's invitations; record dates and a Logg row."""
    config = require_config(workspace.folder.config)
    master = workspace.load()
    calendars = _calendars(workspace, config, backend, context)
    result = InviteResult(plan(workspace, master, config, calendars), backend=config.backend, dry_run=dry_run)
    if dry_run:
        return result
    if result.plan.needs_prep:
        from samtale_automation.commands.prep import run_prep

        # The prep files' Logg row waits in the journal for this run's one write (the write-back below).
        made = run_prep(workspace, result.plan.needs_prep, who=who, write=False)
        result.prepared = [item.path.name for item in made.plan.files]
        del made  # every file's content: not kept through the sending and the write
        # the same master: only which files exist changed
        result.plan = plan(workspace, master, config, calendars)
    if result.plan.empty:
        return _prepared_written(workspace, result)
    backend = backend or open_backend(context or BackendContext(workspace.folder, config, workspace.now))
    try:
        result.confirmed = confirm(result.plan, backend)
        if not result.confirmed:
            return _prepared_written(workspace, result)
        templates = _templates(workspace)
        # Built lazily, a batch at a time (commands.deliver): 5,000 prep files are never all in memory.
        items = chain((_meeting_outgoing(workspace, master, m, templates) for m in result.plan.meetings),
                      (_mail_outgoing(workspace, master, m, templates) for m in result.plan.mails))
        with workspace.journal() as journal:
            store = MessageStore(journal)
            result.report = dispatch(backend, store, items, progress)
            delivered = store.messages(kinds=(*INVITATION_KINDS, "cancellation"))  # what the write-back reads
    finally:
        backend.close()
    changes = _writeback(workspace, master, result, delivered, who)
    # The write loads the workbook with openpyxl: let it reuse the memory of this run's Master, rows and
    # plan (what was sent is in result.report; the summary shows only the plan's problems).
    result.plan = replace(result.plan, meetings=[], mails=[])
    del master, delivered, items
    result.apply = workspace.commit(changes)
    return result


def _prepared_written(workspace: Workspace, result: InviteResult) -> InviteResult:
    """A run that sends nothing still writes the Logg row of the prep files it made (its one write)."""
    if result.prepared:
        result.apply = workspace.commit(None)
    return result


def _calendars(workspace: Workspace, config: Config, backend: Backend | None,
               context: BackendContext | None) -> Calendars | None:
    """Free/busy for the follow-up meetings' days from the backend (graph, ews), opened only when asked."""
    if backend is None and config.backend not in FREE_BUSY_BACKENDS:
        return None

    def ask(master: Master, people: set[str], first: date, last: date) -> Periods | None:
        calendar = backend or open_backend(context or BackendContext(workspace.folder, config, workspace.now))
        try:
            answer = ask_calendars(calendar, master, people, first, last)
        finally:
            if backend is None:
                calendar.close()
        return answer.busy if answer is not None else None
    return ask


def _templates(workspace: Workspace) -> Callable[[str], Templates]:
    cache: dict[str, Templates] = {}
    override = workspace.folder.root / TEMPLATE_OVERRIDE_DIR

    def get(lang: str) -> Templates:
        if lang not in cache:
            cache[lang] = Templates(lang, override if override.is_dir() else None)
        return cache[lang]
    return get


def _attachment(workspace: Workspace, master: Master, wanted: tuple[str, str] | None) -> tuple[Attachment, ...]:
    if wanted is None:
        return ()
    conv = master.conversations.get(wanted[0])
    employee = master.employees.get(conv.employee_id) if conv else None
    if conv is None or employee is None:
        return ()
    path: Path = prep_path(workspace.folder, conv.round, employee, SUFFIX[wanted[1]])
    return (Attachment(path.name, path.read_bytes()),) if path.exists() else ()


def _meeting_outgoing(workspace: Workspace, master: Master, item: MeetingSend,
                      templates: Callable[[str], Templates]) -> Outgoing:
    rendered = templates(item.lang).render(item.template, item.context)
    meeting = Meeting(key=item.state.key, uid=item.state.uid, sequence=item.state.sequence, subject=rendered.subject,
                      start=item.start, end=item.end, organizer=item.organizer, attendees=item.attendees,
                      rooms=item.rooms, location=item.location, body_text=rendered.text, body_html=rendered.html,
                      attachments=_attachment(workspace, master, item.attachment), stamp=workspace.now,
                      remote_id=item.state.remote_id, change_key=item.state.change_key)
    recipients = item.recipients
    job = Job(recipients, meeting=meeting, cancel=item.method == CANCEL, reason=item.context.get("reason") or "")
    names = ", ".join(p.name or p.email for p in recipients)
    return Outgoing(item.group, item.kind, recipients, job, meeting=item.state,
                    describe=f"{names}: {kind_label(item.kind)} {item.state.key}")


def _mail_outgoing(workspace: Workspace, master: Master, item: MailSend,
                   templates: Callable[[str], Templates]) -> Outgoing:
    rendered = templates(item.lang).render(item.template, item.context)
    mail = Mail(item.group, item.recipients, rendered.subject, rendered.text, rendered.html,
                _attachment(workspace, master, item.attachment))
    names = ", ".join(p.name or p.email for p in item.recipients)
    return Outgoing(item.group, item.kind, item.recipients, Job(item.recipients, mail=mail),
                    describe=f"{names}: {kind_label(item.kind)} {item.conversation_id or ''}".rstrip())


def kind_label(kind: str) -> str:
    """What a message of this kind is, in the summary and the plan shown before sending («invitasjon»)."""
    labels = {"invitation": tr("invitasjon", "invitation"), "update": tr("endring", "update"),
              "cancellation": tr("avlysning", "cancellation"), "removal": tr("fjernet fra møtet", "removed"),
              "follow_up": tr("oppfølgingsmøte", "follow-up meeting"),
              "follow_up_cancellation": tr("oppfølging avlyst", "follow-up cancelled"),
              "manager_prep": tr("lederens skjema", "manager's prep file")}
    return labels.get(kind, kind)


def _writeback(workspace: Workspace, master: Master, result: InviteResult, rows: list[MessageRow],
               who: str) -> ChangeSet:
    """Invitert = today where the journal says the invitation reached the employee (this run or an
    interrupted one before it); a Logg row for the run."""
    changes = ChangeSet(tr("Invitasjoner", "Invitations"))
    report = result.report
    assert report is not None
    reached = {(row.meeting_key, row.recipient) for row in rows if row.kind in INVITATION_KINDS and row.state == SENT}
    cancelled = {row.meeting_key for row in rows if row.kind == "cancellation" and row.state == SENT}
    for conv in master.conversations.values():
        employee = master.employees.get(conv.employee_id)
        if conv.invited is None and employee and (conv.conversation_id, employee.email.casefold()) in reached:
            changes.upsert(CONVERSATIONS.table, conv.conversation_id, invited=workspace.now.date())
        if not conv.cancelled and employee and not employee.active and conv.conversation_id in cancelled:
            # Cancelled because Aktiv = Nei: the row says so, with the reason the cancellation carried.
            changes.upsert(CONVERSATIONS.table, conv.conversation_id, force=True, cancelled="Ja",
                           cancel_reason=conv.cancel_reason or inactive_reason(employee))
    sent = len(report.delivered)
    failed = len(report.failed)
    changes.append(LOG.table, time=workspace.now.replace(tzinfo=None, microsecond=0),
                   event=tr("Invitasjoner", "Invitations"), who=who,
                   result=tr(f"{count(sent, 'melding', 'meldinger', '', '')} {delivered_word(result.backend)}"
                             f"{via(result.backend)}, {failed} feilet",
                             f"{count(sent, '', '', 'message', 'messages')} {delivered_word(result.backend)}"
                             f"{via(result.backend)}, {failed} failed"))
    return changes
