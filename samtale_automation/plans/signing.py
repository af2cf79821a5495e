"""Signatures bound to the minutes' content (DESIGN.md §5 Signing), pure.

Each signature is recorded with the version (domain/minutes.py: the hash of the canonical content) of
the minutes the signer's file held. A signature counts only from the signer's own variant: the
employee's file signs for the employee, the manager's for the manager; the other party's sign-off
cells in a file are not read as a signature. «Signert» needs both signatures on the same version.

- The manager signs a version the employee has not signed (the manager finalised with changes, or
  signed first): «Signert ansatt» is emptied (the version the employee signed before is kept) and the
  employee gets the final version to countersign (COUNTERSIGN).
- The employee signs a version other than the one the manager signed (edited instead of only
  signing): «Signert leder» is emptied and the new content goes back to the manager (BACK_TO_MANAGER).
- A signature recorded before versions were kept (an empty version beside a date) counts as it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from samtale_automation.domain.minutes import short
from samtale_automation.domain.model import Conversation
from samtale_automation.domain.prepsheet import EMPLOYEE, ReturnedFile
from samtale_automation.texts import tr

NOTHING = ""  # no signature in the file (a draft, or only the other party's cells filled)
SIGNED_ONE = "signed_one"  # one signature recorded; the other party has not signed yet
SIGNED = "signed"  # both signed the same version
COUNTERSIGN = "countersign"  # the manager signed a version the employee has not: back to the employee
BACK_TO_MANAGER = "back_to_manager"  # the employee signed a version the manager has not: back to the manager


@dataclass(frozen=True)
class SignState:
    """Both signatures of one conversation as the register holds them."""

    employee_day: date | None = None
    employee_version: str = ""
    manager_day: date | None = None
    manager_version: str = ""

    @classmethod
    def of(cls, conv: Conversation) -> SignState:
        """The state in the workbook's Samtaler row."""
        return cls(conv.signed_employee, conv.signed_employee_version, conv.signed_manager,
                   conv.signed_manager_version)

    @property
    def signed(self) -> bool:
        """Both signed, and the same content (or a signature from before versions were kept)."""
        return bool(self.employee_day and self.manager_day and _same(self.employee_version, self.manager_version))


@dataclass(frozen=True)
class SignStep:
    """What one returned file does to a conversation's signatures."""

    state: SignState  # after the file
    event: str  # NOTHING, SIGNED_ONE, SIGNED, COUNTERSIGN or BACK_TO_MANAGER
    values: dict[str, object] = field(default_factory=dict)  # Samtaler fields to write
    ignored: str = ""  # the other party's sign-off found in this file and not counted (message language)
    earlier: str = ""  # BACK_TO_MANAGER: the version the manager had signed, now no longer counted


def sign_step(state: SignState, returned: ReturnedFile, version: str) -> SignStep:
    """Record the signature the file carries for its own variant; `version` is its content's version."""
    employee = returned.identity.variant == EMPLOYEE
    day = returned.signed_employee_date if employee else returned.signed_manager_date
    other = returned.signed_manager_date if employee else returned.signed_employee_date
    ignored = "" if other is None else (
        tr("lederens signering i medarbeiderens fil er ikke tatt med (bare lederens egen fil kan signere for lederen)",
           "the manager's sign-off in the employee's file was not counted (only the manager's own file signs for "
           "the manager)") if employee else
        tr("medarbeiderens signering i lederens fil er ikke tatt med (bare medarbeiderens egen fil kan signere for "
           "medarbeideren)",
           "the employee's sign-off in the manager's file was not counted (only the employee's own file signs for "
           "the employee)"))
    if day is None:
        return SignStep(state, NOTHING, ignored=ignored)
    if employee:
        after = replace(state, employee_day=day, employee_version=version)
        values: dict[str, object] = {"signed_employee": day, "signed_employee_version": version}
        if after.manager_day is None:
            return SignStep(after, SIGNED_ONE, values, ignored)
        if _same(version, after.manager_version):
            return SignStep(after, SIGNED, values, ignored)
        earlier = after.manager_version
        after = replace(after, manager_day=None, manager_version="")
        values.update(signed_manager=None, signed_manager_version="")
        return SignStep(after, BACK_TO_MANAGER, values, ignored, earlier)
    after = replace(state, manager_day=day, manager_version=version)
    values = {"signed_manager": day, "signed_manager_version": version}
    if after.employee_day is not None and _same(version, after.employee_version):
        return SignStep(after, SIGNED, values, ignored)
    # The employee signed other content, or has not signed: the final goes to them to countersign. The version
    # they signed before stays beside the emptied date, so their copy can say what changed hands.
    after = replace(after, employee_day=None)
    values["signed_employee"] = None
    return SignStep(after, COUNTERSIGN, values, ignored)


def describe(step: SignStep, version: str) -> str:
    """The Logg line for a signing event (message language); '' when nothing was signed."""
    shown = short(version)
    return {
        NOTHING: "",
        SIGNED_ONE: tr(f"signert (versjon {shown}); venter på den andres signatur",
                       f"signed (version {shown}); waiting for the other signature"),
        SIGNED: tr(f"signert av begge (versjon {shown}); referatet er ferdig",
                   f"signed by both (version {shown}); the minutes are final"),
        COUNTERSIGN: tr(f"lederens endelige versjon {shown} går til medarbeideren for kontrasignering",
                        f"the manager's final version {shown} goes to the employee to countersign"),
        BACK_TO_MANAGER: tr(f"medarbeideren endret referatet (versjon {shown}); det går tilbake til lederen",
                            f"the employee changed the minutes (version {shown}); they go back to the manager"),
    }[step.event]


def _same(one: str, other: str) -> bool:
    """Two signatures cover the same content; an empty version (signed before versions were kept) counts."""
    return not one or not other or one == other
