"""The safe-write protocol for the master workbook (DESIGN.md §6, research/excel.md §4).

Refuse while Excel's owner file `~$<name>` (or LibreOffice's lock) exists or the file cannot
be opened for writing; write a temp file in the same folder, fsync, verify it, re-check that
the original did not change meanwhile, keep a timestamped backup, then `os.replace`.

Temp files are named `.~samtale-<pid>-<name>` and created private (0600 where the OS allows;
on Windows a file inherits its folder's ACL); one a killed run left behind is removed by the
next write once it is old enough that no running write can still own it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from samtale_automation.errors import WorkbookLockedError
from samtale_automation.texts import tr

BACKUPS_KEPT = 20
TEMP_PREFIX = ".~samtale-"
#: A temp file untouched this long belongs to no running write (a write takes seconds, and holds
#: the folder's run lock); older ones were left by a killed run.
STALE_TEMP_SECONDS = 600
_OUR_TEMP = re.compile(r"\.~samtale-(?:\d+|init)-.+")
_OUR_TEMP_PID = re.compile(r"\.~samtale-(\d+)-.+")


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one saved version of a file."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        """Take the fingerprint of a file now."""
        stat = path.stat()
        return cls(stat.st_mtime_ns, stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest())


def owner_file_user(path: Path) -> str | None:
    """Return who has the workbook open per Excel's `~$` or LibreOffice's lock file, else None.

    Excel writes `~$<name>` (Word-style truncation `~$<name[2:]>` for long names is checked
    too); LibreOffice writes `.~lock.<name>#`. An empty name means the holder is unknown.
    """
    candidates = [path.with_name("~$" + path.name), path.with_name("~$" + path.name[2:]),
                  path.with_name(f".~lock.{path.name}#")]
    for candidate in candidates:
        if candidate.exists():
            return _read_owner_name(candidate)
    return None


def _read_owner_name(lock: Path) -> str:
    try:
        data = lock.read_bytes()[:512]
    except OSError:
        return ""
    if lock.name.startswith(".~lock."):
        # LibreOffice: "Full Name,login,host,time,url;": prefer the full name, else the login.
        parts = data.decode("utf-8", errors="replace").split(",")
        full = parts[0].strip()
        login = parts[1].strip() if len(parts) > 1 else ""
        return login if full in ("", "C") else full
    if len(data) >= 57:
        length = int.from_bytes(data[55:57], "little")
        if 0 < length <= 54 and len(data) >= 57 + 2 * length:
            return data[57:57 + 2 * length].decode("utf-16-le", errors="replace").strip()
    if data:
        length = data[0]
        return data[1:1 + length].decode("cp1252", errors="replace").strip()
    return ""


def assert_writable(path: Path) -> None:
    """Raise WorkbookLockedError when someone has the workbook open or it cannot be written."""
    user = owner_file_user(path)
    if user is not None:
        who = user or tr("noen", "someone")
        raise WorkbookLockedError(
            tr(f"{path.name} er åpen hos {who}. Endringene venter og blir skrevet senere.",
               f"{path.name} is open by {who}. The changes are waiting and will be written later."),
            hint=tr("Lukk arbeidsboken i Excel og kjør «samtale apply». Ligger «~$"
                    f"{path.name}» igjen etter et krasj, kan den slettes når ingen har filen åpen.",
                    f"Close the workbook in Excel and run «samtale apply». If «~${path.name}» "
                    "is left over after a crash, delete it once nobody has the file open."),
        )
    try:
        with open(path, "r+b"):
            pass
    except PermissionError:
        raise WorkbookLockedError(
            tr(f"{path.name} kan ikke skrives nå (åpen i et annet program eller skrivebeskyttet). "
               "Endringene venter.",
               f"{path.name} cannot be written now (open elsewhere or read-only). "
               "The changes are waiting."),
            hint=tr("Lukk filen og kjør «samtale apply».", "Close the file and run «samtale apply»."),
        ) from None


def replace_safely(
    path: Path,
    before: Fingerprint,
    write_temp: Callable[[Path], None],
    verify: Callable[[Path], None],
    backups: Path,
) -> Path:
    """Write a new version of `path` through a verified temp file; return the backup made.

    `write_temp` writes the new content to the given temp path; `verify` raises if that
    content is not right. The original must still match `before` just before the swap.
    """
    remove_stale_temps(path.parent)
    temp = temp_path(path)
    try:
        _create_private(temp)  # the content is personal data from the first byte
        write_temp(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        verify(temp)
        assert_writable(path)
        if Fingerprint.of(path) != before:
            raise WorkbookLockedError(
                tr(f"{path.name} ble endret av noen andre mens samtale arbeidet. Endringene venter.",
                   f"{path.name} was changed by someone else while samtale worked. "
                   "The changes are waiting."),
                hint=tr("Kjør kommandoen på nytt.", "Run the command again."),
            )
        backup = make_backup(path, backups)
        _copy_mode(path, temp)
        os.replace(temp, path)
        _fsync_dir(path.parent)
        return backup
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def temp_path(path: Path) -> Path:
    """The temp file a write of `path` by this process uses, in the same folder."""
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")


def remove_stale_temps(folder: Path, max_age: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove our own temp files (`.~samtale-<pid>-*`) older than `max_age` seconds; return them.

    Only names this module makes are touched, never Excel's or LibreOffice's files, and never
    a temp file young enough to belong to a write still running (in this or another process).
    """
    removed: list[Path] = []
    # temp files older than this, by real time
    limit = time.time() - max_age
    try:
        candidates = [p for p in folder.iterdir() if _OUR_TEMP.fullmatch(p.name)]
    except OSError:
        return removed
    for candidate in candidates:
        with contextlib.suppress(OSError):
            if candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_mtime < limit:
                candidate.unlink()
                removed.append(candidate)
    return removed


def remove_orphaned_temps(root: Path, alive: Callable[[int], bool],
                          max_age: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove our temp files anywhere below `root` whose writing process is gone (`alive(pid)` false) or
    that are older than `max_age` seconds; return them. Call it holding the folder's run lock.

    A killed `prep` leaves half-written `.~samtale-<pid>-<name>.xlsx` beside the prep files, where
    no write of the master ever looks. Under the run lock no other samtale run writes in the folder,
    so a temp whose process has ended belongs to no running write; a live process of that number
    (this process, its workers, or an unrelated one that reused the number) keeps it until it is old.
    """
    removed: list[Path] = []
    limit = time.time() - max_age  # real time: the age of a file on disk
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith(".~samtale-") or _OUR_TEMP.fullmatch(name) is None:
                continue  # (the prefix first: 20,000 prep and outbox files at 5,000 employees)
            candidate = Path(folder) / name
            owner = _OUR_TEMP_PID.fullmatch(name)
            with contextlib.suppress(OSError):
                if candidate.is_symlink() or not candidate.is_file():
                    continue
                if (owner is not None and not alive(int(owner.group(1)))) or candidate.stat().st_mtime < limit:
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def make_private(path: Path) -> None:
    """Make an existing file readable only by the running user (POSIX; Windows keeps the folder's ACL)."""
    if os.name == "posix":
        os.chmod(path, 0o600)


def _create_private(path: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    os.close(os.open(path, flags, 0o600))
    make_private(path)  # an existing temp of the same name keeps its old mode on O_CREAT


def make_backup(path: Path, backups: Path, keep: int = BACKUPS_KEPT) -> Path:
    """Copy `path` to `backups/<stem>.<timestamp><suffix>` and keep only the newest `keep`."""
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # real time: when the backup was made
    backup = backups / f"{path.stem}.{stamp}{path.suffix}"
    shutil.copy2(path, backup)
    old = sorted(backups.glob(f"{path.stem}.*{path.suffix}"))
    for stale in old[:-keep]:
        with contextlib.suppress(OSError):
            stale.unlink()
    return backup


def _copy_mode(source: Path, target: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.copymode(source, target)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a small file atomically, readable only by the running user where the OS allows.

    `durable=False` skips the fsync: for files the tool can make again (prep files, guides),
    where a thousand fsyncs would cost more than the rare crash that needs a re-run.
    """
    temp = temp_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o600)
    try:
        make_private(temp)  # a temp left by a killed run keeps its old mode on O_CREAT
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


def write_chosen_file(path: Path, data: bytes) -> None:
    """Write a file to a place a person chose (`--out`); a folder that is missing or closed is a usage error."""
    from samtale_automation.errors import UsageError

    try:
        write_private(path, data)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp_path(path).unlink(missing_ok=True)
        raise UsageError(tr(f"Kunne ikke skrive {path}: {exc.strerror or type(exc).__name__}.",
                            f"Could not write {path}: {exc.strerror or type(exc).__name__}."),
                         hint=tr("Sjekk at mappen finnes og at du kan skrive i den, eller velg en annen med --out.",
                                 "Check that the folder exists and that you may write to it, or choose another "
                                 "with --out.")) from exc
