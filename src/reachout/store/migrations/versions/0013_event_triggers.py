"""Event triggers, profile integrations, trigger invocations (for per-profile limits) and evaluations
(why each ingested object fired a trigger or not)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_triggers',
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=255), nullable=False),
        sa.Column('definition', sa.JSON(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('domain_id', 'name'),
    )
    op.create_index('ix_event_triggers_object_type', 'event_triggers', ['domain_id', 'object_type'])
    op.create_table(
        'profile_integrations',
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('uri', sa.String(length=255), nullable=False),
        sa.Column('definition', sa.JSON(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('domain_id', 'uri'),
    )
    op.create_table(
        'event_trigger_invocations',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('trigger_name', sa.String(length=64), nullable=False),
        sa.Column('profile_id', sa.String(length=32), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_event_trigger_invocations_profile', 'event_trigger_invocations',
                    ['domain_id', 'trigger_name', 'profile_id', 'at'])
    op.create_table(
        'event_trigger_evaluations',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('trigger_name', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=255), nullable=False),
        sa.Column('profile_id', sa.String(length=32), nullable=False),
        sa.Column('object_key', sa.String(length=255), nullable=False),
        sa.Column('fired', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('campaign_id', sa.String(length=36), nullable=True),
        sa.Column('request_id', sa.String(length=36), nullable=True),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_event_trigger_evaluations_domain', 'event_trigger_evaluations', ['domain_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_event_trigger_evaluations_domain', table_name='event_trigger_evaluations')
    op.drop_table('event_trigger_evaluations')
    op.drop_index('ix_event_trigger_invocations_profile', table_name='event_trigger_invocations')
    op.drop_table('event_trigger_invocations')
    op.drop_table('profile_integrations')
    op.drop_index('ix_event_triggers_object_type', table_name='event_triggers')
    op.drop_table('event_triggers')
