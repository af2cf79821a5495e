"""Finding a person in any file (xlsx XML, PDF, e-mail, zip), and scrubbing the journal to its bytes."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from fpdf import FPDF

import samtale_automation
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.store.gdpr import bytes_text, file_text, mail_recipients, scrub_journal
from samtale_automation.store.journal import Journal

NAME = "Åse Kjærstad"


def test_a_name_in_a_pdf_is_found_through_its_unicode_map() -> None:
    pdf = FPDF()
    font = Path(samtale_automation.__file__).parent / "fonts" / "DejaVuSans.ttf"  # the font the signed PDF uses
    pdf.add_font("DejaVu", fname=str(font))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.cell(text=f"Signert av leder: {NAME}")
    data = bytes(pdf.output())
    assert NAME.encode() not in data  # glyph ids: not there as bytes
    assert NAME in bytes_text(data)


def test_a_name_in_a_mail_header_body_and_attachment_is_found(tmp_path: Path) -> None:
    message = EmailMessage()
    message["To"] = f"{NAME} <ase@firma.example>"
    message["Subject"] = "Påminnelse"
    message.set_content("Hei Åse,\nSe vedlegget.\n", charset="utf-8", cte="base64")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("xl/sharedStrings.xml", f"<sst><si><t>Leder: {NAME.replace('æ', '&#230;')}</t></si></sst>")
    message.add_attachment(package.getvalue(), maintype="application", subtype="octet-stream", filename="x.xlsx")
    path = tmp_path / "m.eml"
    path.write_bytes(bytes(message))
    text = file_text(path)
    assert text.count(NAME) >= 2  # the To header, and the attachment's XML (an entity decoded)
    assert mail_recipients(path) == ["ase@firma.example"]


def test_the_journal_is_scrubbed_to_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        change = ChangeSet("ansatte")
        change.upsert("Ansatte", "1", name=NAME, email="ase@firma.example")
        journal.add_changeset(change)
        journal.record_prep_files([(f"forberedelse/2027/1 {NAME} - forberedelse.xlsx", "2027-1", "ansatt", "ab")])
    with Journal(path) as journal:
        changed = scrub_journal(journal, lambda text: text.replace(NAME, "(slettet)")
                                .replace("ase@firma.example", "(slettet)"))
        assert changed == 2
        payload = journal.pending()[0].changeset.changes[0].values
        assert payload["name"] == "(slettet)" and payload["email"] == "(slettet)"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert NAME.encode() not in raw and b"ase@firma.example" not in raw
