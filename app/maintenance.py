"""Keeping the vault whole: the integrity check, the rebuild, the chain's tip, backups,
the passphrase, and a digest of what the projection holds."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from app import drift, integrity, tip
from app.unit import ChangeSet, Unit
from db import store
from db.vault import Connection

log = logging.getLogger("sharelog.maintenance")


class Maintenance:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def verify_integrity(self, *, every_signature: bool = False,
                         progress: integrity.Progress | None = None,
                         cancelled: Callable[[], bool] | None = None,
                         workers: int | None = None) -> integrity.IntegrityReport:
        """The whole-vault check: every event, the chain's end, every record's rows.

        One snapshot: the tip is read first, then every table within one read
        transaction, so a save in between can only make the vault newer than its tip.
        """
        unit = self.unit
        with unit.lock, unit.vault.reported():
            conn = unit.vault.conn
            # Once a loss is found, it is said as found (not worked out again from a tip
            # that saves made since can no longer be compared with).
            seen = unit.tip_file.read() if unit.missing_changes is None else None
            own = conn.in_transaction
            if not own:
                conn.execute("BEGIN")
            try:
                report = integrity.verify_all(conn, every_signature=every_signature,
                                              tip_seen=seen, progress=progress,
                                              cancelled=cancelled, workers=workers,
                                              vault_path=unit.vault.path,
                                              vault_key=unit.vault.key)
            finally:
                if not own:
                    conn.execute("COMMIT")
            if unit.missing_changes is not None:
                report.missing = [unit.missing_changes]
            return report

    def verify_record(self, record_id: str) -> integrity.IntegrityReport:
        """One record: its events (hash, link, signature) and its rows against them."""
        return self.unit.read(lambda c: integrity.verify_record(c, record_id))

    def rebuild_projection(self, *, progress: Callable[[int], None] | None = None,
                           cancelled: Callable[[], bool] | None = None) -> drift.RebuildReport:
        """Make every record's rows what its signed events give; say what changed."""
        with self.unit.write() as w:
            report = drift.rebuild(w.conn, progress=progress, cancelled=cancelled)
            repaired = frozenset(d.record_id for d in report.repaired)
            w.note(ChangeSet(records=repaired))
        if report.repaired:
            log.info("rebuild repaired %d record(s)", len(report.repaired))
        return report

    def projection_digest(self) -> str:
        """SHA-256 over the projection's logical content (every decision, follow-up and
        search row, by id, no rowids): equal on two vaults exactly when they show the same."""
        def digest(conn: Connection) -> str:
            h = hashlib.sha256(b"sharelog-projection-v1\x00")
            for table, row in store.projection_content(conn):
                h.update(store.dumps([table, *row]).encode("utf-8"))
                h.update(b"\n")
            return h.hexdigest()
        return self.unit.read(digest)

    def check_chain_tip(self) -> tip.MissingChanges | None:
        """After opening: compare the vault with the tip beside it (see app.tip).

        A tip older than the vault, or none, is brought up to date. A vault older than
        its tip has lost changes: they are named in ``missing_changes``, remembered in the
        vault as found (saves made meanwhile must not shrink the count), and the tip is
        left as it is until a backup is restored or the loss is accepted.
        """
        unit = self.unit
        with unit.lock, unit.vault.reported():
            conn = unit.vault.conn
            found = integrity.unresolved_loss(conn)
            if found is None:
                found = tip.reconcile(conn, unit.tip_file, unit.identity.device_id)
                if found is not None:
                    with unit.vault.transaction() as writer:
                        integrity.set_unresolved_loss(writer, found)
            unit.missing_changes = found
        if found is not None:
            log.warning("the vault lacks changes its tip knows of")
        return found

    def accept_missing_changes(self) -> None:
        """Go on without the missing changes: noted in the vault, the tip starts again."""
        unit = self.unit
        with unit.lock, unit.vault.reported():
            missing = unit.missing_changes
            if missing is None:
                return
            with unit.vault.transaction() as conn:
                integrity.note_loss(conn, missing, int(dt.datetime.now().timestamp() * 1000),
                                    "accepted")
                integrity.set_unresolved_loss(conn, None)
            ours = tip.vault_tip(unit.vault.conn, unit.identity.device_id)
            unit.missing_changes = None
            if ours is not None:
                unit.tip_file.write(ours)
        log.info("missing changes accepted")

    def pending_sync_count(self) -> int:
        return self.unit.read(store.outbox_count)

    def change_passphrase(self, old: str, new: str,
                          progress: Callable[[str], None] | None = None) -> None:
        with self.unit.lock:
            self.unit.vault.change_passphrase(old, new, progress)

    def backup_to(self, target: Path,
                  progress: Callable[[int, int], None] | None = None) -> Path:
        """An encrypted backup where the practitioner chooses (File > Back up vault…)."""
        with self.unit.lock, self.unit.vault.reported():
            return self.unit.vault.backup_to(target, progress)
