"""Follow-ups: what to chase after a decision, due in working days, done or cancelled.

Every change names the versions of the follow-up its author saw (``parents``: the
``heads`` of the ``FollowUp`` shown). A change made without seeing one that arrived
meanwhile is kept as concurrent with it (``app.merge``): marked done while a manager
reassigned it, both stand; done against cancelled, or two new dates, is a conflict; done
or cancelled wins over a concurrent reschedule, which stays in the history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.events import hlc_local_iso
from app.merge import FOLLOWUP_FIELDS
from app.model import (
    FollowUp,
    FollowUpChange,
    FollowUpKind,
    FollowUpState,
    followup_bucket,
    week_end,
)
from app.problems import InvalidChange, NotFound, Problem, ValidationError
from app.projection import event_from_row, order_events
from app.rights import Rights
from app.settings import describe as describe_setting
from app.unit import ChangeSet, Saved, Unit, Writer
from app.validation import require_reason
from app.workdays import WorkingCalendar
from db import store
from db.vault import Connection

FOLLOWUP_TITLES = {
    FollowUpKind.CONFIRM_RECEIPT:
        "Confirm the recipient received, understood and acted on the information",
    FollowUpKind.CHASE_RESPONSE: "Chase the response",
}
MAX_DUE_DAYS_AHEAD = 5 * 366
CLOSING = frozenset({"followup.done", "followup.cancel"})


@dataclass(frozen=True)
class GivenToMe:
    """An open follow-up someone else gave to this person, not opened since (new)."""

    followup_id: str
    event_id: str  # the reassignment
    by_id: str
    by_name: str
    at: str  # local time, for display


class FollowUps:
    def __init__(self, unit: Unit, calendar: WorkingCalendar, *, working_days: int = 5) -> None:
        self.unit = unit
        self.calendar = calendar
        self.working_days = working_days

    # -- reading -----------------------------------------------------------------------------
    def mine(self, *, include_closed: bool = False,
             due_within_week: bool = False) -> list[FollowUp]:
        """The follow-ups this practitioner holds (under any of their ids)."""
        states: tuple[str, ...] = (FollowUpState.OPEN.value,)
        if include_closed:
            states = (*states, FollowUpState.DONE.value, FollowUpState.CANCELLED.value)
        today = self.unit.clock.today()
        due_before = week_end(today).isoformat() if due_within_week else None
        mine = self.unit.identity.my_ids
        return self.unit.read(lambda conn: [followup_of(r) for r in store.followups_for_owner(
            conn, mine, states=states, due_before=due_before)])

    def get(self, followup_id: str) -> FollowUp:
        """One follow-up as shown now, open or closed (its ``heads`` are what a change made
        from this view follows)."""
        def read(conn: Connection) -> FollowUp:
            row = store.followup_row(conn, followup_id)
            if row is None:
                raise NotFound("follow-up")
            return followup_of(row)
        return self.unit.read(read)

    def by_bucket(self) -> dict[str, list[FollowUp]]:
        today = self.unit.clock.today()
        groups: dict[str, list[FollowUp]] = {"overdue": [], "today": [], "this_week": [],
                                             "later": []}
        for fu in self.mine():
            groups[followup_bucket(fu.state, fu.due_date, today)].append(fu)
        return groups

    def overdue_count(self) -> int:
        mine, today = self.unit.identity.my_ids, self.unit.clock.today().isoformat()
        return self.unit.read(lambda c: store.overdue_count(c, mine, today))

    def history(self, followup_id: str) -> list[FollowUpChange]:
        def read(conn: Connection) -> list[FollowUpChange]:
            events = [event_from_row(r) for r in store.events_for_entity(conn, followup_id)]
            return [FollowUpChange(ev.event_id, ev.kind, ev.author_id, hlc_local_iso(ev.hlc),
                                   json.loads(ev.payload)) for ev in order_events(events)]
        return self.unit.read(read)

    def given_to_me(self) -> dict[str, GivenToMe]:
        """Follow-ups someone else gave to this person (a manager's reassignment) that
        they have not opened since: shown as new. Each follow-up's latest such change."""
        mine = self.unit.identity.my_ids

        def read(conn: Connection) -> dict[str, GivenToMe]:
            latest = {r[0]: r for r in store.reassigned_to(conn, mine)}
            seen = store.followups_seen(conn)
            return {fid: GivenToMe(fid, eid, author, self.unit.user_name(author),
                                   hlc_local_iso(hlc))
                    for fid, (_f, eid, author, hlc) in latest.items() if seen.get(fid) != eid}
        return self.unit.read(read)

    def mark_seen(self, followup_ids: Iterable[str]) -> ChangeSet:
        """The person opened these follow-ups: those given to them are no longer new (kept
        in this vault only; nothing is sent to the store)."""
        wanted = set(followup_ids)
        new = {fid: g for fid, g in self.given_to_me().items() if fid in wanted}
        if not new:
            return ChangeSet()
        when = dt.datetime.fromtimestamp(self.unit.clock.time(), dt.UTC).isoformat(
            timespec="seconds")
        with self.unit.write() as w:
            for fid, given in new.items():
                store.followup_seen_put(w.conn, fid, given.event_id, when)
            w.note(ChangeSet(followups=frozenset(new)))
        return w.changes

    def due_date_for(self, days: int | None = None, start: dt.date | None = None) -> dt.date:
        count = days if days is not None else self.working_days
        return self.calendar.add_working_days(start or self.unit.clock.today(), count)

    def set_working_days(self, days: int) -> None:
        """Working days from a decision to its default follow-up, for decisions saved from now."""
        spec = describe_setting("followup_working_days")
        if isinstance(days, bool) or not isinstance(days, int) or not spec.in_range(days):
            raise ValueError("followup_working_days out of range")
        with self.unit.lock:
            self.working_days = days

    # -- changes -------------------------------------------------------------------------------
    def complete(self, followup_id: str, outcome: str, *, parents: Iterable[str]) -> Saved:
        require_reason(outcome, "the outcome (what the recipient did)")
        return self._change(followup_id, "followup.done", {"outcome": outcome.strip()},
                            parents)

    def cancel(self, followup_id: str, reason: str, *, parents: Iterable[str]) -> Saved:
        require_reason(reason, "cancelling this follow-up")
        return self._change(followup_id, "followup.cancel", {"reason": reason.strip()},
                            parents)

    def reschedule(self, followup_id: str, due: dt.date, reason: str = "", *,
                   parents: Iterable[str]) -> Saved:
        if type(due) is not dt.date:
            raise ValidationError([Problem("due_date", "Give the new due date as a date.")])
        if reason:
            require_reason(reason, "moving the follow-up")
        latest = self.unit.clock.today() + dt.timedelta(days=MAX_DUE_DAYS_AHEAD)

        def body(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
            decided = decided_date(store.decision_decided_at(conn, row["record_id"]) or "")
            if decided is not None and due < decided:
                raise ValidationError([Problem("due_date", "The new due date is before the "
                                               "decision was made: choose a later date.")])
            if due > latest:
                raise ValidationError([Problem("due_date", "The new due date is more than "
                                               "five years away: check the year.")])
            return {"due_date": due.isoformat(), "previous_due_date": row["due_date"],
                    "reason": reason.strip()}
        return self._change(followup_id, "followup.reschedule", body, parents)

    def reassign(self, followup_id: str, to_user: str, *, parents: Iterable[str],
                 reason: str = "") -> Saved:
        """Give a follow-up to another member of the team (a manager's change: the store
        refuses it from anyone else)."""
        if not isinstance(to_user, str) or not to_user.strip() or len(to_user) > 64:
            raise ValidationError([Problem("owner_id", "Choose whom to give it to.")])
        if reason:
            require_reason(reason, "reassigning the follow-up")
        return self._change(followup_id, "followup.reassign", {"reason": reason.strip()},
                            parents, assignee=to_user.strip())

    def _change(self, followup_id: str, kind: str,
                payload: dict[str, Any] | Callable[[Connection, dict[str, Any]], dict[str, Any]],
                parents: Iterable[str], *, assignee: str | None = None) -> Saved:
        seen = tuple(parents)
        with self.unit.write() as w:
            row = store.followup_get_row(w.conn, followup_id)
            if row is None:
                raise NotFound("follow-up")
            refusal = Rights(self.unit).followup_refusal(
                row["owner_id"], reassign=kind == "followup.reassign")
            if refusal:
                raise InvalidChange(refusal)
            check_seen_followup(w.conn, followup_id, seen, row)
            body = payload(w.conn, row) if callable(payload) else payload
            ev = w.emit("followup", kind, row["record_id"], followup_id, parents=seen,
                        payload=body, assignee_id=assignee)
        return Saved(ev.event_id, w.changes)


def check_seen_followup(conn: Connection, followup_id: str, parents: tuple[str, ...],
                        row: dict[str, Any]) -> None:
    """The versions the author saw are this follow-up's, and it was open in them (or in
    conflict, and they saw every version: the change resolves it)."""
    graph = {eid: (kind, tuple(json.loads(ps)))
             for eid, kind, ps in store.entity_graph(conn, followup_id)}
    if not parents or not set(parents) <= graph.keys():
        raise InvalidChange("The follow-up changed since it was shown: open it again.")
    seen = ancestors(graph, parents)
    if any(graph[e][0] in CLOSING for e in seen):
        heads = set(json.loads(row["heads"]))
        if row["conflicts"] == "[]" or not heads <= set(parents):
            raise InvalidChange("This follow-up is already closed.")


def ancestors(graph: dict[str, tuple[str, tuple[str, ...]]],
              parents: Iterable[str]) -> set[str]:
    """The versions named and every version they had seen."""
    seen: set[str] = set()
    todo = [p for p in parents if p in graph]
    while todo:
        eid = todo.pop()
        if eid in seen:
            continue
        seen.add(eid)
        todo.extend(p for p in graph[eid][1] if p in graph and p not in seen)
    return seen


def create_default(writer: Writer, record_id: str, kind: FollowUpKind, due: dt.date) -> str:
    """A new record's default follow-up, held by its author."""
    fid = writer.new_id()
    me = writer.unit.identity.user_id
    writer.emit("followup", "followup.create", record_id, fid, parents=(), owner_id=me,
                assignee_id=me, payload={"kind": kind.value, "title": FOLLOWUP_TITLES[kind],
                                         "due_date": due.isoformat()})
    return fid


def heads_of_followup(conn: Connection, followup_id: str) -> list[str]:
    """The follow-up's latest versions, which a new change follows."""
    row = store.followup_get_row(conn, followup_id)
    return [] if row is None else list(json.loads(row["heads"]))


def followup_of(r: tuple[Any, ...]) -> FollowUp:
    return FollowUp(r[0], r[1], r[2], r[3], r[4], dt.date.fromisoformat(r[5]), r[6], r[7],
                    r[8], r[9], r[10], r[11], ids_of(r[12]), ids_of(r[13]))


def ids_of(text: str) -> tuple[str, ...]:
    """A column's JSON list of ids or names; the usual '[]' and '["one"]' without a parse
    ("My follow-ups" reads a thousand rows at a time)."""
    if text == "[]":
        return ()
    if text.startswith('["') and text.endswith('"]') and '"' not in text[2:-2] \
            and "\\" not in text:
        return (text[2:-2],)
    return tuple(json.loads(text))


def decided_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


__all__ = ["FOLLOWUP_FIELDS", "FOLLOWUP_TITLES", "FollowUps", "create_default",
           "followup_of", "heads_of_followup"]
