"""XlsxWriter's innermost loops for the many small forms `samtale prep` writes, byte for byte the same.

A prep file is mostly formatted cells (input boxes, borders of merged ranges) and a few hundred
texts, and XlsxWriter writes each through generic code that escapes every attribute and parses
every format's properties anew; a round writes thousands of files. The subclasses here write the
common cases straight out (a formatted blank or shared-string cell, a shared string that needs no
escaping) and copy formats from a prototype made once per process, and leave everything else to
XlsxWriter. The package is identical to plain XlsxWriter's: tests/prepfile/test_fast_xlsx.py
writes the same forms both ways and compares the bytes.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellBlankTuple, CellStringTuple

from samtale_automation.domain.cells import xml_safe_text
from samtale_automation.xlsx_text import safe_text_worksheet

#: What makes XlsxWriter change a shared string or add an attribute to it: XML's special characters,
#: control characters and «_xHHHH_» (escaped), the two non-characters, space at either end (preserved).
_NOT_PLAIN = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")

_PROTOTYPES: dict[tuple[tuple[str, Any], ...], Format] = {}


@functools.cache
def fast_worksheet() -> type:
    """The XML-safe worksheet class (xlsx_text) writing formatted blank and text cells directly."""
    base = safe_text_worksheet(xml_safe_text)

    class FastWorksheet(base):  # type: ignore[misc,valid-type]
        # write_string and write_blank without the decorator that turns «A1» into row and column:
        # every call here gives numbers.
        def write_string(self, row: Any, col: Any, *args: Any) -> int:
            if type(row) is int:
                return int(self._write_string(row, col, *args))
            return int(super().write_string(row, col, *args))

        def write_blank(self, row: Any, col: Any, *args: Any) -> int:
            if type(row) is int:
                return int(self._write_blank(row, col, *args))
            return int(super().write_blank(row, col, *args))

        def _write_rows(self) -> None:
            # XlsxWriter's loop, with the cells of the common kinds written in line.
            if self.comments or self.constant_memory or self.excel_version != 2007 or self.dim_rowmin is None:
                super()._write_rows()
                return
            self._calculate_spans()
            write, table, row_info, spans = self.fh.write, self.table, self.row_info, self.row_spans
            for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
                cells, info = table.get(row_num), row_info.get(row_num)
                span = spans.get(row_num // 16)
                if not cells:
                    if info is not None:
                        self._write_row(row_num, span, info, empty_row=True)
                    continue
                self._write_row(row_num, span, info)
                for col_num in sorted(cells):
                    cell = cells[col_num]
                    kind, cell_format = type(cell), cell.format
                    if cell_format is None or (kind is not CellBlankTuple and kind is not CellStringTuple):
                        self._write_cell(row_num, col_num, cell)
                    elif kind is CellBlankTuple:
                        write(f'<c r="{xl_rowcol_to_cell_fast(row_num, col_num)}" s="{cell_format._get_xf_index()}"/>')
                    else:
                        write(f'<c r="{xl_rowcol_to_cell_fast(row_num, col_num)}" s="{cell_format._get_xf_index()}" '
                              f't="s"><v>{cell.string}</v></c>')
                write("</row>")

    return FastWorksheet


class _FastSharedStrings(SharedStrings):  # type: ignore[misc]
    def _write_sst_strings(self) -> None:
        write = self.fh.write
        for string in self.string_table.string_array:
            if _NOT_PLAIN.search(string) is None:  # XlsxWriter would write it unchanged, without attributes
                write(f"<si><t>{string}</t></si>")
            else:
                self._write_si(string)


class _FastPackager(Packager):  # type: ignore[misc]
    def _write_shared_strings_file(self) -> None:
        if not self.workbook.str_table.count:
            return
        sst = _FastSharedStrings()
        sst.string_table = self.workbook.str_table
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


class FastWorkbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """An XlsxWriter workbook whose worksheets and shared strings take the fast paths above."""

    def __init__(self, filename: Any, options: dict[str, Any] | None = None) -> None:
        super().__init__(filename, options)
        self.worksheet_class = fast_worksheet()

    def _get_packager(self) -> Packager:  # XlsxWriter's documented place to give its own packager
        return _FastPackager()

    def add_format(self, properties: dict[str, Any] | None = None) -> Format:
        """The same as XlsxWriter's add_format, copied from a prototype parsed once per process."""
        merged = {**self.default_format_properties, **(properties or {})}
        key = tuple(sorted(merged.items()))
        proto = _PROTOTYPES.get(key)
        if proto is None:
            proto = Format(merged)
            proto._get_format_key()  # what the copies are matched by; their properties never change
            _PROTOTYPES[key] = proto
        made = Format.__new__(Format)
        made.__dict__.update(proto.__dict__)
        made.xf_format_indices, made.dxf_format_indices = self.xf_format_indices, self.dxf_format_indices
        self.formats.append(made)
        return made


class SafeWorkbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """XlsxWriter's own workbook with XML-safe strings: what FastWorkbook writes, the slower way."""

    def __init__(self, filename: Any, options: dict[str, Any] | None = None) -> None:
        super().__init__(filename, options)
        self.worksheet_class = safe_text_worksheet(xml_safe_text)


#: The XlsxWriter releases whose inner loops the fast paths repeat (their bytes are compared with plain
#: XlsxWriter's in tests/prepfile/test_fast_xlsx.py). Another release, which may have changed those
#: private loops, writes through XlsxWriter's own code: slower, never different.
FAST_FOR = ("3.3.",)


def workbook_class(version: str = xlsxwriter.__version__) -> type:
    """FastWorkbook on an XlsxWriter release the fast paths were checked against, else SafeWorkbook."""
    return FastWorkbook if version.startswith(FAST_FOR) else SafeWorkbook
