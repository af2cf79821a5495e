"""IMAP syntax and MIME for the IMAP reader: folder names, UID sets, FETCH responses, attached files.

Pure functions (no connection), so the parsing of what a server answers and of the messages people
send back — RFC 2231/2047 names, forwarded messages, Outlook's quirks — reads and tests on its own.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import quopri
import re
from collections.abc import Iterator
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

from samtale_automation.domain.messages import IncomingFile

#: Top-level MIME types that never carry a workbook: messages with only such parts are not downloaded.
PLAIN_TYPES = ("text", "image", "audio", "video", "multipart")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


# ---- IMAP syntax --------------------------------------------------------------------------------


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): «Behandlet æøå» → «Behandlet &AOYA+ADl-»."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def quoted_folder(name: str) -> str:
    """A folder name as an IMAP quoted string, ready for a command."""
    encoded = imap_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: list[int]) -> str:
    """A compact IMAP sequence set: [1, 2, 3, 7] → «1:3,7»."""
    ordered = sorted(set(uids))
    runs: list[str] = []
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        runs.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(runs)


_TOKEN = re.compile(rb'(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+)', re.DOTALL)
#: BODY[] or BODY[HEADER.FIELDS (FROM)]<0>: one atom, brackets (and the spaces in them) included.
_ATOM_WITH_SECTION = re.compile(rb'[^\s()"\[]+\[[^\]]*\](?:<\d+>)?')
_SPACE = re.compile(rb"\s*")
_LITERAL_TAIL = re.compile(rb"\{\d+\+?\}\s*$")


def _tokens(text: bytes) -> Iterator[object]:
    """Tokens of a response line: "(", ")", strings as bytes, atoms as str (NIL as None)."""
    position = 0
    while True:
        space = _SPACE.match(text, position)
        position = space.end() if space else position
        if position >= len(text):
            return
        section = _ATOM_WITH_SECTION.match(text, position)
        if section:
            yield section.group().decode("ascii", "replace")
            position = section.end()
            continue
        match = _TOKEN.match(text, position)
        if match is None:  # a lone quote: the rest of the line is one string
            yield text[position + 1:]
            return
        position = match.end()
        if match.group(1):
            yield "("
        elif match.group(2):
            yield ")"
        elif match.group(3) is not None:
            yield re.sub(rb"\\(.)", rb"\1", match.group(3))
        else:
            atom = match.group(4).decode("ascii", "replace")
            yield None if atom.upper() == "NIL" else atom


def parse_responses(data: list[Any]) -> list[list[Any]]:
    """imaplib's untagged data (lines, and (line, literal) pairs) → one nested list per response.

    Strings and literals become bytes, atoms str, NIL None, parenthesised lists lists.
    """
    responses: list[list[Any]] = []
    pending: list[object] = []
    for piece in data:
        if isinstance(piece, tuple):
            text, literal = piece
            pending.extend(_tokens(_LITERAL_TAIL.sub(b"", bytes(text))))
            pending.append(bytes(literal))
            continue
        if piece is None:
            continue
        pending.extend(_tokens(bytes(piece)))
        responses.append(_nest(pending))
        pending = []
    if pending:
        responses.append(_nest(pending))
    return responses


def _nest(tokens: list[object]) -> list[Any]:
    root: list[Any] = []
    stack = [root]
    for token in tokens:
        if token == "(":
            child: list[Any] = []
            stack[-1].append(child)
            stack.append(child)
        elif token == ")":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].append(token)
    return root


def fetch_items(data: list[Any]) -> dict[int, dict[str, Any]]:
    """FETCH responses by UID: {uid: {"RFC822.SIZE": "123", "BODY[]": b"...", ...}} (responses without UID dropped)."""
    found: dict[int, dict[str, Any]] = {}
    for response in parse_responses(data):
        items = next((part for part in response if isinstance(part, list)), None)
        if items is None:
            continue
        pairs = {str(items[i]).upper(): items[i + 1] for i in range(0, len(items) - 1, 2) if isinstance(items[i], str)}
        uid = pairs.get("UID")
        if isinstance(uid, str) and uid.isdigit():
            found.setdefault(int(uid), {}).update(pairs)
    return found


def may_hold_files(structure: object) -> bool:
    """Whether a BODYSTRUCTURE has a part that can be a file (not text, image, audio or video); True when unsure."""
    if not isinstance(structure, list) or not structure:
        return True
    if isinstance(structure[0], list):  # multipart: the parts come first, then the subtype and extensions
        parts = []
        for part in structure:
            if not isinstance(part, list):
                break
            parts.append(part)
        return any(may_hold_files(part) for part in parts)
    kind = structure[0]
    if not isinstance(kind, bytes):
        return True
    return kind.decode("ascii", "replace").casefold() not in PLAIN_TYPES


def internal_date(value: object) -> dt.datetime | None:
    """INTERNALDATE («17-Jul-2026 02:44:25 -0700») as an aware datetime, or None."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value or "")
    match = re.fullmatch(r"\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*", text)
    if not match or match.group(2) not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    return dt.datetime(int(year), _MONTHS[match.group(2)], int(day), int(hour), int(minute), int(second),
                       tzinfo=dt.timezone(offset))


# ---- reading a message ---------------------------------------------------------------------------


#: How deep messages and multiparts are opened (forwarded within forwarded...); deeper parts are ignored.
MAX_NESTING = 20


def attached_files(message: Message, suffixes: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """(name, bytes) of every attachment whose name ends in a suffix (any case), also in forwarded messages."""
    wanted = tuple(s.casefold() for s in suffixes)
    files: list[tuple[str, bytes]] = []
    for part in _leaves(message, 0):
        name = _filename(part)
        if name and name.casefold().endswith(wanted):
            payload = part.get_payload(decode=True)
            files.append((name, payload if isinstance(payload, bytes) else b""))
    return files


def _leaves(part: Message, depth: int) -> Iterator[Message]:
    """The parts without subparts, going into forwarded messages (message/rfc822) too."""
    if depth > MAX_NESTING:
        return
    inner = _encoded_message(part) if part.get_content_maintype() == "message" else None
    if inner is not None:
        yield from _leaves(inner, depth + 1)
    elif part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _leaves(child, depth + 1)
    else:
        yield part


def _encoded_message(part: Message) -> Message | None:
    """A forwarded message sent base64- or QP-encoded (against RFC 2046), which the parser leaves encoded."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().casefold()
    if encoding not in ("base64", "quoted-printable"):
        return None
    body = part.get_payload()
    first = body[0] if isinstance(body, list) and body else body
    text = first.get_payload() if isinstance(first, Message) and not first.is_multipart() else first
    if not isinstance(text, str):
        return None
    raw = text.encode("ascii", "replace")
    try:
        data = base64.b64decode(raw) if encoding == "base64" else quopri.decodestring(raw)
    except ValueError:  # binascii.Error: not base64 after all; the part is then taken as it is
        return None
    return BytesParser(policy=policy.default).parsebytes(data)


def _filename(part: Message) -> str:
    """The part's file name, RFC 2231 and RFC 2047 decoded (also the encoded words Outlook puts in quotes)."""
    name = part.get_filename() or ""
    if "=?" in name:
        with contextlib.suppress(ValueError, LookupError):
            name = str(make_header(decode_header(name)))
    return name.strip()


def _sender(message: Message) -> str:
    header = message["From"]
    addresses = getattr(header, "addresses", ())
    if addresses and addresses[0].addr_spec:
        return str(addresses[0].addr_spec)
    return parseaddr(str(header or ""))[1]


def _date(message: Message) -> dt.datetime | None:
    moment = getattr(message["Date"], "datetime", None)
    return moment if isinstance(moment, dt.datetime) and moment.tzinfo is not None else None


def incoming_files(message_id: str, raw: bytes, suffixes: tuple[str, ...],
                   arrived: dt.datetime | None) -> list[IncomingFile]:
    """The IncomingFiles of one raw message: sender (From), the Date header or else the arrival time, subject."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    files = attached_files(message, suffixes)
    if not files:
        return []
    received = _date(message) or arrived or dt.datetime.now(dt.UTC)
    subject = str(message["Subject"] or "")
    verdicts = authentication_results(message)
    return [IncomingFile(message_id=message_id, sender=_sender(message), received=received, filename=name,
                         content=content, subject=subject, authentication=verdicts) for name, content in files]


def authentication_results(message: Message) -> tuple[str, ...]:
    """The Authentication-Results header values (a malformed one read as its raw text)."""
    values: list[str] = []
    for raw in message.raw_items():
        if raw[0].strip().casefold() == "authentication-results":
            values.append(" ".join(str(raw[1]).split()))
    return tuple(values)
