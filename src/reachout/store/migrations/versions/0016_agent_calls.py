"""Abandoned agent-assisted calls (the 2-second rule) and the 72-hour block on their numbers

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'abandoned_calls',
        sa.Column('contact_id', sa.String(length=36), nullable=False),
        sa.Column('campaign_id', sa.String(length=36), nullable=False),
        sa.Column('endpoint', sa.String(length=255), nullable=False),
        sa.Column('answered_at', UtcDateTime(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('blocked_until', UtcDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('contact_id'),
    )
    op.create_index('ix_abandoned_calls_endpoint', 'abandoned_calls', ['endpoint', 'blocked_until'])
    op.create_index('ix_abandoned_calls_campaign', 'abandoned_calls', ['campaign_id', 'at'])


def downgrade() -> None:
    op.drop_table('abandoned_calls')
