"""Concurrent changes are kept, never silently overwritten (issue 9, points 4 and 6).

Pat's laptop and tablet correct the same record while neither has the other's change;
Mo, a manager, changes Pat's follow-ups. Their events meet through the one ingest path.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from app.model import Counterparty, Subject
from app.problems import InvalidChange
from app.service import Sharelog
from tests.conftest import make_share
from tests.sync_support import MO, PAT, Team


def _share_everywhere(team: Team, src: str = "pat-laptop") -> None:
    rng = random.Random(7)
    for dst in team.devices:
        if dst != src:
            team.exchange(src, dst, rng)


def _meet(team: Team) -> None:
    team.full_exchange(random.Random(3))
    digests = {svc.projection_digest() for svc in team.devices.values()}
    assert len(digests) == 1  # every device shows the same thing


def _correct(svc: Sharelog, rid: str, reason: str, **changes: object) -> str:
    shown = svc.get_decision(rid)
    record = shown.record
    for key, value in changes.items():
        setattr(record, key, value)
    return svc.correct_decision(rid, record, reason, parents=shown.heads)


def test_corrections_of_different_fields_made_offline_on_two_devices_merge(team: Team) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    rid = laptop.record_decision(make_share())
    _share_everywhere(team)
    _correct(laptop, rid, "purpose was vague", purpose="Section 47 enquiry, strategy meeting")
    _correct(tablet, rid, "wrong GP", counterparty=Counterparty(
        name="Dr A. Patel", role="GP", organisation="Riverside Medical Centre"))
    _meet(team)
    for svc in team.devices.values():
        detail = svc.get_decision(rid)
        assert detail.record.purpose == "Section 47 enquiry, strategy meeting"
        assert detail.record.counterparty.name == "Dr A. Patel"
        assert not detail.has_conflict and len(detail.heads) == 2
        assert [v.kind for v in svc.versions(rid)] == [
            "decision.create", "decision.correct", "decision.correct"]
        assert svc.rebuild_projection().repaired == []
    # The next correction follows both: one head again.
    _correct(laptop, rid, "tidy", reasons="Both changes checked with the manager.")
    assert len(laptop.get_decision(rid).heads) == 1


def test_the_same_field_changed_differently_is_a_conflict_until_someone_resolves_it(
        team: Team) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    tablet.clock.set_skew(dt.timedelta(days=365))  # its clock is a year ahead: no winner
    rid = laptop.record_decision(make_share(reasons="First reasons."))
    _share_everywhere(team)
    _correct(laptop, rid, "more detail", reasons="Reasons written on the laptop.")
    _correct(tablet, rid, "more detail", reasons="Reasons written on the tablet.",
             purpose="A purpose only the tablet changed")
    _meet(team)
    for svc in team.devices.values():
        detail = svc.get_decision(rid)
        assert detail.has_conflict and detail.conflicts == ("reasons",)
        # Neither the later clock nor the larger id wins: the version both started from
        # is shown until a person chooses, and the tablet's other change is taken.
        assert detail.record.reasons == "First reasons."
        assert detail.record.purpose == "A purpose only the tablet changed"
        [conflict] = svc.conflicts(rid)
        assert conflict.shown == "First reasons."
        assert sorted(v.value for v in conflict.values) == [
            "Reasons written on the laptop.", "Reasons written on the tablet."]
        assert {v.author_name for v in conflict.values} == {"Pat Practitioner"}
        assert all(v.at and v.device_id for v in conflict.values)
        assert [s.has_conflict for s in svc.list_decisions()] == [True]
        assert svc.decisions.in_conflict() == [rid]
    # Mo's device sees it too; Pat resolves it on the laptop, after both versions.
    _correct(laptop, rid, "agreed wording", reasons="Reasons agreed after supervision.")
    _meet(team)
    for svc in team.devices.values():
        detail = svc.get_decision(rid)
        assert not detail.has_conflict and len(detail.heads) == 1
        assert detail.record.reasons == "Reasons agreed after supervision."
        assert svc.conflicts(rid) == [] and svc.decisions.in_conflict() == []


def test_a_list_is_one_field(team: Team) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    rid = laptop.record_decision(make_share())
    _share_everywhere(team)
    _correct(laptop, rid, "sibling", subjects=[
        Subject(name="Alice Example", kind="child", case_ref="C100200"),
        Subject(name="Ben Example", kind="child", case_ref="C100201")])
    _correct(tablet, rid, "name", subjects=[
        Subject(name="Alicia Example", kind="child", case_ref="C100200")])
    _meet(team)
    detail = laptop.get_decision(rid)
    assert detail.conflicts == ("subjects",)
    assert [s.name for s in detail.record.subjects] == ["Alice Example"]


def test_a_withdrawal_concurrent_with_a_correction_leaves_it_withdrawn_and_in_conflict(
        team: Team) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    rid = laptop.record_decision(make_share())
    _share_everywhere(team)
    shown = laptop.get_decision(rid)
    laptop.withdraw_decision(rid, "Recorded against the wrong child", parents=shown.heads)
    _correct(tablet, rid, "case number", information="Corrected on the tablet")
    _meet(team)
    for svc in team.devices.values():
        detail = svc.get_decision(rid)
        assert detail.status == "withdrawn"
        assert detail.has_conflict and detail.conflicts == ("status",)
        assert [v.kind for v in svc.versions(rid)] == [
            "decision.create", "decision.correct", "decision.withdraw"] or [
            v.kind for v in svc.versions(rid)] == [
            "decision.create", "decision.withdraw", "decision.correct"]
        [conflict] = svc.conflicts(rid)
        assert sorted(v.value for v in conflict.values) == ["active", "withdrawn"]
    # Withdrawn records are not corrected; withdrawing again after both settles it.
    with pytest.raises(InvalidChange):
        _correct(laptop, rid, "again", reasons="Too late")
    detail = laptop.get_decision(rid)
    laptop.withdraw_decision(rid, "Withdrawn after all", parents=detail.heads)
    _meet(team)
    detail = tablet.get_decision(rid)
    assert detail.status == "withdrawn" and not detail.has_conflict


def _followup(team: Team) -> tuple[str, str]:
    laptop = team.devices["pat-laptop"]
    rid = laptop.record_decision(make_share())
    _share_everywhere(team)
    return rid, laptop.get_decision(rid).followups[0].followup_id


def test_a_reassignment_merges_with_what_the_assignee_did(team: Team) -> None:
    laptop, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    _rid, fid = _followup(team)
    laptop.complete_followup(fid, "The GP confirmed.", parents=laptop.get_followup(fid).heads)
    mo.reassign_followup(fid, MO, parents=mo.get_followup(fid).heads)
    _meet(team)
    for svc in team.devices.values():
        fu = svc.get_followup(fid)
        assert (fu.state, fu.outcome, fu.owner_id, fu.conflicts) == (
            "done", "The GP confirmed.", MO, ())


@pytest.mark.parametrize("first,second,conflict", [
    ("done", "cancel", "state"),
    ("reschedule:2027-01-11", "reschedule:2027-01-18", "due_date"),
    ("reschedule:2027-01-11", "reschedule:2027-01-11", None),
    ("done", "reschedule:2027-01-18", None),
    ("cancel", "reschedule:2027-01-18", None),
])
def test_concurrent_follow_up_changes(team: Team, first: str, second: str,
                                      conflict: str | None) -> None:
    laptop, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    _rid, fid = _followup(team)
    due_before = laptop.get_followup(fid).due_date

    def change(svc: Sharelog, what: str) -> None:
        seen = svc.get_followup(fid).heads
        if what == "done":
            svc.complete_followup(fid, "Confirmed by phone.", parents=seen)
        elif what == "cancel":
            svc.cancel_followup(fid, "The case closed.", parents=seen)
        else:
            svc.reschedule_followup(fid, dt.date.fromisoformat(what.split(":")[1]),
                                    parents=seen)

    change(laptop, first)
    change(mo, second)
    _meet(team)
    fu = laptop.get_followup(fid)
    history = [h.kind for h in laptop.followup_history(fid)]
    assert len(history) == 3  # both changes stay in the history
    if conflict is None:
        assert fu.conflicts == ()
    else:
        assert fu.conflicts == (conflict,)
        [shown] = laptop.conflicts(fu.record_id)
        assert shown.entity == "followup" and shown.field == conflict
        assert len(shown.values) == 2
        assert laptop.get_decision(fu.record_id).has_conflict
    if first in ("done", "cancel"):
        # Done or cancelled wins over the concurrent reschedule: no date moved.
        if second.startswith("reschedule"):
            assert fu.state == ("done" if first == "done" else "cancelled")
            assert fu.due_date == due_before
    elif conflict == "due_date":
        assert fu.due_date == due_before  # the date both started from, until resolved
    if first == "done" and second == "cancel":
        assert fu.state == "open"  # neither closing is chosen for the people involved
        laptop.complete_followup(fid, "Confirmed after all.", parents=fu.heads)
        _meet(team)
        settled = mo.get_followup(fid)
        assert (settled.state, settled.conflicts) == ("done", ())


def test_a_version_pulled_while_the_form_was_open_is_never_superseded_unseen(
        team: Team) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    rid = laptop.record_decision(make_share(reasons="First reasons."))
    _share_everywhere(team)
    opened = laptop.get_decision(rid)  # the form opens with these versions
    _correct(tablet, rid, "tablet", reasons="Reasons from the tablet.")
    team.exchange("pat-tablet", "pat-laptop", random.Random(1))  # pulled meanwhile
    record = opened.record
    record.reasons = "Reasons typed in the open form."
    laptop.correct_decision(rid, record, "form", parents=opened.heads)
    detail = laptop.get_decision(rid)
    assert detail.conflicts == ("reasons",)  # both kept; neither silently lost
    assert sorted(v.value for v in laptop.conflicts(rid)[0].values) == [
        "Reasons from the tablet.", "Reasons typed in the open form."]


def test_the_versions_a_change_follows_must_be_of_that_record(team: Team) -> None:
    laptop = team.devices["pat-laptop"]
    rid = laptop.record_decision(make_share())
    other = laptop.record_decision(make_share())
    fu = laptop.get_decision(rid).followups[0]
    with pytest.raises(InvalidChange):
        laptop.correct_decision(rid, make_share(), "x",
                                parents=laptop.get_decision(other).heads)
    with pytest.raises(InvalidChange):
        laptop.correct_decision(rid, make_share(), "x", parents=[])
    with pytest.raises(InvalidChange):
        laptop.complete_followup(fu.followup_id, "x", parents=laptop.get_decision(rid).heads)
    assert len(laptop.versions(rid)) == 1


def test_a_drafts_correction_keeps_the_versions_its_author_saw(team: Team) -> None:
    laptop = team.devices["pat-laptop"]
    rid = laptop.record_decision(make_share())
    seen = laptop.get_decision(rid).heads
    did = laptop.save_draft({"record": make_share().to_dict(), "correcting": rid,
                             "parents": list(seen)}, kind="correction", record_id=rid)
    _correct(laptop, rid, "meanwhile", reasons="Changed meanwhile.")
    [draft] = laptop.drafts()
    assert draft.draft_id == did and draft.parents == seen != laptop.get_decision(rid).heads


def test_a_manager_sees_a_practitioners_follow_ups_as_theirs(team: Team) -> None:
    laptop, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    _rid, fid = _followup(team)
    assert [f.followup_id for f in laptop.my_followups()] == [fid]
    assert mo.my_followups() == []  # held by Pat, not by Mo
    mo.reassign_followup(fid, MO, parents=mo.get_followup(fid).heads)
    _meet(team)
    assert [f.followup_id for f in mo.my_followups()] == [fid]
    assert laptop.my_followups() == []
    assert laptop.get_followup(fid).owner_id == MO != PAT


def test_a_change_whose_versions_are_all_missing_still_follows_the_creation() -> None:
    """A change that names only versions this vault does not hold (none should reach a
    projection: a store-refused parent is passed through, and the store refuses what is
    made on one) was still made on the follow-up's creation: a conflict it takes part in
    shows the creation's date and holder, never an empty date My follow-ups cannot read."""
    from dataclasses import dataclass

    from app.merge import merge_followup

    @dataclass(frozen=True)
    class V:
        event_id: str
        kind: str
        parents: tuple[str, ...]
        author_id: str = PAT
        device_id: str = "pat-laptop"
        hlc: str = "1800000000000-00000-pat-laptop"

    create = V("a-create", "followup.create", ())
    ours = V("b-ours", "followup.reschedule", ("a-create",))
    orphan = V("c-orphan", "followup.reschedule", ("never-held",))
    deltas = [{"state": "open", "outcome": None, "cancel_reason": None,
               "due_date": "2026-12-07", "owner_id": PAT},
              {"due_date": "2026-12-10"}, {"due_date": "2026-12-20"}]
    merged = merge_followup([create, ours, orphan], deltas, ["", "", ""], "fu")
    assert (merged.values["due_date"], merged.values["owner_id"]) == ("2026-12-07", PAT)
    [conflict] = merged.conflicts
    assert (conflict.field, conflict.shown) == ("due_date", "2026-12-07")
    assert [s.value for s in conflict.sides] == ["2026-12-10", "2026-12-20"]
