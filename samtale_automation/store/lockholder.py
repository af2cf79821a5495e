"""The run lock's note beside the lock file, `.samtale/run.holder.json`: the signal between machines.

An OS file lock is not seen by another machine on every network share, and a synced folder
(OneDrive, Dropbox, …) carries no locks at all. So the holder also writes a small note naming
its host, process id, user, command, when it started, and a heartbeat it renews while it runs.
Another run respects the note while the heartbeat is fresh and takes it over when the holder
is gone: on the same host at once when its process no longer exists, from another host when
the heartbeat is older than `STALE_SECONDS`.

Judged by wall clocks, so the machines' clocks must agree to well within
`STALE_SECONDS - HEARTBEAT_SECONDS` (NTP or a Windows domain gives seconds). Without a shared
compare-and-swap, two machines taking over the same stale note at the same moment is narrowed
(a fresh note is made with O_EXCL, a take-over is read back after a pause) but not excluded.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from samtale_automation.texts import tr

HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 120.0
SETTLE_SECONDS = 0.5  # after taking over from another host: wait, then check the note is still ours


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a folder's run lock."""

    host: str
    pid: int
    user: str
    command: str
    started: float  # seconds since the epoch
    heartbeat: float
    token: str

    @classmethod
    def me(cls, command: str) -> Holder:
        """A note for this process, new token, heartbeat now."""
        # heartbeats are real time
        now = time.time()
        return cls(this_host(), os.getpid(), _user(), command, now, now, secrets.token_hex(8))

    def to_json(self) -> bytes:
        """The note as written to disk (times also in ISO form, for a person reading the file)."""
        data = {**asdict(self), "started_iso": _iso(self.started), "heartbeat_iso": _iso(self.heartbeat)}
        return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Holder | None:
        """The note read back; None when it is not one (empty, half-written, foreign)."""
        try:
            data = json.loads(raw.decode("utf-8"))
            return cls(str(data["host"]), int(data["pid"]), str(data["user"]), str(data["command"]),
                       float(data["started"]), float(data["heartbeat"]), str(data["token"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def same_host(self) -> bool:
        """Written on this machine."""
        return self.host.casefold() == this_host().casefold()

    def gone(self, stale_seconds: float = STALE_SECONDS, now: float | None = None) -> str:
        """Why this holder no longer holds the lock (`stale`, `dead`), or `` while it may still run."""
        # real time: a holder's heartbeat
        if (now if now is not None else time.time()) - self.heartbeat > stale_seconds:
            return "stale"
        if self.same_host() and not pid_alive(self.pid):
            return "dead"
        return ""

    def describe(self) -> str:
        """««prep», startet av kari på PC-HR (pid 123) 04.01.2027 kl. 09:14, sist aktiv kl. 09:16»."""
        started, beat = _local(self.started), _local(self.heartbeat)
        return tr(f"«{self.command}», startet av {self.user} på {self.host} (pid {self.pid}) "
                  f"{started:%d.%m.%Y} kl. {started:%H:%M}, sist aktiv kl. {beat:%H:%M:%S}",
                  f"«{self.command}», started by {self.user} on {self.host} (pid {self.pid}) "
                  f"{started:%Y-%m-%d} at {started:%H:%M}, last active at {beat:%H:%M:%S}")


def holder_path(lock_path: Path) -> Path:
    """`.samtale/run.lock` → `.samtale/run.holder.json`."""
    return lock_path.with_suffix(".holder.json")


def read_holder(path: Path) -> tuple[bool, Holder | None]:
    """(the note exists, the note) — it may exist and not be readable yet (being written) or be broken."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False, None
    except OSError:  # Windows: being replaced right now
        return True, None
    return True, Holder.from_json(raw)


def claim(path: Path, me: Holder, stale_seconds: float = STALE_SECONDS, settle: float = SETTLE_SECONDS,
          ) -> tuple[bool, Holder | None]:
    """Try to make `me` the holder: (True, None), or (False, the holder in the way if known)."""
    for _ in range(3):
        exists, current = read_holder(path)
        if current is not None and current.token == me.token:
            return True, None
        if not exists:
            if _create(path, me):
                return True, None
            continue  # someone else made it in between: judge theirs
        if current is None:
            if not _older_than(path, stale_seconds):
                return False, None  # half-written by a run starting now, or unreadable for a moment
            why = "stale"
        else:
            why = current.gone(stale_seconds)
            if not why:
                return False, current
        write_note(path, me)
        if why == "stale":
            time.sleep(settle)  # another machine may be taking it over too: the last writer wins
        _, now_there = read_holder(path)
        if now_there is not None and now_there.token != me.token:
            return False, now_there
    _, current = read_holder(path)
    return (True, None) if current is not None and current.token == me.token else (False, current)


def renew(path: Path, me: Holder) -> Holder | None:
    """Write a new heartbeat if the note is still ours; return the renewed note, or None if it was lost."""
    exists, current = read_holder(path)
    if exists and current is None:
        return me  # unreadable for a moment (being replaced): try again next beat
    if current is None or current.token != me.token:
        return None
    # real time: a heartbeat
    renewed = Holder(me.host, me.pid, me.user, me.command, me.started, time.time(), me.token)
    try:
        write_note(path, renewed)
    except OSError:
        return me  # a share gone for a moment: the next beat tries again
    return renewed


def release(path: Path, me: Holder) -> None:
    """Remove the note if it is still ours (never another run's)."""
    _, current = read_holder(path)
    if current is not None and current.token == me.token:
        with contextlib.suppress(OSError):
            path.unlink()


def write_note(path: Path, holder: Holder) -> None:
    """Replace the note atomically (a temp file beside it, then os.replace)."""
    temp = path.with_name(f".{path.name}.{holder.pid}.{holder.token}.tmp")
    temp.write_bytes(holder.to_json())
    for attempt in range(5):
        try:
            os.replace(temp, path)
            return
        except PermissionError:  # Windows: a reader has it open right now
            if attempt == 4:
                with contextlib.suppress(OSError):
                    temp.unlink()
                raise
            time.sleep(0.05)


def _create(path: Path, holder: Holder) -> bool:
    """Make the note only if there is none (O_EXCL is atomic on local disks, SMB and NFS)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, holder.to_json())
    finally:
        os.close(fd)
    return True


def _older_than(path: Path, seconds: float) -> bool:
    try:
        # real time: the file's age
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (never signals it)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return not _ended(pid)


def _ended(pid: int) -> bool:
    """Whether the process has ended but was never reaped (a zombie: Linux shows state Z in /proc).

    Such a process writes nothing any more. In a container whose first process reaps nothing, the
    workers of a killed `prep` stay zombies, and their half-written temp files must still count as
    orphaned. Without /proc (macOS) a process that answers the signal is taken as running.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only (reviewed, not run here)
    # os.kill(pid, 0) would terminate the process on Windows: ask for its exit code instead.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    process_query_limited_information, still_active, access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return bool(ctypes.get_last_error() == access_denied)  # type: ignore[attr-defined]
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def this_host() -> str:
    """This machine's name as the note gives it."""
    return socket.gethostname() or "ukjent"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "ukjent"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _local(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds).astimezone()
