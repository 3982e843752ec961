"""Verify that no stored event was altered, removed or reordered.

Each device's events form a chain: ``device_seq`` runs 1, 2, 3… and every event
stores ``prev_hash = chain_link(previous hash, previous signature)``. Each event's
hash covers its whole envelope (the payload through its SHA-256). So:

- recomputing every event's hash finds any changed field;
- checking every link finds a removed, inserted, reordered or re-signed event;
- verifying the Ed25519 signature at the tip of each device's chain proves the
  chain was made by that device's key, and through the links, every event on it.

``verify(..., every_signature=True)`` also checks each signature one by one
(slower; the administrator's deep check).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.events import GENESIS_HASH, chain_link, envelope_bytes, verify_signature
from db import store
from db.vault import Connection

WHAT_WORDS = {
    "altered": "a change was altered",
    "signature": "a signature does not match",
    "removed": "a change is missing",
    "reordered": "changes are out of order",
    "unknown_device": "made on a device this vault does not know",
}


@dataclass(frozen=True)
class IntegrityProblem:
    record_id: str | None
    device_id: str
    device_seq: int
    what: str  # a key of WHAT_WORDS


@dataclass
class IntegrityReport:
    events_checked: int = 0
    signatures_checked: int = 0
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
            return (f"Verified: all {self.events_checked:,} changes are intact "
                    "(nothing altered, removed or reordered).")
        return (f"Integrity problem: {len(self.records)} record(s) affected; "
                f"{len(self.problems)} problem(s) in {self.events_checked:,} changes.")


@dataclass
class _Row:
    record_id: str | None
    device_id: str
    device_seq: int
    hash: bytes
    signature: bytes
    prev_hash: bytes
    digest: bytes | None  # recomputed; None when a field cannot even be read


def _recompute(row: tuple[Any, ...]) -> _Row:
    """Recompute an event's hash from its stored bytes (text columns arrive as bytes)."""
    (_seq, event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
     device_seq, hlc, parents, schema_version, payload, prev_hash, hash_, signature) = row
    digest: bytes | None
    try:
        if type(device_seq) is not int or type(schema_version) is not int:
            raise TypeError("not an integer")
        digest = hashlib.sha256(envelope_bytes(
            event_id=event_id, entity=entity, kind=kind, record_id=record_id,
            entity_id=entity_id, team_id=team_id, author_id=author_id, device_id=device_id,
            device_seq=device_seq, hlc=hlc, parents=parents, schema_version=schema_version,
            payload=payload, prev_hash=prev_hash,
        )).digest()
    except (TypeError, AttributeError):
        digest = None
    return _Row(
        _str(record_id), _str(device_id) or "?",
        device_seq if type(device_seq) is int else -1,
        _as_bytes(hash_), _as_bytes(signature), _as_bytes(prev_hash), digest,
    )


def _str(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    return b""


def _check(rows: Iterable[tuple[Any, ...]], keys: dict[str, bytes], report: IntegrityReport,
           *, every_signature: bool) -> None:
    to_verify: list[tuple[_Row, bytes]] = []
    prev: _Row | None = None

    def close_chain(tip: _Row | None) -> None:
        if tip is not None and not every_signature and tip.digest == tip.hash:
            public = keys.get(tip.device_id)
            if public is not None:
                to_verify.append((tip, public))

    for raw in rows:
        row = _recompute(raw)
        report.events_checked += 1
        if prev is None or row.device_id != prev.device_id:
            close_chain(prev)
            prev = None
        expected_seq = prev.device_seq + 1 if prev else 1
        expected_link = chain_link(prev.hash, prev.signature) if prev else GENESIS_HASH
        problem = None
        if row.device_seq != expected_seq:
            problem = "removed" if row.device_seq > expected_seq else "reordered"
        elif row.prev_hash != expected_link:
            problem = "reordered"
            if prev is not None:
                # The link to the previous change broke: it was changed or re-signed.
                report.problems.append(
                    IntegrityProblem(prev.record_id, prev.device_id, prev.device_seq, "altered"))
        if problem:
            report.problems.append(
                IntegrityProblem(row.record_id, row.device_id, row.device_seq, problem))
        if row.digest is None or row.digest != row.hash:
            report.problems.append(
                IntegrityProblem(row.record_id, row.device_id, row.device_seq, "altered"))
        public = keys.get(row.device_id)
        if public is None:
            report.problems.append(
                IntegrityProblem(row.record_id, row.device_id, row.device_seq, "unknown_device"))
        elif every_signature and row.digest == row.hash:
            to_verify.append((row, public))
        prev = row
    close_chain(prev)
    _verify_signatures(to_verify, report)


def _verify_signatures(items: list[tuple[_Row, bytes]], report: IntegrityReport) -> None:
    # cryptography releases the GIL while verifying, so two threads use two cores.
    def check(item: tuple[_Row, bytes]) -> bool:
        row, public = item
        return verify_signature(public, row.signature, row.hash)

    if len(items) > 256:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results: Iterator[bool] = pool.map(check, items, chunksize=512)
            outcomes = list(results)
    else:
        outcomes = [check(i) for i in items]
    for (row, _), good in zip(items, outcomes, strict=True):
        report.signatures_checked += 1
        if not good:
            report.problems.append(
                IntegrityProblem(row.record_id, row.device_id, row.device_seq, "signature"))


def verify_all(conn: Connection, *, every_signature: bool = False) -> IntegrityReport:
    report = IntegrityReport()
    _check(store.events_raw_by_device(conn), store.device_keys(conn), report,
           every_signature=every_signature)
    report.problems = _unique(report.problems)
    return report


def verify_record(conn: Connection, record_id: str) -> IntegrityReport:
    """A record's own changes: each hash, each link to its predecessor, each signature."""
    report = IntegrityReport()
    keys = store.device_keys(conn)
    for raw in store.events_raw_for_record(conn, record_id):
        row = _recompute(raw)
        report.events_checked += 1
        expected = GENESIS_HASH
        if row.device_seq > 1:
            before = store.event_raw_at(conn, row.device_id, row.device_seq - 1)
            if before is None:
                report.problems.append(
                    IntegrityProblem(record_id, row.device_id, row.device_seq, "removed"))
                expected = row.prev_hash
            else:
                prev = _recompute(before)
                expected = chain_link(prev.hash, prev.signature)
        if row.prev_hash != expected:
            report.problems.append(
                IntegrityProblem(record_id, row.device_id, row.device_seq, "reordered"))
        public = keys.get(row.device_id)
        if row.digest is None or row.digest != row.hash:
            report.problems.append(
                IntegrityProblem(record_id, row.device_id, row.device_seq, "altered"))
        elif public is None:
            report.problems.append(
                IntegrityProblem(record_id, row.device_id, row.device_seq, "unknown_device"))
        else:
            report.signatures_checked += 1
            if not verify_signature(public, row.signature, row.hash):
                report.problems.append(
                    IntegrityProblem(record_id, row.device_id, row.device_seq, "signature"))
    report.problems = _unique(report.problems)
    return report


def _unique(problems: list[IntegrityProblem]) -> list[IntegrityProblem]:
    return list(dict.fromkeys(problems))
