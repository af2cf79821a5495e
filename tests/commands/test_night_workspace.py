"""The nightly run's workspace: one read of the master, parsed again only when a step changed more than Logg."""

from __future__ import annotations

from pathlib import Path

from folders import NOW, make_folder

from samtale_automation.commands.nightly import NightWorkspace
from samtale_automation.domain.changeset import ChangeSet


def test_a_logg_row_reuses_the_parse_and_a_real_change_is_parsed(tmp_path: Path) -> None:
    """Verify a load after a Logg-only change gives the last parse with the new raw Logg row, and a load after a
    change to Samtaler parses again and shows it; a caller changing its Master does not change the next one's."""
    ws = make_folder(tmp_path / "f")
    night = NightWorkspace(ws.folder, NOW)
    first = night.load()
    first.conversations.pop("2027-2")  # a step that changes its copy must not change what the next step gets
    log = ChangeSet("logg")
    log.append("Logg", event="Påminnelser", who="test", result="1 sammendrag")
    night.commit(log)
    second = night.load()
    assert "2027-2" in second.conversations
    assert second.raw is not None and second.raw.tables["Logg"].rows[-1].values["event"] == "Påminnelser"
    assert night.parsed is not None and night.parsed[1].conversations["2027-2"] is second.conversations["2027-2"]
    place = ChangeSet("rom")
    place.upsert("Samtaler", "2027-2", force=True, place="Stillerommet")
    night.commit(place)
    third = night.load()
    assert third.conversations["2027-2"].place == "Stillerommet"
    assert second.conversations["2027-2"].place != "Stillerommet"
