"""Verify that no stored event was altered, removed or reordered.

Each device's events form a chain: ``device_seq`` runs 1, 2, 3… and every event
stores ``prev_hash = chain_link(previous hash, previous signature)``. Each event's
hash covers its whole envelope (the payload through its SHA-256). So:

- recomputing every event's hash finds any changed field;
- checking every link finds a removed, inserted, reordered or re-signed event;
- verifying the Ed25519 signature at the tip of each device's chain proves the
  chain was made by that device's key, and through the links, every event on it.

``verify(..., every_signature=True)`` also checks each signature one by one
(slower; the administrator's deep check), on every core (``app.signatures``).

Two more things are checked, because an intact chain can still hide a fault:

- the end of this laptop's chain against the tip kept beside the vault
  (``app.tip``): changes removed from the end of a chain leave a shorter chain
  that is intact, and only the tip knows it was longer;
- what the screens show against what the events give (``app.drift``): every record's
  decision row, follow-ups and search-index row are projected again from its signed
  events and compared, so an edit of those tables alone is seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app import drift, tip
from app.cancel import Cancelled
from app.drift import RecordDrift
from app.envelope import ENVELOPE_TAG_V2
from app.events import (
    CHAIN_TAG,
    ENVELOPE_TAG,
    GENESIS_HASH,
    chain_link,
    envelope_bytes,
    signature_verifier,
    verify_signature,
)
from app.parallel import CheckPool, worker_count
from app.projection import PARTS, differences, event_from_row, project_record, read_stored
from app.signatures import PARALLEL_MIN, SignatureQueue
from app.tip import ChainTip, MissingChanges
from db import store
from db.vault import Connection, DatabaseError

WHAT_WORDS = {
    "altered": "a change was altered",
    "signature": "a signature does not match",
    "removed": "a change is missing",
    "reordered": "changes are out of order",
    "unknown_device": "made on a device this vault does not know",
    "shown": "what is shown differs from its signed changes",
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
    # Records whose stored rows (what the screens show) differ from their signed events.
    drift: list[RecordDrift] = field(default_factory=list)
    # Changes this laptop made that the vault no longer holds, as the tip beside it says.
    missing: list[MissingChanges] = field(default_factory=list)
    # Losses found earlier and accepted (or left behind by a restore): said, not failed.
    noted_losses: list[MissingChanges] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.drift and not self.missing

    @property
    def chain_ok(self) -> bool:
        """The signed events themselves are whole (what a rebuild works from)."""
        return not self.problems and not self.missing

    @property
    def records(self) -> set[str]:
        """Records whose events were altered, removed or reordered, or whose rows drifted."""
        named = {p.record_id for p in self.problems if p.record_id}
        return named | {d.record_id for d in self.drift}

    def summary(self) -> str:
        lost = " ".join(
            "Noted earlier: " + m.words() for m in self.noted_losses)
        if self.ok:
            text = (f"Verified: all {self.events_checked:,} changes are intact "
                    "(nothing altered, removed or reordered), and every record matches them.")
            return f"{text} {lost}" if lost else text
        parts: list[str] = []
        if self.problems or self.drift:
            parts.append(f"Integrity problem: {len(self.records)} record(s) affected; "
                         f"{len(self.problems)} problem(s) in {self.events_checked:,} changes.")
        else:
            parts.append("Integrity problem:")
        parts.extend(m.words() for m in self.missing)
        if self.drift:
            n = len(self.drift)
            parts.append(f"{n:,} record{'s' if n != 1 else ''} shown "
                         f"{'differ from their' if n != 1 else 'differs from its'} signed "
                         f"changes ({drift_words(self.drift)}).")
        if lost:
            parts.append(lost)
        return " ".join(parts)


def drift_words(drifts: list[RecordDrift]) -> str:
    counts = {part: sum(part in d.parts for d in drifts) for part in PARTS}
    return ", ".join(f"{part}: {n:,}" for part, n in counts.items() if n)


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
     device_seq, hlc, parents, schema_version, payload, prev_hash, hash_, signature,
     owner_id, assignee_id) = row
    digest: bytes | None
    try:
        if type(device_seq) is not int or type(schema_version) is not int:
            raise TypeError("not an integer")
        if schema_version == 1:
            envelope = envelope_bytes(
                event_id=event_id, entity=entity, kind=kind, record_id=record_id,
                entity_id=entity_id, team_id=team_id, author_id=author_id,
                device_id=device_id, device_seq=device_seq, hlc=hlc, parents=parents,
                schema_version=schema_version, payload=payload, prev_hash=prev_hash)
        elif schema_version == 2:
            envelope = ENVELOPE_TAG_V2 + b"".join(_field(v) for v in (
                event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
                str(device_seq), hlc, parents, str(schema_version), owner_id, assignee_id,
                str(len(payload)), hashlib.sha256(payload).digest(), prev_hash))
        else:
            raise TypeError("an envelope this Sharelog does not know")
        digest = hashlib.sha256(envelope).digest()
    except (TypeError, AttributeError):
        digest = None
    return _Row(
        _str(record_id), _str(device_id) or "?",
        device_seq if type(device_seq) is int else -1,
        _as_bytes(hash_), _as_bytes(signature), _as_bytes(prev_hash), digest,
    )


def _field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return len(raw).to_bytes(4, "big") + raw


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


# Length prefixes of the envelope's fields, by length (fields longer than this take the
# general path, as does any row whose columns are not the bytes and integers they should be).
_LENGTH_PREFIX = tuple(n.to_bytes(4, "big") for n in range(1024))
_DIGEST_PREFIX = (32).to_bytes(4, "big")


def _check(rows: Iterable[tuple[Any, ...]], keys: dict[str, bytes], report: IntegrityReport,
           *, every_signature: bool, queue: SignatureQueue, own_device: str | None = None,
           step: Callable[[int], None] | None = None) -> None:
    """One pass over every event in (device, device_seq) order.

    The loop is written flat, on local names, because it runs once per event: it builds
    the envelope (v1 or v2) exactly as ``envelope_bytes`` does, but in one join. A row
    that does not fit that shape (a column of the wrong type, an over-long field) goes
    through ``_recompute`` instead, which handles anything.

    This vault's own chain must be whole from its first event. Another device's chain
    may be held in part (a practitioner's device receives only the records it may see):
    each run of consecutive events is proved by its links and the signature at its end,
    and a gap between runs is not a problem of this vault (the team's store, which holds
    every chain, confirms them).
    """
    problems = report.problems
    signature_problems: list[IntegrityProblem] = []
    sha256 = hashlib.sha256
    join = b"".join
    length = _LENGTH_PREFIX
    tag, tag2, digest_prefix, chain_tag = ENVELOPE_TAG, ENVELOPE_TAG_V2, _DIGEST_PREFIX, CHAIN_TAG
    checked = 0
    signatures = 0

    # The previous event on the current run of a chain (device), or none at a run's start.
    in_chain = False
    raw_device: Any = object()
    device = ""
    foreign = False
    public: bytes | None = None
    verify: Callable[[bytes, bytes], bool] | None = None
    prev_seq = 0
    prev_record: Any = None
    prev_link = GENESIS_HASH
    tip: tuple[Any, int, bytes, bytes] | None = None  # record, seq, hash, signature if whole

    def problem(record: Any, seq: int, what: str) -> IntegrityProblem:
        return IntegrityProblem(_str(record), device, seq, what)

    def close_chain() -> None:
        nonlocal signatures
        if tip is not None and not every_signature and verify is not None:
            signatures += 1
            if not verify(tip[3], tip[2]):
                signature_problems.append(problem(tip[0], tip[1], "signature"))

    for row in rows:
        (_seq, event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
         device_seq, hlc, parents, schema_version, payload, prev_hash, hash_, signature,
         owner_id, assignee_id) = row
        checked += 1
        if step is not None and not checked & 4095:
            step(checked)
        try:
            if type(device_seq) is not int or type(schema_version) is not int:
                raise TypeError("not an integer")
            seq_text = b"%d" % device_seq
            if schema_version == 1:
                digest: bytes | None = sha256(join((
                    tag,
                    length[len(event_id)], event_id, length[len(entity)], entity,
                    length[len(kind)], kind, length[len(record_id)], record_id,
                    length[len(entity_id)], entity_id, length[len(team_id)], team_id,
                    length[len(author_id)], author_id, length[len(device_id)], device_id,
                    length[len(seq_text)], seq_text, length[len(hlc)], hlc,
                    length[len(parents)], parents, length[1], b"1",
                    digest_prefix, sha256(payload).digest(), length[len(prev_hash)],
                    prev_hash,
                ))).digest()
            elif schema_version == 2:
                size_text = b"%d" % len(payload)
                digest = sha256(join((
                    tag2,
                    length[len(event_id)], event_id, length[len(entity)], entity,
                    length[len(kind)], kind, length[len(record_id)], record_id,
                    length[len(entity_id)], entity_id, length[len(team_id)], team_id,
                    length[len(author_id)], author_id, length[len(device_id)], device_id,
                    length[len(seq_text)], seq_text, length[len(hlc)], hlc,
                    length[len(parents)], parents, length[1], b"2",
                    length[len(owner_id)], owner_id, length[len(assignee_id)], assignee_id,
                    length[len(size_text)], size_text,
                    digest_prefix, sha256(payload).digest(), length[len(prev_hash)],
                    prev_hash,
                ))).digest()
            else:
                raise TypeError("an envelope this Sharelog does not know")
            link = sha256(join((chain_tag, hash_, signature))).digest()
        except (TypeError, IndexError):
            # Not the shape a stored event has: take the general path.
            general = _recompute(row)
            digest, device_seq = general.digest, general.device_seq
            hash_, signature, prev_hash = general.hash, general.signature, general.prev_hash
            link = chain_link(hash_, signature)

        if device_id != raw_device:
            name = _str(device_id) or "?"
            raw_device = device_id
            if not in_chain or name != device:
                close_chain()
                in_chain, tip = False, None
                device = name
                foreign = own_device is not None and name != own_device
                public = keys.get(name)
                verify = None if public is None else signature_verifier(public)

        if in_chain and foreign and device_seq > prev_seq + 1:
            # Another device's chain, held in part: a new run starts here.
            close_chain()
            in_chain, tip = False, None
        if in_chain:
            if device_seq != prev_seq + 1:
                problems.append(problem(
                    record_id, device_seq,
                    "removed" if device_seq > prev_seq + 1 else "reordered"))
            elif prev_hash != prev_link:
                # The link to the previous change broke: it was changed or re-signed.
                problems.append(problem(prev_record, prev_seq, "altered"))
                problems.append(problem(record_id, device_seq, "reordered"))
        elif foreign and device_seq > 1:
            pass  # a run of another device's chain: its end's signature proves it
        elif device_seq != 1:
            problems.append(problem(
                record_id, device_seq, "removed" if device_seq > 1 else "reordered"))
        elif prev_hash != GENESIS_HASH:
            problems.append(problem(record_id, device_seq, "reordered"))

        whole = digest is not None and digest == hash_
        if not whole:
            problems.append(problem(record_id, device_seq, "altered"))
        if verify is None:
            problems.append(problem(record_id, device_seq, "unknown_device"))
        elif every_signature and whole:
            signatures += 1
            assert public is not None
            queue.add(public, signature, hash_, (record_id, device, device_seq))

        in_chain = True
        prev_seq, prev_record, prev_link = device_seq, record_id, link
        tip = (record_id, device_seq, hash_, signature) if whole else None
    close_chain()

    report.events_checked += checked
    report.signatures_checked += signatures
    problems.extend(signature_problems)


def report_signatures(failed: list[Any], problems: list[IntegrityProblem]) -> None:
    problems.extend(IntegrityProblem(_str(record), device, seq, "signature")
                    for record, device, seq in failed)


Progress = Callable[[int, int], None]  # (done, total) in units of work (events, signatures)


def verify_all(conn: Connection, *, every_signature: bool = False,
               tip_seen: ChainTip | None = None, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None, workers: int | None = None,
               vault_path: Path | None = None, vault_key: bytes | None = None
               ) -> IntegrityReport:
    """Check every event, the chain's end against ``tip_seen``, and every record's rows.

    ``progress(done, total)`` is called every few thousand events; once ``cancelled()``
    turns true the check stops with ``Cancelled``. With ``workers`` > 1 (by default
    every core, once the vault is large) worker processes share the work: the deep
    check's signatures, and, given the vault's path and key, the records' comparison,
    while this process walks the chains.
    """
    report = IntegrityReport()
    events = store.event_span(conn)
    total = events * (3 if every_signature else 2)
    if workers is None:
        workers = worker_count() if events >= PARALLEL_MIN else 1
    pool = CheckPool(workers) if workers > 1 else None
    local = 0  # units of work done in this process (the workers count theirs in the pool)

    def step(n: int) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()
        if progress is not None:
            progress(min(local + n + (pool.done if pool else 0), total), total)

    try:
        step(0)  # a check cancelled before it began does not begin
        scans = None
        if pool is not None and vault_path is not None and vault_key is not None:
            scans = drift.scan_in_pool(pool, conn, vault_path, vault_key)
        queue = SignatureQueue(pool if every_signature else None)
        _check(store.events_raw_by_device(conn), store.device_keys(conn), report,
               every_signature=every_signature, queue=queue, step=step,
               own_device=_own_device(conn))
        local = events
        step(0)
        if scans is None:
            found = drift.find(conn, progress=step, cancelled=cancelled)
            local += events
        else:
            found = _collect(scans, conn, step)
        report.drift = [f.drift for f in found]
        report_signatures(queue.failed(progress=step, cancelled=cancelled), report.problems)
    except BaseException:
        if pool is not None:
            pool.close(cancel=True)
        raise
    if pool is not None:
        pool.close()
    report.problems = _unique(report.problems)
    missing = tip.compare(conn, tip_seen)
    report.missing = [missing] if missing is not None else []
    report.noted_losses = noted_losses(conn)
    if progress is not None:
        progress(total, total)
    return report


def _collect(scans: list[Future[tuple[list[drift.Found], int]]], conn: Connection,
             step: Callable[[int], None]) -> list[drift.Found]:
    """The workers' findings, waiting with progress and cancel; then the search rows no
    decision row owns (their count needs every run)."""
    pending = set(scans)
    while pending:
        step(0)
        _done, pending = wait(pending, timeout=0.2)
    found: list[drift.Found] = []
    searched = 0
    for future in scans:
        part, owned = future.result()
        found += part
        searched += owned
    return drift.search_rows_left_over(conn, searched, found)


def noted_losses(conn: Connection) -> list[MissingChanges]:
    raw = store.meta_get(conn, LOST_CHANGES_KEY)
    if not raw:
        return []
    try:
        notes = json.loads(raw)
    except ValueError:
        return []
    return [MissingChanges.from_note(n) for n in notes if isinstance(n, dict)]


def note_loss(conn: Connection, missing: MissingChanges, noted_ms: int, how: str) -> None:
    """Remember in the vault that these changes were found missing (counts and times)."""
    notes: list[dict[str, Any]] = []
    raw = store.meta_get(conn, LOST_CHANGES_KEY)
    if raw:
        try:
            notes = [n for n in json.loads(raw) if isinstance(n, dict)]
        except ValueError:
            notes = []
    notes.append(missing.to_note(noted_ms, how))
    store.meta_set(conn, LOST_CHANGES_KEY, json.dumps(notes, sort_keys=True))


def unresolved_loss(conn: Connection) -> MissingChanges | None:
    """Changes found missing on opening that nobody has decided about yet."""
    raw = store.meta_get(conn, UNRESOLVED_LOSS_KEY)
    if not raw:
        return None
    try:
        note = json.loads(raw)
    except ValueError:
        return None
    return MissingChanges.from_note(note) if isinstance(note, dict) else None


def set_unresolved_loss(conn: Connection, missing: MissingChanges | None) -> None:
    if missing is None:
        store.meta_delete(conn, UNRESOLVED_LOSS_KEY)
    else:
        store.meta_set(conn, UNRESOLVED_LOSS_KEY,
                       json.dumps(missing.to_note(0, "found"), sort_keys=True))


LOST_CHANGES_KEY = "lost_changes"
UNRESOLVED_LOSS_KEY = "unresolved_loss"


def _own_device(conn: Connection) -> str | None:
    value = store.meta_get(conn, "device_id")
    return str(value) if value is not None else None


def verify_record(conn: Connection, record_id: str) -> IntegrityReport:
    """A record's own changes: each hash, each link to its predecessor, each signature.

    A change from another device whose predecessor this vault does not hold (a chain held
    in part, by design) is proved by its own signature; only this device's chain must be
    whole.
    """
    report = IntegrityReport()
    keys = store.device_keys(conn)
    own = _own_device(conn)
    for raw in store.events_raw_for_record(conn, record_id):
        row = _recompute(raw)
        report.events_checked += 1
        expected = GENESIS_HASH
        if row.device_seq > 1:
            before = store.event_raw_at(conn, row.device_id, row.device_seq - 1)
            if before is None:
                if row.device_id == own:
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
    try:
        found = _record_drift(conn, record_id)
    except DatabaseError as exc:
        if "decode" not in str(exc).lower():
            raise
        with store.tolerant_text(conn):
            found = _record_drift(conn, record_id)
    if found is not None:
        report.drift.append(found)
    return report


def _record_drift(conn: Connection, record_id: str) -> RecordDrift | None:
    """Whether the record's rows are what its events give (the detail pane's verdict)."""
    events = []
    for row in store.events_for_record(conn, record_id):
        try:
            events.append(event_from_row(row))
        except (TypeError, ValueError):
            continue  # an unreadable event: the chain check above names it
    state = replace(project_record(events), record_id=record_id)
    parts = differences(state, read_stored(conn, record_id))
    return RecordDrift(record_id, parts) if parts else None


def _unique(problems: list[IntegrityProblem]) -> list[IntegrityProblem]:
    return list(dict.fromkeys(problems))
