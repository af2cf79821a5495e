"""The presenter's words for what only the Excel buttons show: the refresh, «Mine samtaler», a logged bug.

Part of the one presenter (faces/present.py dispatches here); the CLI shows the same words
where it runs the same commands.
"""

from __future__ import annotations

from samtale_automation.commands import results as r
from samtale_automation.errors import EXIT_PROBLEMS, EXIT_WORKBOOK
from samtale_automation.faces.present import Presentation, Say
from samtale_automation.faces.present_send import Confirmation
from samtale_automation.texts import tr


def button(say: Say, result: r.RefreshResult | r.MineResult | r.UpgradeMacrosResult) -> None:
    """The lines of the «Oppdater oversikt» (after what waited) and «Mine samtaler» buttons, and of the upgrade."""
    if isinstance(result, r.UpgradeMacrosResult):
        _upgrade(say, result)
        return
    if isinstance(result, r.MineResult):
        say(tr(f"Viser {result.conversations} samtaler og {result.actions} tiltak for {result.name}.",
               f"Showing {result.conversations} conversations and {result.actions} actions for {result.name}."))
        say(tr("Fjern filteret i tabellen (Data > Fjern) for å se alle igjen.",
               "Clear the table's filter (Data > Clear) to see everything again."))
        return
    _refresh(say, result)


def _upgrade(say: Say, result: r.UpgradeMacrosResult) -> None:
    if result.refused:
        say.warn(tr(f"{result.master.name} er ikke endret: samtaler.xlsm ville ikke fått med",
                    f"{result.master.name} is unchanged: samtaler.xlsm would not have kept"))
        for item in result.refused:
            say.warn(f"  - {item}")
        say.warn(tr("Flytt det til et annet sted (eller fjern det), og kjør kommandoen igjen.",
                    "Move it elsewhere (or remove it), and run the command again."))
        say.exit_code = EXIT_PROBLEMS
        return
    say(tr(f"Laget {result.master} med knappene; alle rader er med.",
           f"Made {result.master} with the buttons; every row is in it."))
    if result.backup is not None:
        say(tr(f"  den gamle arbeidsboken ligger i {result.backup}", f"  the old workbook is in {result.backup}"))
    say(tr("Kjør «samtale excel setup» på hver PC som skal bruke knappene.",
           "Run «samtale excel setup» on each PC that will use the buttons."))


def _refresh(say: Say, result: r.RefreshResult) -> None:
    if result.saved is None:
        return
    say(tr(f"Oppdaterte status i {result.statuses} og navn i {result.names} rader i Samtaler"
           + (", og tallene på Oversikt." if result.overview else "."),
           f"Refreshed the status of {result.statuses} and the names of {result.names} rows in Samtaler"
           + (", and the numbers on Oversikt." if result.overview else ".")))
    if not result.saved:
        say.warn(tr("Excel kunne ikke lagre arbeidsboken. Sjekk at den ikke er åpnet skrivebeskyttet, og lagre.",
                    "Excel could not save the workbook. Check that it is not open read-only, and save."))
        say.exit_code = max(say.exit_code, EXIT_WORKBOOK)


def send_question(asked: Confirmation, shown: int = 5) -> str:
    """The Yes/No box before sending: how many messages, the first few with their recipients, the question."""
    count = len(asked.lines)
    lines = [tr(f"{count} meldinger skal sendes:", f"{count} messages to send:") if count != 1
             else tr("1 melding skal sendes:", "1 message to send:"), *asked.lines[:shown]]
    if count > shown:
        lines.append(tr(f"  … og {count - shown} til", f"  … and {count - shown} more"))
    return "\n".join([*lines, "", asked.question])


def present_send_elsewhere(shown: Presentation) -> Presentation:
    """A sending button on a PC without the backend's login: the error, then where sending works."""
    line = tr("Denne PC-en har ikke innloggingen samtale sender med. Trykk knappen på PC-en der den er lagret "
              "(se «samtale doctor» der), eller la nattkjøringen sende.",
              "This PC does not have the login samtale sends with. Click the button on the PC where it is stored "
              "(see «samtale doctor» there), or leave the sending to the nightly run.")
    return Presentation([*shown.lines, line], shown.exit_code, shown.warnings | {len(shown.lines)}, shown.table)


def present_logged_crash(log: str) -> Presentation:
    """A bug under a button: no traceback in the message box, it is in the log named."""
    line = tr(f"Uventet feil i samtale. Detaljene er skrevet i {log}. Meld gjerne feilen med dem.",
              f"Unexpected error in samtale. The details are in {log}. Please report the error with them.")
    return Presentation([line], EXIT_PROBLEMS, frozenset({0}))
