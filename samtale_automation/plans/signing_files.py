"""The files a collect makes for signing (DESIGN.md §5), pure: which, for whom, with what content.

Every file handed to the other party is made fresh from the parsed minutes (summaries and actions),
never copied from a returned file, so neither party's private note ever leaves its writer's file:
- the employee's minutes (signed or not) → a copy for the manager to finalise and sign;
- the manager's final version the employee has not signed → a copy for the employee to countersign,
  showing the manager's signature and the version the employee signed before;
- both signed the same version → the signed minutes as a PDF for the personnel file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from samtale_automation.domain.master import Master
from samtale_automation.domain.minutes import Minutes
from samtale_automation.domain.model import Conversation
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, MinutesDraft, PrepContent, Signature
from samtale_automation.plans.consolidate import CollectPlan, Decision
from samtale_automation.plans.prep import build_content
from samtale_automation.plans.signing import BACK_TO_MANAGER, COUNTERSIGN, NOTHING, SIGNED, SIGNED_ONE

FINALISE = "finalise"  # the manager's copy
COUNTERSIGN_COPY = "countersign"  # the employee's copy
SIGNED_PDF = "signed_pdf"


@dataclass(frozen=True)
class SigningFile:
    """One file to write: its kind, the conversation, and the content (minutes set, no private note)."""

    kind: str
    conversation_id: str
    employee_id: str
    round: str
    content: PrepContent


def signing_files(master: Master, plan: CollectPlan) -> list[SigningFile]:
    """The copies and PDFs the plan's accepted minutes call for; the last one per conversation and kind wins."""
    files: dict[tuple[str, str], SigningFile] = {}
    for decision in plan.decisions:
        made = _file_for(master, decision)
        if made is not None:
            files[(made.kind, made.conversation_id)] = made
    return list(files.values())


def _file_for(master: Master, decision: Decision) -> SigningFile | None:
    conv, returned, step = decision.conversation, decision.arrival.returned, decision.signing
    if conv is None or returned is None or step is None:
        return None
    if conv.employee_id not in master.employees or conv.manager_id not in master.employees:
        return None
    employee, manager = master.employees[conv.employee_id], master.employees[conv.manager_id]
    minutes, version, state = returned.minutes(), decision.version, step.state
    employee_variant = returned.identity.variant == EMPLOYEE
    if step.event == SIGNED:
        assert state.employee_day is not None and state.manager_day is not None
        return _signed_pdf(master, conv, MinutesDraft(
            minutes, Signature(employee.name, state.employee_day, state.employee_version or version),
            Signature(manager.name, state.manager_day, state.manager_version or version)))
    if step.event == COUNTERSIGN:
        assert state.manager_day is not None
        earlier = state.employee_version if state.employee_version != version else ""
        draft = MinutesDraft(minutes, None, Signature(returned.signed_manager_name or manager.name, state.manager_day,
                                                      version), earlier)
        content = replace(build_content(master, conv, EMPLOYEE), questions=(), past_actions=(), minutes=draft)
        return SigningFile(COUNTERSIGN_COPY, conv.conversation_id, conv.employee_id, conv.round, content)
    if employee_variant and (step.event in (SIGNED_ONE, BACK_TO_MANAGER) or (step.event == NOTHING
                                                                             and decision.counts_minutes)):
        signature = (Signature(returned.signed_employee_name or employee.name, state.employee_day, version)
                     if state.employee_day is not None and step.event != NOTHING else None)
        draft = MinutesDraft(minutes, signature, None, step.earlier)  # beside the manager's sign-off
        content = replace(build_content(master, conv, MANAGER), questions=(), past_actions=(), minutes=draft)
        return SigningFile(FINALISE, conv.conversation_id, conv.employee_id, conv.round, content)
    return None


def unmade_pdfs(master: Master, has_pdf: Callable[[Conversation], bool]) -> list[Conversation]:
    """Conversations both signed on the same version whose signed PDF is not there (a write that failed)."""
    return [conv for conv in sorted(master.conversations.values(), key=lambda c: c.conversation_id)
            if conv.signed_employee and conv.signed_manager and conv.signed_manager_version
            and conv.signed_employee_version == conv.signed_manager_version
            and conv.employee_id in master.employees and conv.manager_id in master.employees and not has_pdf(conv)]


def signed_pdf_again(master: Master, conv: Conversation, minutes: Minutes) -> SigningFile | None:
    """The signed PDF of `conv` from the minutes both signed (their recorded days), or None if these are not
    the minutes they signed."""
    if conv.signed_employee is None or conv.signed_manager is None or minutes.version() != conv.signed_manager_version:
        return None
    employee, manager = master.employees[conv.employee_id], master.employees[conv.manager_id]
    version = conv.signed_manager_version
    return _signed_pdf(master, conv, MinutesDraft(minutes, Signature(employee.name, conv.signed_employee, version),
                                                  Signature(manager.name, conv.signed_manager, version)))


def _signed_pdf(master: Master, conv: Conversation, draft: MinutesDraft) -> SigningFile:
    content = replace(build_content(master, conv, EMPLOYEE), lang=master.settings.language, questions=(),
                      past_actions=(), minutes=draft)
    return SigningFile(SIGNED_PDF, conv.conversation_id, conv.employee_id, conv.round, content)
