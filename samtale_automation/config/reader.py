"""Reading one `[section]` of samtale.toml: typed values with their defaults, and a Problem for each bad one.

A bad value never stops the reading: it is recorded (`problems`) and the default stands in, so the
whole file is checked in one go. A required key that is absent goes to `missing`; whether that is a
problem depends on the backend chosen (the caller decides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from samtale_automation.errors import Problem
from samtale_automation.texts import tr

SOURCE = "samtale.toml"


def either(choices: Sequence[str]) -> str:
    """`"a", "b" eller "c"`: the allowed values of a setting, quoted."""
    quoted = [f'"{choice}"' for choice in choices]
    return ", ".join(quoted[:-1]) + " " + tr("eller", "or") + " " + quoted[-1] if len(quoted) > 1 else quoted[0]


class Section:
    """One section being read: where each key is, the values, and what is wrong with them."""

    def __init__(self, name: str, values: Mapping[str, Any], source: str = SOURCE) -> None:
        self.name = name
        self.values = values
        self.source = source
        self.problems: list[Problem] = []  # bad values and combinations: always reported
        self.missing: list[Problem] = []  # required keys not there: reported when the backend is chosen

    @property
    def usable(self) -> bool:
        """Nothing wrong and nothing missing: the section's settings can be built."""
        return not (self.problems or self.missing)

    def where(self, key: str) -> str:
        """`samtale.toml: smtp.port`: the place a person looks."""
        return f"{self.source}: {self.name}.{key}"

    def has(self, key: str) -> bool:
        """The key is written in the file."""
        return key in self.values

    def problem(self, key: str, message: str, fix: str) -> None:
        """Record something wrong with `key` (already translated texts)."""
        self.problems.append(Problem(self.where(key), message, fix))

    def require(self, key: str, message: str, fix: str) -> None:
        """Record that the required `key` is not set."""
        self.missing.append(Problem(self.where(key), message, fix))

    def bad(self, key: str, allowed: str) -> None:
        """Record that the value of `key` cannot be used; `allowed` says what to write instead."""
        value = self.values.get(key)
        self.problem(key, tr(f"ugyldig verdi {value!r}", f"invalid value {value!r}"),
                     tr(f"Bruk {allowed}.", f"Use {allowed}."))

    # ---- typed values -------------------------------------------------------------------------

    def text(self, key: str, default: str = "") -> str:
        """A text value, stripped (a number is taken as its digits, as before)."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.bad(key, tr("tekst i anførselstegn", "text in quotes"))
            return default
        return str(value).strip()

    def required_text(self, key: str, message: str, fix: str) -> str:
        """A text value that must be set: recorded as missing when it is absent or blank."""
        before = len(self.problems)
        value = self.text(key)
        if not value and len(self.problems) == before:
            self.require(key, message, fix)
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        """One of `choices`, exactly as written."""
        value = self.values.get(key, default)
        if not isinstance(value, str) or value not in choices:
            self.bad(key, either(choices))
            return default
        return value

    def whole(self, key: str, default: int, low: int, high: int, allowed: str) -> int:
        """A whole number from `low` to `high` (not true/false)."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(key, allowed)
            return default
        return value

    def seconds(self, key: str, default: float, example: int) -> float:
        """A positive number of seconds."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            self.bad(key, tr(f"et antall sekunder, f.eks. {example}", f"a number of seconds, e.g. {example}"))
            return default
        return float(value)

    def folder(self, key: str, default: str) -> str:
        """A folder name: text, not blank, without line breaks."""
        value = self.values.get(key, default)
        if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n\0"):
            self.bad(key, tr(f'et mappenavn, f.eks. "{default}"', f'a folder name, e.g. "{default}"'))
            return default
        return value.strip()
