"""Which reminders are due today (DESIGN.md §8), as a pure function of the register and the journal.

`plan_reminders` reads no files and no clock: the caller passes the time, the reason keys already
sent, the conversations already invited and a way to ask whether a file exists. Each reminder has
a reason key and is sent at most once. `group_digests` bundles a day's reminders into one mail per
person. Nothing goes out on weekends or public holidays: due dates are moved to the working day
before (`workdays.on_or_before`), so a reminder due on a day off has already gone out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from samtale_automation.domain import cells
from samtale_automation.domain.master import Master
from samtale_automation.domain.messages import Person, place_parts
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS, EMPLOYEES, Sheet
from samtale_automation.domain.workdays import is_working_day, next_working_day, on_or_before
from samtale_automation.domain.workdays import prep_deadline as prep_deadline_day
from samtale_automation.errors import Problem
from samtale_automation.texts import tr

#: Every reminder kind, in the order a digest lists them.
KINDS = ("prep_employee", "prep_manager", "not_prepared", "minutes", "minutes_overdue", "sign", "countersign",
         "signed", "action_due", "action_overdue", "reflection")

_CLOSED_ACTION = frozenset({"fullført", "avbrutt"})
_MINUTES_BACK = frozenset({"minutes_returned", "signed"})
# Words people write in Tiltak «Ansvarlig» instead of a name (matched after casefold).
_EMPLOYEE_WORDS = frozenset({"ansatt", "den ansatte", "ansatte", "medarbeider", "medarbeideren", "employee",
                             "meg", "jeg", "meg selv", "arbeidstaker"})
_MANAGER_WORDS = frozenset({"leder", "lederen", "manager", "nærmeste leder", "sjef"})

HasFile = Callable[[str, str], bool]


@dataclass(frozen=True)
class ReminderItem:
    """One reminder for one person, identified by its reason key."""

    key: str  # reason key, sent at most once, e.g. «prep_employee:2027-1001:7»
    kind: str  # one of KINDS
    recipient: Employee
    conversation_id: str | None
    action_id: str | None
    context: dict[str, Any] = field(hash=False)  # template context (see _Planner.context)
    attachment: str | None  # «guide» | «minutes» | None; the caller resolves the path
    covers: tuple[str, ...] = ()  # older keys this one makes unnecessary; journal them as sent too


@dataclass(frozen=True)
class Digest:
    """All of one person's reminders for one day, sent as one mail."""

    key: str  # «digest:<employee_id>:<YYYY-MM-DD>»
    recipient: Employee
    day: date
    items: tuple[ReminderItem, ...]


def plan_reminders(master: Master, now: datetime, sent: Set[str], invited: Set[str],
                   has_file: HasFile) -> tuple[list[ReminderItem], list[Problem]]:
    """Return the reminders due at `now` and not yet sent, and the problems that stopped or redirected some."""
    now = now.astimezone(OSLO) if now.tzinfo else now.replace(tzinfo=OSLO)
    if not is_working_day(now.date()):
        return [], []  # their due dates were moved to the working day before
    planner = _Planner(master, now, sent, has_file)
    current = master.current_round()
    live = [c for c in current.conversations if not c.cancelled]
    for conv in live:
        if conv.conversation_id in invited:
            planner.conversation_rules(conv)
    for action in master.actions.values():
        planner.action_rules(action)
    planner.reflection_rules(current.name, live)
    return planner.items, list(dict.fromkeys(planner.problems))


def group_digests(items: Sequence[ReminderItem], day: date) -> list[Digest]:
    """Bundle the items into one digest per recipient for the day, items in a stable order."""
    by_recipient: dict[str, list[ReminderItem]] = {}
    for item in items:
        by_recipient.setdefault(item.recipient.employee_id, []).append(item)
    return [Digest(f"digest:{emp_id}:{day.isoformat()}", mine[0].recipient, day, tuple(sorted(mine, key=_order)))
            for emp_id, mine in sorted(by_recipient.items())]


def _order(item: ReminderItem) -> tuple[int, float, int, str]:
    start = item.context.get("start")
    deadline = item.context.get("deadline")
    return (KINDS.index(item.kind) if item.kind in KINDS else len(KINDS),
            start.timestamp() if isinstance(start, datetime) else math.inf,
            deadline.toordinal() if isinstance(deadline, date) else date.max.toordinal(),
            item.key)


def _day(moment: datetime) -> date:
    """The Oslo calendar day of a moment."""
    return moment.astimezone(OSLO).date() if moment.tzinfo else moment.date()


@dataclass
class _Planner:
    """Applies the rules for one run and collects items and problems."""

    master: Master
    now: datetime
    sent: Set[str]
    has_file: HasFile
    items: list[ReminderItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def today(self) -> date:
        """The run's calendar day in Oslo."""
        return self.now.date()

    # ---- conversations --------------------------------------------------------------------

    def conversation_rules(self, conv: Conversation) -> None:
        """Prep, not-prepared, minutes and sign reminders for one invited conversation."""
        settings = self.master.settings
        if conv.start is not None:
            start_day = _day(conv.start)
            prep_deadline = prep_deadline_day(start_day, settings.prep_deadline_days)
            if conv.prep_returned is None:
                self.prep(conv, "prep_employee", conv.employee_id, prep_deadline, None)
            if conv.manager_prepared is None:
                guide = "guide" if self.has_file(conv.conversation_id, "guide") else None
                self.prep(conv, "prep_manager", conv.manager_id, prep_deadline, guide)
            if (conv.prep_returned is None or conv.manager_prepared is None) and (
                    on_or_before(start_day - timedelta(days=1)) <= self.today < start_day):
                self.add("not_prepared", f"not_prepared:{conv.conversation_id}", conv.manager_id, conv=conv)
        if conv.end is not None and conv.status(self.now) == "held":
            self.minutes(conv, _day(conv.end))
        self.signing_rules(conv)

    def signing_rules(self, conv: Conversation) -> None:
        """Finalise and sign (manager), countersign the final version (employee), and the signed PDF to both.

        Each goes once per version of the minutes: a round trip with new content asks again.
        """
        cid = conv.conversation_id
        if conv.minutes_returned is not None and conv.signed_manager is None:
            # A fresh copy of the employee's minutes (no private note), made by collect.
            minutes = "minutes" if self.has_file(cid, "minutes") else None
            version = conv.signed_employee_version[:8] if conv.signed_employee else ""
            self.add("sign", f"sign:{cid}:{version}" if version else f"sign:{cid}", conv.manager_id, conv=conv,
                     attachment=minutes)
        if conv.signed_manager is not None and conv.signed_employee is None and conv.signed_manager_version:
            copy = "countersign" if self.has_file(cid, "countersign") else None
            self.add("countersign", f"countersign:{cid}:{conv.signed_manager_version[:8]}", conv.employee_id,
                     conv=conv, attachment=copy)
        if (conv.signed_employee and conv.signed_manager and conv.signed_manager_version
                and conv.signed_employee_version == conv.signed_manager_version and self.has_file(cid, "pdf")):
            for recipient_id in (conv.employee_id, conv.manager_id):
                self.add("signed", f"signed:{cid}:{conv.signed_manager_version[:8]}:{recipient_id}", recipient_id,
                         conv=conv, attachment="pdf")

    def prep(self, conv: Conversation, kind: str, recipient_id: str, deadline: date, attachment: str | None) -> None:
        """The nearest due lead time only; the other due, unsent leads go into `covers`."""
        assert conv.start is not None
        start_day = _day(conv.start)
        if self.today >= start_day:
            return
        due_on = {n: on_or_before(start_day - timedelta(days=n)) for n in self.master.settings.reminder_days if n > 0}
        due = sorted(n for n, day in due_on.items() if day <= self.today)
        # A lead due on or before the invitation day is served by the invitation itself.
        fresh = [n for n in due if conv.invited is None or due_on[n] > conv.invited]
        if not fresh:
            return
        keys = {n: f"{kind}:{conv.conversation_id}:{n}" for n in due}
        nearest = fresh[0]
        covers = tuple(keys[n] for n in due if n != nearest and keys[n] not in self.sent)
        self.add(kind, keys[nearest], recipient_id, conv=conv, deadline=deadline, attachment=attachment,
                 covers=covers)

    def minutes(self, conv: Conversation, end_day: date) -> None:
        """Ask for the minutes the day after the meeting, and again once their deadline has passed."""
        deadline = end_day + timedelta(days=self.master.settings.minutes_deadline_days)
        first_key = f"minutes:{conv.conversation_id}"
        # Overdue means after the deadline: never moved back onto or before the deadline day.
        if self.today >= next_working_day(deadline):
            covers = () if first_key in self.sent else (first_key,)
            self.add("minutes_overdue", f"minutes_overdue:{conv.conversation_id}", conv.employee_id, conv=conv,
                     deadline=deadline, covers=covers)
        elif self.today >= on_or_before(end_day + timedelta(days=1)):
            self.add("minutes", first_key, conv.employee_id, conv=conv, deadline=deadline)

    # ---- actions --------------------------------------------------------------------------

    def action_rules(self, action: Action) -> None:
        """Due and overdue reminders for one open action with a deadline (any round)."""
        if action.deadline is None or action.status.strip().casefold() in _CLOSED_ACTION:
            return
        deadline = action.deadline
        days = self.master.settings.action_reminder_days
        found_owner = resolve_owner(self.master, action)
        owner_id = found_owner or action.employee_id
        planned = len(self.items)
        if on_or_before(deadline - timedelta(days=days)) <= self.today <= deadline:
            key = f"action_due:{action.action_id}:{deadline.isoformat()}"
            self.add("action_due", key, owner_id, action=action, deadline=deadline)
        elif self.today >= next_working_day(deadline):
            for recipient_id in dict.fromkeys((owner_id, _manager_of(self.master, action))):
                if recipient_id:
                    key = f"action_overdue:{action.action_id}:{deadline.isoformat()}:{recipient_id}"
                    self.add("action_overdue", key, recipient_id, action=action, deadline=deadline)
        if found_owner is None and len(self.items) > planned:  # only worth saying when a reminder goes out
            self.owner_problem(action)

    def owner_problem(self, action: Action) -> None:
        """Tell that «Ansvarlig» names nobody, so the reminder went to the action's employee."""
        employee = self.master.employees.get(action.employee_id)
        name = employee.name if employee and employee.name else action.employee_id
        self.problems.append(Problem(
            self.cell(ACTIONS, action.action_id, "owner"),
            tr(f"ansvarlig «{action.owner}» er ingen ansatt vi finner – påminnelsen går til {name}",
               f"owner «{action.owner}» is no employee we can find – the reminder goes to {name}"),
            tr("Skriv navnet eller e-posten til en ansatt, eller «ansatt» eller «leder».",
               "Write an employee's name or e-mail, or «ansatt» (employee) or «leder» (manager)."),
        ))

    # ---- reflection -----------------------------------------------------------------------

    def reflection_rules(self, round_name: str, live: Sequence[Conversation]) -> None:
        """Ask each manager to reflect once the minutes of all their conversations in the round are back
        (cancelled ones are not in `live`), not merely once the clock has passed them."""
        by_manager: dict[str, list[Conversation]] = {}
        for conv in live:
            by_manager.setdefault(conv.manager_id, []).append(conv)
        for manager_id, convs in by_manager.items():
            if manager_id and all(c.status(self.now) in _MINUTES_BACK for c in convs):
                self.add("reflection", f"reflection:{round_name}:{manager_id}", manager_id)

    # ---- items, recipients, problems ------------------------------------------------------

    def add(self, kind: str, key: str, recipient_id: str, *, conv: Conversation | None = None,
            action: Action | None = None, deadline: date | None = None, attachment: str | None = None,
            covers: tuple[str, ...] = ()) -> None:
        """Plan one item unless it was sent before or its recipient cannot get mail."""
        if key in self.sent:
            return
        recipient = self.recipient(recipient_id, conv, action)
        if recipient is None:
            return
        context = self.context(kind, recipient, conv, action, deadline)
        self.items.append(ReminderItem(
            key=key, kind=kind, recipient=recipient,
            conversation_id=conv.conversation_id if conv else action.conversation_id if action else None,
            action_id=action.action_id if action else None,
            context=context, attachment=attachment, covers=covers,
        ))

    def recipient(self, employee_id: str, conv: Conversation | None, action: Action | None) -> Employee | None:
        """The employee if active and with an e-mail address; otherwise None and a problem."""
        employee = self.master.employees.get(employee_id)
        if employee is None:
            if conv is not None:  # the cell that holds the unknown ID
                role = "employee_id" if employee_id == conv.employee_id else "manager_id"
                origin = self.cell(CONVERSATIONS, conv.conversation_id, role)
            elif action is not None:
                origin = self.cell(ACTIONS, action.action_id, "employee_id")
            else:  # reflection: some conversations' Leder
                origin = f"{CONVERSATIONS.name} ({CONVERSATIONS.header('manager_id')})"
            self.problems.append(Problem(
                origin,
                tr(f"AnsattID «{employee_id}» finnes ikke i Ansatte, så påminnelsen ble ikke sendt",
                   f"AnsattID «{employee_id}» is not in Ansatte, so the reminder was not sent"),
                tr("Bruk en AnsattID fra Ansatte.", "Use an AnsattID from Ansatte."),
            ))
            return None
        label = f"{employee.name} ({employee.employee_id})" if employee.name else employee.employee_id
        if not employee.active:
            self.problems.append(Problem(
                self.cell(EMPLOYEES, employee_id, "active"),
                tr(f"{label} er ikke aktiv, så påminnelser til hen ble ikke sendt",
                   f"{label} is not active, so reminders to them were not sent"),
                tr("Avlys samtalen (Avlyst = Ja) eller sett Aktiv til Ja.",
                   "Cancel the conversation (Avlyst = Ja) or set Aktiv to Ja."),
            ))
            return None
        if not employee.email.strip():
            self.problems.append(Problem(
                self.cell(EMPLOYEES, employee_id, "email"),
                tr(f"{label} mangler e-post, så påminnelser til hen ble ikke sendt",
                   f"{label} has no e-mail, so reminders to them were not sent"),
                tr("Fyll inn jobbadressen.", "Fill in the work address."),
            ))
            return None
        return employee

    def context(self, kind: str, recipient: Employee, conv: Conversation | None, action: Action | None,
                deadline: date | None) -> dict[str, Any]:
        """The template context; every key is present, None where it does not apply."""
        employees = self.master.employees
        if conv is not None:
            employee_id, manager_id = conv.employee_id, conv.manager_id
        elif action is not None:
            employee_id, manager_id = action.employee_id, _manager_of(self.master, action)
        else:  # reflection: the recipient is the manager
            employee_id, manager_id = "", recipient.employee_id
        return {
            "recipient": _person(recipient),
            "employee": _person(employees.get(employee_id)),
            "manager": _person(employees.get(manager_id)),
            "start": conv.start if conv else None,
            "end": conv.end if conv else None,
            "place": place_parts(conv.place)[0] if conv else "",
            "deadline": deadline,
            "action": ({"description": action.description, "goal": action.goal, "deadline": action.deadline,
                        "status": action.status} if action else None),
            "attachment_name": None,
            "conversation_id": conv.conversation_id if conv else action.conversation_id if action else None,
            "round": self.master.settings.round,
            "company": self.master.settings.company,
            # For «not prepared»: which side is missing (None outside conversation reminders).
            "employee_prepared": conv.prep_returned is not None if conv else None,
            "manager_prepared": conv.manager_prepared is not None if conv else None,
        }

    def cell(self, sheet: Sheet, key: str, field_name: str) -> str:
        """The A1 address of a row's cell in the master, else «<sheet>: <ID>»."""
        raw = self.master.raw
        table = raw.tables.get(sheet.table) if raw else None
        if table is not None and sheet.key is not None:
            for row in table.rows:  # the first row with the ID is the one the register keeps
                if cells.as_id(row.values.get(sheet.key)) == key:
                    return table.cell(row, field_name)
        return f"{sheet.name}: {key}"


def _person(employee: Employee | None) -> Person | None:
    return Person(employee.email, employee.name) if employee else None


def _manager_of(master: Master, action: Action) -> str:
    """The action employee's manager now (Ansatte), else the manager of the conversation."""
    employee = master.employees.get(action.employee_id)
    if employee is not None and employee.manager_id:
        return employee.manager_id
    conv = master.conversations.get(action.conversation_id)
    return conv.manager_id if conv else ""


def resolve_owner(master: Master, action: Action) -> str | None:
    """The AnsattID that Tiltak «Ansvarlig» names, or None when it names nobody we know.

    Accepts an e-mail address, a full name, a first name unique among the conversation's
    employee and manager, or a role word (ansatt/meg → the employee, leder → the manager).
    A blank owner means the employee.
    """
    text = " ".join(action.owner.split()).casefold()
    manager_id = _manager_of(master, action)
    if not text or text in _EMPLOYEE_WORDS:
        return action.employee_id
    if text in _MANAGER_WORDS:
        return manager_id or None
    employees = master.employees.values()
    if "@" in text:
        matches = [e for e in employees if e.email.strip().casefold() == text]
        return matches[0].employee_id if len(matches) == 1 else None
    conv = master.conversations.get(action.conversation_id)
    involved = (action.employee_id, conv.employee_id if conv else "", conv.manager_id if conv else "", manager_id)
    near = [e for e in (master.employees.get(i) for i in dict.fromkeys(involved) if i) if e is not None]
    exact = [e for e in employees if " ".join(e.name.split()).casefold() == text]
    if len(exact) > 1:  # namesakes: prefer the one taking part in the conversation
        exact = [e for e in exact if e in near]
    if len(exact) == 1:
        return exact[0].employee_id
    first = [e for e in near if e.name.split() and e.name.split()[0].casefold() == text]
    return first[0].employee_id if len(first) == 1 else None
