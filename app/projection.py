"""Current state as a projection of events.

``apply_event`` is the one path from an event to the tables the UI reads, for
local saves, for a full rebuild and (later) for events pulled from the team's
store. It depends only on the event, never on the clock or the device applying it.
"""

from __future__ import annotations

import json
from typing import Any

from app.events import Event, hlc_wall_iso
from app.model import DecisionRecord, FollowUpState, RecordStatus
from db import store
from db.vault import Connection


class ProjectionError(Exception):
    pass


def _decision_columns(record: DecisionRecord) -> dict[str, Any]:
    return {
        "direction": record.direction,
        "decision": record.decision,
        "consent": record.consent,
        "decided_at": record.decided_at,
        "subjects_text": record.subjects_display,
        "counterparty_text": record.counterparty.display,
        "case_refs": record.case_refs,
        "special_category": int(record.is_special_category),
        "body": store.dumps(record.to_dict()),
    }


def _fts_fields(record: DecisionRecord) -> tuple[str, str, str, str]:
    subjects = " ".join(
        " ".join(filter(None, (s.name, s.case_ref))) for s in record.subjects
    )
    cp = record.counterparty
    counterparties = " ".join(filter(None, (cp.name, cp.role, cp.organisation)))
    information = " ".join(filter(None, (record.information, record.purpose)))
    return subjects, counterparties, information, record.reasons


def apply_event(conn: Connection, event: Event) -> None:
    body = event.body()
    at = hlc_wall_iso(event.hlc)
    if event.kind == "decision.create":
        record = DecisionRecord.from_dict(body["record"])
        row = {
            "record_id": event.record_id,
            "team_id": event.team_id,
            "owner_id": body.get("owner_id", event.author_id),
            "status": RecordStatus.ACTIVE.value,
            "created_at": at,
            "updated_at": at,
            "version_count": 1,
            "head_event_id": event.event_id,
            "heads": store.dumps([event.event_id]),
            **_decision_columns(record),
        }
        store.decision_upsert(conn, row)
        store.fts_replace(conn, event.record_id, *_fts_fields(record))
        return
    if event.kind in ("decision.correct", "decision.withdraw"):
        current = store.decision_get_row(conn, event.record_id)
        if current is None:
            raise ProjectionError("a change arrived for a record this vault does not hold")
        heads = sorted((set(json.loads(current["heads"])) - set(event.parents)) | {event.event_id})
        row = dict(current)
        row.update(
            updated_at=at,
            version_count=int(current["version_count"]) + 1,
            head_event_id=event.event_id,
            heads=store.dumps(heads),
        )
        if event.kind == "decision.correct":
            record = DecisionRecord.from_dict(body["record"])
            columns = _decision_columns(record)
            row.update(columns)
            store.decision_upsert(conn, row)
            store.fts_replace(conn, event.record_id, *_fts_fields(record))
            store.followups_set_display(conn, event.record_id, columns["subjects_text"],
                                        columns["case_refs"], columns["counterparty_text"])
        else:
            row["status"] = RecordStatus.WITHDRAWN.value
            store.decision_upsert(conn, row)
        return
    if event.kind == "followup.create":
        display = store.decision_display(conn, event.record_id)
        if display is None:
            raise ProjectionError("a follow-up arrived for a record this vault does not hold")
        subjects_text, case_refs, counterparty_text = display
        store.followup_insert(
            conn,
            {
                "followup_id": event.entity_id,
                "record_id": event.record_id,
                "team_id": event.team_id,
                "owner_id": body["owner_id"],
                "kind": body["kind"],
                "title": body["title"],
                "due_date": body["due_date"],
                "state": FollowUpState.OPEN.value,
                "outcome": None,
                "cancel_reason": None,
                "created_at": at,
                "updated_at": at,
                "subjects_text": subjects_text,
                "case_refs": case_refs,
                "counterparty_text": counterparty_text,
            },
        )
        return
    if event.kind == "followup.done":
        store.followup_update(conn, event.entity_id, state=FollowUpState.DONE.value,
                              outcome=body["outcome"], updated_at=at)
        return
    if event.kind == "followup.cancel":
        store.followup_update(conn, event.entity_id, state=FollowUpState.CANCELLED.value,
                              cancel_reason=body["reason"], updated_at=at)
        return
    if event.kind == "followup.reschedule":
        store.followup_update(conn, event.entity_id, due_date=body["due_date"], updated_at=at)
        return
    if event.kind == "followup.reassign":
        store.followup_update(conn, event.entity_id, owner_id=body["owner_id"], updated_at=at)
        return
    raise ProjectionError(f"unknown change kind {event.kind!r}")


def event_from_row(row: tuple[Any, ...]) -> Event:
    """Rows from ``store.events_*`` (seq first) to an Event."""
    (_seq, event_id, entity, kind, record_id, entity_id, team_id, author_id, device_id,
     device_seq, hlc, parents, schema_version, payload, prev_hash, hash_, signature) = row
    return Event(
        event_id=event_id,
        entity=entity,
        kind=kind,
        record_id=record_id,
        entity_id=entity_id,
        team_id=team_id,
        author_id=author_id,
        device_id=device_id,
        device_seq=int(device_seq),
        hlc=hlc,
        parents=tuple(json.loads(parents)),
        schema_version=int(schema_version),
        payload=bytes(payload),
        prev_hash=bytes(prev_hash),
        hash=bytes(hash_),
        signature=bytes(signature),
    )


def event_to_row(event: Event) -> tuple[Any, ...]:
    return (
        event.event_id, event.entity, event.kind, event.record_id, event.entity_id,
        event.team_id, event.author_id, event.device_id, event.device_seq, event.hlc,
        store.dumps(list(event.parents)), event.schema_version, event.payload,
        event.prev_hash, event.hash, event.signature,
    )


def rebuild(conn: Connection) -> int:
    """Drop the projection and replay every event in arrival order."""
    store.projection_clear(conn)
    n = 0
    for row in store.events_all(conn):
        apply_event(conn, event_from_row(row))
        n += 1
    return n
