"""A prep file holds its own employee's data and their manager's name and e-mail, nothing about anyone else."""

from __future__ import annotations

import html
import zipfile
from pathlib import Path

from samtale_automation.commands.demo import run_demo
from samtale_automation.commands.workspace import Workspace


def test_demo_files_mention_no_one_else(tmp_path: Path) -> None:
    """Verify the XML of every prep file and guide of the demo names no other employee and no other e-mail."""
    result = run_demo(tmp_path / "demo")
    master = Workspace.open(result.folder).load()
    files = list((result.folder / "forberedelse").rglob("*.xlsx"))
    assert len(files) == 29, "13 employee files, 13 manager files, 3 guides"
    for path in files:
        employee_id = path.name.split(" ", 1)[0]
        employee = master.employees[employee_id]
        allowed = {employee_id, employee.manager_id}
        with zipfile.ZipFile(path) as package:
            xml = html.unescape(b"".join(package.read(n) for n in package.namelist()).decode("utf-8", "replace"))
        assert employee.name in xml
        for other in master.employees.values():
            if other.employee_id in allowed:
                continue
            assert other.name not in xml, f"{path.name} mentions {other.name}"
            assert other.email not in xml, f"{path.name} mentions {other.email}"
