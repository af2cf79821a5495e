"""When prep files are written in worker processes (prepfile/parallel.py)."""

from __future__ import annotations

import os

import pytest

from samtale_automation.prepfile import parallel
from samtale_automation.prepfile.parallel import PARALLEL_FROM, in_parallel, run_jobs


def test_a_big_batch_on_two_cores_goes_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify the rule `run_jobs` follows, which `samtale prep` asks to know whether it has a core to spare."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert not in_parallel(PARALLEL_FROM - 1) and in_parallel(PARALLEL_FROM)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert not in_parallel(PARALLEL_FROM * 10)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert not in_parallel(PARALLEL_FROM * 10)


def test_a_small_batch_is_run_here_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify a batch below the limit runs in this process (no pool) and keeps the jobs' order."""
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", None)  # would fail if a pool were started
    assert run_jobs(divmod, [(7, 2), (9, 4), (1, 1)]) == [(3, 1), (2, 1), (1, 0)]
