"""Upgrade in place (DESIGN.md §6): a master made by an earlier version gains what this version needs.

On the next write, every table of the schema that lacks one of its columns gets it at the table's
right edge (header, header colour for tool and seeded columns, input message, width), and a sheet
that is missing altogether is added with its table. Nothing a person wrote is touched: a column is
only added where the cells it would take are empty; otherwise the upgrade of that table is refused
with the reason (the rest of the write goes on), and `check` keeps naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from samtale_automation.domain.schema import (
    LISTS_SHEET,
    SEEDED_COLUMN_MESSAGE,
    TABLES,
    TOOL_COLUMN_MESSAGE,
    TOOL_COLUMN_TITLE,
    Owner,
    Sheet,
    value_lists,
)
from samtale_automation.texts import language, tr
from samtale_automation.workbook.build import VALIDATED_ROWS
from samtale_automation.workbook.tables import find_table

HEADER_COLOURS = {Owner.PERSON: "1F4E79", Owner.TOOL: "808080", Owner.SEEDED: "5B7C99"}


@dataclass
class UpgradeReport:
    """What an upgrade added to the workbook, and what it could not add (with why)."""

    added: list[str] = field(default_factory=list)  # «Samtaler: Navn»
    refused: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the workbook was changed."""
        return bool(self.added)


def upgrade_workbook(wb: Any, tables: tuple[Sheet, ...] = TABLES) -> UpgradeReport:
    """Add the columns of `tables` that an openpyxl workbook lacks and renew the value lists; touch nothing else."""
    from openpyxl.utils import get_column_letter

    report = UpgradeReport()
    report.added += _renew_value_lists(wb)
    for schema in tables:
        view = find_table(wb, schema)
        if view is None:
            continue  # a missing table is named by check; this upgrade adds columns to tables that exist
        for column in schema.columns:
            if column.field in view.columns:
                continue
            if not view.add_column(column.field):
                letter = get_column_letter(view.max_col + 1)
                report.refused.append(tr(
                    f"{view.ws.title}: kolonnen «{column.header}» kan ikke legges til fordi kolonne {letter} ved "
                    f"siden av tabellen er i bruk – flytt det som står der, så legges den til ved neste skriving",
                    f"{view.ws.title}: the column «{column.header}» cannot be added because column {letter} beside "
                    f"the table is in use – move what is there, and it is added on the next write"))
                break  # columns keep their order: the next one would land in the wrong place
            _mark_owner(view.ws, view.min_row, view.columns[column.field], column.owner)
            report.added.append(f"{schema.name}: {column.header}")
    return report


def _renew_value_lists(wb: Any) -> list[str]:
    """The hidden Lister sheet is the tool's own: its lists follow this version (e.g. renamed status labels)."""
    if LISTS_SHEET not in wb.sheetnames:
        return []
    ws = wb[LISTS_SHEET]
    columns = {ws.cell(1, col).value: col for col in range(1, ws.max_column + 1)}
    english = value_lists("en")
    lang = "en" if "Liste_Tema" in columns and _list_values(ws, columns["Liste_Tema"]) == list(
        english["Liste_Tema"]) else "nb"
    wanted = value_lists(lang)
    renewed = []
    for name, col in columns.items():
        if name not in wanted or name not in wb.defined_names:
            continue
        values = list(wanted[name])
        current = _list_values(ws, col)
        if current == values:
            continue
        for row in range(2, max(len(current), len(values)) + 2):
            ws.cell(row, col).value = values[row - 2] if row - 2 < len(values) else None
        letter = ws.cell(1, col).column_letter
        wb.defined_names[name].attr_text = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        renewed.append(f"{LISTS_SHEET}: {name}")
    return renewed


def _list_values(ws: Any, col: int) -> list[Any]:
    values = [ws.cell(row, col).value for row in range(2, ws.max_row + 1)]
    while values and values[-1] in (None, ""):
        values.pop()
    return values


def _mark_owner(ws: Any, header_row: int, col: int, owner: Owner) -> None:
    """An added column looks like the builder's: the owner's header colour, and a note on tool cells."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    header = ws.cell(header_row, col)
    header.font = Font(bold=True, color="FFFFFF")
    header.fill = PatternFill("solid", fgColor=HEADER_COLOURS[owner])
    if owner is not Owner.PERSON:
        letter = get_column_letter(col)
        _input_message(ws, f"{letter}{header_row + 1}:{letter}{VALIDATED_ROWS}", owner)


def _input_message(ws: Any, cells: str, owner: Owner) -> None:
    """The note a person sees on a tool or seeded cell: it is written by samtale."""
    from openpyxl.worksheet.datavalidation import DataValidation

    english = language() == "en"
    message = TOOL_COLUMN_MESSAGE if owner is Owner.TOOL else SEEDED_COLUMN_MESSAGE
    validation = DataValidation(showInputMessage=True, promptTitle=TOOL_COLUMN_TITLE[int(english)],
                                prompt=message[int(english)])
    validation.add(cells)
    ws.add_data_validation(validation)
