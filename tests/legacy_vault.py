"""Vaults as earlier Sharelogs wrote them, for upgrade tests: v1 events (no owner or
assignee in the envelope, the owner in the payload), and, before schema 6, times in the
projection in the device's local time.

The events are signed by the vault's own key and applied through today's one path (a v1
event projects as it always did); ``strip_to`` then takes the later schema steps away,
leaving exactly the older layout with real, signed events in it.
"""

from __future__ import annotations

import json
from typing import Any

from app.clock import local_iso
from app.contacts import learn
from app.envelope import from_v1
from app.events import GENESIS_HASH, chain_link, make_event
from app.followups import FOLLOWUP_TITLES
from app.model import DecisionRecord, FollowUpKind
from app.service import Sharelog
from app.unit import Writer
from db import store
from db.vault import Connection


def _emit_v1(w: Writer, entity: str, kind: str, record_id: str, entity_id: str,
             parents: list[str], payload: dict[str, Any]) -> str:
    unit = w.unit
    ident = unit.identity
    end = (w.last.device_seq, w.last.hash, w.last.signature) if w.last else unit.chain_end(
        w.conn)
    seq, prev = (end[0] + 1, chain_link(end[1], end[2])) if end else (1, GENESIS_HASH)
    ev = make_event(key=unit.key, entity=entity, kind=kind, record_id=record_id,
                    entity_id=entity_id, team_id=ident.team_id, author_id=ident.user_id,
                    device_id=ident.device_id, device_seq=seq, hlc=unit.hlc.now(),
                    parents=parents, payload=payload, prev_hash=prev,
                    event_id=w.new_id())
    w.append(from_v1(ev))
    return ev.event_id


def v1_record(svc: Sharelog, record: DecisionRecord) -> str:
    """A share and its confirm-receipt follow-up, as schema 5's Sharelog saved them."""
    uid = svc.identity.user_id
    with svc.bulk() as w:
        rid = w.new_id()
        _emit_v1(w, "decision", "decision.create", rid, rid, [],
                 {"record": record.to_dict(), "owner_id": uid})
        kind = FollowUpKind.CONFIRM_RECEIPT
        due = svc.due_date_for(start=svc.today())
        _emit_v1(w, "followup", "followup.create", rid, w.new_id(), [],
                 {"owner_id": uid, "kind": kind.value, "title": FOLLOWUP_TITLES[kind],
                  "due_date": due.isoformat()})
        learn(w, record)
    return rid


def v1_correct(svc: Sharelog, rid: str, record: DecisionRecord, reason: str) -> None:
    with svc.bulk() as w:
        heads = json.loads(store.decision_get_row(w.conn, rid)["heads"])
        _emit_v1(w, "decision", "decision.correct", rid, rid, heads,
                 {"record": record.to_dict(), "reason": reason})


def v1_followup_change(svc: Sharelog, fid: str, kind: str, payload: dict[str, Any]) -> None:
    with svc.bulk() as w:
        row = store.followup_get_row(w.conn, fid)
        assert row is not None
        _emit_v1(w, "followup", kind, row["record_id"], fid, json.loads(row["heads"]), payload)


def _local_times(conn: Connection, table: str, key: str) -> None:
    for rid, created, updated in conn.execute(
            f"SELECT {key}, created_at, updated_at FROM {table}").fetchall():
        conn.execute(f"UPDATE {table} SET created_at = ?, updated_at = ? WHERE {key} = ?",
                     (local_iso(created), local_iso(updated), rid))


def strip_to(conn: Connection, version: int) -> None:
    """Take away every schema step after ``version`` (the vault then reads as made by
    that version's Sharelog)."""
    if version < 8:
        conn.execute("DROP INDEX events_reassigned")
        conn.execute("DROP TABLE followup_seen")
    if version < 7:
        conn.execute("DROP TABLE sync_history")
    if version < 6:
        _local_times(conn, "decisions", "record_id")
        _local_times(conn, "followups", "followup_id")
        conn.execute("DROP INDEX events_store_seq")
        for column in ("owner_id", "assignee_id", "store_seq"):
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
        conn.execute("ALTER TABLE devices DROP COLUMN pinned_at")
        conn.execute("DROP TABLE quarantine")
        conn.execute("DROP TABLE store_tips")
        conn.execute("DROP INDEX decisions_in_conflict")
        conn.execute("ALTER TABLE decisions DROP COLUMN conflicts")
        conn.execute("DROP INDEX followups_in_conflict")
        for column in ("heads", "conflicts"):
            conn.execute(f"ALTER TABLE followups DROP COLUMN {column}")
        for column in ("account_user_id", "account_team_id", "bound_at", "store_url",
                       "device_token"):
            conn.execute(f"ALTER TABLE sync_state DROP COLUMN {column}")
    if version < 5:
        for column in ("subjects_text", "case_refs", "counterparty_text"):
            conn.execute(f"ALTER TABLE followups DROP COLUMN {column}")
    if version < 4:
        conn.execute("CREATE VIRTUAL TABLE old_fts USING fts5 (record_id UNINDEXED, subjects, "
                     "counterparties, information, reasons, "
                     "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')")
        conn.execute("INSERT INTO old_fts (rowid, record_id, subjects, counterparties, "
                     "information, reasons) SELECT rowid, record_id, subjects, counterparties, "
                     "information, reasons FROM decisions_fts")
        conn.execute("DROP TABLE decisions_fts")
        conn.execute("ALTER TABLE old_fts RENAME TO decisions_fts")
    if version < 3:
        conn.execute("DROP INDEX events_hlc")
        conn.execute("DROP INDEX decisions_order")
        conn.execute("CREATE INDEX decisions_decided ON decisions (decided_at)")
    if version < 2:
        conn.execute("DROP TABLE contacts")
        conn.execute("DROP TABLE drafts")
    conn.execute(f"PRAGMA user_version = {version}")
