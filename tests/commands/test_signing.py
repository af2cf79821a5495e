"""The signing loop on real files: employee signs, manager finalises, countersign, the signed PDF (DESIGN.md §5).

Every step goes through real prep files (written by samtale, filled with openpyxl as a person would),
`samtale collect`, and `samtale remind` with the outbox backend; every outgoing attachment is opened
and searched for the private notes.
"""

from __future__ import annotations

import email
import io
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from folders import make_folder

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.remind import run_remind
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.fill import fill_minutes, name_cells

pytestmark = pytest.mark.usefixtures("nb_messages")

CID = "2027-2"
EMPLOYEE_NOTE = "BJØRNS-PRIVATE-NOTAT-71"
MANAGER_NOTE = "ÅSES-PRIVATE-NOTAT-93"
SUMMARY_A = "Et godt år med mye ansvar."
SUMMARY_B = "Et godt år med mye ansvar; Bjørn tar kundeansvar fra mars."


def _at(day: int, hour: int = 18) -> datetime:
    return datetime.combine(date(2027, 1, day), time(hour), OSLO)


@pytest.fixture
def folder(tmp_path: Path) -> Workspace:
    """Round 2027 with prep files out and the conversations invited (so reminders apply)."""
    ws = make_folder(tmp_path / "f")
    run_prep(ws)
    invited = ChangeSet("invited")
    for cid in (CID, "2027-3"):
        invited.upsert("Samtaler", cid, invited=date(2027, 1, 4))
    ws.commit(invited)
    return ws


def _prep(ws: Workspace, suffix: str) -> Path:
    return next((ws.folder.root / "forberedelse" / "2027").rglob(f"2 * - {suffix}.xlsx"))


def _returned(ws: Workspace, source: Path, name: str, **minutes: object) -> Path:
    workbook = openpyxl.load_workbook(source)
    fill_minutes(workbook, **minutes)  # type: ignore[arg-type]
    out = ws.folder.root / "innkommende" / name
    workbook.save(out)
    return out


def _collect(ws: Workspace, day: int) -> Workspace:
    later = Workspace.open(ws.folder.root, _at(day))
    run_collect(later, who="test")
    return later


def _cell_texts(path: Path) -> str:
    """Every string in an .xlsx package (shared strings, inline strings, sheet names), as one text."""
    with zipfile.ZipFile(path) as package:
        return "\n".join(package.read(name).decode("utf-8", "replace") for name in package.namelist()
                         if name.endswith(".xml"))


def _outgoing(root: Path) -> list[tuple[str, str, str]]:
    """(message file, attachment name, attachment text) for every attachment the outbox holds."""
    found = []
    for eml in sorted((root / "utboks").rglob("*.eml")):
        message = email.message_from_bytes(eml.read_bytes())
        for part in message.walk():
            name = part.get_filename()
            if not name:
                continue
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            if name.endswith(".xlsx"):
                with zipfile.ZipFile(io.BytesIO(data)) as package:
                    text = "\n".join(package.read(n).decode("utf-8", "replace") for n in package.namelist())
            elif name.endswith(".pdf"):
                text = _pdf_text(data)
            else:
                text = data.decode("utf-8", "replace")
            found.append((eml.name, name, text))
    return found


def _pdf_text(data: bytes) -> str:
    """The PDF's text as pdftotext (poppler) extracts it."""
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")


def _version_cells(path: Path) -> list[str]:
    """The «Versjon signert» cells beside the two sign-off rows of a fresh copy."""
    workbook = openpyxl.load_workbook(path)
    shown = []
    for name in (pn.N_SIGN_EMPLOYEE_NAME, pn.N_SIGN_MANAGER_NAME):
        sheet, [[cell]] = name_cells(workbook, name)
        shown.append(str(sheet.cell(cell.row, cell.column + 2).value or ""))
    return shown


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (pdftotext, pdftoppm) not installed")


@needs_poppler
def test_employee_signs_a_manager_signs_b_employee_countersigns_b(folder: Workspace) -> None:
    """A ≠ B: not «Signert» until the employee countersigns B; then «Signert», a PDF, and the PDF to both."""
    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              actions=[("Kurs i rådgivning", "Tryggere i kundemøter", "Bjørn", date(2027, 4, 30), date(2027, 3, 1))],
              private=EMPLOYEE_NOTE, signed=("Bjørn Sæther", date(2027, 1, 21), "", None))
    ws = _collect(folder, 21)
    conv = ws.load().conversations[CID]
    assert conv.signed_employee == date(2027, 1, 21) and re.fullmatch("[0-9a-f]{64}", conv.signed_employee_version)
    assert conv.signed_manager is None and conv.status(ws.now) == "minutes_returned"
    version_a = conv.signed_employee_version
    manager_copy = _prep(ws, "referat til leder")
    assert SUMMARY_A in _cell_texts(manager_copy) and EMPLOYEE_NOTE not in _cell_texts(manager_copy)
    assert _version_cells(manager_copy) == [f"versjon {version_a[:8]}", ""]
    action = ws.load().actions[f"{CID}-1"]
    assert action.follow_up == date(2027, 3, 1)  # Tiltak «Oppfølging» seeded from the minutes

    _returned(ws, manager_copy, "åse referat.xlsx", summaries={0: SUMMARY_B}, private=MANAGER_NOTE,
              signed=("", None, "Åse Kjærstad", date(2027, 1, 22)))
    ws = _collect(ws, 22)
    conv = ws.load().conversations[CID]
    assert conv.signed_manager == date(2027, 1, 22) and conv.signed_manager_version != version_a
    assert conv.signed_employee is None and conv.signed_employee_version == version_a
    assert conv.status(ws.now) == "minutes_returned"
    countersign = _prep(ws, "referat til signering")
    text = _cell_texts(countersign)
    assert SUMMARY_B in text and MANAGER_NOTE not in text and EMPLOYEE_NOTE not in text
    assert _version_cells(countersign) == [f"du signerte versjon {version_a[:8]}",
                                           f"versjon {conv.signed_manager_version[:8]}"]

    reminded = run_remind(Workspace.open(ws.folder.root, _at(25, 7)), who="test")
    assert reminded.report is not None
    kinds = {(d.recipient.employee_id, i.kind) for d in reminded.digests for i in d.items}
    assert ("2", "countersign") in kinds
    sent = _outgoing(ws.folder.root)
    assert any(name.endswith("referat til signering.xlsx") for _, name, _ in sent)

    _returned(ws, countersign, "bjørn signert.xlsx", signed=("Bjørn Sæther", date(2027, 1, 25), "", None))
    ws = _collect(ws, 25)
    conv = ws.load().conversations[CID]
    assert conv.status(ws.now) == "signed"
    assert conv.signed_employee_version == conv.signed_manager_version
    pdf = ws.folder.root / "arkiv" / "2027" / "2" / f"{CID} referat signert.pdf"
    text = _pdf_text(pdf.read_bytes())
    for expected in (SUMMARY_B, "Kurs i rådgivning", "Bjørn Sæther", "Åse Kjærstad", "25.01.2027", "22.01.2027",
                     "01.03.2027", conv.signed_manager_version):
        assert expected in text, expected
    assert EMPLOYEE_NOTE not in text and MANAGER_NOTE not in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    png = ws.folder.root / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(png)], check=True,
                   timeout=60)
    assert any(p.stat().st_size > 1000 for p in ws.folder.root.glob("page*.png"))

    run_remind(Workspace.open(ws.folder.root, _at(26, 7)), who="test")
    sent = _outgoing(ws.folder.root)
    pdfs = [(message, name) for message, name, _ in sent if name.endswith(".pdf")]
    assert len(pdfs) == 2  # one final mail each to employee and manager
    for message, name, text in sent:
        assert EMPLOYEE_NOTE not in text and MANAGER_NOTE not in text, (message, name)


def test_manager_signing_the_same_content_makes_it_signed_at_once(folder: Workspace) -> None:
    """The manager signs the employee's version unchanged: «Signert» at once, and the PDF is written."""
    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              actions=[("Mentor", "", "Åse", date(2027, 3, 1))], private=EMPLOYEE_NOTE,
              signed=("Bjørn Sæther", date(2027, 1, 21), "", None))
    ws = _collect(folder, 21)
    _returned(ws, _prep(ws, "referat til leder"), "åse referat.xlsx",
              signed=("", None, "Åse Kjærstad", date(2027, 1, 22)))
    ws = _collect(ws, 22)
    conv = ws.load().conversations[CID]
    assert conv.status(ws.now) == "signed"
    assert (conv.signed_employee, conv.signed_manager) == (date(2027, 1, 21), date(2027, 1, 22))
    assert (ws.folder.root / "arkiv" / "2027" / "2" / f"{CID} referat signert.pdf").exists()
    assert not list((ws.folder.root / "forberedelse").rglob("* - referat til signering.xlsx"))


def test_an_employee_file_never_signs_for_the_manager(folder: Workspace) -> None:
    """The manager's sign-off typed into the employee's own file is not a signature: «Signert leder» stays empty."""
    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              signed=("Bjørn Sæther", date(2027, 1, 21), "Åse Kjærstad", date(2027, 1, 21)))
    ws = _collect(folder, 21)
    conv = ws.load().conversations[CID]
    assert conv.signed_employee == date(2027, 1, 21) and conv.signed_manager is None
    assert conv.status(ws.now) == "minutes_returned"
    log = [row.values.get("result", "") for row in ws.load().raw.tables["Logg"].rows]  # type: ignore[union-attr]
    assert any("lederens signering i medarbeiderens fil er ikke tatt med" in str(line) for line in log)


def test_an_employee_who_edits_instead_of_signing_sends_it_back_to_the_manager(folder: Workspace) -> None:
    """The employee changes the manager's final and signs that: «Signert leder» is emptied, the manager gets it."""
    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              signed=("Bjørn Sæther", date(2027, 1, 21), "", None))
    ws = _collect(folder, 21)
    _returned(ws, _prep(ws, "referat til leder"), "åse referat.xlsx", summaries={0: SUMMARY_B},
              signed=("", None, "Åse Kjærstad", date(2027, 1, 22)))
    ws = _collect(ws, 22)
    manager_version = ws.load().conversations[CID].signed_manager_version
    _returned(ws, _prep(ws, "referat til signering"), "bjørn igjen.xlsx", summaries={1: "Mitt tillegg."},
              signed=("Bjørn Sæther", date(2027, 1, 25), "", None))
    ws = _collect(ws, 25)
    conv = ws.load().conversations[CID]
    assert conv.signed_employee == date(2027, 1, 25) and conv.signed_manager is None
    assert conv.status(ws.now) == "minutes_returned"
    back = _prep(ws, "referat til leder")
    assert "Mitt tillegg." in _cell_texts(back)
    assert _version_cells(back) == [f"versjon {conv.signed_employee_version[:8]}",
                                    f"du signerte versjon {manager_version[:8]}"]
    log = [str(row.values.get("result", "")) for row in ws.load().raw.tables["Logg"].rows]  # type: ignore[union-attr]
    assert any("det går tilbake til lederen" in line for line in log)
    assert any("går til medarbeideren for kontrasignering" in line for line in log)


def test_a_pdf_that_cannot_be_written_stops_nothing_else(folder: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure writing one PDF is named in the result; the files are archived and the workbook written; the
    next collect makes the PDF from the archived minutes."""
    import samtale_automation.prepfile.signed_pdf as signed_pdf

    def broken(path: Path, content: object) -> None:
        raise OSError("disk full")

    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              signed=("Bjørn Sæther", date(2027, 1, 21), "", None))
    ws = _collect(folder, 21)
    _returned(ws, _prep(ws, "referat til leder"), "åse referat.xlsx",
              signed=("", None, "Åse Kjærstad", date(2027, 1, 22)))
    monkeypatch.setattr(signed_pdf, "write_signed_pdf", broken)
    result = run_collect(Workspace.open(ws.folder.root, _at(22)), who="test")
    assert [(path.name, why) for path, why in result.signing_failed] == [
        (f"{CID} referat signert.pdf", "OSError: disk full")]
    assert Workspace.open(ws.folder.root, _at(22)).load().conversations[CID].status(_at(22)) == "signed"
    assert not list((ws.folder.root / "innkommende").iterdir())
    monkeypatch.undo()  # room again: the next collect, with nothing new, makes the PDF from the archived minutes
    again = run_collect(Workspace.open(ws.folder.root, _at(23)), who="test")
    pdf = ws.folder.root / "arkiv" / "2027" / "2" / f"{CID} referat signert.pdf"
    assert again.signing_files == [("signed_pdf", pdf)] and again.signing_failed == []
    assert pdf.read_bytes().startswith(b"%PDF")
    assert run_collect(Workspace.open(ws.folder.root, _at(24)), who="test").signing_files == []  # made once


def test_the_same_content_in_two_languages_is_the_same_version(folder: Workspace) -> None:
    """Cecilie writes in English (Språk = en), her manager reads the copy in Norwegian and signs it unchanged:
    the version is the same (topics by key, not label), so the minutes are «Signert» at once."""
    root = folder.folder.root / "forberedelse" / "2027"
    source = next(root.rglob("3 * - forberedelse.xlsx"))
    _returned(folder, source, "cecilie minutes.xlsx", summaries={0: "A good year.", 5: "Clear feedback."},
              actions=[("Course in Python", "Automate reports", "Cecilie", date(2027, 4, 1), date(2027, 3, 1))],
              signed=("Cecilie Berg", date(2027, 1, 22), "", None))
    ws = _collect(folder, 22)
    copy = next(root.rglob("3 * - referat til leder.xlsx"))
    assert openpyxl.load_workbook(copy).sheetnames[0] == "Referat"  # the manager's language
    _returned(ws, copy, "åse ferdig.xlsx", signed=("", None, "Åse Kjærstad", date(2027, 1, 25)))
    ws = _collect(ws, 25)
    conv = ws.load().conversations["2027-3"]
    assert conv.status(ws.now) == "signed" and conv.signed_employee_version == conv.signed_manager_version


def test_a_follow_up_date_in_the_minutes_books_the_follow_up_meeting(folder: Workspace) -> None:
    """The minutes' «Oppfølging (dato)» is seeded into Tiltak, and `invite` books the follow-up meeting from it;
    a date HR typed over it afterwards is kept when newer minutes arrive."""
    from samtale_automation.commands.invite import run_invite

    _returned(folder, _prep(folder, "forberedelse"), "bjørn referat.xlsx", summaries={0: SUMMARY_A},
              actions=[("Kurs i rådgivning", "", "Bjørn", date(2027, 4, 30), date(2027, 3, 1))],
              signed=("Bjørn Sæther", date(2027, 1, 21), "", None))
    ws = _collect(folder, 21)
    sent = run_invite(Workspace.open(ws.folder.root, _at(21)), who="test")
    assert sent.report is not None
    follow_ups = [item for item, _ in sent.report.delivered if item.kind == "follow_up"]
    assert len(follow_ups) == 1 and f"{CID}-1" in follow_ups[0].group
    master_path = ws.folder.root / "samtaler.xlsx"
    workbook = openpyxl.load_workbook(master_path)  # HR types another date into Tiltak «Oppfølging» in Excel
    sheet = workbook["Tiltak"]
    headers = [cell.value for cell in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == f"{CID}-1")
    sheet.cell(row, headers.index("Oppfølging") + 1).value = datetime(2027, 3, 8)
    workbook.save(master_path)
    _returned(ws, _prep(ws, "referat til leder"), "åse referat.xlsx",
              signed=("", None, "Åse Kjærstad", date(2027, 1, 22)))
    ws = _collect(ws, 22)
    assert ws.load().actions[f"{CID}-1"].follow_up == date(2027, 3, 8)
