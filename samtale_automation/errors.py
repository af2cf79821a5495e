"""One error hierarchy (each class carries its exit code, DESIGN.md §9) and the Problem record of bad input.

Exit codes: 0 ok; 1 done but problems found or items failed; 2 usage error;
3 workbook missing, unreadable or locked; 4 backend failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from samtale_automation.texts import tr

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_WORKBOOK = 3
EXIT_BACKEND = 4

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Something wrong in the workbook or settings, with where it is and how to fix it."""

    where: str  # «Ansatte!C5», «Samtaler», «samtale.toml: backend»
    message: str
    fix: str = ""
    severity: str = ERROR  # ERROR blocks (check exits 1); WARNING is shown, HR may mean it

    @property
    def is_warning(self) -> bool:
        """Tell whether the problem is only a warning (shown, never blocking)."""
        return self.severity == WARNING

    def render(self) -> str:
        """One line for a person: place, what is wrong, what to do; a warning says it is one."""
        label = tr("advarsel: ", "warning: ") if self.is_warning else ""
        text = f"{self.where}: {label}{self.message}"
        return f"{text} – {self.fix}" if self.fix else text


class SamtaleError(Exception):
    """Base of every error the tool reports to a person (never shown with a traceback)."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, *, hint: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problems = problems or []


class UsageError(SamtaleError):
    """The command was called wrongly (bad option, bad date, target exists)."""

    exit_code = EXIT_USAGE


class WorkbookError(SamtaleError):
    """The master workbook is missing, unreadable, password-protected or of the wrong kind."""

    exit_code = EXIT_WORKBOOK


class WorkbookLockedError(WorkbookError):
    """Someone has the workbook open, or it cannot be written now; changes stay pending."""


class RunLockedError(WorkbookError):
    """Another samtale run works on the same folder right now."""


class ConfigError(SamtaleError):
    """samtale.toml or the Innstillinger sheet holds invalid settings."""

    exit_code = EXIT_USAGE


class MissingSecretError(ConfigError):
    """A backend's password, token or client secret is not on this PC (environment or keyring)."""


class BackendError(SamtaleError):
    """The mail or calendar server could not be reached or refused us."""

    exit_code = EXIT_BACKEND
