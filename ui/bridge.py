"""The one road from the UI to the vault (and later the network).

- ``bridge.write(fn, on_done)``: runs ``fn(service)`` on the vault worker, then
  announces what the call changed, as the vault says (``app.unit.ChangeSet``): ``changed``
  with the kinds of data (decisions, follow-ups, drafts …) and ``changeset`` with which
  records and follow-ups, so views refresh only what they must.
- ``bridge.read(fn, on_done)``: runs ``fn(service)`` on the vault worker and hands the
  result back on the UI thread.
- ``bridge.task(fn, on_done)``: work that does not touch the vault (an export's
  file, key derivation, later network) on a separate pool, so it never
  queues behind a save.

Background code never touches a widget: results arrive through a queued signal.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.service import ChangeSet, Sharelog
from app.unit import CONFLICTS, CONTACTS, DECISIONS, DRAFTS, FOLLOWUPS, QUARANTINE, SYNC

log = logging.getLogger("sharelog.ui")

# Kinds of change announced after writes (``ChangeSet.kinds``).
__all__ = ["CONFLICTS", "CONTACTS", "DECISIONS", "DRAFTS", "FOLLOWUPS", "QUARANTINE", "SYNC",
           "Bridge"]

Callback = Callable[[Any], None]


class Bridge(QObject):
    """Owns the vault worker. One per unlocked session."""

    changed = Signal(object)  # frozenset[str] of change kinds
    changeset = Signal(object)  # the ChangeSet itself: which records, which follow-ups
    busy_changed = Signal(bool)
    _finished = Signal(int, object, object, object)  # token, result, exception, changes

    def __init__(self, service: Sharelog | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._vault_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault")
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="task")
        self._tokens = itertools.count(1)
        self._pending: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._closed = False
        self._finished.connect(self._on_finished)

    # -- public API ------------------------------------------------------
    def write(self, fn: Callable[[Sharelog], Any], on_done: Callback | None = None,
              on_error: Callback | None = None, *, changes: Iterable[str] = ()) -> int:
        """Run a change on the vault worker; then announce what it changed, as the vault
        says. (``changes`` is no longer read: call sites that still declare what they
        expect to change may drop it.)"""
        del changes
        return self._submit(self._vault_worker, fn, on_done, on_error, collect=True,
                            needs_service=True)

    def read(self, fn: Callable[[Sharelog], Any], on_done: Callback | None = None,
             on_error: Callback | None = None) -> int:
        return self._submit(self._vault_worker, fn, on_done, on_error, needs_service=True)

    def task(self, fn: Callable[[], Any], on_done: Callback | None = None,
             on_error: Callback | None = None) -> int:
        return self._submit(self._pool, fn, on_done, on_error, needs_service=False)

    def announce(self, changes: ChangeSet) -> None:
        """Tell views what work done off the vault worker changed (a sync, on its own
        thread: ``ui.sync.controller``), as ``write`` does for its own calls."""
        if not self._closed and not changes.empty:
            self.changed.emit(changes.kinds)
            self.changeset.emit(changes)

    def set_service(self, service: Sharelog | None) -> None:
        self.service = service

    def lock(self, on_done: Callback | None = None) -> None:
        """Lock the vault on its worker (after queued work), then forget the service."""
        service = self.service
        self.service = None

        def do_lock() -> None:
            if service is not None:
                service.lock()

        self._submit(self._vault_worker, do_lock, on_done, None, needs_service=False)

    def shutdown(self, *, wait_tasks: bool = False) -> None:
        """Lock, finish queued vault work, and refuse anything after.

        Results still queued for the UI thread are dropped: the views they were
        meant for are going away, and acting on them would start new work.
        """
        if self._closed:
            return
        self._closed = True
        service, self.service = self.service, None
        if service is not None:
            self._vault_worker.submit(service.lock)
        self._vault_worker.shutdown(wait=True)
        # A running task (an export, a key derivation) is not waited for at quit,
        # unless asked (tests): its result is dropped either way.
        self._pool.shutdown(wait=wait_tasks, cancel_futures=True)
        self._pending.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until queued vault work has run (tests and shutdown only)."""
        if self._closed:
            return  # shutdown already waited for it
        self._vault_worker.submit(lambda: None).result(timeout=timeout)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- internals -------------------------------------------------------
    def _submit(self, executor: ThreadPoolExecutor, fn: Callable[..., Any],
                on_done: Callback | None, on_error: Callback | None, *,
                needs_service: bool, collect: bool = False) -> int:
        token = next(self._tokens)
        if self._closed:
            log.debug("work refused: the bridge is shut down")
            return token
        self._pending[token] = (on_done, on_error)
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
        service = self.service

        def run() -> None:
            changes = ChangeSet()
            try:
                if needs_service:
                    if service is None or service.is_locked:
                        from app.session import VaultLocked

                        raise VaultLocked()
                    if collect:
                        with service.collect_changes() as made:
                            result = fn(service)
                        changes = made.changes
                    else:
                        result = fn(service)
                else:
                    result = fn()
            except Exception as exc:  # reported to the UI thread, never swallowed
                log.debug("background call failed: %s", type(exc).__name__)
                self._finished.emit(token, None, exc, changes)
            else:
                self._finished.emit(token, result, None, changes)

        executor.submit(run)
        return token

    @Slot(int, object, object, object)
    def _on_finished(self, token: int, result: Any, error: BaseException | None,
                     changes: ChangeSet) -> None:
        if self._closed:
            return
        on_done, on_error = self._pending.pop(token, (None, None))
        if not self._pending:
            self.busy_changed.emit(False)
        if error is not None:
            if on_error is not None:
                on_error(error)
            else:
                log.error("unhandled background error: %s\n%s", type(error).__name__,
                          "".join(traceback.format_exception_only(type(error), error)).strip()
                          if not _may_hold_content(error) else "(details withheld)")
        elif on_done is not None:
            on_done(result)
        if not changes.empty:  # a call that failed late may have committed changes first
            self.changed.emit(changes.kinds)
            self.changeset.emit(changes)


def _may_hold_content(error: BaseException) -> bool:
    """Our own errors have safe messages; anything else might echo record text."""
    from app.shown_errors import is_safe_error

    return not is_safe_error(error)
