"""Decision records: record, correct, withdraw, read, list, search; their conflicts.

A correction or a withdrawal names the versions its author saw (``parents``: the
``heads`` of the ``DecisionDetail`` the form or the pane showed). A version that arrived
while the form was open is therefore never superseded unseen: the correction is kept as
concurrent with it and merged field by field, or flags a conflict (``app.merge``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from app import projection
from app.clock import local_iso
from app.contacts import learn
from app.events import hlc_local_iso
from app.followups import FollowUps, ancestors, create_default, decided_date, followup_of
from app.merge import FieldConflict
from app.model import (
    DecisionRecord,
    DecisionSummary,
    Direction,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    RecordStatus,
    SearchFilters,
    Version,
)
from app.problems import InvalidChange, NotFound, Problem, ValidationError
from app.rights import Rights
from app.settings import describe as describe_setting
from app.unit import ChangeSet, Saved, Unit, Writer
from app.validation import require_reason, validate
from db import store
from db.vault import Connection, cancellable


@dataclass(frozen=True)
class DecisionDetail:
    record_id: str
    record: DecisionRecord
    status: str
    owner_id: str
    team_id: str
    version_count: int
    created_at: str  # local time, for display (stored in UTC)
    updated_at: str
    has_conflict: bool  # the record, or one of its follow-ups, is in conflict
    followups: list[FollowUp]
    # The latest versions shown: a correction or withdrawal made from this view names
    # them as the versions its author saw.
    heads: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # the record's fields in conflict
    # Why this user may not correct or withdraw it here ("" when they may: their own).
    read_only: str = ""


@dataclass(frozen=True)
class ConflictValue:
    """One of the concurrent values of a field in conflict: what, who, when."""

    value: Any
    event_id: str
    author_id: str
    author_name: str
    device_id: str
    at: str  # local time, for display
    note: str  # the reason the author gave with it


@dataclass(frozen=True)
class Conflict:
    """A field changed differently by concurrent versions, until someone resolves it (a
    correction, withdrawal or follow-up change whose parents are all the heads)."""

    entity: str  # "decision" | "followup"
    entity_id: str  # the record id, or the follow-up's id
    field: str
    shown: Any  # what the record shows meanwhile: the versions' common ancestor's value
    values: tuple[ConflictValue, ...]


def fts_query(text: str) -> str | None:
    """Words typed by a person to an FTS5 query: every word must match, the last as a prefix."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    if not words:
        return None
    quoted = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " ".join(quoted)


class Decisions:
    def __init__(self, unit: Unit, followups: FollowUps) -> None:
        self.unit = unit
        self.followups = followups
        self.rights = Rights(unit)

    # -- changes -------------------------------------------------------------------------------
    def record(self, record: DecisionRecord, *, followup_days: int | None = None,
               draft_id: str | None = None) -> Saved:
        """Validate and save a new decision with its default follow-up (its id is the
        result's value)."""
        validate(record, now=self.unit.clock.now())
        check_followup_days(followup_days)
        with self.unit.write() as w:
            record_id = record_in(w, self.followups, record, followup_days=followup_days)
            if draft_id:
                _drop_draft(w, draft_id)
        return Saved(record_id, w.changes)

    def correct(self, record_id: str, record: DecisionRecord, reason: str, *,
                parents: Iterable[str], draft_id: str | None = None) -> Saved:
        """A correction is a new version with its reason, after the versions its author
        saw; the old one stays readable. The result's value is the new version's id."""
        require_reason(reason, "the correction")
        validate(record, now=self.unit.clock.now())
        seen = tuple(parents)
        with self.unit.write() as w:
            row = store.decision_get_row(w.conn, record_id)
            if row is None:
                raise NotFound("record")
            self._check_owner(row["owner_id"])
            if _saw_withdrawal(w.conn, record_id, seen):
                raise InvalidChange("This record was withdrawn and can no longer be corrected.")
            ev = w.emit("decision", "decision.correct", record_id, record_id, parents=seen,
                        payload={"record": record.to_dict(), "reason": reason.strip()})
            learn(w, record)
            if draft_id:
                _drop_draft(w, draft_id)
        return Saved(ev.event_id, w.changes)

    def withdraw(self, record_id: str, reason: str, *, parents: Iterable[str]) -> Saved:
        """Withdraw a record made in error: a tombstone version with a reason, never a
        delete; the open follow-ups this person holds are cancelled. A record withdrawn
        while it was changed elsewhere is in conflict: withdrawing it again after every
        version resolves it."""
        require_reason(reason, "withdrawing this record")
        seen = tuple(parents)
        with self.unit.write() as w:
            row = store.decision_get_row(w.conn, record_id)
            if row is None:
                raise NotFound("record")
            self._check_owner(row["owner_id"])
            if _saw_withdrawal(w.conn, record_id, seen) and not (
                    row["conflicts"] != "[]" and set(json.loads(row["heads"])) <= set(seen)):
                raise InvalidChange("This record is already withdrawn.")
            ev = w.emit("decision", "decision.withdraw", record_id, record_id, parents=seen,
                        payload={"reason": reason.strip()})
            for fu in store.followups_for_record(w.conn, record_id):
                open_fu = followup_of(fu)
                # A follow-up someone else holds stays theirs to close (the store lets only
                # its holder or a manager change it): their list shows the record withdrawn.
                if open_fu.state == FollowUpState.OPEN and (
                        self.rights.is_manager or self.rights.is_me(open_fu.owner_id)):
                    w.emit("followup", "followup.cancel", record_id, open_fu.followup_id,
                           parents=open_fu.heads,
                           payload={"reason": "The record was withdrawn."})
        return Saved(ev.event_id, w.changes)

    def _check_owner(self, owner_id: str) -> None:
        refusal = self.rights.record_refusal(owner_id)
        if refusal:
            raise InvalidChange(refusal)

    # -- reading -------------------------------------------------------------------------------
    def get(self, record_id: str) -> DecisionDetail:
        def read(conn: Connection) -> DecisionDetail:
            row = store.decision_get_row(conn, record_id)
            if row is None:
                raise NotFound("record")
            followups = [followup_of(r) for r in store.followups_for_record(conn, record_id)]
            conflicts = tuple(json.loads(row["conflicts"]))
            return DecisionDetail(
                record_id=record_id,
                record=DecisionRecord.from_dict(json.loads(row["body"])),
                status=row["status"],
                owner_id=row["owner_id"],
                team_id=row["team_id"],
                version_count=int(row["version_count"]),
                created_at=local_iso(row["created_at"]),
                updated_at=local_iso(row["updated_at"]),
                has_conflict=bool(conflicts) or any(f.in_conflict for f in followups),
                followups=followups,
                heads=tuple(json.loads(row["heads"])),
                conflicts=conflicts,
                read_only=self.rights.record_refusal(row["owner_id"]),
            )
        return self.unit.read(read)

    def versions(self, record_id: str) -> list[Version]:
        """Every version of a record in the order its parents give (oldest first), with
        who, when and on which device; never the order the rows sit in the table."""
        def read(conn: Connection) -> list[Version]:
            events = [projection.event_from_row(row)
                      for row in store.events_for_record(conn, record_id)]
            out: list[Version] = []
            for ev in projection.order_events(e for e in events if e.entity == "decision"):
                body = json.loads(ev.payload)
                out.append(Version(
                    event_id=ev.event_id,
                    number=len(out) + 1,
                    kind=ev.kind,
                    author_id=ev.author_id,
                    author_name=self.unit.user_name(ev.author_id),
                    device_id=ev.device_id,
                    at=hlc_local_iso(ev.hlc),
                    reason=str(body.get("reason", "")),
                    record=DecisionRecord.from_dict(body["record"]) if "record" in body else None,
                ))
            if not out:
                raise NotFound("record")
            return out
        return self.unit.read(read)

    def conflicts(self, record_id: str) -> list[Conflict]:
        """Each field of the record and of its follow-ups in conflict: every concurrent
        value, who wrote it and when (worked out from the record's events)."""
        def read(conn: Connection) -> list[FieldConflict]:
            if store.decision_get_row(conn, record_id) is None:
                raise NotFound("record")
            state = projection.project_record(
                projection.event_from_row(r) for r in store.events_for_record(conn, record_id))
            return list(state.conflict_details)
        return [self._conflict(c) for c in self.unit.read(read)]

    def _conflict(self, c: FieldConflict) -> Conflict:
        return Conflict(c.entity, c.entity_id, c.field, c.shown, tuple(
            ConflictValue(s.value, s.event_id, s.author_id, self.unit.user_name(s.author_id),
                          s.device_id, hlc_local_iso(s.hlc), s.note) for s in c.sides))

    def in_conflict(self) -> list[str]:
        """Records whose decision or a follow-up of which is in conflict, by id."""
        return self.unit.read(store.records_in_conflict)

    def matching(self, filters: SearchFilters | None = None, *,
             cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        """Decisions matching ``filters``, newest first.

        ``cancelled`` is polled while the query runs; once it returns true the query
        stops and ``QueryCancelled`` is raised (a search overtaken by the next keystroke).
        """
        f = filters or SearchFilters()
        today = self.unit.clock.today().isoformat()

        def read(conn: Connection) -> list[DecisionSummary]:
            with cancellable(conn, cancelled):
                rows = store.list_decisions(
                    conn,
                    today=today,
                    fts_query=fts_query(f.text) if f.text else None,
                    date_from=f.date_from.isoformat() if f.date_from else None,
                    date_to=(f.date_to + dt.timedelta(days=1)).isoformat() if f.date_to else None,
                    direction=f.direction,
                    decision=f.decision,
                    consent=f.consent,
                    followup_state=f.followup_state,
                    include_withdrawn=f.include_withdrawn,
                    case_ref=f.subject_case_ref,
                    before=f.before,
                    limit=f.limit,
                    owner_ids=f.owners,
                )
            return [_summary(r) for r in rows]
        return self.unit.read(read)

    def search(self, text: str, filters: SearchFilters | None = None, *,
               cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        f = replace(filters or SearchFilters(), text=text)
        return self.matching(f, cancelled=cancelled)

    def count(self) -> int:
        return self.unit.read(store.decision_count)


def record_in(w: Writer, followups: FollowUps, record: DecisionRecord, *,
              followup_days: int | None = None, validated: bool = True) -> str:
    """A new record and its default follow-up, in the writer's transaction; its id."""
    if not validated:
        validate(record, now=w.unit.clock.now())
        check_followup_days(followup_days)
    record_id = w.new_id()
    w.emit("decision", "decision.create", record_id, record_id, parents=(),
           payload={"record": record.to_dict()})
    kind = None
    if record.is_share:  # nothing to chase or confirm after deciding not to ask or share
        kind = (FollowUpKind.CHASE_RESPONSE if record.direction == Direction.REQUEST_MADE
                else FollowUpKind.CONFIRM_RECEIPT)
    if kind is not None:
        decided = decided_date(record.decided_at) or w.unit.clock.today()
        create_default(w, record_id, kind, followups.due_date_for(followup_days, start=decided))
    learn(w, record)
    return record_id


def _saw_withdrawal(conn: Connection, record_id: str, parents: tuple[str, ...]) -> bool:
    """Whether the versions the author saw include a withdrawal (refusing versions that
    are not this record's: the form showed something else, or nothing)."""
    graph = {eid: (kind, tuple(json.loads(ps)))
             for eid, kind, ps in store.entity_graph(conn, record_id)}
    if not parents or not set(parents) <= graph.keys():
        raise InvalidChange("The record changed since it was shown: open it again.")
    return any(graph[e][0] == "decision.withdraw" for e in ancestors(graph, parents))


def _drop_draft(w: Writer, draft_id: str) -> None:
    store.draft_delete(w.conn, draft_id)
    w.note(ChangeSet(drafts=frozenset((draft_id,))))


def check_followup_days(days: object) -> None:
    """A follow-up's working days, when given, are a whole number in the settings' range."""
    if days is None:
        return
    spec = describe_setting("followup_working_days")
    if isinstance(days, bool) or not isinstance(days, int) or not spec.in_range(days):
        raise ValidationError([Problem("followup_days", (
            f"The follow-up must be due between {spec.minimum} and {spec.maximum} working "
            "days after the decision."))])


def _summary(r: tuple[Any, ...]) -> DecisionSummary:
    return DecisionSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                           r[10], r[11], r[12], bool(r[13]))


__all__ = ["Conflict", "ConflictValue", "DecisionDetail", "Decisions", "RecordStatus",
           "fts_query", "record_in"]
