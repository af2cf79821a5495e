"""The XML parts of a returned file (prepfile/untrusted_xml.py): encodings, DTDs in any of them, dates."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samtale_automation.commands.incoming import shown_name
from samtale_automation.paths import sanitize_filename
from samtale_automation.prepfile.untrusted_xml import (
    PackageProblem,
    check_xml_part,
    parse_w3cdtf,
    parse_xml,
    xml_encoding,
)

DOCTYPE = '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'


@pytest.mark.parametrize(("data", "encoding"), [
    (b"<a/>", "utf-8"),
    (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a/>', "utf-8"),
    (b"<?xml version='1.0' encoding='windows-1252'?><a/>", "cp1252"),
    (codecs.BOM_UTF8 + b"<a/>", "utf-8"),
    (codecs.BOM_UTF16_LE + "<a/>".encode("utf-16-le"), "utf-16-le"),
    (codecs.BOM_UTF16_BE + "<a/>".encode("utf-16-be"), "utf-16-be"),
    (codecs.BOM_UTF32_LE + "<a/>".encode("utf-32-le"), "utf-32-le"),
    ("<?xml?><a/>".encode("utf-16-le"), "utf-16-le"),
    ("<a/>".encode("utf-32-be"), "utf-32-be"),
])
def test_the_encoding_is_found_as_a_parser_finds_it(data: bytes, encoding: str) -> None:
    """Byte-order mark first, then the first bytes (XML 1.0 appendix F), then the declaration."""
    assert xml_encoding(data) == encoding


@pytest.mark.parametrize("data", [
    DOCTYPE.encode(),
    codecs.BOM_UTF8 + DOCTYPE.encode(),
    codecs.BOM_UTF16_LE + DOCTYPE.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + DOCTYPE.encode("utf-16-be"),
    DOCTYPE.encode("utf-16-le"),
    codecs.BOM_UTF32_BE + DOCTYPE.encode("utf-32-be"),
    b"<?xml version='1.0'?>\n\n  <!DOCTYPE\r\n\ta>\n<a/>",
    b'<a><!ENTITY e "x"></a>',
    b"<a><!-- fine --><!ELEMENT a ANY></a>",
    b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE a+AD4-<a/>',
    b'<?xml version="1.0" encoding="UTF-16"?><a/>',  # says UTF-16, is not
    b'<?xml version="1.0" encoding="x-unknown"?><a/>',
    b"<a>\x00<\x00!\x00D\x00</a>",
    codecs.BOM_UTF16_LE + b"<\x00a\x00\x00\xd8/\x00>\x00",  # a lone surrogate: not UTF-16
])
def test_a_dtd_or_an_odd_encoding_is_refused(data: bytes) -> None:
    """Any markup declaration in any encoding, or an encoding no Excel writes, refuses the part."""
    with pytest.raises(PackageProblem) as caught:
        check_xml_part("xl/workbook.xml", data)
    assert caught.value.kind == "xml_unsafe"


@pytest.mark.parametrize("data", [
    b"<a/>",
    b'<?xml version="1.0" encoding="UTF-8"?><a><!-- <b> --><![CDATA[<b>]]></a>',
    codecs.BOM_UTF16_LE + "<a><!-- ok --></a>".encode("utf-16-le"),
    "<?xml version='1.0' encoding='ISO-8859-1'?><a>Ærlig</a>".encode("latin-1"),
])
def test_comments_cdata_and_usual_encodings_pass(data: bytes) -> None:
    """Comments and CDATA pass (a `<!` inside them that opens neither is refused: no form has one)."""
    check_xml_part("xl/workbook.xml", data)


def test_parse_xml_forbids_dtds_and_entities_whatever_the_encoding() -> None:
    """defusedxml refuses what the byte check would refuse too: the parse gives None, never an error."""
    assert parse_xml(codecs.BOM_UTF16_LE + DOCTYPE.encode("utf-16-le")) is None
    assert parse_xml(b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>') is None
    assert parse_xml(b"<a") is None and parse_xml(None) is None
    assert parse_xml(codecs.BOM_UTF16_LE + "<a b='1'/>".encode("utf-16-le")).get("b") == "1"


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-02-03T23:30:00Z", datetime(2027, 2, 3, 23, 30, tzinfo=UTC)),
    ("2027-02-04T00:30:00+01:00", datetime(2027, 2, 3, 23, 30, tzinfo=UTC)),
    ("2027-02-03T23:30:00", datetime(2027, 2, 3, 23, 30, tzinfo=UTC)),
    ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("9999-12-31T23:59:59-01:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))),
    ("0001-01-01T00:00:00+05:00", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
    ("2027-13-45T25:61:00Z", None), ("i går kveld", None), ("", None), ("Z", None), ("9" * 5000, None),
    ("10000-01-01T00:00:00Z", None), ("2027-02-03T23:30:00+25:00", None),
])
def test_saved_times_parse_as_the_file_says_or_not_at_all(text: str, expected: datetime | None) -> None:
    """Any year Python holds comes back as it is (UTC where it can be); anything else is None."""
    moment = parse_w3cdtf(text)
    assert moment == expected
    assert moment is None or moment.tzinfo is not None


@given(st.text(max_size=80))
def test_a_saved_time_never_raises(text: str) -> None:
    moment = parse_w3cdtf(text)
    assert moment is None or moment.tzinfo is not None


@pytest.mark.parametrize(("name", "shown"), [
    ("kari.xlsx", "kari.xlsx"),
    ("rapport\udcff.xlsx", "rapport\ufffd.xlsx"),
    ("kari\u202eslx.exe", "kari?slx.exe"),
    ("linje\nskift\x1b.xlsx", "linje?skift?.xlsx"),
    ("\ud800x", "\ufffd\ufffd\ufffdx"),
])
def test_names_from_outside_are_shown_safely(name: str, shown: str) -> None:
    assert shown_name(name) == shown
    assert len(shown_name("ø" * 500)) == 200


@pytest.mark.parametrize(("name", "safe"), [
    ("a/b\\c:d*e?f\"g<h>i|j.xlsx", "a_b_c_d_e_f_g_h_i_j.xlsx"),
    ("kari\u202exslx.exe", "kari_xslx.exe"),
    ("x\udcff.xlsx", "x_.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("lpt1", "_lpt1"),
    ("navn. ", "navn"),
    (".skjult", "skjult"),
    ("a\x7fb\x85c.xlsx", "a_b_c.xlsx"),
])
def test_file_names_are_made_safe_on_windows_and_linux(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


@given(st.text(min_size=1, max_size=400))
def test_a_safe_file_name_fits_any_file_system(name: str) -> None:
    """At most 120 characters and 200 UTF-8 bytes, encodable, no separators or control characters."""
    safe = sanitize_filename(name)
    assert safe and len(safe) <= 120 and len(safe.encode("utf-8")) <= 200
    assert not any(c in safe for c in '/\\:*?"<>|') and all(ord(c) >= 32 for c in safe)
