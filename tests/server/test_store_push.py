"""Push against real store processes (SQLite and PostgreSQL): all or nothing, idempotent,
every envelope checked, payloads kept opaque."""

from __future__ import annotations

import dataclasses
import os
import uuid

import httpx
import pytest

from app.envelope import DeviceChain, sign, to_wire
from app.events import DeviceKey
from app.sync.transport import EventRejected, StoreClient
from tests.server.conftest import Device, StoreProcess, enrol, snapshot


def chain_of(dev: Device) -> DeviceChain:
    return DeviceChain(dev.key, dev.device_id, dev.team_id, dev.user_id)


def raw_push(store: StoreProcess, dev: Device, events: list, **extra: object) -> httpx.Response:
    return httpx.post(f"{store.base_url}/v1/push", timeout=30,
                      headers={"Authorization": f"Bearer {dev.client.token}"},
                      json={"events": [to_wire(e) for e in events], **extra})


def test_a_retried_batch_stores_nothing_twice_and_gets_the_same_answer(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    rid = str(uuid.uuid4())
    batch = [chain.event("decision.create", rid), chain.event("decision.correct", rid),
             chain.event("followup.create", rid, entity_id=str(uuid.uuid4()))]
    first = raw_push(store, pat, batch)
    assert first.status_code == 200
    before = snapshot(store.url)
    again = raw_push(store, pat, batch)  # the answer was lost: the client sends it again
    assert again.status_code == 200 and again.json() == first.json()
    assert snapshot(store.url) == before
    # A longer batch that starts with what is already stored carries on from there.
    longer = raw_push(store, pat, [*batch, chain.event("decision.correct", rid)])
    assert longer.json()["results"][:3] == first.json()["results"]
    assert longer.json()["results"][3]["status"] == "stored"
    assert pat.client.digest(0).count == 4


def test_the_same_id_with_different_bytes_is_an_error_not_a_skip(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    rid = str(uuid.uuid4())
    ev = chain.event("decision.create", rid, payload=b"first")
    pat.client.push([ev])
    before = snapshot(store.url)
    other = sign(dataclasses.replace(ev, payload=b"second"), pat.key)
    with pytest.raises(EventRejected) as err:
        pat.client.push([other])
    assert err.value.code == "event_id_conflict" and err.value.status == 409
    assert snapshot(store.url) == before


def test_an_opaque_payload_comes_back_byte_for_byte(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    payload = os.urandom(4096) + b"\x00not json at all\xff"
    ev = chain.event("decision.create", str(uuid.uuid4()), payload=payload)
    pat.client.push([ev])
    (pulled,) = [p for p in pat.client.pull(0).events if p.event.event_id == ev.event_id]
    assert pulled.event == ev and pulled.event.payload == payload


def _forged(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    ev = chain.event("decision.create", str(uuid.uuid4()))
    return [dataclasses.replace(ev, signature=DeviceKey.generate().sign(ev.hash))], \
        "bad_signature", 422


def _tampered(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    ev = chain.event("decision.create", str(uuid.uuid4()), payload=b"as signed")
    return [dataclasses.replace(ev, payload=b"as stored")], "bad_hash", 422


def _gap(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    chain.event("decision.create", str(uuid.uuid4()))  # made, never pushed
    return [chain.event("decision.create", str(uuid.uuid4()))], "broken_chain", 409


def _relinked(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    ev = chain.event("decision.create", str(uuid.uuid4()))
    return [sign(dataclasses.replace(ev, prev_hash=b"\x07" * 32), chain.key)], \
        "broken_chain", 409


def _bad_tail(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    good = [chain.event("decision.create", str(uuid.uuid4())) for _ in range(3)]
    bad = chain.event("decision.create", str(uuid.uuid4()))
    return [*good, dataclasses.replace(bad, hash=bytes(32))], "bad_hash", 422


def _too_many(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    return [chain.event("decision.create", str(uuid.uuid4())) for _ in range(501)], \
        "batch_too_large", 413


def _replayed_from_another_device(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    theirs = chain_of(other).event("decision.create", str(uuid.uuid4()))
    other.client.push([theirs])
    return [theirs], "wrong_device", 422


def _newer_envelope(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    ev = chain.event("decision.create", str(uuid.uuid4()))
    # This Sharelog cannot sign a v3 envelope; the store refuses it before any hashing.
    return [dataclasses.replace(ev, schema_version=3)], "store_too_old", 422


def _same_id_twice(chain: DeviceChain, other: Device) -> tuple[list, str, int]:
    first = chain.event("decision.create", str(uuid.uuid4()))
    again = chain.event("decision.create", str(uuid.uuid4()))
    return [first, sign(dataclasses.replace(again, event_id=first.event_id), chain.key)], \
        "duplicate_event_id", 422


@pytest.mark.parametrize("make", [_forged, _tampered, _gap, _relinked, _bad_tail, _too_many,
                                  _replayed_from_another_device, _newer_envelope,
                                  _same_id_twice],
                         ids=lambda f: f.__name__.strip("_"))
def test_bad_events_get_a_clear_4xx_and_nothing_is_stored(store, org, make) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    paula = enrol(store.base_url, org.login("paula"))
    chain = chain_of(pat)
    pat.client.push([chain.event("decision.create", str(uuid.uuid4()))])
    events, code, status = make(chain, paula)
    before = snapshot(store.url)
    response = raw_push(store, pat, events)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert response.json()["error"]["acknowledgeable"] is False
    assert snapshot(store.url) == before


def test_an_oversized_request_is_refused_before_it_is_read(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    before = snapshot(store.url)
    body = b'{"events": [], "pad": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = httpx.post(f"{store.base_url}/v1/push", content=body, timeout=60,
                          headers={"Authorization": f"Bearer {pat.client.token}",
                                   "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert snapshot(store.url) == before


def test_http_is_refused_except_on_loopback() -> None:
    from app.sync.transport import InsecureStoreAddress

    for address in ("http://store.example.org", "http://10.0.0.5:8443", "ftp://127.0.0.1"):
        with pytest.raises(InsecureStoreAddress):
            StoreClient(address)
    for address in ("https://store.example.org", "http://127.0.0.1:9", "http://[::1]:9",
                    "http://localhost:9"):
        StoreClient(address).close()
