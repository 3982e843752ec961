"""Verify that no stored event was altered, removed or reordered.

Each device's events form a chain: device_seq runs 1, 2, 3… and every event
carries the hash of the one before it. Each event's hash covers its whole
envelope (payload included) and is signed with the device's Ed25519 key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.events import GENESIS_HASH, event_hash, verify_signature
from app.projection import event_from_row
from db import store
from db.vault import Connection


@dataclass(frozen=True)
class IntegrityProblem:
    record_id: str | None
    device_id: str
    device_seq: int
    what: str  # 'altered' | 'signature' | 'removed' | 'reordered' | 'unknown_device'


@dataclass
class IntegrityReport:
    events_checked: int = 0
    problems: list[IntegrityProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def records(self) -> set[str]:
        """Records whose events were altered, removed or reordered."""
        return {p.record_id for p in self.problems if p.record_id}

    def summary(self) -> str:
        if self.ok:
            return f"All {self.events_checked:,} changes verified: nothing altered, removed or reordered."
        return (
            f"{len(self.problems)} problem(s) in {self.events_checked:,} changes; "
            f"{len(self.records)} record(s) affected."
        )


def _check_rows(rows: Iterable[tuple[Any, ...]], keys: dict[str, bytes],
                report: IntegrityReport) -> None:
    prev_device: str | None = None
    prev_seq = 0
    prev_hash = GENESIS_HASH
    prev_record: str | None = None
    for row in rows:
        report.events_checked += 1
        try:
            ev = event_from_row(row)
        except (ValueError, TypeError, UnicodeDecodeError):
            report.problems.append(IntegrityProblem(_safe_str(row[4]), _safe_str(row[8]) or "?",
                                                    _safe_int(row[9]), "altered"))
            continue
        if ev.device_id != prev_device:
            prev_device, prev_seq, prev_hash, prev_record = ev.device_id, 0, GENESIS_HASH, None
        expected_seq = prev_seq + 1
        if ev.device_seq != expected_seq:
            what = "removed" if ev.device_seq > expected_seq else "reordered"
            report.problems.append(IntegrityProblem(ev.record_id, ev.device_id, ev.device_seq, what))
            if prev_record and what == "reordered":
                report.problems.append(
                    IntegrityProblem(prev_record, ev.device_id, prev_seq, what))
        elif ev.prev_hash != prev_hash:
            # The link to the previous event is broken: it was changed, dropped or moved.
            report.problems.append(IntegrityProblem(ev.record_id, ev.device_id, ev.device_seq,
                                                    "reordered"))
            if prev_record:
                report.problems.append(IntegrityProblem(prev_record, ev.device_id, prev_seq,
                                                        "altered"))
        digest = event_hash(ev)
        public = keys.get(ev.device_id)
        if digest != ev.hash:
            report.problems.append(IntegrityProblem(ev.record_id, ev.device_id, ev.device_seq,
                                                    "altered"))
        elif public is None:
            report.problems.append(IntegrityProblem(ev.record_id, ev.device_id, ev.device_seq,
                                                    "unknown_device"))
        elif not verify_signature(public, ev.signature, ev.hash):
            report.problems.append(IntegrityProblem(ev.record_id, ev.device_id, ev.device_seq,
                                                    "signature"))
        prev_seq, prev_hash, prev_record = ev.device_seq, ev.hash, ev.record_id


def _safe_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _safe_int(value: Any) -> int:
    return value if isinstance(value, int) else -1


def verify_all(conn: Connection) -> IntegrityReport:
    report = IntegrityReport()
    _check_rows(store.events_by_device(conn), store.device_keys(conn), report)
    return report


def verify_record(conn: Connection, record_id: str) -> IntegrityReport:
    """Check one record's events, each against its chain predecessor (for the detail pane)."""
    report = IntegrityReport()
    keys = store.device_keys(conn)
    for row in store.events_for_record(conn, record_id):
        ev_device, ev_seq = row[8], row[9]
        prev = conn.execute(
            f"SELECT 0, {store.EVENT_COLUMNS} FROM events WHERE device_id = ? AND device_seq = ?",
            (ev_device, ev_seq - 1),
        ).fetchone() if isinstance(ev_seq, int) and ev_seq > 1 else None
        sub = IntegrityReport()
        if prev is not None:
            _check_rows([prev, row], keys, sub)
            # Problems that belong to the neighbour are its own record's business.
            sub.problems = [p for p in sub.problems if p.device_seq == ev_seq]
            sub.events_checked -= 1
        elif isinstance(ev_seq, int) and ev_seq > 1:
            sub.events_checked = 1
            sub.problems.append(IntegrityProblem(record_id, ev_device, ev_seq, "removed"))
        else:
            _check_rows([row], keys, sub)
        report.events_checked += sub.events_checked
        report.problems.extend(sub.problems)
    return report
