"""The journal's memory of what was sent: meetings (UID, SEQUENCE), messages per recipient, reminders.

Intent is recorded before each send and the result after it, so a re-run sends what a crash or
a server fault left undelivered and nothing that already went out (research/mail.md §5.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from samtale_automation.domain.messages import (
    FAILED,
    INTENT,
    SENT,
    SUPERSEDED,
    MeetingState,
    MessageRow,
)
from samtale_automation.store.journal import Journal, stamp


def row_key(group: str, email: str) -> str:
    """The idempotency key of one message to one person: `<kind>:<subject>:<version or day>:<address>`."""
    return f"{group}:{email.casefold()}"


class MessageStore:
    """Reads and records sends in a folder's journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def meetings(self) -> dict[str, MeetingState]:
        """Every meeting ever sent, by key."""
        rows = self.journal.db.execute(
            "SELECT key, uid, sequence, content_hash, attendees, start, state, backend, remote_id, change_key "
            "FROM meetings").fetchall()
        return {r[0]: MeetingState(r[0], r[1], int(r[2]), r[3], tuple(json.loads(r[4])), r[5], r[6], r[7],
                                   r[8], r[9]) for r in rows}

    def messages(self, *, include_superseded: bool = False, kinds: tuple[str, ...] = ()) -> list[MessageRow]:
        """Every message row (only those of `kinds` when given), oldest first."""
        where = [] if include_superseded else [f"state != '{SUPERSEDED}'"]
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        rows = self.journal.db.execute(
            "SELECT key, grp, kind, meeting_key, sequence, recipient, state, attempts, error "
            f"FROM messages {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY rowid", kinds).fetchall()
        return [MessageRow(*row) for row in rows]

    def reminders_done(self) -> set[str]:
        """Reminder reason keys already sent (or made unnecessary by a later one)."""
        return {key for (key,) in self.journal.db.execute(
            "SELECT key FROM reminders WHERE state IN ('sent', 'covered')")}

    def record_intent(self, group: str, kind: str, recipients: Iterable[str], *,
                      meeting: MeetingState | None = None, reminders: Iterable[str] = (),
                      covers: Iterable[str] = ()) -> None:
        """Before a send: the meeting's new version, a row per recipient, the reminders it carries."""
        now = stamp()
        with self.journal.transaction() as db:
            if meeting is not None:
                db.execute(
                    "INSERT INTO meetings (key, uid, sequence, content_hash, attendees, start, state, backend, "
                    "remote_id, change_key, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET sequence = excluded.sequence, "
                    "content_hash = excluded.content_hash, attendees = excluded.attendees, start = excluded.start, "
                    "state = excluded.state, backend = excluded.backend, updated = excluded.updated",
                    (meeting.key, meeting.uid, meeting.sequence, meeting.content_hash,
                     json.dumps(list(meeting.attendees)), meeting.start, meeting.state, meeting.backend,
                     meeting.remote_id, meeting.change_key, now))
                # An older version nobody received yet must not be sent after the new one.
                db.execute("UPDATE messages SET state = ? WHERE meeting_key = ? AND sequence < ? AND state != ?",
                           (SUPERSEDED, meeting.key, meeting.sequence, SENT))
            sequence = meeting.sequence if meeting else None
            meeting_key = meeting.key if meeting else None
            # One statement per kind of row, and none for an empty list: a mark is a few statements
            # and one commit (the per-message cost of every send).
            db.executemany(
                "INSERT INTO messages (key, grp, kind, meeting_key, sequence, recipient, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                [(row_key(group, email), group, kind, meeting_key, sequence, email.casefold(), INTENT, now)
                 for email in recipients])
            carried = [(key, group, INTENT, now) for key in reminders]
            if carried:
                db.executemany("INSERT INTO reminders (key, digest, state, recorded) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET digest = excluded.digest", carried)
            covered = [(key, group, "covered", now) for key in covers]
            if covered:
                db.executemany("INSERT INTO reminders (key, digest, state, recorded) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (key) DO NOTHING", covered)

    def record_result(self, group: str, delivered: Iterable[str], failed: dict[str, str], *,
                      meeting_key: str | None = None, remote_id: str | None = None,
                      change_key: str | None = None) -> None:
        """After a send: who got it, who did not and why; a digest's reminders count as sent."""
        now = stamp()
        delivered = list(delivered)
        with self.journal.transaction() as db:
            if delivered:
                db.executemany("UPDATE messages SET state = ?, sent_at = ?, attempts = attempts + 1, error = NULL "
                               "WHERE key = ?", [(SENT, now, row_key(group, email)) for email in delivered])
                # indexed by (digest, state) since journal version 7
                db.execute("UPDATE reminders SET state = ? WHERE digest = ? AND state = ?", (SENT, group, INTENT))
            if failed:
                db.executemany("UPDATE messages SET state = ?, attempts = attempts + 1, error = ? WHERE key = ?",
                               [(FAILED, error, row_key(group, email)) for email, error in failed.items()])
            if meeting_key and (remote_id or change_key):
                db.execute("UPDATE meetings SET remote_id = COALESCE(?, remote_id), "
                           "change_key = COALESCE(?, change_key) WHERE key = ?", (remote_id, change_key, meeting_key))

