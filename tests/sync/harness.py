"""A team on a real store and four real vaults: the convergence harness for the sync engine.

For the engineer writing the client's sync engine (``app/sync/``), what is here and how
your engine plugs in:

What the harness builds (``Harness(store, root)``):

- **The team**, through server code in one transaction (``create_team``): an
  organisation, a team, practitioners ``pat`` and ``paula``, manager ``mo``
  (``Harness.members``: username, password, account id, role).
- **Four devices** (``Harness.devices``, ``harness.device(name)``): ``pat-laptop`` and
  ``pat-tablet`` (Pat on two devices), ``paula-laptop``, ``mo-laptop``. Each is a real vault
  made by ``app.session.create_vault`` in its own folder (``device.home``, what
  ``SHARELOG_HOME`` would be for that device's process), made offline first, as a
  practitioner's is, then **enrolled**: ``StoreClient.enrol`` with the vault's device id,
  public key and local user and team ids, read from the vault through ``db.store``
  (read-only). The store binds each vault's local ids to the account (``me().aliases``).
- ``device.client`` talks to ``address`` (default the store; give a ``FaultProxy``'s
  ``base_url`` to put the faults of tests/sync/faultproxy.py between every device and the
  store). The harness's own view of the store (``store_view``) always goes direct, so a
  fault never disturbs what a test asserts.

Plugging the engine in (two callables; the harness calls nothing else of yours):

- ``sync_once(device) -> object``: sync that device once, however your engine does it
  (``device.service`` is the unlocked ``Sharelog``, ``device.client`` its ``StoreClient``,
  ``device.home`` its folder). Pass it as ``Harness(..., sync_once=...)``. Until you do,
  ``stand_in_sync`` runs: it pushes the vault's own chain after the store's tip and pulls
  pages **raw** into ``device.pulled`` (verified with ``GET /v1/devices`` keys, never
  applied: applying is your ingest path's job).
- ``sign_in(device, member) -> Enrolment`` (optional): when the engine keeps the device
  token inside the vault, enrol through your sign-in instead of ``StoreClient.enrol``, so
  the token lands where the engine looks for it. Default: ``enrol_device``.

Comparing (what "converged" means):

- ``vault_projection(service)``: a ``ProjectionDigest`` of what the device's screens read
  (each record's decision row, follow-up rows and search row, through
  ``app.projection.read_stored``).
- ``events_projection(events)``: the same digest of what ``app.projection.project_record``
  makes of a set of events: here, the events the store lets that device see
  (``store_view``: a full pull from 0 in the device's scope, practitioner ``own``, manager
  ``team``).
- ``harness.differences()``: per device, the record ids whose digest differs from the
  store's view for that device (ids only: no content in a failing test's output);
  ``harness.assert_converged()`` fails naming them. Both sides use the projection's own
  functions, so when the projection changes (conflicts, new columns) the two functions
  above are the only place to follow it.
- ``harness.store_event_ids()`` (every event the store holds for the team) and
  ``vault_event_ids(service)`` for "no event lost, none stored twice".

What the stand-in leaves to you: applying pulled events (the ingest path); the cursor and
the store's tip kept in the vault (the stand-in keeps ``device.cursor`` and
``device.pushed_upto`` in memory); the random operations of the convergence run (300 per
device, offline corrections, reassignments: a reassignment needs v2 events from the
client). The stand-in reads the vault's chain through ``tests.server.vaults.vault_events``
(v1 rows today): when the vault's events become v2, that one function follows. A change
the store refused (quarantine) is in its vault but not in the store's view, so it shows
in ``differences()`` until your engine decides how the projection shows it.

Cost: a harness takes about 2.5 s to build on the shared 2 cores (four vaults, each a
scrypt; seven quick Argon2 hashes), so build one per scenario, not per assertion.

SIGKILL tests: ``device.lock()`` closes the vault so a child process can open the same
folder (``SHARELOG_HOME=device.home``, passphrase ``PASSPHRASE``); ``device.unlock()``
opens it here again. ``harness.close()`` locks every vault and closes every client.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import session
from app.envelope import SignedEvent, verify_event
from app.projection import Change, project_record, read_stored
from app.service import Sharelog
from app.sync.transport import Enrolment, PulledEvent, StoreClient
from db import store as vault_store
from server import accounts
from server.database import make_engine, writing
from server.process import StoreProcess
from tests.server.vaults import vault_events
from tests.stores import quick_password_hashes

PASSPHRASE = "correct horse battery staple"  # every harness vault's
PASSWORD = "a long enough password"  # every harness member's
DEVICES = (("pat-laptop", "pat"), ("pat-tablet", "pat"), ("paula-laptop", "paula"),
           ("mo-laptop", "mo"))
ROLES = {"pat": "practitioner", "paula": "practitioner", "mo": "manager"}


# -- the team ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    name: str  # "pat"
    username: str
    password: str
    user_id: str
    role: str


@dataclass(frozen=True)
class TeamOnStore:
    org_name: str
    team_id: str
    members: dict[str, Member]


def create_team(database_url: str) -> TeamOnStore:
    """An organisation, a team and its members, straight into the store's database (the
    admin CLI calls the same functions). Names are unique per call: many teams share a
    store."""
    prefix = f"h{uuid.uuid4().hex[:8]}"
    org_name = f"Harness council {prefix}"
    engine = make_engine(database_url)
    try:
        with quick_password_hashes(), writing(engine) as conn:
            accounts.create_organisation(conn, org_name)
            team_id = accounts.create_team(conn, org_name, "Harness team")
            members = {}
            for name, role in ROLES.items():
                username = f"{prefix}-{name}"
                user_id = accounts.create_user(conn, team_id, username, name.title(), role,
                                               PASSWORD)
                members[name] = Member(name, username, PASSWORD, user_id, role)
    finally:
        engine.dispose()
    return TeamOnStore(org_name, team_id, members)


# -- devices -----------------------------------------------------------------------------

@dataclass
class HarnessDevice:
    name: str
    member: Member
    home: Path
    service: Sharelog
    client: StoreClient
    device_id: str
    local_user_id: str
    local_team_id: str
    public_key: bytes
    enrolment: Enrolment | None = None
    # The stand-in's state (an engine keeps its own, in the vault):
    pushed_upto: int = 0  # the store's tip of this device's chain
    cursor: int = 0
    pulled: dict[str, PulledEvent] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return "team" if self.member.role == "manager" else "own"

    def lock(self) -> None:
        if not self.service.is_locked:
            self.service.lock()

    def unlock(self) -> None:
        if self.service.is_locked:
            self.service = session.unlock(PASSPHRASE, base=self.home)


def vault_identity(service: Sharelog) -> tuple[str, str, str, bytes]:
    """(device id, local user id, local team id, device public key), read from the vault."""
    meta = vault_store.meta_all(service.vault.conn)
    device_id = str(meta["device_id"])
    public_key = vault_store.device_keys(service.vault.conn)[device_id]
    return device_id, str(meta["user_id"]), str(meta["team_id"]), public_key


def enrol_device(device: HarnessDevice, member: Member) -> Enrolment:
    return device.client.enrol(
        username=member.username, password=member.password, device_id=device.device_id,
        public_key=device.public_key, device_label=device.name,
        local_user_id=device.local_user_id, local_team_id=device.local_team_id)


SyncOnce = Callable[[HarnessDevice], object]
SignIn = Callable[[HarnessDevice, Member], Enrolment]


@dataclass(frozen=True)
class StandInReport:
    pushed: int
    pulled: int


def stand_in_sync(device: HarnessDevice) -> StandInReport:
    """What can be done before the engine exists: push the vault's own chain after the
    store's tip, then pull pages raw (verified, not applied)."""
    chain = [e for e in vault_events(device.service) if e.device_seq > device.pushed_upto]
    limit = device.client.info().max_batch_events
    for start in range(0, len(chain), limit):
        result = device.client.push(chain[start:start + limit])
        device.pushed_upto = result.tip.device_seq
    keys: dict[str, bytes] = {}
    pulled = 0
    while True:
        page = device.client.pull(device.cursor, scope=device.scope)
        for item in page.events:
            if item.event.device_id not in keys:
                keys = {d.device_id: d.public_key for d in device.client.devices()}
            verify_event(item.event, keys[item.event.device_id])
            pulled += item.event.event_id not in device.pulled
            device.pulled[item.event.event_id] = item
        device.cursor = page.next_since
        if not page.has_more:
            return StandInReport(len(chain), pulled)


# -- digests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectionDigest:
    """A digest per record of what its projection holds, and one over all of them."""

    records: dict[str, str]

    @property
    def value(self) -> str:
        return hashlib.sha256(json.dumps(sorted(self.records.items())).encode()).hexdigest()

    def differing(self, other: ProjectionDigest) -> list[str]:
        """Record ids held by one side only, or held differently."""
        ids = set(self.records) | set(other.records)
        return sorted(r for r in ids if self.records.get(r) != other.records.get(r))


def _digest(rows: Any) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=repr).encode()).hexdigest()


def vault_projection(service: Sharelog) -> ProjectionDigest:
    """What the device's screens read, record by record (its rows in the vault)."""
    conn = service.vault.conn
    snapshot = vault_store.projection_snapshot(conn)
    ids = {r[0] for r in snapshot["decisions"]} | {r[1] for r in snapshot["followups"]}
    records = {}
    for rid in ids:
        stored = read_stored(conn, rid)
        records[rid] = _digest([
            list(stored.decision) if stored.decision is not None else None,
            [list(stored.followups[k]) for k in sorted(stored.followups)],
            [list(row[1:]) for row in stored.search_rows]])  # without the local rowid
    return ProjectionDigest(records)


def events_projection(events: Iterable[Change]) -> ProjectionDigest:
    """What ``project_record`` makes of a set of events, in the rows a vault would hold."""
    by_record: dict[str, list[Change]] = {}
    for ev in events:
        by_record.setdefault(ev.record_id, []).append(ev)
    records = {}
    for rid, evs in by_record.items():
        state = project_record(evs)
        decision = state.decision
        records[rid] = _digest([
            list(decision.values()) if decision is not None else None,
            [list(v) for v in state.followup_values()],
            [] if decision is None else [[rid, *decision.search()]]])
    return ProjectionDigest(records)


def vault_event_ids(service: Sharelog) -> list[str]:
    """Every event the vault holds (own and pulled), with repeats if any."""
    return [bytes(row[1]).decode() for row in vault_store.events_raw_by_device(service.vault.conn)]


# -- the harness -------------------------------------------------------------------------

class Harness:
    """A team on ``store`` and its four devices; see the module's docstring."""

    def __init__(self, store: StoreProcess, root: Path, *, address: str | None = None,
                 sync_once: SyncOnce | None = None, sign_in: SignIn | None = None) -> None:
        self.store = store
        self.address = address or store.base_url
        self._sync_once = sync_once or stand_in_sync
        self.team = create_team(store.url)
        self.members = self.team.members
        self.devices: dict[str, HarnessDevice] = {}
        try:
            for name, member in DEVICES:
                device = self._make_device(root / name, name, self.members[member])
                self.devices[name] = device
                device.enrolment = (sign_in or enrol_device)(device, device.member)
                device.pushed_upto = device.enrolment.tip.device_seq
        except BaseException:
            self.close()
            raise

    def _make_device(self, home: Path, name: str, member: Member) -> HarnessDevice:
        home.mkdir(parents=True)
        service = session.create_vault(member.name.title(), PASSPHRASE, base=home)
        device_id, local_user, local_team, public_key = vault_identity(service)
        return HarnessDevice(name, member, home, service, StoreClient(self.address),
                             device_id, local_user, local_team, public_key)

    def device(self, name: str) -> HarnessDevice:
        return self.devices[name]

    def sync_once(self, name: str) -> object:
        """Sync one device once: the engine's ``sync_once``, or the stand-in."""
        return self._sync_once(self.devices[name])

    def sync_all(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            for name in self.devices:
                self.sync_once(name)

    # -- the store's view (always direct, never through the proxy) --------------------------
    def store_view(self, name: str) -> list[SignedEvent]:
        """Every event the store lets this device see, each once, in sequence order."""
        device = self.devices[name]
        with StoreClient(self.store.base_url, device.client.token) as direct:
            seen: dict[str, tuple[int, SignedEvent]] = {}
            since = 0
            while True:
                page = direct.pull(since, limit=1000, scope=device.scope)
                for item in page.events:
                    seen.setdefault(item.event.event_id, (item.seq, item.event))
                since = page.next_since
                if not page.has_more:
                    break
        return [ev for _, ev in sorted(seen.values(), key=lambda pair: pair[0])]

    def store_event_ids(self) -> list[str]:
        """Every event the store holds for the team (through the manager's device)."""
        return [ev.event_id for ev in self.store_view("mo-laptop")]

    def store_projection(self, name: str) -> ProjectionDigest:
        return events_projection(self.store_view(name))

    def projection(self, name: str) -> ProjectionDigest:
        return vault_projection(self.devices[name].service)

    def differences(self) -> dict[str, list[str]]:
        """Per device that has not converged: the record ids that differ."""
        found = {}
        for name in self.devices:
            differing = self.projection(name).differing(self.store_projection(name))
            if differing:
                found[name] = differing
        return found

    def assert_converged(self) -> None:
        differences = self.differences()
        assert not differences, "not converged (device: record ids): " + "; ".join(
            f"{name}: {', '.join(ids)}" for name, ids in differences.items())

    def close(self) -> None:
        for device in self.devices.values():
            device.lock()
            device.client.close()
