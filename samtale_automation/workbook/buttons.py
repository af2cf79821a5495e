"""The buttons of the macro workbook (DESIGN.md §9): the one list of actions, and the VBA made from it.

Each button runs one public Sub of the `SamtaleButtons` VBA module, and each Sub makes one call,
`RunPython` with a literal action id into one Python dispatch function (`faces/excel.py`). The
Sub names, the button labels and the `.bas` source all come from `BUTTONS`; the committed
`workbooks/vba/SamtaleButtons.bas` is generated from it by `python -m
samtale_automation.workbook.vba_build`, and a test fails when the two differ.

The VBA text is ASCII only: labels and descriptions (Norwegian letters) live in cells, never in
VBA string literals, so the project's code page never matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from samtale_automation.domain.schema import SHEET_ORDER

#: The VBA module that holds one Sub per button.
VBA_MODULE = "SamtaleButtons"
#: Where RunPython sends every click: `run(action)` shows the result in a message box.
DISPATCH_MODULE = "samtale_automation.faces.excel"
DISPATCH_FUNCTION = "run"
#: The xlwings settings sheet that RunPython reads first (xlwings.bas GetConfigFromSheet).
XLWINGS_CONF_SHEET = "xlwings.conf"
#: Its rows (key, value): none names a path. The interpreter comes from each PC's own
#: %USERPROFILE%\.xlwings\xlwings.conf (`samtale excel setup`). The workbook's folder is kept off
#: sys.path, so a stray .py file in a shared folder is never imported by a click.
XLWINGS_CONF_ROWS: tuple[tuple[str, str], ...] = (("ADD_WORKBOOK_TO_PYTHONPATH", "false"),)
#: The code name of the workbook's document module.
WORKBOOK_CODE_NAME = "ThisWorkbook"
#: Every sheet of the .xlsm, in workbook order: the master's sheets, then xlwings.conf.
MACRO_SHEETS: tuple[str, ...] = (*SHEET_ORDER, XLWINGS_CONF_SHEET)

_ACTION = re.compile(r"[a-z][a-z_]*")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")


@dataclass(frozen=True)
class Button:
    """One button: the action id Python dispatches on, its VBA Sub, and its label and help text."""

    action: str
    sub: str
    nb: str
    en: str
    help_nb: str
    help_en: str

    def label(self, lang: str) -> str:
        """The button's caption in `nb` or `en`."""
        return self.en if lang == "en" else self.nb

    def help(self, lang: str) -> str:
        """One line saying what the button does, in `nb` or `en`."""
        return self.help_en if lang == "en" else self.help_nb

    @property
    def macro(self) -> str:
        """The macro a button names: module-qualified, so no other Sub of that name can be meant."""
        return f"{VBA_MODULE}.{self.sub}"

    @property
    def command(self) -> str:
        """The Python command the Sub hands to RunPython."""
        return python_command(self.action)


BUTTONS: tuple[Button, ...] = (
    Button("check", "CheckWorkbook", "Sjekk arbeidsboken", "Check the workbook",
           "Finner alt som er feil i arbeidsboken, med cellen det gjelder.",
           "Finds everything wrong in the workbook, with the cell."),
    Button("plan", "PlanConversations", "Planlegg samtaler", "Plan conversations",
           "Foreslår tidspunkt og rom for samtalene som mangler det.",
           "Proposes times and rooms for the conversations that lack them."),
    Button("prep", "MakePrepSheets", "Lag forberedelsesskjema", "Make prep sheets",
           "Lager forberedelsesskjema til hver ansatt og hver leder.",
           "Makes a prep sheet for each employee and each manager."),
    Button("invite", "SendInvitations", "Send invitasjoner", "Send invitations",
           "Sender møteinnkallinger med forberedelsesskjemaet vedlagt.",
           "Sends meeting invitations with the prep sheet attached."),
    Button("collect", "CollectReturns", "Hent inn svar og referater", "Collect replies and minutes",
           "Henter inn returnerte skjemaer og referater, og svarene på invitasjonene.",
           "Collects returned prep sheets and minutes, and the replies to the invitations."),
    Button("remind", "SendReminders", "Send påminnelser nå", "Send reminders now",
           "Sender påminnelsene som er på tide i dag.",
           "Sends the reminders that are due today."),
    Button("overview", "RefreshOverview", "Oppdater oversikt", "Refresh the overview",
           "Oppdaterer status, navn og arket Oversikt.",
           "Refreshes status, names and the Oversikt sheet."),
    Button("apply", "WritePendingChanges", "Skriv ventende endringer", "Write pending changes",
           "Skriver endringer som venter (f.eks. fra nattkjøringen) inn i arbeidsboken.",
           "Writes changes that are waiting (e.g. from the nightly run) into the workbook."),
    Button("mine", "MyConversations", "Mine samtaler", "My conversations",
           "Viser samtalene og tiltakene der du er leder eller ansatt.",
           "Shows the conversations and actions where you are the manager or the employee."),
)
BUTTON_BY_ACTION: dict[str, Button] = {b.action: b for b in BUTTONS}
ACTIONS: tuple[str, ...] = tuple(BUTTON_BY_ACTION)


def python_command(action: str) -> str:
    """The one-line Python command RunPython runs for an action."""
    if not _ACTION.fullmatch(action):
        raise ValueError(f"not an action id: {action!r}")
    return f"import {DISPATCH_MODULE} as x; x.{DISPATCH_FUNCTION}('{action}')"


def action_of_command(command: str) -> str | None:
    """The action id in a command made by `python_command`, or None for any other text."""
    match = re.fullmatch(rf"import {re.escape(DISPATCH_MODULE)} as x; x\.{DISPATCH_FUNCTION}\('([a-z_]+)'\)",
                         command)
    return match.group(1) if match else None


def sheet_code_names() -> dict[str, str]:
    """Each sheet of the .xlsm with the code name its document module has (as Excel names them)."""
    return {name: f"Sheet{index}" for index, name in enumerate(MACRO_SHEETS, start=1)}


def module_source() -> str:
    """The `SamtaleButtons.bas` source (LF line ends; the build makes them CRLF)."""
    lines = [
        f'Attribute VB_Name = "{VBA_MODULE}"',
        "' samtale: one Sub per button on the Start sheet. Each hands one action to Python.",
        "' Generated from samtale_automation/workbook/buttons.py by",
        "' `python -m samtale_automation.workbook.vba_build`: change the list there, not this file.",
        "Option Explicit",
    ]
    for button in BUTTONS:
        if not _IDENTIFIER.fullmatch(button.sub):
            raise ValueError(f"not a VBA Sub name: {button.sub!r}")
        lines += [
            "",
            f"Public Sub {button.sub}()",
            f'    RunPython "{button.command}"',
            "End Sub",
        ]
    return "\n".join(lines) + "\n"
