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


#: Where a library may be imported (always inside a function, so importing the module costs nothing).
IMPORT_PLACES = {
    "xlwings": ("workbook/live", "faces/excel.py"),  # the Excel face and the live reader/applier only
    "pyopenvba": ("workbook/vba_build.py",),  # build time only (the `test` extra), never at run time
    "oletools": (),
}


def test_excel_and_build_libraries_are_imported_only_in_their_place() -> None:
    """Verify xlwings is imported only in workbook/live*.py and faces/excel.py, pyOpenVBA only by the bin build."""
    import ast

    root = Path(__file__).resolve().parents[1] / "samtale_automation"
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                library = name.split(".")[0]
                if library not in IMPORT_PLACES:
                    continue
                if not relative.startswith(IMPORT_PLACES[library]):
                    found.append(f"{relative}:{node.lineno} imports {library}")
                elif id(node) in top_level:
                    found.append(f"{relative}:{node.lineno} imports {library} at module level")
    assert found == []
