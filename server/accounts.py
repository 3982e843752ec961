"""Organisations, teams, users, devices, sign-in and the audit log.

The admin CLI and the HTTP API both call these; each takes a connection inside the
caller's transaction. Passwords are Argon2id; device tokens are random and only their
SHA-256 is stored (a token has 256 random bits, so a slow hash would add nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update

from server import schema as s
from server.database import Batch
from server.errors import StoreError, forbidden, unauthorised

TOKEN_PREFIX = "sld1"
# Sign-in rate limits: within any 15 minutes, 5 failed attempts for one username, or
# 30 from one network address, and that username or address must wait until the oldest
# of those failures is 15 minutes old. A successful sign-in clears the username's count.
FAILURE_WINDOW_S = 15 * 60
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 30

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory)
_DUMMY_HASH = _hasher.hash("sharelog: a password nobody has")


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    MANAGER = "manager"
    ADMIN = "admin"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    return str(uuid.uuid4())


class AdminError(Exception):
    """A CLI request that cannot be carried out; its text is safe to print."""


# -- directory -----------------------------------------------------------------------

def create_organisation(conn: Connection, name: str) -> str:
    name = name.strip()
    if not name:
        raise AdminError("An organisation needs a name.")
    if conn.execute(select(s.organisations.c.org_id).where(
            s.organisations.c.name == name)).first():
        raise AdminError("An organisation with that name already exists.")
    org_id = new_id()
    conn.execute(insert(s.organisations).values(org_id=org_id, name=name, created_at=now_iso()))
    audit(conn, s.NO_TEAM, "admin.create_organisation", outcome="ok")
    return org_id


def find_organisation(conn: Connection, ref: str) -> str:
    row = conn.execute(select(s.organisations.c.org_id).where(
        (s.organisations.c.org_id == ref) | (s.organisations.c.name == ref))).first()
    if row is None:
        raise AdminError("No organisation has that name or id.")
    return str(row[0])


def create_team(conn: Connection, organisation: str, name: str) -> str:
    org_id = find_organisation(conn, organisation)
    name = name.strip()
    if not name:
        raise AdminError("A team needs a name.")
    if conn.execute(select(s.teams.c.team_id).where(
            and_(s.teams.c.org_id == org_id, s.teams.c.name == name))).first():
        raise AdminError("That organisation already has a team with that name.")
    team_id = new_id()
    conn.execute(insert(s.teams).values(team_id=team_id, org_id=org_id, name=name,
                                        created_at=now_iso()))
    conn.execute(insert(s.team_cursor).values(team_id=team_id, last_seq=0))
    audit(conn, team_id, "admin.create_team", outcome="ok")
    return team_id


def find_team(conn: Connection, ref: str) -> str:
    row = conn.execute(select(s.teams.c.team_id).where(
        (s.teams.c.team_id == ref) | (s.teams.c.name == ref))).all()
    if len(row) != 1:
        raise AdminError("No single team has that name or id (give its id).")
    return str(row[0][0])


def create_user(conn: Connection, team: str, username: str, display_name: str, role: str,
                password: str) -> str:
    team_id = find_team(conn, team)
    username = normalise_username(username)
    if not username or not display_name.strip():
        raise AdminError("A user needs a username and a display name.")
    if role not in {r.value for r in Role}:
        raise AdminError("The role must be practitioner, manager or admin.")
    check_password_strength(password)
    if conn.execute(select(s.users.c.user_id).where(s.users.c.username == username)).first():
        raise AdminError("That username is taken.")
    user_id = new_id()
    conn.execute(insert(s.users).values(
        user_id=user_id, team_id=team_id, username=username, display_name=display_name.strip(),
        role=role, password_hash=_hasher.hash(password), created_at=now_iso()))
    audit(conn, team_id, "admin.create_user", user_id=user_id, outcome="ok")
    return user_id


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise AdminError("A password needs at least 10 characters.")


def normalise_username(username: str) -> str:
    return username.strip().lower()


def reset_password(conn: Connection, username: str, password: str) -> None:
    check_password_strength(password)
    row = conn.execute(select(s.users.c.user_id, s.users.c.team_id).where(
        s.users.c.username == normalise_username(username))).first()
    if row is None:
        raise AdminError("No user has that username.")
    conn.execute(update(s.users).where(s.users.c.user_id == row[0]).values(
        password_hash=_hasher.hash(password)))
    audit(conn, row[1], "admin.reset_password", user_id=row[0], outcome="ok")


@dataclass(frozen=True)
class DeviceRow:
    team_id: str
    device_id: str
    user_id: str
    username: str
    label: str
    enrolled_at: str
    revoked_at: str | None
    last_seen_at: str | None
    tip_seq: int


def list_devices(conn: Connection, team: str | None = None) -> list[DeviceRow]:
    query = (select(s.devices.c.team_id, s.devices.c.device_id, s.devices.c.user_id,
                    s.users.c.username, s.devices.c.label, s.devices.c.enrolled_at,
                    s.devices.c.revoked_at, s.devices.c.last_seen_at, s.devices.c.tip_seq)
             .join(s.users, s.users.c.user_id == s.devices.c.user_id)
             .order_by(s.devices.c.team_id, s.devices.c.enrolled_at))
    if team:
        query = query.where(s.devices.c.team_id == find_team(conn, team))
    return [DeviceRow(*tuple[Any, ...](r)) for r in conn.execute(query).all()]


@dataclass(frozen=True)
class TeamDevice:
    device_id: str
    user_id: str
    public_key: bytes
    revoked_at: str | None


def team_devices(conn: Connection, team_id: str) -> list[TeamDevice]:
    """Every device of the team, revoked ones too: their accepted events stay in the team's
    history, and a record can come into a device's scope later with all of it."""
    d = s.devices
    rows = conn.execute(select(d.c.device_id, d.c.user_id, d.c.public_key, d.c.revoked_at)
                        .where(d.c.team_id == team_id)
                        .order_by(d.c.enrolled_at, d.c.device_id))
    return [TeamDevice(r[0], r[1], bytes(r[2]), r[3]) for r in rows]


def revoke_device(conn: Connection, device_id: str) -> None:
    rows: list[Any] = list(conn.execute(select(s.devices.c.team_id, s.devices.c.user_id).where(
        s.devices.c.device_id == device_id)).all())
    if not rows:
        raise AdminError("No device has that id.")
    for team_id, user_id in rows:
        conn.execute(update(s.devices).where(and_(
            s.devices.c.team_id == team_id, s.devices.c.device_id == device_id,
            s.devices.c.revoked_at.is_(None))).values(revoked_at=now_iso()))
        audit(conn, team_id, "admin.revoke_device", user_id=user_id, device_id=device_id,
              outcome="ok")


# -- audit ---------------------------------------------------------------------------

def audit(conn: Connection, team_id: str, action: str, *, user_id: str | None = None,
          device_id: str | None = None, count: int = 0, outcome: str = "ok",
          commit: bool = False) -> None:
    """Who, which device, when, how many events, and the outcome's code: never content.
    ``commit``: the transaction's last statement, sent with its COMMIT (``Batch``)."""
    writes = Batch(conn)
    writes.add(AUDIT, audit_params(team_id, action, user_id=user_id, device_id=device_id,
                                   count=count, outcome=outcome), prepare=True)
    writes.run(commit=commit)


def audit_params(team_id: str, action: str, *, user_id: str | None = None,
                 device_id: str | None = None, count: int = 0,
                 outcome: str = "ok") -> dict[str, Any]:
    """The row ``audit`` writes, for a ``Batch`` of ``AUDIT``."""
    return dict(team_id=team_id, audit_id=new_id(), at=now_iso(), action=action,
                user_id=user_id, device_id=device_id, event_count=count, outcome=outcome[:64])


# Statements on every request are built once: SQLAlchemy then reuses their cache keys.
AUDIT = insert(s.audit_log)


@dataclass(frozen=True)
class AuditRow:
    at: str
    team_id: str
    action: str
    user_id: str | None
    device_id: str | None
    event_count: int
    outcome: str


def read_audit(conn: Connection, team: str | None = None, limit: int = 100) -> list[AuditRow]:
    query = select(s.audit_log.c.at, s.audit_log.c.team_id, s.audit_log.c.action,
                   s.audit_log.c.user_id, s.audit_log.c.device_id, s.audit_log.c.event_count,
                   s.audit_log.c.outcome)
    if team:
        query = query.where(s.audit_log.c.team_id == find_team(conn, team))
    rows = conn.execute(query.order_by(s.audit_log.c.at.desc()).limit(limit)).all()
    return [AuditRow(*tuple[Any, ...](r)) for r in rows]


# -- sign-in and enrolment ------------------------------------------------------------

def _failures(conn: Connection, subject: str, since: int) -> list[int]:
    rows = conn.execute(select(s.sign_in_failures.c.failed_at).where(and_(
        s.sign_in_failures.c.team_id == s.NO_TEAM, s.sign_in_failures.c.subject == subject,
        s.sign_in_failures.c.failed_at > since)).order_by(s.sign_in_failures.c.failed_at))
    return [int(r[0]) for r in rows]


def check_rate(conn: Connection, username: str, address: str) -> None:
    """Refuses an attempt over the limits; run with ``record_failure`` in one transaction.

    On PostgreSQL a transaction lock per username and per address (always in that order)
    makes the count and the new attempt one step, so parallel guesses cannot all pass;
    SQLite's write transactions are already one at a time."""
    now = int(time.time())
    since = now - FAILURE_WINDOW_S
    for subject, limit in ((f"user:{username}", MAX_FAILURES_PER_USERNAME),
                           (f"addr:{address}", MAX_FAILURES_PER_ADDRESS)):
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(subject))))
        failures = _failures(conn, subject, since)
        if len(failures) >= limit:
            wait = max(1, failures[-limit] + FAILURE_WINDOW_S - now)
            raise StoreError(429, "rate_limited",
                             "Too many failed sign-in attempts: wait, then try again.",
                             retry_after=wait)


def record_failure(conn: Connection, username: str, address: str) -> list[str]:
    """Count an attempt as failed; returns its rows' ids (``forget_attempt`` on success).

    An attempt is counted *before* its password is checked, so parallel guesses see each
    other, and the slow hash runs outside any transaction."""
    now = int(time.time())
    ids = []
    for subject in (f"user:{username}", f"addr:{address}"):
        ids.append(new_id())
        conn.execute(insert(s.sign_in_failures).values(
            team_id=s.NO_TEAM, failure_id=ids[-1], subject=subject[:128], failed_at=now))
    # Keep the table small: failures older than the window no longer count.
    conn.execute(delete(s.sign_in_failures).where(and_(
        s.sign_in_failures.c.team_id == s.NO_TEAM,
        s.sign_in_failures.c.failed_at < now - FAILURE_WINDOW_S)))
    return ids


def forget_attempt(conn: Connection, ids: list[str]) -> None:
    conn.execute(delete(s.sign_in_failures).where(and_(
        s.sign_in_failures.c.team_id == s.NO_TEAM, s.sign_in_failures.c.failure_id.in_(ids))))


def clear_failures(conn: Connection, username: str) -> None:
    conn.execute(delete(s.sign_in_failures).where(and_(
        s.sign_in_failures.c.team_id == s.NO_TEAM,
        s.sign_in_failures.c.subject == f"user:{username}")))


@dataclass(frozen=True)
class Account:
    user_id: str
    team_id: str
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class Candidate:
    """The account a username names (or none), with its password hash."""

    account: Account | None
    password_hash: str


def find_account(conn: Connection, username: str) -> Candidate:
    row = conn.execute(select(s.users.c.user_id, s.users.c.team_id, s.users.c.username,
                              s.users.c.display_name, s.users.c.role, s.users.c.password_hash)
                       .where(s.users.c.username == normalise_username(username))).first()
    if row is None:  # the same work follows whether or not the user exists
        return Candidate(None, _DUMMY_HASH)
    return Candidate(Account(row[0], row[1], row[2], row[3], row[4]), row[5])


def check_password(candidate: Candidate, password: str) -> Account | None:
    """Argon2id verification (slow on purpose): call it outside any transaction."""
    try:
        _hasher.verify(candidate.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return candidate.account


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token(team_id: str) -> str:
    # The team rides in the token so it is looked up where the team's rows live.
    return f"{TOKEN_PREFIX}.{team_id}.{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Enrolment:
    token: str
    account: Account
    team_name: str
    organisation: str
    bound_local_user_id: str | None
    tip_seq: int
    tip_hash: bytes | None
    tip_signature: bytes | None


def enrol(conn: Connection, *, account: Account, device_id: str, public_key: bytes, label: str,
          local_user_id: str | None, local_team_id: str | None) -> Enrolment:
    """Register (or re-register) the device and bind a pre-sign-in vault to the account."""
    if account.role == Role.ADMIN:
        raise forbidden("admin_cannot_enrol", "Administrators manage the store with the admin "
                        "tool; their accounts do not hold records.")
    if len(public_key) != 32:
        raise StoreError(422, "bad_public_key", "The device's public key must be 32 bytes.")
    _bind_vault(conn, account, device_id, local_user_id, local_team_id)
    token = new_token(account.team_id)
    existing = conn.execute(select(s.devices).where(s.devices.c.device_id == device_id)).all()
    for row in existing:
        if row.revoked_at is not None:
            raise forbidden("device_revoked", "This device was revoked by an administrator.")
        if row.team_id != account.team_id or row.user_id != account.user_id:
            raise forbidden("device_taken",
                             "This device already belongs to another account.")
        if bytes(row.public_key) != public_key:
            raise StoreError(409, "device_key_mismatch",
                             "This device was enrolled with another key.")
    if existing:
        conn.execute(update(s.devices).where(and_(
            s.devices.c.team_id == account.team_id, s.devices.c.device_id == device_id))
            .values(token_hash=token_hash(token), label=label[:200], last_seen_at=now_iso()))
    else:
        conn.execute(insert(s.devices).values(
            team_id=account.team_id, device_id=device_id, user_id=account.user_id,
            public_key=public_key, token_hash=token_hash(token), label=label[:200],
            enrolled_at=now_iso(), revoked_at=None, last_seen_at=now_iso(), tip_seq=0,
            tip_hash=None, tip_signature=None))
    tip = conn.execute(select(s.devices.c.tip_seq, s.devices.c.tip_hash,
                              s.devices.c.tip_signature).where(and_(
        s.devices.c.team_id == account.team_id, s.devices.c.device_id == device_id))).one()
    team_name, org_name = cast(tuple[str, str], conn.execute(
        select(s.teams.c.name, s.organisations.c.name)
        .join(s.organisations, s.organisations.c.org_id == s.teams.c.org_id)
        .where(s.teams.c.team_id == account.team_id)).one())
    audit(conn, account.team_id, "enrol", user_id=account.user_id, device_id=device_id)
    bound = local_user_id if local_user_id and local_user_id != account.user_id else None
    return Enrolment(token, account, team_name, org_name, bound, int(tip[0]),
                     bytes(tip[1]) if tip[1] is not None else None,
                     bytes(tip[2]) if tip[2] is not None else None)


def _bind_vault(conn: Connection, account: Account, device_id: str,
                local_user_id: str | None, local_team_id: str | None) -> None:
    """A vault joins one account, once: its local user id maps to this account for good."""
    if not local_user_id or local_user_id == account.user_id:
        return
    # The lookup spans teams (a vault must not join a second team either); enrolment is
    # rare, so a query across shards is acceptable where one on every push would not be.
    rows = conn.execute(select(s.bindings.c.user_id).where(
        s.bindings.c.local_user_id == local_user_id)).all()
    if any(r[0] != account.user_id for r in rows):
        raise StoreError(409, "vault_already_bound",
                         "This vault already joined another account; it can join only one.")
    taken = conn.execute(select(func.count()).select_from(s.users).where(
        s.users.c.user_id == local_user_id)).scalar_one()
    if taken:
        raise StoreError(409, "vault_already_bound", "This vault's local id is an account's.")
    if not rows:
        conn.execute(insert(s.bindings).values(
            team_id=account.team_id, local_user_id=local_user_id,
            local_team_id=local_team_id or "", user_id=account.user_id, device_id=device_id,
            bound_at=now_iso()))
        audit(conn, account.team_id, "bind_vault", user_id=account.user_id,
              device_id=device_id)


@dataclass(frozen=True)
class DeviceContext:
    """Who is calling, from the device token, and the store's tip of the device's chain."""

    team_id: str
    device_id: str
    user_id: str
    role: str
    public_key: bytes
    tip_seq: int = 0
    tip_hash: bytes | None = None
    tip_signature: bytes | None = None
    team_last_seq: int | None = None  # the team's counter, when asked for (``counter``)

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


def authenticate(conn: Connection, token: str | None, *, lock: bool = False,
                 counter: bool = False) -> DeviceContext:
    """The device behind ``token``. ``lock`` holds its row to the end of the transaction,
    so two pushes of one device (a retry overtaking its original) take turns. ``counter``
    reads the team's sequence counter in the same round trip (a pull's first read)."""
    params = token_params(token)
    reads = Batch(conn)
    found = reads.add(AUTH_LOCKED if lock else AUTH_COUNTED if counter else _AUTH, params,
                      prepare=True)
    reads.run()
    return device_context(found.first(), params["team"], counter=counter and not lock)


def token_params(token: str | None) -> dict[str, Any]:
    """The parameters of the ``_AUTH`` statements for ``token``; refuses a malformed one."""
    if not token:
        raise unauthorised("Sign in: this request carries no device token.")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) > s.ID:
        raise unauthorised()
    return {"team": parts[1], "token_hash": token_hash(token)}


def device_context(row: Any, team_id: str, *, counter: bool = False) -> DeviceContext:
    """The caller, from a row of the ``_AUTH`` statements (None: no such token)."""
    if row is None:
        raise unauthorised()
    if row.revoked_at is not None:
        raise forbidden("device_revoked", "This device was revoked by an administrator; "
                        "it can no longer sync.")
    return DeviceContext(team_id, row.device_id, row.user_id, row.role, bytes(row.public_key),
                         int(row.tip_seq), _bytes(row.tip_hash), _bytes(row.tip_signature),
                         int(row.team_last_seq) if counter else None)


_d = s.devices
_AUTH = (select(_d.c.device_id, _d.c.user_id, _d.c.public_key, _d.c.revoked_at, s.users.c.role,
                _d.c.tip_seq, _d.c.tip_hash, _d.c.tip_signature)
         .join(s.users, s.users.c.user_id == _d.c.user_id)
         .where(and_(_d.c.team_id == bindparam("team"),
                     _d.c.token_hash == bindparam("token_hash"))))
AUTH_LOCKED = _AUTH.with_for_update(of=_d)
AUTH_COUNTED = _AUTH.add_columns(select(s.team_cursor.c.last_seq).where(
    s.team_cursor.c.team_id == bindparam("team")).scalar_subquery().label("team_last_seq"))


def _bytes(value: object) -> bytes | None:
    return bytes(value) if value is not None else None  # type: ignore[call-overload]


def aliases(conn: Connection, team_id: str) -> dict[str, str]:
    """Bound local user ids of the team, to the account each belongs to."""
    rows = conn.execute(select(s.bindings.c.local_user_id, s.bindings.c.user_id).where(
        s.bindings.c.team_id == team_id))
    return {r[0]: r[1] for r in rows}


def local_teams(conn: Connection, team_id: str, user_id: str) -> set[str]:
    rows = conn.execute(select(s.bindings.c.local_team_id).where(and_(
        s.bindings.c.team_id == team_id, s.bindings.c.user_id == user_id)))
    return {r[0] for r in rows if r[0]}


def team_members(conn: Connection, team_id: str) -> list[tuple[str, str, str]]:
    rows = conn.execute(select(s.users.c.user_id, s.users.c.display_name, s.users.c.role)
                        .where(s.users.c.team_id == team_id).order_by(s.users.c.display_name))
    return [(r[0], r[1], r[2]) for r in rows]
