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
    assert len(files) == 31, "13 employee files, 13 manager files, 3 guides, a copy to finalise and one to countersign"
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


def test_no_file_the_demo_sends_holds_a_private_note(tmp_path: Path) -> None:
    """Verify no attachment of any message the demo put in utboks/ (prep files, guides, the copies for finalising
    and countersigning, the signed PDF) holds the employee's or the manager's private note, while the notes are
    still in the writers' own archived files."""
    import email
    import io
    import subprocess

    from samtale_automation.commands.demo import DEMO_NOTES

    result = run_demo(tmp_path / "demo")
    attachments = []
    for eml in (result.folder / "utboks").rglob("*.eml"):
        for part in email.message_from_bytes(eml.read_bytes()).walk():
            data = part.get_payload(decode=True) if part.get_filename() else None
            if not isinstance(data, bytes):
                continue
            if part.get_filename().endswith(".xlsx"):
                with zipfile.ZipFile(io.BytesIO(data)) as package:
                    text = html.unescape("".join(package.read(n).decode("utf-8", "replace")
                                                 for n in package.namelist()))
            elif part.get_filename().endswith(".pdf"):
                text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True,
                                      timeout=60).stdout.decode("utf-8")
            else:
                text = data.decode("utf-8", "replace")
            attachments.append((eml.name, part.get_filename(), text))
    names = {name for _, name, _ in attachments}
    assert any(name.endswith("referat til leder.xlsx") for name in names)
    assert any(name.endswith("referat til signering.xlsx") for name in names)
    assert any(name.endswith("referat signert.pdf") for name in names)
    for message, name, text in attachments:
        for note in DEMO_NOTES:
            assert note not in text, (message, name)
    archived = "".join(html.unescape(b"".join(zipfile.ZipFile(p).read(n) for n in zipfile.ZipFile(p).namelist())
                                     .decode("utf-8", "replace"))
                       for p in (result.folder / "arkiv").rglob("*.xlsx"))
    assert all(note in archived for note in DEMO_NOTES)  # each stays in its writer's own archived file
