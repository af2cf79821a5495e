"""GDPR for one employee (`samtale gdpr export|erase AnsattID`): what is theirs, what to remove, what to list (pure).

A person is found by their AnsattID in Ansatte; what identifies them in text is their name and
e-mail address (compared case-blind), and in paths their ID (`<AnsattID> <Navn> - ….xlsx` under
forberedelse/, `arkiv/<round>/<AnsattID>/`). The caller reads the folder and tells, per file,
whether its text mentions them; `plan_erase` decides per file:

- their own files (prep, manager's version, guide, their archived originals): removed;
- another person's archived original or prep file that mentions them (a manager named in an
  employee's minutes): listed, never changed — it is that person's document;
- anything else that mentions them (karantene/, innkommende/, utboks/, backups, reports): removed;
- log files and the outbox's manifests (one line per event): the lines that mention them are
  removed, the rest kept.

The workbook is anonymised by `erase_changeset` (their rows) and then scrubbed of every remaining
mention (Logg, Ledernavn, free text) by the workbook adapter; the journal by the store adapter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS, EMPLOYEES, LOG, NO
from samtale_automation.errors import UsageError
from samtale_automation.texts import count, tr

ERASED = "(slettet)"
REMOVE, LIST, SCRUB_LINES = "remove", "list", "scrub_lines"
_OWN_ROOTS = ("forberedelse", "arkiv")
_LOGS = ".samtale/logs/"


@dataclass(frozen=True)
class PersonRef:
    """One employee as the tool holds them: ID, name, address, conversations, actions, manager."""

    employee_id: str
    name: str
    email: str
    conversation_ids: tuple[str, ...] = ()
    action_ids: tuple[str, ...] = ()
    manager_id: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        """The strings that identify them in free text (name and address), longest first."""
        return tuple(sorted({t for t in (self.name.strip(), self.email.strip()) if len(t) >= 3},
                            key=len, reverse=True))

    @property
    def keys(self) -> frozenset[str]:
        """Every row key of theirs (Ansatte, Samtaler, Tiltak)."""
        return frozenset({self.employee_id, *self.conversation_ids, *self.action_ids})


def person_ref(master: Master, employee_id: str) -> PersonRef:
    """Find the employee; UsageError naming the sheet when the ID is not in Ansatte."""
    employee = master.employees.get(employee_id.strip())
    if employee is None:
        raise UsageError(tr(f"Fant ingen ansatt med AnsattID «{employee_id}» i arket Ansatte.",
                            f"No employee with AnsattID «{employee_id}» in the Ansatte sheet."),
                         hint=tr("Sjekk ID-en i kolonnen AnsattID.", "Check the ID in the AnsattID column."))
    conversations = tuple(sorted(c.conversation_id for c in master.conversations.values()
                                 if c.employee_id == employee.employee_id))
    actions = tuple(sorted(a.action_id for a in master.actions.values()
                           if a.employee_id == employee.employee_id or a.conversation_id in conversations))
    name = "" if employee.name.strip() == ERASED else employee.name
    return PersonRef(employee.employee_id, name, employee.email, conversations, actions, employee.manager_id)


def mentions(text: str, person: PersonRef) -> bool:
    """Whether a text names them (name or address, case-blind)."""
    folded = text.casefold()
    return any(term.casefold() in folded for term in person.terms)


def is_own_file(relpath: str, person: PersonRef) -> bool:
    """Their own prep/guide file (`<ID> <Navn> - ….xlsx`) or one of their archived originals."""
    parts = PurePosixPath(relpath).parts
    if not parts or parts[0] not in _OWN_ROOTS:
        return False
    if parts[0] == "arkiv":
        return len(parts) >= 4 and parts[2] == person.employee_id
    return parts[-1].startswith(f"{person.employee_id} ")


def is_others_original(relpath: str) -> bool:
    """A file under arkiv/ or forberedelse/ (someone's own document), when it is not theirs."""
    parts = PurePosixPath(relpath).parts
    return bool(parts) and parts[0] in _OWN_ROOTS


@dataclass
class ErasePlan:
    """Per file what to do: remove, list (another's original that mentions them), or scrub lines (logs)."""

    remove: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    scrub_lines: list[str] = field(default_factory=list)


def plan_erase(files: Iterable[tuple[str, bool]], person: PersonRef, master_names: Iterable[str] = ()) -> ErasePlan:
    """Decide per file (relative path, whether its text mentions them). The master workbook is left out
    (it is anonymised through its own path); `master_names` are the master's file names."""
    skip = set(master_names)
    plan = ErasePlan()
    for relpath, mentioned in sorted(files):
        if relpath in skip:
            continue
        if is_own_file(relpath, person):
            plan.remove.append(relpath)
        elif not mentioned:
            continue
        elif relpath.startswith(_LOGS) or relpath.endswith(".jsonl"):
            plan.scrub_lines.append(relpath)  # a log or the outbox's manifest: one line per event
        elif is_others_original(relpath):
            plan.listed.append(relpath)
        else:
            plan.remove.append(relpath)
    return plan


def erase_changeset(person: PersonRef, now: datetime, who: str) -> ChangeSet:
    """Anonymise their rows: Ansatte (name, address, title), Samtaler (notes), Tiltak (texts); a Logg row."""
    changes = ChangeSet(tr(f"GDPR: ansatt {person.employee_id} anonymisert", f"GDPR: employee {person.employee_id} "
                                                                           "anonymised"))
    changes.upsert(EMPLOYEES.table, person.employee_id, force=True, name=ERASED, email="", title="", active=NO)
    for conversation_id in person.conversation_ids:
        changes.upsert(CONVERSATIONS.table, conversation_id, force=True, employee_name=ERASED, note="",
                       cancel_reason="")
    for action_id in person.action_ids:
        changes.upsert(ACTIONS.table, action_id, force=True, description=ERASED, goal="", owner="", source="")
    changes.append(LOG.table, time=now.astimezone(OSLO).replace(tzinfo=None, microsecond=0),
                   event=tr("GDPR-sletting", "GDPR erasure"), who=who,
                   result=tr(f"ansatt {person.employee_id}: "
                             f"{count(len(person.conversation_ids), 'samtale', 'samtaler', '', '')} og "
                             f"{len(person.action_ids)} tiltak anonymisert",
                             f"employee {person.employee_id}: "
                             f"{count(len(person.conversation_ids), '', '', 'conversation', 'conversations')} and "
                             f"{count(len(person.action_ids), '', '', 'action', 'actions')} anonymised"))
    return changes


def scrub_text(text: str, person: PersonRef) -> str:
    """The text with every mention of them replaced by «(slettet)» (case-blind)."""
    import re

    for term in person.terms:
        text = re.sub(re.escape(term), ERASED, text, flags=re.IGNORECASE)
    return text
