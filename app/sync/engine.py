"""The client's sync engine: one sync is push the outbox, pull what the store holds for
this device, check this device's chains against the store's tips, and write down how it
went. No Qt; a window runs ``sync_once`` on a worker and shows ``status()``.

What a sync does, in order (each step commits on its own, so a sync cut anywhere, by the
network or SIGKILL, leaves the vault whole and the next sync carries on from there):

1. ``GET /v1/info`` (once per engine, again after a failure): can this Sharelog and the
   store talk, and their limits;
2. at once, on a few threads: ``GET /v1/me`` (people's names, ``SyncLocal.learn_people``,
   written only when something is new; the role, hence the scope), ``GET /v1/devices``
   (the team's device keys, pinned: a different key for a device this vault knows is an
   error, and events signed with it are refused), ``GET /v1/tips`` and the first page of
   the pull (both in the scope the last sync used; asked again if the role changed);
3. push the outbox in batches, in chain order; an authentic event the store refuses
   (rights, state, size) is kept in quarantine (``record_refusal``) and the batch pushed
   again acknowledging it, so the chain goes on past it; a refusal of integrity stops
   the push with an error (the pull still runs);
4. apply the pulled pages, each through ``Ingest.apply`` with its cursor in the
   transaction holding its last events; in a long pull another process fetches, decodes
   and checks each next page while this one applies (``app.sync.ahead``);
5. compare the store's confirmed tips with what the vault holds (``app.sync.chains``: a
   tip is immutable up to its position, so one asked before the push still holds) and
   save them;
6. the attempt, its outcome and, when it succeeded, ``synced_at``, into the vault
   (``sync_history``, ``sync_state.last_synced_at``).

Every transport failure becomes a ``SyncStatus`` with a code and Sharelog's own words
with the action (no record content); ``sync_once`` never raises for them. Retries back
off exponentially with jitter (``retry_delay``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from pickle import PicklingError
from typing import TYPE_CHECKING, Any

from app.envelope import SignedEvent
from app.ingest import Verified, check_ahead
from app.sync import ahead, chains
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
    PulledEvent,
    PullPage,
    RateLimited,
    StoreClient,
    StoreError,
    StoreInfo,
    StoreTooOld,
    SyncError,
    TeamDevice,
)
from app.unit import NOTHING, ChangeSet
from db import store
from db.vault import Connection

log = logging.getLogger("sharelog.sync")

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
    DEVICE_REVOKED: "This computer's access was revoked: ask your administrator.",
    UPDATE_SHARELOG: "This Sharelog is too old for the team's store: update Sharelog.",
    STORE_TOO_OLD: "The team's store is too old for this Sharelog: ask your administrator "
                   "to update it.",
    SERVER_ERROR: "The team's store failed: Sharelog will try again.",
    "rate_limited": "The team's store asked Sharelog to wait: it will try again.",
    OFFLINE: OFFLINE_WORDS,
    KEY_CHANGED: "The team's store gave another key for a device this vault already knows; "
                 "changes signed with it are not accepted. Ask your administrator.",
    "not_verified": "This device's changes could not be verified by the team's store: ask "
                    "your administrator.",
}

# Backoff after failures: 2 s, 4 s, 8 s … up to 5 minutes (1 minute while offline: asking
# a network that is not there costs nothing, and a practitioner back in the office should
# not wait long), each drawn at random between half and all of it ("equal jitter"), so a
# team's devices coming back at once spread out.
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 300.0
BACKOFF_MAX_OFFLINE = 60.0
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

    def __init__(self, code: str, words: str, *, retry_after: float | None = None,
                 backoff: bool = True) -> None:
        super().__init__(words)
        self.code = code
        self.words = words
        self.retry_after = retry_after
        self.backoff = backoff  # False: the sync went through; nothing to wait for


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
        return _Failed(SERVER_ERROR, WORDS["rate_limited"], retry_after=float(exc.retry_after))
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
    # A pull of at least this many events verifies each next page in another process
    # while this one applies (spawning it costs about half a second).
    pipeline_from = 5000

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
        self._scope: str | None = None  # "own" or "team", as the account's role says
        self._calls: ThreadPoolExecutor | None = None

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
            if self._calls is not None:
                self._calls.shutdown(wait=True)
                self._calls = None
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
            failed = _Failed(REFUSED, refused_words(run.new_refusals), backoff=False)
        finished = self._now()
        outcome = SYNCED_OUTCOME if failed is None else failed.code
        message = None if failed is None else failed.words

        with unit.write() as w:
            store.sync_attempt_add(w.conn, _iso(started), _iso(finished), run.pushed,
                                   run.pulled, outcome, message)
            if failed is None or not failed.backoff:
                store.sync_state_set(w.conn, last_synced_at=_iso(finished))
        self._schedule(failed)
        status = self._status_from_vault()
        return SyncReport(status, run.pushed, run.pulled, run.changes, started, finished)

    def _run_steps(self, client: StoreClient, run: _Run) -> None:
        svc = self.service
        run.changes |= svc.sync.set_aside_refused()  # once: refusals an earlier Sharelog kept
        info = self._info
        if info is None:
            info = self._info = client.info()
        limit = max(1, min(info.max_pull_limit, self.page_size))
        cursor = svc.sync.cursor()
        # The calls that do not depend on each other go at once (a sync with nothing to
        # do then costs the slowest of them, not their sum). The scope is the one the
        # last sync used; a changed role is seen in ``me`` and asked again.
        asked: list[Future[Any]] = []
        ask = self._asker(asked)
        try:
            me_f, devices_f = ask(client.me), ask(client.devices)
            scope = self._scope
            tips_f = ask(client.tips, scope=scope) if scope else None
            page_f = ask(client.pull, cursor, limit, scope=scope) if scope else None
            me = me_f.result()
            if scope != (real := "team" if me.role == "manager" else "own"):
                scope, tips_f, page_f = real, None, None
                self._scope = real
            self._learn_people({uid: name for uid, (name, _role) in me.members.items()},
                               me.aliases)
            keys = self._device_keys(devices_f.result(), run)
            run.total = svc.sync.pending()
            self._report(run)
            self._push(client, info, run)
            first = page_f.result() if page_f else client.pull(cursor, limit, scope=scope)
            self._pull(client, first, cursor, limit, scope, keys, run)
            tips = tips_f.result() if tips_f else client.tips(scope=scope)
            self._check_and_save_tips(tips, run)
        finally:
            wait(asked)  # nothing of this sync runs on after it

    def _asker(self, asked: list[Future[Any]]) -> Callable[..., Future[Any]]:
        if self._calls is None:
            self._calls = ThreadPoolExecutor(4, thread_name_prefix="sharelog-sync")
        calls = self._calls

        def ask(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
            future = calls.submit(fn, *args, **kwargs)
            asked.append(future)
            return future
        return ask

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

    def _device_keys(self, devices: list[TeamDevice], run: _Run) -> dict[str, bytes]:
        listed = {d.device_id: bytes(d.public_key) for d in devices}
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
            batch = _within(sync.outbox(limit), info.max_request_bytes)
            if not batch:
                return
            acks = sync.acknowledged_refusals()
            try:
                result = client.push(batch, acknowledged_refusals=acks)
            except EventRejected as exc:
                if exc.code in TOO_LARGE and len(batch) > 1:
                    limit = max(1, len(batch) // 2)  # the store's limits are lower: halve
                    continue
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
    def _pull(self, client: StoreClient, page: PullPage, since: int, limit: int, scope: str,
              keys: dict[str, bytes], run: _Run) -> None:
        """Pages from ``page`` (the first, pulled at ``since``) on, each applied with its
        cursor."""
        if page.has_more:  # a long pull: how many events it holds, for "n of m"
            run.total = run.done + client.digest(since, scope=scope).count
            if run.total - run.done >= self.pipeline_from:
                try:
                    self._pull_pipelined(client, scope, limit, keys, page, run)
                    return
                except (BrokenProcessPool, OSError, RuntimeError, PicklingError) as exc:
                    # No second process here (a frozen build, no room): one process, from
                    # where the pages already applied left the cursor.
                    log.warning("pull without a verifying process: %s", type(exc).__name__)
                    since = self.service.sync.cursor()
                    page = client.pull(since, limit=limit, scope=scope)
        while True:
            self._apply(page, keys, None, run)
            if not page.has_more:
                return
            since = self._moved(page, since)
            page = client.pull(since, limit=limit, scope=scope)

    def _pull_pipelined(self, client: StoreClient, scope: str, limit: int,
                        keys: dict[str, bytes], page: PullPage, run: _Run) -> None:
        """A long pull: while one page is applied here, another process fetches the next
        one, decodes it and checks its events (``app.sync.ahead``; the vault is written by
        this thread only)."""
        settings = client.settings()
        if settings is None:
            raise RuntimeError("this client cannot be opened in another process")
        verify_keys = self.service.ingest.keys(keys)
        self._moved(page, self.service.sync.cursor())
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=ahead.start, initargs=(settings,)) as pool:
            asked = (pool.submit(ahead.fetch_and_check, page.next_since, limit, scope,
                                 verify_keys) if page.has_more else None)
            # The process starts now (importing Sharelog there takes half a second or
            # more); rather than wait for it, the first page is checked here meanwhile.
            todo = self._unheld(page)
            verified = Verified(verify_keys, *check_ahead([e.event for e in todo], verify_keys))
            while True:
                following: PullPage | None = None
                if asked is not None:
                    following, verdicts, contents = asked.result()
                    self._moved(following, page.next_since)
                    asked = (pool.submit(ahead.fetch_and_check, following.next_since, limit,
                                         scope, verify_keys) if following.has_more else None)
                    following_todo, following_verified = self._checked(
                        following, verdicts, contents, verify_keys)
                self._apply(page, keys, verified, run, todo)
                if following is None:
                    return
                page, todo, verified = following, following_todo, following_verified

    def _checked(self, page: PullPage, verdicts: list[Any], contents: list[str | None],
                 verify_keys: dict[str, bytes]) -> tuple[list[PulledEvent], Verified]:
        """The page's events the vault does not hold, with what the other process found
        of each."""
        todo = self._unheld(page)
        if len(todo) < len(page.events):
            kept = {id(item) for item in todo}
            pairs = [(v, c) for item, v, c in zip(page.events, verdicts, contents, strict=True)
                     if id(item) in kept]
            verdicts, contents = [v for v, _c in pairs], [c for _v, c in pairs]
        return todo, Verified(verify_keys, verdicts, contents)

    @staticmethod
    def _moved(page: PullPage, since: int) -> int:
        if page.has_more and page.next_since <= since:
            raise StoreError("The team's store sent a page that does not move on.")
        return page.next_since

    def _unheld(self, page: PullPage) -> list[PulledEvent]:
        """The page without the events the vault holds byte for byte (this device's own
        coming back, or a page pulled again after a cut): ingest would skip them, after
        verifying their signatures for nothing."""
        ids = [item.event.event_id for item in page.events]
        if not ids:
            return []
        held = self.service.unit.read(lambda c: store.event_hashes(c, ids))
        if not held:
            return list(page.events)
        return [item for item in page.events if held.get(item.event.event_id) != item.event.hash]

    def _apply(self, page: PullPage, keys: dict[str, bytes], verified: Verified | None,
               run: _Run, events: list[PulledEvent] | None = None) -> None:
        if events is None:
            events = self._unheld(page)
        result = self.service.ingest.apply(events, device_keys=keys,
                                           cursor=page.next_since, verified=verified)
        run.changes |= result.changes
        run.pulled += len(result.applied)
        run.done += len(page.events)
        run.total = max(run.total, run.done)
        if page.events:
            self._report(run)

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
        if failed is None or not failed.backoff:
            self._failures = 0
            self._next_at = 0.0
            return
        self._failures += 1
        cap = BACKOFF_MAX_OFFLINE if failed.code == OFFLINE else BACKOFF_MAX
        ceiling = min(cap, BACKOFF_FIRST * 2 ** min(self._failures - 1, 20))
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


TOO_LARGE = ("batch_too_large", "request_too_large")
# What an event adds to a push's body beyond its payload (base64 makes the payload 4/3).
WIRE_OVERHEAD = 1024


def _within(batch: list[SignedEvent], max_bytes: int) -> list[SignedEvent]:
    """The longest start of ``batch`` whose request stays well inside the store's limit
    (events with long notes: 500 of them could be more than a request may carry)."""
    budget = max_bytes // 2
    size = 0
    for i, ev in enumerate(batch):
        size += len(ev.payload) * 4 // 3 + WIRE_OVERHEAD
        if size > budget and i > 0:
            return batch[:i]
    return batch


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
