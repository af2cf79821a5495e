"""`samtale round new`: start a round — set it in Innstillinger and add a Samtaler row per person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from samtale_automation.domain import cells
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.model import Employee
from samtale_automation.domain.schema import (
    CONVERSATIONS,
    EMPLOYEES,
    LOG,
    SETTING_BY_FIELD,
    SETTINGS,
    STATUS_LABELS,
)
from samtale_automation.errors import Problem, UsageError
from samtale_automation.texts import count, tr

_ROUND_NAME = re.compile(r"^[0-9A-Za-zÆØÅæøå][0-9A-Za-zÆØÅæøå_.]{0,30}$")


@dataclass
class RoundPlan:
    """What `round new` will do: the ChangeSet and who was added or skipped (with why)."""

    name: str
    changeset: ChangeSet
    added: list[Employee] = field(default_factory=list)
    skipped: list[tuple[Employee, str]] = field(default_factory=list)
    existing: list[Employee] = field(default_factory=list)
    #: The skips HR must fix (a duplicate AnsattID, a bad e-mail, a missing manager), each with its cell:
    #: `round new` exits 1 when there are any. «Ikke aktiv» and the top manager are skipped without one.
    problems: list[Problem] = field(default_factory=list)


def validate_round_name(name: str) -> str:
    """Return the round name, or raise UsageError saying what a good name looks like."""
    name = name.strip()
    if not _ROUND_NAME.match(name):
        raise UsageError(
            tr(f"«{name}» kan ikke brukes som navn på en runde.", f"«{name}» cannot be used as a round name."),
            hint=tr("Bruk bokstaver og tall uten mellomrom eller bindestrek, f.eks. 2027 eller 2027H.",
                    "Use letters and digits without spaces or hyphens, e.g. 2027 or 2027H."),
        )
    return name


def plan_new_round(master: Master, name: str, start: date | None, end: date | None,
                   now: datetime, who: str) -> RoundPlan:
    """Plan a new round: settings, one Samtaler row per active employee with a manager, Logg."""
    name = validate_round_name(name)
    if start and end and end < start:
        raise UsageError(tr("--to er før --from.", "--to is before --from."),
                         hint=tr("Bytt om datoene.", "Swap the dates."))
    changeset = ChangeSet(tr(f"Ny samtalerunde {name}", f"New round {name}"))
    plan = RoundPlan(name, changeset)
    changeset.upsert(SETTINGS.table, SETTING_BY_FIELD["round"].key, force=True, value=name)
    for field_name, day in (("period_start", start), ("period_end", end)):
        if day is not None:
            changeset.upsert(SETTINGS.table, SETTING_BY_FIELD[field_name].key, force=True, value=day)
    duplicates = _duplicate_rows(master)
    managers = {e.manager_id for e in master.employees.values() if e.manager_id}
    for employee in sorted(master.employees.values(), key=lambda e: e.employee_id):
        conversation_id = f"{name}-{employee.employee_id}"
        problem = _problem(master, employee, duplicates.get(employee.employee_id), managers)
        if conversation_id in master.conversations:
            plan.existing.append(employee)
        elif not employee.active:
            plan.skipped.append((employee, tr("ikke aktiv", "not active")))
        elif problem is not None:
            plan.skipped.append((employee, problem.message))
            plan.problems.append(problem)
        elif not employee.manager_id:
            plan.skipped.append((employee, tr("har ingen leder (øverste leder)", "has no manager (top manager)")))
        else:
            plan.added.append(employee)
            changeset.upsert(CONVERSATIONS.table, conversation_id, employee_id=employee.employee_id,
                             manager_id=employee.manager_id, status=STATUS_LABELS["proposed"])
    changeset.append(LOG.table, time=now.replace(tzinfo=None, microsecond=0),
                     event=tr(f"Ny samtalerunde {name}", f"New round {name}"), who=who,
                     result=tr(f"{count(len(plan.added), 'samtale', 'samtaler', '', '')} lagt til, "
                               f"{len(plan.skipped)} hoppet over",
                               f"{count(len(plan.added), '', '', 'conversation', 'conversations')} added, "
                               f"{len(plan.skipped)} skipped"))
    return plan


def _duplicate_rows(master: Master) -> dict[str, list[str]]:
    """AnsattID → the cells of its rows, for each ID on more than one row of Ansatte (the register keeps the first)."""
    table = master.raw.tables.get(EMPLOYEES.table) if master.raw else None
    if table is None:
        return {}
    rows: dict[str, list[str]] = {}
    for row in table.rows:
        key = cells.as_id(row.values.get("employee_id"))
        if key:
            rows.setdefault(key, []).append(table.cell(row, "employee_id"))
    return {key: where for key, where in rows.items() if len(where) > 1}


def _problem(master: Master, employee: Employee, duplicate: list[str] | None, managers: set[str]) -> Problem | None:
    """Why an active employee is not given a conversation until HR fixes their row; None when nothing is wrong."""
    eid = employee.employee_id
    if duplicate:
        return Problem(duplicate[0], tr(f"AnsattID {eid} står på flere rader ({', '.join(duplicate)})",
                                        f"AnsattID {eid} is on several rows ({', '.join(duplicate)})"),
                       tr("Gi hver person sin egen AnsattID, og kjør «samtale round new» igjen.",
                          "Give each person an AnsattID of their own, and run «samtale round new» again."))
    if not cells.is_email(employee.email):
        what = tr(f"e-postadressen «{employee.email}» er ugyldig", f"the e-mail address «{employee.email}» is not "
                  "valid") if employee.email else tr("mangler e-postadresse", "has no e-mail address")
        return Problem(cell_of(master, EMPLOYEES.table, eid, "email"), what,
                       tr("Skriv jobbadressen, og kjør «samtale round new» igjen.",
                          "Write the work address, and run «samtale round new» again."))
    manager = master.employees.get(employee.manager_id) if employee.manager_id else None
    if employee.manager_id and manager is None:
        what = tr(f"lederen {employee.manager_id} finnes ikke i Ansatte",
                  f"manager {employee.manager_id} is not in Ansatte")
    elif manager is not None and manager.employee_id == eid:
        what = tr("står som sin egen leder", "is their own manager")
    elif manager is not None and not manager.active:
        what = tr(f"lederen {manager.name} er ikke aktiv", f"the manager {manager.name} is not active")
    elif not employee.manager_id and eid not in managers:
        what = tr("har ingen leder", "has no manager")
    else:
        return None
    return Problem(cell_of(master, EMPLOYEES.table, eid, "manager_id"), what,
                   tr("Skriv AnsattID til nærmeste leder i Leder, og kjør «samtale round new» igjen.",
                      "Write the manager's AnsattID in Leder, and run «samtale round new» again."))
