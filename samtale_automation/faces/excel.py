"""The Excel face: one Python dispatch behind every button of samtaler.xlsm (DESIGN.md §9).

Each button's VBA Sub calls `RunPython "import samtale_automation.faces.excel as x; x.run('plan')"`
(workbook/buttons.py makes those lines). `run` finds the workbook whose button was clicked,
and `dispatch` runs the same command the CLI runs on it, through a Workspace that holds the
open book: the command reads the open book's tables and writes into them through the live
applier, which saves through Excel before anything counts as applied. The answer is the
presenter's text (faces/present.py) in a message box; an error is a message, never a traceback
(the traceback goes to `.samtale/logs/excel.log`).

Only `run` and `XlwingsUI` touch xlwings (and workbook/live_filter.py for «Mine samtaler»);
`dispatch` takes the book and a UI object, so it is tested without Excel
(tests/faces/test_excel.py, with the xlwings stand-in and a recording UI).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from samtale_automation.errors import EXIT_PROBLEMS, MissingSecretError, SamtaleError, UsageError, WorkbookError
from samtale_automation.faces.present import Presentation, present, present_error, progress_label
from samtale_automation.faces.present_excel import present_logged_crash, present_send_elsewhere, send_question
from samtale_automation.texts import language, set_language, tr
from samtale_automation.workbook.buttons import ACTIONS, BUTTON_BY_ACTION

if TYPE_CHECKING:
    from samtale_automation.commands.mine import RowFilter
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.messages import Backend
    from samtale_automation.plans.meetings import InvitePlan
    from samtale_automation.plans.reminders import Digest

#: The title of every message box.
TITLE = "samtale"


class OpenBook(Protocol):
    """The little of xlwings' Book the face itself reads (the commands get the whole Book)."""

    @property
    def fullname(self) -> str:
        """The workbook's full path, or its https address when opened from OneDrive/SharePoint."""


class ExcelUI(Protocol):
    """What a button's run shows in Excel: the status bar, a yes/no question, and the closing message."""

    def status(self, text: str) -> None:
        """Show progress in the status bar ('' gives the bar back to Excel)."""

    def confirm(self, text: str) -> bool:
        """Ask a yes/no question; True on yes."""

    def message(self, text: str) -> None:
        """Show the closing message."""


class ExcelApp(Protocol):
    """xlwings' App: the status bar and the alert box."""

    status_bar: str | None

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok") -> str | None:
        """Show a message box; the button clicked."""


class XlwingsUI:
    """The ExcelUI of a real Excel, through xlwings' App (status_bar, alert)."""

    def __init__(self, app: ExcelApp) -> None:
        self.app = app

    def status(self, text: str) -> None:
        """Show progress in Excel's status bar."""
        self.app.status_bar = text or None  # None hands the bar back to Excel

    def confirm(self, text: str) -> bool:
        """A Yes/No alert."""
        return str(self.app.alert(text, title=TITLE, buttons="yes_no")) == "yes"

    def message(self, text: str) -> None:
        """An OK alert."""
        self.app.alert(text, title=TITLE)


def run(action: str) -> None:
    """The one entry RunPython calls: run a button's action on the workbook whose button was clicked."""
    from samtale_automation.workbook.live import caller_book
    from samtale_automation.workbook.live_filter import filter_table

    book = caller_book()
    ui = XlwingsUI(book.app)
    try:
        shown = dispatch(action, book, ui, filter_rows=filter_table)
    finally:
        ui.status("")
    ui.message(shown.text())


def local_master(fullname: str, environ: Mapping[str, str]) -> Path:
    """The local path of the open workbook; a OneDrive/SharePoint address is mapped to its synced folder.

    Excel gives an https `fullname` for a workbook opened from OneDrive or SharePoint. A personal
    OneDrive (d.docs.live.net, or …-my.sharepoint.com/personal/…/Documents) is synced to the
    folder in %OneDrive% / %OneDriveCommercial%; when the file is there, that path is used, else
    the workbook is refused with a message saying what to do.
    """
    if not fullname.lower().startswith(("https://", "http://")):
        return Path(fullname)
    parts = PurePosixPath(unquote(urlsplit(fullname).path)).parts[1:]
    host = urlsplit(fullname).hostname or ""
    candidates: list[tuple[str, tuple[str, ...]]] = []
    if host == "d.docs.live.net" and len(parts) > 1:
        candidates.append(("OneDrive", parts[1:]))  # /<cid>/Folder/file
    if host.endswith("-my.sharepoint.com") and len(parts) > 3 and parts[0] == "personal" and parts[2] == "Documents":
        candidates += [("OneDriveCommercial", parts[3:]), ("OneDrive", parts[3:])]
    for variable, rest in candidates:
        root = environ.get(variable)
        if root:
            path = Path(root).joinpath(*rest)
            if path.exists():
                return path
    raise WorkbookError(
        tr(f"Arbeidsboken er åpnet fra nettet ({fullname}), ikke fra en mappe på denne PC-en.",
           f"The workbook is open from the web ({fullname}), not from a folder on this PC."),
        hint=tr("Synkroniser mappen med OneDrive (eller åpne den i Utforsker) og åpne samtaler.xlsm derfra.",
                "Sync the folder with OneDrive (or open it in Explorer) and open samtaler.xlsm from there."))


def dispatch(action: str, book: OpenBook, ui: ExcelUI, *, environ: Mapping[str, str] | None = None,
             today: datetime | None = None, who: str | None = None,
             filter_rows: RowFilter | None = None) -> Presentation:
    """Run one button's action on the open `book` and return what to show; errors become messages."""
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.runtime import current_user

    environ = os.environ if environ is None else environ
    workspace: Workspace | None = None
    try:
        if action not in ACTIONS:
            raise UsageError(tr(f"Knappen kjører en ukjent handling: «{action}».",
                                f"The button runs an unknown action: «{action}»."),
                             hint=tr("Lag arbeidsboken på nytt med «samtale upgrade-workbook --macros».",
                                     "Make the workbook again with «samtale upgrade-workbook --macros»."))
        master = local_master(str(book.fullname), environ)
        workspace = Workspace.open(master.parent, today, book=book)
        if not _same_file(workspace.folder.master(), master):
            raise WorkbookError(tr(f"{master.name} er ikke arbeidsboken i {master.parent}.",
                                   f"{master.name} is not the workbook of {master.parent}."),
                                hint=tr("Bruk knappene i samtaler.xlsm.", "Use the buttons in samtaler.xlsm."))
        if "SAMTALE_LANG" not in environ:
            set_language(workbook_language(book))  # the workbook's language, as its buttons are
        ui.status("samtale: " + BUTTON_BY_ACTION[action].label(language()) + " …")
        shown = _run_action(action, workspace, ui, who or current_user(), environ, filter_rows)
    except MissingSecretError as error:  # a sending button on a PC without the backend's login
        shown = present_send_elsewhere(present_error(error))
    except SamtaleError as error:
        shown = present_error(error)
    except Exception:  # a bug: the message says so, the traceback goes to the log
        _log(workspace, action, EXIT_PROBLEMS, traceback.format_exc())
        return present_logged_crash(".samtale/logs/excel.log")
    _log(workspace, action, shown.exit_code, shown.text())
    return shown


def workbook_language(book: OpenBook) -> str:
    """The language set in the open workbook's Innstillinger (nb when none is readable)."""
    from samtale_automation.domain.master import parse_settings
    from samtale_automation.domain.schema import SETTINGS
    from samtale_automation.workbook.live import read_live

    raw = read_live(book, (SETTINGS,))
    return parse_settings(raw.tables.get(SETTINGS.table), []).language or "nb"


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (a mapped drive and its UNC path, or another letter case, on Windows)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(str(a)) == os.path.normcase(str(b))


def _run_action(action: str, workspace: Workspace, ui: ExcelUI, who: str, environ: Mapping[str, str],
                filter_rows: RowFilter | None) -> Presentation:
    """Call the command of one action, under the run lock where it writes, and present its result."""
    if action == "check":
        from samtale_automation.commands.check import run_check

        return present(run_check(workspace))
    if action == "plan":
        from samtale_automation.commands.plan import run_plan

        with workspace.locked("plan"):
            return present(run_plan(workspace, who=who))
    if action == "prep":
        from samtale_automation.commands.prep import run_prep

        with workspace.locked("prep"):
            return present(run_prep(workspace, who=who))
    if action in ("invite", "remind"):
        return _send(action, workspace, ui, who)
    if action == "collect":
        from samtale_automation.commands.collect import run_collect

        with workspace.locked("collect"):
            return present(run_collect(workspace, who=who, progress=_ticker(ui, "move")))
    if action == "overview":
        from samtale_automation.commands.refresh import run_refresh

        return present(run_refresh(workspace))
    if action == "apply":
        from samtale_automation.commands.apply import run_apply

        return present(run_apply(workspace))
    return _mine(workspace, environ, filter_rows)


def _send(action: str, workspace: Workspace, ui: ExcelUI, who: str) -> Presentation:
    """Invite or remind: show the plan and ask in a dialog before anything is sent."""
    from samtale_automation.faces.present_send import confirmation

    def confirm(plan: InvitePlan | list[Digest], backend: Backend) -> bool:
        asked = confirmation(plan, backend.name)
        if not backend.needs_confirmation:
            return True
        return ui.confirm(send_question(asked))

    with workspace.locked(action):
        if action == "invite":
            from samtale_automation.commands.invite import run_invite

            return present(run_invite(workspace, who=who, confirm=confirm, progress=_ticker(ui, "send")))
        from samtale_automation.commands.remind import run_remind

        return present(run_remind(workspace, who=who, confirm=confirm, progress=_ticker(ui, "send")))


def _ticker(ui: ExcelUI, step: str) -> Callable[[str], None]:
    """Progress in the status bar: the step's label and how many so far."""
    count = [0]

    def tick(_name: str) -> None:
        count[0] += 1
        ui.status(f"samtale: {progress_label(step)} {count[0]}")
    return tick


def _mine(workspace: Workspace, environ: Mapping[str, str], filter_rows: RowFilter | None) -> Presentation:
    """«Mine samtaler»: the manager chosen on this PC with `excel setup`, and Excel's filter."""
    from samtale_automation.commands.excel_setup import configured_manager
    from samtale_automation.commands.mine import run_mine

    if filter_rows is None:
        raise UsageError(tr("«Mine samtaler» virker bare i Excel.", "«Mine samtaler» works only in Excel."))
    home = Path(environ.get("USERPROFILE") or environ.get("HOME") or Path.home())
    return present(run_mine(workspace, configured_manager(home), filter_rows))


def _log(workspace: Workspace | None, action: str, code: int, text: str) -> None:
    """One entry per click in .samtale/logs/excel.log (never secrets: the presenter's text or a traceback)."""
    if workspace is None:
        return
    try:
        logs = workspace.folder.logs
        logs.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")  # real time: when the click was
        with (logs / "excel.log").open("a", encoding="utf-8") as log:
            log.write(f"{stamp} {action} exit={code}\n{text}\n\n")
    except OSError:
        pass  # a log that cannot be written never hides the answer
