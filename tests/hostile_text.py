"""Text no XML 1.0 file can hold, as a returned file, a pasted text or a file name brings it (DESIGN.md §11)."""

from __future__ import annotations

#: Every C0 control character XML 1.0 cannot hold (tab, newline and carriage return it can).
NOT_XML_C0 = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]
HOSTILE_TEXTS = [
    *(f"før{char}etter" for char in NOT_XML_C0),
    "lone \ud800 high", "lone \udfff low", "reversed \udc00\ud800 pair", "\ufffe and \uffff",
    "vertical tab stored as _x000B_ by Excel", "_x0000_ null, _x001F_ unit separator, _xD800_ surrogate",
    "".join(NOT_XML_C0) + "\ud800\ufffe\uffff",
]


def xml_ok(text: str) -> bool:
    """Tell whether XML 1.0 can hold every character of `text`."""
    return all(ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd") or ch >= "\U00010000"
               for ch in text)
