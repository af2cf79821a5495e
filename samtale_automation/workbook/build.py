"""Build a new master workbook from the schema (XlsxWriter): used by `init`, the demo and tests.

Only features openpyxl round-trips (DESIGN.md §4): plain tables, list validations whose
sources are defined names, plain conditional formats, frozen headers. Tool-owned columns
get a grey header and an input message; nothing is locked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.cells import xml_safe_text
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.overview import Overview
from samtale_automation.domain.schema import (
    ACTIONS,
    CONVERSATIONS,
    EMPLOYEES,
    LISTS_SHEET,
    LOG,
    NO,
    OVERVIEW_SHEET,
    QUESTIONS,
    ROOMS,
    SEEDED_COLUMN_MESSAGE,
    SETTING_SPECS,
    SETTINGS,
    START_SHEET,
    STATUS_LABELS,
    TABLE_LISTS,
    TABLES,
    TOOL_COLUMN_MESSAGE,
    TOOL_COLUMN_TITLE,
    TOPICS,
    YES,
    Kind,
    Owner,
    Sheet,
    value_lists,
)
from samtale_automation.paths import data_dir
from samtale_automation.workbook import build_macros
from samtale_automation.workbook.buttons import XLWINGS_CONF_SHEET
from samtale_automation.workbook.opened import parse_open_workbook
from samtale_automation.workbook.overview import OverviewPlanner, refresh_overview, render_overview
from samtale_automation.xlsx_text import safe_text_worksheet

#: Rows covered by validations and formats, so tables can grow without losing them.
VALIDATED_ROWS = 20000


@dataclass(frozen=True)
class MenuQuestion:
    """One question of the shipped default menu."""

    question_id: str
    topic: str
    mandatory: bool
    applies_to: str
    text: dict[str, str]
    follow_ups: dict[str, list[str]]



def default_questions() -> list[MenuQuestion]:
    """Load the shipped question menu (workbooks/sporsmal.toml)."""
    with (data_dir("workbooks") / "sporsmal.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return [MenuQuestion(q["id"], q["tema"], bool(q["obligatorisk"]), q["gjelder"],
                         {"nb": q["nb"], "en": q["en"]},
                         {"nb": q["nb_hjelp"], "en": q["en_hjelp"]}) for q in data["sporsmal"]]


def question_rows(lang: str) -> list[dict[str, Any]]:
    """The default menu as Spørsmål rows in the chosen language."""
    labels = {t.key: t.label(lang) for t in TOPICS}
    return [{
        "question_id": q.question_id,
        "topic": labels[q.topic],
        "text": q.text[lang],
        "follow_ups": "\n".join(q.follow_ups[lang]),
        "text_en": q.text["en"],
        "follow_ups_en": "\n".join(q.follow_ups["en"]),
        "mandatory": YES if q.mandatory else NO,
        "applies_to": q.applies_to,
        "active": YES,
    } for q in default_questions()]


def settings_rows(lang: str, overrides: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Innstillinger rows with defaults (values by English field name in `overrides`)."""
    overrides = overrides or {}
    rows = []
    for spec in SETTING_SPECS:
        value = overrides.get(spec.field, spec.default)
        if spec.field == "language" and "language" not in overrides:
            value = lang
        rows.append({"key": spec.key, "value": value, "explanation": spec.en if lang == "en" else spec.nb})
    return rows


def build_master(
    path: Path,
    lang: str = "nb",
    *,
    settings: Mapping[str, str] | None = None,
    employees: Iterable[Mapping[str, Any]] = (),
    conversations: Iterable[Mapping[str, Any]] = (),
    questions: Iterable[Mapping[str, Any]] | None = None,
    actions: Iterable[Mapping[str, Any]] = (),
    rooms: Iterable[Mapping[str, Any]] = (),
    log: Iterable[Mapping[str, Any]] = (),
    macros: bool = False,
    overview: OverviewPlanner | None = None,
    now: datetime | None = None,
) -> None:
    """Write a new master workbook at `path` (rows given as field -> value mappings).

    XlsxWriter lays out the tables; the Oversikt sheet is then written by the same openpyxl code
    that keeps it current on every write (workbook/overview.py), so there is one layout. Pass
    `overview` (plans.overview.plan_overview, as `init` does) for the numbers of the rows given;
    without it the sheet shows the layout with no departments yet.

    With `macros`, `path` must end in .xlsm: the workbook gets the VBA project, code names, the
    buttons on the Start sheet and the xlwings.conf sheet (build_macros.py). Without, the .xlsx
    is exactly what it always was.
    """
    import xlsxwriter

    if macros and path.suffix.lower() != ".xlsm":
        raise ValueError(f"a workbook with macros must be an .xlsm, not {path.name}")

    workbook = xlsxwriter.Workbook(str(path), {
        "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
        "remove_timezone": True,
    })
    workbook.set_properties({"title": "Medarbeidersamtaler", "comments": "Laget av samtale",
                             "created": datetime(2026, 1, 1)})
    workbook.worksheet_class = safe_text_worksheet(xml_safe_text)
    formats = _Formats(workbook)
    data: dict[str, list[Mapping[str, Any]]] = {
        SETTINGS.table: list(settings_rows(lang, settings)),
        EMPLOYEES.table: list(employees),
        CONVERSATIONS.table: list(conversations),
        QUESTIONS.table: list(question_rows(lang) if questions is None else questions),
        ACTIONS.table: list(actions),
        ROOMS.table: list(rooms),
        LOG.table: list(log),
    }
    if macros:
        build_macros.add_vba_project(workbook)
        build_macros.write_start_with_buttons(workbook, workbook.add_worksheet(START_SHEET), lang,
                                              start_lines(lang)[0])
    else:
        _write_start(workbook.add_worksheet(START_SHEET), formats, lang)
    workbook.add_worksheet(OVERVIEW_SHEET)  # written below, by workbook/overview.py
    for schema in TABLES:
        _write_table(workbook.add_worksheet(schema.name), schema, data[schema.table], formats, lang)
    _write_lists(workbook, workbook.add_worksheet(LISTS_SHEET), lang)
    if macros:
        build_macros.write_xlwings_conf(workbook.add_worksheet(XLWINGS_CONF_SHEET), lang)
        build_macros.name_sheets(workbook)
    workbook.worksheets()[0].activate()
    workbook.close()
    # real time when no moment is given (a new workbook shows its numbers as of now)
    _write_overview(path, lang, overview, (now or datetime.now(OSLO)).astimezone(OSLO))


def _write_overview(path: Path, lang: str, planner: OverviewPlanner | None, now: datetime) -> None:
    """Render the Oversikt sheet into the new file through the openpyxl writer every later write uses."""
    import openpyxl

    wb = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    if planner is not None:
        refresh_overview(wb, now, planner)
    else:
        settings = parse_open_workbook(wb).settings
        render_overview(wb, Overview.empty(settings.language or lang, settings.round, now))
    wb.save(path)


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 16})
        self.bold = workbook.add_format({"bold": True})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": "dd.mm.yyyy"})
        self.datetime = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm"})
        self.person_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF",
                                                  "bg_color": "#1F4E79"})
        self.tool_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF",
                                                "bg_color": "#808080"})
        self.seeded_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF",
                                                  "bg_color": "#5B7C99"})
        self.red = workbook.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.green = workbook.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})


def _write_value(ws: Any, row: int, col: int, value: Any, kind: Kind, formats: _Formats) -> None:
    if value is None or value == "":
        return
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(OSLO).replace(tzinfo=None)
        ws.write_datetime(row, col, value, formats.datetime if kind is Kind.DATETIME else formats.date)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime.combine(value, datetime.min.time()), formats.date)
    elif isinstance(value, bool):
        ws.write_string(row, col, YES if value else NO)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value)
    else:
        ws.write_string(row, col, str(value))


def _write_table(ws: Any, schema: Sheet, rows: list[Mapping[str, Any]], formats: _Formats,
                 lang: str) -> None:
    columns = []
    for index, column in enumerate(schema.columns):
        header_format = {Owner.TOOL: formats.tool_header, Owner.SEEDED: formats.seeded_header}.get(
            column.owner, formats.person_header)
        spec: dict[str, Any] = {"header": column.header, "header_format": header_format}
        if column.kind is Kind.DATE:
            spec["format"] = formats.date
        elif column.kind is Kind.DATETIME:
            spec["format"] = formats.datetime
        elif column.field in ("explanation", "follow_ups", "text"):
            spec["format"] = formats.wrap
        columns.append(spec)
        ws.set_column(index, index, column.width, None, {"hidden": column.hidden})
    last_row = max(len(rows), 1)
    ws.add_table(0, 0, last_row, len(schema.columns) - 1, {
        "name": schema.table, "columns": columns, "style": "Table Style Medium 2",
    })
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(schema.columns):
            _write_value(ws, r, c, row.get(column.field), column.kind, formats)
    for c, column in enumerate(schema.columns):
        _add_validation(ws, c, column, lang)
    if schema is CONVERSATIONS:
        status_col = [c.field for c in schema.columns].index("status")
        ws.conditional_format(1, status_col, VALIDATED_ROWS, status_col, {
            "type": "cell", "criteria": "==", "value": f'"{STATUS_LABELS["cancelled"]}"',
            "format": formats.red})
        ws.conditional_format(1, status_col, VALIDATED_ROWS, status_col, {
            "type": "cell", "criteria": "==", "value": f'"{STATUS_LABELS["signed"]}"',
            "format": formats.green})
    ws.freeze_panes(1, 0)


def _add_validation(ws: Any, col: int, column: Any, lang: str) -> None:
    options: dict[str, Any]
    if column.value_list:
        options = {"validate": "list", "source": "=" + column.value_list,
                   "error_title": "samtale",
                   "error_message": ("Choose a value from the list." if lang == "en"
                                     else "Velg en verdi fra listen."),
                   "error_type": "warning"}
    elif column.owner is not Owner.PERSON:
        options = {"validate": "any"}
    else:
        return
    if column.owner is not Owner.PERSON:
        message = TOOL_COLUMN_MESSAGE if column.owner is Owner.TOOL else SEEDED_COLUMN_MESSAGE
        options["input_title"] = TOOL_COLUMN_TITLE[1 if lang == "en" else 0]
        options["input_message"] = message[1 if lang == "en" else 0]
    ws.data_validation(1, col, VALIDATED_ROWS, col, options)


def _write_lists(workbook: Any, ws: Any, lang: str) -> None:
    for col, (name, values) in enumerate(value_lists(lang).items()):
        ws.write_string(0, col, name)
        for row, value in enumerate(values, start=1):
            ws.write_string(row, col, value)
        letter = chr(65 + col)
        workbook.define_name(name, f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}")
        ws.set_column(col, col, 22)
    for name, (table, header) in TABLE_LISTS.items():
        workbook.define_name(name, f"={table}[{header}]")
    ws.hide()


def start_lines(lang: str) -> tuple[str, ...]:
    """The Start sheet's text: the paragraph about the workbook, then a few commands."""
    en = lang == "en"
    return (
        ("This workbook holds the staff, the schedule, the question menu and the action register "
         "of the yearly employee development conversations. HR fills in Ansatte (staff) and "
         "adapts Spørsmål (questions); samtale plans the round, makes everyone a prep sheet, "
         "sends invitations and reminders, and brings the returned minutes into Tiltak (actions). "
         "Grey columns are filled in by samtale. Rows are found by their ID, so sort and filter "
         "freely.") if en else
        ("Denne arbeidsboken holder ansatte, timeplanen, spørsmålsmenyen og tiltaksregisteret for "
         "årets medarbeidersamtaler. HR fyller inn Ansatte og tilpasser Spørsmål; samtale planlegger "
         "runden, lager forberedelsesskjema til alle, sender invitasjoner og påminnelser, og henter "
         "tiltakene fra referatene inn i Tiltak. Grå kolonner fylles av samtale. Radene finnes "
         "igjen på ID, så du kan sortere og filtrere fritt."),
        "",
        "samtale check        – " + ("finds everything that is wrong, with the cell" if en
                                     else "finner alt som er feil, med cellen"),
        "samtale round new 2027 – " + ("starts the round: a row in Samtaler per active employee" if en
                                       else "starter runden: en rad i Samtaler per aktiv ansatt"),
        "samtale status       – " + ("where each conversation stands" if en
                                     else "hvor hver samtale står"),
    )


def _write_start(ws: Any, formats: _Formats, lang: str) -> None:
    ws.set_column(0, 0, 110)
    ws.write_string(0, 0, "Medarbeidersamtaler", formats.title)
    for row, line in enumerate(start_lines(lang), start=2):
        ws.write_string(row, 0, line, formats.wrap)
    ws.set_row(2, 90)
