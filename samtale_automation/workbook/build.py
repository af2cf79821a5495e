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
                                              start_intro(lang))
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

    from samtale_automation.workbook.printing import print_setup

    wb = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    if planner is not None:
        refresh_overview(wb, now, planner)
    else:
        settings = parse_open_workbook(wb).settings
        render_overview(wb, Overview.empty(settings.language or lang, settings.round, now))
    print_setup(wb)  # A4, one page wide, header rows repeated: the same code every later write runs
    wb.save(path)


#: Headers wrap rather than being cut at a narrow column's edge, on screen and on paper.
HEADER_WRAP = {"text_wrap": True, "valign": "top"}
HEADER_HEIGHT = 30  # points: two lines of a bold 11 pt header
#: Columns whose text wraps, and the height of one wrapped line in points.
WRAPPED_FIELDS = ("explanation", "follow_ups", "text")
ROW_LINE_HEIGHT = 15


def _line_count(value: Any, width: int) -> int:
    """How many lines a wrapped text takes in a column of `width` characters (roughly, as Excel wraps)."""
    if not isinstance(value, str) or not value:
        return 1
    return sum(max(1, -(-len(line) // max(width - 2, 1))) for line in value.splitlines())


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 16})
        self.bold = workbook.add_format({"bold": True})
        self.bold_top = workbook.add_format({"bold": True, "valign": "top"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": "dd.mm.yyyy"})
        self.datetime = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm"})
        self.person_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", **HEADER_WRAP,
                                                  "bg_color": "#1F4E79"})
        self.tool_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", **HEADER_WRAP,
                                                "bg_color": "#808080"})
        self.seeded_header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", **HEADER_WRAP,
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
        elif column.field in WRAPPED_FIELDS:
            spec["format"] = formats.wrap
        columns.append(spec)
        ws.set_column(index, index, column.width, None, {"hidden": column.hidden})
    last_row = max(len(rows), 1)
    ws.add_table(0, 0, last_row, len(schema.columns) - 1, {
        "name": schema.table, "columns": columns, "style": "Table Style Medium 2",
    })
    wrapped = [c for c in schema.columns if c.field in WRAPPED_FIELDS]
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(schema.columns):
            _write_value(ws, r, c, row.get(column.field), column.kind, formats)
        # A wrapped cell of several lines gets a row that shows them all: no spreadsheet grows it on opening,
        # so on screen and on paper the lines would run into the next row.
        lines = max((_line_count(row.get(c.field), c.width) for c in wrapped), default=1)
        if lines > 1:
            ws.set_row(r, ROW_LINE_HEIGHT * lines)
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
    ws.set_row(0, HEADER_HEIGHT)  # room for a wrapped header: no spreadsheet grows a row to fit on opening
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


#: The Start sheet's steps of a round: (command, bokmål, English). The buttons of the .xlsm run the same.
START_STEPS = (
    ("", "1. Fyll inn Ansatte (én rad per person, med leder og e-post), se over Innstillinger og tilpass "
         "Spørsmål. Sett postkassen det sendes fra i samtale.toml.",
     "1. Fill in Ansatte (one row per person, with manager and e-mail), check Innstillinger and adapt "
     "Spørsmål. Set the sending mailbox in samtale.toml."),
    ("samtale check", "2. Finner alt som er feil, med cellen og hva du gjør. Kjør den gjerne etter hver endring.",
     "2. Finds everything that is wrong, with the cell and what to do. Run it after every change."),
    ("samtale round new 2027", "3. Starter runden: en rad i Samtaler per aktiv ansatt. Den som hoppes over, "
                               "står i svaret med grunnen.",
     "3. Starts the round: a row in Samtaler per active employee. Anyone skipped is named with the reason."),
    ("samtale plan", "4. Finner tid og rom for hver samtale ut fra Innstillinger, Rom og kalenderne. Du kan "
                     "også skrive Start, Slutt og Sted selv.",
     "4. Finds a time and room for each conversation from Innstillinger, Rom and the calendars. You can "
     "also type Start, Slutt and Sted yourself."),
    ("samtale prep", "5. Lager forberedelsesskjema til den ansatte og lederen (mappen forberedelse/).",
     "5. Makes the prep files for employee and manager (the forberedelse/ folder)."),
    ("samtale invite", "6. Sender kalenderinvitasjonene med skjemaet vedlagt. Viser først hva som sendes. "
                       "Med backend outbox legges de i utboks/ i stedet.",
     "6. Sends the calendar invitations with the prep file attached, after showing what goes. With the "
     "outbox backend they are put in utboks/ instead."),
    ("samtale collect", "7. Henter utfylte skjemaer og referater fra innkommende/ (eller postkassen) inn i "
                        "Samtaler og Tiltak.",
     "7. Brings filled-in prep files and minutes from innkommende/ (or the mailbox) into Samtaler and Tiltak."),
    ("samtale remind", "8. Sender dagens påminnelser, ett sammendrag per person (kjøres helst hver natt).",
     "8. Sends today's reminders, one digest per person (best run every night)."),
    ("samtale status", "9. Hvor hver samtale står. Arket Oversikt viser det samme per avdeling og leder.",
     "9. Where each conversation stands. The Oversikt sheet shows the same per department and manager."),
)


def start_intro(lang: str) -> str:
    """The Start sheet's paragraph about the workbook (with or without the buttons)."""
    if lang == "en":
        return ("This workbook holds the staff, the schedule, the question menu and the action register "
                "of the yearly employee development conversations. Grey columns are filled in by samtale. "
                "Rows are found by their ID, so sort and filter freely.")
    return ("Denne arbeidsboken holder ansatte, timeplanen, spørsmålsmenyen og tiltaksregisteret for "
            "årets medarbeidersamtaler. Grå kolonner fylles av samtale. Radene finnes igjen på ID, så "
            "du kan sortere og filtrere fritt.")


def _write_start(ws: Any, formats: _Formats, lang: str) -> None:
    """The Start sheet: what the workbook is, then the round in steps with the command of each."""
    en = lang == "en"
    ws.set_column(0, 0, 24)  # 24 + 68: prints portrait, one page wide
    ws.set_column(1, 1, 68)
    ws.write_string(0, 0, "Medarbeidersamtaler", formats.title)
    ws.merge_range(2, 0, 2, 1, start_intro(lang), formats.wrap)
    ws.set_row(2, 48)
    ws.write_string(4, 0, "Slik går runden" if not en else "How the round goes", formats.bold)
    for row, (command, nb, english) in enumerate(START_STEPS, start=5):
        ws.write_string(row, 0, command, formats.bold_top)
        ws.write_string(row, 1, english if en else nb, formats.wrap)
        ws.set_row(row, 32)
