"""What each command returns: typed results, which faces/present.py turns into lines and an exit code.

One place for all of them, light to import (the types they hold are named for the type checker
only), so a face can tell results apart without loading every command and its libraries.
A command returns its result; it prints nothing and never exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from samtale_automation.commands.deliver import SendReport
    from samtale_automation.domain.changeset import ChangeSet, PendingChange, SetAsideChange
    from samtale_automation.domain.overview import Overview
    from samtale_automation.errors import Problem, SamtaleError
    from samtale_automation.mail.templates import TemplateInfo
    from samtale_automation.plans.consolidate import CollectPlan
    from samtale_automation.plans.hr_digest import HrDigest, HrItem
    from samtale_automation.plans.meetings import InvitePlan
    from samtale_automation.plans.plan_round import ManagerSummary, Prepared
    from samtale_automation.plans.prep import PrepPlan
    from samtale_automation.plans.reminders import Digest
    from samtale_automation.plans.rounds import RoundPlan
    from samtale_automation.plans.schedule import Rules, SchedulePlan
    from samtale_automation.workbook.apply import ApplyResult


@dataclass
class InitResult:
    """`init`: the folder as the person named it, what was made, and the master workbook."""

    target: Path
    created: list[Path]
    master: Path


@dataclass
class RoundResult:
    """`round new`: the plan, and how writing it to the workbook went (None on a dry run)."""

    plan: RoundPlan
    dry_run: bool = False
    apply: ApplyResult | None = None


@dataclass
class ApplyPendingResult:
    """`apply`: the changes that were waiting, and how applying them went (None on a dry run or when none waited)."""

    pending: list[PendingChange]
    dry_run: bool = False
    apply: ApplyResult | None = None
    set_aside: list[SetAsideChange] = field(default_factory=list)


@dataclass
class SetAsideResult:
    """`apply --retry/--discard`: the set-aside change sets named, and how writing went (None: not done)."""

    items: list[SetAsideChange]
    discarding: bool = False
    dry_run: bool = False
    declined: bool = False  # a discard the person did not confirm (or no terminal and no --yes)
    apply: ApplyResult | None = None


@dataclass
class CheckResult:
    """`check`: every problem found, each with its place and fix."""

    problems: list[Problem]


class ConversationStatus(TypedDict):
    """One conversation in `status --json`."""

    id: str
    employee_id: str
    manager_id: str
    start: str | None
    end: str | None
    place: str | None
    status: str
    invited: str | None
    prep_returned: str | None
    manager_prepared: str | None
    minutes_returned: str | None
    signed_employee: str | None
    signed_manager: str | None


class ActionStatus(TypedDict):
    """One action in `status --json`."""

    id: str
    conversation_id: str
    employee_id: str
    owner: str | None
    deadline: str | None
    status: str


class PendingStatus(TypedDict):
    """One waiting ChangeSet in `status --json`."""

    id: str
    reason: str


class SetAsideStatus(TypedDict):
    """One ChangeSet set aside (its data cannot be written) in `status --json`."""

    id: str
    reason: str
    why: str
    since: str


class StatusReport(TypedDict):
    """The `status --json` object (plans.status.status_report)."""

    round: str | None
    conversations: list[ConversationStatus]
    actions: list[ActionStatus]
    counts: dict[str, int]
    pending_changes: list[PendingStatus]
    set_aside_changes: list[SetAsideStatus]


@dataclass
class StatusResult:
    """`status`: the report, and why a save without Excel would be refused (not looked at for --json)."""

    report: StatusReport
    save_blockers: list[str] = field(default_factory=list)
    by: str | None = None  # «manager» | «department»: the Oversikt sheet's block in the terminal
    overview: Overview | None = None  # worked out when `by` is given


@dataclass
class PrepResult:
    """`prep`: the plan (files shown relative to `root`), and the Logg row's write (None when nothing was written)."""

    plan: PrepPlan
    root: Path
    dry_run: bool = False
    apply: ApplyResult | None = None


TO_INCOMING = "innkommende"
TO_QUARANTINE = "karantene"
ALREADY_HERE = "kjent"
LEFT_OUT = "utelatt"  # an Excel lock file attached by mistake: nothing to store
NOT_STORED = "ikke lagret"  # could not be written at all: its message stays in the mailbox


@dataclass(frozen=True)
class FetchedFile:
    """One file found in the mailbox and where it went (or would go)."""

    name: str
    sender: str
    outcome: str  # TO_INCOMING | TO_QUARANTINE | ALREADY_HERE | LEFT_OUT | NOT_STORED
    reason: str = ""
    path: Path | None = None


@dataclass
class FetchResult:
    """What one fetch from the mailbox found and did."""

    files: list[FetchedFile] = field(default_factory=list)
    handled_messages: int = 0
    backend: str = ""
    kept_messages: int = 0  # left in the mailbox because a file of theirs could not be stored
    moved_aside: list[str] = field(default_factory=list)  # «names (sender)» kept too many runs: moved unfetched

    def count(self, outcome: str) -> int:
        """How many files had this outcome."""
        return sum(f.outcome == outcome for f in self.files)


@dataclass
class CollectResult:
    """What one collect did (and the mailbox fetch before it, with --from-mailbox)."""

    plan: CollectPlan
    root: Path
    dry_run: bool = False
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    moved: list[tuple[str, Path]] = field(default_factory=list)  # (name, where it went)
    guides: list[Path] = field(default_factory=list)
    apply: ApplyResult | None = None
    fetched: FetchResult | None = None
    #: (kind, path) of the fresh copies for finalising/countersigning and the signed PDFs (plans/signing_files.py).
    signing_files: list[tuple[str, Path]] = field(default_factory=list)
    signing_failed: list[tuple[Path, str]] = field(default_factory=list)  # (path, why) not written


@dataclass
class InviteResult:
    """What `invite` planned, sent, and wrote back."""

    plan: InvitePlan  # once sent, without its messages: those the run sent are in `report`
    report: SendReport | None = None
    apply: ApplyResult | None = None
    prepared: list[str] = field(default_factory=list)
    confirmed: bool = False
    backend: str = ""
    dry_run: bool = False


@dataclass
class RemindResult:
    """What `remind` planned and sent."""

    digests: list[Digest] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    report: SendReport | None = None
    apply: ApplyResult | None = None
    confirmed: bool = False
    backend: str = ""
    dry_run: bool = False
    working_day: bool = True  # today (the workspace's day) is a working day
    hr: HrDigest | None = None  # what needs a person today, to the mailbox (None: nothing does)
    replies_read: bool = False  # the backend sees the attendees' answers (graph): the Svar column was updated
    replies_written: int = 0  # Svar cells that changed
    answers: list[HrItem] = field(default_factory=list)  # declines and proposed times for HR's digest


@dataclass(frozen=True)
class Check:
    """One check of `doctor` and what it found."""

    name: str
    ok: bool
    details: tuple[str, ...] = ()


@dataclass
class DoctorReport:
    """Every check that ran, and the error that stopped them (None when all passed)."""

    backend: str = ""
    checks: list[Check] = field(default_factory=list)
    failure: SamtaleError | None = None


@dataclass
class TemplateList:
    """`templates list`: every template, the override folder, and its files that override nothing."""

    templates: list[TemplateInfo]
    override_dir: Path
    strays: list[str] = field(default_factory=list)  # «maler/invitasjon.txt»


@dataclass
class TemplateShow:
    """`templates show`: the files a template uses, and a rendering with made-up data."""

    files: list[tuple[str, str, str]]  # (file name, «standard» or «maler/…», source)
    sample_text: str
    sample_subject: str | None = None  # None for a reminder fragment


@dataclass
class DemoResult:
    """What the demo made, for the printed walkthrough."""

    folder: Path
    steps: list[str] = field(default_factory=list)
    status: StatusReport | None = None
    workbook: str = "samtaler.xlsx"  # samtaler.xlsm with --macros


@dataclass
class RefreshResult:
    """The «Oppdater oversikt» button: what waited was written, then Status, names and Oversikt refreshed."""

    pending: ApplyPendingResult
    statuses: int = 0  # Samtaler rows whose Status was out of date
    names: int = 0  # Samtaler rows whose names were out of date
    overview: bool = False  # the Oversikt numbers were written
    saved: bool | None = None  # None: the refresh was not run (no open book); False: Excel could not save


@dataclass
class ExcelSetupResult:
    """`excel setup`: this user's xlwings configuration (the interpreter of this PC) and the manager for «Mine»."""

    config: Path
    interpreter: str
    manager: str = ""  # the AnsattID «Mine samtaler» filters on ('' when not chosen)


@dataclass
class MineResult:
    """«Mine samtaler»: whose conversations the open book now shows, and how many rows of each table."""

    name: str
    conversations: int
    actions: int


@dataclass
class UpgradeMacrosResult:
    """`upgrade-workbook --macros`: the master now (the .xlsm when made), the old .xlsx kept, or what was refused."""

    master: Path
    refused: list[str] = field(default_factory=list)  # what the .xlsm could not carry: nothing was changed
    backup: Path | None = None  # where the .xlsx went


@dataclass
class PlanResult:
    """What `plan` found, placed, left without a time and wrote."""

    rules: Rules | None = None
    plan: SchedulePlan = field(default_factory=lambda: _empty_schedule())
    prepared: Prepared | None = None
    managers: list[ManagerSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the backend's remarks (a calendar it could not read)
    busy_source: str = ""  # «graph» when free/busy came from the backend, else ""
    free_busy_requests: int = 0
    changeset: ChangeSet | None = None
    apply: ApplyResult | None = None
    dry_run: bool = False

    @property
    def unplaced(self) -> int:
        """Conversations left without a time (by the planner or set aside before it)."""
        return len(self.plan.unplaced) + (len(self.prepared.skipped) if self.prepared else 0)


def _empty_schedule() -> SchedulePlan:
    """A plan with nothing placed (imported when needed: this module stays light for the faces)."""
    from samtale_automation.plans.schedule import SchedulePlan

    return SchedulePlan()
