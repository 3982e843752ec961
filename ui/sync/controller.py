"""Auto sync: ``SyncEngine.sync_once`` on its own thread, started by what a person expects.

Triggers: the network coming back (Qt's ``QNetworkInformation``, when a backend loads),
a timer every few minutes, a few seconds after a save (saves in that window are batched
into one sync), and on demand (Sync > Sync now, F5). After a failure the next attempt
waits ``engine.retry_delay()`` (backoff with jitter); an error only a person can clear
(sign in again, a revoked computer, update Sharelog) waits for them.

Why a thread of its own and not the vault worker: a sync spends most of its time on the
network (a connect timeout is 10 s, a first pull can be long), and a save queued behind it
would wait that long. The engine takes the vault's fair lock for each of its transactions
(``app.unit``), so saves on the vault worker interleave with a sync instead of queuing
behind all of it, and the UI thread never waits for either. What a sync changed reaches
views the way a save's changes do: through the bridge's ``changed``/``changeset`` signals
(``Bridge.announce``).
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QNetworkInformation

from app.sync import account
from ui.bridge import CONFLICTS, DECISIONS, FOLLOWUPS, Bridge
from ui.sync.status import (
    ERROR,
    NEEDS_A_PERSON,
    NOT_SIGNED_IN,
    OFFLINE,
    SIGNED_OUT,
    WAITING,
    LocalStatus,
)

log = logging.getLogger("sharelog.ui.sync")

PERIOD_MS = 5 * 60 * 1000  # every few minutes while signed in
AFTER_SAVE_MS = 4000  # saves within this window go in one sync
SAVED_KINDS = frozenset({DECISIONS, FOLLOWUPS, CONFLICTS})


def _freeze_start_up() -> None:
    """Once, as the window is made: leave what exists then (modules, Qt's wrappers, the
    window, some 65,000 objects) out of every later garbage collection. A full collection
    walks every object Python tracks and holds the GIL throughout, on whichever thread it
    runs: a pull's allocations start one every few pages, and walking those objects held
    the UI thread for 140-430 ms (bench/bench_sync_ui.py). They live until quit, so nothing
    is lost; and no vault is open yet, so nothing of one outlives its lock."""
    if not gc.get_freeze_count():
        gc.freeze()


class _SyncThread:
    """One daemon thread that runs sync work in order, one job at a time. A daemon: a sync
    stuck on the network never holds up quitting (the vault is locked by then)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception as exc:  # never the end of the thread
                log.warning("sync job failed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._jobs.put(None)


class SyncController(QObject):
    """Owns the engine of the unlocked vault; says where sync stands (``status_changed``)."""

    status_changed = Signal(object)  # SyncStatus (or one of ours, see _local_status)
    synced = Signal(object)  # SyncReport, after each sync
    network_note = Signal(str)  # whether Qt can tell when the network returns
    _progressed = Signal(int, object)  # generation, SyncStatus (from the sync thread)
    _finished = Signal(int, object, float)  # generation, SyncReport | SyncStatus, retry s
    _answered = Signal(int, object, object, object)  # generation, on_done, result, error

    def __init__(self, bridge: Bridge, parent: QObject | None = None, *,
                 period_ms: int = PERIOD_MS, after_save_ms: int = AFTER_SAVE_MS,
                 watch_network: bool = True) -> None:
        super().__init__(parent)
        _freeze_start_up()
        self.bridge = bridge
        self.status: Any = None
        self.service: Any = None
        self.running = False
        self._again = False
        self._generation = 0
        self._engine: Any = None  # a SyncEngine, touched only on the sync thread
        self._engine_generation = -1
        self._announcing = False
        self._thread = _SyncThread()
        self.period = self._timer(period_ms, repeat=True)
        self.after_save = self._timer(after_save_ms)
        self.retry = self._timer(0)
        self.reachability: Any = None
        self._progressed.connect(self._on_progress)
        self._finished.connect(self._on_finished)
        self._answered.connect(self._on_answered)
        bridge.changed.connect(self._on_vault_changed)
        self.network_backend = self._watch_network() if watch_network else ""

    def _timer(self, ms: int, *, repeat: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(not repeat)
        timer.setInterval(ms)
        timer.timeout.connect(self.sync_now)
        return timer

    # -- the network ---------------------------------------------------------------------
    def _watch_network(self) -> str:
        """Qt's reachability, if a backend loads (NetworkManager, glib, Windows, macOS);
        without one, the timer and the retries still bring sync back."""
        if not QNetworkInformation.loadDefaultBackend() \
                and not QNetworkInformation.loadBackendByFeatures(
                    QNetworkInformation.Feature.Reachability):
            log.info("no network information backend: syncing on a timer only")
            return ""
        info = QNetworkInformation.instance()
        if info is None:
            return ""
        self.reachability = info.reachability()
        info.reachabilityChanged.connect(self.on_reachability)
        return info.backendName()

    @Slot(object)
    def on_reachability(self, reachability: Any) -> None:
        """The network came back (online, or a local network with the store on it)."""
        from PySide6.QtNetwork import QNetworkInformation

        was, self.reachability = self.reachability, reachability
        up = reachability in (QNetworkInformation.Reachability.Online,
                              QNetworkInformation.Reachability.Site,
                              QNetworkInformation.Reachability.Local)
        if up and was != reachability:
            self.sync_now(automatic=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, service: Any) -> None:
        """After unlock: say where it stands, and sync soon if signed in."""
        self.stop()
        self.service = service
        self.period.start()
        self.sync_now(automatic=True)

    def stop(self) -> None:
        """At lock (and quit): timers off; a sync still running finishes unheard."""
        self._generation += 1
        for timer in (self.period, self.after_save, self.retry):
            timer.stop()
        self._thread.submit(self._drop_engine)
        self.service = None
        self.running = False
        self._again = False
        self.status = None

    def shutdown(self) -> None:
        self.stop()
        self._thread.stop()

    def signed_in_again(self) -> None:
        """After Sign in…: a new token, so a new engine; sync at once."""
        if self.service is not None:
            self.start(self.service)

    # -- syncing --------------------------------------------------------------------------
    @Slot()
    def sync_now(self, automatic: bool = False) -> None:
        """Sync > Sync now (F5), a timer, the network, a save: one sync at a time."""
        service = self.service
        if service is None:
            return
        if automatic and self.status is not None and \
                getattr(self.status, "error", None) in NEEDS_A_PERSON:
            return  # the same answer again until they act; Sync now still tries
        if self.running:
            self._again = True
            return
        self.running = True
        self.after_save.stop()
        self.retry.stop()
        generation = self._generation

        def job() -> None:
            result: Any
            delay = 0.0
            try:
                if not account.signed_in(service):
                    result = self._local_status(service)
                else:
                    engine = self._engine_for(service, generation)
                    result = engine.sync_once()
                    delay = engine.retry_delay()
            except Exception as exc:  # a lock mid-sync, or a bug: said, never raised
                if service.is_locked:  # locked while it ran: nothing to say
                    log.debug("sync stopped by the lock")
                else:
                    log.warning("sync failed: %s", type(exc).__name__)
                result = None
            self._finished.emit(generation, result, delay)

        self._thread.submit(job)

    def refresh(self) -> None:
        """The status again, from the vault (no network): after a save, say the count."""
        service, generation = self.service, self._generation
        if service is None or self.running:
            return

        def job() -> None:
            try:
                if account.signed_in(service):
                    status = self._engine_for(service, generation).status()
                else:
                    status = self._local_status(service)
            except Exception as exc:
                log.debug("status unavailable: %s", type(exc).__name__)
                return
            self._progressed.emit(generation, status)

        self._thread.submit(job)

    def ask(self, fn: Callable[[Any, Any, Any], Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None] | None = None) -> None:
        """``fn(engine or None, service, status)`` on the sync thread (the engine is one
        thread's), its answer to ``on_done`` on the UI thread."""
        service, generation, status = self.service, self._generation, self.status
        if service is None:
            return

        def job() -> None:
            try:
                engine = (self._engine_for(service, generation)
                          if account.signed_in(service) else None)
                result, error = fn(engine, service, status), None
            except Exception as exc:
                result, error = None, exc
            self._answered.emit(generation, (on_done, on_error), result, error)

        self._thread.submit(job)

    def _on_answered(self, generation: int, callbacks: Any, result: Any,
                     error: BaseException | None) -> None:
        if generation != self._generation:
            return
        on_done, on_error = callbacks
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(error)

    # -- on the sync thread only ------------------------------------------------------------
    def _engine_for(self, service: Any, generation: int) -> Any:
        """This unlock's engine (a lock or a new sign-in makes a new one)."""
        from app.sync.engine import SyncEngine  # imported once signed in, not at start-up

        if self._engine is not None and self._engine_generation != generation:
            self._drop_engine()
        if self._engine is None:
            self._engine = SyncEngine(service, on_progress=lambda status: (
                self._progressed.emit(generation, status)))
            self._engine_generation = generation
        return self._engine

    def _drop_engine(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.close()
            except Exception as exc:
                log.debug("engine close: %s", type(exc).__name__)

    @staticmethod
    def _local_status(service: Any) -> LocalStatus:
        """Not signed in (or signed out): what waits, without asking the store."""
        waiting = account.unsynced(service)
        bound = service.sync.binding() is not None
        return LocalStatus(SIGNED_OUT if bound else NOT_SIGNED_IN, waiting=waiting)

    def _on_progress(self, generation: int, status: Any) -> None:
        if generation == self._generation:
            self._set_status(status)

    def _on_finished(self, generation: int, result: Any, delay: float) -> None:
        if generation != self._generation:
            return
        self.running = False
        status = getattr(result, "status", result)
        if status is not None:
            self._set_status(status)
        if result is not None and hasattr(result, "changes"):
            self._announcing = True  # what others changed is no save of ours to sync
            try:
                self.bridge.announce(result.changes)
            finally:
                self._announcing = False
            self.synced.emit(result)
        if self._again:
            self._again = False
            self.sync_now(automatic=True)
            return
        state = str(getattr(status, "state", ""))
        if state in (OFFLINE, ERROR) and \
                getattr(status, "error", None) not in NEEDS_A_PERSON:
            self.retry.start(max(1000, int(delay * 1000)))
        elif state == WAITING:  # more arrived while it ran
            self.after_save.start()

    def _set_status(self, status: Any) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _on_vault_changed(self, kinds: frozenset[str]) -> None:
        """A save: count it at once, sync a few seconds later (batched)."""
        if self.service is None or self._announcing or not kinds & SAVED_KINDS:
            return
        self.refresh()
        if not self.after_save.isActive() and self.status is not None \
                and str(self.status.state) not in (NOT_SIGNED_IN, SIGNED_OUT):
            self.after_save.start()
