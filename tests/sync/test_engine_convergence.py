"""The convergence run (issue 9, the faults scenario) on a real PostgreSQL store: Pat on a
laptop and a tablet, Paula on a laptop, and their manager Mo, each with a skewed clock
(hours and days), make random operations, offline for stretches, syncing through a proxy
that drops connections, loses answers after the store committed, answers 503 and cuts
bodies. Then the faults stop and, within a stated number of syncs, every outbox drains and
every device and the store converge (a digest of each projection); no event is lost,
none stored twice, and every same-field concurrent change became a conflict.

Operations: new records; corrections of one's own records (one of three fields, so Pat's
two devices, offline, correct the same records, field by field); withdrawals; follow-ups
done, cancelled or rescheduled by whoever their device says holds them, or rescheduled by
the manager; reassignments by the manager of follow-ups put aside for a handover when their
record was made. Their first holder goes on acting on them until the handover reaches
their device, so some of those changes (and the cancels of some withdrawals) reach the
store after the reassignment, and the store refuses them (``not_assignee``). A refused
change stays in quarantine on its device and counts in no projection: the run still
converges by digest, and every refusal is of that kind and is said.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from app.envelope import SignedEvent
from app.sync.engine import SyncReport, SyncState
from server.database import make_engine, migrate  # noqa: F401 - the store's own migration
from server.process import StoreProcess
from tests.conftest import make_share
from tests.stores import new_pg_database
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.faultproxy import FaultProxy, drop, lose_response, status, truncate
from tests.sync.harness import Harness, HarnessDevice, vault_event_ids

REFUSED = "refused"
OPERATIONS_PER_DEVICE = 300
SEED = 20261201
SKEWS = {"pat-laptop": dt.timedelta(hours=3), "pat-tablet": dt.timedelta(days=-2),
         "paula-laptop": dt.timedelta(days=1, hours=5), "mo-laptop": dt.timedelta(hours=-7)}
FIELDS = ("reasons", "information", "purpose")
# Once the faults stop: one sync each drains every outbox, a second round brings every
# device what the others pushed in the first.
DRAIN_SYNCS = 1
CONVERGE_ROUNDS = 2


@pytest.fixture(scope="module")
def pg_store(pg_cluster, pg_template, tmp_path_factory) -> Iterator[StoreProcess]:
    proc = StoreProcess(new_pg_database(pg_cluster, pg_template),
                        tmp_path_factory.mktemp("pg-store"))
    yield proc
    proc.stop()


class Run:
    """The random operations and what the test knows of them (ids only)."""

    def __init__(self, harness: Harness, engines: Engines, rng: random.Random) -> None:
        self.harness = harness
        self.engines = engines
        self.rng = rng
        self.handover: dict[str, str | None] = {}  # follow-up -> whom it was handed to
        self.offline: set[str] = set()
        self.counter = 0
        self.stalls: list[str] = []
        self.done = Counter[str]()

    def text(self, what: str) -> str:
        self.counter += 1
        return f"{what} number {self.counter} written in the run."

    # -- syncing, and what every sync must show ----------------------------------------
    def sync(self, device: HarnessDevice) -> SyncReport:
        report = self.engines.sync_once(device)
        st = report.status
        # Refusals held are said beside the state for as long as they are kept.
        ok = st.state == SyncState.SYNCED and st.waiting == 0 and st.error in (None, REFUSED)
        shown = st.state in (SyncState.OFFLINE, SyncState.ERROR) and bool(st.message)
        if not (ok or shown):  # changes waiting, no error said: a stall
            self.stalls.append(f"{device.name}: {st.state} waiting={st.waiting}")
        kept = [(q.reason_code, q.status) for q in device.service.sync.quarantined()]
        if st.error not in (None, "offline", "server_error", REFUSED) or any(
                k != ("not_assignee", "refused_by_store") for k in kept):
            self.stalls.append(f"{device.name}: unexpected {st.error} {kept}")
        if st.error == REFUSED and not (kept and st.message):
            self.stalls.append(f"{device.name}: a refusal not said")
        return report

    # -- one random operation ------------------------------------------------------------
    def step(self, device: HarnessDevice) -> None:
        name = device.name
        if self.rng.random() < 0.04:  # a stretch offline begins or ends
            self.offline ^= {name}
        manager = device.member.role == "manager"
        ops = [("record", 3), ("correct", 4), ("withdraw", 0.3), ("followup", 3),
               ("sync", 0 if name in self.offline else 2.5)]
        if manager:
            ops += [("reassign", 2), ("reschedule_any", 1)]
        op = self.rng.choices([o for o, _ in ops], [w for _, w in ops])[0]
        done = getattr(self, f"op_{op}")(device)
        self.done[op if done else f"{op} (nothing to do)"] += 1

    def op_sync(self, device: HarnessDevice) -> bool:
        self.sync(device)
        return True

    def op_record(self, device: HarnessDevice) -> bool:
        svc = device.service
        rid = svc.record_decision(make_share(reasons=self.text("Reasons")))
        if device.member.role != "manager" and self.rng.random() < 0.35:
            for fu in svc.get_decision(rid).followups:
                self.handover[fu.followup_id] = None
        return True

    def _mine(self, device: HarnessDevice, *, active: bool = True) -> list[str]:
        svc = device.service
        mine = set(svc.identity.my_ids)
        return sorted(d.record_id for d in svc.list_decisions()
                      if svc.get_decision(d.record_id).owner_id in mine
                      and (not active or svc.get_decision(d.record_id).status == "active"))

    def op_correct(self, device: HarnessDevice) -> bool:
        records = self._mine(device)
        if not records:
            return False
        svc = device.service
        rid = self.rng.choice(records)
        detail = svc.get_decision(rid)
        record = copy.deepcopy(detail.record)
        setattr(record, self.rng.choice(FIELDS), self.text("A correction"))
        svc.correct_decision(rid, record, "New information", parents=detail.heads)
        return True

    def op_withdraw(self, device: HarnessDevice) -> bool:
        # A withdrawal cancels the record's open follow-ups its author holds, as far as
        # their device knows: a cancel of one handed over meanwhile is refused.
        svc = device.service
        records = self._mine(device)
        if len(records) < 4:
            return False
        rid = self.rng.choice(records)
        svc.withdraw_decision(rid, "Recorded in error", parents=svc.get_decision(rid).heads)
        return True

    def op_followup(self, device: HarnessDevice) -> bool:
        svc = device.service
        held = svc.my_followups()  # a follow-up being handed over too, until it is
        if device.member.role == "manager":
            held = [f for f in held if f.followup_id not in self.handover]
        if not held:
            return False
        fu = self.rng.choice(sorted(held))
        what = self.rng.choice(("done", "cancel", "reschedule", "reschedule"))
        if what == "done":
            svc.complete_followup(fu.followup_id, self.text("Outcome"), parents=fu.heads)
        elif what == "cancel":
            svc.cancel_followup(fu.followup_id, self.text("No longer needed"),
                                parents=fu.heads)
        else:
            self._reschedule(svc, fu)
        return True

    def _reschedule(self, svc: Any, fu: Any) -> None:
        due = svc.today() + dt.timedelta(days=self.rng.randint(1, 40))
        svc.reschedule_followup(fu.followup_id, due, self.text("Waiting"), parents=fu.heads)

    def op_reschedule_any(self, device: HarnessDevice) -> bool:
        svc = device.service
        open_ = [f for d in svc.list_decisions() for f in svc.get_decision(d.record_id).followups
                 if f.state == "open"]
        if not open_:
            return False
        self._reschedule(svc, self.rng.choice(sorted(open_)))
        return True

    def op_reassign(self, device: HarnessDevice) -> bool:
        svc = device.service
        members = self.harness.members
        waiting = [fid for fid, to in sorted(self.handover.items()) if to is None]
        candidates = []
        for fid in waiting:
            try:
                fu = svc.get_followup(fid)
            except Exception:  # not on the manager's laptop yet
                continue
            if fu.state == "open":
                candidates.append(fu)
        if not candidates:
            return False
        fu = self.rng.choice(candidates)
        owner = svc.get_decision(fu.record_id).owner_id
        to = members["paula"].user_id if owner == members["pat"].user_id else (
            members["pat"].user_id)
        svc.reassign_followup(fu.followup_id, to, parents=fu.heads)
        self.handover[fu.followup_id] = to
        return True


def concurrent_corrections(run: Run) -> tuple[list[str], list[str]]:
    """Pat's laptop and tablet, level, correct records offline: five the same field
    differently, three a different field each. Returns (same-field, other-field) ids."""
    laptop, tablet = run.harness.device("pat-laptop"), run.harness.device("pat-tablet")
    for device in (laptop, tablet, laptop):
        status = run.sync(device).status
        if (status.state, status.error) == (SyncState.ERROR, REFUSED):
            status = run.sync(device).status  # it pushed refused changes: said, then synced
        assert status.state == SyncState.SYNCED, (device.name, status.error, status.message)
    level = [rid for rid in run._mine(laptop)
             if not laptop.service.get_decision(rid).conflicts
             and len(laptop.service.get_decision(rid).heads) == 1
             and tablet.service.get_decision(rid).heads == laptop.service.get_decision(rid).heads]
    assert len(level) >= 8, len(level)
    picked = run.rng.sample(level, 8)
    for i, rid in enumerate(picked):
        fields = ("reasons", "reasons") if i < 5 else ("reasons", "purpose")
        for device, field in zip((laptop, tablet), fields, strict=True):
            svc = device.service
            detail = svc.get_decision(rid)
            record = copy.deepcopy(detail.record)
            setattr(record, field, run.text(f"Offline correction on {device.name}"))
            svc.correct_decision(rid, record, "New information", parents=detail.heads)
    return picked[:5], picked[5:]


def _ancestry(byid: dict[str, SignedEvent]) -> Any:
    """eid -> the ids of every earlier version it follows (within ``byid``)."""
    ancestors: dict[str, set[str]] = {}

    def up(eid: str) -> set[str]:
        if eid not in ancestors:
            found: set[str] = set()
            for p in byid[eid].parents:
                if p in byid:
                    found |= {p} | up(p)
            ancestors[eid] = found
        return ancestors[eid]

    return up


def body(e: SignedEvent) -> dict[str, Any]:
    return dict(json.loads(e.payload)["record"])


def same_field_concurrent_changes(events: list[SignedEvent]) -> dict[str, set[str]]:
    """From the store's events alone: per record, the fields two concurrent corrections
    (each made on a single version) changed to different values, where no later version
    follows both. Records with a withdrawal are left out (their conflict is the
    withdrawal's)."""
    by_record: dict[str, list[SignedEvent]] = {}
    for ev in events:
        if ev.entity == "decision":
            by_record.setdefault(ev.record_id, []).append(ev)
    expected: dict[str, set[str]] = {}
    for rid, evs in by_record.items():
        if any(e.kind == "decision.withdraw" for e in evs):
            continue
        byid = {e.event_id: e for e in evs}
        up = _ancestry(byid)

        changed = {}
        for e in evs:
            if e.kind == "decision.correct" and len(e.parents) == 1 and e.parents[0] in byid:
                before, after = body(byid[e.parents[0]]), body(e)
                changed[e.event_id] = {f: after.get(f) for f in after
                                       if after.get(f) != before.get(f)}
        fields: set[str] = set()
        ids = sorted(changed)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if a in up(b) or b in up(a):
                    continue
                if any(a in up(e) and b in up(e) for e in byid):
                    continue  # a later version follows both: resolved
                fields |= {f for f in changed[a].keys() & changed[b].keys()
                           if changed[a][f] != changed[b][f]}
        if fields:
            expected[rid] = fields
    return expected


@pytest.mark.slow
def test_four_devices_with_skewed_clocks_converge_through_faults(pg_store, tmp_path) -> None:
    proxy = FaultProxy(pg_store.base_url, seed=SEED)
    engines = Engines()
    harness = Harness(pg_store, tmp_path, address=proxy.base_url,
                      sync_once=engines.sync_once, sign_in=sign_in_keeping_token)
    try:
        for name, skew in SKEWS.items():
            harness.device(name).service.unit.clock.set_skew(skew)
        run = Run(harness, engines, random.Random(SEED))
        for fault in (drop(), lose_response(), status(503), truncate(keep=40)):
            proxy.add(fault, probability=0.025)
        names = list(harness.devices)
        for _ in range(OPERATIONS_PER_DEVICE):
            for name in run.rng.sample(names, len(names)):
                run.step(harness.device(name))
        assert run.stalls == [], run.stalls
        faults = sum(1 for x in proxy.log if x.fault != "pass")
        assert faults > 20  # the faults did happen
        assert run.done["reassign"] >= 5 and run.done["correct"] >= 100, run.done
        print(f"operations: {dict(run.done)}; faults injected: {faults} of "
              f"{len(proxy.log)} requests")

        # Faults stop. Pat's two devices, level with each other, then correct records
        # offline: the same field differently (a conflict to keep) or different fields
        # (merged, no conflict).
        proxy.clear()
        same, other = concurrent_corrections(run)
        # Within DRAIN_SYNCS sync each, every outbox is empty ...
        for _ in range(DRAIN_SYNCS):
            for name in names:
                run.sync(harness.device(name))
        for name in names:
            status_now = engines.engine(harness.device(name)).status()
            assert (status_now.state, status_now.waiting) == (SyncState.SYNCED, 0), (
            name, status_now.error, status_now.message)
        # ... and within CONVERGE_ROUNDS every device agrees with the store.
        for _ in range(CONVERGE_ROUNDS - DRAIN_SYNCS):
            for name in names:
                run.sync(harness.device(name))
        assert run.stalls == [], run.stalls
        harness.assert_converged()
        assert harness.projection("pat-laptop").value == harness.projection("pat-tablet").value

        # No event lost, none twice: everything each device made is in the store, once,
        # but for the changes it refused, each kept in quarantine on the device that made
        # it, counted nowhere, and named by no change the store took after it.
        held = harness.store_event_ids()
        assert [e for e, n in Counter(held).items() if n > 1] == []
        made_everywhere: set[str] = set()
        refused_everywhere: set[str] = set()
        store_events = harness.store_view("mo-laptop")
        for name, device in harness.devices.items():
            ids = vault_event_ids(device.service)
            assert len(ids) == len(set(ids)), name
            refused = {q.event_id for q in device.service.sync.quarantined()}
            assert all(q.reason_code == "not_assignee" and q.status == "refused_by_store"
                       for q in device.service.sync.quarantined()), name
            own = {str(r[1]) for r in device.service.vault.conn.execute(
                "SELECT seq, event_id FROM events WHERE device_id = ?", (device.device_id,))}
            assert refused <= own, name
            made_everywhere |= own
            refused_everywhere |= refused
            assert {e.event_id for e in harness.store_view(name)} == set(ids) - refused, name
            if refused:  # the check calls none of it drift, and a rebuild brings none back
                assert device.service.verify_integrity().ok, name
                assert device.service.rebuild_projection().repaired == [], name
        assert made_everywhere - refused_everywhere == set(held)
        assert not refused_everywhere & {p for e in store_events for p in e.parents}
        print(f"refused by the store and kept: {len(refused_everywhere)}")
        assert len(refused_everywhere) >= 3  # the run did meet refusals

        # Every same-field concurrent change became a conflict, on every device holding it.
        expected = same_field_concurrent_changes(harness.store_view("mo-laptop"))
        assert set(same) <= set(expected)
        for rid in other:
            assert rid not in expected
            for name in ("pat-laptop", "pat-tablet", "mo-laptop"):
                detail = harness.device(name).service.get_decision(rid)
                assert detail.conflicts == () and len(detail.heads) == 2, (name, rid)
        for rid, fields in expected.items():
            for name, device in harness.devices.items():
                try:
                    detail = device.service.get_decision(rid)
                except Exception:  # out of this device's scope
                    continue
                assert fields <= set(detail.conflicts), (name, rid)
    finally:
        engines.close()
        harness.close()
        proxy.stop()
