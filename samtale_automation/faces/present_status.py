"""The presenter of `status --by manager|department` (see faces/present.py): the Oversikt sheet's block as a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.results import StatusResult
    from samtale_automation.faces.present import Say


def status_by(say: Say, result: StatusResult) -> None:
    """`status --by manager|department`: the Oversikt sheet's block in the terminal (the same numbers)."""
    from samtale_automation.domain.overview import STATUS_CODES
    from samtale_automation.domain.schema import STATUS_LABELS
    from samtale_automation.faces.present import TableBlock

    overview = result.overview
    assert overview is not None
    manager = result.by == "manager"
    lines = (*(overview.managers if manager else overview.departments), overview.total)
    used = [index for index, _ in enumerate(STATUS_CODES) if any(line.statuses[index] for line in lines)]
    labels = [tr(STATUS_LABELS[STATUS_CODES[i]], STATUS_CODES[i]) for i in used]
    headers = [tr("Leder", "Manager") if manager else tr("Avdeling", "Department"), *labels,
               tr("Samtaler i alt", "Conversations"), tr("Tiltak åpne", "Actions open"),
               tr("Tiltak forfalt", "Actions overdue")]
    rows = [[line.name, *(str(line.statuses[i]) for i in used), str(line.conversations), str(line.actions_open),
             str(line.actions_overdue)] for line in lines]
    days = overview.days_left
    notes = [tr(f"Dager igjen av runden: {days}", f"Days left in the round: {days}")] if days is not None else []
    title = tr(f"Samtalerunde {overview.round or '(ikke satt)'} per {'leder' if manager else 'avdeling'}",
               f"Round {overview.round or '(not set)'} by {'manager' if manager else 'department'}")
    say.table = TableBlock(title, headers, rows, notes)
    for why in result.save_blockers:
        say(tr("Hindrer lagring uten Excel: ", "Blocks saving without Excel: ") + why)
