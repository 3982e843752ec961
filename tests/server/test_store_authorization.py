"""Every endpoint x (no token, wrong token, revoked device, another team's ids, a
practitioner asking for a manager's scope) -> 401 or 403, and nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from app.envelope import DeviceChain, SignedEvent, to_wire
from server import accounts
from server.database import make_engine, writing
from tests.server.conftest import PASSWORD, Device, Org, StoreProcess, enrol, snapshot

CASES = ("no_token", "wrong_token", "revoked_device", "another_team", "manager_scope")


@dataclass
class Actors:
    store: StoreProcess
    org: Org
    pat: Device
    pat_chain: DeviceChain
    revoked: Device
    revoked_chain: DeviceChain
    record_id: str
    followup_id: str

    def unstored(self, chain: DeviceChain, make: Callable[[DeviceChain], SignedEvent],
                 ) -> SignedEvent:
        """An event made for a request that must be refused; the chain is left as it was."""
        seq, prev = chain.next_seq, chain.prev_hash
        ev = make(chain)
        chain.next_seq, chain.prev_hash = seq, prev
        return ev


@pytest.fixture(scope="module")
def actors(store: StoreProcess, org: Org) -> Actors:
    pat = enrol(store.base_url, org.login("pat"))
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)
    rid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    pat.client.push([chain.event("decision.create", rid),
                     chain.event("followup.create", rid, entity_id=fid)])
    revoked = enrol(store.base_url, org.login("pat"))
    engine = make_engine(store.url)
    with writing(engine) as conn:
        accounts.revoke_device(conn, revoked.device_id)
    engine.dispose()
    return Actors(store, org, pat, chain, revoked,
                  DeviceChain(revoked.key, revoked.device_id, pat.team_id, pat.user_id),
                  rid, fid)


def _token(a: Actors, case: str) -> str | None:
    return {"no_token": None, "wrong_token": "sld1." + a.org.team_a + ".not-a-token",
            "revoked_device": a.revoked.client.token}.get(case, a.pat.client.token)


def _get(path: str) -> Callable[[Actors, str], httpx.Response]:
    def call(a: Actors, case: str) -> httpx.Response:
        params = ({"team_id": a.org.team_b} if case == "another_team" else
                  {"scope": "team"} if case == "manager_scope" else {})
        return _send(a, case, "GET", path, params=params)
    return call


def _send(a: Actors, case: str, method: str, path: str, **kw: object) -> httpx.Response:
    token = _token(a, case)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{a.store.base_url}{path}", headers=headers, timeout=30,
                         **kw)  # type: ignore[arg-type]


def _push(a: Actors, case: str) -> httpx.Response:
    chain = a.revoked_chain if case == "revoked_device" else a.pat_chain
    if case == "another_team":
        ev = a.unstored(chain, lambda c: c.event("decision.create", str(uuid.uuid4()),
                                                 team_id=a.org.team_b))
    elif case == "manager_scope":  # only a manager reassigns
        ev = a.unstored(chain, lambda c: c.event(
            "followup.reassign", a.record_id, entity_id=a.followup_id,
            assignee_id=a.org.users["paula"]))
    else:
        ev = a.unstored(chain, lambda c: c.event("decision.create", str(uuid.uuid4())))
    return _send(a, case, "POST", "/v1/push", json={"events": [to_wire(ev)]})


def _enrol(a: Actors, case: str) -> httpx.Response:
    body = {"username": a.org.login("pat"), "password": PASSWORD,
            "device_id": str(uuid.uuid4()), "public_key": "A" * 43 + "="}
    if case == "no_token":  # enrolment's credential is the password: none worth the name
        body["password"] = "x"
    elif case == "wrong_token":
        body["password"] = "not the password"
    elif case == "revoked_device":
        body["device_id"] = a.revoked.device_id
        body["public_key"] = _b64(a.revoked.key.public_bytes)
    elif case == "another_team":  # quinn (team B) claiming pat's device
        body.update(username=a.org.login("quinn"), device_id=a.pat.device_id,
                    public_key=_b64(a.pat.key.public_bytes))
    else:  # an administrator's account holds no records and enrols no device
        body["username"] = a.org.login("ada")
    return httpx.post(f"{a.store.base_url}/v1/enrol", json=body, timeout=30)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


ENDPOINTS = {"me": _get("/v1/me"), "pull": _get("/v1/pull"), "tips": _get("/v1/tips"),
             "digest": _get("/v1/digest"), "devices": _get("/v1/devices"), "push": _push,
             "enrol": _enrol}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_refused_with_401_or_403_and_nothing_changed(actors: Actors, endpoint: str,
                                                      case: str) -> None:
    if endpoint in ("me", "devices") and case == "manager_scope":
        case = "another_team"  # no scope here: the team check is the narrowest
    before = snapshot(actors.store.url)
    response = ENDPOINTS[endpoint](actors, case)
    expected = 401 if case in ("no_token", "wrong_token") else 403
    assert response.status_code == expected, response.text
    assert response.json()["error"]["code"]
    assert snapshot(actors.store.url) == before
