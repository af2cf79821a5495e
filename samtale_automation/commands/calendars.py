"""Free/busy from the people's and rooms' calendars, for `plan` (the round) and `invite` (follow-up meetings).

Command plumbing: asks the backend once (graph: getSchedule, ews: GetUserAvailability; both split a
request into the protocols' limits themselves) and maps each address's busy periods back to the
AnsattID or room it belongs to. «free» periods are free; a calendar the server cannot read is left
out and named in `notes` by the backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import Backend, Cap
from samtale_automation.plans.slots import at

#: Backends whose free/busy is worth opening them for; the others (outbox, smtp) plan from the workbook.
FREE_BUSY_BACKENDS = ("graph", "ews")

Periods = dict[str, list[tuple[datetime, datetime]]]


@dataclass
class CalendarAnswer:
    """Busy periods by AnsattID and by room, and what the asking cost."""

    busy: Periods = field(default_factory=dict)
    room_busy: Periods = field(default_factory=dict)
    requests: int = 0
    notes: list[str] = field(default_factory=list)


def ask_calendars(backend: Backend, master: Master, people: Iterable[str], first: date, last: date,
                  rooms: Mapping[str, str] | None = None) -> CalendarAnswer | None:
    """The busy periods of `people` (AnsattID) and `rooms` (address → room key) from `first` to `last`,
    or None when the backend has no free/busy."""
    if Cap.FREE_BUSY not in backend.capabilities:
        return None
    by_address: dict[str, list[str]] = {}
    for person in sorted(set(people)):
        employee = master.employees.get(person)
        if employee and employee.email:
            by_address.setdefault(employee.email.casefold(), []).append(person)
    room_of = {address.casefold(): key for address, key in (rooms or {}).items()}
    addresses = [*by_address, *(a for a in room_of if a not in by_address)]
    found = CalendarAnswer()
    if not addresses:
        return found
    before = backend.stats.requests
    answer = backend.free_busy(addresses, at(first, 0), at(last + timedelta(days=1), 0))
    found.requests = backend.stats.requests - before
    found.notes = list(getattr(backend, "notes", []))
    for address, slots in answer.items():
        periods = [(slot.start, slot.end) for slot in slots if slot.status != "free"]
        for person in by_address.get(address.casefold(), []):
            found.busy.setdefault(person, []).extend(periods)
        if address.casefold() in room_of:
            found.room_busy.setdefault(room_of[address.casefold()], []).extend(periods)
    return found
