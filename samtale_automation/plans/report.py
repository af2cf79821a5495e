"""What the management report of a round shows (`samtale report`): the Oversikt numbers, privacy-safe (pure).

Per department and per manager: conversations, completion (signed of those not cancelled),
each status, actions open and overdue, and the round's days left. No personal content: no
names below the manager level unless asked (`names=True` adds one line per employee with
status only), and a group of fewer than `MIN_GROUP` people is folded into «andre», so a
number never points at one person. When «andre» itself stays below `MIN_GROUP`, the smallest
remaining group is folded in too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from samtale_automation.domain.master import Master
from samtale_automation.domain.overview import STATUS_CODES, OverviewLine
from samtale_automation.domain.schema import STATUS_LABELS
from samtale_automation.plans.overview import plan_overview, sort_key
from samtale_automation.plans.status import round_conversations
from samtale_automation.texts import tr

MIN_GROUP = 3


@dataclass(frozen=True)
class ReportLine:
    """One group's numbers: a department, a manager, «andre», or the total."""

    name: str
    people: int
    statuses: tuple[int, ...]
    actions_open: int
    actions_overdue: int

    @property
    def done(self) -> int:
        """Conversations signed by both."""
        return self.statuses[STATUS_CODES.index("signed")]

    @property
    def completion(self) -> int:
        """Percent signed of the conversations not cancelled (0 when none)."""
        live = self.people - self.statuses[STATUS_CODES.index("cancelled")]
        return round(100 * self.done / live) if live > 0 else 0


@dataclass(frozen=True)
class Report:
    """The whole report: round, when, days left, the two blocks, the total, and names if asked."""

    company: str
    round: str
    made: datetime
    days_left: int | None
    status_labels: tuple[str, ...]
    departments: tuple[ReportLine, ...]
    managers: tuple[ReportLine, ...]
    total: ReportLine
    people: tuple[tuple[str, str, str, str], ...] = ()  # (manager, AnsattID, name, status) with --names
    folded_note: str = ""


def plan_report(master: Master, now: datetime, *, names: bool = False) -> Report:
    """The round's report as of `now`; small groups folded into «andre»."""
    overview = plan_overview(master, now)
    english = overview.language == "en"
    others = tr("andre", "others")
    departments, folded_d = fold(tuple(_line(x) for x in overview.departments), others)
    managers, folded_m = fold(tuple(_line(x) for x in overview.managers), others)
    people: list[tuple[str, str, str, str]] = []
    if names:
        for conv in round_conversations(master):
            employee = master.employees.get(conv.employee_id)
            manager = master.employees.get(conv.manager_id)
            people.append((manager.name if manager else conv.manager_id, conv.employee_id,
                           employee.name if employee else "", _label(conv.status(now), english)))
        people.sort(key=lambda p: (sort_key(p[0]), sort_key(p[2]), p[1]))
    folded = folded_d + folded_m
    note = tr(f"Grupper med færre enn {MIN_GROUP} personer er slått sammen under «{others}».",
              f"Groups of fewer than {MIN_GROUP} people are folded into «{others}».") if folded else ""
    return Report(master.settings.company, overview.round, overview.updated, overview.days_left,
                  tuple(_label(code, english) for code in STATUS_CODES), departments, managers,
                  _line(overview.total), tuple(people), note)


def fold(lines: tuple[ReportLine, ...], others: str) -> tuple[tuple[ReportLine, ...], int]:
    """Lines of at least MIN_GROUP people as they are, the rest summed into one «andre» line (last).

    Returns the lines and how many groups were folded. A line with no people (a department with
    no conversation yet) says nothing about anyone and stays."""
    keep = [x for x in lines if x.people == 0 or x.people >= MIN_GROUP]
    small = [x for x in lines if 0 < x.people < MIN_GROUP]
    if not small:
        return lines, 0
    while sum(x.people for x in small) < MIN_GROUP and any(x.people for x in keep):
        smallest = min((x for x in keep if x.people), key=lambda x: (x.people, sort_key(x.name)))
        keep.remove(smallest)
        small.append(smallest)
    merged = ReportLine(others, sum(x.people for x in small),
                        tuple(sum(x.statuses[i] for x in small) for i in range(len(STATUS_CODES))),
                        sum(x.actions_open for x in small), sum(x.actions_overdue for x in small))
    return (*keep, merged), len(small)


_ENGLISH = {"proposed": "Proposed", "planned": "Planned", "invited": "Invited", "prepared": "Prepared",
            "held": "Held – awaiting minutes", "minutes_returned": "Minutes returned", "signed": "Signed",
            "cancelled": "Cancelled"}


def _label(code: str, english: bool) -> str:
    return _ENGLISH.get(code, code) if english else STATUS_LABELS.get(code, code)


def _line(line: OverviewLine) -> ReportLine:
    return ReportLine(line.name, line.conversations, line.statuses, line.actions_open, line.actions_overdue)
