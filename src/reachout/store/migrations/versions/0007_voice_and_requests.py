"""Voice and outbound request intake: contacts carry their request's expiry, room for
endpoints as participants and call outcomes, the simulated telephony carrier's calls

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sim_calls',
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('disconnect_reason', sa.String(length=64), nullable=True),
    sa.Column('originated_at', UtcDateTime(), nullable=False),
    sa.Column('ringing_at', UtcDateTime(), nullable=True),
    sa.Column('answered_at', UtcDateTime(), nullable=True),
    sa.Column('agent_arn', sa.String(length=500), nullable=True),
    sa.Column('agent_connected_at', UtcDateTime(), nullable=True),
    sa.Column('disconnected_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('call_id')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', UtcDateTime(), nullable=True))
        batch_op.alter_column('outcome', existing_type=sa.String(length=32), type_=sa.String(length=64),
                              existing_nullable=True)
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.alter_column('profile_id', existing_type=sa.String(length=32), type_=sa.String(length=255),
                              existing_nullable=False)
    with op.batch_alter_table('sim_sends', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=32), type_=sa.String(length=64),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('sim_sends', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=64), type_=sa.String(length=32),
                              existing_nullable=False)
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.alter_column('profile_id', existing_type=sa.String(length=255), type_=sa.String(length=32),
                              existing_nullable=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=64), type_=sa.String(length=32),
                              existing_nullable=True)
        batch_op.drop_column('expires_at')
    op.drop_table('sim_calls')
