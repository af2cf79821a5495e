"""One error hierarchy; each class carries the exit code of DESIGN.md §9.

Exit codes: 0 ok; 1 done but problems found or items failed; 2 usage error;
3 workbook missing, unreadable or locked; 4 backend failure.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_WORKBOOK = 3
EXIT_BACKEND = 4


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


class BackendError(SamtaleError):
    """The mail or calendar server could not be reached or refused us."""

    exit_code = EXIT_BACKEND
