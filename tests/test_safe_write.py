"""The safe-write protocol: owner files, optimistic concurrency, temp files and backups."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from samtale_automation.errors import EXIT_WORKBOOK, WorkbookLockedError
from samtale_automation.safe_write import (
    BACKUPS_KEPT,
    Fingerprint,
    assert_writable,
    make_backup,
    owner_file_user,
    remove_orphaned_temps,
    remove_stale_temps,
    replace_safely,
    write_private,
)

pytestmark = pytest.mark.usefixtures("nb_messages")

ORIGINAL = b"PK\x03\x04 original workbook bytes"


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """A stand-in master file (safe_write does not look inside it)."""
    path = tmp_path / "samtaler.xlsx"
    path.write_bytes(ORIGINAL)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~samtale-"))


# ---- owner files -----------------------------------------------------------------------

def test_excel_owner_file_layout(excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify the test's owner-file maker writes Excel's 165-byte layout (so the parsing tests mean something)."""
    data = excel_owner_file("Kari Nordmann")
    assert len(data) == 165
    assert data[0] == 13
    assert data[1:14] == b"Kari Nordmann"
    assert data[14:55] == b" " * 41
    assert int.from_bytes(data[55:57], "little") == 13
    assert data[57:83] == "Kari Nordmann".encode("utf-16-le")
    assert data[83:] == b" \x00" * 41


def test_owner_file_user_excel(workbook: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify the user name is read from a real-format Excel owner file, including Norwegian letters."""
    assert owner_file_user(workbook) is None
    lock = workbook.with_name("~$samtaler.xlsx")
    lock.write_bytes(excel_owner_file("Åse Ødegård"))
    assert owner_file_user(workbook) == "Åse Ødegård"
    lock.write_bytes(excel_owner_file("Kari Nordmann"))
    assert owner_file_user(workbook) == "Kari Nordmann"


def test_owner_file_user_excel_ansi_only(workbook: Path) -> None:
    """Verify a short owner file with only the ANSI name (no UTF-16 part) still names the user."""
    name = "Per Øyen".encode("cp1252")
    workbook.with_name("~$samtaler.xlsx").write_bytes(bytes([len(name)]) + name + b" " * 10)
    assert owner_file_user(workbook) == "Per Øyen"


def test_owner_file_user_unknown_holder(workbook: Path) -> None:
    """Verify an empty owner file still counts as open, by an unknown person."""
    workbook.with_name("~$samtaler.xlsx").write_bytes(b"")
    assert owner_file_user(workbook) == ""
    with pytest.raises(WorkbookLockedError) as caught:
        assert_writable(workbook)
    assert "er åpen hos noen" in caught.value.message


def test_owner_file_user_word_style_truncation(tmp_path: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify the owner file with the first two letters of a long name cut off is found too."""
    path = tmp_path / "medarbeidersamtaler.xlsm"
    path.write_bytes(ORIGINAL)
    (tmp_path / "~$darbeidersamtaler.xlsm").write_bytes(excel_owner_file("Kari Nordmann"))
    assert owner_file_user(path) == "Kari Nordmann"


def test_owner_file_user_libreoffice(workbook: Path) -> None:
    """Verify LibreOffice's `.~lock.<name>#` file is read and names the user."""
    lock = workbook.with_name(".~lock.samtaler.xlsx#")
    lock.write_text("C,Kari Nordmann,kontor-pc,22.11.2026 13:42,file:///home/kari/.config/libreoffice/4;",
                    encoding="utf-8")
    assert owner_file_user(workbook) == "Kari Nordmann"


def test_owner_file_of_other_workbook_is_ignored(workbook: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify an owner file that belongs to another workbook in the folder does not lock this one."""
    workbook.with_name("~$annet.xlsx").write_bytes(excel_owner_file("Kari Nordmann"))
    assert owner_file_user(workbook) is None
    assert_writable(workbook)


def test_assert_writable_names_the_person(workbook: Path, excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify assert_writable raises WorkbookLockedError (exit 3) naming who has the workbook open."""
    assert_writable(workbook)
    workbook.with_name("~$samtaler.xlsx").write_bytes(excel_owner_file("Kari Nordmann"))
    with pytest.raises(WorkbookLockedError) as caught:
        assert_writable(workbook)
    error = caught.value
    assert error.exit_code == EXIT_WORKBOOK
    assert error.message == "samtaler.xlsx er åpen hos Kari Nordmann. Endringene venter og blir skrevet senere."
    assert "samtale apply" in error.hint


# ---- replace_safely --------------------------------------------------------------------

def test_replace_safely_replaces_and_backs_up(workbook: Path, tmp_path: Path) -> None:
    """Verify a normal replace writes the new bytes, keeps a backup of the old ones and leaves no temp file."""
    before = Fingerprint.of(workbook)
    seen: list[Path] = []

    def write(temp: Path) -> None:
        seen.append(temp)
        assert temp.parent == workbook.parent  # same folder, so os.replace is atomic
        temp.write_bytes(b"PK new content")

    backup = replace_safely(workbook, before, write, lambda temp: None, tmp_path / "backups")
    assert workbook.read_bytes() == b"PK new content"
    assert backup.parent == tmp_path / "backups"
    assert backup.read_bytes() == ORIGINAL
    assert backup.name.startswith("samtaler.")
    assert backup.suffix == ".xlsx"
    assert not seen[0].exists()
    assert _leftovers(tmp_path) == []


def test_replace_safely_refuses_when_changed_meanwhile(workbook: Path, tmp_path: Path) -> None:
    """Verify the replace is refused when someone saved the original after it was read, leaving their bytes."""
    before = Fingerprint.of(workbook)
    theirs = b"PK saved by Excel meanwhile"

    def write(temp: Path) -> None:
        temp.write_bytes(b"PK ours")
        workbook.write_bytes(theirs)  # Excel saves while we work

    with pytest.raises(WorkbookLockedError) as caught:
        replace_safely(workbook, before, write, lambda temp: None, tmp_path / "backups")
    assert "ble endret av noen andre" in caught.value.message
    assert workbook.read_bytes() == theirs
    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


def test_replace_safely_detects_same_size_change(workbook: Path, tmp_path: Path) -> None:
    """Verify a change of equal size and restored mtime is still caught by the content hash."""
    before = Fingerprint.of(workbook)
    stat = workbook.stat()

    def write(temp: Path) -> None:
        temp.write_bytes(b"PK ours")
        workbook.write_bytes(ORIGINAL.upper())
        os.utime(workbook, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(WorkbookLockedError):
        replace_safely(workbook, before, write, lambda temp: None, tmp_path / "backups")
    assert workbook.read_bytes() == ORIGINAL.upper()
    assert _leftovers(tmp_path) == []


def test_replace_safely_refuses_when_opened_meanwhile(workbook: Path, tmp_path: Path,
                                                      excel_owner_file: Callable[[str], bytes]) -> None:
    """Verify the replace is refused when Excel opened the workbook after it was read."""
    before = Fingerprint.of(workbook)

    def write(temp: Path) -> None:
        temp.write_bytes(b"PK ours")
        workbook.with_name("~$samtaler.xlsx").write_bytes(excel_owner_file("Kari Nordmann"))

    with pytest.raises(WorkbookLockedError) as caught:
        replace_safely(workbook, before, write, lambda temp: None, tmp_path / "backups")
    assert "Kari Nordmann" in caught.value.message
    assert workbook.read_bytes() == ORIGINAL
    assert _leftovers(tmp_path) == []


def test_replace_safely_failed_verify_keeps_original(workbook: Path, tmp_path: Path) -> None:
    """Verify a temp file that fails verification never replaces the original and is removed."""
    before = Fingerprint.of(workbook)

    def verify(temp: Path) -> None:
        assert temp.read_bytes() == b"PK broken"
        raise ValueError("not a workbook")

    with pytest.raises(ValueError, match="not a workbook"):
        replace_safely(workbook, before, lambda temp: temp.write_bytes(b"PK broken"), verify, tmp_path / "backups")
    assert workbook.read_bytes() == ORIGINAL
    assert _leftovers(tmp_path) == []


def test_replace_safely_keeps_file_mode(workbook: Path, tmp_path: Path) -> None:
    """Verify the new file gets the original's permission bits."""
    if os.name != "posix":
        pytest.skip("permission bits are POSIX-only")
    workbook.chmod(0o640)
    replace_safely(workbook, Fingerprint.of(workbook), lambda temp: temp.write_bytes(b"PK new"),
                   lambda temp: None, tmp_path / "backups")
    assert workbook.stat().st_mode & 0o777 == 0o640


def test_replace_safely_temp_is_private_while_written(workbook: Path, tmp_path: Path) -> None:
    """Verify the temp file holding the new content is 0600 while it is written, even over an old 0644 leftover."""
    if os.name != "posix":
        pytest.skip("permission bits are POSIX-only")
    workbook.chmod(0o600)
    leftover = tmp_path / f".~samtale-{os.getpid()}-samtaler.xlsx"
    leftover.write_bytes(b"old")
    leftover.chmod(0o644)
    modes = []

    def write(temp: Path) -> None:
        modes.append(temp.stat().st_mode & 0o777)
        temp.write_bytes(b"PK new")

    replace_safely(workbook, Fingerprint.of(workbook), write, lambda temp: None, tmp_path / "backups")
    assert modes == [0o600]
    assert workbook.stat().st_mode & 0o777 == 0o600


def _age(path: Path, seconds: float) -> None:
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_temp_left_by_a_killed_write_is_removed_by_the_next(workbook: Path, tmp_path: Path) -> None:
    """Verify the next write removes our own temp files older than ten minutes, and nothing else."""
    stale = tmp_path / ".~samtale-4242-samtaler.xlsx"
    stale_init = tmp_path / ".~samtale-init-samtaler.xlsx"
    fresh = tmp_path / ".~samtale-4343-samtaler.xlsx"  # another write may be running right now
    others = [tmp_path / name for name in (".~lock.andre.xlsx#", "~$andre.xlsx", ".~samtale-notes.txt",
                                           "A1B2C3D4", ".~samtale-x-y")]  # Excel's, LibreOffice's, a person's
    for path in (stale, stale_init, fresh, *others):
        path.write_bytes(b"partial")
        _age(path, 3600)
    _age(fresh, -3600)
    fresh.touch()
    replace_safely(workbook, Fingerprint.of(workbook), lambda temp: temp.write_bytes(b"PK new"),
                   lambda temp: None, tmp_path / "backups")
    assert not stale.exists() and not stale_init.exists()
    assert fresh.exists()
    assert all(path.exists() for path in others)
    assert workbook.read_bytes() == b"PK new"


def test_remove_stale_temps_age_limit(tmp_path: Path) -> None:
    """Verify a temp file is kept until it is older than the limit."""
    temp = tmp_path / ".~samtale-77-samtaler.xlsm"
    temp.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == []
    _age(temp, 601)
    assert remove_stale_temps(tmp_path) == [temp]
    assert remove_stale_temps(tmp_path / "missing") == []


# ---- backups ---------------------------------------------------------------------------

def test_make_backup_keeps_newest_20(workbook: Path, tmp_path: Path) -> None:
    """Verify make_backup copies the file with a timestamp and keeps only the newest 20 copies."""
    backups = tmp_path / "backups"
    made = []
    for number in range(25):
        workbook.write_bytes(ORIGINAL + str(number).encode())
        made.append(make_backup(workbook, backups))
    assert BACKUPS_KEPT == 20
    kept = sorted(backups.iterdir())
    assert len(kept) == 20
    assert kept == sorted(made[-20:])
    assert kept[-1].read_bytes() == ORIGINAL + b"24"
    assert kept[0].read_bytes() == ORIGINAL + b"5"
    assert all(not path.exists() for path in made[:5])


def test_make_backup_leaves_other_files(workbook: Path, tmp_path: Path) -> None:
    """Verify rotation removes only backups of this workbook, not other files in the folder."""
    backups = tmp_path / "backups"
    backups.mkdir()
    other = backups / "notat.txt"
    other.write_text("behold meg", encoding="utf-8")
    for _ in range(3):
        make_backup(workbook, backups, keep=2)
    assert other.exists()
    assert len(list(backups.glob("samtaler.*.xlsx"))) == 2


def test_write_private(tmp_path: Path) -> None:
    """Verify write_private writes the bytes atomically, private to the user, without a temp file left."""
    target = tmp_path / "key"
    write_private(target, b"secret")
    write_private(target, b"secret2")
    assert target.read_bytes() == b"secret2"
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == []


def test_temps_of_a_killed_run_are_removed_anywhere_in_the_folder(tmp_path: Path) -> None:
    """Verify temp files whose process is gone are removed at once in any subfolder (a killed prep's, beside the
    prep files), a live process's only once old; other files, and names that only look alike, are kept."""
    import subprocess
    import sys

    from samtale_automation.store.lockholder import pid_alive

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    prep = tmp_path / "forberedelse" / "2027" / "Lønn"
    prep.mkdir(parents=True)
    dead = prep / f".~samtale-{ended.pid}-2003 Dag - forberedelse.xlsx"
    mine = prep / f".~samtale-{os.getpid()}-2004 Eva - forberedelse.xlsx"
    old_mine = tmp_path / f".~samtale-{os.getpid()}-samtaler.xlsx"
    keep = [prep / "2003 Dag - forberedelse.xlsx", prep / ".~samtale-kopi.xlsx", prep / "~$2003.xlsx"]
    for path in (dead, mine, old_mine, *keep):
        path.write_bytes(b"half")
    os.utime(old_mine, (time.time() - 3600, time.time() - 3600))
    assert not pid_alive(ended.pid)
    removed = remove_orphaned_temps(tmp_path, pid_alive)
    assert sorted(removed) == sorted([dead, old_mine])
    assert mine.exists() and all(path.exists() for path in keep)


def test_a_chosen_file_in_a_missing_folder_is_a_usage_error_in_norwegian(tmp_path: Path) -> None:
    """Verify `--out` into a folder that does not exist says what to fix (exit 2), leaves no temp file behind."""
    from samtale_automation import texts
    from samtale_automation.errors import EXIT_USAGE, UsageError
    from samtale_automation.safe_write import write_chosen_file

    texts.set_language("nb")
    with pytest.raises(UsageError) as raised:
        write_chosen_file(tmp_path / "finnes-ikke" / "rapport.html", b"<html></html>")
    assert raised.value.exit_code == EXIT_USAGE
    assert raised.value.message.startswith("Kunne ikke skrive ") and "velg en annen med --out" in raised.value.hint
    write_chosen_file(tmp_path / "rapport.html", b"<html></html>")
    assert [p.name for p in tmp_path.iterdir()] == ["rapport.html"]
