"""Profiles carry their reach (endpoints and zones) for planning; existing profiles get theirs.
Participants lose an index nothing reads (each index is a write per participant planned); contacts
are claimed in index order (a snapshot's contacts share one due time: sorting them by id per claim
was most of dispatch at scale)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from reachout.domain.profile import COLUMNS
from reachout.domain.reach import reach_of
from reachout.store.profiles import profile_of
from reachout.store.tables import profiles

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index('ix_participants_state')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_due')
        batch_op.create_index('ix_contacts_due', ['state', 'due_at', 'id'], unique=False)
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reach', sa.JSON(), nullable=True))
    # Derived from the profile as it is stored, by the function every later write uses; a thousand
    # profiles at a time in id order, so that a large domain is not held in memory.
    conn = op.get_bind()
    columns = [profiles.c.id, *(profiles.c[column] for column in COLUMNS.values())]
    after = ''
    while rows := conn.execute(sa.select(*columns).where(profiles.c.id > after)
                               .order_by(profiles.c.id).limit(1000)).all():
        conn.execute(sa.update(profiles).where(profiles.c.id == sa.bindparam('b_id')),
                     [{'b_id': row.id, 'reach': reach_of(profile_of(row))} for row in rows])
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_due')
        batch_op.create_index('ix_contacts_due', ['state', 'due_at'], unique=False)
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index('ix_participants_state', ['campaign_id', 'state'], unique=False)
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_column('reach')
