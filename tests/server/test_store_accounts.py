"""Accounts: enrolment and a pre-sign-in vault joining its account, sign-in limits, and the
admin CLI over a store kept under SHARELOG_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from app.envelope import DeviceChain
from app.events import DeviceKey
from app.sync.transport import (
    AuthExpired,
    BadCredentials,
    DeviceRevoked,
    EnrolmentRefused,
    RateLimited,
    StoreClient,
)
from tests.conftest import make_share
from tests.server.conftest import PASSWORD, ROOT, StoreProcess, enrol, seed
from tests.server.vaults import vault_events


def test_a_vault_made_before_sign_in_joins_its_account_once(store, org, service) -> None:
    ident = service.identity
    record_id = service.record_decision(make_share())
    fu = service.my_followups()[0]
    service.complete_followup(fu.followup_id, "They acted on it.", parents=fu.heads)
    history = vault_events(service)
    assert {e.author_id for e in history} == {ident.user_id} != {org.users["pat"]}
    key = service.unit.key
    pat = enrol(store.base_url, org.login("pat"), key=key, device_id=ident.device_id,
                local_user_id=ident.user_id, local_team_id=ident.team_id)
    assert pat.client.me().aliases[ident.user_id] == org.users["pat"]
    # Nothing is rewritten: the events go as they were signed, attributed to the account.
    result = pat.client.push(history)
    assert {r.status for r in result.results} == {"stored"}
    service.sync.record_push(result.results)
    assert service.sync.pending() == 0
    mo = enrol(store.base_url, org.login("mo"))
    by_id = {p.event.event_id: p for p in mo.client.pull(0, limit=1000).events}
    assert all(by_id[e.event_id].author_user_id == org.users["pat"] for e in history)
    assert all(by_id[e.event_id].event == e for e in history)
    # After sign-in the vault signs v2 events with the account's ids; the record it made
    # before keeps its local owner id, which the store knows is the same person.
    service.sync.record_binding(account_user_id=pat.user_id, account_team_id=pat.team_id,
                                device_token=pat.client.token)
    assert service.sync.binding().local_user_id == ident.user_id
    service.correct_decision(record_id, make_share(reasons="Corrected after signing in."),
                             "typo", parents=service.get_decision(record_id).heads)
    [after] = service.sync.outbox()
    assert (after.author_id, after.team_id, after.owner_id) == (
        pat.user_id, pat.team_id, ident.user_id)
    assert {r.status for r in pat.client.push([after]).results} == {"stored"}
    # Its follow-ups made before sign-in are still this practitioner's.
    assert [f.followup_id for f in service.my_followups(include_closed=True)] == [
        fu.followup_id]
    # The vault joins one account only, once.
    with pytest.raises(EnrolmentRefused) as err:
        enrol(store.base_url, org.login("paula"), local_user_id=ident.user_id,
              local_team_id=ident.team_id)
    assert "joined another account" in str(err.value)
    with pytest.raises(EnrolmentRefused):
        enrol(store.base_url, org.login("paula"), key=key, device_id=ident.device_id)
    with pytest.raises(EnrolmentRefused):  # the same device id with another key
        enrol(store.base_url, org.login("pat"), device_id=ident.device_id,
              local_user_id=ident.user_id)
    # Signing in again from the same vault gives a new token and the store's tip.
    again = StoreClient(store.base_url)
    answer = again.enrol(username=org.login("pat"), password=PASSWORD,
                         device_id=ident.device_id, public_key=key.public_bytes,
                         local_user_id=ident.user_id, local_team_id=ident.team_id)
    assert answer.tip.device_seq == len(history) + 1 == after.device_seq
    with pytest.raises(AuthExpired):
        pat.client.tips()  # the old token was replaced
    assert again.tips()


def test_sign_in_attempts_are_rate_limited(store) -> None:
    org = seed(store.url)
    client = StoreClient(store.base_url)

    def attempt(password: str) -> None:
        client.enrol(username=org.login("pat"), password=password,
                     device_id=str(uuid.uuid4()), public_key=DeviceKey.generate().public_bytes)

    for _ in range(5):
        with pytest.raises(BadCredentials):
            attempt("not the password")
    with pytest.raises(RateLimited) as err:
        attempt(PASSWORD)  # even the right password waits now
    assert 0 < err.value.retry_after <= 15 * 60
    response = httpx.post(f"{store.base_url}/v1/enrol", json={
        "username": org.login("pat"), "password": PASSWORD, "device_id": "d",
        "public_key": "AAAA"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    # Another user is not held back by pat's failures.
    enrol(store.base_url, org.login("paula"))


def test_parallel_guesses_share_one_limit(store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    org = seed(store.url, quick_hashes=False)  # the slow hash is what widens the race

    def guess(i: int) -> int:
        return httpx.post(f"{store.base_url}/v1/enrol", timeout=60, json={
            "username": org.login("paula"), "password": f"guess number {i}",
            "device_id": str(uuid.uuid4()), "public_key": "A" * 43 + "="}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 7, statuses


def _admin(home: Path, *args: str, password: str | None = None) -> str:
    env = {**os.environ, "SHARELOG_HOME": str(home)}
    env.pop("SHARELOG_DATABASE_URL", None)
    if password:
        env["SHARELOG_ADMIN_PASSWORD"] = password
    out = subprocess.run([sys.executable, "-m", "server", "admin", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.slow
def test_admin_cli_runs_a_store_under_sharelog_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _admin(home, "create-organisation", "Northshire")
    team = _admin(home, "create-team", "--organisation", "Northshire", "Family support")
    _admin(home, "create-user", "--team", team, "--username", "Sam", "--display-name",
           "Sam Worker", "--role", "practitioner", password=PASSWORD)
    assert (home / "store" / "store.sqlite3").exists()
    proc = StoreProcess("", home)
    try:
        device = enrol(proc.base_url, "sam")
        chain = DeviceChain(device.key, device.device_id, device.team_id, device.user_id)
        secret = b"Narrative: Alice Example, C100200"
        device.client.push([chain.event("decision.create", str(uuid.uuid4()), payload=secret)])
        device.client.pull(0)
        listing = _admin(home, "devices")
        assert device.device_id in listing and "active" in listing
        _admin(home, "reset-password", "sam", password="another long password")
        with pytest.raises(BadCredentials):
            enrol(proc.base_url, "sam")
        _admin(home, "revoke-device", device.device_id)
        with pytest.raises(DeviceRevoked):
            device.client.pull(0)
        assert "revoked" in _admin(home, "devices")
        log = _admin(home, "audit", "--limit", "50")
        for action in ("sign_in", "enrol", "push", "pull", "admin.create_user",
                       "admin.reset_password", "admin.revoke_device", "admin.list_devices"):
            assert f"  {action}  " in log, action
        assert "events 1" in log  # the push: how many events, never what they said
        assert "Alice" not in log and "C100200" not in log
    finally:
        proc.stop()
    failed = subprocess.run([sys.executable, "-m", "server", "admin", "revoke-device", "nope"],
                            cwd=ROOT, env={**os.environ, "SHARELOG_HOME": str(home)},
                            capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 2 and "No device has that id" in failed.stderr
