"""Amazon Connect: instances, phone numbers, flows, contacts and client tokens

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connect_instances',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('alias', sa.String(length=45), nullable=True),
    sa.Column('identity_management_type', sa.String(length=32), nullable=False),
    sa.Column('directory_id', sa.String(length=12), nullable=True),
    sa.Column('inbound_calls', sa.Boolean(), nullable=False),
    sa.Column('outbound_calls', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arn'),
    sa.UniqueConstraint('seq'),
    sa.UniqueConstraint('region', 'alias', name='uq_connect_instances_alias')
    )
    with op.batch_alter_table('connect_instances', schema=None) as batch_op:
        batch_op.create_index('ix_connect_instances_region', ['region', 'seq'], unique=False)

    op.create_table('connect_phone_numbers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('number_type', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arn'),
    sa.UniqueConstraint('seq'),
    sa.UniqueConstraint('region', 'number', name='uq_connect_phone_numbers_number')
    )
    with op.batch_alter_table('connect_phone_numbers', schema=None) as batch_op:
        batch_op.create_index('ix_connect_phone_numbers_instance', ['instance_id', 'seq'], unique=False)

    op.create_table('contact_flows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arn'),
    sa.UniqueConstraint('seq'),
    sa.UniqueConstraint('instance_id', 'name', name='uq_contact_flows_name')
    )
    with op.batch_alter_table('contact_flows', schema=None) as batch_op:
        batch_op.create_index('ix_contact_flows_instance', ['instance_id', 'seq'], unique=False)

    op.create_table('connect_contacts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=12), nullable=False),
    sa.Column('instance_id', sa.String(length=100), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('initiation_method', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('customer_endpoint', sa.JSON(), nullable=True),
    sa.Column('system_endpoint', sa.JSON(), nullable=True),
    sa.Column('flow_id', sa.String(length=500), nullable=True),
    sa.Column('campaign_id', sa.String(length=100), nullable=True),
    sa.Column('related_contact_id', sa.String(length=256), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('segment_attributes', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('client_token', sa.String(length=500), nullable=True),
    sa.Column('initiated_at', UtcDateTime(), nullable=False),
    sa.Column('dispatched_at', UtcDateTime(), nullable=True),
    sa.Column('connected_at', UtcDateTime(), nullable=True),
    sa.Column('disconnected_at', UtcDateTime(), nullable=True),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('disconnect_reason', sa.String(length=64), nullable=True),
    sa.Column('amd_status', sa.String(length=32), nullable=True),
    sa.Column('due_at', UtcDateTime(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('connect_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_connect_contacts_due', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_connect_contacts_instance', ['region', 'instance_id'], unique=False)

    op.create_table('client_tokens',
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('region', 'operation', 'token')
    )


def downgrade() -> None:
    op.drop_table('client_tokens')
    for table, indexes in (("connect_contacts", ("ix_connect_contacts_instance", "ix_connect_contacts_due")),
                           ("contact_flows", ("ix_contact_flows_instance",)),
                           ("connect_phone_numbers", ("ix_connect_phone_numbers_instance",)),
                           ("connect_instances", ("ix_connect_instances_region",))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
