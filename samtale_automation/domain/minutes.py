"""What a signature covers: the minutes' content in a canonical form, and its hash (DESIGN.md §5 Signing).

A signature is bound to the content the signer saw: the summaries per topic and the agreed actions
(description, goal, owner, deadline, follow-up) of one conversation. Not covered: the private notes
(they never leave the writer's file) and the sign-off cells themselves (a signature cannot cover the
name and date typed to make it; the other party's typed name would change the hash of what the first
signer saw). The canonical form makes opening and re-saving without edits, in Excel or LibreOffice,
keep the hash: text is Unicode NFC, line breaks are «\\n», spaces at line ends and around the text are
dropped, empty summaries and empty actions are left out, dates are ISO dates.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from samtale_automation.domain.schema import TOPICS

# A prefix keeps these hashes apart from any other sha256 in the journal; bump it when the form changes.
_DOMAIN = "samtale-minutes/1"
#: Characters of the hash shown to people as the version («versjon 3f2a9c1b»).
SHORT = 8


@dataclass(frozen=True)
class MinutesAction:
    """One agreed action as the minutes hold it."""

    description: str
    goal: str = ""
    owner: str = ""
    deadline: date | None = None
    follow_up: date | None = None


@dataclass(frozen=True)
class Minutes:
    """The signed part of one conversation's minutes, parsed from a file (no private note)."""

    conversation_id: str
    summaries: Mapping[str, str] = field(default_factory=dict)  # topic key -> summary
    actions: Sequence[MinutesAction] = ()

    def canonical(self) -> bytes:
        """The content as bytes that two saves of the same text always give."""
        order = {topic.key: index for index, topic in enumerate(TOPICS)}
        summaries = sorted(((key, clean(text)) for key, text in self.summaries.items() if clean(text)),
                           key=lambda item: (order.get(item[0], len(order)), item[0]))
        actions = [[clean(a.description), clean(a.goal), clean(a.owner), _iso(a.deadline), _iso(a.follow_up)]
                   for a in self.actions]
        actions = [a for a in actions if any(a)]
        body = {"conversation": clean(self.conversation_id), "summaries": summaries, "actions": actions}
        return (_DOMAIN + "\n" + json.dumps(body, ensure_ascii=False, separators=(",", ":"))).encode("utf-8")

    def version(self) -> str:
        """The sha256 of the canonical content, 64 hex digits: what a signature records."""
        return hashlib.sha256(self.canonical()).hexdigest()


def clean(text: str) -> str:
    """Text in canonical form: NFC, «\\n» line breaks, no spaces at line ends or around the whole."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def short(version: str) -> str:
    """The version as people see it: its first eight hex digits ('' for none)."""
    return version[:SHORT]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
