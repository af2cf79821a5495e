"""The folder next to the master workbook (DESIGN.md §3): names, finding the master, sanitising."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from samtale_automation.errors import WorkbookError
from samtale_automation.texts import tr

MASTER_XLSM = "samtaler.xlsm"
MASTER_XLSX = "samtaler.xlsx"
CONFIG_FILE = "samtale.toml"

PREP_DIR = "forberedelse"
INCOMING_DIR = "innkommende"
ARCHIVE_DIR = "arkiv"
QUARANTINE_DIR = "karantene"
OUTBOX_DIR = "utboks"
TEMPLATE_OVERRIDE_DIR = "maler"
STATE_DIR = ".samtale"
NO_DEPARTMENT = "Uten avdeling"

# Also DEL and C1 controls, direction marks and overrides (a name that reads «kari.xlsx» but is not),
# and lone surrogates (bytes that were not UTF-8 in a name from a Linux folder).
_UNSAFE = re.compile('[/\\\\:*?"<>|\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)  # Windows device names
#: UTF-16 code units of a name (what Windows counts, an emoji is two): with the time stamp, « (2)», «.txt»
#: and a folder of ordinary depth (`C:\Users\…\OneDrive - Firma\HR\Samtaler\arkiv\2027\1001\`, ~90
#: characters) the whole path stays within Windows' 260.
MAX_NAME = 120
#: UTF-8 bytes of a name: most file systems allow 255, and a time stamp, « (2)» and «.txt» may be added.
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Folder:
    """The paths of one samtale folder."""

    root: Path

    @property
    def state(self) -> Path:
        """`.samtale/`: journal, key, backups, logs."""
        return self.root / STATE_DIR

    @property
    def journal(self) -> Path:
        """The sqlite journal."""
        return self.state / "journal.sqlite"

    @property
    def key(self) -> Path:
        """The HMAC key for file identities."""
        return self.state / "key"

    @property
    def backups(self) -> Path:
        """Timestamped copies of the master taken before each write."""
        return self.state / "backups"

    @property
    def logs(self) -> Path:
        """Technical logs (never secrets)."""
        return self.state / "logs"

    @property
    def run_lock(self) -> Path:
        """The file whose OS lock marks a running command."""
        return self.state / "run.lock"

    @property
    def config(self) -> Path:
        """samtale.toml."""
        return self.root / CONFIG_FILE

    def subdirs(self) -> tuple[Path, ...]:
        """Every folder `init` creates."""
        return (
            self.root / PREP_DIR,
            self.root / INCOMING_DIR,
            self.root / ARCHIVE_DIR,
            self.root / QUARANTINE_DIR,
            self.root / OUTBOX_DIR,
            self.root / TEMPLATE_OVERRIDE_DIR,
            self.state,
            self.backups,
            self.logs,
        )

    def master(self) -> Path:
        """Find the master workbook: samtaler.xlsm, else samtaler.xlsx; both is an error."""
        xlsm, xlsx = self.root / MASTER_XLSM, self.root / MASTER_XLSX
        if xlsm.exists() and xlsx.exists():
            raise WorkbookError(
                tr(f"Både {xlsm.name} og {xlsx.name} ligger i {self.root}.",
                   f"Both {xlsm.name} and {xlsx.name} are in {self.root}."),
                hint=tr("Behold den ene og flytt eller slett den andre.",
                        "Keep one and move or delete the other."),
            )
        if xlsm.exists():
            return xlsm
        if xlsx.exists():
            return xlsx
        legacy = self.root / "samtaler.xls"
        if legacy.exists():
            raise WorkbookError(
                tr(f"{legacy.name} er i det gamle .xls-formatet.",
                   f"{legacy.name} is in the old .xls format."),
                hint=tr("Åpne den i Excel og lagre som «Excel-arbeidsbok (*.xlsx)».",
                        "Open it in Excel and save it as «Excel Workbook (*.xlsx)»."),
            )
        raise WorkbookError(
            tr(f"Fant ingen {MASTER_XLSX} eller {MASTER_XLSM} i {self.root}.",
               f"No {MASTER_XLSX} or {MASTER_XLSM} in {self.root}."),
            hint=tr("Kjør «samtale init MAPPE» for å lage en, eller bruk --dir for å peke på mappen.",
                    "Run «samtale init FOLDER» to make one, or point --dir at the folder."),
        )


@functools.lru_cache(maxsize=16384)  # pure; a round of 5,000 looks up each department and name again and again
def sanitize_filename(name: str) -> str:
    """Make a safe file name, on Windows as on Linux: no / \\ : * ? \" < > |, control or direction characters,
    no leading dot or trailing dot or space, no device name (CON, NUL…), at most 120 UTF-16 code units
    (Windows' count) and 200 UTF-8 bytes (Linux's), the extension kept."""
    cleaned = _UNSAFE.sub("_", name).strip().lstrip(".").strip().rstrip(". ")
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    if _units(cleaned) > MAX_NAME or len(cleaned.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and len(ext) <= 5:
            room = MAX_NAME_BYTES - len(ext.encode("utf-8")) - 1
            cleaned = _cut(stem, MAX_NAME - _units(ext) - 1, room).rstrip() + "." + ext
        else:
            cleaned = _cut(cleaned, MAX_NAME, MAX_NAME_BYTES).rstrip()
    return cleaned or "_"


def _units(text: str) -> int:
    """UTF-16 code units: what Windows counts in a name or path (a character outside the BMP is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut(text: str, chars: int, size: int) -> str:
    """`text` shortened to at most `chars` UTF-16 code units and `size` UTF-8 bytes."""
    text = text[:chars]
    while _units(text) > chars or len(text.encode("utf-8")) > size:
        text = text[:-1]
    return text


def make_private_dir(path: Path) -> None:
    """Create a folder (and parents) readable only by the running user where the OS allows."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)


def data_dir(name: str) -> Path:
    """Find a data folder shipped with the package (`workbooks`, `email_templates`).

    In a wheel the folders live inside the package; in a source checkout beside it.
    """
    packaged = Path(str(resources.files("samtale_automation"))) / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name
