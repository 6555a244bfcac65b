"""Reads answer while another holds the database's write lock: a describe, a listing or a state
never queues behind a writer (the engine planning a batch, an import, another API write)."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import boto3
import psycopg
from botocore.config import Config

from tests.support import ACCESS_KEY, SECRET_KEY


@contextlib.contextmanager
def write_lock_held(db_url: str, campaign_id: str) -> Iterator[None]:
    """Another connection holds what a writer holds until the block ends: SQLite's one write lock,
    or on PostgreSQL the campaign's row lock."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    parts = urlsplit(db_url)
    options = dict(p.split("=", 1) for p in parts.query.split("&") if p)
    with psycopg.connect(db_url.split("?")[0], options=unquote(options.get("options", ""))) as conn:
        conn.execute("SELECT id FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,))
        yield
        conn.rollback()


def test_reads_answer_while_the_write_lock_is_held(server, v1, instance_id):
    campaign_id = v1.create_campaign(
        name="read-me", connectInstanceId=instance_id, tags={"team": "outbound"},
        dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.0}},
        outboundCallConfig={"connectContactFlowId": "flow", "connectQueueId": "queue"})["id"]
    arn = v1.describe_campaign(id=campaign_id)["campaign"]["arn"]
    # A writer would wait out SQLite's 30 s busy timeout and then fail: the client gives up sooner.
    reader = boto3.client("connectcampaigns", endpoint_url=server.url, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10))
    with write_lock_held(server.db, campaign_id):
        assert reader.describe_campaign(id=campaign_id)["campaign"]["name"] == "read-me"
        listed = reader.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})
        assert [c["id"] for c in listed["campaignSummaryList"]] == [campaign_id]
        assert reader.get_campaign_state(id=campaign_id)["state"] == "Initialized"
        batch = reader.get_campaign_state_batch(campaignIds=[campaign_id])
        assert batch["successfulRequests"] == [{"campaignId": campaign_id, "state": "Initialized"}]
        assert reader.list_tags_for_resource(arn=arn)["tags"] == {"team": "outbound"}
