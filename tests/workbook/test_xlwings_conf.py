"""The per-user xlwings configuration `samtale excel setup` writes: the interpreter, nothing else changed."""

from __future__ import annotations

import csv
import io
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from samtale_automation.workbook import xlwings_conf

PYTHONW = PureWindowsPath(r"C:\Users\Åse Ødegård\AppData\Local\samtale\venv\Scripts\pythonw.exe")


def _pairs(text: str) -> list[list[str]]:
    """Read the file as VBA's `Input #` reads it: comma-separated, double-quoted fields."""
    return [row for row in csv.reader(io.StringIO(text)) if row]


def test_new_file_names_the_interpreter() -> None:
    """Verify a new configuration is one quoted INTERPRETER_WIN line, CRLF, encodable in the ANSI code page."""
    text = xlwings_conf.with_interpreter(None, PYTHONW)
    assert text == f'"INTERPRETER_WIN","{PYTHONW}"\r\n'
    assert _pairs(text) == [["INTERPRETER_WIN", str(PYTHONW)]]
    assert text.encode(xlwings_conf.ENCODING).decode(xlwings_conf.ENCODING) == text
    assert xlwings_conf.read_value(text, "Interpreter_Win") == str(PYTHONW)


def test_existing_keys_are_kept_and_the_interpreter_replaced() -> None:
    """Verify another workbook's settings stay, in order, and an old interpreter line is replaced once."""
    existing = '"SHOW CONSOLE","False"\n"interpreter_win","C:\\old\\python.exe"\n\n"CONDA PATH",""\n'
    text = xlwings_conf.with_interpreter(existing, PYTHONW)
    assert _pairs(text) == [["SHOW CONSOLE", "False"], ["INTERPRETER_WIN", str(PYTHONW)], ["CONDA PATH", ""]]
    assert xlwings_conf.with_interpreter(text, PYTHONW) == text


def test_mac_key_and_places(tmp_path: Path) -> None:
    """Verify macOS gets INTERPRETER_MAC, and each platform's file is where xlwings.bas looks for it."""
    text = xlwings_conf.with_interpreter(None, PurePosixPath("/Users/ase/.venv/bin/python"), mac=True)
    assert _pairs(text) == [["INTERPRETER_MAC", "/Users/ase/.venv/bin/python"]]
    assert xlwings_conf.user_config_path(tmp_path) == tmp_path / ".xlwings" / "xlwings.conf"
    assert xlwings_conf.user_config_path(tmp_path, mac=True).parts[-4:] == (
        "Containers", "com.microsoft.Excel", "Data", "xlwings.conf")


def test_interpreter_without_console_and_no_quotes() -> None:
    """Verify python.exe becomes pythonw.exe on Windows, other interpreters stay, and a quote is refused."""
    assert xlwings_conf.interpreter_for(PYTHONW.with_name("python.exe")) == PYTHONW
    assert xlwings_conf.interpreter_for(PurePosixPath("/usr/bin/python3")) == PurePosixPath("/usr/bin/python3")
    with pytest.raises(ValueError, match="quote"):
        xlwings_conf.with_interpreter(None, PureWindowsPath('C:\\a"b\\python.exe'))
