"""«Mine samtaler»: the open workbook's Samtaler and Tiltak filtered to one manager's people.

The manager is the AnsattID chosen once per PC with `samtale excel setup --manager`; the
conversations shown are those where that person is the manager or the employee, and the
actions those of these conversations or of the person. The filtering itself is Excel's
(workbook/live_filter.py); this picks the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from samtale_automation.commands.results import MineResult
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS
from samtale_automation.errors import UsageError
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace
    from samtale_automation.domain.master import Master

#: Filters one table of the open book to the rows whose key field is one of the keys; returns how many.
RowFilter = Callable[[Any, str, str, set[str]], int]


def my_rows(master: Master, manager: str) -> tuple[set[str], set[str]]:
    """The Samtaler IDs where `manager` is the manager or the employee, and the Tiltak IDs that go with them."""
    conversations = {c.conversation_id for c in master.conversations.values()
                     if manager in (c.manager_id, c.employee_id)}
    actions = {a.action_id for a in master.actions.values()
               if a.conversation_id in conversations or a.employee_id == manager}
    return conversations, actions


def run_mine(workspace: Workspace, manager: str, filter_rows: RowFilter) -> MineResult:
    """Filter the open book's Samtaler and Tiltak to `manager`'s conversations (an AnsattID from excel setup)."""
    again = tr("Kjør «samtale excel setup --manager <AnsattID>»", "Run «samtale excel setup --manager <EmployeeID>»")
    if not manager:
        raise UsageError(tr("Du har ikke valgt hvem du er som leder på denne PC-en.",
                            "You have not chosen who you are as a manager on this PC."), hint=again + tr(" én gang.",
                                                                                                     " once."))
    master = workspace.load(with_pending=False)
    if manager not in master.employees:
        raise UsageError(tr(f"AnsattID {manager} (fra «samtale excel setup») finnes ikke i Ansatte.",
                            f"Employee ID {manager} (from «samtale excel setup») is not in Ansatte."),
                         hint=again + tr(" på nytt.", " again."))
    conversations, actions = my_rows(master, manager)
    return MineResult(master.employees[manager].name or manager,
                      filter_rows(workspace.book, CONVERSATIONS.table, "conversation_id", conversations),
                      filter_rows(workspace.book, ACTIONS.table, "action_id", actions))
