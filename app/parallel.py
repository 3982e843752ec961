"""Worker processes for one long check, so it uses every core.

Python runs one thread at a time, and ``cryptography`` keeps it while verifying a
signature, so threads cannot share the integrity check's work; processes can. A
``CheckPool`` lives for one check: it is started with ``spawn`` (never ``fork``: the
application has threads), shares a progress counter and a stop flag with its workers,
and is shut down when the check ends or is cancelled.

Workers are this program's own processes. Those that scan records get the vault's
derived key over their pipe (never on disk, never on a command line), open the vault
read-only and send back only record ids and the names of the parts that differ; those
that verify signatures get only public keys, signatures and hashes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_counter: Any = None
_stop: Any = None


def worker_count() -> int:
    return max(1, os.cpu_count() or 1)


def _init(counter: Any, stop: Any) -> None:
    global _counter, _stop
    _counter, _stop = counter, stop


def worker_progress(n: int) -> None:
    """In a worker: add ``n`` units of work done to the pool's shared count."""
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += n


def worker_cancelled() -> bool:
    """In a worker: whether the check was cancelled."""
    return _stop is not None and bool(_stop.is_set())


class CheckPool:
    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self._counter = ctx.Value("q", 0)
        self._stop = ctx.Event()
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                         initializer=_init,
                                         initargs=(self._counter, self._stop))

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._pool.submit(fn, *args)

    @property
    def done(self) -> int:
        """Units of work the workers have reported (see ``worker_progress``)."""
        return int(self._counter.value)

    def close(self, *, cancel: bool = False) -> None:
        if cancel:
            self._stop.set()
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
