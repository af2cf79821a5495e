"""The manager's conversation guide made from an accepted returned prep (guide.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from prep_samples import sample_content

from samtale_automation.domain.prepsheet import MANAGER, Identity, ReturnedFile
from samtale_automation.prepfile.guide import make_guide
from samtale_automation.prepfile.write import write_guide


def _returned(identity: Identity, **fields: object) -> ReturnedFile:
    return ReturnedFile(identity=identity, modified=datetime(2027, 1, 10, tzinfo=UTC), **fields)  # type: ignore[arg-type]


def test_guide_holds_chosen_questions_notes_and_past_actions() -> None:
    """Verify the guide lists chosen questions in menu order with follow-ups, their notes, and assessed actions."""
    content = sample_content()
    returned = _returned(content.identity, chosen=["S07", "S01", "S03"],
                         notes={"S03": "Vil snakke om lønn", "S05": "Ikke valgt, men notert", "S07": ""},
                         assessments={"2026-1001-1": "Fullført", "2025-9-9": "ukjent"},
                         other_topics="Hjemmekontor", feedback_to_leader="Mer ros")
    guide = make_guide(content, returned)
    assert [q.question_id for q in guide.chosen] == ["S01", "S03", "S07"]
    assert guide.chosen[1].follow_ups == ("Hjelpespørsmål 3a?", "Hjelpespørsmål 3b?")
    assert guide.notes == {"S03": "Vil snakke om lønn", "S05": "Ikke valgt, men notert"}
    assert [q.question_id for q in guide.noted] == ["S05"]
    assert guide.past_actions == content.past_actions
    assert guide.assessments == {"2026-1001-1": "Fullført"}, "assessments of unknown actions are left out"
    assert (guide.other_topics, guide.feedback_to_leader) == ("Hjemmekontor", "Mer ros")
    assert (guide.employee_name, guide.manager_name, guide.start, guide.place) == (
        content.employee_name, content.manager_name, content.start, content.place)
    assert guide.identity == content.identity and guide.lang == "nb"


def test_question_that_left_the_menu_is_kept() -> None:
    """Verify a chosen question no longer in the menu still appears, by its ID, in the guide's language."""
    content = sample_content(lang="en")
    guide = make_guide(content, _returned(content.identity, chosen=["S02", "X99"]))
    assert [q.question_id for q in guide.chosen] == ["S02", "X99"]
    assert guide.chosen[-1].text == "Question X99 (no longer in the question menu)"


def test_nothing_chosen() -> None:
    """Verify an empty return gives an empty guide that still carries the past actions."""
    content = sample_content()
    guide = make_guide(content, _returned(content.identity))
    assert guide.chosen == () and guide.noted == () and guide.notes == {}
    assert len(guide.past_actions) == 2


def test_mismatched_files_are_refused() -> None:
    """Verify a guide is not made from another conversation's prep or from the manager's own file."""
    content = sample_content()
    with pytest.raises(ValueError, match="does not belong"):
        make_guide(content, _returned(replace(content.identity, conversation_id="2027-2002")))
    with pytest.raises(ValueError, match="employee's prep"):
        make_guide(content, _returned(replace(content.identity, variant=MANAGER)))


def test_guide_is_written_to_a_file(tmp_path: Path) -> None:
    """Verify the made guide writes to a workbook holding the chosen question, its note and the assessment."""
    content = sample_content()
    guide = make_guide(content, _returned(content.identity, chosen=["S04"], notes={"S04": "Notatet mitt"},
                                          assessments={"2026-1001-2": "Halvveis"}))
    path = tmp_path / "1001 Kari Nordmann - samtaleguide.xlsx"
    write_guide(path, guide)
    values = [c.value for row in openpyxl.load_workbook(path).active.iter_rows() for c in row if c.value]
    assert "S04" in values and "Notatet mitt" in values and "Halvveis" in values
    assert "S05" not in values
