"""The sync engine under network faults (tests/sync/faultproxy.py between every device and
a real store): each fault is a visible state, never a stall; the next sync carries on from
where the vault is; nothing is stored twice and nothing is lost. Retries back off with
jitter; progress says n of m."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sync.engine import SyncEngine, SyncState
from app.sync.transport import StoreClient
from tests.conftest import make_share
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.faultproxy import (
    FaultProxy,
    delay,
    drop,
    lose_response,
    status,
    truncate,
)
from tests.sync.harness import Harness, vault_event_ids


@pytest.fixture
def net(sqlite_store, tmp_path: Path) -> Iterator[tuple[Harness, Engines, FaultProxy]]:
    proxy = FaultProxy(sqlite_store.base_url, seed=11)
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, address=proxy.base_url,
                      sync_once=engines.sync_once, sign_in=sign_in_keeping_token)
    yield harness, engines, proxy
    engines.close()
    harness.close()
    proxy.stop()


def assert_each_once(harness: Harness) -> None:
    """Once every device has synced: each event once in the store and in every vault,
    and every vault holds all the store lets it see."""
    harness.sync_all()
    held = harness.store_event_ids()
    assert [e for e, n in Counter(held).items() if n > 1] == []
    for name, device in harness.devices.items():
        ids = vault_event_ids(device.service)
        assert len(ids) == len(set(ids)), name
        assert {e.event_id for e in harness.store_view(name)} <= set(ids), name


FAULTS = {
    "dropped": drop(),
    "lost after commit": lose_response(),
    "503": status(503),
    "502": status(502),
    "cut body": truncate(keep=20),
    "cut JSON": truncate(keep=20, honest_length=True),
}


@pytest.mark.parametrize("endpoint", ["push", "pull"])
def test_each_fault_is_a_visible_state_and_the_next_sync_carries_on(net, endpoint) -> None:
    harness, engines, proxy = net
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    syncing = laptop if endpoint == "push" else tablet
    made = []
    for name, fault in FAULTS.items():
        made.append(laptop.service.record_decision(make_share(reasons=f"After {name}.")))
        if endpoint == "pull":
            assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
        rule = proxy.add(fault, on=endpoint, times=1)
        failed = harness.sync_once(syncing.name).status
        assert rule.fired == 1, name
        assert (failed.state, failed.error) in {(SyncState.OFFLINE, "offline"),
                                                (SyncState.ERROR, "server_error")}, name
        assert failed.message, name
        if endpoint == "push":
            assert failed.waiting == 2, name  # kept, to be pushed again
        proxy.clear()
        carried = harness.sync_once(syncing.name).status
        assert (carried.state, carried.error, carried.waiting) == (
            SyncState.SYNCED, None, 0), name
    if endpoint == "push":
        lost = [x for x in proxy.exchanges("push") if x.fault == "lose_response"]
        assert lost and lost[0].forwarded and lost[0].store_status == 200
    harness.sync_once("pat-tablet")
    assert {r for r in made} <= {d.record_id for d in tablet.service.list_decisions()}
    assert_each_once(harness)
    harness.assert_converged()


def test_retries_back_off_with_jitter_and_start_again_after_success(net) -> None:
    harness, engines, proxy = net
    laptop = harness.device("pat-laptop")
    laptop.service.record_decision(make_share())
    engine = SyncEngine(laptop.service, rng=random.Random(3))
    delays = []
    with proxy.offline():
        for _ in range(7):
            assert engine.sync_once().status.state == SyncState.OFFLINE
            delays.append(engine.retry_delay())
            assert engine.status().state == SyncState.OFFLINE  # from the vault
    for i, waited in enumerate(delays):
        ceiling = min(60.0, 2.0 * 2 ** i)  # doubling from 2 s, at most a minute offline
        assert ceiling / 2 - 0.5 <= waited <= ceiling, (i, waited)
    # Jitter: devices failing the same way at the same moment do not all come back at once.
    others = [SyncEngine(laptop.service, rng=random.Random(seed)) for seed in range(8)]
    with proxy.offline():
        for other in others:
            other.sync_once()
    firsts = [other.retry_delay() for other in others]
    assert max(firsts) - min(firsts) > 0.3
    for other in others:
        other.close()
    assert engine.sync_once().status.state == SyncState.SYNCED
    assert engine.retry_delay() == 0
    assert [a.outcome for a in engine.history(3)] == ["synced", "offline", "offline"]
    engine.close()
    # A slow store is waited for; one that does not answer in time is offline.
    laptop.service.record_decision(make_share())
    proxy.add(delay(0.3))
    assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
    proxy.clear()
    laptop.service.record_decision(make_share())
    proxy.add(delay(2.0), on="push", times=1)
    with StoreClient(proxy.base_url, laptop.client.token, timeout=0.5) as impatient:
        timed_out = SyncEngine(laptop.service, client=impatient).sync_once().status
    assert (timed_out.state, timed_out.waiting) == (SyncState.OFFLINE, 2)
    proxy.clear()
    assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
    assert_each_once(harness)


def test_progress_says_n_of_m_while_pushing_and_pulling(net) -> None:
    harness, engines, proxy = net
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    with laptop.service.bulk() as w:
        for i in range(30):
            w.record_decision(make_share(reasons=f"Share {i}."))
    seen = []
    pusher = SyncEngine(laptop.service, on_progress=seen.append)
    pusher.push_batch = 25
    assert pusher.sync_once().pushed == 60
    # 60 pushed in batches of 25, then (a new engine learns its scope first, so it pulls
    # after the push) the same 60 come back in Pat's scope, held already: skipped.
    pushing = [(s.state, s.done, s.total) for s in seen]
    assert {state for state, _, _ in pushing} == {SyncState.SYNCING}
    assert [(d, t) for _, d, t in pushing] == [(0, 60), (25, 60), (50, 60), (60, 60),
                                               (120, 120)]
    got = []
    puller = SyncEngine(tablet.service, on_progress=got.append)
    puller.page_size = 20
    puller.pipeline_from = 50  # verified a page ahead in another process, as a long pull
    report = puller.sync_once()
    assert report.pulled == 60
    pulling = [(s.done, s.total) for s in got if s.done]
    assert pulling == [(20, 60), (40, 60), (60, 60)]
    assert puller.status().state == SyncState.SYNCED and puller.status().done == 0
    pusher.close()
    puller.close()


@pytest.mark.parametrize("fault", [drop(), truncate(keep=4000), status(503)],
                         ids=["cut", "truncated", "503"])
def test_a_long_pull_cut_in_its_other_process_carries_on_at_the_next_sync(net, fault) -> None:
    """In a long pull, the pages after the first are fetched, decoded and checked by a
    second process (app.sync.ahead). A fault there is the same visible state as one here;
    the pages applied keep their cursor and the next sync carries on from it."""
    harness, engines, proxy = net
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    with laptop.service.bulk() as w:
        for i in range(30):
            w.record_decision(make_share(reasons=f"Share {i}."))
    assert harness.sync_once("pat-laptop").status.state == SyncState.SYNCED
    before = len(proxy.exchanges("pull"))
    proxy.add(fault, on="pull", nth=3)  # the first page here, the second and third there
    puller = SyncEngine(tablet.service)
    puller.page_size = 20
    puller.pipeline_from = 50
    cut = puller.sync_once()
    assert cut.status.state in (SyncState.OFFLINE, SyncState.ERROR)
    assert cut.status.message  # words to show, never a stall
    assert 0 < cut.pulled < 60 and tablet.service.sync.cursor() > 0
    assert len(proxy.exchanges("pull")) - before == 3
    proxy.clear()
    again = puller.sync_once()
    assert again.status.state == SyncState.SYNCED
    assert cut.pulled + again.pulled == 60  # nothing applied twice, nothing missed
    assert tablet.service.projection_digest() == laptop.service.projection_digest()
    puller.close()
    assert_each_once(harness)


def test_a_store_that_asks_a_pull_to_wait_says_so_from_either_process() -> None:
    """A 429 met by a long pull's second process comes back with its wait intact."""
    import pickle

    from app.sync.transport import RateLimited

    back = pickle.loads(pickle.dumps(RateLimited("Too many requests.", 42)))
    assert (type(back), str(back), back.retry_after) == (RateLimited, "Too many requests.", 42)


def test_changes_too_large_for_one_request_go_in_smaller_batches(net) -> None:
    harness, engines, proxy = net
    laptop = harness.device("pat-laptop")
    long_note = "Notes from the strategy discussion, kept in full. " * 1000  # ~50 KB
    with laptop.service.bulk() as w:
        for i in range(280):  # 280 events of ~50 KB: more than one 16 MiB request holds
            w.record_decision(make_share(information=f"{i} {long_note}"))
    report = harness.sync_once("pat-laptop")
    assert (report.status.state, report.pushed) == (SyncState.SYNCED, 560)
    pushes = proxy.exchanges("push")
    assert len(pushes) >= 2 and all(x.client_status == 200 for x in pushes)
