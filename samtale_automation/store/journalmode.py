"""Which SQLite journal mode is safe for a folder: WAL on a local disk, the rollback journal on a share.

SQLite's WAL keeps its index in shared memory (`-shm`), which works only between processes of one
machine: on an SMB or NFS share, or in a synced folder (OneDrive, Dropbox, Google Drive, iCloud)
that copies the files between machines, WAL can corrupt the journal. There the journal uses the
rollback journal (`journal_mode=DELETE`). The choice sticks: a journal once switched to DELETE
stays so in `auto`, because the file server that hosts the share sees its own disk as local.

`journal_mode()` returns (mode, reason) for `doctor` to print. The setting is the environment
variable SAMTALE_JOURNAL_MODE: `auto` (default), `wal` or `delete`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath, PureWindowsPath

from samtale_automation.texts import tr

WAL, DELETE = "wal", "delete"
SETTING_ENV = "SAMTALE_JOURNAL_MODE"

#: File system types (Linux /proc/mounts) that another machine may reach at the same time.
NETWORK_FS = frozenset({
    "cifs", "smb3", "smbfs", "nfs", "nfs4", "ncpfs", "afs", "ceph", "glusterfs", "lustre", "gpfs", "ocfs2",
    "gfs2", "davfs", "9p", "v9fs", "drvfs", "virtiofs", "vboxsf", "vmhgfs", "sshfs", "afpfs", "webdav",
})
#: FUSE file systems that stay on this machine (rootless containers, encryption, pooling, portals).
LOCAL_FUSE = frozenset({"fuse.fuse-overlayfs", "fuse.lxcfs", "fuse.gocryptfs", "fuse.encfs", "fuse.cryfs",
                        "fuse.securefs", "fuse.squashfuse", "fuse.portal", "fuse.mergerfs", "fuse.bindfs"})
#: Folder names that sync clients use (compared case-insensitively, as a name or its start).
SYNC_NAMES = ("onedrive", "dropbox", "google drive", "googledrive", "my drive", "min disk", "icloud drive",
              "iclouddrive", "mobile documents", "cloudstorage", "nextcloud", "owncloud", "box sync", "pcloud")
#: Windows sets these to the OneDrive roots (personal and work or school).
ONEDRIVE_ENV = ("OneDrive", "OneDriveCommercial", "OneDriveConsumer")
DRIVE_REMOTE = 4  # GetDriveTypeW


def journal_mode(journal: Path, *, setting: str | None = None) -> tuple[str, str]:
    """(`wal` or `delete`, the reason in words) for the journal at `journal` (it need not exist yet)."""
    chosen = (setting if setting is not None else os.environ.get(SETTING_ENV, "auto")).strip().casefold()
    if chosen in (WAL, DELETE):
        return chosen, tr(f"valgt med {SETTING_ENV}={chosen}", f"chosen with {SETTING_ENV}={chosen}")
    try:
        folder = journal.parent.resolve()  # a symlink or a mapped drive: judge where the files really are
    except OSError:
        folder = journal.parent
    shared = shared_folder(folder)
    if shared:
        return DELETE, shared
    if file_mode(journal) == DELETE:
        return DELETE, tr("journalen er allerede i rollback-modus (mappen er brukt over nettverket eller synkronisert)",
                          "the journal is already in rollback mode (the folder was used over a network or synced)")
    return WAL, tr("lokal disk", "local disk")


def file_mode(journal: Path) -> str | None:
    """The mode stored in a journal's header (bytes 18–19: 1 rollback, 2 WAL); None if none or unreadable."""
    try:
        with journal.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return None
    if len(header) < 20 or not header.startswith(b"SQLite format 3\0"):
        return None
    return {1: DELETE, 2: WAL}.get(header[18])


def shared_folder(folder: Path, *, platform: str | None = None, mounts: str | None = None,
                  env: Mapping[str, str] | None = None,
                  drive_type: Callable[[str], int] | None = None) -> str:
    """Why `folder` may be reached from more than one machine, in words; `` when it is a local folder.

    The keyword arguments stand in for the machine in tests: `mounts` the text of /proc/mounts,
    `env` the environment, `drive_type` Windows' GetDriveTypeW.
    """
    platform = platform or sys.platform
    env = os.environ if env is None else env
    windows = platform.startswith("win")
    path: PurePath = PureWindowsPath(folder) if windows else folder
    synced = sync_marker(path, env if windows else {})
    if synced:
        return tr(f"synkronisert mappe ({synced})", f"synced folder ({synced})")
    if windows:
        drive = PureWindowsPath(folder).drive
        unc = drive.startswith(("\\\\", "//")) and not drive.startswith(("\\\\?\\", "\\\\.\\"))
        if unc or drive.upper().startswith("\\\\?\\UNC\\"):
            return tr(f"nettverksmappe ({drive})", f"network folder ({drive})")
        if drive and (drive_type or _drive_type)(drive + "\\") == DRIVE_REMOTE:
            return tr(f"nettverksstasjon ({drive})", f"network drive ({drive})")
        return ""
    if platform.startswith("linux"):
        if mounts is None:
            try:
                mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ""
        point, fs_type = mount_of(folder, mounts)
        if fs_type in NETWORK_FS or (fs_type.startswith("fuse.") and fs_type not in LOCAL_FUSE):
            return tr(f"nettverks- eller delt filsystem ({fs_type} på {point})",
                      f"network or shared file system ({fs_type} at {point})")
    return ""


def sync_marker(path: PurePath, env: Mapping[str, str]) -> str:
    """The sync client's folder name in `path`, or a OneDrive root from `env` that holds it; `` if none."""
    for part in path.parts:
        folded = part.casefold()
        if any(folded.startswith(name) for name in SYNC_NAMES) or folded in {"box", "icloud"}:
            return part
    text = str(path).casefold().rstrip("\\/")
    for key in ONEDRIVE_ENV:
        root = env.get(key, "").casefold().rstrip("\\/")
        if root and (text == root or text.startswith(root + "\\") or text.startswith(root + "/")):
            return env[key]
    return ""


def mount_of(folder: Path, mounts: str) -> tuple[str, str]:
    """(mount point, file system type) of the mount that holds `folder`, from /proc/mounts text."""
    target = folder.as_posix()
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fs_type = _unescape(fields[1]), fields[2]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fs_type
    return best, best_type


def _unescape(field: str) -> str:
    r"""/proc/mounts writes space, tab, newline and backslash as \040, \011, \012, \134."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _drive_type(root: str) -> int:  # pragma: no cover - Windows only (reviewed, not run here)
    import ctypes

    return int(ctypes.windll.kernel32.GetDriveTypeW(root))  # type: ignore[attr-defined]
