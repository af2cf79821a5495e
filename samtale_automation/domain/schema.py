"""The workbook contract: every sheet, table, header, setting and value list (DESIGN.md §4).

This is the only module that spells a workbook header. Readers, writers, `check`, the
workbook builder and the prep sheets all look headers up here by their English field name.
Sheet and header names are Norwegian in every language; only explanations are translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Owner(Enum):
    """Who may write a column after the row exists (DESIGN.md §4)."""

    PERSON = "person"  # the tool never writes it after creating the row
    TOOL = "tool"  # only the tool writes it
    SEEDED = "seeded"  # the tool fills it, and updates it only while a person has not changed it


class Kind(Enum):
    """How a cell's value is read, checked and written."""

    ID = "id"
    TEXT = "text"
    EMAIL = "email"
    DATE = "date"
    DATETIME = "datetime"
    INT = "int"
    YES_NO = "yes_no"  # Ja / Nei
    YES_BLANK = "yes_blank"  # Ja / blank
    LANG = "lang"
    CHOICE = "choice"  # one of a value list on Lister
    WEEKDAYS = "weekdays"  # «man, tir, ons» or «man–tor»
    DATE_RANGES = "date_ranges"  # «01.03.2027–14.03.2027, 02.04.2027»


@dataclass(frozen=True)
class Column:
    """One column of a master-workbook table."""

    header: str
    field: str
    kind: Kind
    owner: Owner
    required: bool = False
    width: int = 14
    value_list: str | None = None  # defined name of the list validation
    help_nb: str = ""
    help_en: str = ""
    hidden: bool = False  # a column the tool keeps for itself (hidden, but sorted with its row)


@dataclass(frozen=True)
class Sheet:
    """One sheet holding one Excel table (ListObject) with one header row."""

    name: str
    table: str
    key: str | None  # English field of the ID column; None for append-only tables
    columns: tuple[Column, ...]
    #: A sheet this version added: a workbook without it still works, and the next write adds it.
    added_later: bool = False
    by_field: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_field", {c.field: c for c in self.columns})

    def column(self, field_name: str) -> Column:
        """Return the column for an English field name."""
        return self.by_field[field_name]

    def header(self, field_name: str) -> str:
        """Return the exact Norwegian header for an English field name."""
        return self.by_field[field_name].header


P, T, S = Owner.PERSON, Owner.TOOL, Owner.SEEDED

SETTINGS = Sheet(
    "Innstillinger",
    "Innstillinger",
    "key",
    (
        Column("Innstilling", "key", Kind.TEXT, P, True, 38),
        Column("Verdi", "value", Kind.TEXT, P, False, 22),
        Column("Forklaring", "explanation", Kind.TEXT, P, False, 80),
    ),
)

EMPLOYEES = Sheet(
    "Ansatte",
    "Ansatte",
    "employee_id",
    (
        Column("AnsattID", "employee_id", Kind.ID, P, True, 11),
        Column("Navn", "name", Kind.TEXT, P, True, 26),
        Column("E-post", "email", Kind.EMAIL, P, True, 32),
        Column("Avdeling", "department", Kind.TEXT, P, False, 18),
        Column("Stilling", "title", Kind.TEXT, P, False, 22),
        Column("Leder", "manager_id", Kind.ID, P, False, 11, "Liste_AnsattID"),
        Column("Aktiv", "active", Kind.YES_NO, P, True, 8, "Liste_JaNei"),
        Column("Språk", "language", Kind.LANG, P, False, 8, "Liste_Sprak"),
        Column("Arbeidsdager", "work_days", Kind.WEEKDAYS, P, False, 16,
               help_nb="Tom: alle arbeidsdager. Deltid: f.eks. «man, tir, ons» eller «man–tor».",
               help_en="Blank: every working day. Part-time: e.g. «man, tir, ons» or «man–tor»."),
        Column("Borte", "away", Kind.DATE_RANGES, P, False, 24,
               help_nb="Datoer den ansatte er borte, f.eks. «01.03.2027–14.03.2027, 02.04.2027».",
               help_en="Dates the employee is away, e.g. «01.03.2027–14.03.2027, 02.04.2027»."),
    ),
)

CONVERSATIONS = Sheet(
    "Samtaler",
    "Samtaler",
    "conversation_id",
    (
        Column("SamtaleID", "conversation_id", Kind.ID, P, True, 16),
        Column("AnsattID", "employee_id", Kind.ID, P, True, 11, "Liste_AnsattID"),
        Column("Navn", "employee_name", Kind.TEXT, T, False, 24),
        Column("Leder", "manager_id", Kind.ID, P, True, 11, "Liste_AnsattID"),
        Column("Ledernavn", "manager_name", Kind.TEXT, T, False, 24),
        Column("Start", "start", Kind.DATETIME, S, False, 17),
        Column("Slutt", "end", Kind.DATETIME, S, False, 17),
        Column("Sted", "place", Kind.TEXT, S, False, 20),
        Column("Avlyst", "cancelled", Kind.YES_BLANK, P, False, 8, "Liste_Ja"),
        Column("Avlyst grunn", "cancel_reason", Kind.TEXT, P, False, 22),
        Column("Status", "status", Kind.CHOICE, T, False, 16, "Liste_Status"),
        Column("Invitert", "invited", Kind.DATE, T, False, 12),
        Column("Forberedelse mottatt", "prep_returned", Kind.DATE, T, False, 12),
        Column("Leder forberedt", "manager_prepared", Kind.DATE, T, False, 12),
        Column("Referat mottatt", "minutes_returned", Kind.DATE, T, False, 12),
        Column("Signert ansatt", "signed_employee", Kind.DATE, T, False, 12),
        Column("Signert leder", "signed_manager", Kind.DATE, T, False, 12),
        Column("Merknad", "note", Kind.TEXT, T, False, 40),
        # Which version of the minutes each signature covers (domain/minutes.py): «Signert» needs both the
        # same. Hidden tool columns: a workbook made before them gains them on its next write.
        Column("Signert ansatt versjon", "signed_employee_version", Kind.TEXT, T, False, 18, hidden=True),
        Column("Signert leder versjon", "signed_manager_version", Kind.TEXT, T, False, 18, hidden=True),
    ),
)

QUESTIONS = Sheet(
    "Spørsmål",
    "Sporsmal",
    "question_id",
    (
        Column("SpørsmålID", "question_id", Kind.ID, P, True, 12),
        Column("Tema", "topic", Kind.CHOICE, P, True, 30, "Liste_Tema"),
        Column("Spørsmål", "text", Kind.TEXT, P, True, 60),
        Column("Hjelpespørsmål", "follow_ups", Kind.TEXT, P, False, 60),
        Column("Spørsmål (en)", "text_en", Kind.TEXT, P, False, 60,
               help_nb="Spørsmålet på engelsk, for ansatte med Språk = en. Tom: det norske brukes.",
               help_en="The question in English, for employees with Språk = en. Blank: the Norwegian is used."),
        Column("Hjelpespørsmål (en)", "follow_ups_en", Kind.TEXT, P, False, 60),
        Column("Obligatorisk", "mandatory", Kind.YES_NO, P, False, 12, "Liste_JaNei"),
        Column("Gjelder", "applies_to", Kind.TEXT, P, False, 18),
        Column("Aktiv", "active", Kind.YES_NO, P, False, 8, "Liste_JaNei"),
    ),
)

ACTIONS = Sheet(
    "Tiltak",
    "Tiltak",
    "action_id",
    (
        Column("TiltakID", "action_id", Kind.ID, T, True, 18),
        Column("SamtaleID", "conversation_id", Kind.ID, T, True, 16),
        Column("AnsattID", "employee_id", Kind.ID, T, True, 11),
        Column("Tiltak", "description", Kind.TEXT, S, True, 44),
        Column("Mål", "goal", Kind.TEXT, S, False, 30),
        Column("Ansvarlig", "owner", Kind.TEXT, S, False, 18),
        Column("Frist", "deadline", Kind.DATE, S, False, 12),
        Column("Status", "status", Kind.CHOICE, S, False, 14, "Liste_TiltakStatus"),
        # Seeded from the minutes' follow-up date; a date a person typed here is kept.
        Column("Oppfølging", "follow_up", Kind.DATE, S, False, 12),
        Column("Kilde", "source", Kind.TEXT, T, False, 30),
    ),
)

ROOMS = Sheet(
    "Rom",
    "Rom",
    "name",
    (
        Column("Rom", "name", Kind.TEXT, P, True, 26),
        Column("E-post", "email", Kind.EMAIL, P, False, 32),
        Column("Aktiv", "active", Kind.YES_NO, P, False, 8, "Liste_JaNei"),
    ),
    added_later=True,
)

LOG = Sheet(
    "Logg",
    "Logg",
    None,
    (
        Column("Tid", "time", Kind.DATETIME, T, True, 18),
        Column("Hendelse", "event", Kind.TEXT, T, True, 40),
        Column("Hvem", "who", Kind.TEXT, T, False, 16),
        Column("Resultat", "result", Kind.TEXT, T, False, 70),
        # The ChangeSet that wrote the row: a re-applied ChangeSet (after a crash between the save
        # and the journal's mark) finds its rows here and does not write them twice, however Logg is sorted.
        Column("Endringssett", "changeset", Kind.TEXT, T, False, 14, hidden=True),
    ),
)

#: Every table sheet, in workbook order after the Start sheet.
TABLES: tuple[Sheet, ...] = (SETTINGS, EMPLOYEES, CONVERSATIONS, QUESTIONS, ACTIONS, ROOMS, LOG)
TABLE_BY_NAME: dict[str, Sheet] = {s.table: s for s in TABLES}

START_SHEET = "Start"
OVERVIEW_SHEET = "Oversikt"
LISTS_SHEET = "Lister"

#: Workbook sheet order.
SHEET_ORDER: tuple[str, ...] = (
    START_SHEET,
    OVERVIEW_SHEET,
    *(s.name for s in TABLES),
    LISTS_SHEET,
)

YES = "Ja"
NO = "Nei"
LANGUAGES = ("nb", "en")


# ---- conversation status ---------------------------------------------------------------

#: Status codes (code and JSON) with the Norwegian label shown in the sheet.
STATUS_LABELS: dict[str, str] = {
    "proposed": "Foreslått",
    "planned": "Planlagt",
    "invited": "Invitert",
    "prepared": "Forberedt",
    "held": "Tidspunkt passert – venter på referat",
    "minutes_returned": "Referat mottatt",
    "signed": "Signert",
    "cancelled": "Avlyst",
}

ACTION_STATUSES = ("Ikke startet", "Pågår", "Fullført", "Avbrutt")


# ---- question topics -------------------------------------------------------------------

@dataclass(frozen=True)
class Topic:
    """One of the six topics of the conversation template (DESIGN.md §1)."""

    key: str
    nb: str
    en: str

    def label(self, lang: str) -> str:
        """Return the topic's label in `nb` or `en`."""
        return self.en if lang == "en" else self.nb


TOPICS: tuple[Topic, ...] = (
    Topic("tilbakeblikk", "Tilbakeblikk og evaluering", "Looking back and evaluation"),
    Topic("mal", "Mål og retning", "Goals and direction"),
    Topic("kompetanse", "Kompetanseutvikling", "Competence development"),
    Topic("trivsel", "Trivsel og motivasjon", "Well-being and motivation"),
    Topic("samarbeid", "Samarbeid og arbeidsmiljø", "Collaboration and work environment"),
    Topic("leder", "Tilbakemelding til leder", "Feedback to the leader"),
)


def topic_for_label(label: str) -> Topic | None:
    """Find a topic by its Norwegian or English label (case and spaces ignored)."""
    wanted = " ".join(label.split()).casefold()
    for topic in TOPICS:
        if wanted in (topic.nb.casefold(), topic.en.casefold(), topic.key):
            return topic
    return None


# ---- settings (rows of the Innstillinger table) ----------------------------------------

class SettingKind(Enum):
    """How a setting's value is parsed."""

    TEXT = "text"
    DATE = "date"
    INT = "int"
    TIME = "time"
    INT_LIST = "int_list"
    DAY_LIST = "day_list"  # days of the year (24.12) or dates (02.01.2027); «ingen» for none
    TIME_RANGE = "time_range"  # «09:00–12:00», «formiddag», «ettermiddag»; blank for none
    LANG = "lang"


@dataclass(frozen=True)
class SettingSpec:
    """One business setting: its Norwegian name in the sheet, field, type, default and help."""

    key: str
    field: str
    kind: SettingKind
    default: str
    nb: str
    en: str
    minimum: int | None = None
    maximum: int | None = None


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("Firmanavn", "company", SettingKind.TEXT, "",
                "Navnet som står i e-poster og skjemaer.",
                "The name shown in e-mails and forms."),
    SettingSpec("Samtalerunde", "round", SettingKind.TEXT, "",
                "Navnet på årets runde, f.eks. 2027. Settes av «samtale round new».",
                "This year's round, e.g. 2027. Set by «samtale round new»."),
    SettingSpec("Periode start", "period_start", SettingKind.DATE, "",
                "Første dag samtalene kan holdes (dd.mm.åååå).",
                "First day conversations can be held."),
    SettingSpec("Periode slutt", "period_end", SettingKind.DATE, "",
                "Siste dag samtalene kan holdes.",
                "Last day conversations can be held."),
    SettingSpec("Varighet (minutter)", "duration_minutes", SettingKind.INT, "75",
                "Lengden på hver samtale. Anbefalt 60–90 minutter.",
                "Length of each conversation. 60–90 minutes recommended.", 15, 480),
    SettingSpec("Pause mellom samtaler (minutter)", "break_minutes", SettingKind.INT, "15",
                "Pause for lederen mellom to samtaler, så ingen kommer heseblesende inn.",
                "The manager's break between two conversations.", 0, 240),
    SettingSpec("Buffer etter andre møter (minutter)", "buffer_minutes", SettingKind.INT, "15",
                "Tid lederen har fri etter et annet møte i kalenderen før en samtale begynner.",
                "Time the manager has free after another meeting in the calendar before a conversation.", 0, 240),
    SettingSpec("Maks samtaler per leder per dag", "max_per_manager_per_day", SettingKind.INT,
                "3", "Flere samtaler samme dag gir dårligere samtaler.",
                "More per day makes for poorer conversations.", 1, 12),
    SettingSpec("Arbeidstid start", "workday_start", SettingKind.TIME, "08:30",
                "Tidligste starttid for en samtale (tt:mm).",
                "Earliest start of a conversation (hh:mm)."),
    SettingSpec("Arbeidstid slutt", "workday_end", SettingKind.TIME, "16:00",
                "Seneste sluttid for en samtale (tt:mm).",
                "Latest end of a conversation (hh:mm)."),
    SettingSpec("Seneste starttid", "latest_start", SettingKind.TIME, "",
                "Seneste klokkeslett en samtale kan begynne (tt:mm). Tom: så sent at den slutter innen "
                "arbeidstid slutt.",
                "Latest time a conversation may start (hh:mm). Blank: late enough to end by workday end."),
    SettingSpec("Foretrukket tid", "preferred_time", SettingKind.TIME_RANGE, "",
                "Tid på dagen samtalene helst legges: formiddag, ettermiddag eller f.eks. 09:00–12:00. "
                "Tom: ingen.",
                "Time of day conversations are preferably placed: formiddag (morning), ettermiddag "
                "(afternoon) or e.g. 09:00–12:00. Blank: none."),
    SettingSpec("Stengte dager", "closed_days", SettingKind.DAY_LIST, "24.12, 31.12",
                "Dager firmaet har stengt, utenom helligdager: dd.mm hvert år eller dd.mm.åååå, skilt med "
                "komma. Skriv «ingen» om dere ikke har noen.",
                "Days the company is closed besides public holidays: dd.mm every year or dd.mm.yyyy, "
                "separated by commas. Write «ingen» for none."),
    SettingSpec("Frist forberedelse (dager før)", "prep_deadline_days", SettingKind.INT, "3",
                "Hvor mange dager før samtalen forberedelsesskjemaet skal leveres.",
                "How many days before the conversation the prep sheet is due.", 0, 60),
    SettingSpec("Frist referat (dager etter)", "minutes_deadline_days", SettingKind.INT, "7",
                "Hvor mange dager etter samtalen referatet skal leveres.",
                "How many days after the conversation the minutes are due.", 1, 90),
    SettingSpec("Påminnelser (dager før)", "reminder_days", SettingKind.INT_LIST, "7, 2",
                "Når det sendes påminnelse om å forberede seg, i dager før samtalen.",
                "When to remind people to prepare, in days before the conversation."),
    SettingSpec("Påminnelse tiltak (dager før frist)", "action_reminder_days", SettingKind.INT,
                "14", "Når eieren av et tiltak minnes på fristen.",
                "When an action's owner is reminded of its deadline.", 0, 365),
    SettingSpec("Maks valgte spørsmål", "max_questions", SettingKind.INT, "10",
                "Hvor mange spørsmål den ansatte velger fra menyen.",
                "How many questions the employee picks from the menu.", 1, 60),
    SettingSpec("Språk", "language", SettingKind.LANG, "nb",
                "Språk i skjemaer og e-poster: nb (bokmål) eller en (English).",
                "Language of forms and e-mails: nb or en."),
    SettingSpec("Lagringstid (år)", "retention_years", SettingKind.INT, "3",
                "Hvor lenge referater og forberedelser tas vare på (GDPR).",
                "How long minutes and prep files are kept (GDPR).", 1, 20),
)
SETTING_BY_KEY: dict[str, SettingSpec] = {s.key.casefold(): s for s in SETTING_SPECS}
SETTING_BY_FIELD: dict[str, SettingSpec] = {s.field: s for s in SETTING_SPECS}


# ---- value lists on the hidden Lister sheet (defined names) ----------------------------

def value_lists(lang: str) -> dict[str, tuple[str, ...]]:
    """Return each defined name on the Lister sheet with its values."""
    return {
        "Liste_JaNei": (YES, NO),
        "Liste_Ja": (YES,),
        "Liste_Sprak": LANGUAGES,
        "Liste_Status": tuple(STATUS_LABELS.values()),
        "Liste_TiltakStatus": ACTION_STATUSES,
        "Liste_Tema": tuple(t.label(lang) for t in TOPICS),
    }


#: Defined names that point into a table rather than at Lister.
TABLE_LISTS: dict[str, tuple[str, str]] = {"Liste_AnsattID": ("Ansatte", "AnsattID")}

#: Input message on tool-owned columns (grey header).
TOOL_COLUMN_TITLE = ("Fylles av samtale", "Filled in by samtale")
TOOL_COLUMN_MESSAGE = (
    "Denne kolonnen skrives av verktøyet. Endringer her blir overskrevet.",
    "This column is written by the tool. Changes here are overwritten.",
)
SEEDED_COLUMN_MESSAGE = (
    "Fylles av samtale (fra referatet eller planleggingen). Retter du verdien, beholdes din versjon.",
    "Filled in by samtale (from the minutes or the planning). If you change it, your version is kept.",
)
