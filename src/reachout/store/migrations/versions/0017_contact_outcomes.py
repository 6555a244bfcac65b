"""An index of a campaign's contact outcomes (disposition, hour sent) for the console's live page

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import OUTCOME_WHERE, hour_of

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contacts_outcomes', 'contacts', ['campaign_id', 'disposition', hour_of(sa.text('dispatched_at'))],
                    sqlite_where=sa.text(OUTCOME_WHERE), postgresql_where=sa.text(OUTCOME_WHERE))


def downgrade() -> None:
    op.drop_index('ix_contacts_outcomes', table_name='contacts')
