"""Unfinished work, kept encrypted in the vault (a crash or a lock loses nothing typed).

A correction's draft keeps the versions its author saw (``parents``), so finishing it
later cannot supersede a version that arrived meanwhile without anyone seeing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.problems import Problem, ValidationError
from app.unit import ChangeSet, Saved, Unit
from db import store

MAX_DRAFT_CHARS = 1_000_000  # every text of a form at its limit fits several times over


@dataclass(frozen=True)
class Draft:
    draft_id: str
    kind: str
    record_id: str | None
    body: dict[str, Any]
    updated_at: str

    @property
    def parents(self) -> tuple[str, ...]:
        """The versions of the record the draft's author saw (a correction's draft)."""
        seen = self.body.get("parents")
        if isinstance(seen, list) and all(isinstance(p, str) for p in seen):
            return tuple(seen)
        return ()


class Drafts:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def save(self, body: dict[str, Any], *, draft_id: str | None = None,
             kind: str = "decision", record_id: str | None = None) -> Saved:
        """Keep unfinished work, encrypted. A draft need not be a valid record, but it must
        be text that can be stored and of a size a form could hold."""
        unit = self.unit
        try:
            text = store.dumps(body)
            text.encode("utf-8")  # a lone surrogate would fail in SQLite, mid-transaction
        except (TypeError, ValueError, UnicodeEncodeError):
            raise ValidationError([Problem("draft", "The draft holds something that cannot be "
                                           "saved; it was not kept.")]) from None
        if len(text) > MAX_DRAFT_CHARS:
            raise ValidationError([Problem("draft", "The draft is too long to keep.")])
        with unit.write() as w:
            did = draft_id or w.new_id()
            store.draft_save(w.conn, did, kind, record_id, text,
                             unit.clock.now().isoformat(timespec="seconds"))
            w.note(ChangeSet(drafts=frozenset((did,))))
        return Saved(did, w.changes)

    def list(self) -> list[Draft]:
        rows = self.unit.read(store.drafts_list)
        return [Draft(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def delete(self, draft_id: str) -> ChangeSet:
        with self.unit.write() as w:
            store.draft_delete(w.conn, draft_id)
            w.note(ChangeSet(drafts=frozenset((draft_id,))))
        return w.changes
