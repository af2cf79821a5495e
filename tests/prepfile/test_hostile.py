"""Reading hostile returned files (tests/hostile.py): each is refused with its reason, or read, within bounds.

The files are read in a child process whose address space is limited, so a defence that regresses
fails the test instead of exhausting a shared machine. Per file the child reports the outcome, the
Python heap's peak (tracemalloc) and how far the process's resident size rose while reading it (Rust
allocations included); each must stay within 200 MiB of reading the good file they were made from.
Durations are never asserted (benchmarks/hostile_bench.py measures them).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hostile import Case, cases
from prep_samples import KEY, fill_employee, fill_minutes, sample_content

from samtale_automation.prepfile.rejections import reason
from samtale_automation.prepfile.write import write_prep

pytestmark = pytest.mark.usefixtures("nb_messages")

MIB = 1024 * 1024
MEMORY_MARGIN = 200 * MIB
ADDRESS_SPACE = 3 * 1024 * MIB  # the child's limit: far above any bounded read, far below a bomb

CHILD = """
import json, re, resource, sys, tracemalloc
from pathlib import Path
from samtale_automation.prepfile.read import read_returned
from samtale_automation.prepfile.rejections import RejectedFile

def peak_rise(action):
    # Linux: reset the peak resident size, then how far it rose above where it was. Elsewhere the
    # process's peak so far (coarser: it includes the imports).
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        status = lambda: open("/proc/self/status").read()
        before = int(re.search(r"VmRSS:\\s+(\\d+)", status())[1])
        result = action()
        return result, (int(re.search(r"VmHWM:\\s+(\\d+)", status())[1]) - before) * 1024
    except OSError:
        result = action()
        return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

folder, key = Path(sys.argv[1]), bytes.fromhex(sys.argv[2])
results = {}
for path in sorted(folder.iterdir(), key=lambda p: (p.name != "normal.xlsx", p.name)):
    def read():
        try:
            returned = read_returned(path, key)
            return {"read": True, "modified": returned.modified.isoformat() if returned.modified else None,
                    "modified_text": returned.modified_text, "chosen": returned.chosen}
        except RejectedFile as exc:
            return {"read": False, "reason": exc.reason}
        except BaseException as exc:
            return {"escaped": type(exc).__name__}
    outcome, outcome["rss"] = peak_rise(read)
    tracemalloc.start()
    read()
    outcome["heap"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results[path.stem] = outcome
print(json.dumps(results))
"""


def base_file(folder: Path) -> bytes:
    """A good returned file: an employee's prep filled in with openpyxl, with minutes, as a person would."""
    made, filled = folder / "made.xlsx", folder / "filled.xlsx"
    write_prep(made, sample_content(), KEY)
    fill_employee(made, filled, chosen=["S01", "S02"], notes={"S02": "Arbeidsmengden er stor."})
    workbook = openpyxl.load_workbook(filled)
    fill_minutes(workbook, summaries={0: "Et godt år."}, actions=[("Kurs", "Lære", "Kari", date(2027, 3, 1))])
    workbook.save(filled)
    return filled.read_bytes()


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def read_in_child(folder: Path, key: bytes) -> dict[str, dict[str, Any]]:
    """Read every file in `folder` in a child process with a limited address space; its report per file."""
    env = {**os.environ, "SAMTALE_LANG": "nb"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder), key.hex()], capture_output=True, text=True,
                          env=env, preexec_fn=_limit_address_space, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return result


CORPUS_BASE: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """The hostile cases made from one good file."""
    folder = tmp_path_factory.mktemp("hostile-base")
    CORPUS_BASE["normal"] = base_file(folder)
    return {case.name: case for case in cases(CORPUS_BASE["normal"])}


@pytest.fixture(scope="module")
def outcomes(corpus: dict[str, Case], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What reading each case (and the good file, «normal») did, from the child process."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "normal.xlsx").write_bytes(CORPUS_BASE["normal"])
    for case in corpus.values():
        (folder / f"{case.name}.xlsx").write_bytes(case.data)
    return read_in_child(folder, KEY)


CASE_NAMES = [
    *(f"laughs_core_{e}" for e in ("utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le",
                                   "utf-32-le-bom")),
    *(f"xxe_workbook_{e}" for e in ("utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-7")),
    "laughs_sheet_utf-8", "laughs_sheet_utf-16-le-bom", "laughs_odd_spacing",
    "zip_bomb_sheet_2gib", "zip_bomb_sheet_lying_size", "zip_10000_entries", "zip_180_junk_parts",
    "zip_total_9mib", "zip_names_differing_in_case", "truncated_half", "truncated_last_bytes",
    "truncated_to_first_header",
    "legacy_xls", "encrypted_ole", "xlsb", "ods", "csv_renamed", "csv_utf16_renamed", "empty", "over_5_mib",
    "dimension_whole_sheet", "name_whole_sheet", "name_whole_sheet_on_identity", "name_unread_whole_sheet",
    "name_beyond_excel", "rows_100000", "rows_100000_empty", "cell_at_last_row", "cells_without_r",
    "rows_without_r", "r_single_quoted", "r_hidden_in_attribute", "sheet_at_every_limit",
    "sheet_at_every_limit_single_quotes", "shared_strings_60000",
    "saved_9999", "saved_0001", "saved_0001_offset", "saved_2099", "saved_garbage", "saved_month_13", "saved_long",
]


def test_the_corpus_is_the_listed_one(corpus: dict[str, Case]) -> None:
    """Verify every case is tested by name below (a new case must be added to the list)."""
    assert sorted(corpus) == sorted(CASE_NAMES)


def test_the_good_file_reads(outcomes: dict[str, dict[str, Any]]) -> None:
    """Verify the file the cases were made from reads, in the same child process."""
    assert outcomes["normal"]["read"] and outcomes["normal"]["chosen"] == ["S01", "S02"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_file_has_its_outcome_within_bounds(name: str, corpus: dict[str, Case],
                                                    outcomes: dict[str, dict[str, Any]]) -> None:
    """Verify the case is refused with exactly its reason, or read with the saved time as the file says it;
    nothing escapes; its peak memory stays within 200 MiB of the good file's."""
    case, outcome, normal = corpus[name], outcomes[name], outcomes["normal"]
    assert "escaped" not in outcome
    if case.kind is not None:
        assert (outcome["read"], outcome["reason"]) == (False, reason(case.kind, **case.values))
    else:
        assert outcome["read"], outcome.get("reason")
        if case.saved is None:
            assert outcome["modified"] == normal["modified"]
        else:
            text, moment = case.saved
            assert outcome["modified"] == (moment.isoformat() if moment else None)
            assert outcome["modified_text"] == text[:100]
    assert outcome["heap"] - normal["heap"] < MEMORY_MARGIN
    assert outcome["rss"] - normal["rss"] < MEMORY_MARGIN
