"""Properties of sync, without a store: real vaults exchange events in any order.

Four devices (two of Pat's, Paula's, and Mo's, a manager) make random changes — records,
corrections (the same record corrected offline on two devices), withdrawals, follow-ups
done, cancelled, rescheduled, reassigned — and hand each other what they hold, pairwise,
shuffled, in pages, through ``Ingest.apply``. After a full exchange:

- every device shows the same thing (the projection's digest is equal);
- a rebuild from events changes nothing (the incremental state is the events' state);
- nothing is lost or duplicated, nothing quarantined;
- every field's current value is what its latest writers wrote (a model kept by the test
  from what each device showed when the change was made): one value, or several
  concurrent ones that differ — then the field is in conflict with all of them kept;
- a follow-up done or cancelled ignores a reschedule concurrent with it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from app.model import RECORD_VERSION, Counterparty, DecisionRecord, FollowUpState, Subject
from app.service import Sharelog
from db import store
from tests.conftest import make_share
from tests.sync_support import MO, PAT, PAULA, Team

NAMES = ("pat-laptop", "pat-tablet", "paula-laptop", "mo-laptop")
OWNER = {"pat-laptop": PAT, "pat-tablet": PAT, "paula-laptop": PAULA, "mo-laptop": MO}
RECORD_FIELDS = sorted(k for k in DecisionRecord.__dataclass_fields__)
EDITS = ["reasons", "purpose", "information", "subjects", "counterparty", "reasons+purpose"]
FOLLOWUP_CHANGES = ["done", "cancel", "reschedule", "reschedule", "reassign"]


@dataclass
class Write:
    """One change as the test made it: what it set, and what its author had seen."""

    event_id: str
    entity_id: str
    parents: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)


class Model:
    """Per entity (record or follow-up), the changes made and what each set."""

    def __init__(self) -> None:
        self.writes: dict[str, list[Write]] = {}
        self.owner: dict[str, str] = {}
        self.followup_record: dict[str, str] = {}

    def add(self, entity_id: str, write: Write) -> None:
        self.writes.setdefault(entity_id, []).append(write)

    def ancestors(self, entity_id: str) -> dict[str, set[str]]:
        by_id = {w.event_id: w for w in self.writes[entity_id]}
        out: dict[str, set[str]] = {}

        def of(eid: str) -> set[str]:
            if eid not in out:
                seen = {eid}
                for p in by_id[eid].parents:
                    if p in by_id:
                        seen |= of(p)
                out[eid] = seen
            return out[eid]

        for eid in by_id:
            of(eid)
        return out

    def latest(self, entity_id: str, name: str, exclude: set[str] | None = None
               ) -> tuple[list[Write], dict[str, set[str]]]:
        """The writes of ``name`` no other write of it has seen."""
        anc = self.ancestors(entity_id)
        writers = [w for w in self.writes[entity_id] if name in w.values
                   and w.event_id not in (exclude or set())]
        return [w for w in writers if not any(
            o is not w and w.event_id in anc[o.event_id] for o in writers)], anc


def _plain(record: DecisionRecord) -> dict[str, Any]:
    data = record.to_dict()
    data.pop("record_version", None)
    return data


class Sync(RuleBasedStateMachine):
    templates: Any = None
    base: Path | None = None
    runs = 0
    conflicts_seen: set[str] = set()  # kinds of conflict met, over every run

    @initialize(seed=st.integers(0, 2**32 - 1))
    def start(self, seed: int) -> None:
        assert self.base is not None
        Sync.runs += 1
        self.team = Team.from_templates(self.templates, self.base / f"run-{Sync.runs}")
        self.rng = random.Random(seed)
        self.model = Model()
        self.made: set[str] = set()
        # Two of Pat's records every device already holds: what the runs change.
        for n in range(2):
            self.record("pat-laptop", False, n)
        for dst in NAMES[1:]:
            self.team.exchange("pat-laptop", dst, self.rng)

    def svc(self, name: str) -> Sharelog:
        return self.team.devices[name]

    def _note_all(self, svc: Sharelog, before: int) -> None:
        rows = svc.vault.conn.execute("SELECT event_id FROM events WHERE seq > ?", (before,))
        self.made |= {r[0] for r in rows}

    def _top(self, svc: Sharelog) -> int:
        return int(svc.vault.conn.execute("SELECT coalesce(max(seq), 0) FROM events"
                                          ).fetchone()[0])

    # -- changes ----------------------------------------------------------------------------
    @rule(device=st.sampled_from(NAMES), request=st.booleans(), n=st.integers(0, 99))
    def record(self, device: str, request: bool, n: int) -> None:
        if len(self.model.owner) >= 4:  # a few records, changed often: that is where
            return                      # concurrent changes meet
        svc = self.svc(device)
        record = make_share(reasons=f"Reasons {n}",
                            subjects=[Subject(name=f"Child {n}", kind="child", case_ref="C1")])
        if request:
            record.direction = "request_made"
            record.requested_information = "Whether the child is known"
            record.without_consent_ground = ""
        top = self._top(svc)
        rid = svc.record_decision(record)
        self._note_all(svc, top)
        detail = svc.get_decision(rid)
        self.model.owner[rid] = OWNER[device]
        create = svc.versions(rid)[0]
        self.model.add(rid, Write(create.event_id, rid, (),
                                  {**_plain(record), "status": "active"}))
        for fu in detail.followups:
            self.model.followup_record[fu.followup_id] = rid
            [made] = svc.followup_history(fu.followup_id)
            self.model.add(fu.followup_id, Write(made.event_id, fu.followup_id, (), {
                "state": "open", "outcome": None, "cancel_reason": None,
                "due_date": fu.due_date.isoformat(), "owner_id": OWNER[device]}))

    def _records(self, svc: Sharelog, owner: str) -> list[str]:
        return [s.record_id for s in svc.list_decisions()
                if s.owner_id == owner and s.status == "active"]

    @rule(device=st.sampled_from(NAMES), pick=st.integers(0, 50),
          what=st.sampled_from(EDITS), n=st.integers(0, 3))
    def correct(self, device: str, pick: int, what: str, n: int) -> None:
        mine = self._records(self.svc(device), OWNER[device])
        if mine:
            self._correct(device, mine[pick % len(mine)], what, n)

    def _correct(self, device: str, rid: str, what: str, n: int) -> None:
        svc = self.svc(device)
        shown = svc.get_decision(rid)
        if shown.status != "active":
            return
        seen = _plain(shown.record)
        record = DecisionRecord.from_dict(shown.record.to_dict())
        for part in what.split("+"):
            if part == "subjects":
                record.subjects = [Subject(name=f"Child renamed {n}", kind="child",
                                           case_ref="C1")]
            elif part == "counterparty":
                record.counterparty = Counterparty(name=f"Dr {n}", organisation="Clinic")
            else:
                setattr(record, part, f"{part} {n} from {device}")
        top = self._top(svc)
        eid = svc.correct_decision(rid, record, f"fix {n}", parents=shown.heads)
        self._note_all(svc, top)
        after = _plain(record)
        changed = {f: after[f] for f in RECORD_FIELDS
                   if after[f] != seen[f] or f in shown.conflicts}
        self.model.add(rid, Write(eid, rid, tuple(shown.heads), changed))

    @rule(pick=st.integers(0, 50), first=st.sampled_from(EDITS), second=st.sampled_from(EDITS),
          n=st.integers(0, 3))
    def correct_offline_on_both(self, pick: int, first: str, second: str, n: int) -> None:
        """Pat corrects the same record on the laptop and on the tablet before either has
        the other's change (the same field, or not)."""
        both = set(self._records(self.svc("pat-laptop"), PAT)) & set(
            self._records(self.svc("pat-tablet"), PAT))
        if not both:
            return
        rid = sorted(both)[pick % len(both)]
        self._correct("pat-laptop", rid, first, n)
        self._correct("pat-tablet", rid, second, n + 1)

    @rule(pick=st.integers(0, 50), first=st.sampled_from(FOLLOWUP_CHANGES),
          second=st.sampled_from(FOLLOWUP_CHANGES), n=st.integers(0, 2))
    def followup_on_both(self, pick: int, first: str, second: str, n: int) -> None:
        """Pat's laptop and Mo (the manager) change the same follow-up concurrently."""
        laptop, manager = self.svc("pat-laptop"), self.svc("mo-laptop")
        shared = sorted(
            {r[0] for r in laptop.vault.conn.execute(
                "SELECT followup_id FROM followups WHERE state = 'open' AND owner_id = ?",
                (PAT,))}
            & {r[0] for r in manager.vault.conn.execute(
                "SELECT followup_id FROM followups WHERE state = 'open'")})
        if not shared:
            return
        fid = shared[pick % len(shared)]
        self._followup_change("pat-laptop", fid, first, n)
        self._followup_change("mo-laptop", fid, second, n + 1)

    @rule(device=st.sampled_from(NAMES), pick=st.integers(0, 50))
    def withdraw(self, device: str, pick: int) -> None:
        svc = self.svc(device)
        mine = self._records(svc, OWNER[device])
        if not mine or self.rng.random() < 0.5:  # withdrawals are rarer than corrections
            return
        rid = mine[pick % len(mine)]
        shown = svc.get_decision(rid)
        top = self._top(svc)
        eid = svc.withdraw_decision(rid, "made in error", parents=shown.heads)
        self._note_all(svc, top)
        seen = _plain(DecisionRecord.from_dict(_shown_data(shown)))
        values: dict[str, Any] = {f: seen[f] for f in shown.conflicts if f != "status"}
        values["status"] = "withdrawn"
        self.model.add(rid, Write(eid, rid, tuple(shown.heads), values))
        # Its open follow-ups were cancelled with it.
        for fu_event in svc.vault.conn.execute(
                "SELECT event_id, entity_id, parents FROM events WHERE seq > ? AND "
                "kind = 'followup.cancel'", (top,)).fetchall():
            self.model.add(fu_event[1], Write(fu_event[0], fu_event[1],
                                              tuple(json.loads(fu_event[2])),
                                              {"state": "cancelled",
                                               "cancel_reason": "The record was withdrawn."}))

    @rule(device=st.sampled_from(NAMES), pick=st.integers(0, 50),
          kind=st.sampled_from(FOLLOWUP_CHANGES), n=st.integers(0, 2))
    def followup(self, device: str, pick: int, kind: str, n: int) -> None:
        svc = self.svc(device)
        manager = device == "mo-laptop"
        rows = svc.vault.conn.execute(
            "SELECT followup_id, owner_id FROM followups WHERE state = 'open' "
            "ORDER BY followup_id").fetchall()
        mine = [r[0] for r in rows if manager or r[1] == OWNER[device]]
        if mine:
            self._followup_change(device, mine[pick % len(mine)], kind, n)

    def _followup_change(self, device: str, fid: str, kind: str, n: int) -> None:
        svc = self.svc(device)
        fu = svc.get_followup(fid)
        if fu.state != FollowUpState.OPEN or (kind == "reassign" and device != "mo-laptop"):
            return
        top = self._top(svc)
        if kind == "done":
            eid = svc.complete_followup(fid, f"done {n}", parents=fu.heads)
            values: dict[str, Any] = {"state": "done", "outcome": f"done {n}"}
        elif kind == "cancel":
            eid = svc.cancel_followup(fid, f"cancel {n}", parents=fu.heads)
            values = {"state": "cancelled", "cancel_reason": f"cancel {n}"}
        elif kind == "reschedule":
            due = dt.date(2027, 1, 4) + dt.timedelta(days=7 * n)
            eid = svc.reschedule_followup(fid, due, parents=fu.heads)
            values = {"due_date": due.isoformat()}
        else:
            to = (PAT, PAULA, MO)[n % 3]
            eid = svc.reassign_followup(fid, to, parents=fu.heads)
            values = {"owner_id": to}
        self._note_all(svc, top)
        self.model.add(fid, Write(eid, fid, tuple(fu.heads), values))

    @rule(src=st.sampled_from(NAMES), dst=st.sampled_from(NAMES), pages=st.integers(1, 3))
    def exchange(self, src: str, dst: str, pages: int) -> None:
        if src == dst:
            return
        for result in self.team.exchange(src, dst, self.rng, pages):
            # Waiting (a change before what it changes) is fine within an exchange.
            assert result.refused == () and result.newer == ()
            assert result.key_conflicts == ()

    # -- after a full exchange -------------------------------------------------------------
    def teardown(self) -> None:
        if not hasattr(self, "team"):
            return
        try:
            self.team.full_exchange(self.rng)
            self._check()
        finally:
            self.team.close()

    def _check(self) -> None:
        digests = {name: svc.projection_digest() for name, svc in self.team.devices.items()}
        assert len(set(digests.values())) == 1, digests
        for name, svc in self.team.devices.items():
            conn = svc.vault.conn
            ids = [r[0] for r in conn.execute("SELECT event_id FROM events")]
            assert len(ids) == len(set(ids))
            assert set(ids) == self.made, name  # nothing lost, nothing extra
            assert conn.execute("SELECT count(*) FROM quarantine WHERE status != 'applied'"
                                ).fetchone()[0] == 0
            own = {r[0] for r in conn.execute(
                "SELECT e.event_id FROM outbox o JOIN events e USING (event_id) "
                "WHERE e.device_id != ?", (svc.identity.device_id,))}
            assert own == set()  # only its own events wait for the store
            assert svc.rebuild_projection().repaired == []
        # Rebuilt from nothing but the events, a device shows exactly the same.
        svc = self.team.devices["paula-laptop"]
        with svc.vault.transaction() as conn:
            store.projection_clear(conn)
        svc.rebuild_projection()
        assert svc.projection_digest() == digests["paula-laptop"]
        svc = self.team.devices["pat-laptop"]
        assert svc.verify_integrity().ok
        for rid in svc.decisions.in_conflict():
            Sync.conflicts_seen |= {f"{c.entity}.{c.field}" for c in svc.conflicts(rid)}
        for rid in self.model.owner:
            self._check_record(svc, rid)
        for fid in self.model.followup_record:
            self._check_followup(svc, fid)

    def _check_record(self, svc: Sharelog, rid: str) -> None:
        detail = svc.get_decision(rid)
        shown = _plain(DecisionRecord.from_dict(_shown_data(detail)))
        conflicts = {c.field: c for c in svc.conflicts(rid) if c.entity == "decision"}
        for name in [*RECORD_FIELDS, "status"]:
            latest, anc = self.model.latest(rid, name)
            values = [w.values[name] for w in latest]
            have = detail.status if name == "status" else shown[name]
            if all(v == values[0] for v in values):
                assert have == values[0], (rid, name)
                assert name not in conflicts or name == "status"
            else:
                assert name in conflicts, (rid, name)
                kept = sorted(_key(v.value) for v in conflicts[name].values)
                assert kept == sorted(_key(v) for v in values), (rid, name)
        # A withdrawal that some latest version never saw: withdrawn, and in conflict.
        withdrawals = [w for w in self.model.writes[rid] if w.values.get("status") ==
                       "withdrawn"]
        if withdrawals:
            assert detail.status == "withdrawn"
            _latest, anc = self.model.latest(rid, "status")
            heads = _heads(self.model, rid, anc)
            unseen = [h for h in heads if not any(w.event_id in anc[h] for w in withdrawals)]
            assert ("status" in conflicts) == bool(unseen), rid

    def _check_followup(self, svc: Sharelog, fid: str) -> None:
        fu = svc.get_followup(fid)
        conflicts = set(fu.conflicts)
        state_latest, anc = self.model.latest(fid, "state")
        closers = [w for w in state_latest if w.values["state"] != FollowUpState.OPEN]

        def concurrent(a: str, b: str) -> bool:
            return a not in anc[b] and b not in anc[a]

        ignored = {w.event_id for w in self.model.writes[fid] if "due_date" in w.values
                   and any(concurrent(w.event_id, c.event_id) for c in closers)}
        for name, have in (("state", fu.state), ("owner_id", fu.owner_id),
                           ("due_date", fu.due_date.isoformat()), ("outcome", fu.outcome),
                           ("cancel_reason", fu.cancel_reason)):
            latest, _ = self.model.latest(fid, name, ignored if name == "due_date" else None)
            values = [w.values[name] for w in latest]
            if all(v == values[0] for v in values):
                assert have == values[0], (fid, name)
                assert name not in conflicts
            elif name == "due_date" and closers:
                assert name not in conflicts  # closed: its date no longer matters
            else:
                assert name in conflicts, (fid, name)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _shown_data(detail: Any) -> dict[str, Any]:
    data = detail.record.to_dict()
    data["record_version"] = RECORD_VERSION
    return data


def _heads(model: Model, entity_id: str, anc: dict[str, set[str]]) -> list[str]:
    ids = [w.event_id for w in model.writes[entity_id]]
    return [i for i in ids if not any(i != o and i in anc[o] for o in ids)]


@pytest.mark.slow
def test_every_replica_converges_and_keeps_every_concurrent_change(
        team_templates: Any, tmp_path: Path) -> None:
    Sync.templates = team_templates
    Sync.base = tmp_path
    Sync.runs = 0
    Sync.conflicts_seen = set()
    kinds = {"decision.reasons", "decision.status", "followup.state"}
    # The runs must meet concurrent changes of every kind (else they proved little). The
    # runs are random: a round of 30 that met no concurrent withdrawal (it happened once in
    # a full run) is followed by another, up to three.
    for _round in range(3):
        run_state_machine_as_test(Sync, settings=settings(
            max_examples=30, stateful_step_count=40, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
        if kinds <= Sync.conflicts_seen:
            break
    assert Sync.runs >= 30
    assert kinds <= Sync.conflicts_seen, Sync.conflicts_seen
