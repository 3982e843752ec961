"""The convergence harness against real store processes (SQLite and PostgreSQL): the team
and four real vaults enrolled, the stand-in sync (push own chain, pull raw), and the
comparison of each device's projection with the store's view catching what differs."""

from __future__ import annotations

import pytest

from app.envelope import verify_event
from app.sync.transport import NetworkUnreachable
from tests.conftest import make_share
from tests.sync.faultproxy import FaultProxy, lose_response
from tests.sync.harness import Harness, HarnessDevice, vault_event_ids, vault_identity


@pytest.fixture
def harness(store, tmp_path) -> Harness:
    h = Harness(store, tmp_path)
    yield h
    h.close()


def test_a_team_of_real_vaults_is_enrolled_with_the_vaults_own_ids(sqlite_store,
                                                                   tmp_path) -> None:
    harness = Harness(sqlite_store, tmp_path)
    try:
        check_enrolled(harness)
    finally:
        harness.close()


def check_enrolled(harness: Harness) -> None:
    devices = harness.devices
    assert set(devices) == {"pat-laptop", "pat-tablet", "paula-laptop", "mo-laptop"}
    mo = devices["mo-laptop"]
    me = mo.client.me()
    assert {u: role for u, (_, role) in me.members.items()} == {
        m.user_id: m.role for m in harness.members.values()}
    listed = {d.device_id: d for d in mo.client.devices()}
    for name, device in devices.items():
        # The store knows each vault by the vault's own device id and key ...
        assert vault_identity(device.service)[0] == device.device_id
        assert listed[device.device_id].public_key == device.public_key
        assert listed[device.device_id].user_id == device.member.user_id
        # ... and its local user id, made before sign-in, belongs to the account.
        assert me.aliases[device.local_user_id] == device.member.user_id, name
    assert len({d.local_user_id for d in devices.values()}) == 4  # one vault each


def test_the_store_view_and_each_projection_converge_only_when_they_hold_the_same(
        harness) -> None:
    mo = harness.device("mo-laptop")
    # The manager's own record: nobody else's scope holds it, so once it is pushed every
    # device agrees with the store without any pull being applied.
    mo_record = mo.service.record_decision(make_share())
    assert harness.differences() == {"mo-laptop": [mo_record]}  # not yet on the store
    assert harness.sync_once("mo-laptop").pushed == 2  # the record and its follow-up
    harness.assert_converged()
    # Pat records on the tablet: the laptop (which applies nothing yet) differs, by that
    # record only, and so does the manager's device, which sees the whole team.
    tablet, laptop = harness.device("pat-tablet"), harness.device("pat-laptop")
    tablet_record = tablet.service.record_decision(make_share())
    [followup] = tablet.service.my_followups()
    tablet.service.complete_followup(followup.followup_id, "They acted on it.",
                                     parents=followup.heads)
    harness.sync_all()
    assert harness.differences() == {"pat-laptop": [tablet_record],
                                     "mo-laptop": [tablet_record]}
    with pytest.raises(AssertionError, match="pat-laptop"):
        harness.assert_converged()
    # A correction on the tablet changes the store's view of the record, which the
    # comparison sees against the tablet's vault until it is pushed.
    correction = tablet.service.correct_decision(
        tablet_record, make_share(reasons="Updated reasons after a call with the GP."),
        "New information", parents=tablet.service.get_decision(tablet_record).heads)
    assert "pat-tablet" in harness.differences()
    assert harness.sync_once("pat-tablet").pushed == 1
    assert "pat-tablet" not in harness.differences()
    # Raw pulls: the laptop synced before the tablet pushed (sync_all goes in order), so
    # its next sync receives all four of the tablet's events, verified with listed keys.
    made_on_tablet = set(vault_event_ids(tablet.service))
    assert correction in made_on_tablet and not made_on_tablet & set(laptop.pulled)
    assert harness.sync_once("pat-laptop").pulled == 4
    assert made_on_tablet <= set(laptop.pulled)
    assert not set(vault_event_ids(mo.service)) & set(laptop.pulled)  # not Pat's to see
    # None lost, none twice: the store holds exactly what the vaults made.
    made = [e for d in harness.devices.values() for e in vault_event_ids(d.service)]
    assert sorted(harness.store_event_ids()) == sorted(made) and len(set(made)) == len(made)
    # Nothing left to push: a second sync pushes nothing and pulls nothing new.
    assert harness.sync_once("pat-tablet").pushed == 0
    assert harness.sync_once("pat-laptop").pulled == 0


def test_an_engine_plugs_in_as_one_function(sqlite_store, tmp_path) -> None:
    calls: list[str] = []

    def engine(device: HarnessDevice) -> str:
        calls.append(device.name)
        for item in device.client.pull(0, scope=device.scope).events:
            verify_event(item.event, {d.device_id: d.public_key
                                      for d in device.client.devices()}[item.event.device_id])
        return "synced"

    h = Harness(sqlite_store, tmp_path, sync_once=engine)
    try:
        assert h.sync_once("paula-laptop") == "synced"
        h.sync_all()
        assert calls == ["paula-laptop", "pat-laptop", "pat-tablet", "paula-laptop",
                         "mo-laptop"]
        h.device("paula-laptop").lock()  # a child process may now open its folder
        assert h.device("paula-laptop").service.is_locked
        h.device("paula-laptop").unlock()
        assert h.device("paula-laptop").service.decision_count() == 0
    finally:
        h.close()


def test_devices_sync_through_the_fault_proxy_while_the_harness_looks_direct(
        sqlite_store, tmp_path) -> None:
    with FaultProxy(sqlite_store.base_url) as proxy:
        h = Harness(sqlite_store, tmp_path, address=proxy.base_url)
        try:
            paula = h.device("paula-laptop")
            record = paula.service.record_decision(make_share())
            proxy.add(lose_response(), on="push", nth=1)
            with pytest.raises(NetworkUnreachable):
                h.sync_once("paula-laptop")
            # The store committed: its view (asked directly) already holds Paula's record.
            assert h.differences() == {"mo-laptop": [record]}
            h.sync_once("paula-laptop")  # the same batch again, answered as stored
            assert sorted(h.store_event_ids()) == sorted(vault_event_ids(paula.service))
            assert [x.fault for x in proxy.exchanges("push")] == ["lose_response", "pass"]
        finally:
            h.close()
