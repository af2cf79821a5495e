"""The loss guard: never save a workbook that lost something openpyxl cannot keep.

Before a headless save replaces the master, the new file's inventory of features is
compared with the original's (research/excel.md §3.3). Anything that disappeared blocks the
save: the change stays pending, and the person is told which part blocks and how to remove
it. `predict` scans a workbook for features known to be dropped, so `check` and `status`
can warn before any write is tried.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from samtale_automation.texts import tr


@dataclass(frozen=True)
class Feature:
    """A countable part of a workbook package and what to tell a person about it."""

    key: str
    nb: str
    en: str
    fix_nb: str
    fix_en: str
    dropped_by_openpyxl: bool  # known to be lost on a headless save

    def describe(self) -> str:
        """«what – how to remove it» in the current language."""
        return f"{tr(self.nb, self.en)} – {tr(self.fix_nb, self.fix_en)}"


FEATURES: dict[str, Feature] = {f.key: f for f in (
    Feature("vba_project", "VBA-prosjektet (makroene)", "the VBA project (macros)",
            "Kontakt support; makroene må ikke gå tapt.", "Contact support; the macros must not be lost.",
            False),
    Feature("vba_signature", "en digital signatur på makroene", "a digital signature on the macros",
            "Fjern signaturen i VBA-redigeringen (Verktøy → Digital signatur → Fjern).",
            "Remove the signature in the VBA editor (Tools → Digital Signature → Remove).", True),
    Feature("x14_validation", "en rullegardinliste som henter verdier fra et annet ark",
            "a drop-down list that takes its values from another sheet",
            "Gi listen et definert navn på arket Lister og bruk =Navnet som kilde.",
            "Give the list a defined name on the Lister sheet and use =TheName as source.", True),
    Feature("x14_conditional", "betinget formatering av ny type (datafelt/ikonsett fra Excel 2010+)",
            "a newer conditional format (Excel 2010+ data bars or icon sets)",
            "Fjern regelen under Betinget formatering → Behandle regler.",
            "Remove the rule under Conditional Formatting → Manage Rules.", True),
    Feature("shape", "en figur eller tekstboks", "a shape or text box",
            "Slett figuren (Hjem → Søk og merk → Merk objekter).",
            "Delete the shape (Home → Find & Select → Select Objects).", True),
    Feature("image", "et bilde", "an image", "Fjern bildet fra arbeidsboken.",
            "Remove the image from the workbook.", False),
    Feature("chart", "et diagram", "a chart", "Flytt diagrammet til en egen arbeidsbok.",
            "Move the chart to a workbook of its own.", False),
    Feature("form_control", "en skjemakontroll (avkrysningsboks, liste e.l.) av ny type",
            "a newer form control (check box, list box or similar)",
            "Bruk bare knappene samtale lager; slett andre kontroller.",
            "Use only the buttons samtale makes; delete other controls.", True),
    Feature("threaded_comment", "en trådet kommentar", "a threaded comment",
            "Konverter til notat (Se gjennom → Notater → Konverter til notater).",
            "Convert to notes (Review → Notes → Convert to Notes).", True),
    Feature("dynamic_array", "en formel med dynamisk matrise (f.eks. SORTER, FILTRER)",
            "a dynamic-array formula (e.g. SORT, FILTER)",
            "Erstatt formelen med vanlige verdier eller en vanlig formel.",
            "Replace the formula with plain values or an ordinary formula.", True),
    Feature("ribbon", "et eget menybånd i arbeidsboken", "a custom ribbon in the workbook",
            "Legg menybåndet i et tillegg (.xlam) i stedet.", "Put the ribbon in an add-in (.xlam).", True),
    Feature("slicer", "en slicer eller tidslinje", "a slicer or timeline",
            "Fjern sliceren.", "Remove the slicer.", True),
    Feature("pivot", "en pivottabell", "a pivot table",
            "Flytt pivottabellen til en egen arbeidsbok.", "Move the pivot table to its own workbook.",
            False),
    Feature("legacy_drawing", "knapper eller notater (VML)", "buttons or notes (VML)",
            "Kontakt support.", "Contact support.", False),
    Feature("table", "en tabell", "a table", "Kontakt support.", "Contact support.", False),
    Feature("data_validation", "en datavalidering", "a data validation", "Kontakt support.",
            "Contact support.", False),
    Feature("conditional_format", "betinget formatering", "a conditional format",
            "Kontakt support.", "Contact support.", False),
    Feature("defined_name", "et definert navn", "a defined name", "Kontakt support.",
            "Contact support.", False),
    Feature("sheet_protection", "arkbeskyttelse", "sheet protection", "Kontakt support.",
            "Contact support.", False),
    Feature("comment", "et notat (kommentar)", "a note (comment)", "Kontakt support.",
            "Contact support.", False),
    Feature("cell_checkbox", "avkrysningsbokser i celler (Excel 365)", "check boxes in cells (Excel 365)",
            "Merk cellene, velg Hjem → Fjern → Fjern formater, og skriv Ja/Nei i stedet.",
            "Select the cells, choose Home → Clear → Clear Formats, and write Ja/Nei instead.", True),
    Feature("vml_id_clash", "notater og knapper på samme ark (samme figur-ID)",
            "notes and buttons on the same sheet (clashing shape ids)",
            "Flytt notatene til et ark uten knapper.", "Move the notes to a sheet without buttons.",
            True),
)}

_COUNTS: dict[str, re.Pattern[bytes]] = {
    "x14_validation": re.compile(rb"<x14:dataValidation[\s>]"),
    "x14_conditional": re.compile(rb"<x14:cfRule[\s>]"),
    "form_control": re.compile(rb"<control[\s>]"),
    "legacy_drawing": re.compile(rb"<legacyDrawing[\s>]"),
    "table": re.compile(rb"<tablePart[\s>]"),
    "data_validation": re.compile(rb"<dataValidation[\s>]"),
    "conditional_format": re.compile(rb"<conditionalFormatting[\s>]"),
    "defined_name": re.compile(rb"<definedName[\s>]"),
    "sheet_protection": re.compile(rb"<sheetProtection[^>]*\ssheet=\"(?:1|true)\""),
    "comment": re.compile(rb"<comment[\s>]"),
    "dynamic_array": re.compile(rb"\scm=\"1\""),
    "pivot": re.compile(rb"<pivotTableDefinition[\s>]"),
}


#: Counted in drawing parts only, whatever namespace prefix the writer chose: Excel writes «xdr:pic»,
#: openpyxl a default namespace («pic»); a chart is the drawing's reference to its chart part.
_DRAWING_COUNTS: dict[str, re.Pattern[bytes]] = {
    "shape": re.compile(rb"<(?:[\w.-]+:)?sp[\s>]"),
    "image": re.compile(rb"<(?:[\w.-]+:)?pic[\s>]"),
    "chart": re.compile(rb"<(?:[\w.-]+:)?chart[\s>]"),
}


def inventory(path: Path) -> Counter[str]:
    """Count the features of a workbook package that a save must keep."""
    counts: Counter[str] = Counter()
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        for name in names:
            if not name.endswith((".xml", ".vml", ".rels")):
                continue
            data = package.read(name)
            if name.startswith("xl/drawings/") and name.endswith(".xml"):
                for key, pattern in _DRAWING_COUNTS.items():
                    counts[key] += len(pattern.findall(data))
            for key, pattern in _COUNTS.items():
                found = len(pattern.findall(data))
                if found:
                    counts[key] += found
            if name == "_rels/.rels" and b"extensibility" in data:
                counts["ribbon"] += 1
            if name.endswith("vbaProject.bin.rels") and b"vbaProjectSignature" in data:
                counts["vba_signature"] += 1
        if "xl/vbaProject.bin" in names:
            digest = hashlib.sha256(package.read("xl/vbaProject.bin")).hexdigest()
            counts["vba_project:" + digest] = 1
        counts["threaded_comment"] += sum(1 for n in names if n.startswith("xl/threadedComments/"))
        counts["slicer"] += sum(1 for n in names if n.startswith(("xl/slicers/", "xl/timelines/")))
        counts["cell_checkbox"] += sum(1 for n in names if n.startswith("xl/featurePropertyBag/"))
        counts["vml_id_clash"] += _vml_id_clashes(package, names)
    return counts


#: A VML shape's id, whatever prefix the VML namespace has (Excel writes «v:», openpyxl «ns1:»).
_VML_SHAPE_ID = re.compile(rb'<(?:[\w.-]+:)?shape\s(?:[^>]*?\s)?id="([^"]+)"')


def _vml_id_clashes(package: zipfile.ZipFile, names: list[str]) -> int:
    """Count VML shape ids used twice within one sheet's drawings (openpyxl's comment bug)."""
    clashes = 0
    sheet_rels = [n for n in names if re.fullmatch(r"xl/worksheets/_rels/sheet\d+\.xml\.rels", n)]
    for rels in sheet_rels:
        targets = re.findall(rb'Target="([^"]+\.vml)"', package.read(rels))
        ids: Counter[bytes] = Counter()
        for target in targets:
            # Excel writes «../drawings/x.vml» (relative to xl/worksheets/), openpyxl «/xl/drawings/x.vml».
            text = target.decode()
            part = text.lstrip("/") if text.startswith("/") else posixpath.normpath(
                posixpath.join("xl/worksheets", text))
            if part in names:
                ids.update(_VML_SHAPE_ID.findall(package.read(part)))
        clashes += sum(n - 1 for n in ids.values() if n > 1)
    return clashes


def lost_features(before: Counter[str], after: Counter[str]) -> list[str]:
    """Describe every feature that the new file has fewer of than the old one."""
    reasons: list[str] = []
    for key, count in before.items():
        if key.startswith("vba_project:"):
            if after.get(key, 0) < count:
                reasons.append(FEATURES["vba_project"].describe())
            continue
        if key == "vml_id_clash":
            continue
        if after.get(key, 0) < count:
            reasons.append(FEATURES[key].describe())
    if after.get("vml_id_clash", 0) > before.get("vml_id_clash", 0):
        reasons.append(FEATURES["vml_id_clash"].describe())
    return reasons


def predict(path: Path) -> list[str]:
    """Name the parts of a workbook that a headless save is known to drop."""
    counts = inventory(path)
    return [FEATURES[key].describe() for key, count in counts.items()
            if count and key in FEATURES and FEATURES[key].dropped_by_openpyxl]
