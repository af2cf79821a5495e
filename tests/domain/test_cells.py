"""Reading raw cell values (as Excel, LibreOffice or a person left them) into typed values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hostile_text import HOSTILE_TEXTS, xml_ok

from samtale_automation.domain import cells
from samtale_automation.domain.cells import CellValueError
from samtale_automation.domain.model import OSLO, ClosedDay

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

# ---- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date(2027, 1, 11), date(2027, 1, 11)),
        (datetime(2027, 1, 11, 9, 30), date(2027, 1, 11)),
        (46398.0, date(2027, 1, 11)),  # Excel serial number as calamine returns it
        (46398, date(2027, 1, 11)),
        (46398.75, date(2027, 1, 11)),  # a serial with a time part still gives the day
        ("11.01.2027", date(2027, 1, 11)),
        (" 11.01.2027 ", date(2027, 1, 11)),
        ("2027-01-11", date(2027, 1, 11)),
        ("11.01.27", date(2027, 1, 11)),
        ("11/01/2027", date(2027, 1, 11)),
        ("29.02.2028", date(2028, 2, 29)),
    ],
)
def test_as_date_reads_every_form_a_date_arrives_in(raw: object, expected: date) -> None:
    """Verify a real date, an Excel serial, «dd.mm.åååå» text and ISO text all read as the same date."""
    assert cells.as_date(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_as_date_blank_is_none(raw: object) -> None:
    """Verify an empty date cell reads as None rather than raising."""
    assert cells.as_date(raw) is None


@pytest.mark.parametrize("raw", ["32.13.2027", "29.02.2027", "neste uke", "2027/13/01"])
def test_as_date_bad_text_raises_norwegian_message(raw: str) -> None:
    """Verify unreadable date text raises CellValueError quoting the text and telling how to write it."""
    with pytest.raises(CellValueError) as caught:
        cells.as_date(raw)
    message = str(caught.value)
    assert f"«{raw}»" in message
    assert "er ikke en dato" in message
    assert "dd.mm.åååå" in message


@pytest.mark.parametrize("raw", [-1.0, 3_000_000.0])
def test_as_date_serial_out_of_range_raises(raw: float) -> None:
    """Verify an Excel serial outside Excel's calendar raises CellValueError in Norwegian."""
    with pytest.raises(CellValueError, match="er ikke en gyldig Excel-dato"):
        cells.as_date(raw)


# ---- date and time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        datetime(2027, 1, 20, 10, 0),
        46407 + 10 / 24,  # serial 46407 is 20.01.2027; 10/24 of a day is 10:00
        "20.01.2027 10:00",
        "20.01.2027 kl. 10:00",
        "20.01.2027 10.00",
        "2027-01-20 10:00",
        "2027-01-20T10:00",
        "2027-01-20T10:00:00",
        "2027-01-20 10:00:00",
    ],
)
def test_as_datetime_gives_aware_oslo_time(raw: object) -> None:
    """Verify every accepted date-and-time form becomes 20.01.2027 10:00 aware in Europe/Oslo."""
    moment = cells.as_datetime(raw)
    assert moment is not None
    assert moment.tzinfo is not None
    assert moment.tzinfo == OSLO
    assert moment.replace(tzinfo=None) == datetime(2027, 1, 20, 10, 0)
    assert moment.utcoffset() == timedelta(hours=1)  # CET in January


def test_as_datetime_serial_with_15_digits_keeps_the_minute() -> None:
    """Verify a serial stored with 15 significant digits, a hair before 11:00, reads as 11:00, not 10:59."""
    serial = float(f"{46407 + 11 / 24:.15g}")  # 46407.4583333333
    assert serial < 46407 + 11 / 24
    assert cells.as_datetime(serial) == datetime(2027, 1, 20, 11, 0, tzinfo=OSLO)


def test_as_datetime_summer_time_offset() -> None:
    """Verify a naive summer datetime is taken as Oslo local time with the +02:00 summer offset."""
    moment = cells.as_datetime("15.06.2027 09:00")
    assert moment is not None
    assert moment.isoformat() == "2027-06-15T09:00:00+02:00"


def test_as_datetime_converts_aware_values_to_oslo() -> None:
    """Verify an aware UTC datetime is converted (not relabelled) to Oslo time."""
    moment = cells.as_datetime(datetime(2027, 1, 20, 9, 0, tzinfo=UTC))
    assert moment is not None
    assert moment.isoformat() == "2027-01-20T10:00:00+01:00"


def test_as_datetime_plain_date_is_midnight() -> None:
    """Verify a date without time reads as midnight Oslo time that day."""
    assert cells.as_datetime(date(2027, 1, 20)) == datetime(2027, 1, 20, 0, 0, tzinfo=OSLO)


def test_as_datetime_drops_seconds_of_naive_values() -> None:
    """Verify seconds and microseconds from Excel's float rounding are dropped."""
    moment = cells.as_datetime(datetime(2027, 1, 20, 10, 0, 59, 999))
    assert moment == datetime(2027, 1, 20, 10, 0, tzinfo=OSLO)


@pytest.mark.parametrize("raw", ["32.13.2027 10:00", "20.01.2027 25:00", "i morgen"])
def test_as_datetime_bad_text_raises_norwegian_message(raw: str) -> None:
    """Verify unreadable date-and-time text raises CellValueError quoting the text in Norwegian."""
    with pytest.raises(CellValueError) as caught:
        cells.as_datetime(raw)
    assert f"«{raw}» er ikke dato og klokkeslett" in str(caught.value)
    assert "dd.mm.åååå tt:mm" in str(caught.value)


def test_as_datetime_blank_is_none() -> None:
    """Verify an empty Start/Slutt cell reads as None."""
    assert cells.as_datetime(None) is None
    assert cells.as_datetime("  ") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("08:30", time(8, 30)), ("8.30", time(8, 30)), (0.5, time(12, 0)), (time(16, 0), time(16, 0))],
)
def test_as_time(raw: object, expected: time) -> None:
    """Verify a time of day reads from tt:mm text, tt.mm text, a day fraction and a time value."""
    assert cells.as_time(raw) == expected


def test_as_time_rejects_impossible_time() -> None:
    """Verify 24:00 is refused with a Norwegian message."""
    with pytest.raises(CellValueError, match="er ikke et klokkeslett"):
        cells.as_time("24:00")


# ---- IDs, text, numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(101.0, "101"), (101, "101"), (" 102 ", "102"), ("103.0", "103"), ("A-7", "A-7"), (None, "")],
)
def test_as_id_numbers_and_text_give_the_same_id(raw: object, expected: str) -> None:
    """Verify an ID stored as a number, as a float or as padded text reads as the same ID text."""
    assert cells.as_id(raw) == expected


def test_as_text_collapses_spaces_and_formats_dates() -> None:
    """Verify text is trimmed with inner runs of spaces collapsed, and dates get Norwegian format."""
    assert cells.as_text("  Kari   Nordmann ") == "Kari Nordmann"
    assert cells.as_text(date(2027, 1, 11)) == "11.01.2027"
    assert cells.as_text(datetime(2027, 1, 11, 9, 5)) == "11.01.2027 09:05"
    assert cells.as_text(True) == "Ja"
    assert cells.as_text(7.0) == "7"


def test_as_text_keeps_line_breaks() -> None:
    """Verify multi-line text (follow-up questions) keeps its line breaks."""
    assert cells.as_text("Første?\nAndre?\n") == "Første?\nAndre?"


@pytest.mark.parametrize(("raw", "expected"), [("7, 2", (7, 2)), ("7;2", (7, 2)), ("14 7 1", (14, 7, 1)),
                                                (7.0, (7,)), (3, (3,)), ("", ()), (None, ())])
def test_as_int_list(raw: object, expected: tuple[int, ...]) -> None:
    """Verify a list of whole numbers like «7, 2» reads as a tuple, also from one number."""
    assert cells.as_int_list(raw) == expected


def test_as_int_list_rejects_words() -> None:
    """Verify «7, to» is refused with a Norwegian message giving an example."""
    with pytest.raises(CellValueError) as caught:
        cells.as_int_list("7, to")
    assert "«7, to» er ikke en liste med tall" in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("24.12, 31.12", (ClosedDay(12, 24), ClosedDay(12, 31))),
    ("24.12.; 02.01.2027", (ClosedDay(12, 24), ClosedDay(1, 2, 2027))),
    ("2027-01-02 29.02", (ClosedDay(1, 2, 2027), ClosedDay(2, 29))),
    ("02.01.27", (ClosedDay(1, 2, 2027),)),
    (date(2027, 12, 27), (ClosedDay(12, 27, 2027),)),  # Excel made a lone «27.12» a date: that date only
    ("ingen", ()), ("", ()), (None, ()),
])
def test_as_day_list(raw: object, expected: tuple[ClosedDay, ...]) -> None:
    """Verify closed days read as every-year days (dd.mm) or single dates, and «ingen» as none."""
    assert cells.as_day_list(raw) == expected


def test_as_day_list_rejects_impossible_days() -> None:
    """Verify «31.02» is refused with the part named and the forms to write."""
    with pytest.raises(CellValueError) as caught:
        cells.as_day_list("24.12, 31.02")
    assert "«31.02» i «24.12, 31.02» er ikke en dag (skriv dd.mm eller dd.mm.åååå)" in str(caught.value)


def test_closed_day_matches_every_year_or_once() -> None:
    """Verify 24.12 matches Christmas Eve of any year and 02.01.2027 only that one day."""
    assert ClosedDay(12, 24).matches(date(2027, 12, 24)) and ClosedDay(12, 24).matches(date(2031, 12, 24))
    assert ClosedDay(1, 2, 2027).matches(date(2027, 1, 2)) and not ClosedDay(1, 2, 2027).matches(date(2028, 1, 2))
    assert str(ClosedDay(12, 24)) == "24.12" and str(ClosedDay(1, 2, 2027)) == "02.01.2027"


@pytest.mark.parametrize(("raw", "expected"), [(75.0, 75), ("75", 75), (" 15 ", 15), ("-5", -5), (None, None)])
def test_as_int(raw: object, expected: int | None) -> None:
    """Verify whole numbers are read from numbers and from text."""
    assert cells.as_int(raw) == expected


@pytest.mark.parametrize("raw", [7.5, "sju", True])
def test_as_int_rejects_non_integers(raw: object) -> None:
    """Verify fractions, words and booleans are not accepted as whole numbers."""
    with pytest.raises(CellValueError, match="heltall"):
        cells.as_int(raw)


# ---- Ja/Nei and language ---------------------------------------------------------------


@pytest.mark.parametrize("raw", ["Ja", "ja", " JA ", "Yes", "j", "1", 1.0, True, "x"])
def test_as_yes_no_true(raw: object) -> None:
    """Verify the spellings of yes read as True."""
    assert cells.as_yes_no(raw, default=False) is True


@pytest.mark.parametrize("raw", ["Nei", "nei", "No", "n", "0", 0.0, False])
def test_as_yes_no_false(raw: object) -> None:
    """Verify the spellings of no read as False."""
    assert cells.as_yes_no(raw, default=True) is False


def test_as_yes_no_blank_gives_default() -> None:
    """Verify a blank Ja/Nei cell gives the column's default."""
    assert cells.as_yes_no(None, default=True) is True
    assert cells.as_yes_no("", default=False) is False


def test_as_yes_no_rejects_other_words() -> None:
    """Verify «kanskje» is refused with a Norwegian message naming Ja and Nei."""
    with pytest.raises(CellValueError) as caught:
        cells.as_yes_no("kanskje", default=False)
    assert str(caught.value) == "«kanskje» må være Ja eller Nei"


@pytest.mark.parametrize(("raw", "expected"), [(None, "nb"), ("", "nb"), ("nb", "nb"), ("NB", "nb"), ("norsk", "nb"),
                                               ("bokmål", "nb"), ("en", "en"), ("English", "en"), (" eng ", "en")])
def test_as_language(raw: object, expected: str) -> None:
    """Verify language cells read as nb or en, with blank meaning nb."""
    assert cells.as_language(raw) == expected


def test_as_language_rejects_unknown() -> None:
    """Verify an unsupported language is refused with a Norwegian message naming nb and en."""
    with pytest.raises(CellValueError) as caught:
        cells.as_language("sv")
    assert "«sv» er ikke et språk" in str(caught.value)
    assert "nb eller en" in str(caught.value)


# ---- formulas and e-mail ---------------------------------------------------------------


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","klikk")', "=1+1", "@x", "@SUM(A1)", "-x", "+x", "-=1"])
def test_looks_like_formula_true(text: str) -> None:
    """Verify text Excel would read as a formula is recognised."""
    assert cells.looks_like_formula(text) is True


@pytest.mark.parametrize("text", ["+47 99 99 99 99", "-5", "- punkt", "Kari", "a=b", "=", "", None, 5, -5.0])
def test_looks_like_formula_false(text: object) -> None:
    """Verify phone numbers, negative numbers, plain text and non-text are not taken as formulas."""
    assert cells.looks_like_formula(text) is False


@pytest.mark.parametrize("text", ["kari@firma.no", "ola.nordmann@firma-as.no", "a+b@sub.example.com"])
def test_is_email_accepts_addresses(text: str) -> None:
    """Verify ordinary work addresses count as one e-mail address."""
    assert cells.is_email(text) is True


@pytest.mark.parametrize("text", ["ikke-en-epost", "kari@firma", "kari @firma.no", "kari@firma.no; ola@firma.no",
                                  "Kari <kari@firma.no>", "@firma.no", "kari@-firma.no", ""])
def test_is_email_rejects_non_addresses(text: str) -> None:
    """Verify text that is not exactly one bare address is rejected."""
    assert cells.is_email(text) is False


def test_is_blank() -> None:
    """Verify None, empty and whitespace are blank while zero and text are not."""
    assert cells.is_blank(None)
    assert cells.is_blank("")
    assert cells.is_blank(" \t")
    assert not cells.is_blank(0)
    assert not cells.is_blank("x")


# ---- text a workbook can hold ------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_xml_safe_text_leaves_only_characters_xml_can_hold(text: str) -> None:
    """Verify every C0 control, lone surrogates, U+FFFE/U+FFFF and Excel escapes of them are made XML-safe."""
    safe = cells.xml_safe_text(text)
    assert xml_ok(safe)
    assert safe.encode("utf-8")  # a lone surrogate could not even be encoded
    assert cells.xml_safe_text(safe) == safe  # idempotent: writing twice changes nothing more


def test_xml_safe_text_replacements() -> None:
    """Verify line-break controls become newlines, other controls go, lone surrogates show as U+FFFD."""
    assert cells.xml_safe_text("Kurs\x0bi Excel") == "Kurs\ni Excel"
    assert cells.xml_safe_text("side\x0cto") == "side\nto"
    assert cells.xml_safe_text("a\x00b\x07c\x1fd") == "abcd"
    assert cells.xml_safe_text("Tiltak_x000B_neste linje") == "Tiltak\nneste linje"
    assert cells.xml_safe_text("x\ud800y") == "x\ufffdy"
    assert cells.xml_safe_text("\ud83d\ude00") == "\U0001F600"  # a pair split in two is joined again
    assert cells.xml_safe_text("ab\ufffe\uffffc") == "abc"


@pytest.mark.parametrize("text", ["Kari Nordmann", "linje 1\nlinje 2\r\n\ttab", "Ærlig, øvd, ås 😀",
                                  "_x0041_ is A, _x000A_ a newline", "_x005F_x000B_ escaped escape", "", "=SUM(A1)"])
def test_xml_safe_text_keeps_ordinary_text(text: str) -> None:
    """Verify text XML can hold (newlines, tabs, emoji, harmless Excel escapes) is returned unchanged."""
    assert cells.xml_safe_text(text) == text


def test_xml_safe_touches_only_text() -> None:
    """Verify numbers, dates and None pass through xml_safe as they are."""
    assert cells.xml_safe(5) == 5
    assert cells.xml_safe(None) is None
    assert cells.xml_safe(date(2027, 1, 1)) == date(2027, 1, 1)
    assert cells.xml_safe("a\x0bb") == "a\nb"
