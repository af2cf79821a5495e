"""The `samtale` command line: parse input, call one core function, print, exit with a code.

One error handler at this boundary turns every SamtaleError into a Norwegian message with a
hint and the exit code of DESIGN.md §9; no traceback is shown for a person's mistake.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click

from samtale_automation import errors
from samtale_automation.errors import SamtaleError, UsageError
from samtale_automation.texts import set_language, tr


class Context:
    """Global options, given before the command."""

    def __init__(self, folder: Path, today: date | None) -> None:
        self.folder = folder
        self.today = today

    def workspace(self) -> Any:
        """Open the workspace for the chosen folder and day."""
        from samtale_automation.commands.workspace import Workspace

        return Workspace.open(self.folder, self.today)


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(tr(f"{option} {value}: ikke en dato.", f"{option} {value}: not a date."),
                         hint=tr("Skriv datoen som ÅÅÅÅ-MM-DD, f.eks. 2027-01-11.",
                                 "Write the date as YYYY-MM-DD, e.g. 2027-01-11.")) from None


def _echo(text: str = "", err: bool = False) -> None:
    click.echo(text, err=err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Mappen med arbeidsboken / the folder holding the workbook (default: .).")
@click.option("--today", metavar="YYYY-MM-DD",
              help="Datoen som brukes som i dag / the date used as today.")
@click.option("--lang", type=click.Choice(["nb", "en"]), default=None,
              help="Språk for meldinger / language of messages (nb, en).")
@click.version_option(package_name="samtale-automation")
@click.pass_context
def cli(ctx: click.Context, folder: Path, today: str | None, lang: str | None) -> None:
    """samtale: medarbeidersamtaler fra én Excel-arbeidsbok og Outlook."""
    if lang:
        set_language(lang)
    day = _parse_day(today, "--today")
    ctx.obj = Context(folder, day)


@cli.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lang", "lang", type=click.Choice(["nb", "en"]), default="nb",
              help="Språk for tekstene i arbeidsboken / language of the workbook's texts.")
def init(target: Path, lang: str) -> None:
    """Lag en ny mappe med arbeidsbok / create a new folder with a master workbook."""
    from samtale_automation.commands.init import init_folder

    created = init_folder(target, lang)
    for path in created:
        _echo(tr(f"  laget  {path}", f"  made   {path}"))
    _echo(tr(f"\nFerdig. Fyll inn arket Ansatte i {created[-3].name}, og kjør så «samtale --dir {target} check».",
             f"\nDone. Fill in the Ansatte sheet in {created[-3].name}, then run «samtale --dir {target} check»."))


@cli.group(name="round")
def round_group() -> None:
    """Samtalerunder / conversation rounds."""


@round_group.command(name="new")
@click.argument("name")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Periodens første dag / first day.")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Periodens siste dag / last day.")
@click.option("--dry-run", is_flag=True, help="Vis hva som ville skjedd / only show what would happen.")
@click.pass_obj
def round_new(obj: Context, name: str, start: str | None, end: str | None, dry_run: bool) -> None:
    """Start en runde / start a round: a Samtaler row per active employee."""
    from samtale_automation.plans.rounds import plan_new_round
    from samtale_automation.runtime import current_user

    workspace = obj.workspace()
    plan = plan_new_round(workspace.load(), name, _parse_day(start, "--from"), _parse_day(end, "--to"),
                          workspace.now, current_user())
    for employee in plan.added:
        _echo(f"  + {plan.name}-{employee.employee_id}  {employee.name}")
    for employee, why in plan.skipped:
        _echo(tr(f"  – hoppet over {employee.employee_id} {employee.name}: {why}",
                 f"  – skipped {employee.employee_id} {employee.name}: {why}"))
    if plan.existing:
        _echo(tr(f"  = {len(plan.existing)} hadde allerede en samtale i {plan.name}",
                 f"  = {len(plan.existing)} already had a conversation in {plan.name}"))
    if dry_run:
        _echo(tr("\nPrøvekjøring: ingenting er skrevet.", "\nDry run: nothing was written."))
        return
    _echo(tr(f"Runde {plan.name}: {len(plan.added)} lagt til, {len(plan.skipped)} hoppet over.",
             f"Round {plan.name}: {len(plan.added)} added, {len(plan.skipped)} skipped."))
    _commit(obj, plan.changeset, "round new")


def _locked(workspace: Any, command: str) -> Any:
    """The folder's run lock; a second run waits SAMTALE_LOCK_WAIT seconds (default 30), then refuses."""
    from samtale_automation.store.runlock import run_lock

    return run_lock(workspace.folder.run_lock, command, wait_seconds=float(os.environ.get("SAMTALE_LOCK_WAIT", "30")))


def _commit(obj: Context, changeset: Any, command: str) -> None:
    """Record and apply a ChangeSet under the run lock; say what happened."""
    workspace = obj.workspace()
    with _locked(workspace, command):
        with workspace.journal() as journal:
            run_id = journal.start_run(command)
        result = workspace.commit(changeset)
        with workspace.journal() as journal:
            journal.finish_run(run_id, "pending" if result.blocked else "ok")
    _report_apply(result)
    if result.blocked:
        sys.exit(errors.EXIT_WORKBOOK)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str], None]]:
    """A progress bar on a terminal (nothing when output goes to a file or the nightly job's log)."""
    if not sys.stderr.isatty():
        yield lambda _name: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"),
                  transient=True) as bar:
        task = bar.add_task(label)
        yield lambda _name: bar.advance(task)


def _report_apply(result: Any) -> None:
    for conflict in result.conflicts:
        _echo(tr(f"  konflikt: {conflict.describe()}", f"  conflict: {conflict.describe()}"))
    if result.blocked:
        _echo(tr(f"Venter: {result.blocked}", f"Waiting: {result.blocked}"), err=True)
        _echo(tr("Endringene er tatt vare på og skrives av neste kommando eller «samtale apply».",
                 "The changes are kept and will be written by the next command or «samtale apply»."),
              err=True)
    elif result.applied:
        _echo(tr(f"Skrev {len(result.applied)} endringssett til arbeidsboken "
                 f"({result.created} nye rader, {result.updated} endrede).",
                 f"Wrote {len(result.applied)} change sets to the workbook "
                 f"({result.created} new rows, {result.updated} updated)."))


@cli.command()
@click.option("--employee", "employees", multiple=True, metavar="ID",
              help="Bare for denne ansatte (kan gjentas) / only this employee (repeatable).")
@click.option("--force", is_flag=True, help="Lag filen på nytt; den gamle flyttes til .samtale/backups/.")
@click.option("--dry-run", is_flag=True, help="Vis hva som ville skjedd / only show what would happen.")
@click.pass_obj
def prep(obj: Context, employees: tuple[str, ...], force: bool, dry_run: bool) -> None:
    """Lag forberedelsesskjema / write each conversation's prep files."""
    from samtale_automation.commands.prep import run_prep
    from samtale_automation.runtime import current_user

    workspace = obj.workspace()
    with _locked(workspace, "prep"):
        plan, result = run_prep(workspace, employees, force=force, dry_run=dry_run, who=current_user())
    for item in plan.files:
        verb = tr("lager på nytt", "re-issue") if item.reissue else tr("lager", "write")
        _echo(f"  {verb:<14} {item.path.relative_to(workspace.folder.root)}")
    for what, why in plan.skipped:
        _echo(tr(f"  hopper over  {what}: {why}", f"  skip         {what}: {why}"))
    if dry_run:
        _echo(tr("\nPrøvekjøring: ingenting er skrevet.", "\nDry run: nothing was written."))
        return
    _echo(tr(f"\n{len(plan.files)} filer laget, {len(plan.skipped)} hoppet over.",
             f"\n{len(plan.files)} files written, {len(plan.skipped)} skipped."))
    if result is not None:
        _report_apply(result)
        if result.blocked:
            sys.exit(errors.EXIT_WORKBOOK)


@cli.command()
@click.option("--from-mailbox", "from_mailbox", is_flag=True,
              help="Hent først svarfiler fra postkassen / first fetch returned files from the mailbox.")
@click.option("--dry-run", is_flag=True, help="Vis hva som ville skjedd / only show what would happen.")
@click.pass_obj
def collect(obj: Context, from_mailbox: bool, dry_run: bool) -> None:
    """Hent inn returnerte filer / bring returned files from innkommende/ (and the mailbox) into the register."""
    from samtale_automation.commands.collect import run_collect
    from samtale_automation.plans.consolidate import ACCEPTED, DUPLICATE, QUARANTINED
    from samtale_automation.runtime import current_user

    workspace = obj.workspace()
    fetched_quarantined = 0
    with _locked(workspace, "collect"):
        if from_mailbox:
            fetched_quarantined = _fetch_mailbox(workspace, dry_run)
        with _progress(tr("Flytter filer", "Moving files")) as tick:
            result = run_collect(workspace, dry_run=dry_run, who=current_user(), progress=tick)
    assert result.plan is not None
    labels = {ACCEPTED: tr("mottatt", "accepted"), DUPLICATE: tr("duplikat", "duplicate"),
              QUARANTINED: tr("karantene", "quarantined")}
    for decision in result.plan.decisions:
        _echo(f"  {labels[decision.outcome]:<10} {decision.arrival.name}: {decision.reason}")
    for name, why in result.ignored:
        _echo(tr(f"  venter     {name}: {why}", f"  waiting    {name}: {why}"))
    for path in result.guides:
        _echo(tr(f"  samtaleguide {path.relative_to(workspace.folder.root)}",
                 f"  guide        {path.relative_to(workspace.folder.root)}"))
    if dry_run:
        _echo(tr("\nPrøvekjøring: ingenting er flyttet eller skrevet.", "\nDry run: nothing was moved or written."))
        return
    counts = {outcome: sum(d.outcome == outcome for d in result.plan.decisions) for outcome in labels}
    _echo(tr(f"\n{counts[ACCEPTED]} mottatt, {counts[DUPLICATE]} duplikater, {counts[QUARANTINED]} i karantene, "
             f"{len(result.ignored)} venter.",
             f"\n{counts[ACCEPTED]} accepted, {counts[DUPLICATE]} duplicates, {counts[QUARANTINED]} quarantined, "
             f"{len(result.ignored)} waiting."))
    if result.apply is not None:
        _report_apply(result.apply)
        if result.apply.blocked:
            sys.exit(errors.EXIT_WORKBOOK)
    if counts[QUARANTINED] or fetched_quarantined:
        sys.exit(errors.EXIT_PROBLEMS)


def _fetch_mailbox(workspace: Any, dry_run: bool) -> int:
    """Fetch returned files from the mailbox into innkommende/; print each; how many were quarantined."""
    from samtale_automation.backends import BackendContext, open_backend
    from samtale_automation.commands.fetch import ALREADY_HERE, TO_INCOMING, TO_QUARANTINE, fetch_from_mailbox
    from samtale_automation.config import require_config

    backend = open_backend(BackendContext(workspace.folder, require_config(workspace.folder.config), workspace.now))
    try:
        with _progress(tr("Henter fra postkassen", "Fetching from the mailbox")) as tick:
            fetched = fetch_from_mailbox(workspace, backend, dry_run=dry_run, progress=tick)
    finally:
        backend.close()
    labels = {TO_INCOMING: tr("hentet", "fetched"), TO_QUARANTINE: tr("karantene", "quarantined"),
              ALREADY_HERE: tr("kjent", "known")}
    for item in fetched.files:
        why = f": {item.reason}" if item.reason else ""
        _echo(f"  {labels[item.outcome]:<10} {item.name} ({item.sender}){why}")
    _echo(tr(f"Postkassen ({backend.name}): {fetched.count(TO_INCOMING)} filer hentet til innkommende/, "
             f"{fetched.count(TO_QUARANTINE)} i karantene, {fetched.handled_messages} meldinger flyttet til "
             "behandlet-mappen.\n",
             f"Mailbox ({backend.name}): {fetched.count(TO_INCOMING)} files fetched into innkommende/, "
             f"{fetched.count(TO_QUARANTINE)} quarantined, {fetched.handled_messages} messages moved to the done "
             "folder.\n"))
    return fetched.count(TO_QUARANTINE)


@cli.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Finn alt som er feil / report every problem, with its cell."""
    from samtale_automation.config import load_config
    from samtale_automation.errors import Problem
    from samtale_automation.plans.check import check_master
    from samtale_automation.plans.status import pending_reason
    from samtale_automation.workbook import loss_guard

    workspace = obj.workspace()
    master = workspace.load()
    problems = check_master(master)
    problems += load_config(workspace.folder.config)[1]
    master = workspace.folder.master()
    problems += [Problem(master.name, tr("hindrer lagring uten Excel: ", "blocks saving without Excel: ") + why)
                 for why in loss_guard.predict(master)]
    problems += [Problem("samtale", tr("venter: ", "waiting: ") + pending_reason(p))
                 for p in workspace.pending() if p.blocked_reason]
    for problem in problems:
        _echo(problem.render())
    if problems:
        _echo(tr(f"\n{len(problems)} problemer funnet.", f"\n{len(problems)} problems found."))
        sys.exit(errors.EXIT_PROBLEMS)
    _echo(tr("Ingen problemer funnet.", "No problems found."))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Skriv JSON / print one JSON object.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Hvor hver samtale står / where each conversation stands."""
    from samtale_automation.plans.status import status_report

    workspace = obj.workspace()
    pending = workspace.pending()
    report = status_report(workspace.load(), pending, workspace.now)
    if as_json:
        _echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print_status(report)
    from samtale_automation.workbook import loss_guard

    for why in loss_guard.predict(workspace.folder.master()):
        _echo(tr("Hindrer lagring uten Excel: ", "Blocks saving without Excel: ") + why)


def _print_status(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from samtale_automation.domain.schema import CONVERSATIONS, STATUS_LABELS

    console = Console()
    table = Table(title=tr(f"Samtalerunde {report['round'] or '(ikke satt)'}",
                           f"Round {report['round'] or '(not set)'}"))
    for field_name in ("conversation_id", "employee_id", "manager_id", "start", "place", "status"):
        table.add_column(CONVERSATIONS.header(field_name))
    for conv in report["conversations"]:
        start = conv["start"][:16].replace("T", " ") if conv["start"] else "–"
        table.add_row(conv["id"], conv["employee_id"], conv["manager_id"], start, conv["place"] or "",
                      STATUS_LABELS[conv["status"]])
    console.print(table)
    counts = ", ".join(f"{STATUS_LABELS[code]}: {n}" for code, n in report["counts"].items() if n)
    console.print(tr(f"Totalt {len(report['conversations'])} samtaler. {counts}",
                     f"{len(report['conversations'])} conversations in total. {counts}"), markup=False)
    console.print(tr(f"Tiltak: {len(report['actions'])}", f"Actions: {len(report['actions'])}"))
    for change in report["pending_changes"]:
        console.print(tr(f"Venter på å bli skrevet: {change['reason']}",
                         f"Waiting to be written: {change['reason']}"), markup=False)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som venter / only list what is waiting.")
@click.pass_obj
def apply(obj: Context, dry_run: bool) -> None:
    """Skriv ventende endringer nå / apply pending changes now."""
    from samtale_automation.plans.status import pending_reason

    workspace = obj.workspace()
    pending = workspace.pending()
    if not pending:
        _echo(tr("Ingen endringer venter.", "No changes are waiting."))
        return
    for item in pending:
        _echo(f"  {item.changeset.id}  {pending_reason(item)}")
    if dry_run:
        _echo(tr("\nPrøvekjøring: ingenting er skrevet.", "\nDry run: nothing was written."))
        return
    _commit(obj, None, "apply")


def _confirmer(yes: bool, lines: Callable[[Any], list[str]], what: str) -> Callable[[Any, Any], bool]:
    """Show the plan, then ask: `--yes` answers; the outbox needs no answer; no terminal means no."""
    def confirm(plan: Any, backend: Any) -> bool:
        for line in lines(plan):
            _echo(f"  {line}")
        if yes or not backend.needs_confirmation:
            return True
        if not sys.stdin.isatty():
            _echo(tr(f"Ingen terminal og ingen --yes: ingenting er sendt. Kjør med --yes for å sende {what}.",
                     f"No terminal and no --yes: nothing was sent. Run with --yes to send {what}."), err=True)
            return False
        return click.confirm(tr(f"Sende {what} via {backend.name}?", f"Send {what} through {backend.name}?"))
    return confirm


def _report_send(report: Any, unit: str) -> None:
    """The summary: how many went out, and every recipient that did not get theirs, with the server's answer."""
    for path in report.locations[:3]:
        _echo(tr(f"  skrevet {path}", f"  written {path}"))
    if len(report.locations) > 3:
        _echo(tr(f"  … og {len(report.locations) - 3} til", f"  … and {len(report.locations) - 3} more"))
    _echo(tr(f"\n{len(report.delivered)} {unit} sendt.", f"\n{len(report.delivered)} {unit} sent."))
    if report.waited_seconds:
        _echo(tr(f"Serveren ba oss vente: {report.retries} nye forsøk, {report.waited_seconds:.0f} s venting i alt.",
                 f"The server asked us to wait: {report.retries} retries, {report.waited_seconds:.0f} s of waiting "
                 "in all."))
    for item, failure in report.failed:
        _echo(tr(f"  IKKE levert til {failure.email} ({item.describe}): {failure.code} {failure.message} – "
                 "prøves igjen ved neste kjøring",
                 f"  NOT delivered to {failure.email} ({item.describe}): {failure.code} {failure.message} – "
                 "retried on the next run"), err=True)


def _finish_send(result: Any, problems: list[Any], unit: str) -> None:
    for problem in problems:
        _echo(problem.render(), err=True)
    if result.report is not None:
        _report_send(result.report, unit)
    if result.apply is not None:
        _report_apply(result.apply)
    if result.report is not None and result.report.stopped is not None:
        raise result.report.stopped
    if result.apply is not None and result.apply.blocked:
        sys.exit(errors.EXIT_WORKBOOK)
    if problems or (result.report is not None and result.report.failed) or not result.confirmed:
        sys.exit(errors.EXIT_PROBLEMS)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som ville blitt sendt / only show what would be sent.")
@click.option("--yes", is_flag=True, help="Send uten å spørre / send without asking.")
@click.pass_obj
def invite(obj: Context, dry_run: bool, yes: bool) -> None:
    """Send kalenderinvitasjoner / send the round's calendar invitations, updates and cancellations."""
    from samtale_automation.commands.invite import describe, run_invite
    from samtale_automation.runtime import current_user

    workspace = obj.workspace()
    with _locked(workspace, "invite"), _progress(tr("Sender", "Sending")) as tick:
        result = run_invite(workspace, dry_run=dry_run, who=current_user(), progress=tick,
                            confirm=_confirmer(yes, describe, tr("invitasjonene", "the invitations")))
    if dry_run:
        for line in describe(result.plan):
            _echo(f"  {line}")
        for employee_id in result.plan.needs_prep:
            _echo(tr(f"  lager først forberedelsesskjema for {employee_id}",
                     f"  first makes prep files for {employee_id}"))
        for problem in result.plan.problems:
            _echo(problem.render(), err=True)
        _echo(tr(f"\nPrøvekjøring: {len(result.plan.meetings) + len(result.plan.mails)} meldinger ville blitt sendt, "
                 f"{result.plan.unchanged} er allerede sendt og uendret.",
                 f"\nDry run: {len(result.plan.meetings) + len(result.plan.mails)} messages would be sent, "
                 f"{result.plan.unchanged} were sent before and are unchanged."))
        return
    for name in result.prepared:
        _echo(tr(f"  laget {name}", f"  made {name}"))
    if result.plan.empty:
        for problem in result.plan.problems:
            _echo(problem.render(), err=True)
        _echo(tr(f"Ingenting å sende: {result.plan.unchanged} invitasjoner er allerede sendt og uendret.",
                 f"Nothing to send: {result.plan.unchanged} invitations were sent before and are unchanged."))
        if result.plan.problems:
            sys.exit(errors.EXIT_PROBLEMS)
        return
    _finish_send(result, result.plan.problems, tr("meldinger", "messages"))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som ville blitt sendt / only show what would be sent.")
@click.option("--yes", is_flag=True, help="Send uten å spørre / send without asking.")
@click.pass_obj
def remind(obj: Context, dry_run: bool, yes: bool) -> None:
    """Send dagens påminnelser / send today's reminder digests (one per person)."""
    from samtale_automation.commands.remind import describe, run_remind
    from samtale_automation.domain.workdays import is_working_day
    from samtale_automation.runtime import current_user

    workspace = obj.workspace()
    with _locked(workspace, "remind"), _progress(tr("Sender", "Sending")) as tick:
        result = run_remind(workspace, dry_run=dry_run, who=current_user(), progress=tick,
                            confirm=_confirmer(yes, describe, tr("påminnelsene", "the reminders")))
    if not is_working_day(workspace.now.date()):
        _echo(tr("I dag er ikke en arbeidsdag: ingen påminnelser sendes (de gikk ut arbeidsdagen før).",
                 "Today is not a working day: no reminders are sent (they went out the working day before)."))
    if dry_run or not result.digests:
        for line in describe(result.digests):
            _echo(f"  {line}")
        for problem in result.problems:
            _echo(problem.render(), err=True)
        _echo(tr(f"\n{'Prøvekjøring: ' if dry_run else ''}{len(result.digests)} sammendrag "
                 f"{'ville blitt sendt' if dry_run else 'å sende'}.",
                 f"\n{'Dry run: ' if dry_run else ''}{len(result.digests)} digests "
                 f"{'would be sent' if dry_run else 'to send'}."))
        if result.problems and not dry_run:
            sys.exit(errors.EXIT_PROBLEMS)
        return
    _finish_send(result, result.problems, tr("sammendrag", "digests"))


@cli.command()
@click.option("--test-item", is_flag=True,
              help="Opprett og slett en testavtale (eller send en testmelding) / create and delete a test item.")
@click.pass_obj
def doctor(obj: Context, test_item: bool) -> None:
    """Sjekk e-post- og kalenderoppsettet / check the mail and calendar backend end to end."""
    from samtale_automation.commands.doctor import run_doctor

    report = run_doctor(obj.workspace(), test_item=test_item)
    for check in report.checks:
        mark = "OK  " if check.ok else tr("FEIL", "FAIL")
        _echo(f"  {mark} {check.name}")
        for detail in check.details:
            _echo(f"       {detail}")
    if report.failure is not None:
        raise report.failure
    _echo(tr(f"\nAlt i orden med backend «{report.backend}».", f"\nBackend «{report.backend}» is in order."))


@cli.group(name="templates")
def templates_group() -> None:
    """E-postmaler / e-mail templates (override one by putting a file of the same name in maler/)."""


@templates_group.command(name="list")
@click.pass_obj
def templates_list(obj: Context) -> None:
    """Vis malene / list the templates and which ones maler/ overrides."""
    from samtale_automation.mail.templates import list_templates
    from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR

    override = obj.folder / TEMPLATE_OVERRIDE_DIR
    for info in list_templates(override if override.is_dir() else None):
        mark = tr(f"  (overstyrt: {', '.join(info.overridden)})", f"  (overridden: {', '.join(info.overridden)})") \
            if info.overridden else ""
        _echo(f"  {info.name:<28} {info.description}{mark}")
    _echo(tr(f"\nLegg en fil med samme navn i {override} for å endre en mal; «samtale templates show NAVN» viser den.",
             f"\nPut a file of the same name in {override} to change a template; "
             "«samtale templates show NAME» shows it."))


@templates_group.command(name="show")
@click.argument("name")
@click.option("--lang", "lang", type=click.Choice(["nb", "en"]), default="nb", help="Språk / language.")
@click.pass_obj
def templates_show(obj: Context, name: str, lang: str) -> None:
    """Vis en mal og eksempel på resultatet / show a template's files and a sample rendering."""
    from samtale_automation.mail.templates import TEMPLATE_NAMES, template_files
    from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR

    if name not in TEMPLATE_NAMES:
        raise UsageError(tr(f"Ingen mal heter «{name}».", f"No template is called «{name}»."),
                         hint=tr("Se «samtale templates list».", "See «samtale templates list»."))
    override = obj.folder / TEMPLATE_OVERRIDE_DIR
    folder = override if override.is_dir() else None
    for file_name, origin, source in template_files(name, lang, folder):
        _echo(f"==> {file_name} ({origin})")
        _echo(source.rstrip())
        _echo()
    from samtale_automation.mail.templates import Templates, sample_context, template_kind

    templates = Templates(lang, folder)
    _echo(tr("==> Eksempel med oppdiktede data:", "==> Example with made-up data:"))
    if template_kind(name) == "mail":
        rendered = templates.render(name, sample_context(name, lang))
        _echo(tr(f"Emne: {rendered.subject}", f"Subject: {rendered.subject}"))
        _echo(rendered.text.rstrip())
    else:
        _echo(templates.fragment(name, sample_context(name, lang)).text.rstrip())


@cli.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path), default="samtale-demo")
def demo(target: Path) -> None:
    """Vis hele gangen på et oppdiktet firma / the whole product on a made-up company."""
    from samtale_automation.commands.demo import run_demo

    result = run_demo(target, say=lambda text: _echo(f"• {text}"))
    _echo(tr(f"\nÅpne {result.folder / 'samtaler.xlsx'} i Excel eller LibreOffice for å se resultatet.",
             f"\nOpen {result.folder / 'samtaler.xlsx'} in Excel or LibreOffice to see the result."))


def _fail(error: SamtaleError) -> NoReturn:
    _echo(tr("Feil: ", "Error: ") + error.message, err=True)
    for problem in error.problems:
        _echo(f"  - {problem}", err=True)
    if error.hint:
        _echo(tr("Gjør dette: ", "What to do: ") + error.hint, err=True)
    sys.exit(error.exit_code)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the code of DESIGN.md §9."""
    run: Callable[..., Any] = cli.main
    try:
        run(args=argv, prog_name="samtale", standalone_mode=False)
    except SamtaleError as error:
        _fail(error)
    except click.exceptions.Abort:
        _echo(tr("Avbrutt.", "Aborted."), err=True)
        sys.exit(errors.EXIT_PROBLEMS)
    except click.ClickException as error:
        error.show()
        sys.exit(errors.EXIT_USAGE)
    except KeyboardInterrupt:
        _echo(tr("Avbrutt.", "Interrupted."), err=True)
        sys.exit(130)
    except Exception:
        _echo(tr("Uventet feil i samtale. Detaljer:", "Unexpected error in samtale. Details:"), err=True)
        _echo("".join(traceback.format_exc(limit=5)), err=True)
        _echo(tr("Meld gjerne feilen med teksten over.", "Please report the error with the text above."),
              err=True)
        sys.exit(errors.EXIT_PROBLEMS)
    sys.exit(errors.EXIT_OK)
