"""The one path every event takes into the vault: a local save and a pulled page alike.

``admit(conn, event, local=...)`` checks an event against what the vault holds and
applies it: what it changes must be there (a change for a record or follow-up not yet
held *waits* for it; a second creation is *refused*), it must continue its device's
chain where the vault holds the neighbours, and its kind must be one this Sharelog
knows (else it is kept as *needing a newer Sharelog*). Then it is stored, queued for
the store when it is this device's own, and projected (``app.projection.apply_event``).

``Ingest.apply(events, device_keys=..., cursor=...)`` is what the sync engine calls with
a pulled page:

1. offered device keys are pinned on first sight; a different key for a pinned device
   is refused (``IngestResult.key_conflicts``) and the pinned one kept;
2. each event's envelope, hash and signature are verified against the pinned key,
   outside the vault's lock (no disk, so a save is never held up by the cryptography);
   a long pull has the next page verified, and its contents checked
   (``check_ahead``), in another process while this one applies;
3. the events are applied in short transactions (a thousand events, or 50 ms once
   someone waits for the vault): in the common case all under one SAVEPOINT, and at a
   failure again one by one under a SAVEPOINT each, so one bad event is quarantined,
   with its reason in words, and never aborts its page; an event already held is
   skipped. What the checks ask of the vault (held ids, chain neighbours, created
   records and follow-ups) is read once per transaction (``Known``);
4. each applied event is observed by the hybrid logical clock (bounded: a device whose
   clock runs a year ahead cannot drag this one there);
5. the cursor is saved in the transaction that applies the page's last events, so a
   page is never counted as pulled before all of it is in the vault. A cut (SIGKILL)
   between transactions leaves events applied and the cursor behind: pulling the page
   again skips what is held.

Nothing is ever deleted from quarantine: an event waiting for its record is applied
when the record arrives (in this page or a later one) and its row marked ``applied``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app import __version__
from app.envelope import (
    SCHEMA_V1,
    EnvelopeError,
    SignedEvent,
    Verifier,
    check_shape,
    from_wire,
    to_wire,
)
from app.events import GENESIS_HASH, HybridLogicalClock, canonical, chain_link
from app.model import FollowUpKind
from app.projection import (
    Applied,
    ProjectionError,
    apply_event,
    event_to_row,
    loads,
)
from app.record_data import read_record
from app.unit import NOTHING, ChangeSet, Unit, Writer
from db import store
from db.vault import Connection, IntegrityError

REFUSED = "refused"
WAITING = "waiting"
NEWER = "newer"
APPLIED = "applied"

KINDS = {
    "decision": frozenset({"decision.create", "decision.correct", "decision.withdraw"}),
    "followup": frozenset({"followup.create", "followup.done", "followup.cancel",
                           "followup.reschedule", "followup.reassign"}),
}
CREATES = frozenset({"decision.create", "followup.create"})
MAX_NOTE_CHARS = 20_000
MAX_TITLE_CHARS = 500
NEWER_WORDS = "It was made by a newer Sharelog: update Sharelog to read it."
NEWER_CHECKED_KEY = "newer_events_checked_by"
ALL_KEPT = (REFUSED, WAITING, NEWER)

WORDS = {
    "bad_hash": "Its contents do not match its signature: it was altered.",
    "bad_signature": "It is not signed by its device's key.",
    "broken_chain": "It does not follow the change before it from the same device.",
    "fork": "Another change already holds its place in its device's chain.",
    "event_id_conflict": "Another change with the same id is already held.",
    "duplicate_create": "What it creates already exists: a second creation is refused.",
    "wrong_record": "It changes a follow-up that belongs to another record.",
    "wrong_entity": "What it changes does not match the record it names.",
    "no_parents": "It names no earlier version that it follows.",
    "unreadable": "Its content cannot be read.",
    "record_content": "Its record holds values Sharelog cannot take.",
    "bad_clock": "Its clock stamp cannot be read.",
    "not_applied": "It could not be applied to its record.",
    "unknown_device": "It was made on a device whose key this vault has not been given; "
                      "it is applied once the key arrives.",
    "waiting_record": "It changes a record this vault does not hold yet; it is applied "
                      "when the record arrives.",
    "waiting_followup": "It changes a follow-up this vault does not hold yet; it is "
                        "applied when the follow-up arrives.",
}


class Refused(Exception):
    """An event that cannot be applied now, with a stable code and a reason in words (no
    record content). ``status`` says what becomes of it: refused for good, waiting for
    ``target`` to arrive, or needing a newer Sharelog."""

    def __init__(self, code: str, *, status: str = REFUSED, target: str = "",
                 words: str | None = None) -> None:
        self.code = code
        self.status = status
        self.target = target
        self.words = words or (NEWER_WORDS if status == NEWER else WORDS.get(code, code))
        super().__init__(self.words)


@dataclass(frozen=True)
class Admission:
    applied: Applied
    local: bool = False  # this device's own: queued for the store

    @property
    def changes(self) -> ChangeSet:
        changes = ChangeSet.of(self.applied)
        return changes | ChangeSet(sync=True) if self.local else changes


# -- what an event must be -------------------------------------------------------------------
# Unicode's control characters (category Cc) but tab, line feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _note(value: Any, limit: int = MAX_NOTE_CHARS) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise Refused("unreadable")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("unreadable") from None
    if _CONTROL.search(value):
        raise Refused("unreadable")
    return value


def _date(value: Any) -> None:
    try:
        dt.date.fromisoformat(_note(value, 10))
    except ValueError:
        raise Refused("unreadable") from None


_FOLLOWUP_KINDS = frozenset(k.value for k in FollowUpKind)


def check_content(ev: SignedEvent) -> dict[str, Any]:
    """The payload of a pulled event, by its kind (``app.record_data`` for a record): the
    payload as read, for the projection to use rather than read it again."""
    try:
        HybridLogicalClock.parse(ev.hlc)
    except ValueError:
        raise Refused("bad_clock") from None
    try:
        body = loads(ev.payload)
    except (ValueError, UnicodeDecodeError):
        raise Refused("unreadable") from None
    if not isinstance(body, dict):
        raise Refused("unreadable")
    kind = ev.kind
    if ev.entity == "decision":
        if ev.entity_id != ev.record_id:
            raise Refused("wrong_entity")
        if kind == "decision.withdraw":
            _note(body.get("reason", ""))
            return body
        _record, problems = read_record(body.get("record"))
        if problems or "record" not in body:
            raise Refused("record_content")
        if kind == "decision.correct":
            _note(body.get("reason", ""))
        elif ev.schema_version == SCHEMA_V1 and not isinstance(body.get("owner_id", ""), str):
            raise Refused("unreadable")
        return body
    if ev.entity_id == ev.record_id:
        raise Refused("wrong_entity")
    if kind == "followup.create":
        if body.get("kind") not in _FOLLOWUP_KINDS:
            raise Refused("unreadable")
        _note(body.get("title"), MAX_TITLE_CHARS)
        _date(body.get("due_date"))
        if ev.schema_version == SCHEMA_V1:
            _note(body.get("owner_id"), 64)
    elif kind == "followup.done":
        _note(body.get("outcome"))
    elif kind == "followup.cancel":
        _note(body.get("reason"))
    elif kind == "followup.reschedule":
        _date(body.get("due_date"))
        _note(body.get("reason", ""))
    return body


class Known:
    """What the vault holds that a transaction's events are checked against, read once for
    all of them (a query per page, not three per event): which of their ids are held (with
    their hashes), their devices' chains around them, and which of the records and
    follow-ups they name are created. ``add`` keeps it true as each event is applied in
    the transaction; anything asked beyond what was read is looked up in the vault.

    Valid only in the transaction that read it, and only while every event applied in it
    goes through ``add`` (a failed event never does: it was rolled back)."""

    def __init__(self, conn: Connection, events: Sequence[SignedEvent]) -> None:
        ids = list(dict.fromkeys(ev.event_id for ev in events))
        self.hashes = store.event_hashes(conn, ids)
        self._ids_read = set(ids)
        by_device: dict[str, set[int]] = {}
        for ev in events:
            by_device.setdefault(ev.device_id, set()).add(ev.device_seq)
        self._links: dict[tuple[str, int], tuple[str, bytes, bytes, bytes]] = {}
        self._places_read: set[tuple[str, int]] = set()
        for device, places in by_device.items():
            for lo, hi in _runs(sorted(places)):  # one query per run of places
                for seq, held in store.chain_between(conn, device, lo - 1, hi + 1).items():
                    self._links[(device, seq)] = held
                self._places_read.update((device, seq) for seq in range(lo, hi + 1))
        named = list(dict.fromkeys([ev.entity_id for ev in events]
                                   + [ev.record_id for ev in events]))
        created = store.entities_created(conn, named)
        # An entity created twice (only damage does that) is asked of the vault as before.
        self._created = {e: r[0] for e, r in created.items() if len(r) == 1}
        self._created_read = {e for e in named if len(created.get(e, ())) < 2}

    def hash_of(self, conn: Connection, event_id: str) -> bytes | None:
        if event_id in self._ids_read or event_id in self.hashes:
            return self.hashes.get(event_id)
        return store.event_hash_of(conn, event_id)

    def neighbours(self, conn: Connection, device_id: str, device_seq: int
                   ) -> dict[int, tuple[str, bytes, bytes, bytes]]:
        if (device_id, device_seq) not in self._places_read:
            return store.chain_neighbours(conn, device_id, device_seq)
        links = self._links
        return {seq: links[(device_id, seq)] for seq in (device_seq - 1, device_seq,
                                                        device_seq + 1)
                if (device_id, seq) in links}

    def created(self, conn: Connection, entity_id: str) -> str | None:
        if entity_id in self._created_read:
            return self._created.get(entity_id)
        return store.entity_created(conn, entity_id)

    def add(self, ev: SignedEvent) -> None:
        """An event now applied in the transaction."""
        self.hashes[ev.event_id] = ev.hash
        self._links[(ev.device_id, ev.device_seq)] = (ev.event_id, ev.hash, ev.signature,
                                                      ev.prev_hash)
        if ev.kind in CREATES and ev.entity_id in self._created_read:
            self._created.setdefault(ev.entity_id, ev.record_id)


def _runs(places: list[int]) -> list[tuple[int, int]]:
    """Sorted chain positions as runs whose neighbourhoods touch (lowest, highest)."""
    runs: list[tuple[int, int]] = []
    for seq in places:
        if runs and seq - runs[-1][1] <= 3:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _created(conn: Connection, known: Known | None, entity_id: str) -> str | None:
    return store.entity_created(conn, entity_id) if known is None else known.created(
        conn, entity_id)


def check_target(conn: Connection, ev: SignedEvent, known: Known | None = None) -> None:
    """What the event changes must be held, once (else it waits, or is refused)."""
    if ev.kind in CREATES:
        if ev.parents:
            raise Refused("wrong_entity")
        if _created(conn, known, ev.entity_id) is not None:
            raise Refused("duplicate_create")
        if ev.kind == "followup.create" and _created(conn, known, ev.record_id) is None:
            raise Refused("waiting_record", status=WAITING, target=ev.record_id)
        return
    if not ev.parents:
        raise Refused("no_parents")
    held = _created(conn, known, ev.entity_id)
    if held is None:
        waiting = "waiting_record" if ev.entity == "decision" else "waiting_followup"
        raise Refused(waiting, status=WAITING, target=ev.entity_id)
    if held != ev.record_id:
        raise Refused("wrong_record")


def check_chain(conn: Connection, ev: SignedEvent, known: Known | None = None) -> None:
    """Where the vault holds its neighbours in the device's chain, the event links to them."""
    near = (store.chain_neighbours(conn, ev.device_id, ev.device_seq) if known is None
            else known.neighbours(conn, ev.device_id, ev.device_seq))
    there = near.get(ev.device_seq)
    if there is not None and there[0] != ev.event_id:
        raise Refused("fork")
    if ev.device_seq == 1:
        if ev.prev_hash != GENESIS_HASH:
            raise Refused("broken_chain")
    else:
        before = near.get(ev.device_seq - 1)
        if before is not None and chain_link(before[1], before[2]) != ev.prev_hash:
            raise Refused("broken_chain")
    after = near.get(ev.device_seq + 1)
    if after is not None and after[3] != ev.link():
        raise Refused("broken_chain")


def admit(conn: Connection, ev: SignedEvent, *, local: bool,
          store_seq: int | None = None, known: Known | None = None,
          content: str | None = None) -> Admission:
    """Check one event against the vault, store it and project it (the caller's
    transaction; a pulled event runs under a savepoint). Raises ``Refused``.
    ``known``: what the vault holds, read for the transaction's events at once (the caller
    ``add``s the event to it once it stays applied). ``content``: what ``check_content``
    said of this event ahead (``check_ahead``: "" it holds, else the code it refused it
    by); None: check it here.

    A local event was made from checked input by this device, the next of its own chain:
    its content and chain are not checked again, nor is a creation's new random id; what
    a change changes is.
    """
    kinds = KINDS.get(ev.entity)
    if kinds is None or ev.kind not in kinds:
        raise Refused("unknown_kind", status=NEWER)
    body = None
    if not local:
        if content is None:
            body = check_content(ev)
        elif content:
            raise Refused(content)
        else:
            body = loads(ev.payload)  # checked ahead: an object, with what its kind needs
        check_chain(conn, ev, known)
        check_target(conn, ev, known)
    elif ev.kind not in CREATES:  # a local creation names a new random id
        check_target(conn, ev)
    store.event_insert(conn, event_to_row(ev), outbox=local, store_seq=store_seq)
    return Admission(apply_event(conn, ev, body), local)


# -- a pulled page -----------------------------------------------------------------------------
class Pulled(Protocol):
    """An event with the store's sequence (``app.sync.transport.PulledEvent`` is one)."""

    @property
    def seq(self) -> int: ...
    @property
    def event(self) -> SignedEvent: ...


@dataclass(frozen=True)
class Quarantined:
    """An event kept aside, with why (no record content)."""

    event_id: str
    device_id: str
    device_seq: int
    record_id: str
    status: str  # REFUSED | WAITING | NEWER (| APPLIED once a waiting one was applied)
    reason_code: str
    reason: str
    received_at: str  # UTC

    @property
    def needs_newer_sharelog(self) -> bool:
        return self.status == NEWER


@dataclass(frozen=True)
class IngestResult:
    applied: tuple[str, ...]  # event ids applied by this call (waiting ones included)
    already_held: int  # skipped: held, or already kept in quarantine
    quarantined: tuple[Quarantined, ...]  # kept aside by this call
    key_conflicts: tuple[str, ...]  # devices offered with another key than the pinned one
    cursor: int | None  # the cursor saved with the last events, if one was given
    changes: ChangeSet

    def _of(self, status: str) -> tuple[Quarantined, ...]:
        return tuple(q for q in self.quarantined if q.status == status)

    @property
    def refused(self) -> tuple[Quarantined, ...]:
        return self._of(REFUSED)

    @property
    def waiting(self) -> tuple[Quarantined, ...]:
        return self._of(WAITING)

    @property
    def newer(self) -> tuple[Quarantined, ...]:
        return self._of(NEWER)


def _utc_now(unit: Unit) -> str:
    return dt.datetime.fromtimestamp(unit.clock.time(), dt.UTC).isoformat(timespec="seconds")


class _Run:
    """What one ``Ingest.apply`` call did so far."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.held = 0
        self.quarantined: dict[tuple[str, bytes], Quarantined] = {}
        self.changes = NOTHING
        # Whether the vault kept any event aside before this call (else nothing need be
        # looked up there: the common case, a clean page, asks the vault less).
        self.kept_before = True
        self.waiting_before = True
        self.fast = False  # events under the transaction's one savepoint (Ingest._events)
        self.observe: list[str] = []  # clock stamps of applied events, not yet observed
        self.pending: list[Applied] = []  # what each applied event changed, joined in take()
        self.known: Known | None = None  # what the vault holds, for this transaction

    def take(self) -> ChangeSet:
        """What changed since the last ``take``."""
        pending = self.pending
        out = ChangeSet.union([self.changes, ChangeSet(
            records=frozenset(a.record_id for a in pending if a.decision),
            followups=frozenset(f for a in pending for f in a.followups),
            conflicts=frozenset(a.record_id for a in pending if a.conflict))])
        self.changes, self.pending = NOTHING, []
        return out

    def mark(self) -> tuple[int, int, dict[tuple[str, bytes], Quarantined], ChangeSet,
                            int, int]:
        """Where the run is, to go back to when a transaction's events are done again."""
        return (len(self.applied), self.held, dict(self.quarantined), self.changes,
                len(self.observe), len(self.pending))

    def restore(self, mark: tuple[int, int, dict[tuple[str, bytes], Quarantined],
                                  ChangeSet, int, int]) -> None:
        applied, self.held, quarantined, self.changes, observe, pending = mark
        del self.applied[applied:]
        self.quarantined = quarantined
        del self.observe[observe:]
        del self.pending[pending:]


class _Redo(Exception):
    """An event failed on the fast path: its transaction's events go again one by one."""


class Ingest:
    """Pulled events into the vault, through ``admit`` (see the module's docstring)."""

    # A transaction ends after this many events, or once a save (or any other call)
    # waits for the vault and this one has run ``chunk_seconds``: a practitioner's save
    # waits for a short part of a pull, never the whole of it.
    chunk_events = 1000
    chunk_seconds = 0.05

    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def keys(self, device_keys: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
        """The keys a page will be verified by: every pinned key, and offered keys of
        devices not pinned yet (an offered key never replaces a pinned one)."""
        pinned = self.unit.read(store.device_keys)
        return {**{d: bytes(k) for d, k in (device_keys or {}).items()}, **pinned}

    def apply(self, events: Sequence[SignedEvent | Pulled], *,
              device_keys: Mapping[str, bytes] | None = None,
              cursor: int | None = None, verified: Verified | None = None) -> IngestResult:
        """Apply a page of events from anywhere (other devices, the store), in any order.

        ``device_keys`` maps device ids to Ed25519 public keys (the store's
        ``GET /v1/devices``); ``cursor`` is the page's ``next_since``, saved with its last
        events. ``verified``: the page already verified (``verify_events`` over these
        events, by ``self.keys(device_keys)``); it is used only if those were the keys.
        Never raises for a bad event: it is quarantined and reported.
        """
        unit = self.unit
        arrivals: list[tuple[SignedEvent, int | None]] = [
            (item, None) if isinstance(item, SignedEvent) else (item.event, int(item.seq))
            for item in events]
        offered = dict(device_keys or {})

        def keys_and_waiting(conn: Connection) -> tuple[dict[str, bytes],
                                                        list[tuple[SignedEvent, int | None]]]:
            pinned = store.device_keys(conn)
            woken = []
            for device in offered.keys() - pinned.keys():
                woken += _decode(store.quarantine_waiting_for(conn, _device_target(device)))
            return pinned, woken

        pinned, woken = unit.read(keys_and_waiting)
        key_conflicts = tuple(sorted(d for d, k in offered.items()
                                     if d in pinned and bytes(pinned[d]) != bytes(k)))
        new_keys = {d: bytes(k) for d, k in offered.items() if d not in pinned}
        keys = {**new_keys, **pinned}
        contents: Sequence[str | None] | None = None
        if (verified is not None and not woken and verified.keys == keys
                and len(verified.verdicts) == len(arrivals)):
            verdicts = [_refusal(v) for v in verified.verdicts]
            if verified.contents is not None and len(verified.contents) == len(arrivals):
                contents = verified.contents
        else:
            arrivals = woken + arrivals
            verdicts = _verify_all(arrivals, keys)  # the slow part, outside the lock
        if contents is None:
            contents = [None] * len(arrivals)

        run = _Run()
        done: list[ChangeSet] = []
        i = 0
        first = True
        while first or i < len(arrivals):
            with unit.write() as w:
                if first:
                    when = _utc_now(unit)
                    for device, key in sorted(new_keys.items()):
                        store.device_put(w.conn, device, "", key, when)
                    self._retry_newer(w, run)
                    run.kept_before = store.quarantine_count(w.conn, ALL_KEPT) > 0
                    run.waiting_before = store.quarantine_count(w.conn, (WAITING,)) > 0
                    first = False
                started = time.monotonic()
                start = i
                # Optimistically, the transaction's events in one go under one savepoint (a
                # savepoint per event cost about 40 us each, a third of the vault's time on
                # a first pull); at the first failure, all of them again one by one under
                # their own savepoints, so a bad event is still quarantined alone.
                w.conn.execute("SAVEPOINT ingest_chunk")
                mark = run.mark()
                page = (arrivals, verdicts, contents)
                try:
                    i = self._events(w, *page, start, run, started, fast=True)
                except _Redo:
                    w.conn.execute("ROLLBACK TO ingest_chunk")
                    run.restore(mark)
                    i = self._events(w, *page, start, run, started, fast=False)
                except BaseException:
                    w.conn.execute("ROLLBACK TO ingest_chunk")
                    w.conn.execute("RELEASE ingest_chunk")
                    raise  # the vault itself failed (a full disk): the transaction goes
                w.conn.execute("RELEASE ingest_chunk")
                for stamp in run.observe:  # only events that stayed applied move the clock
                    unit.hlc.observe(stamp)
                run.observe.clear()
                if i >= len(arrivals) and cursor is not None:
                    current = int(store.sync_state_get(w.conn)["last_pulled_seq"])
                    if cursor > current:
                        store.sync_state_set(w.conn, last_pulled_seq=cursor)
                        w.note(ChangeSet(sync=True))
                w.note(run.take())
            done.append(w.changes)
        return IngestResult(tuple(run.applied), run.held, tuple(run.quarantined.values()),
                            key_conflicts, cursor, ChangeSet.union(done))

    def _events(self, w: Writer, arrivals: Sequence[tuple[SignedEvent, int | None]],
                verdicts: Sequence[Refused | None], contents: Sequence[str | None], i: int,
                run: _Run, started: float, *, fast: bool) -> int:
        """Events from ``i`` on, until the transaction has done its share: the index after
        the last one done. ``fast``: no savepoint per event, ``_Redo`` at a failure.
        ``contents``: each event's content checked ahead (``check_ahead``), or None."""
        lock = self.unit.lock
        done_here = 0
        run.fast = fast
        run.known = Known(w.conn, [ev for ev, _seq in arrivals[i:i + self.chunk_events]])
        while i < len(arrivals) and done_here < self.chunk_events:
            ev, seq = arrivals[i]
            self._one(w, ev, seq, verdicts[i], run, contents[i])
            i += 1
            done_here += 1
            if lock.waiting and time.monotonic() - started >= self.chunk_seconds:
                break  # someone waits for the vault: let them in
        return i

    # -- one event -------------------------------------------------------------------------
    def _one(self, w: Writer, ev: SignedEvent, seq: int | None, verdict: Refused | None,
             run: _Run, content: str | None = None) -> None:
        conn = w.conn
        held = (store.event_hash_of(conn, ev.event_id) if run.known is None
                else run.known.hash_of(conn, ev.event_id))
        if held is not None:
            if held == ev.hash:
                run.held += 1
                if seq is not None:
                    store.event_set_store_seq(conn, ev.event_id, seq)
                return
            verdict = Refused("event_id_conflict")
        status = None
        if run.kept_before or (ev.event_id, ev.hash) in run.quarantined:
            status = store.quarantine_status(conn, ev.event_id, ev.hash)
        if status in (REFUSED, NEWER, APPLIED) and verdict is None:
            run.held += 1
            return
        if verdict is not None:
            self._quarantine(conn, ev, seq, verdict, run)
            return
        self._admit(w, ev, seq, run, kept=status is not None, fast=run.fast, content=content)

    def _admit(self, w: Writer, ev: SignedEvent, seq: int | None, run: _Run, *,
               kept: bool, fast: bool = False, content: str | None = None) -> None:
        """``fast``: under the caller's savepoint only; any failure raises ``_Redo`` (the
        caller rolls back and does it all again with a savepoint per event). ``content``:
        what ``check_ahead`` said of the event's content (None: not checked)."""
        conn = w.conn
        queue = [(ev, seq, kept)]
        while queue:
            ev, seq, kept = queue.pop(0)
            checked, content = content, None  # woken events are checked here
            if fast:
                try:
                    admitted = admit(conn, ev, local=False, store_seq=seq, known=run.known,
                                     content=checked)
                except (Refused, ProjectionError, IntegrityError, KeyError, TypeError,
                        ValueError, AttributeError):
                    raise _Redo() from None
                self._admitted(conn, ev, admitted, run, kept, queue)
                continue
            conn.execute("SAVEPOINT ingest_event")
            try:
                admitted = admit(conn, ev, local=False, store_seq=seq, known=run.known,
                                     content=checked)
            except Refused as refusal:
                conn.execute("ROLLBACK TO ingest_event")
                conn.execute("RELEASE ingest_event")
                self._quarantine(conn, ev, seq, refusal, run)
                continue
            except (ProjectionError, IntegrityError, KeyError, TypeError, ValueError,
                    AttributeError):
                conn.execute("ROLLBACK TO ingest_event")
                conn.execute("RELEASE ingest_event")
                self._quarantine(conn, ev, seq, Refused("not_applied"), run)
                continue
            except BaseException:
                conn.execute("ROLLBACK TO ingest_event")
                conn.execute("RELEASE ingest_event")
                raise  # the vault itself failed (a full disk): the whole transaction goes
            conn.execute("RELEASE ingest_event")
            self._admitted(conn, ev, admitted, run, kept, queue)

    def _admitted(self, conn: Connection, ev: SignedEvent, admitted: Admission, run: _Run,
                  kept: bool, queue: list[tuple[SignedEvent, int | None, bool]]) -> None:
        if run.known is not None:
            run.known.add(ev)
        if kept:
            store.quarantine_set_status(conn, ev.event_id, ev.hash, APPLIED)
            run.quarantined.pop((ev.event_id, ev.hash), None)
            run.changes |= ChangeSet(quarantine=True)
        run.observe.append(ev.hlc)  # observed once the transaction's events stay applied
        run.applied.append(ev.event_id)
        run.pending.append(admitted.applied)
        if ev.kind in CREATES and (run.waiting_before or any(
                q.status == WAITING for q in run.quarantined.values())):
            queue += [(woken, woken_seq, True) for woken, woken_seq in
                      _decode(store.quarantine_waiting_for(conn, ev.entity_id))]

    def _quarantine(self, conn: Connection, ev: SignedEvent, seq: int | None,
                    refusal: Refused, run: _Run) -> None:
        when = _utc_now(self.unit)
        store.quarantine_put(conn, (
            ev.event_id, ev.hash, refusal.status, refusal.code, refusal.words, ev.device_id,
            ev.device_seq, ev.record_id, refusal.target, seq, 0, canonical(to_wire(ev)),
            when))
        run.quarantined[(ev.event_id, ev.hash)] = Quarantined(
            ev.event_id, ev.device_id, ev.device_seq, ev.record_id, refusal.status,
            refusal.code, refusal.words, when)
        run.changes |= ChangeSet(quarantine=True)

    def _retry_newer(self, w: Writer, run: _Run) -> None:
        """Once per version of Sharelog: events an older one kept as needing a newer one."""
        conn = w.conn
        if store.meta_get(conn, NEWER_CHECKED_KEY) == __version__:
            return
        kept = _decode([(r[11], r[9]) for r in store.quarantine_by_status(conn, (NEWER,))])
        if kept:
            keys = store.device_keys(conn)
            for (ev, seq), verdict in zip(kept, _verify_all(kept, keys), strict=True):
                if verdict is None:
                    self._admit(w, ev, seq, run, kept=True)
                else:
                    self._quarantine(conn, ev, seq, verdict, run)
        store.meta_set(conn, NEWER_CHECKED_KEY, __version__)


def _device_target(device_id: str) -> str:
    return f"device:{device_id}"


def _decode(rows: Iterable[tuple[Any, ...]]) -> list[tuple[SignedEvent, int | None]]:
    out = []
    for wire, seq in rows:
        try:
            out.append((from_wire(json.loads(bytes(wire))), seq))
        except (EnvelopeError, ValueError, TypeError):
            continue  # a kept row this Sharelog cannot read back: it stays as it is
    return out


Verdict = tuple[str, str, str]  # (code, status, target): why an event cannot be taken


def verify_events(events: Sequence[SignedEvent], keys: Mapping[str, bytes]
                  ) -> list[Verdict | None]:
    """Each event's envelope, hash and signature by its device's key: None when it holds,
    else why not. Pure (no vault, no clock): the sync engine may run it in another process
    for the next page while this one applies (``Ingest.apply(..., verified=...)``)."""
    verifiers: dict[bytes, Verifier] = {}
    out: list[Verdict | None] = []
    for ev in events:
        try:
            check_shape(ev)
        except EnvelopeError as exc:
            out.append((exc.code, NEWER if exc.code == "unknown_schema_version" else REFUSED,
                        ""))
            continue
        key = keys.get(ev.device_id)
        if key is None:
            out.append(("unknown_device", WAITING, _device_target(ev.device_id)))
            continue
        verifier = verifiers.get(key)
        if verifier is None:
            verifier = verifiers[key] = Verifier(key)
        try:
            verifier.authenticate(ev)
        except EnvelopeError as exc:
            out.append((exc.code, REFUSED, ""))
            continue
        out.append(None)
    return out


def check_ahead(events: Sequence[SignedEvent], keys: Mapping[str, bytes]
                ) -> tuple[list[Verdict | None], list[str | None]]:
    """``verify_events``, and for each event that holds and is of a known kind what
    ``check_content`` says of it (``contents``: "" it holds, else its refusal's code; None
    not checked, so ingest checks it). Pure like ``verify_events``: the sync engine runs it
    for the next page in another process, which takes the content check (a fifth of an
    event's cost in ingest) off the applying one."""
    verdicts = verify_events(events, keys)
    contents: list[str | None] = []
    for ev, verdict in zip(events, verdicts, strict=True):
        kinds = KINDS.get(ev.entity)
        if verdict is not None or kinds is None or ev.kind not in kinds:
            contents.append(None)
            continue
        try:
            check_content(ev)
        except Refused as refusal:
            contents.append(refusal.code)
            continue
        except Exception:  # noqa: BLE001 - whatever else: ingest checks it again itself
            contents.append(None)
            continue
        contents.append("")
    return verdicts, contents


@dataclass(frozen=True)
class Verified:
    """A page verified ahead (``verify_events``, or ``check_ahead`` with its ``contents``),
    with the keys it was verified by."""

    keys: dict[str, bytes]
    verdicts: list[Verdict | None]
    contents: list[str | None] | None = None


def _refusal(verdict: Verdict | None) -> Refused | None:
    if verdict is None:
        return None
    code, status, target = verdict
    words = None if status != REFUSED else WORDS.get(code, "It could not be verified.")
    return Refused(code, status=status, target=target, words=words)


def _verify_all(arrivals: Sequence[tuple[SignedEvent, int | None]],
                keys: Mapping[str, bytes]) -> list[Refused | None]:
    return [_refusal(v) for v in verify_events([ev for ev, _seq in arrivals], keys)]
