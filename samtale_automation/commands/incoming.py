"""The folders returned files pass through: innkommende/ (in), arkiv/ and karantene/ (out), DESIGN.md §3.

Shared by `collect` and the mailbox fetch: which names are left alone, a free name in a folder,
the reason note beside a quarantined file, and a byte-identical move.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import unicodedata
from pathlib import Path

from samtale_automation.paths import make_private_dir, sanitize_filename
from samtale_automation.texts import tr

IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
#: Characters of a name shown in messages, the journal and the workbook's Logg.
MAX_SHOWN_NAME = 200


def shown_name(name: str) -> str:
    """A file name from outside as text that can be stored and shown anywhere: bytes that were not UTF-8
    become U+FFFD, control, format and direction characters «?», and it is at most 200 characters."""
    try:
        text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that did not come from an undecodable byte
        text = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = "".join("?" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c
                   for c in text)
    return text if len(text) <= MAX_SHOWN_NAME else text[:MAX_SHOWN_NAME - 1] + "…"


def ignored_reason(path: Path) -> str | None:
    """Why a file in innkommende/ is not touched at all (Office lock files, system files, hidden files)."""
    name = path.name
    if name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#")):
        return tr("låsefil fra Excel/LibreOffice", "lock file from Excel/LibreOffice")
    if name.casefold() in IGNORED_NAMES or name.startswith("."):
        return tr("systemfil eller skjult fil", "system or hidden file")
    if not path.is_file():
        return tr("ikke en fil", "not a file")
    return None


def free_name(folder: Path, name: str, taken: set[Path] | frozenset[Path] = frozenset()) -> Path:
    """A path in `folder` for `name` that does not exist and is not `taken` yet (« (2)» added when needed)."""
    make_private_dir(folder)
    name = sanitize_filename(name)
    target = folder / name
    stem, suffix = os.path.splitext(name)
    number = 2
    while target in taken or target.exists() or target.with_name(target.name + ".txt").exists():
        target = folder / f"{stem} ({number}){suffix}"
        number += 1
    return target


def write_quarantine_note(target: Path, original: str, reason: str) -> None:
    """The `<same name>.txt` beside a quarantined file: what is wrong and what to do."""
    text = tr(
        f"Filen «{original}» ble lagt i karantene og er IKKE registrert.\n\nÅrsak: {reason}\n\n"
        "Når feilen er rettet, legg filen (ikke denne teksten) tilbake i mappen innkommende/, "
        "så blir den lest på nytt ved neste kjøring.\n",
        f"The file «{original}» was quarantined and is NOT recorded.\n\nReason: {reason}\n\n"
        "Once it is fixed, put the file (not this text) back in the innkommende/ folder; "
        "it is read again on the next run.\n")
    target.with_name(target.name + ".txt").write_text(text, encoding="utf-8")


def move_file(source: Path, target: Path) -> None:
    """Move a file byte-identical; a rename where possible, else copy, fsync, then remove."""
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    temp = target.with_name(".~samtale-" + target.name)
    shutil.copy2(source, temp)
    with open(temp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, target)
    with contextlib.suppress(FileNotFoundError):
        source.unlink()
