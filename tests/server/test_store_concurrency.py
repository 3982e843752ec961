"""On PostgreSQL, with two store processes: pullers never miss an event while devices push
at once (the pull sequence is commit order), and either process serves any device."""

from __future__ import annotations

import threading
import uuid

import pytest

from app.envelope import DeviceChain
from app.sync.transport import StoreClient
from tests.server.conftest import enrol, seed

PUSHERS, BATCHES, BATCH = 4, 12, 20


@pytest.mark.slow
def test_pullers_never_miss_an_event_while_devices_push_at_once(pg_url: str,
                                                                 start_store) -> None:
    org = seed(pg_url)
    stores = [start_store(pg_url), start_store(pg_url)]
    pushers = [enrol(stores[i % 2].base_url, org.login("pat" if i % 2 else "paula"))
               for i in range(PUSHERS)]
    pullers = [enrol(stores[i % 2].base_url, org.login("mo")) for i in range(3)]
    stored: list[str] = []
    seen: list[list[tuple[int, str]]] = [[] for _ in pullers]
    done = threading.Event()
    errors: list[BaseException] = []

    def push(i: int) -> None:
        dev = pushers[i]
        chain = DeviceChain(dev.key, dev.device_id, dev.team_id, dev.user_id)
        # Each batch goes to either process, so commits from both interleave.
        clients = [dev.client, StoreClient(stores[(i + 1) % 2].base_url, dev.client.token)]
        try:
            for b in range(BATCHES):
                events = [chain.event("decision.create", str(uuid.uuid4()))
                          for _ in range(BATCH)]
                result = clients[b % 2].push(events)
                stored.extend(r.event_id for r in result.results)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def pull(i: int) -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()  # read before the pull: one more pass after the end
                page = pullers[i].client.pull(cursor, limit=37)
                seen[i].extend((p.seq, p.event.event_id) for p in page.events)
                cursor = page.next_since
                if finished and not page.has_more:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    push_threads = [threading.Thread(target=push, args=(i,)) for i in range(PUSHERS)]
    pull_threads = [threading.Thread(target=pull, args=(i,)) for i in range(len(pullers))]
    for t in pull_threads + push_threads:
        t.start()
    for t in push_threads:
        t.join(240)
    done.set()
    for t in pull_threads:
        t.join(240)
    assert not errors, errors
    assert len(stored) == PUSHERS * BATCHES * BATCH
    for got in seen:
        seqs = [s for s, _ in got]
        assert seqs == sorted(set(seqs)), "a puller got an event twice or out of order"
        assert sorted(e for _, e in got) == sorted(stored), "a puller missed an event"


def test_two_processes_on_one_postgresql_serve_the_same_devices(pg_url: str,
                                                                 start_store) -> None:
    org = seed(pg_url)
    one, two = start_store(pg_url), start_store(pg_url)
    pat = enrol(one.base_url, org.login("pat"))
    via_two = StoreClient(two.base_url, pat.client.token)
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)
    rid = str(uuid.uuid4())
    first = [chain.event("decision.create", rid), chain.event("decision.correct", rid)]
    answer = pat.client.push(first)
    assert via_two.push(first) == answer  # a retry through the other process: same answer
    second = [chain.event("decision.correct", rid)]
    via_two.push(second)  # the chain goes on through either process
    assert pat.client.pull(0, limit=1000) == via_two.pull(0, limit=1000)
    assert pat.client.tips() == via_two.tips()
    assert pat.client.digest(0).count == 3
