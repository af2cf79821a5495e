"""`samtale apply --retry/--discard`, and `check`/`status` naming a ChangeSet set aside: real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from folders import samtale

from samtale_automation.commands.init import init_folder
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.store.journal import Journal


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder made by `samtale init`."""
    target = tmp_path / "Medarbeidersamtaler"
    init_folder(target)
    return target


def _record(folder: Path, *changesets: ChangeSet) -> None:
    with Journal(folder / ".samtale" / "journal.sqlite") as journal:
        for changeset in changesets:
            journal.add_changeset(changeset)


def _set_aside_one(folder: Path) -> str:
    """Record a ChangeSet no cell can hold and a good one, and apply: the bad one is set aside."""
    bad, good = ChangeSet("rar verdi"), ChangeSet("ny ansatt")
    bad.upsert("Ansatte", "5", name=["Eva", "Berg"], email="eva@firma.example", active="Ja")
    good.upsert("Ansatte", "4", name="Dag Ny", email="dag@firma.example", active="Ja")
    _record(folder, bad, good)
    result = samtale("--dir", str(folder), "apply")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Satt til side (kan ikke skrives): endringssett {bad.id}" in result.stderr
    assert "Skrev 2 endringssett" in result.stdout, "the good one and the Logg notice were written"
    return bad.id


def test_check_and_status_name_a_set_aside_changeset(folder: Path) -> None:
    """Verify check exits 1 naming the set-aside ChangeSet with what to do, and status --json lists it."""
    bad_id = _set_aside_one(folder)
    check = samtale("--dir", str(folder), "check")
    assert check.returncode == 1
    assert f"endringssett {bad_id}: «rar verdi» er satt til side" in check.stdout
    assert f"samtale apply --retry {bad_id}" in check.stdout
    report = json.loads(samtale("--dir", str(folder), "status", "--json").stdout)
    assert report["pending_changes"] == []
    [item] = report["set_aside_changes"]
    assert (item["id"], item["reason"]) == (bad_id, "rar verdi") and "ValueError" in item["why"]
    assert f"Satt til side ({bad_id})" in samtale("--dir", str(folder), "status").stdout


def test_discard_needs_a_yes_without_a_terminal(folder: Path) -> None:
    """Verify --discard with no terminal and no --yes refuses (exit 1, nothing discarded), and with --yes discards."""
    bad_id = _set_aside_one(folder)
    refused = samtale("--dir", str(folder), "apply", "--discard", bad_id)
    assert refused.returncode == 1
    assert "Ingen terminal og ingen --yes: ingenting er forkastet" in refused.stderr
    assert bad_id in refused.stdout, "what would be discarded is shown"
    assert json.loads(samtale("--dir", str(folder), "status", "--json").stdout)["set_aside_changes"]
    done = samtale("--dir", str(folder), "apply", "--discard", bad_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(samtale("--dir", str(folder), "status", "--json").stdout)["set_aside_changes"] == []
    assert bad_id not in samtale("--dir", str(folder), "check").stdout


def test_retry_and_unknown_ids(folder: Path) -> None:
    """Verify --retry of a ChangeSet that still cannot be written sets it aside again (exit 1), and an id that is
    not set aside is a usage error (exit 2) naming the ones that are."""
    bad_id = _set_aside_one(folder)
    again = samtale("--dir", str(folder), "apply", "--retry", bad_id)
    assert again.returncode == 1 and f"endringssett {bad_id}" in again.stderr
    unknown = samtale("--dir", str(folder), "apply", "--retry", "finnes-ikke")
    assert unknown.returncode == 2 and "Ikke satt til side: finnes-ikke" in unknown.stderr and bad_id in unknown.stderr
    listed = samtale("--dir", str(folder), "apply", "--dry-run")
    assert listed.returncode == 0 and f"satt til side: {bad_id}" in listed.stderr
