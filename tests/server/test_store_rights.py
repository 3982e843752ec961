"""Who may change what, and who receives what: rights on push, scopes on pull."""

from __future__ import annotations

import uuid

import pytest

from app.envelope import DeviceChain
from app.sync.transport import EventRejected, Forbidden
from tests.server.conftest import Device, enrol, snapshot


def chain_of(dev: Device) -> DeviceChain:
    return DeviceChain(dev.key, dev.device_id, dev.team_id, dev.user_id)


def pulled_ids(dev: Device, since: int = 0, scope: str | None = None) -> list[str]:
    out, cursor = [], since
    while True:
        page = dev.client.pull(cursor, limit=50, scope=scope)
        out += [p.event.event_id for p in page.events]
        cursor = page.next_since
        if not page.has_more:
            return out


def test_only_the_owner_corrects_and_a_refusal_can_be_acknowledged(store, org) -> None:
    pat, paula = enrol(store.base_url, org.login("pat")), enrol(store.base_url,
                                                               org.login("paula"))
    rid = str(uuid.uuid4())
    create = chain_of(pat).event("decision.create", rid)
    pat.client.push([create])
    paula_chain = chain_of(paula)
    theirs = paula_chain.event("decision.correct", rid, owner_id=pat.user_id)
    before = snapshot(store.url)
    with pytest.raises(EventRejected) as err:
        paula.client.push([theirs])
    assert (err.value.status, err.value.code) == (403, "not_owner")
    assert err.value.acknowledgeable and err.value.event_id == theirs.event_id
    assert snapshot(store.url) == before
    # Paula's device keeps the event in quarantine and acknowledges the refusal: the store
    # records it as refused (no payload), never serves it, and her chain goes on.
    after = paula_chain.event("decision.create", str(uuid.uuid4()))
    result = paula.client.push([theirs, after], acknowledged_refusals=[theirs.event_id])
    assert [(r.status, r.reason) for r in result.results] == [("refused", "not_owner"),
                                                               ("stored", None)]
    assert result.tip.device_seq == 2 and result.tip.hash == after.hash
    again = paula.client.push([theirs, after], acknowledged_refusals=[theirs.event_id])
    assert again == result
    mo = enrol(store.base_url, org.login("mo"))
    assert theirs.event_id not in pulled_ids(mo)
    assert after.event_id in pulled_ids(mo)


def test_followups_are_changed_by_their_assignee_or_a_manager_and_only_managers_reassign(
        store, org) -> None:
    pat, paula, mo = (enrol(store.base_url, org.login(n)) for n in ("pat", "paula", "mo"))
    pc, pac, mc = chain_of(pat), chain_of(paula), chain_of(mo)
    rid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    pat.client.push([pc.event("decision.create", rid),
                     pc.event("followup.create", rid, entity_id=fid)])
    cursor_before = paula.client.pull(0, limit=1000).next_since
    # Paula holds no follow-up on the record: she may neither close it nor take it.
    for kind, assignee in (("followup.done", pat.user_id),
                           ("followup.reassign", paula.user_id),
                           ("followup.reschedule", paula.user_id)):
        ev = pac.event(kind, rid, entity_id=fid, owner_id=pat.user_id, assignee_id=assignee)
        with pytest.raises(EventRejected) as err:
            paula.client.push([ev])
        assert err.value.code in ("not_assignee", "not_manager")
        pac.next_seq, pac.prev_hash = ev.device_seq, ev.prev_hash  # never stored: reuse
    # Pat, the assignee, cannot hand it on either; a manager can.
    ev = pc.event("followup.reassign", rid, entity_id=fid, assignee_id=paula.user_id)
    with pytest.raises(EventRejected) as err:
        pat.client.push([ev])
    assert err.value.code == "not_manager"
    pc.next_seq, pc.prev_hash = ev.device_seq, ev.prev_hash
    mo.client.push([mc.event("followup.reassign", rid, entity_id=fid, owner_id=pat.user_id,
                             assignee_id=paula.user_id)])
    # Reassigned to Paula: her next pull brings the record's whole history, even what
    # was stored before her cursor.
    got = pulled_ids(paula, since=cursor_before)
    history = [e for e in pulled_ids(mo) if e in set(got)]
    assert len(history) == 3 and got[:2] == history[:2]
    # Now Paula completes it; Pat (no longer the assignee) cannot, a manager still can.
    paula.client.push([pac.event("followup.done", rid, entity_id=fid, owner_id=pat.user_id,
                                 assignee_id=paula.user_id)])
    ev = pc.event("followup.cancel", rid, entity_id=fid, assignee_id=paula.user_id)
    with pytest.raises(EventRejected) as err:
        pat.client.push([ev])
    assert err.value.code == "not_assignee"
    mo.client.push([mc.event("followup.reschedule", rid, entity_id=fid, owner_id=pat.user_id,
                             assignee_id=paula.user_id)])


def test_a_change_made_on_a_refused_change_is_refused_too_and_the_chain_goes_on(
        store, org) -> None:
    """No device but its author's holds a refused change, so none could place a change
    made on top of it: the store refuses that one too (``parent_refused``, when it has
    the right otherwise), in the same push or a later one, and stores what follows."""
    pat, mo = enrol(store.base_url, org.login("pat")), enrol(store.base_url, org.login("mo"))
    pc = chain_of(pat)
    rid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    record = pc.event("decision.create", rid)
    create = pc.event("followup.create", rid, entity_id=fid)
    pat.client.push([record, create])
    # Pat hands the follow-up on as he moves it (only a manager may): refused. He then
    # moves it again, on top of that, with the right to; and marks it done on the team's
    # version.
    handed = pc.event("followup.reschedule", rid, entity_id=fid, assignee_id=mo.user_id,
                      parents=[create.event_id])
    on_top = pc.event("followup.reschedule", rid, entity_id=fid, parents=[handed.event_id])
    done = pc.event("followup.done", rid, entity_id=fid, parents=[create.event_id])
    with pytest.raises(EventRejected) as err:
        pat.client.push([handed, on_top, done])
    assert err.value.code == "not_manager"
    before = snapshot(store.url)
    with pytest.raises(EventRejected) as err:
        pat.client.push([handed, on_top, done], acknowledged_refusals=[handed.event_id])
    assert (err.value.status, err.value.code, err.value.event_id) == (
        409, "parent_refused", on_top.event_id)
    assert err.value.acknowledgeable
    assert snapshot(store.url) == before  # nothing stored of a refused push
    result = pat.client.push([handed, on_top, done],
                             acknowledged_refusals=[handed.event_id, on_top.event_id])
    assert [(r.status, r.reason) for r in result.results] == [
        ("refused", "not_manager"), ("refused", "parent_refused"), ("stored", None)]
    # A later push, on the change refused before: refused the same way.
    later = pc.event("followup.cancel", rid, entity_id=fid, parents=[on_top.event_id])
    with pytest.raises(EventRejected) as err:
        pat.client.push([later])
    assert (err.value.code, err.value.event_id) == ("parent_refused", later.event_id)
    result = pat.client.push([later], acknowledged_refusals=[later.event_id])
    assert [(r.status, r.reason) for r in result.results] == [("refused", "parent_refused")]
    seen = pulled_ids(mo)
    assert done.event_id in seen
    assert not {handed.event_id, on_top.event_id, later.event_id} & set(seen)


def test_scopes_practitioner_manager_and_other_team(store, org) -> None:
    pat, paula, mo, quinn = (enrol(store.base_url, org.login(n))
                             for n in ("pat", "paula", "mo", "quinn"))
    rid = str(uuid.uuid4())
    pats = [chain_of(pat).event("decision.create", rid)]
    pat.client.push(pats)
    mine = chain_of(paula).event("decision.create", str(uuid.uuid4()))
    paula.client.push([mine])
    assert pats[0].event_id in pulled_ids(pat)
    assert pats[0].event_id not in pulled_ids(paula) and mine.event_id in pulled_ids(paula)
    assert {pats[0].event_id, mine.event_id} <= set(pulled_ids(mo))
    assert set(pulled_ids(mo, scope="own")).isdisjoint({pats[0].event_id, mine.event_id})
    seen_by_quinn = pulled_ids(quinn)
    assert pats[0].event_id not in seen_by_quinn and mine.event_id not in seen_by_quinn
    # Whatever cursor quinn sends, team A's events never come.
    for since in (0, 1, 10**6):
        assert pats[0].event_id not in pulled_ids(quinn, since=since)
    with pytest.raises(Forbidden):
        pat.client.pull(0, scope="team")
    # Tips: a practitioner's own devices; a manager's team.
    assert pat.device_id in {t.device_id for t in pat.client.tips()}
    assert paula.device_id not in {t.device_id for t in pat.client.tips()}
    assert {pat.device_id, paula.device_id} <= {t.device_id for t in mo.client.tips()}


def test_tips_and_digest_let_a_device_check_what_the_store_holds(store, org) -> None:
    from app.envelope import range_digest

    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    rid = str(uuid.uuid4())
    events = [chain.event("decision.create", rid)] + [
        chain.event("decision.correct", rid) for _ in range(4)]
    result = pat.client.push(events)
    (tip,) = [t for t in pat.client.tips() if t.device_id == pat.device_id]
    assert (tip.device_seq, tip.hash, tip.signature) == (5, events[-1].hash,
                                                         events[-1].signature)
    seqs = [r.seq for r in result.results]
    assert seqs == sorted(seqs)
    first, last = seqs[0] - 1, seqs[-1]
    held = [(p.seq, p.event.hash) for p in pat.client.pull(first, limit=1000).events
            if p.seq <= last]
    answer = pat.client.digest(first, last)
    assert answer.count == len(held) and answer.digest == range_digest(held)
    assert answer.digest != range_digest(held[:-1])


def test_an_id_already_used_elsewhere_is_refused_not_a_failure(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    first, second, fid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    pat.client.push([chain.event("decision.create", first),
                     chain.event("followup.create", first, entity_id=fid),
                     chain.event("decision.create", second)])
    before = snapshot(store.url)
    for kind, record, entity in (("followup.create", second, fid),
                                 ("followup.done", second, fid),
                                 ("decision.create", first, first)):
        ev = chain.event(kind, record, entity_id=entity)
        chain.next_seq, chain.prev_hash = ev.device_seq, ev.prev_hash  # never stored
        with pytest.raises(EventRejected) as err:
            pat.client.push([ev])
        assert err.value.code in ("followup_exists", "wrong_record", "record_exists")
        assert err.value.status == 409
    assert snapshot(store.url) == before
