"""What the store writes outside its database (its log) never holds a payload, even when
a request fails inside the database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.envelope import DeviceChain
from server import schema
from server.database import make_engine
from tests.server.conftest import enrol


def test_a_database_error_never_carries_payload_bytes(store, org) -> None:
    pat = enrol(store.base_url, org.login("pat"))
    chain = DeviceChain(pat.key, pat.device_id, pat.team_id, pat.user_id)
    secret = b"Narrative: Alice Example, C100200"
    ev = chain.event("decision.create", str(uuid.uuid4()), payload=secret)
    pat.client.push([ev])
    engine = make_engine(store.url)
    row = {c.name: None for c in schema.events.columns}
    row.update(team_id=pat.team_id, seq=1, payload=secret)
    with pytest.raises(IntegrityError) as err, engine.begin() as conn:
        conn.execute(insert(schema.events), row)  # the store's own engine settings
    engine.dispose()
    assert "Alice" not in str(err.value) and "C100200" not in str(err.value)
    assert "Alice" not in Path(store.log.name).read_text()  # the store process's own log
