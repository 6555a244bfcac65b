"""The schema, as SQLAlchemy Core tables. Alembic migrations in `migrations/` create it; a test
checks that the two agree.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, or_, text)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
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


class hour_of(FunctionElement):
    """The UTC hour a UtcDateTime falls in: on SQLite its stored text's first 13 characters
    ('YYYY-MM-DD HH'), on PostgreSQL date_trunc('hour', ...). Written out with literal arguments so
    that a query grouping by it matches, and reads, an index over it."""

    inherit_cache = True
    name = "hour_of"


@compiles(hour_of, "sqlite")
def _hour_of_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(hour_of, "postgresql")
def _hour_of_postgresql(element, compiler, **kw):
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)})"


# The contacts the outcomes index holds: sent ones and ones with a disposition (not those still planned).
# A query must say the same (CONTACT_OUTCOME, defined with the table) for SQLite to use the index.
OUTCOME_WHERE = "dispatched_at IS NOT NULL OR disposition IS NOT NULL"

metadata = MetaData()

# Monotonic counters (name -> last value handed out), for orders that must not depend on the clock:
# on a virtual clock, many things happen at the same instant.
sequences = Table(
    "sequences", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

campaigns = Table(
    "campaigns", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # creation order, for listings
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
    # The engine's bookkeeping: when it must next look at the campaign (start, refresh, end, stop),
    # and when the segment is next snapshotted into participants.
    Column("wake_at", UtcDateTime),
    Column("next_snapshot_at", UtcDateTime),
    Index("ix_campaigns_instance", "region", "connect_instance_id", "seq"),
    Index("ix_campaigns_wake", "state", "wake_at"),
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
    Column("seq", BigInteger, nullable=False),  # creation order, for listings
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
    Column("status", String(16), nullable=False),  # pending, then taken (contacts made), expired or dropped
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("campaign_id", "kind", "client_token", name="uq_outbound_requests_token"),
    Index("ix_outbound_requests_due", "status", "due_at"),
)

# --- Customer Profiles ---------------------------------------------------------------------------
# Every profile-side table carries the domain's surrogate integer id rather than (region, name):
# profiles run to millions of rows.
profile_domains = Table(
    "profile_domains", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("region", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("arn", String(500), nullable=False),
    Column("config", JSON, nullable=False),  # DefaultExpirationDays, Matching, ... as the API gives them
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("region", "name", name="uq_profile_domains_name"),
)

object_types = Table(
    "object_types", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("definition", JSON, nullable=False),  # Description, Fields, Keys, AllowProfileCreation, ...
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One column per standard field, so that segments compile to plain indexed SQL.
PROFILE_TEXT_COLUMNS = (
    "account_number", "additional_information", "party_type", "business_name", "first_name", "middle_name",
    "last_name", "birth_date", "gender", "phone_number", "mobile_phone_number", "home_phone_number",
    "business_phone_number", "email_address", "personal_email_address", "business_email_address",
    "party_type_string", "gender_string", "profile_type",
)
PROFILE_JSON_COLUMNS = ("address", "shipping_address", "mailing_address", "billing_address", "attributes",
                        "engagement_preferences")

profiles = Table(
    "profiles", metadata,
    Column("id", String(32), primary_key=True),
    Column("domain_id", Integer, nullable=False),
    *(Column(name, Text) for name in PROFILE_TEXT_COLUMNS),
    *(Column(name, JSON) for name in PROFILE_JSON_COLUMNS),
    Column("reach", JSON),  # endpoints and zones, derived at write time for planning (domain/reach.py)
    Column("reach_class", String(32)),  # what of the reach planning decides on, as a digest (domain/reach.py)
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Covers a snapshot's pass over the domain: the member's id and reach class, without reading its row.
    Index("ix_profiles_domain", "domain_id", "id", "reach_class"),
)

# Custom attributes, one row each, typed once at write time so that segment conditions compare
# numbers and dates in SQL on both backends (and can use an index).
profile_attributes = Table(
    "profile_attributes", metadata,
    Column("profile_id", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("domain_id", Integer, nullable=False),
    Column("value", Text, nullable=False),
    Column("number", Float),  # the value as a number, when it is one
    Column("instant", UtcDateTime),  # the value as a date or date-time, when it is one
    Index("ix_profile_attributes_value", "domain_id", "key", "value"),
    Index("ix_profile_attributes_number", "domain_id", "key", "number"),
    Index("ix_profile_attributes_instant", "domain_id", "key", "instant"),
)

# Search keys: predefined ones (_phone, _email, ...) derived from standard fields, custom ones from
# object type Keys and AddProfileKey.
profile_keys = Table(
    "profile_keys", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("key_name", String(64), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("profile_id", String(32), primary_key=True),
    Index("ix_profile_keys_profile", "profile_id"),
)

profile_objects = Table(
    "profile_objects", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("object_type", String(255), primary_key=True),
    Column("unique_key", String(255), primary_key=True),
    Column("profile_id", String(32), nullable=False),
    Column("object", Text, nullable=False),  # the JSON text exactly as ingested
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_profile_objects_profile", "profile_id", "object_type"),
)

segment_definitions = Table(
    "segment_definitions", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("arn", String(500), nullable=False),
    Column("definition", JSON, nullable=False),  # DisplayName, Description, SegmentGroups, ...
    Column("created_at", UtcDateTime, nullable=False),
)

segment_estimates = Table(
    "segment_estimates", metadata,
    Column("id", String(36), primary_key=True),
    Column("domain_id", Integer, nullable=False),
    Column("query", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("estimate", Integer),
    Column("message", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

segment_snapshots = Table(
    "segment_snapshots", metadata,
    Column("id", String(32), primary_key=True),
    Column("domain_id", Integer, nullable=False),
    Column("segment_name", String(64), nullable=False),
    Column("data_format", String(8), nullable=False),
    Column("destination_uri", String(255)),
    Column("status", String(16), nullable=False),
    Column("status_message", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

# Event triggers (CreateEventTrigger): the API shape as given, found by the object type they watch.
event_triggers = Table(
    "event_triggers", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("object_type", String(255), nullable=False),
    Column("definition", JSON, nullable=False),  # ObjectTypeName, EventTriggerConditions, ... as given
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_event_triggers_object_type", "domain_id", "object_type"),
)

# PutIntegration: a Uri (for event triggers, the campaign's ARN) and what flows to it.
profile_integrations = Table(
    "profile_integrations", metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("uri", String(255), primary_key=True),
    Column("definition", JSON, nullable=False),  # ObjectTypeName(s), EventTriggerNames, RoleArn, Tags, ...
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Each firing of a trigger for a profile, counted against the trigger's per-profile limits.
event_trigger_invocations = Table(
    "event_trigger_invocations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, nullable=False),
    Column("trigger_name", String(64), nullable=False),
    Column("profile_id", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_event_trigger_invocations_profile", "domain_id", "trigger_name", "profile_id", "at"),
)

# Every ingested object its domain's triggers evaluated: one row per object, each trigger's verdict in
# it (fired, and the request made, or exactly why not), as the object's "Reachout Event Trigger
# Evaluated" event carries them. (A row per trigger made twenty per object with twenty triggers.)
event_trigger_evaluations = Table(
    "event_trigger_evaluations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain_id", Integer, nullable=False),
    Column("object_type", String(255), nullable=False),
    Column("profile_id", String(32), nullable=False),
    Column("object_key", String(255), nullable=False),  # the object's ProfileObjectUniqueKey
    # [[trigger name, fired, reason, campaign id, request id], ...] in trigger name order
    Column("verdicts", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_event_trigger_evaluations_domain", "domain_id", "at"),
)


# Each Redis stream entry a consumer group handled (`reachout ingest`), written in the transaction that
# ingested it: a redelivered entry is found here and acked, not ingested again. `rejected` says why an
# entry was set aside (unreadable, unknown object type, refused by the mapping).
stream_entries = Table(
    "stream_entries", metadata,
    Column("stream", String(255), primary_key=True),
    Column("consumer_group", String(255), primary_key=True),
    Column("entry_id", String(64), primary_key=True),
    Column("domain_id", Integer, nullable=False),
    Column("object_type", String(255)),
    Column("profile_id", String(32)),
    Column("object_key", String(255)),
    Column("rejected", Text),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_stream_entries_rejected", "stream", "consumer_group", "at",
          postgresql_where=text("rejected IS NOT NULL"), sqlite_where=text("rejected IS NOT NULL")),
)

# --- Events ----------------------------------------------------------------------------------------
# The outbox: every event, numbered in commit order, written with the change it reports.
event_outbox = Table(
    "event_outbox", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),  # ordering key: the contact (or campaign) it is about
    Column("event", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One event on its way to one target of one matching rule.
event_deliveries = Table(
    "event_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(600), nullable=False),  # rule ARN + "|" + target id
    Column("seq", Integer, nullable=False),
    Column("key", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Index("ix_event_deliveries_due", "status", "due_at"),
    Index("ix_event_deliveries_order", "target", "key", "seq"),
)

# EventBridge resources on the default bus: rules, their targets, connections, API destinations.
event_resources = Table(
    "event_resources", metadata,
    Column("arn", String(600), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("kind", String(32), nullable=False),  # rule | target | connection | api-destination
    Column("name", String(300), nullable=False),  # for targets: rule name + "|" + target id
    Column("spec", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_event_resources_kind", "region", "kind", "name"),
)


# --- Engine ----------------------------------------------------------------------------------------
# One entry of one profile into one campaign (a profile is active at most once per campaign).
participants = Table(
    "participants", metadata,
    Column("id", String(36), primary_key=True),
    Column("campaign_id", String(36), nullable=False),
    Column("profile_id", String(255), nullable=False),  # the profile id, or the endpoint of a request without one
    Column("entry", Integer, nullable=False),  # 1 for the first entry, 2 for the next, ...
    Column("state", String(16), nullable=False),  # active | completed | dropped
    Column("entered_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    # A participant entered by a snapshot follows its class's plan, and its contacts are made from it
    # when the first falls due (release_at; None once made, and for participants entered otherwise).
    Column("plan_id", String(36)),
    Column("release_at", UtcDateTime),
    Index("ix_participants_profile", "campaign_id", "profile_id", "state"),
    Index("ix_participants_release", "campaign_id", "release_at", sqlite_where=text("release_at IS NOT NULL"),
          postgresql_where=text("release_at IS NOT NULL")),
)

# A snapshot's plan for the members of one reach class (domain/reach.py): the contact each channel
# will make, planned once for the class; its members' contacts are made from it when due.
plans = Table(
    "plans", metadata,
    Column("id", String(36), primary_key=True),
    Column("campaign_id", String(36), nullable=False),
    Column("snapshot_id", String(36), nullable=False),
    Column("reach_class", String(32), nullable=False),
    Column("release_at", UtcDateTime),  # the first contact's due time; None when every channel is dropped
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_plans_snapshot", "snapshot_id", "reach_class", unique=True),
)

plan_contacts = Table(
    "plan_contacts", metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("field", String(32)),  # the profile field whose usable endpoint the contact takes
    Column("zones", JSON, nullable=False),
    Column("due_at", UtcDateTime),  # None: the channel is dropped for the class
    Column("reason", Text),  # why dropped, or why deferred past the snapshot
)

# One communication to one recipient on one channel: planned (waiting for its window), dispatching
# (recorded, handed to the channel), sent (waiting for its outcome), then completed or dropped.
# A work item: claimed by due_at under a lease.
contacts = Table(
    "contacts", metadata,
    Column("id", String(36), primary_key=True),
    Column("campaign_id", String(36), nullable=False),
    Column("participant_id", String(36)),
    Column("recipient", String(255), nullable=False),  # the profile id, or the endpoint without one
    Column("channel", String(16), nullable=False),
    Column("endpoint", String(255), nullable=False),
    Column("zones", JSON, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("outcome", String(64)),  # a live call's last stage, then the final outcome
    Column("disposition", String(64)),
    Column("reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    # A contact made for an outbound request: the request (its parameters, e.g. templateParameters)
    # and its expirationTime, after which the contact is never sent.
    Column("request_id", String(36)),
    Column("expires_at", UtcDateTime),
    Index("ix_contacts_due", "state", "due_at", "id"),  # claims take the oldest due, in id order, from the index
    # A campaign's claims, a channel at a time, read it in due order (PostgreSQL, unsure of the rows,
    # would otherwise sort them all per claim).
    Index("ix_contacts_campaign", "campaign_id", "state", "channel", "due_at", "id"),
    Index("ix_contacts_participant", "participant_id"),
    # A campaign's dispositions and sends per hour, counted in index order without reading a row or
    # sorting (the console's live page). Planned contacts are left out: making them costs no entry.
    Index("ix_contacts_outcomes", "campaign_id", "disposition", hour_of(text("dispatched_at")),
          sqlite_where=text(OUTCOME_WHERE), postgresql_where=text(OUTCOME_WHERE)),
)
CONTACT_OUTCOME = or_(contacts.c.dispatched_at.is_not(None), contacts.c.disposition.is_not(None))

# The communication-limit ledger: every dispatch reserves a row here in the same transaction that
# records it; a communication that provably never arrived is released.
communications = Table(
    "communications", metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("recipient", String(255), nullable=False),
    Column("campaign_id", String(36), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("released", Boolean, nullable=False, default=False),
    Index("ix_communications_recipient", "recipient", "at"),
)

# Why a recipient was not contacted (or not yet): invalid endpoint, no time zone, limit reached, ...
suppressions = Table(
    "suppressions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(36), nullable=False),
    Column("participant_id", String(36)),
    Column("contact_id", String(36)),
    Column("recipient", String(255), nullable=False),
    Column("channel", String(16)),
    Column("reason", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_suppressions_campaign", "campaign_id", "at"),
)

# The simulated carrier's own log: what it was handed, once per idempotency key.
sim_sends = Table(
    "sim_sends", metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("endpoint", String(255), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
)

# The simulated telephony carrier's calls, once per call id: the whole course of each call, drawn
# from the seed when it is originated (times of stages it never reaches are null).
sim_calls = Table(
    "sim_calls", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("endpoint", String(255), nullable=False),
    Column("status", String(64)),  # AnsweringMachineDetectionStatus, if the call got that far
    Column("disconnect_reason", String(64)),  # why the dial attempt failed, if it did
    Column("originated_at", UtcDateTime, nullable=False),
    Column("ringing_at", UtcDateTime),
    Column("answered_at", UtcDateTime),
    Column("agent_arn", String(500)),
    Column("agent_connected_at", UtcDateTime),
    Column("disconnected_at", UtcDateTime, nullable=False),
)


# --- Amazon Q in Connect: message templates ------------------------------------------------------
knowledge_bases = Table(
    "knowledge_bases", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # creation order, for listings
    Column("region", String(32), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("knowledge_base_type", String(32), nullable=False),
    Column("settings", JSON, nullable=False),  # description, serverSideEncryptionConfiguration, ...
    # Idempotency: sha256 of the clientToken (tokens run to 4096 characters) and of the request.
    Column("client_token", String(64)),
    Column("fingerprint", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("content_modified_at", UtcDateTime),  # lastContentModificationTime
    UniqueConstraint("region", "client_token", name="uq_knowledge_bases_token"),
    Index("ix_knowledge_bases_region", "region", "seq"),
)

# A template's $LATEST (the draft) lives on its row; its numbered versions are frozen copies.
message_templates = Table(
    "message_templates", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("knowledge_base_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("channel_subtype", String(16), nullable=False),
    Column("details", JSON, nullable=False),  # description, groupingConfiguration: shared by all versions
    Column("draft", JSON, nullable=False),  # content, language, defaultAttributes
    Column("active_version", Integer),
    Column("last_version", Integer, nullable=False),  # version numbers are never reused
    Column("client_token", String(64)),
    Column("fingerprint", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("knowledge_base_id", "name", name="uq_message_templates_name"),
    UniqueConstraint("knowledge_base_id", "client_token", name="uq_message_templates_token"),
    Index("ix_message_templates_knowledge_base", "knowledge_base_id", "seq"),
)

message_template_versions = Table(
    "message_template_versions", metadata,
    Column("template_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("snapshot", JSON, nullable=False),  # the draft as it was: content, language, defaultAttributes
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


# --- Amazon Connect: instances, phone numbers, flows, contacts ----------------------------------
connect_instances = Table(
    "connect_instances", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # creation order, for listings
    Column("region", String(32), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("alias", String(45)),
    Column("identity_management_type", String(32), nullable=False),
    Column("directory_id", String(12)),
    Column("inbound_calls", Boolean, nullable=False),
    Column("outbound_calls", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("region", "alias", name="uq_connect_instances_alias"),
    Index("ix_connect_instances_region", "region", "seq"),
)

# Numbers claimed by an instance: any valid E.164 number its caller names (there is no carrier
# inventory to claim from).
connect_phone_numbers = Table(
    "connect_phone_numbers", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("number", String(16), nullable=False),  # E.164
    Column("instance_id", String(36), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("number_type", String(16), nullable=False),  # DID | TOLL_FREE
    Column("description", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("region", "number", name="uq_connect_phone_numbers_number"),
    Index("ix_connect_phone_numbers_instance", "instance_id", "seq"),
)

contact_flows = Table(
    "contact_flows", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("instance_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(500), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # PUBLISHED | SAVED
    Column("description", Text),
    Column("content", Text, nullable=False),  # as given: flow language, or reattempt rules for CAMPAIGN
    Column("content_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("instance_id", "name", name="uq_contact_flows_name"),
    Index("ix_contact_flows_instance", "instance_id", "seq"),
)

# The Connect view of contacts started through the contact APIs (origin `api`, which the engine hands
# to a channel: created -> pending -> dispatching -> sent -> disconnected). The campaign engine's own
# contacts are read from `contacts` instead (engine/connect_contacts.campaign_contact).
connect_contacts = Table(
    "connect_contacts", metadata,
    Column("id", String(36), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("account", String(12), nullable=False),
    Column("instance_id", String(100), nullable=False),
    Column("origin", String(16), nullable=False),  # api | campaign
    Column("channel", String(8), nullable=False),  # Connect's: VOICE | CHAT | EMAIL
    Column("delivery", String(16), nullable=False),  # the engine channel: telephony | sms | whatsApp | email
    Column("initiation_method", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("customer_endpoint", JSON),  # {Type, Address[, DisplayName]}
    Column("system_endpoint", JSON),
    Column("flow_id", String(500)),
    Column("campaign_id", String(100)),
    Column("related_contact_id", String(256)),
    Column("name", Text),
    Column("description", Text),
    Column("attributes", JSON, nullable=False),
    Column("segment_attributes", JSON, nullable=False),
    Column("options", JSON, nullable=False),  # what the sender needs: AMD on/off, email message, ...
    Column("client_token", String(500)),
    Column("initiated_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Column("connected_at", UtcDateTime),
    Column("disconnected_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("outcome", String(64)),  # the channel's outcome; a live call's last stage, then its outcome
    Column("disconnect_reason", String(64)),
    Column("amd_status", String(32)),
    Column("reason", Text),  # why it ended without being sent (its message could not be made)
    # A work item for API-started contacts: claimed by due_at under a lease.
    Column("due_at", UtcDateTime),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Index("ix_connect_contacts_due", "state", "due_at"),
    Index("ix_connect_contacts_instance", "region", "instance_id"),
)

# ClientToken idempotency of the Connect APIs: a token names one request for 7 days; the same
# request again gets the first answer back.
client_tokens = Table(
    "client_tokens", metadata,
    Column("region", String(32), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("token", String(64), primary_key=True),  # sha256 of the token (tokens run to 500 characters)
    Column("fingerprint", String(64), nullable=False),  # sha256 of the rest of the request
    Column("response", JSON),  # None until the request that took the token commits its answer
    Column("created_at", UtcDateTime, nullable=False),
)

# Live calls of agent-assisted campaigns that found no agent within 2 s (domain/agent_call.py): the
# record of each abandon, and until when its number gets no call with answering machine detection.
abandoned_calls = Table(
    "abandoned_calls", metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("campaign_id", String(36), nullable=False),
    Column("endpoint", String(255), nullable=False),
    Column("answered_at", UtcDateTime, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_abandoned_calls_endpoint", "endpoint", "blocked_until"),
    Index("ix_abandoned_calls_campaign", "campaign_id", "at"),
)

# --- Amazon Connect: agents (queues, routing profiles, users, agent statuses) --------------------
connect_queues = Table(
    "connect_queues", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # creation order, for listings
    Column("region", String(32), nullable=False),
    Column("instance_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("description", Text),
    Column("hours_of_operation_id", String(500), nullable=False),
    Column("max_contacts", Integer),
    Column("status", String(16), nullable=False),  # ENABLED | DISABLED
    Column("outbound_caller_config", JSON),
    Column("outbound_email_config", JSON),
    Column("quick_connect_ids", JSON),
    Column("email_addresses_config", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("instance_id", "name", name="uq_connect_queues_name"),
    Index("ix_connect_queues_instance", "instance_id", "seq"),
)

routing_profiles = Table(
    "routing_profiles", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("instance_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("description", Text, nullable=False),
    Column("default_outbound_queue_id", String(36), nullable=False),
    Column("media_concurrencies", JSON, nullable=False),  # [{Channel, Concurrency[, CrossChannelBehavior]}]
    Column("agent_availability_timer", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("instance_id", "name", name="uq_routing_profiles_name"),
    Index("ix_routing_profiles_instance", "instance_id", "seq"),
)

# The queues a routing profile takes contacts from, per channel (manual: a manual-assignment queue).
routing_profile_queues = Table(
    "routing_profile_queues", metadata,
    Column("routing_profile_id", String(36), primary_key=True),
    Column("queue_id", String(36), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("manual", Boolean, primary_key=True),
    Column("priority", Integer),
    Column("delay", Integer),
    Column("seq", Integer, nullable=False),  # position in the request, for listings
    Index("ix_routing_profile_queues_queue", "queue_id", "channel"),
)

connect_users = Table(
    "connect_users", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("instance_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("username", String(100), nullable=False),
    Column("routing_profile_id", String(36), nullable=False),
    Column("security_profile_ids", JSON, nullable=False),
    Column("hierarchy_group_id", String(500)),
    Column("directory_user_id", String(500)),
    Column("identity_info", JSON),
    Column("phone_config", JSON),
    Column("channel_configs", JSON, nullable=False),  # AutoAcceptConfigs, AfterContactWorkConfigs, ... as given
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("instance_id", "username", name="uq_connect_users_username"),
    Index("ix_connect_users_instance", "instance_id", "seq"),
    Index("ix_connect_users_routing_profile", "routing_profile_id"),
)

# Agent statuses of an instance: Available (ROUTABLE) and Offline (OFFLINE), made on first use with
# ids derived from the instance, and CUSTOM ones made by CreateAgentStatus.
agent_statuses = Table(
    "agent_statuses", metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("region", String(32), nullable=False),
    Column("instance_id", String(36), nullable=False),
    Column("arn", String(500), nullable=False, unique=True),
    Column("name", String(127), nullable=False),
    Column("description", Text),
    Column("type", String(16), nullable=False),  # ROUTABLE | CUSTOM | OFFLINE
    Column("state", String(16), nullable=False),  # ENABLED | DISABLED
    Column("display_order", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("instance_id", "name", name="uq_agent_statuses_name"),
    Index("ix_agent_statuses_instance", "instance_id", "seq"),
)

# Each user's status (PutUserStatus) and activity (the dialer's view: IDLE, OFFERED, CONNECTED, ACW).
agent_states = Table(
    "agent_states", metadata,
    Column("instance_id", String(36), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("status_id", String(36), nullable=False),
    Column("status_name", String(127), nullable=False),
    Column("status_type", String(16), nullable=False),
    Column("status_since", UtcDateTime, nullable=False),
    Column("next_status_id", String(36)),  # set while on a contact: taken up when the agent is IDLE again
    Column("activity", String(16), nullable=False, server_default="IDLE"),
    Column("contact_id", String(256)),
    Column("contact_queue_id", String(36)),
    Column("connected_at", UtcDateTime),  # when the current contact reached the agent
    Column("activity_since", UtcDateTime, nullable=False),
)

# Contacts waiting in a queue for an agent (the dialer's live-answered calls), for CONTACTS_IN_QUEUE.
queued_contacts = Table(
    "queued_contacts", metadata,
    Column("instance_id", String(36), primary_key=True),
    Column("contact_id", String(256), primary_key=True),
    Column("queue_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Index("ix_queued_contacts_queue", "queue_id"),
)
