"""Where the stored projection differs from what the signed events give, and its repair.

The tables the screens read (decisions, follow-ups, the search index) are derived from
the events. An edit of those tables alone leaves every event intact, so only projecting
each record again (``app.projection.project_record``) and comparing shows it. One pass:
the events grouped by record, merged with the stored rows read in the same key order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import projection
from app.cancel import Cancelled
from app.parallel import CheckPool, worker_cancelled, worker_progress
from app.projection import (
    RecordState,
    StoredChange,
    StoredRecord,
    differences,
    loads,
    project_record,
    write_state,
)
from db import store
from db.vault import Connection, DatabaseError, open_connection_with_key

# How often (in events) a long pass reports progress and looks for a cancel.
STRIDE = 4096


@dataclass(frozen=True)
class RecordDrift:
    """A record whose stored rows differ from what its events give: which parts, no content."""

    record_id: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    state: RecordState
    stored: StoredRecord
    parts: tuple[str, ...]

    @property
    def drift(self) -> RecordDrift:
        return RecordDrift(self.state.record_id, self.parts)


Progress = Callable[[int], None]
Cancel = Callable[[], bool]


def find(conn: Connection, *, progress: Progress | None = None,
         cancelled: Cancel | None = None) -> list[Found]:
    """Every record whose stored rows differ from its projection (usually none)."""
    found, searched = scan(conn, None, None, progress=progress, cancelled=cancelled)
    return search_rows_left_over(conn, searched, found)


def scan(conn: Connection, lo: str | None, hi: str | None, *,
         progress: Progress | None = None,
         cancelled: Cancel | None = None) -> tuple[list[Found], int]:
    """The records with ids in [lo, hi) whose rows differ, and how many search rows
    their decision rows own (``search_rows_left_over`` needs the total)."""
    try:
        return _find(conn, lo, hi, progress, cancelled)
    except DatabaseError as exc:
        if "decode" not in str(exc).lower():
            raise
    # Text that is no longer UTF-8 (damage on disk): read it as it is, and compare.
    with store.tolerant_text(conn):
        return _find(conn, lo, hi, progress, cancelled)


def scan_in_worker(path: str, key: bytes, lo: str | None,
                   hi: str | None) -> tuple[list[Found], int]:
    """``scan`` in a worker process (``app.parallel``), on its own read-only connection."""
    conn = open_connection_with_key(Path(path), key)
    reported = 0

    def progress(n: int) -> None:
        nonlocal reported
        worker_progress(n - reported)
        reported = n

    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")
        found = scan(conn, lo, hi, progress=progress, cancelled=worker_cancelled)
        conn.execute("COMMIT")
        return found
    finally:
        conn.close()


def scan_in_pool(pool: CheckPool, conn: Connection, path: Path,
                 key: bytes) -> list[Future[tuple[list[Found], int]]]:
    """Start one ``scan_in_worker`` per worker, on runs of records of about equal size."""
    bounds: list[str | None] = [None, *store.record_bounds(conn, pool.workers), None]
    return [pool.submit(scan_in_worker, str(path), key, lo, hi)
            for lo, hi in zip(bounds, bounds[1:], strict=False)]


def _key(value: Any) -> tuple[int, Any]:
    """SQLite's order of stored values (NULL, numbers, text by its bytes, blobs)."""
    if isinstance(value, str):
        return 2, value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        return 3, value
    if value is None:
        return 0, 0
    return 1, value


_END = (9, b"")


def _find(conn: Connection, lo: str | None, hi: str | None, progress: Progress | None,
          cancelled: Cancel | None) -> tuple[list[Found], int]:
    events = _change_groups(store.changes_by_record(conn, lo, hi), progress, cancelled)
    decisions = store.decisions_with_search(conn, lo, hi)
    followups = _followup_groups(store.followups_by_record(conn, lo, hi))
    found: list[Found] = []
    searched = 0  # decision rows that have their search row

    ev = next(events, None)
    dec = next(decisions, None)
    fus = next(followups, None)
    while ev is not None or dec is not None or fus is not None:
        ev_key = _key(ev[0]) if ev is not None else _END
        dec_key = _key(dec[1][0]) if dec is not None else _END
        fu_key = _key(fus[0]) if fus is not None else _END
        key = min(ev_key, dec_key, fu_key)
        record_events: list[StoredChange] = []
        unreadable: list[str] = []
        stored = StoredRecord()
        record_id: Any = None
        if ev is not None and ev_key == key:
            record_id, record_events, unreadable = ev
            ev = next(events, None)
        if dec is not None and dec_key == key:
            stored.rowid, stored.decision, search = dec
            record_id = stored.decision[0]
            if search is not None:
                stored.search_rows = [tuple(search)]
                searched += 1
            dec = next(decisions, None)
        if fus is not None and fu_key == key:
            record_id = fus[0]
            stored.followups = {r[0]: r for r in fus[1]}
            fus = next(followups, None)
        _compare(record_id, record_events, unreadable, stored, found)
    return found, searched


def search_rows_left_over(conn: Connection, searched: int,
                          found: list[Found]) -> list[Found]:
    """``found`` with the search rows no decision row owns (there are some when the index
    holds more rows than the ``searched`` decision rows own): each is drift of the
    record it names, which is added, or compared again with them."""
    if store.fts_count(conn) == searched:
        return found
    by_record: dict[Any, list[tuple[Any, ...]]] = {}
    for row in store.fts_orphans(conn):
        by_record.setdefault(row[1], []).append(tuple(row))
    out: list[Found] = []
    for item in found:
        extra = by_record.pop(item.state.record_id, None)
        if extra:
            item.stored.search_rows += extra
            out.append(Found(item.state, item.stored, differences(item.state, item.stored)))
        else:
            out.append(item)
    for record_id, rows in by_record.items():
        name = record_id if isinstance(record_id, str) else _text(record_id)
        stored = StoredRecord()
        if isinstance(record_id, str):
            with contextlib.suppress(DatabaseError):
                stored = projection.read_stored(conn, record_id)
        stored.search_rows += rows
        _compare(name, [], [], stored, out, events_of=conn)
    return out


def _compare(record_id: Any, events: list[StoredChange], unreadable: list[str],
             stored: StoredRecord, found: list[Found], events_of: Connection | None = None
             ) -> None:
    if events_of is not None and isinstance(record_id, str):
        events = [_change(r) for r in store.changes_for_record(events_of, record_id)]
    state = project_record(events)
    name = record_id if isinstance(record_id, str) else _text(record_id)
    if state.record_id != name or unreadable:
        state = RecordState(name, state.decision, state.followups,
                            state.unapplied + tuple(unreadable))
    parts = differences(state, stored)
    if parts:
        found.append(Found(state, stored, parts))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _change_groups(rows: Iterator[tuple[Any, ...]], progress: Progress | None,
                   cancelled: Cancel | None
                   ) -> Iterator[tuple[Any, list[StoredChange], list[str]]]:
    """(record id, its changes, ids of rows that are not readable events), by record."""
    current: Any = None
    changes: list[StoredChange] = []
    unreadable: list[str] = []
    started = False
    for n, row in enumerate(rows, 1):
        if not n % STRIDE:
            if cancelled is not None and cancelled():
                raise Cancelled()
            if progress is not None:
                progress(n)
        record_id = row[3]
        if not started or record_id != current:
            if started:
                yield current, changes, unreadable
            current, changes, unreadable, started = record_id, [], [], True
        try:
            changes.append(_change(row))
        except (TypeError, ValueError, AttributeError):
            unreadable.append(_text(row[0]))
    if started:
        yield current, changes, unreadable


def _change(row: tuple[Any, ...]) -> StoredChange:
    """A row of CHANGE_COLUMNS as a change (refusing what damage made unreadable)."""
    event_id, parents, payload = row[0], row[8], row[9]
    if parents == "[]":
        parent_ids: tuple[str, ...] = ()
    elif (len(parents) == 40 and parents[:2] == '["' and parents[-2:] == '"]'
          and parents[2:-2].replace("-", "").isalnum() and parents.isascii()):
        parent_ids = (parents[2:-2],)  # one id: what json.loads would give, at once
    else:
        listed = loads(parents)
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            raise ValueError("not a list of ids")
        parent_ids = tuple(listed)
    if type(event_id) is not str or type(payload) is not bytes:
        raise TypeError("not an event")
    return StoredChange(event_id, row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                        parent_ids, payload, row[10], row[11], row[12], row[13])


def _followup_groups(rows: Iterator[tuple[Any, ...]]
                     ) -> Iterator[tuple[Any, list[tuple[Any, ...]]]]:
    current: Any = None
    group: list[tuple[Any, ...]] = []
    for row in rows:
        if group and row[1] != current:
            yield current, group
            group = []
        current = row[1]
        group.append(row)
    if group:
        yield current, group


# -- repair ----------------------------------------------------------------------------------
@dataclass
class RebuildReport:
    """What a rebuild changed: which records, which parts of each (never their content)."""

    events: int = 0
    records: int = 0
    repaired: list[RecordDrift] = field(default_factory=list)

    def summary(self) -> str:
        if not self.repaired:
            return (f"Nothing needed repair: every one of the {self.records:,} records matches "
                    f"its {self.events:,} signed changes.")
        n = len(self.repaired)
        return (f"Repaired {n:,} record{'s' if n != 1 else ''} from the signed changes "
                f"({_parts_words(self.repaired)}).")


def _parts_words(drifts: list[RecordDrift]) -> str:
    counts: dict[str, int] = {}
    for d in drifts:
        for part in d.parts:
            counts[part] = counts.get(part, 0) + 1
    return ", ".join(f"{part}: {n:,}" for part, n in counts.items())


def rebuild(conn: Connection, *, progress: Progress | None = None,
            cancelled: Cancel | None = None) -> RebuildReport:
    """Make every record's stored rows what its events give, inside the caller's transaction."""
    report = RebuildReport()
    for item in find(conn, progress=progress, cancelled=cancelled):
        write_state(conn, item.state, item.stored)
        report.repaired.append(item.drift)
    report.events = store.event_count(conn)
    report.records = store.decision_count(conn)
    return report
