"""Hostile returned files, built by code (no binary blobs), each with the outcome it must have.

`cases(base)` turns one good returned file (a filled-in employee prep whose identity verifies) into
the corpus: XML entity attacks in every encoding, zip bombs, truncated and foreign files, absurd
sizes and ranges, and saved times from outside any sane bound. Used by tests/prepfile/test_hostile.py
(reading), tests/commands/test_collect_hostile.py (whole collect runs) and benchmarks/hostile_bench.py.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from samtale_automation.prepfile.untrusted_sheet import MAX_WALKED_TAGS, MAX_XML_TAGS

GIB = 1 << 30

#: The phrases a decision's note uses when a file's own saved time is not believed (nb).
AFTER_ARRIVAL = "er etter at filen kom inn; ankomsttiden er brukt"
BEFORE_ISSUE = "er før skjemaet ble laget; ankomsttiden er brukt"
NOT_A_TIME = "er ikke en tid; ankomsttiden er brukt"


@dataclass(frozen=True)
class Case:
    """One hostile file and what must happen to it."""

    name: str  # test id
    data: bytes
    kind: str | None  # the rejection (prepfile/rejections.py), or None: the file is read
    values: dict[str, Any] = field(default_factory=dict)  # for the rejection's text
    #: Saved-time cases: what docProps/core.xml says, and the time the reader must return for it (as it is).
    saved: tuple[str, datetime | None] | None = None
    note: str = ""  # read cases: what the collect decision must say about the saved time ("" = believed)


# ---- zip building ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One zip entry as it goes into the file: its stream and what the headers declare."""

    name: str
    stream: bytes
    size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def deflated(name: str, content: bytes) -> Entry:
    """An honest deflated entry."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Entry(name, packer.compress(content) + packer.flush(), len(content), zlib.crc32(content))


def raw_zip(entries: list[Entry]) -> bytes:
    """A zip file written by hand, so sizes and streams can say anything."""
    out, central = bytearray(), bytearray()
    for entry in entries:
        name = entry.name.encode("utf-8")
        flags = 0 if entry.name.isascii() else 0x800
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, entry.method, 0, 0x21, entry.crc,
                           len(entry.stream), entry.size, len(name), 0) + name + entry.stream
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, entry.method, 0, 0x21, entry.crc,
                               len(entry.stream), entry.size, len(name), 0, 0, 0, 0, 0, offset) + name
    count = min(len(entries), 0xFFFF)
    return bytes(out + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central),
                                             len(out), 0))


def parts_of(data: bytes) -> list[tuple[str, bytes]]:
    """The entries of a good zip, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [(info.filename, package.read(info.filename)) for info in package.infolist()]


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None] = lambda _, content: content,
          extra: list[Entry] | None = None) -> bytes:
    """The same package with each part changed (None drops it) and entries added."""
    entries = [deflated(name, new) for name, content in parts_of(data) if (new := change(name, content)) is not None]
    return raw_zip(entries + (extra or []))


def with_part(data: bytes, part: str, content: bytes) -> bytes:
    """The package with one part's content replaced."""
    return rezip(data, lambda name, old: content if name == part else old)


def edit_part(data: bytes, part: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The package with one part's content edited."""
    return rezip(data, lambda name, old: edit(old) if name == part else old)


def sheet_part(data: bytes, sheet: str) -> str:
    """The part path of a sheet, as the workbook's relationships give it."""
    parts = dict(parts_of(data))
    workbook, rels = parts["xl/workbook.xml"].decode(), parts["xl/_rels/workbook.xml.rels"].decode()
    rel_id = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
    assert rel_id, sheet
    target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rel_id[1]}"', rels) or re.search(
        rf'<Relationship [^>]*Id="{rel_id[1]}"[^>]*Target="([^"]+)"', rels)
    assert target, rel_id[1]
    return target[1].lstrip("/") if target[1].startswith("/") else f"xl/{target[1]}"


def bomb_stream(size: int) -> bytes:
    """A raw deflate stream of `size` bytes (a multiple of 1 MiB) of sheet-like XML, made in milliseconds:
    after a full flush the compressor starts afresh, so one compressed MiB repeats."""
    unit = b"<c/>" * (1 << 18)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * (size // len(unit)) + packer.flush()


# ---- XML attacks -------------------------------------------------------------------------------

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10))
          + "]>")
XXE = '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _encode(text: str, encoding: str) -> bytes:
    """XML text in an encoding, with a declaration saying so and a byte-order mark where asked."""
    declared, bom, codec = {
        "utf-8": ("UTF-8", b"", "utf-8"), "utf-8-bom": ("UTF-8", codecs.BOM_UTF8, "utf-8"),
        "utf-16-le-bom": ("UTF-16", codecs.BOM_UTF16_LE, "utf-16-le"),
        "utf-16-be-bom": ("UTF-16", codecs.BOM_UTF16_BE, "utf-16-be"),
        "utf-16-le": ("UTF-16", b"", "utf-16-le"), "utf-32-le-bom": ("UTF-32", codecs.BOM_UTF32_LE, "utf-32-le"),
        "utf-7": ("UTF-7", b"", "utf-7"),
    }[encoding]
    # UTF-7 keeps its declaration in ASCII, as a parser reads it before it knows the encoding.
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n'.encode("ascii" if codec == "utf-7" else codec)
    return bom + declaration + text.encode(codec)


def _without_declaration(xml: bytes) -> str:
    return re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", xml.decode("utf-8"))


def laughs_in_core(data: bytes, encoding: str, doctype: str = LAUGHS) -> bytes:
    """Billion laughs in docProps/core.xml (which the reader parses for the saved time)."""
    def edit(old: bytes) -> bytes:
        body = _without_declaration(old).replace("</cp:coreProperties>", "<dc:title xmlns:dc="
                                                 '"http://purl.org/dc/elements/1.1/">&lol9;</dc:title>'
                                                 "</cp:coreProperties>")
        return _encode(doctype + body, encoding)
    return edit_part(data, "docProps/core.xml", edit)


def xxe_in_workbook(data: bytes, encoding: str) -> bytes:
    """An external entity in xl/workbook.xml (read by the reader and by calamine), used in a defined name."""
    def edit(old: bytes) -> bytes:
        body = _without_declaration(old).replace("</definedNames>",
                                                 '<definedName name="Lekk">&xxe;</definedName></definedNames>')
        return _encode(XXE + body, encoding)
    return edit_part(data, "xl/workbook.xml", edit)


def laughs_in_sheet(data: bytes, sheet: str, encoding: str) -> bytes:
    """Billion laughs in a sheet part (read by calamine only)."""
    part = sheet_part(data, sheet)
    return edit_part(data, part, lambda old: _encode(LAUGHS + _without_declaration(old), encoding))


# ---- the corpus --------------------------------------------------------------------------------


def with_saved(data: bytes, text: str) -> bytes:
    """The package with docProps/core.xml saying it was last saved at `text`."""
    return edit_part(data, "docProps/core.xml", lambda old: re.sub(
        rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", lambda m: m[1] + text.encode() + m[2], old))


#: Saved times from inside a file: (case, text in core.xml, what the reader returns, the collect note).
SAVED_TIMES: tuple[tuple[str, str, datetime | None, str], ...] = (
    ("saved_9999", "9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), AFTER_ARRIVAL),
    ("saved_0001", "0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC), BEFORE_ISSUE),
    ("saved_0001_offset", "0001-01-01T00:30:00+05:00",
     datetime.fromisoformat("0001-01-01T00:30:00+05:00"), BEFORE_ISSUE),
    ("saved_2099", "2099-06-01T12:00:00Z", datetime(2099, 6, 1, 12, tzinfo=UTC), AFTER_ARRIVAL),
    ("saved_garbage", "i går kveld", None, NOT_A_TIME),
    ("saved_month_13", "2027-13-45T25:61:00Z", None, NOT_A_TIME),
    ("saved_long", "9" * 5000, None, NOT_A_TIME),
)


def cases(base: bytes) -> list[Case]:
    """Every hostile case made from one good returned file `base` (a filled-in employee prep)."""
    prep_sheet = sheet_part(base, "Forberedelse")
    out = [Case(f"laughs_core_{enc}", laughs_in_core(base, enc), "xml_unsafe")
           for enc in ("utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-32-le-bom")]
    out += [Case(f"xxe_workbook_{enc}", xxe_in_workbook(base, enc), "xml_unsafe")
            for enc in ("utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-7")]
    out += [Case(f"laughs_sheet_{enc}", laughs_in_sheet(base, "Forberedelse", enc), "xml_unsafe")
            for enc in ("utf-8", "utf-16-le-bom")]
    out.append(Case("laughs_odd_spacing", laughs_in_core(base, "utf-8", LAUGHS.replace(
        "<!DOCTYPE lolz [", "<!DOCTYPE\r\n\t lolz\n  [\n").replace("<!ENTITY ", "<!ENTITY\t\n ")), "xml_unsafe"))
    out += _zip_cases(base, prep_sheet)
    out += _foreign_cases()
    out += _range_cases(base, prep_sheet)
    out += [Case(name, with_saved(base, text), None, saved=(text, moment), note=note)
            for name, text, moment, note in SAVED_TIMES]
    return out


def _zip_cases(base: bytes, prep_sheet: str) -> list[Case]:
    real = dict(parts_of(base))[prep_sheet]
    stream = bomb_stream(2 * GIB)
    honest = rezip(base, lambda name, old: None if name == prep_sheet else old,
                   [Entry(prep_sheet, stream, 2 * GIB, 0)])
    lying = rezip(base, lambda name, old: None if name == prep_sheet else old,
                  [Entry(prep_sheet, stream, len(real), zlib.crc32(real))])
    many = rezip(base, extra=[deflated(f"xl/x/{n}.xml", b"") for n in range(10_000)])
    junk = b"<x>" + b"<!-- fyll -->" * 3000 + b"</x>"  # 39 kB each, 180 of them: within every limit
    padded = rezip(base, extra=[deflated(f"xl/fyll/{n}.xml", junk) for n in range(180)])
    total = rezip(base, extra=[deflated(f"xl/media/bilde{n}.png", b"\x89PNG" + bytes(1 << 20)) for n in range(9)])
    folded = rezip(base, extra=[deflated("XL/Workbook.xml", dict(parts_of(base))["xl/workbook.xml"])])
    return [
        Case("zip_bomb_sheet_2gib", honest, "zip_bomb"),
        Case("zip_bomb_sheet_lying_size", lying, "damaged"),
        Case("zip_10000_entries", many, "zip_entries", {"limit": 200}),
        Case("zip_180_junk_parts", padded, None),
        Case("zip_total_9mib", total, "zip_bomb"),
        Case("zip_names_differing_in_case", folded, "damaged"),
        Case("truncated_half", base[: len(base) // 2], "damaged"),
        Case("truncated_last_bytes", base[:-10], "damaged"),
        Case("truncated_to_first_header", base[:40], "damaged"),
    ]


def _foreign_cases() -> list[Case]:
    cfb = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    xlsb = raw_zip([deflated("[Content_Types].xml", b"<Types/>"), deflated("xl/workbook.bin", b"\x83\x01\x00")])
    ods = raw_zip([Entry("mimetype", b"application/vnd.oasis.opendocument.spreadsheet", 46,
                         zlib.crc32(b"application/vnd.oasis.opendocument.spreadsheet"), zipfile.ZIP_STORED),
                   deflated("content.xml", b"<office:document-content/>")])
    return [
        Case("legacy_xls", cfb + "Workbook".encode("utf-16-le") + b"\x00" * 1024, "xls"),
        Case("encrypted_ole", cfb + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64
             + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024, "encrypted"),
        Case("xlsb", xlsb, "xlsb"),
        Case("ods", ods, "ods"),
        Case("csv_renamed", "SamtaleID;AnsattID;Kåre\n2027-1001;1001;S01\n".encode(), "text"),
        Case("csv_utf16_renamed", codecs.BOM_UTF16_LE + "SamtaleID\tAnsattID\n".encode("utf-16-le"), "text"),
        Case("empty", b"", "empty"),
        Case("over_5_mib", b"PK\x03\x04" + bytes(5 * 1024 * 1024), "too_large", {"limit": 5}),
    ]


def _range_cases(base: bytes, prep_sheet: str) -> list[Case]:
    def rows(count: int, cells: bool) -> bytes:
        made = (f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>' if cells else f'<row r="{n}"/>'
                for n in range(200, 200 + count))
        return "".join(made).encode()

    def append(extra: bytes) -> bytes:
        return edit_part(base, prep_sheet, lambda old: old.replace(b"</sheetData>", extra + b"</sheetData>"))

    def name(defined: str, reference: str) -> bytes:
        return edit_part(base, "xl/workbook.xml", lambda old: re.sub(
            rf'(<definedName name="{defined}"[^>]*>)[^<]*'.encode(), lambda m: m[1] + reference.encode(), old))

    def add_name(defined: str, reference: str) -> bytes:
        return edit_part(base, "xl/workbook.xml", lambda old: old.replace(
            b"</definedNames>", f'<definedName name="{defined}">{reference}</definedName></definedNames>'.encode()))

    def at_limits(quote: str) -> bytes:
        """Cells right up to every limit: as many elements as allowed (or, with r='…', as many row and
        cell tags as are followed one by one), the farthest row and column."""
        sheet = dict(parts_of(base))[prep_sheet]
        if quote == '"':
            count = (MAX_XML_TAGS - sheet.count(b"<") - 20) // 4
        else:
            count = MAX_WALKED_TAGS - len(re.findall(rb"<(?:c|row)[\s/>]", sheet)) - 5
        cells = "".join(f"<c r={quote}{_column(n % 49)}{300 + n // 49}{quote}><v>{n}</v></c>" for n in range(count))
        far = f"<c r={quote}AX5000{quote}><v>1</v></c>"
        return append(f"<row r={quote}300{quote}>{cells}{far}</row>".encode())

    absurd = edit_part(base, prep_sheet, lambda old: re.sub(rb'<dimension ref="[^"]*"/>',
                                                            b'<dimension ref="A1:XFD1048576"/>', old))
    assert absurd != base
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + "".join(f"<si><t>{n}</t></si>" for n in range(60_000)).encode() + b"</sst>")
    return [
        Case("dimension_whole_sheet", absurd, "too_big_sheet"),
        Case("name_whole_sheet", name("Notater", "Forberedelse!$A$1:$XFD$1048576"), "region_too_big",
             {"name": "Notater", "rows": 1048576, "columns": 16384}),
        Case("name_whole_sheet_on_identity", name("Velg", "_samtale!$A$1:$XFD$1048576"), "region_too_big",
             {"name": "Velg", "rows": 1048576, "columns": 16384}),
        Case("name_unread_whole_sheet", add_name("Stor", "Forberedelse!$A$1:$XFD$1048576"), None),
        Case("name_beyond_excel", name("Notater", "Forberedelse!$D$1:$D$9999999"), "layout", {"name": "Notater"}),
        Case("rows_100000", append(rows(100_000, cells=True)), "too_big_sheet"),
        Case("rows_100000_empty", append(rows(100_000, cells=False)), "too_big_sheet"),
        Case("cell_at_last_row", append(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'), "too_big_sheet"),
        # Positions a check of r="…" alone would miss: cells and rows without r, r in single quotes,
        # a harmless r="A1" inside another attribute's value before the real one.
        Case("cells_without_r", append(b'<row r="300">' + b"<c><v>1</v></c>" * 60 + b"</row>"), "too_big_sheet"),
        Case("rows_without_r", append(b"<row><c><v>1</v></c></row>" * 5100), "too_big_sheet"),
        Case("r_single_quoted", append(b"<row r='300'><c r='XFD300'><v>1</v></c></row>"), "too_big_sheet"),
        Case("r_hidden_in_attribute", append(b'<row r="300"><c x=\'r="A1"\' r="XFD300"><v>1</v></c></row>'),
             "too_big_sheet"),
        Case("sheet_at_every_limit", at_limits('"'), None),
        Case("sheet_at_every_limit_single_quotes", at_limits("'"), None),
        Case("shared_strings_60000", rezip(base, extra=[deflated("xl/sharedStrings.xml", strings)]), "too_big_sheet"),
    ]


def _column(index: int) -> str:
    """Column letters of a 0-based index."""
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
