"""The layout contract between the prep-file writer and the reader (DESIGN.md §5).

The writer (`prepfile/write.py`) marks every input region with a workbook-level defined name and
the reader (`prepfile/read.py`) finds the regions through those names only, so a file still reads
after a person inserted rows or changed column widths. Changing a name here, or what a region
holds, changes the template: bump `domain.prepsheet.TEMPLATE_VERSION` then.
"""

from __future__ import annotations

from samtale_automation.domain.schema import TOPICS

# ---- sheets -------------------------------------------------------------------------------

#: The very hidden sheet that carries the file's identity (key in column A, value in B).
IDENTITY_SHEET = "_samtale"

#: Visible sheet names per language. The reader never relies on them: it follows the names.
PREP_SHEET = {"nb": "Forberedelse", "en": "Preparation"}
MINUTES_SHEET = {"nb": "Referat", "en": "Minutes"}
GUIDE_SHEET = {"nb": "Samtaleguide", "en": "Conversation guide"}

# ---- identity keys (column A of the identity sheet) ---------------------------------------

ID_CONVERSATION = "SamtaleID"
ID_EMPLOYEE = "AnsattID"
ID_VARIANT = "Variant"
ID_ROUND = "Runde"
ID_TEMPLATE = "Malversjon"
ID_MAC = "MAC"
ID_MAX_CHOICES = "MaksValg"  # the limit of chosen questions this file was made with
ID_REGIONS = "Områder"  # comma-separated defined names this file was made with

# ---- defined names (workbook scope) -------------------------------------------------------

# Forberedelse, employee variant: one row per question; topic heading rows have no ID.
N_QUESTION_ID = "SporsmalID"
N_CHOOSE = "Velg"
N_NOTES = "Notater"
N_COUNTER = "Teller"
N_OTHER_TOPICS = "AndreTema"
N_FEEDBACK_TO_LEADER = "TilbakemeldingLeder"

# Forberedelse, manager variant.
N_MANAGER_VIEW = "LederSyn"
N_FEEDBACK_TO_GIVE = "TilbakemeldingGi"
N_DEVELOPMENT_IDEAS = "Utviklingsideer"

# Forberedelse, both variants: last round's actions, one row each.
N_PAST_ACTION_ID = "TiltakID"
N_ASSESSMENT = "Vurdering"

# Referat, both variants. Sammendrag is the summary column; the topic label is the cell to its left.
N_SUMMARY = "Sammendrag"
N_ACTIONS = "Referattiltak"  # description, goal, owner, deadline, follow-up (files before it: four columns)
N_PRIVATE_NOTE = "PrivatNotat"
N_SIGN_EMPLOYEE_NAME = "SignAnsattNavn"
N_SIGN_EMPLOYEE_DATE = "SignAnsattDato"
N_SIGN_MANAGER_NAME = "SignLederNavn"
N_SIGN_MANAGER_DATE = "SignLederDato"

MINUTES_NAMES = (N_SUMMARY, N_ACTIONS, N_PRIVATE_NOTE, N_SIGN_EMPLOYEE_NAME, N_SIGN_EMPLOYEE_DATE,
                 N_SIGN_MANAGER_NAME, N_SIGN_MANAGER_DATE)

#: Empty rows given for agreed actions (the issue asks for room for at least 15; people may insert more).
ACTION_ROWS = 15
#: Columns of the action region, left to right: description, goal, owner, deadline, follow-up date.
ACTION_COLUMNS = 5
#: Columns of the action region in files made before the follow-up column (still read as they were).
OLD_ACTION_COLUMNS = 4

# ---- region sizes ---------------------------------------------------------------------------

#: Rows people may insert into a table of a returned file before it stops looking like the form.
INSERTED_ROWS = 200
#: Question rows plus topic heading rows of the longest menu a prep file may carry.
MAX_MENU_ROWS = 1000
#: Last round's actions a prep file may list.
MAX_PAST_ACTIONS = 200
#: Columns people may insert inside the action table.
INSERTED_COLUMNS = 10

#: The largest (rows, columns) each multi-cell region may span in a returned file: what the
#: writer makes, with room for inserted rows. The reader refuses a file whose region is larger
#: (a name pointing at A1:XFD1048576 must not be read cell by cell).
REGION_LIMITS: dict[str, tuple[int, int]] = {
    **{name: (MAX_MENU_ROWS + INSERTED_ROWS, 1) for name in (N_QUESTION_ID, N_CHOOSE, N_NOTES)},
    **{name: (MAX_PAST_ACTIONS + INSERTED_ROWS, 1) for name in (N_PAST_ACTION_ID, N_ASSESSMENT)},
    N_SUMMARY: (len(TOPICS) + INSERTED_ROWS, 1),
    N_ACTIONS: (ACTION_ROWS + INSERTED_ROWS, ACTION_COLUMNS + INSERTED_COLUMNS),
}
#: Every other region is one input cell (a merged input box is named by its first cell).
ONE_CELL = (1, 1)

# ---- values -------------------------------------------------------------------------------

#: The «choose» dropdown's values per language; the reader accepts anything cells.as_yes_no does.
CHOICE_VALUES = {"nb": ("Ja", "Nei"), "en": ("Yes", "No")}

