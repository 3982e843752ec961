"""Signing a real vault in to a real store process and out again (issue 10, point 1):
app/sync/account.py, against ``python -m server`` on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import session
from app.service import Sharelog
from app.sync import account
from app.sync.transport import StoreClient
from server import accounts as store_accounts
from server.database import make_engine, migrate, writing
from server.pgcluster import free_port
from server.process import StoreProcess
from tests.conftest import PASSPHRASE, make_share
from tests.server.conftest import PASSWORD, Org, seed


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    home = tmp_path_factory.mktemp("account-store")
    url = f"sqlite:///{home / 'store.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    proc = StoreProcess(url, home)
    yield proc
    proc.stop()


@pytest.fixture
def org(sqlite_store: StoreProcess) -> Org:
    """A fresh organisation per test: rate limits and bindings never leak between tests."""
    return seed(sqlite_store.url)


def push_everything(service: Sharelog) -> None:
    """What the engine's push does, by hand: the outbox to the store, the answer kept."""
    binding = service.sync.binding()
    assert binding is not None and binding.store_url and binding.device_token
    with StoreClient(binding.store_url, binding.device_token) as client:
        result = client.push(service.sync.outbox())
    service.sync.record_push(result.results)


def test_sign_in_binds_the_vault_keeps_the_token_inside_and_learns_the_team(
        sqlite_store: StoreProcess, org: Org, service: Sharelog, home: Path) -> None:
    before = service.record_decision(make_share())
    local_user = service.identity.user_id
    me = account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    assert (me.user_id, me.role, me.team_id) == (org.users["pat"], "practitioner", org.team_a)
    assert account.signed_in(service)
    binding = service.sync.binding()
    assert binding is not None and binding.store_url == sqlite_store.base_url
    assert binding.device_token and binding.device_token.startswith("sld1.")
    assert binding.local_user_id == local_user
    # New events carry the account; the team's names are known (not "Unknown user").
    assert service.identity.user_id == org.users["pat"]
    assert service.user_name(org.users["mo"]) == "Mo"
    assert service.user_name(org.users["pat"]) == "Pat"
    # The token is in the vault, never in a plaintext file beside it.
    token = binding.device_token.encode()
    for path in home.rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes(), path.name
    # The store accepts this device's history, made before and after signing in.
    service.record_decision(make_share())
    push_everything(service)
    assert account.unsynced(service) == 0
    # Locked and opened again: still signed in.
    service.lock()
    again = session.unlock(PASSPHRASE, base=home)
    try:
        assert account.signed_in(again) and again.get_decision(before)
    finally:
        again.lock()


def test_a_wrong_password_is_said_and_changes_nothing(sqlite_store: StoreProcess, org: Org,
                                                      service: Sharelog) -> None:
    with pytest.raises(account.WrongPassword, match="do not match"):
        account.sign_in(service, sqlite_store.base_url, org.login("pat"), "not the password")
    with pytest.raises(account.WrongPassword):
        account.sign_in(service, sqlite_store.base_url, "nobody-at-all", PASSWORD)
    assert service.sync.binding() is None and not account.signed_in(service)


def test_too_many_attempts_say_how_long_to_wait(sqlite_store: StoreProcess, org: Org,
                                                service: Sharelog) -> None:
    for _ in range(store_accounts.MAX_FAILURES_PER_USERNAME):
        with pytest.raises(account.WrongPassword):
            account.sign_in(service, sqlite_store.base_url, org.login("paula"), "guess")
    with pytest.raises(account.TooManyAttempts, match=r"Try again in 1[45] minutes") as got:
        account.sign_in(service, sqlite_store.base_url, org.login("paula"), PASSWORD)
    assert 0 < got.value.retry_after <= store_accounts.FAILURE_WINDOW_S
    assert service.sync.binding() is None


def test_an_unreachable_or_insecure_store_is_said_in_words(service: Sharelog) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(account.StoreUnreachable, match="cannot be reached"):
        account.sign_in(service, nobody, "pat", PASSWORD)
    with pytest.raises(account.BadStoreAddress, match="https://"):
        account.sign_in(service, "http://store.example.org", "pat", PASSWORD)
    with pytest.raises(account.BadStoreAddress):
        account.sign_in(service, "store.example.org", "pat", PASSWORD)
    assert service.sync.binding() is None


def test_a_vault_joins_one_account_once(sqlite_store: StoreProcess, org: Org,
                                        service: Sharelog) -> None:
    service.record_decision(make_share())
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    with pytest.raises(account.AlreadyJoined, match="one account, once"):
        account.sign_in(service, sqlite_store.base_url, org.login("paula"), PASSWORD)
    assert service.identity.user_id == org.users["pat"]
    # The same account again is fine (a new token replaces the old one).
    old = service.sync.binding().device_token
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    assert service.sync.binding().device_token not in (None, old)


def test_a_revoked_computer_is_told_so_at_sign_in(sqlite_store: StoreProcess, org: Org,
                                                  service: Sharelog) -> None:
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    engine = make_engine(sqlite_store.url)
    with writing(engine) as conn:
        store_accounts.revoke_device(conn, service.identity.device_id)
    engine.dispose()
    with pytest.raises(account.DeviceRevoked, match="revoked: ask your administrator"):
        account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)


def test_sign_out_refuses_while_changes_are_unsynced_and_says_how_many(
        sqlite_store: StoreProcess, org: Org, service: Sharelog, tmp_path: Path) -> None:
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    service.record_decision(make_share())
    waiting = account.unsynced(service)
    assert waiting == service.pending_sync_count() == 2  # the decision and its follow-up
    with pytest.raises(account.UnsyncedChanges, match="2 changes have not reached") as got:
        account.sign_out(service)
    assert got.value.count == 2 and account.signed_in(service)
    # Once the store has them, signing out forgets the token and keeps every record.
    push_everything(service)
    account.sign_out(service)
    assert not account.signed_in(service)
    assert service.sync.binding().device_token is None
    assert service.decision_count() == 1 and len(service.my_followups()) == 1
    # Signed out, a later save waits for the next sign-in; the same account signs in again.
    service.record_decision(make_share())
    assert account.unsynced(service) == 2
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    assert account.signed_in(service)


def test_sign_out_with_a_backup_first(sqlite_store: StoreProcess, org: Org,
                                      service: Sharelog, tmp_path: Path) -> None:
    account.sign_in(service, sqlite_store.base_url, org.login("pat"), PASSWORD)
    service.record_decision(make_share())
    target = tmp_path / "before-signing-out.sharelog"
    account.sign_out(service, backup_to=target)
    assert target.exists() and target.stat().st_size > 0
    assert not account.signed_in(service)
    assert account.unsynced(service) == 2  # kept, waiting for the next sign-in


def test_a_change_the_store_refused_counts_as_unsynced_once(service: Sharelog) -> None:
    service.sync.record_binding(account_user_id="acct-pat", account_team_id="acct-team",
                                store_url="https://s", device_token="sld1.t")
    service.record_decision(make_share())
    first, second = service.sync.outbox()
    service.sync.record_refusal(first.event_id, "owner_mismatch")  # held, still in the outbox
    assert account.unsynced(service) == 2

    class Refused:
        event_id, seq, status, reason = second.event_id, 7, "refused", "owner_mismatch"

    service.sync.record_push([Refused()])  # out of the outbox, into quarantine
    assert service.pending_sync_count() == 1 and account.unsynced(service) == 2
    with pytest.raises(account.UnsyncedChanges):
        account.sign_out(service)


def test_the_store_address_preset(tmp_path: Path) -> None:
    beside, system = tmp_path / "beside.toml", tmp_path / "system.toml"
    places = [beside, system]
    assert account.preset_store_url({}, places) is None
    system.write_text('[store]\naddress = "https://store.council.example"\n')
    assert account.preset_store_url({}, places) == "https://store.council.example"
    beside.write_text('[store]\naddress = " https://beside.example "\n')
    assert account.preset_store_url({}, places) == "https://beside.example"
    assert account.preset_store_url({"SHARELOG_SERVER": "http://127.0.0.1:8471"},
                                    places) == "http://127.0.0.1:8471"
    beside.write_text("[store\naddress = ")  # damaged: skipped, with a warning
    assert account.preset_store_url({}, places) == "https://store.council.example"
    paths = account.preset_places()
    assert [p.name for p in paths] == ["sharelog.toml", "sharelog.toml"]


def test_the_first_run_offer_is_answered_once(service: Sharelog) -> None:
    assert account.offer_store(service)
    account.use_without_store(service)
    assert not account.offer_store(service)
    fresh_home = service.vault.path.parent
    service.lock()
    again = session.unlock(PASSPHRASE, base=fresh_home)
    try:
        assert not account.offer_store(again)
    finally:
        again.lock()
