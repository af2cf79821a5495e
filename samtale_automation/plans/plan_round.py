"""From the workbook to the round planner and back: what `samtale plan` places, keeps and writes (pure).

Which rows are placed: the round's conversations without a time. With `replan`, also those whose Start
and Slutt still hold what the planner wrote (nobody changed them) and that are not invited yet. Every
other conversation with a time keeps it and is busy for its people and its room, other rounds' too.
A «Sted» a person wrote is kept: a room from Rom binds the conversation to that room, anything else
(Teams, an office) means no room is booked. What is written: Start, Slutt and, where a room was
chosen, Sted — seeded cells, so the file applier writes them only while they hold what the tool
last wrote (a person's edit is never overwritten); Status follows by itself (a time means planned).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from samtale_automation.domain.changeset import ChangeSet, same_value
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import place_parts
from samtale_automation.domain.model import Conversation, Room
from samtale_automation.domain.schema import CONVERSATIONS, EMPLOYEES, LOG, SETTING_BY_FIELD
from samtale_automation.plans import schedule as why
from samtale_automation.plans.schedule import Booked, Busy, Rules, ScheduleInput, SchedulePlan, Unplaced, Wanted
from samtale_automation.texts import tr

# Rows the planner is not given, besides the planner's own reasons (plans/schedule.py).
NO_MANAGER = "no_manager"
UNKNOWN_PERSON = "unknown_person"
INACTIVE = "inactive"
HALF_TIME = "half_time"

#: Written cells of Samtaler by SamtaleID → field → value (the journal's memory, pending changes included).
Written = Mapping[str, Mapping[str, Any]]


@dataclass
class Prepared:
    """The planner's input from the workbook, and the rows set aside before planning."""

    given: ScheduleInput
    skipped: list[Unplaced] = field(default_factory=list)
    moved: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # replanned rows' old times
    place_free: set[str] = field(default_factory=set)  # rows whose Sted the planner wrote and may change


@dataclass(frozen=True)
class ManagerSummary:
    """One manager's part of the plan, for the summary."""

    manager_id: str
    name: str
    placed: int
    first_day: date | None
    last_day: date | None
    unplaced: tuple[tuple[str, str], ...]  # (SamtaleID, why, in words)


def room_lookup(rooms: Mapping[str, Room]) -> dict[str, Room]:
    """Active rooms by address, by name and by key (case folded)."""
    found: dict[str, Room] = {}
    for room in rooms.values():
        if room.active:
            for key in (room.key, room.email.casefold(), " ".join(room.name.split()).casefold()):
                if key:
                    found.setdefault(key, room)
    return found


def room_of(place: str, rooms: Mapping[str, Room]) -> Room | None:
    """The room from Rom that a «Sted» names (by address or by name), if any."""
    text, addresses = place_parts(place)
    key = addresses[0].email.casefold() if addresses else " ".join(text.split()).casefold()
    return rooms.get(key) or rooms.get(" ".join(text.split()).casefold())


def planners(conv: Conversation, written: Written, fields: tuple[str, ...]) -> bool:
    """Whether the cells still hold what the planner wrote (a blank cell never counts as written)."""
    last = written.get(conv.conversation_id, {})
    return all(getattr(conv, name) and name in last and same_value(CONVERSATIONS.column(name).kind,
                                                                  getattr(conv, name), last[name])
               for name in fields)


def prepare(master: Master, rules: Rules, now: datetime, *, managers: Collection[str] = (), replan: bool = False,
            written: Written | None = None, invited: Collection[str] = (), busy: Busy | None = None,
            room_busy: Busy | None = None) -> Prepared:
    """The planner's input: which rows to place, which keep their time, the rooms and the busy periods."""
    written = written or {}
    rooms = room_lookup(master.rooms)
    active_rooms = [room for room in master.rooms.values() if room.active]
    round_ids = {c.conversation_id for c in master.current_round().conversations}
    wanted: list[Wanted] = []
    booked: list[Booked] = []
    prepared = Prepared(ScheduleInput((), rules))
    for conv in master.conversations.values():
        if conv.cancelled:
            continue
        timed = conv.start is not None and conv.end is not None
        mine = conv.conversation_id in round_ids and (not managers or conv.manager_id in managers)
        movable = (mine and timed and replan and planners(conv, written, ("start", "end"))
                   and conv.invited is None and conv.conversation_id not in invited
                   and conv.start is not None and conv.start > now)
        if timed and not movable:
            assert conv.start is not None and conv.end is not None
            room = room_of(conv.place, rooms)
            booked.append(Booked(conv.conversation_id, conv.employee_id, conv.manager_id, conv.start, conv.end,
                                 room.key if room else None))
            continue
        if not mine:
            continue
        skip = _skip_reason(master, conv)
        if skip:
            prepared.skipped.append(Unplaced(conv.conversation_id, conv.manager_id, skip))
            continue
        if movable:
            assert conv.start is not None and conv.end is not None
            prepared.moved[conv.conversation_id] = (conv.start, conv.end)
        own_place = conv.place.strip() and not (movable and planners(conv, written, ("place",)))
        if not own_place and conv.place.strip():
            prepared.place_free.add(conv.conversation_id)
        room = room_of(conv.place, rooms) if own_place else None
        wanted.append(Wanted(conv.conversation_id, conv.employee_id, conv.manager_id, room.key if room else None,
                             needs_room=not own_place or room is not None))
    prepared.given = ScheduleInput(wanted, rules, booked, busy or {}, room_busy or {}, master.employees,
                                   active_rooms)
    return prepared


def _skip_reason(master: Master, conv: Conversation) -> str | None:
    employee, manager = master.employees.get(conv.employee_id), master.employees.get(conv.manager_id)
    if (conv.start is None) != (conv.end is None):
        return HALF_TIME
    if not conv.manager_id:
        return NO_MANAGER
    if employee is None or manager is None:
        return UNKNOWN_PERSON
    if not employee.active or not manager.active:
        return INACTIVE
    return None


def changes(master: Master, prepared: Prepared, plan: SchedulePlan, now: datetime, who: str,
            source: str) -> ChangeSet:
    """Start, Slutt and Sted of each placement; a replanned row that no longer fits loses the planner's
    time (left without one, as the others); a Logg row."""
    changeset = ChangeSet(tr("Samtaler planlagt", "Conversations planned"))
    for placed in plan.placed:
        values: dict[str, Any] = {"start": placed.start, "end": placed.end}
        if placed.room is not None:
            values["place"] = placed.room.place
        elif placed.conversation_id in prepared.place_free:
            values["place"] = ""
        changeset.upsert_row(CONVERSATIONS.table, placed.conversation_id, values)
    for unplaced in plan.unplaced:
        if unplaced.conversation_id in prepared.moved:
            values = {"start": None, "end": None}
            if unplaced.conversation_id in prepared.place_free:
                values["place"] = ""
            changeset.upsert_row(CONVERSATIONS.table, unplaced.conversation_id, values)
    left = len(plan.unplaced) + len(prepared.skipped)
    changeset.append(LOG.table, time=now.replace(tzinfo=None, microsecond=0),
                     event=tr("Samtaler planlagt", "Conversations planned"), who=who,
                     result=tr(f"{len(plan.placed)} fikk tid, {left} uten tid ({source})",
                               f"{len(plan.placed)} got a time, {left} without one ({source})"))
    return changeset


def summaries(master: Master, prepared: Prepared, plan: SchedulePlan) -> list[ManagerSummary]:
    """Per manager: how many placed, first and last day, and what is left without a time and why."""
    names: dict[str, str] = {key: (e.name or key) for key, e in master.employees.items()}
    placed: dict[str, list[date]] = {}
    for placement in plan.placed:
        placed.setdefault(placement.manager_id, []).append(placement.start.date())
    left: dict[str, list[tuple[str, str]]] = {}
    for item in sorted([*plan.unplaced, *prepared.skipped], key=lambda u: u.conversation_id):
        left.setdefault(item.manager_id, []).append((item.conversation_id, reason_text(master, item)))
    found = []
    for manager in sorted({*placed, *left}, key=lambda m: (str(names.get(m) or m).casefold(), m)):
        days = sorted(placed.get(manager, []))
        found.append(ManagerSummary(manager, names.get(manager, manager or "?"), len(days),
                                    days[0] if days else None, days[-1] if days else None,
                                    tuple(left.get(manager, []))))
    return found


def reason_text(master: Master, unplaced: Unplaced) -> str:
    """Why a conversation has no time, in words, naming the employee."""
    conv = master.conversations.get(unplaced.conversation_id)
    employee = master.employees.get(conv.employee_id) if conv else None
    who = employee.name if employee and employee.name else (conv.employee_id if conv else "")
    room = master.rooms.get(unplaced.room or "")
    room_name = room.name if room else tr("rommet", "the room")
    setting = f"«{SETTING_BY_FIELD['max_per_manager_per_day'].key}»"
    header = CONVERSATIONS.header
    texts = {
        why.NO_DAYS: ("ingen arbeidsdager igjen i perioden (etter fristene for forberedelse og påminnelse)",
                      "no working day left in the period (after the prep and reminder lead times)"),
        why.EMPLOYEE_AWAY: ("den ansatte er borte eller ikke på jobb noen dag i perioden",
                            "the employee is away or off every day of the period"),
        why.MANAGER_AWAY: ("lederen er borte eller ikke på jobb noen dag i perioden",
                           "the manager is away or off every day of the period"),
        why.NO_COMMON_DAY: ("lederen og den ansatte er aldri på jobb samme dag i perioden",
                            "the manager and the employee never work the same day in the period"),
        why.MANAGER_FULL: (f"ingen ledig tid hos lederen de dagene begge er på jobb (kalender, pause, {setting})",
                           f"no free time for the manager on the days both work (calendar, breaks, {setting})"),
        why.EMPLOYEE_BUSY: ("ingen ledig tid i den ansattes kalender de dagene begge er på jobb",
                            "no free time in the employee's calendar on the days both work"),
        why.NO_COMMON_TIME: ("lederen og den ansatte er aldri ledige samtidig",
                             "the manager and the employee are never free at the same time"),
        why.NO_ROOM: ((f"{room_name} er ikke ledig når begge er ledige", f"{room_name} is not free when both are")
                      if unplaced.room else ("ingen rom er ledig når begge er ledige",
                                             "no room is free when both are")),
        NO_MANAGER: (f"raden mangler {header('manager_id')}", f"the row has no {header('manager_id')}"),
        UNKNOWN_PERSON: (f"den ansatte eller lederen finnes ikke i {EMPLOYEES.name}",
                         f"the employee or manager is not in {EMPLOYEES.name}"),
        INACTIVE: ("den ansatte eller lederen er ikke aktiv", "the employee or manager is not active"),
        HALF_TIME: (f"bare én av {header('start')} og {header('end')} er fylt inn",
                    f"only one of {header('start')} and {header('end')} is filled in"),
    }
    nb, en = texts.get(unplaced.reason, (unplaced.reason, unplaced.reason))
    return f"{who}: {tr(nb, en)}" if who else tr(nb, en)
