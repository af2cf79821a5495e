"""`samtale prep`: plan and write each conversation's prep files (DESIGN.md §3, §5).

Planning is pure (plans.prep); the files' places are prepfile.locations; writing goes through
prepfile.write (XlsxWriter), in two processes for big batches (prepfile.parallel).
A file that exists is never overwritten; `--force` re-issues it after moving the old one to
`.samtale/backups/`.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.commands.results import PrepResult
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import PrepContent
from samtale_automation.paths import Folder, make_private_dir
from samtale_automation.plans.prep import PrepPlan, plan_prep
from samtale_automation.prepfile.locations import SUFFIX, prep_path
from samtale_automation.prepfile.parallel import in_parallel, run_jobs
from samtale_automation.texts import count, tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def _write_one(job: tuple[Path, PrepContent, bytes]) -> tuple[Path, str]:
    from samtale_automation.prepfile.write import write_prep

    path, content, key = job
    return path, hashlib.sha256(write_prep(path, content, key)).hexdigest()  # the bytes now in the file


def write_plan(plan: PrepPlan, folder: Folder, key: bytes) -> list[tuple[Path, str]]:
    """Write every planned file (moving re-issued ones to backups first); return (path, sha256)."""
    stamp = datetime.now(OSLO).strftime("%Y%m%d-%H%M%S")  # real time: two re-issues on one --today keep both
    for item in plan.files:
        make_private_dir(item.path.parent)
        if item.reissue and item.path.exists():
            backup_dir = folder.backups / "forberedelse"
            backup_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(str(item.path), backup_dir / f"{stamp} {item.path.name}")
    return run_jobs(_write_one, [((item.path, item.content, key),) for item in plan.files])


def run_prep(workspace: Workspace, employee_ids: Iterable[str] = (), *, force: bool = False,
             dry_run: bool = False, who: str = "samtale", write: bool = True) -> PrepResult:
    """Plan, write and record the round's prep files (the one call the CLI, buttons and demo make).

    The result holds the plan and how writing its Logg row to the workbook went (None when
    nothing was written). With `write` False the Logg row is left pending in the journal for the
    caller's own write of the workbook (invite makes missing files first: one write per run).
    """
    from samtale_automation.domain.changeset import ChangeSet
    from samtale_automation.domain.schema import LOG

    master = workspace.load()
    folder, round_name = workspace.folder, master.current_round().name
    plan = plan_prep(master, lambda employee, variant: prep_path(folder, round_name, employee, SUFFIX[variant]),
                     Path.exists, employee_ids, force)
    result = PrepResult(plan, folder.root, dry_run=dry_run)
    if dry_run or not plan.files:
        return result
    key = workspace.folder.key.read_bytes()
    # With the workers writing, the master for the Logg row is loaded meanwhile (only read; the
    # row is written after every file is written and recorded, as before). In one process the
    # two would only take turns.
    ahead = ThreadPoolExecutor(1) if write and in_parallel(len(plan.files)) else None
    preloading = ahead.submit(workspace.preload) if ahead else None
    try:
        written = write_plan(plan, workspace.folder, key)
        preloaded = preloading.result() if preloading else None
    finally:
        if ahead:
            ahead.shutdown()
    root = workspace.folder.root
    with workspace.journal() as journal:
        journal.record_prep_files([
            (path.relative_to(root).as_posix(), item.content.identity.conversation_id,
             item.content.identity.variant, digest)
            for item, (path, digest) in zip(plan.files, written, strict=True)], made=workspace.now)
    log = ChangeSet(tr("Forberedelsesskjema laget", "Prep files made"))
    conversations = len({item.content.identity.conversation_id for item in plan.files})
    log.append(LOG.table, time=workspace.now.replace(tzinfo=None, microsecond=0),
               event=tr("Forberedelsesskjema laget", "Prep files made"), who=who,
               result=tr(f"{count(len(plan.files), 'fil', 'filer', '', '')} for "
                         f"{count(conversations, 'samtale', 'samtaler', '', '')}",
                         f"{count(len(plan.files), '', '', 'file', 'files')} for "
                         f"{count(conversations, '', '', 'conversation', 'conversations')}"))
    if write:
        result.apply = workspace.commit(log, preloaded)
    else:
        workspace.record(log)
    return result
