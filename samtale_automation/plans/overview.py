"""The Oversikt sheet's numbers: the current round per department and per manager (pure).

Conversations are the current round's (every conversation when no round is set), counted by
their derived status. Actions are the whole register's: open is any status but Fullført and
Avbrutt, overdue is open with a Frist before today. A conversation counts under the employee's
department and under the manager named on its Samtaler row (else the employee's manager); an
action under the employee's department and current manager (else its conversation's manager).
Every department and manager of an active employee is listed, also before the round has rows;
«Uten avdeling» / «Uten leder» appear only when something lands there, and come last.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee
from samtale_automation.domain.overview import STATUS_CODES, Overview, OverviewLine
from samtale_automation.plans.status import round_conversations

CLOSED_ACTIONS = frozenset({"fullført", "avbrutt", "done", "cancelled"})
NO_DEPARTMENT = ("Uten avdeling", "No department")
NO_MANAGER = ("Uten leder", "No manager")


@dataclass
class _Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    actions_open: int = 0
    actions_overdue: int = 0

    def line(self, name: str) -> OverviewLine:
        return OverviewLine(name, tuple(self.statuses[code] for code in STATUS_CODES),
                            self.actions_open, self.actions_overdue)


def plan_overview(master: Master, now: datetime) -> Overview:
    """Work out the Oversikt sheet for the master as of `now`."""
    english = master.settings.language == "en"
    today = now.astimezone(OSLO).date()
    employees = master.employees
    departments: dict[str, _Tally] = {}
    managers: dict[str, _Tally] = {}
    total = _Tally()
    spelling: dict[str, str] = {}  # a department's group key -> its name as first written in Ansatte
    for staff in sorted(employees.values(), key=lambda e: (not e.active, e.employee_id)):
        name = " ".join(staff.department.split())
        spelling.setdefault(name.casefold(), name)
        if staff.active:
            if name:
                departments.setdefault(name.casefold(), _Tally())
            if staff.manager_id:
                managers.setdefault(staff.manager_id, _Tally())

    def tallies(employee: Employee | None, manager_id: str) -> tuple[_Tally, _Tally, _Tally]:
        return (departments.setdefault(_department(employee), _Tally()),
                managers.setdefault(manager_id, _Tally()), total)

    for conversation in round_conversations(master):
        employee = employees.get(conversation.employee_id)
        code = conversation.status(now)
        for tally in tallies(employee, conversation.manager_id or (employee.manager_id if employee else "")):
            tally.statuses[code] += 1

    for action in master.actions.values():
        if not is_open(action):
            continue
        overdue = action.deadline is not None and action.deadline < today
        employee = employees.get(action.employee_id)
        manager_id = (employee.manager_id if employee else "") or _conversation_manager(master, action)
        for tally in tallies(employee, manager_id):
            tally.actions_open += 1
            tally.actions_overdue += int(overdue)

    end = master.settings.period_end
    return Overview(
        language="en" if english else "nb",
        round=master.settings.round,
        updated=now.astimezone(OSLO),
        days_left=None if end is None else max(0, (end - today).days),
        departments=_lines(departments, NO_DEPARTMENT[english], spelling),
        managers=_lines(managers, NO_MANAGER[english], _manager_names(employees, managers)),
        total=total.line("Total" if english else "Totalt"),
    )


def is_open(action: Action) -> bool:
    """Whether an action still needs doing: any status but Fullført and Avbrutt (blank is open)."""
    return action.status.strip().casefold() not in CLOSED_ACTIONS


def sort_key(name: str) -> str:
    """Norwegian alphabetical order: case-blind, æ, ø, å after z, other accents ignored (é as e)."""
    folded = name.strip().casefold().translate({ord("æ"): "{a", ord("ø"): "{b", ord("å"): "{c"})
    return "".join(ch for ch in unicodedata.normalize("NFD", folded) if not unicodedata.combining(ch))


def _department(employee: Employee | None) -> str:
    """The group key of an employee's department (spacing and case folded); '' for none or not in Ansatte."""
    return " ".join(employee.department.split()).casefold() if employee else ""


def _conversation_manager(master: Master, action: Action) -> str:
    conversation: Conversation | None = master.conversations.get(action.conversation_id)
    return conversation.manager_id if conversation else ""


def _manager_names(employees: dict[str, Employee], managers: dict[str, _Tally]) -> dict[str, str]:
    """Each manager's name from Ansatte (the ID when not there); «Name (ID)» where two share a name."""
    names = {key: (employees[key].name.strip() if key in employees else "") or key for key in managers if key}
    shared = Counter(sort_key(name) for name in names.values())
    return {key: f"{name} ({key})" if shared[sort_key(name)] > 1 else name for key, name in names.items()}


def _lines(groups: dict[str, _Tally], nobody: str, names: dict[str, str]) -> tuple[OverviewLine, ...]:
    """The block's lines sorted by name, the group without a department/manager last."""
    named = sorted(((names.get(key, key), tally) for key, tally in groups.items() if key),
                   key=lambda pair: (sort_key(pair[0]), pair[0]))
    lines = [tally.line(name) for name, tally in named]
    if "" in groups:
        lines.append(groups[""].line(nobody))
    return tuple(lines)
