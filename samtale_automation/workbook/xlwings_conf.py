"""The per-user xlwings configuration that tells the buttons which Python to run (for `samtale excel setup`).

The workbook names no interpreter (DESIGN.md §9): RunPython looks in the workbook's xlwings.conf
sheet, then in an xlwings.conf beside the workbook, then in the user's own file, where this puts
the PC's interpreter:

- Windows: %USERPROFILE%\\.xlwings\\xlwings.conf, key INTERPRETER_WIN;
- macOS: ~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf, key INTERPRETER_MAC.

The file is read by VBA's `Input #`, one `"KEY","value"` pair a line, in the PC's ANSI code page
(not UTF-8), so a user folder like C:\\Users\\Åse is written in cp1252. Other keys a person keeps
there (for other xlwings workbooks) are left as they are. Pure text in, text out: the command
does the reading and writing.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath, PureWindowsPath

ENCODING = "cp1252"
_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def user_config_path(home: Path, mac: bool = False) -> Path:
    """Where xlwings' VBA looks for the user's own configuration."""
    if mac:
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
    return home / ".xlwings" / "xlwings.conf"


def interpreter_for(executable: PurePath) -> PurePath:
    """The interpreter a click should start: pythonw.exe beside python.exe on Windows (no console window)."""
    if isinstance(executable, PureWindowsPath) and executable.name.lower() == "python.exe":
        return executable.with_name("pythonw.exe")
    return executable


def with_interpreter(existing: str | None, interpreter: PurePath, mac: bool = False) -> str:
    """The configuration text with the interpreter set (other keys kept, in order); CRLF line ends."""
    return with_value(existing, "INTERPRETER_MAC" if mac else "INTERPRETER_WIN", str(interpreter))


def with_value(existing: str | None, key: str, value: str) -> str:
    """The configuration text with one key set (its first line replaced, later ones dropped); CRLF line ends."""
    if '"' in value:
        raise ValueError(f"a value in xlwings.conf cannot hold a quote: {value}")
    lines: list[str] = []
    found = False
    for line in (existing or "").splitlines():
        match = _LINE.match(line)
        if match and match.group(1).upper() == key.upper():
            if not found:
                lines.append(f'"{key}","{value}"')
            found = True
        elif line.strip():
            lines.append(line.strip())
    if not found:
        lines.append(f'"{key}","{value}"')
    return "\r\n".join(lines) + "\r\n"


def read_value(text: str, key: str) -> str | None:
    """A key's value in a configuration text, as VBA's GetConfigFromFile finds it (case-insensitive)."""
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and match.group(1).lower() == key.lower():
            return match.group(2)
    return None
