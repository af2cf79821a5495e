"""`samtale collect` with the hostile corpus (tests/hostile.py) among good files, in one run.

For every hostile file: quarantined with exactly its reason (or, for a saved time from outside any
sane bound, accepted with the arrival time and the reason noted), its bytes unchanged in karantene/
beside a note; the good files of the same run processed; the master workbook intact; the next
collect works. Odd file names from outside are quarantined or archived without breaking anything.
"""

from __future__ import annotations

import hashlib
import shutil
import tracemalloc
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hostile import SAVED_TIMES as SAVED_TIME_CASES
from hostile import Case, cases, with_saved

from samtale_automation import texts
from samtale_automation.commands import collect as collect_module
from samtale_automation.commands.collect import CollectResult, run_collect
from samtale_automation.commands.incoming import shown_name
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO
from samtale_automation.plans import consolidate
from samtale_automation.plans.consolidate import ACCEPTED, QUARANTINED, Decision
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.prepfile.fill import fill_employee, fill_minutes, saved_at
from samtale_automation.prepfile.rejections import reason

pytestmark = pytest.mark.usefixtures("nb_messages")

NOW = datetime(2027, 1, 20, 18, 0, tzinfo=OSLO)
MIB = 1024 * 1024
CSV = "AnsattID;Navn\n1;Åse\n".encode()
#: Names from outside: bytes that are not UTF-8, direction overrides, control characters, a device
#: name, 205 UTF-8 bytes, spaces, characters Windows forbids (two that clean up to the same name).
ODD_NAMES = ("rapport\udcff\udcfe.xlsx", "kari\u202eslx.exe.xlsx", "linje\nskift\x1b[31m.xlsx", "CON.xlsx",
             "ø" * 60 + "\U0001F600" * 20 + ".xlsx", "  mellomrom  .xlsx", "samme?.xlsx", "samme*.xlsx")
ACCEPTED_ODD_NAME = "Svar\u200f ✓ (endelig) [v2] #1 %20 \u202e.xlsx"


@dataclass
class Run:
    """One collect over good, hostile and oddly named files."""

    workspace: Workspace
    result: CollectResult
    before: Master
    files: dict[str, bytes]  # name in innkommende/ -> bytes
    hostile: dict[str, Case]  # name in innkommende/ -> case
    saved: dict[str, tuple[str, str]]  # name -> (employee, note phrase) for the saved-time cases
    heap_peak: int

    def decision(self, name: str) -> Decision:
        return next(d for d in self.plan_decisions() if d.arrival.name == shown_name(name))

    def plan_decisions(self) -> list[Decision]:
        assert self.result.plan is not None
        return self.result.plan.decisions

    def target(self, name: str) -> Path:
        [target] = [t for shown, t in self.result.moved if shown == shown_name(name)]
        return target


def _prep(ws: Workspace, employee: str, variant: str) -> Path:
    return next((ws.folder.root / "forberedelse" / "2027").rglob(f"{employee} * - {variant}.xlsx"))


def _filled(ws: Workspace, employee: str, out: Path) -> bytes:
    fill_employee(_prep(ws, employee, "forberedelse"), out, chosen=["S01", "S09"], notes={"S09": "Et notat"})
    return out.read_bytes()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A folder with 13 employees and their forms; then one collect over everything in innkommende/."""
    before_language = texts.language()
    texts.set_language("nb")
    root = tmp_path_factory.mktemp("collect-hostile")
    init_folder(root / "f")
    ws = Workspace.open(root / "f", NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    for n in range(2, 14):
        staff.upsert("Ansatte", str(n), name=f"Ansatt {n}", email=f"a{n}@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    run_prep(ws)
    incoming, scratch = ws.folder.root / "innkommende", root / "scratch"
    scratch.mkdir()
    files: dict[str, bytes] = {"2 forberedelse.xlsx": _filled(ws, "2", scratch / "2.xlsx")}
    workbook = openpyxl.load_workbook(_prep(ws, "3", "forberedelse"))
    fill_minutes(workbook, summaries={0: "Et godt år."}, actions=[("Kurs", "Lære", "Ansatt 3", date(2027, 3, 1))])
    workbook.save(scratch / "3.xlsx")
    files["3 referat.xlsx"] = (scratch / "3.xlsx").read_bytes()
    hostile = {f"h {case.name}.xlsx": case for case in cases(_filled(ws, "4", scratch / "4.xlsx"))
               if case.saved is None}
    files |= {name: case.data for name, case in hostile.items()}
    saved = {}
    for employee, (case, text, _, note) in zip(range(5, 12), SAVED_TIME_CASES, strict=True):
        name = f"{employee} {case}.xlsx"
        files[name] = with_saved(_filled(ws, str(employee), scratch / f"{employee}.xlsx"), text)
        saved[name] = (str(employee), note)
    files |= {name: CSV for name in ODD_NAMES}
    files[ACCEPTED_ODD_NAME] = _filled(ws, "12", scratch / "12.xlsx")
    for name, data in files.items():
        (incoming / name).write_bytes(data)
    before = ws.load()
    tracemalloc.start()
    result = run_collect(ws, who="test")
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    texts.set_language(before_language)
    return Run(ws, result, before, files, hostile, saved, heap_peak)


def test_every_file_was_decided_and_moved(run: Run) -> None:
    """Verify every file got one decision, left innkommende/ and sits in arkiv/ or karantene/."""
    assert sorted(d.arrival.name for d in run.plan_decisions()) == sorted(shown_name(n) for n in run.files)
    assert list((run.workspace.folder.root / "innkommende").iterdir()) == []
    assert len({t for _, t in run.result.moved}) == len(run.files)


def test_the_good_files_of_the_same_run_count(run: Run) -> None:
    """Verify the good prep and minutes among the hostile files are accepted and reach the workbook."""
    assert run.decision("2 forberedelse.xlsx").outcome == ACCEPTED
    assert run.decision("3 referat.xlsx").outcome == ACCEPTED
    master = run.workspace.load()
    assert master.conversations["2027-2"].prep_returned is not None
    assert master.conversations["2027-3"].minutes_returned is not None
    assert [a.description for a in master.actions.values()] == ["Kurs"]


HOSTILE_NAMES = list((
    "laughs_core_utf-8", "laughs_core_utf-8-bom", "laughs_core_utf-16-le-bom", "laughs_core_utf-16-be-bom",
    "laughs_core_utf-16-le", "laughs_core_utf-32-le-bom", "xxe_workbook_utf-8", "xxe_workbook_utf-8-bom",
    "xxe_workbook_utf-16-le-bom", "xxe_workbook_utf-16-be-bom", "xxe_workbook_utf-7", "laughs_sheet_utf-8",
    "laughs_sheet_utf-16-le-bom", "laughs_odd_spacing", "zip_bomb_sheet_2gib", "zip_bomb_sheet_lying_size",
    "zip_10000_entries", "zip_180_junk_parts", "zip_total_9mib", "zip_names_differing_in_case", "truncated_half",
    "truncated_last_bytes", "truncated_to_first_header", "legacy_xls", "encrypted_ole", "xlsb", "ods",
    "csv_renamed", "csv_utf16_renamed", "empty", "over_5_mib", "dimension_whole_sheet", "name_whole_sheet",
    "name_whole_sheet_on_identity", "name_unread_whole_sheet", "name_beyond_excel", "rows_100000",
    "rows_100000_empty", "cell_at_last_row", "cells_without_r", "rows_without_r", "r_single_quoted",
    "r_hidden_in_attribute", "sheet_at_every_limit", "sheet_at_every_limit_single_quotes", "shared_strings_60000",
    "hidden_limit_raised", "hidden_row_added", "visible_identity_changed"))


def test_the_corpus_is_the_listed_one(run: Run) -> None:
    """Verify every hostile case of the corpus is among those checked by name."""
    assert sorted(run.hostile) == sorted(f"h {n}.xlsx" for n in HOSTILE_NAMES)


def _assert_quarantined(run: Run, name: str, why: str) -> None:
    decision = run.decision(name)
    assert (decision.outcome, decision.reason) == (QUARANTINED, why)
    target = run.target(name)
    assert target.parent == run.workspace.folder.root / "karantene"
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(run.files[name]).digest()
    note = target.with_name(target.name + ".txt").read_text(encoding="utf-8")
    assert why in note and f"«{shown_name(name)}»" in note


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_hostile_file_is_quarantined_with_its_reason_or_read(run: Run, case: str) -> None:
    """Verify each hostile file is quarantined with exactly its reason, bytes unchanged, a note beside it;
    the few that are harmless (junk parts, an unread huge name) are archived."""
    name = f"h {case}.xlsx"
    hostile = run.hostile[name]
    if hostile.kind is None:
        decision = run.decision(name)
        assert decision.outcome != QUARANTINED and run.target(name).parent.parent.name == "2027"
    else:
        _assert_quarantined(run, name, reason(hostile.kind, **hostile.values))


@pytest.mark.parametrize("case", [name for name, *_ in SAVED_TIME_CASES])
def test_a_saved_time_out_of_bounds_counts_as_arrival_and_says_why(run: Run, case: str) -> None:
    """Verify a file saved in year 9999, 0001 or 2099, or at a garbage time, is accepted with its arrival
    (Oslo) day in the workbook and the reason in the decision and the Logg text."""
    [(name, (employee, note))] = [(n, v) for n, v in run.saved.items() if n.endswith(f" {case}.xlsx")]
    decision = run.decision(name)
    assert decision.outcome == ACCEPTED and decision.counts_prep
    assert note in decision.note and decision.reason == f"forberedelse registrert; {decision.note}"
    arrived = datetime.fromtimestamp(run.target(name).stat().st_mtime, OSLO)
    assert run.workspace.load().conversations[f"2027-{employee}"].prep_returned == arrived.date()


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_names_are_quarantined_safely(run: Run, name: str) -> None:
    """Verify files with odd names are quarantined under a safe name (at most 200 UTF-8 bytes, no control,
    direction or undecodable characters) with a readable note."""
    _assert_quarantined(run, name, reason("text"))
    target = run.target(name)
    assert len(target.name.encode("utf-8")) <= 200 and target.name.isprintable()


def test_an_odd_name_on_a_good_file_is_archived(run: Run) -> None:
    """Verify a good file with direction marks and odd characters in its name is accepted and archived."""
    assert run.decision(ACCEPTED_ODD_NAME).outcome == ACCEPTED
    target = run.target(ACCEPTED_ODD_NAME)
    assert target.parent == run.workspace.folder.root / "arkiv" / "2027" / "12" and target.name.isprintable()


def test_the_master_workbook_is_intact(run: Run) -> None:
    """Verify the workbook reads back with every conversation, and only the counted ones changed."""
    after = run.workspace.load()
    assert sorted(after.conversations) == sorted(run.before.conversations)
    assert sorted(after.employees) == sorted(run.before.employees)
    changed = {cid for cid in after.conversations if after.conversations[cid] != run.before.conversations[cid]}
    assert changed == {f"2027-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)}
    assert run.result.apply is not None and not run.workspace.pending()


def test_the_run_stays_within_memory(run: Run) -> None:
    """Verify the whole run's Python heap peak stays far from a bomb's (a generous bound, no timing)."""
    assert run.heap_peak < 200 * MIB


def test_the_next_collect_works(run: Run) -> None:
    """Verify a second collect runs cleanly: nothing new, nothing changed; a quarantined file put back is
    refused again with the same reason."""
    again = run_collect(run.workspace, who="test")
    assert again.plan is not None and again.plan.decisions == [] and not again.plan.changeset.changes
    back = run.workspace.folder.root / "innkommende" / "tilbake.xlsx"
    shutil.copy2(run.target("h laughs_core_utf-16-le-bom.xlsx"), back)
    third = run_collect(run.workspace, who="test")
    assert third.plan is not None
    assert [(d.arrival.name, d.reason) for d in third.plan.decisions] == [("tilbake.xlsx", reason("xml_unsafe"))]


# ---- failures inside one file's reading or planning -----------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Workspace:
    """A folder with two employees and their forms, and each one's prep filled in innkommende/."""
    init_folder(tmp_path / "f")
    ws = Workspace.open(tmp_path / "f", NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", active="Ja")
    for n in (2, 3):
        staff.upsert("Ansatte", str(n), name=f"Ansatt {n}", email=f"a{n}@firma.example", manager_id="1", active="Ja")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    run_prep(ws)
    for n in (2, 3):
        _filled(ws, str(n), ws.folder.root / "innkommende" / f"{n}.xlsx")
        saved_at(ws.folder.root / "innkommende" / f"{n}.xlsx", NOW)  # saved as the forms were made, in NOW's clock
    return ws


def test_a_file_whose_reading_raises_is_quarantined_and_the_run_goes_on(small: Workspace,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify an unexpected failure inside reading one file quarantines that file with a reason."""
    from samtale_automation.prepfile import read

    real = read.open_package

    def failing(data: bytes) -> object:
        if data == (small.folder.root / "innkommende" / "2.xlsx").read_bytes():
            raise MemoryError
        return real(data)

    monkeypatch.setattr(read, "open_package", failing)
    result = run_collect(small, who="test")
    assert result.plan is not None
    assert {d.arrival.name: (d.outcome, d.reason) for d in result.plan.decisions} == {
        "2.xlsx": (QUARANTINED, reason("read_error", detail="MemoryError")),
        "3.xlsx": (ACCEPTED, "forberedelse registrert")}
    assert small.load().conversations["2027-3"].prep_returned is not None


def test_a_file_whose_planning_raises_is_quarantined_and_the_run_goes_on(small: Workspace,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a failure while planning one file quarantines that file; the other is planned and recorded."""
    real = consolidate._decide

    def failing(master: Master, arrival: consolidate.Arrival, seen: set[str]) -> Decision:
        if arrival.name == "2.xlsx" and arrival.returned is not None:
            raise OverflowError("date value out of range")
        return real(master, arrival, seen)

    monkeypatch.setattr(consolidate, "_decide", failing)
    result = run_collect(small, who="test")
    assert result.plan is not None
    assert {d.arrival.name: (d.outcome, d.reason) for d in result.plan.decisions} == {
        "2.xlsx": (QUARANTINED, reason("plan_error", detail="OverflowError")),
        "3.xlsx": (ACCEPTED, "forberedelse registrert")}
    assert (small.folder.root / "karantene").is_dir() and small.load().conversations["2027-3"].prep_returned


def test_a_file_over_the_limit_is_not_held_in_memory(small: Workspace) -> None:
    """Verify a 64 MiB file in innkommende/ is quarantined as too large, read only up to the limit."""
    big = small.folder.root / "innkommende" / "stor.xlsx"
    with big.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(64 * MIB)
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    tracemalloc.start()
    result = run_collect(small, who="test")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.plan is not None
    decision = next(d for d in result.plan.decisions if d.arrival.name == "stor.xlsx")
    assert (decision.outcome, decision.reason, decision.arrival.sha256) == (
        QUARANTINED, reason("too_large", limit=5), digest)
    assert peak < 32 * MIB


def test_collect_module_reads_the_issue_times_from_the_journal(small: Workspace) -> None:
    """Verify the forms' issue times come from the journal (one per conversation and variant)."""
    with small.journal() as journal:
        issued = journal.first_issued()
    assert set(issued) == {(f"2027-{n}", v) for n in (2, 3) for v in ("ansatt", "leder")}


def test_a_saved_time_an_older_version_recorded_after_arrival_is_capped() -> None:
    """A journal row from before this check (saved 2099) counts as received, so newer files still win."""
    received = "2027-01-20T18:00:00+01:00"
    rows: list[dict[str, object]] = [
        {"conversation_id": "2027-2", "variant": "ansatt", "saved": "2099-01-01T00:00:00+00:00",
         "received_at": received, "has_prep": 1, "has_minutes": 0, "manager_signed": 0},
        {"conversation_id": "2027-3", "variant": "ansatt", "saved": "2027-01-19T10:00:00+01:00",
         "received_at": received, "has_prep": 1, "has_minutes": 0, "manager_signed": 0},
        {"conversation_id": None, "variant": None, "saved": received, "received_at": received, "has_prep": 0,
         "has_minutes": 0, "manager_signed": 0},
    ]
    assert [(c.conversation_id, c.saved) for c in collect_module._counted(rows)] == [
        ("2027-2", datetime.fromisoformat(received)), ("2027-3", datetime(2027, 1, 19, 10, tzinfo=OSLO))]
