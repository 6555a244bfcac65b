"""The v1 API (`connectcampaigns`): all 22 operations through real boto3, with their main error paths,
and how v1 and v2 see the same campaigns.

Every test works inside its own Connect instance (`instance_id`), so listings see only its campaigns.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from tests.support import ACCOUNT

FLOW = "contact-flow-1"
SOURCE_NUMBER = "+15555550199"
QUEUE = "queue-1"
AMD = {"enableAnswerMachineDetection": True, "awaitAnswerMachinePrompt": False}
CALL_CONFIG = {"connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER,
               "connectQueueId": QUEUE, "answerMachineDetectionConfig": AMD}
PROGRESSIVE = {"progressiveDialerConfig": {"bandwidthAllocation": 0.5, "dialingCapacity": 0.8}}
PREDICTIVE = {"predictiveDialerConfig": {"bandwidthAllocation": 0.3, "dialingCapacity": 0.4}}
AGENTLESS = {"agentlessDialerConfig": {"dialingCapacity": 0.6}}
AGENTLESS_CALL_CONFIG = {"connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER}
SERVICE_ROLE = (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect-campaigns.amazonaws.com/"
                "AWSServiceRoleForConnectCampaigns")
EMAIL = {"outboundMode": {"agentless": {}},
         "defaultOutboundConfig": {"connectSourceEmailAddress": "campaigns@example.com",
                                   "wisdomTemplateArn": "arn:aws:wisdom:us-east-1:111122223333:template/t1"}}


def create(v1, instance_id: str, name: str = "campaign", dialer: dict = PROGRESSIVE,
           call_config: dict = CALL_CONFIG, **extra) -> dict:
    return v1.create_campaign(name=name, connectInstanceId=instance_id, dialerConfig=dialer,
                              outboundCallConfig=call_config, **extra)


def described(client, campaign_id: str) -> dict:
    return client.describe_campaign(id=campaign_id)["campaign"]


def error_of(info: pytest.ExceptionInfo) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def in_state(v1, instance_id: str, state: str) -> str:
    """A fresh progressive campaign driven into `state` through the v1 state operations."""
    campaign_id = create(v1, instance_id)["id"]
    path = {"Initialized": [], "Running": ["start"], "Paused": ["start", "pause"],
            "Stopped": ["start", "stop"]}[state]
    for action in path:
        getattr(v1, f"{action}_campaign")(id=campaign_id)
    assert v1.get_campaign_state(id=campaign_id)["state"] == state
    return campaign_id


def dial(token: str, number: str = "+15555550100", expires_in: timedelta = timedelta(hours=1), **attributes):
    return {"clientToken": token, "phoneNumber": number,
            "expirationTime": datetime.now(timezone.utc) + expires_in, "attributes": attributes or {"k": "v"}}


# --- CreateCampaign / DescribeCampaign -----------------------------------------------------------

@pytest.mark.parametrize("dialer,call_config", [
    (PROGRESSIVE, CALL_CONFIG),
    (PREDICTIVE, CALL_CONFIG),
    (AGENTLESS, AGENTLESS_CALL_CONFIG),
], ids=["progressive", "predictive", "agentless"])
def test_create_campaign_and_describe_it_back_exactly(v1, instance_id, dialer, call_config):
    created = create(v1, instance_id, name="Spring outreach", dialer=dialer, call_config=call_config,
                     tags={"team": "sales"})
    campaign_id = created["id"]
    assert uuid.UUID(campaign_id)
    assert created["arn"] == f"arn:aws:connect-campaigns:us-east-1:{ACCOUNT}:campaign/{campaign_id}"
    assert created["tags"] == {"team": "sales"}
    assert described(v1, campaign_id) == {
        "id": campaign_id, "arn": created["arn"], "name": "Spring outreach", "connectInstanceId": instance_id,
        "dialerConfig": dialer, "outboundCallConfig": call_config, "tags": {"team": "sales"},
    }
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Initialized"


def test_create_campaign_with_minimal_configuration(v1, instance_id):
    # No dialingCapacity, no tags, only the required contact flow: nothing invented on the way back.
    dialer = {"progressiveDialerConfig": {"bandwidthAllocation": 1.0}}
    campaign_id = create(v1, instance_id, dialer=dialer, call_config={"connectContactFlowId": FLOW})["id"]
    campaign = described(v1, campaign_id)
    assert campaign["dialerConfig"] == dialer
    assert campaign["outboundCallConfig"] == {"connectContactFlowId": FLOW}
    assert campaign["tags"] == {}


def test_create_campaign_with_reserved_tag_key_is_refused_and_creates_nothing(v1, instance_id):
    with pytest.raises(v1.exceptions.ValidationException) as info:
        create(v1, instance_id, tags={"aws:owner": "me"})
    assert error_of(info) == ("ValidationException", 400)
    assert "tags.aws:owner.key" in info.value.response["Error"]["Message"]
    assert list_all(v1, instance_id) == []


def test_describe_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        v1.describe_campaign(id=str(uuid.uuid4()))
    assert error_of(info) == ("ResourceNotFoundException", 404)


def test_campaigns_are_regional(v1, client, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    west = client("connectcampaigns", region="us-west-2")
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.describe_campaign(id=campaign_id)
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_campaign_state(id=campaign_id)
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.list_tags_for_resource(arn=described(v1, campaign_id)["arn"])
    assert west.get_campaign_state_batch(campaignIds=[campaign_id])["failedRequests"] == [
        {"campaignId": campaign_id, "failureCode": "ResourceNotFound"}]
    assert west.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})[
        "campaignSummaryList"] == []


# --- DeleteCampaign ------------------------------------------------------------------------------

def test_delete_campaign_removes_it_and_its_tags(v1, instance_id):
    created = create(v1, instance_id, tags={"a": "1"})
    keep = create(v1, instance_id, name="keep")["id"]
    v1.delete_campaign(id=created["id"])
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.describe_campaign(id=created["id"])
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.list_tags_for_resource(arn=created["arn"])
    assert [c["id"] for c in list_all(v1, instance_id)] == [keep]


def test_delete_running_campaign_is_allowed(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    v1.delete_campaign(id=campaign_id)
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_campaign_state(id=campaign_id)


def test_delete_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        v1.delete_campaign(id=str(uuid.uuid4()))
    assert error_of(info) == ("ResourceNotFoundException", 404)


# --- states --------------------------------------------------------------------------------------

def test_full_lifecycle(v1, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    for action, state in [("start", "Running"), ("pause", "Paused"), ("resume", "Running"),
                          ("pause", "Paused"), ("stop", "Stopped")]:
        getattr(v1, f"{action}_campaign")(id=campaign_id)
        assert v1.get_campaign_state(id=campaign_id)["state"] == state


def test_stop_from_running(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    v1.stop_campaign(id=campaign_id)
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Stopped"


@pytest.mark.parametrize("state,action", [
    ("Initialized", "pause"), ("Initialized", "resume"), ("Initialized", "stop"),
    ("Running", "start"), ("Running", "resume"),
    ("Paused", "start"), ("Paused", "pause"),
    ("Stopped", "start"), ("Stopped", "pause"), ("Stopped", "resume"), ("Stopped", "stop"),
])
def test_invalid_transition_reports_current_state(v1, instance_id, state, action):
    campaign_id = in_state(v1, instance_id, state)
    with pytest.raises(v1.exceptions.InvalidCampaignStateException) as info:
        getattr(v1, f"{action}_campaign")(id=campaign_id)
    assert error_of(info) == ("InvalidCampaignStateException", 409)
    assert info.value.response["state"] == state
    assert v1.get_campaign_state(id=campaign_id)["state"] == state


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
def test_state_operations_on_unknown_campaign_are_not_found(v1, action):
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        getattr(v1, f"{action}_campaign")(id=str(uuid.uuid4()))
    assert error_of(info) == ("ResourceNotFoundException", 404)


def test_get_campaign_state_of_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_campaign_state(id=str(uuid.uuid4()))


def test_get_campaign_state_batch_splits_known_and_unknown(v1, instance_id):
    initialized = create(v1, instance_id)["id"]
    running = in_state(v1, instance_id, "Running")
    unknown = str(uuid.uuid4())
    answer = v1.get_campaign_state_batch(campaignIds=[initialized, unknown, running])
    assert answer["successfulRequests"] == [{"campaignId": initialized, "state": "Initialized"},
                                            {"campaignId": running, "state": "Running"}]
    assert answer["failedRequests"] == [{"campaignId": unknown, "failureCode": "ResourceNotFound"}]


def test_get_campaign_state_batch_with_too_many_ids_is_refused(v1):
    # botocore checks no list maximum client-side, so this is the server's own validation.
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.get_campaign_state_batch(campaignIds=[str(uuid.uuid4()) for _ in range(26)])
    assert "campaignIds" in info.value.response["Error"]["Message"]


# --- ListCampaigns -------------------------------------------------------------------------------

def list_all(v1, instance_id: str, page_size: int = 50) -> list[dict]:
    summaries, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = v1.list_campaigns(maxResults=page_size, filters={
            "instanceIdFilter": {"value": instance_id, "operator": "Eq"}}, **kwargs)
        summaries += page["campaignSummaryList"]
        token = page.get("nextToken")
        if not token:
            return summaries


def test_list_campaigns_filters_by_instance_and_returns_summaries(v1, instance_id):
    created = create(v1, instance_id, name="mine")
    other_instance = f"other-{uuid.uuid4().hex[:8]}"
    create(v1, other_instance, name="theirs")
    assert list_all(v1, instance_id) == [{"id": created["id"], "arn": created["arn"], "name": "mine",
                                          "connectInstanceId": instance_id}]
    assert [c["name"] for c in list_all(v1, other_instance)] == ["theirs"]


def test_list_campaigns_paginates_oldest_first(v1, instance_id):
    ids = [create(v1, instance_id, name=f"c{i}")["id"] for i in range(5)]
    filters = {"instanceIdFilter": {"value": instance_id, "operator": "Eq"}}
    first = v1.list_campaigns(maxResults=2, filters=filters)
    assert [c["id"] for c in first["campaignSummaryList"]] == ids[:2]
    second = v1.list_campaigns(maxResults=2, filters=filters, nextToken=first["nextToken"])
    assert [c["id"] for c in second["campaignSummaryList"]] == ids[2:4]
    third = v1.list_campaigns(maxResults=2, filters=filters, nextToken=second["nextToken"])
    assert [c["id"] for c in third["campaignSummaryList"]] == ids[4:]
    assert "nextToken" not in third
    # boto3's paginator follows the same tokens.
    pages = v1.get_paginator("list_campaigns").paginate(filters=filters, PaginationConfig={"PageSize": 3})
    assert [c["id"] for page in pages for c in page["campaignSummaryList"]] == ids


def test_list_campaigns_without_filter_includes_every_instance(v1, instance_id):
    created = create(v1, instance_id)["id"]
    everything = [c["id"] for page in v1.get_paginator("list_campaigns").paginate() for c in page["campaignSummaryList"]]
    assert created in everything


def test_list_campaigns_with_garbage_token_is_refused(v1):
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.list_campaigns(nextToken="not-a-token")
    assert error_of(info) == ("ValidationException", 400)


def test_list_campaigns_with_max_results_above_50_is_refused(v1):
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.list_campaigns(maxResults=51)
    assert "maxResults" in info.value.response["Error"]["Message"]


# --- tags ----------------------------------------------------------------------------------------

def test_tag_list_and_untag(v1, instance_id):
    arn = create(v1, instance_id, tags={"team": "sales"})["arn"]
    v1.tag_resource(arn=arn, tags={"team": "support", "tier": "gold", "cost": "42"})
    assert v1.list_tags_for_resource(arn=arn)["tags"] == {"team": "support", "tier": "gold", "cost": "42"}
    v1.untag_resource(arn=arn, tagKeys=["tier", "cost", "never-set"])
    assert v1.list_tags_for_resource(arn=arn)["tags"] == {"team": "support"}
    assert described(v1, arn.rsplit("/", 1)[1])["tags"] == {"team": "support"}


@pytest.mark.parametrize("operation,kwargs", [
    ("tag_resource", {"tags": {"a": "b"}}),
    ("untag_resource", {"tagKeys": ["a"]}),
    ("list_tags_for_resource", {}),
])
def test_tag_operations_on_unknown_arn_are_not_found(v1, operation, kwargs):
    arn = f"arn:aws:connect-campaigns:us-east-1:{ACCOUNT}:campaign/{uuid.uuid4()}"
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        getattr(v1, operation)(arn=arn, **kwargs)
    assert error_of(info) == ("ResourceNotFoundException", 404)


def test_tag_with_reserved_key_is_refused(v1, instance_id):
    arn = create(v1, instance_id, tags={"team": "sales"})["arn"]
    with pytest.raises(v1.exceptions.ValidationException):
        v1.tag_resource(arn=arn, tags={"aws:cloudformation": "x", "ok": "y"})
    assert v1.list_tags_for_resource(arn=arn)["tags"] == {"team": "sales"}


def test_more_than_50_tags_are_refused(v1, instance_id):
    arn = create(v1, instance_id, tags={f"k{i}": "v" for i in range(45)})["arn"]
    v1.tag_resource(arn=arn, tags={f"k{i}": "v2" for i in range(40, 50)})  # overwrites count once
    assert len(v1.list_tags_for_resource(arn=arn)["tags"]) == 50
    with pytest.raises(v1.exceptions.ValidationException):
        v1.tag_resource(arn=arn, tags={"one-too-many": "v"})
    assert len(v1.list_tags_for_resource(arn=arn)["tags"]) == 50


# --- connect instance configuration --------------------------------------------------------------

def test_onboarding_job_and_instance_config(v1, instance_id):
    encryption = {"enabled": True, "encryptionType": "KMS", "keyArn": "arn:aws:kms:us-east-1:111122223333:key/k1"}
    job = v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig=encryption)
    assert job["connectInstanceOnboardingJobStatus"] == {"connectInstanceId": instance_id, "status": "SUCCEEDED"}
    assert v1.get_instance_onboarding_job_status(connectInstanceId=instance_id)[
        "connectInstanceOnboardingJobStatus"] == {"connectInstanceId": instance_id, "status": "SUCCEEDED"}
    assert v1.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"] == {
        "connectInstanceId": instance_id, "serviceLinkedRoleArn": SERVICE_ROLE, "encryptionConfig": encryption}


def test_onboarding_again_replaces_the_encryption_config(v1, instance_id):
    v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={"enabled": False})
    v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={
        "enabled": True, "encryptionType": "KMS", "keyArn": "key-2"})
    config = v1.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"]
    assert config["encryptionConfig"] == {"enabled": True, "encryptionType": "KMS", "keyArn": "key-2"}


def test_encryption_enabled_without_key_is_refused(v1, instance_id):
    with pytest.raises(v1.exceptions.ValidationException):
        v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={"enabled": True})
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_connect_instance_config(connectInstanceId=instance_id)


@pytest.mark.parametrize("operation", ["get_instance_onboarding_job_status", "delete_instance_onboarding_job",
                                       "get_connect_instance_config", "delete_connect_instance_config"])
def test_instance_never_onboarded_is_not_found(v1, instance_id, operation):
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        getattr(v1, operation)(connectInstanceId=instance_id)
    assert error_of(info) == ("ResourceNotFoundException", 404)


def test_delete_instance_onboarding_job_keeps_the_config(v1, instance_id):
    v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={"enabled": False})
    v1.delete_instance_onboarding_job(connectInstanceId=instance_id)
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_instance_onboarding_job_status(connectInstanceId=instance_id)
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.delete_instance_onboarding_job(connectInstanceId=instance_id)
    assert v1.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"][
        "connectInstanceId"] == instance_id


def test_delete_connect_instance_config(v1, instance_id):
    v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={"enabled": False})
    v1.delete_connect_instance_config(connectInstanceId=instance_id)
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_connect_instance_config(connectInstanceId=instance_id)
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.get_instance_onboarding_job_status(connectInstanceId=instance_id)


def test_delete_connect_instance_config_refused_while_campaigns_exist(v1, instance_id):
    v1.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig={"enabled": False})
    campaign_id = create(v1, instance_id)["id"]
    with pytest.raises(v1.exceptions.InvalidStateException) as info:
        v1.delete_connect_instance_config(connectInstanceId=instance_id)
    assert error_of(info) == ("InvalidStateException", 409)
    assert v1.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"]
    assert described(v1, campaign_id)["id"] == campaign_id
    # Once the campaigns are gone, the config may go.
    v1.delete_campaign(id=campaign_id)
    v1.delete_connect_instance_config(connectInstanceId=instance_id)


# --- PutDialRequestBatch -------------------------------------------------------------------------

def test_put_dial_request_batch_accepts_requests(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    answer = v1.put_dial_request_batch(id=campaign_id, dialRequests=[
        dial("t1"), dial("t2", "+44-20-7946-0958")])  # dashes are ignored
    assert answer["failedRequests"] == []
    assert [r["clientToken"] for r in answer["successfulRequests"]] == ["t1", "t2"]
    ids = [r["id"] for r in answer["successfulRequests"]]
    assert len(set(ids)) == 2 and all(uuid.UUID(i) for i in ids)


def test_put_dial_request_batch_same_token_same_content_is_idempotent(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    request = dial("same")
    first = v1.put_dial_request_batch(id=campaign_id, dialRequests=[request])["successfulRequests"][0]
    again = v1.put_dial_request_batch(id=campaign_id, dialRequests=[request])
    assert (again["successfulRequests"], again["failedRequests"]) == ([first], [])
    # Also within one batch: the second copy names the request the first created.
    duplicate = dial("dup")
    twice = v1.put_dial_request_batch(id=campaign_id, dialRequests=[duplicate, duplicate])
    assert twice["failedRequests"] == []
    dup_ids = [r["id"] for r in twice["successfulRequests"]]
    assert len(dup_ids) == 2 and dup_ids[0] == dup_ids[1]


def test_put_dial_request_batch_same_token_other_content_fails(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    request = dial("reused")
    first = v1.put_dial_request_batch(id=campaign_id, dialRequests=[request])["successfulRequests"][0]
    changed = {**request, "phoneNumber": "+15555550111"}
    answer = v1.put_dial_request_batch(id=campaign_id, dialRequests=[changed, dial("fresh")])
    assert answer["failedRequests"] == [{"clientToken": "reused", "failureCode": "InvalidInput"}]
    assert [r["clientToken"] for r in answer["successfulRequests"]] == ["fresh"]
    # The original is untouched: repeating it still answers its id.
    assert v1.put_dial_request_batch(id=campaign_id, dialRequests=[request])["successfulRequests"] == [first]


@pytest.mark.parametrize("bad", [
    dict(expires_in=timedelta(minutes=-1)),
    dict(number="15555550100"),      # no leading +
    dict(number="+123"),             # too short for E.164
    dict(number="+1234567890123456"),  # 16 digits: too long
    dict(number="+05555550100"),     # country codes do not start with 0
], ids=["expired", "no-plus", "too-short", "too-long", "leading-zero"])
def test_put_dial_request_batch_item_failures(v1, instance_id, bad):
    campaign_id = in_state(v1, instance_id, "Running")
    answer = v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial("bad", **bad), dial("good")])
    assert answer["failedRequests"] == [{"clientToken": "bad", "failureCode": "InvalidInput"}]
    assert [r["clientToken"] for r in answer["successfulRequests"]] == ["good"]


@pytest.mark.parametrize("state", ["Initialized", "Paused", "Stopped"])
def test_put_dial_request_batch_needs_a_running_campaign(v1, instance_id, state):
    campaign_id = in_state(v1, instance_id, state)
    with pytest.raises(v1.exceptions.InvalidCampaignStateException) as info:
        v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial("t")])
    assert error_of(info) == ("InvalidCampaignStateException", 409)
    assert info.value.response["state"] == state


def test_failed_item_does_not_claim_its_token(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    expired = v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial("retry", expires_in=timedelta(minutes=-5))])
    assert expired["failedRequests"] == [{"clientToken": "retry", "failureCode": "InvalidInput"}]
    retried = v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial("retry")])
    assert retried["failedRequests"] == [] and len(retried["successfulRequests"]) == 1


def test_put_dial_request_batch_to_campaign_without_telephony_fails_per_item(v1, v2, instance_id):
    campaign_id = v2.create_campaign(name="email", connectInstanceId=instance_id,
                                     channelSubtypeConfig={"email": EMAIL})["id"]
    v2.start_campaign(id=campaign_id)
    answer = v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial("t")])
    assert answer["failedRequests"] == [{"clientToken": "t", "failureCode": "InvalidInput"}]
    assert answer["successfulRequests"] == []


def test_put_dial_request_batch_to_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException) as info:
        v1.put_dial_request_batch(id=str(uuid.uuid4()), dialRequests=[dial("t")])
    assert error_of(info) == ("ResourceNotFoundException", 404)


def test_put_dial_request_batch_with_26_requests_is_refused(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Running")
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.put_dial_request_batch(id=campaign_id, dialRequests=[dial(f"t{i}") for i in range(26)])
    assert "dialRequests" in info.value.response["Error"]["Message"]


# --- UpdateCampaignDialerConfig ------------------------------------------------------------------

def test_update_dialer_config_progressive_to_predictive(v1, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    new = {"predictiveDialerConfig": {"bandwidthAllocation": 0.9}}
    v1.update_campaign_dialer_config(id=campaign_id, dialerConfig=new)
    campaign = described(v1, campaign_id)
    assert campaign["dialerConfig"] == new  # the old dialingCapacity went with the old dialer config
    assert campaign["outboundCallConfig"] == CALL_CONFIG
    v1.update_campaign_dialer_config(id=campaign_id, dialerConfig=PROGRESSIVE)
    assert described(v1, campaign_id)["dialerConfig"] == PROGRESSIVE


def test_update_dialer_config_agentless_keeps_agentless(v1, instance_id):
    campaign_id = create(v1, instance_id, dialer=AGENTLESS, call_config=AGENTLESS_CALL_CONFIG)["id"]
    v1.update_campaign_dialer_config(id=campaign_id, dialerConfig={"agentlessDialerConfig": {"dialingCapacity": 0.1}})
    assert described(v1, campaign_id)["dialerConfig"] == {"agentlessDialerConfig": {"dialingCapacity": 0.1}}


@pytest.mark.parametrize("before,after", [(AGENTLESS, PROGRESSIVE), (AGENTLESS, PREDICTIVE),
                                          (PROGRESSIVE, AGENTLESS), (PREDICTIVE, AGENTLESS)],
                         ids=["agentless-progressive", "agentless-predictive", "progressive-agentless",
                              "predictive-agentless"])
def test_update_dialer_config_cannot_cross_the_agentless_line(v1, instance_id, before, after):
    campaign_id = create(v1, instance_id, dialer=before)["id"]
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.update_campaign_dialer_config(id=campaign_id, dialerConfig=after)
    assert error_of(info) == ("ValidationException", 400)
    assert described(v1, campaign_id)["dialerConfig"] == before


def test_update_dialer_config_allowed_on_stopped_campaign(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Stopped")
    v1.update_campaign_dialer_config(id=campaign_id, dialerConfig=PREDICTIVE)
    assert described(v1, campaign_id)["dialerConfig"] == PREDICTIVE


def test_update_dialer_config_of_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.update_campaign_dialer_config(id=str(uuid.uuid4()), dialerConfig=PREDICTIVE)


# --- UpdateCampaignName / UpdateCampaignOutboundCallConfig ---------------------------------------

def test_update_campaign_name(v1, instance_id):
    campaign_id = in_state(v1, instance_id, "Stopped")  # names may change in any state
    v1.update_campaign_name(id=campaign_id, name="Renamed")
    assert described(v1, campaign_id)["name"] == "Renamed"
    assert [c["name"] for c in list_all(v1, instance_id)] == ["Renamed"]


def test_update_campaign_name_of_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.update_campaign_name(id=str(uuid.uuid4()), name="x")


def test_update_outbound_call_config_partially_keeps_other_fields(v1, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    v1.update_campaign_outbound_call_config(id=campaign_id, connectSourcePhoneNumber="+15555550123")
    assert described(v1, campaign_id)["outboundCallConfig"] == {**CALL_CONFIG, "connectSourcePhoneNumber": "+15555550123"}
    amd = {"enableAnswerMachineDetection": False}
    v1.update_campaign_outbound_call_config(id=campaign_id, connectContactFlowId="flow-2",
                                            answerMachineDetectionConfig=amd)
    assert described(v1, campaign_id)["outboundCallConfig"] == {
        "connectContactFlowId": "flow-2", "connectSourcePhoneNumber": "+15555550123", "connectQueueId": QUEUE,
        "answerMachineDetectionConfig": amd}
    assert described(v1, campaign_id)["dialerConfig"] == PROGRESSIVE


def test_update_outbound_call_config_of_unknown_campaign_is_not_found(v1):
    with pytest.raises(v1.exceptions.ResourceNotFoundException):
        v1.update_campaign_outbound_call_config(id=str(uuid.uuid4()), connectContactFlowId="f")


# --- one store, two APIs -------------------------------------------------------------------------

def test_v1_campaign_seen_through_v2(v1, v2, instance_id):
    created = create(v1, instance_id, name="v1 made", tags={"t": "1"})
    assert described(v2, created["id"]) == {
        "id": created["id"], "arn": created["arn"], "name": "v1 made", "connectInstanceId": instance_id,
        "channelSubtypeConfig": {"telephony": {
            "capacity": 0.8, "connectQueueId": QUEUE,
            "outboundMode": {"progressive": {"bandwidthAllocation": 0.5}},
            "defaultOutboundConfig": {"connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER,
                                      "answerMachineDetectionConfig": AMD},
        }},
        "tags": {"t": "1"},
    }


def test_v1_agentless_campaign_seen_through_v2(v1, v2, instance_id):
    campaign_id = create(v1, instance_id, dialer=AGENTLESS, call_config=AGENTLESS_CALL_CONFIG)["id"]
    assert described(v2, campaign_id)["channelSubtypeConfig"] == {"telephony": {
        "capacity": 0.6, "outboundMode": {"agentless": {}},
        "defaultOutboundConfig": {"connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER}}}


def v2_telephony(mode: dict, **extra) -> dict:
    return {"telephony": {"outboundMode": mode, "defaultOutboundConfig": {
        "connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER,
        "answerMachineDetectionConfig": AMD, "ringTimeout": 30}, **extra}}


@pytest.mark.parametrize("mode,capacity,queue,dialer", [
    ({"progressive": {"bandwidthAllocation": 0.25}}, 0.5, QUEUE,
     {"progressiveDialerConfig": {"bandwidthAllocation": 0.25, "dialingCapacity": 0.5}}),
    ({"predictive": {"bandwidthAllocation": 0.75}}, None, QUEUE,
     {"predictiveDialerConfig": {"bandwidthAllocation": 0.75}}),
    ({"agentless": {}}, 0.2, None, {"agentlessDialerConfig": {"dialingCapacity": 0.2}}),
], ids=["progressive", "predictive", "agentless"])
def test_v2_telephony_campaign_seen_through_v1(v1, v2, instance_id, mode, capacity, queue, dialer):
    extra = {k: v for k, v in {"capacity": capacity, "connectQueueId": queue}.items() if v is not None}
    created = v2.create_campaign(name="v2 made", connectInstanceId=instance_id,
                                 channelSubtypeConfig=v2_telephony(mode, **extra))
    call_config = {"connectContactFlowId": FLOW, "connectSourcePhoneNumber": SOURCE_NUMBER,
                   "answerMachineDetectionConfig": AMD}  # ringTimeout has no v1 form
    if queue:
        call_config["connectQueueId"] = queue
    assert described(v1, created["id"]) == {
        "id": created["id"], "arn": created["arn"], "name": "v2 made", "connectInstanceId": instance_id,
        "dialerConfig": dialer, "outboundCallConfig": call_config, "tags": {},
    }


@pytest.mark.parametrize("config", [
    {"email": EMAIL},
    v2_telephony({"preview": {"bandwidthAllocation": 0.5, "timeoutConfig": {"durationInSeconds": 30}}}),
], ids=["email-only", "preview"])
def test_v2_campaign_v1_cannot_express_is_a_validation_error(v1, v2, instance_id, config):
    created = v2.create_campaign(name="v2 only", connectInstanceId=instance_id, channelSubtypeConfig=config)
    with pytest.raises(v1.exceptions.ValidationException) as info:
        v1.describe_campaign(id=created["id"])
    assert error_of(info) == ("ValidationException", 400)
    # v1 updates of its dialer or call config would have nothing to apply to either.
    with pytest.raises(v1.exceptions.ValidationException):
        v1.update_campaign_dialer_config(id=created["id"], dialerConfig=PREDICTIVE)
    with pytest.raises(v1.exceptions.ValidationException):
        v1.update_campaign_outbound_call_config(id=created["id"], connectContactFlowId="f")
    assert described(v2, created["id"])["channelSubtypeConfig"] == config
    # It still lists, still has a state and can still be renamed through v1.
    assert [c["id"] for c in list_all(v1, instance_id)] == [created["id"]]
    assert v1.get_campaign_state(id=created["id"])["state"] == "Initialized"
    v1.update_campaign_name(id=created["id"], name="renamed by v1")
    assert described(v2, created["id"])["name"] == "renamed by v1"


def test_v1_list_campaigns_lists_both_apis_campaigns(v1, v2, instance_id):
    first = create(v1, instance_id, name="from v1")
    second = v2.create_campaign(name="from v2", connectInstanceId=instance_id, channelSubtypeConfig={"email": EMAIL})
    assert list_all(v1, instance_id) == [
        {"id": first["id"], "arn": first["arn"], "name": "from v1", "connectInstanceId": instance_id},
        {"id": second["id"], "arn": second["arn"], "name": "from v2", "connectInstanceId": instance_id},
    ]
    v2_summaries = v2.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})
    assert [(c["id"], c["channelSubtypes"]) for c in v2_summaries["campaignSummaryList"]] == [
        (first["id"], ["TELEPHONY"]), (second["id"], ["EMAIL"])]


def test_state_changes_are_shared_between_apis(v1, v2, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    v1.start_campaign(id=campaign_id)
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Running"
    v2.pause_campaign(id=campaign_id)
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Paused"
    v1.resume_campaign(id=campaign_id)
    assert v2.get_campaign_state_batch(campaignIds=[campaign_id])["successfulRequests"] == [
        {"campaignId": campaign_id, "state": "Running"}]
    v2.stop_campaign(id=campaign_id)
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Stopped"
    with pytest.raises(v1.exceptions.InvalidCampaignStateException) as info:
        v1.start_campaign(id=campaign_id)
    assert info.value.response["state"] == "Stopped"


def test_tags_set_through_v1_are_visible_through_v2(v1, v2, instance_id):
    created = create(v1, instance_id, tags={"a": "1"})
    v1.tag_resource(arn=created["arn"], tags={"b": "2"})
    assert v2.list_tags_for_resource(arn=created["arn"])["tags"] == {"a": "1", "b": "2"}
    assert described(v2, created["id"])["tags"] == {"a": "1", "b": "2"}
    v2.untag_resource(arn=created["arn"], tagKeys=["a"])
    assert v1.list_tags_for_resource(arn=created["arn"])["tags"] == {"b": "2"}


def test_v1_updates_are_visible_through_v2(v1, v2, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    v1.update_campaign_dialer_config(id=campaign_id, dialerConfig=PREDICTIVE)
    v1.update_campaign_outbound_call_config(id=campaign_id, connectContactFlowId="flow-9")
    telephony = described(v2, campaign_id)["channelSubtypeConfig"]["telephony"]
    assert telephony["outboundMode"] == {"predictive": {"bandwidthAllocation": 0.3}}
    assert telephony["capacity"] == 0.4
    assert telephony["connectQueueId"] == QUEUE
    assert telephony["defaultOutboundConfig"]["connectContactFlowId"] == "flow-9"


def test_client_errors_are_client_error_subclasses(v1):
    # Callers catching botocore's generic ClientError must see these too.
    with pytest.raises(ClientError):
        v1.describe_campaign(id=str(uuid.uuid4()))


def test_v2_channel_changes_decide_what_v1_can_see(v1, v2, instance_id):
    campaign_id = create(v1, instance_id)["id"]
    # Adding an email channel leaves the telephony dialer v1 knows.
    v2.update_campaign_channel_subtype_config(id=campaign_id, channelSubtypeConfig={"email": EMAIL})
    assert described(v1, campaign_id)["dialerConfig"] == PROGRESSIVE
    # Without telephony, v1 has no way to express the campaign any more.
    v2.delete_campaign_channel_subtype_config(id=campaign_id, channelSubtype="TELEPHONY")
    with pytest.raises(v1.exceptions.ValidationException):
        v1.describe_campaign(id=campaign_id)
