"""The CLI's commands for the night and for privacy: `nightly` (with install/show/remove), `report`, `gdpr`.

Registered on the `samtale` group by faces/cli.py; like it, this module only parses, calls one
command and prints its presentation (the words come from faces/present_nightly.py). `log_command` writes
the one log line every other command leaves in `.samtale/logs/samtale.log`.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from samtale_automation.faces.cli import DRY_RUN, Context, _ask, _finish, _print, _who, cli
from samtale_automation.faces.present import clock_error, present

if TYPE_CHECKING:
    from samtale_automation.commands.results_night import GdprResult


@cli.group(name="nightly", invoke_without_command=True)
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_context
def nightly(ctx: click.Context, dry_run: bool) -> None:
    """Nattkjøringen / the nightly run: fetch, collect, remind, retention, HR's digest, one write (never asks)."""
    if ctx.invoked_subcommand is not None:
        return
    from samtale_automation.commands.nightly import run_nightly

    _finish(present(run_nightly(ctx.obj.workspace(), dry_run=dry_run, who=_who())))


def _clock(value: str | None) -> time | None:
    """`--at HH:MM`."""
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise clock_error("--at", value) from None


@nightly.command(name="install")
@click.option("--at", "at", metavar="HH:MM", help="Klokkeslett / time of day (default 02:30).")
@click.option("--windows/--cron", "windows", default=None,
              help="Windows-oppgave eller cron (standard: dette systemet) / Windows task or cron.")
@click.option("--user", metavar="KONTO", help="Windows-kontoen oppgaven kjører som / the Windows account.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def nightly_install(obj: Context, at: str | None, windows: bool | None, user: str | None, dry_run: bool) -> None:
    """Installer nattkjøringen / schedule the nightly run (runs doctor as the task will first)."""
    from samtale_automation.commands.nightly_task import run_nightly_install

    _finish(present(run_nightly_install(obj.workspace(), at=_clock(at), windows=windows, user=user,
                                        dry_run=dry_run)))


@nightly.command(name="show")
@click.option("--at", "at", metavar="HH:MM", help="Klokkeslett / time of day (default 02:30).")
@click.option("--windows/--cron", "windows", default=None, help="Vis Windows-oppgaven eller cron-linjen.")
@click.option("--systemd", is_flag=True, help="Vis en systemd-timer i stedet / show a systemd timer instead.")
@click.option("--user", metavar="KONTO", help="Kontoen oppgaven kjører som / the account the task runs as.")
@click.pass_obj
def nightly_show(obj: Context, at: str | None, windows: bool | None, systemd: bool, user: str | None) -> None:
    """Vis hva som er installert / show the installed schedule (or the Task Scheduler XML, or systemd units)."""
    from samtale_automation.commands.nightly_task import run_nightly_show

    _finish(present(run_nightly_show(obj.workspace(), windows=windows, at=_clock(at), user=user, systemd=systemd)))


@nightly.command(name="remove")
@click.option("--windows/--cron", "windows", default=None, help="Windows-oppgave eller cron.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def nightly_remove(obj: Context, windows: bool | None, dry_run: bool) -> None:
    """Fjern nattkjøringen for denne mappen / remove this folder's schedule."""
    from samtale_automation.commands.nightly_task import run_nightly_remove

    _finish(present(run_nightly_remove(obj.workspace(), windows=windows, dry_run=dry_run)))


@cli.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Filen rapporten skrives til / the file to write (default: samtalerapport <runde>.html).")
@click.option("--names", is_flag=True, help="Ta med navn på medarbeiderne / include the employees' names.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def report(obj: Context, out: Path | None, names: bool, dry_run: bool) -> None:
    """Rapport for ledelsen / the round as one HTML file for management (numbers only)."""
    from samtale_automation.commands.report import run_report

    _finish(present(run_report(obj.workspace(), out=out, names=names, dry_run=dry_run)))


@cli.group(name="gdpr")
def gdpr_group() -> None:
    """Personvern / privacy: export or erase everything about one employee."""


@gdpr_group.command(name="export")
@click.argument("employee_id", metavar="ANSATTID")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Zip-filen / the zip file.")
@click.option("--dry-run", is_flag=True, help=DRY_RUN)
@click.pass_obj
def gdpr_export(obj: Context, employee_id: str, out: Path | None, dry_run: bool) -> None:
    """Innsyn / one zip with everything the tool holds about the employee."""
    from samtale_automation.commands.gdpr import run_gdpr_export

    _finish(present(run_gdpr_export(obj.workspace(), employee_id, out=out, dry_run=dry_run)))


@gdpr_group.command(name="erase")
@click.argument("employee_id", metavar="ANSATTID")
@click.option("--dry-run", is_flag=True, help="Vis hva som ville blitt slettet / only show what would go.")
@click.option("--yes", is_flag=True, help="Slett uten å spørre / erase without asking.")
@click.pass_obj
def gdpr_erase(obj: Context, employee_id: str, dry_run: bool, yes: bool) -> None:
    """Slett en ansatt overalt / erase or anonymise the employee everywhere."""
    from samtale_automation.commands.gdpr import run_gdpr_erase
    from samtale_automation.faces.present_nightly import erase_question

    def confirm(plan: GdprResult) -> bool:
        import dataclasses

        _print(present(dataclasses.replace(plan, dry_run=True)))  # the plan, as a dry run shows it
        return _ask(erase_question(plan), yes)

    workspace = obj.workspace()
    with workspace.locked("gdpr"):
        result = run_gdpr_erase(workspace, employee_id, dry_run=dry_run, who=_who(), confirm=confirm)
    _finish(present(result))


def log_command(exit_code: int) -> None:
    """One line per command run in the folder's `.samtale/logs/samtale.log` (the command and its exit code only;
    `nightly` writes its own line with its steps)."""
    import contextlib

    from samtale_automation import logs

    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.obj, Context):
        return
    command = ctx.command_path.partition(" ")[2] or "samtale"
    state = ctx.obj.folder / ".samtale"
    if command == "nightly" or not state.is_dir():
        return
    with contextlib.suppress(OSError):  # the log never fails a command
        logs.write_line(state / "logs", f"{command} exit={exit_code}")
