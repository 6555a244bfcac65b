"""Engine: participants, contacts, communications, suppressions; the event outbox, deliveries, EventBridge resources

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_outbox',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('event_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('target', sa.String(length=600), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', UtcDateTime(), nullable=False),
    sa.Column('lease_until', UtcDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_event_deliveries_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_event_deliveries_order', ['target', 'key', 'seq'], unique=False)

    op.create_table('event_resources',
    sa.Column('arn', sa.String(length=600), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('arn')
    )
    with op.batch_alter_table('event_resources', schema=None) as batch_op:
        batch_op.create_index('ix_event_resources_kind', ['region', 'kind', 'name'], unique=False)

    op.create_table('communications',
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('released', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('contact_id')
    )
    with op.batch_alter_table('communications', schema=None) as batch_op:
        batch_op.create_index('ix_communications_recipient', ['recipient', 'at'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=True),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('zones', sa.JSON(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('due_at', UtcDateTime(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', UtcDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('disposition', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('dispatched_at', UtcDateTime(), nullable=True),
    sa.Column('completed_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_campaign', ['campaign_id', 'state'], unique=False)
        batch_op.create_index('ix_contacts_due', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_contacts_participant', ['participant_id'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('profile_id', sa.String(length=32), nullable=False),
    sa.Column('entry', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('entered_at', UtcDateTime(), nullable=False),
    sa.Column('finished_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index('ix_participants_profile', ['campaign_id', 'profile_id', 'state'], unique=False)
        batch_op.create_index('ix_participants_state', ['campaign_id', 'state'], unique=False)

    op.create_table('recipient_locks',
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('recipient')
    )
    op.create_table('sim_sends',
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('sent_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key')
    )
    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('participant_id', sa.String(length=36), nullable=True),
    sa.Column('contact_id', sa.String(length=36), nullable=True),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.create_index('ix_suppressions_campaign', ['campaign_id', 'at'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wake_at', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_snapshot_at', UtcDateTime(), nullable=True))
        batch_op.create_index('ix_campaigns_wake', ['state', 'wake_at'], unique=False)



def downgrade() -> None:
    for table in ("event_resources", "event_deliveries", "event_outbox"):
        op.drop_table(table)
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_wake')
        batch_op.drop_column('next_snapshot_at')
        batch_op.drop_column('wake_at')

    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.drop_index('ix_suppressions_campaign')

    op.drop_table('suppressions')
    op.drop_table('sim_sends')
    op.drop_table('recipient_locks')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index('ix_participants_state')
        batch_op.drop_index('ix_participants_profile')

    op.drop_table('participants')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_participant')
        batch_op.drop_index('ix_contacts_due')
        batch_op.drop_index('ix_contacts_campaign')

    op.drop_table('contacts')
    with op.batch_alter_table('communications', schema=None) as batch_op:
        batch_op.drop_index('ix_communications_recipient')

    op.drop_table('communications')
