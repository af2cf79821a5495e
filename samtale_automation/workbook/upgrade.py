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
    QUESTIONS,
    SEEDED_COLUMN_MESSAGE,
    SHEET_ORDER,
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
    # A sheet of a later version goes only into a samtale master (one with our own tables besides Logg).
    ours = any(find_table(wb, schema) is not None for schema in TABLES if not schema.added_later and schema.key)
    for schema in tables:
        view = find_table(wb, schema)
        if view is None and schema.added_later and ours:
            reason = _add_sheet(wb, schema)
            if reason:
                report.refused.append(reason)
            else:
                report.added.append(tr(f"arket {schema.name}", f"the sheet {schema.name}"))
            continue
        if view is None:
            continue  # a table a person removed is named by check; only sheets of later versions are added
        for column in schema.columns:
            if column.field in view.columns:
                continue
            if not view.add_column(column.field):
                letter = get_column_letter(view.max_col + 1)
                report.refused.append(tr(
                    f"{view.title}: kolonnen «{column.header}» kan ikke legges til fordi kolonne {letter} ved "
                    f"siden av tabellen er i bruk – flytt det som står der, så legges den til ved neste skriving",
                    f"{view.title}: the column «{column.header}» cannot be added because column {letter} beside "
                    f"the table is in use – move what is there, and it is added on the next write"))
                break  # columns keep their order: the next one would land in the wrong place
            _mark_owner(wb[view.title], view.min_row, view.columns[column.field], column.owner)
            report.added.append(f"{schema.name}: {column.header}")
        if schema is QUESTIONS and f"{schema.name}: {schema.header('text_en')}" in report.added:
            filled = _english_questions(view)
            if filled:
                report.added.append(tr(f"{schema.name}: engelsk tekst til {filled} standardspørsmål",
                                       f"{schema.name}: English text for {filled} shipped questions"))
    return report


def _english_questions(view: Any) -> int:
    """When «Spørsmål (en)» was just added: fill it for the shipped questions still worded as shipped.

    A question a person reworded keeps a blank English text (its reader gets the Norwegian), so nothing
    a person wrote is translated wrongly or touched.
    """
    from samtale_automation.domain.cells import as_text
    from samtale_automation.workbook.build import default_questions

    shipped = {q.question_id: q for q in default_questions()}
    filled = 0
    for key, row in view.rows.items():
        question = shipped.get(key)
        current = view.current(row)
        if question is None or as_text(current.get("text_en")) or as_text(current.get("follow_ups_en")):
            continue
        if " ".join(as_text(current.get("text")).split()) not in (question.text["nb"], question.text["en"]):
            continue
        view.write(row, {"text_en": question.text["en"], "follow_ups_en": "\n".join(question.follow_ups["en"])})
        filled += 1
    return filled


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


def _add_sheet(wb: Any, schema: Sheet) -> str | None:
    """Add a sheet of a later version with its empty table, where SHEET_ORDER puts it; the reason when not."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table, TableStyleInfo

    taken = {name.casefold() for ws in wb.worksheets for name in ws.tables}
    if schema.name in wb.sheetnames or schema.table.casefold() in taken:
        return tr(f"arket «{schema.name}» kan ikke legges til fordi et ark eller en tabell med det navnet finnes "
                  f"– gi det nytt navn, så legges det til ved neste skriving",
                  f"the sheet «{schema.name}» cannot be added because a sheet or table of that name exists – "
                  "rename it, and it is added on the next write")
    later = SHEET_ORDER[SHEET_ORDER.index(schema.name) + 1:]
    index = next((wb.sheetnames.index(name) for name in later if name in wb.sheetnames), len(wb.sheetnames))
    ws = wb.create_sheet(schema.name, index)
    for col, column in enumerate(schema.columns, start=1):
        header = ws.cell(1, col)
        header.value = column.header
        header.data_type = "s"
        header.font = Font(bold=True, color="FFFFFF")
        header.fill = PatternFill("solid", fgColor=HEADER_COLOURS[column.owner])
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = column.width
        if column.value_list and column.value_list in wb.defined_names:
            validation = DataValidation(type="list", formula1=f"={column.value_list}", allow_blank=True,
                                        showErrorMessage=True, errorStyle="warning")
            validation.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.add_data_validation(validation)
    table = Table(displayName=schema.table, ref=f"A1:{get_column_letter(len(schema.columns))}2")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    return None


def _input_message(ws: Any, cells: str, owner: Owner) -> None:
    """The note a person sees on a tool or seeded cell: it is written by samtale."""
    from openpyxl.worksheet.datavalidation import DataValidation

    english = language() == "en"
    message = TOOL_COLUMN_MESSAGE if owner is Owner.TOOL else SEEDED_COLUMN_MESSAGE
    validation = DataValidation(showInputMessage=True, promptTitle=TOOL_COLUMN_TITLE[int(english)],
                                prompt=message[int(english)])
    validation.add(cells)
    ws.add_data_validation(validation)
