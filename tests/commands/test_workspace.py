"""The workspace's load: the master as the file holds it now, whoever read it first."""

from __future__ import annotations

from pathlib import Path

import pytest
from folders import make_folder

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.faces import cli
from samtale_automation.workbook import prefetch


def test_load_takes_the_background_read_and_never_a_stale_one(tmp_path: Path) -> None:
    """Verify load uses the CLI's background read when the file is unchanged, and reads a changed file."""
    ws = make_folder(tmp_path / "firma")
    master = ws.folder.master()
    prefetch.start(master).join()
    assert ws.load().employees["2"].name == "Bjørn Sæther"
    assert prefetch.take(master) is None  # the load took it

    prefetch.start(master).join()
    rename = ChangeSet("rename")
    rename.upsert("Ansatte", "2", force=True, name="Bjørn Endret")
    ws.commit(rename)  # the master is saved after the background read
    assert ws.load().employees["2"].name == "Bjørn Endret"


def test_the_cli_reads_the_master_while_the_command_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Verify `status` starts the background read and its load takes it (same answer as without)."""
    folder = make_folder(tmp_path / "firma").folder.root
    taken: list[object] = []
    take = prefetch.take
    monkeypatch.setattr(prefetch, "take", lambda path: taken.append(take(path)) or taken[-1])
    with pytest.raises(SystemExit) as finished:
        cli.main(["--dir", str(folder), "--today", "2027-01-04", "status", "--json"])
    assert finished.value.code == 0
    assert len(taken) == 1 and taken[0] is not None
    assert '"2027-2"' in capsys.readouterr().out
