"""Process pools for this package's CPU-bound image work: decoding real images, drawing synthetic ones.

Both jobs are pure numpy/Pillow per item, so they scale with processes, not threads. One helper holds
the choices that make a pool safe to start from anywhere the package runs - the CLI, the Gradio app, a
script without a ``__main__`` guard, a worker that is itself a daemon - and falls back to working in
this process where no pool can be had, so callers get the same results either way, only slower.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

#: Below this many items a process pool costs more to start than it saves.
MIN_POOL_ITEMS = 256


def pool_context() -> multiprocessing.context.BaseContext:
    """'fork' where available, else 'spawn'.

    Forked workers start at once and need no ``if __name__ == '__main__'`` guard in the calling script
    (``python -m vae_core`` has none), while 'spawn'/'forkserver' would re-import the caller's
    ``__main__`` (e.g. app.py, which builds a whole UI) in every worker. The workers only run Pillow
    and numpy, never torch, so forking a process that has torch threads is safe.
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def ordered_map(fn: Callable[[Task], Result], tasks: Sequence[Task], workers: int,
                chunksize: int = 1) -> Iterator[Iterator[Result]]:
    """``fn`` over ``tasks``, results in task order, computed by up to ``workers`` processes.

    ``fn`` must be a module-level function (a pool pickles it). Runs in this process when
    ``workers <= 1``, when this process is a daemon (daemons may not start children) or when the OS
    refuses new processes. Leaving the block stops the workers, also when the results were not all read.
    """
    pool = None
    if workers > 1 and len(tasks) > 0 and not multiprocessing.current_process().daemon:
        try:
            with warnings.catch_warnings():  # Python >= 3.12 warns about fork() in threaded processes
                warnings.simplefilter("ignore", DeprecationWarning)
                pool = pool_context().Pool(min(workers, len(tasks)))
        except OSError:  # no processes to be had (limits, sandbox): slower but still correct
            pool = None
    try:
        yield map(fn, tasks) if pool is None else pool.imap(fn, tasks, chunksize=chunksize)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
