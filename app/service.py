"""The practitioner's services over an unlocked vault: the only way changes are made.

Every change is one signed event; the event, its projection and its outbox row
commit together. Calls are serialised by a lock: the UI runs them on one worker.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app import backups, drift, integrity, projection, tip
from app.events import (
    GENESIS_HASH,
    DeviceKey,
    Event,
    HybridLogicalClock,
    chain_link,
    hlc_wall_iso,
    make_event,
    uuid7,
)
from app.housekeeping import WhenQuiet
from app.model import (
    DecisionRecord,
    DecisionSummary,
    Direction,
    FollowUp,
    FollowUpChange,
    FollowUpKind,
    FollowUpState,
    RecordStatus,
    SearchFilters,
    Version,
    followup_bucket,
    week_end,
)
from app.settings import describe as describe_setting
from app.validation import Problem, ValidationError, require_reason, validate
from app.workdays import ENGLAND_AND_WALES_BANK_HOLIDAYS, WorkingCalendar
from db import store
from db.vault import (
    OPENING,
    Connection,
    Vault,
    VaultError,
    VaultLocked,
    cancellable,
)
from db.vault import QueryCancelled as QueryCancelled  # noqa: PLC0414 - re-exported for ui/

log = logging.getLogger("sharelog.service")
T = TypeVar("T")

FOLLOWUP_TITLES = {
    FollowUpKind.CONFIRM_RECEIPT:
        "Confirm the recipient received, understood and acted on the information",
    FollowUpKind.CHASE_RESPONSE: "Chase the response",
}


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(f"That {what} could not be found.")


class InvalidChange(Exception):
    """A change that does not make sense in the record's current state."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    display_name: str
    team_id: str
    device_id: str


@dataclass(frozen=True)
class DecisionDetail:
    record_id: str
    record: DecisionRecord
    status: str
    owner_id: str
    team_id: str
    version_count: int
    created_at: str
    updated_at: str
    has_conflict: bool
    followups: list[FollowUp]


@dataclass(frozen=True)
class Draft:
    draft_id: str
    kind: str
    record_id: str | None
    body: dict[str, Any]
    updated_at: str


def fts_query(text: str) -> str | None:
    """Words typed by a person to an FTS5 query: every word must match, the last as a prefix."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    if not words:
        return None
    quoted = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " ".join(quoted)


class Sharelog:
    """One user's unlocked vault and the services over it."""

    def __init__(self, vault: Vault, *, followup_working_days: int = 5,
                 extra_holidays: list[dt.date] | None = None) -> None:
        self.vault = vault
        self._lock = threading.RLock()
        conn = vault.conn
        with vault.reported(OPENING):
            meta = store.meta_all(conn)
        self.identity = Identity(
            user_id=str(meta["user_id"]),
            display_name=str(meta["display_name"]),
            team_id=str(meta["team_id"]),
            device_id=str(meta["device_id"]),
        )
        self._key = DeviceKey.from_private_bytes(bytes(meta["device_private_key"]))
        self._users: dict[str, str] = json.loads(meta.get("users") or "{}")
        self._clock = HybridLogicalClock(self.identity.device_id, store.last_hlc(conn))
        self.followup_working_days = followup_working_days
        self.calendar = WorkingCalendar(
            ENGLAND_AND_WALES_BANK_HOLIDAYS | frozenset(extra_holidays or [])
        )
        self._today_override: dt.date | None = None
        self._now_override: dt.datetime | None = None
        # The end of this laptop's chain, kept beside the vault (see app.tip). While the
        # vault lacks changes its tip knows of, the tip stays as it is (frozen) until the
        # practitioner restores a backup or accepts the loss.
        self._tip = tip.TipFile(tip.tip_path(vault.path))
        self.missing_changes: tip.MissingChanges | None = None
        self._changed_since_backup = False
        self.housekeeping = WhenQuiet(self._when_quiet)
        # (device_seq, hash, signature) of this device's newest committed event, once
        # read: the next event links to it without asking the vault on every save.
        self._chain_end: tuple[int, bytes, bytes] | None = None
        self._chain_end_known = False

    # -- set-up ------------------------------------------------------------
    @classmethod
    def initialise(cls, vault: Vault, display_name: str, *, team_id: str | None = None,
                   user_id: str | None = None) -> Sharelog:
        """Give a new vault its user, team and device identity."""
        name = display_name.strip()
        if not name:
            raise ValidationError(
                [Problem("display_name", "Enter your name as colleagues know it.")])
        key = DeviceKey.generate()
        uid = user_id or str(uuid.uuid4())
        device_id = str(uuid.uuid4())
        with vault.transaction() as conn:
            store.meta_set(conn, "user_id", uid)
            store.meta_set(conn, "display_name", name)
            store.meta_set(conn, "team_id", team_id or str(uuid.uuid4()))
            store.meta_set(conn, "device_id", device_id)
            store.meta_set(conn, "device_private_key", key.private_bytes())
            store.meta_set(conn, "users", json.dumps({uid: name}))
            store.meta_set(conn, "created_at", dt.datetime.now().isoformat(timespec="seconds"))
            store.device_put(conn, device_id, uid, key.public_bytes)
        vault.checkpoint()  # the identity lives in the vault file, not only in its -wal
        return cls(vault)

    def lock(self) -> None:
        """Back up the day's work (if anything changed), checkpoint, close, forget the key."""
        self.housekeeping.stop()  # first, outside the lock: its work takes the lock
        with self._lock:
            if self.vault.is_open and self._changed_since_backup \
                    and self.missing_changes is None:
                try:
                    backups.take_daily(self.vault, self.vault.path.parent / "backups")
                    self._changed_since_backup = False
                except (OSError, VaultError) as exc:
                    log.warning("the day's backup could not be written: %s",
                                type(exc).__name__)
            self._tip.close()
            self.vault.lock()

    @property
    def is_locked(self) -> bool:
        return not self.vault.is_open

    def now(self) -> dt.datetime:
        """The clock every rule measures against (local time, as the practitioner sees it).

        The UI thread may read it too: it never touches the vault.
        """
        if self._now_override is not None:
            return self._now_override
        real = dt.datetime.now()
        if self._today_override is not None:
            return dt.datetime.combine(self._today_override, real.time())
        return real

    def today(self) -> dt.date:
        return self.now().date()

    def set_today(self, day: dt.date | None) -> None:
        """For demos and tests: pretend today is another day (the time of day stays real)."""
        self._today_override = day

    def set_now(self, when: dt.datetime | None) -> None:
        """For tests: stop the clock at ``when`` (None: the real clock again)."""
        self._now_override = when

    def user_name(self, user_id: str) -> str:
        return self._users.get(user_id, "Unknown user")

    # -- plumbing ----------------------------------------------------------
    def _locked(self, fn: Callable[[Connection], T]) -> T:
        with self._lock, self.vault.reported():
            return fn(self.vault.conn)

    @contextmanager
    def _write(self) -> Iterator[_Writer]:
        with self._lock:
            with self.vault.reported(), self.vault.transaction() as conn:
                writer = _Writer(self, conn)
                yield writer
            if writer.last is not None:  # committed: the chain now ends here
                last = writer.last
                self._chain_end = (last.device_seq, last.hash, last.signature)
                self._chain_end_known = True
            self._committed(writer.last)

    def _committed(self, last: Event | None) -> None:
        """After a commit (never before): note the chain's new end beside the vault."""
        self._changed_since_backup = True
        self.housekeeping.changed()
        if last is None or self.missing_changes is not None:
            return
        try:
            self._tip.write(tip.ChainTip(last.device_id, last.device_seq, last.hash,
                                         tip.hlc_ms(last.hlc)))
        except OSError as exc:  # the save is committed; the next one will try again
            log.warning("the chain tip could not be written: %s", type(exc).__name__)

    def _when_quiet(self) -> bool:
        """A few seconds after the last change: everything into the vault file."""
        if not self._lock.acquire(blocking=False):
            return False  # a save or a check is running: try after the next quiet spell
        try:
            if self.vault.is_open:
                self.vault.checkpoint()
            return True
        finally:
            self._lock.release()

    @contextmanager
    def bulk(self) -> Iterator[_Writer]:
        """Many changes in one transaction (imports, demo data, benchmarks)."""
        with self._write() as writer:
            yield writer

    # -- decisions -----------------------------------------------------------
    def record_decision(self, record: DecisionRecord, *, followup_days: int | None = None,
                        draft_id: str | None = None) -> str:
        """Validate and save a new decision with its default follow-up. Returns its id."""
        validate(record, now=self.now())
        check_followup_days(followup_days)
        with self._write() as w:
            record_id = w.record_decision(record, followup_days=followup_days)
            if draft_id:
                store.draft_delete(w.conn, draft_id)
        log.info("decision recorded")
        return record_id

    def correct_decision(self, record_id: str, record: DecisionRecord, reason: str, *,
                         draft_id: str | None = None) -> str:
        """A correction is a new version with its reason; the old one stays readable."""
        require_reason(reason, "the correction")
        validate(record, now=self.now())
        with self._write() as w:
            current = store.decision_get_row(w.conn, record_id)
            if current is None:
                raise NotFound("record")
            if current["status"] == RecordStatus.WITHDRAWN:
                raise InvalidChange("This record was withdrawn and can no longer be corrected.")
            ev = w.emit("decision", "decision.correct", record_id, record_id,
                        parents=json.loads(current["heads"]),
                        payload={"record": record.to_dict(), "reason": reason.strip()})
            w.learn_contact(record)
            if draft_id:
                store.draft_delete(w.conn, draft_id)
        log.info("decision corrected")
        return ev.event_id

    def withdraw_decision(self, record_id: str, reason: str) -> str:
        """Withdraw a record made in error: a tombstone version with a reason, never a delete."""
        require_reason(reason, "withdrawing this record")
        with self._write() as w:
            current = store.decision_get_row(w.conn, record_id)
            if current is None:
                raise NotFound("record")
            if current["status"] == RecordStatus.WITHDRAWN:
                raise InvalidChange("This record is already withdrawn.")
            ev = w.emit("decision", "decision.withdraw", record_id, record_id,
                        parents=json.loads(current["heads"]),
                        payload={"reason": reason.strip()})
            for fu in store.followups_for_record(w.conn, record_id):
                if fu[6] == FollowUpState.OPEN:
                    w.emit("followup", "followup.cancel", record_id, fu[0],
                           parents=w.followup_parents(fu[0]),
                           payload={"reason": "The record was withdrawn."})
        log.info("decision withdrawn")
        return ev.event_id

    def get_decision(self, record_id: str) -> DecisionDetail:
        def read(conn: Connection) -> DecisionDetail:
            row = store.decision_get_row(conn, record_id)
            if row is None:
                raise NotFound("record")
            return DecisionDetail(
                record_id=record_id,
                record=DecisionRecord.from_dict(json.loads(row["body"])),
                status=row["status"],
                owner_id=row["owner_id"],
                team_id=row["team_id"],
                version_count=int(row["version_count"]),
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                has_conflict=len(json.loads(row["heads"])) > 1,
                followups=[_followup(r) for r in store.followups_for_record(conn, record_id)],
            )
        return self._locked(read)

    def versions(self, record_id: str) -> list[Version]:
        """Every version of a record in the order its parents give (oldest first), with
        who, when and on which device; never the order the rows sit in the table."""
        def read(conn: Connection) -> list[Version]:
            events = [projection.event_from_row(row)
                      for row in store.events_for_record(conn, record_id)]
            out: list[Version] = []
            for ev in projection.order_events(e for e in events if e.entity == "decision"):
                body = ev.body()
                out.append(Version(
                    event_id=ev.event_id,
                    number=len(out) + 1,
                    kind=ev.kind,
                    author_id=ev.author_id,
                    author_name=self.user_name(ev.author_id),
                    device_id=ev.device_id,
                    at=hlc_wall_iso(ev.hlc),
                    reason=str(body.get("reason", "")),
                    record=DecisionRecord.from_dict(body["record"]) if "record" in body else None,
                ))
            if not out:
                raise NotFound("record")
            return out
        return self._locked(read)

    def list_decisions(self, filters: SearchFilters | None = None, *,
                       cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        """Decisions matching ``filters``, newest first.

        ``cancelled`` is polled while the query runs; once it returns true the query
        stops and ``QueryCancelled`` is raised (a search overtaken by the next keystroke).
        """
        f = filters or SearchFilters()
        today = self.today().isoformat()

        def read(conn: Connection) -> list[DecisionSummary]:
            with cancellable(conn, cancelled):
                rows = store.list_decisions(
                    conn,
                    today=today,
                    fts_query=fts_query(f.text) if f.text else None,
                    date_from=f.date_from.isoformat() if f.date_from else None,
                    date_to=(f.date_to + dt.timedelta(days=1)).isoformat() if f.date_to else None,
                    direction=f.direction,
                    decision=f.decision,
                    consent=f.consent,
                    followup_state=f.followup_state,
                    include_withdrawn=f.include_withdrawn,
                    case_ref=f.subject_case_ref,
                    before=f.before,
                    limit=f.limit,
                )
            return [_summary(r) for r in rows]
        return self._locked(read)

    def search(self, text: str, filters: SearchFilters | None = None, *,
               cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        f = filters or SearchFilters()
        f = SearchFilters(**{**f.__dict__, "text": text})
        return self.list_decisions(f, cancelled=cancelled)

    def set_followup_working_days(self, days: int) -> None:
        """Working days from a decision to its default follow-up, for decisions saved from now."""
        spec = describe_setting("followup_working_days")
        if isinstance(days, bool) or not isinstance(days, int) or not spec.in_range(days):
            raise ValueError("followup_working_days out of range")
        with self._lock:
            self.followup_working_days = days

    def decision_count(self) -> int:
        return self._locked(store.decision_count)

    # -- follow-ups ------------------------------------------------------------
    def my_followups(self, *, include_closed: bool = False,
                     due_within_week: bool = False) -> list[FollowUp]:
        states: tuple[str, ...] = (FollowUpState.OPEN.value,)
        if include_closed:
            states = (*states, FollowUpState.DONE.value, FollowUpState.CANCELLED.value)
        due_before = week_end(self.today()).isoformat() if due_within_week else None

        def read(conn: Connection) -> list[FollowUp]:
            return [_followup(r) for r in store.followups_for_owner(
                conn, self.identity.user_id, states=states, due_before=due_before)]
        return self._locked(read)

    def followups_by_bucket(self) -> dict[str, list[FollowUp]]:
        today = self.today()
        groups: dict[str, list[FollowUp]] = {"overdue": [], "today": [], "this_week": [],
                                             "later": []}
        for fu in self.my_followups():
            groups[followup_bucket(fu.state, fu.due_date, today)].append(fu)
        return groups

    def overdue_count(self) -> int:
        return self._locked(
            lambda c: store.overdue_count(c, self.identity.user_id, self.today().isoformat()))

    def complete_followup(self, followup_id: str, outcome: str) -> str:
        require_reason(outcome, "the outcome (what the recipient did)")
        return self._followup_change(followup_id, "followup.done", {"outcome": outcome.strip()})

    def cancel_followup(self, followup_id: str, reason: str) -> str:
        require_reason(reason, "cancelling this follow-up")
        return self._followup_change(followup_id, "followup.cancel", {"reason": reason.strip()})

    def reschedule_followup(self, followup_id: str, due: dt.date, reason: str = "") -> str:
        if type(due) is not dt.date:
            raise ValidationError([Problem("due_date", "Give the new due date as a date.")])
        if reason:
            require_reason(reason, "moving the follow-up")
        latest = self.today() + dt.timedelta(days=MAX_DUE_DAYS_AHEAD)

        def extra(row: dict[str, Any]) -> dict[str, Any]:
            decided = _decided_date(
                store.decision_decided_at(self.vault.conn, row["record_id"]) or "")
            if decided is not None and due < decided:
                raise ValidationError([Problem("due_date", "The new due date is before the "
                                               "decision was made: choose a later date.")])
            if due > latest:
                raise ValidationError([Problem("due_date", "The new due date is more than "
                                               "five years away: check the year.")])
            return {"due_date": due.isoformat(), "previous_due_date": row["due_date"],
                    "reason": reason.strip()}
        return self._followup_change(followup_id, "followup.reschedule", extra)

    def _followup_change(
        self, followup_id: str, kind: str,
        payload: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
    ) -> str:
        with self._write() as w:
            row = store.followup_get_row(w.conn, followup_id)
            if row is None:
                raise NotFound("follow-up")
            if row["state"] != FollowUpState.OPEN:
                raise InvalidChange("This follow-up is already closed.")
            body = payload(row) if callable(payload) else payload
            ev = w.emit("followup", kind, row["record_id"], followup_id,
                        parents=w.followup_parents(followup_id), payload=body)
        return ev.event_id

    def followup_history(self, followup_id: str) -> list[FollowUpChange]:
        def read(conn: Connection) -> list[FollowUpChange]:
            events = [projection.event_from_row(r)
                      for r in store.events_for_entity(conn, followup_id)]
            return [FollowUpChange(ev.event_id, ev.kind, ev.author_id, hlc_wall_iso(ev.hlc),
                                   ev.body()) for ev in projection.order_events(events)]
        return self._locked(read)

    def due_date_for(self, days: int | None = None, start: dt.date | None = None) -> dt.date:
        count = days if days is not None else self.followup_working_days
        return self.calendar.add_working_days(start or self.today(), count)

    # -- address book -------------------------------------------------------------
    def suggest_contacts(self, prefix: str, limit: int = 8) -> list[dict[str, str]]:
        rows = self._locked(lambda c: store.contacts_matching(c, prefix.strip(), limit))
        return [dict(zip(("name", "role", "organisation", "contact"), r, strict=True))
                for r in rows]

    # -- drafts -----------------------------------------------------------------
    def save_draft(self, body: dict[str, Any], *, draft_id: str | None = None,
                   kind: str = "decision", record_id: str | None = None) -> str:
        """Keep unfinished work, encrypted. A draft need not be a valid record, but it must
        be text that can be stored and of a size a form could hold."""
        did = draft_id or uuid7()
        now = dt.datetime.now().isoformat(timespec="seconds")
        try:
            text = store.dumps(body)
            text.encode("utf-8")  # a lone surrogate would fail in SQLite, mid-transaction
        except (TypeError, ValueError, UnicodeEncodeError):
            raise ValidationError([Problem("draft", "The draft holds something that cannot be "
                                           "saved; it was not kept.")]) from None
        if len(text) > MAX_DRAFT_CHARS:
            raise ValidationError([Problem("draft", "The draft is too long to keep.")])
        with self._lock:
            with self.vault.reported(), self.vault.transaction() as conn:
                store.draft_save(conn, did, kind, record_id, text, now)
            self._committed(None)
        return did

    def drafts(self) -> list[Draft]:
        rows = self._locked(store.drafts_list)
        return [Draft(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def delete_draft(self, draft_id: str) -> None:
        with self._lock:
            with self.vault.reported(), self.vault.transaction() as conn:
                store.draft_delete(conn, draft_id)
            self._committed(None)

    # -- integrity and maintenance ---------------------------------------------------
    def verify_integrity(self, *, every_signature: bool = False,
                         progress: integrity.Progress | None = None,
                         cancelled: Callable[[], bool] | None = None,
                         workers: int | None = None) -> integrity.IntegrityReport:
        """The whole-vault check: every event, the chain's end, every record's rows.

        One snapshot: the tip is read first, then every table within one read
        transaction, so a save in between can only make the vault newer than its tip.
        """
        with self._lock, self.vault.reported():
            conn = self.vault.conn
            # Once a loss is found, it is said as found (not worked out again from a tip
            # that saves made since can no longer be compared with).
            seen = self._tip.read() if self.missing_changes is None else None
            own = conn.in_transaction
            if not own:
                conn.execute("BEGIN")
            try:
                report = integrity.verify_all(conn, every_signature=every_signature,
                                              tip_seen=seen, progress=progress,
                                              cancelled=cancelled, workers=workers,
                                              vault_path=self.vault.path,
                                              vault_key=self.vault.key)
            finally:
                if not own:
                    conn.execute("COMMIT")
            if self.missing_changes is not None:
                report.missing = [self.missing_changes]
            return report

    def verify_record(self, record_id: str) -> integrity.IntegrityReport:
        """One record: its events (hash, link, signature) and its rows against them."""
        return self._locked(lambda c: integrity.verify_record(c, record_id))

    def rebuild_projection(self, *, progress: Callable[[int], None] | None = None,
                           cancelled: Callable[[], bool] | None = None) -> drift.RebuildReport:
        """Make every record's rows what its signed events give; say what changed."""
        with self._lock, self.vault.reported(), self.vault.transaction() as conn:
            report = drift.rebuild(conn, progress=progress, cancelled=cancelled)
        if report.repaired:
            log.info("rebuild repaired %d record(s)", len(report.repaired))
        return report

    def check_chain_tip(self) -> tip.MissingChanges | None:
        """After opening: compare the vault with the tip beside it (see app.tip).

        A tip older than the vault, or none, is brought up to date. A vault older than
        its tip has lost changes: they are named in ``missing_changes``, remembered in the
        vault as found (saves made meanwhile must not shrink the count), and the tip is
        left as it is until a backup is restored or the loss is accepted.
        """
        with self._lock, self.vault.reported():
            conn = self.vault.conn
            found = integrity.unresolved_loss(conn)
            if found is None:
                found = tip.reconcile(conn, self._tip, self.identity.device_id)
                if found is not None:
                    with self.vault.transaction() as writer:
                        integrity.set_unresolved_loss(writer, found)
            self.missing_changes = found
        if found is not None:
            log.warning("the vault lacks changes its tip knows of")
        return found

    def accept_missing_changes(self) -> None:
        """Go on without the missing changes: noted in the vault, the tip starts again."""
        with self._lock, self.vault.reported():
            missing = self.missing_changes
            if missing is None:
                return
            with self.vault.transaction() as conn:
                integrity.note_loss(conn, missing, int(dt.datetime.now().timestamp() * 1000),
                                    "accepted")
                integrity.set_unresolved_loss(conn, None)
            ours = tip.vault_tip(self.vault.conn, self.identity.device_id)
            self.missing_changes = None
            if ours is not None:
                self._tip.write(ours)
        log.info("missing changes accepted")

    def pending_sync_count(self) -> int:
        return self._locked(store.outbox_count)

    def change_passphrase(self, old: str, new: str,
                          progress: Callable[[str], None] | None = None) -> None:
        with self._lock:
            self.vault.change_passphrase(old, new, progress)

    def backup_to(self, target: Path,
                  progress: Callable[[int, int], None] | None = None) -> Path:
        """An encrypted backup where the practitioner chooses (File > Back up vault…)."""
        with self._lock, self.vault.reported():
            return self.vault.backup_to(target, progress)


class _Writer:
    """Inside one write transaction: emits events and applies them."""

    def __init__(self, service: Sharelog, conn: Connection) -> None:
        self.service = service
        self.conn = conn
        self.last: Event | None = None  # the newest event of this transaction

    def emit(self, entity: str, kind: str, record_id: str, entity_id: str, *,
             parents: list[str], payload: dict[str, Any]) -> Event:
        s = self.service
        ident = s.identity
        if self.last is not None:
            end: tuple[int, bytes, bytes] | None = (
                self.last.device_seq, self.last.hash, self.last.signature)
        elif s._chain_end_known:
            end = s._chain_end
        else:
            end = store.device_chain_tip(self.conn, ident.device_id)
        seq, prev_hash = (end[0] + 1, chain_link(end[1], end[2])) if end else (1, GENESIS_HASH)
        ev = make_event(
            key=s._key, entity=entity, kind=kind, record_id=record_id, entity_id=entity_id,
            team_id=ident.team_id, author_id=ident.user_id, device_id=ident.device_id,
            device_seq=seq, hlc=s._clock.now(), parents=parents, payload=payload,
            prev_hash=prev_hash,
        )
        store.event_insert(self.conn, projection.event_to_row(ev), outbox=True)
        projection.apply_event(self.conn, ev)
        self.last = ev
        return ev

    def record_decision(self, record: DecisionRecord, *, followup_days: int | None = None,
                        validated: bool = True) -> str:
        if not validated:
            validate(record, now=self.service.now())
            check_followup_days(followup_days)
        ident = self.service.identity
        record_id = uuid7()
        self.emit("decision", "decision.create", record_id, record_id, parents=[],
                  payload={"record": record.to_dict(), "owner_id": ident.user_id})
        kind = None
        if record.is_share:  # nothing to chase or confirm after deciding not to ask or share
            kind = (FollowUpKind.CHASE_RESPONSE if record.direction == Direction.REQUEST_MADE
                    else FollowUpKind.CONFIRM_RECEIPT)
        if kind is not None:
            decided = _decided_date(record.decided_at) or self.service.today()
            due = self.service.due_date_for(followup_days, start=decided)
            fid = uuid7()
            self.emit("followup", "followup.create", record_id, fid, parents=[],
                      payload={"owner_id": ident.user_id, "kind": kind.value,
                               "title": FOLLOWUP_TITLES[kind], "due_date": due.isoformat()})
        self.learn_contact(record)
        return record_id

    def followup_parents(self, followup_id: str) -> list[str]:
        """The follow-up's latest versions (its heads), which a new change follows."""
        events = [projection.event_from_row(r)
                  for r in store.events_for_entity(self.conn, followup_id)]
        return projection.heads_of(events)

    def learn_contact(self, record: DecisionRecord) -> None:
        cp = record.counterparty
        if cp.name.strip() or cp.organisation.strip():
            store.contact_learn(self.conn, uuid7(), cp.name.strip(), cp.role.strip(),
                                cp.organisation.strip(), cp.contact.strip(),
                                dt.datetime.now().isoformat(timespec="seconds"))


MAX_DUE_DAYS_AHEAD = 5 * 366
MAX_DRAFT_CHARS = 1_000_000  # every text of a form at its limit fits several times over


def check_followup_days(days: object) -> None:
    """A follow-up's working days, when given, are a whole number in the settings' range."""
    if days is None:
        return
    spec = describe_setting("followup_working_days")
    if isinstance(days, bool) or not isinstance(days, int) or not spec.in_range(days):
        raise ValidationError([Problem("followup_days", (
            f"The follow-up must be due between {spec.minimum} and {spec.maximum} working "
            "days after the decision."))])


def _decided_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _summary(r: tuple[Any, ...]) -> DecisionSummary:
    # heads is a JSON list of event ids (no commas inside): more than one is a conflict.
    return DecisionSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                           r[10], r[11], r[12], "," in r[13])


def _followup(r: tuple[Any, ...]) -> FollowUp:
    return FollowUp(r[0], r[1], r[2], r[3], r[4], dt.date.fromisoformat(r[5]), r[6], r[7],
                    r[8], r[9], r[10], r[11])


def ensure_unlocked(service: Sharelog | None) -> Sharelog:
    if service is None or service.is_locked:
        raise VaultLocked()
    return service

