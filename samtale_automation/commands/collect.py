"""`samtale collect`: bring returned files from innkommende/ into the master workbook (DESIGN.md §3–§6).

Order of work, so that a crash at any point loses nothing and a re-run converges:
0. with --from-mailbox, first fetch returned files from the mailbox into innkommende/ (commands.fetch);
1. read every file in innkommende/ (files still being written are left for the next run);
2. plan: one ChangeSet and a decision per file (plans.consolidate.plan_collect, pure);
3. record the ChangeSet in the journal as pending;
4. write the managers' conversation guides;
5. per file: record the outcome in the journal, then MOVE it to arkiv/ or karantene/ (a rename:
   the file is always in exactly one place, byte-identical);
6. apply pending ChangeSets to the workbook (or leave them pending, with the reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.fetch import run_fetch
from samtale_automation.commands.incoming import free_name, ignored_reason, move_file, write_quarantine_note
from samtale_automation.commands.results import CollectResult
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import MANAGER
from samtale_automation.paths import ARCHIVE_DIR, INCOMING_DIR, QUARANTINE_DIR, make_private_dir, sanitize_filename
from samtale_automation.plans.consolidate import ACCEPTED, QUARANTINED, Arrival, CollectPlan, Counted, plan_collect
from samtale_automation.plans.prep import build_content
from samtale_automation.prepfile.locations import GUIDE_SUFFIX, prep_path
from samtale_automation.prepfile.parallel import run_jobs
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def _stable_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None while it is still being written (changing, or locked by its writer)."""
    try:
        before = path.stat()
        with open(path, "r+b") as handle:  # fails while Windows' writer holds it
            data = handle.read()
        after = path.stat()
    except (PermissionError, FileNotFoundError):
        return None
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size:
        return None
    return data


def read_incoming(workspace: Workspace, max_questions: int) -> tuple[list[tuple[Path, Arrival]], list[tuple[str, str]]]:
    """Read every file in innkommende/: (path, Arrival) pairs, and (name, why) for files left alone."""
    from samtale_automation.prepfile.read import read_returned
    from samtale_automation.prepfile.rejections import RejectedFile

    incoming = workspace.folder.root / INCOMING_DIR
    key = workspace.folder.key.read_bytes()
    arrivals: list[tuple[Path, Arrival]] = []
    ignored: list[tuple[str, str]] = []
    for path in sorted(incoming.iterdir()) if incoming.is_dir() else []:
        why = ignored_reason(path)
        if why:
            ignored.append((path.name, why))
            continue
        data = _stable_bytes(path)
        if data is None:
            ignored.append((path.name, tr("skrives fortsatt; tas neste gang", "still being written; next run")))
            continue
        arrived = datetime.fromtimestamp(path.stat().st_mtime, OSLO)
        digest = hashlib.sha256(data).hexdigest()
        try:
            returned = read_returned(path, key, max_questions_default=max_questions)
        except RejectedFile as exc:
            arrivals.append((path, Arrival(path.name, digest, arrived, None, exc.reason)))
        else:
            arrivals.append((path, Arrival(path.name, digest, arrived, returned)))
    return arrivals, ignored


def _counted(rows: list[dict[str, object]]) -> list[Counted]:
    return [Counted(str(r["conversation_id"]), str(r["variant"]), datetime.fromisoformat(str(r["saved"])),
                    bool(r["has_prep"]), bool(r["has_minutes"]), bool(r["manager_signed"]))
            for r in rows if r["conversation_id"] and r["saved"]]


def run_collect(workspace: Workspace, *, from_mailbox: bool = False, dry_run: bool = False, who: str = "samtale",
                progress: Callable[[str], None] | None = None,
                fetch_progress: Callable[[str], None] | None = None) -> CollectResult:
    """Collect returned files: fetch, plan, record, write guides, move files, apply (see the module's steps)."""
    fetched = run_fetch(workspace, dry_run=dry_run, progress=fetch_progress) if from_mailbox else None
    master = workspace.load()
    arrivals, ignored = read_incoming(workspace, master.settings.max_questions)
    with workspace.journal() as journal:
        accepted = journal.received(ACCEPTED)
    seen = {str(r["sha256"]) for r in accepted}
    plan = plan_collect(master, [a for _, a in arrivals], _counted(accepted), seen, workspace.now, who)
    result = CollectResult(plan, workspace.folder.root, dry_run=dry_run, ignored=ignored, fetched=fetched)
    if dry_run:
        return result
    paths = {arrival.sha256 + arrival.name: path for path, arrival in arrivals}
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M%S")  # real time: when the files were filed
    moves: list[tuple[Path, Path, str | None]] = []  # (from, to, quarantine reason)
    rows = []
    for decision in plan.decisions:
        arrival = decision.arrival
        returned = arrival.returned
        if decision.outcome == QUARANTINED:
            target = free_name(workspace.folder.root / QUARANTINE_DIR, f"{stamp} {arrival.name}",
                                taken={t for _, t, _ in moves})
        else:
            assert decision.conversation is not None
            conv = decision.conversation
            target = free_name(workspace.folder.root / ARCHIVE_DIR / sanitize_filename(conv.round)
                                / sanitize_filename(conv.employee_id), f"{stamp} {arrival.name}",
                                taken={t for _, t, _ in moves})
        moves.append((paths[arrival.sha256 + arrival.name], target,
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
    for source, target, reason in moves:
        if reason is not None:
            write_quarantine_note(target, source.name, reason)
        move_file(source, target)
        result.moved.append((source.name, target))
        if progress:
            progress(source.name)
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


