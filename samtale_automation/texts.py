"""The user's language for messages: Norwegian bokmål first, English second."""

from __future__ import annotations

import os

_LANGUAGES = ("nb", "en")
_current = os.environ.get("SAMTALE_LANG", "nb") if os.environ.get("SAMTALE_LANG") in _LANGUAGES else "nb"


def set_language(lang: str) -> None:
    """Choose the language of messages for the rest of the process."""
    global _current
    if lang not in _LANGUAGES:
        raise ValueError(lang)
    _current = lang


def language() -> str:
    """Return the current message language code (`nb` or `en`)."""
    return _current


def tr(nb: str, en: str) -> str:
    """Pick the Norwegian or English text for the current language."""
    return en if _current == "en" else nb
