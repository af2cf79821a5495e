"""`samtale plan`: a time (and a room) for each conversation of the round, written as seeded cells.

Reads the master (pending changes laid over), asks the backend for free/busy when it can (graph: getSchedule,
≤ 20 people and < 62 days a call, batched; ews: GetUserAvailability, ≤ 100 mailboxes and ≤ 42 days a call —
both backends split a request themselves), else plans from the workbook alone; plans
(plans/schedule.py); writes Start, Slutt and Sted through one ChangeSet (`--dry-run` stops before).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.calendars import FREE_BUSY_BACKENDS, ask_calendars
from samtale_automation.commands.results import PlanResult
from samtale_automation.config import load_config
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import ACTIVE, Backend
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, ROOMS, SETTING_BY_FIELD, SETTINGS
from samtale_automation.errors import Problem
from samtale_automation.plans.plan_round import changes, prepare, summaries
from samtale_automation.plans.schedule import Busy, Rules, plan_schedule
from samtale_automation.store.messages import MessageStore
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_plan(workspace: Workspace, *, managers: Collection[str] = (), replan: bool = False, dry_run: bool = False,
             who: str = "samtale", backend: Backend | None = None,
             context: BackendContext | None = None) -> PlanResult:
    """Plan the round: place what has no time (and, with `replan`, move what is still the planner's and not
    invited), only for `managers` when given; write it unless `dry_run`."""
    master = workspace.load()
    result = PlanResult(dry_run=dry_run)
    result.rules = Rules.from_settings(master.settings, workspace.now.date())
    if result.rules is None:
        start, end = SETTING_BY_FIELD["period_start"].key, SETTING_BY_FIELD["period_end"].key
        what = tr("runden har ingen periode å planlegge i", "the round has no period to plan in")
        result.problems.append(Problem(f"{SETTINGS.name} ({start}, {end})", what,
                                       tr(f"Fyll inn {start} og {end}.", f"Fill in {start} and {end}.")))
        return result
    written, invited = _memory(workspace)
    result.prepared = prepare(master, result.rules, workspace.now, managers=set(managers), replan=replan,
                              written=written, invited=invited)
    days = result.rules.days()
    if result.prepared.given.wanted and days:
        busy, room_busy = _free_busy(workspace, master, result, days[0], days[-1], backend, context)
        result.prepared.given = replace(result.prepared.given, busy=busy, room_busy=room_busy)
    result.plan = plan_schedule(result.prepared.given)
    result.managers = summaries(master, result.prepared, result.plan)
    # Unreadable cells the plan depends on (a date that is not a date, «Borte» that is not a period): named.
    sheets = (CONVERSATIONS.name, SETTINGS.name, EMPLOYEES.name, ROOMS.name)
    result.problems += [p for p in master.problems if p.where.startswith(sheets)]
    if not result.plan.placed and not result.prepared.moved:
        return result
    source = tr(f"ledig/opptatt fra {result.busy_source}", f"free/busy from {result.busy_source}") \
        if result.busy_source else tr("fra arbeidsboken", "from the workbook")
    result.changeset = changes(master, result.prepared, result.plan, workspace.now, who, source)
    if not dry_run:
        result.apply = workspace.commit_run(result.changeset, "plan")
    return result


def _memory(workspace: Workspace) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """What the planner wrote into Samtaler (applied, or still pending), and the conversations with a meeting."""
    written: dict[str, dict[str, Any]] = {}
    invited: set[str] = set()
    if not workspace.folder.journal.exists():
        return written, invited
    with workspace.journal() as journal:
        for key, values in journal.last_written(CONVERSATIONS.table).items():
            written[key] = dict(values)
        for pending in journal.pending():
            for change in pending.changeset.changes:
                if change.table == CONVERSATIONS.table and change.key and not change.force:  # forced: a person's
                    seeded = {k: v for k, v in change.values.items() if k in ("start", "end", "place")}
                    written.setdefault(change.key, {}).update(seeded)
        invited = {key for key, state in MessageStore(journal).meetings().items() if state.state == ACTIVE}
    return written, invited


def _free_busy(workspace: Workspace, master: Master, result: PlanResult, first: date, last: date,
               backend: Backend | None, context: BackendContext | None) -> tuple[Busy, Busy]:
    """Busy periods of the people and rooms to plan for, from the backend when it has free/busy."""
    own = backend is None
    if backend is None:
        config, _ = load_config(workspace.folder.config)
        if config.backend not in FREE_BUSY_BACKENDS:
            return {}, {}
        backend = open_backend(context or BackendContext(workspace.folder, config, workspace.now))
    try:
        assert result.prepared is not None
        wanted = result.prepared.given.wanted
        people = {person for item in wanted for person in (item.employee_id, item.manager_id)}
        rooms = {room.email: room.key for room in result.prepared.given.rooms if room.email}
        answer = ask_calendars(backend, master, people, first, last, rooms)
        if answer is None:
            return {}, {}
        result.free_busy_requests = answer.requests
        result.busy_source = backend.name
        result.notes += answer.notes
        return answer.busy, answer.room_busy
    finally:
        if own:
            backend.close()
