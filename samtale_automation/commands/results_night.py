"""The results of the night's commands: `nightly` (its steps), `nightly install|show|remove`, `report`, `gdpr`.

Part of commands/results.py (which re-exports every name here), kept apart so each module reads in
one sitting. Light to import, like it: the types held are named for the type checker only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samtale_automation.commands.results import CollectResult, RemindResult
    from samtale_automation.plans.hr_digest import HrDigest
    from samtale_automation.plans.report import Report
    from samtale_automation.workbook.apply import ApplyResult

NIGHT_OK, NIGHT_FAILED, NIGHT_SKIPPED = "ok", "failed", "skipped"
#: A nightly step and its outcome as a person reads them (bokmål, English): the presenter, the Logg row
#: and the demo say the same words.
STEP_WORDS = {
    "fetch": ("hent fra postkassen", "fetch from the mailbox"),
    "collect": ("samle inn", "collect"),
    "remind": ("påminnelser", "reminders"),
    "retention": ("lagringstid", "retention"),
    "hr": ("e-post til HR", "mail to HR"),
    "write": ("skriv arbeidsboken", "write the workbook"),
}
OUTCOME_WORDS = {NIGHT_OK: ("ok", "ok"), NIGHT_FAILED: ("FEILET", "FAILED"), NIGHT_SKIPPED: ("hoppet over", "skipped")}


def said(step: NightStep) -> str:
    """A step and its outcome in the reader's words: «hent fra postkassen: hoppet over»."""
    from samtale_automation.texts import tr

    name = tr(*STEP_WORDS.get(step.name, (step.name, step.name)))
    return f"{name}: {tr(*OUTCOME_WORDS.get(step.outcome, (step.outcome, step.outcome)))}"


@dataclass
class NightStep:
    """One step of a nightly run: its name, outcome (ok/failed/skipped), a short summary, a count for the log."""

    name: str
    outcome: str
    summary: str = ""
    count: int | None = None
    error: BaseException | None = None
    seconds: float = 0.0


@dataclass
class NightlyResult:
    """`nightly`: each step's outcome, or that another run holds the folder (`already_running`: running/overrun)."""

    dry_run: bool = False
    budget_minutes: int = 30
    steps: list[NightStep] = field(default_factory=list)
    already_running: str = ""
    holder: str = ""
    alarm_sent: bool = False
    alarm_error: str = ""
    stopped_at_budget: bool = False
    seconds: float = 0.0
    blocked: str = ""  # why the one write had to wait ("" when written)
    workbook_blocked: str = ""
    removed: list[str] = field(default_factory=list)
    kept_unknown: list[str] = field(default_factory=list)
    collect: CollectResult | None = None
    remind: RemindResult | None = None
    apply: ApplyResult | None = None
    hr_digest: HrDigest | None = None


@dataclass
class NightlyTaskResult:
    """`nightly install|show|remove`: the schedule's kind (cron/windows), its text, and what is installed now."""

    action: str  # install | show | remove
    kind: str  # cron | windows
    task_name: str
    text: str = ""  # the cron line or the Task Scheduler XML
    installed: str | None = None  # the line / task found installed (after install: the one put in place)
    command: list[str] = field(default_factory=list)  # the schtasks command (Windows)
    doctor_output: str = ""
    refused: str = ""
    dry_run: bool = False


@dataclass
class ReportResult:
    """`report`: where the HTML went (or would go) and the numbers it holds."""

    path: Path
    report: Report
    dry_run: bool = False


@dataclass
class GdprResult:
    """`gdpr export|erase`: the files concerned, others' documents only listed, and what an erase changed."""

    action: str  # export | erase
    employee_id: str
    path: Path | None = None  # the export's zip
    dry_run: bool = False
    declined: bool = False
    files: list[str] = field(default_factory=list)  # exported, or removed (to be removed on a dry run)
    listed: list[str] = field(default_factory=list)  # other people's originals that name them: listed, not changed
    scrubbed_logs: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    workbook_cells: int = 0
    journal_cells: int = 0
    remaining: list[str] = field(default_factory=list)  # after an erase: files that still name them (should be none)
