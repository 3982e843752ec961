"""The practitioner's services over an unlocked vault: the only way changes are made.

``Sharelog`` is a facade over capabilities that share one unit of work (``app.unit``):
``decisions`` (``app.decisions``), ``followups`` (``app.followups``), ``drafts``,
``contacts``, ``maintenance`` (integrity, rebuild, tip, backups, passphrase), ``ingest``
(``app.ingest``: the one path every event takes, local or pulled) and ``sync``
(``app.sync.local``: binding, cursor, outbox, store tips, quarantine). Each write of a
capability returns what changed (``Saved.changes``, ``IngestResult.changes``); the
methods kept here for the UI return what they always did, and ``collect_changes()``
gathers what a call changed for the UI bridge.

Every change is one signed event; the event, its projection and its outbox row
commit together. Calls are serialised by a fair lock: the UI runs them on one worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from app import drift, integrity, tip
from app.clock import Clock
from app.contacts import Contacts
from app.decisions import (
    Conflict,
    ConflictValue,
    DecisionDetail,
    Decisions,
    check_followup_days,
    fts_query,
    record_in,
)
from app.drafts import MAX_DRAFT_CHARS, Draft, Drafts
from app.events import DeviceKey
from app.followups import FOLLOWUP_TITLES, MAX_DUE_DAYS_AHEAD, FollowUps
from app.ingest import Ingest
from app.maintenance import Maintenance
from app.model import (
    DecisionRecord,
    DecisionSummary,
    FollowUp,
    FollowUpChange,
    SearchFilters,
    Version,
)
from app.problems import InvalidChange, NotFound, Problem, ValidationError
from app.resolve import Resolutions
from app.rights import Member, Rights, TeamView
from app.sync.local import SyncLocal
from app.unit import ChangeSet, Identity, Unit, Writer
from app.workdays import ENGLAND_AND_WALES_BANK_HOLIDAYS, WorkingCalendar
from db import store
from db.vault import Connection, Vault, VaultLocked
from db.vault import QueryCancelled as QueryCancelled  # noqa: PLC0414 - re-exported for ui/

log = logging.getLogger("sharelog.service")

__all__ = [
    "FOLLOWUP_TITLES", "MAX_DRAFT_CHARS", "MAX_DUE_DAYS_AHEAD", "ChangeSet", "Conflict",
    "ConflictValue", "DecisionDetail", "Draft", "Identity", "InvalidChange", "NotFound",
    "QueryCancelled", "Sharelog", "check_followup_days", "ensure_unlocked", "fts_query",
]


class Sharelog:
    """One user's unlocked vault and the services over it."""

    def __init__(self, vault: Vault, *, followup_working_days: int = 5,
                 extra_holidays: list[dt.date] | None = None,
                 clock: Clock | None = None) -> None:
        self.unit = Unit(vault, clock=clock)
        calendar = WorkingCalendar(
            ENGLAND_AND_WALES_BANK_HOLIDAYS | frozenset(extra_holidays or []))
        self.followups = FollowUps(self.unit, calendar, working_days=followup_working_days)
        self.decisions = Decisions(self.unit, self.followups)
        self.drafting = Drafts(self.unit)
        self.contacts = Contacts(self.unit)
        self.maintenance = Maintenance(self.unit)
        self.ingest = Ingest(self.unit)
        self.sync = SyncLocal(self.unit)
        self.rights = Rights(self.unit)
        self.resolutions = Resolutions(self.decisions, self.followups)

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
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with vault.transaction() as conn:
            store.meta_set(conn, "user_id", uid)
            store.meta_set(conn, "display_name", name)
            store.meta_set(conn, "team_id", team_id or str(uuid.uuid4()))
            store.meta_set(conn, "device_id", device_id)
            store.meta_set(conn, "device_private_key", key.private_bytes())
            store.meta_set(conn, "users", store.dumps({uid: name}))
            store.meta_set(conn, "created_at", dt.datetime.now().isoformat(timespec="seconds"))
            store.device_put(conn, device_id, uid, key.public_bytes, now)
        vault.checkpoint()  # the identity lives in the vault file, not only in its -wal
        return cls(vault)

    def lock(self) -> None:
        """Back up the day's work (if anything changed), checkpoint, close, forget the key."""
        self.unit.close()

    # -- the unit's state, for the UI and tests ---------------------------------------------
    @property
    def vault(self) -> Vault:
        return self.unit.vault

    @property
    def identity(self) -> Identity:
        return self.unit.identity

    @property
    def clock(self) -> Clock:
        return self.unit.clock

    @property
    def device_public_key(self) -> bytes:
        return self.unit.key.public_bytes

    @property
    def housekeeping(self) -> Any:
        return self.unit.housekeeping

    @property
    def missing_changes(self) -> tip.MissingChanges | None:
        return self.unit.missing_changes

    @property
    def followup_working_days(self) -> int:
        return self.followups.working_days

    @property
    def calendar(self) -> WorkingCalendar:
        return self.followups.calendar

    @property
    def is_locked(self) -> bool:
        return not self.unit.is_open

    def now(self) -> dt.datetime:
        """The clock every rule measures against (local time, as the practitioner sees it).

        The UI thread may read it too: it never touches the vault.
        """
        return self.unit.clock.now()

    def today(self) -> dt.date:
        return self.unit.clock.today()

    def set_today(self, day: dt.date | None) -> None:
        """For demos and tests: pretend today is another day (the time of day stays real)."""
        self.unit.clock.set_today(day)

    def set_now(self, when: dt.datetime | None) -> None:
        """For tests: stop the clock at ``when`` (None: the real clock again)."""
        self.unit.clock.set_now(when)

    def user_name(self, user_id: str) -> str:
        return self.unit.user_name(user_id)

    @contextlib.contextmanager
    def collect_changes(self) -> Iterator[Any]:
        """What every write inside the block made on this thread changed (``.changes``)."""
        with self.unit.collect() as got:
            yield got

    @contextlib.contextmanager
    def bulk(self) -> Iterator[BulkWriter]:
        """Many changes in one transaction (imports, demo data, benchmarks)."""
        followups = self.followups
        with self.unit.write_as(lambda unit, conn: BulkWriter(unit, conn, followups)) as writer:
            yield writer

    # -- decisions -----------------------------------------------------------
    def record_decision(self, record: DecisionRecord, *, followup_days: int | None = None,
                        draft_id: str | None = None) -> str:
        """Validate and save a new decision with its default follow-up. Returns its id."""
        saved = self.decisions.record(record, followup_days=followup_days, draft_id=draft_id)
        log.info("decision recorded")
        return saved.value

    def correct_decision(self, record_id: str, record: DecisionRecord, reason: str, *,
                         parents: Iterable[str], draft_id: str | None = None) -> str:
        """A correction after the versions the author saw (``DecisionDetail.heads``)."""
        saved = self.decisions.correct(record_id, record, reason, parents=parents,
                                       draft_id=draft_id)
        log.info("decision corrected")
        return saved.value

    def withdraw_decision(self, record_id: str, reason: str, *, parents: Iterable[str]) -> str:
        saved = self.decisions.withdraw(record_id, reason, parents=parents)
        log.info("decision withdrawn")
        return saved.value

    def get_decision(self, record_id: str) -> DecisionDetail:
        return self.decisions.get(record_id)

    def versions(self, record_id: str) -> list[Version]:
        return self.decisions.versions(record_id)

    def conflicts(self, record_id: str) -> list[Conflict]:
        return self.decisions.conflicts(record_id)

    def resolve_record(self, record_id: str, chosen: dict[str, Any], reason: str, *,
                       parents: Iterable[str]) -> str:
        """Settle a record's fields in conflict (``app.resolve``); the new version's id."""
        saved = self.resolutions.resolve_record(record_id, chosen, reason, parents=parents)
        log.info("conflict resolved")
        return saved.value

    def resolve_followup(self, followup_id: str, field: str, value: Any, note: str, *,
                         parents: Iterable[str]) -> str:
        saved = self.resolutions.resolve_followup(followup_id, field, value, note,
                                                  parents=parents)
        log.info("follow-up conflict resolved")
        return saved.value

    def team_members(self) -> list[Member]:
        return self.rights.members()

    def team_view(self) -> TeamView:
        """Who is who: this person's ids and role, the team's names and members."""
        return self.rights.view()

    def is_manager(self) -> bool:
        return self.rights.is_manager

    def list_decisions(self, filters: SearchFilters | None = None, *,
                       cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        return self.decisions.matching(filters, cancelled=cancelled)

    def search(self, text: str, filters: SearchFilters | None = None, *,
               cancelled: Callable[[], bool] | None = None) -> list[DecisionSummary]:
        return self.decisions.search(text, filters, cancelled=cancelled)

    def decision_count(self) -> int:
        return self.decisions.count()

    def set_followup_working_days(self, days: int) -> None:
        self.followups.set_working_days(days)

    # -- follow-ups ------------------------------------------------------------
    def my_followups(self, *, include_closed: bool = False,
                     due_within_week: bool = False) -> list[FollowUp]:
        return self.followups.mine(include_closed=include_closed,
                                   due_within_week=due_within_week)

    def get_followup(self, followup_id: str) -> FollowUp:
        return self.followups.get(followup_id)

    def followups_by_bucket(self) -> dict[str, list[FollowUp]]:
        return self.followups.by_bucket()

    def overdue_count(self) -> int:
        return self.followups.overdue_count()

    def complete_followup(self, followup_id: str, outcome: str, *,
                          parents: Iterable[str]) -> str:
        return self.followups.complete(followup_id, outcome, parents=parents).value

    def cancel_followup(self, followup_id: str, reason: str, *, parents: Iterable[str]) -> str:
        return self.followups.cancel(followup_id, reason, parents=parents).value

    def reschedule_followup(self, followup_id: str, due: dt.date, reason: str = "", *,
                            parents: Iterable[str]) -> str:
        return self.followups.reschedule(followup_id, due, reason, parents=parents).value

    def reassign_followup(self, followup_id: str, to_user: str, *, parents: Iterable[str],
                          reason: str = "") -> str:
        return self.followups.reassign(followup_id, to_user, parents=parents,
                                       reason=reason).value

    def followups_given_to_me(self) -> dict[str, Any]:
        """Follow-ups someone else gave to this person, not opened since (new)."""
        return self.followups.given_to_me()

    def mark_followups_seen(self, followup_ids: Iterable[str]) -> None:
        self.followups.mark_seen(followup_ids)

    def followup_history(self, followup_id: str) -> list[FollowUpChange]:
        return self.followups.history(followup_id)

    def due_date_for(self, days: int | None = None, start: dt.date | None = None) -> dt.date:
        return self.followups.due_date_for(days, start)

    # -- address book and drafts --------------------------------------------------------
    def suggest_contacts(self, prefix: str, limit: int = 8) -> list[dict[str, str]]:
        return self.contacts.suggest(prefix, limit)

    def save_draft(self, body: dict[str, Any], *, draft_id: str | None = None,
                   kind: str = "decision", record_id: str | None = None) -> str:
        return self.drafting.save(body, draft_id=draft_id, kind=kind, record_id=record_id).value

    def drafts(self) -> list[Draft]:
        return self.drafting.list()

    def delete_draft(self, draft_id: str) -> None:
        self.drafting.delete(draft_id)

    # -- integrity and maintenance ---------------------------------------------------
    def verify_integrity(self, *, every_signature: bool = False,
                         progress: integrity.Progress | None = None,
                         cancelled: Callable[[], bool] | None = None,
                         workers: int | None = None) -> integrity.IntegrityReport:
        return self.maintenance.verify_integrity(every_signature=every_signature,
                                                 progress=progress, cancelled=cancelled,
                                                 workers=workers)

    def verify_record(self, record_id: str) -> integrity.IntegrityReport:
        return self.maintenance.verify_record(record_id)

    def rebuild_projection(self, *, progress: Callable[[int], None] | None = None,
                           cancelled: Callable[[], bool] | None = None) -> drift.RebuildReport:
        return self.maintenance.rebuild_projection(progress=progress, cancelled=cancelled)

    def projection_digest(self) -> str:
        return self.maintenance.projection_digest()

    def check_chain_tip(self) -> tip.MissingChanges | None:
        return self.maintenance.check_chain_tip()

    def accept_missing_changes(self) -> None:
        self.maintenance.accept_missing_changes()

    def pending_sync_count(self) -> int:
        return self.maintenance.pending_sync_count()

    def change_passphrase(self, old: str, new: str,
                          progress: Callable[[str], None] | None = None) -> None:
        self.maintenance.change_passphrase(old, new, progress)

    def backup_to(self, target: Path,
                  progress: Callable[[int, int], None] | None = None) -> Path:
        return self.maintenance.backup_to(target, progress)


class BulkWriter(Writer):
    """A writer for many records in one transaction, through the code a single save runs."""

    def __init__(self, unit: Unit, conn: Connection, followups: FollowUps) -> None:
        super().__init__(unit, conn)
        self.followups = followups

    def record_decision(self, record: DecisionRecord, *, followup_days: int | None = None,
                        validated: bool = True) -> str:
        return record_in(self, self.followups, record, followup_days=followup_days,
                         validated=validated)


def ensure_unlocked(service: Sharelog | None) -> Sharelog:
    if service is None or service.is_locked:
        raise VaultLocked()
    return service

