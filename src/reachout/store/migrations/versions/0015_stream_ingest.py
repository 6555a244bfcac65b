"""Stream ingestion: every Redis stream entry a consumer group has handled, recorded in the transaction
that ingested it (so an entry redelivered after a crash is recognised and never ingested twice), with
the reason when it was set aside

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stream_entries',
        sa.Column('stream', sa.String(length=255), nullable=False),
        sa.Column('consumer_group', sa.String(length=255), nullable=False),
        sa.Column('entry_id', sa.String(length=64), nullable=False),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=255), nullable=True),
        sa.Column('profile_id', sa.String(length=32), nullable=True),
        sa.Column('object_key', sa.String(length=255), nullable=True),
        sa.Column('rejected', sa.Text(), nullable=True),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('stream', 'consumer_group', 'entry_id'),
    )
    op.create_index('ix_stream_entries_rejected', 'stream_entries', ['stream', 'consumer_group', 'at'],
                    postgresql_where=sa.text('rejected IS NOT NULL'), sqlite_where=sa.text('rejected IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_stream_entries_rejected', table_name='stream_entries')
    op.drop_table('stream_entries')
