"""`samtale check`: every problem in the workbook and settings at once, each with cell and fix.

Pure over the register (plus the raw rows for cell addresses); nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from samtale_automation.domain import cells
from samtale_automation.domain.master import Master, cell_of
from samtale_automation.domain.rows import RawRow, RawTable
from samtale_automation.domain.schema import (
    ACTION_STATUSES,
    ACTIONS,
    CONVERSATIONS,
    EMPLOYEES,
    QUESTIONS,
    ROOMS,
    SETTING_BY_FIELD,
    SETTINGS,
    Kind,
    Sheet,
    topic_for_label,
)
from samtale_automation.errors import WARNING, Problem
from samtale_automation.plans.schedule_checks import schedule_problems
from samtale_automation.texts import count, tr


def _at(table: RawTable, row: RawRow, field_name: str, what: tuple[str, str], fix: tuple[str, str]) -> Problem:
    """A problem at one cell, with its text and fix in both languages (nb, en)."""
    return Problem(table.cell(row, field_name), tr(*what), tr(*fix))


USE_EMPLOYEE_ID = ("Bruk en AnsattID fra Ansatte.", "Use an AnsattID from Ansatte.")
CHOOSE_TOPIC = ("Velg et tema fra listen.", "Choose a topic from the list.")


def check_master(master: Master) -> list[Problem]:
    """Return every problem: parse problems first, then rule checks, sheet by sheet.

    Schedule warnings (`Problem.is_warning`) are in the list too; only the others are errors.
    """
    problems = list(master.problems)
    raw = master.raw
    if raw is None:
        return problems
    tables = raw.tables
    if EMPLOYEES.table in tables:
        problems += _check_employees(master, tables[EMPLOYEES.table])
    if CONVERSATIONS.table in tables:
        problems += _check_conversations(master, tables[CONVERSATIONS.table])
        problems += schedule_problems(master)  # times, rooms and lengths: errors and warnings
    if QUESTIONS.table in tables:
        problems += _check_questions(tables[QUESTIONS.table])
        problems += _english_missing(master, tables[QUESTIONS.table])
    if ACTIONS.table in tables:
        problems += _check_actions(master, tables[ACTIONS.table])
    problems += _check_round_period(master)
    for table in tables.values():
        problems += _check_formula_text(table)
    if ROOMS.table in tables:
        problems += _duplicates(tables[ROOMS.table], "name")
    problems += _upgrade_due(tables, raw.missing)
    return problems


def _upgrade_due(tables: dict[str, RawTable], missing_sheets: list[Sheet]) -> list[Problem]:
    """Columns and sheets this version adds to a master made by an earlier one: said, and added on the next write."""
    found = [Problem(schema.name, tr(
        f"arbeidsboken er laget av en eldre versjon av samtale; arket «{schema.name}» legges til ved neste skriving",
        f"the workbook was made by an earlier version of samtale; the sheet «{schema.name}» is added on the next "
        "write"), tr("Ingenting å gjøre: det skjer av seg selv.", "Nothing to do: it happens by itself."),
        severity=WARNING) for schema in missing_sheets if schema.added_later]
    for table in tables.values():
        missing = [c.header for c in table.schema.columns if not c.required and c.field not in table.columns]
        if missing:
            names = ", ".join(f"«{header}»" for header in missing)
            found.append(Problem(table.sheet_name, tr(
                f"arbeidsboken er laget av en eldre versjon av samtale; kolonnene {names} legges til ved neste "
                "skriving", f"the workbook was made by an earlier version of samtale; the columns {names} are "
                "added on the next write"), tr("Ingenting å gjøre: det skjer av seg selv. Er kolonnen ved siden av "
                "tabellen i bruk, flytt det som står der.", "Nothing to do: it happens by itself. If the column "
                "beside the table is in use, move what is there."), severity=WARNING))
    return found


def _duplicates(table: RawTable, field_name: str) -> Iterable[Problem]:
    seen: dict[str, RawRow] = {}
    for row in table.rows:
        key = cells.as_id(row.values.get(field_name))
        if not key:
            continue
        if key in seen:
            yield Problem(table.cell(row, field_name),
                          tr(f"{table.schema.header(field_name)} «{key}» finnes også i "
                             f"{table.cell(seen[key], field_name)}",
                             f"{table.schema.header(field_name)} «{key}» also appears in "
                             f"{table.cell(seen[key], field_name)}"),
                          tr("Gi hver rad sin egen ID.", "Give every row an ID of its own."))
        else:
            seen[key] = row


def _first_rows(table: RawTable, field_name: str) -> list[RawRow]:
    """The rows the register keeps: the first row of each ID (duplicates are reported apart).

    A later row with the same ID is not in the register, so checking it against the first
    row's values would report the first row's problems at the duplicate's cells.
    """
    seen: set[str] = set()
    first: list[RawRow] = []
    for row in table.rows:
        key = cells.as_id(row.values.get(field_name))
        if key and key not in seen:
            seen.add(key)
            first.append(row)
    return first


def _missing_id(table: RawTable) -> Iterable[Problem]:
    key = table.schema.key
    assert key is not None
    for row in table.rows:
        if cells.is_blank(row.values.get(key)):
            header = table.schema.header(key)
            yield Problem(table.cell(row, key), tr(f"raden mangler {header}", f"the row has no {header}"),
                          tr(f"Fyll inn {header}, eller slett raden.", f"Fill in {header}, or delete the row."))


def _check_employees(master: Master, table: RawTable) -> list[Problem]:
    problems = [*_missing_id(table), *_duplicates(table, "employee_id")]
    employees = master.employees
    managers = {e.manager_id for e in employees.values() if e.manager_id}
    emails: dict[str, RawRow] = {}
    for row in _first_rows(table, "employee_id"):
        emp_id = cells.as_id(row.values.get("employee_id"))
        employee = employees.get(emp_id)
        if employee is None:
            continue
        if not employee.name:
            problems.append(Problem(table.cell(row, "name"), tr(f"{emp_id} mangler navn", f"{emp_id} has no name"),
                                    tr("Fyll inn navnet.", "Fill in the name.")))
        if not employee.email:
            problems.append(Problem(table.cell(row, "email"),
                                    tr(f"{employee.name or emp_id} mangler e-post",
                                       f"{employee.name or emp_id} has no e-mail"),
                                    tr("Fyll inn jobbadressen.", "Fill in the work address.")))
        elif not cells.is_email(employee.email):
            problems.append(Problem(table.cell(row, "email"),
                                    tr(f"«{employee.email}» er ikke en gyldig e-postadresse",
                                       f"«{employee.email}» is not a valid e-mail address"),
                                    tr("Skriv én adresse, f.eks. ola.nordmann@firma.no.",
                                       "Write one address, e.g. ola.nordmann@company.no.")))
        else:
            folded = employee.email.casefold()
            if folded in emails and emails[folded] is not row:
                other = table.cell(emails[folded], "email")
                problems.append(_at(table, row, "email",
                                    (f"e-posten {employee.email} brukes også i {other}",
                                     f"e-mail {employee.email} is also used in {other}"),
                                    ("Hver ansatt trenger sin egen adresse.", "Each person needs their own address.")))
            emails.setdefault(folded, row)
        if not employee.active:
            continue
        manager_id = employee.manager_id
        if not manager_id:
            if emp_id not in managers:
                problems.append(Problem(table.cell(row, "manager_id"),
                                        tr(f"{employee.name} har ingen leder", f"{employee.name} has no manager"),
                                        tr("Skriv AnsattID til nærmeste leder i Leder.",
                                           "Write the manager's AnsattID in Leder.")))
            continue
        manager = employees.get(manager_id)
        if manager is None:
            problems.append(Problem(table.cell(row, "manager_id"),
                                    tr(f"lederen «{manager_id}» til {employee.name} finnes ikke i Ansatte",
                                       f"manager «{manager_id}» of {employee.name} is not in Ansatte"),
                                    tr(*USE_EMPLOYEE_ID)))
        elif manager_id == emp_id:
            problems.append(_at(table, row, "manager_id",
                                (f"{employee.name} står som sin egen leder", f"{employee.name} is their own manager"),
                                ("Skriv AnsattID til nærmeste leder.", "Write the manager's AnsattID.")))
        elif not manager.active:
            problems.append(Problem(table.cell(row, "manager_id"),
                                    tr(f"lederen til {employee.name}, {manager.name}, er ikke aktiv",
                                       f"{employee.name}'s manager, {manager.name}, is not active"),
                                    tr("Velg en aktiv leder, eller sett lederen aktiv.",
                                       "Choose an active manager, or make the manager active.")))
    problems += _manager_loops(master, table)
    return problems


def _manager_loops(master: Master, table: RawTable) -> list[Problem]:
    """Report each cycle in the manager chain once (a reports to b reports to a)."""
    employees = master.employees
    rows = {cells.as_id(r.values.get("employee_id")): r for r in _first_rows(table, "employee_id")}
    reported: set[str] = set()
    problems: list[Problem] = []
    for start in employees:
        path: list[str] = []
        current = start
        while current in employees and current not in path:
            path.append(current)
            current = employees[current].manager_id
        if current in path:
            cycle = path[path.index(current):]
            if len(cycle) > 1 and not reported.intersection(cycle):
                reported.update(cycle)
                names = " → ".join(employees[i].name or i for i in [*cycle, cycle[0]])
                where = table.cell(rows[cycle[0]], "manager_id") if cycle[0] in rows else EMPLOYEES.name
                problems.append(Problem(where, tr(f"lederkjeden går i ring: {names}",
                                                  f"the manager chain loops: {names}"),
                                        tr("Rett Leder for en av dem.", "Correct Leder for one of them.")))
    return problems


def _check_conversations(master: Master, table: RawTable) -> list[Problem]:
    problems = [*_missing_id(table), *_duplicates(table, "conversation_id")]
    return problems + [problem for _cid, problem in _conversation_findings(master, table)]


def conversation_errors(master: Master) -> dict[str, list[Problem]]:
    """The conversations not to prepare or invite now: SamtaleID → the errors `check` reports on its row.

    Schedule errors (an overlap blocks both conversations), an ID not in Ansatte, half a time, a
    time outside the round, and an employee or manager whose e-mail is not an address. Warnings
    never block: HR may mean them.
    """
    from samtale_automation.plans.schedule_checks import blocking_conversations

    blocked: dict[str, list[Problem]] = {cid: list(found) for cid, found in blocking_conversations(master).items()}
    table = master.raw.tables.get(CONVERSATIONS.table) if master.raw else None
    if table is not None:
        for cid, problem in _conversation_findings(master, table):
            blocked.setdefault(cid, []).append(problem)
    for conv in master.conversations.values():
        for person_id in (conv.employee_id, conv.manager_id):
            person = master.employees.get(person_id)
            if person is not None and person.email and not cells.is_email(person.email):
                blocked.setdefault(conv.conversation_id, []).append(Problem(
                    cell_of(master, EMPLOYEES.table, person.employee_id, "email"),
                    tr(f"«{person.email}» er ikke en gyldig e-postadresse",
                       f"«{person.email}» is not a valid e-mail address"),
                    tr("Skriv én adresse, f.eks. ola.nordmann@firma.no.",
                       "Write one address, e.g. ola.nordmann@company.no.")))
    return blocked


def _conversation_findings(master: Master, table: RawTable) -> list[tuple[str, Problem]]:
    """Each conversation row's own errors, with its SamtaleID (the register's first row of each ID)."""
    found: list[tuple[str, Problem]] = []
    employees = master.employees
    period = master.current_round()
    for row in _first_rows(table, "conversation_id"):
        conv = master.conversations.get(cells.as_id(row.values.get("conversation_id")))
        if conv is None:
            continue
        cid = conv.conversation_id
        if conv.employee_id and conv.employee_id not in employees:
            found.append((cid, Problem(table.cell(row, "employee_id"),
                                       tr(f"ansatt «{conv.employee_id}» finnes ikke i Ansatte",
                                          f"employee «{conv.employee_id}» is not in Ansatte"),
                                       tr(*USE_EMPLOYEE_ID))))
        if conv.manager_id and conv.manager_id not in employees:
            found.append((cid, Problem(table.cell(row, "manager_id"),
                                       tr(f"leder «{conv.manager_id}» finnes ikke i Ansatte",
                                          f"manager «{conv.manager_id}» is not in Ansatte"),
                                       tr(*USE_EMPLOYEE_ID))))
        if bool(conv.start) != bool(conv.end) and not conv.cancelled:
            missing = "end" if conv.start else "start"
            found.append((cid, Problem(table.cell(row, missing),
                                       tr(f"{cid} har bare {'start' if conv.start else 'slutt'}",
                                          f"{cid} has only a {'start' if conv.start else 'end'}"),
                                       tr("Fyll inn både Start og Slutt.", "Fill in both Start and Slutt."))))
        if period.name and conv.round == period.name:
            for field_name in ("start", "end"):
                moment = getattr(conv, field_name)
                if moment and not period.contains(moment):
                    found.append((cid, Problem(
                        table.cell(row, field_name),
                        tr(f"{cid} er utenfor runden ({_period(master)})",
                           f"{cid} is outside the round ({_period(master)})"),
                        tr("Flytt samtalen inn i perioden, eller endre periodens datoer i Innstillinger.",
                           "Move the conversation into the period, or change the period in Innstillinger."))))
                    break
    return found


def _period(master: Master) -> str:
    start, end = master.settings.period_start, master.settings.period_end
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}" if start and end else (
        f"fra {start:%d.%m.%Y}" if start else f"til {end:%d.%m.%Y}" if end else "")


def _check_questions(table: RawTable) -> list[Problem]:
    problems = [*_missing_id(table), *_duplicates(table, "question_id")]
    for row in table.rows:
        topic = cells.as_text(row.values.get("topic"))
        if topic and topic_for_label(topic) is None:
            problems.append(_at(table, row, "topic", (f"ukjent tema «{topic}»", f"unknown topic «{topic}»"),
                                CHOOSE_TOPIC))
        elif not topic:
            problems.append(_at(table, row, "topic", ("spørsmålet mangler tema", "the question has no topic"),
                                CHOOSE_TOPIC))
        if cells.is_blank(row.values.get("text")):
            problems.append(_at(table, row, "text", ("spørsmålsteksten mangler", "the question text is missing"),
                                ("Skriv spørsmålet, eller slett raden.", "Write the question, or delete the row.")))
        scope = cells.as_text(row.values.get("applies_to"))
        kind = scope.partition(":")[0].strip().casefold()
        if scope and scope.casefold() not in ("alle", "all") and (
                kind not in ("avdeling", "stilling", "department", "title") or not scope.partition(":")[2].strip()):
            problems.append(Problem(table.cell(row, "applies_to"),
                                    tr(f"«{scope}» er ikke gyldig i Gjelder", f"«{scope}» is not valid in Gjelder"),
                                    tr("Skriv Alle, Avdeling:<navn> eller Stilling:<navn>.",
                                       "Write Alle, Avdeling:<name> or Stilling:<name>.")))
    return problems


def _english_missing(master: Master, table: RawTable) -> list[Problem]:
    """A warning naming the active questions without «Spørsmål (en)» when anyone reads in English (they get the
    Norwegian text for those); nothing before the column exists (the upgrade warning says it is coming)."""
    readers = [e for e in master.employees.values() if e.active and e.language == "en"]
    if not readers or "text_en" not in table.columns:
        return []
    missing = [q.question_id for q in master.questions if q.active and not q.text_en.strip()]
    if not missing:
        return []
    shown = ", ".join(missing[:15]) + (f" … (+{len(missing) - 15})" if len(missing) > 15 else "")
    column, follow = QUESTIONS.header("text_en"), QUESTIONS.header("follow_ups_en")
    return [Problem(f"{QUESTIONS.name} ({column})",
                    tr(f"{count(len(missing), 'aktivt spørsmål', 'aktive spørsmål', '', '')} mangler engelsk tekst "
                       f"({shown}); {count(len(readers), 'ansatt', 'ansatte', '', '')} med Språk = en får "
                       f"{'det' if len(missing) == 1 else 'dem'} på norsk",
                       f"{count(len(missing), '', '', 'active question has', 'active questions have')} no English "
                       f"text ({shown}); {count(len(readers), '', '', 'employee', 'employees')} with Språk = en get "
                       f"{'it' if len(missing) == 1 else 'them'} in Norwegian"),
                    tr(f"Skriv spørsmålet på engelsk i «{column}» (og hjelpespørsmålene i «{follow}»).",
                       f"Write the question in English in «{column}» (and its follow-ups in «{follow}»)."),
                    severity=WARNING)]


def _check_actions(master: Master, table: RawTable) -> list[Problem]:
    problems = [*_missing_id(table), *_duplicates(table, "action_id")]
    for row in _first_rows(table, "action_id"):
        action = master.actions.get(cells.as_id(row.values.get("action_id")))
        if action is None:
            continue
        if action.conversation_id and action.conversation_id not in master.conversations:
            problems.append(Problem(table.cell(row, "conversation_id"),
                                    tr(f"samtalen «{action.conversation_id}» finnes ikke i Samtaler",
                                       f"conversation «{action.conversation_id}» is not in Samtaler"),
                                    tr("Bruk en SamtaleID fra Samtaler.", "Use a SamtaleID from Samtaler.")))
        if action.status not in ACTION_STATUSES:
            choices = " / ".join(ACTION_STATUSES)
            problems.append(_at(table, row, "status",
                                (f"ukjent tiltaksstatus «{action.status}»", f"unknown action status «{action.status}»"),
                                (f"Velg {choices}.", f"Choose {choices}.")))
        if not action.description:
            problems.append(_at(table, row, "description",
                                ("tiltaket mangler beskrivelse", "the action has no description"),
                                ("Beskriv tiltaket.", "Describe the action.")))
    return problems


def _check_round_period(master: Master) -> list[Problem]:
    start, end = master.settings.period_start, master.settings.period_end
    if start and end and end < start:
        return [Problem(f"{SETTINGS.name} ({SETTING_BY_FIELD['period_end'].key})",
                        tr("periodens slutt er før starten", "the period ends before it starts"),
                        tr("Rett Periode start eller Periode slutt.", "Correct the period's start or end."))]
    return []


def _check_formula_text(table: RawTable) -> list[Problem]:
    problems = []
    text_fields = [c.field for c in table.schema.columns
                   if c.kind in (Kind.TEXT, Kind.EMAIL, Kind.ID, Kind.CHOICE) and c.field in table.columns]
    for row in table.rows:
        for field_name in text_fields:
            value = row.values.get(field_name)
            if cells.looks_like_formula(value):
                problems.append(Problem(table.cell(row, field_name),
                                        tr(f"«{value}» kan bli lest som en formel",
                                           f"«{value}» may be read as a formula"),
                                        tr("Fjern =, +, - eller @ først i cellen, eller skriv en apostrof foran.",
                                           "Remove the leading =, +, - or @, or type an apostrophe before it.")))
    return problems
