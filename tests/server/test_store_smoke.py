"""The store end to end through its HTTP API and the typed client."""

from __future__ import annotations

import uuid

from app.envelope import DeviceChain
from tests.server.conftest import enrol, seed


def test_push_then_pull_round_trip(store_url: str, start_store) -> None:
    org = seed(store_url)
    store = start_store(store_url)
    pat = enrol(store.base_url, "pat")
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)
    rid = str(uuid.uuid4())
    events = [chain.event("decision.create", rid), chain.event("decision.correct", rid)]
    result = pat.client.push(events)
    assert [r.status for r in result.results] == ["stored", "stored"]
    page = pat.client.pull(0)
    assert [p.event.event_id for p in page.events] == [e.event_id for e in events]
    assert org.users["pat"] == pat.user_id
