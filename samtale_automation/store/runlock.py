"""One run at a time per folder: an OS file lock on this machine, a note with a heartbeat between machines.

1. The OS lock on `.samtale/run.lock` (flock; msvcrt byte lock on Windows) is the fast path: the
   operating system frees it when the holder ends however it ends, so a run on the same machine
   never waits for a dead one. Only the process that took it holds it: the file is opened
   non-inheritable (O_CLOEXEC / O_NOINHERIT), a forked child closes its copy at once, and the
   prep workers are spawned, not forked (prepfile/parallel.py).
2. The note `.samtale/run.holder.json` (store/lockholder.py) is the signal between machines on a
   network share or a synced folder, where OS locks may not be seen: it names host, pid, user,
   command and start, and a daemon thread renews its heartbeat every 30 s. A note is taken over
   at once when its process is gone on this host, and from another host only when stale.

A second run waits up to `wait_seconds`, then refuses with RunLockedError naming the holder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from samtale_automation.errors import RunLockedError
from samtale_automation.store.lockholder import (
    HEARTBEAT_SECONDS,
    STALE_SECONDS,
    Holder,
    claim,
    holder_path,
    read_holder,
    release,
    renew,
)
from samtale_automation.texts import tr

#: Lock file descriptors this process holds open; a forked child closes its copies (after_in_child).
_HELD: set[int] = set()
#: flock errors that mean «no OS locks on this file system», not «someone holds it».
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


def _forget_in_child() -> None:
    """In a forked child: close the lock files without unlocking (that would free the parent's lock)."""
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _open(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0) \
        | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600)
    os.set_inheritable(fd, False)
    return fd


def _try_lock(fd: int) -> bool | None:
    """True: locked; False: another process holds it; None: this file system has no OS locks."""
    if os.name == "nt":  # pragma: no cover - Windows (reviewed, not run here)
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as error:
        return None if error.errno in _UNSUPPORTED else False


def _unlock(fd: int) -> None:
    if fd not in _HELD:
        return  # a forked child: the lock is the parent's
    if os.name == "nt":  # pragma: no cover - Windows (reviewed, not run here)
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class HeldLock(threading.Thread):
    """The lock while held: renews the note's heartbeat from a daemon thread; `lost` if another run took it."""

    def __init__(self, note: Path, holder: Holder, every: float) -> None:
        super().__init__(name="samtale-run-lock-heartbeat", daemon=True)
        self.note, self.holder, self.every = note, holder, every
        self.lost = False
        self._done = threading.Event()

    def run(self) -> None:
        """Renew the heartbeat until stopped, or until the note names another run."""
        while not self._done.wait(self.every):
            renewed = renew(self.note, self.holder)
            if renewed is None:
                self.lost = True  # judged stale (this machine slept, the share was away): nothing to renew
                return
            self.holder = renewed

    def stop(self) -> None:
        """Stop renewing (waits for a renewal under way)."""
        self._done.set()
        if self.is_alive():
            self.join()


@contextmanager
def run_lock(path: Path, command: str, wait_seconds: float = 30.0, *, heartbeat_seconds: float = HEARTBEAT_SECONDS,
             stale_seconds: float = STALE_SECONDS) -> Iterator[HeldLock]:
    """Hold the folder's run lock; wait up to `wait_seconds`, then refuse with RunLockedError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    note, me = holder_path(path), Holder.me(command)
    fd = _open(path)
    _HELD.add(fd)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            locked = _try_lock(fd)
            other: Holder | None = None
            if locked is not False:
                won, other = claim(note, me, stale_seconds)
                if won:
                    break
                if locked:
                    _unlock(fd)
            else:
                other = read_holder(note)[1]
            if time.monotonic() >= deadline:
                raise _refusal(other, path, stale_seconds)
            time.sleep(0.2)
        held = HeldLock(note, me, heartbeat_seconds)
        held.start()
        try:
            yield held
        finally:
            held.stop()
            if fd in _HELD:  # not in a forked child that returned here
                release(note, held.holder)
                if locked:
                    _unlock(fd)
    finally:
        if fd in _HELD:
            _HELD.discard(fd)
            os.close(fd)


def _refusal(other: Holder | None, path: Path, stale_seconds: float) -> RunLockedError:
    who = other.describe() if other else _old_note(path) or tr("ukjent hvem", "unknown who")
    hint = tr("Vent til den er ferdig og prøv igjen.", "Wait until it has finished and try again.")
    if other is not None and not other.same_host():
        minutes = round(stale_seconds / 60)
        hint += tr(f" Ble den maskinen slått av eller koblet fra midt i kjøringen, er mappen ledig igjen "
                   f"{minutes} minutter etter siste livstegn.",
                   f" If that machine was switched off or disconnected during the run, the folder is free again "
                   f"{minutes} minutes after its last sign of life.")
    return RunLockedError(tr(f"En annen samtale-kjøring arbeider i denne mappen nå: {who}.",
                             f"Another samtale run is working in this folder now: {who}."), hint=hint)


def _old_note(path: Path) -> str:
    """What a samtale before the holder note wrote into the lock file itself («pid 12 på pc: prep»)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        return ""
