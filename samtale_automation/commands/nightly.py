"""`samtale nightly`: the night's work in one command that a scheduler starts (DESIGN.md §8).

An orchestrator. Steps, in order, each isolated (a failure is logged and the others go on):
fetch (when the backend reads a mailbox) → collect → remind → retention → HR's digest → write.
The master is read ONCE (NightWorkspace caches the read and lays pending changes over it) and
saved ONCE at the end (the write step adds the night's Logg row, applies everything pending and
refreshes Oversikt, so days left are current every morning); when
the workbook is locked the changes stay pending, the reminders still follow them, and HR is told
once they have waited more than a day. It never asks: installing it is the consent to send.

Overlap: a second run that finds the folder's run lock held by another nightly says «kjører allerede» and exits 0
while the first is within its time budget (Innstillinger «Tidsbudsjett nattkjøring (minutter)»,
default 30), and exits 1 with an alarm mail to HR once the first has overrun it. A run that uses
up its budget stops cleanly between steps. A person's command holding the folder (collect, invite…)
is waited for (SAMTALE_NIGHTLY_WAIT seconds, default 300) rather than skipping the night. Every run
writes one summary line to the log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from samtale_automation import logs
from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.deliver import dispatch, sending_mailbox
from samtale_automation.commands.fetch import TO_QUARANTINE, fetch_from_mailbox
from samtale_automation.commands.hr_mail import hr_input, hr_outgoing
from samtale_automation.commands.remind import run_remind
from samtale_automation.commands.results import RemindResult
from samtale_automation.commands.results_night import (
    NIGHT_FAILED,
    NIGHT_OK,
    NIGHT_SKIPPED,
    NightlyResult,
    NightStep,
    said,
)
from samtale_automation.commands.workspace import Workspace
from samtale_automation.config import require_config
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master, parse_master
from samtale_automation.domain.messages import SENT, Cap
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.rows import RawWorkbook
from samtale_automation.domain.schema import LOG
from samtale_automation.errors import RunLockedError, SamtaleError, WorkbookLockedError
from samtale_automation.paths import ARCHIVE_DIR, OUTBOX_DIR, PREP_DIR
from samtale_automation.plans.consolidate import QUARANTINED
from samtale_automation.plans.hr_digest import HrDigest, HrInput, alarm_digest, plan_hr_digest
from samtale_automation.plans.nightly import OVERRUN, lock_verdict, over_budget
from samtale_automation.plans.retention import plan_retention
from samtale_automation.safe_write import assert_writable
from samtale_automation.store.lockholder import holder_path, read_holder
from samtale_automation.store.messages import MessageStore
from samtale_automation.store.runlock import run_lock
from samtale_automation.texts import count, delivered_word, tr
from samtale_automation.workbook.apply import ApplyResult, Preloaded
from samtale_automation.workbook.read import read_workbook

#: How long a nightly run waits for a person's command that holds the folder (seconds, default 300).
PERSON_WAIT_ENV = "SAMTALE_NIGHTLY_WAIT"


@dataclass
class NightWorkspace(Workspace):
    """A Workspace that reads the master once and saves it once: steps record, `write` applies."""

    raw: RawWorkbook | None = None
    parsed: tuple[tuple[str, ...], Master] | None = None  # the last parse, by the pending changes it holds

    def load(self, *, with_pending: bool = True) -> Master:
        """The master as read at the start of the run, with what is pending now laid over it.

        A step that only added Logg rows since the last load (the parser reads no Logg) gets the
        last parse again, with the new raw rows: parsing 1,000 employees and 10,000 actions costs
        about half a second, and the night's steps load five times."""
        if self.raw is None:
            self.raw = read_workbook(self.folder.master())
        raw, pending = self.pending_overlay(self.raw) if with_pending else (self.raw, [])
        parsed_from = (*sorted(raw.tables), "|", *(
            c.id for c in pending if any(change.table != LOG.table for change in c.changes)))
        if self.parsed is None or self.parsed[0] != parsed_from:
            self.parsed = (parsed_from, parse_master(raw))
        last = self.parsed[1]
        # Steps change what they load; each gets its own containers over the shared parse.
        return replace(last, raw=raw, problems=list(last.problems), employees=dict(last.employees),
                       conversations=dict(last.conversations), actions=dict(last.actions),
                       questions=list(last.questions), rooms=dict(last.rooms))

    def commit(self, changeset: ChangeSet | None, preloaded: Preloaded | None = None) -> ApplyResult:
        """Record the ChangeSet as pending; the run's single write applies it (and loads the master then)."""
        self.record(changeset)
        return ApplyResult()

    def preload(self) -> Preloaded | None:
        """Nothing: the night's one write comes at the end of the run and loads the master then."""
        return None

    def write(self) -> ApplyResult:
        """The run's one save: apply everything pending (Oversikt refreshed), or leave it pending with why."""
        return Workspace.commit(self, None)


@dataclass
class _Night:
    """What the steps share during one run."""

    workspace: NightWorkspace
    dry_run: bool
    who: str
    context: BackendContext | None = None  # the backend's settings and TLS trust (tests inject a private CA)
    quarantined: list[str] = field(default_factory=list)  # where fetch put files tonight (collect's are journaled)
    remind: RemindResult | None = None
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


# real time: `clock` measures the run against its budget and the lock holder's start (tests move it)
def run_nightly(workspace: Workspace, *, dry_run: bool = False, who: str = "samtale",
                clock: Callable[[], float] = time.time, lock_wait: float = 0.0,
                context: BackendContext | None = None) -> NightlyResult:
    """Run the night's steps under the run lock (see the module); `clock` is the real time (tests move it)."""
    night = NightWorkspace(workspace.folder, workspace.now)
    result = NightlyResult(dry_run=dry_run)
    started = clock()
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(run_lock(night.folder.run_lock, "nightly", wait_seconds=lock_wait))
        except RunLockedError:
            _, holder = read_holder(holder_path(night.folder.run_lock))
            if holder is None or holder.command == "nightly":
                return _second_run(night, result, clock())
            # A person's command (collect, invite…) is working: wait for it rather than skip the night.
            wait = float(os.environ.get(PERSON_WAIT_ENV, "300"))
            try:
                stack.enter_context(run_lock(night.folder.run_lock, "nightly", wait_seconds=wait))
            except RunLockedError:
                return _second_run(night, result, clock())
        # The run's one read, under the lock (a command that held it may just have written the workbook);
        # a missing or unreadable workbook stops here (exit 3).
        master = night.load()
        budget = master.settings.nightly_budget_minutes * 60
        result.budget_minutes = master.settings.nightly_budget_minutes
        run_id = 0
        if not dry_run:
            with night.journal() as journal:
                run_id = journal.start_run("nightly")
        state = _Night(night, dry_run, who, context)
        steps: list[tuple[str, Callable[[], NightStep]]] = [
            ("fetch", lambda: _fetch(state)), ("collect", lambda: _collect(state, result)),
            ("remind", lambda: _remind(state, result)), ("retention", lambda: _retention(state, result)),
            ("hr", lambda: _hr(state, result)), ("write", lambda: _write(state, result))]
        for name, step in steps:
            if over_budget(started, clock(), budget):
                result.stopped_at_budget = True
                result.steps.append(NightStep(name, NIGHT_SKIPPED, tr("tidsbudsjettet er brukt opp",
                                                                      "the time budget is used up")))
                continue
            result.steps.append(_isolated(name, step, state))
        result.seconds = clock() - started
        if not dry_run:
            with night.journal() as journal:
                journal.finish_run(run_id, "failed" if state.failed else "pending" if result.blocked else "ok")
    _log(night, result)
    return result


def _isolated(name: str, step: Callable[[], NightStep], state: _Night) -> NightStep:
    """Run one step; whatever it raises is its failure, and the run goes on."""
    started = time.perf_counter()
    try:
        done = step()
    except Exception as exc:  # one step's failure never stops the others (the log and HR get it)
        why = exc.message if isinstance(exc, SamtaleError) else f"{type(exc).__name__}: {exc}"
        state.failed.append((name, why))
        done = NightStep(name, NIGHT_FAILED, why, error=exc)
    done.seconds = time.perf_counter() - started
    return done


def _fetch(state: _Night) -> NightStep:
    """Fetch returned files from the mailbox when the backend reads one."""
    ws = state.workspace
    backend = open_backend(state.context or BackendContext(ws.folder, require_config(ws.folder.config), ws.now))
    try:
        if Cap.READ_INBOX not in backend.capabilities:
            return NightStep("fetch", NIGHT_SKIPPED, tr(f"backend {backend.name} leser ingen postkasse",
                                                        f"the {backend.name} backend reads no mailbox"))
        fetched = fetch_from_mailbox(ws, backend, dry_run=state.dry_run)
    finally:
        backend.close()
    state.quarantined += [_where(ws, f.path) if f.path else f.name
                          for f in fetched.files if f.outcome == TO_QUARANTINE]
    return NightStep("fetch", NIGHT_OK, tr(f"{len(fetched.files)} filer", f"{len(fetched.files)} files"),
                     count=len(fetched.files))


def _collect(state: _Night, result: NightlyResult) -> NightStep:
    """Bring innkommende/ into the journal (the workbook is written by the last step)."""
    collected = run_collect(state.workspace, dry_run=state.dry_run, who=state.who)
    result.collect = collected
    decisions = collected.plan.decisions
    bad = [d for d in decisions if d.outcome == QUARANTINED]
    files = count(len(decisions), "fil", "filer", "file", "files")
    return NightStep("collect", NIGHT_OK, tr(f"{files}, {len(bad)} i karantene", f"{files}, {len(bad)} quarantined"),
                     count=len(decisions))


def _remind(state: _Night, result: NightlyResult) -> NightStep:
    """The day's digests to employees and managers (following pending changes)."""
    reminded = run_remind(state.workspace, dry_run=state.dry_run, who=state.who, context=state.context, hr=False)
    result.remind = state.remind = reminded
    report = reminded.report
    if report is not None and report.stopped is not None:
        raise report.stopped
    if state.dry_run:
        return NightStep("remind", NIGHT_OK, tr(f"{len(reminded.digests)} sammendrag (ikke sendt)",
                                                f"{len(reminded.digests)} digests (not sent)"))
    sent = len(report.delivered) if report else 0
    failed = len(report.failed) if report else 0
    done = delivered_word(reminded.backend)
    return NightStep("remind", NIGHT_OK if not failed else NIGHT_FAILED,
                     tr(f"{len(reminded.digests)} sammendrag, {sent} {done}, {failed} feilet",
                        f"{count(len(reminded.digests), '', '', 'digest', 'digests')}, {sent} {done}, "
                        f"{failed} failed"), count=sent)


def _retention(state: _Night, result: NightlyResult) -> NightStep:
    """Remove rounds and outbox days older than «Lagringstid (år)»; list what went."""
    ws = state.workspace
    master = ws.load()
    root = ws.folder.root
    rounds = {p.name for base in (PREP_DIR, ARCHIVE_DIR) if (root / base).is_dir()
              for p in (root / base).iterdir() if p.is_dir()}
    days = {p.name for p in (root / OUTBOX_DIR).iterdir() if p.is_dir()} if (root / OUTBOX_DIR).is_dir() else set()
    plan = plan_retention(rounds, days, ws.now.date(), master.settings.retention_years, master.settings.round)
    targets = [Path(base) / name for name in plan.rounds for base in (PREP_DIR, ARCHIVE_DIR)
               if (root / base / name).is_dir()] + [Path(OUTBOX_DIR) / day for day in plan.outbox_days]
    for target in targets:
        if not state.dry_run:
            shutil.rmtree(root / target)
        state.removed.append(target.as_posix())
    result.removed = [t.as_posix() for t in targets]
    result.kept_unknown = list(plan.unknown)
    return NightStep("retention", NIGHT_OK, tr(f"{len(targets)} mapper fjernet", f"{len(targets)} folders removed"),
                     count=len(targets))


def _hr_digest(state: _Night) -> HrDigest | None:
    """HR's digest: what the journal and the folder hold, with what tonight's steps found."""
    ws = state.workspace
    blocked = ""
    if ws.pending():
        try:
            assert_writable(ws.folder.master())
        except WorkbookLockedError as exc:
            blocked = exc.message
    night = HrInput(ws.now, blocked=blocked, real_now=datetime.now(),  # real time: how long changes waited
                    failed_steps=state.failed, set_aside=[(s.changeset.id, s.reason) for s in ws.set_aside()],
                    removed=state.removed, quarantined=state.quarantined)
    answers = state.remind.answers if state.remind is not None else []
    return plan_hr_digest(ws.load(), hr_input(ws, answers, night))


def _hr(state: _Night, result: NightlyResult) -> NightStep:
    """HR's own digest: what needs a person today (nothing when nothing does), at most once a day."""
    digest = _hr_digest(state)
    result.hr_digest = digest
    if digest is None:
        return NightStep("hr", NIGHT_OK, tr("ingenting for HR", "nothing for HR"))
    things = count(len(digest.items), "sak", "saker", "item", "items")
    if state.dry_run:
        return NightStep("hr", NIGHT_OK, tr(f"{things} (ikke sendt)", f"{things} (not sent)"))
    sent = _send_hr(state.workspace, digest, context=state.context)
    done = delivered_word(require_config(state.workspace.folder.config).backend)
    return NightStep("hr", NIGHT_OK, tr(f"{things}, " + (done if sent else "allerede sendt i dag"),
                                        f"{things}, " + (done if sent else "already sent today")),
                     count=len(digest.items))


def _send_hr(ws: Workspace, digest: HrDigest, context: BackendContext | None = None) -> bool:
    """Send HR's digest to the mailbox unless already sent today; True when sent now."""
    config = require_config(ws.folder.config)
    with ws.journal() as journal:
        if any(m.group == digest.key and m.state == SENT for m in MessageStore(journal).messages()):
            return False
    master = ws.load()
    item = hr_outgoing(digest, master, ws, sending_mailbox(config, master.settings.company))
    backend = open_backend(context or BackendContext(ws.folder, config, ws.now))
    try:
        with ws.journal() as journal:
            report = dispatch(backend, MessageStore(journal), [item])
    finally:
        backend.close()
    if report.stopped is not None:
        raise report.stopped
    return bool(report.delivered)


def _write(state: _Night, result: NightlyResult) -> NightStep:
    """The one save of the run (everything pending, Oversikt refreshed), or why it waits."""
    ws = state.workspace
    if state.dry_run:
        return NightStep("write", NIGHT_SKIPPED, tr(f"{len(ws.pending())} endringer ville blitt skrevet",
                                                    f"{len(ws.pending())} changes would be written"))
    # The night's own Logg row: HR sees each night in the workbook, and Oversikt (days left) is
    # refreshed every night, since the one write always has something to write.
    done = "; ".join(said(s) + (f" ({s.summary})" if s.summary and s.outcome != NIGHT_FAILED else "")
                     for s in result.steps)  # a failure's words may name someone: they go to HR's mail only
    log = ChangeSet(tr("Nattkjøring", "Nightly run"))
    log.append(LOG.table, time=ws.now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
               event=tr("Nattkjøring", "Nightly run"), who=state.who, result=done)
    ws.commit(log)
    applied = ws.write()
    result.apply = applied
    if applied.blocked:
        result.blocked = applied.blocked
        return NightStep("write", NIGHT_OK, tr(f"venter: {len(ws.pending())} endringer",
                                               f"waiting: {len(ws.pending())} changes"), count=0)
    return NightStep("write", NIGHT_OK, tr(f"{count(len(applied.applied), 'endring', 'endringer', '', '')} skrevet",
                                           f"{count(len(applied.applied), '', '', 'change', 'changes')} written"),
                     count=len(applied.applied))


def _second_run(night: NightWorkspace, result: NightlyResult, now: float) -> NightlyResult:
    """The folder is busy: «kjører allerede» within the budget; past it, an alarm to HR (exit 1)."""
    master = night.load()  # read only: the budget, and the company for the alarm
    result.budget_minutes = master.settings.nightly_budget_minutes
    budget = result.budget_minutes * 60
    _, holder = read_holder(holder_path(night.folder.run_lock))
    result.already_running = lock_verdict(holder.started if holder else None, now, budget)
    result.holder = holder.describe() if holder else ""
    if result.already_running == OVERRUN and not result.dry_run:
        alarm = tr(f"En nattkjøring har arbeidet lenger enn tidsbudsjettet på {result.budget_minutes} minutter "
                   f"og holder fortsatt mappen: {result.holder}. Sjekk serveren og loggen .samtale/logs/samtale.log.",
                   f"A nightly run has worked longer than its time budget of {result.budget_minutes} minutes and "
                   f"still holds the folder: {result.holder}. Check the server and the log .samtale/logs/samtale.log.")
        try:
            result.alarm_sent = _send_hr(night, alarm_digest(alarm, night.now.astimezone(OSLO).date()))
        except Exception as exc:  # the alarm is best effort: the exit code and the log still say it
            result.alarm_error = exc.message if isinstance(exc, SamtaleError) else type(exc).__name__
    _log(night, result)
    return result


def _where(ws: Workspace, path: Path) -> str:
    """A file's place in the folder, «karantene/<name>», as HR's digest names it."""
    try:
        return path.relative_to(ws.folder.root).as_posix()
    except ValueError:
        return path.name


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _log(night: NightWorkspace, result: NightlyResult) -> None:
    """One line for IT: steps with outcome and counts, IDs only (never names or addresses)."""
    if result.already_running:
        line = f"nightly already-running verdict={result.already_running} alarm_sent={result.alarm_sent}"
    else:
        steps = " ".join(f"{s.name}={s.outcome}" + (f"({type(s.error).__name__})" if s.error else "")
                         + (f"({s.count})" if s.count is not None else "") + f"[{s.seconds:.2f}s]"
                         for s in result.steps)
        line = (f"nightly {steps} blocked={'yes' if result.blocked else 'no'} budget={result.budget_minutes}min "
                f"seconds={result.seconds:.1f}" + (" stopped-at-budget" if result.stopped_at_budget else "")
                + (" dry-run" if result.dry_run else ""))
    with contextlib.suppress(OSError):  # a log that cannot be written never fails the run
        logs.write_line(night.folder.logs, line)
