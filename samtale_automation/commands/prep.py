"""`samtale prep`: plan and write each conversation's prep files (DESIGN.md §3, §5).

Planning is pure: register + what exists on disk → which files to write and why others are
skipped. Writing goes through prepsheets (XlsxWriter), in two processes for big batches.
A file that exists is never overwritten; `--force` re-issues it after moving the old one to
`.samtale/backups/`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import Conversation, Employee, Question
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, Identity, PastAction, PrepContent, PrepQuestion
from samtale_automation.domain.schema import TOPICS
from samtale_automation.domain.workdays import prep_deadline
from samtale_automation.paths import NO_DEPARTMENT, PREP_DIR, Folder, make_private_dir, sanitize_filename
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.workbook.apply import ApplyResult

SUFFIX = {EMPLOYEE: "forberedelse", MANAGER: "leder"}
GUIDE_SUFFIX = "samtaleguide"
PARALLEL_FROM = 24  # below this, starting a second process costs more than it saves
R = TypeVar("R")


@dataclass(frozen=True)
class PrepFile:
    """One file to write: where, for which conversation and variant, with what content."""

    path: Path
    content: PrepContent
    reissue: bool = False  # an existing file is moved to backups first (--force)


@dataclass
class PrepPlan:
    """What `samtale prep` will do."""

    files: list[PrepFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)


def conversation_folder(folder: Folder, round_name: str, employee: Employee) -> Path:
    """`forberedelse/<round>/<department or «Uten avdeling»>/`."""
    department = sanitize_filename(employee.department) if employee.department else NO_DEPARTMENT
    return folder.root / PREP_DIR / sanitize_filename(round_name) / department


def prep_path(folder: Folder, round_name: str, employee: Employee, suffix: str) -> Path:
    """`<AnsattID> <Navn> - <suffix>.xlsx` in the conversation's folder."""
    name = sanitize_filename(f"{employee.employee_id} {employee.name} - {suffix}.xlsx")
    return conversation_folder(folder, round_name, employee) / name


def applicable_questions(master: Master, employee: Employee, lang: str) -> tuple[PrepQuestion, ...]:
    """The active questions whose Gjelder includes the employee, grouped in topic order."""
    order = {topic.key: index for index, topic in enumerate(TOPICS)}
    labels = {topic.key: topic.label(lang) for topic in TOPICS}
    chosen: list[Question] = [q for q in master.questions if q.active and q.topic in order and q.applies(employee)]
    chosen.sort(key=lambda q: order[q.topic])  # stable: menu order within a topic
    return tuple(PrepQuestion(q.question_id, q.topic, labels[q.topic], q.text, q.follow_ups, q.mandatory)
                 for q in chosen)


def past_actions(master: Master, conv: Conversation) -> tuple[PastAction, ...]:
    """The employee's actions from earlier conversations, for their own assessment."""
    actions = [a for a in master.actions.values()
               if a.employee_id == conv.employee_id and a.conversation_id != conv.conversation_id]
    actions.sort(key=lambda a: a.action_id)
    return tuple(PastAction(a.action_id, a.description, a.goal, a.deadline, a.status) for a in actions)


def build_content(master: Master, conv: Conversation, variant: str) -> PrepContent:
    """Assemble one prep file's content: the employee's own data and the manager's name and e-mail."""
    employee = master.employees[conv.employee_id]
    manager = master.employees[conv.manager_id]
    lang = (employee if variant == EMPLOYEE else manager).language
    settings = master.settings
    deadline = prep_deadline(conv.start.date(), settings.prep_deadline_days) if conv.start else None
    return PrepContent(
        identity=Identity(conv.conversation_id, conv.employee_id, variant, conv.round),
        lang=lang,
        company=settings.company,
        employee_name=employee.name,
        manager_name=manager.name,
        manager_email=manager.email,
        start=conv.start,
        place=conv.place,
        prep_deadline=deadline,
        minutes_deadline_days=settings.minutes_deadline_days,
        max_questions=settings.max_questions,
        questions=applicable_questions(master, employee, lang),
        past_actions=past_actions(master, conv),
        department=employee.department,
        title=employee.title,
    )


def plan_prep(master: Master, folder: Folder, employee_ids: Iterable[str] = (), force: bool = False) -> PrepPlan:
    """Plan the prep files of the current round (all, or the named employees')."""
    plan = PrepPlan()
    wanted = set(employee_ids)
    current = master.current_round()
    if not current.name:
        plan.skipped.append((tr("runden", "the round"),
                             tr("ingen samtalerunde er satt; kjør «samtale round new»",
                                "no round is set; run «samtale round new»")))
        return plan
    known = {c.employee_id for c in current.conversations}
    for missing in sorted(wanted - known):
        plan.skipped.append((missing, tr(f"har ingen samtale i runde {current.name}",
                                         f"has no conversation in round {current.name}")))
    for conv in sorted(current.conversations, key=lambda c: c.conversation_id):
        if wanted and conv.employee_id not in wanted:
            continue
        if conv.cancelled:
            plan.skipped.append((conv.conversation_id, tr("avlyst", "cancelled")))
            continue
        employee = master.employees.get(conv.employee_id)
        if employee is None or conv.manager_id not in master.employees:
            plan.skipped.append((conv.conversation_id, tr("ansatt eller leder finnes ikke i Ansatte",
                                                          "employee or manager not in Ansatte")))
            continue
        for variant in (EMPLOYEE, MANAGER):
            path = prep_path(folder, current.name, employee, SUFFIX[variant])
            returned = conv.prep_returned if variant == EMPLOYEE else conv.manager_prepared
            if path.exists() and not force:
                why = tr("allerede levert tilbake", "already returned") if returned else tr(
                    "finnes allerede (bruk --force for å lage den på nytt)", "exists already (use --force to re-issue)")
                plan.skipped.append((path.name, why))
                continue
            plan.files.append(PrepFile(path, build_content(master, conv, variant), reissue=path.exists()))
    return plan


def _write_one(job: tuple[Path, PrepContent, bytes]) -> tuple[Path, str]:
    from samtale_automation.prepfile.write import write_prep

    path, content, key = job
    write_prep(path, content, key)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _star(call: tuple[Callable[..., R], tuple[Any, ...]]) -> R:
    function, args = call
    return function(*args)


def run_jobs(function: Callable[..., R], jobs: list[tuple[Any, ...]]) -> list[R]:
    """Call `function(*job)` for each job, in two processes when the batch is big enough to pay for it."""
    if len(jobs) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [function(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(_star, [(function, job) for job in jobs], chunksize=16))


def write_plan(plan: PrepPlan, folder: Folder, key: bytes, now: datetime) -> list[tuple[Path, str]]:
    """Write every planned file (moving re-issued ones to backups first); return (path, sha256)."""
    for item in plan.files:
        make_private_dir(item.path.parent)
        if item.reissue and item.path.exists():
            backup_dir = folder.backups / "forberedelse"
            backup_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(str(item.path), backup_dir / f"{now:%Y%m%d-%H%M%S} {item.path.name}")
    return run_jobs(_write_one, [((item.path, item.content, key),) for item in plan.files])


def run_prep(workspace: Workspace, employee_ids: Iterable[str] = (), *, force: bool = False,
             dry_run: bool = False, who: str = "samtale") -> tuple[PrepPlan, ApplyResult | None]:
    """Plan, write and record the round's prep files (the one call the CLI, buttons and demo make).

    Returns the plan and the result of writing its Logg row to the workbook (None when nothing
    was written).
    """
    from samtale_automation.domain.changeset import ChangeSet
    from samtale_automation.domain.schema import LOG

    master = workspace.load()
    plan = plan_prep(master, workspace.folder, employee_ids, force)
    if dry_run or not plan.files:
        return plan, None
    key = workspace.folder.key.read_bytes()
    written = write_plan(plan, workspace.folder, key, workspace.now)
    root = workspace.folder.root
    with workspace.journal() as journal:
        journal.record_prep_files([
            (path.relative_to(root).as_posix(), item.content.identity.conversation_id,
             item.content.identity.variant, digest)
            for item, (path, digest) in zip(plan.files, written, strict=True)])
    log = ChangeSet(tr("Forberedelsesskjema laget", "Prep files made"))
    conversations = len({item.content.identity.conversation_id for item in plan.files})
    log.append(LOG.table, time=workspace.now.replace(tzinfo=None, microsecond=0),
               event=tr("Forberedelsesskjema laget", "Prep files made"), who=who,
               result=tr(f"{len(plan.files)} filer for {conversations} samtaler",
                         f"{len(plan.files)} files for {conversations} conversations"))
    return plan, workspace.commit(log)
