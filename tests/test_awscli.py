"""The AWS CLI (v1, installed in the venv) against Reachout: another real client, with its own
argument parsing, shorthand/JSON handling, paginators and error printing.

The CLI runs as a subprocess with credentials from the environment only, so no config on the machine
running the tests can leak in.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import ACCESS_KEY, ACCOUNT, SECRET_KEY

AWS = Path(sys.executable).parent / "aws"
TELEPHONY = {"telephony": {"capacity": 0.5, "connectQueueId": "queue-1",
                           "outboundMode": {"progressive": {"bandwidthAllocation": 0.75}},
                           "defaultOutboundConfig": {"connectContactFlowId": "flow-1",
                                                     "connectSourcePhoneNumber": "+15555550199"}}}


@pytest.fixture
def aws(server, tmp_path):
    """Runs `aws <args> --endpoint-url <server> --output json`; returns the CompletedProcess."""
    if not AWS.exists():
        pytest.fail(f"AWS CLI not installed at {AWS}; install the test extras (pip install -e '.[test]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
               AWS_MAX_ATTEMPTS="1", AWS_PAGER="")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(AWS), *args, "--endpoint-url", server.url, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)

    return run


def ok(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_campaign_workflow_through_the_cli(aws, instance_id):
    created = ok(aws("connectcampaignsv2", "create-campaign", "--name", "CLI campaign",
                     "--connect-instance-id", instance_id, "--channel-subtype-config", json.dumps(TELEPHONY),
                     "--tags", "team=cli"))
    campaign_id = created["id"]
    assert uuid.UUID(campaign_id)
    assert created["arn"] == f"arn:aws:connect-campaigns:us-east-1:{ACCOUNT}:campaign/{campaign_id}"

    assert ok(aws("connectcampaignsv2", "describe-campaign", "--id", campaign_id))["campaign"] == {
        "id": campaign_id, "arn": created["arn"], "name": "CLI campaign", "connectInstanceId": instance_id,
        "channelSubtypeConfig": TELEPHONY, "tags": {"team": "cli"}}

    # The CLI follows nextToken itself; with a page size of 1 this takes several round trips.
    ok(aws("connectcampaignsv2", "create-campaign", "--name", "second", "--connect-instance-id", instance_id,
           "--channel-subtype-config", json.dumps(TELEPHONY)))
    listed = ok(aws("connectcampaignsv2", "list-campaigns", "--page-size", "1", "--filters",
                    json.dumps({"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})))
    # Both were created at the same (virtual) instant, so their order is the order of their ids.
    assert sorted((c["name"], c["channelSubtypes"]) for c in listed["campaignSummaryList"]) == [
        ("CLI campaign", ["TELEPHONY"]), ("second", ["TELEPHONY"])]

    assert ok(aws("connectcampaignsv2", "start-campaign", "--id", campaign_id)) == {}
    assert ok(aws("connectcampaignsv2", "get-campaign-state", "--id", campaign_id)) == {"state": "Running"}
    # v1 of the CLI sees the same campaign in the same state.
    assert ok(aws("connectcampaigns", "get-campaign-state", "--id", campaign_id)) == {"state": "Running"}


def test_cli_reports_service_errors(aws):
    result = aws("connectcampaignsv2", "describe-campaign", "--id", str(uuid.uuid4()))
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr
    assert "DescribeCampaign" in result.stderr
    assert result.stdout == ""


def test_cli_reports_invalid_state_errors(aws, instance_id):
    campaign_id = ok(aws("connectcampaignsv2", "create-campaign", "--name", "c", "--connect-instance-id", instance_id,
                         "--channel-subtype-config", json.dumps(TELEPHONY)))["id"]
    result = aws("connectcampaignsv2", "pause-campaign", "--id", campaign_id)
    assert result.returncode != 0
    assert "InvalidCampaignStateException" in result.stderr
