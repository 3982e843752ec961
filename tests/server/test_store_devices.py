"""GET /v1/devices: the keys a device verifies pulled events with, on SQLite and PostgreSQL
store processes. Every event a device can pull verifies with a key the store lists for
its team; a revoked device's key stays listed (its accepted events stay valid); no device
ever sees another team's devices."""

from __future__ import annotations

import uuid

import pytest

from app.envelope import EnvelopeError, verify_event
from app.events import DeviceKey
from server import accounts
from server.database import make_engine, writing
from tests.server.conftest import enrol, seed
from tests.server.test_store_push import chain_of


def test_every_pulled_event_verifies_with_a_listed_key(store) -> None:
    org = seed(store.url)
    pat, paula, mo = (enrol(store.base_url, org.login(n)) for n in ("pat", "paula", "mo"))
    old_laptop = enrol(store.base_url, org.login("paula"))
    quinn = enrol(store.base_url, org.login("quinn"))
    pc, mc, oc = chain_of(pat), chain_of(mo), chain_of(old_laptop)
    rid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    pat.client.push([pc.event("decision.create", rid),
                     pc.event("followup.create", rid, entity_id=fid)])
    # Paula's old laptop made a record, and was then lost and revoked.
    old_rid = str(uuid.uuid4())
    old_laptop.client.push([oc.event("decision.create", old_rid)])
    engine = make_engine(store.url)
    with writing(engine) as conn:
        accounts.revoke_device(conn, old_laptop.device_id)
    engine.dispose()
    # The manager hands Pat's follow-up to Paula: Paula now pulls Pat's and Mo's events.
    mo.client.push([mc.event("followup.reassign", rid, entity_id=fid, owner_id=pat.user_id,
                             assignee_id=paula.user_id)])

    listed = {d.device_id: d for d in paula.client.devices()}
    pulled = paula.client.pull(0, limit=1000).events
    assert {p.event.device_id for p in pulled} == {pat.device_id, mo.device_id,
                                                   old_laptop.device_id}
    for p in pulled:
        verify_event(p.event, listed[p.event.device_id].public_key)
    for dev in (pat, paula, mo, old_laptop):
        assert listed[dev.device_id].public_key == dev.key.public_bytes
        assert listed[dev.device_id].user_id == dev.user_id
    # Revoked, with its time; its record still verifies with the listed key.
    assert listed[old_laptop.device_id].revoked
    assert listed[old_laptop.device_id].revoked_at
    assert not any(d.revoked or d.revoked_at for i, d in listed.items()
                   if i != old_laptop.device_id)
    # A key that is not the device's does not verify: the listing is what decides.
    with pytest.raises(EnvelopeError):
        verify_event(pulled[0].event, DeviceKey.generate().public_bytes)
    # Nobody gets another team's devices: team A never lists Quinn's, team B only its own.
    assert quinn.device_id not in listed
    assert [d.device_id for d in quinn.client.devices()] == [quinn.device_id]
    # A manager's listing is the same team's.
    assert {d.device_id for d in mo.client.devices()} == set(listed)
