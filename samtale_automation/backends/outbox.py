"""The `outbox` backend (default): every message as a file in `utboks/`, nothing sent.

Layout (research/mail.md §3.9, names in Norwegian): `utboks/<run day>/<key>/<sequence>-invitasjon.eml`
(or `-avlysning.eml`) plus the bare `.ics` for a meeting, `utboks/<run day>/<kind in Norwegian, e.g.
påminnelser>/<rest of key> <name>.eml` for a mail, and a
`manifest.jsonl` per day for review. Files are written atomically and named deterministically,
so a re-run after a crash rewrites the same file instead of adding a second one. On Windows a
double-click on the `.ics` opens the meeting in Outlook; the `.eml` opens as a message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from samtale_automation.backends import BackendContext, mime
from samtale_automation.backends.mime_base import MimeBackend
from samtale_automation.domain.messages import Delivery, Person
from samtale_automation.errors import BackendError
from samtale_automation.paths import OUTBOX_DIR, make_private_dir, sanitize_filename
from samtale_automation.safe_write import write_private
from samtale_automation.texts import tr

#: Folder names a person opens in utboks/, in Norwegian (DESIGN.md §9): one per kind of mail.
FOLDERS = {"digest": "påminnelser", "manager_prep": "lederskjema", "doctor": "testmelding",
           "hr_digest": "til HR"}
#: A meeting's file is named by its version and what it does: «0-invitasjon.eml», «1-avlysning.eml».
METHODS = {"REQUEST": "invitasjon", "CANCEL": "avlysning"}


class OutboxBackend(MimeBackend):
    """Writes .eml/.ics files for review, the demo, or sending by hand from Outlook."""

    name = "outbox"
    needs_confirmation = False

    def __init__(self, root: Path, mailbox: Person) -> None:
        super().__init__(mailbox)
        self.root = root

    def deliver(self, message: EmailMessage, recipients: Sequence[Person], *, key: str, label: str) -> Delivery:
        """Write the message (and its calendar part) under the day's folder; append to the manifest."""
        kind, _, rest = key.partition(":")
        if label == "mail":
            names = ", ".join(p.name or p.email for p in recipients)
            folder = FOLDERS.get(kind, kind)
            target = self.root / sanitize_filename(folder) / sanitize_filename(f"{rest.replace(':', ' ')} {names}.eml")
        else:
            sequence, _, method = label.partition("-")
            target = self.root / sanitize_filename(key) / f"{sequence}-{METHODS.get(method, method)}.eml"
        data = mime.message_bytes(message)
        try:
            make_private_dir(target.parent)
            write_private(target, data, durable=False)
            written = [target]
            calendar = _calendar_part(message)
            if calendar is not None:
                ics = target.with_suffix(".ics")
                write_private(ics, calendar, durable=False)
                written.append(ics)
            entry = {"file": str(target.relative_to(self.root)), "to": [p.email for p in recipients],
                     "subject": str(message["Subject"]), "key": key, "label": label}
            with (self.root / "manifest.jsonl").open("a", encoding="utf-8") as manifest:
                manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise BackendError(tr(f"Kunne ikke skrive til utboksen {self.root}: {exc.strerror}",
                                  f"Could not write to the outbox {self.root}: {exc.strerror}"),
                               hint=tr("Sjekk at mappen finnes og at du har skrivetilgang.",
                                       "Check that the folder exists and that you may write to it.")) from exc
        self.stats.requests += 1
        return Delivery(location=str(target))


    def probe(self) -> list[str]:
        """Check that the outbox can be written (a file is written and removed)."""
        test = self.root.parent / ".samtale-doctor"
        try:
            make_private_dir(self.root.parent)
            write_private(test, b"ok", durable=False)
            test.unlink()
        except OSError as exc:
            raise BackendError(tr(f"Kan ikke skrive i utboksen {self.root.parent}: {exc.strerror}",
                                  f"Cannot write to the outbox {self.root.parent}: {exc.strerror}"),
                               hint=tr("Sjekk at mappen finnes og at du har skrivetilgang.",
                                       "Check that the folder exists and that you may write to it.")) from exc
        return [tr(f"Utboksen {self.root.parent} kan skrives; ingenting sendes (backend outbox).",
                   f"The outbox {self.root.parent} can be written; nothing is sent (backend outbox).")]


def _calendar_part(message: EmailMessage) -> bytes | None:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def create(context: BackendContext) -> OutboxBackend:
    """The outbox for this folder and run day."""
    root = context.folder.root / OUTBOX_DIR / context.now.date().isoformat()
    return OutboxBackend(root, context.sending_mailbox() if context.config.mail.mailbox else Person(""))
