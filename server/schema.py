"""The store's tables (SQLAlchemy Core). Alembic migrations build exactly these.

Two kinds of table:

- *Directory* tables (organisations, teams, users) are small and change only when an
  administrator acts; on a distributed PostgreSQL (Citus) they become reference tables,
  copied to every node.
- Every table that grows with use is keyed by team: ``team_id`` leads its primary key
  and is in every unique constraint, so each can be distributed by ``team_id``.
  ``tests/server/test_schema.py`` checks both the metadata and the live catalog.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = 64  # ids are UUID text; app.envelope.MAX_ID_CHARS bounds what devices send
NO_TEAM = "00000000-0000-0000-0000-000000000000"  # audit rows and attempts with no team

organisations = Table(
    "organisations", metadata,
    Column("org_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
)

teams = Table(
    "teams", metadata,
    Column("team_id", String(ID), primary_key=True),
    Column("org_id", String(ID), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_teams_org_name"),
)

users = Table(
    "users", metadata,
    Column("user_id", String(ID), primary_key=True),
    Column("team_id", String(ID), nullable=False, index=True),
    Column("username", String(200), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", String(32), nullable=False),
)

DIRECTORY_TABLES = frozenset({"organisations", "teams", "users"})

team_cursor = Table(
    "team_cursor", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("team_id", name="pk_team_cursor"),
)

devices = Table(
    "devices", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("token_hash", LargeBinary, nullable=False),
    Column("label", String(200), nullable=False),
    Column("enrolled_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Column("last_seen_at", String(32)),
    Column("tip_seq", BigInteger, nullable=False),
    Column("tip_hash", LargeBinary),
    Column("tip_signature", LargeBinary),
    PrimaryKeyConstraint("team_id", "device_id", name="pk_devices"),
    UniqueConstraint("team_id", "token_hash", name="uq_devices_token"),
)

# A vault made before its first sign-in signs with random local ids; this is its binding.
bindings = Table(
    "bindings", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("local_user_id", String(ID), nullable=False),
    Column("local_team_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("bound_at", String(32), nullable=False),
    PrimaryKeyConstraint("team_id", "local_user_id", name="pk_bindings"),
)

events = Table(
    "events", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("entity_id", String(ID), nullable=False),
    Column("env_team_id", String(ID), nullable=False),
    Column("author_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("hlc", String(96), nullable=False),
    Column("parents", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("owner_id", String(ID), nullable=False),
    Column("assignee_id", String(ID), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    # Who the store attributes the event to (bound local ids resolved to the account).
    Column("author_user_id", String(ID), nullable=False),
    Column("received_at", String(32), nullable=False),
    PrimaryKeyConstraint("team_id", "seq", name="pk_events"),
    UniqueConstraint("team_id", "event_id", name="uq_events_event"),
    UniqueConstraint("team_id", "device_id", "device_seq", name="uq_events_device_seq"),
)

# A validly signed event the store refused for a reason of rights, acknowledged by its
# device so its chain can go on: only its envelope's hash and signature, never a payload.
refused_events = Table(
    "refused_events", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("refused_at", String(32), nullable=False),
    PrimaryKeyConstraint("team_id", "device_id", "device_seq", name="pk_refused_events"),
    UniqueConstraint("team_id", "event_id", name="uq_refused_events_event"),
)

records = Table(
    "records", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("owner_user_id", String(ID), nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("team_id", "record_id", name="pk_records"),
)

followups = Table(
    "followups", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("followup_id", String(ID), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("assignee_user_id", String(ID), nullable=False),
    PrimaryKeyConstraint("team_id", "followup_id", name="pk_followups"),
)

# When a user last came to see a record (as its owner, or given one of its follow-ups):
# a pull after an earlier cursor sends that record's whole history.
grants = Table(
    "grants", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("granted_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("team_id", "user_id", "record_id", name="pk_grants"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("audit_id", String(ID), nullable=False),
    Column("at", String(32), nullable=False),
    Column("action", String(40), nullable=False),
    Column("user_id", String(ID)),
    Column("device_id", String(ID)),
    Column("event_count", Integer, nullable=False),
    Column("outcome", String(64), nullable=False),
    PrimaryKeyConstraint("team_id", "audit_id", name="pk_audit_log"),
)

sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("team_id", String(ID), nullable=False),
    Column("failure_id", String(ID), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("failed_at", Integer, nullable=False),
    PrimaryKeyConstraint("team_id", "failure_id", name="pk_sign_in_failures"),
)

# Every index that serves a pull, a push check or an admin listing leads with team_id.
Index("ix_events_record", events.c.team_id, events.c.record_id, events.c.seq)
Index("ix_records_owner", records.c.team_id, records.c.owner_user_id)
Index("ix_followups_assignee", followups.c.team_id, followups.c.assignee_user_id)
Index("ix_followups_record", followups.c.team_id, followups.c.record_id,
      followups.c.assignee_user_id)
Index("ix_audit_at", audit_log.c.team_id, audit_log.c.at)
Index("ix_sign_in_failures_subject", sign_in_failures.c.team_id, sign_in_failures.c.subject,
      sign_in_failures.c.failed_at)
