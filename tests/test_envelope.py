"""Envelope v2: its bytes, what it signs, its wire form, and v1 events still verifying."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import pytest

from app.envelope import (
    ENVELOPE_TAG_V2,
    GENESIS_HASH,
    DeviceChain,
    EnvelopeError,
    check_shape,
    envelope_bytes,
    from_wire,
    make_signed_event,
    range_digest,
    sign,
    to_wire,
    verify_chain,
    verify_event,
)
from app.events import DeviceKey
from tests.conftest import make_share
from tests.legacy_vault import v1_record
from tests.server.vaults import device_public_key, vault_events


def _field(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


def test_v2_envelope_is_the_documented_field_order() -> None:
    key = DeviceKey.generate()
    payload = b"\x00\xffopaque"
    ev = make_signed_event(
        key=key, entity="followup", kind="followup.done", record_id="r1", entity_id="f1",
        team_id="t1", author_id="u1", device_id="d1", device_seq=7, hlc="h", parents=["p1"],
        owner_id="o1", assignee_id="a1", payload=payload, prev_hash=b"\x01" * 32,
        event_id="e1")
    expected = ENVELOPE_TAG_V2 + b"".join(_field(v) for v in (
        b"e1", b"followup", b"followup.done", b"r1", b"f1", b"t1", b"u1", b"d1", b"7", b"h",
        b'["p1"]', b"2", b"o1", b"a1", b"8", hashlib.sha256(payload).digest(), b"\x01" * 32))
    assert envelope_bytes(ev) == expected
    assert ev.hash == hashlib.sha256(expected).digest()
    verify_event(ev, key.public_bytes, b"\x01" * 32)


@pytest.mark.parametrize("field,value", [
    ("owner_id", "someone-else"), ("assignee_id", "someone-else"), ("team_id", "t2"),
    ("payload", b"\x00\xffopaquE"), ("device_seq", 8), ("parents", ("p2",)),
])
def test_every_envelope_field_is_signed(field: str, value: object) -> None:
    key = DeviceKey.generate()
    ev = make_signed_event(
        key=key, entity="followup", kind="followup.done", record_id="r1", entity_id="f1",
        team_id="t1", author_id="u1", device_id="d1", device_seq=7, hlc="h", parents=["p1"],
        owner_id="o1", assignee_id="a1", payload=b"\x00\xffopaque", prev_hash=GENESIS_HASH)
    forged = dataclasses.replace(ev, **{field: value})
    with pytest.raises(EnvelopeError) as err:
        verify_event(forged, key.public_bytes)
    assert err.value.code == "bad_hash"
    resigned = sign(forged, DeviceKey.generate())  # re-signed by another key
    with pytest.raises(EnvelopeError) as err:
        verify_event(resigned, key.public_bytes)
    assert err.value.code == "bad_signature"


def test_a_real_vaults_v1_then_v2_history_verifies_as_one_chain(service) -> None:
    """An upgraded vault: a record saved by an older Sharelog (v1 events), then a
    correction and a follow-up change saved by this one (v2), on one chain."""
    record_id = v1_record(service, make_share())
    service.correct_decision(record_id, make_share(reasons="Corrected reasons here."), "typo",
                             parents=service.get_decision(record_id).heads)
    fu = service.my_followups()[0]
    service.complete_followup(fu.followup_id, "They acted on it.", parents=fu.heads)
    events = vault_events(service)
    me = service.identity.user_id
    assert [e.schema_version for e in events] == [1, 1, 2, 2]
    assert [e.effective_owner for e in events] == [me] * 4
    # v1: the assignee of a follow-up event is its author, and a decision has none; v2
    # signs them (the owner of the record and who holds the follow-up after the event).
    assert [(e.entity, e.effective_assignee) for e in events] == [
        ("decision", ""), ("followup", me), ("decision", ""), ("followup", me)]
    assert [(e.owner_id, e.assignee_id) for e in events] == [
        ("", ""), ("", ""), (me, ""), (me, me)]
    verify_chain(events, device_public_key(service))
    wire = json.loads(json.dumps([to_wire(e) for e in events]))
    verify_chain([from_wire(w) for w in wire], device_public_key(service))
    with pytest.raises(EnvelopeError) as err:
        verify_chain(events[1:], device_public_key(service))
    assert err.value.code == "broken_chain"


def test_v1_cannot_reassign_or_name_an_owner() -> None:
    key = DeviceKey.generate()
    base = dict(key=key, entity="followup", record_id="r", entity_id="f", team_id="t",
                author_id="u", device_id="d", device_seq=1, hlc="h", owner_id="",
                payload=b"{}", prev_hash=GENESIS_HASH, schema_version=1)
    reassign = make_signed_event(kind="followup.reassign", **base)  # type: ignore[arg-type]
    with pytest.raises(EnvelopeError) as err:
        verify_event(reassign, key.public_bytes)
    assert err.value.code == "v1_reassignment"
    named = dataclasses.replace(make_signed_event(kind="followup.done", **base),  # type: ignore[arg-type]
                                owner_id="o")
    with pytest.raises(EnvelopeError) as err:
        check_shape(named)
    assert err.value.code == "v1_has_owner"


def test_wire_form_keeps_arbitrary_payload_bytes() -> None:
    chain = DeviceChain(DeviceKey.generate(), "d", "t", "u")
    payload = bytes(range(256)) * 3
    ev = chain.event("decision.create", str(uuid.uuid4()), payload=payload)
    back = from_wire(json.loads(json.dumps(to_wire(ev))))
    assert back == ev and back.payload == payload
    verify_event(back, chain.key.public_bytes, GENESIS_HASH)


@pytest.mark.parametrize("change,code", [
    ({"payload": "not base64!"}, "bad_encoding"),
    ({"device_seq": "7"}, "bad_encoding"),
    ({"parents": "p"}, "bad_encoding"),
    ({"hash": None}, "field_missing"),
])
def test_malformed_wire_events_are_refused_clearly(change: dict[str, object], code: str) -> None:
    chain = DeviceChain(DeviceKey.generate(), "d", "t", "u")
    wire = {**to_wire(chain.event("decision.create", "r")), **change}
    with pytest.raises(EnvelopeError) as err:
        from_wire(wire)
    assert err.value.code == code


def test_unknown_schema_version_and_oversized_payload_are_refused() -> None:
    chain = DeviceChain(DeviceKey.generate(), "d", "t", "u")
    ev = chain.event("decision.create", "r")
    with pytest.raises(EnvelopeError) as err:
        check_shape(dataclasses.replace(ev, schema_version=3))
    assert err.value.code == "unknown_schema_version"
    big = chain.event("decision.correct", "r", payload=b"x" * (64 * 1024 + 1))
    with pytest.raises(EnvelopeError) as err:
        verify_event(big, chain.key.public_bytes)
    assert err.value.code == "payload_too_large"


def test_range_digest_depends_on_every_sequence_and_hash() -> None:
    items = [(1, b"a" * 32), (5, b"b" * 32)]
    assert range_digest(items) == range_digest(list(reversed(items)))
    assert range_digest(items) != range_digest([(1, b"a" * 32), (6, b"b" * 32)])
    assert range_digest(items) != range_digest(items[:1])
