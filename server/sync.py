"""Push, pull, tips and digests: the store's side of the sync protocol.

The store reads envelopes only, never payloads. A push is one transaction that first
locks the team's counter row, so pull sequence numbers are given in commit order and
a puller that has read the counter sees every event at or below it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)

from app.envelope import (
    DIGEST_TAG,
    GENESIS_HASH,
    REASSIGN_KIND,
    SUPPORTED_SCHEMA_VERSIONS,
    EnvelopeError,
    SignedEvent,
    Verifier,
    check_shape,
    parents_text,
)
from app.events import chain_link
from server import accounts
from server import schema as s
from server.accounts import DeviceContext, Role, now_iso
from server.database import Batch, Rows
from server.errors import StoreError, forbidden

MAX_BATCH_EVENTS = 500
MAX_PULL_LIMIT = 1000

# Refusals of an authentic event on grounds of rights, state or size: its device may
# acknowledge them so its chain goes on past the refused event (docs/sync-protocol.md).
RIGHTS = {"wrong_author", "wrong_team", "not_owner", "not_assignee", "not_manager",
          "wrong_owner"}
STATE = {"unknown_record", "unknown_followup", "record_exists", "followup_exists",
         "assignee_not_in_team", "wrong_record", "parent_refused"}


def _refusal(code: str, message: str, ev: SignedEvent, index: int) -> StoreError:
    status = 403 if code in RIGHTS else 409 if code in STATE else 422
    return StoreError(status, code, message, event_id=ev.event_id, index=index,
                      acknowledgeable=True)


@dataclass
class _TeamState:
    """What the push's checks need, read once under the team's lock."""

    aliases: dict[str, str]
    roles: dict[str, str]
    local_teams: set[str]
    records: dict[str, str] = field(default_factory=dict)  # record -> owner (account id)
    followups: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (record, assignee)
    holders: dict[str, set[str]] = field(default_factory=dict)  # record -> follow-up holders

    def resolve(self, user_id: str) -> str:
        return self.aliases.get(user_id, user_id)

    def can_see(self, user_id: str, record_id: str) -> bool:
        return (self.records.get(record_id) == user_id
                or user_id in self.holders.get(record_id, set()))


@dataclass(frozen=True)
class PushResult:
    event_id: str
    seq: int | None
    status: str  # "stored" | "refused"
    reason: str | None


@dataclass(frozen=True)
class ChainTip:
    device_id: str
    user_id: str
    device_seq: int
    hash: bytes | None
    signature: bytes | None
    revoked: bool


def authenticate_batch(ctx: DeviceContext, batch: list[SignedEvent]) -> None:
    """Checks that need no database: device, order, hash, signature, links within."""
    if not batch:
        return
    if len(batch) > MAX_BATCH_EVENTS:
        raise StoreError(413, "batch_too_large",
                         f"A push may carry at most {MAX_BATCH_EVENTS} events: send fewer.")
    verifier = Verifier(ctx.public_key)
    seen: set[str] = set()
    for i, ev in enumerate(batch):
        if ev.event_id in seen:
            raise StoreError(422, "duplicate_event_id", "A push carries each event once.",
                             event_id=ev.event_id, index=i)
        seen.add(ev.event_id)
        if ev.device_id != ctx.device_id:
            raise StoreError(422, "wrong_device", "A device pushes only its own events.",
                             event_id=ev.event_id, index=i)
        if i and ev.device_seq != batch[i - 1].device_seq + 1:
            raise StoreError(422, "not_in_device_order",
                             "A push carries consecutive events of the device's chain.",
                             event_id=ev.event_id, index=i)
        if ev.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            raise StoreError(422, "store_too_old", "This store is older than the Sharelog "
                             "that made the event: the store must be updated.",
                             event_id=ev.event_id, index=i)
        try:
            verifier.authenticate(ev)
        except EnvelopeError as exc:
            raise StoreError(422, exc.code, exc.message, event_id=ev.event_id,
                             index=i) from exc
        if i and ev.prev_hash != batch[i - 1].link():
            raise StoreError(409, "broken_chain",
                             "The event does not continue its device's chain.",
                             event_id=ev.event_id, index=i)


@dataclass
class _Read:
    """What a push's checks read, under the device's lock: the team's state, and what a
    retry already stored (``held``) or had refused (``refused``, which also holds those of
    the batch's parents the store refused), by event id."""

    state: _TeamState
    held: dict[str, Any]
    refused: dict[str, Any]


def open_push(conn: Connection, token: str | None,
              batch: list[SignedEvent] | None) -> tuple[DeviceContext, _Read | None]:
    """The pushing device, its row locked to the end of the transaction (two pushes of one
    device, a retry overtaking its original, take turns), and what ``batch``'s checks
    read (None without a batch): one round trip, the lock taken before the reads."""
    params = accounts.token_params(token)
    reads = Batch(conn)
    auth = reads.add(accounts.AUTH_LOCKED, params, prepare=True)
    state = (reads.add(_BATCH_STATE, _state_params(params["team"], batch), prepare=True)
             if batch else None)
    reads.run()
    ctx = accounts.device_context(auth.first(), params["team"])
    return ctx, (_read_state(ctx, state.rows) if state is not None else None)


def push(conn: Connection, ctx: DeviceContext, batch: list[SignedEvent],
         acknowledged: set[str], read: _Read | None = None) -> tuple[list[PushResult], ChainTip]:
    """Check and store a batch, and commit. ``ctx`` (and ``read``, if given) must come from
    ``open_push`` in this transaction: the device's tip is then settled."""
    authenticate_batch(ctx, batch)
    if read is None:
        read = _load(conn, ctx, batch)
    planned = _apply(ctx, batch, acknowledged, read)
    n = len(planned.rows)
    writes = Batch(conn)
    writes.add_many(_INSERT_REFUSED, planned.refusals)
    writes.add_many(accounts.AUDIT, [accounts.audit_params(
        ctx.team_id, "push.refused", user_id=ctx.user_id, device_id=ctx.device_id, count=1,
        outcome=r["reason"]) for r in planned.refusals])
    if planned.rows or planned.refusals:
        tip = planned.tip
        writes.add(_SET_TIP, {"team": ctx.team_id, "device": ctx.device_id,
                              "seq": tip.device_seq, "hash": tip.hash, "sig": tip.signature,
                              "now": planned.now}, prepare=True)
    writes.add(accounts.AUDIT, accounts.audit_params(
        ctx.team_id, "push", user_id=ctx.user_id, device_id=ctx.device_id, count=n,
        outcome="ok"), prepare=True)
    numbers = None
    if planned.rows:
        # Numbers are taken last, under the team's counter row lock held to commit, so
        # sequence order is commit order; every row's number is worked out from the
        # counter in SQL, so the lock is held for PostgreSQL's own work and the commit,
        # never for a round trip to this process.
        numbers = writes.add(_TAKE_NUMBERS, {"team": ctx.team_id, "n": n}, prepare=True)
        counted = {"counter_team": ctx.team_id, "batch_n": n}
        writes.add_many(_INSERT_EVENTS, [{**row, **counted} for row in planned.rows])
        planned.effects.queue(writes, ctx.team_id, counted)
    writes.run(commit=True)
    if numbers is not None:
        planned.number(int(numbers.first()[0]) - n)
    return planned.results, planned.tip


@dataclass
class _Planned:
    """A checked batch before it has sequence numbers (relative ones, from 1)."""

    results: list[PushResult]
    tip: ChainTip
    rows: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    effects: _Effects
    now: str

    def number(self, base: int) -> None:
        self.results = [PushResult(r.event_id, (r.seq or 0) + base, r.status, r.reason)
                        if r.status == "stored" and r.event_id in self.effects.new_ids else r
                        for r in self.results]


def _apply(ctx: DeviceContext, batch: list[SignedEvent], acknowledged: set[str],
           read: _Read) -> _Planned:
    """Every check of every event against the state read, and what storing them writes."""
    state, held, refused = read.state, read.held, read.refused
    own_teams = {ctx.team_id} | state.local_teams
    tip_seq, tip_hash, tip_sig = ctx.tip_seq, ctx.tip_hash, ctx.tip_signature
    link = (GENESIS_HASH if tip_seq == 0 or tip_hash is None or tip_sig is None else
            chain_link(tip_hash, tip_sig))
    results: list[PushResult] = []
    rows: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    effects = _Effects()
    now = now_iso()
    last_seq = 0
    refused_here: set[str] = set()
    for i, ev in enumerate(batch):
        if ev.event_id in held:
            if bytes(held[ev.event_id].hash) != ev.hash:
                raise _id_conflict(ev, i)
            results.append(PushResult(ev.event_id, int(held[ev.event_id].seq), "stored", None))
            continue
        if ev.event_id in refused:
            if bytes(refused[ev.event_id].hash) != ev.hash:
                raise _id_conflict(ev, i)
            results.append(PushResult(ev.event_id, None, "refused",
                                      refused[ev.event_id].b))
            continue
        if ev.device_seq != tip_seq + 1 or ev.prev_hash != link:
            raise StoreError(409, "broken_chain",
                             f"The event does not continue this device's chain on the store "
                             f"(the store holds it up to position {tip_seq}).",
                             event_id=ev.event_id, index=i)
        try:
            check_shape(ev)
            _authorise(ctx, state, own_teams, ev)
            if any(p in refused or p in refused_here for p in ev.parents):
                # Made on a change this store refused: no device but its own holds that
                # version, so no other could place this one after it (docs/sync-protocol.md).
                raise _refusal("parent_refused", "The event was made on a change the store "
                               "refused.", ev, i)
        except (EnvelopeError, StoreError) as exc:
            error = (exc if isinstance(exc, StoreError)
                     else _refusal(exc.code, exc.message, ev, i))
            error.event_id, error.index = ev.event_id, i
            if ev.event_id not in acknowledged or not error.acknowledgeable:
                raise error from None
            refusals.append(dict(team_id=ctx.team_id, device_id=ctx.device_id,
                                 device_seq=ev.device_seq, event_id=ev.event_id, kind=ev.kind,
                                 hash=ev.hash, signature=ev.signature, reason=error.code,
                                 refused_at=now))
            results.append(PushResult(ev.event_id, None, "refused", error.code))
            refused_here.add(ev.event_id)
        else:
            last_seq += 1
            effects.new_ids.add(ev.event_id)
            effects.apply(state, ev, last_seq)
            rows.append(_event_row(ctx, state, ev, last_seq, now))
            results.append(PushResult(ev.event_id, last_seq, "stored", None))
        tip_seq, link, tip_hash, tip_sig = ev.device_seq, ev.link(), ev.hash, ev.signature
    tip = ChainTip(ctx.device_id, ctx.user_id, tip_seq,
                   bytes(tip_hash) if tip_hash is not None else None,
                   bytes(tip_sig) if tip_sig is not None else None, False)
    return _Planned(results, tip, rows, refusals, effects, now)


def _id_conflict(ev: SignedEvent, index: int) -> StoreError:
    return StoreError(409, "event_id_conflict", "The store holds a different event with this "
                      "id: an event id is never reused.", event_id=ev.event_id, index=index)


def _state_params(team_id: str, batch: list[SignedEvent]) -> dict[str, Any]:
    ids = [ev.event_id for ev in batch]
    return {"team": team_id, "ids": ids,
            "ids_and_parents": sorted({*ids, *(p for ev in batch for p in ev.parents)}),
            "records": sorted({ev.record_id for ev in batch}),
            "entities": sorted({ev.entity_id for ev in batch})}


def _load(conn: Connection, ctx: DeviceContext, batch: list[SignedEvent]) -> _Read:
    if not batch:
        return _Read(_TeamState(aliases={}, roles={}, local_teams=set()), {}, {})
    return _read_state(ctx, list(conn.execute(_BATCH_STATE,
                                              _state_params(ctx.team_id, batch))))


def _read_state(ctx: DeviceContext, rows: list[Any]) -> _Read:
    """Everything the checks read, from ``_BATCH_STATE``'s rows: what a retry already
    stored or had refused, the team's roles and bindings, and the owners and follow-ups
    of the batch's records."""
    state = _TeamState(aliases={}, roles={}, local_teams=set())
    held: dict[str, Any] = {}
    refused: dict[str, Any] = {}
    for row in rows:
        if row.kind == "held":
            held[row.a] = row
        elif row.kind == "refused":
            refused[row.a] = row
        elif row.kind == "member":
            state.roles[row.a] = row.b
        elif row.kind == "binding":
            state.aliases[row.a] = row.b
            if row.b == ctx.user_id and row.c:
                state.local_teams.add(row.c)
        elif row.kind == "record":
            state.records[row.a] = row.b
        else:  # a follow-up: (record, assignee)
            state.followups[row.a] = (row.c, row.b)
            state.holders.setdefault(row.c, set()).add(row.b)
    return _Read(state, held, refused)


def _authorise(ctx: DeviceContext, st: _TeamState, own_teams: set[str],
               ev: SignedEvent) -> None:
    """The author's right to the change, from the envelope and the store's state only."""
    def refuse(code: str, message: str) -> None:
        raise _refusal(code, message, ev, 0)

    if st.resolve(ev.author_id) != ctx.user_id:
        refuse("wrong_author", "The event's author is not this device's user.")
    if ev.team_id not in own_teams:
        refuse("wrong_team", "The event names another team.")
    author, owner = ctx.user_id, st.resolve(ev.effective_owner)
    manager = ctx.role == Role.MANAGER
    if ev.entity == "decision":
        if ev.kind == "decision.create":
            if ev.record_id in st.records:
                refuse("record_exists", "A record with this id already exists.")
            if owner != author:
                refuse("not_owner", "A new record belongs to the person who made it.")
            return
        if ev.record_id not in st.records:
            refuse("unknown_record", "The store holds no record with this id.")
        if owner != st.records[ev.record_id]:
            refuse("wrong_owner", "The event names another owner than the record's.")
        if author != st.records[ev.record_id]:
            refuse("not_owner", "Only a record's owner corrects or withdraws it.")
        return
    if ev.entity == "followup":
        if ev.record_id not in st.records:
            refuse("unknown_record", "The store holds no record with this id.")
        if owner != st.records[ev.record_id]:
            refuse("wrong_owner", "The event names another owner than the record's.")
        assignee = st.resolve(ev.effective_assignee)
        if st.roles.get(assignee) not in (Role.PRACTITIONER, Role.MANAGER):
            refuse("assignee_not_in_team", "A follow-up is held by a member of the team.")
        current = st.followups.get(ev.entity_id)
        if ev.kind == "followup.create":
            if current is not None:
                refuse("followup_exists", "A follow-up with this id already exists.")
            if author != owner and not manager:
                refuse("not_owner", "Only the record's owner or a manager adds a follow-up.")
            if assignee != author and not manager:
                refuse("not_manager", "Only a manager gives a follow-up to someone else.")
            return
        if current is None:
            refuse("unknown_followup", "The store holds no follow-up with this id.")
            return
        if current[0] != ev.record_id:
            refuse("wrong_record", "The follow-up belongs to another record.")
        if ev.kind == REASSIGN_KIND:
            if not manager:
                refuse("not_manager", "Only a manager reassigns a follow-up.")
            return
        if author != current[1] and not manager:
            refuse("not_assignee",
                   "Only the follow-up's assignee or a manager of the team changes it.")
        if assignee != current[1]:
            refuse("not_manager", "Only a manager reassigns a follow-up.")
        return
    raise StoreError(422, "unknown_entity", "This store is older than the Sharelog that made "
                     "the event: the store must be updated.", event_id=ev.event_id)


class _Effects:
    """The state a batch's stored events change, written once after the checks."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.new_followups: dict[str, dict[str, Any]] = {}
        self.moved: dict[str, str] = {}
        self.grants: dict[tuple[str, str], int] = {}
        self.new_ids: set[str] = set()

    def apply(self, st: _TeamState, ev: SignedEvent, seq: int) -> None:
        if ev.kind == "decision.create":
            owner = st.resolve(ev.effective_owner)
            st.records[ev.record_id] = owner
            # The owner sees the record from its first event on: no grant needed.
            self.records.append(dict(record_id=ev.record_id, owner_user_id=owner,
                                     rel_seq=seq))
            return
        if ev.entity != "followup":
            return
        assignee = st.resolve(ev.effective_assignee)
        previous = st.followups.get(ev.entity_id)
        if previous is not None and previous[1] == assignee:
            return
        if not st.can_see(assignee, ev.record_id):
            self.grants[(assignee, ev.record_id)] = seq
        st.followups[ev.entity_id] = (ev.record_id, assignee)
        holders = st.holders.setdefault(ev.record_id, set())
        holders.add(assignee)
        if previous is None:
            self.new_followups[ev.entity_id] = dict(
                followup_id=ev.entity_id, record_id=ev.record_id, assignee_user_id=assignee)
        else:
            if not any(a == previous[1] for r, a in st.followups.values()
                       if r == ev.record_id):
                holders.discard(previous[1])
            if ev.entity_id in self.new_followups:
                self.new_followups[ev.entity_id]["assignee_user_id"] = assignee
            else:
                self.moved[ev.entity_id] = assignee

    def queue(self, writes: Batch, team_id: str, counted: dict[str, Any]) -> None:
        """The writes, numbered from the counter in SQL (``counted``: see ``push``)."""
        writes.add_many(_INSERT_RECORDS, [{"team_id": team_id, **counted, **r}
                                          for r in self.records])
        writes.add_many(_INSERT_FOLLOWUPS,
                        [{"team_id": team_id, **f} for f in self.new_followups.values()])
        writes.add_many(_MOVE_FOLLOWUP, [{"team": team_id, "fid": f, "assignee": a}
                                         for f, a in self.moved.items()])
        # A grant the user holds already is moved on, else made: both in SQL, under the
        # team's counter lock like every other write of a push, so two pushes granting
        # the same record take turns.
        grants = [{"team": team_id, "u": u, "r": r, "rel_seq": seq, **counted}
                  for (u, r), seq in self.grants.items()]
        writes.add_many(_MOVE_GRANT, grants)
        writes.add_many(_MAKE_GRANT, grants)


def _event_row(ctx: DeviceContext, st: _TeamState, ev: SignedEvent, seq: int,
               now: str) -> dict[str, Any]:
    return dict(
        team_id=ctx.team_id, rel_seq=seq, event_id=ev.event_id, entity=ev.entity, kind=ev.kind,
        record_id=ev.record_id, entity_id=ev.entity_id, env_team_id=ev.team_id,
        author_id=ev.author_id, device_id=ev.device_id, device_seq=ev.device_seq, hlc=ev.hlc,
        parents=parents_text(ev.parents), schema_version=ev.schema_version,
        owner_id=ev.owner_id, assignee_id=ev.assignee_id, payload=ev.payload,
        prev_hash=ev.prev_hash, hash=ev.hash, signature=ev.signature,
        author_user_id=st.resolve(ev.author_id), received_at=now)


# -- pull ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PulledEvent:
    seq: int
    author_user_id: str
    event: SignedEvent


def _visible() -> Any:
    """An event's record is the user's (``:user``) own, or the user holds one of its
    follow-ups. Checked per event by key lookups, so a pull costs what its page holds,
    not what the user has ever owned."""
    e, r, f = s.events, s.records, s.followups
    # The owner by primary key (a scalar subquery leaves the planner no other index to
    # pick, whatever its statistics say); a holder through (team, record, assignee).
    owner = select(r.c.owner_user_id).where(and_(
        r.c.team_id == e.c.team_id, r.c.record_id == e.c.record_id)).scalar_subquery()
    held = select(f.c.followup_id).where(and_(
        f.c.team_id == e.c.team_id, f.c.record_id == e.c.record_id,
        f.c.assignee_user_id == bindparam("user"))).exists()
    return or_(owner == bindparam("user"), held)


def _event_from_row(row: Any) -> PulledEvent:
    return PulledEvent(int(row.seq), row.author_user_id, SignedEvent(
        event_id=row.event_id, entity=row.entity, kind=row.kind, record_id=row.record_id,
        entity_id=row.entity_id, team_id=row.env_team_id, author_id=row.author_id,
        device_id=row.device_id, device_seq=int(row.device_seq), hlc=row.hlc,
        parents=tuple(json.loads(row.parents)), schema_version=int(row.schema_version),
        owner_id=row.owner_id, assignee_id=row.assignee_id, payload=bytes(row.payload),
        prev_hash=bytes(row.prev_hash), hash=bytes(row.hash), signature=bytes(row.signature)))


def team_scope(ctx: DeviceContext, scope: str | None) -> bool:
    """True for the whole team's events; a practitioner asking for it is refused."""
    if scope == "team" and not ctx.is_manager:
        raise forbidden("not_a_manager", "Only a manager's device receives the whole team's "
                        "records.")
    return ctx.is_manager if scope is None else scope == "team"


def pull(conn: Connection, ctx: DeviceContext, since: int, limit: int,
         whole_team: bool) -> tuple[list[PulledEvent], int, bool]:
    """Events after ``since`` the device may see: (events, next cursor, more to come)."""
    # The counter first: every push that took a number at or below it has committed.
    # (``authenticate(..., counter=True)`` read it already, before the events below.)
    last = (ctx.team_last_seq if ctx.team_last_seq is not None else
            int(conn.execute(_LAST_SEQ, {"team": ctx.team_id}).scalar_one()))
    params = {"team": ctx.team_id, "user": ctx.user_id, "since": since, "last": last,
              "limit": limit + 1}
    # The page and the history of records that came into view in one round trip: the
    # history's upper bound is the page's end when the page is whole (it nearly always
    # is); a page cut short asks for the history again up to where it ends.
    reads = Batch(conn)
    page = reads.add(_PULL_TEAM if whole_team else _PULL_OWN, params)
    # Records the user came to see after the cursor come with their whole history.
    wants_history = not whole_team and since > 0
    history = (reads.add(_HISTORY, {**params, "upto": max(last, since)}) if wants_history
               else Rows())
    reads.run()
    rows = page.rows
    has_more = len(rows) > limit
    rows = rows[:limit]
    upto = int(rows[-1].seq) if has_more else max(last, since)
    if wants_history and has_more:
        again = Batch(conn)
        history = again.add(_HISTORY, {**params, "upto": upto})
        again.run()
    return [_event_from_row(r) for r in [*history.rows, *rows]], upto, has_more


def tips(conn: Connection, ctx: DeviceContext, whole_team: bool) -> list[ChainTip]:
    d = s.devices
    query = select(d.c.device_id, d.c.user_id, d.c.tip_seq, d.c.tip_hash, d.c.tip_signature,
                   d.c.revoked_at).where(d.c.team_id == ctx.team_id)
    if not whole_team:
        query = query.where(d.c.user_id == ctx.user_id)
    return [ChainTip(r[0], r[1], int(r[2]), bytes(r[3]) if r[3] is not None else None,
                     bytes(r[4]) if r[4] is not None else None, r[5] is not None)
            for r in conn.execute(query.order_by(d.c.enrolled_at))]


def digest(conn: Connection, ctx: DeviceContext, since: int, upto: int | None,
           whole_team: bool) -> tuple[int, int, bytes, int]:
    """(upto used, count, SHA-256) over the visible events with ``since < seq <= upto``."""
    last = int(conn.execute(_LAST_SEQ, {"team": ctx.team_id}).scalar_one())
    end = last if upto is None else min(upto, last)
    e = s.events
    query = select(e.c.seq, e.c.hash).where(and_(
        e.c.team_id == ctx.team_id, e.c.seq > since, e.c.seq <= end))
    if not whole_team:
        query = query.where(_visible()).params(user=ctx.user_id)
    h = hashlib.sha256(DIGEST_TAG)
    count = 0
    row: Any
    for row in conn.execute(query.order_by(e.c.seq)):
        h.update(int(row[0]).to_bytes(8, "big") + bytes(row[1]))
        count += 1
    return max(end, since), count, h.digest(), last


# -- statements built once (SQLAlchemy reuses their cache keys on every request) ----------

_e, _x, _r, _f, _g = s.events, s.refused_events, s.records, s.followups, s.grants
_TAKE_NUMBERS = (update(s.team_cursor).where(s.team_cursor.c.team_id == bindparam("team"))
                 .values(last_seq=s.team_cursor.c.last_seq + bindparam("n"))
                 .returning(s.team_cursor.c.last_seq))
# A stored row's number: the counter this push has just moved on by ``batch_n``, less
# that, plus the row's place in the batch (from 1). Read in SQL, so no round trip waits.
_NUMBER = (select(s.team_cursor.c.last_seq)
           .where(s.team_cursor.c.team_id == bindparam("counter_team")).scalar_subquery()
           - bindparam("batch_n") + bindparam("rel_seq"))
_INSERT_EVENTS = insert(_e).values(seq=_NUMBER)
_INSERT_RECORDS = insert(_r).values(created_seq=_NUMBER)
_INSERT_REFUSED = insert(_x)
_INSERT_FOLLOWUPS = insert(_f)
_GRANT_KEY = and_(_g.c.team_id == bindparam("team"), _g.c.user_id == bindparam("u"),
                  _g.c.record_id == bindparam("r"))
_MAKE_GRANT = insert(_g).from_select(
    ["team_id", "user_id", "record_id", "granted_seq"],
    select(bindparam("team", type_=String), bindparam("u", type_=String),
           bindparam("r", type_=String), _NUMBER)
    .where(~exists().where(_GRANT_KEY)))
_MOVE_GRANT = update(_g).where(_GRANT_KEY).values(granted_seq=_NUMBER)
_MOVE_FOLLOWUP = (update(_f).where(and_(_f.c.team_id == bindparam("team"),
                                        _f.c.followup_id == bindparam("fid")))
                  .values(assignee_user_id=bindparam("assignee")))
_LAST_SEQ = select(s.team_cursor.c.last_seq).where(s.team_cursor.c.team_id == bindparam("team"))
_SET_TIP = (update(s.devices).where(and_(s.devices.c.team_id == bindparam("team"),
                                         s.devices.c.device_id == bindparam("device")))
            .values(tip_seq=bindparam("seq"), tip_hash=bindparam("hash"),
                    tip_signature=bindparam("sig"), last_seen_at=bindparam("now")))
_NONE = null()  # NULL itself, not a parameter: PostgreSQL types it per branch
_BATCH_STATE = union_all(  # what a push's checks read, in one round trip (see _load_state)
    select(literal("held").label("kind"), _e.c.event_id.label("a"), _NONE.label("b"),
           _NONE.label("c"), _e.c.hash, _e.c.seq)
    .where(and_(_e.c.team_id == bindparam("team"),
                _e.c.event_id.in_(bindparam("ids", expanding=True)))),
    select(literal("refused"), _x.c.event_id, _x.c.reason, _NONE, _x.c.hash, _NONE)
    .where(and_(_x.c.team_id == bindparam("team"),
                _x.c.event_id.in_(bindparam("ids_and_parents", expanding=True)))),
    select(literal("member"), s.users.c.user_id, s.users.c.role, _NONE, _NONE, _NONE)
    .where(s.users.c.team_id == bindparam("team")),
    select(literal("binding"), s.bindings.c.local_user_id, s.bindings.c.user_id,
           s.bindings.c.local_team_id, _NONE, _NONE)
    .where(s.bindings.c.team_id == bindparam("team")),
    select(literal("record"), _r.c.record_id, _r.c.owner_user_id, _NONE, _NONE, _NONE)
    .where(and_(_r.c.team_id == bindparam("team"),
                _r.c.record_id.in_(bindparam("records", expanding=True)))),
    select(literal("followup"), _f.c.followup_id, _f.c.assignee_user_id, _f.c.record_id,
           _NONE, _NONE)
    .where(and_(_f.c.team_id == bindparam("team"), or_(
        _f.c.record_id.in_(bindparam("records", expanding=True)),
        _f.c.followup_id.in_(bindparam("entities", expanding=True))))))
_IN_RANGE = and_(_e.c.team_id == bindparam("team"), _e.c.seq > bindparam("since"),
                 _e.c.seq <= bindparam("last"))
_PULL_TEAM = select(_e).where(_IN_RANGE).order_by(_e.c.seq).limit(bindparam("limit"))
_PULL_OWN = (select(_e).where(and_(_IN_RANGE, _visible())).order_by(_e.c.seq)
             .limit(bindparam("limit")))
_GRANTED = select(_g.c.record_id).where(and_(
    _g.c.team_id == bindparam("team"), _g.c.user_id == bindparam("user"),
    _g.c.granted_seq > bindparam("since"), _g.c.granted_seq <= bindparam("upto")))
_HISTORY = (select(_e).where(and_(_e.c.team_id == bindparam("team"),
                                  _e.c.seq <= bindparam("since"),
                                  _e.c.record_id.in_(_GRANTED), _visible()))
            .order_by(_e.c.seq))
