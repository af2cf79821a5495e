"""Where prep files live: `forberedelse/<round>/<department or «Uten avdeling»>/<AnsattID> <Navn> - <kind>.xlsx`."""

from __future__ import annotations

from pathlib import Path

from samtale_automation.domain.model import Employee
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.paths import NO_DEPARTMENT, PREP_DIR, Folder, sanitize_filename

SUFFIX = {EMPLOYEE: "forberedelse", MANAGER: "leder"}
GUIDE_SUFFIX = "samtaleguide"


def conversation_folder(folder: Folder, round_name: str, employee: Employee) -> Path:
    """`forberedelse/<round>/<department or «Uten avdeling»>/`."""
    department = sanitize_filename(employee.department) if employee.department else NO_DEPARTMENT
    return folder.root / PREP_DIR / sanitize_filename(round_name) / department


def prep_path(folder: Folder, round_name: str, employee: Employee, suffix: str) -> Path:
    """`<AnsattID> <Navn> - <suffix>.xlsx` in the conversation's folder."""
    name = sanitize_filename(f"{employee.employee_id} {employee.name} - {suffix}.xlsx")
    return conversation_folder(folder, round_name, employee) / name
