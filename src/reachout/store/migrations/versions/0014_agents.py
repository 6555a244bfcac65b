"""Amazon Connect agents: queues, routing profiles and their queues, users, agent statuses, each
user's status and activity, and contacts waiting in queues

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'connect_queues',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('arn', sa.String(length=500), nullable=False),
        sa.Column('name', sa.String(length=127), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('hours_of_operation_id', sa.String(length=500), nullable=False),
        sa.Column('max_contacts', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('outbound_caller_config', sa.JSON(), nullable=True),
        sa.Column('outbound_email_config', sa.JSON(), nullable=True),
        sa.Column('quick_connect_ids', sa.JSON(), nullable=True),
        sa.Column('email_addresses_config', sa.JSON(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('arn'),
        sa.UniqueConstraint('seq'),
        sa.UniqueConstraint('instance_id', 'name', name='uq_connect_queues_name'),
    )
    op.create_index('ix_connect_queues_instance', 'connect_queues', ['instance_id', 'seq'])
    op.create_table(
        'routing_profiles',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('arn', sa.String(length=500), nullable=False),
        sa.Column('name', sa.String(length=127), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('default_outbound_queue_id', sa.String(length=36), nullable=False),
        sa.Column('media_concurrencies', sa.JSON(), nullable=False),
        sa.Column('agent_availability_timer', sa.String(length=32), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('arn'),
        sa.UniqueConstraint('seq'),
        sa.UniqueConstraint('instance_id', 'name', name='uq_routing_profiles_name'),
    )
    op.create_index('ix_routing_profiles_instance', 'routing_profiles', ['instance_id', 'seq'])
    op.create_table(
        'routing_profile_queues',
        sa.Column('routing_profile_id', sa.String(length=36), nullable=False),
        sa.Column('queue_id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('manual', sa.Boolean(), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=True),
        sa.Column('delay', sa.Integer(), nullable=True),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('routing_profile_id', 'queue_id', 'channel', 'manual'),
    )
    op.create_index('ix_routing_profile_queues_queue', 'routing_profile_queues', ['queue_id', 'channel'])
    op.create_table(
        'connect_users',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('arn', sa.String(length=500), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('routing_profile_id', sa.String(length=36), nullable=False),
        sa.Column('security_profile_ids', sa.JSON(), nullable=False),
        sa.Column('hierarchy_group_id', sa.String(length=500), nullable=True),
        sa.Column('directory_user_id', sa.String(length=500), nullable=True),
        sa.Column('identity_info', sa.JSON(), nullable=True),
        sa.Column('phone_config', sa.JSON(), nullable=True),
        sa.Column('channel_configs', sa.JSON(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('arn'),
        sa.UniqueConstraint('seq'),
        sa.UniqueConstraint('instance_id', 'username', name='uq_connect_users_username'),
    )
    op.create_index('ix_connect_users_instance', 'connect_users', ['instance_id', 'seq'])
    op.create_index('ix_connect_users_routing_profile', 'connect_users', ['routing_profile_id'])
    op.create_table(
        'agent_statuses',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('arn', sa.String(length=500), nullable=False),
        sa.Column('name', sa.String(length=127), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('display_order', sa.Integer(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('arn'),
        sa.UniqueConstraint('seq'),
        sa.UniqueConstraint('instance_id', 'name', name='uq_agent_statuses_name'),
    )
    op.create_index('ix_agent_statuses_instance', 'agent_statuses', ['instance_id', 'seq'])
    op.create_table(
        'agent_states',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('status_id', sa.String(length=36), nullable=False),
        sa.Column('status_name', sa.String(length=127), nullable=False),
        sa.Column('status_type', sa.String(length=16), nullable=False),
        sa.Column('status_since', UtcDateTime(), nullable=False),
        sa.Column('next_status_id', sa.String(length=36), nullable=True),
        sa.Column('activity', sa.String(length=16), server_default='IDLE', nullable=False),
        sa.Column('contact_id', sa.String(length=256), nullable=True),
        sa.Column('contact_queue_id', sa.String(length=36), nullable=True),
        sa.Column('connected_at', UtcDateTime(), nullable=True),
        sa.Column('activity_since', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('instance_id', 'user_id'),
    )
    op.create_table(
        'queued_contacts',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('contact_id', sa.String(length=256), nullable=False),
        sa.Column('queue_id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('enqueued_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('instance_id', 'contact_id'),
    )
    op.create_index('ix_queued_contacts_queue', 'queued_contacts', ['queue_id'])


def downgrade() -> None:
    op.drop_index('ix_queued_contacts_queue', table_name='queued_contacts')
    op.drop_table('queued_contacts')
    op.drop_table('agent_states')
    op.drop_index('ix_agent_statuses_instance', table_name='agent_statuses')
    op.drop_table('agent_statuses')
    op.drop_index('ix_connect_users_routing_profile', table_name='connect_users')
    op.drop_index('ix_connect_users_instance', table_name='connect_users')
    op.drop_table('connect_users')
    op.drop_index('ix_routing_profile_queues_queue', table_name='routing_profile_queues')
    op.drop_table('routing_profile_queues')
    op.drop_index('ix_routing_profiles_instance', table_name='routing_profiles')
    op.drop_table('routing_profiles')
    op.drop_index('ix_connect_queues_instance', table_name='connect_queues')
    op.drop_table('connect_queues')
