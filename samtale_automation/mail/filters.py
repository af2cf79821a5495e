"""The templates' date, time and status filters, in the mail's language (no process locale)."""

from __future__ import annotations

from datetime import date, datetime

import jinja2

from samtale_automation.domain.model import OSLO
from samtale_automation.texts import action_status, clock, long_date, short_date, tr


def _local(value: object, filter_name: str) -> date:
    """An aware datetime in Oslo time; dates and naive datetimes unchanged; anything else an error."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # a StrictUndefined raises UndefinedError, naming the missing variable
    if not isinstance(value, date):
        raise TypeError(tr(f"{filter_name} trenger en dato, ikke {type(value).__name__}",
                           f"{filter_name} needs a date, not {type(value).__name__}"))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(OSLO)
    return value


def format_long_date(value: date | datetime | None, lang: str) -> str:
    """«mandag 11. januar 2027» / «Monday 11 January 2027»; blank for None."""
    return "" if value is None else long_date(_local(value, "long_date"), lang)


def format_short_date(value: date | datetime | None, lang: str) -> str:
    """«11.01.2027» / «11 Jan 2027»; blank for None."""
    return "" if value is None else short_date(_local(value, "short_date"), lang)


def format_clock(value: datetime | None, lang: str) -> str:
    """The Oslo wall-clock time: «09.00» / «09:00»; blank for None."""
    if value is None:
        return ""
    moment = _local(value, "clock")
    if not isinstance(moment, datetime):
        raise TypeError(tr("clock trenger et tidspunkt (dato og klokkeslett), ikke bare en dato",
                           "clock needs a point in time (date and time), not just a date"))
    return clock(moment, lang)


def format_action_status(value: str | None, lang: str) -> str:
    """An action's status (stored in Norwegian) in the mail's language; unknown values unchanged."""
    return action_status(value, lang) if value else ""
