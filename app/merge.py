"""Concurrent versions of a record or a follow-up, merged field by field.

The versions of one entity (a decision record, or one follow-up) form a graph through
their parents: each change names the versions its author had seen. Two versions are
*concurrent* when neither is an ancestor of the other.

Every field is a register over that graph. A version *writes* a field when it changes it
against what its author saw (a correction of the reasons writes ``reasons``; a follow-up's
reschedule writes ``due_date``). A field's current writers are the writes that no later
write of the same field has seen (the frontier). One writer, or several that agree: the
field has that value. Several that differ: the field is *in conflict*; every value is
kept, and until a person resolves it the field shows the value of the writers' common
ancestor (never the larger event id or the later clock, which would be a clock choosing
a winner). A version whose author saw a field in conflict and saved over it (its parents
name every conflicting writer) resolves it: a correction or a withdrawal resolves every
field it saw in conflict; a follow-up change resolves only the field it changes.

Two rules the domain adds:

- a withdrawal concurrent with another change of the record leaves the record withdrawn
  (the change stays in its history) and flags the record in conflict until someone who
  saw both saves a version after them;
- a follow-up marked done or cancelled wins over a reschedule concurrent with it: the
  reschedule stays in the history and moves no date.

All of it is a pure function of the set of versions: the same versions in any order give
the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

STATUS = "status"
FOLLOWUP_FIELDS = ("state", "outcome", "cancel_reason", "due_date", "owner_id")
OPEN = "open"
WITHDRAWN = "withdrawn"
ACTIVE = "active"


class Version(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def parents(self) -> tuple[str, ...]: ...
    @property
    def author_id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def hlc(self) -> str: ...


@dataclass(frozen=True)
class ConflictSide:
    """One of the concurrent values of a field in conflict, and who wrote it."""

    event_id: str
    value: Any
    author_id: str
    device_id: str
    hlc: str  # the author's clock stamp (display only)
    note: str  # the reason the author gave (a correction's reason, an outcome)


@dataclass(frozen=True)
class FieldConflict:
    """A field of a record or follow-up changed differently by concurrent versions."""

    entity: str  # "decision" | "followup"
    entity_id: str
    field: str  # a top-level field of the record, "status", or a follow-up's field
    shown: Any  # what the record shows until a person resolves it
    sides: tuple[ConflictSide, ...]  # by event id


class Graph:
    """The versions of one entity, in the parents' order, with their ancestors."""

    def __init__(self, versions: Sequence[Version], create: str | None = None) -> None:
        self.versions = list(versions)
        index = {v.event_id: i for i, v in enumerate(self.versions)}
        self.parents: list[tuple[int, ...]] = []
        self.ancestors: list[int] = []  # bit i: version i is an ancestor (or itself)
        made = next((i for i, v in enumerate(self.versions) if v.kind == create), None)
        for i, version in enumerate(self.versions):
            # Only parents placed earlier: a parent that is not here (not arrived, or
            # refused where it was made) holds nothing back.
            known = tuple(sorted({index[p] for p in version.parents
                                  if p in index and index[p] < i}))
            if not known and made is not None and made < i and version.parents:
                # None of the versions it names is here (a store-refused one is passed
                # through before this: db.store.refused_parents), yet every change of an
                # entity was made on its creation: it has seen that much, so a conflict
                # it takes part in shows a value someone wrote, never an empty one.
                known = (made,)
            mask = 1 << i
            for p in known:
                mask |= self.ancestors[p]
            self.parents.append(known)
            self.ancestors.append(mask)

    def is_ancestor(self, a: int, b: int) -> bool:
        """Whether version ``a`` is ``b`` or one of its ancestors."""
        return bool((self.ancestors[b] >> a) & 1)

    def concurrent(self, a: int, b: int) -> bool:
        return not self.is_ancestor(a, b) and not self.is_ancestor(b, a)

    def maximal(self, versions: set[int] | Sequence[int]) -> tuple[int, ...]:
        """The versions none of the others has seen."""
        chosen = set(versions)
        return tuple(sorted(a for a in chosen
                            if not any(b != a and self.is_ancestor(a, b) for b in chosen)))

    def heads(self) -> tuple[int, ...]:
        seen_by_others = 0
        for i, mask in enumerate(self.ancestors):
            seen_by_others |= mask & ~(1 << i)
        return tuple(i for i in range(len(self.versions)) if not (seen_by_others >> i) & 1)


class Registers:
    """Each field's writers at each version (added in the graph's order)."""

    def __init__(self, graph: Graph, fields: Sequence[str], default: dict[str, Any]) -> None:
        self.graph = graph
        self.fields = tuple(fields)
        self.default = default
        self.frontier: list[dict[str, tuple[int, ...]]] = []
        self.written: list[dict[str, Any]] = []
        self.writes: dict[str, list[int]] = {f: [] for f in self.fields}

    def seen(self, i: int) -> dict[str, tuple[int, ...]]:
        """Each field's writers as the author of version ``i`` saw them."""
        parents = self.graph.parents[i]
        if len(parents) == 1:
            return self.frontier[parents[0]]
        out: dict[str, tuple[int, ...]] = {}
        for f in self.fields:
            union: set[int] = set()
            for p in parents:
                union.update(self.frontier[p][f])
            out[f] = self.graph.maximal(union)
        return out

    def add(self, i: int, seen: dict[str, tuple[int, ...]], written: dict[str, Any]) -> None:
        frontier = dict(seen)
        for f in written:
            frontier[f] = (i,)
            self.writes[f].append(i)
        self.frontier.append(frontier)
        self.written.append(written)

    def final(self) -> dict[str, tuple[int, ...]]:
        heads = self.graph.heads()
        out: dict[str, tuple[int, ...]] = {}
        for f in self.fields:
            union: set[int] = set()
            for h in heads:
                union.update(self.frontier[h][f])
            out[f] = self.graph.maximal(union)
        return out

    def resolve(self, writers: Sequence[int], f: str) -> tuple[Any, bool]:
        """(the value shown, whether the field is in conflict) for these writers."""
        if not writers:
            return self.default.get(f), False
        first = self.written[writers[0]][f]
        if all(self.written[w][f] == first for w in writers[1:]):
            return first, False
        return self.base(writers, f), True

    def base(self, writers: Sequence[int], f: str) -> Any:
        """The field's value at the writers' common ancestors (shown while in conflict)."""
        common = -1
        for w in writers:
            common &= self.graph.ancestors[w]
        below = self.graph.maximal([w for w in self.writes[f] if (common >> w) & 1])
        return self.resolve(below, f)[0]

    def sides(self, writers: Sequence[int], f: str,
              notes: Sequence[str]) -> tuple[ConflictSide, ...]:
        out = []
        for w in writers:
            v = self.graph.versions[w]
            out.append(ConflictSide(v.event_id, self.written[w][f], v.author_id, v.device_id,
                                    v.hlc, notes[w]))
        return tuple(sorted(out, key=lambda side: side.event_id))


@dataclass(frozen=True)
class Merged:
    values: dict[str, Any]
    conflicts: tuple[FieldConflict, ...]  # by field
    heads: tuple[str, ...]  # sorted event ids


def merge_decision(versions: Sequence[Version], snapshots: Sequence[dict[str, Any] | None],
                   notes: Sequence[str], fields: Sequence[str], default: dict[str, Any],
                   record_id: str) -> Merged:
    """A record's fields and status from its versions (in the parents' order).

    ``snapshots[i]`` is the whole record a create or correction carries (None for a
    withdrawal); ``notes[i]`` the reason its author gave.
    """
    graph = Graph(versions, "decision.create")
    regs = Registers(graph, (*fields, STATUS), {**default, STATUS: ACTIVE})
    nothing: dict[str, tuple[int, ...]] = {f: () for f in regs.fields}
    for i, version in enumerate(graph.versions):
        seen = regs.seen(i) if graph.parents[i] else nothing
        data = snapshots[i]
        written: dict[str, Any] = {}
        if version.kind == "decision.create" or not graph.parents[i]:
            # Nothing seen: every field as the version gives it.
            if data is not None:
                written.update((f, data[f]) for f in fields)
            if version.kind == "decision.create":
                written[STATUS] = ACTIVE
            elif version.kind == "decision.withdraw":
                written[STATUS] = WITHDRAWN
        else:
            for f in fields:
                shown, in_conflict = regs.resolve(seen[f], f)
                if in_conflict:  # seen in conflict and saved over: resolved by this version
                    written[f] = data[f] if data is not None else shown
                elif data is not None and data[f] != shown:
                    written[f] = data[f]
            if version.kind == "decision.withdraw":
                written[STATUS] = WITHDRAWN
        regs.add(i, seen, written)

    final = regs.final()
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for f in regs.fields:
        value, in_conflict = regs.resolve(final[f], f)
        values[f] = value
        if in_conflict:
            conflicts.append(FieldConflict("decision", record_id, f, value,
                                           regs.sides(final[f], f, notes)))
    heads = graph.heads()
    if values[STATUS] == WITHDRAWN and not any(c.field == STATUS for c in conflicts):
        withdrawals = final[STATUS]
        unseen = [h for h in heads
                  if not any(graph.is_ancestor(w, h) for w in withdrawals)]
        if unseen:  # changed where the withdrawal was not seen
            sides = [ConflictSide(graph.versions[w].event_id, WITHDRAWN,
                                  graph.versions[w].author_id, graph.versions[w].device_id,
                                  graph.versions[w].hlc, notes[w]) for w in withdrawals]
            sides += [ConflictSide(graph.versions[h].event_id, ACTIVE,
                                   graph.versions[h].author_id, graph.versions[h].device_id,
                                   graph.versions[h].hlc, notes[h]) for h in unseen]
            conflicts.append(FieldConflict("decision", record_id, STATUS, WITHDRAWN,
                                           tuple(sorted(sides, key=lambda s: s.event_id))))
    conflicts.sort(key=lambda c: c.field)
    return Merged(values, tuple(conflicts),
                  tuple(sorted(graph.versions[h].event_id for h in heads)))


def merge_followup(versions: Sequence[Version], deltas: Sequence[dict[str, Any]],
                   notes: Sequence[str], followup_id: str) -> Merged:
    """A follow-up's state, notes, due date and holder from its changes (in the parents'
    order). ``deltas[i]`` is what change ``i`` sets (a create sets every field)."""
    graph = Graph(versions, "followup.create")
    regs = Registers(graph, FOLLOWUP_FIELDS, {"state": OPEN, "outcome": None,
                                              "cancel_reason": None, "due_date": "",
                                              "owner_id": ""})
    nothing: dict[str, tuple[int, ...]] = {f: () for f in regs.fields}
    for i in range(len(graph.versions)):
        regs.add(i, regs.seen(i) if graph.parents[i] else nothing, deltas[i])
    final = regs.final()
    closers = [w for w in final["state"] if regs.written[w]["state"] != OPEN]
    if closers:
        # Done or cancelled wins over a reschedule made concurrently with it.
        counted = [w for w in regs.writes["due_date"]
                   if not any(graph.concurrent(w, c) for c in closers)]
        final["due_date"] = graph.maximal(counted)
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for f in regs.fields:
        value, in_conflict = regs.resolve(final[f], f)
        values[f] = value
        if in_conflict and not (f == "due_date" and closers):
            conflicts.append(FieldConflict("followup", followup_id, f, value,
                                           regs.sides(final[f], f, notes)))
    return Merged(values, tuple(conflicts),
                  tuple(sorted(graph.versions[h].event_id for h in graph.heads())))
