"""Recipients are locked with PostgreSQL's transaction advisory locks: the table of lock rows, one per
recipient (and per trigger and profile) ever counted, goes

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('recipient_locks')


def downgrade() -> None:
    op.create_table('recipient_locks',
                    sa.Column('recipient', sa.String(length=255), nullable=False),
                    sa.PrimaryKeyConstraint('recipient'))
