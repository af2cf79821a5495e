"""Open an untrusted .xlsx package safely: the zip half of reading returned files.

Returned files come from anyone with an e-mail address (DESIGN.md §11). Before python-calamine
sees a byte, this module checks the file's kind, its size, the number of zip entries and each
entry's name and declared sizes. The parts that are read at all (by calamine or by us: workbook,
its relationships, shared strings, styles, core properties, and each sheet before calamine reads
it) are expanded from their raw bytes with their real (not declared) size, ratio and CRC checked,
refused with a DTD in any encoding (prepfile/untrusted_xml.py) or more elements than any form has;
a sheet also for its extent: calamine allocates a dense grid up to the farthest cell and a string
table from the declared count, and a Rust allocation failure aborts the whole process instead of
raising. Parts nobody reads (pictures, themes, anything added) are never expanded. So the time and
memory one file takes is bounded: each step is linear in the bytes or elements of a read part, and
both are capped a few dozen times above what a filled-in form holds.
It also reads what calamine has no API for: defined names, sheet parts and the saved time.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from samtale_automation.prepfile.untrusted_sheet import MAX_XML_TAGS, check_extent, column_index
from samtale_automation.prepfile.untrusted_xml import PackageProblem, check_xml_part, parse_w3cdtf, parse_xml

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 200
MAX_RATIO = 100  # expanded / compressed, per entry
RATIO_FLOOR = 64 * 1024  # small entries may compress well without being a bomb
MAX_TOTAL_UNCOMPRESSED = 8 * 1024 * 1024
MAX_XML_PART = 2 * 1024 * 1024  # a 60-question prep sheet is about 32 kB
MAX_SHARED_STRINGS = 50_000
MAX_SHEETS = 50
MAX_DEFINED_NAMES = 1000
MAX_REFERENCE_TEXT = 300
#: Excel's own sheet size: a reference beyond it is broken.
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
#: Parts never parsed as XML (pictures, printer settings): no size limit for XML parts applies to them.
_BINARY_SUFFIXES = (".bin", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".jfif")
#: The parts read when the package is opened: what calamine's Xlsx::new reads, and core properties.
OPENED_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "xl/styles.xml",
                "docProps/core.xml")
_SST_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sst(?=[\s/>])[^>]*>")
_SST_COUNT = re.compile(rb"""\s(?:count|uniqueCount)\s*=\s*["'](\d+)["']""")
_SI_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si(?=[\s/>])")
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?$")


@dataclass(frozen=True)
class Area:
    """A rectangular cell region (0-based, inclusive) on one sheet, as a defined name gives it."""

    sheet: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1

    @property
    def columns(self) -> int:
        return self.last_col - self.first_col + 1


@dataclass
class Package:
    """An .xlsx whose entries were checked, the parts read so far (expanded and checked), and what its
    workbook part says."""

    data: bytes
    entries: dict[str, zipfile.ZipInfo]  # case-folded name -> entry (names differing only in case are refused)
    parts: dict[str, bytes] = field(default_factory=dict)  # case-folded name -> checked content
    sheet_parts: dict[str, str] = field(default_factory=dict)  # sheet name -> part path
    names: dict[str, str] = field(default_factory=dict)  # workbook-level defined name -> reference
    _areas: dict[str, Area | None] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        """Whether the package has an entry of this name (ignoring case, as calamine does)."""
        return name.casefold() in self.entries

    def part(self, name: str) -> bytes | None:
        """A part's content, expanded and checked on first use; None when there is no such entry."""
        key = name.casefold()
        if key not in self.parts:
            info = self.entries.get(key)
            if info is None:
                return None
            content = _entry_bytes(self.data, info)
            if sum(map(len, self.parts.values())) + len(content) > MAX_TOTAL_UNCOMPRESSED:
                raise PackageProblem("zip_bomb", "total size")
            if not key.endswith(_BINARY_SUFFIXES) or key in {p.casefold() for p in self.sheet_parts.values()}:
                _check_xml(key, content)  # a part read as XML is checked whatever its name says
            self.parts[key] = content
        return self.parts[key]

    def area(self, name: str) -> Area | None:
        """Resolve a defined name to an Area, or None when it is missing or broken (#REF!)."""
        if name not in self._areas:
            reference = self.names.get(name)
            self._areas[name] = parse_reference(reference) if reference else None
        return self._areas[name]

    def modified_text(self) -> str:
        """The file's own last-saved time from docProps/core.xml as written there ('' when it says none)."""
        root = parse_xml(self.parts.get("docprops/core.xml"))  # expanded and checked when opened
        if root is None:
            return ""
        for element in root:
            if _local(element.tag) == "modified" and element.text:
                return str(element.text).strip()[:100]
        return ""

    def modified(self) -> datetime | None:
        """The file's own last-saved time (aware), if it says one that is a time at all (any year)."""
        text = self.modified_text()
        return parse_w3cdtf(text) if text else None

    def check_sheet(self, sheet: str) -> None:
        """Expand and check a sheet's part before calamine reads it: no DTD, a bounded size, element
        count, declared dimension and farthest cell (prepfile/untrusted_sheet.py)."""
        part = self.sheet_parts.get(sheet)
        data = self.part(part) if part is not None else None
        if data is None:
            raise PackageProblem("damaged", f"sheet {sheet!r} has no part")
        check_extent(data)


def open_package(data: bytes) -> Package:
    """Check an .xlsx held in memory and the parts read when it is opened; raise PackageProblem with the
    reason otherwise. Sheets are checked by Package.check_sheet before each is read (their extent
    by prepfile/untrusted_sheet.py)."""
    if not data:
        raise PackageProblem("empty")
    if len(data) > MAX_FILE_BYTES:
        raise PackageProblem("too_large", str(len(data)))
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise PackageProblem(_sniff_other(data))
    # zipfile parses the whole central directory before saying how many entries it has; every
    # entry it parses starts with this signature, so counting them first bounds that work.
    if data.count(b"PK\x01\x02") > MAX_ENTRIES:
        raise PackageProblem("zip_entries")
    package = Package(data, _entries(data))
    if not package.has("xl/workbook.xml"):
        raise PackageProblem(_kind_of_zip(package))
    for name in OPENED_PARTS:
        package.part(name)
    _read_workbook(package)
    # calamine reads every shared string, and may reserve room for the declared number first.
    strings = package.part("xl/sharedStrings.xml") or b""
    head = _SST_TAG.search(strings)
    if head and any(len(n) > 9 or int(n) > MAX_SHARED_STRINGS for n in _SST_COUNT.findall(head[0])):
        raise PackageProblem("too_big_sheet", "shared strings")
    if strings and len(_SI_TAG.findall(strings)) > MAX_SHARED_STRINGS:
        raise PackageProblem("too_big_sheet", "shared strings")
    return package


def parse_reference(reference: str) -> Area | None:
    """Parse `Sheet!$A$1:$B$2` (quoted sheet names, with or without $) into an Area; None if broken."""
    text = reference.strip().lstrip("=")
    match = _REF.match(text) if len(text) <= MAX_REFERENCE_TEXT else None
    if not match:
        return None
    sheet = match[1].replace("''", "'") if match[1] is not None else match[2]
    first_row, first_col = int(match[4]) - 1, column_index(match[3])
    last_row = int(match[6]) - 1 if match[6] else first_row
    last_col = column_index(match[5]) if match[5] else first_col
    if min(first_row, last_row) < 0 or max(first_row, last_row) >= EXCEL_ROWS:
        return None
    if max(first_col, last_col) >= EXCEL_COLUMNS:
        return None
    return Area(sheet, min(first_row, last_row), min(first_col, last_col), max(first_row, last_row),
                max(first_col, last_col))


def _check_xml(name: str, content: bytes) -> None:
    """Refuse an XML part with a DTD (any encoding) or more elements than any form has."""
    check_xml_part(name, content)
    if content.count(b"<") > MAX_XML_TAGS:
        raise PackageProblem("too_big_sheet", f"elements in {name!r}")


def _sniff_other(data: bytes) -> str:
    """Name what a non-zip file is: encrypted Office file, old .xls, text/CSV or unknown."""
    if data.startswith(_CFB_MAGIC):
        encrypted = "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data
        return "encrypted" if encrypted else "xls"
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text, as Excel's «Unicode text» export writes
        return "text"
    # Text (CSV saved as UTF-8 or as cp1252 by an old Excel) has no control bytes but tab and newlines.
    if not head.translate(None, b"\t\r\n").translate(None, bytes(range(32, 256))):
        return "text"
    return "not_xlsx"


def _kind_of_zip(package: Package) -> str:
    if package.has("mimetype") and (package.part("mimetype") or b"").startswith(b"application/vnd.oasis.opendocument"):
        return "ods"
    if package.has("xl/workbook.bin"):
        return "xlsb"
    return "other_office" if package.has("word/document.xml") or package.has("ppt/presentation.xml") else "not_xlsx"


def _entries(data: bytes) -> dict[str, zipfile.ZipInfo]:
    """Every entry by case-folded name, checked by name and declared sizes (nothing expanded yet).

    Case-folded: calamine finds parts ignoring case, so two entries that differ only in case would
    let it read another part than the one checked here.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # hostile input makes zipfile raise BadZipFile, NotImplementedError, struct.error…
        raise PackageProblem("damaged", f"{type(exc).__name__}: {exc}") from None
    if len(infos) > MAX_ENTRIES:
        raise PackageProblem("zip_entries", str(len(infos)))
    if sum(i.file_size for i in infos) > MAX_TOTAL_UNCOMPRESSED:
        raise PackageProblem("zip_bomb", "total size")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if name.casefold() in entries:
            raise PackageProblem("damaged", f"duplicate entry {name!r}")
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or "\x00" in name:
            raise PackageProblem("damaged", f"entry name {name!r}")
        if info.flag_bits & 0x1:
            raise PackageProblem("encrypted")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise PackageProblem("zip_bomb", f"ratio of {name!r}")
        if info.file_size > MAX_XML_PART and not name.casefold().endswith(_BINARY_SUFFIXES):
            raise PackageProblem("too_big_sheet", f"size of {name!r}")
        entries[name.casefold()] = info
    return entries


def _entry_bytes(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """Expand one entry from the raw archive, trusting none of its declared sizes."""
    # Read the compressed span ourselves: zipfile stops at the declared size and never notices a
    # deflate stream that goes on, while calamine's zip reader would expand all of it.
    offset = info.header_offset
    header = data[offset:offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        raise PackageProblem("damaged", f"no local header for {info.filename!r}")
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != b"PK\x03\x04":
        raise PackageProblem("damaged", f"bad local header for {info.filename!r}")
    start = offset + _LOCAL_HEADER.size + fields[9] + fields[10]
    raw = data[start:start + info.compress_size]
    if len(raw) != info.compress_size:
        raise PackageProblem("damaged", f"truncated entry {info.filename!r}")
    if info.compress_type == zipfile.ZIP_STORED:
        content = raw
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            content = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as exc:
            raise PackageProblem("damaged", f"{info.filename!r}: {exc}") from None
        if not inflater.eof:
            raise PackageProblem("damaged", f"entry {info.filename!r} is longer than it says")
    else:
        raise PackageProblem("damaged", f"compression method {info.compress_type}")
    if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
        raise PackageProblem("damaged", f"size or CRC of {info.filename!r}")
    return content


def _sheet_path(target: str) -> str:
    """Where calamine looks for a sheet's part (xlsx/mod.rs read_workbook): no path normalisation."""
    if target.startswith("/xl/"):
        return target[1:]
    return target if target.startswith("xl/") else f"xl/{target}"


def _read_workbook(package: Package) -> None:
    """Fill in sheet name -> part and the workbook-level defined names, resolving sheets as calamine does."""
    workbook = parse_xml(package.part("xl/workbook.xml"))
    rels = parse_xml(package.part("xl/_rels/workbook.xml.rels"))
    if workbook is None or rels is None:
        raise PackageProblem("damaged", "workbook part")
    targets = {}
    for rel in rels:
        if _local(rel.tag) == "Relationship" and rel.get("Id") and rel.get("Target"):
            targets[str(rel.get("Id"))] = _sheet_path(str(rel.get("Target")))
    for element in workbook.iter():
        tag = _local(element.tag)
        if tag == "sheet":
            _add_sheet(package, element, targets)
        elif tag == "definedName" and element.get("name") and element.get("localSheetId") is None:
            if len(package.names) >= MAX_DEFINED_NAMES:
                raise PackageProblem("too_big_sheet", "defined names")
            package.names[str(element.get("name"))] = str(element.text or "")


def _add_sheet(package: Package, element: Any, targets: dict[str, str]) -> None:
    attributes: dict[str, str] = element.attrib
    name = attributes.get("name")
    rel_ids = [v for k, v in attributes.items() if k.endswith("}id")]
    if not name or len(rel_ids) != 1 or rel_ids[0] not in targets:
        return  # calamine finds no sheet by this name either
    if name.casefold() in {n.casefold() for n in package.sheet_parts} or len(package.sheet_parts) >= MAX_SHEETS:
        raise PackageProblem("damaged", f"sheet {name!r} twice, or too many sheets")
    package.sheet_parts[name] = targets[rel_ids[0]]


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]
