"""The technical log: one line per call, rotated when full, private, and never an address or a secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from samtale_automation import logs


def test_a_line_is_appended_with_time_and_level(tmp_path: Path) -> None:
    logs.write_line(tmp_path / "logs", "status exit=0")
    logs.write_line(tmp_path / "logs", "nightly fetch=ok")
    lines = (tmp_path / "logs" / logs.LOG_NAME).read_text(encoding="utf-8").splitlines()
    assert [line.split(" INFO ")[1] for line in lines] == ["status exit=0", "nightly fetch=ok"]
    if os.name == "posix":
        assert (tmp_path / "logs" / logs.LOG_NAME).stat().st_mode & 0o777 == 0o600


def test_addresses_and_secrets_are_masked_and_a_line_stays_one_line() -> None:
    text = logs.scrub("sent to kari@firma.example\npassword=hemmelig token: abc")
    assert "kari@" not in text and "hemmelig" not in text and "abc" not in text
    assert "\n" not in text and "<e-post>" in text and "password=***" in text


def test_the_log_is_rotated_when_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 200)
    for n in range(30):
        logs.write_line(tmp_path, f"line {n:03d} " + "x" * 40)
    files = logs.log_files(tmp_path)
    assert files[0].name == logs.LOG_NAME and len(files) == logs.BACKUPS + 1
    assert all(path.stat().st_size <= 200 for path in files)
    assert "line 029" in files[0].read_text(encoding="utf-8")
