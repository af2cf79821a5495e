"""The `samtale` command line: parse options, call one command, print its presentation, exit with its code.

Every word after a command comes from faces.present (the same presenter the Excel buttons use);
this module only parses, runs the command (under the folder's run lock where it writes), and
prints: lines on stdout, warnings on stderr, the status table through rich. An error a command
raises is presented the same way, with the exit code of DESIGN.md §9; no traceback is shown for
a person's mistake.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from samtale_automation import errors
from samtale_automation.errors import SamtaleError
from samtale_automation.faces.present import (
    Presentation,
    TableBlock,
    date_error,
    demo_step,
    discard_question,
    present,
    present_crash,
    present_error,
    present_interrupted,
    present_json,
    progress_label,
)
from samtale_automation.texts import set_language

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.messages import Backend
    from samtale_automation.plans.meetings import InvitePlan
    from samtale_automation.plans.reminders import Digest


class Context:
    """Global options, given before the command."""

    def __init__(self, folder: Path, today: date | None) -> None:
        self.folder = folder
        self.today = today

    def workspace(self) -> Workspace:
        """Open the workspace for the chosen folder and day."""
        from samtale_automation.commands.workspace import Workspace

        return Workspace.open(self.folder, self.today)


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise date_error(option, value) from None


def _echo(text: str = "", err: bool = False) -> None:
    click.echo(text, err=err)


def _print(shown: Presentation) -> None:
    """Print a presentation: its table, then its lines (warnings on stderr)."""
    if shown.table is not None:
        _print_table(shown.table)
    for index, line in enumerate(shown.lines):
        _echo(line, err=index in shown.warnings)


def _finish(shown: Presentation) -> None:
    """Print a command's presentation and exit with its code (returns when it is 0)."""
    _print(shown)
    from samtale_automation.faces.cli_nightly import log_command

    log_command(shown.exit_code)
    if shown.exit_code != errors.EXIT_OK:
        sys.exit(shown.exit_code)


def _print_table(block: TableBlock) -> None:
    """A table through rich (sized to the terminal; plain when output goes to a file), its notes under it."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=block.title)
    for header in block.headers:
        table.add_column(header)
    for row in block.rows:
        table.add_row(*row)
    console.print(table)
    for note in block.notes:
        console.print(note, markup=False)


@contextmanager
def _progress(*steps: str) -> Iterator[list[Callable[[str], None]]]:
    """One progress bar per step on a terminal (nothing when output goes to a file or the nightly job's log)."""
    if not sys.stderr.isatty():
        yield [lambda _name: None for _ in steps]
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"),
                  transient=True) as bar:
        yield [_ticker(bar, bar.add_task(progress_label(step))) for step in steps]


def _ticker(bar: Progress, task: TaskID) -> Callable[[str], None]:
    return lambda _name: bar.advance(task)


def _confirmer(yes: bool) -> Callable[[InvitePlan | list[Digest], Backend], bool]:
    """Show the plan, then ask: `--yes` answers; the outbox needs no answer; no terminal means no."""
    from samtale_automation.faces.present_send import confirmation

    def confirm(plan: InvitePlan | list[Digest], backend: Backend) -> bool:
        shown = confirmation(plan, backend.name)
        for line in shown.lines:
            _echo(line)
        if yes or not backend.needs_confirmation:
            return True
        if not sys.stdin.isatty():
            _echo(shown.refusal, err=True)
            return False
        return click.confirm(shown.question)
    return confirm


def _who() -> str:
    from samtale_automation.runtime import current_user

    return current_user()


DRY_RUN = "Vis hva som ville skjedd / only show what would happen."


def _choose_language(_ctx: click.Context, _param: click.Parameter, lang: str | None) -> str | None:
    """--lang takes effect while the command line is read, so click's own errors use it too."""
    if lang:
        set_language(lang)
        from samtale_automation.faces import click_nb

        click_nb.localise(cli)
    return lang


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=".", metavar="MAPPE",
              help="Mappen med arbeidsboken (standard: .) / the folder holding the workbook (default: .).")
@click.option("--today", metavar="YYYY-MM-DD",
              help="Datoen som brukes som i dag / the date used as today.")
@click.option("--lang", type=click.Choice(["nb", "en"]), default=None, is_eager=True, callback=_choose_language,
              help="Språk for meldinger (nb, en) / language of messages (nb, en).")
@click.version_option(package_name="samtale-automation", message="%(prog)s, versjon %(version)s",
                      help="Vis versjonen og avslutt / show the version.")
@click.pass_context
def cli(ctx: click.Context, folder: Path, today: str | None, lang: str | None) -> None:
    """samtale: medarbeidersamtaler fra én Excel-arbeidsbok og Outlook."""
    ctx.obj = Context(folder, _parse_day(today, "--today"))


@cli.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lang", "lang", type=click.Choice(["nb", "en"]), default="nb",
              help="Språk for tekstene i arbeidsboken / language of the workbook's texts.")
@click.option("--macros", is_flag=True,
              help="Lag samtaler.xlsm med knapper / make samtaler.xlsm with buttons.")
def init(target: Path, lang: str, macros: bool) -> None:
    """Lag en ny mappe med arbeidsbok / create a new folder with a master workbook."""
    from samtale_automation.commands.init import run_init

    _finish(present(run_init(target, lang, macros=macros)))


@cli.group(name="round")
def round_group() -> None:
    """Samtalerunder / conversation rounds."""


@round_group.command(name="new")
@click.argument("name")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Periodens første dag / first day.")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Periodens siste dag / last day.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def round_new(obj: Context, name: str, start: str | None, end: str | None, dry_run: bool) -> None:
    """Start en runde: en rad i Samtaler per aktiv ansatt / start a round: a Samtaler row per active employee."""
    from samtale_automation.commands.round import run_round_new

    _finish(present(run_round_new(obj.workspace(), name, _parse_day(start, "--from"), _parse_day(end, "--to"),
                                  dry_run=dry_run, who=_who())))


@cli.command()
@click.option("--manager", "managers", multiple=True, metavar="ID",
              help="Bare samtalene til denne lederen (kan gjentas) / only this manager's conversations (repeatable).")
@click.option("--replan", is_flag=True,
              help="Flytt også tider planleggeren satte og som ikke er invitert / also move the planner's own times "
                   "that are not invited yet.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def plan(obj: Context, managers: tuple[str, ...], replan: bool, dry_run: bool) -> None:
    """Finn tid og rom til hver samtale / give each conversation without a time a slot (and a room)."""
    from samtale_automation.commands.plan import run_plan

    _finish(present(run_plan(obj.workspace(), managers=managers, replan=replan, dry_run=dry_run, who=_who())))


@cli.command()
@click.option("--employee", "employees", multiple=True, metavar="ID",
              help="Bare for denne ansatte (kan gjentas) / only this employee (repeatable).")
@click.option("--force", is_flag=True, help="Lag filen på nytt; den gamle flyttes til .samtale/backups/.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def prep(obj: Context, employees: tuple[str, ...], force: bool, dry_run: bool) -> None:
    """Lag forberedelsesskjema / write each conversation's prep files."""
    from samtale_automation.commands.prep import run_prep

    workspace = obj.workspace()
    with workspace.locked("prep"):
        result = run_prep(workspace, employees, force=force, dry_run=dry_run, who=_who())
    _finish(present(result))


@cli.command()
@click.option("--from-mailbox", "from_mailbox", is_flag=True,
              help="Hent først svarfiler fra postkassen / first fetch returned files from the mailbox.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def collect(obj: Context, from_mailbox: bool, dry_run: bool) -> None:
    """Hent returnerte filer fra innkommende/ (og postkassen) inn / bring returned files into the register."""
    from samtale_automation.commands.collect import run_collect

    workspace = obj.workspace()
    steps = ("fetch", "move") if from_mailbox else ("move",)
    with workspace.locked("collect"), _progress(*steps) as ticks:
        result = run_collect(workspace, from_mailbox=from_mailbox, dry_run=dry_run, who=_who(), progress=ticks[-1],
                             fetch_progress=ticks[0])
    _finish(present(result))


@cli.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Finn alt som er feil, med cellen / report every problem, with its cell."""
    from samtale_automation.commands.check import run_check

    _finish(present(run_check(obj.workspace())))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Skriv JSON / print one JSON object.")
@click.option("--by", type=click.Choice(["manager", "department"]), default=None,
              help="Tall per leder eller avdeling, som arket Oversikt / numbers per manager or department.")
@click.pass_obj
def status(obj: Context, as_json: bool, by: str | None) -> None:
    """Hvor hver samtale står / where each conversation stands."""
    from samtale_automation.commands.status import run_status

    result = run_status(obj.workspace(), check_saving=not as_json, by=by)
    _finish(present_json(result) if as_json else present(result))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som venter / only list what is waiting.")
@click.option("--retry", "retry", multiple=True, metavar="ID",
              help="Prøv en endring som er satt til side på nytt (kan gjentas) / retry a set-aside change "
                   "(repeatable).")
@click.option("--discard", "discard", multiple=True, metavar="ID",
              help="Forkast en endring som er satt til side (kan gjentas) / discard a set-aside change "
                   "(repeatable).")
@click.option("--yes", is_flag=True, help="Forkast uten å spørre / discard without asking.")
@click.pass_obj
def apply(obj: Context, dry_run: bool, retry: tuple[str, ...], discard: tuple[str, ...], yes: bool) -> None:
    """Skriv ventende endringer nå (--retry, --discard: de satt til side) / apply pending changes now."""
    if retry or discard:
        from samtale_automation.commands.set_aside import run_set_aside

        _finish(present(run_set_aside(obj.workspace(), retry, discard, who=_who(), dry_run=dry_run,
                                      confirm_discard=lambda ids: _ask(discard_question(ids), yes))))
        return
    from samtale_automation.commands.apply import run_apply

    _finish(present(run_apply(obj.workspace(), dry_run=dry_run)))


def _ask(question: Presentation, yes: bool) -> bool:
    """Ask a yes/no question: `--yes` answers; no terminal means no (with the question's refusal shown)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        _print(question)
        return False
    return click.confirm(question.lines[0])


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som ville blitt sendt / only show what would be sent.")
@click.option("--yes", is_flag=True, help="Send uten å spørre / send without asking.")
@click.pass_obj
def invite(obj: Context, dry_run: bool, yes: bool) -> None:
    """Send invitasjoner, endringer og avlysninger / send the invitations, updates and cancellations."""
    from samtale_automation.commands.invite import run_invite

    workspace = obj.workspace()
    with workspace.locked("invite"), _progress("send") as ticks:
        result = run_invite(workspace, dry_run=dry_run, who=_who(), progress=ticks[0], confirm=_confirmer(yes))
    _finish(present(result))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Vis hva som ville blitt sendt / only show what would be sent.")
@click.option("--yes", is_flag=True, help="Send uten å spørre / send without asking.")
@click.pass_obj
def remind(obj: Context, dry_run: bool, yes: bool) -> None:
    """Send dagens påminnelser, ett sammendrag per person / send today's reminder digests (one per person)."""
    from samtale_automation.commands.remind import run_remind

    workspace = obj.workspace()
    with workspace.locked("remind"), _progress("send") as ticks:
        result = run_remind(workspace, dry_run=dry_run, who=_who(), progress=ticks[0], confirm=_confirmer(yes))
    _finish(present(result))


@cli.command()
@click.option("--test-item", is_flag=True,
              help="Opprett og slett en testavtale (eller send en testmelding) / create and delete a test item.")
@click.pass_obj
def doctor(obj: Context, test_item: bool) -> None:
    """Sjekk e-post- og kalenderoppsettet / check the mail and calendar backend end to end."""
    from samtale_automation.commands.doctor import run_doctor

    _finish(present(run_doctor(obj.workspace(), test_item=test_item)))


@cli.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path), default="samtale-demo")
@click.option("--macros", is_flag=True,
              help="Demoen med samtaler.xlsm og knapper / the demo with samtaler.xlsm and buttons.")
def demo(target: Path, macros: bool) -> None:
    """Vis hele gangen på et oppdiktet firma / the whole product on a made-up company."""
    from samtale_automation.commands.demo import run_demo

    _finish(present(run_demo(target, say=lambda text: _echo(demo_step(text)), macros=macros)))


def _add_excel_commands() -> None:
    """`upgrade-workbook --macros` and `excel setup` live in cli_excel.py (they import this module)."""
    from samtale_automation.faces.cli_excel import excel_group, upgrade_workbook

    cli.add_command(upgrade_workbook)
    cli.add_command(excel_group)


_add_excel_commands()


from samtale_automation.faces import cli_nightly, cli_templates  # noqa: E402,F401 - register their commands


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI and exit with the code of DESIGN.md §9."""
    from samtale_automation.faces import click_nb

    click_nb.install()  # click's own help headings and usage errors in bokmål too
    click_nb.localise(cli)
    try:
        cli.main(args=argv, prog_name="samtale", standalone_mode=False)
    except SamtaleError as error:
        _finish(present_error(error))
    except click.exceptions.Abort:
        _finish(present_interrupted(by_person=True))
    except click.ClickException as error:
        error.show()
        sys.exit(errors.EXIT_USAGE)
    except KeyboardInterrupt:
        _finish(present_interrupted(by_person=False))
    except Exception:
        _finish(present_crash("".join(traceback.format_exc(limit=5))))
    sys.exit(errors.EXIT_OK)
