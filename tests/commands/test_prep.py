"""Planning and writing the round's prep files (`samtale prep`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO, Employee
from samtale_automation.domain.prepsheet import EMPLOYEE, MANAGER
from samtale_automation.plans.prep import applicable_questions, plan_prep
from samtale_automation.plans.rounds import plan_new_round
from samtale_automation.prepfile.locations import SUFFIX, prep_path

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=OSLO)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A folder with a leader, three employees (one cancelled later) and round 2027 started."""
    init_folder(tmp_path / "f")
    ws = Workspace.open(tmp_path / "f", NOW)
    staff = ChangeSet("staff")
    staff.upsert("Ansatte", "1", name="Åse Leder", email="ase@firma.example", department="Ledelse", active="Ja")
    staff.upsert("Ansatte", "2", name="Bjørn Ansatt", email="bjorn@firma.example", manager_id="1",
                 department="Regnskap", title="Rådgiver", active="Ja")
    staff.upsert("Ansatte", "3", name="=HYPERLINK(\"x\")", email="c@firma.example", manager_id="1", active="Ja")
    staff.upsert("Ansatte", "4", name="Dina Avlyst", email="d@firma.example", manager_id="1", active="Ja")
    staff.upsert("Sporsmal", "X1", topic="Trivsel og motivasjon", text="Bare for regnskap?", follow_ups="Hvorfor?",
                 mandatory="Nei", applies_to="Avdeling:Regnskap", active="Ja")
    staff.upsert("Sporsmal", "X2", topic="Trivsel og motivasjon", text="Inaktivt spørsmål", active="Nei")
    staff.upsert("Tiltak", "2026-2-1", conversation_id="2026-2", employee_id="2", description="Kurs i Excel",
                 deadline=datetime(2026, 6, 1).date(), status="Fullført")
    staff.upsert("Tiltak", "2026-3-1", conversation_id="2026-3", employee_id="3", description="Annen persons tiltak")
    ws.commit(staff)
    ws.commit(plan_new_round(ws.load(), "2027", None, None, NOW, "test").changeset)
    cancel = ChangeSet("cancel")
    cancel.upsert("Samtaler", "2027-4", force=True, cancelled="Ja")
    cancel.upsert("Samtaler", "2027-2", force=True, start=datetime(2027, 1, 14, 9, 0, tzinfo=OSLO),
                  end=datetime(2027, 1, 14, 10, 15, tzinfo=OSLO), place="Møterom")
    ws.commit(cancel)
    return ws


def _locate(workspace: Workspace) -> Callable[[Employee, str], Path]:
    """Where `samtale prep` puts a variant's file in this workspace's current round."""
    round_name = workspace.load().current_round().name
    return lambda employee, variant: prep_path(workspace.folder, round_name, employee, SUFFIX[variant])


def test_plan_names_and_skips(workspace: Workspace) -> None:
    """Verify both variants per active conversation, DESIGN §3 file names, and cancelled skipped."""
    plan = plan_prep(workspace.load(), _locate(workspace), Path.exists)
    names = sorted(p.path.relative_to(workspace.folder.root).as_posix() for p in plan.files)
    assert names == [
        "forberedelse/2027/Regnskap/2 Bjørn Ansatt - forberedelse.xlsx",
        "forberedelse/2027/Regnskap/2 Bjørn Ansatt - leder.xlsx",
        "forberedelse/2027/Uten avdeling/3 =HYPERLINK(_x_) - forberedelse.xlsx",
        "forberedelse/2027/Uten avdeling/3 =HYPERLINK(_x_) - leder.xlsx",
    ]
    assert ("2027-4", "avlyst") in plan.skipped


def test_content_holds_only_own_data(workspace: Workspace) -> None:
    """Verify a prep file's content: own questions (Gjelder filter), own past actions, the deadline."""
    plan = plan_prep(workspace.load(), _locate(workspace), Path.exists, ["2"])
    content = next(p.content for p in plan.files if p.content.identity.variant == EMPLOYEE)
    ids = [q.question_id for q in content.questions]
    assert "X1" in ids and "X2" not in ids
    assert [a.action_id for a in content.past_actions] == ["2026-2-1"]
    assert content.manager_name == "Åse Leder" and content.manager_email == "ase@firma.example"
    assert content.prep_deadline == datetime(2027, 1, 11).date()
    assert content.identity.conversation_id == "2027-2" and content.identity.round == "2027"
    topics = [q.topic for q in content.questions]
    assert topics == sorted(topics, key=["tilbakeblikk", "mal", "kompetanse", "trivsel", "samarbeid",
                                         "leder"].index)
    other = plan_prep(workspace.load(), _locate(workspace), Path.exists, ["3"]).files[0].content
    assert "X1" not in [q.question_id for q in other.questions], "Gjelder Avdeling:Regnskap excludes others"


def test_files_with_the_same_reader_language_department_and_title_share_one_menu(workspace: Workspace) -> None:
    """Verify every planned file's menu is the one `applicable_questions` gives its reader, and files whose readers
    share language, department and title share one menu (a round of 5,000 builds a handful, not 10,000)."""
    more = ChangeSet("more staff")
    more.upsert("Ansatte", "5", name="Eva Regnskap", email="eva@firma.example", manager_id="1",
                department="Regnskap", title="Rådgiver", active="Ja")
    more.upsert("Ansatte", "6", name="Finn English", email="finn@firma.example", manager_id="1",
                department="Regnskap", title="Rådgiver", language="en", active="Ja")
    more.upsert("Samtaler", "2027-5", employee_id="5", manager_id="1", round="2027")
    more.upsert("Samtaler", "2027-6", employee_id="6", manager_id="1", round="2027")
    workspace.commit(more)
    master = workspace.load()
    plan = plan_prep(master, _locate(workspace), Path.exists)
    employee_files = {item.content.identity.employee_id: item.content for item in plan.files
                      if item.content.identity.variant == EMPLOYEE}
    assert set(employee_files) == {"2", "3", "5", "6"}
    for item in plan.files:
        content = item.content
        reader = master.employees[content.identity.employee_id if content.identity.variant == EMPLOYEE else "1"]
        assert content.questions == applicable_questions(master, master.employees[content.identity.employee_id],
                                                         reader.language)
    assert employee_files["2"].questions is employee_files["5"].questions
    assert "X1" in [q.question_id for q in employee_files["6"].questions]
    assert employee_files["6"].questions is not employee_files["5"].questions  # English
    assert "X1" not in [q.question_id for q in employee_files["3"].questions]


def test_unknown_employee_is_reported(workspace: Workspace) -> None:
    """Verify --employee with an ID that has no conversation is named in the skipped list."""
    plan = plan_prep(workspace.load(), _locate(workspace), Path.exists, ["99"])
    assert plan.files == []
    assert plan.skipped[0][0] == "99"


def test_run_writes_never_overwrites_and_force_reissues(workspace: Workspace) -> None:
    """Verify files are written once, a second run skips them, and --force moves the old one to backups."""
    done = run_prep(workspace)
    plan, result = done.plan, done.apply
    assert len(plan.files) == 4 and result is not None and not result.blocked
    target = next(p.path for p in plan.files if p.content.identity.variant == MANAGER)
    target.write_bytes(target.read_bytes() + b"")  # unchanged bytes, but it exists
    again = run_prep(workspace).plan
    assert again.files == [] and len(again.skipped) == 5
    forced = run_prep(workspace, ["2"], force=True).plan
    assert len(forced.files) == 2 and all(p.reissue for p in forced.files)
    assert len(list((workspace.folder.backups / "forberedelse").iterdir())) == 2
    with workspace.journal() as journal:
        assert journal.prep_file_hash(target.relative_to(workspace.folder.root).as_posix())


def test_dry_run_writes_nothing(workspace: Workspace) -> None:
    """Verify --dry-run plans but creates no file."""
    planned = run_prep(workspace, dry_run=True)
    assert len(planned.plan.files) == 4 and planned.apply is None and planned.dry_run
    assert not (workspace.folder.root / "forberedelse" / "2027").exists()


def test_a_row_with_a_schedule_error_gets_no_file_and_exit_1(workspace: Workspace) -> None:
    """Verify a conversation ending before it starts is named with its cell and fix, the others are made, exit 1."""
    from samtale_automation.faces.present import present

    wrong = ChangeSet("wrong")
    wrong.upsert("Samtaler", "2027-3", force=True, start=datetime(2027, 1, 15, 9, 0, tzinfo=OSLO),
                 end=datetime(2027, 1, 15, 8, 0, tzinfo=OSLO))
    workspace.commit(wrong)
    result = run_prep(workspace, who="test")
    assert sorted(p.path.name for p in result.plan.files) == ["2 Bjørn Ansatt - forberedelse.xlsx",
                                                              "2 Bjørn Ansatt - leder.xlsx"]
    assert [p.where for p in result.plan.problems] == ["Samtaler!G3"]
    assert result.plan.problems[0].message.startswith("2027-3: ingen fil laget: ")
    shown = present(result)
    assert shown.exit_code == 1
    assert any("2027-3: ingen fil laget" in line for line in shown.lines)


def test_a_batch_for_the_workers_is_written_recorded_and_logged_with_the_master_loaded_meanwhile(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a batch big enough for the two worker processes: every file written and recorded with the digest
    of its bytes, the master loaded for the Logg row while the workers wrote (once), and the row written."""
    import hashlib

    from samtale_automation.prepfile.parallel import in_parallel

    staff = ChangeSet("many")
    for n in range(10, 60):
        staff.upsert("Ansatte", str(n), name=f"Ansatt {n}", email=f"a{n}@firma.example", manager_id="1",
                     department="Drift", active="Ja")
        staff.upsert("Samtaler", f"2027-{n}", employee_id=str(n), manager_id="1", round="2027")
    workspace.commit(staff)
    preloads: list[object] = []
    original = Workspace.preload

    def counted(self: Workspace) -> object:
        preloads.append(found := original(self))
        return found

    monkeypatch.setattr(Workspace, "preload", counted)
    result = run_prep(workspace, who="test")
    files = result.plan.files
    assert in_parallel(len(files)) and len(files) == 2 * 52
    assert len(preloads) == 1 and preloads[0] is not None
    assert result.apply is not None and result.apply.applied and not result.apply.blocked
    root = workspace.folder.root
    with workspace.journal() as journal:
        for item in files:
            recorded = journal.prep_file_hash(item.path.relative_to(root).as_posix())
            assert recorded == hashlib.sha256(item.path.read_bytes()).hexdigest()
    log = [row.values for row in workspace.load().raw.tables["Logg"].rows]
    assert log[-1]["who"] == "test" and log[-1]["result"] == "104 filer for 52 samtaler"
