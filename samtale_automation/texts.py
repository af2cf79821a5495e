"""The user's language for messages (bokmål first, English second), and dates in words without the locale."""

from __future__ import annotations

import os
from datetime import date, datetime

_LANGUAGES = ("nb", "en")
_current = os.environ.get("SAMTALE_LANG", "nb") if os.environ.get("SAMTALE_LANG") in _LANGUAGES else "nb"


def set_language(lang: str) -> None:
    """Choose the language of messages for the rest of the process."""
    global _current
    if lang not in _LANGUAGES:
        raise ValueError(lang)
    _current = lang


def language() -> str:
    """Return the current message language code (`nb` or `en`)."""
    return _current


def tr(nb: str, en: str) -> str:
    """Pick the Norwegian or English text for the current language."""
    return en if _current == "en" else nb


WEEKDAYS = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
_ACTION_STATUS_EN = {"ikke startet": "Not started", "pågår": "In progress", "fullført": "Done",
                     "avbrutt": "Cancelled"}


def lang_code(lang: str) -> str:
    """`en` for English, else bokmål."""
    return "en" if lang == "en" else "nb"


def long_date(day: date, lang: str) -> str:
    """«mandag 11. januar 2027» / «Monday 11 January 2027»."""
    code = lang_code(lang)
    weekday, month = WEEKDAYS[code][day.weekday()], MONTHS[code][day.month - 1]
    return f"{weekday} {day.day} {month} {day.year}" if code == "en" else f"{weekday} {day.day}. {month} {day.year}"


def short_date(day: date, lang: str) -> str:
    """«11.01.2027» / «11 Jan 2027»."""
    if lang_code(lang) == "en":
        return f"{day.day} {MONTHS['en'][day.month - 1][:3]} {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def clock(moment: datetime, lang: str) -> str:
    """The wall-clock time as written: «09.00» / «09:00»."""
    separator = ":" if lang_code(lang) == "en" else "."
    return f"{moment.hour:02d}{separator}{moment.minute:02d}"


def action_status(value: str, lang: str) -> str:
    """An action's status (stored in Norwegian) in the reader's language; unknown values unchanged."""
    return _ACTION_STATUS_EN.get(value.strip().casefold(), value) if lang_code(lang) == "en" else value


def count(n: int, one: str, many: str, one_en: str, many_en: str) -> str:
    """A number with its noun agreeing, in the current language: «1 problem», «2 problemer» (DESIGN.md §9)."""
    if _current == "en":
        return f"{n} {one_en if n == 1 else many_en}"
    return f"{n} {one if n == 1 else many}"


OUTBOX = "outbox"


def delivered_word(backend: str) -> str:
    """What happened to a message: «sendt», or with the outbox backend «lagt i utboks/» (nothing left the machine)."""
    if backend == OUTBOX:
        return tr("lagt i utboks/", "put in utboks/")
    return tr("sendt", "sent")


def via(backend: str) -> str:
    """« via smtp» for a real backend; nothing for the outbox (its folder is named already)."""
    return "" if backend == OUTBOX else f" via {backend}"
