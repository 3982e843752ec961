"""The fault proxy in front of real store processes: each fault reaches app/sync/transport.py
as the typed error the sync window acts on, and a retry after any of them stores nothing
twice (a response lost after the store committed included, on SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

import pytest

from app.envelope import DeviceChain, SignedEvent
from app.sync.transport import NetworkUnreachable, StoreClient, StoreError, SyncError
from server.process import StoreProcess
from tests.server.conftest import Device, Org, enrol, seed
from tests.sync.faultproxy import (
    Fault,
    FaultProxy,
    delay,
    drop,
    lose_response,
    status,
    truncate,
)


@pytest.fixture(scope="module")
def sqlite_org(sqlite_store: StoreProcess) -> Org:
    return seed(sqlite_store.url)


def chain_of(dev: Device) -> DeviceChain:
    return DeviceChain(dev.key, dev.device_id, dev.team_id, dev.user_id)


def new_record(chain: DeviceChain, payload: bytes | None = None) -> list[SignedEvent]:
    rid = str(uuid.uuid4())
    return [chain.event("decision.create", rid, payload=payload),
            chain.event("followup.create", rid, entity_id=str(uuid.uuid4()))]


def stored_from(dev: Device) -> dict[str, int]:
    """The events of ``dev``'s device the store holds (event id -> seq), asked directly."""
    return {p.event.event_id: p.seq for p in dev.client.pull(0, limit=1000).events
            if p.event.device_id == dev.device_id}


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# fault, the error the client gets, whether the store received (and so stored) the push
FAULTS: dict[str, tuple[Fault, type[SyncError], bool]] = {
    "dropped before forwarding": (drop(), NetworkUnreachable, False),
    "response lost after commit": (lose_response(), NetworkUnreachable, True),
    "503 from a gateway": (status(503), StoreError, False),
    "502 from a gateway": (status(502), StoreError, False),
    "body cut short": (truncate(12), NetworkUnreachable, True),
    "body cut, length rewritten": (truncate(12, honest_length=True), StoreError, True),
    "slower than the timeout": (delay(1.0), NetworkUnreachable, True),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_is_a_typed_error_and_the_retry_stores_once(sqlite_store, sqlite_org,
                                                                name: str) -> None:
    fault, error, reaches_store = FAULTS[name]
    pat = enrol(sqlite_store.base_url, sqlite_org.login("pat"))
    batch = new_record(chain_of(pat))
    with FaultProxy(sqlite_store.base_url) as proxy:
        proxy.add(fault, on="push", times=1)
        hurried = StoreClient(proxy.base_url, pat.client.token, timeout=0.4)
        with pytest.raises(error):
            hurried.push(batch)
        # The proxy's own account; a delayed request reaches the store after the client
        # gave up on it, as a slow network's would.
        wait_for(lambda: proxy.exchanges("push")[0].fault != "pending")
        (first,) = proxy.exchanges("push")
        assert (first.fault, first.forwarded) == (fault.kind, reaches_store)
        wait_for(lambda: len(stored_from(pat)) == (2 if reaches_store else 0))
        # The client retries the same batch: stored once, and told what the store holds.
        client = StoreClient(proxy.base_url, pat.client.token)
        again = client.push(batch)
        held = stored_from(pat)
        assert [(r.status, r.seq) for r in again.results] == [
            ("stored", held[e.event_id]) for e in batch]
        assert len(held) == 2
        assert [x.fault for x in proxy.exchanges("push")] == [fault.kind, "pass"]


def test_a_response_lost_after_the_store_committed_is_answered_again(store, org) -> None:
    """The named crash point: the store commits the 3rd push, its answer never arrives."""
    pat = enrol(store.base_url, org.login("pat"))
    chain = chain_of(pat)
    batches = [new_record(chain) for _ in range(3)]
    with FaultProxy(store.base_url) as proxy:
        proxy.add(lose_response(), on="push", nth=3)
        client = StoreClient(proxy.base_url, pat.client.token)
        client.push(batches[0])
        client.push(batches[1])
        with pytest.raises(NetworkUnreachable):
            client.push(batches[2])
        committed = pat.client.digest(0)
        assert len(stored_from(pat)) == 6
        again = client.push(batches[2])
        assert pat.client.digest(0) == committed  # nothing new: count and hash alike
        pulled = [p for p in pat.client.pull(0, limit=1000).events
                  if p.event.device_id == pat.device_id]
        assert len({p.event.event_id for p in pulled}) == len(pulled) == 6
        seqs = {p.event.event_id: p.seq for p in pulled}
        assert [r.seq for r in again.results] == [seqs[e.event_id] for e in batches[2]]
        log = proxy.exchanges("push")
        assert [(x.fault, x.forwarded, x.store_status, x.client_status) for x in log] == [
            ("pass", True, 200, 200), ("pass", True, 200, 200),
            ("lose_response", True, 200, None), ("pass", True, 200, 200)]


def test_offline_refuses_connections_and_cuts_open_ones_until_it_comes_back(
        sqlite_store, sqlite_org) -> None:
    pat = enrol(sqlite_store.base_url, sqlite_org.login("pat"))
    with FaultProxy(sqlite_store.base_url) as proxy:
        client = StoreClient(proxy.base_url, pat.client.token)
        assert client.tips()  # a kept-alive connection is now open
        with proxy.offline():
            with pytest.raises(NetworkUnreachable):
                client.tips()
            with pytest.raises(NetworkUnreachable):
                StoreClient(proxy.base_url).info()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
        assert not proxy.is_offline
        assert client.tips()  # the same address again
        assert [x.path for x in proxy.log] == ["/v1/tips", "/v1/tips"]


def test_rules_choose_by_endpoint_position_chance_and_count_reproducibly(
        sqlite_store, sqlite_org) -> None:
    pat = enrol(sqlite_store.base_url, sqlite_org.login("pat"))

    def run(seed: int) -> tuple[list[str], list[str], list[str], FaultProxy]:
        with FaultProxy(sqlite_store.base_url, seed=seed) as proxy:
            proxy.add(status(503), on="pull", probability=0.5)
            proxy.add(status(502), on="tips", nth=2)
            proxy.add(status(504), on="digest", times=2)
            client = StoreClient(proxy.base_url, pat.client.token)

            def outcomes(call: Callable[[], object], n: int) -> list[str]:
                got = []
                for _ in range(n):
                    try:
                        call()
                        got.append("ok")
                    except StoreError:
                        got.append("5xx")
                return got

            return (outcomes(lambda: client.pull(0), 30), outcomes(client.tips, 3),
                    outcomes(lambda: client.digest(0), 4), proxy)

    pulls, tips, digests, proxy = run(7)
    assert run(7)[0] == pulls != run(8)[0]  # the seed decides, and only the seed
    assert 5 <= pulls.count("5xx") <= 25
    assert tips == ["ok", "5xx", "ok"]
    assert digests == ["5xx", "5xx", "ok", "ok"]
    assert [x.number for x in proxy.log] == list(range(1, 38))
    injected = {"/v1/pull": 503, "/v1/tips": 502, "/v1/digest": 504}
    for x in proxy.log:
        if x.fault == "pass":
            assert x.forwarded and x.store_status == x.client_status == 200
        else:  # answered by the proxy: the store never saw it
            assert (x.forwarded, x.store_status, x.client_status) == (
                False, None, injected[x.path])


def test_what_passes_through_is_what_the_store_sent(sqlite_store, sqlite_org) -> None:
    pat = enrol(sqlite_store.base_url, sqlite_org.login("pat"))
    chain = chain_of(pat)
    with FaultProxy(sqlite_store.base_url) as proxy:
        client = StoreClient(proxy.base_url, pat.client.token)
        for _ in range(20):  # a large pull page, several hundred kilobytes
            client.push(new_record(chain, payload=bytes(range(256)) * 64))
        assert client.pull(0, limit=1000) == pat.client.pull(0, limit=1000)
        assert client.info() == pat.client.info()
        assert client.devices() == pat.client.devices()
        assert {x.fault for x in proxy.log} == {"pass"}
        assert all(x.forwarded and x.client_status == x.store_status == 200
                   for x in proxy.log)
