"""The receiving server's verdict on a mail's sender: Authentication-Results (RFC 8601).

The From address of a mail is typed by whoever sends it and proves nothing on its own. Where the
receiving server checked the sender (SPF: may this server send for the domain; DMARC: does the
From domain match what SPF/DKIM proved), it says so in an Authentication-Results header. samtale
honours a `fail` verdict only: a sender can add a header of their own that says `pass`, so a pass
is never trusted, but a header saying `fail` can only hurt the mail it is in. Without the header
(many in-house servers add none) the From address is all there is.
"""

from __future__ import annotations

import re

from samtale_automation.texts import tr

#: Methods whose `fail` sends a file to karantene/ (softfail, neutral and none do not).
FAILING_METHODS = ("dmarc", "spf")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)
#: Header text looked at, per header: a real one is a few hundred characters.
MAX_HEADER = 8192


def _without_comments(text: str) -> str:
    """The header with its (comments) removed, nested ones too; a \\-escaped parenthesis stays text."""
    out: list[str] = []
    depth = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def results(header: str) -> list[tuple[str, str]]:
    """(method, result) pairs of one Authentication-Results value, lower case, in order.

    The authserv-id (the receiving server's name) comes first, except from Microsoft 365, which
    leaves it out: any «;»-separated part starting with `method=result` counts."""
    found: list[tuple[str, str]] = []
    for part in _without_comments(header[:MAX_HEADER]).split(";"):
        match = _RESULT.match(part)
        if match:
            found.append((match.group(1).casefold(), match.group(2).casefold()))
    return found


def authentication_problem(headers: tuple[str, ...] | list[str]) -> str:
    """Why the receiving server says the sender is not who the From address claims ("" when it does not)."""
    failed = sorted({f"{method}=fail" for header in headers for method, result in results(header)
                     if method in FAILING_METHODS and result == "fail"})
    if not failed:
        return ""
    verdict = ", ".join(failed)
    return tr(f"e-postserveren som tok imot meldingen, sier at avsenderen ikke kan bekreftes ({verdict}): "
              "avsenderadressen kan være forfalsket. Sjekk med avsenderen på annen måte (telefon, Teams) at "
              "filen er deres; er den det, legg den selv i innkommende/.",
              f"the mail server that received the message says the sender cannot be confirmed ({verdict}): the "
              "From address may be forged. Check with the sender another way (phone, Teams) that the file is "
              "theirs; if it is, put it in innkommende/ yourself.")
