"""The journal `.samtale/journal.sqlite`: the tool's memory (DESIGN.md §6).

Holds pending ChangeSets, the value the tool last wrote into each seeded cell, and run
history. The schema is versioned with `PRAGMA user_version`; each migration runs once, in
order, inside a transaction. Later capabilities add their tables as new migrations.
WAL on a local disk; the rollback journal on a network share or in a synced folder
(store/journalmode.py decides).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from samtale_automation.domain.changeset import ChangeSet, PendingChange, SetAsideChange, decode_text, encode_value
from samtale_automation.domain.model import OSLO
from samtale_automation.runtime import current_user
from samtale_automation.store.journalmode import WAL, journal_mode

MIGRATIONS: tuple[str, ...] = (
    # 1: pending ChangeSets, last written cells, run history
    """
    CREATE TABLE changesets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied')),
        blocked_reason TEXT,
        applied_at TEXT
    );
    CREATE INDEX changesets_state ON changesets (state, seq);
    CREATE TABLE written_cells (
        table_name TEXT NOT NULL,
        row_key TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        written_at TEXT NOT NULL,
        PRIMARY KEY (table_name, row_key, field)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        command TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT,
        outcome TEXT,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        user TEXT NOT NULL
    );
    """,
    # 2: prep files written, so an edited or returned file is recognised
    """
    CREATE TABLE prep_files (
        path TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE INDEX prep_files_conversation ON prep_files (conversation_id, variant);
    """,
    # 3: returned files received, what each counted for, and where it went
    """
    CREATE TABLE received_files (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL,
        name TEXT NOT NULL,
        outcome TEXT NOT NULL,
        conversation_id TEXT,
        variant TEXT,
        saved TEXT,
        has_prep INTEGER NOT NULL DEFAULT 0,
        has_minutes INTEGER NOT NULL DEFAULT 0,
        manager_signed INTEGER NOT NULL DEFAULT 0,
        destination TEXT,
        received_at TEXT NOT NULL
    );
    CREATE INDEX received_files_sha ON received_files (sha256, outcome);
    """,
    # 4: meetings sent (UID, SEQUENCE, what was sent), each message per recipient, reminders sent
    """
    CREATE TABLE meetings (
        key TEXT PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        sequence INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        attendees TEXT NOT NULL,
        start TEXT,
        state TEXT NOT NULL CHECK (state IN ('active', 'cancelled')),
        backend TEXT NOT NULL,
        remote_id TEXT,
        change_key TEXT,
        updated TEXT NOT NULL
    );
    CREATE TABLE messages (
        key TEXT PRIMARY KEY,
        grp TEXT NOT NULL,
        kind TEXT NOT NULL,
        meeting_key TEXT,
        sequence INTEGER,
        recipient TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'failed', 'superseded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX messages_meeting ON messages (meeting_key, sequence);
    CREATE INDEX messages_state ON messages (state);
    CREATE TABLE reminders (
        key TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'covered')),
        recorded TEXT NOT NULL
    );
    """,
    # 5: a ChangeSet whose data cannot be applied is set aside with its reason (never blocking the
    # others) until a person retries or discards it; SQLite cannot widen a CHECK, so the table is rebuilt
    """
    CREATE TABLE changesets_v5 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'applied', 'set_aside', 'discarded')),
        blocked_reason TEXT,
        applied_at TEXT,
        set_aside_reason TEXT,
        set_aside_at TEXT,
        discarded_at TEXT
    );
    INSERT INTO changesets_v5 (seq, id, created, reason, payload, state, blocked_reason, applied_at)
        SELECT seq, id, created, reason, payload, state, blocked_reason, applied_at FROM changesets;
    DROP TABLE changesets;
    ALTER TABLE changesets_v5 RENAME TO changesets;
    CREATE INDEX changesets_state ON changesets (state, seq);
    """,
    # 6: a mail whose attachment could not be stored is counted per run, and moved aside after a few
    # (store/kept_mail.py): never retried for ever
    """
    CREATE TABLE kept_mail (
        message_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        names TEXT NOT NULL,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        moved_aside TEXT
    );
    """,
    # 7: a digest's result marks its reminders sent by the digest's key: an index, not a scan of them all
    # (IF NOT EXISTS: journals made while #18 was on its own branch have it as their 6th)
    """
    CREATE INDEX IF NOT EXISTS reminders_digest ON reminders (digest, state);
    """,
)


class Journal:
    """A connection to one folder's journal."""

    def __init__(self, path: Path, mode: str | None = None) -> None:
        """Open (or create) the journal; `mode` `wal` or `delete`, by default as store.journalmode decides."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        self.path = path
        self.mode = mode or journal_mode(path)[0]
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            if fresh and os.name == "posix":
                os.chmod(path, 0o600)
            wal = self._set_mode(self.mode)
            # Durability of each mark (intent before a send, result after it). In WAL mode NORMAL
            # fsyncs at checkpoints only, not at each commit: a commit survives a crash or kill -9 of
            # the process (it is in the WAL file, which the OS keeps), but a power cut or OS crash can
            # lose the last commits before the next checkpoint. For sends that means a message may
            # go out once more after a power cut (its «sent» mark lost) - never that an intent made
            # before a send is missing after a process crash. The rollback journal (a share or synced
            # folder) keeps FULL: there NORMAL could corrupt the file on a power cut, not just lose marks.
            self.db.execute(f"PRAGMA synchronous={'NORMAL' if wal else 'FULL'}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self.db.close()  # a refused journal (newer version) must not stay open and locked
            raise

    def _set_mode(self, mode: str) -> bool:
        """Ask for the mode; True when the file is in WAL mode afterwards (what was asked, or kept)."""
        try:
            row = self.db.execute(f"PRAGMA journal_mode={'WAL' if mode == WAL else 'DELETE'}").fetchone()
        except sqlite3.OperationalError as error:
            # Leaving WAL needs the only connection; another one is open now: the next open switches.
            if "locked" not in str(error):
                raise
            row = self.db.execute("PRAGMA journal_mode").fetchone()
        return str(row[0]).casefold() == WAL

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically (BEGIN IMMEDIATE … COMMIT, ROLLBACK on error)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def version(self) -> int:
        """The schema version (number of migrations applied)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self.transaction() as db:
            current = int(db.execute("PRAGMA user_version").fetchone()[0])
            if current > len(MIGRATIONS):
                from samtale_automation.errors import SamtaleError

                raise SamtaleError(
                    f"Journalen {self.path} er fra en nyere versjon av samtale (v{current}).",
                    hint="Oppgrader samtale (pip install -U samtale-automation).",
                )
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # ---- ChangeSets --------------------------------------------------------------------

    def add_changeset(self, changeset: ChangeSet) -> None:
        """Record a ChangeSet as pending (before anything tries to apply it)."""
        with self.transaction() as db:
            db.execute(_INSERT_CHANGESET, (changeset.id, changeset.created, changeset.reason, changeset.to_json()))

    def pending(self) -> list[PendingChange]:
        """Every pending ChangeSet, oldest first."""
        rows = self.db.execute(
            "SELECT payload, blocked_reason FROM changesets WHERE state = 'pending' ORDER BY seq"
        ).fetchall()
        return [PendingChange(ChangeSet.from_json(payload), reason) for payload, reason in rows]

    def mark_blocked(self, ids: list[str], reason: str) -> None:
        """Note why pending ChangeSets could not be applied this time."""
        with self.transaction() as db:
            db.executemany("UPDATE changesets SET blocked_reason = ? WHERE id = ?",
                           [(reason, i) for i in ids])

    def mark_set_aside(self, changeset_id: str, reason: str, notice: ChangeSet | None) -> None:
        """Set a pending ChangeSet aside with its reason, and record its Logg notice as pending, in one go."""
        with self.transaction() as db:
            db.execute("UPDATE changesets SET state = 'set_aside', set_aside_reason = ?, set_aside_at = ?, "
                       "blocked_reason = NULL WHERE id = ? AND state = 'pending'", (reason, stamp(), changeset_id))
            if notice is not None:
                db.execute(_INSERT_CHANGESET, (notice.id, notice.created, notice.reason, notice.to_json()))

    def set_aside(self) -> list[SetAsideChange]:
        """Every ChangeSet set aside and neither retried nor discarded, oldest first."""
        rows = self.db.execute(
            "SELECT payload, set_aside_reason, set_aside_at FROM changesets WHERE state = 'set_aside' ORDER BY seq"
        ).fetchall()
        return [SetAsideChange(ChangeSet.from_json(payload), reason or "", since or "")
                for payload, reason, since in rows]

    def retry(self, ids: list[str]) -> list[str]:
        """Make set-aside ChangeSets pending again (applied by the next write); return the ids that were."""
        with self.transaction() as db:
            done = [i for i in ids if db.execute(
                "UPDATE changesets SET state = 'pending', set_aside_reason = NULL, set_aside_at = NULL "
                "WHERE id = ? AND state = 'set_aside'", (i,)).rowcount]
        return done

    def discard(self, changeset_id: str, notice: ChangeSet) -> bool:
        """Discard a set-aside ChangeSet for good (kept in the journal, never applied) and record its Logg notice."""
        with self.transaction() as db:
            changed = db.execute("UPDATE changesets SET state = 'discarded', discarded_at = ? "
                                 "WHERE id = ? AND state = 'set_aside'", (stamp(), changeset_id)).rowcount
            if changed:
                db.execute(_INSERT_CHANGESET, (notice.id, notice.created, notice.reason, notice.to_json()))
        return bool(changed)

    def mark_applied(self, ids: list[str], written: dict[tuple[str, str, str], Any]) -> None:
        """Mark ChangeSets applied and remember the seeded values written, in one transaction."""
        now = stamp()
        with self.transaction() as db:
            db.executemany(
                "UPDATE changesets SET state = 'applied', applied_at = ?, blocked_reason = NULL "
                "WHERE id = ?", [(now, i) for i in ids])
            db.executemany(
                "INSERT INTO written_cells (table_name, row_key, field, value, written_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_name, row_key, field) DO UPDATE SET "
                "value = excluded.value, written_at = excluded.written_at",
                [(t, k, f, encode_value(v), now) for (t, k, f), v in written.items()])

    def last_written(self, table: str) -> dict[str, dict[str, Any]]:
        """What the tool last wrote into each seeded cell of a table: key -> field -> value."""
        result: dict[str, dict[str, Any]] = {}
        for key, field_name, value in self.db.execute(
                "SELECT row_key, field, value FROM written_cells WHERE table_name = ?", (table,)):
            result.setdefault(key, {})[field_name] = decode_text(value)
        return result

    # ---- prep files --------------------------------------------------------------------

    def record_prep_files(self, files: list[tuple[str, str, str, str]], made: datetime | None = None) -> None:
        """Remember prep files written: (path relative to the folder, conversation, variant, sha256), and when
        (`made`: the command's moment, which `--today` sets; real time without it)."""
        now = made.isoformat(timespec="seconds") if made is not None else stamp()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO prep_files (path, conversation_id, variant, sha256, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, created = excluded.created",
                [(*row, now) for row in files])

    def prep_file_hash(self, path: str) -> str | None:
        """The sha256 a prep file had when the tool wrote it, if it did."""
        row = self.db.execute("SELECT sha256 FROM prep_files WHERE path = ?", (path,)).fetchone()
        return str(row[0]) if row else None

    # ---- received files ----------------------------------------------------------------

    def record_collect(self, changeset: ChangeSet | None, rows: list[dict[str, Any]]) -> None:
        """Record a collect's ChangeSet (pending) and its received files in one transaction."""
        now = stamp()
        with self.transaction() as db:
            if changeset is not None:
                db.execute(_INSERT_CHANGESET,
                           (changeset.id, changeset.created, changeset.reason, changeset.to_json()))
            db.executemany(_INSERT_RECEIVED, [{**row, "now": now} for row in rows])

    def first_issued(self) -> dict[tuple[str, str], datetime]:
        """When each conversation's prep file of each variant was first made (conversation id, variant)."""
        rows = self.db.execute("SELECT conversation_id, variant, MIN(created) FROM prep_files "
                               "GROUP BY conversation_id, variant").fetchall()
        found: dict[tuple[str, str], datetime] = {}
        for conversation_id, variant, created in rows:
            try:
                moment = datetime.fromisoformat(str(created))
            except ValueError:
                continue
            found[(str(conversation_id), str(variant))] = moment if moment.tzinfo else moment.replace(tzinfo=OSLO)
        return found

    def received(self, outcome: str) -> list[dict[str, Any]]:
        """Every received file with this outcome, oldest first."""
        cursor = self.db.execute("SELECT * FROM received_files WHERE outcome = ? ORDER BY seq", (outcome,))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # ---- runs --------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        """Record the start of a command; returns the run id."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (command, started, pid, host, user) VALUES (?, ?, ?, ?, ?)",
                (command, stamp(), os.getpid(), socket.gethostname(), current_user()))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, outcome: str) -> None:
        """Record how a command ended."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished = ?, outcome = ? WHERE id = ?",
                       (stamp(), outcome, run_id))

    def last_runs(self, limit: int = 10) -> list[tuple[str, str, str | None, str | None]]:
        """The most recent runs: (command, started, finished, outcome)."""
        return list(self.db.execute(
            "SELECT command, started, finished, outcome FROM runs ORDER BY id DESC LIMIT ?",
            (limit,)))


_INSERT_CHANGESET = "INSERT INTO changesets (id, created, reason, payload) VALUES (?, ?, ?, ?)"
_INSERT_RECEIVED = (
    "INSERT INTO received_files (sha256, name, outcome, conversation_id, variant, saved, has_prep, has_minutes, "
    "manager_signed, destination, received_at) VALUES (:sha256, :name, :outcome, :conversation_id, :variant, "
    ":saved, :has_prep, :has_minutes, :manager_signed, :destination, :now)")


def stamp() -> str:
    """A journal timestamp: real time, whatever `--today` says."""
    return datetime.now().astimezone().isoformat(timespec="seconds")
