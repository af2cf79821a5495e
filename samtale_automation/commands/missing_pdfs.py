"""Signed PDFs a collect could not write, made again on a later collect (nothing signed stays without its PDF).

The PDF is made when the second signature arrives (plans/signing_files.py). If writing it failed
then (a full disk, a folder that could not be made), the conversation is «Signert» without its
PDF and the returned file is a duplicate if sent again. So every collect looks for conversations
both signed whose PDF is missing, finds the archived minutes with the signed version (the journal
knows where each accepted file went), and makes the PDF from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from samtale_automation.domain.master import Master
from samtale_automation.paths import make_private_dir
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.plans.signing_files import SIGNED_PDF, signed_pdf_again, unmade_pdfs
from samtale_automation.prepfile.locations import signed_pdf_path
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def make_missing_pdfs(workspace: Workspace, master: Master) -> tuple[list[tuple[str, Path]], list[tuple[Path, str]]]:
    """Write the signed PDFs missing for conversations both signed; (written, failed with why)."""
    from samtale_automation.prepfile.signed_pdf import write_signed_pdf

    folder = workspace.folder
    wanted = unmade_pdfs(master, lambda c: signed_pdf_path(folder, c.round, c.employee_id, c.conversation_id).exists())
    if not wanted:
        return [], []
    with workspace.journal() as journal:
        rows = [row for row in journal.received(ACCEPTED) if row["has_minutes"] and row["destination"]]
    key = folder.key.read_bytes()
    written: list[tuple[str, Path]] = []
    failed: list[tuple[Path, str]] = []
    for conv in wanted:
        path = signed_pdf_path(folder, conv.round, conv.employee_id, conv.conversation_id)
        for row in reversed(rows):  # the newest first: the signed version is usually the last one
            if row["conversation_id"] != conv.conversation_id:
                continue
            try:
                returned = read_returned(folder.root / row["destination"], key,
                                         max_questions_default=master.settings.max_questions)
            except (RejectedFile, OSError):
                continue  # moved or removed by hand: try the others
            item = signed_pdf_again(master, conv, returned.minutes())
            if item is None:
                continue
            try:
                make_private_dir(path.parent)
                write_signed_pdf(path, item.content)
            except Exception as exc:  # this one file, never the run; tried again next time
                failed.append((path, f"{type(exc).__name__}: {exc}"[:300]))
            else:
                written.append((SIGNED_PDF, path))
            break
    return written, failed
