"""Where prep files live: `forberedelse/<round>/<department or «Uten avdeling»>/<AnsattID> <Navn> - <kind>.xlsx`."""

from __future__ import annotations

import functools
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
    return _department_folder(folder.root, round_name, employee.department)


@functools.lru_cache(maxsize=1024)  # a few departments, asked for once per file: 10,000 times at 5,000 employees
def _department_folder(root: Path, round_name: str, department: str) -> Path:
    name = sanitize_filename(department) if department else NO_DEPARTMENT
    return root / PREP_DIR / sanitize_filename(round_name) / name


def prep_path(folder: Folder, round_name: str, employee: Employee, suffix: str) -> Path:
    """`<AnsattID> <Navn> - <suffix>.xlsx` in the conversation's folder."""
    return conversation_folder(folder, round_name, employee) / prep_name(employee, suffix)


def prep_name(employee: Employee, suffix: str) -> str:
    """A prep file's name without its folder: `<AnsattID> <Navn> - <suffix>.xlsx`."""
    return sanitize_filename(f"{employee.employee_id} {employee.name} - {suffix}.xlsx")


def signed_pdf_path(folder: Folder, round_name: str, employee_id: str, conversation_id: str) -> Path:
    """`arkiv/<round>/<AnsattID>/<SamtaleID> referat signert.pdf`: the signed minutes for the personnel file."""
    return (folder.root / ARCHIVE_DIR / sanitize_filename(round_name) / sanitize_filename(employee_id)
            / sanitize_filename(f"{conversation_id} referat signert.pdf"))
