"""A snapshot plans each reach class once and enters its members in SQL: profiles carry their reach
class (in the domain index too, which a snapshot's pass over the domain reads instead of the rows),
participants the plan they follow and when their contacts are made from it. A campaign's contacts
are indexed in due order, as claims read them.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from reachout.domain.reach import reach_class
from reachout.store.tables import UtcDateTime, profiles

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plans',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('campaign_id', sa.String(length=36), nullable=False),
        sa.Column('snapshot_id', sa.String(length=36), nullable=False),
        sa.Column('reach_class', sa.String(length=32), nullable=False),
        sa.Column('release_at', UtcDateTime(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_plans_snapshot', 'plans', ['snapshot_id', 'reach_class'], unique=True)
    op.create_table(
        'plan_contacts',
        sa.Column('plan_id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('field', sa.String(length=32), nullable=True),
        sa.Column('zones', sa.JSON(), nullable=False),
        sa.Column('due_at', UtcDateTime(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('plan_id', 'channel'),
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_campaign')
        batch_op.create_index('ix_contacts_campaign', ['campaign_id', 'state', 'channel', 'due_at', 'id'],
                                unique=False)
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('release_at', UtcDateTime(), nullable=True))
    op.create_index('ix_participants_release', 'participants', ['campaign_id', 'release_at'],
                    sqlite_where=sa.text('release_at IS NOT NULL'), postgresql_where=sa.text('release_at IS NOT NULL'))
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reach_class', sa.String(length=32), nullable=True))
        batch_op.drop_index('ix_profiles_domain')
        batch_op.create_index('ix_profiles_domain', ['domain_id', 'id', 'reach_class'], unique=False)
    # Derived from the stored reach by the function every later write uses, a thousand profiles at a
    # time in id order.
    conn = op.get_bind()
    after = ''
    while rows := conn.execute(sa.select(profiles.c.id, profiles.c.reach).where(profiles.c.id > after)
                               .order_by(profiles.c.id).limit(1000)).all():
        conn.execute(sa.update(profiles).where(profiles.c.id == sa.bindparam('b_id')),
                     [{'b_id': row.id, 'reach_class': reach_class(row.reach)} for row in rows if row.reach])
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_profiles_domain')
        batch_op.create_index('ix_profiles_domain', ['domain_id', 'id'], unique=False)
        batch_op.drop_column('reach_class')
    op.drop_index('ix_participants_release', table_name='participants')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('release_at')
        batch_op.drop_column('plan_id')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_campaign')
        batch_op.create_index('ix_contacts_campaign', ['campaign_id', 'state'], unique=False)
    op.drop_table('plan_contacts')
    op.drop_index('ix_plans_snapshot', table_name='plans')
    op.drop_table('plans')
