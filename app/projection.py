"""Current state as a projection of events: a pure function of a record's set of events.

``project_record(events)`` is the one definition of what a record looks like: its
decision row, its follow-ups and its search-index text, from its signed events alone.
The events are taken in the order their parents give (ties broken by event id, never
by arrival order), so the same set of events gives the same state on every device,
whatever order they arrived in, in any timezone (times are stored in UTC).

Concurrent versions (neither an ancestor of the other through their parents) are merged
field by field (``app.merge``): a field changed on one side only takes that change; the
same field changed differently on both sides is *in conflict* and shows the value of
the versions' common ancestor until a person resolves it with a version whose parents
are all the heads. Clock time never chooses a winner.

Three paths share the same steps (``decision_step``, ``followup_step``):

- a local save (``apply_event``) applies one new event to the stored state, which is
  what ``project_record`` gives when the event follows every head of its entity (it
  then comes last in the parents' order); anything else re-projects the whole record;
- the integrity check (``app.integrity`` through ``app.drift``) projects every record
  and compares it with its stored rows;
- the rebuild (``app.drift.rebuild``) writes back what differs (``write_state``),
  saying which records and parts changed.
"""

from __future__ import annotations

import heapq
import json
import json.scanner
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple, Protocol, TypeVar

from app.envelope import SCHEMA_V1, SignedEvent
from app.events import hlc_wall_iso
from app.merge import STATUS, FieldConflict, merge_decision, merge_followup
from app.model import (
    RECORD_VERSION,
    SPECIAL_CATEGORIES,
    Counterparty,
    DecisionRecord,
    FollowUpState,
    RecordStatus,
    Subject,
)
from db import store
from db.vault import Connection

# The parts of a record's stored state the check compares and a rebuild repairs.
PART_RECORD = "record"
PART_FOLLOWUPS = "follow-ups"
PART_SEARCH = "search index"
PARTS = (PART_RECORD, PART_FOLLOWUPS, PART_SEARCH)


class ProjectionError(Exception):
    pass


class Change(Protocol):
    """What the projection reads of an event (``app.events.Event`` is one)."""

    @property
    def event_id(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def team_id(self) -> str: ...
    @property
    def author_id(self) -> str: ...
    @property
    def hlc(self) -> str: ...
    @property
    def parents(self) -> tuple[str, ...]: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def device_id(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def owner_id(self) -> str: ...
    @property
    def assignee_id(self) -> str: ...


class StoredChange(NamedTuple):
    """An event as the check reads it: only what the projection needs, cheap to build
    (``store.CHANGE_COLUMNS`` order)."""

    event_id: str
    entity: str
    kind: str
    record_id: str
    entity_id: str
    team_id: str
    author_id: str
    hlc: str
    parents: tuple[str, ...]
    payload: bytes
    device_id: str
    schema_version: int
    owner_id: str
    assignee_id: str


def record_owner(change: Change, body: dict[str, Any]) -> str:
    """Who owns the record a ``decision.create`` makes: signed in the envelope from v2;
    a v1 event named its author in the payload (one local user made every v1 event)."""
    if change.schema_version == SCHEMA_V1:
        return str(body.get("owner_id", change.author_id))
    return change.owner_id


def followup_holder(change: Change, body: dict[str, Any]) -> str:
    """Who holds a follow-up after a create or a reassignment (v1: in the payload)."""
    if change.schema_version == SCHEMA_V1:
        return str(body["owner_id"])
    return change.assignee_id


_c_scanner = getattr(json.scanner, "c_make_scanner", None)
_scan = _c_scanner(json.JSONDecoder()) if _c_scanner is not None else None


def loads(raw: bytes | str) -> Any:
    """``json.loads``, by the C scanner straight away when the text is exactly one value
    (canonical JSON always is); anything else goes to ``json.loads`` to decide. The
    check parses half a million payloads, and this saves 3 µs on each."""
    if _scan is not None:
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            value, end = _scan(text, 0)
            if end == len(text):
                return value
        except (StopIteration, UnicodeDecodeError):
            pass
    return json.loads(raw)


def _body(change: Change) -> dict[str, Any]:
    body = loads(change.payload)
    if not isinstance(body, dict):
        raise ProjectionError("a change whose content is not readable")
    return body


# -- state ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionState:
    """What the decisions table holds for a record (and what its search row says).

    ``data`` is the record as plain data in its one normal shape (``normal_record``);
    the columns the list and the search read are worked out from it here, and only here.
    """

    record_id: str
    team_id: str
    owner_id: str
    status: str
    created_at: str
    updated_at: str
    version_count: int
    head_event_id: str
    heads: tuple[str, ...]  # sorted; more than one means concurrent versions
    data: dict[str, Any]
    # The record's canonical JSON as the event carries it, when that is what the body
    # column holds (so the check need not encode it again); None: work it out.
    body_hint: str | None = None
    # Fields changed differently by concurrent versions, until a person resolves them.
    conflicts: tuple[str, ...] = ()

    @property
    def record(self) -> DecisionRecord:
        return DecisionRecord.from_dict(self.data)

    def body(self) -> str:
        """The body column: the record's canonical JSON (as the event carried it, when it
        did, so a save encodes the record once)."""
        return self.body_hint if self.body_hint is not None else store.dumps(self.data)

    def _heads_text(self) -> str:
        return ids_text(self.heads)

    def _columns(self) -> tuple[Any, ...]:
        d = self.data
        subjects_text, case_refs, counterparty_text = self.display()
        return (
            self.record_id, self.team_id, self.owner_id, self.status, d["direction"],
            d["decision"], d["consent"], d["decided_at"], self.created_at, self.updated_at,
            self.version_count, self.head_event_id, self._heads_text(), subjects_text,
            counterparty_text, case_refs, int(is_special_category(d)),
            ids_text(self.conflicts),
        )

    def values(self) -> tuple[Any, ...]:
        """The decisions row, in ``store.DECISION_COLUMNS`` order."""
        return (*self._columns(), self.body())

    def row(self) -> dict[str, Any]:
        return dict(zip(store.DECISION_COLUMNS, self.values(), strict=True))

    def matches(self, stored: tuple[Any, ...]) -> bool:
        """Whether a stored decisions row is this state (the body compared last, cheaply)."""
        if stored[:-1] != self._columns():
            return False
        return bool(stored[-1] == self.body())

    @cached_property
    def _display(self) -> tuple[str, str, str]:
        subjects = self.data["subjects"]
        cp = self.data["counterparty"]
        return (
            "; ".join(s["name"] or s["case_ref"] for s in subjects
                      if s["name"] or s["case_ref"]),
            " ".join(s["case_ref"] for s in subjects if s["case_ref"]),
            ", ".join(p for p in (cp["name"], cp["role"], cp["organisation"]) if p),
        )

    def display(self) -> tuple[str, str, str]:
        """(subjects, case references, counterparty) as the lists show them."""
        return self._display

    def search(self) -> tuple[str, str, str, str]:
        """The search index's columns: subjects, counterparties, information, reasons."""
        d = self.data
        cp = d["counterparty"]
        subjects = " ".join(" ".join(filter(None, (s["name"], s["case_ref"])))
                            for s in d["subjects"])
        counterparties = " ".join(filter(None, (cp["name"], cp["role"], cp["organisation"])))
        information = " ".join(filter(None, (d["information"], d["purpose"])))
        return subjects, counterparties, information, d["reasons"]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DecisionState:
        return cls(
            record_id=row["record_id"], team_id=row["team_id"], owner_id=row["owner_id"],
            status=row["status"], created_at=row["created_at"], updated_at=row["updated_at"],
            version_count=int(row["version_count"]), head_event_id=row["head_event_id"],
            heads=tuple(json.loads(row["heads"])), data=normal_record(json.loads(row["body"])),
            conflicts=tuple(json.loads(row["conflicts"])),
        )


def ids_text(ids: tuple[str, ...]) -> str:
    """A sorted tuple of ids or names as the JSON list a column holds."""
    if not ids:
        return "[]"
    one = ids[0]
    if len(ids) == 1 and type(one) is str and one.isascii() and one.replace(
            "-", "").replace("_", "").isalnum():
        return f'["{one}"]'  # what store.dumps gives for one id, without encoding
    return store.dumps(list(ids))


# What ``to_dict`` gives: every field and the shape's version.
_RECORD_KEYS = frozenset(DecisionRecord.__dataclass_fields__) | {"record_version"}
_SUBJECT_KEYS = frozenset(Subject.__dataclass_fields__)
_COUNTERPARTY_KEYS = frozenset(Counterparty.__dataclass_fields__)


def normal_record(data: Any) -> dict[str, Any]:
    """A record's data in its one shape: what ``DecisionRecord.from_dict(...).to_dict()``
    gives (every field, no others). Data already in that shape is returned as it is."""
    if (isinstance(data, dict) and data.keys() == _RECORD_KEYS
            and data["record_version"] == RECORD_VERSION
            and type(data["subjects"]) is list
            and all(type(s) is dict and s.keys() == _SUBJECT_KEYS for s in data["subjects"])
            and type(data["counterparty"]) is dict
            and data["counterparty"].keys() == _COUNTERPARTY_KEYS
            and type(data["categories"]) is list and type(data["seven_tests"]) is dict):
        return data
    if not isinstance(data, dict):
        raise ProjectionError("a record that is not readable")
    return DecisionRecord.from_dict(data).to_dict()


def is_special_category(data: dict[str, Any]) -> bool:
    """Whether a record (its data in the normal shape) holds special-category data: by its
    categories, or by an old record's own tick-box (``DecisionRecord.is_special_category``)."""
    return (any(c in SPECIAL_CATEGORIES for c in data["categories"])
            or data.get("legacy_special_category") is True)


class FollowUpProjection(NamedTuple):
    """One follow-up as the followups table holds it (the decision's display text aside)."""

    followup_id: str
    record_id: str
    team_id: str
    owner_id: str
    kind: str
    title: str
    due_date: str
    state: str
    outcome: str | None
    cancel_reason: str | None
    created_at: str
    updated_at: str
    heads: tuple[str, ...] = ()  # its latest versions, which a change of it follows
    conflicts: tuple[str, ...] = ()  # fields changed differently by concurrent changes

    def values(self, display: tuple[str, str, str]) -> tuple[Any, ...]:
        """The followups row, in ``store.FOLLOWUP_COLUMNS`` order."""
        return (*self[:12], ids_text(self.heads), ids_text(self.conflicts), *display)

    def row(self, display: tuple[str, str, str]) -> dict[str, Any]:
        return dict(zip(store.FOLLOWUP_COLUMNS, self.values(display), strict=True))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FollowUpProjection:
        values = {k: row[k] for k in cls._fields[:12]}
        return cls(**values, heads=tuple(json.loads(row["heads"])),
                   conflicts=tuple(json.loads(row["conflicts"])))


@dataclass(frozen=True)
class RecordState:
    """A record's whole state, as its events give it."""

    record_id: str
    decision: DecisionState | None
    followups: tuple[FollowUpProjection, ...]  # by follow-up id
    # Events that could not be applied (a change to a record or follow-up whose creation
    # is not among the events, an unknown kind, an unreadable payload).
    unapplied: tuple[str, ...] = ()
    # Each field in conflict, with every concurrent value and who wrote it (not stored:
    # worked out from the events whenever a screen asks).
    conflict_details: tuple[FieldConflict, ...] = ()

    def display(self) -> tuple[str, str, str]:
        return self.decision.display() if self.decision is not None else ("", "", "")

    def followup_values(self) -> list[tuple[Any, ...]]:
        display = self.display()
        return [f.values(display) for f in self.followups]


# -- steps ------------------------------------------------------------------------------
_WALL: dict[str, str] = {}


def _wall(hlc: str) -> str:
    """``hlc_wall_iso``, remembered by the second (the check turns 400,000 stamps)."""
    if not (len(hlc) > 13 and hlc[13] == "-" and hlc[:13].isdigit()):
        return hlc_wall_iso(hlc)
    second = hlc[:10]
    text = _WALL.get(second)
    if text is None:
        if len(_WALL) > 8192:
            _WALL.clear()
        text = _WALL[second] = hlc_wall_iso(hlc)
    return text


def decision_step(state: DecisionState | None, event: Change,
                  body: dict[str, Any] | None = None) -> DecisionState:
    """A decision's state after one more of its events, in a linear history (each event
    follows the one before): what ``merge_decision`` gives there, at a fraction of the cost.
    ``body``: the event's payload already read (``app.ingest.check_content``), else None."""
    at = _wall(event.hlc)
    if event.kind == "decision.create":
        if state is not None:
            raise ProjectionError("a record was created twice")
        body = _body(event) if body is None else body
        data, hint = _record(body, event.payload)
        return DecisionState(
            record_id=event.record_id, team_id=event.team_id,
            owner_id=record_owner(event, body),
            status=RecordStatus.ACTIVE.value, created_at=at, updated_at=at, version_count=1,
            head_event_id=event.event_id, heads=(event.event_id,), data=data, body_hint=hint,
        )
    if event.kind not in ("decision.correct", "decision.withdraw"):
        raise ProjectionError("an unknown kind of change")
    if state is None:
        raise ProjectionError("a change arrived for a record this vault does not hold")
    heads = tuple(sorted((set(state.heads) - set(event.parents)) | {event.event_id}))
    changed = replace(state, updated_at=at, version_count=state.version_count + 1,
                      head_event_id=event.event_id, heads=heads, conflicts=())
    if event.kind == "decision.correct":
        data, hint = _record(_body(event) if body is None else body, event.payload)
        return replace(changed, data=data, body_hint=hint)
    return replace(changed, status=RecordStatus.WITHDRAWN.value)


_RECORD_KEY = b'"record":'


def _record(body: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], str | None]:
    """The record an event carries, and its canonical JSON text when that is cheap to know.

    A payload is canonical JSON (keys sorted), so when "record" is its last key and the
    record is in its normal shape, the text between ``"record":`` and the final brace
    is exactly ``store.dumps`` of the record: the body column, without encoding it again.
    The key cannot occur inside a string (its quotes would be escaped) nor in the record.
    """
    data = body["record"]
    normal = normal_record(data)
    hint = None
    if normal is data and max(body) == "record":
        at = payload.find(_RECORD_KEY)
        if at >= 0 and payload.endswith(b"}"):
            hint = payload[at + len(_RECORD_KEY):-1].decode("utf-8")
    return normal, hint


def followup_delta(event: Change, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields of a follow-up one of its events sets (a create sets every one);
    ``body``: its payload already read, else None."""
    body = _body(event) if body is None else body
    kind = event.kind
    if kind == "followup.create":
        return {"state": FollowUpState.OPEN.value, "outcome": None, "cancel_reason": None,
                "due_date": _text(body["due_date"]), "owner_id": followup_holder(event, body)}
    if kind == "followup.done":
        return {"state": FollowUpState.DONE.value, "outcome": _text(body["outcome"])}
    if kind == "followup.cancel":
        return {"state": FollowUpState.CANCELLED.value, "cancel_reason": _text(body["reason"])}
    if kind == "followup.reschedule":
        return {"due_date": _text(body["due_date"])}
    if kind == "followup.reassign":
        return {"owner_id": followup_holder(event, body)}
    raise ProjectionError("an unknown kind of change")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ProjectionError("a change whose content is not readable")
    return value


def followup_step(state: FollowUpProjection | None, event: Change,
                  body: dict[str, Any] | None = None) -> FollowUpProjection:
    """A follow-up's state after one more of its events, in a linear history (``body``:
    its payload already read, else None)."""
    at = _wall(event.hlc)
    body = _body(event) if body is None else body
    delta = followup_delta(event, body)
    if event.kind == "followup.create":
        if state is not None:
            raise ProjectionError("a follow-up was created twice")
        return FollowUpProjection(
            event.entity_id, event.record_id, event.team_id, delta["owner_id"],
            _text(body["kind"]), _text(body["title"]), delta["due_date"],
            FollowUpState.OPEN.value, None, None, at, at, (event.event_id,), ())
    if state is None:
        raise ProjectionError("a change arrived for a follow-up this vault does not hold")
    heads = tuple(sorted((set(state.heads) - set(event.parents)) | {event.event_id}))
    return state._replace(**delta, updated_at=at, heads=heads, conflicts=())


# -- order and projection -----------------------------------------------------------------
class Ordered(Protocol):
    """What ordering needs of an event: its id and its parents."""

    @property
    def event_id(self) -> str: ...
    @property
    def parents(self) -> tuple[str, ...]: ...


C = TypeVar("C", bound=Ordered)


def order_events(events: Iterable[C]) -> list[C]:
    """Events in the order their parents give; ties (concurrent events) by event id.

    A parent that is not among the events (not yet arrived, or removed) does not hold
    its children back. Arrival order plays no part.
    """
    by_id = sorted(events, key=lambda e: e.event_id)
    ids = {e.event_id for e in by_id}
    seen: set[str] = set()
    for ev in by_id:  # the common case: id order already follows every parent
        if any(p in ids and p not in seen for p in ev.parents):
            break
        seen.add(ev.event_id)
    else:
        return by_id
    waiting: dict[str, int] = {}
    children: dict[str, list[int]] = {}
    ready: list[tuple[str, int]] = []
    for i, ev in enumerate(by_id):
        known = {p for p in ev.parents if p in ids and p != ev.event_id}
        waiting[ev.event_id] = len(known)
        for p in known:
            children.setdefault(p, []).append(i)
        if not known:
            ready.append((ev.event_id, i))
    heapq.heapify(ready)
    out: list[C] = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(by_id[i])
        for child in children.get(by_id[i].event_id, ()):
            child_id = by_id[child].event_id
            waiting[child_id] -= 1
            if waiting[child_id] == 0:
                heapq.heappush(ready, (child_id, child))
    if len(out) < len(by_id):
        # Events caught in a cycle of parents (only damage makes one) come last, by id.
        placed = {ev.event_id for ev in out}
        out.extend(ev for ev in by_id if ev.event_id not in placed)
    return out


def heads_of(events: Iterable[Change]) -> list[str]:
    """The events no other event names as a parent: the latest versions."""
    listed = list(events)
    named = {p for ev in listed for p in ev.parents}
    return sorted(ev.event_id for ev in listed if ev.event_id not in named)


def project_record(events: Iterable[Change]) -> RecordState:
    """A record's state from its set of events (a pure function: no clock, no vault)."""
    decision_events: list[Change] = []
    followup_events: dict[str, list[Change]] = {}
    unapplied: list[str] = []
    record_id = ""
    for ev in order_events(events):
        record_id = record_id or ev.record_id
        if ev.entity == "decision":
            decision_events.append(ev)
        elif ev.entity == "followup":
            followup_events.setdefault(ev.entity_id, []).append(ev)
        else:
            unapplied.append(ev.event_id)
    details: list[FieldConflict] = []
    decision = project_decision(decision_events, unapplied, details)
    followups = {}
    for fid in sorted(followup_events, key=_id_order):
        fu = project_followup(followup_events[fid], unapplied, details)
        if fu is not None:
            followups[fid] = fu
    return RecordState(
        record_id=decision.record_id if decision is not None else record_id,
        decision=decision,
        followups=tuple(followups[k] for k in sorted(followups, key=_id_order)),
        unapplied=tuple(sorted(unapplied)),
        conflict_details=tuple(details),
    )


_APPLY_ERRORS = (ProjectionError, KeyError, TypeError, ValueError, AttributeError)


def _id_order(value: Any) -> tuple[int, bytes]:
    """Ids in order; one that damage left as bytes (or worse) sorts after every text id,
    never a crash."""
    if isinstance(value, str):
        return 0, value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return 1, value
    return 2, repr(value).encode("utf-8")


def _linear(events: list[Change], create: str) -> bool:
    """Whether each event follows the one before (the creation first): no concurrency."""
    if not events or events[0].kind != create or events[0].parents:
        return False
    for before, ev in zip(events, events[1:], strict=False):
        if len(ev.parents) != 1 or ev.parents[0] != before.event_id:
            return False
    return True


def project_decision(events: list[Change], unapplied: list[str],
                     details: list[FieldConflict]) -> DecisionState | None:
    """The decision of a record from its decision events, in the parents' order."""
    if _linear(events, "decision.create"):
        state: DecisionState | None = None
        for ev in events:
            try:
                state = decision_step(state, ev)
            except _APPLY_ERRORS:
                unapplied.append(ev.event_id)
        return state
    versions: list[Change] = []
    snapshots: list[dict[str, Any] | None] = []
    notes: list[str] = []
    create: tuple[Change, dict[str, Any]] | None = None
    for ev in events:
        try:
            if ev.kind == "decision.create":
                if create is not None:
                    raise ProjectionError("a record was created twice")
                body = _body(ev)
                snapshot: dict[str, Any] | None = normal_record(body["record"])
                create = (ev, body)
                note = ""
            elif create is None:
                raise ProjectionError("a change arrived for a record this vault does not hold")
            elif ev.kind == "decision.correct":
                body = _body(ev)
                snapshot = normal_record(body["record"])
                note = str(body.get("reason", ""))
            elif ev.kind == "decision.withdraw":
                snapshot = None
                note = str(_body(ev).get("reason", ""))
            else:
                raise ProjectionError("an unknown kind of change")
        except _APPLY_ERRORS:
            unapplied.append(ev.event_id)
            continue
        versions.append(ev)
        snapshots.append(snapshot)
        notes.append(note)
    if create is None:
        return None
    first, body = create
    merged = merge_decision(versions, snapshots, notes, RECORD_FIELDS, EMPTY_RECORD,
                            first.record_id)
    values = dict(merged.values)
    status = values.pop(STATUS)
    data = {**values, "record_version": RECORD_VERSION}
    details.extend(merged.conflicts)
    last = versions[-1]
    return DecisionState(
        record_id=first.record_id, team_id=first.team_id, owner_id=record_owner(first, body),
        status=status, created_at=_wall(first.hlc), updated_at=_wall(last.hlc),
        version_count=len(versions), head_event_id=last.event_id, heads=merged.heads,
        data=data, conflicts=tuple(c.field for c in merged.conflicts),
    )


def project_followup(events: list[Change], unapplied: list[str],
                     details: list[FieldConflict]) -> FollowUpProjection | None:
    """One follow-up from its events, in the parents' order."""
    if _linear(events, "followup.create"):
        state: FollowUpProjection | None = None
        for ev in events:
            try:
                state = followup_step(state, ev)
            except _APPLY_ERRORS:
                unapplied.append(ev.event_id)
        return state
    versions: list[Change] = []
    deltas: list[dict[str, Any]] = []
    notes: list[str] = []
    create: tuple[Change, dict[str, Any]] | None = None
    for ev in events:
        try:
            if ev.kind == "followup.create":
                if create is not None:
                    raise ProjectionError("a follow-up was created twice")
                create = (ev, _body(ev))
            elif create is None:
                raise ProjectionError("a change arrived for a follow-up this vault does not hold")
            delta = followup_delta(ev)
            note = delta.get("outcome") or delta.get("cancel_reason") or str(
                _body(ev).get("reason") or "")
            if ev.kind == "followup.create":
                _text(create[1]["kind"])
                _text(create[1]["title"])
        except _APPLY_ERRORS:
            unapplied.append(ev.event_id)
            continue
        versions.append(ev)
        deltas.append(delta)
        notes.append(note)
    if create is None:
        return None
    first, body = create
    merged = merge_followup(versions, deltas, notes, first.entity_id)
    v = merged.values
    details.extend(merged.conflicts)
    return FollowUpProjection(
        first.entity_id, first.record_id, first.team_id, v["owner_id"], body["kind"],
        body["title"], v["due_date"], v["state"], v["outcome"], v["cancel_reason"],
        _wall(first.hlc), _wall(versions[-1].hlc), merged.heads,
        tuple(c.field for c in merged.conflicts))


# Every top-level field of a record (a list is one field), and a record with none answered.
RECORD_FIELDS = tuple(sorted(k for k in DecisionRecord.__dataclass_fields__))
EMPTY_RECORD = DecisionRecord().to_dict()


# -- writing the state --------------------------------------------------------------------
@dataclass(frozen=True)
class Applied:
    """What one event changed in the stored projection (for a change set)."""

    record_id: str
    decision: bool  # the record's decision row (and its search row)
    followups: tuple[str, ...]  # follow-ups whose rows changed
    conflict: bool  # the record is, or was until now, in conflict


def apply_event(conn: Connection, event: Change, body: dict[str, Any] | None = None
                ) -> Applied:
    """Bring the stored state up to date with one new event (already inserted); ``body``:
    its payload already read (and checked to be an object), else None.

    In a linear history (every earlier event of the entity followed by the next, this
    one following the last) one step on the stored state gives what ``project_record``
    would; anything else (a concurrent event, one that arrived late, a record in
    conflict) re-projects the whole record from its events.
    """
    rid = event.record_id
    if event.kind == "decision.create":
        created = decision_step(None, event, body)
        rowid = store.decision_insert_values(conn, created.values())
        if rowid is None:
            raise ProjectionError("a record was created twice")
        store.fts_insert(conn, rowid, rid, *created.search())
        return Applied(rid, True, (), False)
    if event.entity == "decision":
        row = store.decision_get_row(conn, rid)
        if row is None:
            raise ProjectionError("a change arrived for a record this vault does not hold")
        current = DecisionState.from_row(row)
        if current.conflicts or not _follows_a_line(conn, rid, event):
            return reproject_record(conn, rid, conflicted=bool(current.conflicts))
        new = decision_step(current, event, body)
        store.decision_upsert(conn, new.row())
        if new.data is not current.data:
            store.fts_replace(conn, rid, *new.search())
        changed: tuple[str, ...] = ()
        if new.display() != current.display():
            store.followups_set_display(conn, rid, *new.display())
            changed = tuple(r[0] for r in store.followup_values_for_record(conn, rid))
        return Applied(rid, True, changed, False)
    if event.entity != "followup":
        raise ProjectionError("an unknown kind of change")
    if event.kind == "followup.create":
        display = store.decision_display(conn, rid)
        if display is None:
            raise ProjectionError("a follow-up arrived for a record this vault does not hold")
        # A plain insert: a second creation of the same follow-up fails on its key.
        store.followup_insert_values(conn, followup_step(None, event, body).values(display))
        return Applied(rid, False, (event.entity_id,), False)
    fu_row = store.followup_get_row(conn, event.entity_id)
    if fu_row is None or fu_row["record_id"] != rid:
        raise ProjectionError("a change arrived for a follow-up this vault does not hold")
    display = (fu_row["subjects_text"], fu_row["case_refs"], fu_row["counterparty_text"])
    if fu_row["conflicts"] != "[]" or not _follows_a_line(conn, event.entity_id, event):
        return reproject_record(conn, rid, conflicted=fu_row["conflicts"] != "[]")
    new_row = followup_step(FollowUpProjection.from_row(fu_row), event, body).row(display)
    changes = {k: v for k, v in new_row.items() if fu_row[k] != v}
    if changes:
        store.followup_update(conn, event.entity_id, **changes)
    return Applied(rid, False, (event.entity_id,), False)


def _follows_a_line(conn: Connection, entity_id: str, event: Change) -> bool:
    """Whether the entity's counted events (this one included) form one line ending here,
    this one naming the line's last as its parent itself (not through a change the store
    refused, which ``store.entity_graph`` passes through: the step would keep it a head)."""
    changes = [_GraphEvent(eid, kind, tuple(json.loads(parents)))
               for eid, kind, parents in store.entity_graph(conn, entity_id)]
    ordered = order_events(changes)
    create = "decision.create" if event.entity == "decision" else "followup.create"
    return (bool(ordered) and ordered[-1].event_id == event.event_id
            and ordered[-1].parents == tuple(event.parents) and _linear_ids(ordered, create))


def _linear_ids(events: list[_GraphEvent], create: str) -> bool:
    if not events or events[0].kind != create or events[0].parents:
        return False
    return all(ev.parents == (before.event_id,)
               for before, ev in zip(events, events[1:], strict=False))


class _GraphEvent(NamedTuple):
    event_id: str
    kind: str
    parents: tuple[str, ...]


def reproject_record(conn: Connection, record_id: str, *, conflicted: bool = False) -> Applied:
    """Project one record from all its events and write what differs."""
    state = project_record(event_from_row(r) for r in store.events_for_record(conn, record_id))
    state = replace(state, record_id=record_id)
    stored = read_stored(conn, record_id)
    parts = differences(state, stored)
    write_state(conn, state, stored)
    display = state.display()
    want = {f.followup_id: f.values(display) for f in state.followups}
    changed = tuple(sorted(fid for fid in want.keys() | stored.followups.keys()
                           if want.get(fid) != stored.followups.get(fid)))
    now_conflicted = bool(state.conflict_details)
    return Applied(record_id, PART_RECORD in parts or PART_SEARCH in parts, changed,
                   conflicted or now_conflicted)


# -- what is stored -----------------------------------------------------------------------
@dataclass
class StoredRecord:
    """A record's rows as the vault holds them (to compare with its projection)."""

    decision: tuple[Any, ...] | None = None  # in store.DECISION_COLUMNS order
    rowid: int | None = None  # the decision row's rowid, which its search row shares
    # Search-index rows: (rowid, record id, subjects, counterparties, information, reasons).
    search_rows: list[tuple[Any, ...]] = field(default_factory=list)
    followups: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # FOLLOWUP_COLUMNS


def read_stored(conn: Connection, record_id: str) -> StoredRecord:
    """One record's rows; its search row is the one at the decision row's rowid."""
    found = store.decision_values(conn, record_id)
    rowid, decision = found if found is not None else (None, None)
    return StoredRecord(
        decision=decision,
        rowid=rowid,
        search_rows=[] if rowid is None else store.fts_rows_at(conn, rowid),
        followups={r[0]: r for r in store.followup_values_for_record(conn, record_id)},
    )


def differences(state: RecordState, stored: StoredRecord) -> tuple[str, ...]:
    """Which parts of a record's stored rows differ from what its events give."""
    parts: list[str] = []
    decision = state.decision
    if decision is None:
        if stored.decision is not None:
            parts.append(PART_RECORD)
    elif stored.decision is None or not decision.matches(stored.decision):
        parts.append(PART_RECORD)
    have = [stored.followups[k] for k in sorted(stored.followups, key=repr)]
    if state.followup_values() != have:
        parts.append(PART_FOLLOWUPS)
    want_search = [] if decision is None else [
        (stored.rowid, state.record_id, *decision.search())]
    if stored.search_rows != want_search:
        parts.append(PART_SEARCH)
    return tuple(parts)


def write_state(conn: Connection, state: RecordState, stored: StoredRecord) -> None:
    """Make one record's stored rows what ``state`` says, touching only what differs."""
    record_id = state.record_id
    for rowid, *_ in stored.search_rows:
        if state.decision is None or rowid != stored.rowid:
            store.fts_delete_rowid(conn, rowid)  # a search row no decision row owns
    if state.decision is None:
        for fid in stored.followups:
            store.followup_delete(conn, fid)
        if stored.decision is not None:
            if stored.rowid is not None:
                store.fts_delete_rowid(conn, stored.rowid)
            store.decision_delete(conn, stored.decision[0])
        return
    if stored.decision is None or not state.decision.matches(stored.decision):
        store.decision_upsert(conn, state.decision.row())
    rowid = store.decision_rowid(conn, record_id)
    assert rowid is not None  # the row was just written
    want_search = (rowid, record_id, *state.decision.search())
    if rowid != stored.rowid or [want_search] != [
            r for r in stored.search_rows if r[0] == stored.rowid]:
        store.fts_delete_rowid(conn, rowid)
        store.fts_insert(conn, rowid, record_id, *state.decision.search())
    display = state.display()
    want = {f.followup_id: f for f in state.followups}
    for fid in stored.followups.keys() - want.keys():
        store.followup_delete(conn, fid)
    for fid, fu in want.items():
        have = stored.followups.get(fid)
        if have is None:
            store.followup_insert(conn, fu.row(display))
        elif have != fu.values(display):
            store.followup_update(conn, fid, **{k: v for k, v in fu.row(display).items()
                                                if k != "followup_id"})


# -- events from rows -----------------------------------------------------------------------
def event_from_row(row: tuple[Any, ...]) -> SignedEvent:
    """Rows from ``store.events_*`` (seq first, then ``store.EVENT_COLUMNS``) to an event."""
    (_seq, event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
     device_seq, hlc, parents, schema_version, payload, prev_hash, hash_, signature,
     owner_id, assignee_id) = row
    return SignedEvent(
        event_id=event_id,
        entity=entity,
        kind=kind,
        record_id=record_id,
        entity_id=entity_id,
        team_id=team_id,
        author_id=author_id,
        device_id=device_id,
        device_seq=int(device_seq),
        hlc=hlc,
        parents=tuple(json.loads(parents)),
        schema_version=int(schema_version),
        owner_id=owner_id,
        assignee_id=assignee_id,
        payload=bytes(payload),
        prev_hash=bytes(prev_hash),
        hash=bytes(hash_),
        signature=bytes(signature),
    )


def event_to_row(event: SignedEvent) -> tuple[Any, ...]:
    """An event as ``store.event_insert`` takes it (``store.EVENT_COLUMNS`` order)."""
    return (
        event.event_id, event.entity, event.kind, event.record_id, event.entity_id,
        event.team_id, event.author_id, event.device_id, event.device_seq, event.hlc,
        ids_text(event.parents), event.schema_version, event.payload,
        event.prev_hash, event.hash, event.signature, event.owner_id, event.assignee_id,
    )
