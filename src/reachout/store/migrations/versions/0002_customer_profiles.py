"""Customer Profiles: domains, object types, profiles, keys, objects, segments

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('object_types',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('domain_id', 'name')
    )
    op.create_table('profile_attributes',
    sa.Column('profile_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('number', sa.Float(), nullable=True),
    sa.Column('instant', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('profile_id', 'key')
    )
    with op.batch_alter_table('profile_attributes', schema=None) as batch_op:
        batch_op.create_index('ix_profile_attributes_number', ['domain_id', 'key', 'number'], unique=False)
        batch_op.create_index('ix_profile_attributes_instant', ['domain_id', 'key', 'instant'], unique=False)
        batch_op.create_index('ix_profile_attributes_value', ['domain_id', 'key', 'value'], unique=False)

    op.create_table('profile_domains',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('region', 'name', name='uq_profile_domains_name')
    )
    op.create_table('profile_keys',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('key_name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('profile_id', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('domain_id', 'key_name', 'value', 'profile_id')
    )
    with op.batch_alter_table('profile_keys', schema=None) as batch_op:
        batch_op.create_index('ix_profile_keys_profile', ['profile_id'], unique=False)

    op.create_table('profile_objects',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=255), nullable=False),
    sa.Column('unique_key', sa.String(length=255), nullable=False),
    sa.Column('profile_id', sa.String(length=32), nullable=False),
    sa.Column('object', sa.Text(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('domain_id', 'object_type', 'unique_key')
    )
    with op.batch_alter_table('profile_objects', schema=None) as batch_op:
        batch_op.create_index('ix_profile_objects_profile', ['profile_id', 'object_type'], unique=False)

    op.create_table('profiles',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.Text(), nullable=True),
    sa.Column('additional_information', sa.Text(), nullable=True),
    sa.Column('party_type', sa.Text(), nullable=True),
    sa.Column('business_name', sa.Text(), nullable=True),
    sa.Column('first_name', sa.Text(), nullable=True),
    sa.Column('middle_name', sa.Text(), nullable=True),
    sa.Column('last_name', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Text(), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('phone_number', sa.Text(), nullable=True),
    sa.Column('mobile_phone_number', sa.Text(), nullable=True),
    sa.Column('home_phone_number', sa.Text(), nullable=True),
    sa.Column('business_phone_number', sa.Text(), nullable=True),
    sa.Column('email_address', sa.Text(), nullable=True),
    sa.Column('personal_email_address', sa.Text(), nullable=True),
    sa.Column('business_email_address', sa.Text(), nullable=True),
    sa.Column('party_type_string', sa.Text(), nullable=True),
    sa.Column('gender_string', sa.Text(), nullable=True),
    sa.Column('profile_type', sa.Text(), nullable=True),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('shipping_address', sa.JSON(), nullable=True),
    sa.Column('mailing_address', sa.JSON(), nullable=True),
    sa.Column('billing_address', sa.JSON(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('engagement_preferences', sa.JSON(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index('ix_profiles_domain', ['domain_id', 'id'], unique=False)

    op.create_table('segment_definitions',
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('domain_id', 'name')
    )
    op.create_table('segment_estimates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('estimate', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('segment_snapshots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('segment_name', sa.String(length=64), nullable=False),
    sa.Column('data_format', sa.String(length=8), nullable=False),
    sa.Column('destination_uri', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('segment_snapshots')
    op.drop_table('segment_estimates')
    op.drop_table('segment_definitions')
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_profiles_domain')

    op.drop_table('profiles')
    with op.batch_alter_table('profile_objects', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_objects_profile')

    op.drop_table('profile_objects')
    with op.batch_alter_table('profile_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_keys_profile')

    op.drop_table('profile_keys')
    op.drop_table('profile_domains')
    with op.batch_alter_table('profile_attributes', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_attributes_value')
        batch_op.drop_index('ix_profile_attributes_instant')
        batch_op.drop_index('ix_profile_attributes_number')

    op.drop_table('profile_attributes')
    op.drop_table('object_types')
