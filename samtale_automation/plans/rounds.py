"""`samtale round new`: start a round — set it in Innstillinger and add a Samtaler row per person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import Employee
from samtale_automation.domain.schema import CONVERSATIONS, LOG, SETTING_BY_FIELD, SETTINGS, STATUS_LABELS
from samtale_automation.errors import UsageError
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
    for employee in sorted(master.employees.values(), key=lambda e: e.employee_id):
        conversation_id = f"{name}-{employee.employee_id}"
        if conversation_id in master.conversations:
            plan.existing.append(employee)
        elif not employee.active:
            plan.skipped.append((employee, tr("ikke aktiv", "not active")))
        elif not employee.manager_id:
            plan.skipped.append((employee, tr("har ingen leder", "has no manager")))
        elif employee.manager_id not in master.employees:
            plan.skipped.append((employee, tr(f"lederen {employee.manager_id} finnes ikke",
                                              f"manager {employee.manager_id} does not exist")))
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
