"""What goes into a prep file, and what comes back from a returned one (DESIGN.md §5).

Plain data, no I/O: `plans/prep.py` assembles PrepContent from the master, `prepfile/write.py` writes
it, `prepfile/read.py` reads a returned file into a ReturnedFile, `prepfile/guide.py` makes the manager's
conversation guide from one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from samtale_automation.domain.minutes import Minutes, MinutesAction

#: Bump when the layout of prep files changes in a way the reader must know about.
#: 2: the MAC covers every hidden value, and the file shows its identity (checked against the hidden one).
TEMPLATE_VERSION = "2"
#: Versions the reader accepts: "1" is what release 0.1.0 sent out, still valid for a round in progress.
KNOWN_TEMPLATE_VERSIONS = frozenset({"1", TEMPLATE_VERSION})

EMPLOYEE = "ansatt"
MANAGER = "leder"
VARIANTS = (EMPLOYEE, MANAGER)


@dataclass(frozen=True)
class Identity:
    """Who and what a file is about; travels inside the file, signed with the folder's key."""

    conversation_id: str
    employee_id: str
    variant: str  # EMPLOYEE or MANAGER
    round: str
    template_version: str = TEMPLATE_VERSION

    def visible(self) -> str:
        """The identity as the file shows it to people (checked against the hidden one on return)."""
        return f"{self.conversation_id} · {self.employee_id} · {self.variant}"


@dataclass(frozen=True)
class PrepQuestion:
    """One question of the menu as it appears in one person's prep file."""

    question_id: str
    topic: str  # topic key (schema.TOPICS)
    topic_label: str
    text: str
    follow_ups: tuple[str, ...] = ()
    mandatory: bool = False


@dataclass(frozen=True, slots=True)
class PastAction:
    """One of the employee's actions from an earlier round, to be assessed."""

    action_id: str
    description: str
    goal: str = ""
    deadline: date | None = None
    status: str = ""


@dataclass(frozen=True)
class PrepContent:
    """Everything one prep file shows: the employee's own data and their manager's name and e-mail."""

    identity: Identity
    lang: str
    company: str
    employee_name: str
    manager_name: str
    manager_email: str
    start: datetime | None
    place: str
    prep_deadline: date | None
    minutes_deadline_days: int
    max_questions: int
    questions: tuple[PrepQuestion, ...]
    past_actions: tuple[PastAction, ...] = ()
    department: str = ""
    title: str = ""
    #: A fresh copy of the minutes for the other party to finalise or countersign: the Referat sheet only,
    #: filled with this content (never a private note), and the signatures already recorded.
    minutes: MinutesDraft | None = None


@dataclass(frozen=True)
class Signature:
    """One recorded signature: who typed it, the date, and the version of the content it covers."""

    name: str
    day: date
    version: str  # domain.minutes.Minutes.version() of what the signer saw


@dataclass(frozen=True)
class MinutesDraft:
    """The minutes a fresh copy is filled with, and the signatures they already carry."""

    minutes: Minutes
    employee_signature: Signature | None = None
    manager_signature: Signature | None = None
    #: What the receiver signed before, when it differs (shown beside their sign-off cells).
    earlier_version: str = ""


@dataclass(frozen=True)
class ReturnedAction:
    """An agreed action written in the minutes."""

    description: str
    goal: str
    owner: str
    deadline: date | None
    row: int  # sheet row, for messages
    follow_up: date | None = None  # the follow-up date agreed (files made before it was asked: None)


@dataclass
class ReturnedFile:
    """A returned prep/minutes file, read and checked (see returned.read_returned)."""

    identity: Identity
    # The file's own last-saved time (docProps/core.xml), aware, any year, as the file says it: only
    # plans/consolidate.py decides whether to believe it (between the form's issue and its arrival).
    modified: datetime | None
    chosen: list[str] = field(default_factory=list)  # question IDs, in menu order
    notes: dict[str, str] = field(default_factory=dict)  # question ID -> own notes
    assessments: dict[str, str] = field(default_factory=dict)  # past action ID -> own assessment
    other_topics: str = ""
    feedback_to_leader: str = ""
    manager_view: str = ""  # manager variant: their view of the period
    feedback_to_give: str = ""  # manager variant
    development_ideas: str = ""  # manager variant
    summaries: dict[str, str] = field(default_factory=dict)  # topic key -> minutes summary
    actions: list[ReturnedAction] = field(default_factory=list)
    private_note: str = ""  # stays in the archived file; never copied to the register
    signed_employee_name: str = ""
    signed_employee_date: date | None = None
    signed_manager_name: str = ""
    signed_manager_date: date | None = None
    problems: list[str] = field(default_factory=list)  # what was odd but did not reject the file (message language)
    #: `modified` as the file writes it, for saying why it was not believed ('' when the file has none).
    modified_text: str = ""

    def minutes(self) -> Minutes:
        """The signed part of the minutes (summaries and actions; no private note, no sign-off)."""
        return Minutes(self.identity.conversation_id, dict(self.summaries),
                       tuple(MinutesAction(a.description, a.goal, a.owner, a.deadline, a.follow_up)
                             for a in self.actions))

    @property
    def prep_filled(self) -> bool:
        """Tell whether the prep part holds anything (choices, notes or free text)."""
        return bool(self.chosen or any(self.notes.values()) or self.other_topics or self.feedback_to_leader
                    or self.manager_view or self.feedback_to_give or self.development_ideas)

    @property
    def minutes_filled(self) -> bool:
        """Tell whether the minutes part holds anything."""
        return bool(any(self.summaries.values()) or self.actions or self.signed_employee_date
                    or self.signed_manager_date)


@dataclass(frozen=True)
class GuideContent:
    """The manager's conversation guide, made from the employee's returned prep."""

    identity: Identity
    lang: str
    company: str
    employee_name: str
    manager_name: str
    start: datetime | None
    place: str
    chosen: tuple[PrepQuestion, ...]
    notes: dict[str, str]
    past_actions: tuple[PastAction, ...]
    assessments: dict[str, str]
    other_topics: str
    feedback_to_leader: str
    noted: tuple[PrepQuestion, ...] = ()  # questions not chosen that the employee still wrote a note on


#: Written into every prep file as its created/modified time so the same content gives the same bytes.
FIXED_CREATED = datetime(2020, 1, 1)
