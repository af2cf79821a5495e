"""Where prep files live: `forberedelse/<round>/<department or «Uten avdeling»>/<AnsattID> <Navn> - <kind>.xlsx`."""

from __future__ import annotations

from pathlib import Path

from samtale_automation.domain.model import Employee
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.paths import ARCHIVE_DIR, NO_DEPARTMENT, PREP_DIR, Folder, sanitize_filename

SUFFIX = {EMPLOYEE: "forberedelse", MANAGER: "leder"}
GUIDE_SUFFIX = "samtaleguide"
#: Fresh minutes-only copies for the other party (never a private note): the manager's to finalise and sign,
#: the employee's to countersign the manager's final version.
COPY_SUFFIX = {MANAGER: "referat til leder", EMPLOYEE: "referat til signering"}


def conversation_folder(folder: Folder, round_name: str, employee: Employee) -> Path:
    """`forberedelse/<round>/<department or «Uten avdeling»>/`."""
    department = sanitize_filename(employee.department) if employee.department else NO_DEPARTMENT
    return folder.root / PREP_DIR / sanitize_filename(round_name) / department


def prep_path(folder: Folder, round_name: str, employee: Employee, suffix: str) -> Path:
    """`<AnsattID> <Navn> - <suffix>.xlsx` in the conversation's folder."""
    name = sanitize_filename(f"{employee.employee_id} {employee.name} - {suffix}.xlsx")
    return conversation_folder(folder, round_name, employee) / name


def signed_pdf_path(folder: Folder, round_name: str, employee_id: str, conversation_id: str) -> Path:
    """`arkiv/<round>/<AnsattID>/<SamtaleID> referat signert.pdf`: the signed minutes for the personnel file."""
    return (folder.root / ARCHIVE_DIR / sanitize_filename(round_name) / sanitize_filename(employee_id)
            / sanitize_filename(f"{conversation_id} referat signert.pdf"))
