"""`samtale excel setup`: make this PC's buttons run this samtale (the per-user xlwings configuration).

The workbook names no machine's Python (DESIGN.md §9); each PC whose people click buttons runs
this once. It writes the interpreter into the user's own xlwings.conf (workbook/xlwings_conf.py
says where and how VBA reads it) and, with `--manager`, the AnsattID «Mine samtaler» filters on,
checked against Ansatte when a workbook folder is given.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from samtale_automation.commands.results import ExcelSetupResult
from samtale_automation.errors import UsageError
from samtale_automation.safe_write import write_private
from samtale_automation.texts import tr
from samtale_automation.workbook import xlwings_conf

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

#: The per-user key «Mine samtaler» reads (faces/excel.py reads it with the same name).
MANAGER_KEY = "SAMTALE_MANAGER"


def run_excel_setup(home: Path, executable: str = sys.executable, *, mac: bool = sys.platform == "darwin",
                    windows: bool = sys.platform == "win32", manager: str = "",
                    workspace: Workspace | None = None) -> ExcelSetupResult:
    """Write the interpreter (and the manager for «Mine samtaler») into the user's xlwings.conf."""
    if manager and workspace is not None and manager not in workspace.load(with_pending=False).employees:
        raise UsageError(tr(f"AnsattID {manager} finnes ikke i Ansatte.", f"Employee ID {manager} is not in Ansatte."),
                         hint=tr("Bruk AnsattID-en din fra arket Ansatte.", "Use your ID from the Ansatte sheet."))
    if '"' in manager:
        raise UsageError(tr("En AnsattID kan ikke inneholde anførselstegn.", "An employee ID cannot hold a quote."))
    path = xlwings_conf.user_config_path(home, mac=mac)
    existing = path.read_text(encoding=xlwings_conf.ENCODING, errors="replace") if path.exists() else None
    kind: type[PurePath] = PureWindowsPath if windows else PurePosixPath
    interpreter = xlwings_conf.interpreter_for(kind(executable))
    text = xlwings_conf.with_interpreter(existing, interpreter, mac=mac)
    if manager:
        text = xlwings_conf.with_value(text, MANAGER_KEY, manager)
    try:
        data = text.encode(xlwings_conf.ENCODING)
    except UnicodeEncodeError:
        raise UsageError(tr(f"Stien {interpreter} har tegn Excel ikke kan lese fra xlwings.conf.",
                            f"The path {interpreter} has characters Excel cannot read from xlwings.conf."),
                         hint=tr("Installer Python i en mappe med vanlige bokstaver.",
                                 "Install Python in a folder with plain letters.")) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, data)
    return ExcelSetupResult(path, str(interpreter), manager)


def configured_manager(home: Path, mac: bool = sys.platform == "darwin") -> str:
    """The AnsattID this PC's user chose with `samtale excel setup --manager` ('' when none)."""
    path = xlwings_conf.user_config_path(home, mac=mac)
    if not path.exists():
        return ""
    return xlwings_conf.read_value(path.read_text(encoding=xlwings_conf.ENCODING, errors="replace"),
                                   MANAGER_KEY) or ""
