"""`collect --from-mailbox`: returned files fetched from a real IMAP server (Dovecot on loopback).

The sender must be the employee or the manager of the conversation the file belongs to, else the
file is quarantined with that reason; a message moves to the done folder only after all its files
are on disk; a crash in between fetches it again and the copy is recognised, never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backend_kit import Kit
from folders import make_folder
from imap_server import contract_kit

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.fetch import ALREADY_HERE, TO_INCOMING, TO_QUARANTINE, fetch_from_mailbox
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.paths import INCOMING_DIR, QUARANTINE_DIR
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.prepfile.fill import fill_employee

BJORN = "bjorn@firma.example"  # employee 2, conversation 2027-2
ASE = "ase@firma.example"  # manager 1
STRANGER = "noen@annet.example"


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    """The smtp backend reading a real IMAP mailbox."""
    with contract_kit(tmp_path / "peer") as made:
        yield made
        made.backend.close()


def returned_file(ws: Workspace, employee_id: str, tmp_path: Path, note: str = "Fra e-post.") -> tuple[str, bytes]:
    """A filled-in prep file of this employee, as the employee would mail it back."""
    run_prep(ws, [employee_id], who="test")
    source = next((ws.folder.root / "forberedelse").rglob(f"{employee_id} * - forberedelse.xlsx"))
    out = tmp_path / note / source.name
    out.parent.mkdir()
    fill_employee(source, out, chosen=["S01", "S02"], notes={"S01": note})
    return source.name, out.read_bytes()


def test_files_from_the_right_people_are_collected_others_quarantined(kit: Kit, tmp_path: Path,
                                                                     nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    _, forged = returned_file(ws, "2", tmp_path, "Skrevet av en annen.")
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: Medarbeidersamtale", [(name, data)])
    kit.add_reply(STRANGER, "Fwd: skjema", [(name, forged)])

    dry = fetch_from_mailbox(ws, kit.backend, dry_run=True)
    assert [(f.sender.casefold(), f.outcome) for f in dry.files] == [(BJORN, TO_INCOMING), (STRANGER, TO_QUARANTINE)]
    assert not list((ws.folder.root / INCOMING_DIR).iterdir()) and dry.handled_messages == 0

    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [(f.sender.casefold(), f.outcome) for f in fetched.files] == [(BJORN, TO_INCOMING),
                                                                         (STRANGER, TO_QUARANTINE)]
    assert fetched.handled_messages == 2
    assert (ws.folder.root / INCOMING_DIR / name).read_bytes() == data
    quarantined = fetched.files[1].path
    assert quarantined is not None and quarantined.parent == ws.folder.root / QUARANTINE_DIR
    assert quarantined.read_bytes() == forged
    note = quarantined.with_name(quarantined.name + ".txt").read_text(encoding="utf-8")
    assert STRANGER in note and "verken er medarbeideren eller lederen" in note and "2027-2" in note
    assert list(kit.backend.fetch_files()) == []  # both messages moved to the done folder

    collected = run_collect(ws)
    assert collected.plan is not None
    assert [d.outcome for d in collected.plan.decisions] == [ACCEPTED]
    assert ws.load().conversations["2027-2"].prep_returned is not None


def test_the_manager_may_send_the_employees_file(kit: Kit, tmp_path: Path) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    assert kit.add_reply is not None
    kit.add_reply(ASE.upper(), "Fwd: Bjørns skjema", [(name, data)])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [TO_INCOMING]


def test_a_crash_before_the_message_is_moved_loses_nothing_and_counts_once(kit: Kit, tmp_path: Path) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: Medarbeidersamtale", [(name, data)])

    class Crash(BaseException):
        pass

    real_mark = kit.backend.mark_handled

    def crash(message_id: str) -> None:
        raise Crash(message_id)
    kit.backend.mark_handled = crash  # type: ignore[method-assign]  # the process dies right here
    with pytest.raises(Crash):
        fetch_from_mailbox(ws, kit.backend)
    kit.backend.mark_handled = real_mark  # type: ignore[method-assign]
    assert (ws.folder.root / INCOMING_DIR / name).read_bytes() == data  # safely on disk before the crash

    again = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in again.files] == [ALREADY_HERE] and again.handled_messages == 1
    assert [p.name for p in (ws.folder.root / INCOMING_DIR).iterdir()] == [name]
    assert list(kit.backend.fetch_files()) == []
    run_collect(ws)
    kit.add_reply(BJORN, "SV: igjen", [(name, data)])  # the same file mailed once more after collect
    late = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in late.files] == [ALREADY_HERE]
    assert not list((ws.folder.root / INCOMING_DIR).iterdir())


def test_cli_from_mailbox_with_the_outbox_says_what_to_do(tmp_path: Path) -> None:
    from folders import samtale

    ws = make_folder(tmp_path / "f")
    result = samtale("--dir", str(ws.folder.root), "collect", "--from-mailbox", env={"SAMTALE_LANG": "nb"})
    assert result.returncode == 2
    assert "leser ingen postkasse" in result.stderr and "imap_host" in result.stderr
