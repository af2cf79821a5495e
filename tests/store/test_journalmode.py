"""Choosing the journal mode: WAL on a local disk, the rollback journal on a network share or synced folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from samtale_automation.store.journalmode import (
    DELETE,
    DRIVE_REMOTE,
    WAL,
    file_mode,
    journal_mode,
    mount_of,
    shared_folder,
)

pytestmark = pytest.mark.usefixtures("nb_messages")

MOUNTS = """\
overlay / overlay rw,relatime,lowerdir=/a,upperdir=/b,workdir=/c 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda1 /home ext4 rw,relatime 0 0
//filserver/hr /mnt/hr cifs rw,vers=3.1.1,cache=strict,username=kari 0 0
//filserver/hr/lokal /mnt/hr/lokal ext4 rw 0 0
nas:/export/personal /srv/personal nfs4 rw,vers=4.2 0 0
kari@box:/data /home/kari/fjern fuse.sshfs rw,nosuid,nodev 0 0
C:\\134 /mnt/c 9p rw,dirsync,aname=drvfs 0 0
//filserver/felles\\040mappe /mnt/felles\\040mappe smb3 rw 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
fuse-overlayfs /var/lib/ci fuse.fuse-overlayfs rw 0 0
"""


@pytest.mark.parametrize(("folder", "shared_as"), [
    ("/home/kari/samtaler", ""),
    ("/tmp/x", ""),
    ("/srv/lokal", ""),
    ("/mnt/hr", "cifs på /mnt/hr"),
    ("/mnt/hr/samtaler/2027", "cifs på /mnt/hr"),
    ("/mnt/hr/lokal/samtaler", ""),  # the longest mount point wins
    ("/mnt/hrx", ""),  # a name that only starts like a mount point is not inside it
    ("/srv/personal/hr", "nfs4"),
    ("/home/kari/fjern/samtaler", "fuse.sshfs"),
    ("/var/lib/ci/work", ""),  # a rootless container's own disk
    ("/mnt/c/Users/kari/samtaler", "9p"),  # WSL: a Windows drive, reached by Windows programs too
    ("/mnt/felles mappe/samtaler", "smb3 på /mnt/felles mappe"),
])
def test_linux_mount_table(folder: str, shared_as: str) -> None:
    """Verify a folder on cifs/smb3/nfs/fuse.*/9p is shared and one on a local file system is not."""
    reason = shared_folder(Path(folder), platform="linux", mounts=MOUNTS)
    if shared_as:
        assert reason.startswith("nettverks- eller delt filsystem") and shared_as in reason
    else:
        assert reason == ""


def test_mount_of_unescapes_and_picks_the_longest() -> None:
    """Verify mount_of decodes /proc/mounts escapes and returns the innermost mount."""
    assert mount_of(Path("/mnt/felles mappe/x"), MOUNTS) == ("/mnt/felles mappe", "smb3")
    assert mount_of(Path("/mnt/hr/lokal"), MOUNTS) == ("/mnt/hr/lokal", "ext4")
    assert mount_of(Path("/etc"), MOUNTS) == ("/", "overlay")


@pytest.mark.parametrize(("folder", "marker"), [
    ("/home/kari/Dropbox/HR/samtaler", "Dropbox"),
    ("/home/kari/Dropbox (Firma AS)/HR", "Dropbox (Firma AS)"),
    ("/Users/kari/Library/CloudStorage/OneDrive-FirmaAS/HR", "CloudStorage"),
    ("/Users/kari/Library/Mobile Documents/com~apple~CloudDocs/HR", "Mobile Documents"),
    ("/home/kari/Google Drive/HR", "Google Drive"),
    ("/home/kari/Nextcloud/HR", "Nextcloud"),
])
def test_synced_folder_markers_on_linux_and_mac(folder: str, marker: str) -> None:
    """Verify the sync clients' folder names mark a folder as synced wherever they appear in the path."""
    for platform in ("linux", "darwin"):
        assert shared_folder(Path(folder), platform=platform, mounts=MOUNTS) == f"synkronisert mappe ({marker})"


def _local(_: str) -> int:
    return 3  # DRIVE_FIXED


@pytest.mark.parametrize(("folder", "reason"), [
    (r"C:\Users\kari\Documents\samtaler", ""),
    (r"C:\Users\kari\OneDrive - Firma AS\HR\samtaler", "synkronisert mappe (OneDrive - Firma AS)"),
    (r"C:\Users\kari\OneDrive\HR", "synkronisert mappe (OneDrive)"),
    (r"G:\My Drive\HR", "synkronisert mappe (My Drive)"),
    (r"G:\Min disk\HR", "synkronisert mappe (Min disk)"),
    (r"C:\Users\kari\iCloudDrive\HR", "synkronisert mappe (iCloudDrive)"),
    (r"C:\Users\kari\Firma AS\HR - Dokumenter\samtaler", "synkronisert mappe (C:\\Users\\kari\\Firma AS)"),
    (r"\\filserver\hr\samtaler", "nettverksmappe (\\\\filserver\\hr)"),
    (r"\\?\UNC\filserver\hr\samtaler", "nettverksmappe (\\\\?\\UNC\\filserver\\hr)"),
    (r"\\?\C:\Users\kari\samtaler", ""),
])
def test_windows_paths(folder: str, reason: str) -> None:
    """Verify OneDrive (also a SharePoint library synced under the OneDriveCommercial root), other sync clients
    and UNC paths on Windows."""
    env = {"OneDriveCommercial": r"C:\Users\kari\Firma AS", "OneDrive": r"C:\Users\kari\OneDrive"}
    assert shared_folder(Path(folder), platform="win32", env=env, drive_type=_local) == reason


def test_windows_mapped_network_drive() -> None:
    """Verify a drive letter that Windows reports as DRIVE_REMOTE is a network drive."""
    asked: list[str] = []

    def remote(root: str) -> int:
        asked.append(root)
        return DRIVE_REMOTE

    assert shared_folder(Path(r"Z:\HR\samtaler"), platform="win32", env={}, drive_type=remote) \
        == "nettverksstasjon (Z:)"
    assert asked == ["Z:\\"]


def test_journal_mode_setting_detection_and_stickiness(tmp_path: Path) -> None:
    """Verify the setting wins, a local new journal gets WAL, and a journal already in rollback mode keeps it."""
    journal = tmp_path / "journal.sqlite"
    assert journal_mode(journal, setting="auto") == (WAL, "lokal disk")
    assert journal_mode(journal, setting="DELETE")[0] == DELETE
    assert "SAMTALE_JOURNAL_MODE=wal" in journal_mode(journal, setting="wal")[1]
    raw = sqlite3.connect(journal)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("CREATE TABLE t (x)")
    raw.close()
    assert file_mode(journal) == DELETE
    mode, reason = journal_mode(journal, setting="auto")
    assert mode == DELETE and "allerede i rollback-modus" in reason
    (tmp_path / "tom.sqlite").write_bytes(b"")
    assert file_mode(tmp_path / "tom.sqlite") is None
    assert file_mode(tmp_path / "finnes-ikke.sqlite") is None


def test_journal_mode_follows_the_folder(tmp_path: Path) -> None:
    """Verify a journal inside a synced folder gets the rollback journal, with the reason doctor prints."""
    journal = tmp_path / "Dropbox" / "HR" / ".samtale" / "journal.sqlite"
    assert journal_mode(journal, setting="auto") == (DELETE, "synkronisert mappe (Dropbox)")
