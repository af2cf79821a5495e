"""Write many files in two processes when the batch is big enough to pay for starting the second.

The workers are started fresh ('spawn', on every OS), never forked: a forked worker inherits
every open file of the parent, the run lock among them, and would keep the folder locked after
the parent died. Each worker also watches its parent and ends as soon as the parent is gone, so
a `samtale prep` killed with `kill -9` (or ended in Task Manager) leaves no worker behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

# Below this, starting the workers costs more than they save: a fresh worker takes about 0.3 s to
# start and import the writer, a prep file about 8 ms to write (reference 2-core machine).
PARALLEL_FROM = 96
ORPHAN_EXIT = 70  # a worker's exit code when it ended because its parent was gone
R = TypeVar("R")


def _star(call: tuple[Callable[..., R], tuple[Any, ...]]) -> R:
    function, args = call
    return function(*args)


def watch_parent() -> None:
    """Pool initializer: end this worker at once when the process that started it ends, however it ends.

    The parent's sentinel (a pipe only the parent holds on POSIX, the parent's process handle on
    Windows) becomes ready when the parent is gone; a daemon thread waits for that. Without it a
    worker of a killed parent waits for work for ever.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(ORPHAN_EXIT)

    threading.Thread(target=watch, name="samtale-parent-watch", daemon=True).start()


def in_parallel(count: int) -> bool:
    """Tell whether `run_jobs` writes a batch of `count` jobs in worker processes (the caller's own
    process then waits, and has a core for other work)."""
    return count >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2


def run_jobs(function: Callable[..., R], jobs: list[tuple[Any, ...]]) -> list[R]:
    """Call `function(*job)` for each job, in two processes when the batch is big enough to pay for it."""
    if not in_parallel(len(jobs)):
        return [function(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn"),
                             initializer=watch_parent) as pool:
        return list(pool.map(_star, [(function, job) for job in jobs], chunksize=16))
