"""The Excel face (faces/excel.py): each button's action on the open book, through the xlwings stand-in.

No Excel here: the book is tests/xlwings_standin.py's Book loaded from samtaler.xlsm made by
`init --macros`, and the UI is a recorder of status texts, questions and messages. What only
real Excel can show (RunPython starting Python, the alert boxes, AutoFilter through COM) is named
in the README.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import xlwings_standin as xs
from folders import make_folder, samtale

from samtale_automation.commands.excel_setup import MANAGER_KEY, run_excel_setup
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import EXIT_OK, EXIT_USAGE, EXIT_WORKBOOK, WorkbookError
from samtale_automation.faces import excel
from samtale_automation.workbook import xlwings_conf
from samtale_automation.workbook.buttons import ACTIONS
from samtale_automation.workbook.live import read_live

pytestmark = pytest.mark.usefixtures("nb_messages")

TODAY = datetime(2027, 1, 4, 8, 0, tzinfo=OSLO)


class Recorder:
    """An ExcelUI that remembers what Excel would have shown, and answers questions with `answer`."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.statuses: list[str] = []
        self.questions: list[str] = []
        self.messages: list[str] = []

    def status(self, text: str) -> None:
        self.statuses.append(text)

    def confirm(self, text: str) -> bool:
        self.questions.append(text)
        return self.answer

    def message(self, text: str) -> None:
        self.messages.append(text)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A folder made by `samtale init --macros`, with three people in Ansatte."""
    folder = tmp_path / "Medarbeidersamtaler"
    init_folder(folder, macros=True)
    _set_mailbox(folder)
    cs = ChangeSet("HR")
    for employee_id, name, manager in (("1001", "Kari Nordmann", "1003"), ("1002", "Ola Hansen", "1003"),
                                       ("1003", "Åse Ødegård", "")):
        cs.upsert("Ansatte", employee_id, name=name, email=f"{employee_id}@firma.no", manager_id=manager,
                  active="Ja", department="Salg")
    Workspace.open(folder, TODAY).commit(cs)
    return folder


def _set_mailbox(folder: Path) -> None:
    """Name the sending mailbox in samtale.toml, as HR does right after init (check asks for it)."""
    config = folder / "samtale.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('mailbox = ""', 'mailbox = "hr@firma.no"'),
                      encoding="utf-8")


def _book(root: Path) -> xs.Book:
    return xs.Book.from_file(root / "samtaler.xlsm")


def test_every_action_of_the_buttons_is_dispatched(root: Path) -> None:
    """Verify no button's action ends in «unknown action» (each has a command behind it)."""
    for action in ACTIONS:
        shown = excel.dispatch(action, _book(root), Recorder(answer=False), today=TODAY, who="hr",
                               environ={"HOME": str(root)}, filter_rows=lambda *_: 0)
        assert "ukjent handling" not in shown.text(), action
        assert "Uventet feil" not in shown.text(), (action, shown.text())


def test_check_reads_the_open_book_not_the_file(root: Path) -> None:
    """Verify «Sjekk arbeidsboken» sees a problem typed into the open book and not yet saved."""
    book = _book(root)
    assert excel.dispatch("check", book, Recorder(), today=TODAY).exit_code == EXIT_OK
    book.sheets["Ansatte"].cell(3, 3).value = "ikke en epost"  # Ola's E-post, typed in Excel
    shown = excel.dispatch("check", book, Recorder(), today=TODAY)
    assert shown.exit_code != EXIT_OK and "Ansatte!C3" in shown.text()


def test_round_then_apply_writes_into_the_book_and_saves_through_excel(root: Path) -> None:
    """Verify «Skriv ventende endringer» writes what waits into the open book, saves it, and marks it applied."""
    cs = ChangeSet("nattkjøring")
    cs.upsert("Ansatte", "1004", name="Per Berg", email="1004@firma.no", manager_id="1003", active="Ja")
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003")
    workspace = Workspace.open(root, TODAY)
    with workspace.journal() as journal:
        journal.add_changeset(cs)
    book = _book(root)
    ui = Recorder()
    shown = excel.dispatch("apply", book, ui, today=TODAY)
    assert shown.exit_code == EXIT_OK, shown.text()
    assert "Skrev til arbeidsboken: 2 nye rader" in shown.text()
    assert book.saves == 1
    assert "1004" in {r.values["employee_id"] for r in read_live(book).tables["Ansatte"].rows}
    assert workspace.pending() == []
    assert ui.statuses and "Skriv ventende endringer" in ui.statuses[0]
    oversikt = book.sheets["Oversikt"]  # the numbers follow every write, as the file applier's do
    assert oversikt.cell(7, 1).value == "Salg" and oversikt.cell(7, 10).value == 1  # Salg's one conversation


def test_a_failed_excel_save_leaves_the_changes_pending(root: Path) -> None:
    """Verify a save Excel refuses ends in a message (exit 3) and the ChangeSet still waits."""
    cs = ChangeSet("nattkjøring")
    cs.upsert("Ansatte", "1004", name="Per Berg", email="1004@firma.no", active="Ja")
    with Workspace.open(root, TODAY).journal() as journal:
        journal.add_changeset(cs)
    book = _book(root)
    book.save_fails = True
    shown = excel.dispatch("apply", book, Recorder(), today=TODAY)
    assert shown.exit_code == EXIT_WORKBOOK
    assert "Excel kunne ikke lagre" in shown.text()
    assert [p.changeset.id for p in Workspace.open(root, TODAY).pending()] == [cs.id]


def test_overview_refreshes_status_names_and_numbers_live(root: Path) -> None:
    """Verify «Oppdater oversikt» writes names into Samtaler and the Oversikt numbers, then saves."""
    book = _book(root)
    samtaler = book.sheets["Samtaler"]
    headers = [samtaler.cell(1, c).value for c in range(1, 30)]
    cs = ChangeSet("runde")
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003")
    with Workspace.open(root, TODAY).journal() as journal:
        journal.add_changeset(cs)
    shown = excel.dispatch("overview", book, Recorder(), today=TODAY)
    assert shown.exit_code == EXIT_OK, shown.text()
    name_col = headers.index("Navn") + 1
    assert samtaler.cell(2, name_col).value == "Kari Nordmann"
    oversikt = book.sheets["Oversikt"]
    assert oversikt.cell(7, 1).value == "Salg"
    assert oversikt.cell(7, 10).value == 1  # one conversation in the department
    assert book.saves == 2  # the pending change, then the refresh


def test_unknown_action_and_a_web_address_are_messages(root: Path) -> None:
    """Verify a button with an unknown action and a workbook open from the web each end in a message."""
    shown = excel.dispatch("format_c", _book(root), Recorder(), today=TODAY)
    assert shown.exit_code == EXIT_USAGE and "ukjent handling" in shown.text()
    web = xs.Book("https://firma.sharepoint.com/sites/HR/Delte dokumenter/samtaler.xlsm")
    shown = excel.dispatch("check", web, Recorder(), today=TODAY, environ={})
    assert shown.exit_code == EXIT_WORKBOOK
    assert "åpnet fra nettet" in shown.text() and "Traceback" not in shown.text()


def test_a_bug_is_a_message_and_the_traceback_goes_to_the_log(root: Path) -> None:
    """Verify an unexpected exception shows no traceback, and .samtale/logs/excel.log holds it."""

    class Broken(xs.Book):
        @property
        def sheets(self) -> Any:
            raise RuntimeError("Excel-objektet forsvant")

    shown = excel.dispatch("check", Broken(str(root / "samtaler.xlsm")), Recorder(), today=TODAY)
    assert "Uventet feil" in shown.text() and "Traceback" not in shown.text()
    log = (root / ".samtale" / "logs" / "excel.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "Excel-objektet forsvant" in log


def test_a_workbook_that_is_not_the_folders_master_is_refused(root: Path) -> None:
    """Verify a copy under another name (a button in «samtaler (1).xlsm») is refused, not written."""
    copy = root / "samtaler (1).xlsm"
    copy.write_bytes((root / "samtaler.xlsm").read_bytes())
    shown = excel.dispatch("apply", xs.Book.from_file(copy), Recorder(), today=TODAY)
    assert shown.exit_code == EXIT_WORKBOOK and "er ikke arbeidsboken" in shown.text()


def test_local_master_maps_onedrive_addresses(tmp_path: Path) -> None:
    """Verify personal OneDrive addresses map to the synced folder, and anything else is refused."""
    synced = tmp_path / "OneDrive - Firma" / "HR" / "Samtaler"
    synced.mkdir(parents=True)
    (synced / "samtaler.xlsm").write_bytes(b"")
    env = {"OneDriveCommercial": str(tmp_path / "OneDrive - Firma"), "OneDrive": str(tmp_path / "OneDrive - Firma")}
    business = "https://firma-my.sharepoint.com/personal/kari_firma_no/Documents/HR/Samtaler/samtaler.xlsm"
    assert excel.local_master(business, env) == synced / "samtaler.xlsm"
    personal = "https://d.docs.live.net/0123abcd/HR/Samtaler/samtaler.xlsm"
    assert excel.local_master(personal, env) == synced / "samtaler.xlsm"
    assert excel.local_master(str(synced / "samtaler.xlsm"), {}) == synced / "samtaler.xlsm"
    with pytest.raises(WorkbookError):
        excel.local_master("https://firma.sharepoint.com/sites/HR/Shared%20Documents/samtaler.xlsm", env)
    with pytest.raises(WorkbookError):
        excel.local_master(business, {})


def test_mine_filters_to_the_managers_conversations(root: Path, tmp_path: Path) -> None:
    """Verify «Mine samtaler» asks for the manager's conversations and actions, chosen once with excel setup."""
    cs = ChangeSet("runde")
    cs.upsert("Samtaler", "2027-1001", employee_id="1001", manager_id="1003")
    cs.upsert("Samtaler", "2027-1002", employee_id="1002", manager_id="1001")
    Workspace.open(root, TODAY).commit(cs)
    home = tmp_path / "home"
    mac = sys.platform == "darwin"
    run_excel_setup(home, "/usr/bin/python3", mac=mac, windows=False, manager="1003",
                    workspace=Workspace.open(root, TODAY))
    asked: dict[str, set[str]] = {}

    def record(_book: Any, table: str, _field: str, keys: set[str]) -> int:
        asked[table] = keys
        return len(keys)

    env = {"HOME": str(home)}
    shown = excel.dispatch("mine", _book(root), Recorder(), today=TODAY, environ=env, filter_rows=record)
    assert shown.exit_code == EXIT_OK, shown.text()
    assert asked == {"Samtaler": {"2027-1001"}, "Tiltak": set()}
    assert "Åse Ødegård" in shown.text()
    unset = excel.dispatch("mine", _book(root), Recorder(), today=TODAY, environ={"HOME": str(tmp_path / "x")},
                           filter_rows=record)
    assert unset.exit_code == EXIT_USAGE and "excel setup --manager" in unset.text()


def test_excel_setup_writes_the_interpreter_and_manager(root: Path, tmp_path: Path) -> None:
    """Verify excel setup keeps other keys, writes cp1252 for VBA, and refuses an unknown manager."""
    home = tmp_path / "Åse"
    conf = xlwings_conf.user_config_path(home)
    conf.parent.mkdir(parents=True)
    conf.write_bytes(b'"CONDA_PATH","C:\\\\conda"\r\n')
    result = run_excel_setup(home, r"C:\Users\Åse\AppData\Local\Programs\Python\Python312\python.exe",
                             mac=False, windows=True, manager="1003")
    text = conf.read_bytes().decode("cp1252")
    assert result.config == conf
    assert '"CONDA_PATH"' in text
    assert xlwings_conf.read_value(text, "INTERPRETER_WIN") == \
        r"C:\Users\Åse\AppData\Local\Programs\Python\Python312\pythonw.exe"
    assert xlwings_conf.read_value(text, MANAGER_KEY) == "1003"
    with pytest.raises(Exception, match="finnes ikke i Ansatte"):
        run_excel_setup(home, "/usr/bin/python3", mac=False, windows=False, manager="9999",
                        workspace=Workspace.open(root, TODAY))


def test_cli_init_and_demo_with_macros(tmp_path: Path) -> None:
    """Verify `samtale init --macros` makes samtaler.xlsm only, and a second init into it is refused."""
    target = tmp_path / "Samtaler"
    made = samtale("init", "--macros", str(target))
    assert made.returncode == 0, made.stdout + made.stderr
    assert (target / "samtaler.xlsm").exists() and not (target / "samtaler.xlsx").exists()
    assert "samtaler.xlsm" in made.stdout
    _set_mailbox(target)
    assert samtale("--dir", str(target), "check").returncode == 0
    assert samtale("init", str(target)).returncode == EXIT_USAGE


def test_run_is_the_click_status_bar_then_one_message(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify run(action), as RunPython calls it, shows progress, ends with one message box, and gives the
    status bar back to Excel."""
    book = _book(root)
    monkeypatch.setattr("samtale_automation.workbook.live.caller_book", lambda: book)
    excel.run("check")
    assert [(title, buttons) for _, title, buttons in book.app.shown] == [("samtale", "ok")]
    assert "Ingen problemer funnet" in book.app.shown[0][0]
    assert book.app.statuses[0] and "Sjekk arbeidsboken" in str(book.app.statuses[0])
    assert book.app.statuses[-1] is None


def test_the_question_before_sending_is_a_yes_no_box(root: Path) -> None:
    """Verify XlwingsUI.confirm asks in Excel's Yes/No alert and answers True only on «yes»."""
    from samtale_automation.faces.excel import XlwingsUI

    book = _book(root)
    ui = XlwingsUI(book.app)
    assert ui.confirm("Sende?") is False and book.app.shown[-1] == ("Sende?", "samtale", "yes_no")
    book.app.answer = "yes"
    assert ui.confirm("Sende?") is True


def test_sending_from_a_pc_without_the_login_says_where_it_works(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify «Send invitasjoner» with an SMTP login whose password is not on this PC says to send from the PC
    that has it, or to leave it to the nightly run, and nothing is sent."""
    monkeypatch.delenv("SAMTALE_SMTP_PASSWORD", raising=False)
    monkeypatch.setattr("keyring.get_password", lambda *_: None)
    root = tmp_path / "f"
    make_folder(root)
    config = root / "samtale.toml"
    text = config.read_text(encoding="utf-8").replace('backend = "outbox"', 'backend = "smtp"')
    config.write_text(text + '\n[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\n'
                      'username = "hr@firma.example"\n', encoding="utf-8")
    shown = excel.dispatch("invite", xs.Book.from_file(root / "samtaler.xlsx"), Recorder(answer=True), today=TODAY)
    assert "PC-en der den er lagret" in shown.text() and "nattkjøringen" in shown.text(), shown.text()
    assert "SMTP-passordet" in shown.text()
    assert not list((root / "utboks").iterdir())


def test_cli_demo_with_macros(tmp_path: Path) -> None:
    """Verify `samtale demo --macros` runs the whole demo on samtaler.xlsm, and check finds it clean."""
    target = tmp_path / "demo"
    made = samtale("demo", str(target), "--macros")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (target / "samtaler.xlsm").exists() and not (target / "samtaler.xlsx").exists()
    assert "samtaler.xlsm" in made.stdout
    assert made.stdout.rstrip().splitlines()[-1].startswith(f"Åpne {target.resolve() / 'samtaler.xlsm'} i Excel")


def test_the_send_question_counts_and_samples_the_recipients() -> None:
    """Verify the box before sending says how many messages, shows the first five and the question."""
    from samtale_automation.faces.present_excel import send_question
    from samtale_automation.faces.present_send import Confirmation

    lines = [f"  invitasjon  2027-{i}  → Person {i}" for i in range(1, 8)]
    asked = Confirmation(lines, "Sende invitasjonene via smtp?", "")
    text = send_question(asked)
    assert text.splitlines()[0] == "7 meldinger skal sendes:"
    assert "Person 5" in text and "Person 6" not in text and "… og 2 til" in text
    assert text.endswith("Sende invitasjonene via smtp?")


def test_an_english_workbook_answers_in_english(tmp_path: Path) -> None:
    """Verify the message box follows the workbook's language (Innstillinger), as its button labels do."""
    root = tmp_path / "en"
    init_folder(root, "en", macros=True)
    book = xs.Book.from_file(root / "samtaler.xlsm")
    ui = Recorder()
    shown = excel.dispatch("apply", book, ui, today=TODAY, environ={})
    assert shown.text() == "No changes are waiting."
    assert ui.statuses[0] == "samtale: Write pending changes …"
