"""The command line's Excel commands: `upgrade-workbook --macros` and `excel setup` (added to the `samtale` group).

Parse and call, as in cli.py; the words come from the presenter.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from samtale_automation.faces.present import Presentation, present

if TYPE_CHECKING:
    from samtale_automation.faces.cli import Context


def _finish(shown: Presentation) -> None:
    """Print and exit as every command does (cli._finish; imported late: cli.py adds these commands)."""
    from samtale_automation.faces.cli import _finish as finish

    finish(shown)


@click.command(name="upgrade-workbook")
@click.option("--macros", is_flag=True, required=True,
              help="Gjør samtaler.xlsx om til samtaler.xlsm med knapper / make samtaler.xlsx into samtaler.xlsm.")
@click.pass_obj
def upgrade_workbook(obj: Context, macros: bool) -> None:
    """Gjør arbeidsboken om til .xlsm med knapper / turn the workbook into an .xlsm with buttons."""
    from samtale_automation.commands.upgrade_macros import run_upgrade_macros

    _finish(present(run_upgrade_macros(obj.workspace())))


@click.group(name="excel")
def excel_group() -> None:
    """Knappene i Excel / the buttons in Excel."""


@excel_group.command(name="setup")
@click.option("--manager", default="", metavar="ANSATTID",
              help="Din AnsattID, for «Mine samtaler» / your employee ID, for «Mine samtaler».")
@click.pass_obj
def excel_setup(obj: Context, manager: str) -> None:
    """La knappene på denne PC-en bruke denne Python / make this PC's buttons use this Python."""
    from samtale_automation.commands.excel_setup import run_excel_setup

    workspace = obj.workspace() if manager else None
    _finish(present(run_excel_setup(Path.home(), manager=manager.strip(), workspace=workspace)))
