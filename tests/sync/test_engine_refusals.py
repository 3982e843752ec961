"""A change the team's store refused stops counting where it was made (issue 9's last gap),
with real vaults and a real store on loopback: the refused change stays in quarantine,
readable and said, but the vault that made it shows what the store and the team hold
(equal projection digests), the drift check calls that no drift, a rebuild does not bring
the refused change back, events pulled later apply on top of the team's state, and a
later change builds on the team's versions (never on the refused one), so it is accepted
and agrees everywhere.

The harness's vaults do not know their role (as a vault bound by an older Sharelog, or
one whose role changed on the store since), so the store, which decides, refuses."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.projection import event_from_row, project_record, read_stored, write_state
from app.sync.engine import SyncState
from db import store as vault_store
from tests.conftest import make_share
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.faultproxy import FaultProxy, drop, passthrough
from tests.sync.harness import Harness


@pytest.fixture
def team(sqlite_store, tmp_path: Path) -> Iterator[Harness]:
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, sync_once=engines.sync_once,
                      sign_in=sign_in_keeping_token)
    yield harness
    engines.close()
    harness.close()


@pytest.fixture
def cut_team(sqlite_store, tmp_path: Path) -> Iterator[tuple[Harness, FaultProxy]]:
    """The team, through a proxy that can cut a sync between two pushes."""
    proxy = FaultProxy(sqlite_store.base_url, seed=3)
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, address=proxy.base_url,
                      sync_once=engines.sync_once, sign_in=sign_in_keeping_token)
    yield harness, proxy
    engines.close()
    harness.close()
    proxy.stop()


def _refused_then_cut(harness: Harness, proxy: FaultProxy, name: str) -> Any:
    """One sync of ``name`` whose first push meets the store's refusal of its first
    change, and whose next push (which would acknowledge it and carry the change made on
    top of it) never arrives: the refusal is known, the later change still waits."""
    proxy.clear()
    proxy.add(passthrough(), on="push", nth=1)
    proxy.add(drop(), on="push")
    try:
        return harness.sync_once(name)
    finally:
        proxy.clear()


def test_a_change_made_on_a_refused_change_shows_its_value_until_the_store_refuses_it_too(
        cut_team: tuple[Harness, FaultProxy]) -> None:
    """The fault run's finding (a follow-up with an empty due date, My follow-ups failing):
    Pat, offline, moves a follow-up the manager has just given to Paula, then moves it
    again. The store refuses the first move; before the second reaches it, Pat's vault
    shows the second move's date, with nothing in conflict, and the check and a rebuild
    agree. The store then refuses the second too, and every vault shows the team's."""
    team, proxy = cut_team
    pat, paula, mo, rid, fu = _pats_follow_up_synced_to_the_manager(team)
    members = team.members
    held = mo.service.get_followup(fu.followup_id)
    mo.service.reassign_followup(fu.followup_id, members["paula"].user_id, parents=held.heads)
    team.sync_once("mo-laptop")
    first_date = fu.due_date + dt.timedelta(days=3)
    second_date = fu.due_date + dt.timedelta(days=10)
    first = pat.service.reschedule_followup(fu.followup_id, first_date, "Waiting for school",
                                            parents=fu.heads)
    moved = pat.service.get_followup(fu.followup_id)
    second = pat.service.reschedule_followup(fu.followup_id, second_date, "Still waiting",
                                             parents=moved.heads)

    report = _refused_then_cut(team, proxy, "pat-laptop")
    assert report.status.state in (SyncState.ERROR, SyncState.OFFLINE)
    assert [(q.event_id, q.reason_code) for q in pat.service.sync.quarantined()] == [
        (first, "not_assignee")]
    assert pat.service.pending_sync_count() == 2  # the refusal to acknowledge, and the move
    now = pat.service.get_followup(fu.followup_id)
    assert (now.due_date, now.in_conflict, now.heads) == (second_date, False, (second,))
    mine = {f.followup_id: f for f in pat.service.my_followups()}
    assert mine[fu.followup_id].due_date == second_date
    _clean(pat.service)
    assert pat.service.get_followup(fu.followup_id).due_date == second_date

    report = team.sync_once("pat-laptop")
    kept = {q.event_id: q.reason_code for q in pat.service.sync.quarantined()}
    assert kept == {first: "not_assignee", second: "not_assignee"}
    assert pat.service.pending_sync_count() == 0
    now = pat.service.get_followup(fu.followup_id)
    assert (now.due_date, now.owner_id, now.in_conflict) == (
        fu.due_date, members["paula"].user_id, False)
    team.sync_all(2)
    team.assert_converged()
    assert len(set(_record_digests(team, rid, ("pat-laptop", "paula-laptop", "mo-laptop",
                                               "pat-tablet")).values())) == 1
    _clean(pat.service)
    assert {f.followup_id for f in paula.service.my_followups()} >= {fu.followup_id}


def test_a_correction_made_on_a_refused_correction_counts_until_it_is_refused_too(
        cut_team: tuple[Harness, FaultProxy]) -> None:
    """The same for a record: the manager corrects Pat's record twice, offline; the store
    refuses the first; until it refuses the second, the manager's vault shows the second
    correction's wording as the record's second version, nothing in conflict."""
    team, proxy = cut_team
    pat, mo, rid, detail = _manager_corrects_pats_record(team)
    shown = mo.service.get_decision(rid)
    again = copy.deepcopy(shown.record)
    again.reasons = "The manager's second wording."
    second = mo.service.correct_decision(rid, again, "supervision, again", parents=shown.heads)
    _refused_then_cut(team, proxy, "mo-laptop")
    assert [q.reason_code for q in mo.service.sync.quarantined()] == ["not_owner"]
    now = mo.service.get_decision(rid)
    assert (now.record.reasons, now.conflicts, now.heads, now.version_count) == (
        "The manager's second wording.", (), (second,), 2)
    assert [v.kind for v in mo.service.versions(rid)] == ["decision.create", "decision.correct"]
    _clean(mo.service)

    team.sync_once("mo-laptop")
    assert [q.reason_code for q in mo.service.sync.quarantined()] == ["not_owner", "not_owner"]
    now = mo.service.get_decision(rid)
    assert (now.record.reasons, now.conflicts, now.heads) == (
        make_share().reasons, (), detail.heads)
    team.sync_all()
    team.assert_converged()
    _clean(mo.service)


def _record_digests(harness: Harness, rid: str, names: tuple[str, ...]) -> dict[str, str]:
    return {name: harness.projection(name).records[rid] for name in names}


def _clean(service) -> None:  # type: ignore[no-untyped-def]
    """The integrity check finds nothing, and a rebuild repairs nothing."""
    assert service.verify_integrity().ok
    assert service.rebuild_projection().repaired == []


def test_done_after_a_reassignment_is_refused_and_the_vault_shows_what_the_team_has(
        team: Harness) -> None:
    pat, paula, mo, rid, fu = _pats_follow_up_synced_to_the_manager(team)
    members = team.members
    # The manager hands Pat's follow-up to Paula while Pat is on a home visit, offline ...
    held = mo.service.get_followup(fu.followup_id)
    mo.service.reassign_followup(fu.followup_id, members["paula"].user_id, parents=held.heads)
    team.sync_once("mo-laptop")
    # ... where Pat marks it done.
    pat.service.complete_followup(fu.followup_id, "Receipt confirmed by phone.",
                                  parents=fu.heads)
    assert pat.service.get_followup(fu.followup_id).state == "done"

    report = team.sync_once("pat-laptop")
    assert (report.status.state, report.status.error) == (SyncState.ERROR, "refused")
    [kept] = pat.service.sync.quarantined()
    assert (kept.status, kept.reason_code) == ("refused_by_store", "not_assignee")
    # Pat's vault shows what the team has: open, held by Paula.
    now = pat.service.get_followup(fu.followup_id)
    assert (now.state, now.owner_id, now.outcome) == ("open", members["paula"].user_id, None)
    # The sync names the record and the follow-up, so the window shows them again.
    assert rid in report.changes.records and fu.followup_id in report.changes.followups
    # ... and the refused change is still there to read, with its reason.
    [refused] = pat.service.sync.refused_in(rid)
    assert (refused.kind, refused.reason_code, refused.note) == (
        "followup.done", "not_assignee", "Receipt confirmed by phone.")
    assert refused.followup_id == fu.followup_id

    for name in ("paula-laptop", "mo-laptop", "pat-tablet", "pat-laptop"):
        team.sync_once(name)
    team.assert_converged()  # every vault equals the store's view for it
    digests = _record_digests(team, rid, ("pat-laptop", "paula-laptop", "mo-laptop",
                                          "pat-tablet"))
    assert len(set(digests.values())) == 1, digests
    # Paula holds it and closes it; Pat sees her outcome, not his own refused one.
    paula_fu = paula.service.get_followup(fu.followup_id)
    paula.service.complete_followup(fu.followup_id, "Closed by Paula.", parents=paula_fu.heads)
    team.sync_all(2)
    assert pat.service.get_followup(fu.followup_id).outcome == "Closed by Paula."
    team.assert_converged()
    _clean(pat.service)
    # The rebuild brought nothing back; the refusal is still kept, and said.
    assert pat.service.get_followup(fu.followup_id).outcome == "Closed by Paula."
    assert [q.event_id for q in pat.service.sync.quarantined()] == [kept.event_id]
    assert pat.service.verify_record(rid).ok


def test_a_correction_of_a_colleagues_record_is_refused_and_the_record_stays_theirs(
        team: Harness) -> None:
    # The manager corrects Pat's record (only its owner may), and the store refuses it.
    pat, mo, rid, detail = _manager_corrects_pats_record(team)
    report = team.sync_once("mo-laptop")
    shown = mo.service.get_decision(rid)
    assert shown.record.reasons == make_share().reasons
    assert shown.version_count == 1 and shown.heads == detail.heads
    assert report.status.error == "refused" and rid in report.changes.records
    assert [v.kind for v in mo.service.versions(rid)] == ["decision.create"]
    [refused] = mo.service.sync.refused_in(rid)
    assert (refused.reason_code, refused.note) == ("not_owner", "supervision")
    assert refused.record is not None and refused.record.reasons == "The manager's wording."
    team.sync_all()
    team.assert_converged()
    assert len(set(_record_digests(team, rid, ("pat-laptop", "mo-laptop")).values())) == 1
    _clean(mo.service)
    assert mo.service.get_decision(rid).record.reasons == make_share().reasons
    # Pat's own correction afterwards reaches the manager, with nothing in conflict.
    detail = pat.service.get_decision(rid)
    theirs = copy.deepcopy(detail.record)
    theirs.reasons = "Pat's correction."
    pat.service.correct_decision(rid, theirs, "New information", parents=detail.heads)
    team.sync_all(2)
    after = mo.service.get_decision(rid)
    assert (after.record.reasons, after.conflicts, after.version_count) == (
        "Pat's correction.", (), 2)
    team.assert_converged()


def test_a_change_after_a_refusal_builds_on_the_teams_version_and_is_accepted(
        team: Harness) -> None:
    pat, paula, mo, rid, fu = _pats_follow_up_synced_to_the_manager(team)
    members = team.members
    # The manager gives the follow-up to someone outside the team: refused ...
    held = mo.service.get_followup(fu.followup_id)
    mo.service.reassign_followup(fu.followup_id, "someone-outside-the-team",
                                 parents=held.heads)
    assert team.sync_once("mo-laptop").status.error == "refused"
    again = mo.service.get_followup(fu.followup_id)
    assert (again.owner_id, again.heads) == (members["pat"].user_id, held.heads)
    # ... then to Paula: that change follows the team's version, not the refused one.
    mo.service.reassign_followup(fu.followup_id, members["paula"].user_id, parents=again.heads)
    report = team.sync_once("mo-laptop")
    assert report.pushed == 1 and report.status.error == "refused"  # the old one, still said
    assert mo.service.pending_sync_count() == 0
    team.sync_all(2)
    for device in (pat, paula, mo):
        now = device.service.get_followup(fu.followup_id)
        assert (now.owner_id, now.in_conflict, len(now.heads)) == (
            members["paula"].user_id, False, 1), device.name
    team.assert_converged()
    _clean(mo.service)
    # A form opened on the refused version cannot save over it.
    with pytest.raises(Exception, match="changed since it was shown"):
        mo.service.reschedule_followup(fu.followup_id, mo.service.today(), "Later",
                                       parents=(mo.service.sync.refused_in(rid)[0]
                                                .event.event_id,))


def test_a_refusal_an_earlier_sharelog_kept_applied_stops_counting_at_the_next_sync(
        team: Harness) -> None:
    pat, mo, rid, detail = _manager_corrects_pats_record(team)
    assert team.sync_once("mo-laptop").status.error == "refused"
    # As an earlier Sharelog left it: the refusal kept in quarantine, the change applied.
    conn = mo.service.vault.conn
    with mo.service.vault.transaction():
        every = conn.execute(f"SELECT seq, {vault_store.EVENT_COLUMNS} FROM events "
                             "WHERE record_id = ?", (rid,)).fetchall()
        write_state(conn, replace(project_record(event_from_row(r) for r in every),
                                  record_id=rid), read_stored(conn, rid))
        conn.execute("DELETE FROM meta WHERE key = 'refusals_set_aside'")
    assert mo.service.get_decision(rid).record.reasons == "The manager's wording."
    report = team.sync_once("mo-laptop")
    assert mo.service.get_decision(rid).record.reasons == make_share().reasons
    assert rid in report.changes.records
    assert mo.service.verify_record(rid).ok
    team.sync_all()
    team.assert_converged()


def _manager_corrects_pats_record(team: Harness) -> tuple[Any, Any, str, Any]:
    """Pat's record, synced to the manager, who corrects it (only its owner may): the
    store refuses that correction at the manager's next sync."""
    pat, mo = team.device("pat-laptop"), team.device("mo-laptop")
    rid = pat.service.record_decision(make_share())
    team.sync_once("pat-laptop")
    team.sync_once("mo-laptop")
    detail = mo.service.get_decision(rid)
    mine = copy.deepcopy(detail.record)
    mine.reasons = "The manager's wording."
    mo.service.correct_decision(rid, mine, "supervision", parents=detail.heads)
    return pat, mo, rid, detail


def _pats_follow_up_synced_to_the_manager(team: Harness) -> tuple[Any, Any, Any, str, Any]:
    """Pat's record with its follow-up, synced to the manager: Pat, Paula, the manager,
    the record's id and the follow-up."""
    pat, paula, mo = (team.device(n) for n in ("pat-laptop", "paula-laptop", "mo-laptop"))
    rid = pat.service.record_decision(make_share())
    [fu] = pat.service.get_decision(rid).followups
    team.sync_once("pat-laptop")
    team.sync_once("mo-laptop")
    return pat, paula, mo, rid, fu
