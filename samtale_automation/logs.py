"""The technical log `.samtale/logs/samtale.log` that IT reads: one summary line per command run, rotated.

Lines hold IDs, counts, step names and outcomes — never names, e-mail addresses, file contents
or secrets (a value that looks like one is masked by `scrub`, the last guard). The file is
rotated at `MAX_BYTES` with `BACKUPS` old files kept, and created private to the running user.
"""

from __future__ import annotations

import logging
import os
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "samtale.log"
MAX_BYTES = 1_000_000
BACKUPS = 5

_EMAIL = re.compile(r"[^\s@<>\"',;:()\[\]]+@[^\s@<>\"',;:()\[\]]+")
_SECRET = re.compile(r"(?i)\b(password|passord|secret|token|client_secret|apikey|api_key)\s*[=:]\s*\S+")


def scrub(text: str) -> str:
    """Mask e-mail addresses and `password=…`-style values; keep the line on one line."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}=***", text)
    return _EMAIL.sub("<e-post>", text).replace("\r", " ").replace("\n", " | ")


def log_files(logs: Path) -> list[Path]:
    """The log file and its rotated copies, newest first (those that exist)."""
    return [p for p in [logs / LOG_NAME, *(logs / f"{LOG_NAME}.{i}" for i in range(1, BACKUPS + 1))] if p.exists()]


def write_line(logs: Path, line: str, *, level: int = logging.INFO) -> None:
    """Append one line (time, level, text) to the folder's log, rotating when it is full."""
    logs.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(logs, 0o700)
    path = logs / LOG_NAME
    fresh = not path.exists()
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    try:
        record = logging.LogRecord("samtale", level, str(path), 0, scrub(line), None, None)
        if handler.shouldRollover(record):
            handler.doRollover()
        handler.emit(record)
    finally:
        handler.close()
    if fresh and os.name == "posix":
        os.chmod(path, 0o600)
