"""Read returned files from a mailbox over IMAP, for the smtp backend (`[smtp] imap_host`).

One connection per run, opened on first use (implicit TLS, STARTTLS, or plain on loopback only),
logged in with the SMTP login (`smtp_password`, or XOAUTH2 with `smtp_oauth_token`).

`fetch_files` selects the folder (INBOX by default), asks for every message not marked deleted,
reads their structure in one command and downloads only messages that can carry a file
(application/* or message/* parts), a few at a time, with BODY.PEEK[] so nothing is marked as
read. Each attachment whose (RFC 2231 / RFC 2047 decoded) name ends in one of the suffixes
becomes an IncomingFile, also inside a forwarded message. Its `message_id` is
`<UIDVALIDITY>:<UID>`, which stays valid as long as the server keeps the folder's UIDVALIDITY.

`mark_handled` moves the message to the done folder («Samtale behandlet», created once when
missing): UID MOVE where the server offers MOVE, else UID COPY + \\Deleted + (UID) EXPUNGE. A
message id from before a change of UIDVALIDITY is left alone, with a note (`notes`, and a log
warning): its UID may now name another message.

A connection lost in the middle is opened again once; a second loss, a refused login, an unknown
host, a TLS failure or a missing folder stops the run with BackendError (exit code 4) naming the
setting to fix (the connection and its messages: imap_connection.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from imaplib import IMAP4
from typing import Any

from samtale_automation.backends.smtp.imap_connection import Dropped, ImapConnection, response_code
from samtale_automation.backends.smtp.imap_syntax import (
    fetch_items,
    imap_utf7,
    incoming_files,
    internal_date,
    may_hold_files,
    parse_responses,
    quoted_folder,
    uid_set,
)
from samtale_automation.domain.messages import IncomingFile
from samtale_automation.texts import tr

#: Messages downloaded per FETCH command, and roughly how many bytes at most.
BATCH_MESSAGES = 25
BATCH_BYTES = 8 * 1024 * 1024

log = logging.getLogger(__name__)


class ImapReader:
    """Fetch returned files from one IMAP folder and move handled messages to the done folder."""

    def __init__(self, connection: ImapConnection) -> None:
        self.connection = connection
        self.settings = connection.settings
        self.stats = connection.stats
        self.notes: list[str] = []  # what was left alone, and why (also logged)
        self._done_ready = False

    def __repr__(self) -> str:  # no secret in reprs or logs
        return f"ImapReader({self.connection!r})"

    # ---- what the backend offers ----------------------------------------------------------------

    def fetch_files(self, suffixes: tuple[str, ...] = (".xlsx",)) -> Iterator[IncomingFile]:
        """Files attached to messages in the folder; nothing is moved or marked as read."""
        done: set[str] = set()  # messages whose files were handed out before a lost connection
        for attempt in (0, 1):
            try:
                yield from self._fetch_pass(suffixes, done)
                return
            except Dropped as exc:
                self.connection.drop(polite=False)
                if attempt:
                    raise self.connection.lost(exc) from None

    def mark_handled(self, message_id: str) -> None:
        """Move the message to the done folder (nothing, with a note, when its UIDVALIDITY is stale)."""
        validity, uid = _split_id(message_id)
        for attempt in (0, 1):
            try:
                self._move(message_id, validity, uid)
                return
            except Dropped as exc:
                self.connection.drop(polite=False)
                if attempt:
                    raise self.connection.lost(exc) from None

    def probe(self) -> list[str]:
        """Log in, open the folder and look for the done folder; one line each."""
        s = self.settings
        for attempt in (0, 1):
            try:
                conn = self.connection.get()
                self.connection.select(conn, again=True)  # again: the message count is the one of now
                count = self.connection.exists_count
                done = self._done_exists(conn)
                break
            except Dropped as exc:
                self.connection.drop(polite=False)
                if attempt:
                    raise self.connection.lost(exc) from None
        login = tr(f"Logget inn på IMAP-serveren {s.host}:{s.port} som {self.connection.username} ({s.security}).",
                   f"Logged in to the IMAP server {s.host}:{s.port} as {self.connection.username} ({s.security}).")
        folder = tr(f"Mappen «{s.folder}» har {count} meldinger.", f"The folder «{s.folder}» holds {count} messages.")
        target = (tr(f"Mappen for behandlede meldinger «{s.done_folder}» finnes.",
                     f"The folder for handled messages «{s.done_folder}» exists.") if done else
                  tr(f"Mappen for behandlede meldinger «{s.done_folder}» finnes ikke ennå; den opprettes ved "
                     "første flytting.",
                     f"The folder for handled messages «{s.done_folder}» does not exist yet; it is created at the "
                     "first move."))
        return [login, folder, target]

    def close(self) -> None:
        """Log out and close the connection, if one is open."""
        self.connection.drop(polite=True)

    # ---- fetching -------------------------------------------------------------------------------

    def _fetch_pass(self, suffixes: tuple[str, ...], done: set[str]) -> Iterator[IncomingFile]:
        conn = self.connection.get()
        # SELECT again: a server need not announce messages that arrived meanwhile
        validity = self.connection.select(conn, again=True)
        typ, data = self.connection.call(conn.uid, "SEARCH", "UNDELETED")
        self.connection.expect_ok(typ, data, "UID SEARCH")
        uids = [int(word) for chunk in data if chunk for word in bytes(chunk).split() if word.isdigit()]
        if not uids:
            return
        typ, data = self.connection.call(conn.uid, "FETCH", uid_set(uids),
                                         "(UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE)")
        self.connection.expect_ok(typ, data, "UID FETCH")
        facts = fetch_items(data)
        wanted = [uid for uid in sorted(facts) if f"{validity}:{uid}" not in done
                  and may_hold_files(facts[uid].get("BODYSTRUCTURE"))]
        for batch in _batches(wanted, {uid: _size(facts[uid]) for uid in wanted}):
            typ, data = self.connection.call(conn.uid, "FETCH", uid_set(batch), "(UID BODY.PEEK[])")
            self.connection.expect_ok(typ, data, "UID FETCH")
            bodies = fetch_items(data)
            self.stats.extra["imap_downloads"] += len(bodies)
            for uid in batch:
                raw = bodies.get(uid, {}).get("BODY[]")
                if not isinstance(raw, bytes):
                    continue  # gone meanwhile (moved or deleted elsewhere)
                message_id = f"{validity}:{uid}"
                try:
                    found = incoming_files(message_id, raw, suffixes, internal_date(facts[uid].get("INTERNALDATE")))
                except Exception:  # a message the email package cannot take apart stays for a person to read
                    log.warning("IMAP: message %s could not be read and is left in place", message_id)
                    continue
                yield from found
                done.add(message_id)

    # ---- moving ---------------------------------------------------------------------------------

    def _move(self, message_id: str, validity: int, uid: int) -> None:
        conn = self.connection.get()
        current = self.connection.select(conn)
        if current != validity:
            note = tr(f"Meldingen {message_id} ble ikke flyttet: mappen «{self.settings.folder}» har fått ny "
                      f"UIDVALIDITY ({current}) siden den ble hentet. Den hentes på nytt neste gang.",
                      f"Message {message_id} was not moved: the folder «{self.settings.folder}» has a new "
                      f"UIDVALIDITY ({current}) since it was fetched. It is fetched again next time.")
            self.notes.append(note)
            self.stats.extra["imap_stale"] = self.stats.extra.get("imap_stale", 0) + 1
            log.warning("%s", note)
            return
        target = quoted_folder(self.connection.server_name(conn, self.settings.done_folder))
        self._ensure_done_folder(conn)
        if "MOVE" in self.connection.caps:
            typ, data = self.connection.call(conn.uid, "MOVE", str(uid), target)
            if typ != "OK" and response_code(data) == "TRYCREATE":  # someone deleted the folder meanwhile
                self._done_ready = False
                self._ensure_done_folder(conn)
                typ, data = self.connection.call(conn.uid, "MOVE", str(uid), target)
            self.connection.expect_ok(typ, data, "UID MOVE", done_folder=True)
        else:
            typ, data = self.connection.call(conn.uid, "COPY", str(uid), target)
            if typ != "OK" and response_code(data) == "TRYCREATE":
                self._done_ready = False
                self._ensure_done_folder(conn)
                typ, data = self.connection.call(conn.uid, "COPY", str(uid), target)
            self.connection.expect_ok(typ, data, "UID COPY", done_folder=True)
            typ, data = self.connection.call(conn.uid, "STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
            self.connection.expect_ok(typ, data, "UID STORE")
            if "UIDPLUS" in self.connection.caps:
                typ, data = self.connection.call(conn.uid, "EXPUNGE", str(uid))
            else:  # removes every message marked deleted in the folder: the only way without UIDPLUS
                typ, data = self.connection.call(conn.expunge)
            self.connection.expect_ok(typ, data, "EXPUNGE")
        self.stats.extra["imap_moved"] += 1

    def _done_exists(self, conn: IMAP4) -> bool:
        done = self.connection.server_name(conn, self.settings.done_folder)
        encoded = imap_utf7(done)
        typ, data = self.connection.call(conn.list, '""', quoted_folder(done))
        self.connection.expect_ok(typ, data, "LIST")
        for response in parse_responses(data):
            name = response[-1] if response else None
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
            if text == encoded:
                return True
        return False

    def _ensure_done_folder(self, conn: IMAP4) -> None:
        """Create the done folder the first time it is needed, if it is missing."""
        if self._done_ready:
            return
        if not self._done_exists(conn):
            done = quoted_folder(self.connection.server_name(conn, self.settings.done_folder))
            typ, data = self.connection.call(conn.create, done)
            if typ != "OK" and response_code(data) != "ALREADYEXISTS":
                self.connection.expect_ok(typ, data, "CREATE", done_folder=True)
            self.connection.call(conn.subscribe, done)  # so mail programs show it
        self._done_ready = True


def _split_id(message_id: str) -> tuple[int, int]:
    validity, _, uid = message_id.partition(":")
    if not (validity.isdigit() and uid.isdigit()):
        raise ValueError(f"not an IMAP message id (UIDVALIDITY:UID): {message_id!r}")
    return int(validity), int(uid)


def _size(items: dict[str, Any]) -> int:
    value = items.get("RFC822.SIZE")
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """UIDs in groups of at most BATCH_MESSAGES and about BATCH_BYTES (a bigger message goes alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= BATCH_MESSAGES or total + sizes.get(uid, 0) > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes.get(uid, 0)
    if batch:
        yield batch
