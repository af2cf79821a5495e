"""XlsxWriter writing every string XML-safe: shared by the two writers of new files, the master
workbook (workbook/build.py) and the prep files (prepfile/), which as adapters cannot import each other.

A control character a person pasted (a vertical tab from Word) would otherwise make a file Excel
refuses to open; the writers pass `domain.cells.xml_safe_text`, which turns it into what Excel
itself stores (a basic module does not import the domain, so the cleaner is passed in).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


@functools.cache
def safe_text_worksheet(clean: Callable[[str], str]) -> type:
    """XlsxWriter's worksheet class with every string (plain, rich or merged) passed through `clean`."""
    from xlsxwriter.worksheet import Worksheet

    class SafeTextWorksheet(Worksheet):  # type: ignore[misc]
        def _write_string(self, row: int, col: int, string: str, cell_format: Any = None) -> int:
            return int(super()._write_string(row, col, clean(string), cell_format))

        def _write_rich_string(self, row: int, col: int, *args: Any) -> int:
            safe = (clean(arg) if isinstance(arg, str) else arg for arg in args)
            return int(super()._write_rich_string(row, col, *safe))

    return SafeTextWorksheet
