"""The Oversikt sheet: values per department and per manager on every write, one chart, old masters upgraded.

The numbers are read back with python-calamine (what Excel on the web and phone previews show: values,
no formulas to recalculate), the chart with openpyxl and the loss guard's inventory.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine as pc

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.overview import Overview, OverviewLine
from samtale_automation.domain.schema import (
    ACTIONS,
    CONVERSATIONS,
    EMPLOYEES,
    LOG,
    SETTING_BY_FIELD,
    SETTINGS,
    STATUS_LABELS,
)
from samtale_automation.workbook import loss_guard
from samtale_automation.workbook.overview import is_overview_chart, render_overview
from samtale_automation.workbook.read import read_workbook

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 1, 25, 9, 30, tzinfo=OSLO)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "release-0.1.0"
STATUS_HEADERS = list(STATUS_LABELS.values())
TAIL_HEADERS = ["Samtaler i alt", "Tiltak åpne", "Tiltak forfalt"]
STAFF = [  # id, name, department, manager
    ("1", "Åse Kjærstad", "Ledelse", ""),
    ("2", "Bjørn Sæther", "Salg", "1"),
    ("10", "Kari Nordmann", "Salg", "2"),
    ("11", "Ola Dunk", "Lager", "2"),
    ("12", "Siri Berg", "Lager", "1"),
]


# ---- reading the sheet back --------------------------------------------------------------

def overview_values(path: Path) -> list[list[Any]]:
    """The Oversikt sheet's cells as calamine reads them (values only)."""
    book = pc.CalamineWorkbook.from_path(str(path))
    try:
        return [list(row) for row in book.get_sheet_by_name("Oversikt").to_python(skip_empty_area=False)]
    finally:
        book.close()


def blocks(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Each block («Per avdeling», «Per leder») as {line name: {header: value}}, the Totalt line included."""
    rows = overview_values(path)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        if row and row[0] in ("Per avdeling", "Per leder"):
            headers = [str(h) for h in rows[index + 1]]
            lines: dict[str, dict[str, Any]] = {}
            for line in rows[index + 2:]:
                if not line or line[0] in ("", None):
                    break
                lines[str(line[0])] = {h: v for h, v in zip(headers[1:], line[1:], strict=False) if h}
                if line[0] == "Totalt":
                    break
            found[str(row[0])] = lines
    return found


def counts(line: dict[str, Any]) -> dict[str, int]:
    """A line's non-zero numbers by header (statuses, conversations, actions)."""
    return {header: int(value) for header, value in line.items() if value not in ("", None) and int(value)}


def the_chart(path: Path) -> Any:
    """The one chart openpyxl sees on Oversikt (after checking the package holds exactly one)."""
    assert loss_guard.inventory(path)["chart"] == 1
    charts = openpyxl.load_workbook(path)["Oversikt"]._charts
    assert len(charts) == 1
    return charts[0]


def chart_covers(path: Path, departments: list[str]) -> None:
    """The chart has one series per status column and its categories are exactly the department cells."""
    chart = the_chart(path)
    ws = openpyxl.load_workbook(path)["Oversikt"]
    assert len(chart.series) == len(STATUS_LABELS) == 8
    assert chart.grouping == "stacked" and chart.type == "bar"
    category_refs = {series.cat.strRef.f for series in chart.series}
    assert len(category_refs) == 1
    (ref,) = category_refs
    match = re.fullmatch(r"'Oversikt'!\$A\$(\d+)(?::\$A\$(\d+))?", ref)
    assert match, ref
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    assert [ws.cell(row, 1).value for row in range(first, last + 1)] == departments
    titles = [ws[series.tx.strRef.f.split("!")[1].replace("$", "")].value for series in chart.series]
    assert titles == STATUS_HEADERS
    for index, series in enumerate(chart.series):
        letter = chr(ord("B") + index)
        cells = f"${letter}${first}" + (f":${letter}${last}" if last > first else "")
        assert series.val.numRef.f == f"'Oversikt'!{cells}"


# ---- the folder and its writes ---------------------------------------------------------------

@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder just made by `samtale init`."""
    root = tmp_path / "firma"
    init_folder(root)
    return root


def commit(folder: Path, change: ChangeSet) -> None:
    """Commit one ChangeSet as a command would, and check it was written."""
    workspace = Workspace.open(folder, NOW)
    result = workspace.commit(change)
    assert result.blocked is None and workspace.pending() == [], result


def fill_staff(folder: Path) -> None:
    """Write 1: the staff (three departments, two managers) and the round's settings."""
    change = ChangeSet("test: staff")
    for emp_id, name, department, manager in STAFF:
        change.upsert(EMPLOYEES.table, emp_id, name=name, email=f"{emp_id}@firma.no", department=department,
                      manager_id=manager, active="Ja")
    change.upsert(SETTINGS.table, SETTING_BY_FIELD["round"].key, force=True, value="2027")
    change.upsert(SETTINGS.table, SETTING_BY_FIELD["period_start"].key, force=True, value=date(2027, 1, 11))
    change.upsert(SETTINGS.table, SETTING_BY_FIELD["period_end"].key, force=True, value=date(2027, 2, 26))
    commit(folder, change)


def test_init_makes_the_layout_with_one_chart(folder: Path) -> None:
    """Verify a new master's Oversikt has the title, the two blocks with their headers, the total and the chart."""
    master = folder / "samtaler.xlsx"
    rows = overview_values(master)
    assert rows[0][0] == "Oversikt"
    assert str(rows[1][0]).startswith("Oppdatert ")
    assert rows[2][0] == "Dager igjen av runden:" and rows[2][1] in ("", None)
    found = blocks(master)
    assert list(found) == ["Per avdeling", "Per leder"]
    assert found["Per avdeling"] == {"Totalt": dict.fromkeys(STATUS_HEADERS + TAIL_HEADERS, 0)}
    headers = next(row for row in rows if row[0] == "Avdeling")
    assert headers[1:12] == STATUS_HEADERS + TAIL_HEADERS
    chart_covers(master, ["Totalt"])  # no department yet: the chart shows the total
    wb = openpyxl.load_workbook(master)
    assert not [c for row in wb["Oversikt"].iter_rows() for c in row if c.data_type == "f"]
    assert wb["Oversikt"].column_dimensions["A"].width >= 24
    assert wb.sheetnames.index("Oversikt") == 1


def test_every_write_keeps_the_numbers_and_one_chart(folder: Path) -> None:
    """Verify after the staff and three more writes the numbers per department and manager, and one chart."""
    master = folder / "samtaler.xlsx"
    fill_staff(folder)
    found = blocks(master)
    assert list(found["Per avdeling"]) == ["Lager", "Ledelse", "Salg", "Totalt"]
    assert list(found["Per leder"]) == ["Bjørn Sæther", "Åse Kjærstad", "Totalt"]
    assert all(counts(line) == {} for block in found.values() for line in block.values())
    assert overview_values(master)[2][1] == 32  # 26 February − 25 January
    assert overview_values(master)[1][0] == "Oppdatert 25.01.2027 09:30"
    chart_covers(master, ["Lager", "Ledelse", "Salg"])

    # Write 2: the round's conversations.
    change = ChangeSet("test: conversations")
    change.upsert(CONVERSATIONS.table, "2027-2", employee_id="2", manager_id="1", invited=date(2027, 1, 4))
    change.upsert(CONVERSATIONS.table, "2027-10", employee_id="10", manager_id="2",
                  start=datetime(2027, 2, 1, 9, tzinfo=OSLO), end=datetime(2027, 2, 1, 10, 15, tzinfo=OSLO))
    change.upsert(CONVERSATIONS.table, "2027-11", employee_id="11", manager_id="2",
                  signed_employee=date(2027, 1, 20), signed_manager=date(2027, 1, 21))
    change.upsert(CONVERSATIONS.table, "2027-12", employee_id="12", manager_id="1", cancelled="Ja")
    commit(folder, change)
    found = blocks(master)
    departments, managers = found["Per avdeling"], found["Per leder"]
    assert counts(departments["Lager"]) == {"Signert": 1, "Avlyst": 1, "Samtaler i alt": 2}
    assert counts(departments["Salg"]) == {"Planlagt": 1, "Invitert": 1, "Samtaler i alt": 2}
    assert counts(departments["Ledelse"]) == {}
    assert counts(managers["Åse Kjærstad"]) == {"Invitert": 1, "Avlyst": 1, "Samtaler i alt": 2}
    assert counts(managers["Bjørn Sæther"]) == {"Planlagt": 1, "Signert": 1, "Samtaler i alt": 2}
    assert counts(departments["Totalt"]) == counts(managers["Totalt"]) == {
        "Planlagt": 1, "Invitert": 1, "Signert": 1, "Avlyst": 1, "Samtaler i alt": 4}
    chart_covers(master, ["Lager", "Ledelse", "Salg"])

    # Write 3: actions, and a new employee in a fourth department.
    change = ChangeSet("test: actions and a new department")
    change.upsert(EMPLOYEES.table, "13", name="Per Hansen", email="13@firma.no", department="Økonomi",
                  manager_id="1", active="Ja")
    for n, emp_id, status, deadline in ((1, "11", "Ikke startet", date(2027, 1, 10)),
                                        (2, "10", "Fullført", date(2027, 1, 10)),
                                        (3, "12", "Pågår", date(2027, 3, 1)),
                                        (4, "13", "Pågår", date(2027, 1, 20))):
        change.upsert(ACTIONS.table, f"2026-{emp_id}-{n}", conversation_id=f"2026-{emp_id}", employee_id=emp_id,
                      description=f"Tiltak {n}", status=status, deadline=deadline)
    commit(folder, change)
    found = blocks(master)
    departments, managers = found["Per avdeling"], found["Per leder"]
    assert list(departments) == ["Lager", "Ledelse", "Salg", "Økonomi", "Totalt"]
    assert (departments["Lager"]["Tiltak åpne"], departments["Lager"]["Tiltak forfalt"]) == (2, 1)
    assert (departments["Økonomi"]["Tiltak åpne"], departments["Økonomi"]["Tiltak forfalt"]) == (1, 1)
    assert (departments["Salg"]["Tiltak åpne"], departments["Salg"]["Tiltak forfalt"]) == (0, 0)
    assert (managers["Åse Kjærstad"]["Tiltak åpne"], managers["Åse Kjærstad"]["Tiltak forfalt"]) == (2, 1)
    assert (managers["Bjørn Sæther"]["Tiltak åpne"], managers["Bjørn Sæther"]["Tiltak forfalt"]) == (1, 1)
    assert (departments["Totalt"]["Tiltak åpne"], departments["Totalt"]["Tiltak forfalt"]) == (3, 2)
    chart_covers(master, ["Lager", "Ledelse", "Salg", "Økonomi"])  # the chart grew with the block

    # Write 4: the new employee moves to Lager and an action is done: back to three departments.
    change = ChangeSet("test: a move and a finished action")
    change.upsert(EMPLOYEES.table, "13", force=True, department="Lager")
    change.upsert(ACTIONS.table, "2026-11-1", force=True, status="Fullført")
    commit(folder, change)
    departments = blocks(master)["Per avdeling"]
    assert list(departments) == ["Lager", "Ledelse", "Salg", "Totalt"]
    assert (departments["Lager"]["Tiltak åpne"], departments["Lager"]["Tiltak forfalt"]) == (2, 1)
    assert (departments["Totalt"]["Tiltak åpne"], departments["Totalt"]["Tiltak forfalt"]) == (2, 1)
    chart_covers(master, ["Lager", "Ledelse", "Salg"])
    wb = openpyxl.load_workbook(master)
    assert not [c for row in wb["Oversikt"].iter_rows() for c in row if c.data_type == "f"]
    assert wb["Oversikt"].max_row == len(blocks(master)["Per leder"]) + 13  # nothing left over from write 3


def test_a_chart_a_person_moved_stays_where_they_put_it(folder: Path) -> None:
    """Verify the tool's chart is replaced where it stands (never a second), and a person's own chart stays."""
    from openpyxl.chart import PieChart, Reference

    master = folder / "samtaler.xlsx"
    wb = openpyxl.load_workbook(master)
    ws = wb["Oversikt"]
    ws._charts[0].anchor._from.col, ws._charts[0].anchor._from.row = 3, 30  # moved to D31
    own = PieChart()
    own.add_data(Reference(wb["Ansatte"], min_col=1, min_row=1, max_row=3), titles_from_data=True)
    ws.add_chart(own, "A40")
    wb.save(master)
    assert loss_guard.inventory(master)["chart"] == 2
    fill_staff(folder)
    assert loss_guard.inventory(master)["chart"] == 2
    charts = openpyxl.load_workbook(master)["Oversikt"]._charts
    ours = [chart for chart in charts if is_overview_chart(chart)]
    assert len(ours) == 1 and len(charts) == 2
    assert (ours[0].anchor._from.col, ours[0].anchor._from.row) == (3, 30)
    assert ours[0].series[0].cat.strRef.f == "'Oversikt'!$A$7:$A$9"


def test_english_workbook_texts(tmp_path: Path) -> None:
    """Verify `init --lang en` writes the sheet's texts in English; the status labels stay the Status column's."""
    init_folder(tmp_path / "en", lang="en")
    rows = overview_values(tmp_path / "en" / "samtaler.xlsx")
    assert rows[0][0] == "Overview" and str(rows[1][0]).startswith("Updated ")
    assert rows[2][0] == "Days left in the round:"
    assert [row[0] for row in rows if row and row[0] in ("By department", "By manager")] == ["By department",
                                                                                            "By manager"]
    header = next(row for row in rows if row[0] == "Department")
    assert header[1:12] == [*STATUS_HEADERS, "All conversations", "Actions open", "Actions overdue"]
    assert "Total" in [row[0] for row in rows]


def test_rendering_twice_in_one_session_keeps_one_chart(folder: Path) -> None:
    """Verify writing the overview twice into an open workbook leaves one chart and only the new lines."""
    wb = openpyxl.load_workbook(folder / "samtaler.xlsx")
    many = Overview("nb", "2027", NOW, 5, tuple(OverviewLine(f"Avd {n}") for n in range(6)))
    render_overview(wb, many)
    render_overview(wb, Overview("nb", "2027", NOW, 5, (OverviewLine("Eneste"),), total=OverviewLine("Totalt")))
    ws = wb["Oversikt"]
    assert len(ws._charts) == 1
    assert ws._charts[0].series[0].cat.strRef.f == "'Oversikt'!$A$7"
    assert [ws.cell(row, 1).value for row in range(7, 9)] == ["Eneste", "Totalt"]
    assert ws["A1"].value == "Oversikt – samtalerunde 2027"


def test_a_name_that_looks_like_a_formula_is_text(folder: Path) -> None:
    """Verify a department named «=1+1» is written as text, never as a formula."""
    change = ChangeSet("test: odd name")
    change.upsert(EMPLOYEES.table, "1", name="A", email="a@firma.no", department="=1+1", active="Ja")
    commit(folder, change)
    ws = openpyxl.load_workbook(folder / "samtaler.xlsx")["Oversikt"]
    assert ws["A7"].value == "=1+1" and ws["A7"].data_type == "s"


# ---- a master made by release 0.1.0 -------------------------------------------------------

def test_an_old_master_gets_the_new_overview_on_its_next_write(tmp_path: Path) -> None:
    """Verify the 0.1.0 master's formulas on Oversikt are gone after one write, with values, a chart and a log line."""
    folder = tmp_path / "gammel"
    shutil.copytree(FIXTURE, folder)
    master = folder / "samtaler.xlsx"
    old = openpyxl.load_workbook(master)["Oversikt"]
    assert any(c.data_type == "f" for row in old.iter_rows() for c in row), "the fixture has the old formulas"
    assert loss_guard.inventory(master)["chart"] == 0
    change = ChangeSet("test: a note")
    change.upsert(CONVERSATIONS.table, "2027-2004", note="Flyttet etter ønske")
    workspace = Workspace.open(folder, datetime(2027, 1, 20, 18, 0, tzinfo=OSLO))
    result = workspace.commit(change)
    assert workspace.pending() == []
    assert "Oversikt: tall og diagram i stedet for formler" in result.upgraded
    ws = openpyxl.load_workbook(master)["Oversikt"]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    found = blocks(master)
    assert list(found["Per avdeling"]) == ["Lønn", "Regnskap", "Totalt"]
    assert list(found["Per leder"]) == ["Åse Kjærstad", "Totalt"]
    conversations = [r for r in read_workbook(master).tables[CONVERSATIONS.table].rows
                     if str(r.values["conversation_id"]).startswith("2027-")]
    assert found["Per avdeling"]["Totalt"]["Samtaler i alt"] == len(conversations) == 4
    assert sum(found["Per avdeling"]["Totalt"][label] for label in STATUS_HEADERS) == 4
    chart_covers(master, ["Lønn", "Regnskap"])
    log = [row.values for row in read_workbook(master).tables[LOG.table].rows]
    assert any("Oversikt" in (value.get("result") or "") for value in log
               if value.get("event") == "Arbeidsboken oppgradert")
    # The second write finds nothing to upgrade.
    again = ChangeSet("test: another note")
    again.upsert(CONVERSATIONS.table, "2027-2004", note="Flyttet igjen")
    assert workspace.commit(again).upgraded == []
    chart_covers(master, ["Lønn", "Regnskap"])


# ---- LibreOffice ------------------------------------------------------------------------------

@pytest.mark.libreoffice
def test_libreoffice_prints_the_numbers(folder: Path, tmp_path: Path,
                                        soffice_convert: Callable[[Path, str, Path], Path]) -> None:
    """Verify `soffice --convert-to pdf` of the master succeeds and the Oversikt page shows the numbers."""
    fill_staff(folder)
    change = ChangeSet("test: conversations")
    change.upsert(CONVERSATIONS.table, "2027-10", employee_id="10", manager_id="2", invited=date(2027, 1, 4))
    change.upsert(CONVERSATIONS.table, "2027-11", employee_id="11", manager_id="2", cancelled="Ja")
    change.upsert(CONVERSATIONS.table, "2027-12", employee_id="12", manager_id="1", invited=date(2027, 1, 4))
    commit(folder, change)
    pdf = soffice_convert(folder / "samtaler.xlsx", "pdf", tmp_path / "pdf")
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                          check=True)
    page = next(p for p in done.stdout.split("\f") if "Per avdeling" in p)
    assert "Dager igjen av runden:" in page and "32" in page
    lines: dict[str, list[str]] = {}
    for line in page.splitlines():  # the chart's labels stand beside the rows: take the table's first 12 words
        words = line.split()
        if len(words) >= 12:
            lines.setdefault(words[0], words[1:12])
    # Lager: one invited, one cancelled; Salg: one invited (the columns: 8 statuses, in all, open, overdue).
    assert lines["Lager"] == ["0", "0", "1", "0", "0", "0", "0", "1", "2", "0", "0"], page
    assert lines["Salg"] == ["0", "0", "1", "0", "0", "0", "0", "0", "1", "0", "0"], page
    assert lines["Ledelse"] == ["0"] * 11, page
    assert lines["Totalt"] == ["0", "0", "2", "0", "0", "0", "0", "1", "3", "0", "0"], page


@pytest.mark.libreoffice
def test_a_master_saved_by_libreoffice_keeps_one_chart(folder: Path, tmp_path: Path,
                                                      soffice_convert: Callable[[Path, str, Path], Path]) -> None:
    """Verify the chart as another program saved it (unquoted sheet name, two-cell anchor) is still found and
    replaced on the next write: one chart, its ranges fitted to the new number of departments."""
    fill_staff(folder)
    master = folder / "samtaler.xlsx"
    resaved = soffice_convert(master, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    shutil.copyfile(resaved, master)
    assert loss_guard.inventory(master)["chart"] == 1
    change = ChangeSet("test: a fourth department")
    change.upsert(EMPLOYEES.table, "13", name="Per Hansen", email="13@firma.no", department="Økonomi",
                  manager_id="1", active="Ja")
    commit(folder, change)
    chart_covers(master, ["Lager", "Ledelse", "Salg", "Økonomi"])
