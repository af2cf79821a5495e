"""GDPR at the storage level: read any file's text (to find a person), and export or scrub the journal.

`file_text` gives the words a file holds as a person would read them: every XML part of an
.xlsx (entities decoded), a PDF's text (pypdf), an .eml's decoded headers, bodies and attachments, a UTF-16 text
(the Task Scheduler XML), else the bytes as UTF-8. Bounded: a part or file over `MAX_BYTES` is
read only up to it.

`scrub_journal` replaces every mention (name, address) in every text cell of every table with
«(slettet)» — inside ChangeSet payloads value by value, so the JSON stays valid — under SQLite's
`secure_delete` (freed pages are overwritten), then VACUUMs and truncates the WAL, so the journal
file's bytes no longer hold the old values.
"""

from __future__ import annotations

import email
import html
import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

from samtale_automation.store.journal import Journal

MAX_BYTES = 50 * 1024 * 1024
MAX_PDF_PAGES = 200
_XML_PARTS = (".xml", ".rels", ".vml")
_TEXT_PARTS = (".json", ".txt", ".html", ".csv")
_NESTED = (".xlsx", ".xlsm", ".eml", ".ics", ".zip")
_NUMERIC = re.compile(r"&#(x[0-9a-fA-F]+|\d+);")


def file_text(path: Path) -> str:
    """The text a file holds (see the module); "" when it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES)
    except OSError:
        return ""
    return bytes_text(data, path.suffix.lower())


def bytes_text(data: bytes, suffix: str = "") -> str:
    """The text in a file's bytes, by its kind (zip packages and e-mails are opened)."""
    if data[:4] == b"PK\x03\x04":
        return _zip_text(data)
    if data[:5] == b"%PDF-":
        return _pdf_text(data)
    if suffix == ".eml" or data[:200].lower().find(b"mime-version:") >= 0:
        return _mail_text(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return html.unescape(data.decode("utf-8", errors="replace"))


def _zip_text(data: bytes, depth: int = 0) -> str:
    """Every text part of a zip (an .xlsx's XML, an export's JSON); packages and mails inside it once more."""
    import io

    parts: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            for info in package.infolist():
                name = info.filename.lower()
                if info.file_size > MAX_BYTES or info.is_dir():
                    continue
                with package.open(info) as member:
                    content = member.read(MAX_BYTES)
                if name.endswith(_XML_PARTS + _TEXT_PARTS):
                    parts.append(html.unescape(content.decode("utf-8", errors="replace")))
                elif depth < 2 and name.endswith(_NESTED):
                    parts.append(_zip_text(content, depth + 1) if content[:4] == b"PK\x03\x04"
                                 else bytes_text(content, Path(name).suffix))
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return data.decode("utf-8", errors="replace")
    return "\n".join(parts)


def _pdf_text(data: bytes) -> str:
    """A PDF's words (the signed minutes): its metadata and each page's text through its ToUnicode maps."""
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        parts = [str(value) for value in (reader.metadata or {}).values()]
        parts += [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    except Exception:  # a damaged or hostile PDF is still searched as bytes
        return data.decode("latin-1", errors="replace")
    return "\n".join(parts)


def _mail_text(data: bytes) -> str:
    try:
        message = email.message_from_bytes(data, policy=policy.default)
    except Exception:  # a broken message is still searched as bytes below
        return data.decode("utf-8", errors="replace")
    parts = [f"{key}: {value}" for key, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            continue
        if not isinstance(payload, bytes):
            continue
        kind = part.get_content_type()
        if kind.startswith("text/"):
            parts.append(html.unescape(payload.decode(part.get_content_charset() or "utf-8", errors="replace")))
        else:
            parts.append(bytes_text(payload, Path(part.get_filename() or "").suffix.lower()))
    return "\n".join(parts)


def mail_recipients(path: Path) -> list[str]:
    """The addresses an .eml was sent to (To, Cc), lower-cased; [] when it is not a readable e-mail."""
    try:
        message = email.message_from_bytes(path.read_bytes()[:MAX_BYTES], policy=policy.default)
        found = []
        for header in ("To", "Cc"):
            for address in message.get_all(header, []):
                found += [a.addr_spec.casefold() for a in getattr(address, "addresses", ())]
        return found
    except Exception:
        return []


def _tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, change) for k, v in value.items()}
    return value


def journal_rows(journal: Journal, wanted: Callable[[str, dict[str, Any]], dict[str, Any] | None],
                 ) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that `wanted(table, row)` keeps (it may return a trimmed row), by table."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in _tables(journal.db):
        cursor = journal.db.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            kept = wanted(table, row)
            if kept is not None:
                found.setdefault(table, []).append(kept)
    return found


def scrub_journal(journal: Journal, change: Callable[[str], str]) -> int:
    """Rewrite every text cell `change` alters (JSON payloads value by value); secure delete, VACUUM. Cells changed."""
    db = journal.db
    db.execute("PRAGMA secure_delete = ON")
    changed = 0
    with journal.transaction():
        for table in _tables(db):
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            for row in db.execute(f'SELECT rowid, * FROM "{table}"').fetchall():
                updates = {}
                for column, value in zip(columns, row[1:], strict=True):
                    if not isinstance(value, str):
                        continue
                    new = _scrub_value(value, change)
                    if new != value:
                        updates[column] = new
                if updates:
                    sets = ", ".join(f'"{c}" = ?' for c in updates)
                    try:
                        db.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', (*updates.values(), row[0]))
                    except sqlite3.IntegrityError:
                        # The scrubbed key is another erased person's already (one message to two people
                        # erased in turn): the row says nothing then, so it goes.
                        db.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (row[0],))
                    changed += len(updates)
    db.execute("VACUUM")
    if journal.mode == "wal":
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed


def _scrub_value(value: str, change: Callable[[str], str]) -> str:
    if value[:1] in "{[":
        try:
            data = json.loads(value)
        except ValueError:
            return change(value)
        walked = _walk(data, change)
        return value if walked == data else json.dumps(walked, ensure_ascii=False)
    return change(value)
