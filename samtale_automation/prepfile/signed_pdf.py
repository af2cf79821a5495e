"""The signed minutes as a PDF for the personnel file (DESIGN.md §5): A4, text only, no private notes.

fpdf2 writes it: pure Python (runs the same on Windows), small, and it embeds a subset of a TrueType
font, so any name the font covers prints as written. The font is DejaVu Sans, shipped in
samtale_automation/fonts/ (Bitstream Vera licence with DejaVu's changes in the public domain:
free to use and redistribute, see DejaVu-LICENSE.txt); it covers Latin with æøå, Vietnamese
(«Nguyễn»), Greek and Cyrillic. A character the font lacks prints as «?» rather than stopping the PDF.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.messages import place_parts
from samtale_automation.domain.minutes import Minutes
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.prepsheet import PrepContent, Signature
from samtale_automation.domain.schema import TOPICS
from samtale_automation.paths import data_dir
from samtale_automation.safe_write import write_private

FONT = "DejaVu"
#: The PDF's own creation time: fixed, so the same minutes always give the same bytes.
FIXED_TIME = datetime(2020, 1, 1)

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Signert referat – medarbeidersamtale {round}", "Signed minutes – development conversation {round}"),
    "employee": ("Medarbeider", "Employee"),
    "manager": ("Leder", "Manager"),
    "when": ("Samtalen", "The conversation"),
    "summary": ("Sammendrag per tema", "Summary per topic"),
    "actions": ("Avtalte tiltak", "Agreed actions"),
    "none": ("Ingen avtalte tiltak.", "No agreed actions."),
    "no_summary": ("(ikke fylt ut)", "(not filled in)"),
    "action": ("Tiltak", "Action"),
    "goal": ("Mål", "Goal"),
    "owner": ("Ansvarlig", "Owner"),
    "deadline": ("Frist", "Deadline"),
    "follow_up": ("Oppfølging", "Follow-up"),
    "signatures": ("Signaturer", "Signatures"),
    "signed_by": ("{role}: {name}, signert {day}", "{role}: {name}, signed {day}"),
    "version": ("Innholdets kontrollsum (SHA-256), den samme for begge signaturene:",
                "Checksum of the content (SHA-256), the same for both signatures:"),
    "confidential": ("Fortrolig. Private notater er ikke med.", "Confidential. Private notes are not included."),
}


def _label(lang: str, key: str, **values: object) -> str:
    nb, en = _LABELS[key]
    return (en if lang == "en" else nb).format(**values)


def write_signed_pdf(path: Path | str, content: PrepContent) -> None:
    """Write the signed minutes of `content` (its `minutes` carries both signatures) to `path` (atomic, private)."""
    draft = content.minutes
    if draft is None or draft.employee_signature is None or draft.manager_signature is None:
        raise ValueError("a signed PDF needs the minutes and both signatures")
    write_private(Path(path), signed_pdf_bytes(content), durable=True)  # the personnel file's copy


def signed_pdf_bytes(content: PrepContent) -> bytes:
    """The PDF's bytes (see write_signed_pdf)."""
    from fpdf import FPDF

    draft = content.minutes
    assert draft is not None and draft.employee_signature is not None and draft.manager_signature is not None
    lang = content.lang
    fonts = data_dir("fonts")
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_label(lang, "title", round=content.identity.round))
    pdf.set_author(content.company or "samtale")
    pdf.add_page()
    writer = _Writer(pdf)
    writer.line(_label(lang, "title", round=content.identity.round), size=15, bold=True, height=8)
    if content.company:
        writer.line(content.company, size=10)
    writer.gap(3)
    when = content.start.astimezone(OSLO).strftime("%d.%m.%Y %H:%M") if content.start else ""
    for key, value in (("employee", content.employee_name), ("manager", content.manager_name),
                       ("when", ", ".join(p for p in (when, place_parts(content.place)[0]) if p))):
        if value:
            writer.pair(_label(lang, key), value)
    writer.pair("SamtaleID", content.identity.conversation_id)
    _summaries(writer, lang, draft.minutes)
    _actions(writer, lang, draft.minutes)
    writer.gap(4)
    writer.line(_label(lang, "signatures"), size=12, bold=True, height=7)
    for role, signature, printed in (("employee", draft.employee_signature, content.employee_name),
                                     ("manager", draft.manager_signature, content.manager_name)):
        writer.line(_label(lang, "signed_by", role=_label(lang, role), name=signature.name or printed,
                           day=_day(signature.day)))
    writer.gap(2)
    writer.line(_label(lang, "version"), size=8)
    writer.line(_version(draft.employee_signature, draft.manager_signature), size=8)
    writer.gap(4)
    writer.line(_label(lang, "confidential"), size=8)
    return bytes(pdf.output())


def _summaries(writer: _Writer, lang: str, minutes: Minutes) -> None:
    writer.gap(4)
    writer.line(_label(lang, "summary"), size=12, bold=True, height=7)
    for topic in TOPICS:
        text = minutes.summaries.get(topic.key, "").strip()
        writer.line(topic.label(lang), bold=True)
        writer.line(text or _label(lang, "no_summary"))
        writer.gap(1.5)


def _actions(writer: _Writer, lang: str, minutes: Minutes) -> None:
    writer.gap(3)
    writer.line(_label(lang, "actions"), size=12, bold=True, height=7)
    if not minutes.actions:
        writer.line(_label(lang, "none"))
        return
    for number, action in enumerate(minutes.actions, start=1):
        writer.line(f"{number}. {action.description}", bold=True)
        for key, value in (("goal", action.goal), ("owner", action.owner), ("deadline", _day(action.deadline)),
                           ("follow_up", _day(action.follow_up))):
            if value:
                writer.line(f"{_label(lang, key)}: {value}", indent=5)
        writer.gap(1.5)


def _version(employee: Signature, manager: Signature) -> str:
    return employee.version or manager.version


def _day(day: date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else ""


class _Writer:
    """Lines of text on the PDF, in the embedded font; a glyph the font lacks becomes «?»."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(self, text: str, *, size: float = 10, bold: bool = False, height: float = 5, indent: float = 0) -> None:
        """One paragraph, wrapped to the page width."""
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.set_x(self.pdf.l_margin + indent)
        self.pdf.multi_cell(self.width - indent, height, self._printable(text), new_x="LMARGIN", new_y="NEXT")

    def pair(self, label: str, value: str) -> None:
        """«Label: value» with the label in bold."""
        self.pdf.set_font(FONT, "B", 10)
        self.pdf.cell(40, 5, self._printable(label))
        self.pdf.set_font(FONT, "", 10)
        self.pdf.multi_cell(self.width - 40, 5, self._printable(value), new_x="LMARGIN", new_y="NEXT")

    def gap(self, mm: float) -> None:
        """Vertical space."""
        self.pdf.ln(mm)

    def _printable(self, text: str) -> str:
        """The text with control characters dropped and glyphs the font lacks replaced by «?»."""
        font = self.pdf.current_font
        cmap = getattr(font, "cmap", None) or {}
        out = []
        for char in text.replace("\r\n", "\n").replace("\r", "\n"):
            if char == "\n" or char == "\t":
                out.append(" " if char == "\t" else char)
            elif not char.isprintable():
                continue
            elif cmap and ord(char) not in cmap:
                out.append("?")
            else:
                out.append(char)
        return "".join(out)
