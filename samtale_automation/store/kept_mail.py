"""Mails kept in the mailbox because an attachment could not be stored, counted run by run.

A message whose file could not be downloaded or written (a full disk, a server that refuses the
attachment) stays in the mailbox for the next run. So that nothing is retried for ever, each run
that keeps it adds one to its count; at `GIVE_UP_AFTER` the caller moves it to the done folder
and HR's digest names it, with the reason, to be saved by hand. A message fetched in the end is
forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

from samtale_automation.store.journal import Journal, stamp

#: Runs that keep a message before it is moved aside (three nights).
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class KeptMail:
    """One message moved aside: who sent it, its attachments' names, why they could not be stored."""

    message_id: str
    sender: str
    names: str
    reason: str
    attempts: int
    moved_aside: str


class KeptMailStore:
    """The journal's count of runs that kept each message."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def kept(self, message_id: str, sender: str, names: str, reason: str) -> int:
        """Count one more run that kept this message; the count so far."""
        now = stamp()
        with self.journal.transaction() as db:
            db.execute("INSERT INTO kept_mail (message_id, sender, names, reason, attempts, first_seen, last_seen) "
                       "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
                       "attempts = attempts + 1, reason = excluded.reason, names = excluded.names, "
                       "last_seen = excluded.last_seen, moved_aside = NULL",
                       (message_id, sender, names, reason, now, now))
            row = db.execute("SELECT attempts FROM kept_mail WHERE message_id = ?", (message_id,)).fetchone()
        return int(row[0])

    def moved_aside(self, message_id: str) -> None:
        """The message went to the done folder unfetched: HR is told (see `moved`)."""
        with self.journal.transaction() as db:
            db.execute("UPDATE kept_mail SET moved_aside = ? WHERE message_id = ?", (stamp(), message_id))

    def fetched(self, message_id: str) -> None:
        """The message's files are safe after all: nothing to count any more."""
        with self.journal.transaction() as db:
            db.execute("DELETE FROM kept_mail WHERE message_id = ? AND moved_aside IS NULL", (message_id,))

    def counting(self) -> set[str]:
        """The messages being counted now (kept, not yet moved aside)."""
        return {str(row[0]) for row in self.journal.db.execute(
            "SELECT message_id FROM kept_mail WHERE moved_aside IS NULL")}

    def moved(self) -> list[KeptMail]:
        """Every message moved aside unfetched, oldest first."""
        rows = self.journal.db.execute(
            "SELECT message_id, sender, names, reason, attempts, moved_aside FROM kept_mail "
            "WHERE moved_aside IS NOT NULL ORDER BY moved_aside, message_id").fetchall()
        return [KeptMail(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), str(row[5]))
                for row in rows]

