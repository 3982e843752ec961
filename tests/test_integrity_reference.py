"""The whole-vault check reports exactly what a plain, obviously-correct check reports.

``verify_all`` builds envelopes in one flat loop for speed; here a slow reference
(``envelope_bytes`` and ``verify_signature`` row by row, as the check was first written)
runs beside it on the same vault after damage of every kind: flipped bytes, changed
column types, over-long values, removed and renumbered events, a foreign device.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from app import integrity, session
from app.envelope import ENVELOPE_TAG_V2
from app.events import GENESIS_HASH, chain_link, envelope_bytes, verify_signature
from app.integrity import IntegrityProblem
from app.service import Sharelog
from db import store
from db.vault import DatabaseError
from tests.conftest import PASSPHRASE, make_share
from tests.legacy_vault import v1_record
from tests.server.vaults import device_events

COLUMNS = ["event_id", "entity", "kind", "record_id", "entity_id", "team_id", "author_id",
           "device_id", "device_seq", "hlc", "parents", "schema_version", "payload",
           "prev_hash", "hash", "signature", "owner_id", "assignee_id"]


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8", "replace") if isinstance(value, str) else b""


def _envelope(row: tuple[Any, ...]) -> bytes:
    """An event's envelope as its version writes it (v1: ``app.events``; v2: the
    documented field order, each field length-prefixed)."""
    (_seq, event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
     device_seq, hlc, parents, schema_version, payload, prev_hash, _hash, _signature,
     owner_id, assignee_id) = row
    if type(device_seq) is not int or type(schema_version) is not int:
        raise TypeError
    if schema_version == 1:
        return envelope_bytes(
            event_id=event_id, entity=entity, kind=kind, record_id=record_id,
            entity_id=entity_id, team_id=team_id, author_id=author_id,
            device_id=device_id, device_seq=device_seq, hlc=hlc, parents=parents,
            schema_version=schema_version, payload=payload, prev_hash=prev_hash)
    if schema_version != 2:
        raise TypeError

    def field(value: Any) -> bytes:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if not isinstance(raw, bytes):
            raise TypeError
        return len(raw).to_bytes(4, "big") + raw

    return ENVELOPE_TAG_V2 + b"".join(field(v) for v in (
        event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
        str(device_seq), hlc, parents, "2", owner_id, assignee_id, str(len(payload)),
        hashlib.sha256(payload).digest(), prev_hash))


def reference(conn: Any, *, every_signature: bool) -> tuple[list[IntegrityProblem], int, int]:
    keys = store.device_keys(conn)
    own = store.meta_get(conn, "device_id")
    problems: list[IntegrityProblem] = []
    late: list[IntegrityProblem] = []
    checked = signatures = 0
    prev: tuple[Any, ...] | None = None  # record, device, seq, hash, signature, whole

    def close(tip: tuple[Any, ...] | None) -> None:
        nonlocal signatures
        if tip is not None and not every_signature and tip[5] and tip[1] in keys:
            signatures += 1
            if not verify_signature(keys[tip[1]], tip[4], tip[3]):
                late.append(IntegrityProblem(tip[0], tip[1], tip[2], "signature"))

    for row in store.events_raw_by_device(conn):
        checked += 1
        try:
            digest: bytes | None = hashlib.sha256(_envelope(row)).digest()
        except (TypeError, AttributeError):
            digest = None
        record_id, device_id, device_seq = row[4], row[8], row[9]
        hash_, signature, prev_hash = row[15], row[16], row[14]
        record, device = _text(record_id), _text(device_id) or "?"
        seq = device_seq if type(device_seq) is int else -1
        hash_, signature, prev_hash = _bytes(hash_), _bytes(signature), _bytes(prev_hash)
        whole = digest == hash_
        foreign = device != own
        if prev is not None and (device != prev[1] or (foreign and seq > prev[2] + 1)):
            # Another device, or a new run of a chain held in part: the run before ends.
            close(prev)
            prev = None
        if prev is None and foreign and seq > 1:
            pass  # a run of another device's chain starts anywhere
        else:
            want_seq = prev[2] + 1 if prev else 1
            want_link = chain_link(prev[3], prev[4]) if prev else GENESIS_HASH
            if seq != want_seq:
                problems.append(IntegrityProblem(
                    record, device, seq, "removed" if seq > want_seq else "reordered"))
            elif prev_hash != want_link:
                if prev is not None:
                    problems.append(IntegrityProblem(prev[0], prev[1], prev[2], "altered"))
                problems.append(IntegrityProblem(record, device, seq, "reordered"))
        if not whole:
            problems.append(IntegrityProblem(record, device, seq, "altered"))
        if device not in keys:
            problems.append(IntegrityProblem(record, device, seq, "unknown_device"))
        elif every_signature and whole:
            signatures += 1
            if not verify_signature(keys[device], signature, hash_):
                late.append(IntegrityProblem(record, device, seq, "signature"))
        prev = (record, device, seq, hash_, signature, whole)
    close(prev)
    return list(dict.fromkeys(problems + late)), checked, signatures


def assert_same_as_reference(conn: Any) -> integrity.IntegrityReport:
    for deep in (False, True):
        report = integrity.verify_all(conn, every_signature=deep)
        problems, checked, signatures = reference(conn, every_signature=deep)
        assert report.problems == problems
        assert (report.events_checked, report.signatures_checked) == (checked, signatures)
    return report


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("reference")
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    v1_record(svc, make_share(reasons="made by an older Sharelog"))  # v1 events first
    ids = [svc.record_decision(make_share(reasons=f"reason {i}")) for i in range(3)]
    # A colleague's chain held in part (as a manager's device might): their records 2-3.
    colleague = session.create_vault("Kim Colleague", PASSPHRASE,
                                     base=tmp_path_factory.mktemp("colleague"),
                                     team_id=svc.identity.team_id)
    theirs = [colleague.record_decision(make_share(reasons=f"theirs {i}")) for i in range(3)]
    shared = [e for e in device_events(colleague) if e.record_id in theirs[1:]]
    assert shared[0].device_seq > 1
    got = svc.ingest.apply(shared, device_keys={
        colleague.identity.device_id: colleague.device_public_key})
    assert len(got.applied) == len(shared)
    colleague.lock()
    svc.correct_decision(ids[1], make_share(reasons="fixed"), "typo",
                         parents=svc.get_decision(ids[1]).heads)
    fu = svc.get_decision(ids[2]).followups[0].followup_id
    svc.complete_followup(fu, "confirmed", parents=svc.get_followup(fu).heads)
    svc.vault.conn.execute("PRAGMA foreign_keys = OFF")  # damage happens beneath SQLite
    yield svc
    svc.lock()


def _changed(value: Any, how: str, position: int, flip: int) -> tuple[Any, str]:
    """A damaged value and the SQL expression that stores it."""
    if how == "flip":
        if isinstance(value, int):
            return value + flip, "?"
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        if not raw:  # an empty field (a v1 event's owner): it gains a byte
            return bytes([flip]), "CAST(? AS TEXT)" if isinstance(value, str) else "?"
        i = position % len(raw)
        changed = raw[:i] + bytes([raw[i] ^ flip]) + raw[i + 1:]
        return changed, "CAST(? AS TEXT)" if isinstance(value, str) else "?"
    if how == "as_blob":  # the same bytes, stored as a blob (or an integer as text)
        if isinstance(value, int):
            return f"{value}", "CAST(? AS TEXT)"
        return (value.encode("utf-8") if isinstance(value, str) else value), "CAST(? AS BLOB)"
    if how == "as_text":
        if isinstance(value, bytes):
            return value.hex(), "CAST(? AS TEXT)"
        return str(value), "CAST(? AS TEXT)"
    if how == "as_real":
        return 1.5, "?"
    # "long": longer than any field the fast path builds
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return raw + b"x" * 1100, "CAST(? AS TEXT)" if isinstance(value, str) else "?"


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(COLUMNS), row=st.integers(min_value=0, max_value=100),
       how=st.sampled_from(["flip", "flip", "as_blob", "as_text", "as_real", "long"]),
       position=st.integers(min_value=0, max_value=10_000),
       flip=st.integers(min_value=1, max_value=255))
def test_damaged_vault_is_reported_as_the_reference_reports_it(
        vault: Sharelog, column: str, row: int, how: str, position: int, flip: int) -> None:
    conn = vault.vault.conn
    conn.execute("SAVEPOINT damage")
    try:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        seq = seqs[row % len(seqs)]
        value = conn.execute(f"SELECT {column} FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        changed, expression = _changed(value, how, position, flip)
        try:
            conn.execute(f"UPDATE events SET {column} = {expression} WHERE seq = ?",
                         (changed, seq))
        except DatabaseError:
            reject()  # SQLite's own constraints refuse it
        assert_same_as_reference(conn)
    finally:
        conn.execute("ROLLBACK TO damage")
        conn.execute("RELEASE damage")


@pytest.mark.parametrize("damage", [
    "DELETE FROM events WHERE seq = (SELECT min(seq) FROM events)",
    "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)",
    "DELETE FROM events WHERE seq = (SELECT min(seq) + 3 FROM events)",
    "UPDATE events SET device_seq = device_seq + 100 WHERE device_seq > 4",
    "UPDATE events SET device_seq = -device_seq WHERE device_seq % 3 = 0",
    "UPDATE events SET device_id = 'other-device' WHERE device_seq > 5 "
    "AND device_id = (SELECT value FROM meta WHERE key = 'device_id')",
    "UPDATE events SET device_id = CAST(device_id AS BLOB) WHERE device_seq = 2",
    "UPDATE events SET signature = zeroblob(64) WHERE device_seq = 6",
    "UPDATE events SET signature = zeroblob(64) "
    "WHERE device_seq = (SELECT max(device_seq) FROM events)",
    "UPDATE devices SET public_key = zeroblob(3)",
    "DELETE FROM devices",
])
def test_removed_renumbered_and_foreign_events_match_the_reference(
        vault: Sharelog, damage: str) -> None:
    conn = vault.vault.conn
    assert assert_same_as_reference(conn).ok
    conn.execute("SAVEPOINT damage")
    try:
        conn.execute(damage)
        report = assert_same_as_reference(conn)
        # Cutting the newest event off the end leaves a shorter chain that is whole, so
        # the chain shows no problem (nor does the reference's); the follow-up row still
        # says what the removed change did, and that is seen (and the tip beside the
        # vault would name it: tests/test_chain_tip.py).
        assert report.problems == [] if "max(seq)" in damage else report.problems
        assert not report.ok
    finally:
        conn.execute("ROLLBACK TO damage")
        conn.execute("RELEASE damage")
