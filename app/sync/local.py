"""What the sync engine keeps in the vault: the account binding, the pull cursor, the
outbox, the store's tips, and the quarantine (no network here; ``app.sync.transport``
talks to the store, ``app.ingest`` applies what it pulls).

Transaction rules the engine relies on:

- ``ingest.apply(page.events, device_keys=..., cursor=page.next_since)`` applies a page
  and saves its cursor with its last events (``app.ingest``);
- ``record_push(result.results)`` takes pushed events out of the outbox, with their store
  sequences, in one transaction; an event the store refused stays in the vault, in
  quarantine with the store's reason, and is never deleted;
- ``record_binding`` is one transaction, once: a vault joins one account.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.clock import local_iso
from app.envelope import SignedEvent, to_wire
from app.events import canonical, hlc_local_iso
from app.ingest import REFUSED, Quarantined
from app.model import DecisionRecord
from app.projection import event_from_row, reproject_record
from app.unit import NOTHING, ChangeSet, Unit
from db import store
from db.vault import Connection

REFUSED_BY_STORE = "refused_by_store"
# Set once the vault's earlier refusals stopped counting (``SyncLocal.set_aside_refused``).
SET_ASIDE_KEY = "refusals_set_aside"


class Outcome(Protocol):
    """The store's answer for one pushed event (``app.sync.transport.PushOutcome``)."""

    @property
    def event_id(self) -> str: ...
    @property
    def seq(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


class AlreadyBound(Exception):
    """This vault joined another account: a vault joins one account, once."""

    def __init__(self) -> None:
        super().__init__("This vault already belongs to another account: a vault joins one "
                         "account, once.")


@dataclass(frozen=True)
class Binding:
    account_user_id: str
    account_team_id: str
    local_user_id: str
    local_team_id: str
    bound_at: str  # UTC
    store_url: str | None
    device_token: str | None


@dataclass(frozen=True)
class StoreTip:
    device_id: str
    user_id: str
    device_seq: int
    hash: bytes | None
    signature: bytes | None
    revoked: bool
    checked_at: str


@dataclass(frozen=True)
class RefusedChange:
    """A change made on this device that the team's store refused: kept, readable, and
    counted in no projection."""

    event: SignedEvent
    reason_code: str  # the store's code (``not_assignee``, ``not_owner`` …)
    refused_at: str  # UTC, when this device learnt it

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def followup_id(self) -> str | None:
        return self.event.entity_id if self.event.entity == "followup" else None

    @property
    def made_at(self) -> str:
        """When it was made, local time (as the history shows versions)."""
        return hlc_local_iso(self.event.hlc)

    @property
    def refused_local(self) -> str:
        """When this device learnt of the refusal, local time (Sync details' "held since")."""
        return local_iso(self.refused_at)

    def _body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.event.payload)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @property
    def note(self) -> str:
        """What its author wrote with it: a correction's or withdrawal's reason, an outcome,
        why a follow-up was cancelled or moved."""
        body = self._body()
        for key in ("outcome", "reason"):
            if isinstance(body.get(key), str):
                return str(body[key])
        return ""

    @property
    def record(self) -> DecisionRecord | None:
        """The whole record a refused creation or correction carried (else None)."""
        data = self._body().get("record")
        try:
            return DecisionRecord.from_dict(data) if isinstance(data, dict) else None
        except (TypeError, ValueError, KeyError):
            return None

    @property
    def due_date(self) -> str:
        value = self._body().get("due_date")
        return value if isinstance(value, str) else ""


def _set_aside(conn: Connection, ev: SignedEvent) -> ChangeSet:
    """The refused event stops counting here: its record is projected again from its
    counted events (``store.COUNTED``), so it shows what the store and the team hold,
    and pulled events apply on top of that. A refused creation leaves no record."""
    applied = reproject_record(conn, ev.record_id)
    shown = ChangeSet(records=frozenset((ev.record_id,)), quarantine=True,
                      followups=frozenset((ev.entity_id,)) if ev.entity == "followup"
                      else frozenset())
    return ChangeSet.of(applied) | shown


class SyncLocal:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    # -- the account -------------------------------------------------------------------------
    def binding(self) -> Binding | None:
        ident = self.unit.identity

        def read(conn: Connection) -> Binding | None:
            state = store.sync_state_get(conn)
            if not state.get("account_user_id"):
                return None
            return Binding(state["account_user_id"], state["account_team_id"],
                           ident.local_user_id, ident.local_team_id, state["bound_at"],
                           state["store_url"], state["device_token"])
        return self.unit.read(read)

    def record_binding(self, *, account_user_id: str, account_team_id: str,
                       display_name: str | None = None, store_url: str | None = None,
                       device_token: str | None = None, role: str | None = None) -> ChangeSet:
        """After the first sign-in (``StoreClient.enrol``): new events carry the account's
        user and team ids; the vault's local ids stay the same person. Signing in again to
        the same account replaces the token; another account raises ``AlreadyBound``.
        ``role`` is the account's role on the store (``Enrolment.role``: "practitioner",
        "manager"): what the window offers (a manager's Team view) follows it."""
        unit = self.unit
        if not account_user_id or not account_team_id:
            raise ValueError("an account needs its user and team ids")
        with unit.write() as w:
            state = store.sync_state_get(w.conn)
            bound = state.get("account_user_id")
            if bound and (bound, state.get("account_team_id")) != (
                    account_user_id, account_team_id):
                raise AlreadyBound()
            values: dict[str, object] = {"account_user_id": account_user_id,
                                         "account_team_id": account_team_id}
            if not bound:
                values["bound_at"] = dt.datetime.fromtimestamp(
                    unit.clock.time(), dt.UTC).isoformat(timespec="seconds")
            if store_url is not None:
                values["store_url"] = store_url
            if device_token is not None:
                values["device_token"] = device_token
            store.sync_state_set(w.conn, **values)
            users = dict(unit.users)
            users.setdefault(account_user_id, display_name or unit.identity.display_name)
            store.meta_set(w.conn, "users", json.dumps(users, sort_keys=True))
            roles = dict(unit.roles)
            if role:
                roles[account_user_id] = role
                store.meta_set(w.conn, "roles", json.dumps(roles, sort_keys=True))
            w.note(ChangeSet(sync=True))
        unit.users = users
        unit.roles = roles
        unit.bind(account_user_id, account_team_id)
        return w.changes

    def learn_people(self, names: Mapping[str, str],
                     aliases: Mapping[str, str] | None = None,
                     roles: Mapping[str, str] | None = None) -> None:
        """Names of the team's members (``GET /v1/me``), so history says who wrote what;
        ``aliases`` (a local id -> the account id) name a colleague's older events too and
        say which older records are one person's; ``roles`` (user id -> "practitioner" |
        "manager", ``Me.members``) say who is in the team and who manages it."""
        unit = self.unit
        with unit.write() as w:
            users = dict(unit.users)
            users.update(names)
            for local, account in (aliases or {}).items():
                if account in users:
                    users.setdefault(local, users[account])
            store.meta_set(w.conn, "users", json.dumps(users, sort_keys=True))
            known_aliases = {**unit.aliases, **(aliases or {})}
            known_roles = {**unit.roles, **(roles or {})}
            if aliases:
                store.meta_set(w.conn, "aliases", json.dumps(known_aliases, sort_keys=True))
            if roles:
                store.meta_set(w.conn, "roles", json.dumps(known_roles, sort_keys=True))
        unit.users, unit.aliases, unit.roles = users, known_aliases, known_roles

    # -- pulling -------------------------------------------------------------------------------
    def cursor(self) -> int:
        """Where the next pull starts (``StoreClient.pull(since=...)``)."""
        return self.unit.read(lambda c: int(store.sync_state_get(c)["last_pulled_seq"]))

    # -- pushing -------------------------------------------------------------------------------
    def outbox(self, limit: int = 500) -> list[SignedEvent]:
        """This device's events not yet confirmed by the store, in chain order."""
        return self.unit.read(
            lambda c: [event_from_row(r) for r in store.outbox_events(c, limit)])

    def pending(self) -> int:
        return self.unit.read(store.outbox_count)

    def record_push(self, outcomes: Iterable[Outcome]) -> ChangeSet:
        """The store's answer to a push, per event (``app.sync.transport.PushOutcome``):
        stored ones leave the outbox with their store sequence; a refused one leaves it
        too, and stays in the vault in quarantine with the store's reason code."""
        when = dt.datetime.fromtimestamp(self.unit.clock.time(), dt.UTC).isoformat(
            timespec="seconds")
        with self.unit.write() as w:
            for outcome in outcomes:
                event_id, seq, status, reason = (outcome.event_id, outcome.seq,
                                                 outcome.status, outcome.reason)
                if seq is not None:
                    store.event_set_store_seq(w.conn, event_id, seq)
                store.outbox_remove(w.conn, event_id)
                if status == "refused":
                    row = store.event_row(w.conn, event_id)
                    if row is None:
                        continue
                    ev = event_from_row(row)
                    store.quarantine_put(w.conn, (
                        ev.event_id, ev.hash, REFUSED_BY_STORE, reason or "refused",
                        "The team's store refused this change; it is kept on this device.",
                        ev.device_id, ev.device_seq, ev.record_id, "", seq, 1,
                        canonical(to_wire(ev)), when))
                    w.note(_set_aside(w.conn, ev))
            w.note(ChangeSet(sync=True))
        return w.changes

    def record_refusal(self, event_id: str, code: str) -> ChangeSet:
        """The store refused one of this device's events (``EventRejected`` with
        ``acknowledgeable``): it is kept in quarantine with the code, stays in the vault and
        in the outbox, and the next push names it in ``acknowledged_refusals()`` so the
        store records the refusal and the events after it go on. From now on it no longer
        counts in this vault's projection (``_set_aside``): the record shows what the team
        has; the change names it (records, follow-ups) so the window shows it again."""
        when = dt.datetime.fromtimestamp(self.unit.clock.time(), dt.UTC).isoformat(
            timespec="seconds")
        with self.unit.write() as w:
            row = store.event_row(w.conn, event_id)
            if row is None:
                raise KeyError(event_id)
            ev = event_from_row(row)
            store.quarantine_put(w.conn, (
                ev.event_id, ev.hash, REFUSED_BY_STORE, code,
                "The team's store refused this change; it is kept on this device.",
                ev.device_id, ev.device_seq, ev.record_id, "", None, 1,
                canonical(to_wire(ev)), when))
            w.note(_set_aside(w.conn, ev))
        return w.changes

    def set_aside_refused(self) -> ChangeSet:
        """Once per vault: records whose refusals were kept by an earlier Sharelog, which
        still counted them, are projected again without them, so the record shows what the
        team has and the check does not call that drift (the engine calls this first)."""
        if self.unit.read(lambda c: store.meta_get(c, SET_ASIDE_KEY)):
            return NOTHING
        with self.unit.write() as w:
            for rid in store.records_with_refusals(w.conn):
                w.note(ChangeSet.of(reproject_record(w.conn, rid))
                       | ChangeSet(records=frozenset((rid,))))
            store.meta_set(w.conn, SET_ASIDE_KEY, 1)
        return w.changes

    def acknowledged_refusals(self) -> list[str]:
        """Refused events still in the outbox: what the next push acknowledges."""
        return self.unit.read(store.outbox_refused)

    def refused_in(self, record_id: str) -> list[RefusedChange]:
        """The changes of ``record_id`` made here that the team's store refused, oldest
        first: what the record's pane says beside it (content for the screen only)."""
        rows = self.unit.read(lambda c: store.refused_for_record(c, record_id))
        return [RefusedChange(event_from_row(r[:-2]), str(r[-2]), str(r[-1])) for r in rows]

    # -- the store's view of the chains --------------------------------------------------------
    def save_store_tips(self, tips: Iterable[StoreTip]) -> None:
        with self.unit.write() as w:
            for t in tips:
                store.store_tip_put(w.conn, t.device_id, t.user_id, t.device_seq, t.hash,
                                    t.signature, t.revoked, t.checked_at)

    def store_tips(self) -> list[StoreTip]:
        rows = self.unit.read(store.store_tips)
        return [StoreTip(r[0], r[1], int(r[2]), None if r[3] is None else bytes(r[3]),
                         None if r[4] is None else bytes(r[4]), bool(r[5]), r[6]) for r in rows]

    # -- quarantine ----------------------------------------------------------------------------
    def quarantined(self, statuses: tuple[str, ...] = (REFUSED, "waiting", "newer",
                                                        REFUSED_BY_STORE)
                    ) -> list[Quarantined]:
        """Events kept aside with why, oldest first (what a window shows; no content)."""
        rows = self.unit.read(lambda c: store.quarantine_by_status(c, statuses))
        return [Quarantined(r[0], r[5], int(r[6]), r[7], r[2], r[3], r[4], r[12]) for r in rows]
