"""Printing the master (workbook/printing.py): A4, one page wide, header rows repeated, few pages.

The print setup is checked in the file (openpyxl) and on paper: LibreOffice headless exports the
demo's master to PDF, poppler's `pdfinfo` counts and sizes its pages, `pdftotext` reads each page
(headers whole, repeated on every page of a long table) and `pdftoppm` renders page images.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from samtale_automation.commands.demo import run_demo
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import LISTS_SHEET, LOG, TABLES
from samtale_automation.workbook.printing import A4, print_setup

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release-0.1.0"
NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)
TIMEOUT = 180


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not on PATH (LibreOffice / poppler-utils are needed for the print tests).",
                    pytrace=False)
    return found


def _pdf(master: Path, out: Path) -> Path:
    """The master exported to PDF by LibreOffice headless, with a throwaway profile."""
    profile = out / "profile"
    command = [_tool("soffice"), "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
               "--convert-to", "pdf", "--outdir", str(out), str(master)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    pdf = out / (master.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    return pdf


def _pages(pdf: Path) -> list[tuple[float, float]]:
    """Each page's size in points, from pdfinfo."""
    info = subprocess.run([_tool("pdfinfo"), "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          timeout=TIMEOUT, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def _text(pdf: Path, page: int) -> str:
    return subprocess.run([_tool("pdftotext"), "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout


def _is_a4(size: tuple[float, float]) -> bool:
    return sorted(round(v) for v in size) == [595, 842]


@pytest.fixture(scope="module")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's master, written many times by the demo's commands."""
    return run_demo(tmp_path_factory.mktemp("print") / "demo").folder / "samtaler.xlsx"


@pytest.fixture(scope="module")
def demo_pdf(demo_master: Path) -> tuple[Path, Path]:
    """The demo's master and its PDF."""
    return demo_master, _pdf(demo_master, demo_master.parents[1])


def test_every_visible_sheet_is_set_to_a4_one_page_wide(demo_master: Path) -> None:
    """Verify in the file: A4, fit to one page wide, wide sheets landscape, header row repeated and frozen."""
    workbook = openpyxl.load_workbook(demo_master)
    tables = {schema.name for schema in TABLES}
    for ws in workbook.worksheets:
        if ws.title == LISTS_SHEET:
            assert ws.sheet_state == "hidden"
            continue
        assert int(ws.page_setup.paperSize) == A4, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0, ws.title
        if ws.title in tables:
            assert ws.print_title_rows == "$1:$1", ws.title
            assert ws.freeze_panes == "A2", ws.title
    assert workbook["Samtaler"].page_setup.orientation == "landscape"
    assert workbook["Start"].page_setup.orientation == "portrait"


@pytest.mark.libreoffice
def test_the_demo_master_prints_on_at_most_14_a4_pages(demo_pdf: tuple[Path, Path]) -> None:
    """Verify on paper: every page A4, at most 14, and each sheet starts on one page with whole headers."""
    pdf = demo_pdf[1]
    pages = _pages(pdf)
    assert 9 <= len(pages) <= 14, len(pages)
    assert all(_is_a4(size) for size in pages)
    texts = [_text(pdf, n) for n in range(1, len(pages) + 1)]
    everything = "\n".join(texts)
    for heading in ("Slik går runden", "Oversikt – samtalerunde 2027", "SamtaleID", "Forberedelse",
                    "Tidspunkt passert – venter på referat", "SpørsmålID", "TiltakID", "Hendelse"):
        assert heading in everything, heading
    samtaler = next(text for text in texts if text.lstrip().startswith("SamtaleID"))
    # One page wide: the last column is on the same page as the first (nothing pushed to a page of its own).
    assert "Merknad" in samtaler and "Signert leder" in samtaler and "2027-1015" in samtaler


@pytest.mark.libreoffice
def test_page_images_show_the_start_steps(demo_pdf: tuple[Path, Path], tmp_path: Path) -> None:
    """Verify the first page renders as an A4 portrait image with ink on it (the Start sheet's steps)."""
    from PIL import Image

    subprocess.run([_tool("pdftoppm"), "-r", "40", "-png", "-f", "1", "-l", "1", str(demo_pdf[1]),
                    str(tmp_path / "page")], check=True, timeout=TIMEOUT)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    width, height = image.size
    assert height > width  # portrait
    dark = sum(image.histogram()[:128])
    assert dark > 500, "the page is blank"
    assert "samtale invite" in _text(demo_pdf[1], 1) and "lagt i utboks/" not in _text(demo_pdf[1], 2)


@pytest.mark.libreoffice
def test_a_long_log_repeats_its_header_on_every_page(tmp_path: Path) -> None:
    """Verify a Logg of 150 rows prints on several pages, each beginning with the header row."""
    init_folder(tmp_path / "f")
    workspace = Workspace.open(tmp_path / "f", NOW)
    log = ChangeSet("many")
    for n in range(150):
        log.append(LOG.table, time=(NOW + timedelta(minutes=n)).replace(tzinfo=None), event=f"Hendelse {n}",
                   who="test", result="ok")
    workspace.commit(log)
    pdf = _pdf(workspace.folder.master(), tmp_path)
    pages = [_text(pdf, n) for n in range(1, len(_pages(pdf)) + 1)]
    log_pages = [text for text in pages if "Hendelse 1" in text or "Hendelse 149" in text]
    assert len(log_pages) >= 2
    assert all(re.match(r"\s*Tid\s+Hendelse\s+Hvem\s+Resultat", text) for text in log_pages)


def test_an_old_master_gets_the_print_setup_on_its_next_write(tmp_path: Path) -> None:
    """Verify the 0.1.0 master, which prints on Letter-default pages, is set to A4 by its next write; the setup
    is idempotent (a second pass changes nothing)."""
    folder = tmp_path / "Medarbeidersamtaler"
    shutil.copytree(FIXTURE, folder)
    before = openpyxl.load_workbook(folder / "samtaler.xlsx")
    assert before["Samtaler"].print_title_rows is None
    workspace = Workspace.open(folder, NOW)
    note = ChangeSet("note")
    note.append(LOG.table, time=NOW.replace(tzinfo=None), event="test", who="test", result="ok")
    workspace.commit(note)
    after = openpyxl.load_workbook(folder / "samtaler.xlsx")
    for name in ("Samtaler", "Ansatte", "Tiltak", "Logg"):
        ws = after[name]
        assert int(ws.page_setup.paperSize) == A4 and ws.print_title_rows == "$1:$1", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1, name
    assert print_setup(after) == []
