"""The integrity check covers what the screen shows (issue 8, point 6).

The tables the screens read are a projection of the signed events. An edit of those
tables alone leaves every event intact; the check projects each record again from its
events, names the records whose rows differ and which parts, and a rebuild repairs them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import projection, session
from app.model import Counterparty, Subject
from app.projection import PART_FOLLOWUPS, PART_RECORD, PART_SEARCH
from app.service import Sharelog
from db import store
from tests.conftest import PASSPHRASE, make_share

EDITS: dict[str, tuple[str, str]] = {
    # what is edited: (SQL with :rid, the part the check must name)
    "the decision's current body": (
        "UPDATE decisions SET body = json_set(body, '$.reasons', 'Someone changed this') "
        "WHERE record_id = :rid", PART_RECORD),
    "its subjects text": (
        "UPDATE decisions SET subjects_text = 'Another Child' WHERE record_id = :rid",
        PART_RECORD),
    "its status": (
        "UPDATE decisions SET status = 'withdrawn' WHERE record_id = :rid", PART_RECORD),
    "a follow-up's due date": (
        "UPDATE followups SET due_date = '2031-01-01' WHERE record_id = :rid",
        PART_FOLLOWUPS),
    "a follow-up's state": (
        "UPDATE followups SET state = 'done', outcome = 'never happened' "
        "WHERE record_id = :rid", PART_FOLLOWUPS),
    "a follow-up that no change made": (
        "INSERT INTO followups (followup_id, record_id, team_id, owner_id, kind, title, "
        "due_date, state, created_at, updated_at) SELECT 'forged', record_id, team_id, "
        "owner_id, 'other', 'Forged', '2030-01-01', 'open', created_at, updated_at "
        "FROM decisions WHERE record_id = :rid", PART_FOLLOWUPS),
    "its search row": (
        "UPDATE decisions_fts SET reasons = 'nothing to find here' "
        "WHERE rowid = (SELECT rowid FROM decisions WHERE record_id = :rid)", PART_SEARCH),
    "a search row no decision row owns": (
        "INSERT INTO decisions_fts (rowid, record_id, subjects, counterparties, information, "
        "reasons) VALUES (999999, :rid, 'Someone', 'Else', 'Found by', 'mistake')",
        PART_SEARCH),
    "its search row, removed": (
        "DELETE FROM decisions_fts "
        "WHERE rowid = (SELECT rowid FROM decisions WHERE record_id = :rid)", PART_SEARCH),
}


@pytest.mark.parametrize("what", list(EDITS))
def test_an_edit_of_the_projection_alone_is_seen_and_repaired(service: Sharelog,
                                                              what: str) -> None:
    other = service.record_decision(make_share(reasons="Another record, untouched."))
    record_id = service.record_decision(make_share(
        reasons="Sharing is needed to protect the child from significant harm."))
    before = store.projection_snapshot(service.vault.conn)
    shown = service.get_decision(record_id)
    assert service.verify_record(record_id).ok and service.verify_integrity().ok

    sql, part = EDITS[what]
    service.vault.conn.execute(sql, {"rid": record_id})

    # The detail pane's verdict and the whole-vault check both see it, and name it (a
    # search row at another rowid is for the whole-vault check only: finding it by record
    # means reading the whole index, too slow for the pane).
    assert service.verify_record(record_id).ok == (what == "a search row no decision row owns")
    assert service.verify_record(other).ok
    report = service.verify_integrity()
    assert report.problems == []  # every event is intact: only the projection moved
    assert not report.ok
    assert [(d.record_id, d.parts) for d in report.drift] == [(record_id, (part,))]
    assert report.records == {record_id}
    assert f"1 record shown differs from its signed changes ({part}: 1)" in report.summary()

    repaired = service.rebuild_projection()
    assert [(d.record_id, d.parts) for d in repaired.repaired] == [(record_id, (part,))]
    assert repaired.summary().startswith("Repaired 1 record from the signed changes")
    assert store.projection_snapshot(service.vault.conn) == before
    assert service.get_decision(record_id) == shown
    assert service.verify_integrity().ok and service.verify_record(record_id).ok
    assert [s.record_id for s in service.search("significant harm")] == [record_id]


def test_a_record_no_change_made_is_named_and_removed(service: Sharelog) -> None:
    real = service.record_decision(make_share())
    conn = service.vault.conn
    row = store.decision_get_row(conn, real)
    assert row is not None
    forged = dict(row, record_id="forged-record", head_event_id="none", heads='["none"]')
    store.decision_upsert(conn, forged)
    report = service.verify_integrity()
    assert [(d.record_id, d.parts) for d in report.drift] == [
        ("forged-record", (PART_RECORD,))]
    assert not service.verify_record("forged-record").ok
    repaired = service.rebuild_projection()
    assert [d.record_id for d in repaired.repaired] == ["forged-record"]
    assert store.decision_get_row(conn, "forged-record") is None
    assert service.verify_integrity().ok


def test_damaged_text_in_the_projection_is_named_not_a_crash(service: Sharelog) -> None:
    record_id = service.record_decision(make_share())
    # Bytes that are no longer UTF-8, as damage on disk leaves them.
    service.vault.conn.execute(
        "UPDATE decisions SET counterparty_text = CAST(X'fffe41' AS TEXT) "
        "WHERE record_id = ?", (record_id,))
    report = service.verify_integrity()
    assert [(d.record_id, d.parts) for d in report.drift] == [(record_id, (PART_RECORD,))]
    assert not service.verify_record(record_id).ok
    service.rebuild_projection()
    assert service.verify_integrity().ok


# -- the projection is a function of the set of events --------------------------------------
def _record_with_history(service: Sharelog) -> str:
    record_id = service.record_decision(make_share(
        subjects=[Subject(name="Alice Example", case_ref="C1", kind="child")]))
    service.correct_decision(record_id, make_share(
        subjects=[Subject(name="Alicia Example", case_ref="C1", kind="child")]), "name",
            parents=service.get_decision(record_id).heads)
    fu = service.get_decision(record_id).followups[0].followup_id
    service.reschedule_followup(fu, dt.date(2027, 1, 4), "away",
                                parents=service.get_followup(fu).heads)
    service.complete_followup(fu, "confirmed by phone", parents=service.get_followup(fu).heads)
    return record_id


def _concurrent_correction(service: Sharelog, record_id: str, name: str) -> str:
    """A correction made having seen only the first version (as on another device that
    had not yet received the second): the versions its author saw are its parents."""
    first = [e for e in service.versions(record_id) if e.kind == "decision.create"][0]
    return service.correct_decision(record_id, make_share(
        subjects=[Subject(name=name, case_ref="C1", kind="child")],
        counterparty=Counterparty(name="K. Osei")), "seen only the first",
        parents=[first.event_id])


def test_concurrent_versions_are_kept_and_merged_field_by_field(service: Sharelog) -> None:
    record_id = _record_with_history(service)
    late = _concurrent_correction(service, record_id, "Concurrent Name")
    detail = service.get_decision(record_id)
    row = store.decision_get_row(service.vault.conn, record_id)
    assert row is not None and row["version_count"] == 3
    heads = json.loads(row["heads"])
    assert len(heads) == 2 and late in heads and set(detail.heads) == set(heads)
    # Both changed who it is about: in conflict, and until a person resolves it the
    # record shows the version both started from (never the later clock or larger id).
    assert detail.has_conflict and detail.conflicts == ("subjects",)
    assert detail.record.subjects[0].name == "Alice Example"
    # Only the late one changed the recipient: that change is taken.
    assert detail.record.counterparty.name == "K. Osei"
    [conflict] = service.conflicts(record_id)
    assert conflict.field == "subjects"
    assert sorted(v.value[0]["name"] for v in conflict.values) == [
        "Alicia Example", "Concurrent Name"]
    assert {v.author_name for v in conflict.values} == {"Sam Worker"}
    assert {v.note for v in conflict.values} == {"name", "seen only the first"}
    assert service.rebuild_projection().repaired == []
    assert service.verify_integrity().ok
    # A correction after both versions resolves it.
    service.correct_decision(record_id, make_share(
        subjects=[Subject(name="Alicia Example", case_ref="C1", kind="child")],
        counterparty=Counterparty(name="K. Osei")), "both were half right",
        parents=detail.heads)
    after = service.get_decision(record_id)
    assert not after.has_conflict and len(after.heads) == 1 and service.conflicts(
        record_id) == []
    assert after.record.subjects[0].name == "Alicia Example"
    assert service.rebuild_projection().repaired == []


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_any_arrival_order_gives_the_same_state(tmp_path_factory: Any, seed: int) -> None:
    home = tmp_path_factory.mktemp("order")
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    try:
        record_id = _record_with_history(svc)
        _concurrent_correction(svc, record_id, "Concurrent Name")
        events = [projection.event_from_row(r)
                  for r in store.events_for_record(svc.vault.conn, record_id)]
        expected = projection.project_record(events)
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert projection.project_record(shuffled) == expected
        # And in the vault: the same events stored in that arrival order rebuild the same.
        conn = svc.vault.conn
        conn.execute("PRAGMA foreign_keys = OFF")
        top = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        for i, ev in enumerate(shuffled, 1):
            conn.execute("UPDATE events SET seq = ? WHERE event_id = ?", (top + i, ev.event_id))
        assert svc.rebuild_projection().repaired == []
        assert svc.verify_integrity().ok
    finally:
        svc.lock()


def test_a_change_the_store_refused_is_no_drift_and_no_rebuild_brings_it_back(
        service: Sharelog) -> None:
    rid = service.record_decision(make_share())
    [fu] = service.get_decision(rid).followups
    shown = service.get_decision(rid)
    corrected = shown.record
    corrected.reasons = "A correction the store will refuse."
    correction = service.correct_decision(rid, corrected, "new information",
                                          parents=shown.heads)
    done = service.complete_followup(fu.followup_id, "An outcome the store will refuse.",
                                     parents=fu.heads)
    changes = service.sync.record_refusal(correction, "not_owner")
    changes |= service.sync.record_refusal(done, "not_assignee")
    after = service.get_decision(rid)
    assert (after.record.reasons, after.version_count, after.heads) == (
        make_share().reasons, 1, shown.heads)
    assert service.get_followup(fu.followup_id).state == "open"
    assert rid in changes.records and fu.followup_id in changes.followups
    # Searching finds the record by what it says, not by the refused correction.
    assert [d.record_id for d in service.search("refuse")] == []
    # The check (one core and both) calls none of it drift; a rebuild changes nothing.
    for report in (service.verify_integrity(),
                   service.verify_integrity(every_signature=True, workers=2)):
        assert report.ok and report.drift == []
    assert service.rebuild_projection().repaired == []
    assert service.get_decision(rid).record.reasons == make_share().reasons
    assert [c.kind for c in service.sync.refused_in(rid)] == ["decision.correct",
                                                              "followup.done"]
