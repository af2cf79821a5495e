"""Parse raw cell values (as Excel, LibreOffice or a person left them) into typed values.

Every parser takes what a reader returns (str, float, int, bool, date, datetime or None)
and either returns the typed value or raises `CellValueError` with a Norwegian reason.

The other way, `xml_safe_text` is what every writer passes text through before it goes into a
file: the master (workbook/apply.py, workbook/build.py), prep files and guides
(prepfile/sheetkit.py), and any later XML-based writer (a PDF writer's markup, the live xlwings
writer) must do the same, so no value from a returned file or a person can break a save.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from samtale_automation.domain.model import OSLO, ClosedDay
from samtale_automation.domain.schema import NO, YES
from samtale_automation.texts import tr

_EXCEL_EPOCH = datetime(1899, 12, 30)
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_FORMULA_START = ("=", "+", "-", "@")
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y")
#: Characters XML 1.0 cannot hold: C0 controls other than tab, newline and carriage return, the
#: surrogates (a lone one cannot even be encoded as UTF-8), and the non-characters U+FFFE, U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Excel's own escape `_xHHHH_`, which a reader that does not decode it hands on as text.
_DECIMAL_ID = re.compile(r"\d+\.0+")  # an ID typed as a number and stored as 10001.0
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
#: A vertical tab is the line break Word and Outlook put in pasted text; a form feed a page break.
_LINE_BREAKS = "\x0b\x0c"
_DATETIME_FORMATS = ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d.%m.%Y kl. %H:%M",
                     "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H.%M")


class CellValueError(ValueError):
    """A cell holds something that cannot be read as the column's type."""


def is_blank(value: Any) -> bool:
    """Tell whether a cell is empty (None, '' or only spaces)."""
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """Read any cell as trimmed text; whole numbers lose their '.0'."""
    if type(value) is str:  # the common case first (100,000 cells at 10,000 actions)
        if "  " not in value and value.isprintable() and value[:1] != " " != value[-1:]:
            return value  # no whitespace but single inner spaces: already what the split would make
        return " ".join(value.split()) if "\n" not in value else value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()


def as_id(value: Any) -> str:
    """Read an ID cell: numbers stored as numbers or text give the same ID."""
    text = as_text(value)
    if "." in text and _DECIMAL_ID.fullmatch(text):
        text = text.split(".")[0]
    return text


def as_date(value: Any) -> date | None:
    """Read a date cell (real date, Excel serial number or dd.mm.åååå text)."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value)).date()
    text = as_text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellValueError(tr(f"«{text}» er ikke en dato (skriv dd.mm.åååå)",
                            f"«{text}» is not a date (write dd.mm.yyyy)"))


def as_datetime(value: Any) -> datetime | None:
    """Read a date-and-time cell as an aware Europe/Oslo datetime."""
    if is_blank(value):
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _from_serial(float(value))
    else:
        text = as_text(value)
        for fmt in _DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            raise CellValueError(tr(
                f"«{text}» er ikke dato og klokkeslett (skriv dd.mm.åååå tt:mm)",
                f"«{text}» is not a date and time (write dd.mm.yyyy hh:mm)"))
    if moment.tzinfo is None:
        return moment.replace(second=0, microsecond=0, tzinfo=OSLO)
    return moment.astimezone(OSLO)


def as_time(value: Any) -> time | None:
    """Read a time of day (tt:mm text, an Excel time or a day fraction)."""
    if is_blank(value):
        return None
    if isinstance(value, time):
        return value
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, timedelta):
        return (datetime.min + value).time()
    if isinstance(value, float) and 0 <= value < 1:
        return _from_serial(value).time()
    text = as_text(value).replace(".", ":")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise CellValueError(tr(f"«{text}» er ikke et klokkeslett (skriv tt:mm)",
                            f"«{text}» is not a time of day (write hh:mm)"))


def as_int(value: Any) -> int | None:
    """Read a whole number, also when it was stored as text."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellValueError(tr("forventet et heltall", "expected a whole number"))
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    text = as_text(value)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    raise CellValueError(tr(f"«{text}» er ikke et heltall", f"«{text}» is not a whole number"))


def as_int_list(value: Any) -> tuple[int, ...]:
    """Read a list of whole numbers such as «7, 2»."""
    if is_blank(value):
        return ()
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = as_int(value)
        return (number,) if number is not None else ()
    parts = [p for p in re.split(r"[,;\s]+", as_text(value)) if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise CellValueError(tr(f"«{as_text(value)}» er ikke en liste med tall (f.eks. 7, 2)",
                                f"«{as_text(value)}» is not a list of numbers (e.g. 7, 2)")) from None


_NONE_WORDS = ("ingen", "none", "-")
_DAY_OF_YEAR = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?\.?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def as_day_list(value: Any) -> tuple[ClosedDay, ...]:
    """Read days such as «24.12, 31.12, 02.01.2027»: dd.mm every year, a full date once; «ingen» for none."""
    if is_blank(value):
        return ()
    if isinstance(value, date | int | float) and not isinstance(value, bool):
        day = as_date(value)  # a real date (Excel turns a lone «24.12» into one): that date only
        return (ClosedDay(day.month, day.day, day.year),) if day else ()
    text = as_text(value)
    if text.casefold() in _NONE_WORDS:
        return ()
    found = []
    for part in (p for p in re.split(r"[,;\s]+", text) if p):
        found.append(_closed_day(part, text))
    return tuple(found)


def _closed_day(part: str, whole: str) -> ClosedDay:
    iso = _ISO_DATE.fullmatch(part)
    match = _DAY_OF_YEAR.fullmatch(part)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
    elif match:
        day, month = int(match[1]), int(match[2])
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0) if match[3] else 0
    else:
        year = month = day = -1
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 29.02 is a valid day of the year
    except ValueError:
        within = (f" i «{whole}»", f" in «{whole}»") if part != whole else ("", "")
        raise CellValueError(tr(f"«{part}»{within[0]} er ikke en dag (skriv dd.mm eller dd.mm.åååå)",
                                f"«{part}»{within[1]} is not a day (write dd.mm or dd.mm.yyyy)")) from None
    return ClosedDay(month, day, year or None)


def as_yes_no(value: Any, default: bool) -> bool:
    """Read Ja/Nei (also Yes/No, sant/usann, 1/0); blank gives the default."""
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = as_text(value).casefold()
    if text in ("ja", "yes", "j", "y", "1", "sann", "true", "x"):
        return True
    if text in ("nei", "no", "n", "0", "usann", "false"):
        return False
    raise CellValueError(tr(f"«{as_text(value)}» må være Ja eller Nei",
                            f"«{as_text(value)}» must be Ja or Nei"))


def as_language(value: Any) -> str:
    """Read a language code (nb or en); blank gives nb."""
    text = as_text(value).casefold()
    if text in ("", "nb", "no", "nob", "norsk", "bokmål"):
        return "nb"
    if text in ("en", "eng", "engelsk", "english"):
        return "en"
    raise CellValueError(tr(f"«{as_text(value)}» er ikke et språk (bruk nb eller en)",
                            f"«{as_text(value)}» is not a language (use nb or en)"))


def xml_safe_text(text: str) -> str:
    """Return text every workbook can hold: what XML 1.0 cannot hold is replaced or removed.

    A vertical tab or form feed becomes a line break, other control characters are removed,
    a surrogate pair split in two is joined again and a lone surrogate becomes U+FFFD, and
    U+FFFE/U+FFFF are removed. Excel's escape for such a character (`_x000B_`, as a reader that
    does not decode escapes leaves it) is treated as the character itself, since Excel and
    calamine would decode it when the file is read back. Other text is returned unchanged.
    """
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(_decode_unsafe_escape, text)
    if not _NOT_XML.search(text):
        return text
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _NOT_XML.sub(_replacement, text)


def xml_safe(value: Any) -> Any:
    """A cell value with its text made safe by `xml_safe_text`; other values as they are."""
    return xml_safe_text(value) if isinstance(value, str) else value


def _decode_unsafe_escape(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if _NOT_XML.fullmatch(char) else match[0]


def _replacement(match: re.Match[str]) -> str:
    char = match[0]
    if char in _LINE_BREAKS:
        return "\n"
    return "\ufffd" if _SURROGATE.fullmatch(char) else ""


def is_email(text: str) -> bool:
    """Tell whether a text looks like one e-mail address."""
    return bool(_EMAIL.match(text))


def looks_like_formula(value: Any) -> bool:
    """Tell whether text typed into a cell would be read as a formula by Excel."""
    if not isinstance(value, str) or len(value) < 2 or not value.startswith(_FORMULA_START):
        return False
    # «+47 99 99 99 99» and «-5» are harmless; «=HYPERLINK(…)», «@x» and «-x» are not.
    return value[0] in "=@" or not (value[1].isdigit() or value[1].isspace())


def _from_serial(serial: float) -> datetime:
    """Convert an Excel 1900-system serial number to a naive datetime."""
    if not 0 <= serial < 2958466:
        raise CellValueError(tr(f"{serial} er ikke en gyldig Excel-dato",
                                f"{serial} is not a valid Excel date"))
    # Round to the second: a serial stored with 15 digits (46407.4166666667) is a hair off
    # 10:00, and cutting off the fraction would turn it into 09:59.
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))


_WEEKDAY_WORDS = {
    **{word: n for n, word in enumerate(("man", "tir", "ons", "tor", "fre", "lør", "søn"))},
    **{word: n for n, word in enumerate(("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"))},
    **{word: n for n, word in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{word: n for n, word in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                         "sunday"))},
    "lor": 5, "son": 6, "ma": 0, "ti": 1, "on": 2, "to": 3, "fr": 4,
}
_DATE_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{2,4}|\d{1,2}/\d{1,2}/\d{4}")
_RANGE_JOINER = re.compile(r"^\s*(?:–|—|-|til|to)?\s*$", re.IGNORECASE)


def as_weekdays(value: Any) -> tuple[int, ...]:
    """Read working days such as «man, tir, ons» or «man–tor» (0 = Monday), sorted; blank gives ()."""
    if is_blank(value):
        return ()
    text = as_text(value).casefold().replace(".", " ")
    days: set[int] = set()
    for part in (p for p in re.split(r"[,;/\s]+|\bog\b|\band\b", text.replace(" – ", "–").replace(" - ", "-"))
                 if p):
        ends = re.split(r"[–—-]", part)
        numbers = [_WEEKDAY_WORDS.get(end.strip()) for end in ends]
        if len(ends) > 2 or any(n is None for n in numbers):
            raise CellValueError(tr(f"«{part}» er ikke en ukedag (skriv f.eks. «man, tir, ons» eller «man–tor»)",
                                    f"«{part}» is not a weekday (write e.g. «man, tir, ons» or «man–tor»)"))
        first, last = numbers[0], numbers[-1]
        assert first is not None and last is not None
        days.update(range(first, last + 1) if first <= last else (*range(first, 7), *range(0, last + 1)))
    return tuple(sorted(days))


def as_date_ranges(value: Any) -> tuple[tuple[date, date], ...]:
    """Read days away such as «01.03.2027–14.03.2027, 02.04.2027» as (first, last) pairs; blank gives ()."""
    if is_blank(value):
        return ()
    if isinstance(value, date | int | float) and not isinstance(value, bool):
        day = as_date(value)
        return ((day, day),) if day else ()
    found = []
    for part in (p.strip() for p in re.split(r"[,;\n]+", as_text(value)) if p.strip()):
        tokens = _DATE_TOKEN.findall(part)
        rest = _DATE_TOKEN.sub("", part)
        if not ((len(tokens) == 1 and not rest.strip()) or (len(tokens) == 2 and _RANGE_JOINER.match(rest))):
            raise CellValueError(tr(f"«{part}» er ikke en dato eller en periode (skriv dd.mm.åååå–dd.mm.åååå)",
                                    f"«{part}» is not a date or a period (write dd.mm.yyyy–dd.mm.yyyy)"))
        first, last = as_date(tokens[0]), as_date(tokens[-1])
        assert first is not None and last is not None
        if last < first:
            raise CellValueError(tr(f"«{part}» slutter før den begynner", f"«{part}» ends before it starts"))
        found.append((first, last))
    return tuple(found)


_DAY_PARTS = {"formiddag": (time(0, 0), time(12, 0)), "morning": (time(0, 0), time(12, 0)),
              "ettermiddag": (time(12, 0), time(23, 59)), "afternoon": (time(12, 0), time(23, 59))}


def as_time_range(value: Any) -> tuple[time, time] | None:
    """Read a time of day such as «09:00–12:00», «formiddag» or «ettermiddag»; blank gives None."""
    if is_blank(value):
        return None
    text = as_text(value).casefold()
    if text in _DAY_PARTS:
        return _DAY_PARTS[text]
    parts = [p.strip() for p in re.split(r"[–—-]|\btil\b", text) if p.strip()]
    try:
        first, last = (as_time(parts[0]), as_time(parts[1])) if len(parts) == 2 else (None, None)
    except CellValueError:
        first = last = None
    if first is None or last is None or last <= first:
        raise CellValueError(tr(f"«{as_text(value)}» er ikke en tid på dagen (skriv formiddag, ettermiddag "
                                "eller tt:mm–tt:mm)",
                                f"«{as_text(value)}» is not a time of day (write formiddag, ettermiddag or "
                                "hh:mm–hh:mm)"))
    return first, last
