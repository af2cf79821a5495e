"""Heavy libraries are imported only where used, so everyday commands stay fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from samtale_automation.commands.init import init_folder

HEAVY = ("exchangelib", "msal", "xlwings", "openpyxl", "rich", "requests")


def test_status_json_imports_no_heavy_library(tmp_path: Path) -> None:
    """Verify `samtale status --json` runs without importing backends, xlwings, openpyxl or rich."""
    init_folder(tmp_path / "f")
    code = (
        "import sys, runpy, io, contextlib, json\n"
        f"sys.argv = ['samtale', '--dir', {str(tmp_path / 'f')!r}, 'status', '--json']\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        runpy.run_module('samtale_automation', run_name='__main__')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
