"""The run lock between machines: the holder note beside the lock file, its heartbeat and take-over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from samtale_automation.errors import EXIT_WORKBOOK, RunLockedError
from samtale_automation.store import runlock
from samtale_automation.store.lockholder import (
    STALE_SECONDS,
    Holder,
    claim,
    holder_path,
    pid_alive,
    read_holder,
    write_note,
)
from samtale_automation.store.runlock import run_lock

pytestmark = pytest.mark.usefixtures("nb_messages")  # messages are asserted in Norwegian


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    path = tmp_path / ".samtale" / "run.lock"
    path.parent.mkdir()
    return path


def _other(host: str, age: float, *, pid: int = 4242, command: str = "remind --nightly") -> Holder:
    """A note as another run wrote it, its heartbeat `age` seconds ago."""
    now = time.time()
    return Holder(host, pid, "kari", command, now - age - 60, now - age, "f" * 16)


def _dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True, check=True, timeout=60)
    pid = int(process.stdout)
    assert not pid_alive(pid)
    return pid


def test_a_process_that_ended_unreaped_is_not_alive() -> None:
    """Verify a zombie (ended, not yet waited for) is not alive, as a killed prep's workers in a container whose
    first process reaps nothing: their temp files are orphaned, not kept for a write that still runs."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.01)
        assert not pid_alive(child.pid)
    finally:
        child.wait(timeout=60)
    assert pid_alive(os.getpid())


def _note(lock_path: Path) -> Holder | None:
    return read_holder(holder_path(lock_path))[1]


def test_fresh_note_from_another_host_is_respected(lock_path: Path) -> None:
    """Verify a run on another machine with a fresh heartbeat keeps the folder: refused, naming host, user, since."""
    other = _other("HR-PC-07", age=10)
    write_note(holder_path(lock_path), other)
    with pytest.raises(RunLockedError) as caught, run_lock(lock_path, "prep", wait_seconds=0.5):
        pytest.fail("took the lock from a live run on another machine")
    message = caught.value.message
    assert message.startswith("En annen samtale-kjøring arbeider i denne mappen nå: «remind --nightly»")
    assert "kari" in message and "HR-PC-07" in message and "pid 4242" in message
    started = time.localtime(other.started)
    assert f"{started.tm_mday:02d}.{started.tm_mon:02d}.{started.tm_year} kl. {started.tm_hour:02d}:" in message
    assert "2 minutter etter siste livstegn" in caught.value.hint
    assert caught.value.exit_code == EXIT_WORKBOOK
    assert _note(lock_path) == other, "a refused run leaves the note alone"


def test_stale_note_from_another_host_is_taken_over(lock_path: Path) -> None:
    """Verify a note whose heartbeat is older than the stale limit (a machine switched off mid-run) is taken over."""
    write_note(holder_path(lock_path), _other("HR-PC-07", age=STALE_SECONDS + 60))
    with run_lock(lock_path, "prep", wait_seconds=0):
        note = _note(lock_path)
        assert note is not None and (note.pid, note.command) == (os.getpid(), "prep")
    assert not holder_path(lock_path).exists()


def test_same_host_note_of_a_dead_process_is_taken_over_at_once(lock_path: Path) -> None:
    """Verify a fresh note from this machine whose process is gone does not make the next run wait."""
    from samtale_automation.store.lockholder import this_host

    write_note(holder_path(lock_path), _other(this_host(), age=1, pid=_dead_pid()))
    with run_lock(lock_path, "prep", wait_seconds=0):
        note = _note(lock_path)
        assert note is not None and note.pid == os.getpid()


def test_same_host_note_of_a_live_process_is_respected_without_os_locks(lock_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify where the file system has no OS locks, the note alone keeps a second run out."""
    from samtale_automation.store.lockholder import this_host

    monkeypatch.setattr(runlock, "_try_lock", lambda fd: None)
    write_note(holder_path(lock_path), _other(this_host(), age=1, pid=os.getpid()))
    with pytest.raises(RunLockedError), run_lock(lock_path, "prep", wait_seconds=0):
        pass
    holder_path(lock_path).unlink()
    with run_lock(lock_path, "prep", wait_seconds=0), pytest.raises(RunLockedError), \
            run_lock(lock_path, "check", wait_seconds=0):
        pass


def test_heartbeat_is_renewed_while_held(lock_path: Path) -> None:
    """Verify the holder's daemon thread renews the heartbeat, so a long run is never judged stale."""
    with run_lock(lock_path, "nightly", wait_seconds=0, heartbeat_seconds=0.05) as held:
        first = _note(lock_path)
        assert first is not None
        deadline = time.monotonic() + 30
        while (note := _note(lock_path)) is None or note.heartbeat <= first.heartbeat:
            assert time.monotonic() < deadline, "the heartbeat was never renewed"
            time.sleep(0.02)
        assert (note.token, note.started, note.pid) == (first.token, first.started, first.pid)
        assert not held.lost


def test_a_run_that_lost_its_note_does_not_remove_the_new_holders(lock_path: Path) -> None:
    """Verify a holder judged stale and taken over notices, and leaves the new holder's note in place."""
    taker = _other("HR-PC-07", age=0)
    with run_lock(lock_path, "nightly", wait_seconds=0, heartbeat_seconds=0.05) as held:
        write_note(holder_path(lock_path), taker)
        deadline = time.monotonic() + 30
        while not held.lost:
            assert time.monotonic() < deadline, "the heartbeat did not notice the note was taken over"
            time.sleep(0.02)
    assert _note(lock_path) == taker


def test_half_written_note_is_waited_for_then_taken_over_when_old(lock_path: Path) -> None:
    """Verify an unreadable note counts as a run starting now, and as stale once old enough."""
    note = holder_path(lock_path)
    note.write_bytes(b"")
    me = Holder.me("prep")
    assert claim(note, me) == (False, None)
    old = time.time() - STALE_SECONDS - 60
    os.utime(note, (old, old))
    assert claim(note, me, settle=0) == (True, None)
    assert _note(lock_path) == me


def test_two_claims_one_winner(lock_path: Path) -> None:
    """Verify a fresh note is made once: the second claimant sees the first one's note."""
    note = holder_path(lock_path)
    first, second = Holder.me("prep"), Holder.me("collect")
    assert claim(note, first) == (True, None)
    assert claim(note, second) == (False, first)


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"), reason="posix fork")
def test_a_forked_child_does_not_keep_the_lock(lock_path: Path) -> None:
    """Verify a child forked while the lock is held lets it go when the parent is killed (it closes its copy)."""
    script = textwrap.dedent("""
        import os, sys, time
        from pathlib import Path
        from samtale_automation.store.runlock import run_lock

        with run_lock(Path(sys.argv[1]), "prep", wait_seconds=0):
            if os.fork() == 0:
                # the child speaks, so the test goes on only after the child's fork handlers ran
                print(os.getpid(), flush=True)
                time.sleep(60)
                os._exit(0)
            time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script, str(lock_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    child = int(holder.stdout.readline())
    try:
        with pytest.raises(RunLockedError), run_lock(lock_path, "check", wait_seconds=0):
            pass
        holder.kill()
        holder.wait(timeout=60)
        assert pid_alive(child)
        with run_lock(lock_path, "check", wait_seconds=0):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=60)
        holder.stdout.close()
        os.kill(child, signal.SIGKILL)


def test_lock_file_is_not_inherited(lock_path: Path) -> None:
    """Verify the lock file's descriptor is closed in any program the holder starts."""
    with run_lock(lock_path, "prep", wait_seconds=0):
        held = list(runlock._HELD)
        assert held and all(not os.get_inheritable(fd) for fd in held)
