"""Shared fixtures for the test suite."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# ---- file handling (workbook read/write, safe write, fixtures, LibreOffice) ------------

SOFFICE_TIMEOUT = 180


#: Suites that start servers, LibreOffice or kill -9 trials: `-m "not slow"` runs the rest in seconds.
SLOW_MODULES = frozenset({
    "backends/test_contract.py", "backends/test_ews.py", "backends/test_graph.py", "backends/test_imap.py",
    "backends/test_smtp.py", "commands/test_collect_crash.py", "commands/test_fetch.py",
    "commands/test_invite_graph.py", "commands/test_invite_smtp.py", "commands/test_doctor.py",
    "commands/test_plan_calendars.py",
    "prepfile/test_libreoffice_interop.py", "prepfile/test_read_fuzz.py", "workbook/test_excel_fixtures.py",
})


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers used by the suite."""
    config.addinivalue_line("markers", "libreoffice: needs LibreOffice (`soffice`) on PATH; fails without it")
    config.addinivalue_line("markers", "slow: starts servers, LibreOffice or kill -9 trials (CI runs them all)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow suites (and every LibreOffice test) `slow`."""
    tests_dir = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests_dir).as_posix() if item.path.is_relative_to(tests_dir) else ""
        if relative in SLOW_MODULES or item.get_closest_marker("libreoffice"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def nb_messages() -> Iterator[None]:
    """Messages in Norwegian bokmål for the test, whatever SAMTALE_LANG says."""
    from samtale_automation import texts

    before = texts.language()
    texts.set_language("nb")
    yield
    texts.set_language(before)


def make_excel_owner_file(name: str) -> bytes:
    """Bytes of an Excel `~$` owner file (165 bytes) naming `name`, as Excel writes it.

    Byte 0 = name length; bytes 1.. the ANSI name padded with 0x20 up to byte 54; at byte 55
    a 2-byte little-endian length, then the UTF-16LE name; padding 0x20 0x00 to 165 bytes.
    """
    ansi = name.encode("cp1252", errors="replace")[:52]
    data = bytes([len(ansi)]) + ansi
    data += b" " * (55 - len(data))
    data += len(name).to_bytes(2, "little") + name.encode("utf-16-le")
    while len(data) < 165:
        data += b" \x00"
    return data[:165]


@pytest.fixture
def excel_owner_file() -> Callable[[str], bytes]:
    """Make the bytes of an Excel owner file (`~$<workbook>`) for a user name."""
    return make_excel_owner_file


def read_sheet_xml(path: Path, sheet_name: str) -> str:
    """The XML of one worksheet part, found by the sheet's name through workbook.xml and its rels."""
    with zipfile.ZipFile(path) as package:
        workbook = package.read("xl/workbook.xml").decode("utf-8")
        rels = package.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        rel_id = None
        for tag in re.findall(r"<(?:\w+:)?sheet\s[^>]*>", workbook):
            name = re.search(r'\sname="([^"]*)"', tag)
            if name and _xml_unescape(name.group(1)) == sheet_name:
                rel_id = re.search(r'\sr:id="([^"]*)"', tag)
                break
        assert rel_id is not None, f"no sheet {sheet_name!r} in {path.name}"
        target = None
        for rel in re.findall(r"<Relationship\s[^>]*>", rels):
            if f'Id="{rel_id.group(1)}"' in rel:
                target = re.search(r'Target="([^"]*)"', rel)
        assert target is not None, f"no relationship for sheet {sheet_name!r}"
        part = target.group(1)
        part = part.lstrip("/") if part.startswith("/") else "xl/" + part
        return package.read(part).decode("utf-8")


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


@pytest.fixture
def sheet_xml() -> Callable[[Path, str], str]:
    """Read one worksheet's XML out of a workbook package, by sheet name."""
    return read_sheet_xml


@pytest.fixture
def soffice() -> str:
    """The LibreOffice executable; the test fails (not skips) when it is missing, as CI installs it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail("LibreOffice (`soffice`) is not on PATH. Install it (apt-get install libreoffice-calc) "
                    "to run the LibreOffice interop tests; CI installs it.", pytrace=False)
    return found


@pytest.fixture
def soffice_convert(soffice: str, tmp_path: Path) -> Callable[[Path, str, Path], Path]:
    """Convert a file with one headless LibreOffice call (own profile, 180 s timeout); return the result."""

    def convert(source: Path, to: str, outdir: Path) -> Path:
        outdir.mkdir(parents=True, exist_ok=True)
        profile = tmp_path / "lo-profile"
        command = [soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}",
                   "--convert-to", to, "--outdir", str(outdir), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT, check=False)
        result = outdir / f"{source.stem}.{to.split(':')[0]}"
        message = f"soffice failed ({done.returncode}): {done.stdout}\n{done.stderr}"
        assert done.returncode == 0, message
        assert result.exists(), message
        return result

    return convert


# ---- core: a samtale folder with a master workbook built from rows ---------------------


@pytest.fixture
def master_folder(tmp_path: Path) -> Callable[..., Path]:
    """Build `samtaler.xlsx` in a new folder from rows given as field -> value dicts; return the folder.

    Keyword arguments go to `workbook_build.build_master` (settings, employees, conversations,
    questions, actions). Each call makes a new folder under tmp_path.
    """
    from samtale_automation.workbook.build import build_master

    made: list[Path] = []

    def build(**rows: object) -> Path:
        folder = tmp_path / f"mappe{len(made) + 1}"
        folder.mkdir()
        build_master(folder / "samtaler.xlsx", **rows)  # type: ignore[arg-type]
        made.append(folder)
        return folder

    return build
