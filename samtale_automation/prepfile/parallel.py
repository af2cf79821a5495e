"""Write many files in two processes when the batch is big enough to pay for starting the second."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

PARALLEL_FROM = 24  # below this, starting a second process costs more than it saves
R = TypeVar("R")


def _star(call: tuple[Callable[..., R], tuple[Any, ...]]) -> R:
    function, args = call
    return function(*args)


def run_jobs(function: Callable[..., R], jobs: list[tuple[Any, ...]]) -> list[R]:
    """Call `function(*job)` for each job, in two processes when the batch is big enough to pay for it."""
    if len(jobs) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [function(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(_star, [(function, job) for job in jobs], chunksize=16))
