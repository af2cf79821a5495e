"""What the Oversikt sheet shows (DESIGN.md §4): the round by department and by manager.

Plain values, no I/O. `plans.overview` works them out from the master; the workbook adapter
writes them into the sheet. Status counts follow the order of `schema.STATUS_LABELS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from samtale_automation.domain.schema import STATUS_LABELS

#: The status codes in the order of the sheet's columns and the chart's series.
STATUS_CODES: tuple[str, ...] = tuple(STATUS_LABELS)


@dataclass(frozen=True)
class OverviewLine:
    """One line of a block: a department, a manager, or the total."""

    name: str
    statuses: tuple[int, ...] = (0,) * len(STATUS_CODES)  # conversations per status, STATUS_CODES order
    actions_open: int = 0
    actions_overdue: int = 0

    @property
    def conversations(self) -> int:
        """All the line's conversations of the round, whatever their status."""
        return sum(self.statuses)

    def count(self, code: str) -> int:
        """The number of conversations with one status code."""
        return self.statuses[STATUS_CODES.index(code)]


@dataclass(frozen=True)
class Overview:
    """The whole sheet: the round, when it was worked out, days left, the two blocks and the total."""

    language: str  # the workbook's language (nb/en): the sheet's texts follow it
    round: str
    updated: datetime  # Europe/Oslo
    days_left: int | None  # None when the round has no end date
    departments: tuple[OverviewLine, ...] = ()
    managers: tuple[OverviewLine, ...] = ()
    total: OverviewLine = OverviewLine("")

    @classmethod
    def empty(cls, language: str, round_name: str, updated: datetime) -> Overview:
        """The overview of a master with no employees, conversations or actions yet."""
        return cls(language, round_name, updated, None, total=OverviewLine("Total" if language == "en" else "Totalt"))
