"""The sync engine in the plain case, against real store processes (SQLite and
PostgreSQL) and real vaults: what one device records, another shows after both sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sync.engine import SyncEngine, SyncState
from app.sync.transport import StoreClient
from tests.conftest import make_share
from tests.sync.engine_support import Engines, sign_in_keeping_token
from tests.sync.harness import Harness


@pytest.fixture
def team(store, tmp_path: Path) -> Iterator[tuple[Harness, Engines]]:
    engines = Engines()
    harness = Harness(store, tmp_path, sync_once=engines.sync_once,
                      sign_in=sign_in_keeping_token)
    yield harness, engines
    engines.close()
    harness.close()


def test_what_one_device_records_the_other_shows_after_both_sync(team) -> None:
    harness, engines = team
    laptop, tablet = harness.device("pat-laptop"), harness.device("pat-tablet")
    rid = laptop.service.record_decision(make_share())
    before = engines.engine(laptop).status()
    assert (before.state, before.waiting) == (SyncState.WAITING, 2)
    assert before.synced_at is None and before.oldest_waiting is not None

    sent = harness.sync_once("pat-laptop")
    assert (sent.pushed, sent.status.state, sent.status.waiting) == (2, SyncState.SYNCED, 0)
    got = harness.sync_once("pat-tablet")
    assert got.pulled == 2 and rid in got.changes.records
    assert got.status.state == SyncState.SYNCED and got.status.synced_at is not None
    shown = tablet.service.get_decision(rid)
    assert shown.record.reasons == make_share().reasons
    assert [f.record_id for f in tablet.service.my_followups()] == [rid]
    # The names of the team came with it, and the store's tips are kept.
    assert tablet.service.user_name(harness.members["mo"].user_id) == "Mo"
    assert {t.device_id for t in tablet.service.sync.store_tips()} >= {laptop.device_id}
    harness.sync_all()  # the manager's device receives the team's records too
    assert harness.device("mo-laptop").service.get_decision(rid).owner_id == (
        harness.members["pat"].user_id)
    harness.assert_converged()
    # Nothing to do: a second sync moves nothing and says so; history remembers both.
    again = engines.engine(tablet).sync_once()
    assert (again.pushed, again.pulled, again.changes.records) == (0, 0, frozenset())
    assert [a.outcome for a in engines.engine(tablet).history()] == ["synced"] * 3


def test_a_vault_never_signed_in_says_so_and_sync_does_nothing(service) -> None:
    engine = SyncEngine(service)
    report = engine.sync_once()
    assert report.status.state == SyncState.NOT_SIGNED_IN
    assert engine.status().state == SyncState.NOT_SIGNED_IN and engine.history() == []


def test_store_errors_become_states_with_sharelogs_words_and_the_action(
        sqlite_store, tmp_path: Path) -> None:
    engines = Engines()
    harness = Harness(sqlite_store, tmp_path, sync_once=engines.sync_once,
                      sign_in=sign_in_keeping_token)
    try:
        check_errors(harness, engines)
    finally:
        engines.close()
        harness.close()


def check_errors(harness: Harness, engines: Engines) -> None:
    from server import accounts
    from server.database import make_engine, writing

    laptop, paula = harness.device("pat-laptop"), harness.device("paula-laptop")
    laptop.service.record_decision(make_share())
    # Unreachable: offline, the change still waiting, and a backoff before the next try.
    with StoreClient("http://127.0.0.1:9", laptop.client.token) as nowhere:
        cut = SyncEngine(laptop.service, client=nowhere).sync_once()
    assert (cut.status.state, cut.status.error, cut.status.waiting) == (
        SyncState.OFFLINE, "offline", 2)
    assert "connection comes back" in (cut.status.message or "")
    # A token the store no longer knows: sign in again.
    with StoreClient(harness.store.base_url, "sld1.x.not-a-token") as stale:
        engine = SyncEngine(laptop.service, client=stale)
        expired = engine.sync_once()
        assert engine.retry_delay() > 0
    assert (expired.status.state, expired.status.error) == (SyncState.ERROR, "sign_in_again")
    assert "sign in again" in (expired.status.message or "")
    # The same vault, its own token again: it carries on, the error gone.
    healed = engines.sync_once(laptop)
    assert (healed.status.state, healed.pushed, healed.status.error) == (
        SyncState.SYNCED, 2, None)
    assert engines.engine(laptop).retry_delay() == 0
    # A revoked device: the administrator's action, said in so many words.
    db = make_engine(harness.store.url)
    with writing(db) as conn:
        accounts.revoke_device(conn, paula.device_id)
    db.dispose()
    revoked = engines.sync_once(paula).status
    assert (revoked.state, revoked.error) == (SyncState.ERROR, "device_revoked")
    assert revoked.message == "This computer's access was revoked: ask your administrator."
    assert engines.engine(paula).status() == revoked  # from the vault, no network
    assert [a.outcome for a in engines.engine(paula).history()] == ["device_revoked"]
