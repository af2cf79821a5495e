"""Reading the master in the background: used only when the file still holds the bytes that were read."""

from __future__ import annotations

from pathlib import Path

import pytest

from samtale_automation.domain.master import parse_master
from samtale_automation.workbook import prefetch
from samtale_automation.workbook.build import build_master
from samtale_automation.workbook.read import read_workbook

STAFF = [{"employee_id": "1001", "name": "Kari Nordmann", "email": "kari@firma.no", "active": "Ja"}]


def _names(path: Path, raw: object) -> list[str]:
    return [e.name for e in parse_master(raw).employees.values()]  # type: ignore[arg-type]


@pytest.fixture
def master(tmp_path: Path) -> Path:
    path = tmp_path / "samtaler.xlsx"
    build_master(path, employees=STAFF)
    return path


def test_a_background_read_gives_what_reading_the_file_gives(master: Path) -> None:
    """Verify the prefetched workbook parses to the same master as a direct read, and is handed out once."""
    prefetch.start(master).join()
    raw = prefetch.take(master)
    assert raw is not None
    assert parse_master(raw) == parse_master(read_workbook(master))
    assert _names(master, raw) == ["Kari Nordmann"]
    assert prefetch.take(master) is None  # used once: a second load reads the file


def test_a_file_changed_after_the_read_is_read_again(master: Path) -> None:
    """Verify a master saved between the background read and the command's load is not served stale."""
    prefetch.start(master).join()
    build_master(master, employees=[{**STAFF[0], "name": "Kari Endret"}])
    assert prefetch.take(master) is None
    assert _names(master, read_workbook(master)) == ["Kari Endret"]


def test_an_unreadable_or_missing_file_leaves_the_reading_to_the_command(tmp_path: Path) -> None:
    """Verify a background read that fails hands out nothing and raises nothing (the command reports it)."""
    missing, broken = tmp_path / "samtaler.xlsx", tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    for path in (missing, broken):
        prefetch.start(path).join()
        assert prefetch.take(path) is None
    assert prefetch.take(tmp_path / "never-started.xlsx") is None
