"""The master workbook's tables parsed into the domain model.

`parse_master` is pure: raw rows in, model objects and the problems met while parsing out.
Every problem names its cell, so `samtale check` can tell a person exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from samtale_automation.domain import cells
from samtale_automation.domain.cells import CellValueError
from samtale_automation.domain.model import Action, Conversation, Employee, Question, Room, Round, Settings
from samtale_automation.domain.rows import RawRow, RawTable, RawWorkbook
from samtale_automation.domain.schema import (
    ACTIONS,
    CONVERSATIONS,
    EMPLOYEES,
    QUESTIONS,
    ROOMS,
    SETTING_BY_KEY,
    SETTINGS,
    TABLE_BY_NAME,
    Kind,
    SettingKind,
    Sheet,
    topic_for_label,
)
from samtale_automation.errors import Problem
from samtale_automation.texts import tr


@dataclass
class Master:
    """The parsed master workbook."""

    settings: Settings
    employees: dict[str, Employee] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)  # by Room.key, in sheet order
    problems: list[Problem] = field(default_factory=list)
    raw: RawWorkbook | None = None
    _by_employee: tuple[int, dict[str, tuple[Action, ...]]] | None = field(default=None, repr=False, compare=False)

    def actions_of(self, employee_id: str) -> tuple[Action, ...]:
        """The employee's actions in TiltakID order (indexed once, so the planners stay linear)."""
        # Rebuilt when actions were added or removed since (tests and the overlay build a Master by hand).
        if self._by_employee is None or self._by_employee[0] != len(self.actions):
            index: dict[str, list[Action]] = {}
            for action in sorted(self.actions.values(), key=lambda a: a.action_id):
                index.setdefault(action.employee_id, []).append(action)
            self._by_employee = (len(self.actions), {key: tuple(found) for key, found in index.items()})
        return self._by_employee[1].get(employee_id, ())

    def current_round(self) -> Round:
        """The round named in Innstillinger with its conversations."""
        name = self.settings.round
        prefix = f"{name}-"
        convs = tuple(c for c in self.conversations.values() if name and c.conversation_id.startswith(prefix))
        return Round(name, self.settings.period_start, self.settings.period_end, convs)


_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.ID: cells.as_id,
    Kind.TEXT: cells.as_text,
    Kind.EMAIL: cells.as_text,
    Kind.CHOICE: cells.as_text,
    Kind.DATE: cells.as_date,
    Kind.DATETIME: cells.as_datetime,
    Kind.INT: cells.as_int,
    Kind.LANG: cells.as_language,
    Kind.WEEKDAYS: cells.as_weekdays,
    Kind.DATE_RANGES: cells.as_date_ranges,
}


def parse_row(table: RawTable, row: RawRow, problems: list[Problem]) -> dict[str, Any]:
    """Parse each known cell of a row by its column kind; unreadable cells become problems."""
    return _parse_cells(table, row, problems, _row_parsers(table.schema))


def _parse_cells(table: RawTable, row: RawRow, problems: list[Problem],
                 parsers: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for field_name, value in row.values.items():  # the hot loop of every parse: 100,000 cells at 10,000 actions
        if value is None or (value.__class__ is str and not value.strip()):
            parsed[field_name] = None  # each builder knows its column's default
            continue
        try:
            parsed[field_name] = parsers[field_name](value)
        except CellValueError as exc:
            problems.append(Problem(table.cell(row, field_name), str(exc),
                                    _fix_for(table.schema.column(field_name).kind)))
            parsed[field_name] = None
    return parsed


def _row_parsers(schema: Sheet) -> dict[str, Callable[[Any], Any]]:
    """Each column's parser for a non-blank cell, worked out once per schema rather than once per cell."""
    cached = _ROW_PARSERS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _ROW_PARSERS[id(schema)] = (schema, {
            column.field: _yes_no if column.kind in (Kind.YES_NO, Kind.YES_BLANK) else _PARSERS[column.kind]
            for column in schema.columns})
    return cached[1]


_ROW_PARSERS: dict[int, tuple[Sheet, dict[str, Callable[[Any], Any]]]] = {}


def _yes_no(value: Any) -> bool:
    return cells.as_yes_no(value, default=False)


def _fix_for(kind: Kind) -> str:
    return {
        Kind.DATE: tr("Skriv datoen som dd.mm.åååå.", "Write the date as dd.mm.yyyy."),
        Kind.DATETIME: tr("Skriv dato og klokkeslett som dd.mm.åååå tt:mm.",
                          "Write date and time as dd.mm.yyyy hh:mm."),
        Kind.YES_NO: tr("Velg Ja eller Nei.", "Choose Ja or Nei."),
        Kind.YES_BLANK: tr("Skriv Ja, eller la cellen stå tom.", "Write Ja, or leave it blank."),
        Kind.LANG: tr("Skriv nb eller en.", "Write nb or en."),
        Kind.INT: tr("Skriv et heltall.", "Write a whole number."),
        Kind.WEEKDAYS: tr("Skriv ukedagene, f.eks. «man, tir, ons» eller «man–tor», eller la cellen stå tom.",
                          "Write the weekdays, e.g. «man, tir, ons» or «man–tor», or leave it blank."),
        Kind.DATE_RANGES: tr("Skriv datoer eller perioder, f.eks. «01.03.2027–14.03.2027, 02.04.2027».",
                             "Write dates or periods, e.g. «01.03.2027–14.03.2027, 02.04.2027»."),
    }.get(kind, "")


def parse_settings(table: RawTable | None, problems: list[Problem]) -> Settings:
    """Read Innstillinger rows into Settings; unknown or invalid values become problems."""
    values: dict[str, Any] = {}
    if table is None:
        return Settings()
    for row in table.rows:
        key_text = cells.as_text(row.values.get("key"))
        spec = SETTING_BY_KEY.get(key_text.casefold())
        if spec is None:
            problems.append(Problem(
                table.cell(row, "key"),
                tr(f"ukjent innstilling «{key_text}»", f"unknown setting «{key_text}»"),
                tr("Rett skrivemåten eller slett raden.", "Correct the spelling or delete the row."),
            ))
            continue
        raw = row.values.get("value")
        if cells.is_blank(raw):
            raw = spec.default
        where = table.cell(row, "value")
        try:
            value = _parse_setting(spec.kind, raw)
        except CellValueError as exc:
            problems.append(Problem(where, f"{spec.key}: {exc}"))
            continue
        if isinstance(value, int) and (
            (spec.minimum is not None and value < spec.minimum)
            or (spec.maximum is not None and value > spec.maximum)
        ):
            problems.append(Problem(
                where,
                tr(f"{spec.key} er {value}", f"{spec.key} is {value}"),
                tr(f"Bruk et tall fra {spec.minimum} til {spec.maximum}.",
                   f"Use a number from {spec.minimum} to {spec.maximum}."),
            ))
            continue
        if value is not None and (value != () or spec.kind is SettingKind.DAY_LIST):  # «ingen» closed days
            values[spec.field] = value
    settings = replace(Settings(), **values)
    if settings.workday_end <= settings.workday_start:
        problems.append(Problem(
            SETTINGS.name,
            tr("Arbeidstid slutt er før arbeidstid start.", "Workday end is before workday start."),
            tr("Rett klokkeslettene.", "Correct the times."),
        ))
    return settings


def _parse_setting(kind: SettingKind, raw: Any) -> Any:
    if kind is SettingKind.DATE:
        return cells.as_date(raw)
    if kind is SettingKind.INT:
        return cells.as_int(raw)
    if kind is SettingKind.TIME:
        return cells.as_time(raw)
    if kind is SettingKind.INT_LIST:
        return cells.as_int_list(raw)
    if kind is SettingKind.DAY_LIST:
        return cells.as_day_list(raw)
    if kind is SettingKind.TIME_RANGE:
        return cells.as_time_range(raw)
    if kind is SettingKind.LANG:
        return cells.as_language(raw)
    return cells.as_text(raw)


def parse_master(raw: RawWorkbook) -> Master:
    """Parse every table of a raw workbook into a Master (pure; collects problems)."""
    problems: list[Problem] = []
    for schema in (s for s in raw.missing if not s.added_later):  # a later sheet: added on the next write
        problems.append(Problem(
            schema.name,
            tr(f"fant ikke tabellen «{schema.table}» (arket «{schema.name}»)",
               f"table «{schema.table}» (sheet «{schema.name}») not found"),
            tr("Lag arket på nytt fra en ny arbeidsbok (samtale init) og kopier inn radene.",
               "Recreate the sheet from a new workbook (samtale init) and copy the rows in."),
        ))
    for found in raw.tables.values():
        for header in found.missing_headers:
            problems.append(Problem(
                found.sheet_name,
                tr(f"kolonnen «{header}» mangler i tabellen {found.schema.table}",
                   f"column «{header}» is missing from table {found.schema.table}"),
                tr(f"Legg til en kolonne med overskriften «{header}».",
                   f"Add a column headed «{header}»."),
            ))
    master = Master(settings=parse_settings(raw.tables.get(SETTINGS.table), problems),
                        raw=raw, problems=problems)
    for schema, build in ((EMPLOYEES, _employee), (CONVERSATIONS, conversation_from_row),
                          (QUESTIONS, _question), (ACTIONS, _action), (ROOMS, _room)):
        table = raw.tables.get(schema.table)
        if table is None:
            continue
        parsers = _row_parsers(schema)
        for row in table.rows:
            item = build(_parse_cells(table, row, problems, parsers))
            if item is None:
                continue
            _store(master, schema, item)
    return master


def _store(master: Master, schema: Sheet, item: Any) -> None:
    # The first row with an ID wins; `check` reports the duplicates with both cells.
    if schema is EMPLOYEES:
        master.employees.setdefault(item.employee_id, item)
    elif schema is CONVERSATIONS:
        master.conversations.setdefault(item.conversation_id, item)
    elif schema is QUESTIONS:
        master.questions.append(item)
    elif schema is ACTIONS:
        master.actions.setdefault(item.action_id, item)
    elif schema is ROOMS:
        master.rooms.setdefault(item.key, item)


def _employee(p: dict[str, Any]) -> Employee | None:
    if not p.get("employee_id"):
        return None
    return Employee(
        employee_id=p["employee_id"],
        name=p.get("name") or "",
        email=p.get("email") or "",
        department=p.get("department") or "",
        title=p.get("title") or "",
        manager_id=p.get("manager_id") or "",
        active=p.get("active", True) is not False,
        language=p.get("language") or "nb",
        work_days=p.get("work_days") or (),
        away=p.get("away") or (),
    )


def conversation_from_row(p: dict[str, Any]) -> Conversation | None:
    if not p.get("conversation_id"):
        return None
    dates = ("invited", "prep_returned", "manager_prepared", "minutes_returned",
             "signed_employee", "signed_manager")
    return Conversation(
        conversation_id=p["conversation_id"],
        employee_id=p.get("employee_id") or "",
        manager_id=p.get("manager_id") or "",
        start=p.get("start"),
        end=p.get("end"),
        place=p.get("place") or "",
        cancelled=bool(p.get("cancelled")),
        cancel_reason=p.get("cancel_reason") or "",
        note=p.get("note") or "",
        replies=p.get("replies") or "",
        signed_employee_version=p.get("signed_employee_version") or "",
        signed_manager_version=p.get("signed_manager_version") or "",
        **{name: p.get(name) for name in dates},
    )


def _question(p: dict[str, Any]) -> Question | None:
    if not p.get("question_id"):
        return None
    topic = topic_for_label(p.get("topic") or "")
    return Question(
        question_id=p["question_id"],
        topic=topic.key if topic else "",
        text=p.get("text") or "",
        follow_ups=_lines(p.get("follow_ups")),
        text_en=p.get("text_en") or "",
        follow_ups_en=_lines(p.get("follow_ups_en")),
        mandatory=p.get("mandatory") is True,
        applies_to=p.get("applies_to") or "Alle",
        active=p.get("active", True) is not False,
    )


def _lines(value: str | None) -> tuple[str, ...]:
    """Follow-up questions: one a line, bullets and dashes dropped."""
    follow = (line.strip(" -•\t") for line in (value or "").splitlines())
    return tuple(f for f in follow if f)


def _action(p: dict[str, Any]) -> Action | None:
    if not p.get("action_id"):
        return None
    return Action(
        action_id=p["action_id"],
        conversation_id=p.get("conversation_id") or "",
        employee_id=p.get("employee_id") or "",
        description=p.get("description") or "",
        goal=p.get("goal") or "",
        owner=p.get("owner") or "",
        deadline=p.get("deadline"),
        status=p.get("status") or "Ikke startet",
        follow_up=p.get("follow_up"),
        source=p.get("source") or "",
    )


def _room(p: dict[str, Any]) -> Room | None:
    if not p.get("name"):
        return None
    return Room(name=p["name"], email=p.get("email") or "", active=p.get("active", True) is not False)


def cell_of(master: Master, table: str, key: str, field_name: str) -> str:
    """The address of a row's cell, e.g. «Samtaler!D5»; «Samtaler: <key>» when the row is not in the file."""
    raw = master.raw.tables.get(table) if master.raw else None
    if raw is not None and raw.schema.key is not None:
        for row in raw.rows:
            value = row.values.get(raw.schema.key)
            if value is not None and cells.as_id(value) == key:
                return raw.cell(row, field_name)
    return f"{TABLE_BY_NAME[table].name}: {key}"
