"""Schedule checks: is each booked conversation a sensible time, place and length (DESIGN.md §1, §4)?

Pure over the parsed workbook. Errors block the rows they name (`blocking_conversations`, for
`invite`): a person or room booked twice at once, an end at or before the start, a length
outside 30–180 minutes. Warnings are shown by `samtale check` but never block, since HR may mean
them: more than «Maks samtaler per leder per dag», less than «Pause» between a manager's
conversations, outside Arbeidstid, a weekend, a public holiday or a company closed day, a
length far from «Varighet».

Only the current round's conversations are checked (all, when no round is named); cancelled
ones and ones without both Start and Slutt are left out (check reports a half-filled time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.messages import place_parts
from samtale_automation.domain.model import OSLO, Conversation
from samtale_automation.domain.schema import CONVERSATIONS, SETTING_BY_FIELD
from samtale_automation.domain.workdays import holiday_name
from samtale_automation.errors import ERROR, WARNING, Problem
from samtale_automation.texts import WEEKDAYS, clock, language, long_date, short_date, tr

MIN_MINUTES = 30
MAX_MINUTES = 180
#: How far from «Varighet» a conversation may be before check says so.
DURATION_SLACK_MINUTES = 30
#: «Sted» texts that are not a room: any number of conversations can be held there at once.
ONLINE_PLACES = frozenset({"teams", "microsoft teams", "zoom", "google meet", "meet", "whereby", "video",
                           "videomøte", "digitalt", "digital", "online", "telefon", "phone"})


@dataclass(frozen=True)
class Finding:
    """A problem and the conversations it concerns (an overlap concerns both)."""

    problem: Problem
    conversation_ids: tuple[str, ...]


def schedule_problems(master: Master) -> list[Problem]:
    """Every schedule problem, errors and warnings, for `samtale check`."""
    return [finding.problem for finding in schedule_findings(master)]


def blocking_conversations(master: Master) -> dict[str, list[Problem]]:
    """The conversations not to invite now: SamtaleID → its schedule errors (warnings never block).

    An overlap blocks both conversations: which of the two is wrong is for HR to say.
    """
    blocked: dict[str, list[Problem]] = {}
    for finding in schedule_findings(master):
        if finding.problem.severity == ERROR:
            for conversation_id in finding.conversation_ids:
                blocked.setdefault(conversation_id, []).append(finding.problem)
    return blocked


def schedule_findings(master: Master) -> list[Finding]:
    """Every schedule finding: each conversation's own, then overlaps, then each manager's days."""
    convs = _scheduled(master)
    timed = [c for c in convs if _end(c) > _start(c)]
    findings = [finding for conv in convs for finding in _own(master, conv)]
    findings += _person_overlaps(master, timed)
    findings += _room_overlaps(master, timed)
    findings += _manager_days(master, convs)
    findings += _breaks(master, timed)
    return findings


# ---- one conversation at a time -----------------------------------------------------------------


def _own(master: Master, conv: Conversation) -> Iterable[Finding]:
    cid = conv.conversation_id
    start, end = _start(conv), _end(conv)
    if end <= start:
        what = ("slutter før den starter", "ends before it starts") if end < start else (
            "slutter samtidig som den starter", "ends when it starts")
        yield _error(master, conv, "end", (f"{cid} {what[0]}", f"{cid} {what[1]}"),
                     (f"Rett {_header('start')} eller {_header('end')}.",
                      f"Correct {_header('start')} or {_header('end')}."))
    else:
        yield from _length(master, conv, _minutes(start, end))
    yield from _working_hours(master, conv)
    yield from _day(master, conv)


def _length(master: Master, conv: Conversation, minutes: int) -> Iterable[Finding]:
    cid, wanted = conv.conversation_id, master.settings.duration_minutes
    setting = _setting("duration_minutes")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        yield _error(master, conv, "end",
                     (f"{cid} varer {minutes} minutter; en samtale skal vare fra {MIN_MINUTES} til "
                      f"{MAX_MINUTES} minutter",
                      f"{cid} lasts {minutes} minutes; a conversation should last {MIN_MINUTES} to "
                      f"{MAX_MINUTES} minutes"),
                     (f"Rett {_header('end')} ({setting} i Innstillinger er {wanted}).",
                      f"Correct {_header('end')} ({setting} in Innstillinger is {wanted})."))
    elif abs(minutes - wanted) > DURATION_SLACK_MINUTES:
        longer = minutes > wanted
        yield _warning(master, [conv], "end",
                       (f"{cid} varer {minutes} minutter, {abs(minutes - wanted)} minutter "
                        f"{'lenger' if longer else 'kortere'} enn {setting} i Innstillinger ({wanted})",
                        f"{cid} lasts {minutes} minutes, {abs(minutes - wanted)} minutes "
                        f"{'longer' if longer else 'shorter'} than {setting} in Innstillinger ({wanted})"),
                       (f"Rett {_header('end')}, eller la det stå om samtalen skal være slik.",
                        f"Correct {_header('end')}, or leave it if the conversation is meant to be so."))


def _working_hours(master: Master, conv: Conversation) -> Iterable[Finding]:
    settings = master.settings
    opens, closes = settings.workday_start, settings.workday_end
    start, end = _start(conv), _end(conv)
    early_or_late = not opens <= start.time() < closes
    if not early_or_late and (end <= start or (end.date() == start.date() and end.time() <= closes)):
        return
    hours = f"{_clock(opens)}–{_clock(closes)}"
    cid = conv.conversation_id
    setting = _setting("workday_start" if start.time() < opens else "workday_end")
    yield _warning(master, [conv], "start" if early_or_late else "end",
                   (f"{cid} ({_span(conv)}) er utenfor arbeidstiden {hours}",
                    f"{cid} ({_span(conv)}) is outside working hours {hours}"),
                   (f"Flytt samtalen inn i arbeidstiden, eller endre {setting} i Innstillinger.",
                    f"Move the conversation into working hours, or change {setting} in Innstillinger."))


def _day(master: Master, conv: Conversation) -> Iterable[Finding]:
    cid, day = conv.conversation_id, _start(conv).date()
    when_nb, when_en = long_date(day, "nb"), long_date(day, "en")
    move = ("Flytt samtalen til en arbeidsdag.", "Move the conversation to a working day.")
    holiday = holiday_name(day)
    if holiday:
        yield _warning(master, [conv], "start", (f"{cid} er på en helligdag: {holiday}, {when_nb}",
                                                 f"{cid} is on a public holiday: {holiday}, {when_en}"), move)
    elif any(closed.matches(day) for closed in master.settings.closed_days):
        setting = _setting("closed_days")
        yield _warning(master, [conv], "start",
                       (f"{cid} er på en dag firmaet har stengt, {when_nb}",
                        f"{cid} is on a day the company is closed, {when_en}"),
                       (f"{move[0][:-1]}, eller endre {setting} i Innstillinger.",
                        f"{move[1][:-1]}, or change {setting} in Innstillinger."))
    elif day.weekday() >= 5:
        yield _warning(master, [conv], "start",
                       (f"{cid} er på en {WEEKDAYS['nb'][day.weekday()]} ({short_date(day, 'nb')})",
                        f"{cid} is on a {WEEKDAYS['en'][day.weekday()]} ({short_date(day, 'en')})"), move)


# ---- conversations together ---------------------------------------------------------------------


def _person_overlaps(master: Master, convs: Sequence[Conversation]) -> list[Finding]:
    """Each pair of a person's conversations at the same time, once, naming everyone in both."""
    by_person: dict[str, list[Conversation]] = defaultdict(list)
    for conv in convs:
        for person in dict.fromkeys(p for p in (conv.employee_id, conv.manager_id) if p):
            by_person[person].append(conv)
    pairs: dict[tuple[Conversation, Conversation], list[str]] = {}
    for person, theirs in by_person.items():
        for earlier, later in _overlapping(theirs):
            pairs.setdefault((earlier, later), []).append(_name(master, person))
    return [_warning_or_error(
        master, ERROR, [later, earlier], "start",
        (f"{_join(names, 'og')} har to samtaler samtidig: {later.conversation_id} ({_span(later)}) og "
         f"{earlier.conversation_id} ({_span(earlier)})",
         f"{_join(names, 'and')} {'has' if len(names) == 1 else 'have'} two conversations at once: "
         f"{later.conversation_id} ({_span(later)}) and {earlier.conversation_id} ({_span(earlier)})"),
        ("Flytt en av samtalene.", "Move one of the conversations."))
        for (earlier, later), names in pairs.items()]


def _room_overlaps(master: Master, convs: Sequence[Conversation]) -> list[Finding]:
    """Each pair of conversations in one room at the same time (a room address wins over its name)."""
    by_room: dict[str, list[Conversation]] = defaultdict(list)
    names: dict[str, str] = {}
    for conv in convs:
        text, rooms = place_parts(conv.place)
        key = rooms[0].email.casefold() if rooms else " ".join(text.split()).casefold()
        if key and key not in ONLINE_PLACES and not key.startswith(("http://", "https://")):
            by_room[key].append(conv)
            names.setdefault(key, text or rooms[0].email)
    return [_warning_or_error(
        master, ERROR, [later, earlier], "place",
        (f"{names[key]} er booket to ganger samtidig: {later.conversation_id} ({_span(later)}) og "
         f"{earlier.conversation_id} ({_span(earlier)})",
         f"{names[key]} is booked twice at once: {later.conversation_id} ({_span(later)}) and "
         f"{earlier.conversation_id} ({_span(earlier)})"),
        ("Velg et annet rom, eller flytt en av samtalene.", "Choose another room, or move one of the conversations."))
        for key, theirs in by_room.items() for earlier, later in _overlapping(theirs)]


def _manager_days(master: Master, convs: Sequence[Conversation]) -> list[Finding]:
    """A manager with more conversations on one day than «Maks samtaler per leder per dag»."""
    most = master.settings.max_per_manager_per_day
    days: dict[tuple[str, date], list[Conversation]] = defaultdict(list)
    for conv in convs:
        if conv.manager_id:
            days[(conv.manager_id, _start(conv).date())].append(conv)
    setting = _setting("max_per_manager_per_day")
    findings = []
    for (manager, day), theirs in days.items():
        if len(theirs) <= most:
            continue
        theirs = sorted(theirs, key=_start)
        ids = ", ".join(c.conversation_id for c in theirs)
        name = _name(master, manager)
        findings.append(_warning(
            master, theirs[most:], "start",
            (f"{name} har {len(theirs)} samtaler {long_date(day, 'nb')} ({ids}); {setting} er {most}",
             f"{name} has {len(theirs)} conversations on {long_date(day, 'en')} ({ids}); {setting} is {most}"),
            (f"Flytt en samtale til en annen dag, eller endre {setting} i Innstillinger.",
             f"Move a conversation to another day, or change {setting} in Innstillinger.")))
    return findings


def _breaks(master: Master, convs: Sequence[Conversation]) -> list[Finding]:
    """Less than «Pause» minutes between two conversations of a manager (also their own conversation)."""
    wanted = master.settings.break_minutes
    managers = {c.manager_id for c in convs if c.manager_id}
    setting = _setting("break_minutes")
    findings = []
    # Each manager's conversations (as manager or as employee) gathered in one pass: linear in conversations.
    by_person: dict[str, list[Conversation]] = {manager: [] for manager in managers}
    for c in convs:
        for person in {c.employee_id, c.manager_id} & managers:
            by_person[person].append(c)
    for manager in managers:
        theirs = sorted(by_person[manager], key=_start)
        before: Conversation | None = None
        for conv in theirs:
            if before is not None:
                gap = _minutes(_end(before), _start(conv))
                if 0 <= gap < wanted:
                    name = _name(master, manager)
                    between = (f"{before.conversation_id} (slutter {_clock(_end(before))}) og {conv.conversation_id} "
                               f"(starter {_clock(_start(conv))})",
                               f"{before.conversation_id} (ends {_clock(_end(before))}) and {conv.conversation_id} "
                               f"(starts {_clock(_start(conv))})")
                    findings.append(_warning(
                        master, [conv], "start",
                        (f"{name} har {gap} minutter pause mellom {between[0]}; {setting} er {wanted}",
                         f"{name} has a {gap}-minute break between {between[1]}; {setting} is {wanted}"),
                        ("Flytt en av samtalene, eller endre pausen i Innstillinger.",
                         "Move one of the conversations, or change the break in Innstillinger.")))
            if before is None or _end(conv) > _end(before):
                before = conv
    return findings


def _overlapping(convs: Sequence[Conversation]) -> Iterable[tuple[Conversation, Conversation]]:
    """Each pair (earlier, later) of these conversations that share time, in time order."""
    running: list[tuple[datetime, Conversation]] = []  # the earlier ones, with their ends, in time order
    for start, end, later in sorted(((_start(c), _end(c), c) for c in convs), key=lambda span: span[0]):
        # One that ended by this start has ended by every later start too: a room's 500 bookings stay linear.
        running = [(ends, earlier) for ends, earlier in running if start < ends]
        for _ends, earlier in running:
            yield earlier, later
        running.append((end, later))


# ---- helpers ------------------------------------------------------------------------------------


def _scheduled(master: Master) -> list[Conversation]:
    """The round's conversations with both Start and Slutt, not cancelled, in sheet order."""
    round_name = master.settings.round
    convs = master.current_round().conversations if round_name else tuple(master.conversations.values())
    return [c for c in convs if not c.cancelled and c.start is not None and c.end is not None]


def _start(conv: Conversation) -> datetime:
    assert conv.start is not None
    return _local(conv.start)


def _end(conv: Conversation) -> datetime:
    assert conv.end is not None
    return _local(conv.end)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(OSLO) if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def _clock(moment: datetime | time) -> str:
    """«09.00» / «09:00», for a time of day as well as a moment."""
    separator = ":" if language() == "en" else "."
    return f"{moment.hour:02d}{separator}{moment.minute:02d}"


def _span(conv: Conversation) -> str:
    """«11.01.2027 09.00–10.15» (the end's date too when it is another day)."""
    start, end, lang = _start(conv), _end(conv), language()
    until = clock(end, lang) if end.date() == start.date() else f"{short_date(end.date(), lang)} {clock(end, lang)}"
    return f"{short_date(start.date(), lang)} {clock(start, lang)}–{until}"


def _name(master: Master, employee_id: str) -> str:
    employee = master.employees.get(employee_id)
    return employee.name if employee and employee.name else employee_id


def _join(names: Sequence[str], word: str) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _setting(field_name: str) -> str:
    """A setting's name as in Innstillinger, in «»."""
    return f"«{SETTING_BY_FIELD[field_name].key}»"


def _header(field_name: str) -> str:
    return CONVERSATIONS.header(field_name)


def _error(master: Master, conv: Conversation, field_name: str, what: tuple[str, str],
           fix: tuple[str, str]) -> Finding:
    return _warning_or_error(master, ERROR, [conv], field_name, what, fix)


def _warning(master: Master, convs: Sequence[Conversation], field_name: str, what: tuple[str, str],
             fix: tuple[str, str]) -> Finding:
    return _warning_or_error(master, WARNING, convs, field_name, what, fix)


def _warning_or_error(master: Master, severity: str, convs: Sequence[Conversation], field_name: str,
                      what: tuple[str, str], fix: tuple[str, str]) -> Finding:
    """A finding at the first conversation's cell, concerning all of them."""
    where = cell_of(master, CONVERSATIONS.table, convs[0].conversation_id, field_name)
    return Finding(Problem(where, tr(*what), tr(*fix), severity), tuple(c.conversation_id for c in convs))
