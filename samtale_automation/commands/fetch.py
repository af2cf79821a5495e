"""`samtale collect --from-mailbox`: bring returned files from the mailbox into innkommende/ (run_fetch).

The backend lists the files attached to replies (nothing is moved yet). Each file is checked against
the master workbook: a prep or minutes file must come from the employee or the manager of the
conversation it belongs to — anything else goes to karantene/ with that reason, so nobody can slip
answers into someone else's conversation by mail. Files that are fine are written to innkommende/
(durably), where the ordinary collect takes over. Only once every file of a message is safely on
disk is the message moved to the done folder: a crash in between fetches it again next time, and
collect recognises the second copy by its checksum, so nothing is lost or counted twice. Files
samtale cannot read at all go to innkommende/ too: collect quarantines them with the exact reason.

Every name in a mail is someone else's typing: it is made safe in bytes (paths.sanitize_filename)
before it touches the disk. A file that still cannot be stored under its name is stored in
karantene/ under a plain one with a note saying why, and its message moves on; only when it cannot
be stored at all (a full disk) does its message stay in the mailbox for the next run — and the
messages behind it are fetched all the same. After three runs that kept it, it is moved to the done
folder unfetched and HR's digest names it, to be saved by hand (store/kept_mail.py). An Excel lock
file (`~$…xlsx`, a few hundred bytes naming who has the file open) attached by mistake is left out;
a real workbook with such a name is stored without the `~$` so collect reads it. Where the receiving
server judged the sender (Authentication-Results: dmarc or spf `fail`), the file goes to karantene/:
the From address alone can be forged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.incoming import free_name, ignored_reason, shown_name, write_quarantine_note
from samtale_automation.commands.results import (
    ALREADY_HERE,
    LEFT_OUT,
    NOT_STORED,
    TO_INCOMING,
    TO_QUARANTINE,
    FetchedFile,
    FetchResult,
)
from samtale_automation.domain.messages import Backend, Cap, IncomingFile
from samtale_automation.domain.model import OSLO
from samtale_automation.mail.authresults import authentication_problem
from samtale_automation.paths import INCOMING_DIR, QUARANTINE_DIR, sanitize_filename
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile
from samtale_automation.safe_write import write_private
from samtale_automation.store.kept_mail import GIVE_UP_AFTER, KeptMailStore
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.master import Master

SUFFIXES = (".xlsx",)
__all__ = ["ALREADY_HERE", "LEFT_OUT", "NOT_STORED", "TO_INCOMING", "TO_QUARANTINE", "FetchResult", "FetchedFile",
           "fetch_from_mailbox", "run_fetch", "sender_problem"]
#: How the start of every .xlsx file looks (a zip); an Excel lock file does not.
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1024 * 1024


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
                       progress: Callable[[str], None] = lambda _: None, master: Master | None = None) -> FetchResult:
    """Fetch returned files through the backend into innkommende/ (or karantene/); move handled messages.

    `master`: the workbook as the caller already read it (collect reads it once for both steps)."""
    if Cap.READ_INBOX not in backend.capabilities:
        from samtale_automation.errors import ConfigError

        raise ConfigError(
            tr(f"Backend «{backend.name}» leser ingen postkasse.", f"The «{backend.name}» backend reads no mailbox."),
            hint=tr("Bruk backend ews eller graph, eller smtp med [smtp] imap_host i samtale.toml; eller legg "
                    "filene i innkommende/ og kjør samtale collect uten --from-mailbox.",
                    "Use the ews or graph backend, or smtp with [smtp] imap_host in samtale.toml; or put the "
                    "files in innkommende/ and run samtale collect without --from-mailbox."))
    master = master or workspace.load()
    key = workspace.folder.key.read_bytes()
    with workspace.journal() as journal:
        known = {str(row["sha256"]) for row in journal.received(ACCEPTED)}
    incoming = workspace.folder.root / INCOMING_DIR
    for waiting in incoming.iterdir() if incoming.is_dir() else ():
        if ignored_reason(waiting) is None:
            known.add(_file_digest(waiting))
    known.discard("")
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M%S")  # real time: when the files arrived
    result = FetchResult()
    messages: dict[str, bool] = {}  # in order: may the message move on (every file of it safe on disk)?
    unstored: dict[str, list[FetchedFile]] = {}
    for found in backend.fetch_files(SUFFIXES):
        fetched = _place_safely(workspace, master, found, key, known, stamp, dry_run)
        messages[found.message_id] = messages.get(found.message_id, True) and fetched.outcome != NOT_STORED
        if fetched.outcome == NOT_STORED:
            unstored.setdefault(found.message_id, []).append(fetched)
        result.files.append(fetched)
        progress(shown_name(found.filename))
    if dry_run:
        return result
    with workspace.journal() as journal:
        counted = KeptMailStore(journal)
        counting = counted.counting()
        for message_id, safe in messages.items():
            if safe:
                backend.mark_handled(message_id)
                result.handled_messages += 1
                if message_id in counting:
                    counted.fetched(message_id)
                continue
            files = unstored[message_id]
            names = ", ".join(f.name for f in files)
            if counted.kept(message_id, files[0].sender, names, files[0].reason) < GIVE_UP_AFTER:
                result.kept_messages += 1  # fetched again next time; the others move on
                continue
            backend.mark_handled(message_id)  # never retried for ever: HR saves it by hand
            counted.moved_aside(message_id)
            result.moved_aside.append(f"{names} ({files[0].sender})")
    return result


def _file_digest(path: Path) -> str:
    """The sha256 of a file read in chunks (a huge one is never held in memory); "" when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return ""  # locked or gone: collect deals with it
    return digest.hexdigest()


def _place_safely(workspace: Workspace, master: Master, found: IncomingFile, key: bytes, known: set[str],
                  stamp: str, dry_run: bool) -> FetchedFile:
    """`_place`, and when the file cannot be stored under its own name, karantene/ under a plain one."""
    if found.problem:
        return FetchedFile(shown_name(found.filename), found.sender, NOT_STORED, tr(
            f"kunne ikke hentes fra postkassen ({found.problem}); meldingen blir liggende og hentes på nytt neste "
            "gang",
            f"could not be downloaded from the mailbox ({found.problem}); the message stays and is fetched again "
            "next time"))
    try:
        return _place(workspace, master, found, key, known, stamp, dry_run)
    except (OSError, ValueError) as exc:  # a name the file system still refuses, a full disk, a bad path
        return _store_plainly(workspace, found, stamp, getattr(exc, "strerror", None) or type(exc).__name__,
                              dry_run)


def _store_plainly(workspace: Workspace, found: IncomingFile, stamp: str, detail: str, dry_run: bool) -> FetchedFile:
    """Store a file that could not be stored under its name in karantene/ as `<stamp> vedlegg-<sha>.xlsx`."""
    shown = shown_name(found.filename)
    digest = hashlib.sha256(found.content).hexdigest()
    plain = f"{stamp} vedlegg-{digest[:12]}.xlsx"
    why = tr(f"vedlegget «{shown}» kunne ikke lagres under navnet sitt ({detail}) og er lagret som «{plain}». "
             "Sjekk filen; er den riktig, legg den i innkommende/ (gjerne med et kortere navn).",
             f"the attachment «{shown}» could not be stored under its name ({detail}) and was stored as "
             f"«{plain}». Check the file; if it is right, put it in innkommende/ (preferably with a shorter name).")
    if dry_run:
        return FetchedFile(shown, found.sender, TO_QUARANTINE, why)
    try:
        target = free_name(workspace.folder.root / QUARANTINE_DIR, plain)
        write_private(target, found.content)
        write_quarantine_note(target, shown, why)
    except (OSError, ValueError) as again:
        detail = getattr(again, "strerror", None) or type(again).__name__
        return FetchedFile(shown, found.sender, NOT_STORED, tr(
            f"kunne ikke lagres ({detail}); meldingen blir liggende i postkassen og hentes på nytt neste gang. "
            "Sjekk at det er plass på disken og at mappen kan skrives til.",
            f"could not be stored ({detail}); the message stays in the mailbox and is fetched again next time. "
            "Check that the disk has room and the folder can be written to."))
    return FetchedFile(shown, found.sender, TO_QUARANTINE, why, target)


def _place(workspace: Workspace, master: Master, found: IncomingFile, key: bytes, known: set[str],
           stamp: str, dry_run: bool) -> FetchedFile:
    """Decide where one file goes and, unless a dry run, write it there durably."""
    digest = hashlib.sha256(found.content).hexdigest()
    original = Path(found.filename.replace("\\", "/")).name.strip()
    name = sanitize_filename(original) or "vedlegg.xlsx"
    if original.startswith("~$"):
        if not found.content.startswith(ZIP_MAGIC):
            return FetchedFile(name, found.sender, LEFT_OUT, tr(
                "en låsefil fra Excel (~$…), ikke et skjema; ikke lagret",
                "a lock file from Excel (~$…), not a form; not stored"))
        name = sanitize_filename(original[2:]) or "vedlegg.xlsx"  # a real workbook: collect would skip «~$»
    if digest in known:
        return FetchedFile(name, found.sender, ALREADY_HERE,
                           tr("samme fil er allerede mottatt", "the same file was received before"))
    problem = (authentication_problem(found.authentication)
               or sender_problem(master, found.content, found.sender, key))
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
              progress: Callable[[str], None] | None = None, master: Master | None = None) -> FetchResult:
    """Open the configured backend and fetch through it (the first step of `collect --from-mailbox`)."""
    from samtale_automation.backends import BackendContext, open_backend
    from samtale_automation.config import require_config

    backend = open_backend(BackendContext(workspace.folder, require_config(workspace.folder.config), workspace.now))
    try:
        result = fetch_from_mailbox(workspace, backend, dry_run=dry_run, progress=progress or (lambda _: None),
                                    master=master)
    finally:
        backend.close()
    result.backend = backend.name
    return result
