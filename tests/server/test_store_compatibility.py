"""A client and a store of different versions work together or say which must be updated."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.envelope import DeviceChain
from app.sync import transport
from app.sync.transport import ClientTooOld, StoreClient, StoreTooOld
from tests.server.conftest import enrol


def test_versions_either_work_together_or_name_who_must_update(store, org,
                                                                monkeypatch) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    info = StoreClient(store.base_url).info()
    assert info.protocol == transport.PROTOCOL_VERSION and info.envelope_versions == (1, 2)
    # An older client (protocol 0) is told to update Sharelog.
    monkeypatch.setattr(transport, "PROTOCOL_VERSION", 0)
    with pytest.raises(ClientTooOld) as err:
        StoreClient(store.base_url, pat.client.token).pull(0)
    assert err.value.action == "Update Sharelog."
    # A newer client (protocol 2) is told the store must be updated, before and after
    # asking /v1/info.
    monkeypatch.setattr(transport, "PROTOCOL_VERSION", 2)
    with pytest.raises(StoreTooOld):
        StoreClient(store.base_url, pat.client.token).pull(0)
    monkeypatch.setattr(transport, "MIN_STORE_PROTOCOL", 2)
    with pytest.raises(StoreTooOld) as err:
        StoreClient(store.base_url).info()
    assert "administrator" in err.value.action
    # A request with no version header is protocol 1: today's store and client agree.
    response = httpx.get(f"{store.base_url}/v1/tips",
                         headers={"Authorization": f"Bearer {pat.client.token}"})
    assert response.status_code == 200


def test_an_event_from_a_newer_sharelog_waits_for_the_store(store, org) -> None:
    import dataclasses

    pat = enrol(store.base_url, org.login("pat"))
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)
    newer = dataclasses.replace(chain.event("decision.create", str(uuid.uuid4())),
                                schema_version=3)
    with pytest.raises(StoreTooOld):
        pat.client.push([newer])
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)  # from the start
    ev = chain.event("decision.create", str(uuid.uuid4()))
    later = chain.event("casenote.create", ev.record_id)  # an entity this store lacks
    # Not acknowledgeable: the events wait in the outbox until the store is updated.
    with pytest.raises(StoreTooOld):
        pat.client.push([ev, later], acknowledged_refusals=[later.event_id])
    assert pat.client.digest(0).count == 0
