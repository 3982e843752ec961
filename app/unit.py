"""One unit of work over an unlocked vault: the lock, the transaction, the writer.

Every capability (``app.decisions``, ``app.followups``, ``app.drafts``, ``app.contacts``,
``app.maintenance``, ``app.ingest``, ``app.sync.local``) works through one ``Unit``:

- ``unit.read(fn)`` runs ``fn(conn)`` under the vault's lock;
- ``with unit.write() as w:`` is one transaction; ``w.emit(...)`` signs a new event of
  this device and applies it through the one ingest path (``app.ingest.admit``), which
  pulled events take too; the event, its projection and its outbox row commit together;
- what each transaction changed is a ``ChangeSet`` (records, follow-ups, drafts,
  contacts, conflicts, quarantine), returned by every write and collected for whoever
  asks (``unit.collect()``: the UI bridge announces exactly what a call changed).

The lock is fair (first come, first served), so a practitioner's save queued behind a
long pull waits for one short transaction of it, never the whole pull.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from app import backups, tip
from app.clock import Clock
from app.envelope import SCHEMA_V2, SignedEvent, make_signed_event
from app.events import GENESIS_HASH, DeviceKey, HybridLogicalClock, chain_link, uuid7
from app.housekeeping import WhenQuiet
from app.problems import InvalidChange
from app.projection import Applied
from db import store
from db.vault import OPENING, Connection, Vault, VaultError

if TYPE_CHECKING:
    from app.ingest import Admission

log = logging.getLogger("sharelog.unit")
T = TypeVar("T")
W = TypeVar("W", bound="Writer")

# Kinds of change a change set names (the UI bridge announces these).
DECISIONS = "decisions"
FOLLOWUPS = "followups"
DRAFTS = "drafts"
CONTACTS = "contacts"
CONFLICTS = "conflicts"
QUARANTINE = "quarantine"
SYNC = "sync"


@dataclass(frozen=True)
class ChangeSet:
    """What one write (a save, a pulled page) changed, so views refresh only that."""

    records: frozenset[str] = frozenset()  # records whose decision row changed
    followups: frozenset[str] = frozenset()  # follow-ups whose row changed
    drafts: frozenset[str] = frozenset()  # drafts saved or deleted
    contacts: bool = False  # the address book learnt something
    conflicts: frozenset[str] = frozenset()  # records now (or until now) in conflict
    quarantine: bool = False  # an event was quarantined, or left quarantine
    sync: bool = False  # the outbox, the cursor or the binding moved

    def __or__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.records | other.records, self.followups | other.followups,
                         self.drafts | other.drafts, self.contacts or other.contacts,
                         self.conflicts | other.conflicts, self.quarantine or other.quarantine,
                         self.sync or other.sync)

    @property
    def empty(self) -> bool:
        return self == ChangeSet()

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of data that changed (``DECISIONS``, ``FOLLOWUPS`` …)."""
        named = ((DECISIONS, self.records), (FOLLOWUPS, self.followups),
                 (DRAFTS, self.drafts), (CONTACTS, self.contacts),
                 (CONFLICTS, self.conflicts), (QUARANTINE, self.quarantine),
                 (SYNC, self.sync))
        return frozenset(kind for kind, changed in named if changed)

    @classmethod
    def union(cls, sets: Iterable[ChangeSet]) -> ChangeSet:
        """All of ``sets`` at once: ``a | b | c …`` copies the growing sets at each step,
        which a page of a thousand events felt."""
        sets = list(sets)
        return cls(frozenset().union(*(c.records for c in sets)),
                   frozenset().union(*(c.followups for c in sets)),
                   frozenset().union(*(c.drafts for c in sets)),
                   any(c.contacts for c in sets),
                   frozenset().union(*(c.conflicts for c in sets)),
                   any(c.quarantine for c in sets), any(c.sync for c in sets))

    @classmethod
    def of(cls, applied: Applied) -> ChangeSet:
        return cls(records=frozenset((applied.record_id,)) if applied.decision else frozenset(),
                   followups=frozenset(applied.followups),
                   conflicts=frozenset((applied.record_id,)) if applied.conflict
                   else frozenset())


NOTHING = ChangeSet()


@dataclass(frozen=True)
class Saved:
    """A write's result: what it made (a record id, an event id, a draft id) and what
    changed."""

    value: str
    changes: ChangeSet


@dataclass(frozen=True)
class Identity:
    """Who writes on this device. After the vault joins an account (``record_binding``),
    new events carry the account's ids; the vault's earlier local ids stay the same
    person (``my_ids``)."""

    user_id: str
    display_name: str
    team_id: str
    device_id: str
    local_user_id: str = ""
    local_team_id: str = ""

    @property
    def my_ids(self) -> tuple[str, ...]:
        """Every id this person's records and follow-ups may carry."""
        return tuple(dict.fromkeys(i for i in (self.user_id, self.local_user_id) if i))


class FairLock:
    """A reentrant lock handed over in the order it was asked for.

    Python's own locks let a thread that releases and at once asks again win over one
    that was waiting; a pull applying page after page would then keep a save out.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._queue: deque[tuple[int, threading.Lock]] = deque()

    def acquire(self, blocking: bool = True) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._queue:
                self._owner, self._depth = me, 1
                return True
            if not blocking:
                return False
            turn = threading.Lock()
            turn.acquire()
            self._queue.append((me, turn))
        turn.acquire()  # released by the owner handing over: we own it now
        return True

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if self._queue:
                self._owner, turn = self._queue.popleft()
                self._depth = 1
                turn.release()
            else:
                self._owner = None

    @property
    def waiting(self) -> int:
        """How many threads wait for the lock."""
        with self._mutex:
            return len(self._queue)

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


@dataclass
class _Collected:
    changes: ChangeSet = field(default_factory=ChangeSet)


class Unit:
    """An unlocked vault's identity, clock, lock and transactions."""

    def __init__(self, vault: Vault, *, clock: Clock | None = None) -> None:
        self.vault = vault
        self.lock = FairLock()
        self.clock = clock or Clock()
        conn = vault.conn
        with vault.reported(OPENING):
            meta = store.meta_all(conn)
            state = store.sync_state_get(conn)
            own_last = store.last_hlc(conn, str(meta["device_id"]))
        local_user, local_team = str(meta["user_id"]), str(meta["team_id"])
        self.identity = Identity(
            user_id=state.get("account_user_id") or local_user,
            display_name=str(meta["display_name"]),
            team_id=state.get("account_team_id") or local_team,
            device_id=str(meta["device_id"]),
            local_user_id=local_user, local_team_id=local_team,
        )
        self.key = DeviceKey.from_private_bytes(bytes(meta["device_private_key"]))
        self.users: dict[str, str] = json.loads(meta.get("users") or "{}")
        # The team's roles ("practitioner", "manager") and the local ids that name an
        # account's older events, as the store said at sign-in (``app.sync.local``).
        self.roles: dict[str, str] = json.loads(meta.get("roles") or "{}")
        self.aliases: dict[str, str] = json.loads(meta.get("aliases") or "{}")
        self.hlc = HybridLogicalClock(self.identity.device_id, own_last, wall=self.clock.ms)
        # The end of this laptop's chain, kept beside the vault (see app.tip). While the
        # vault lacks changes its tip knows of, the tip stays as it is (frozen) until the
        # practitioner restores a backup or accepts the loss.
        self.tip_file = tip.TipFile(tip.tip_path(vault.path))
        self.missing_changes: tip.MissingChanges | None = None
        self.changed_since_backup = False
        self.housekeeping = WhenQuiet(self._when_quiet)
        # (device_seq, hash, signature) of this device's newest committed event, once
        # read: the next event links to it without asking the vault on every save.
        self._chain_end: tuple[int, bytes, bytes] | None = None
        self._chain_end_known = False
        self._collecting = threading.local()

    # -- reading -----------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.vault.is_open

    def read(self, fn: Callable[[Connection], T]) -> T:
        with self.lock, self.vault.reported():
            return fn(self.vault.conn)

    def user_name(self, user_id: str) -> str:
        return self.users.get(user_id, "Unknown user")

    # -- writing -----------------------------------------------------------------------------
    def write(self) -> contextlib.AbstractContextManager[Writer]:
        """One transaction; the writer's events, projection and outbox rows commit together."""
        return self.write_as(Writer)

    @contextlib.contextmanager
    def write_as(self, writer_type: Callable[[Unit, Connection], W]) -> Iterator[W]:
        """``write`` with a writer that has more to offer (``Sharelog.bulk``)."""
        with self.lock:
            with self.vault.reported(), self.vault.transaction() as conn:
                writer = writer_type(self, conn)
                yield writer
            if writer.last is not None:  # committed: the chain now ends here
                last = writer.last
                self._chain_end = (last.device_seq, last.hash, last.signature)
                self._chain_end_known = True
            self.committed(writer.last, writer.changes)

    def committed(self, last: SignedEvent | None, changes: ChangeSet) -> None:
        """After a commit (never before): note the change, the chain's new end beside the
        vault, and what changed for whoever collects it."""
        collected: _Collected | None = getattr(self._collecting, "current", None)
        if collected is not None:
            collected.changes |= changes
        self.changed_since_backup = True
        self.housekeeping.changed()
        if last is None or self.missing_changes is not None:
            return
        try:
            self.tip_file.write(tip.ChainTip(last.device_id, last.device_seq, last.hash,
                                             tip.hlc_ms(last.hlc)))
        except OSError as exc:  # the save is committed; the next one will try again
            log.warning("the chain tip could not be written: %s", type(exc).__name__)

    @contextlib.contextmanager
    def collect(self) -> Iterator[_Collected]:
        """Gather what every write made on this thread inside the block changed."""
        outer = getattr(self._collecting, "current", None)
        got = _Collected()
        self._collecting.current = got
        try:
            yield got
        finally:
            self._collecting.current = outer
            if outer is not None:
                outer.changes |= got.changes

    def chain_end(self, conn: Connection) -> tuple[int, bytes, bytes] | None:
        if not self._chain_end_known:
            self._chain_end = store.device_chain_tip(conn, self.identity.device_id)
            self._chain_end_known = True
        return self._chain_end

    def forget_chain_end(self) -> None:
        self._chain_end_known = False

    # -- identity after sign-in --------------------------------------------------------------
    def bind(self, account_user_id: str, account_team_id: str) -> None:
        """From now on, new events carry the account's ids (called by ``app.sync.local``
        once the binding is committed)."""
        ident = self.identity
        self.identity = Identity(account_user_id, ident.display_name, account_team_id,
                                 ident.device_id, ident.local_user_id, ident.local_team_id)

    # -- closing -----------------------------------------------------------------------------
    def _when_quiet(self) -> bool:
        """A few seconds after the last change: everything into the vault file."""
        if not self.lock.acquire(blocking=False):
            return False  # a save or a check is running: try after the next quiet spell
        try:
            if self.vault.is_open:
                self.vault.checkpoint()
            return True
        finally:
            self.lock.release()

    def close(self) -> None:
        """Back up the day's work (if anything changed), checkpoint, close, forget the key."""
        self.housekeeping.stop()  # first, outside the lock: its work takes the lock
        with self.lock:
            if self.vault.is_open and self.changed_since_backup \
                    and self.missing_changes is None:
                try:
                    backups.take_daily(self.vault, self.vault.path.parent / "backups")
                    self.changed_since_backup = False
                except (OSError, VaultError) as exc:
                    log.warning("the day's backup could not be written: %s",
                                type(exc).__name__)
            self.tip_file.close()
            self.vault.lock()


class Writer:
    """Inside one write transaction: signs this device's events and applies them."""

    def __init__(self, unit: Unit, conn: Connection) -> None:
        self.unit = unit
        self.conn = conn
        self.last: SignedEvent | None = None  # the newest event of this device, this transaction
        self.changes = NOTHING

    def note(self, changes: ChangeSet) -> None:
        self.changes |= changes

    def emit(self, entity: str, kind: str, record_id: str, entity_id: str, *,
             parents: Iterable[str], payload: dict[str, Any], owner_id: str | None = None,
             assignee_id: str | None = None) -> SignedEvent:
        """Sign a new event of this device (envelope v2) and apply it as every event is
        applied (``app.ingest.admit``). ``owner_id`` is the record's owner and
        ``assignee_id`` who holds a follow-up after the event; both are read from the
        vault when not given (a new record is its author's)."""
        unit = self.unit
        ident = unit.identity
        if owner_id is None:
            owner_id = ident.user_id if kind == "decision.create" else (
                store.decision_owner(self.conn, record_id) or ident.user_id)
        if entity != "followup":
            assignee_id = ""
        elif assignee_id is None:
            assignee_id = ident.user_id if kind == "followup.create" else (
                store.followup_holder(self.conn, entity_id) or ident.user_id)
        end = ((self.last.device_seq, self.last.hash, self.last.signature)
               if self.last is not None else unit.chain_end(self.conn))
        seq, prev_hash = (end[0] + 1, chain_link(end[1], end[2])) if end else (1, GENESIS_HASH)
        ev = make_signed_event(
            key=unit.key, entity=entity, kind=kind, record_id=record_id, entity_id=entity_id,
            team_id=ident.team_id, author_id=ident.user_id, device_id=ident.device_id,
            device_seq=seq, hlc=unit.hlc.now(), parents=sorted(parents), owner_id=owner_id,
            assignee_id=assignee_id, payload=payload, prev_hash=prev_hash,
            event_id=uuid7(unit.clock.ms()), schema_version=SCHEMA_V2,
        )
        self.append(ev)
        return ev

    def append(self, ev: SignedEvent) -> Admission:
        """Apply an event this device signed (the next of its chain) and queue it for
        the store. A change the vault cannot take raises ``InvalidChange``."""
        from app.ingest import Refused, admit

        try:
            admitted = admit(self.conn, ev, local=True)
        except Refused as refusal:  # a change that cannot follow what the vault holds
            raise InvalidChange(refusal.words) from None
        self.last = ev
        self.note(admitted.changes)
        return admitted

    # -- helpers several capabilities share -----------------------------------------------
    def new_id(self) -> str:
        return uuid7(self.unit.clock.ms())
