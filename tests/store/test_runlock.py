"""The folder's run lock, exercised with real processes: refused while held, freed when the holder dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from samtale_automation.errors import EXIT_WORKBOOK, RunLockedError
from samtale_automation.store.lockholder import Holder, holder_path, read_holder
from samtale_automation.store.runlock import run_lock

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian

# A separate Python process that takes the lock, says so on stdout, and holds it for
# `hold` seconds (long enough to be killed first when the test wants that).
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from samtale_automation.store.runlock import run_lock

    path, command, hold = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    with run_lock(path, command, wait_seconds=0):
        print("locked", flush=True)
        time.sleep(hold)
    print("released", flush=True)
""")


def _note(lock_path: Path) -> Holder | None:
    return read_holder(holder_path(lock_path))[1]


StartHolder = Callable[[str, float], "subprocess.Popen[str]"]


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / ".samtale" / "run.lock"


@pytest.fixture
def start_holder(lock_path: Path) -> Iterator[StartHolder]:
    """Start holder processes; each is killed at the end of the test if still alive."""
    started: list[subprocess.Popen[str]] = []

    def start(command: str, hold: float) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path), command, str(hold)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the lock is held (or the process dies)
        assert line.strip() == "locked", process.stderr.read() if process.stderr else line
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_second_run_is_refused_and_names_the_holder(lock_path: Path, start_holder: StartHolder) -> None:
    """Verify a second run waits wait_seconds and then gets RunLockedError naming the holder's pid and command."""
    holder = start_holder("remind --nightly", 60)
    began = time.monotonic()
    with pytest.raises(RunLockedError) as caught, run_lock(lock_path, "status", wait_seconds=0.5):
        pytest.fail("the lock was given to a second run while held")
    waited = time.monotonic() - began
    assert waited >= 0.5, "it waited before refusing"
    message = caught.value.message
    assert f"pid {holder.pid}" in message
    assert "remind --nightly" in message
    assert "En annen samtale-kjøring" in message
    assert caught.value.exit_code == EXIT_WORKBOOK
    assert caught.value.hint


def test_refused_run_does_not_overwrite_the_holders_note(lock_path: Path, start_holder: StartHolder) -> None:
    """Verify a refused run leaves the holder's note intact for the next run that asks."""
    holder = start_holder("apply", 60)
    for _ in range(2):
        with pytest.raises(RunLockedError) as caught, run_lock(lock_path, "check", wait_seconds=0):
            pass
        assert f"pid {holder.pid}" in caught.value.message
        assert "«apply»" in caught.value.message
    note = _note(lock_path)
    assert note is not None and note.pid == holder.pid and note.command == "apply"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is posix only")
def test_killed_holder_frees_the_lock_at_once(lock_path: Path, start_holder: StartHolder) -> None:
    """Verify a run killed with SIGKILL (no cleanup at all) leaves no stuck lock: the next run gets it at once."""
    holder = start_holder("round new", 60)
    with pytest.raises(RunLockedError), run_lock(lock_path, "apply", wait_seconds=0):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    left = _note(lock_path)
    assert left is not None and left.pid == holder.pid, "the killed holder's note stays behind"
    with run_lock(lock_path, "apply", wait_seconds=0):
        note = _note(lock_path)
        assert note is not None
        assert (note.pid, note.host, note.command) == (os.getpid(), socket.gethostname(), "apply")
    assert not holder_path(lock_path).exists(), "the note goes with the lock"


def test_waiting_run_gets_the_lock_when_the_holder_releases(lock_path: Path, start_holder: StartHolder) -> None:
    """Verify a run that waits gets the lock as soon as the holder finishes within the wait."""
    holder = start_holder("status", 1.0)
    began = time.monotonic()
    with run_lock(lock_path, "apply", wait_seconds=20):
        waited = time.monotonic() - began
        note = _note(lock_path)
        assert note is not None and note.pid == os.getpid()
        assert holder.wait(timeout=10) == 0
    assert waited > 0.3, "it waited for the holder"
    assert holder.stdout is not None
    assert holder.stdout.read().strip() == "released"


def test_lock_is_released_after_the_block_and_after_an_error(lock_path: Path) -> None:
    """Verify the lock is free again when the block ends, normally or by an exception."""
    with run_lock(lock_path, "first", wait_seconds=0):
        pass
    with pytest.raises(ValueError, match="boom"), run_lock(lock_path, "second", wait_seconds=0):
        raise ValueError("boom")
    probe = subprocess.run([sys.executable, "-c", HOLDER, str(lock_path), "probe", "0"],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["locked", "released"]
