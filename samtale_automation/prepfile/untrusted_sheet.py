"""How far a sheet of an untrusted .xlsx reaches, found before python-calamine reads it.

calamine allocates a dense grid from the first to the farthest cell, and a Rust allocation failure
aborts the whole process instead of raising; so the farthest row and column a sheet's XML gives or
implies must be known first (prepfile/untrusted_xlsx.py calls `check_extent` for each sheet read).
Writers put r="…" first in every row and cell: then a few searches over the bytes find the
farthest. Other sheets (r left out, other quoting, prefixed tags) are followed tag by tag, with a
smaller budget, since that costs a Python step per tag.
"""

from __future__ import annotations

import re

from samtale_automation.prepfile.untrusted_xml import PackageProblem

MAX_XML_TAGS = 16_000  # '<' in one XML part; a 60-question prep sheet has about 1,500
#: Rows and cells of a sheet whose writer leaves out r="…" or writes it otherwise (followed one by one).
MAX_WALKED_TAGS = 2_000
MAX_ROWS = 5000  # far beyond any prep file, far below what would exhaust memory
MAX_COLUMNS = 50

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_POSITION = re.compile(rb"([A-Za-z]*)([0-9]*)")
# Excel, LibreOffice, openpyxl and XlsxWriter write r="…" first in every row and cell: then the
# farthest position is found by a few searches over the bytes, without a Python loop per cell.
_CELL_OR_ROW = re.compile(rb"<(?:c|row)[\s/>]")
_ANY_R = re.compile(rb"\sr\s*=")
_PREFIXED_TAG = re.compile(rb"<\w+:(?:c|row)\b")
_FAR_ROW = re.compile(rb'<(?:c|row) r="[A-Za-z]*([0-9]{4,})"')
_WIDE_COLUMN = re.compile(rb'<c r="([A-Za-z]{2,})')
_DIMENSION = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?ref\s*=\s*["']([^"']{0,40})["']""")
_CELL_REF = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def column_index(letters: str) -> int:
    """Turn column letters (A, Z, AA) into a 0-based index."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def check_extent(xml: bytes) -> None:
    """Refuse sheet XML whose declared size, element count, or farthest row or column (given or implied)
    is beyond the limits."""
    if xml.count(b"<") > MAX_XML_TAGS:
        raise PackageProblem("too_big_sheet", "elements")
    dimension = _DIMENSION.search(xml)
    if dimension:
        for letters, number in _CELL_REF.findall(dimension[1]):
            if int(number) > MAX_ROWS or column_index(letters.decode()) >= MAX_COLUMNS:
                raise PackageProblem("too_big_sheet", "dimension")
    first = xml.count(b'<c r="') + xml.count(b'<row r="')
    tags, prefixed = len(_CELL_OR_ROW.findall(xml)), len(_PREFIXED_TAG.findall(xml))
    # Fast path only when every row and cell tag starts with r="…" and no other r attribute exists
    # anywhere (not hidden in another attribute's value, not a second one): then these are all.
    if tags == first and len(_ANY_R.findall(xml)) == first and not prefixed:
        if any(len(n) > 7 or int(n) > MAX_ROWS for n in set(_FAR_ROW.findall(xml))):
            raise PackageProblem("too_big_sheet", "rows")
        if any(len(c) > 3 or column_index(c.decode()) >= MAX_COLUMNS for c in set(_WIDE_COLUMN.findall(xml))):
            raise PackageProblem("too_big_sheet", "columns")
        return
    if tags + prefixed > MAX_WALKED_TAGS:
        raise PackageProblem("too_big_sheet", "rows and cells to follow one by one")
    _walk_extent(xml)


def _walk_extent(xml: bytes) -> None:
    """check_extent for other writers: follow each row and cell tag, with r or without, one by one."""
    row = col = max_row = max_col = 0
    columns: dict[bytes, int] = {}
    for tag, attributes in _TAG.findall(xml):
        given_row = given_col = -1
        # Every attribute named exactly r (calamine reads no other); the farthest if there are several.
        for name, double, single in _ATTRIBUTE.findall(attributes) if b"=" in attributes else ():
            if name != b"r":
                continue
            position = _POSITION.fullmatch(double or single)
            if position is None or len(position[1]) > 3 or len(position[2]) > 7:
                raise PackageProblem("too_big_sheet", "cell reference")
            if position[2]:
                given_row = max(given_row, int(position[2]))
            if position[1]:
                letters = position[1]
                if letters not in columns:
                    columns[letters] = column_index(letters.decode())
                given_col = max(given_col, columns[letters])
        if tag == b"row":
            row = given_row if given_row >= 0 else row + 1
            col = 0
        else:
            # A cell without r sits right after the previous one; count it, or a sheet of such
            # cells would slip past a check that only reads r attributes.
            col = given_col + 1 if given_col >= 0 else col + 1
            row = max(row, given_row, 1)
        if row > max_row:
            max_row = row
        if col > max_col:
            max_col = col
        if max_row > MAX_ROWS or max_col > MAX_COLUMNS:
            raise PackageProblem("too_big_sheet", f"{max_row} x {max_col}")
