"""The XML parts of an untrusted package: their encoding, no DTD in any encoding, safe parsing, dates.

A DTD is how XML turns a few bytes into gigabytes (nested entities, «billion laughs») or reaches for
other files (external entities, XXE), and Excel never writes one. Looking for the bytes `<!DOCTYPE`
misses XML saved as UTF-16 or UTF-32, so each part is read as an XML parser would read it: the
encoding from its byte-order mark, its first bytes (XML 1.0 appendix F) or its declaration; then
any markup declaration (`<!` that does not open a comment or a CDATA section) refuses the file.
Encodings other than UTF-8/16/32, ASCII and Latin-1 are refused outright: no Excel writes them,
and in some (UTF-7) `<!` hides as other bytes. The parts Python itself parses also go through
defusedxml with DTDs, entities and external references forbidden.
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from typing import Any

import defusedxml.ElementTree as DefusedElementTree


class PackageProblem(Exception):
    """Why a file cannot be read; `kind` selects the message prepfile/rejections.py shows."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


#: Byte-order marks, longest first (UTF-32 LE begins like UTF-16 LE).
_BOMS = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
#: XML 1.0 appendix F: the first bytes of a document without a byte-order mark.
_WIDE_STARTS = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<", "utf-16-be"),
                (b"<\x00", "utf-16-le"))
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]{0,200}?\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
#: Encodings in which every character below 128 is its own byte, so `<!` is the bytes 3C 21.
_ASCII_COMPATIBLE = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
_WIDE = frozenset({"utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"})
#: A W3CDTF time is about 30 characters; anything much longer is not one.
_MAX_DATE_TEXT = 64


def xml_encoding(data: bytes) -> str:
    """The encoding an XML parser would read `data` in (a normalised Python codec name)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    for start, name in _WIDE_STARTS:
        if data.startswith(start):
            return name
    declared = _DECLARED.match(data[:256])
    if declared is None:
        return "utf-8"
    try:
        return codecs.lookup(declared[1].decode("ascii")).name
    except LookupError:
        raise PackageProblem("xml_unsafe", f"unknown encoding {declared[1]!r}") from None


def check_xml_part(name: str, data: bytes) -> None:
    """Refuse an XML part with a DTD or entity declaration, in any encoding, or in an encoding Excel never uses.

    Every `<!` must open a comment or a CDATA section (`<!` never overlaps itself, so counting the
    three is exact and runs at memory speed).
    """
    encoding = xml_encoding(data)
    if encoding in _ASCII_COMPATIBLE:
        if b"\x00" in data:  # never in XML text: UTF-16 or UTF-32 in disguise
            raise PackageProblem("xml_unsafe", f"NUL in {name!r}")
        if data.count(b"<!") != data.count(b"<!--") + data.count(b"<![CDATA["):
            raise PackageProblem("xml_unsafe", f"DTD in {name!r}")
        return
    if encoding not in _WIDE:
        raise PackageProblem("xml_unsafe", f"encoding {encoding} in {name!r}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise PackageProblem("xml_unsafe", f"bad {encoding} in {name!r}") from None
    if text.count("<!") != text.count("<!--") + text.count("<![CDATA["):
        raise PackageProblem("xml_unsafe", f"DTD in {name!r} ({encoding})")


def parse_xml(data: bytes | None) -> Any:
    """Parse a small XML part into an ElementTree element; None when missing, malformed or unsafe."""
    if data is None:
        return None
    try:
        return DefusedElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception:  # ParseError, DTDForbidden/EntitiesForbidden (ValueError), LookupError, MemoryError…
        return None


def parse_w3cdtf(value: str) -> datetime | None:
    """A W3CDTF/ISO 8601 time from inside a file, aware (UTC where it can be); None for anything else.

    Any year Python can hold is returned as it is (bounds are the caller's business, see
    plans/consolidate.py); garbage, an impossible date or a year Python cannot hold give None.
    """
    text = value.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except (ValueError, OverflowError, TypeError):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # W3CDTF in docProps is UTC
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        return moment
