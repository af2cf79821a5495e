"""One clock and one user name (samtale_automation.runtime), and where the package reads the wall clock."""

from __future__ import annotations

import ast
import getpass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from samtale_automation import runtime
from samtale_automation.commands.init import init_folder
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.model import OSLO
from samtale_automation.store.journal import Journal

PACKAGE = Path(runtime.__file__).resolve().parent
#: Adapters whose every wall-clock read is real time by nature (DTSTAMP, the Date header, arrival, Retry-After).
REAL_TIME_ONLY = ("backends",)


def test_today_is_its_first_moment_in_oslo() -> None:
    """Verify `--today 2027-01-11` stands for midnight in Oslo, whatever the machine's zone."""
    moment = runtime.now(date(2027, 1, 11))
    assert moment == datetime(2027, 1, 11, 0, 0, tzinfo=OSLO)
    assert moment.utcoffset() == timedelta(hours=1)


def test_a_given_moment_is_kept_and_put_in_oslo_time() -> None:
    """Verify a datetime is the moment itself, shown in Oslo time."""
    utc = datetime(2027, 6, 1, 5, 30, tzinfo=UTC)
    moment = runtime.now(utc)
    assert moment == utc and moment.tzinfo == runtime.OSLO
    assert (moment.hour, moment.minute) == (7, 30)  # summer time in Oslo


def test_without_today_it_is_the_wall_clock() -> None:
    """Verify no `--today` means now, in Oslo time."""
    before = datetime.now(OSLO)
    moment = runtime.now()
    assert before <= moment <= datetime.now(OSLO)
    assert moment.tzinfo == runtime.OSLO


def test_the_zone_is_the_domains() -> None:
    """Verify the basics' zone and the domain's are the same (basics may not import domain)."""
    assert str(runtime.OSLO) == str(OSLO) == "Europe/Oslo"


def test_workspace_takes_its_moment_from_the_clock(tmp_path: Path) -> None:
    """Verify Workspace.open uses runtime.now for a date, a moment and nothing."""
    assert Workspace.open(tmp_path, date(2027, 1, 11)).now == datetime(2027, 1, 11, tzinfo=OSLO)
    assert Workspace.open(tmp_path, datetime(2027, 1, 11, 9, tzinfo=OSLO)).now.hour == 9
    assert abs(Workspace.open(tmp_path).now - datetime.now(OSLO)) < timedelta(minutes=1)


def test_current_user_falls_back_when_the_system_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a service without a user name gets «samtale», not a crash."""
    def no_user() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert runtime.current_user() == runtime.UNKNOWN_USER


def test_the_journal_records_the_same_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify the run history names the user that runtime.current_user names (one lookup for all)."""
    monkeypatch.setattr(getpass, "getuser", lambda: "kari.hr")
    init_folder(tmp_path / "f")
    with Journal(tmp_path / "f" / ".samtale" / "journal.sqlite") as journal:
        run_id = journal.start_run("test")
        row = journal.db.execute("SELECT user FROM runs WHERE id = ?", (run_id,)).fetchone()
    assert row[0] == "kari.hr"


def _clock_reads(tree: ast.AST) -> list[int]:
    """Lines that read the wall clock: datetime.now/today/utcnow, date.today, time.time (also as dt.datetime.now)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        owner_name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
        if (owner_name, node.attr) in {("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"),
                                       ("date", "today"), ("time", "time")}:
            lines.append(node.lineno)
    return lines


def test_every_wall_clock_read_is_the_clock_or_says_real_time() -> None:
    """Verify rules cannot read the wall clock by accident: outside runtime.py every read says «real time».

    A read the rules decide by must go through the workspace's moment (runtime.now), or `--today`
    would not move it; one that records when something really happened says so in a comment on
    its line or the two lines above.
    """
    unmarked = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative == Path("runtime.py") or relative.parts[0] in REAL_TIME_ONLY:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for line in _clock_reads(ast.parse(source)):
            near = " ".join(lines[max(0, line - 3):line]).casefold()
            if "real time" not in near:
                unmarked.append(f"{relative}:{line}: {lines[line - 1].strip()}")
    assert unmarked == []


def test_the_audit_finds_an_unmarked_read() -> None:
    """Verify the audit sees `datetime.now()` and `dt.date.today()` (it can fail)."""
    assert _clock_reads(ast.parse("from datetime import datetime\nx = datetime.now()\n")) == [2]
    assert _clock_reads(ast.parse("import datetime as dt\ny = dt.date.today()\n")) == [2]
    assert _clock_reads(ast.parse("x = workspace.now\n")) == []
