"""`samtale gdpr export|erase AnsattID`: everything the tool holds about one employee, out or gone (DESIGN.md §11).

export: one zip with their workbook rows, their journal rows, their own files (prep, manager's
version, guide, archived originals), quarantined or incoming files that name them, and the
outbox messages sent to them; a LESMEG.txt lists what is inside and the other people's
documents that also name them (listed only: they are those people's). HR reviews it first.

erase: the plan (plans.gdpr) is shown and confirmed, then: the journal is scrubbed with secure
delete and VACUUM, their files and files naming them are removed (others' originals only
listed), log lines naming them removed, their rows anonymised through a ChangeSet and every other
mention in the workbook scrubbed, and backups made before or during the erase that still hold
them removed. A last scan of the folder reports anything that still names them. The workbook
is anonymised late on purpose: a run stopped before it can simply be run again.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samtale_automation.commands.results_night import GdprResult
from samtale_automation.domain.master import Master
from samtale_automation.errors import WorkbookLockedError
from samtale_automation.paths import MASTER_XLSM, MASTER_XLSX, OUTBOX_DIR, STATE_DIR, sanitize_filename
from samtale_automation.plans.gdpr import (
    ErasePlan,
    PersonRef,
    erase_changeset,
    is_own_file,
    mentions,
    person_ref,
    plan_erase,
    scrub_text,
)
from samtale_automation.plans.overview import plan_overview
from samtale_automation.safe_write import assert_writable, write_chosen_file, write_private
from samtale_automation.store.gdpr import file_text, journal_rows, mail_recipients, scrub_journal
from samtale_automation.texts import tr
from samtale_automation.workbook.erase import scrub_workbook

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace

#: Files of the tool's own state that are not documents (the journal is handled on its own).
_SKIP = {f"{STATE_DIR}/key", f"{STATE_DIR}/run.lock", f"{STATE_DIR}/run.holder.json",
         f"{STATE_DIR}/journal.sqlite", f"{STATE_DIR}/journal.sqlite-wal", f"{STATE_DIR}/journal.sqlite-shm",
         f"{STATE_DIR}/journal.sqlite-journal"}


def folder_files(workspace: Workspace) -> list[tuple[str, Path]]:
    """Every file under the folder (relative POSIX path, path), the journal and key left out."""
    root = workspace.folder.root
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relpath = path.relative_to(root).as_posix()
        if relpath not in _SKIP and not path.name.startswith("~$"):
            found.append((relpath, path))
    return found


def scan(workspace: Workspace, person: PersonRef) -> list[tuple[str, bool]]:
    """(relative path, whether its text names them) for every file of the folder."""
    return [(relpath, mentions(file_text(path), person)) for relpath, path in folder_files(workspace)]


def _masters() -> tuple[str, str]:
    return (MASTER_XLSX, MASTER_XLSM)


def run_gdpr_export(workspace: Workspace, employee_id: str, *, out: Path | None = None,
                    dry_run: bool = False) -> GdprResult:
    """Write one zip with everything about the employee (see the module); the path in the result."""
    master = workspace.load()
    person = person_ref(master, employee_id)
    files = scan(workspace, person)
    own, named, listed = _export_files(files, person, workspace)
    path = out or workspace.folder.root / sanitize_filename(
        f"gdpr-eksport {person.employee_id} {workspace.now.date().isoformat()}.zip")
    result = GdprResult("export", person.employee_id, path=path, dry_run=dry_run, listed=listed,
                        files=[*own, *named])
    if dry_run:
        return result
    rows = _workbook_rows(master, person)
    with workspace.journal() as journal:
        journal_part = journal_rows(journal, lambda table, row: _journal_row(table, row, person))
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("LESMEG.txt", _readme(person, [*own, *named], listed, workspace.now.date()))
        package.writestr("arbeidsbok.json", json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        package.writestr("journal.json", json.dumps(journal_part, ensure_ascii=False, indent=1, default=str))
        for relpath in [*own, *named]:
            package.write(workspace.folder.root / relpath, f"filer/{relpath}")
    write_chosen_file(path, buffer.getvalue())
    return result


def _export_files(files: list[tuple[str, bool]], person: PersonRef, workspace: Workspace,
                  ) -> tuple[list[str], list[str], list[str]]:
    """Their own files; files elsewhere that name them and are about them alone; others' documents (listed)."""
    plan = plan_erase(files, person, _masters())
    own = [p for p in plan.remove if is_own_file(p, person)]
    named = []
    for relpath in plan.remove:
        if relpath in own or relpath.startswith(f"{STATE_DIR}/"):
            continue  # backups and logs are the tool's copies, not documents about the person
        if relpath.startswith(f"{OUTBOX_DIR}/"):
            # a message sent to them about their own conversation (one to a manager names other employees)
            about_them = any(cid in relpath for cid in person.conversation_ids) or f"/{person.employee_id} " in relpath
            if relpath.endswith(".eml") and about_them \
                    and person.email.casefold() in mail_recipients(workspace.folder.root / relpath):
                named.append(relpath)
            continue
        if relpath.startswith(("karantene/", "innkommende/")):
            named.append(relpath)
    return own, named, plan.listed


def _workbook_rows(master: Master, person: PersonRef) -> dict[str, list[dict[str, Any]]]:
    """Their rows of Ansatte, Samtaler and Tiltak, and the Logg rows that name them, by the sheets' headers."""
    found: dict[str, list[dict[str, Any]]] = {}
    if master.raw is None:
        return found
    for table in master.raw.tables.values():
        schema = table.schema
        for row in table.rows:
            key = row.values.get(schema.key) if schema.key else None
            text = " ".join(str(v) for v in row.values.values() if v is not None)
            if (key is not None and str(key) in person.keys) or (schema.key is None and mentions(text, person)):
                found.setdefault(table.sheet_name, []).append(
                    {schema.column(f).header: v for f, v in row.values.items() if _known(schema, f)})
    return found


def _known(schema: Any, field_name: str) -> bool:
    try:
        schema.column(field_name)
    except (KeyError, ValueError, StopIteration):
        return False
    return True


def _journal_row(table: str, row: dict[str, Any], person: PersonRef) -> dict[str, Any] | None:
    """A journal row about them (trimmed to their part for a ChangeSet); None otherwise."""
    if table == "changesets":
        try:
            payload = json.loads(str(row.get("payload")))
        except ValueError:
            return None
        mine = [c for c in payload.get("changes", [])
                if str(c.get("key")) in person.keys
                or (c.get("key") is None and mentions(json.dumps(c, ensure_ascii=False), person))]
        if not mine:
            return None
        return {"id": row.get("id"), "created": row.get("created"), "state": row.get("state"),
                "reason": row.get("reason"), "changes": mine}
    if str(row.get("conversation_id") or "") in person.conversation_ids:
        return row
    if table in ("written_cells",) and str(row.get("row_key")) in person.keys:
        return row
    if table in ("messages", "meetings", "reminders", "received_files", "prep_files"):
        return row if mentions(json.dumps(row, ensure_ascii=False, default=str), person) else None
    return None


def _readme(person: PersonRef, files: list[str], listed: list[str], day: date) -> str:
    lines = [tr(f"Innsyn for ansatt {person.employee_id}, laget {day:%d.%m.%Y} av samtale.",
                f"Access request for employee {person.employee_id}, made {day.isoformat()} by samtale."),
             "",
             tr("HR: gå gjennom filen før den gis videre. Lederens versjon og samtaleguiden er personopplysninger om "
                "den ansatte, men kan inneholde lederens egne notater.",
                "HR: review this file before handing it over. The manager's version and the conversation guide are "
                "personal data about the employee, but may hold the manager's own notes."),
             "",
             tr("arbeidsbok.json: radene i arbeidsboken (Ansatte, Samtaler, Tiltak, og Logg-rader som nevner "
                "personen).",
                "arbeidsbok.json: the workbook's rows (Ansatte, Samtaler, Tiltak, and Logg rows naming the person)."),
             tr("journal.json: verktøyets egne notater (sendte meldinger, mottatte filer, endringer).",
                "journal.json: the tool's own records (messages sent, files received, changes)."),
             tr("filer/: filene, med samme sti som i mappen:", "filer/: the files, with their path in the folder:")]
    lines += [f"  {f}" for f in files]
    if listed:  # their paths name other people: counted here, listed to HR by the command only
        lines += ["", tr(f"Personen nevnes også i {len(listed)} dokumenter som tilhører andre; de er ikke tatt med.",
                         f"The person is also named in {len(listed)} documents that belong to others; they are not "
                         "included.")]
    return "\n".join(lines) + "\n"


def run_gdpr_erase(workspace: Workspace, employee_id: str, *, dry_run: bool = False, who: str = "samtale",
                   confirm: Callable[[GdprResult], bool] = lambda _plan: False) -> GdprResult:
    """Show what would go, confirm, then erase everywhere (see the module); a final scan reports what remains."""
    master = workspace.load()
    person = person_ref(master, employee_id)
    plan = plan_erase(scan(workspace, person), person, _masters())
    result = GdprResult("erase", person.employee_id, dry_run=dry_run, files=plan.remove, listed=plan.listed,
                        scrubbed_logs=plan.scrub_lines, conversations=list(person.conversation_ids),
                        actions=list(person.action_ids))
    if dry_run:
        return result
    if not confirm(result):
        result.declined = True
        return result
    assert_writable(workspace.folder.master())  # refuse before anything is changed when Excel has it open

    def change(text: str) -> str:
        return scrub_text(text, person)

    # The workbook goes last: until it is anonymised, a run interrupted on the way can be started again
    # and still finds the person by the name and address in Ansatte.
    with workspace.journal() as journal:
        result.journal_cells = scrub_journal(journal, change)
    _erase_files(workspace, plan, person)
    applied = workspace.commit(erase_changeset(person, workspace.now, who))
    if applied.blocked:
        raise WorkbookLockedError(applied.blocked)
    result.workbook_cells = scrub_workbook(workspace.folder, change, workspace.now, plan_overview)
    # The writes above made backups of the workbook as it was: scan again and remove what still names them.
    again = plan_erase(scan(workspace, person), person, _masters())
    _erase_files(workspace, again, person)
    result.files = sorted(set(plan.remove) | set(again.remove))
    final = plan_erase(scan(workspace, person), person, _masters())
    result.remaining = [p for p in final.remove + final.scrub_lines if p not in final.listed]
    master_text = file_text(workspace.folder.master())
    if mentions(master_text, person):
        result.remaining.append(workspace.folder.master().name)
    return result


def _erase_files(workspace: Workspace, plan: ErasePlan, person: PersonRef) -> None:
    """Remove the files (a quarantined file's note with it, empty folders after), scrub log lines."""
    root = workspace.folder.root
    for relpath in plan.remove:
        path = root / relpath
        path.unlink(missing_ok=True)
        note = path.with_name(path.name + ".txt")
        if note.parent.name == "karantene":
            note.unlink(missing_ok=True)
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    for relpath in plan.scrub_lines:
        path = root / relpath
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        write_private(path, "".join(line for line in lines if not mentions(line, person)).encode("utf-8"))
