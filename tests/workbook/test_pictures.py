"""A company logo on the Start sheet survives every headless write (openpyxl keeps pictures with Pillow)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.drawing.image import Image
from PIL import Image as PillowImage

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import EMPLOYEES
from samtale_automation.workbook import loss_guard


def _logo() -> bytes:
    """A small real PNG, as a company logo would be."""
    picture = PillowImage.new("RGB", (120, 40), (31, 78, 121))
    for x in range(10, 110):
        picture.putpixel((x, 20), (255, 255, 255))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _media(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as package:
        return [package.read(name) for name in package.namelist() if name.startswith("xl/media/")]


def test_a_logo_on_the_start_sheet_survives_three_writes(tmp_path: Path) -> None:
    """Verify a picture HR put on Start is still there, byte for byte, after three writes by samtale."""
    folder = tmp_path / "firma"
    init_folder(folder)
    master = folder / "samtaler.xlsx"
    workbook = openpyxl.load_workbook(master)
    logo = _logo()
    workbook["Start"].add_image(Image(io.BytesIO(logo)), "H2")
    workbook.save(master)
    assert loss_guard.inventory(master)["image"] == 1
    workspace = Workspace.open(folder, datetime(2027, 1, 4, 9, tzinfo=OSLO))
    for n in range(3):
        change = ChangeSet(f"write {n}")
        change.upsert(EMPLOYEES.table, str(100 + n), name=f"Ansatt {n}", email=f"a{n}@firma.no", active="Ja")
        workspace.commit(change)
        assert workspace.pending() == [], workspace.pending()
    assert loss_guard.inventory(master)["image"] == 1
    (kept,) = _media(master)
    assert PillowImage.open(io.BytesIO(kept)).tobytes() == PillowImage.open(io.BytesIO(logo)).tobytes()
    assert openpyxl.load_workbook(master)["Start"]._images, "the picture is still anchored on Start"
