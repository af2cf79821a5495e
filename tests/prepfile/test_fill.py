"""Filling a generated prep file as a person would, and dating it as saved at a moment of a story."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

from samtale_automation.domain.model import OSLO
from samtale_automation.prepfile.fill import saved_at
from samtale_automation.prepfile.untrusted_xlsx import open_package


def test_saved_at_dates_the_file_inside_and_on_disk(tmp_path: Path) -> None:
    """Verify saved_at sets the workbook's own saved time (docProps/core.xml) and its time on disk, cells kept."""
    path = tmp_path / "fylt.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Æøå"
    workbook.save(path)
    when = datetime(2027, 1, 11, 15, 30, tzinfo=OSLO)
    saved_at(path, when)
    assert b"<dcterms:modified" in zipfile.ZipFile(path).read("docProps/core.xml")
    assert open_package(path.read_bytes()).modified() == when
    assert path.stat().st_mtime == when.timestamp()
    assert openpyxl.load_workbook(path).active["A1"].value == "Æøå"
