"""The CLI's `templates list|show`: the e-mail templates and which of them maler/ overrides.

Registered on the `samtale` group by faces/cli.py; like it, this module only parses, calls one
command and prints its presentation.
"""

from __future__ import annotations

import click

from samtale_automation.faces.cli import Context, _finish, cli
from samtale_automation.faces.present import present


@cli.group(name="templates")
def templates_group() -> None:
    """E-postmaler (overstyr en med en fil med samme navn i maler/) / e-mail templates (override in maler/)."""


@templates_group.command(name="list")
@click.pass_obj
def templates_list(obj: Context) -> None:
    """Vis malene og hvilke av dem maler/ overstyrer / list the templates and which ones maler/ overrides."""
    from samtale_automation.commands.templates import run_templates_list

    _finish(present(run_templates_list(obj.folder)))


@templates_group.command(name="show")
@click.argument("name")
@click.option("--lang", "lang", type=click.Choice(["nb", "en"]), default="nb", help="Språk / language.")
@click.pass_obj
def templates_show(obj: Context, name: str, lang: str) -> None:
    """Vis en mal og eksempel på resultatet / show a template's files and a sample rendering."""
    from samtale_automation.commands.templates import run_templates_show

    _finish(present(run_templates_show(obj.folder, name, lang)))
