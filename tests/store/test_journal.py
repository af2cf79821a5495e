"""The journal `.samtale/journal.sqlite`: migrations, pending ChangeSets, last-written cells, runs."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date, datetime
from pathlib import Path

import pytest

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.errors import SamtaleError
from samtale_automation.store.journal import MIGRATIONS, Journal


def _changeset(reason: str, key: str = "7") -> ChangeSet:
    cs = ChangeSet(reason)
    cs.upsert("Ansatte", key, name="Kari Nordmann", email="kari@firma.no")
    return cs


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / ".samtale" / "journal.sqlite"


def test_fresh_journal_is_migrated_to_the_latest_version(journal_path: Path) -> None:
    """Verify a new journal runs every migration and records the version in user_version."""
    with Journal(journal_path) as journal:
        assert journal.version == len(MIGRATIONS)
        tables = {name for (name,) in journal.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"changesets", "written_cells", "runs"} <= tables
    with sqlite3.connect(journal_path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_journal_uses_wal_mode(journal_path: Path) -> None:
    """Verify the journal runs in WAL mode, which is stored in the file and seen by a new connection."""
    with Journal(journal_path) as journal:
        assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw = sqlite3.connect(journal_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_marks_are_fsynced_at_each_commit_only_with_the_rollback_journal(journal_path: Path, tmp_path: Path) -> None:
    """Verify WAL runs with synchronous=NORMAL (a mark survives a process crash, not a power cut) and the
    rollback journal of a share keeps FULL, and that a digest's reminders are found by an index."""
    with Journal(journal_path, mode="wal") as journal:
        assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        plan = " ".join(str(row[-1]) for row in journal.db.execute(
            "EXPLAIN QUERY PLAN UPDATE reminders SET state = 'sent' WHERE digest = 'd' AND state = 'intent'"))
        assert "reminders_digest" in plan
    with Journal(tmp_path / "share" / "journal.sqlite", mode="delete") as journal:
        assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _stored_mode(path: Path) -> str:
    raw = sqlite3.connect(path)
    try:
        return str(raw.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        raw.close()


def test_journal_on_a_share_uses_the_rollback_journal_and_keeps_it(journal_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a journal opened in rollback mode (a share) is stored so, and stays so when later opened as local."""
    with Journal(journal_path, mode="delete") as journal:
        journal.add_changeset(_changeset("delt"))
        assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert _stored_mode(journal_path) == "delete"
    assert not journal_path.with_name("journal.sqlite-wal").exists()
    monkeypatch.delenv("SAMTALE_JOURNAL_MODE", raising=False)
    with Journal(journal_path) as journal:  # auto, on a local disk: the file server's own view of the share
        assert journal.mode == "delete"
        assert len(journal.pending()) == 1
    assert _stored_mode(journal_path) == "delete"
    monkeypatch.setenv("SAMTALE_JOURNAL_MODE", "wal")
    with Journal(journal_path) as journal:
        assert journal.mode == "wal"
    assert _stored_mode(journal_path) == "wal"


def test_leaving_wal_while_another_connection_is_open_waits_for_the_next_open(journal_path: Path) -> None:
    """Verify a switch to the rollback journal that cannot happen now (another reader) neither fails nor loses data."""
    with Journal(journal_path, mode="wal") as first:
        first.add_changeset(_changeset("a"))
        with Journal(journal_path, mode="delete") as second:
            assert len(second.pending()) == 1
            second.add_changeset(_changeset("b", "8"))
    with Journal(journal_path, mode="delete") as journal:
        assert len(journal.pending()) == 2
    assert _stored_mode(journal_path) == "delete"


@pytest.mark.skipif(os.name != "posix", reason="file modes are a posix feature")
def test_journal_files_are_private(journal_path: Path) -> None:
    """Verify the journal and its WAL files are readable by the running user only (0600)."""
    with Journal(journal_path) as journal:
        journal.add_changeset(_changeset("privat"))
        for path in (journal_path, journal_path.with_name("journal.sqlite-wal")):
            assert path.exists()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_add_and_pending_oldest_first(journal_path: Path) -> None:
    """Verify added ChangeSets are pending, oldest first, with no blocked reason and equal content."""
    first, second = _changeset("Ansatte fra HR", "7"), _changeset("Ny runde", "8")
    with Journal(journal_path) as journal:
        assert journal.pending() == []
        journal.add_changeset(first)
        journal.add_changeset(second)
        pending = journal.pending()
    assert [p.changeset for p in pending] == [first, second]
    assert [p.blocked_reason for p in pending] == [None, None]


def test_mark_blocked_records_the_reason(journal_path: Path) -> None:
    """Verify mark_blocked attaches the reason to the named ChangeSets only; they stay pending."""
    first, second = _changeset("a", "1"), _changeset("b", "2")
    with Journal(journal_path) as journal:
        journal.add_changeset(first)
        journal.add_changeset(second)
        journal.mark_blocked([first.id], "samtaler.xlsx er åpen hos Kari")
        pending = {p.changeset.id: p.blocked_reason for p in journal.pending()}
    assert pending == {first.id: "samtaler.xlsx er åpen hos Kari", second.id: None}


def test_mark_applied_removes_from_pending_and_remembers_written_cells(journal_path: Path) -> None:
    """Verify mark_applied ends the pending state, clears the block, and stores seeded values by table/key/field."""
    first, second = _changeset("a", "1"), _changeset("b", "2")
    with Journal(journal_path) as journal:
        journal.add_changeset(first)
        journal.add_changeset(second)
        journal.mark_blocked([first.id, second.id], "låst")
        journal.mark_applied([first.id], {
            ("Tiltak", "2027-2-1", "deadline"): date(2027, 6, 1),
            ("Tiltak", "2027-2-1", "description"): "Kurs i Excel",
            ("Tiltak", "2027-3-1", "owner"): "Ola",
            ("Andre", "x", "y"): 1,
        })
        assert [(p.changeset.id, p.blocked_reason) for p in journal.pending()] == [(second.id, "låst")]
        state, blocked, applied_at = journal.db.execute(
            "SELECT state, blocked_reason, applied_at FROM changesets WHERE id = ?", (first.id,)).fetchone()
        written = journal.last_written("Tiltak")
    assert (state, blocked) == ("applied", None)
    assert datetime.fromisoformat(applied_at).tzinfo is not None
    assert written == {"2027-2-1": {"deadline": date(2027, 6, 1), "description": "Kurs i Excel"},
                       "2027-3-1": {"owner": "Ola"}}
    assert type(written["2027-2-1"]["deadline"]) is date


def test_last_written_keeps_the_newest_value(journal_path: Path) -> None:
    """Verify writing the same cell again replaces the remembered value, including datetimes."""
    with Journal(journal_path) as journal:
        journal.mark_applied([], {("Tiltak", "2027-2-1", "deadline"): date(2027, 6, 1)})
        journal.mark_applied([], {("Tiltak", "2027-2-1", "deadline"): datetime(2027, 9, 1, 8, 0)})
        assert journal.last_written("Tiltak") == {"2027-2-1": {"deadline": datetime(2027, 9, 1, 8, 0)}}
        assert journal.last_written("Samtaler") == {}


def test_reopen_keeps_pending_written_cells_and_runs(journal_path: Path) -> None:
    """Verify closing and reopening the journal keeps every record and does not migrate again."""
    cs = _changeset("venter")
    with Journal(journal_path) as journal:
        journal.add_changeset(cs)
        journal.mark_blocked([cs.id], "åpen")
        journal.mark_applied([], {("Tiltak", "T1", "goal"): "Bedre Excel"})
        run_id = journal.start_run("round new")
        journal.finish_run(run_id, "pending")
    with Journal(journal_path) as journal:
        assert journal.version == len(MIGRATIONS)
        assert [(p.changeset, p.blocked_reason) for p in journal.pending()] == [(cs, "åpen")]
        assert journal.last_written("Tiltak") == {"T1": {"goal": "Bedre Excel"}}
        runs = journal.last_runs()
    assert len(runs) == 1
    command, started, finished, outcome = runs[0]
    assert (command, outcome) == ("round new", "pending")
    assert started <= (finished or "")


def test_same_changeset_id_cannot_be_added_twice(journal_path: Path) -> None:
    """Verify a ChangeSet ID is unique, so a retried add cannot apply the same change twice."""
    cs = _changeset("en gang")
    with Journal(journal_path) as journal:
        journal.add_changeset(cs)
        with pytest.raises(sqlite3.IntegrityError):
            journal.add_changeset(cs)
        assert len(journal.pending()) == 1


def test_transaction_rolls_back_on_error(journal_path: Path) -> None:
    """Verify an error inside a transaction leaves nothing behind."""
    def insert_then_fail(journal: Journal) -> None:
        with journal.transaction() as db:
            db.execute("INSERT INTO runs (command, started, pid, host, user) VALUES ('x', 'y', 1, 'h', 'u')")
            raise RuntimeError("avbrutt")

    with Journal(journal_path) as journal:
        with pytest.raises(RuntimeError, match="avbrutt"):
            insert_then_fail(journal)
        assert journal.last_runs() == []


def test_journal_from_a_newer_version_is_refused(journal_path: Path) -> None:
    """Verify a journal whose user_version is beyond our migrations is refused with SamtaleError and left as is."""
    Journal(journal_path).close()
    newer = len(MIGRATIONS) + 1
    raw = sqlite3.connect(journal_path)
    raw.execute(f"PRAGMA user_version = {newer}")
    raw.close()
    with pytest.raises(SamtaleError) as caught:
        Journal(journal_path)
    assert "nyere versjon" in caught.value.message
    assert f"v{newer}" in caught.value.message
    assert "Oppgrader" in caught.value.hint
    raw = sqlite3.connect(journal_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == newer
    finally:
        raw.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
def test_refused_journal_is_not_left_open(journal_path: Path) -> None:
    """Verify refusing a newer journal closes its database file again (no handle keeps it locked)."""
    Journal(journal_path).close()
    raw = sqlite3.connect(journal_path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.close()

    def open_handles() -> list[str]:
        found = []
        for fd in Path("/proc/self/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(journal_path)):
                found.append(target)
        return found

    assert open_handles() == []
    with pytest.raises(SamtaleError):
        Journal(journal_path)
    assert open_handles() == []


def test_version_4_journal_keeps_its_changesets_when_set_aside_arrives(journal_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify migration 5 (the set_aside state) rebuilds the changesets table with every row and order kept."""
    applied, pending = _changeset("skrevet", "1"), _changeset("venter", "2")
    monkeypatch.setattr("samtale_automation.store.journal.MIGRATIONS", MIGRATIONS[:4])
    with Journal(journal_path) as journal:
        journal.add_changeset(applied)
        journal.add_changeset(pending)
        journal.mark_applied([applied.id], {})
        journal.mark_blocked([pending.id], "åpen")
        assert journal.version == 4
    monkeypatch.undo()
    with Journal(journal_path) as journal:
        assert journal.version == len(MIGRATIONS) >= 5
        assert [(p.changeset, p.blocked_reason) for p in journal.pending()] == [(pending, "åpen")]
        states = journal.db.execute("SELECT id, state FROM changesets ORDER BY seq").fetchall()
        assert states == [(applied.id, "applied"), (pending.id, "pending")]
        later = _changeset("senere", "3")
        journal.add_changeset(later)
        assert [p.changeset.id for p in journal.pending()] == [pending.id, later.id]


def test_set_aside_retry_and_discard(journal_path: Path) -> None:
    """Verify a ChangeSet set aside leaves pending with its reason and its notice waits; retry brings it back;
    discard keeps it as discarded with its notice; neither touches a ChangeSet that is not set aside."""
    bad, other = _changeset("dårlig", "1"), _changeset("god", "2")
    notice = ChangeSet("melding")
    notice.append("Logg", event="Endring satt til side")
    with Journal(journal_path) as journal:
        journal.add_changeset(bad)
        journal.add_changeset(other)
        journal.mark_set_aside(bad.id, "ValueError: x", notice)
        assert [p.changeset.id for p in journal.pending()] == [other.id, notice.id]
        [item] = journal.set_aside()
        assert (item.changeset, item.reason) == (bad, "ValueError: x") and item.since
        assert journal.retry([bad.id, other.id, "ukjent"]) == [bad.id]
        assert journal.set_aside() == []
        assert [p.changeset.id for p in journal.pending()] == [bad.id, other.id, notice.id], "back in its place"
        journal.mark_set_aside(bad.id, "ValueError: y", None)
        assert journal.discard(other.id, ChangeSet("x")) is False
        gone = ChangeSet("forkastet")
        assert journal.discard(bad.id, gone) is True
        assert journal.set_aside() == [] and journal.discard(bad.id, ChangeSet("igjen")) is False
        assert [p.changeset.id for p in journal.pending()] == [other.id, notice.id, gone.id]
        assert journal.db.execute("SELECT state FROM changesets WHERE id = ?", (bad.id,)).fetchone() == ("discarded",)


def test_a_version_5_journal_gets_the_kept_mail_count_and_keeps_its_rows(journal_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify migration 6 adds the count of kept mail to a journal of the previous release, rows kept."""
    from samtale_automation.store.kept_mail import KeptMailStore

    pending = _changeset("venter", "2")
    monkeypatch.setattr("samtale_automation.store.journal.MIGRATIONS", MIGRATIONS[:5])
    with Journal(journal_path) as journal:
        journal.add_changeset(pending)
    monkeypatch.undo()
    with Journal(journal_path) as journal:
        assert journal.version == len(MIGRATIONS) >= 6
        assert [p.changeset for p in journal.pending()] == [pending]
        kept = KeptMailStore(journal)
        assert kept.kept("m1", "kari@firma.no", "a.xlsx", "disk full") == 1
        assert kept.kept("m1", "kari@firma.no", "a.xlsx", "disk full") == 2
        assert kept.counting() == {"m1"}
        kept.fetched("m1")
        assert kept.counting() == set() and kept.moved() == []
