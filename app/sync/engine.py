"""The client's sync engine: one sync is push the outbox, pull what the store holds for
this device, check this device's chains against the store's tips, and write down how it
went. No Qt; a window runs ``sync_once`` on a worker and shows ``status()``.

What a sync does, in order (each step commits on its own, so a sync cut anywhere, by the
network or SIGKILL, leaves the vault whole and the next sync carries on from there):

1. ``GET /v1/info`` (once per engine, again after a failure): can this Sharelog and the
   store talk, and their limits;
2. ``GET /v1/me`` and ``GET /v1/devices``: people's names (``SyncLocal.learn_people``,
   written only when something is new) and the team's device keys, pinned: a different
   key for a device this vault knows is an error, and events signed with it are refused;
3. push the outbox in batches, in chain order; an authentic event the store refuses
   (rights, state, size) is kept in quarantine (``record_refusal``) and the batch pushed
   again acknowledging it, so the chain goes on past it; a refusal of integrity stops
   the push with an error;
4. pull pages after the cursor, each through ``Ingest.apply`` with its cursor in the
   transaction holding its last events;
5. ``GET /v1/tips``: the store's confirmed tip of each chain, compared with what the
   vault holds (``app.sync.chains``) and saved;
6. the attempt, its outcome and, when it succeeded, ``synced_at``, into the vault
   (``sync_history``, ``sync_state.last_synced_at``).

Every transport failure becomes a ``SyncStatus`` with a code and Sharelog's own words
with the action (no record content); ``sync_once`` never raises for them. Retries back
off exponentially with jitter (``retry_delay``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.sync import chains
from app.sync.local import REFUSED_BY_STORE, Binding, StoreTip
from app.sync.transport import (
    AuthExpired,
    BadCredentials,
    ChainTip,
    ClientTooOld,
    DeviceRevoked,
    EventRejected,
    Forbidden,
    InsecureStoreAddress,
    NetworkUnreachable,
    RateLimited,
    StoreClient,
    StoreError,
    StoreInfo,
    StoreTooOld,
    SyncError,
)
from app.unit import NOTHING, ChangeSet
from db import store
from db.vault import Connection

if TYPE_CHECKING:  # the facade imports nothing of sync's engine
    from app.service import Sharelog


class SyncState(StrEnum):
    NOT_SIGNED_IN = "not_signed_in"   # vault has no binding
    OFFLINE = "offline"               # the store could not be reached (connect error/timeout)
    SYNCING = "syncing"
    SYNCED = "synced"                 # nothing waiting, last sync succeeded
    WAITING = "waiting"               # changes waiting (e.g. never synced yet, or after a save)
    ERROR = "error"                   # needs a person: see action


# Error codes (SyncStatus.error, SyncAttempt.outcome).
SIGN_IN_AGAIN = "sign_in_again"
DEVICE_REVOKED = "device_revoked"
UPDATE_SHARELOG = "update_sharelog"
STORE_TOO_OLD = "store_too_old"
REFUSED = "refused"
OFFLINE = "offline"
SERVER_ERROR = "server_error"
KEY_CHANGED = "device_key_changed"      # the store gave another key for a known device
CHANGES_ALTERED = "changes_altered"     # this vault no longer holds what it sent (pt 7)
SYNCED_OUTCOME = "synced"

OFFLINE_WORDS = ("The team's store cannot be reached: Sharelog will sync when the "
                 "connection comes back.")
WORDS = {
    SIGN_IN_AGAIN: "The team's store no longer accepts this device's sign-in: sign in again.",
    DEVICE_REVOKED: "This device was revoked: ask your administrator.",
    UPDATE_SHARELOG: "This Sharelog is too old for the team's store: update Sharelog.",
    STORE_TOO_OLD: "The team's store is too old for this Sharelog: ask your administrator "
                   "to update it.",
    SERVER_ERROR: "The team's store failed: Sharelog will try again.",
    OFFLINE: OFFLINE_WORDS,
    KEY_CHANGED: "The team's store gave another key for a device this vault already knows; "
                 "changes signed with it are not accepted. Ask your administrator.",
    "not_verified": "This device's changes could not be verified by the team's store: ask "
                    "your administrator.",
}

# Backoff after failures: 2 s, 4 s, 8 s … up to 5 minutes, each drawn at random between
# half and all of it ("equal jitter"), so a team's devices coming back at once spread out.
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 300.0
BATCH_EVENTS = 500
PAGE_EVENTS = 1000


def refused_words(n: int) -> str:
    changes = "1 change was" if n == 1 else f"{n} changes were"
    return f"{changes} refused by the team's store and kept on this device: see details."


@dataclass(frozen=True)
class SyncStatus:
    """What a window shows. ``error`` is a code (see the module's constants), ``message``
    Sharelog's own words for it with the action. ``error == "refused"`` may come with
    any state: the store refused some changes (kept in quarantine) while sync goes on;
    it is ``ERROR`` in the sync that met the refusals, then shown beside the state for as
    long as they are held. ``done`` / ``total`` count what moves over the wire: events
    pushed, then events pulled (this device's own come back once in its scope, and are
    skipped as held); ``total`` is known from the start of a long pull (``/v1/digest``)."""

    state: SyncState
    done: int = 0                     # events pushed+applied so far in this sync
    total: int = 0                    # events known to move in this sync (0 = unknown yet)
    synced_at: dt.datetime | None = None   # last successful sync (UTC), persisted in the vault
    waiting: int = 0                  # own events not yet confirmed by the store
    oldest_waiting: dt.datetime | None = None  # when the oldest waiting change was saved (UTC)
    quarantined: int = 0              # events refused/held (store refusals + pulled ones)
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class SyncReport:
    status: SyncStatus                # the state after this sync
    pushed: int
    pulled: int
    changes: ChangeSet                # which records/follow-ups changed
    started: dt.datetime
    finished: dt.datetime


@dataclass(frozen=True)
class SyncAttempt:
    """One sync, as the vault remembers it."""

    started: dt.datetime              # UTC
    finished: dt.datetime             # UTC
    pushed: int
    pulled: int
    outcome: str                      # "synced" or an error code
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == SYNCED_OUTCOME


class _Failed(Exception):
    """A sync step failed in a way the status names (code, words)."""

    def __init__(self, code: str, words: str, *, retry_after: float | None = None) -> None:
        super().__init__(words)
        self.code = code
        self.words = words
        self.retry_after = retry_after


def _failure(exc: SyncError) -> _Failed:
    if isinstance(exc, NetworkUnreachable):
        return _Failed(OFFLINE, OFFLINE_WORDS)
    if isinstance(exc, DeviceRevoked):
        return _Failed(DEVICE_REVOKED, WORDS[DEVICE_REVOKED])
    if isinstance(exc, AuthExpired | BadCredentials | InsecureStoreAddress | Forbidden):
        return _Failed(SIGN_IN_AGAIN, WORDS[SIGN_IN_AGAIN])
    if isinstance(exc, ClientTooOld):
        return _Failed(UPDATE_SHARELOG, WORDS[UPDATE_SHARELOG])
    if isinstance(exc, StoreTooOld):
        return _Failed(STORE_TOO_OLD, WORDS[STORE_TOO_OLD])
    if isinstance(exc, RateLimited):
        return _Failed(SERVER_ERROR, "The team's store asked Sharelog to wait: it will try "
                       "again.", retry_after=float(exc.retry_after))
    if isinstance(exc, EventRejected):
        return _Failed(REFUSED, WORDS["not_verified"])
    return _Failed(SERVER_ERROR, WORDS[SERVER_ERROR])


def _utc(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _hlc_time(stamp: str | None) -> dt.datetime | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromtimestamp(int(stamp.split("-", 1)[0]) / 1000, dt.UTC)
    except ValueError:
        return None


class SyncEngine:
    """Sync one unlocked vault with its team's store (see the module's docstring)."""

    # Events per push and per pulled page (never above what the store's /v1/info allows).
    push_batch = BATCH_EVENTS
    page_size = PAGE_EVENTS

    def __init__(self, service: Sharelog, *, client: StoreClient | None = None,
                 on_progress: Callable[[SyncStatus], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.service = service
        self.on_progress = on_progress
        self._given_client = client
        self._own_client: StoreClient | None = None
        self._own_client_for: tuple[str, str | None] | None = None
        self._info: StoreInfo | None = None
        self._running = threading.Lock()  # one sync at a time
        self._live: SyncStatus | None = None  # while a sync runs: its progress
        self._failures = 0
        self._next_at = 0.0  # time.monotonic() of the next automatic attempt
        self._rng = rng or random.Random()

    # -- the public calls ---------------------------------------------------------------------
    def sync_once(self) -> SyncReport:
        """One sync; never raises for network or store errors (the report's status says)."""
        with self._running:
            return self._sync()

    def status(self) -> SyncStatus:
        """Cheap, from the vault (no network); while a sync runs, its progress."""
        live = self._live
        if live is not None:
            return live
        return self._status_from_vault()

    def retry_delay(self) -> float:
        """Seconds until the next automatic attempt: 0 after a success, else a backoff."""
        if not self._failures:
            return 0.0
        return max(0.0, self._next_at - time.monotonic())

    def history(self, limit: int = 20) -> list[SyncAttempt]:
        rows = self.service.unit.read(lambda c: store.sync_attempts(c, limit))
        return [SyncAttempt(_utc(r[0]) or dt.datetime.min, _utc(r[1]) or dt.datetime.min,
                            int(r[2]), int(r[3]), str(r[4]), r[5]) for r in rows]

    def close(self) -> None:
        with self._running:
            if self._own_client is not None:
                self._own_client.close()
                self._own_client = None

    # -- one sync ---------------------------------------------------------------------------
    def _sync(self) -> SyncReport:
        unit = self.service.unit
        started = self._now()
        run = _Run()
        binding = self.service.sync.binding()
        if binding is None:
            status = self._status_from_vault()
            return SyncReport(status, 0, 0, NOTHING, started, started)
        self._live = self._progress(run, SyncState.SYNCING)
        failed: _Failed | None = None
        try:
            client = self._client(binding)
            self._run_steps(client, run)
        except SyncError as exc:
            failed = _failure(exc)
            self._info = None  # ask what the store speaks again next time
        except _Failed as exc:
            failed = exc
        finally:
            self._live = None
        if failed is None and run.problem is not None:
            failed = run.problem
        if failed is None and run.new_refusals:
            failed = _Failed(REFUSED, refused_words(run.new_refusals))
        finished = self._now()
        outcome = SYNCED_OUTCOME if failed is None else failed.code
        message = None if failed is None else failed.words

        with unit.write() as w:
            store.sync_attempt_add(w.conn, _iso(started), _iso(finished), run.pushed,
                                   run.pulled, outcome, message)
            if failed is None or failed.code == REFUSED:
                store.sync_state_set(w.conn, last_synced_at=_iso(finished))
        self._schedule(failed)
        status = self._status_from_vault()
        return SyncReport(status, run.pushed, run.pulled, run.changes, started, finished)

    def _run_steps(self, client: StoreClient, run: _Run) -> None:
        svc = self.service
        info = self._info
        if info is None:
            info = self._info = client.info()
        me = client.me()
        scope = "team" if me.role == "manager" else "own"
        self._learn_people({uid: name for uid, (name, _role) in me.members.items()},
                           me.aliases)
        keys = self._device_keys(client, run)
        run.total = svc.sync.pending()
        self._report(run)
        self._push(client, info, run)
        self._pull(client, info, scope, keys, run)
        tips = client.tips(scope=scope)
        self._check_and_save_tips(tips, run)

    # -- people and keys ------------------------------------------------------------------------
    def _learn_people(self, names: dict[str, str], aliases: dict[str, str]) -> None:
        known = self.service.unit.users
        wanted = dict(known)
        wanted.update(names)
        for local, account in aliases.items():
            if account in wanted:
                wanted.setdefault(local, wanted[account])
        if wanted != known:
            self.service.sync.learn_people(names, aliases)

    def _device_keys(self, client: StoreClient, run: _Run) -> dict[str, bytes]:
        listed = {d.device_id: bytes(d.public_key) for d in client.devices()}
        pinned = self.service.unit.read(store.device_keys)
        changed = sorted(d for d, k in listed.items() if d in pinned and pinned[d] != k)
        if changed:
            run.problem = _Failed(KEY_CHANGED, WORDS[KEY_CHANGED])
        return {d: k for d, k in listed.items() if d not in changed}

    # -- pushing ----------------------------------------------------------------------------
    def _push(self, client: StoreClient, info: StoreInfo, run: _Run) -> None:
        sync = self.service.sync
        limit = max(1, min(info.max_batch_events, self.push_batch))
        refused_here: set[str] = set()
        while True:
            batch = sync.outbox(limit)
            if not batch:
                return
            acks = sync.acknowledged_refusals()
            try:
                result = client.push(batch, acknowledged_refusals=acks)
            except EventRejected as exc:
                ids = {e.event_id for e in batch}
                if (exc.acknowledgeable and exc.event_id in ids
                        and exc.event_id not in refused_here):
                    refused_here.add(exc.event_id)
                    run.changes |= sync.record_refusal(exc.event_id, exc.code)
                    run.new_refusals += 1
                    continue
                # Integrity (or a refusal met twice): the chain cannot go on past it; the
                # events stay in the outbox, and the pull and the tips still run.
                run.problem = _Failed(REFUSED, WORDS["not_verified"])
                return
            run.changes |= sync.record_push(result.results)
            stored = sum(1 for r in result.results if r.status == "stored")
            run.pushed += stored
            run.done += len(result.results)
            run.own_tip = result.tip
            self._report(run)
            if len(result.results) < len(batch):  # an answer that does not cover the batch
                raise StoreError("The team's store answered a push in part.")

    # -- pulling ----------------------------------------------------------------------------
    def _pull(self, client: StoreClient, info: StoreInfo, scope: str,
              keys: dict[str, bytes], run: _Run) -> None:
        svc = self.service
        limit = max(1, min(info.max_pull_limit, self.page_size))
        since = svc.sync.cursor()
        first = True
        while True:
            page = client.pull(since, limit=limit, scope=scope)
            if first and page.has_more:
                # A long pull: how many events it holds, for "n of m".
                with_digest = client.digest(since, scope=scope)
                run.total = run.done + with_digest.count
            first = False
            result = svc.ingest.apply(page.events, device_keys=keys, cursor=page.next_since)
            run.changes |= result.changes
            run.pulled += len(result.applied)
            run.done += len(page.events)
            run.total = max(run.total, run.done)
            self._report(run)
            if not page.has_more:
                return
            if page.next_since <= since:
                raise StoreError("The team's store sent a page that does not move on.")
            since = page.next_since

    # -- the store's tips -----------------------------------------------------------------------
    def _check_and_save_tips(self, tips: list[ChainTip], run: _Run) -> None:
        svc = self.service
        when = _iso(self._now())
        findings = chains.compare(svc.unit, tips)
        if findings:
            run.problem = _Failed(CHANGES_ALTERED, " ".join(f.words for f in findings[:3]))
        svc.sync.save_store_tips([StoreTip(t.device_id, t.user_id, t.device_seq, t.hash,
                                           t.signature, t.revoked, when) for t in tips])

    # -- state ------------------------------------------------------------------------------------
    def _status_from_vault(self) -> SyncStatus:
        svc = self.service
        if svc.sync.binding() is None:
            return SyncStatus(SyncState.NOT_SIGNED_IN)

        def read(c: Connection) -> tuple[Any, ...]:
            state = store.sync_state_get(c)
            last = store.sync_attempts(c, 1)
            return (state.get("last_synced_at"), store.outbox_count(c),
                    store.outbox_oldest_hlc(c),
                    store.quarantine_count(c, ("refused", "waiting", "newer",
                                               REFUSED_BY_STORE)),
                    store.quarantine_count(c, (REFUSED_BY_STORE,)),
                    last[0] if last else None)

        synced_at, waiting, oldest, quarantined, refused_n, last = svc.unit.read(read)
        base = SyncStatus(SyncState.WAITING, synced_at=_utc(synced_at),
                          waiting=waiting, oldest_waiting=_hlc_time(oldest),
                          quarantined=quarantined)
        outcome = None if last is None else last[4]
        words = None if last is None else last[5]
        if outcome == OFFLINE:
            return dataclasses.replace(base, state=SyncState.OFFLINE, error=OFFLINE,
                                       message=words or OFFLINE_WORDS)
        if outcome not in (None, SYNCED_OUTCOME):
            return dataclasses.replace(base, state=SyncState.ERROR, error=str(outcome),
                                       message=str(words or WORDS.get(str(outcome), "")))
        state = SyncState.SYNCED if outcome == SYNCED_OUTCOME and not base.waiting \
            else SyncState.WAITING
        if refused_n:
            return dataclasses.replace(base, state=state, error=REFUSED,
                                       message=refused_words(refused_n))
        return dataclasses.replace(base, state=state)

    def _progress(self, run: _Run, state: SyncState) -> SyncStatus:
        base = self._live or self._status_from_vault()
        return dataclasses.replace(base, state=state, done=run.done, total=run.total,
                                   error=None, message=None)

    def _report(self, run: _Run) -> None:
        self._live = self._progress(run, SyncState.SYNCING)
        if self.on_progress is not None:
            self.on_progress(self._live)

    def _schedule(self, failed: _Failed | None) -> None:
        if failed is None or failed.code in (REFUSED,):
            self._failures = 0
            self._next_at = 0.0
            return
        self._failures += 1
        ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if failed.retry_after is not None:
            delay = max(delay, failed.retry_after)
        self._next_at = time.monotonic() + delay

    # -- plumbing -------------------------------------------------------------------------------
    def _client(self, binding: Binding) -> StoreClient:
        if self._given_client is not None:
            return self._given_client
        if not binding.store_url or not binding.device_token:
            raise AuthExpired("Sign in to the team's store first.")
        wanted = (binding.store_url, binding.device_token)
        if self._own_client is None or self._own_client_for != wanted:
            if self._own_client is not None:
                self._own_client.close()
            self._own_client = StoreClient(binding.store_url, binding.device_token)
            self._own_client_for = wanted
        return self._own_client

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.service.unit.clock.time(), dt.UTC)


class _Run:
    """What one sync did so far."""

    def __init__(self) -> None:
        self.pushed = 0
        self.pulled = 0
        self.done = 0
        self.total = 0
        self.new_refusals = 0
        self.changes = NOTHING
        self.own_tip: ChainTip | None = None
        self.problem: _Failed | None = None


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


__all__ = ["SyncAttempt", "SyncEngine", "SyncReport", "SyncState", "SyncStatus"]
