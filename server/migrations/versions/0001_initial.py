"""The store's first schema: directory tables, then every team-keyed table.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('audit_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'audit_id', name='pk_audit_log')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['team_id', 'at'], unique=False)

    op.create_table('bindings',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('local_user_id', sa.String(length=64), nullable=False),
    sa.Column('local_team_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('bound_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'local_user_id', name='pk_bindings')
    )
    op.create_table('devices',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('enrolled_at', sa.String(length=32), nullable=False),
    sa.Column('revoked_at', sa.String(length=32), nullable=True),
    sa.Column('last_seen_at', sa.String(length=32), nullable=True),
    sa.Column('tip_seq', sa.BigInteger(), nullable=False),
    sa.Column('tip_hash', sa.LargeBinary(), nullable=True),
    sa.Column('tip_signature', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('team_id', 'device_id', name='pk_devices'),
    sa.UniqueConstraint('team_id', 'token_hash', name='uq_devices_token')
    )
    op.create_table('events',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('env_team_id', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('device_seq', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('parents', sa.Text(), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('assignee_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(), nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('author_user_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'seq', name='pk_events'),
    sa.UniqueConstraint('team_id', 'device_id', 'device_seq', name='uq_events_device_seq'),
    sa.UniqueConstraint('team_id', 'event_id', name='uq_events_event')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_record', ['team_id', 'record_id', 'seq'], unique=False)

    op.create_table('followups',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('followup_id', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('assignee_user_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'followup_id', name='pk_followups')
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index('ix_followups_assignee', ['team_id', 'assignee_user_id'], unique=False)
        batch_op.create_index('ix_followups_record', ['team_id', 'record_id', 'assignee_user_id'], unique=False)

    op.create_table('grants',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('granted_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'user_id', 'record_id', name='pk_grants')
    )
    op.create_table('organisations',
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('org_id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('records',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('owner_user_id', sa.String(length=64), nullable=False),
    sa.Column('created_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'record_id', name='pk_records')
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_owner', ['team_id', 'owner_user_id'], unique=False)

    op.create_table('refused_events',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('device_seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('refused_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'device_id', 'device_seq', name='pk_refused_events'),
    sa.UniqueConstraint('team_id', 'event_id', name='uq_refused_events_event')
    )
    op.create_table('sign_in_failures',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('failure_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('failed_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'failure_id', name='pk_sign_in_failures')
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_subject', ['team_id', 'subject', 'failed_at'], unique=False)

    op.create_table('team_cursor',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', name='pk_team_cursor')
    )
    op.create_table('teams',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('team_id'),
    sa.UniqueConstraint('org_id', 'name', name='uq_teams_org_name')
    )
    op.create_table('users',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_team_id'), ['team_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_team_id'))

    op.drop_table('users')
    op.drop_table('teams')
    op.drop_table('team_cursor')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_subject')

    op.drop_table('sign_in_failures')
    op.drop_table('refused_events')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_owner')

    op.drop_table('records')
    op.drop_table('organisations')
    op.drop_table('grants')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index('ix_followups_record')
        batch_op.drop_index('ix_followups_assignee')

    op.drop_table('followups')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_record')

    op.drop_table('events')
    op.drop_table('devices')
    op.drop_table('bindings')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_at')

    op.drop_table('audit_log')
