"""The signed minutes as a PDF (prepfile/signed_pdf.py): read back with pypdf and poppler, rendered with pdftoppm."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pypdf
import pytest
from prep_samples import sample_content

from samtale_automation.domain.minutes import Minutes, MinutesAction
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import MinutesDraft, PrepContent, Signature
from samtale_automation.prepfile.signed_pdf import signed_pdf_bytes, write_signed_pdf

MINUTES = Minutes("2027-1001", {"tilbakeblikk": "Et godt år – ærlig og åpent.\nTo linjer.",
                                "leder": "Tydelig leder; Ærlig, Øyvind og Åse."},
                  (MinutesAction("Kurs i rådgivning", "Tryggere i kundemøter", "Nguyễn Văn An", date(2027, 4, 30),
                                 date(2027, 3, 1)),))


def _content(employee: str = "Nguyễn Văn An", lang: str = "nb", summary_extra: str = "") -> PrepContent:
    minutes = replace(MINUTES, summaries={**MINUTES.summaries, "mal": summary_extra}) if summary_extra else MINUTES
    version = minutes.version()
    draft = MinutesDraft(minutes, Signature(employee, date(2027, 1, 21), version),
                         Signature("Åse Kjærstad", date(2027, 1, 22), version))
    return replace(sample_content(lang=lang), employee_name=employee, manager_name="Åse Kjærstad", questions=(),
                   past_actions=(), minutes=draft, start=datetime(2027, 1, 20, 9, 0, tzinfo=OSLO),
                   place="Møterom Fjorden <rom-fjorden@firma.example>")


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_holds_topics_actions_signatures_and_the_version() -> None:
    """Verify the text (pypdf): topics with summaries, the action with owner, deadline and follow-up, both
    signatures with dates, the content's version; A4; the Unicode font embedded."""
    data = signed_pdf_bytes(_content())
    text = _text(data)
    for expected in ("Signert referat – medarbeidersamtale 2027", "Tilbakeblikk og evaluering",
                     "Et godt år – ærlig og åpent.", "Ærlig, Øyvind og Åse", "Kurs i rådgivning",
                     "Ansvarlig: Nguyễn Văn An", "Frist: 30.04.2027", "Oppfølging: 01.03.2027",
                     "Medarbeider: Nguyễn Văn An, signert 21.01.2027", "Leder: Åse Kjærstad, signert 22.01.2027",
                     MINUTES.version(), "20.01.2027 09:00, Møterom Fjorden"):
        assert expected in text, expected
    assert "rom-fjorden@" not in text  # the room's mailbox is for booking, not for the record
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    fonts = reader.pages[0]["/Resources"]["/Font"]
    descriptors = [font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"] for font in
                   fonts.values()]
    assert all("/FontFile2" in d for d in descriptors) and any("DejaVuSans" in str(d["/FontName"])
                                                                 for d in descriptors)


def test_the_same_minutes_give_the_same_bytes() -> None:
    assert signed_pdf_bytes(_content()) == signed_pdf_bytes(_content())


def test_a_name_outside_the_font_and_control_characters_never_crash() -> None:
    """Verify a CJK name (not in DejaVu Sans) prints as «?» and control characters are dropped, not an error."""
    text = _text(signed_pdf_bytes(_content(employee="王芳", summary_extra="Bell\x07 og\x00 null")))
    assert "Medarbeider: ??, signert 21.01.2027" in text
    assert "Bell og null" in text


def test_english_labels_and_a_long_text_over_several_pages(tmp_path: Path) -> None:
    """Verify English labels, and a long summary flowing over pages instead of being cut."""
    long = " ".join(f"Setning {n} om utvikling." for n in range(900))
    path = tmp_path / "arkiv" / "signert.pdf"
    path.parent.mkdir()
    write_signed_pdf(path, _content(lang="en", summary_extra=long))
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) >= 3
    text = _text(path.read_bytes())
    assert "Signed minutes – development conversation 2027" in text and "Setning 899 om utvikling." in text
    assert "Employee: Nguyễn Văn An, signed 21.01.2027" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils not installed")
def test_poppler_renders_and_reads_it(tmp_path: Path) -> None:
    """Verify poppler reads the same text (æøå and «Nguyễn») and renders the page to a picture."""
    path = tmp_path / "signert.pdf"
    write_signed_pdf(path, _content())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")
    assert "Nguyễn Văn An" in text and "Ærlig, Øyvind og Åse" in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "side")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("side*.png"))
    assert pages and pages[0].stat().st_size > 2000


def test_a_pdf_needs_both_signatures(tmp_path: Path) -> None:
    content = _content()
    assert content.minutes is not None
    with pytest.raises(ValueError, match="both signatures"):
        write_signed_pdf(tmp_path / "x.pdf", replace(content, minutes=replace(content.minutes,
                                                                              manager_signature=None)))
