"""One run at a time per folder: an OS file lock that dies with the process.

A crashed or killed run cannot leave the lock stuck, because the operating system releases
it when the process ends. The lock file also names the holder, for the message a second
run shows.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from samtale_automation.errors import RunLockedError
from samtale_automation.texts import tr


def _try_lock(handle: IO[bytes]) -> bool:
    if os.name == "nt":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(handle: IO[bytes]) -> None:
    if os.name == "nt":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def run_lock(path: Path, command: str, wait_seconds: float = 30.0) -> Iterator[None]:
    """Hold the folder's run lock; wait up to `wait_seconds`, then refuse with RunLockedError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not truncated on open: the holder's note must stay readable for the waiting run.
    handle = open(path, "a+b")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + wait_seconds
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                holder = _holder(path)
                raise RunLockedError(
                    tr(f"En annen samtale-kjøring arbeider i denne mappen nå ({holder}).",
                       f"Another samtale run is working in this folder now ({holder})."),
                    hint=tr("Vent til den er ferdig og prøv igjen.",
                            "Wait until it has finished and try again."),
                )
            time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} på {socket.gethostname()}: {command}".encode())
        handle.flush()
        try:
            yield
        finally:
            _unlock(handle)
    finally:
        handle.close()


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or "ukjent"
    except OSError:
        return "ukjent"
