"""Write prep files (employee and manager variants) and conversation guides (DESIGN.md §5).

One .xlsx per conversation and variant: a Forberedelse sheet, a Referat sheet and the very
hidden `_samtale` sheet with the signed identity. Input cells are unlocked and every input
region carries a workbook-level defined name (prepfile/names.py), so `prepfile/read.py` finds it
again after people inserted rows. Files are written atomically and private to the user.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from samtale_automation.domain.cells import as_text
from samtale_automation.domain.minutes import short
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER, GuideContent, PastAction, PrepContent, PrepQuestion
from samtale_automation.domain.schema import TOPICS
from samtale_automation.prepfile import names as pn
from samtale_automation.prepfile.identity import sign_rows
from samtale_automation.prepfile.sheetkit import Formats, Page, lines_needed, new_workbook
from samtale_automation.prepfile.texts import format_date, format_when, text
from samtale_automation.safe_write import write_private

PREP_WIDTHS = (11, 58, 10, 44)  # Nr. | question | Velg | notes
MINUTES_WIDTHS = (30, 30, 17, 12, 12)  # topic/action | summary/goal | owner | deadline | follow-up
GUIDE_WIDTHS = (11, 44, 36, 30)  # Nr. | question | employee's notes | manager's notes
DATE_RANGE = (date(2000, 1, 1), date(2100, 12, 31))


def write_prep(path: Path | str, content: PrepContent, key: bytes) -> bytes:
    """Write the prep + minutes file for `content.identity.variant` to `path` (atomic, private); return its bytes."""
    variant = content.identity.variant
    if variant not in (EMPLOYEE, MANAGER):
        raise ValueError(f"unknown variant {variant!r}")
    buffer = io.BytesIO()
    workbook = new_workbook(buffer)
    formats = Formats.of(workbook)
    prep = None
    if content.minutes is None:  # a fresh copy for signing holds the minutes only
        prep = Page(workbook, formats, pn.PREP_SHEET.get(content.lang, pn.PREP_SHEET["nb"]), PREP_WIDTHS,
                    content.lang)
        if variant == EMPLOYEE:
            _employee_prep(prep, content)
        else:
            _manager_prep(prep, content)
    minutes = Page(workbook, formats, pn.MINUTES_SHEET.get(content.lang, pn.MINUTES_SHEET["nb"]), MINUTES_WIDTHS,
                   content.lang)
    _minutes(minutes, content)
    _identity_sheet(workbook, content, key, (prep.names if prep else []) + minutes.names)
    (prep or minutes).sheet.activate()
    workbook.close()
    data = buffer.getvalue()
    write_private(Path(path), data, durable=False)  # made again by `samtale prep` if lost
    return data


def write_guide(path: Path | str, guide: GuideContent) -> None:
    """Write the manager's conversation guide to `path` (atomic, private)."""
    buffer = io.BytesIO()
    workbook = new_workbook(buffer)
    page = Page(workbook, Formats.of(workbook), pn.GUIDE_SHEET.get(guide.lang, pn.GUIDE_SHEET["nb"]),
                GUIDE_WIDTHS, guide.lang)
    lang, fm = guide.lang, page.fm
    page.title(text(lang, "guide_title", round=guide.identity.round), guide.company)
    page.info(text(lang, "employee"), guide.employee_name)
    page.info(text(lang, "manager"), guide.manager_name)
    page.info(text(lang, "when"), format_when(lang, guide.start, guide.place))
    page.skip()
    page.paragraph(text(lang, "guide_intro"))
    page.skip()
    page.heading(text(lang, "guide_questions_head"))
    if guide.chosen:
        _guide_questions(page, guide.chosen, guide.notes)
    else:
        page.paragraph(text(lang, "none_chosen"), fm.hint)
    if guide.noted:
        page.skip()
        page.heading(text(lang, "noted_head"))
        _guide_questions(page, guide.noted, guide.notes)
    page.skip()
    page.heading(text(lang, "past_head"))
    if guide.past_actions:
        page.headers([text(lang, "col_action_id"), text(lang, "col_action"), text(lang, "col_employee_assessment"),
                      text(lang, "col_your_notes")])
        for action in guide.past_actions:
            assessment = guide.assessments.get(action.action_id, "")
            _past_action_row(page, action, assessment, fm.cell)
    else:
        page.paragraph(text(lang, "no_past"), fm.hint)
    for head, value in (("guide_other_head", guide.other_topics), ("guide_feedback_head", guide.feedback_to_leader)):
        page.skip()
        page.heading(text(lang, head))
        page.paragraph(value or text(lang, "empty"), fm.text if value else fm.hint)
    page.protect()
    workbook.close()
    write_private(Path(path), buffer.getvalue(), durable=False)  # made again by `samtale prep` if lost


# ---- Forberedelse ---------------------------------------------------------------------------


def _intro(page: Page, content: PrepContent, title_key: str, deadline_key: str) -> None:
    lang = content.lang
    page.title(text(lang, title_key, round=content.identity.round), content.company)
    who = ", ".join(part for part in (content.employee_name, content.title, content.department) if part)
    page.info(text(lang, "employee"), who)
    manager = f"{content.manager_name} ({content.manager_email})" if content.manager_email else content.manager_name
    page.info(text(lang, "manager"), manager)
    page.info(text(lang, "when"), format_when(lang, content.start, content.place))
    page.info(text(lang, "file_id"), content.identity.visible())
    page.define(pn.N_VISIBLE_ID, page.row - 1, 1, page.row - 1, 1)  # compared with the signed identity
    if content.prep_deadline:
        page.info(text(lang, "deadline"), text(lang, deadline_key, date=format_date(content.prep_deadline)))
    page.skip()


def _explain(page: Page, lang: str, variant: str, **values: object) -> None:
    for head, body in (("purpose_head", f"purpose_{variant}"), ("confidential_head", f"confidential_{variant}"),
                       ("howto_head", f"howto_{variant}")):
        page.heading(text(lang, head))
        page.paragraph(text(lang, body, **values))
    page.skip()


def _employee_prep(page: Page, content: PrepContent) -> None:
    lang, fm = content.lang, page.fm
    yes, no = pn.CHOICE_VALUES["en" if lang == "en" else "nb"]
    _intro(page, content, "prep_title", "prep_deadline")
    _explain(page, lang, "employee", max=content.max_questions, yes=yes)
    if content.questions:
        _question_menu(page, content, yes, no)
        page.skip()
    _past_actions(page, content, "past_intro_employee")
    page.skip()
    page.heading(text(lang, "other_head"))
    page.input_box(pn.N_OTHER_TOPICS, 6)
    page.skip()
    page.heading(text(lang, "feedback_head"))
    page.paragraph(text(lang, "feedback_hint"), fm.hint)
    page.input_box(pn.N_FEEDBACK_TO_LEADER, 6)
    page.protect()


def _manager_prep(page: Page, content: PrepContent) -> None:
    lang, fm = content.lang, page.fm
    _intro(page, content, "manager_title", "manager_deadline")
    _explain(page, lang, "manager")
    for head, hint, name in (("view_head", "view_hint", pn.N_MANAGER_VIEW),
                             ("give_head", "give_hint", pn.N_FEEDBACK_TO_GIVE),
                             ("ideas_head", "ideas_hint", pn.N_DEVELOPMENT_IDEAS)):
        page.heading(text(lang, head))
        page.paragraph(text(lang, hint), fm.hint)
        page.input_box(name, 8)
        page.skip()
    _past_actions(page, content, "past_intro_manager")
    page.protect()


def _question_menu(page: Page, content: PrepContent, yes: str, no: str) -> None:
    lang, fm, sheet = content.lang, page.fm, page.sheet
    limit = content.max_questions
    sheet.write_string(page.row, 0, text(lang, "questions_head"), fm.heading)
    # The counter shows «N av 10 valgt» live; the cached value is right for a file nobody has
    # touched yet (only the mandatory questions chosen), so previews show a true number too.
    chosen_now = sum(1 for q in content.questions if q.mandatory)
    tail = text(lang, "counter_tail", max=limit)
    sheet.write_formula(page.row, 3, f'=COUNTIF({pn.N_CHOOSE},"{yes}")&"{tail}"', fm.counter, f"{chosen_now}{tail}")
    sheet.conditional_format(page.row, 3, page.row, 3, {
        "type": "formula", "criteria": f'=COUNTIF({pn.N_CHOOSE},"{yes}")>{limit}', "format": fm.over_limit})
    page.define(pn.N_COUNTER, page.row, 3, page.row, 3)
    page.row += 1
    page.headers([text(lang, "col_id"), text(lang, "col_question"), text(lang, "col_choose"), text(lang, "col_notes")])
    first = page.row
    mandatory_label = f" ({text(lang, 'mandatory')})"
    for label, questions in _by_topic(content.questions):
        _topic_row(page, label)
        for question in questions:
            page.height(max(2, _question_lines(question, mandatory_label, page.widths[1])))
            sheet.write_string(page.row, 0, question.question_id, fm.cell)
            # Plain text here, rich text (bold question) only in the guide: XlsxWriter's rich strings
            # cost a third of a 60-question file's writing time, and the menu is written for everyone.
            sheet.write_string(page.row, 1, _plain_question(question, mandatory_label), fm.cell)
            if question.mandatory:
                sheet.write_string(page.row, 2, yes, fm.mandatory)  # locked: mandatory stays chosen
            else:
                sheet.write_blank(page.row, 2, None, fm.choose)
            sheet.write_blank(page.row, 3, None, fm.input)
            page.row += 1
    last = page.row - 1
    sheet.data_validation(first, 2, last, 2, {
        "validate": "list", "source": [yes, no],
        "input_title": text(lang, "choose_title"), "input_message": text(lang, "choose_message", yes=yes, max=limit),
        "error_title": text(lang, "choose_title"), "error_message": text(lang, "choose_error", yes=yes, no=no)})
    page.define(pn.N_QUESTION_ID, first, 0, last, 0)
    page.define(pn.N_CHOOSE, first, 2, last, 2)
    page.define(pn.N_NOTES, first, 3, last, 3)


def _past_actions(page: Page, content: PrepContent, intro_key: str) -> None:
    lang, fm = content.lang, page.fm
    page.heading(text(lang, "past_head"))
    if not content.past_actions:
        page.paragraph(text(lang, "no_past"), fm.hint)
        return
    page.paragraph(text(lang, intro_key), fm.hint)
    page.headers([text(lang, "col_action_id"), text(lang, "col_action"), text(lang, "col_status"),
                  text(lang, "col_assessment")])
    first = page.row
    for action in content.past_actions:
        _past_action_row(page, action, None, fm.center)
    page.define(pn.N_PAST_ACTION_ID, first, 0, page.row - 1, 0)
    page.define(pn.N_ASSESSMENT, first, 3, page.row - 1, 3)


def _past_action_row(page: Page, action: PastAction, assessment: str | None, third_fmt: Any) -> None:
    """One past action: ID, description with goal and deadline, then status or the employee's
    assessment (guide), then an unlocked input cell."""
    lang, fm, sheet = page.lang, page.fm, page.sheet
    parts = [action.description]
    if action.goal:
        parts.append(text(lang, "goal_prefix") + action.goal)
    if action.deadline:
        parts.append(text(lang, "deadline_prefix") + format_date(action.deadline))
    if assessment is None:  # prep file: the status sits beside the text
        third = action.status
    else:  # guide: the status joins the text, the assessment gets the column
        parts.append(f"{text(lang, 'col_status')}: {action.status}" if action.status else "")
        third = assessment
    described = "\n".join(p for p in parts if p)
    page.height(max(2, lines_needed(described, page.widths[1]), lines_needed(third, page.widths[2])))
    sheet.write_string(page.row, 0, action.action_id, fm.cell)
    sheet.write_string(page.row, 1, described, fm.cell)
    sheet.write_string(page.row, 2, third, third_fmt)
    sheet.write_blank(page.row, 3, None, fm.input)
    page.row += 1


def _by_topic(questions: Iterable[PrepQuestion]) -> list[tuple[str, list[PrepQuestion]]]:
    """Group questions by topic: the six template topics first, in their order, then any others."""
    groups: dict[str, list[PrepQuestion]] = {}
    for question in questions:
        groups.setdefault(question.topic, []).append(question)
    order = [t.key for t in TOPICS if t.key in groups] + [k for k in groups if k not in {t.key for t in TOPICS}]
    return [(groups[k][0].topic_label or k, groups[k]) for k in order]


def _topic_row(page: Page, label: str) -> None:
    """A topic heading inside a question table; column A (the ID column) stays empty so readers skip it."""
    page.sheet.write_blank(page.row, 0, None, page.fm.topic)
    page.sheet.write_string(page.row, 1, label, page.fm.topic)
    page.row += 1


def _question_lines(question: PrepQuestion, mark: str, width: float) -> int:
    return lines_needed("\n".join([question.text + mark, *question.follow_ups]), width)


def _plain_question(question: PrepQuestion, mark: str) -> str:
    """The question (with a «mandatory» mark) and its follow-up questions as one text."""
    head = (question.text or question.question_id) + (mark if question.mandatory else "")
    return "\n".join([head, *(f"– {f}" for f in question.follow_ups if f)])


def _question_text(page: Page, question: PrepQuestion, mark: str) -> None:
    """The question in bold, a «mandatory» mark, and the follow-up questions below it, in one cell."""
    fm = page.fm
    fragments: list[Any] = [fm.q_bold, question.text or question.question_id]
    if mark:
        fragments += [fm.q_mark, mark]
    follow = "".join(f"\n– {f}" for f in question.follow_ups if f)
    if follow:
        fragments += [fm.q_follow, follow]
    if len(fragments) > 2:
        page.sheet.write_rich_string(page.row, 1, *fragments, fm.cell)
    else:
        page.sheet.write_string(page.row, 1, fragments[1], fm.cell)


# ---- Referat --------------------------------------------------------------------------------


def _minutes(page: Page, content: PrepContent) -> None:
    lang, fm, sheet = content.lang, page.fm, page.sheet
    draft = content.minutes
    page.title(text(lang, "minutes_title", round=content.identity.round), content.company)
    page.info(text(lang, "employee"), content.employee_name)
    page.info(text(lang, "manager"), content.manager_name)
    page.info(text(lang, "when"), format_when(lang, content.start, content.place))
    page.info(text(lang, "file_id"), content.identity.visible())
    page.define(pn.N_VISIBLE_ID, page.row - 1, 1, page.row - 1, 1)  # compared with the signed identity
    page.skip()
    page.paragraph(text(lang, "minutes_intro", days=content.minutes_deadline_days))
    page.paragraph(text(lang, "register_line"), fm.hint)
    if draft is not None:
        page.paragraph(text(lang, f"copy_{content.identity.variant}", version=short(draft.minutes.version())))
    page.skip()

    summaries = dict(draft.minutes.summaries) if draft else {}
    page.heading(text(lang, "summary_head"))
    page.headers([text(lang, "col_topic"), text(lang, "col_summary")], merge_last=True)
    first = page.row
    for topic in TOPICS:
        page.height(max(5, lines_needed(summaries.get(topic.key, ""), sum(page.widths[1:]))))
        sheet.write_string(page.row, 0, topic.label(lang), fm.topic)
        sheet.merge_range(page.row, 1, page.row, page.last_col, "", fm.input)
        if summaries.get(topic.key):  # always as text: «=1+1» from a returned file must not become a formula
            sheet.write_string(page.row, 1, summaries[topic.key], fm.input)
        page.row += 1
    page.define(pn.N_SUMMARY, first, 1, page.row - 1, 1)
    page.skip()

    page.heading(text(lang, "actions_head"))
    page.paragraph(text(lang, "actions_hint"), fm.hint)
    page.headers([text(lang, k) for k in ("col_action", "col_goal", "col_owner", "col_deadline", "col_follow_up")])
    first = page.row
    actions = list(draft.minutes.actions) if draft else []
    for index in range(max(pn.ACTION_ROWS, len(actions) + 3)):
        action = actions[index] if index < len(actions) else None
        page.height(max(2, lines_needed(action.description if action else "", page.widths[0])))
        texts = (action.description, action.goal, action.owner) if action else ("", "", "")
        for col, value in enumerate(texts):
            if value:  # always as text, never a formula or a number
                sheet.write_string(page.row, col, value, fm.input)
            else:
                sheet.write_blank(page.row, col, None, fm.input)
        for col, day in ((3, action.deadline if action else None), (4, action.follow_up if action else None)):
            if day is not None:
                sheet.write_datetime(page.row, col, day, fm.input_date)
            else:
                sheet.write_blank(page.row, col, None, fm.input_date)
        page.row += 1
    page.define(pn.N_ACTIONS, first, 0, page.row - 1, pn.ACTION_COLUMNS - 1)
    _date_validation(page, first, 3, page.row - 1, 4)
    page.skip()  # an empty locked row ends the table; the reader stops at the first empty row

    page.heading(text(lang, "private_head"))
    page.paragraph(text(lang, "private_notice"), fm.hint)
    page.input_box(pn.N_PRIVATE_NOTE, 5)
    page.skip()

    page.heading(text(lang, "sign_head"))
    page.headers(["", text(lang, "col_name"), text(lang, "col_date"), text(lang, "col_version")])
    for label, person, name_key, date_key, signature in (
            ("sign_employee", content.employee_name, pn.N_SIGN_EMPLOYEE_NAME, pn.N_SIGN_EMPLOYEE_DATE,
             draft.employee_signature if draft else None),
            ("sign_manager", content.manager_name, pn.N_SIGN_MANAGER_NAME, pn.N_SIGN_MANAGER_DATE,
             draft.manager_signature if draft else None)):
        page.height(2)
        sheet.write_string(page.row, 0, text(lang, label, name=person), fm.cell)
        if signature is not None:  # recorded already: shown, locked, and never read back as a signature
            sheet.write_string(page.row, 1, signature.name, fm.cell)
            sheet.write_datetime(page.row, 2, signature.day, fm.date_locked)
            sheet.write_string(page.row, 3, text(lang, "signed_version", version=short(signature.version)), fm.cell)
        else:
            sheet.write_blank(page.row, 1, None, fm.input)
            sheet.write_blank(page.row, 2, None, fm.input_date)
            _date_validation(page, page.row, 2, page.row, 2)
            earlier = draft.earlier_version if draft else ""
            sheet.write_string(page.row, 3, text(lang, "earlier_version", version=short(earlier)) if earlier else "",
                               fm.cell)
        page.define(name_key, page.row, 1, page.row, 1)
        page.define(date_key, page.row, 2, page.row, 2)
        page.row += 1
    # People may insert rows in the action table; Excel and LibreOffice widen the name with them.
    page.protect(insert_rows=True)


def _date_validation(page: Page, first_row: int, col: int, last_row: int, last_col: int) -> None:
    lang = page.lang
    page.sheet.data_validation(first_row, col, last_row, last_col, {
        "validate": "date", "criteria": "between", "minimum": DATE_RANGE[0], "maximum": DATE_RANGE[1],
        "input_title": text(lang, "date_title"), "input_message": text(lang, "date_message"),
        "error_title": text(lang, "date_title"), "error_message": text(lang, "date_error")})


# ---- identity and guide ---------------------------------------------------------------------


def _identity_sheet(workbook: Any, content: PrepContent, key: bytes, regions: list[str]) -> None:
    """The very hidden sheet: identity fields, what the reader should find, and the MAC over all of them."""
    identity = content.identity
    sheet = workbook.add_worksheet(pn.IDENTITY_SHEET)
    signed = [(pn.ID_CONVERSATION, identity.conversation_id), (pn.ID_EMPLOYEE, identity.employee_id),
              (pn.ID_VARIANT, identity.variant), (pn.ID_ROUND, identity.round),
              (pn.ID_TEMPLATE, identity.template_version), (pn.ID_MAX_CHOICES, str(content.max_questions)),
              (pn.ID_REGIONS, ",".join(regions)), (pn.ID_VISIBLE, identity.visible())]
    # Signed as the reader will read them back (trimmed text), so spacing in a value cannot break the MAC.
    mac = sign_rows([(field, as_text(value)) for field, value in signed], key)
    rows = [*signed[:5], (pn.ID_MAC, mac), *signed[5:]]
    for row, (field, value) in enumerate(rows):
        sheet.write_string(row, 0, field)
        sheet.write_string(row, 1, value)
    sheet.very_hidden()
    sheet.protect("", {})


def _guide_questions(page: Page, questions: tuple[PrepQuestion, ...], notes: dict[str, str]) -> None:
    lang, fm, sheet = page.lang, page.fm, page.sheet
    page.headers([text(lang, "col_id"), text(lang, "col_question"), text(lang, "col_employee_notes"),
                  text(lang, "col_your_notes")])
    for label, group in _by_topic(questions):
        _topic_row(page, label)
        for question in group:
            note = notes.get(question.question_id, "")
            page.height(max(3, _question_lines(question, "", page.widths[1]), lines_needed(note, page.widths[2])))
            sheet.write_string(page.row, 0, question.question_id, fm.cell)
            _question_text(page, question, "")
            sheet.write_string(page.row, 2, note, fm.cell)
            sheet.write_blank(page.row, 3, None, fm.input)
            page.row += 1
