"""`samtale demo` in bokmål says everything in bokmål: its steps, the Logg rows and the reminder digests.

DESIGN.md §9: every word a person reads is Norwegian. The demo runs every command on a made-up
company, so its output, the Logg it leaves and the Norwegian digests it writes are greped against a
small list of English words the tool used to leak («invited», «cancellation», «sent» …). Names of
things a person types (commands, backends such as outbox or graph, file names) are not words.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import openpyxl
import pytest

from samtale_automation import texts
from samtale_automation.commands.demo import REMINDER_DAY, demo_company, run_demo

ENGLISH = frozenset({
    "the", "and", "of", "is", "are", "was", "were", "sent", "invited", "prepared", "skipped", "files",
    "messages", "message", "cancellation", "follow_up", "update", "updated", "digest", "digests", "reminder",
    "reminders", "warning", "problems", "found", "waiting", "added", "written", "conversation", "conversations",
    "employee", "manager", "minutes", "action", "actions", "overdue", "due", "please", "your", "you", "with",
    "proposed", "planned", "held", "minutes_returned", "signed", "cancelled", "usage", "options", "error",
    "changeset", "endringssett", "nothing", "done", "failed",
})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """The Norwegian demo's steps and its folder."""
    texts.set_language("nb")
    result = run_demo(tmp_path_factory.mktemp("words") / "demo")
    return result.steps, result.folder


def _english(text: str) -> set[str]:
    # Backticked commands and paths are names, not words.
    prose = re.sub(r"`[^`]*`|\S+\.(?:xlsx|eml|ics|toml)|\S*/\S*", " ", text)
    return {word for word in re.findall(r"[A-Za-z_]+", prose) if word.casefold() in ENGLISH}


def test_the_demo_steps_have_no_english_word(demo: tuple[list[str], Path]) -> None:
    """Verify each step the demo prints is bokmål."""
    steps, _ = demo
    found = {step[:60]: _english(step) for step in steps if _english(step)}
    assert found == {}


def test_the_demo_logg_has_no_english_word(demo: tuple[list[str], Path]) -> None:
    """Verify the Logg rows the demo's commands wrote (event and result) are bokmål."""
    _, folder = demo
    sheet = openpyxl.load_workbook(folder / "samtaler.xlsx")["Logg"]
    rows = [" ".join(str(v) for v in row[1:4] if v is not None) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(rows) >= 5
    assert {row: _english(row) for row in rows if _english(row)} == {}


def test_the_norwegian_digests_have_no_english_word(demo: tuple[list[str], Path]) -> None:
    """Verify the reminder digests to people with Språk = nb are bokmål, subject and text."""
    _, folder = demo
    english_readers = {p["epost"] for p in demo_company()["ansatt"] if p["sprak"] == "en"}
    digests = sorted((folder / "utboks" / REMINDER_DAY.isoformat() / "påminnelser").glob("*.eml"))
    checked = 0
    for path in digests:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"].addresses[0].addr_spec in english_readers:
            continue
        body = message.get_body(("plain",))
        assert body is not None
        text = f"{message['Subject']}\n{body.get_content()}"
        assert _english(text) == set(), path.name
        checked += 1
    assert checked >= 5


def test_what_hr_runs_after_the_demo_speaks_bokmal(demo: tuple[list[str], Path], tmp_path: Path) -> None:
    """Verify the words of check, status, a second night, the report and a GDPR erase (dry run) on the demo's
    folder are bokmål too: the commands a person runs next, beyond the demo's own steps."""
    import shutil
    from datetime import datetime, time

    from samtale_automation.commands.check import run_check
    from samtale_automation.commands.gdpr import run_gdpr_erase
    from samtale_automation.commands.nightly import run_nightly
    from samtale_automation.commands.report import run_report
    from samtale_automation.commands.status import run_status
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.model import OSLO
    from samtale_automation.faces.present import present

    _, folder = demo
    copy = tmp_path / "kopi"
    shutil.copytree(folder, copy)
    later = Workspace.open(copy, datetime.combine(REMINDER_DAY.replace(day=25), time(2, 30), OSLO))
    shown = [present(run_check(later)), present(run_status(later)), present(run_nightly(later, who="test")),
             present(run_report(later)), present(run_gdpr_erase(later, "1009", dry_run=True))]
    lines = [line for presentation in shown for line in presentation.lines]
    assert len(lines) >= 10
    assert {line[:60]: _english(line) for line in lines if _english(line)} == {}
