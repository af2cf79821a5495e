"""Make the manager's conversation guide from the employee's accepted prep (DESIGN.md §5).

Pure: the prep content the file was made from plus what came back give a GuideContent;
`prepfile.write.write_guide` writes it.
"""

from __future__ import annotations

from samtale_automation.domain.prepsheet import EMPLOYEE, GuideContent, PrepContent, PrepQuestion, ReturnedFile
from samtale_automation.prepfile.texts import text


def make_guide(content: PrepContent, returned: ReturnedFile) -> GuideContent:
    """Build the guide: chosen questions with follow-ups and notes, past actions with the employee's assessment.

    `content` is the employee's prep content (today's menu and register); `returned` is that
    employee's accepted prep file. The guide keeps the menu's order. A chosen question that is
    no longer in the menu still appears, by its ID, so nothing the employee chose is lost.
    """
    if returned.identity.variant != EMPLOYEE:
        raise ValueError("a conversation guide is made from the employee's prep, not the manager's")
    if returned.identity.conversation_id != content.identity.conversation_id:
        raise ValueError(f"prep {returned.identity.conversation_id} does not belong to "
                         f"conversation {content.identity.conversation_id}")
    menu = {q.question_id: q for q in content.questions}
    chosen_ids = set(returned.chosen)
    chosen = [q for q in content.questions if q.question_id in chosen_ids]
    chosen += [_missing(qid, content.lang) for qid in returned.chosen if qid not in menu]
    noted = tuple(q for q in content.questions
                  if q.question_id not in chosen_ids and returned.notes.get(q.question_id))
    known_actions = {a.action_id for a in content.past_actions}
    return GuideContent(
        identity=content.identity,
        lang=content.lang,
        company=content.company,
        employee_name=content.employee_name,
        manager_name=content.manager_name,
        start=content.start,
        place=content.place,
        chosen=tuple(chosen),
        notes={qid: note for qid, note in returned.notes.items() if note and (qid in chosen_ids or qid in menu)},
        past_actions=content.past_actions,
        assessments={aid: text for aid, text in returned.assessments.items() if aid in known_actions and text},
        other_topics=returned.other_topics,
        feedback_to_leader=returned.feedback_to_leader,
        noted=noted,
    )


def _missing(question_id: str, lang: str) -> PrepQuestion:
    """Stand-in, in the guide's language, for a chosen question that has since left the menu."""
    return PrepQuestion(question_id, "", text(lang, "missing_topic"), text(lang, "missing_question", id=question_id))
