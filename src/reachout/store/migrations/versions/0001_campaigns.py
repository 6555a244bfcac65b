"""Campaigns, tags, instance configuration, outbound requests.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from reachout.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(500), nullable=False, unique=True),
        sa.Column("name", sa.String(127), nullable=False),
        sa.Column("connect_instance_id", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("type", sa.String(16)),
        sa.Column("channel_subtype_config", sa.JSON, nullable=False),
        sa.Column("source", sa.JSON),
        sa.Column("connect_campaign_flow_arn", sa.String(500)),
        sa.Column("schedule_start", UtcDateTime),
        sa.Column("schedule_end", UtcDateTime),
        sa.Column("refresh_frequency", sa.String(50)),
        sa.Column("entry_limits_config", sa.JSON),
        sa.Column("communication_time_config", sa.JSON),
        sa.Column("communication_limits_override", sa.JSON),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_campaigns_instance", "campaigns", ["region", "connect_instance_id", "seq"])
    op.create_table(
        "tags",
        sa.Column("resource_arn", sa.String(1024), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "campaign_instances",
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("connect_instance_id", sa.String(256), primary_key=True),
        sa.Column("config", sa.JSON),
        sa.Column("onboarding_job", sa.JSON),
        sa.Column("communication_limits", sa.JSON),
    )
    op.create_table(
        "instance_integrations",
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("connect_instance_id", sa.String(256), primary_key=True),
        sa.Column("identifier", sa.String(500), primary_key=True),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "outbound_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_token", sa.String(200), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("campaign_id", "kind", "client_token", name="uq_outbound_requests_token"),
    )
    op.create_index("ix_outbound_requests_due", "outbound_requests", ["status", "due_at"])


def downgrade() -> None:
    for table in ("outbound_requests", "instance_integrations", "campaign_instances", "tags", "campaigns", "sequences"):
        op.drop_table(table)
