"""Amazon Q in Connect: knowledge bases, message templates and their versions

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge_bases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('knowledge_base_type', sa.String(length=32), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('content_modified_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arn'),
    sa.UniqueConstraint('seq'),
    sa.UniqueConstraint('region', 'client_token', name='uq_knowledge_bases_token')
    )
    with op.batch_alter_table('knowledge_bases', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_bases_region', ['region', 'seq'], unique=False)

    op.create_table('message_templates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('knowledge_base_id', sa.String(length=36), nullable=False),
    sa.Column('arn', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('channel_subtype', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('active_version', sa.Integer(), nullable=True),
    sa.Column('last_version', sa.Integer(), nullable=False),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('arn'),
    sa.UniqueConstraint('seq'),
    sa.UniqueConstraint('knowledge_base_id', 'name', name='uq_message_templates_name'),
    sa.UniqueConstraint('knowledge_base_id', 'client_token', name='uq_message_templates_token')
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index('ix_message_templates_knowledge_base', ['knowledge_base_id', 'seq'], unique=False)

    op.create_table('message_template_versions',
    sa.Column('template_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('template_id', 'version')
    )


def downgrade() -> None:
    op.drop_table('message_template_versions')
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_message_templates_knowledge_base')

    op.drop_table('message_templates')
    with op.batch_alter_table('knowledge_bases', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_bases_region')

    op.drop_table('knowledge_bases')
