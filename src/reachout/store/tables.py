"""The schema, as SQLAlchemy Core tables. Alembic migrations in `migrations/` create it; a test
checks that the two agree.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Column, DateTime, Index, MetaData, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which has no time zones) as well
    as PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = MetaData()

campaigns = Table(
    "campaigns", metadata,
    Column("id", String(36), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("connect_instance_id", String(256), nullable=False),
    Column("state", String(16), nullable=False),
    Column("type", String(16)),
    Column("channel_subtype_config", JSON, nullable=False),
    Column("source", JSON),
    Column("connect_campaign_flow_arn", String(500)),
    Column("schedule_start", UtcDateTime),
    Column("schedule_end", UtcDateTime),
    Column("refresh_frequency", String(50)),
    Column("entry_limits_config", JSON),
    Column("communication_time_config", JSON),
    Column("communication_limits_override", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_campaigns_instance", "region", "connect_instance_id", "created_at"),
    Index("ix_campaigns_listing", "region", "created_at", "id"),
)

# Tags of any resource of any service, by ARN (the ARN carries service, region and account).
tags = Table(
    "tags", metadata,
    Column("resource_arn", String(1024), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

# Outbound campaigns' view of a Connect instance: onboarding, encryption, limits, integrations.
campaign_instances = Table(
    "campaign_instances", metadata,
    Column("region", String(32), primary_key=True),
    Column("connect_instance_id", String(256), primary_key=True),
    Column("config", JSON),  # InstanceConfig, once onboarded
    Column("onboarding_job", JSON),  # InstanceOnboardingJobStatus
    Column("communication_limits", JSON),  # InstanceCommunicationLimitsConfig
)

instance_integrations = Table(
    "instance_integrations", metadata,
    Column("region", String(32), primary_key=True),
    Column("connect_instance_id", String(256), primary_key=True),
    Column("identifier", String(500), primary_key=True),  # domain, knowledge base or function ARN
    Column("summary", JSON, nullable=False),  # IntegrationSummary union
    Column("created_at", UtcDateTime, nullable=False),
)

# Requests handed to a campaign by PutDialRequestBatch, PutOutboundRequestBatch and
# PutProfileOutboundRequestBatch; the engine claims them by due_at.
outbound_requests = Table(
    "outbound_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("campaign_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),  # dial | outbound | profile
    Column("client_token", String(200), nullable=False),
    Column("request", JSON, nullable=False),
    Column("fingerprint", Text, nullable=False),  # what the token was first used for
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("campaign_id", "kind", "client_token", name="uq_outbound_requests_token"),
    Index("ix_outbound_requests_due", "status", "due_at"),
)
