"""The presenter for `samtale plan` (see faces/present.py): per manager how many, first and last day, and
what has no time and why; exit 0 when everything has a time, 1 when something does not or a problem was
found, 3 when the workbook could not be written now (the change waits in the journal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK
from samtale_automation.texts import short_date, tr

if TYPE_CHECKING:
    from samtale_automation.commands.results import PlanResult
    from samtale_automation.faces.present import Say


def plan(say: Say, result: PlanResult) -> None:
    """The plan's lines and exit code."""
    for line in plan_lines(result):
        say(line)
    if result.apply is not None:
        for conflict in result.apply.conflicts:
            say(tr(f"  konflikt: {conflict.describe()}", f"  conflict: {conflict.describe()}"))
        for changeset_id, why in result.apply.set_aside:
            say.warn(tr(f"Satt til side (kan ikke skrives): endringssett {changeset_id}: {why}.",
                        f"Set aside (cannot be written): change set {changeset_id}: {why}."))
        if result.apply.blocked:
            say.warn(tr(f"Venter: {result.apply.blocked}", f"Waiting: {result.apply.blocked}"))
            say.warn(tr("Planen er tatt vare på og skrives av neste kommando eller «samtale apply».",
                        "The plan is kept and will be written by the next command or «samtale apply»."))
    say.exit_code = plan_exit_code(result)


def plan_lines(result: PlanResult) -> list[str]:
    """The summary a person reads (CLI, Excel): per manager how many, first and last day, what has no time and why."""
    lines = [problem.render() for problem in result.problems]
    if result.rules is None or result.prepared is None:
        return lines
    lang = tr("nb", "en")
    days = result.rules.days()
    period = (f"{short_date(days[0], lang)}–{short_date(days[-1], lang)}" if days
              else tr("ingen arbeidsdager", "no working days"))
    if result.busy_source:
        asked = _count(result.free_busy_requests, ("forespørsel", "forespørsler"), ("request", "requests"))
        source = tr(f"ledig/opptatt fra {result.busy_source}, {asked}",
                    f"free/busy from {result.busy_source}, {asked}")
    else:
        source = tr("bare arbeidsboken, ingen ledig/opptatt fra kalenderne",
                    "the workbook only, no free/busy from the calendars")
    lines.append(tr(f"Periode {period} ({source}).", f"Period {period} ({source})."))
    for summary in result.managers:
        line = f"  {summary.name}: {_count(summary.placed, ('samtale', 'samtaler'), ('conversation', 'conversations'))}"
        if summary.first_day and summary.last_day:
            line += f", {short_date(summary.first_day, lang)}–{short_date(summary.last_day, lang)}"
        if summary.unplaced:
            line += tr(f"; {len(summary.unplaced)} uten tid", f"; {len(summary.unplaced)} without a time")
        lines.append(line)
        lines += [f"      {conversation_id}  {why}" for conversation_id, why in summary.unplaced]
    lines += [f"  {note}" for note in result.notes]
    placed = _count(len(result.plan.placed), ("samtale", "samtaler"), ("conversation", "conversations"))
    total = tr(f"{placed} fikk tid", f"{placed} got a time")
    if result.prepared.moved:
        total += tr(f" ({len(result.prepared.moved)} flyttet av --replan)",
                    f" ({len(result.prepared.moved)} moved by --replan)")
    lines.append(total + tr(f", {result.unplaced} uten tid.", f", {result.unplaced} without a time."))
    if result.dry_run:
        lines.append(tr("Prøvekjøring: ingenting er skrevet.", "Dry run: nothing was written."))
    return lines


def plan_exit_code(result: PlanResult) -> int:
    """0 when everything has a time; 1 when something is left without one or a problem was found; 3 when the
    workbook could not be written now (the change waits in the journal)."""
    if result.apply is not None and result.apply.blocked:
        return EXIT_WORKBOOK
    if result.unplaced or result.problems or (result.apply is not None and result.apply.conflicts):
        return EXIT_PROBLEMS
    return EXIT_OK


def _count(number: int, nb: tuple[str, str], en: tuple[str, str]) -> str:
    """«1 samtale», «2 samtaler» (nouns agree with their count)."""
    return tr(f"{number} {nb[number != 1]}", f"{number} {en[number != 1]}")
