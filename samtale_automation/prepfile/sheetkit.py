"""Building blocks for the printable, protected forms XlsxWriter writes (prep files, guides).

A `Page` is one worksheet written top to bottom with a row cursor: titles, labelled lines,
paragraphs, table headers and input boxes. Every text goes through `write_string`, so a
value such as `=HYPERLINK("…")`, `+47 22 00 00 00` or `@x` stays text, and every string a sheet
writes holds only what XML can (`domain.cells.xml_safe_text`, DESIGN.md §11).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_range_abs

from samtale_automation.domain.prepsheet import FIXED_CREATED
from samtale_automation.prepfile.fast_xlsx import workbook_class
from samtale_automation.prepfile.texts import text

LINE_HEIGHT = 15.0  # points per line of Calibri 11
MAX_ROW_HEIGHT = 409.0  # Excel's limit
A4 = 9  # Excel's paper size code

#: Allowed on every protected sheet: selecting and resizing (people widen columns to read).
PROTECT_OPTIONS: dict[str, bool] = {"select_locked_cells": True, "select_unlocked_cells": True,
                                    "format_columns": True, "format_rows": True}

_BORDER = {"border": 1, "border_color": "#A6A6A6"}
_INPUT = {"locked": False, "bg_color": "#FFF8E1", "valign": "top", "text_wrap": True, **_BORDER}



def new_workbook(buffer: io.BytesIO) -> Any:
    """Open an in-memory XlsxWriter workbook that never turns text into formulas, numbers or links."""
    workbook = workbook_class()(buffer, {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    })
    # A fixed created date makes the package (zip timestamps included) byte-for-byte reproducible,
    # and sets no author: the file should hold no name beyond the conversation's two people.
    workbook.set_properties({"created": FIXED_CREATED})
    return workbook


@dataclass
class Formats:
    """The cell formats one workbook uses (XlsxWriter formats belong to one workbook)."""

    title: Any
    subtitle: Any
    heading: Any
    label: Any
    value: Any
    text: Any
    hint: Any
    header: Any
    topic: Any
    cell: Any
    center: Any
    input: Any
    input_date: Any
    date_locked: Any
    choose: Any
    mandatory: Any
    counter: Any
    over_limit: Any
    q_bold: Any
    q_mark: Any
    q_follow: Any

    @classmethod
    def of(cls, workbook: Any) -> Formats:
        """Create the formats in `workbook`."""
        add = workbook.add_format
        return cls(
            title=add({"bold": True, "font_size": 16, "font_color": "#1F3864"}),
            subtitle=add({"italic": True, "font_color": "#595959"}),
            heading=add({"bold": True, "font_size": 12, "font_color": "#1F3864"}),
            value=add({"valign": "top"}),
            label=add({"bold": True, "valign": "top"}),
            text=add({"text_wrap": True, "valign": "top"}),
            hint=add({"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"}),
            header=add({"bold": True, "bg_color": "#D9E1F2", "text_wrap": True, "valign": "top", **_BORDER}),
            topic=add({"bold": True, "bg_color": "#EDEDED", "valign": "top", **_BORDER}),
            cell=add({"text_wrap": True, "valign": "top", **_BORDER}),
            center=add({"align": "center", "valign": "top", "text_wrap": True, **_BORDER}),
            input=add(_INPUT),
            input_date=add({**_INPUT, "num_format": "dd.mm.yyyy", "text_wrap": False}),
            date_locked=add({"num_format": "dd.mm.yyyy", "valign": "top", **_BORDER}),
            choose=add({**_INPUT, "align": "center"}),
            mandatory=add({"bold": True, "align": "center", "valign": "top", "bg_color": "#E2EFDA", **_BORDER}),
            counter=add({"bold": True, "font_size": 12, "align": "right"}),
            over_limit=add({"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}),
            q_bold=add({"bold": True}),
            q_mark=add({"italic": True, "font_color": "#375623"}),
            q_follow=add({"font_color": "#595959"}),
        )


@functools.lru_cache(maxsize=4096)
def lines_needed(value: str, width: float) -> int:
    """Estimate how many wrapped lines `value` takes in a column `width` characters wide."""
    # Cached: every file of a round repeats the same menu and texts.
    per_line = max(1, int(width * 1.15))  # average text is narrower than the '0' Excel widths count
    return sum(max(1, math.ceil(len(part) / per_line)) for part in value.split("\n"))


def area_ref(sheet: str, first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """Return an absolute reference such as `=Forberedelse!$C$14:$C$73` for a defined name."""
    return f"={quote_sheetname(sheet)}!{xl_range_abs(first_row, first_col, last_row, last_col)}"


class Page:
    """One worksheet with four columns, written top to bottom."""

    def __init__(self, workbook: Any, formats: Formats, name: str, widths: Sequence[float], lang: str) -> None:
        self.workbook = workbook
        self.sheet = workbook.add_worksheet(name)
        self.name = name
        self.fm = formats
        self.widths = tuple(widths)
        self.lang = lang
        self.row = 0
        self.names: list[str] = []
        for col, width in enumerate(self.widths):
            self.sheet.set_column(col, col, width)
        self._print_setup()

    @property
    def last_col(self) -> int:
        """Index of the rightmost column."""
        return len(self.widths) - 1

    def _print_setup(self) -> None:
        sheet = self.sheet
        sheet.set_paper(A4)
        sheet.set_portrait()
        sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
        sheet.repeat_rows(0)  # the title row (with the sheet's purpose) on every printed page
        sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
        sheet.set_footer(f"&L{text(self.lang, 'footer')}&R{text(self.lang, 'page')}")
        sheet.hide_gridlines(2)

    def define(self, name: str, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Give an input region a workbook-level name, the reader's only way to find it."""
        self.workbook.define_name(name, area_ref(self.name, first_row, first_col, last_row, last_col))
        self.names.append(name)

    def protect(self, **allow: bool) -> None:
        """Protect the sheet without a password (a guard rail): only unlocked cells take input."""
        self.sheet.protect("", {**PROTECT_OPTIONS, **allow})

    def skip(self, rows: int = 1) -> None:
        """Leave empty rows."""
        self.row += rows

    def height(self, lines: int) -> None:
        """Set the current row's height for a number of text lines."""
        self.sheet.set_row(self.row, min(MAX_ROW_HEIGHT, LINE_HEIGHT * max(1, lines)))

    def title(self, value: str, subtitle: str = "") -> None:
        """Write the sheet's title (row 1, repeated on printed pages) and an optional subtitle."""
        self.sheet.set_row(self.row, 24)
        self.sheet.write_string(self.row, 0, value, self.fm.title)
        self.row += 1
        if subtitle:
            self.sheet.write_string(self.row, 0, subtitle, self.fm.subtitle)
            self.row += 1
        self.row += 1

    def info(self, label: str, value: str) -> None:
        """Write «label: value» on one line; the value runs on over the empty cells to its right."""
        # No merge and no wrap: a merged range costs a blank cell per column, and these are short.
        self.sheet.write_string(self.row, 0, label, self.fm.label)
        self.sheet.write_string(self.row, 1, value, self.fm.value)
        self.row += 1

    def heading(self, value: str) -> None:
        """Write a section heading; it runs on over the empty cells to its right."""
        self.sheet.set_row(self.row, 20)
        self.sheet.write_string(self.row, 0, value, self.fm.heading)
        self.row += 1

    def paragraph(self, value: str, fmt: Any = None) -> None:
        """Write a wrapped paragraph across the page, its row tall enough for the text."""
        self.height(lines_needed(value, sum(self.widths)))
        self._merged(self.row, 0, self.last_col, value, fmt if fmt is not None else self.fm.text)
        self.row += 1

    def headers(self, labels: Sequence[str], merge_last: bool = False) -> None:
        """Write a table's column headers (the last one spanning to the page edge when asked)."""
        for col, label in enumerate(labels):
            if merge_last and col == len(labels) - 1 and col < self.last_col:
                self._merged(self.row, col, self.last_col, label, self.fm.header)
            else:
                self.sheet.write_string(self.row, col, label, self.fm.header)
        self.row += 1

    def input_box(self, name: str, lines: int) -> None:
        """Write one unlocked input box across the page and name it."""
        self.height(lines)
        self._merged(self.row, 0, self.last_col, "", self.fm.input)
        self.define(name, self.row, 0, self.row, 0)
        self.row += 1

    def _merged(self, row: int, first_col: int, last_col: int, value: str, fmt: Any) -> None:
        if last_col > first_col:
            # merge_range writes its data through write(); write the text with write_string instead.
            self.sheet.merge_range(row, first_col, row, last_col, "", fmt)
        if value:
            self.sheet.write_string(row, first_col, value, fmt)
        elif last_col == first_col:
            self.sheet.write_blank(row, first_col, None, fmt)
