"""Which prep files `samtale prep` writes, with what content, and why others are skipped (DESIGN.md §5).

Pure: the parsed master plus the caller's view of the disk in; a PrepPlan out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import Conversation, Employee, Question
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, Identity, PastAction, PrepContent, PrepQuestion
from samtale_automation.domain.schema import TOPICS
from samtale_automation.domain.workdays import prep_deadline
from samtale_automation.errors import Problem
from samtale_automation.plans.check import conversation_errors
from samtale_automation.texts import tr


@dataclass(frozen=True)
class PrepFile:
    """One file to write: where, for which conversation and variant, with what content."""

    path: Path
    content: PrepContent
    reissue: bool = False  # an existing file is moved to backups first (--force)


@dataclass
class PrepPlan:
    """What `samtale prep` will do."""

    files: list[PrepFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    #: Rows check reports as wrong: no file is made for them until fixed (each with its cell and fix).
    problems: list[Problem] = field(default_factory=list)


def applicable_questions(master: Master, employee: Employee, lang: str) -> tuple[PrepQuestion, ...]:
    """The active questions whose Gjelder includes the employee, grouped in topic order, in the reader's
    language (`lang`): English from «Spørsmål (en)» where given, Norwegian otherwise, per question."""
    order = {topic.key: index for index, topic in enumerate(TOPICS)}
    labels = {topic.key: topic.label(lang) for topic in TOPICS}
    chosen: list[Question] = [q for q in master.questions if q.active and q.topic in order and q.applies(employee)]
    chosen.sort(key=lambda q: order[q.topic])  # stable: menu order within a topic
    return tuple(PrepQuestion(q.question_id, q.topic, labels[q.topic], *q.in_language(lang), q.mandatory)
                 for q in chosen)


def past_actions(master: Master, conv: Conversation) -> tuple[PastAction, ...]:
    """The employee's actions from earlier conversations, for their own assessment."""
    return tuple(PastAction(a.action_id, a.description, a.goal, a.deadline, a.status)
                 for a in master.actions_of(conv.employee_id) if a.conversation_id != conv.conversation_id)


#: Menus already built in one plan, by reader's language and what a question's Gjelder can name
#: (department and title, Question.applies): files with the same key share one menu tuple.
MenuCache = dict[tuple[str, str, str], tuple[PrepQuestion, ...]]


def build_content(master: Master, conv: Conversation, variant: str, menus: MenuCache | None = None,
                  past: tuple[PastAction, ...] | None = None) -> PrepContent:
    """Assemble one prep file's content: the employee's own data and the manager's name and e-mail.

    With `menus` (one dict per plan) the question menu is built once per language, department and
    title, and shared: a round of 5,000 employees has a handful of menus, not 10,000 copies. `past`
    is the conversation's past_actions when the caller has them (both variants show the same).
    """
    employee = master.employees[conv.employee_id]
    manager = master.employees[conv.manager_id]
    lang = (employee if variant == EMPLOYEE else manager).language
    key = (lang, employee.department, employee.title)
    if menus is None:
        questions = applicable_questions(master, employee, lang)
    elif key in menus:
        questions = menus[key]
    else:
        questions = menus[key] = applicable_questions(master, employee, lang)
    settings = master.settings
    deadline = prep_deadline(conv.start.date(), settings.prep_deadline_days) if conv.start else None
    return PrepContent(
        identity=Identity(conv.conversation_id, conv.employee_id, variant, conv.round),
        lang=lang,
        company=settings.company,
        employee_name=employee.name,
        manager_name=manager.name,
        manager_email=manager.email,
        start=conv.start,
        place=conv.place,
        prep_deadline=deadline,
        minutes_deadline_days=settings.minutes_deadline_days,
        max_questions=settings.max_questions,
        questions=questions,
        past_actions=past_actions(master, conv) if past is None else past,
        department=employee.department,
        title=employee.title,
    )


def plan_prep(master: Master, locate: Callable[[Employee, str], Path], exists: Callable[[Path], bool],
              employee_ids: Iterable[str] = (), force: bool = False) -> PrepPlan:
    """Plan the prep files of the current round (all, or the named employees').

    `locate(employee, variant)` gives a file's path and `exists(path)` says whether it is there: the
    caller's view of the disk, so the plan itself touches none.
    """
    plan = PrepPlan()
    wanted = set(employee_ids)
    current = master.current_round()
    if not current.name:
        plan.skipped.append((tr("runden", "the round"),
                             tr("ingen samtalerunde er satt; kjør «samtale round new»",
                                "no round is set; run «samtale round new»")))
        return plan
    blocked = conversation_errors(master)
    known = {c.employee_id for c in current.conversations}
    menus: MenuCache = {}
    for missing in sorted(wanted - known):
        plan.skipped.append((missing, tr(f"har ingen samtale i runde {current.name}",
                                         f"has no conversation in round {current.name}")))
    for conv in sorted(current.conversations, key=lambda c: c.conversation_id):
        if wanted and conv.employee_id not in wanted:
            continue
        if conv.cancelled:
            plan.skipped.append((conv.conversation_id, tr("avlyst", "cancelled")))
            continue
        if conv.conversation_id in blocked:
            plan.problems += [Problem(p.where, tr(f"{conv.conversation_id}: ingen fil laget: {p.message}",
                                                  f"{conv.conversation_id}: no file made: {p.message}"), p.fix)
                              for p in blocked[conv.conversation_id]]
            continue
        employee = master.employees.get(conv.employee_id)
        if employee is None or conv.manager_id not in master.employees:
            plan.skipped.append((conv.conversation_id, tr("ansatt eller leder finnes ikke i Ansatte",
                                                          "employee or manager not in Ansatte")))
            continue
        past: tuple[PastAction, ...] | None = None  # both variants show the same: made once, when needed
        for variant in (EMPLOYEE, MANAGER):
            path = locate(employee, variant)
            returned = conv.prep_returned if variant == EMPLOYEE else conv.manager_prepared
            if exists(path) and not force:
                why = tr("allerede levert tilbake", "already returned") if returned else tr(
                    "finnes allerede (bruk --force for å lage den på nytt)", "exists already (use --force to re-issue)")
                plan.skipped.append((path.name, why))
                continue
            past = past_actions(master, conv) if past is None else past
            plan.files.append(PrepFile(path, build_content(master, conv, variant, menus, past), reissue=exists(path)))
    return plan
