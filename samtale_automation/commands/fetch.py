"""`samtale collect --from-mailbox`: bring returned files from the mailbox into innkommende/ (run_fetch).

The backend lists the files attached to replies (nothing is moved yet). Each file is checked
against the master workbook: a prep or minutes file must come from the employee or the manager
of the conversation it belongs to — anything else goes to karantene/ with that reason, so nobody can
slip answers into someone else's conversation by mail. Files that are fine are written to
innkommende/ (durably), where the ordinary collect takes over. Only once every file of a message
is safely on disk is the message moved to the done folder: a crash in between fetches it again
next time, and collect recognises the second copy by its checksum, so nothing is lost or counted
twice. Files samtale cannot read at all go to innkommende/ too: collect quarantines them with
the exact reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.incoming import free_name, ignored_reason, write_quarantine_note
from samtale_automation.commands.results import ALREADY_HERE, TO_INCOMING, TO_QUARANTINE, FetchedFile, FetchResult
from samtale_automation.domain.messages import Backend, Cap, IncomingFile
from samtale_automation.domain.model import OSLO
from samtale_automation.paths import INCOMING_DIR, QUARANTINE_DIR, sanitize_filename
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile
from samtale_automation.safe_write import write_private
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.master import Master

SUFFIXES = (".xlsx",)
__all__ = ["ALREADY_HERE", "TO_INCOMING", "TO_QUARANTINE", "FetchResult", "FetchedFile", "fetch_from_mailbox",
           "run_fetch", "sender_problem"]


def sender_problem(master: Master, data: bytes, sender: str, key: bytes) -> str:
    """Why a file from `sender` must not be taken in ("" when it may): it belongs to a conversation
    whose employee and manager are someone else."""
    try:
        returned = read_returned(data, key, max_questions_default=master.settings.max_questions)
    except RejectedFile:
        return ""  # unreadable or forged: collect quarantines it with the precise reason
    conv_id = returned.identity.conversation_id
    conv = master.conversations.get(conv_id)
    if conv is None:
        return ""  # collect explains an unknown conversation
    allowed = {p.email.casefold() for p in (master.employees.get(conv.employee_id),
                                            master.employees.get(conv.manager_id)) if p and p.email}
    if sender.casefold() in allowed:
        return ""
    names = " / ".join(sorted(allowed)) or tr("ingen e-postadresse i Ansatte", "no e-mail address in Ansatte")
    return tr(f"sendt fra {sender or 'ukjent avsender'}, som verken er medarbeideren eller lederen i samtale "
              f"{conv_id} ({names}). Er filen riktig, legg den selv i innkommende/.",
              f"sent from {sender or 'an unknown sender'}, who is neither the employee nor the manager of "
              f"conversation {conv_id} ({names}). If the file is right, put it in innkommende/ yourself.")


def fetch_from_mailbox(workspace: Workspace, backend: Backend, *, dry_run: bool = False,
                       progress: Callable[[str], None] = lambda _: None) -> FetchResult:
    """Fetch returned files through the backend into innkommende/ (or karantene/); move handled messages."""
    if Cap.READ_INBOX not in backend.capabilities:
        from samtale_automation.errors import ConfigError

        raise ConfigError(
            tr(f"Backend «{backend.name}» leser ingen postkasse.", f"The «{backend.name}» backend reads no mailbox."),
            hint=tr("Bruk backend ews eller graph, eller smtp med [smtp] imap_host i samtale.toml; eller legg "
                    "filene i innkommende/ og kjør samtale collect uten --from-mailbox.",
                    "Use the ews or graph backend, or smtp with [smtp] imap_host in samtale.toml; or put the "
                    "files in innkommende/ and run samtale collect without --from-mailbox."))
    master = workspace.load()
    key = workspace.folder.key.read_bytes()
    with workspace.journal() as journal:
        known = {str(row["sha256"]) for row in journal.received(ACCEPTED)}
    incoming = workspace.folder.root / INCOMING_DIR
    known |= {hashlib.sha256(p.read_bytes()).hexdigest() for p in incoming.iterdir()
              if ignored_reason(p) is None} if incoming.is_dir() else set()
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M%S")  # real time: when the files arrived
    result = FetchResult()
    messages: dict[str, None] = {}  # in order; moved only after all their files are stored
    for found in backend.fetch_files(SUFFIXES):
        messages.setdefault(found.message_id)
        fetched = _place(workspace, master, found, key, known, stamp, dry_run)
        result.files.append(fetched)
        progress(found.filename)
    if dry_run:
        return result
    for message_id in messages:
        backend.mark_handled(message_id)
        result.handled_messages += 1
    return result


def _place(workspace: Workspace, master: Master, found: IncomingFile, key: bytes, known: set[str],
           stamp: str, dry_run: bool) -> FetchedFile:
    """Decide where one file goes and, unless a dry run, write it there durably."""
    digest = hashlib.sha256(found.content).hexdigest()
    name = sanitize_filename(Path(found.filename).name) or "vedlegg.xlsx"
    if digest in known:
        return FetchedFile(name, found.sender, ALREADY_HERE,
                           tr("samme fil er allerede mottatt", "the same file was received before"))
    problem = sender_problem(master, found.content, found.sender, key)
    root = workspace.folder.root
    if problem:
        target = free_name(root / QUARANTINE_DIR, f"{stamp} {name}") if not dry_run else None
        if target is not None:
            write_private(target, found.content)
            write_quarantine_note(target, name, problem)
        return FetchedFile(name, found.sender, TO_QUARANTINE, problem, target)
    target = free_name(root / INCOMING_DIR, name) if not dry_run else None
    if target is not None:
        write_private(target, found.content)
        known.add(digest)
    return FetchedFile(name, found.sender, TO_INCOMING, "", target)


def run_fetch(workspace: Workspace, *, dry_run: bool = False,
              progress: Callable[[str], None] | None = None) -> FetchResult:
    """Open the configured backend and fetch through it (the first step of `collect --from-mailbox`)."""
    from samtale_automation.backends import BackendContext, open_backend
    from samtale_automation.config import require_config

    backend = open_backend(BackendContext(workspace.folder, require_config(workspace.folder.config), workspace.now))
    try:
        result = fetch_from_mailbox(workspace, backend, dry_run=dry_run, progress=progress or (lambda _: None))
    finally:
        backend.close()
    result.backend = backend.name
    return result
