"""The macro parts of a new master .xlsm (XlsxWriter): VBA project, code names, buttons, xlwings.conf.

Called by `build.build_master(..., macros=True)`; the .xlsx path never comes here. The VBA project
is the committed `workbooks/vbaProject.bin` (see vba_build.py), whose document modules are named
as `buttons.sheet_code_names()` names the sheets. Nothing written here names a path of any
machine: the Python interpreter is found through each PC's own xlwings configuration.
"""

from __future__ import annotations

from typing import Any

from samtale_automation.workbook import buttons
from samtale_automation.workbook.vba_build import bin_path

BUTTON_WIDTH = 230  # pixels; column A is 34 characters (about 243 pixels) wide
BUTTON_HEIGHT = 28
BUTTON_ROW_HEIGHT = 24  # points (32 pixels)
FIRST_BUTTON_ROW = 6  # 0-based


def add_vba_project(workbook: Any) -> None:
    """Attach the committed VBA project and give the workbook its code name."""
    workbook.add_vba_project(str(bin_path()))
    workbook.set_vba_name(buttons.WORKBOOK_CODE_NAME)


def name_sheets(workbook: Any) -> None:
    """Give every sheet the code name its document module in the VBA project has."""
    code_names = buttons.sheet_code_names()
    names = [ws.get_name() for ws in workbook.worksheets()]
    if names != list(code_names):
        raise ValueError(f"the .xlsm's sheets {names} are not those the VBA project was built for "
                         f"{list(code_names)}: update buttons.MACRO_SHEETS and rebuild the bin")
    for ws in workbook.worksheets():
        ws.set_vba_name(code_names[ws.get_name()])


def write_xlwings_conf(ws: Any, lang: str) -> None:
    """The xlwings settings RunPython reads first: keys in column A from A1, values in B; hidden."""
    for row, (key, value) in enumerate(buttons.XLWINGS_CONF_ROWS):
        ws.write_string(row, 0, key)
        ws.write_string(row, 1, value)
    ws.write_string(0, 3, "Settings for the buttons (xlwings). The Python interpreter is set on each PC with "
                    "«samtale excel setup», never here." if lang == "en" else
                    "Innstillinger for knappene (xlwings). Python-tolken settes på hver PC med «samtale excel "
                    "setup», aldri her.")
    ws.set_column(0, 0, 32)
    ws.set_column(1, 1, 12)
    ws.hide()


def write_start_with_buttons(workbook: Any, ws: Any, lang: str, intro: str) -> None:
    """The Start sheet of the .xlsm: the intro, then one button per action with what it does."""
    en = lang == "en"
    title = workbook.add_format({"bold": True, "font_size": 16})
    bold = workbook.add_format({"bold": True, "valign": "top"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    middle = workbook.add_format({"valign": "vcenter"})
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 96)
    ws.fit_to_pages(1, 0)  # one page wide when printed
    ws.write_string(0, 0, "Medarbeidersamtaler", title)
    ws.write_string(2, 0, "About this workbook" if en else "Om arbeidsboken", bold)
    ws.write_string(2, 1, intro, wrap)
    ws.set_row(2, 105)
    ws.write_string(4, 0, "Buttons" if en else "Knapper", bold)
    ws.write_string(4, 1, (
        "Click a button: the answer comes in a message box and in Logg. The buttons need macros enabled "
        "and samtale installed on this PC; each one is also a samtale command (samtale --help)."
        if en else
        "Klikk en knapp: svaret kommer i en meldingsboks og i Logg. Knappene krever at makroer er slått på "
        "og at samtale er installert på denne PC-en; hver av dem finnes også som samtale-kommando "
        "(samtale --help)."), wrap)
    ws.set_row(4, 45)
    for index, button in enumerate(buttons.BUTTONS):
        row = FIRST_BUTTON_ROW + index
        ws.set_row(row, BUTTON_ROW_HEIGHT)
        ws.insert_button(row, 0, {"macro": button.macro, "caption": button.label(lang),
                                  "width": BUTTON_WIDTH, "height": BUTTON_HEIGHT, "x_offset": 4, "y_offset": 2})
        ws.write_string(row, 1, button.help(lang), middle)
