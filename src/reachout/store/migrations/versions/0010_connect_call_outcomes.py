"""Connect contacts hold a call's outcome: a dial attempt's DisconnectReason is longer than 32

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('connect_contacts', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=32), type_=sa.String(length=64),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('connect_contacts', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=64), type_=sa.String(length=32),
                              existing_nullable=True)
