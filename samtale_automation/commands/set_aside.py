"""`samtale apply --retry ID` and `--discard ID`: what HR does with a ChangeSet set aside.

A ChangeSet whose data could not be written to the workbook is set aside by the applier (its
reason in the journal, a notice in Logg) so it never blocks the others. Retrying makes it
pending again, and this write tries it once more (it is set aside again if it still fails);
discarding keeps it in the journal as discarded, never written, and says so in Logg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from samtale_automation.commands.results import SetAsideResult
from samtale_automation.domain.cells import as_text
from samtale_automation.domain.changeset import SetAsideChange, discard_notice
from samtale_automation.errors import UsageError
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.workbook.apply import ApplyResult

MAX_LISTED_CHANGES = 5


def find_set_aside(workspace: Workspace, ids: tuple[str, ...] | list[str]) -> list[SetAsideChange]:
    """The set-aside ChangeSets with these ids; a UsageError names any id that is not set aside."""
    known = {item.changeset.id: item for item in workspace.set_aside()}
    unknown = [i for i in ids if i not in known]
    if unknown:
        listed = ", ".join(known) or tr("ingen", "none")
        raise UsageError(
            tr(f"Ikke satt til side: {', '.join(unknown)}.", f"Not set aside: {', '.join(unknown)}."),
            hint=tr(f"Endringer som er satt til side: {listed}. Se «samtale status» eller «samtale check».",
                    f"Change sets set aside: {listed}. See «samtale status» or «samtale check»."))
    return [known[i] for i in dict.fromkeys(ids)]


def describe(item: SetAsideChange) -> list[str]:
    """Lines that show a person what a set-aside ChangeSet would have written, and why it was not."""
    changeset = item.changeset
    lines = [f"{changeset.id}  «{changeset.reason}» ({changeset.created})",
             tr(f"  satt til side {item.since}: {item.reason}", f"  set aside {item.since}: {item.reason}")]
    for change in changeset.changes[:MAX_LISTED_CHANGES]:
        values = ", ".join(f"{k}={as_text(v)!r}" for k, v in change.values.items())
        lines.append(f"  {change.table} {change.key or '+'}: {values}")
    if len(changeset.changes) > MAX_LISTED_CHANGES:
        more = len(changeset.changes) - MAX_LISTED_CHANGES
        lines.append(tr(f"  … og {more} endringer til", f"  … and {more} more changes"))
    return lines


def retry_set_aside(workspace: Workspace, ids: tuple[str, ...] | list[str]) -> ApplyResult:
    """Make set-aside ChangeSets pending again and apply everything pending now."""
    items = find_set_aside(workspace, ids)
    with workspace.journal() as journal:
        journal.retry([item.changeset.id for item in items])
    return workspace.commit(None)


def discard_set_aside(workspace: Workspace, ids: tuple[str, ...] | list[str], who: str) -> ApplyResult:
    """Discard set-aside ChangeSets for good (kept in the journal as discarded), note it in Logg, and apply."""
    items = find_set_aside(workspace, ids)
    with workspace.journal() as journal:
        for item in items:
            journal.discard(item.changeset.id, discard_notice(item.changeset, item.reason, who, workspace.now))
    return workspace.commit(None)


def run_set_aside(workspace: Workspace, retry: tuple[str, ...], discard: tuple[str, ...], *, who: str,
                  dry_run: bool = False, confirm_discard: Callable[[list[str]], bool] = lambda _ids: True
                  ) -> SetAsideResult:
    """`apply --retry/--discard`: name the change sets, ask before a discard, then write under the run lock."""
    result = SetAsideResult(find_set_aside(workspace, [*retry, *discard]), discarding=bool(discard), dry_run=dry_run)
    if dry_run:
        return result
    if discard and not confirm_discard(list(discard)):
        result.declined = True
        return result
    with workspace.locked("apply"):
        if discard:
            result.apply = discard_set_aside(workspace, discard, who)
        if retry:
            result.apply = retry_set_aside(workspace, retry)
    return result
