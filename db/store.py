"""Every SQL statement the client runs against the vault lives here."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from db.vault import Connection

EVENT_COLUMNS = (
    "event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id, device_seq, "
    "hlc, parents, schema_version, payload, prev_hash, hash, signature, owner_id, assignee_id"
)
_EVENT_PARENTS = EVENT_COLUMNS.replace(" ", "").split(",").index("parents")


# -- meta -----------------------------------------------------------------
def meta_get(conn: Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def meta_set(conn: Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def meta_delete(conn: Connection, key: str) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (key,))


def meta_all(conn: Connection) -> dict[str, Any]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


# -- devices --------------------------------------------------------------
def device_put(conn: Connection, device_id: str, user_id: str, public_key: bytes,
               pinned_at: str = "") -> None:
    """Pin a device's key (a key already pinned for the device is kept as it is)."""
    conn.execute(
        "INSERT OR IGNORE INTO devices (device_id, user_id, public_key, pinned_at) "
        "VALUES (?, ?, ?, ?)",
        (device_id, user_id, public_key, pinned_at),
    )


def device_keys(conn: Connection) -> dict[str, bytes]:
    return {r[0]: bytes(r[1]) for r in conn.execute("SELECT device_id, public_key FROM devices")}


# -- events ---------------------------------------------------------------
def event_insert(conn: Connection, row: tuple[Any, ...], *, outbox: bool,
                 store_seq: int | None = None) -> None:
    """One event (``row`` in EVENT_COLUMNS order); queued for the store when ``outbox``."""
    conn.execute(
        f"INSERT INTO events ({EVENT_COLUMNS}, store_seq) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (*row, store_seq)
    )
    if outbox:
        conn.execute("INSERT INTO outbox (event_id) VALUES (?)", (row[0],))


def event_exists(conn: Connection, event_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone()
    return row is not None


def event_hash_of(conn: Connection, event_id: str) -> bytes | None:
    """The hash of a held event (None: not held)."""
    row = conn.execute("SELECT hash FROM events WHERE event_id = ?", (event_id,)).fetchone()
    return None if row is None else bytes(row[0])


def event_hashes(conn: Connection, event_ids: list[str]) -> dict[str, bytes]:
    """event id -> hash of those of ``event_ids`` the vault holds."""
    found: dict[str, bytes] = {}
    for i in range(0, len(event_ids), 500):
        part = event_ids[i:i + 500]
        marks = ",".join("?" for _ in part)
        found.update((r[0], bytes(r[1])) for r in conn.execute(
            f"SELECT event_id, hash FROM events WHERE event_id IN ({marks})", part))
    return found


def event_link_at(conn: Connection, device_id: str, device_seq: int
                  ) -> tuple[str, bytes, bytes, bytes] | None:
    """(event id, hash, signature, prev_hash) of the event at a place in a device's chain."""
    row = conn.execute(
        "SELECT event_id, hash, signature, prev_hash FROM events "
        "WHERE device_id = ? AND device_seq = ?", (device_id, device_seq)).fetchone()
    return None if row is None else (row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]))


def chain_neighbours(conn: Connection, device_id: str, device_seq: int
                     ) -> dict[int, tuple[str, bytes, bytes, bytes]]:
    """The held events at ``device_seq`` and either side of it in a device's chain:
    position -> (event id, hash, signature, prev_hash)."""
    return chain_between(conn, device_id, device_seq - 1, device_seq + 1)


def chain_between(conn: Connection, device_id: str, lo: int, hi: int
                  ) -> dict[int, tuple[str, bytes, bytes, bytes]]:
    """The held events of a device's chain from position ``lo`` to ``hi`` (both included):
    position -> (event id, hash, signature, prev_hash)."""
    return {int(r[0]): (r[1], bytes(r[2]), bytes(r[3]), bytes(r[4])) for r in conn.execute(
        "SELECT device_seq, event_id, hash, signature, prev_hash FROM events "
        "WHERE device_id = ? AND device_seq BETWEEN ? AND ?", (device_id, lo, hi))}


def event_set_store_seq(conn: Connection, event_id: str, store_seq: int) -> None:
    conn.execute("UPDATE events SET store_seq = ? WHERE event_id = ? AND store_seq IS NULL",
                 (store_seq, event_id))


def entity_created(conn: Connection, entity_id: str) -> str | None:
    """The record id of the held event that created ``entity_id`` (a record or a
    follow-up), or None."""
    row = conn.execute(
        "SELECT record_id FROM events WHERE entity_id = ? AND kind IN "
        "('decision.create', 'followup.create') LIMIT 1", (entity_id,)).fetchone()
    return None if row is None else str(row[0])


# What the projection counts: every held event but the ones the team's store refused
# (kept in the vault, signed and in the chain, in quarantine; app.sync.local). A refused
# change is no version anyone else has, so no state, heads or parents are made of it.
# (NOT EXISTS, one primary-key lookup per row, the "+" keeping SQLite off the status
# index: next to free where a few rows are read, as the ingest does for each pulled
# event, where NOT IN cost a third more; about 5% on the check's whole-vault scan.)
COUNTED = ("NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.event_id = events.event_id "
           "AND +q.status = 'refused_by_store')")


# A counted change made on top of one the store later refused (made offline, or before
# the refusal came back) names the refused change as a parent. To the projection a refused
# change is transparent: the parents it named stand in for it (and theirs, for a refused
# change made on another), so the counted changes form the graph every other device sees
# once the store has refused that later change too, and never one whose versions seem
# unrelated (which would make a conflict with no common version). Applied wherever counted
# events are read with their parents; one indexed lookup of the quarantine, empty in
# almost every vault.
_REFUSED_PARENTS = ("SELECT e.event_id, e.parents FROM quarantine q JOIN events e "
                    "ON e.event_id = q.event_id WHERE q.status = 'refused_by_store'")


def refused_parents(conn: Connection, column: str | None = None,
                    value: str | None = None) -> dict[str, tuple[str, ...]]:
    """Each store-refused event (of the record or follow-up where ``column`` (record_id or
    entity_id) is ``value``; else of the vault) and the counted versions that stand in
    for it: its parents, a refused parent replaced by its own, and so on."""
    if column is None:
        rows = conn.execute(_REFUSED_PARENTS).fetchall()
    else:
        if column not in ("record_id", "entity_id"):
            raise ValueError(column)
        rows = conn.execute(f"{_REFUSED_PARENTS} AND e.{column} = ?", (value,)).fetchall()
    return _stand_ins(rows) if rows else {}


def _stand_ins(rows: list[Any]) -> dict[str, tuple[str, ...]]:
    """``refused_parents`` from (event id, parents JSON) of refused events."""
    named: dict[str, tuple[str, ...]] = {}
    for event_id, parents in rows:
        try:
            listed = json.loads(parents)
        except (TypeError, ValueError):
            listed = []  # damage: the integrity check names it
        named[event_id] = tuple(p for p in listed if isinstance(p, str)) if isinstance(
            listed, list) else ()
    out: dict[str, tuple[str, ...]] = {}

    def stand_in(event_id: str, path: frozenset[str]) -> tuple[str, ...]:
        if event_id in out:
            return out[event_id]
        found: set[str] = set()
        for p in named[event_id]:
            if p not in named:
                found.add(p)
            elif p not in path:  # a cycle only damage makes: cut it
                found.update(stand_in(p, path | {p}))
        out[event_id] = tuple(sorted(found))
        return out[event_id]

    for event_id in named:
        stand_in(event_id, frozenset((event_id,)))
    return out


def bypass_refused(parents: str, refused: dict[str, tuple[str, ...]]) -> str:
    """A counted event's parents column with each refused parent replaced by the versions
    that stand in for it (``refused_parents``); the text unchanged when it names none."""
    if not any(r in parents for r in refused):
        return parents
    try:
        listed = json.loads(parents)
    except (TypeError, ValueError):
        return parents
    if not isinstance(listed, list):
        return parents
    out: set[str] = set()
    for p in listed:
        if isinstance(p, str) and p in refused:
            out.update(refused[p])
        else:
            out.add(p)
    return dumps(sorted(out, key=str))


def _bypassing(rows: list[Any], at: int, refused: dict[str, tuple[str, ...]]) -> list[Any]:
    """``rows`` with the parents column (index ``at``) of each passed through
    ``bypass_refused``."""
    if not refused:
        return rows
    out = []
    for row in rows:
        text = bypass_refused(row[at], refused) if isinstance(row[at], str) else row[at]
        out.append(row if text is row[at] else (*row[:at], text, *row[at + 1:]))
    return out


def entities_created(conn: Connection, entity_ids: list[str]) -> dict[str, list[str]]:
    """For each of ``entity_ids`` that is held, the record ids of the held events that
    created it (one, unless the vault was damaged)."""
    found: dict[str, list[str]] = {}
    for i in range(0, len(entity_ids), 500):
        part = entity_ids[i:i + 500]
        marks = ",".join("?" for _ in part)
        for entity_id, record_id in conn.execute(
                f"SELECT entity_id, record_id FROM events WHERE entity_id IN ({marks}) "
                "AND kind IN ('decision.create', 'followup.create')", part):
            found.setdefault(entity_id, []).append(str(record_id))
    return found


def entity_graph(conn: Connection, entity_id: str) -> list[tuple[str, str, str]]:
    """(event id, kind, parents JSON) of every counted event of one record or follow-up
    (the store's refusals left out, and passed through: see ``COUNTED`` and
    ``refused_parents``)."""
    # One query (this runs for each pulled change): the refused ones come with a mark.
    rows = conn.execute(
        f"SELECT event_id, kind, parents, NOT {COUNTED} FROM events WHERE entity_id = ? "
        "AND entity = CASE WHEN entity_id = record_id THEN 'decision' ELSE 'followup' END",
        (entity_id,)).fetchall()
    if not any(row[3] for row in rows):
        return [row[:3] for row in rows]
    refused = _stand_ins([(row[0], row[2]) for row in rows if row[3]])
    return _bypassing([row[:3] for row in rows if not row[3]], 2, refused)


def device_chain_tip(conn: Connection, device_id: str) -> tuple[int, bytes, bytes] | None:
    row = conn.execute(
        "SELECT device_seq, hash, signature FROM events WHERE device_id = ? "
        "ORDER BY device_seq DESC LIMIT 1",
        (device_id,),
    ).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]), bytes(row[2]))


def device_chain_end(conn: Connection, device_id: str) -> tuple[int, bytes, str] | None:
    """(device_seq, hash, hlc) of the newest change the vault holds from ``device_id``.

    Read as stored bytes: after damage, a column may no longer be valid text.
    """
    row = conn.execute(
        "SELECT device_seq, CAST(hash AS BLOB), CAST(hlc AS BLOB) FROM events "
        "WHERE device_id = ? AND typeof(device_seq) = 'integer' "
        "ORDER BY device_seq DESC LIMIT 1",
        (device_id,),
    ).fetchone()
    if row is None:
        return None
    return int(row[0]), bytes(row[1] or b""), bytes(row[2] or b"").decode("utf-8", "replace")


def event_hash_at(conn: Connection, device_id: str, device_seq: int) -> bytes | None:
    row = conn.execute(
        "SELECT CAST(hash AS BLOB) FROM events WHERE device_id = ? AND device_seq = ?",
        (device_id, device_seq),
    ).fetchone()
    return None if row is None else bytes(row[0] or b"")


def last_hlc(conn: Connection, device_id: str | None = None) -> str | None:
    """The newest clock stamp of the vault's events (of one device's, when given)."""
    if device_id is None:
        row = conn.execute("SELECT max(hlc) FROM events").fetchone()
    else:
        row = conn.execute("SELECT hlc FROM events WHERE device_id = ? "
                           "ORDER BY device_seq DESC LIMIT 1", (device_id,)).fetchone()
    return None if row is None else row[0]


# For the integrity check: text columns come back as raw bytes, so a byte that was
# changed into invalid UTF-8 is reported as an alteration rather than crashing the read.
_RAW_COLUMNS = ", ".join(
    f"CAST({c} AS BLOB)" if c in {"event_id", "entity", "kind", "record_id", "entity_id",
                                   "team_id", "author_id", "device_id", "hlc", "parents",
                                   "owner_id", "assignee_id"}
    else c
    for c in EVENT_COLUMNS.replace(" ", "").split(",")
)


def events_raw_by_device(conn: Connection) -> Iterator[tuple[Any, ...]]:
    yield from conn.execute(
        f"SELECT seq, {_RAW_COLUMNS} FROM events ORDER BY device_id, device_seq, seq"
    )


def events_raw_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT seq, {_RAW_COLUMNS} FROM events WHERE record_id = ? ORDER BY seq", (record_id,)
    ).fetchall()


def event_raw_at(conn: Connection, device_id: str, device_seq: int) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT seq, {_RAW_COLUMNS} FROM events WHERE device_id = ? AND device_seq = ?",
        (device_id, device_seq),
    ).fetchone()
    return row


def events_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    """The record's counted events (its projection's; the store's refusals left out, and
    passed through: ``refused_parents``)."""
    rows = conn.execute(
        f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE record_id = ? AND {COUNTED} "
        "ORDER BY seq", (record_id,),
    ).fetchall()
    return _bypassing(rows, _EVENT_PARENTS + 1, refused_parents(conn, "record_id", record_id))


def event_row(conn: Connection, event_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
    return row


def events_of_device(conn: Connection, device_id: str) -> list[tuple[Any, ...]]:
    """One device's chain, oldest first (what sync pushes)."""
    return conn.execute(
        f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE device_id = ? ORDER BY device_seq",
        (device_id,),
    ).fetchall()


def events_for_entity(conn: Connection, entity_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE entity_id = ? ORDER BY seq",
        (entity_id,),
    ).fetchall()


def event_span(conn: Connection) -> int:
    """The highest arrival number: the count of events, at once (for progress)."""
    row = conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


def event_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def outbox_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def outbox_events(conn: Connection, limit: int) -> list[tuple[Any, ...]]:
    """The oldest events waiting for the store, in chain order (rows as events_* give).

    A short outbox is read from the outbox (``CROSS JOIN`` keeps SQLite from walking the
    whole chain index to find a few rows, or none: 2 s on 100,000 events); a long one by
    walking the chain in order, which stops after ``limit`` rows."""
    columns = ', '.join('e.' + c for c in EVENT_COLUMNS.split(', '))
    if outbox_count(conn) <= 4 * limit:
        return conn.execute(
            f"SELECT e.seq, {columns} FROM outbox o CROSS JOIN events e "
            "ON e.event_id = o.event_id ORDER BY e.device_id, e.device_seq LIMIT ?",
            (limit,)).fetchall()
    return conn.execute(
        f"SELECT e.seq, {columns} FROM outbox o JOIN events e ON e.event_id = o.event_id "
        "ORDER BY e.device_id, e.device_seq LIMIT ?", (limit,)).fetchall()


def outbox_refused(conn: Connection) -> list[str]:
    """Events in the outbox that the store refused (kept in quarantine, held)."""
    return [r[0] for r in conn.execute(
        "SELECT o.event_id FROM outbox o JOIN quarantine q ON q.event_id = o.event_id "
        "WHERE q.status = 'refused_by_store' ORDER BY o.event_id")]


def outbox_remove(conn: Connection, event_id: str) -> None:
    conn.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))


# -- quarantine -------------------------------------------------------------
QUARANTINE_COLUMNS = ("event_id, hash, status, reason_code, reason, device_id, device_seq, "
                      "record_id, target_id, store_seq, held, event, received_at")


def quarantine_put(conn: Connection, row: tuple[Any, ...]) -> None:
    """Keep an event with why (``row`` in QUARANTINE_COLUMNS order); a second arrival of
    the same bytes updates its reason, never adds a row."""
    conn.execute(
        f"INSERT INTO quarantine ({QUARANTINE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (event_id, hash) DO UPDATE SET status = excluded.status, "
        "reason_code = excluded.reason_code, reason = excluded.reason, "
        "target_id = excluded.target_id, "
        "store_seq = coalesce(quarantine.store_seq, excluded.store_seq), "
        "held = excluded.held", row)


def quarantine_status(conn: Connection, event_id: str, hash_: bytes) -> str | None:
    row = conn.execute("SELECT status FROM quarantine WHERE event_id = ? AND hash = ?",
                       (event_id, hash_)).fetchone()
    return None if row is None else str(row[0])


def quarantine_set_status(conn: Connection, event_id: str, hash_: bytes, status: str) -> None:
    conn.execute("UPDATE quarantine SET status = ? WHERE event_id = ? AND hash = ?",
                 (status, event_id, hash_))


def quarantine_waiting_for(conn: Connection, target_id: str) -> list[tuple[Any, ...]]:
    """(event JSON, store_seq) of the events waiting for ``target_id`` to arrive."""
    return conn.execute(
        "SELECT event, store_seq FROM quarantine WHERE status = 'waiting' AND target_id = ? "
        "ORDER BY device_id, device_seq", (target_id,)).fetchall()


def quarantine_by_status(conn: Connection, statuses: tuple[str, ...]) -> list[tuple[Any, ...]]:
    marks = ",".join("?" for _ in statuses)
    return conn.execute(
        f"SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE status IN ({marks}) "
        "ORDER BY received_at, event_id", statuses).fetchall()


def refused_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    """(event row as events_* give, reason code, refused at) of each of the record's
    changes the team's store refused, oldest first."""
    columns = ", ".join("e." + c for c in EVENT_COLUMNS.split(", "))
    return conn.execute(
        f"SELECT e.seq, {columns}, q.reason_code, q.received_at FROM quarantine q "
        "JOIN events e ON e.event_id = q.event_id "
        "WHERE q.status = 'refused_by_store' AND e.record_id = ? ORDER BY e.seq",
        (record_id,)).fetchall()


def records_with_refusals(conn: Connection) -> list[str]:
    """The records holding a change the team's store refused."""
    return [str(r[0]) for r in conn.execute(
        "SELECT DISTINCT record_id FROM quarantine WHERE status = 'refused_by_store' "
        "ORDER BY record_id")]


def quarantine_count(conn: Connection, statuses: tuple[str, ...]) -> int:
    marks = ",".join("?" for _ in statuses)
    return int(conn.execute(f"SELECT count(*) FROM quarantine WHERE status IN ({marks})",
                            statuses).fetchone()[0])


# -- sync state ---------------------------------------------------------------
def sync_state_get(conn: Connection) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM sync_state WHERE id = 1")
    row = cur.fetchone()
    return {d[0]: v for d, v in zip(cur.description, row, strict=True)}


def sync_state_set(conn: Connection, **values: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE sync_state SET {sets} WHERE id = 1", tuple(values.values()))


def store_tip_put(conn: Connection, device_id: str, user_id: str, device_seq: int,
                  hash_: bytes | None, signature: bytes | None, revoked: bool,
                  checked_at: str) -> None:
    conn.execute(
        "INSERT INTO store_tips (device_id, user_id, device_seq, hash, signature, revoked, "
        "checked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
        "user_id = excluded.user_id, device_seq = excluded.device_seq, hash = excluded.hash, "
        "signature = excluded.signature, revoked = excluded.revoked, "
        "checked_at = excluded.checked_at",
        (device_id, user_id, device_seq, hash_, signature, int(revoked), checked_at))


def store_tips(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT device_id, user_id, device_seq, hash, signature, revoked, "
                        "checked_at FROM store_tips ORDER BY device_id").fetchall()


# -- the sync engine's journal -------------------------------------------------
SYNC_HISTORY_KEEP = 500  # attempts kept; older ones go (they say nothing a person needs)


def sync_attempt_add(conn: Connection, started_at: str, finished_at: str, pushed: int,
                     pulled: int, outcome: str, message: str | None) -> None:
    conn.execute(
        "INSERT INTO sync_history (started_at, finished_at, pushed, pulled, outcome, message) "
        "VALUES (?, ?, ?, ?, ?, ?)", (started_at, finished_at, pushed, pulled, outcome, message))
    conn.execute("DELETE FROM sync_history WHERE attempt_id <= "
                 "(SELECT max(attempt_id) FROM sync_history) - ?", (SYNC_HISTORY_KEEP,))


def sync_attempts(conn: Connection, limit: int) -> list[tuple[Any, ...]]:
    """(started_at, finished_at, pushed, pulled, outcome, message), newest first."""
    return conn.execute(
        "SELECT started_at, finished_at, pushed, pulled, outcome, message FROM sync_history "
        "ORDER BY attempt_id DESC LIMIT ?", (limit,)).fetchall()


def outbox_oldest_hlc(conn: Connection) -> str | None:
    """The clock stamp of the oldest change still waiting for the store."""
    row = conn.execute("SELECT min(e.hlc) FROM outbox o CROSS JOIN events e "
                       "ON e.event_id = o.event_id").fetchone()
    return None if row is None else row[0]


def chain_count_upto(conn: Connection, device_id: str, upto: int) -> int:
    """How many positions 1..``upto`` of a device's chain the vault holds (one index range)."""
    return int(conn.execute(
        "SELECT count(*) FROM events WHERE device_id = ? AND device_seq BETWEEN 1 AND ?",
        (device_id, upto)).fetchone()[0])


# -- decision projection ----------------------------------------------------
def decision_get_row(conn: Connection, record_id: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM decisions WHERE record_id = ?", (record_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return {d[0]: v for d, v in zip(cur.description, row, strict=True)}


def decision_owner(conn: Connection, record_id: str) -> str | None:
    row = conn.execute("SELECT owner_id FROM decisions WHERE record_id = ?",
                       (record_id,)).fetchone()
    return None if row is None else str(row[0])


def followup_holder(conn: Connection, followup_id: str) -> str | None:
    row = conn.execute("SELECT owner_id FROM followups WHERE followup_id = ?",
                       (followup_id,)).fetchone()
    return None if row is None else str(row[0])


def decision_decided_at(conn: Connection, record_id: str) -> str | None:
    row = conn.execute("SELECT decided_at FROM decisions WHERE record_id = ?",
                       (record_id,)).fetchone()
    return None if row is None else str(row[0])


def decision_insert(conn: Connection, row: dict[str, Any]) -> int | None:
    """A new decision row; its rowid, or None when a row for the record is already there."""
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cur = conn.execute(
        f"INSERT INTO decisions ({cols}) VALUES ({marks}) ON CONFLICT (record_id) DO NOTHING",
        tuple(row.values()))
    return cur.lastrowid if cur.rowcount == 1 else None


def decision_insert_values(conn: Connection, values: tuple[Any, ...]) -> int | None:
    """``decision_insert`` of a row given in DECISION_COLUMNS order (no dict to build: a
    first pull inserts one per record)."""
    cur = conn.execute(_DECISION_INSERT, values)
    return cur.lastrowid if cur.rowcount == 1 else None


def decision_upsert(conn: Connection, row: dict[str, Any]) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "record_id")
    conn.execute(
        f"INSERT INTO decisions ({cols}) VALUES ({marks}) "
        f"ON CONFLICT (record_id) DO UPDATE SET {updates}",
        tuple(row.values()),
    )


def decision_set_status(conn: Connection, record_id: str, status: str, updated_at: str,
                        head_event_id: str, heads: str, version_count: int) -> None:
    conn.execute(
        "UPDATE decisions SET status = ?, updated_at = ?, head_event_id = ?, heads = ?, "
        "version_count = ? WHERE record_id = ?",
        (status, updated_at, head_event_id, heads, version_count, record_id),
    )


def fts_replace(conn: Connection, record_id: str, subjects: str, counterparties: str,
                information: str, reasons: str) -> None:
    # The index row shares the decision row's rowid, so replacing it is a keyed lookup.
    rowid = conn.execute(
        "SELECT rowid FROM decisions WHERE record_id = ?", (record_id,)
    ).fetchone()[0]
    conn.execute("DELETE FROM decisions_fts WHERE rowid = ?", (rowid,))
    conn.execute(
        "INSERT INTO decisions_fts (rowid, record_id, subjects, counterparties, information, "
        "reasons) VALUES (?, ?, ?, ?, ?, ?)",
        (rowid, record_id, subjects, counterparties, information, reasons),
    )


# The projection's columns, in the order app.projection builds its rows (body last).
DECISION_COLUMNS = (
    "record_id", "team_id", "owner_id", "status", "direction", "decision", "consent",
    "decided_at", "created_at", "updated_at", "version_count", "head_event_id", "heads",
    "subjects_text", "counterparty_text", "case_refs", "special_category", "conflicts", "body",
)
FOLLOWUP_COLUMNS = (
    "followup_id", "record_id", "team_id", "owner_id", "kind", "title", "due_date", "state",
    "outcome", "cancel_reason", "created_at", "updated_at", "heads", "conflicts",
    "subjects_text", "case_refs", "counterparty_text",
)
_DECISION_INSERT = (
    f"INSERT INTO decisions ({', '.join(DECISION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in DECISION_COLUMNS)}) ON CONFLICT (record_id) DO NOTHING")
_FOLLOWUP_INSERT = (f"INSERT INTO followups ({', '.join(FOLLOWUP_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in FOLLOWUP_COLUMNS)})")


def decision_values(conn: Connection, record_id: str) -> tuple[int, tuple[Any, ...]] | None:
    """(rowid, the row in DECISION_COLUMNS order) of one decision."""
    row = conn.execute(f"SELECT rowid, {', '.join(DECISION_COLUMNS)} FROM decisions "
                       "WHERE record_id = ?", (record_id,)).fetchone()
    return None if row is None else (int(row[0]), tuple(row[1:]))


def decision_rowid(conn: Connection, record_id: str) -> int | None:
    row = conn.execute("SELECT rowid FROM decisions WHERE record_id = ?", (record_id,)).fetchone()
    return None if row is None else int(row[0])


def decision_delete(conn: Connection, record_id: str) -> None:
    conn.execute("DELETE FROM decisions WHERE record_id = ?", (record_id,))


_FTS_COLUMNS = "rowid, record_id, subjects, counterparties, information, reasons"


def fts_rows_at(conn: Connection, rowid: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT {_FTS_COLUMNS} FROM decisions_fts WHERE rowid = ?", (rowid,)).fetchall()


def fts_delete_rowid(conn: Connection, rowid: int) -> None:
    conn.execute("DELETE FROM decisions_fts WHERE rowid = ?", (rowid,))


def fts_insert(conn: Connection, rowid: int, record_id: str, subjects: str,
               counterparties: str, information: str, reasons: str) -> None:
    conn.execute(
        f"INSERT INTO decisions_fts ({_FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (rowid, record_id, subjects, counterparties, information, reasons))


# -- follow-ups -------------------------------------------------------------
def followup_insert(conn: Connection, row: dict[str, Any]) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    # A plain INSERT: each follow-up is created by exactly one event. OR REPLACE with
    # foreign keys on cost 150 µs a save on a 100,000-decision vault (it must treat the
    # replaced row as a possible parent).
    conn.execute(f"INSERT INTO followups ({cols}) VALUES ({marks})", tuple(row.values()))


def followup_insert_values(conn: Connection, values: tuple[Any, ...]) -> None:
    """``followup_insert`` of a row given in FOLLOWUP_COLUMNS order."""
    conn.execute(_FOLLOWUP_INSERT, values)


def followup_update(conn: Connection, followup_id: str, **changes: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in changes)
    conn.execute(
        f"UPDATE followups SET {sets} WHERE followup_id = ?", (*changes.values(), followup_id)
    )


def followup_get_row(conn: Connection, followup_id: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM followups WHERE followup_id = ?", (followup_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return {d[0]: v for d, v in zip(cur.description, row, strict=True)}


def followup_delete(conn: Connection, followup_id: str) -> None:
    conn.execute("DELETE FROM followups WHERE followup_id = ?", (followup_id,))


def followup_values_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT {', '.join(FOLLOWUP_COLUMNS)} FROM followups "
                        "WHERE record_id = ?", (record_id,)).fetchall()


FOLLOWUP_SELECT = (
    "SELECT f.followup_id, f.record_id, f.owner_id, f.kind, f.title, f.due_date, f.state, "
    "f.outcome, f.cancel_reason, f.subjects_text, f.case_refs, f.counterparty_text, "
    "f.heads, f.conflicts FROM followups f "
)


def decision_display(conn: Connection, record_id: str) -> tuple[str, str, str] | None:
    """(subjects_text, case_refs, counterparty_text) of a decision, as its follow-ups show."""
    row = conn.execute(
        "SELECT subjects_text, case_refs, counterparty_text FROM decisions WHERE record_id = ?",
        (record_id,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def followups_set_display(conn: Connection, record_id: str, subjects_text: str,
                          case_refs: str, counterparty_text: str) -> None:
    conn.execute(
        "UPDATE followups SET subjects_text = ?, case_refs = ?, counterparty_text = ? "
        "WHERE record_id = ?", (subjects_text, case_refs, counterparty_text, record_id))


def followups_for_owner(conn: Connection, owner_ids: tuple[str, ...], *,
                        states: tuple[str, ...],
                        due_before: str | None = None) -> list[tuple[Any, ...]]:
    """Follow-ups held by one person, under any of their ids (a vault's local id and the
    account's, after sign-in)."""
    marks = ",".join("?" for _ in states)
    owners = ",".join("?" for _ in owner_ids)
    sql = FOLLOWUP_SELECT + f"WHERE f.owner_id IN ({owners}) AND f.state IN ({marks})"
    params: list[Any] = [*owner_ids, *states]
    if due_before is not None:
        sql += " AND f.due_date <= ?"
        params.append(due_before)
    # Ties in creation order (rowid): the index (owner_id, state, due_date) already ends
    # in rowid, so one state's rows need no sorting (a temporary B-tree cost ~2 ms).
    sql += " ORDER BY f.due_date, f.rowid"
    return conn.execute(sql, params).fetchall()


def followup_row(conn: Connection, followup_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        FOLLOWUP_SELECT + "WHERE f.followup_id = ?", (followup_id,)).fetchone()
    return row


def followups_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        FOLLOWUP_SELECT + "WHERE f.record_id = ? ORDER BY f.due_date, f.followup_id", (record_id,)
    ).fetchall()


def overdue_count(conn: Connection, owner_ids: tuple[str, ...], today: str) -> int:
    owners = ",".join("?" for _ in owner_ids)
    return int(
        conn.execute(
            f"SELECT count(*) FROM followups WHERE owner_id IN ({owners}) AND state = 'open' "
            "AND due_date < ?", (*owner_ids, today),
        ).fetchone()[0]
    )


def reassigned_to(conn: Connection, owner_ids: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """(follow-up id, event id, author id, hlc) of every reassignment to this person, by
    someone else, of an open follow-up they hold now, oldest first (the partial index
    ``events_reassigned`` holds reassignments only)."""
    owners = ",".join("?" for _ in owner_ids)
    return conn.execute(
        "SELECT e.entity_id, e.event_id, e.author_id, e.hlc FROM events e "
        "JOIN followups f ON f.followup_id = e.entity_id "
        f"WHERE e.kind = 'followup.reassign' AND e.assignee_id IN ({owners}) "
        f"AND e.author_id NOT IN ({owners}) AND f.owner_id IN ({owners}) "
        "AND f.state = 'open' ORDER BY e.hlc, e.event_id",
        (*owner_ids, *owner_ids, *owner_ids)).fetchall()


def followups_seen(conn: Connection) -> dict[str, str]:
    """Follow-up id -> the reassignment its holder has seen (opened)."""
    return dict(conn.execute("SELECT followup_id, event_id FROM followup_seen").fetchall())


def followup_seen_put(conn: Connection, followup_id: str, event_id: str, when: str) -> None:
    conn.execute(
        "INSERT INTO followup_seen (followup_id, event_id, seen_at) VALUES (?, ?, ?) "
        "ON CONFLICT (followup_id) DO UPDATE SET event_id = excluded.event_id, "
        "seen_at = excluded.seen_at", (followup_id, event_id, when))


def records_in_conflict(conn: Connection) -> list[str]:
    """Records whose decision or one of whose follow-ups holds concurrent changes."""
    return [r[0] for r in conn.execute(
        "SELECT record_id FROM decisions WHERE conflicts != '[]' UNION "
        "SELECT record_id FROM followups WHERE conflicts != '[]' ORDER BY 1")]


# -- listing and search -----------------------------------------------------
def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ESCAPE '\\': every character matches itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A text search with at most this many matches sorts them; with more, it walks the index.
FEW_MATCHES = 1000


def list_decisions(conn: Connection, *, today: str, fts_query: str | None,
                   date_from: str | None, date_to: str | None, direction: str | None,
                   decision: str | None, consent: str | None, followup_state: str | None,
                   include_withdrawn: bool, case_ref: str | None,
                   before: tuple[str, str] | None, limit: int | None,
                   owner_ids: tuple[str, ...] | None = None) -> list[tuple[Any, ...]]:
    """Decisions newest first (decided_at, then record id), optionally after a keyset cursor.

    The filtering, ordering and limit run on the narrow columns first; follow-up counts
    are worked out only for the rows returned.
    """
    where: list[str] = []
    params: dict[str, Any] = {"today": today}
    walk_index = False
    if fts_query:
        found = None
        if limit is not None:
            # A page of a text search. Few matches: fetch them and sort (a few ms). Many:
            # walk the narrow (decided_at, record_id) index newest first and stop at the
            # page's last match; sorting 20,000 wide rows instead took 400 ms.
            found = conn.execute(
                "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ? LIMIT ?",
                (fts_query, FEW_MATCHES + 1)).fetchall()
            walk_index = len(found) > FEW_MATCHES
        if found is not None and not walk_index:
            where.append("d.rowid IN (SELECT value FROM json_each(:ids))")
            params["ids"] = json.dumps([r[0] for r in found])
        else:
            where.append(
                "d.rowid IN (SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH :q)")
            params["q"] = fts_query
    if date_from:
        where.append("d.decided_at >= :date_from")
        params["date_from"] = date_from
    if date_to:
        where.append("d.decided_at < :date_to")
        params["date_to"] = date_to
    if before is not None:
        where.append("(d.decided_at, d.record_id) < (:before_at, :before_id)")
        params["before_at"], params["before_id"] = before
    for name, value in (("direction", direction), ("decision", decision), ("consent", consent)):
        if value:
            where.append(f"d.{name} = :{name}")
            params[name] = value
    if not include_withdrawn:
        where.append("d.status = 'active'")
    if owner_ids is not None:
        where.append("d.owner_id IN (SELECT value FROM json_each(:owners))")
        params["owners"] = json.dumps(list(owner_ids))
    if case_ref:
        # The reference as typed: % and _ in it match themselves, not any text.
        where.append("(' ' || d.case_refs || ' ') LIKE :case_ref ESCAPE '\\'")
        params["case_ref"] = f"% {like_literal(case_ref)} %"
    if followup_state == "open":
        where.append("EXISTS (SELECT 1 FROM followups f WHERE f.record_id = d.record_id "
                     "AND f.state = 'open')")
    elif followup_state == "overdue":
        where.append("EXISTS (SELECT 1 FROM followups f WHERE f.record_id = d.record_id "
                     "AND f.state = 'open' AND f.due_date < :today)")
    elif followup_state in ("done", "cancelled"):
        where.append("EXISTS (SELECT 1 FROM followups f WHERE f.record_id = d.record_id "
                     "AND f.state = :fstate)")
        params["fstate"] = followup_state
    elif followup_state == "none":
        where.append("NOT EXISTS (SELECT 1 FROM followups f WHERE f.record_id = d.record_id)")
    indexed = " INDEXED BY decisions_order" if walk_index else ""
    inner = f"SELECT d.rowid AS rid, d.decided_at, d.record_id FROM decisions d{indexed}"
    if where:
        inner += " WHERE " + " AND ".join(where)
    inner += " ORDER BY d.decided_at DESC, d.record_id DESC"
    if limit is not None:
        inner += " LIMIT :limit"
        params["limit"] = int(limit)
    sql = f"""
SELECT d.record_id, d.decided_at, d.direction, d.decision, d.consent, d.subjects_text,
       d.case_refs, d.counterparty_text, d.status, d.version_count,
       (SELECT count(*) FROM followups f WHERE f.record_id = d.record_id AND f.state = 'open'),
       (SELECT count(*) FROM followups f WHERE f.record_id = d.record_id AND f.state = 'open'
            AND f.due_date < :today),
       d.owner_id,
       (d.conflicts != '[]' OR EXISTS (SELECT 1 FROM followups f
            WHERE f.record_id = d.record_id AND f.conflicts != '[]'))
FROM ({inner}) page JOIN decisions d ON d.rowid = page.rid
ORDER BY page.decided_at DESC, page.record_id DESC
"""
    return conn.execute(sql, params).fetchall()


def decision_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0])


# -- address book -------------------------------------------------------------
def contact_learn(conn: Connection, contact_id: str, name: str, role: str, organisation: str,
                  contact: str, when: str) -> None:
    conn.execute(
        "INSERT INTO contacts (contact_id, name, role, organisation, contact, use_count, "
        "last_used) VALUES (?, ?, ?, ?, ?, 1, ?) "
        "ON CONFLICT (name, organisation) DO UPDATE SET use_count = use_count + 1, "
        "last_used = excluded.last_used, "
        "role = CASE WHEN excluded.role != '' THEN excluded.role ELSE role END, "
        "contact = CASE WHEN excluded.contact != '' THEN excluded.contact ELSE contact END",
        (contact_id, name, role, organisation, contact, when),
    )


def contacts_matching(conn: Connection, prefix: str, limit: int) -> list[tuple[Any, ...]]:
    like = like_literal(prefix) + "%"
    return conn.execute(
        "SELECT name, role, organisation, contact FROM contacts "
        "WHERE name LIKE ? ESCAPE '\\' OR organisation LIKE ? ESCAPE '\\' "
        "ORDER BY use_count DESC, last_used DESC LIMIT ?",
        (like, like, limit),
    ).fetchall()


# -- drafts -------------------------------------------------------------------
def draft_save(conn: Connection, draft_id: str, kind: str, record_id: str | None,
               body: str, when: str) -> None:
    conn.execute(
        "INSERT INTO drafts (draft_id, kind, record_id, body, updated_at) VALUES (?,?,?,?,?) "
        "ON CONFLICT (draft_id) DO UPDATE SET body = excluded.body, "
        "updated_at = excluded.updated_at",
        (draft_id, kind, record_id, body, when),
    )


def drafts_list(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT draft_id, kind, record_id, body, updated_at FROM drafts ORDER BY updated_at DESC"
    ).fetchall()


def draft_delete(conn: Connection, draft_id: str) -> None:
    conn.execute("DELETE FROM drafts WHERE draft_id = ?", (draft_id,))


# -- rebuild --------------------------------------------------------------------
def projection_clear(conn: Connection) -> None:
    conn.execute("DELETE FROM followups")
    conn.execute("DELETE FROM decisions_fts")
    conn.execute("DELETE FROM decisions")


def projection_content(conn: Connection) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The projection's logical content in a stable order, no rowids: every decision and
    follow-up row by id, every search row by record (what a digest is taken over)."""
    for row in conn.execute(f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions "
                            "ORDER BY record_id"):
        yield "decision", tuple(row)
    for row in conn.execute(f"SELECT {', '.join(FOLLOWUP_COLUMNS)} FROM followups "
                            "ORDER BY followup_id"):
        yield "followup", tuple(row)
    for row in conn.execute("SELECT record_id, subjects, counterparties, information, reasons "
                            "FROM decisions_fts ORDER BY record_id"):
        yield "search", tuple(row)


def projection_snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the projection holds, in a stable order (for rebuild checks)."""
    return {
        "decisions": conn.execute("SELECT * FROM decisions ORDER BY record_id").fetchall(),
        "followups": conn.execute("SELECT * FROM followups ORDER BY followup_id").fetchall(),
        "fts": conn.execute(
            "SELECT record_id, subjects, counterparties, information, reasons "
            "FROM decisions_fts ORDER BY record_id"
        ).fetchall(),
    }


# -- the projection check: each stream in record id order, so they merge in one pass ----
CHANGE_COLUMNS = ("event_id, entity, kind, record_id, entity_id, team_id, author_id, hlc, "
                  "parents, payload, device_id, schema_version, owner_id, assignee_id")
_CHANGE_PARENTS = CHANGE_COLUMNS.replace(" ", "").split(",").index("parents")


def _key_range(column: str, lo: str | None, hi: str | None) -> tuple[str, list[str]]:
    """WHERE text for ``lo <= column < hi`` (either end open). In SQLite's order numbers
    sort before text and blobs after it, so the open ends take in damaged keys too."""
    where, params = [], []
    if lo is not None:
        where.append(f"{column} >= ?")
        params.append(lo)
    if hi is not None:
        where.append(f"{column} < ?")
        params.append(hi)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def record_bounds(conn: Connection, parts: int) -> list[str]:
    """Record ids that cut the decisions into ``parts`` runs of about equal size."""
    count = decision_count(conn)
    bounds: list[str] = []
    for i in range(1, parts):
        row = conn.execute("SELECT record_id FROM decisions ORDER BY record_id LIMIT 1 OFFSET ?",
                           (count * i // parts,)).fetchone()
        if row is not None and isinstance(row[0], str) and (not bounds or row[0] > bounds[-1]):
            bounds.append(row[0])
    return bounds


def changes_by_record(conn: Connection, lo: str | None = None,
                      hi: str | None = None) -> Iterator[tuple[Any, ...]]:
    """What the projection reads of every event, grouped by record (the (record_id, seq)
    index gives this order): the columns of CHANGE_COLUMNS."""
    where, params = _key_range("record_id", lo, hi)
    counted = f" AND {COUNTED}" if where else f" WHERE {COUNTED}"
    refused = refused_parents(conn)
    rows = conn.execute(
        f"SELECT {CHANGE_COLUMNS} FROM events{where}{counted} ORDER BY record_id, seq", params)
    if not refused:
        yield from rows
        return
    for row in rows:
        yield from _bypassing([row], _CHANGE_PARENTS, refused)


def changes_for_record(conn: Connection, record_id: str) -> list[tuple[Any, ...]]:
    rows = conn.execute(f"SELECT {CHANGE_COLUMNS} FROM events WHERE record_id = ? "
                        f"AND {COUNTED} ORDER BY seq", (record_id,)).fetchall()
    return _bypassing(rows, _CHANGE_PARENTS, refused_parents(conn, "record_id", record_id))


def decisions_with_search(conn: Connection, lo: str | None = None, hi: str | None = None
                          ) -> Iterator[tuple[int, tuple[Any, ...], tuple[Any, ...] | None]]:
    """(rowid, row in DECISION_COLUMNS order, its search row or None), by record id."""
    fts = ", ".join("f." + c for c in _FTS_COLUMNS.split(", "))
    where, params = _key_range("d.record_id", lo, hi)
    cur = conn.execute(
        f"SELECT {fts}, d.rowid, {', '.join('d.' + c for c in DECISION_COLUMNS)} "
        f"FROM decisions d LEFT JOIN decisions_fts f ON f.rowid = d.rowid{where} "
        "ORDER BY d.record_id", params)
    for row in cur:
        yield row[6], row[7:], (None if row[0] is None else row[:6])


def followups_by_record(conn: Connection, lo: str | None = None,
                        hi: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Every follow-up row in FOLLOWUP_COLUMNS order, grouped by record."""
    where, params = _key_range("record_id", lo, hi)
    yield from conn.execute(
        f"SELECT {', '.join(FOLLOWUP_COLUMNS)} FROM followups{where} ORDER BY record_id",
        params)


def fts_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM decisions_fts").fetchone()[0])


def fts_orphans(conn: Connection) -> list[tuple[Any, ...]]:
    """Search rows that no decision row owns (same rowid)."""
    return conn.execute(
        f"SELECT {_FTS_COLUMNS} FROM decisions_fts "
        "WHERE rowid NOT IN (SELECT rowid FROM decisions)").fetchall()


@contextlib.contextmanager
def tolerant_text(conn: Connection) -> Iterator[None]:
    """Read text that is no longer valid UTF-8 (damage) instead of failing the whole read."""
    before = conn.text_factory
    conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    try:
        yield
    finally:
        conn.text_factory = before


def today_iso() -> str:
    return dt.date.today().isoformat()


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
