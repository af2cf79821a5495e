"""Prep files in LibreOffice: the live counter, its red format, and reading files LibreOffice re-saved.

All files go through ONE headless `soffice --convert-to xlsx` call with a throwaway profile set to
recalculate every formula on load, so the counter's stored value is LibreOffice's own result.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from prep_samples import KEY, fill_employee, fill_minutes, name_cells, sample_content, set_name

from samtale_automation.domain.minutes import Minutes, MinutesAction
from samtale_automation.domain.prepsheet import MANAGER, MinutesDraft, ReturnedFile, Signature
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile
from samtale_automation.prepfile.write import write_prep

pytestmark = [pytest.mark.libreoffice, pytest.mark.usefixtures("nb_messages")]

SOFFICE_TIMEOUT = 300
# Recalculate always (0) on load for OOXML and ODF files, so cached values are LibreOffice's own.
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


@dataclass(frozen=True)
class Batch:
    """Files filled with openpyxl (`filled`) and the same files re-saved by LibreOffice (`saved`)."""

    filled: dict[str, Path]
    saved: dict[str, Path]


def _counter_file(folder: Path, name: str, chosen: int) -> Path:
    source = folder / f"{name}-blank.xlsx"
    write_prep(source, sample_content(questions=14, mandatory=()), KEY)
    target = folder / f"{name}.xlsx"
    fill_employee(source, target, chosen=[f"S{n:02d}" for n in range(1, chosen + 1)])
    return target


def _full_employee(folder: Path) -> Path:
    source = folder / "ansatt-blank.xlsx"
    write_prep(source, sample_content(questions=20, mandatory=(0,)), KEY)
    target = folder / "ansatt.xlsx"
    fill_employee(source, target, chosen=["S01", "S05", "S12"], notes={"S05": "Notat\nto linjer", "S12": "=1+1"},
                  assessments={"2026-1001-1": "Fullført i mars"}, other="Arbeidstid", feedback="@leder: takk")
    workbook = openpyxl.load_workbook(target)
    fill_minutes(workbook, summaries={0: "Godt år", 2: "Kurs i vår", 5: "Tydelig leder"},
                 actions=[("Kurs i Python", "Automatisere rapporter", "Kari", datetime(2027, 3, 1)),
                          ("Mentor", "", "Åse", date(2027, 6, 15), date(2027, 4, 1)),
                          ("+47 ringe kunde", "Salg", "Kari", "01.09.2027")],
                 private="Privat: flytter kanskje", signed=("Kari Nordmann", date(2027, 1, 20), "", None))
    workbook.save(target)
    return target


def _signing_copy(folder: Path) -> Path:
    """A fresh copy to countersign (Referat only, filled from parsed minutes, the manager's signature shown)."""
    minutes = Minutes("2027-1001", {"tilbakeblikk": "Godt år\nmed to linjer", "leder": "Tydelig – og æøå"},
                      (MinutesAction("Kurs i Python", "Automatisere", "Kari", date(2027, 3, 1), date(2027, 2, 1)),
                       MinutesAction("Mentor", "", "Åse", date(2027, 6, 15))))
    draft = MinutesDraft(minutes, None, Signature("Åse Leder", date(2027, 1, 22), minutes.version()), "a" * 64)
    target = folder / "kopi.xlsx"
    write_prep(target, replace(sample_content(), questions=(), past_actions=(), minutes=draft), KEY)
    return target


def _full_manager(folder: Path) -> Path:
    target = folder / "leder.xlsx"
    content = sample_content(MANAGER)
    write_prep(target, replace(content, lang="en"), KEY)
    workbook = openpyxl.load_workbook(target)
    set_name(workbook, pn.N_MANAGER_VIEW, "Strong year")
    set_name(workbook, pn.N_FEEDBACK_TO_GIVE, "Share more")
    set_name(workbook, pn.N_DEVELOPMENT_IDEAS, "Team lead course")
    set_name(workbook, pn.N_ASSESSMENT, "Done")
    fill_minutes(workbook, summaries={1: "Goals set"}, actions=[("Course", "Lead", "Åse", date(2027, 4, 1))],
                 signed=("Kari Nordmann", date(2027, 1, 20), "Åse Leder", date(2027, 1, 22)))
    workbook.save(target)
    return target


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Generate and fill the files, then convert them all in one soffice call with a recalculating profile."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (`soffice`) is not on PATH. Install it (apt-get install libreoffice-calc) to run "
                    "the LibreOffice interop tests; CI installs it.", pytrace=False)
    root = tmp_path_factory.mktemp("lo")
    work, out = root / "filled", root / "saved"
    work.mkdir()
    filled = {name: _counter_file(work, name, count) for name, count in (("valgt0", 0), ("valgt10", 10),
                                                                         ("valgt11", 11))}
    filled["ansatt"] = _full_employee(work)
    filled["leder"] = _full_manager(work)
    filled["kopi"] = _signing_copy(work)
    profile = root / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE, encoding="utf-8")
    command = [soffice, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
               "--convert-to", "xlsx", "--outdir", str(out), *(str(p) for p in filled.values())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT, check=False)
    saved = {name: out / path.name for name, path in filled.items()}
    missing = [p.name for p in saved.values() if not p.exists()]
    assert done.returncode == 0 and not missing, f"soffice failed ({done.returncode}), missing {missing}: " \
                                                 f"{done.stdout}\n{done.stderr}"
    return Batch(filled, saved)


def _counter_text(path: Path) -> str:
    workbook = openpyxl.load_workbook(path)
    _, cells = name_cells(workbook, pn.N_COUNTER)
    cell = cells[0][0]
    sheet = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_name(cell.parent.title)
    return str(sheet.to_python(skip_empty_area=False)[cell.row - 1][cell.column - 1])


@pytest.mark.parametrize(("name", "expected"), [("valgt0", "0 av 10 valgt"), ("valgt10", "10 av 10 valgt"),
                                                ("valgt11", "11 av 10 valgt")])
def test_counter_is_recalculated(batch: Batch, name: str, expected: str) -> None:
    """Verify LibreOffice computes the live counter «N av 10 valgt» for 0, 10 and 11 chosen questions."""
    assert _counter_text(batch.saved[name]) == expected


def test_counter_turns_red_above_the_limit(batch: Batch) -> None:
    """Verify the conditional format (COUNTIF(Velg,"Ja")>10, red) survives on the counter cell in LibreOffice's file."""
    workbook = openpyxl.load_workbook(batch.saved["valgt11"])
    sheet, cells = name_cells(workbook, pn.N_COUNTER)
    formats = [(str(cf.sqref), rule) for cf in sheet.conditional_formatting for rule in cf.rules]
    assert [(ref, rule.type, rule.formula) for ref, rule in formats] == [
        (cells[0][0].coordinate, "expression", ['COUNTIF(Velg,"Ja")>10'])]
    dxf = workbook._differential_styles[formats[0][1].dxfId]
    assert dxf.font.color.rgb == "FF9C0006" and dxf.fill.bgColor.rgb == "FFFFC7CE"


def test_identity_survives_as_hidden_sheet(batch: Batch) -> None:
    """Verify LibreOffice keeps the identity sheet hidden and the defined names the reader needs."""
    with zipfile.ZipFile(batch.saved["ansatt"]) as package:
        workbook_xml = package.read("xl/workbook.xml").decode()
    assert 'name="_samtale"' in workbook_xml and 'state="hidden"' in workbook_xml
    for name in (pn.N_CHOOSE, pn.N_ACTIONS, pn.N_SIGN_MANAGER_DATE):
        assert f'name="{name}"' in workbook_xml


def _comparable(result: ReturnedFile) -> ReturnedFile:
    return replace(result, modified=None)


@pytest.mark.parametrize("name", ["ansatt", "leder", "valgt0", "valgt10"])
def test_libreoffice_resave_reads_the_same(batch: Batch, name: str) -> None:
    """Verify a file filled with openpyxl and the same file re-saved by LibreOffice read back to the same content."""
    before = read_returned(batch.filled[name], KEY)
    after = read_returned(batch.saved[name], KEY)
    assert _comparable(after) == _comparable(before)
    if name == "ansatt":
        assert after.chosen == ["S01", "S05", "S12"] and after.notes["S12"] == "=1+1"
        assert [a.deadline for a in after.actions] == [date(2027, 3, 1), date(2027, 6, 15), date(2027, 9, 1)]
        assert after.private_note == "Privat: flytter kanskje" and after.signed_employee_date == date(2027, 1, 20)
    if name == "leder":
        assert after.manager_view == "Strong year" and after.signed_manager_date == date(2027, 1, 22)


@pytest.mark.parametrize("name", ["ansatt", "leder", "kopi"])
def test_libreoffice_resave_keeps_the_minutes_version(batch: Batch, name: str) -> None:
    """Verify opening and re-saving in LibreOffice without edits keeps the version a signature is bound to."""
    before = read_returned(batch.filled[name], KEY).minutes()
    after = read_returned(batch.saved[name], KEY).minutes()
    assert after.version() == before.version()
    if name == "ansatt":
        assert [a.follow_up for a in after.actions] == [None, date(2027, 4, 1), None]
    if name == "kopi":  # the copy reads back as exactly the minutes it was made from
        assert after.summaries["tilbakeblikk"] == "Godt år\nmed to linjer"
        assert after.version() == Minutes("2027-1001", {"tilbakeblikk": "Godt år\nmed to linjer",
                                                        "leder": "Tydelig – og æøå"},
                                          (MinutesAction("Kurs i Python", "Automatisere", "Kari", date(2027, 3, 1),
                                                         date(2027, 2, 1)),
                                           MinutesAction("Mentor", "", "Åse", date(2027, 6, 15)))).version()


def test_too_many_choices_rejected_alike(batch: Batch) -> None:
    """Verify 11 choices are refused with the same reason before and after LibreOffice."""
    reasons = []
    for path in (batch.filled["valgt11"], batch.saved["valgt11"]):
        with pytest.raises(RejectedFile) as caught:
            read_returned(path, KEY)
        reasons.append(caught.value.reason)
    assert reasons[0] == reasons[1] and "valgt 11 spørsmål, men grensen er 10" in reasons[0]
