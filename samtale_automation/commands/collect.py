"""`samtale collect`: bring returned files from innkommende/ into the master workbook (DESIGN.md §3–§6).

Order of work, so that a crash at any point loses nothing and a re-run converges:
0. with --from-mailbox, first fetch returned files from the mailbox into innkommende/ (commands.fetch);
1. read every file in innkommende/ (files still being written are left for the next run); a file
   over the size limit is hashed but never held in memory;
2. plan: one ChangeSet and a decision per file (plans.consolidate.plan_collect, pure);
3. record the ChangeSet in the journal as pending;
4. write the managers' conversation guides;
5. per file: record the outcome in the journal, then MOVE it to arkiv/ or karantene/ (a rename:
   the file is always in exactly one place, byte-identical);
6. apply pending ChangeSets to the workbook (or leave them pending, with the reason).

Returned files are untrusted (DESIGN.md §11): whatever reading or planning one file raises sends
that file to karantene/ with a reason and the run goes on with the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.fetch import run_fetch
from samtale_automation.commands.incoming import (
    free_name,
    ignored_reason,
    move_file,
    shown_name,
    write_quarantine_note,
)
from samtale_automation.commands.missing_pdfs import make_missing_pdfs
from samtale_automation.commands.results import CollectResult
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import MANAGER
from samtale_automation.paths import ARCHIVE_DIR, INCOMING_DIR, QUARANTINE_DIR, make_private_dir, sanitize_filename
from samtale_automation.plans.consolidate import ACCEPTED, QUARANTINED, Arrival, CollectPlan, Counted, plan_collect
from samtale_automation.plans.prep import build_content
from samtale_automation.prepfile.locations import GUIDE_SUFFIX, prep_path
from samtale_automation.prepfile.parallel import run_jobs
from samtale_automation.prepfile.rejections import reason
from samtale_automation.prepfile.untrusted_xlsx import MAX_FILE_BYTES
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.master import Master




_CHUNK = 1024 * 1024


def _stable_bytes(path: Path) -> tuple[bytes, str] | None:
    """The file's bytes (at most MAX_FILE_BYTES + 1 of them: more is refused unread) and the sha256 of all
    of it, or None while it is still being written (changing, or locked by its writer)."""
    try:
        before = path.stat()
        digest = hashlib.sha256()
        size = 0
        with open(path, "r+b") as handle:  # fails while Windows' writer holds it
            data = handle.read(min(before.st_size, MAX_FILE_BYTES) + 1)
            digest.update(data)
            size = len(data)
            while chunk := handle.read(_CHUNK):  # a huge file is hashed, never held in memory
                digest.update(chunk)
                size += len(chunk)
        after = path.stat()
    except (PermissionError, FileNotFoundError):
        return None
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or size != after.st_size:
        return None
    return data, digest.hexdigest()


def read_incoming(workspace: Workspace, max_questions: int,
                  issued: dict[tuple[str, str], datetime] | None = None,
                  ) -> tuple[list[tuple[Path, Arrival]], list[tuple[str, str]]]:
    """Read every file in innkommende/: (path, Arrival) pairs, and (name, why) for files left alone.

    `issued` gives when the forms were made, by (conversation, variant); a file's own saved time
    before that is not believed (plans/consolidate.py).
    """
    incoming = workspace.folder.root / INCOMING_DIR
    key = workspace.folder.key.read_bytes()
    arrivals: list[tuple[Path, Arrival]] = []
    ignored: list[tuple[str, str]] = []
    for path in sorted(incoming.iterdir()) if incoming.is_dir() else []:
        name = shown_name(path.name)
        why = ignored_reason(path)
        if why:
            ignored.append((name, why))
            continue
        try:
            read = _stable_bytes(path)
            arrived = datetime.fromtimestamp(path.stat().st_mtime, OSLO) if read else None
        except OSError as exc:  # unreadable now (a network folder went away…): left for the next run
            ignored.append((name, tr(f"kunne ikke leses ({exc.strerror or type(exc).__name__}); tas neste gang",
                                     f"could not be read ({exc.strerror or type(exc).__name__}); next run")))
            continue
        if read is None or arrived is None:
            ignored.append((name, tr("skrives fortsatt; tas neste gang", "still being written; next run")))
            continue
        data, digest = read
        arrivals.append((path, _arrival(name, digest, arrived, data, key, max_questions, issued or {})))
    return arrivals, ignored


def _arrival(name: str, digest: str, arrived: datetime, data: bytes, key: bytes, max_questions: int,
             issued: dict[tuple[str, str], datetime]) -> Arrival:
    """Read one file into an Arrival; nothing it raises leaves here (a rejection names the reason)."""
    from samtale_automation.prepfile.read import read_returned
    from samtale_automation.prepfile.rejections import RejectedFile

    try:
        returned = read_returned(data, key, max_questions_default=max_questions)
    except RejectedFile as exc:
        return Arrival(name, digest, arrived, None, exc.reason)
    except Exception as exc:  # read_returned turns every failure into RejectedFile; this is the last guard
        return Arrival(name, digest, arrived, None, reason("read_error", detail=type(exc).__name__))
    identity = returned.identity
    return Arrival(name, digest, arrived, returned, issued=issued.get((identity.conversation_id, identity.variant)))


def _parse_time(value: object) -> datetime | None:
    """An aware time from the journal; None when it is not one."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _counted(rows: list[dict[str, object]]) -> list[Counted]:
    """Returns counted before; a saved time recorded by an older version after the file arrived is capped."""
    counted = []
    for r in rows:
        saved = _parse_time(r["saved"]) if r["conversation_id"] and r["saved"] else None
        if saved is None:
            continue
        received = _parse_time(r.get("received_at"))
        counted.append(Counted(str(r["conversation_id"]), str(r["variant"]),
                               min(saved, received) if received else saved,
                               bool(r["has_prep"]), bool(r["has_minutes"]), bool(r["manager_signed"])))
    return counted


def _plan(master: Master, arrivals: list[tuple[Path, Arrival]], counted: list[Counted], seen: set[str],
          now: datetime, who: str) -> tuple[CollectPlan, dict[int, Path]]:
    """plan_collect, with any file whose planning raises quarantined instead (the others go on); and each
    planned arrival's path, by the arrival's identity (two files may show the same name and bytes)."""
    try:
        plan = plan_collect(master, [a for _, a in arrivals], counted, set(seen), now, who)
    except Exception:
        safe = []
        for path, arrival in arrivals:
            try:
                plan_collect(master, [arrival], counted, set(seen), now, who)
            except Exception as exc:
                arrival = replace(arrival, returned=None, issued=None,
                                  rejection=reason("plan_error", detail=type(exc).__name__))
            safe.append((path, arrival))
        arrivals = safe
        plan = plan_collect(master, [a for _, a in arrivals], counted, set(seen), now, who)
    return plan, {id(arrival): path for path, arrival in arrivals}


def run_collect(workspace: Workspace, *, from_mailbox: bool = False, dry_run: bool = False, who: str = "samtale",
                progress: Callable[[str], None] | None = None,
                fetch_progress: Callable[[str], None] | None = None) -> CollectResult:
    """Collect returned files: fetch, plan, record, write guides, move files, apply (see the module's steps)."""
    master = workspace.load()  # the one read: fetch only places files, the workbook is the same for both
    fetched = run_fetch(workspace, dry_run=dry_run, progress=fetch_progress, master=master) if from_mailbox else None
    with workspace.journal() as journal:
        accepted = journal.received(ACCEPTED)
        issued = journal.first_issued()
    arrivals, ignored = read_incoming(workspace, master.settings.max_questions, issued)
    seen = {str(r["sha256"]) for r in accepted}
    plan, paths = _plan(master, arrivals, _counted(accepted), seen, workspace.now, who)
    result = CollectResult(plan, workspace.folder.root, dry_run=dry_run, ignored=ignored, fetched=fetched)
    if dry_run:
        return result
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M%S")  # real time: when the files were filed
    moves: list[tuple[Path, str, Path, str | None]] = []  # (from, name shown, to, quarantine reason)
    rows = []
    for decision in plan.decisions:
        arrival = decision.arrival
        returned = arrival.returned
        if decision.outcome == QUARANTINED:
            target = free_name(workspace.folder.root / QUARANTINE_DIR, f"{stamp} {arrival.name}",
                                taken={t for _, _, t, _ in moves})
        else:
            assert decision.conversation is not None
            conv = decision.conversation
            target = free_name(workspace.folder.root / ARCHIVE_DIR / sanitize_filename(conv.round)
                                / sanitize_filename(conv.employee_id), f"{stamp} {arrival.name}",
                                taken={t for _, _, t, _ in moves})
        moves.append((paths[id(arrival)], arrival.name, target,
                      decision.reason if decision.outcome == QUARANTINED else None))
        rows.append({"sha256": arrival.sha256, "name": arrival.name, "outcome": decision.outcome,
                     "conversation_id": returned.identity.conversation_id if returned else None,
                     "variant": returned.identity.variant if returned else None,
                     "saved": arrival.saved.isoformat(), "has_prep": decision.counts_prep,
                     "has_minutes": decision.counts_minutes,
                     "manager_signed": bool(returned and returned.identity.variant == MANAGER
                                            and returned.signed_manager_date),
                     "destination": target.relative_to(workspace.folder.root).as_posix()})
    # Intent first, in one transaction: a crash after this leaves files in innkommende/ that the
    # next run finds recorded (an accepted one is then a duplicate) while the pending ChangeSet
    # carries their changes, so nothing is lost and nothing is counted twice.
    with workspace.journal() as journal:
        journal.record_collect(plan.changeset if plan.changeset else None, rows)
    result.guides = _write_guides(workspace, master, plan)
    result.signing_files, result.signing_failed = _write_signing_files(workspace, master, plan)
    again, failed_again = make_missing_pdfs(workspace, master)  # a PDF an earlier collect could not write
    result.signing_files += again
    result.signing_failed += failed_again
    for source, name, target, why in moves:
        if why is not None:
            write_quarantine_note(target, name, why)
        move_file(source, target)
        result.moved.append((name, target))
        if progress:
            progress(name)
    result.apply = workspace.commit(None)
    return result


def _write_guides(workspace: Workspace, master: object, plan: CollectPlan) -> list[Path]:
    from samtale_automation.domain.master import Master
    from samtale_automation.prepfile.guide import make_guide
    from samtale_automation.prepfile.write import write_guide

    assert isinstance(master, Master)
    jobs = []
    for decision in plan.guides:
        conv, returned = decision.conversation, decision.arrival.returned
        assert conv is not None and returned is not None
        employee = master.employees.get(conv.employee_id)
        if employee is None or conv.manager_id not in master.employees:
            continue
        content = build_content(master, conv, MANAGER)
        path = prep_path(workspace.folder, conv.round, employee, GUIDE_SUFFIX)
        make_private_dir(path.parent)
        jobs.append((path, make_guide(content, returned)))
    run_jobs(write_guide, jobs)
    return [path for path, _ in jobs]




def _write_signing_files(workspace: Workspace, master: Master, plan: CollectPlan
                         ) -> tuple[list[tuple[str, Path]], list[tuple[Path, str]]]:
    """Write the fresh copies for finalising and countersigning, and the signed PDFs (plans/signing_files.py);
    one that cannot be written is named with why, and the others and the rest of the run go on."""
    from samtale_automation.plans.signing_files import SIGNED_PDF, signing_files
    from samtale_automation.prepfile.locations import COPY_SUFFIX, signed_pdf_path
    from samtale_automation.prepfile.signed_pdf import write_signed_pdf
    from samtale_automation.prepfile.write import write_prep

    key = workspace.folder.key.read_bytes()
    written, failed = [], []
    for item in signing_files(master, plan):
        if item.kind == SIGNED_PDF:
            path = signed_pdf_path(workspace.folder, item.round, item.employee_id, item.conversation_id)
        else:
            path = prep_path(workspace.folder, item.round, master.employees[item.employee_id],
                             COPY_SUFFIX[item.content.identity.variant])
        try:
            make_private_dir(path.parent)
            if item.kind == SIGNED_PDF:
                write_signed_pdf(path, item.content)
            else:
                write_prep(path, item.content, key)
        except Exception as exc:  # content from a returned file: this one file, never the run
            failed.append((path, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        written.append((item.kind, path))
    return written, failed
