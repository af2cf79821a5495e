"""The domain model: employees, conversations, questions, actions, settings and the round.

Plain dataclasses with no I/O. Conversation status is derived here from the dates and
`Avlyst`, never typed by hand (DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True, slots=True)
class Employee:
    """A row of Ansatte."""

    employee_id: str
    name: str
    email: str
    department: str = ""
    title: str = ""
    manager_id: str = ""
    active: bool = True
    language: str = "nb"
    work_days: tuple[int, ...] = ()  # weekdays worked (0 = Monday); empty: every working day
    away: tuple[tuple[date, date], ...] = ()  # (first, last) days away, inclusive

    def available(self, day: date) -> bool:
        """Tell whether the employee works that weekday and is not away (holidays aside)."""
        if self.work_days and day.weekday() not in self.work_days:
            return False
        return not any(first <= day <= last for first, last in self.away)


@dataclass(frozen=True, slots=True)
class Room:
    """A row of Rom: a meeting room, with the mailbox that books it and shows its free/busy."""

    name: str
    email: str = ""
    active: bool = True

    @property
    def key(self) -> str:
        """How the room is told apart: its address, else its name (case folded)."""
        return (self.email or " ".join(self.name.split())).casefold()

    @property
    def place(self) -> str:
        """«Sted» for a conversation in the room: «Møterom Fjorden <rom-fjorden@firma.no>», or the name."""
        return f"{self.name} <{self.email}>" if self.email else self.name


@dataclass(frozen=True, slots=True)
class Conversation:
    """A row of Samtaler: one employee's conversation in one round."""

    conversation_id: str
    employee_id: str
    manager_id: str
    start: datetime | None = None  # aware, Europe/Oslo
    end: datetime | None = None
    place: str = ""
    cancelled: bool = False
    cancel_reason: str = ""
    invited: date | None = None
    prep_returned: date | None = None
    manager_prepared: date | None = None
    minutes_returned: date | None = None
    signed_employee: date | None = None
    signed_manager: date | None = None
    note: str = ""
    replies: str = ""  # Svar: «Kari Nordmann: godtatt; Åse Kjærstad: avslått» (tool-owned)
    signed_employee_version: str = ""  # domain.minutes version each signature covers ('' before they were kept)
    signed_manager_version: str = ""

    @property
    def round(self) -> str:
        """The round part of the SamtaleID `<round>-<AnsattID>`."""
        suffix = "-" + self.employee_id
        cid = self.conversation_id
        return cid[: -len(suffix)] if cid.endswith(suffix) else cid.rsplit("-", 1)[0]

    def status(self, now: datetime) -> str:
        """Derive the status code from the dates, `Avlyst` and the time now."""
        return derive_status(self, now)


def derive_status(conv: Conversation, now: datetime) -> str:
    """Return the status code of a conversation (see schema.STATUS_LABELS).

    Precedence: cancelled > signed > minutes_returned > held > prepared > invited >
    planned > proposed. A conversation counts as held once its end time has passed.
    """
    if conv.cancelled:
        return "cancelled"
    if conv.signed_employee and conv.signed_manager:
        return "signed"
    if conv.minutes_returned or conv.signed_employee or conv.signed_manager:
        return "minutes_returned"
    if conv.end is not None and conv.end <= now:
        return "held"
    if conv.prep_returned:
        return "prepared"
    if conv.invited:
        return "invited"
    if conv.start is not None and conv.end is not None:
        return "planned"
    return "proposed"


@dataclass(frozen=True, slots=True)
class Question:
    """A row of Spørsmål: one question of the company's menu."""

    question_id: str
    topic: str  # topic key, see schema.TOPICS
    text: str
    follow_ups: tuple[str, ...] = ()
    mandatory: bool = False
    applies_to: str = "Alle"
    active: bool = True
    text_en: str = ""  # blank: the Norwegian text is used for English readers too
    follow_ups_en: tuple[str, ...] = ()

    def in_language(self, lang: str) -> tuple[str, tuple[str, ...]]:
        """The question and its follow-ups for a reader of `lang`: English where given, else Norwegian."""
        if lang == "en" and self.text_en.strip():
            return self.text_en, self.follow_ups_en
        return self.text, self.follow_ups

    def applies(self, employee: Employee) -> bool:
        """Tell whether the question's `Gjelder` includes this employee."""
        scope = self.applies_to.strip()
        if not scope or scope.casefold() in ("alle", "all"):
            return True
        kind, _, value = scope.partition(":")
        value = value.strip().casefold()
        if kind.strip().casefold() in ("avdeling", "department"):
            return employee.department.strip().casefold() == value
        if kind.strip().casefold() in ("stilling", "title"):
            return employee.title.strip().casefold() == value
        return False


@dataclass(frozen=True, slots=True)
class Action:
    """A row of Tiltak: an agreed action with owner and deadline."""

    action_id: str
    conversation_id: str
    employee_id: str
    description: str
    goal: str = ""
    owner: str = ""
    deadline: date | None = None
    status: str = "Ikke startet"
    follow_up: date | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A day the company is closed: every year on a day and month (24.12), or one date (02.01.2027)."""

    month: int
    day: int
    year: int | None = None

    def matches(self, when: date) -> bool:
        """Tell whether a calendar day is this closed day."""
        return (when.month, when.day) == (self.month, self.day) and self.year in (None, when.year)

    def __str__(self) -> str:
        text = f"{self.day:02d}.{self.month:02d}"
        return f"{text}.{self.year}" if self.year else text


#: Closed by default: 24 and 31 December (working days by law, but most small companies close).
DEFAULT_CLOSED_DAYS = (ClosedDay(12, 24), ClosedDay(12, 31))


@dataclass(frozen=True, slots=True)
class Settings:
    """Business settings from the Innstillinger sheet, parsed and defaulted."""

    company: str = ""
    round: str = ""
    period_start: date | None = None
    period_end: date | None = None
    duration_minutes: int = 75
    break_minutes: int = 15
    buffer_minutes: int = 15
    max_per_manager_per_day: int = 3
    workday_start: time = time(8, 30)
    workday_end: time = time(16, 0)
    latest_start: time | None = None  # None: workday_end minus the duration
    preferred_time: tuple[time, time] | None = None
    closed_days: tuple[ClosedDay, ...] = DEFAULT_CLOSED_DAYS
    prep_deadline_days: int = 3
    minutes_deadline_days: int = 7
    reminder_days: tuple[int, ...] = (7, 2)
    action_reminder_days: int = 14
    max_questions: int = 10
    language: str = "nb"
    retention_years: int = 3
    nightly_budget_minutes: int = 30


@dataclass(frozen=True, slots=True)
class Round:
    """The current round: its name, period and conversations."""

    name: str
    period_start: date | None
    period_end: date | None
    conversations: tuple[Conversation, ...] = field(default_factory=tuple)

    def contains(self, moment: datetime) -> bool:
        """Tell whether a moment falls inside the round's period (inclusive days)."""
        day = moment.astimezone(OSLO).date() if moment.tzinfo else moment.date()
        if self.period_start and day < self.period_start:
            return False
        return not (self.period_end and day > self.period_end)
