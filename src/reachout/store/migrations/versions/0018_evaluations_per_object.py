"""Event trigger evaluations: one row per ingested object, its triggers' verdicts in it, instead of one
row per object and trigger

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BATCH = 5000  # per-trigger rows read at a time


def upgrade() -> None:
    op.rename_table('event_trigger_evaluations', 'event_trigger_evaluations_by_trigger')
    op.drop_index('ix_event_trigger_evaluations_domain', table_name='event_trigger_evaluations_by_trigger')
    evaluations = op.create_table(
        'event_trigger_evaluations',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(255), nullable=False),
        sa.Column('profile_id', sa.String(32), nullable=False),
        sa.Column('object_key', sa.String(255), nullable=False),
        sa.Column('verdicts', sa.JSON(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False))
    op.create_index('ix_event_trigger_evaluations_domain', 'event_trigger_evaluations', ['domain_id', 'at'])
    # The rows of one object were written together, consecutively, in trigger name order.
    conn = op.get_bind()
    old = sa.table('event_trigger_evaluations_by_trigger', *(sa.column(name) for name in (
        'id', 'domain_id', 'trigger_name', 'object_type', 'profile_id', 'object_key', 'fired', 'reason',
        'campaign_id', 'request_id')), sa.column('at', UtcDateTime()))
    after, current, rows = 0, None, []
    while batch := conn.execute(sa.select(old).where(old.c.id > after).order_by(old.c.id).limit(BATCH)).all():
        for row in batch:
            key = (row.domain_id, row.object_type, row.profile_id, row.object_key, row.at)
            if current is None or current[0] != key:
                current = (key, [])
                rows.append(current)
            current[1].append([row.trigger_name, bool(row.fired), row.reason, row.campaign_id, row.request_id])
        after = batch[-1].id
        if len(rows) > 1:  # the last object may go on in the next batch
            _insert(conn, evaluations, rows[:-1])
            rows = rows[-1:]
    _insert(conn, evaluations, rows)
    op.drop_table('event_trigger_evaluations_by_trigger')


def _insert(conn, table, objects) -> None:
    if objects:
        conn.execute(table.insert(), [{"domain_id": d, "object_type": t, "profile_id": p, "object_key": k, "at": at,
                                       "verdicts": verdicts} for (d, t, p, k, at), verdicts in objects])


def downgrade() -> None:
    raise NotImplementedError("evaluations are kept per object from 0018 on")
