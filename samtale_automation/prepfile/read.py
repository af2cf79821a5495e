"""Read a returned prep/minutes file into a ReturnedFile, or reject it with a reason (DESIGN.md §5, §11).

The package is checked first (prepfile/untrusted_xlsx.py: kind, size, zip limits, sheet extent;
prepfile/untrusted_xml.py: no DTD in any encoding), then python-calamine reads the cell values,
and the defined names written by prepfile/write.py say where each input region is; a region
larger than the form's (prepfile/names.py REGION_LIMITS) is refused, and one reaching past the
sheet's last row is read only as far as the sheet goes. A file is rejected (RejectedFile,
quarantined by the caller) when it is not a readable .xlsx, its identity is missing or does not
verify, its template version is unknown, it has more chosen questions than allowed, or its
minutes hold dates that are not dates or actions without description or deadline. Oddities that
do not stop it are listed in `ReturnedFile.problems`. Nothing but RejectedFile leaves
`read_returned`: an unexpected failure while reading one file (MemoryError, a bug) rejects that
file, never the run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import python_calamine

from samtale_automation.domain.cells import CellValueError, as_date, as_id, as_int, as_text, as_yes_no, is_blank
from samtale_automation.domain.prepsheet import (
    EMPLOYEE,
    KNOWN_TEMPLATE_VERSIONS,
    VARIANTS,
    Identity,
    ReturnedAction,
    ReturnedFile,
)
from samtale_automation.domain.schema import topic_for_label
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.identity import verify
from samtale_automation.prepfile.rejections import RejectedFile, reason
from samtale_automation.prepfile.untrusted_xlsx import (
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    Area,
    Package,
    open_package,
)
from samtale_automation.prepfile.untrusted_xml import PackageProblem
from samtale_automation.texts import tr

#: Earliest and latest date accepted in a date cell; anything else is a typing slip.
DATE_LIMITS = (date(2000, 1, 1), date(2100, 12, 31))
#: Rows read below the action table when people added rows right after it.
MAX_EXTRA_ACTION_ROWS = 200

EMPLOYEE_REGIONS = (pn.N_QUESTION_ID, pn.N_CHOOSE, pn.N_NOTES, pn.N_OTHER_TOPICS, pn.N_FEEDBACK_TO_LEADER,
                    *pn.MINUTES_NAMES)
MANAGER_REGIONS = (pn.N_MANAGER_VIEW, pn.N_FEEDBACK_TO_GIVE, pn.N_DEVELOPMENT_IDEAS, *pn.MINUTES_NAMES)
#: Every region the reader may read; a sheet is converted only down to the last row of these.
READ_REGIONS = frozenset((*EMPLOYEE_REGIONS, *MANAGER_REGIONS, pn.N_PAST_ACTION_ID, pn.N_ASSESSMENT))
#: Rows always converted (the identity sheet has no named regions and a dozen rows).
MIN_ROWS_READ = 100

T = TypeVar("T")
Grid = list[list[Any]]


def read_returned(source: Path | str | bytes, key: bytes, *, max_questions_default: int = 10) -> ReturnedFile:
    """Read a returned prep/minutes file (a path, or its bytes); raise RejectedFile with a reason when it
    cannot be accepted. Nothing else escapes: whatever goes wrong inside becomes a RejectedFile."""
    try:
        return _read(source, key, max_questions_default)
    except RejectedFile:
        raise
    except BaseException as exc:  # MemoryError, RecursionError, a Rust panic, a bug: this file only
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise RejectedFile(reason("read_error", detail=type(exc).__name__)) from None


def _read(source: Path | str | bytes, key: bytes, max_questions_default: int) -> ReturnedFile:
    data = source[:MAX_FILE_BYTES + 1] if isinstance(source, bytes) else _read_bytes(Path(source))
    try:
        package = open_package(data)
    except PackageProblem as problem:
        raise RejectedFile(reason(problem.kind, limit=_limit_of(problem.kind))) from None
    reader = _Reader(package, data)
    identity, limit, regions = reader.identity(key, max_questions_default)
    result = ReturnedFile(identity=identity, modified=package.modified(), modified_text=package.modified_text())
    for name in regions:
        if reader.area(name) is None:
            raise RejectedFile(reason("layout", name=name))
    if identity.variant == EMPLOYEE:
        reader.employee_prep(result, limit)
    else:
        result.manager_view = reader.text(pn.N_MANAGER_VIEW)
        result.feedback_to_give = reader.text(pn.N_FEEDBACK_TO_GIVE)
        result.development_ideas = reader.text(pn.N_DEVELOPMENT_IDEAS)
    reader.assessments(result)
    reader.minutes(result)
    return result


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            # Never more than the limit: a huge file is refused unread. Asking for no more than the
            # file holds keeps a small file from reserving the whole limit in memory.
            data = handle.read(min(os.fstat(handle.fileno()).st_size, MAX_FILE_BYTES) + 1)
    except OSError as exc:
        raise RejectedFile(reason("unreadable", detail=exc.strerror or type(exc).__name__)) from None
    return data


def _limit_of(kind: str) -> int:
    """The limit a size rejection names (MB for the file, entries for the zip)."""
    return {"too_large": MAX_FILE_BYTES // (1024 * 1024), "zip_entries": MAX_ENTRIES}.get(kind, 0)


class _Reader:
    """Cell values of one checked package, read through calamine one sheet at a time."""

    def __init__(self, package: Package, data: bytes) -> None:
        self.package = package
        self.grids: dict[str, Grid] = {}
        self.workbook = _guard(lambda: python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)))

    def grid(self, sheet: str) -> Grid:
        """All values of a sheet from A1 (cached); a missing sheet reads as empty."""
        if sheet not in self.grids:
            if sheet not in self.package.sheet_parts:
                self.grids[sheet] = []
            else:
                try:
                    self.package.check_sheet(sheet)
                except PackageProblem as problem:
                    raise RejectedFile(reason(problem.kind)) from None
                rows = self._rows_needed(sheet)
                self.grids[sheet] = _guard(
                    lambda: self.workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=rows))
        return self.grids[sheet]

    def _rows_needed(self, sheet: str) -> int:
        """How many rows of a sheet reading can touch: to the last row of a region read on it, plus the
        rows people may add below the action table. A far-away cell costs no Python objects."""
        last = max((area.last_row for name in READ_REGIONS
                    if (area := self.area(name)) is not None and area.sheet == sheet), default=0)
        return max(MIN_ROWS_READ, last + MAX_EXTRA_ACTION_ROWS + 2)

    def area(self, name: str) -> Area | None:
        """A named region, refused when it spans more than the form's region can (prepfile/names.py)."""
        area = self.package.area(name)
        if area is not None:
            max_rows, max_columns = pn.REGION_LIMITS.get(name, pn.ONE_CELL)
            if area.rows > max_rows or area.columns > max_columns:
                raise RejectedFile(reason("region_too_big", name=name, rows=area.rows, columns=area.columns))
        return area

    def value(self, sheet: str, row: int, col: int) -> Any:
        """One cell's value; '' outside the sheet's data."""
        return _at(self.grid(sheet), row, col)

    def column(self, area: Area, rows: list[int], col: int | None = None) -> list[Any]:
        """The values of one column of `area` (its first unless given) in the given rows."""
        grid, col = self.grid(area.sheet), area.first_col if col is None else col
        return [_at(grid, row, col) for row in rows]

    def text(self, name: str) -> str:
        """The text of the first cell of a named region; '' when the name is absent."""
        area = self.area(name)
        return as_text(self.value(area.sheet, area.first_row, area.first_col)) if area else ""

    def identity(self, key: bytes, default_limit: int) -> tuple[Identity, int, tuple[str, ...]]:
        """Read, verify and check the identity sheet; return it with the choice limit and region names."""
        fields: dict[str, Any] = {}
        for row in self.grid(pn.IDENTITY_SHEET):
            if len(row) >= 2 and not is_blank(row[0]):
                fields.setdefault(as_text(row[0]), row[1])
        required = (pn.ID_CONVERSATION, pn.ID_EMPLOYEE, pn.ID_VARIANT, pn.ID_ROUND, pn.ID_TEMPLATE, pn.ID_MAC)
        if any(is_blank(fields.get(k)) for k in required):
            raise RejectedFile(reason("identity_missing"))
        identity = Identity(as_id(fields[pn.ID_CONVERSATION]), as_id(fields[pn.ID_EMPLOYEE]),
                            as_text(fields[pn.ID_VARIANT]), as_text(fields[pn.ID_ROUND]),
                            as_text(fields[pn.ID_TEMPLATE]))
        if not verify(identity, as_text(fields[pn.ID_MAC]), key) or identity.variant not in VARIANTS:
            raise RejectedFile(reason("identity_invalid"))
        if identity.template_version not in KNOWN_TEMPLATE_VERSIONS:
            raise RejectedFile(reason("template_unknown", version=identity.template_version))
        try:
            limit = as_int(fields.get(pn.ID_MAX_CHOICES)) or default_limit
        except CellValueError:
            limit = default_limit
        listed = as_text(fields.get(pn.ID_REGIONS))
        regions = tuple(n.strip() for n in listed.split(",") if n.strip()) if listed else (
            EMPLOYEE_REGIONS if identity.variant == EMPLOYEE else MANAGER_REGIONS)
        return identity, limit, regions

    def _rows(self, name: str) -> list[int]:
        """The rows of a named region that hold anything: rows below the sheet's last one read as empty."""
        area = self.area(name)
        if area is None:
            return []
        return list(range(area.first_row, min(area.last_row, len(self.grid(area.sheet)) - 1) + 1))

    def employee_prep(self, result: ReturnedFile, limit: int) -> None:
        """Chosen questions and notes from the menu; other topics and feedback to the leader."""
        ids, choose, notes = (self.area(n) for n in (pn.N_QUESTION_ID, pn.N_CHOOSE, pn.N_NOTES))
        if ids is not None and choose is not None and notes is not None:
            rows = self._rows(pn.N_QUESTION_ID)
            # Choices and notes are read in the ID column's rows: the three names cover the same rows.
            for id_value, raw, note_value in zip(self.column(ids, rows), self.column(choose, rows),
                                                 self.column(notes, rows), strict=True):
                qid = _fast_id(id_value)
                if not qid:
                    continue  # a topic heading row
                if qid in result.notes or qid in result.chosen:
                    result.problems.append(tr(f"Spørsmål {qid} står to ganger; bare det første er lest.",
                                              f"Question {qid} appears twice; only the first was read."))
                    continue
                try:
                    chosen = raw != "" and as_yes_no(raw, False)
                except CellValueError:
                    chosen = False
                    result.problems.append(tr(
                        f"Spørsmål {qid}: «{as_text(raw)}» i Velg er verken Ja eller Nei; regnet som ikke valgt.",
                        f"Question {qid}: «{as_text(raw)}» in Choose is neither Yes nor No; taken as not chosen."))
                note = as_text(note_value) if note_value != "" else ""  # most notes are empty: skip the parser
                if chosen:
                    result.chosen.append(qid)
                if note:
                    result.notes[qid] = note
                    if not chosen:
                        result.problems.append(tr(
                            f"Spørsmål {qid} har notater, men er ikke valgt; notatene er tatt med likevel.",
                            f"Question {qid} has notes but is not chosen; the notes were kept anyway."))
        if len(result.chosen) > limit:
            raise RejectedFile(reason("too_many_choices", count=len(result.chosen), limit=limit,
                                       extra=len(result.chosen) - limit))
        result.other_topics = self.text(pn.N_OTHER_TOPICS)
        result.feedback_to_leader = self.text(pn.N_FEEDBACK_TO_LEADER)

    def assessments(self, result: ReturnedFile) -> None:
        """Own assessments of last round's actions, by action ID."""
        ids, cells = self.area(pn.N_PAST_ACTION_ID), self.area(pn.N_ASSESSMENT)
        if ids is None or cells is None:
            return
        rows = self._rows(pn.N_PAST_ACTION_ID)
        for id_value, value in zip(self.column(ids, rows), self.column(cells, rows), strict=True):
            action_id, assessment = as_id(id_value), as_text(value)
            if action_id and assessment:
                result.assessments[action_id] = assessment

    def minutes(self, result: ReturnedFile) -> None:
        """Summaries per topic, agreed actions, private note and sign-off; reject on bad rows or dates."""
        errors: list[str] = []
        summary = self.area(pn.N_SUMMARY)
        rows = self._rows(pn.N_SUMMARY)
        labels = self.column(summary, rows, summary.first_col - 1) if summary else []
        values = self.column(summary, rows) if summary else []
        for row, label, raw in zip(rows, labels, values, strict=True):
            value, topic = as_text(raw), topic_for_label(as_text(label))
            if value and topic is None:
                result.problems.append(tr(
                    f"Sammendraget i rad {row + 1} står ikke ved et kjent tema; det er ikke lest.",
                    f"The summary in row {row + 1} is not next to a known topic; it was not read."))
            elif value and topic is not None:
                result.summaries[topic.key] = value
        actions = self.area(pn.N_ACTIONS)
        if actions is not None:
            for row in self._action_rows(actions):
                action = self._action(actions, row, errors)
                if action is not None:
                    result.actions.append(action)
        result.private_note = self.text(pn.N_PRIVATE_NOTE)
        result.signed_employee_name = self.text(pn.N_SIGN_EMPLOYEE_NAME)
        result.signed_manager_name = self.text(pn.N_SIGN_MANAGER_NAME)
        result.signed_employee_date = self._date_at(pn.N_SIGN_EMPLOYEE_DATE, errors, tr(
            "signeringsdatoen for medarbeideren", "the employee's sign-off date"))
        result.signed_manager_date = self._date_at(pn.N_SIGN_MANAGER_DATE, errors, tr(
            "signeringsdatoen for lederen", "the manager's sign-off date"))
        if errors:
            raise RejectedFile(reason("minutes", items="; ".join(errors)))

    def _action_rows(self, area: Area) -> list[int]:
        """The rows of the named action table, plus rows people added right below it."""
        rows = list(range(area.first_row, min(area.last_row, len(self.grid(area.sheet)) - 1) + 1))
        # Rows inserted inside the table widen the name; rows added just below it do not, so read
        # on until the first empty row (the table is followed by one) or the next named region.
        others = [a.first_row for n in self.package.names if n != pn.N_ACTIONS
                  for a in [self.package.area(n)] if a and a.sheet == area.sheet and a.first_row > area.last_row]
        stop = min([*others, area.last_row + 1 + MAX_EXTRA_ACTION_ROWS])
        for row in range(area.last_row + 1, stop):
            if all(is_blank(v) for v in self._action_values(area, row)):
                break
            rows.append(row)
        return rows

    def _action_values(self, area: Area, row: int) -> list[Any]:
        """Description, goal, owner, deadline and follow-up ('' in a file made before the follow-up column)."""
        grid = self.grid(area.sheet)
        width = pn.ACTION_COLUMNS if area.columns >= pn.ACTION_COLUMNS else pn.OLD_ACTION_COLUMNS
        values = [_at(grid, row, area.first_col + c) for c in range(width)]
        return values + [""] * (pn.ACTION_COLUMNS - width)

    def _action(self, area: Area, row: int, errors: list[str]) -> ReturnedAction | None:
        description, goal, owner, deadline_raw, follow_raw = self._action_values(area, row)
        if all(is_blank(v) for v in (description, goal, owner, deadline_raw, follow_raw)):
            return None
        line = row + 1
        if is_blank(description):
            errors.append(tr(f"tiltaket i rad {line} mangler beskrivelse",
                             f"the action in row {line} has no description"))
        deadline = self._date(deadline_raw, errors, tr(f"fristen i rad {line}", f"the deadline in row {line}"))
        if is_blank(deadline_raw):
            errors.append(tr(f"tiltaket i rad {line} mangler frist", f"the action in row {line} has no deadline"))
        follow_up = self._date(follow_raw, errors, tr(f"oppfølgingsdatoen i rad {line}",
                                                        f"the follow-up date in row {line}"))
        return ReturnedAction(as_text(description), as_text(goal), as_text(owner), deadline, line, follow_up)

    def _date_at(self, name: str, errors: list[str], what: str) -> date | None:
        area = self.area(name)
        return self._date(self.value(area.sheet, area.first_row, area.first_col), errors, what) if area else None

    @staticmethod
    def _date(raw: Any, errors: list[str], what: str) -> date | None:
        try:
            value = as_date(raw)
        except CellValueError:
            value = DATE_LIMITS[0].replace(year=1)  # fails the range check below
        if value is not None and not DATE_LIMITS[0] <= value <= DATE_LIMITS[1]:
            errors.append(tr(f"{what} («{as_text(raw)}») er ikke en dato", f"{what} («{as_text(raw)}») is not a date"))
            return None
        return value


def _fast_id(value: Any) -> str:
    """as_id, with a shortcut for the common cell: text (as written) or empty."""
    if value.__class__ is str and "." not in value and "\n" not in value:  # else as_id decides («12.0», lines)
        return " ".join(value.split())
    return as_id(value)


def _at(grid: Grid, row: int, col: int) -> Any:
    """One value of a grid; '' outside it (calamine stops at the last cell with data)."""
    if 0 <= row < len(grid):
        line = grid[row]
        if 0 <= col < len(line):
            return line[col]
    return ""


def _guard(call: Callable[[], T]) -> T:
    """Run a calamine call; any failure of the library means the file is damaged."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pyo3 turns Rust panics into PanicException, a BaseException
        raise RejectedFile(reason("damaged")) from None
