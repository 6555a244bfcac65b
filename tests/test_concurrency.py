"""Races through the real server: state transitions, quotas and idempotent intake stay exact when
many clients hit the same campaign at once (row locks on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from tests.support import make_client, start_server

RACERS = 12


def telephony_campaign(v2, instance_id: str, name: str = "race") -> str:
    return v2.create_campaign(name=name, connectInstanceId=instance_id, channelSubtypeConfig={"telephony": {
        "outboundMode": {"agentless": {}}, "defaultOutboundConfig": {"connectContactFlowId": "flow"}}})["id"]


def race(function, count: int = RACERS) -> list:
    """Runs `function(i)` on `count` threads at once; returns each result or ClientError code."""
    def attempt(i):
        try:
            return function(i)
        except ClientError as error:
            return error.response["Error"]["Code"]

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(attempt, range(count)))


def test_only_one_of_many_concurrent_starts_wins(server, v2, instance_id):
    campaign_id = telephony_campaign(v2, instance_id)
    clients = [make_client(server.url, "connectcampaignsv2") for _ in range(RACERS)]
    outcomes = race(lambda i: clients[i].start_campaign(id=campaign_id) and "started")
    assert outcomes.count("started") == 1
    assert outcomes.count("InvalidCampaignStateException") == RACERS - 1
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Running"


def test_concurrent_repeats_of_one_client_token_create_one_request(server, v2, instance_id):
    campaign_id = telephony_campaign(v2, instance_id)
    v2.start_campaign(id=campaign_id)
    request = {"clientToken": "same-token", "expirationTime": datetime.now(timezone.utc) + timedelta(hours=1),
               "channelSubtypeParameters": {"telephony": {"destinationPhoneNumber": "+15555550100",
                                                          "attributes": {}}}}
    clients = [make_client(server.url, "connectcampaignsv2") for _ in range(RACERS)]
    outcomes = race(lambda i: clients[i].put_outbound_request_batch(id=campaign_id, outboundRequests=[request]))
    ids = {o["successfulRequests"][0]["id"] for o in outcomes}
    assert len(ids) == 1, outcomes


def test_concurrent_creates_never_exceed_the_quota(tmp_path, instance_id):
    quota = 5
    running = start_server(f"sqlite:///{tmp_path / 'quota.db'}", tmp_path,
                           REACHOUT_QUOTA_ACTIVE_CAMPAIGNS_PER_INSTANCE=str(quota))
    try:
        clients = [make_client(running.url, "connectcampaignsv2") for _ in range(RACERS)]
        outcomes = race(lambda i: telephony_campaign(clients[i], instance_id, f"c{i}"))
        created = [o for o in outcomes if o != "ServiceQuotaExceededException"]
        assert len(created) == quota, outcomes
        listed = clients[0].list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})
        assert len(listed["campaignSummaryList"]) == quota
    finally:
        assert running.stop() == 0
