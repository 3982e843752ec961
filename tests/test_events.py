"""Events: rebuilding from events equals the live state; any altered byte is detected."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from app import session
from app.events import MAX_CLOCK_PULL_MS, HybridLogicalClock, uuid7
from app.model import Counterparty, Subject
from app.service import Sharelog
from db import store
from db.vault import DatabaseError
from tests.conftest import PASSPHRASE, make_request_made, make_share

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "create_request", "correct", "withdraw", "done", "cancel",
                         "reschedule"]),
        st.integers(min_value=0, max_value=50),
        st.text(alphabet="abcdefghij éü", min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=25,
)


def apply_ops(svc: Sharelog, ops: list[tuple[str, int, str]]) -> None:
    records: list[str] = []
    for op, pick, text in ops:
        opened = [f.followup_id for f in svc.my_followups()]
        active = [r for r in records if svc.get_decision(r).status == "active"]
        if op == "create" or not records:
            records.append(svc.record_decision(make_share(
                subjects=[Subject(name=f"Child {text}", case_ref=f"C{pick}", kind="child")],
                counterparty=Counterparty(name=f"Agency {pick % 3}"))))
        elif op == "create_request":
            records.append(svc.record_decision(make_request_made(reasons=f"ask {text}")))
        elif op == "correct" and active:
            svc.correct_decision(active[pick % len(active)], make_share(reasons=f"fix {text}"),
                                 f"typo {text}",
                                     parents=svc.get_decision(active[pick % len(active)]).heads)
        elif op == "withdraw" and active:
            svc.withdraw_decision(active[pick % len(active)], f"error {text}",
                                  parents=svc.get_decision(active[pick % len(active)]).heads)
        elif op == "done" and opened:
            svc.complete_followup(opened[pick % len(opened)], f"done {text}",
                                  parents=svc.get_followup(opened[pick % len(opened)]).heads)
        elif op == "cancel" and opened:
            svc.cancel_followup(opened[pick % len(opened)], f"no longer needed {text}",
                                parents=svc.get_followup(opened[pick % len(opened)]).heads)
        elif op == "reschedule" and opened:
            svc.reschedule_followup(opened[pick % len(opened)],
                                    dt.date(2027, 1, 1) + dt.timedelta(days=pick),
                                        parents=svc.get_followup(opened[pick % len(opened)]).heads)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_rebuilding_from_events_equals_the_incremental_state(ops: list[tuple[str, int, str]],
                                                             tmp_path_factory: Any) -> None:
    home = tmp_path_factory.mktemp("rebuild")
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    try:
        apply_ops(svc, ops)
        before = store.projection_snapshot(svc.vault.conn)
        events = store.event_count(svc.vault.conn)
        # Each save's one step on the stored state is what projecting the record's whole
        # set of events gives: nothing to repair.
        assert svc.rebuild_projection().repaired == []
        # And from nothing, every record comes back as it was.
        with svc.vault.transaction() as conn:
            store.projection_clear(conn)
        rebuilt = svc.rebuild_projection()
        assert rebuilt.events == events
        assert len(rebuilt.repaired) == len(before["decisions"])
        assert store.projection_snapshot(svc.vault.conn) == before
        assert svc.pending_sync_count() == events  # every change is queued for sync
        assert svc.verify_integrity().ok
        assert svc.verify_integrity(every_signature=True).ok
    finally:
        svc.lock()


# The stored columns of an event (seq is only its local arrival position).
COLUMNS = ["event_id", "entity", "kind", "record_id", "entity_id", "team_id", "author_id",
           "device_id", "device_seq", "hlc", "parents", "schema_version", "payload",
           "prev_hash", "hash", "signature", "owner_id", "assignee_id"]


@pytest.fixture(scope="module")
def tamper_service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("tamper")
    svc = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    ids = [svc.record_decision(make_share(reasons=f"reason {i}")) for i in range(4)]
    svc.correct_decision(ids[1], make_share(reasons="fixed"), "typo",
                         parents=svc.get_decision(ids[1]).heads)
    fu = svc.get_decision(ids[2]).followups[0].followup_id
    svc.complete_followup(fu, "confirmed", parents=svc.get_followup(fu).heads)
    # Tampering happens on disk, beneath SQLite's constraints.
    svc.vault.conn.execute("PRAGMA foreign_keys = OFF")
    yield svc
    svc.lock()


def _mutate(value: Any, position: int, flip: int) -> Any:
    if isinstance(value, int):
        raw = str(value).encode()
        i = position % len(raw)
        new = raw[:i] + bytes([(raw[i] - 48 + flip) % 10 + 48]) + raw[i + 1:]
        return int(new) if new != raw else value + 1
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    if not raw:  # an empty field (a decision event's assignee): it gains a byte
        return bytes([flip])
    i = position % len(raw)
    return raw[:i] + bytes([raw[i] ^ flip]) + raw[i + 1:]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(COLUMNS), row=st.integers(min_value=0, max_value=100),
       position=st.integers(min_value=0, max_value=10_000),
       flip=st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_to_a_stored_event_is_detected(
        tamper_service: Sharelog, column: str, row: int, position: int, flip: int) -> None:
    conn = tamper_service.vault.conn
    assert tamper_service.verify_integrity().ok
    conn.execute("SAVEPOINT tamper")
    try:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        seq = seqs[row % len(seqs)]
        value, record_id = conn.execute(
            f"SELECT {column}, record_id FROM events WHERE seq = ?", (seq,)).fetchone()
        changed = _mutate(value, position, flip)
        # Keep the column's type: changed text goes back as TEXT (it may no longer be
        # valid UTF-8, as after damage on disk).
        cast = "CAST(? AS TEXT)" if isinstance(value, str) else "?"
        try:
            conn.execute(f"UPDATE events SET {column} = {cast} WHERE seq = ?", (changed, seq))
        except DatabaseError:
            reject()  # a duplicate id or chain position: SQLite itself refuses to store it
        report = tamper_service.verify_integrity()
        assert not report.ok
        # The damaged record is named (unless its own id is what was damaged).
        if column != "record_id":
            assert record_id in report.records
        assert "record(s) affected" in report.summary()
    finally:
        conn.execute("ROLLBACK TO tamper")
        conn.execute("RELEASE tamper")


def test_removed_and_reordered_events_are_named(service: Sharelog) -> None:
    a = service.record_decision(make_share(reasons="a"))
    b = service.record_decision(make_share(reasons="b"))
    c = service.record_decision(make_share(reasons="c"))
    conn = service.vault.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # tampering happens on disk, beneath SQLite
    assert service.verify_integrity().ok
    # Remove b's creation: the chain shows a gap right after a's follow-up.
    conn.execute("DELETE FROM events WHERE record_id = ? AND kind = 'decision.create'", (b,))
    report = service.verify_integrity()
    assert not report.ok and b in report.records
    assert any(p.what == "removed" for p in report.problems)
    assert not service.verify_record(b).ok or not service.verify_record(c).ok
    assert service.verify_record(a).ok


def test_swapped_events_are_reported_reordered(service: Sharelog) -> None:
    a = service.record_decision(make_share(reasons="a"))
    b = service.record_decision(make_share(reasons="b"))
    conn = service.vault.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    rows = conn.execute("SELECT seq, device_seq FROM events WHERE kind = 'decision.create' "
                        "ORDER BY seq").fetchall()
    (s1, d1), (s2, d2) = rows
    conn.execute("UPDATE events SET device_seq = -1 WHERE seq = ?", (s1,))
    conn.execute("UPDATE events SET device_seq = ? WHERE seq = ?", (d1, s2))
    conn.execute("UPDATE events SET device_seq = ? WHERE seq = ?", (d2, s1))
    report = service.verify_integrity()
    assert {a, b} <= report.records
    assert not service.verify_record(a).ok and not service.verify_record(b).ok


def test_uuid7_is_time_ordered_and_unique() -> None:
    ids = [uuid7() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids)
    stamps = [uuid.UUID(i).int >> 80 for i in ids]
    assert stamps == sorted(stamps)


def test_hybrid_logical_clock_never_goes_backwards() -> None:
    wall = [1_800_000_000_000]
    clock = HybridLogicalClock("dev", wall=lambda: wall[0])
    ahead = f"{wall[0] + 60_000:013d}-00003-other"  # a device a minute ahead
    assert clock.observe(ahead)
    stamps = [clock.now() for _ in range(100)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 100
    assert stamps[0] > ahead.rsplit("-", 1)[0]
    wall[0] -= 3_600_000  # this device's own clock is set back an hour
    assert clock.now() > stamps[-1]


def test_a_stamp_from_next_year_pulls_the_clock_only_so_far() -> None:
    wall = [1_800_000_000_000]
    clock = HybridLogicalClock("dev", wall=lambda: wall[0])
    next_year = f"{wall[0] + 365 * 86_400_000:013d}-00000-other"
    assert not clock.observe(next_year)
    stamp = clock.now()
    assert stamp < next_year
    assert HybridLogicalClock.parse(stamp)[0] - wall[0] <= MAX_CLOCK_PULL_MS


def test_a_signature_is_checked_whole_and_only_against_its_own_key() -> None:
    """The checks every pulled and pushed event goes through (libsodium)."""
    from app.events import DeviceKey, signature_verifier, verify_signature

    key, other = DeviceKey.generate(), DeviceKey.generate()
    data = bytes(range(32))
    signature = key.sign(data)
    assert verify_signature(key.public_bytes, signature, data)
    assert signature_verifier(key.public_bytes)(signature, data)
    assert not verify_signature(other.public_bytes, signature, data)
    assert not verify_signature(key.public_bytes, signature, data[:-1] + b"\x00")
    assert not verify_signature(key.public_bytes, bytes(64), data)
    assert not verify_signature(key.public_bytes[:31], signature, data)
    assert not signature_verifier(b"")(signature, data)
    # One byte moved from the end of the signature to the front of the data makes the
    # same bytes in a row: accepted, it would be a signature of 63 bytes over 33.
    assert not verify_signature(key.public_bytes, signature[:63], signature[63:] + data)
