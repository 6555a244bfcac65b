"""Customer Profiles event triggers and integrations through real boto3 against `reachout serve`:
CreateEventTrigger / Get / Update / Delete / List with every constraint of the model and seed 000
refused as BadRequestException, the 20-per-domain quota, and PutIntegration / Get / List / Delete
linking a trigger to an event-triggered campaign. What conditions mean is pinned down by
test_event_trigger_properties.py; the firing path by test_event_trigger_firing.py."""
from __future__ import annotations

import uuid

import pytest

from tests.support import ACCOUNT, unchecked
from tests.expect import aws_error

REGION = "us-east-1"
ORDER_FIELDS = {"OrderId": {"Source": "_source.OrderId", "Target": "WebOrder.OrderId"},
                "Email": {"Source": "_source.Email", "Target": "_profile.EmailAddress"},
                "Total": {"Source": "_source.Total", "Target": "WebOrder.Total"}}
ORDER_KEYS = {"OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["OrderId"]}],
              "Email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Email"]}]}


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def big_order(operator: str = "GREATER_THAN", values=("100",), field: str = "Total") -> list[dict]:
    return [{"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
        {"FieldName": field, "ComparisonOperator": operator, "Values": list(values)}]}]}]


@pytest.fixture
def cp(client):
    return client("customer-profiles")


@pytest.fixture
def domain(cp) -> str:
    name = unique_name("trg")
    cp.create_domain(DomainName=name, DefaultExpirationDays=365)
    cp.put_profile_object_type(DomainName=name, ObjectTypeName="WebOrder", Description="orders",
                               AllowProfileCreation=True, Fields=ORDER_FIELDS, Keys=ORDER_KEYS)
    return name


def test_a_trigger_round_trips_with_the_default_limit(cp, domain):
    conditions = big_order() + [{"LogicalOperator": "NONE", "EventTriggerDimensions": [
        {"ObjectAttributes": [{"Source": "_source.Status", "ComparisonOperator": "INCLUSIVE", "Values": ["void"]}]}]}]
    made = cp.create_event_trigger(DomainName=domain, EventTriggerName="big", ObjectTypeName="WebOrder",
                                   Description="big orders", EventTriggerConditions=conditions, Tags={"team": "crm"})
    assert made["EventTriggerConditions"] == conditions
    # Seed 000: 10 invocations per day, per profile, per trigger, unless the trigger says otherwise.
    assert made["EventTriggerLimits"] == {"Periods": [{"Unit": "DAYS", "Value": 1, "MaxInvocationsPerProfile": 10}]}
    got = cp.get_event_trigger(DomainName=domain, EventTriggerName="big")
    assert {k: got[k] for k in ("EventTriggerName", "ObjectTypeName", "Description", "Tags")} == {
        "EventTriggerName": "big", "ObjectTypeName": "WebOrder", "Description": "big orders", "Tags": {"team": "crm"}}

    limits = {"EventExpiration": 600_000, "Periods": [{"Unit": "HOURS", "Value": 2, "MaxInvocationsPerProfile": 3},
                                                      {"Unit": "WEEKS", "Value": 1, "Unlimited": True}]}
    updated = cp.update_event_trigger(DomainName=domain, EventTriggerName="big", EventTriggerLimits=limits)
    assert updated["EventTriggerLimits"] == limits
    assert updated["EventTriggerConditions"] == conditions  # members not given are kept

    listed = cp.list_event_triggers(DomainName=domain)["Items"]
    assert [(i["EventTriggerName"], i["ObjectTypeName"], i["Description"]) for i in listed] == [
        ("big", "WebOrder", "big orders")]
    assert "deleted" in cp.delete_event_trigger(DomainName=domain, EventTriggerName="big")["Message"]
    with aws_error("ResourceNotFoundException", "big"):
        cp.get_event_trigger(DomainName=domain, EventTriggerName="big")
    with aws_error("ResourceNotFoundException", "big"):
        cp.delete_event_trigger(DomainName=domain, EventTriggerName="big")
    with aws_error("ResourceNotFoundException", "big"):
        cp.update_event_trigger(DomainName=domain, EventTriggerName="big", Description="x")


def test_listing_pages_in_name_order(cp, domain):
    for name in ("c", "a", "b"):
        cp.create_event_trigger(DomainName=domain, EventTriggerName=name, ObjectTypeName="WebOrder",
                                EventTriggerConditions=big_order())
    first = cp.list_event_triggers(DomainName=domain, MaxResults=2)
    second = cp.list_event_triggers(DomainName=domain, MaxResults=2, NextToken=first["NextToken"])
    assert [i["EventTriggerName"] for i in first["Items"] + second["Items"]] == ["a", "b", "c"]
    assert "NextToken" not in second


@pytest.mark.parametrize("change, mentions", [
    ({"ObjectTypeName": "_order"}, "standard object type"),
    ({"ObjectTypeName": "Nothing"}, "Object type Nothing not found"),
    ({"SegmentFilter": "nosuch"}, "SegmentFilter nosuch"),
    ({"EventTriggerConditions": big_order(field="Nope")}, "FieldName Nope is not a field"),
    ({"EventTriggerConditions": [{"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
        {"ComparisonOperator": "CONTAINS", "Values": ["x"]}]}]}]}, "exactly one of Source"),
    ({"EventTriggerConditions": [{"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
        {"Source": "_source.A", "FieldName": "Total", "ComparisonOperator": "CONTAINS", "Values": ["x"]}]}]}]},
     "exactly one of Source"),
    ({"EventTriggerConditions": big_order(values=("lots",))}, "exactly one number"),
    ({"EventTriggerConditions": big_order(values=("1", "2"))}, "exactly one number"),
    ({"EventTriggerConditions": big_order("BEFORE", ("yesterday",))}, "ISO 8601"),
    ({"EventTriggerConditions": big_order("BETWEEN", ("1",))}, "exactly two"),
    ({"EventTriggerConditions": big_order("BETWEEN", ("1", "2026-01-01"))}, "exactly two"),
    ({"EventTriggerConditions": big_order("NOT_BETWEEN", ("9", "1"))}, "is empty"),
    ({"EventTriggerConditions": big_order("NOT_BETWEEN", ("2026-02-01", "2026-01-01T00:00:00+01:00"))}, "is empty"),
    ({"EventTriggerLimits": {"EventExpiration": 0}}, "EventExpiration"),
    ({"EventTriggerLimits": {"Periods": [{"Unit": "DAYS", "Value": 1}]}}, "MaxInvocationsPerProfile"),
    ({"EventTriggerLimits": {"Periods": [{"Unit": "DAYS", "Value": 1, "Unlimited": True,
                                          "MaxInvocationsPerProfile": 5}]}}, "both Unlimited"),
])
def test_broken_triggers_are_refused_with_the_reason(cp, domain, change, mentions):
    request = {"DomainName": domain, "EventTriggerName": "t", "ObjectTypeName": "WebOrder",
               "EventTriggerConditions": big_order(), **change}
    with aws_error("BadRequestException", mentions):
        cp.create_event_trigger(**request)
    with aws_error("ResourceNotFoundException"):
        cp.get_event_trigger(DomainName=domain, EventTriggerName="t")  # nothing was made
    cp.create_event_trigger(DomainName=domain, EventTriggerName="t", ObjectTypeName="WebOrder",
                            EventTriggerConditions=big_order())
    with aws_error("BadRequestException", mentions):
        cp.update_event_trigger(**request)
    assert cp.get_event_trigger(DomainName=domain, EventTriggerName="t")["EventTriggerConditions"] == big_order()


@pytest.mark.parametrize("change", [
    {"EventTriggerConditions": big_order() * 6},  # at most 5 conditions
    {"EventTriggerConditions": [{"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
        {"FieldName": "Total", "ComparisonOperator": "CONTAINS", "Values": ["1"] * 11}]}]}]},  # at most 10 values
    {"EventTriggerConditions": [{"LogicalOperator": "SOME", "EventTriggerDimensions": [{"ObjectAttributes": [
        {"FieldName": "Total", "ComparisonOperator": "CONTAINS", "Values": ["1"]}]}]}]},
    {"EventTriggerLimits": {"Periods": [{"Unit": "DAYS", "Value": 25, "MaxInvocationsPerProfile": 1}]}},
    {"EventTriggerLimits": {"Periods": [{"Unit": "DAYS", "Value": 1, "MaxInvocationsPerProfile": 1001}]}},
    {"EventTriggerLimits": {"Periods": [{"Unit": "YEARS", "Value": 1, "MaxInvocationsPerProfile": 1}]}},
])
def test_the_models_bounds_are_bad_requests(server, domain, change):
    # botocore refuses these itself: the server must too, for clients that do not check.
    with aws_error("BadRequestException"):
        unchecked(server, "customer-profiles").create_event_trigger(
            DomainName=domain, EventTriggerName="t", ObjectTypeName="WebOrder",
            **{"EventTriggerConditions": big_order(), **change})


def test_a_domain_holds_at_most_20_triggers(cp, domain):
    for number in range(20):
        cp.create_event_trigger(DomainName=domain, EventTriggerName=f"t{number}", ObjectTypeName="WebOrder",
                                EventTriggerConditions=big_order())
    with aws_error("BadRequestException", "20 event triggers"):
        cp.create_event_trigger(DomainName=domain, EventTriggerName="t20", ObjectTypeName="WebOrder",
                                EventTriggerConditions=big_order())
    with aws_error("BadRequestException", "already exists"):
        cp.create_event_trigger(DomainName=domain, EventTriggerName="t0", ObjectTypeName="WebOrder",
                                EventTriggerConditions=big_order())
    cp.delete_event_trigger(DomainName=domain, EventTriggerName="t3")
    cp.create_event_trigger(DomainName=domain, EventTriggerName="t20", ObjectTypeName="WebOrder",
                            EventTriggerConditions=big_order())
    assert len(cp.list_event_triggers(DomainName=domain)["Items"]) == 20


def test_an_unknown_domain_is_not_found(cp):
    with aws_error("ResourceNotFoundException", "Domain"):
        cp.create_event_trigger(DomainName="no-such-domain", EventTriggerName="t", ObjectTypeName="WebOrder",
                                EventTriggerConditions=big_order())
    with aws_error("ResourceNotFoundException", "Domain"):
        cp.list_integrations(DomainName="no-such-domain")


# --- integrations ------------------------------------------------------------------------------------
def event_campaign(client, domain: str) -> str:
    """The ARN of a new event-triggered campaign of the domain (seed 000's CreateCampaign request)."""
    v2 = client("connectcampaignsv2")
    made = v2.create_campaign(name=unique_name("evt"), connectInstanceId=unique_name("inst"), channelSubtypeConfig={
        "email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": "shop@example.com",
            "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/tpl"}}},
        source={"eventTrigger": {"customerProfilesDomainArn": f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{domain}"}})
    return made["arn"]


def test_an_integration_links_a_trigger_to_its_campaign(client, cp, domain):
    cp.create_event_trigger(DomainName=domain, EventTriggerName="big", ObjectTypeName="WebOrder",
                            EventTriggerConditions=big_order())
    arn = event_campaign(client, domain)
    put = cp.put_integration(DomainName=domain, Uri=arn, EventTriggerNames=["big"], ObjectTypeName="WebOrder",
                             Tags={"k": "v"})
    assert (put["DomainName"], put["Uri"], put["EventTriggerNames"], put["Tags"]) == (domain, arn, ["big"], {"k": "v"})
    got = cp.get_integration(DomainName=domain, Uri=arn)
    assert got["EventTriggerNames"] == ["big"] and got["ObjectTypeName"] == "WebOrder"
    assert [i["Uri"] for i in cp.list_integrations(DomainName=domain)["Items"]] == [arn]
    assert "deleted" in cp.delete_integration(DomainName=domain, Uri=arn)["Message"]
    assert cp.list_integrations(DomainName=domain)["Items"] == []
    with aws_error("ResourceNotFoundException", arn):
        cp.get_integration(DomainName=domain, Uri=arn)
    with aws_error("ResourceNotFoundException", arn):
        cp.delete_integration(DomainName=domain, Uri=arn)


def test_integrations_that_could_not_work_are_refused(client, cp, domain):
    cp.create_event_trigger(DomainName=domain, EventTriggerName="big", ObjectTypeName="WebOrder",
                            EventTriggerConditions=big_order())
    arn = event_campaign(client, domain)
    other = unique_name("trg")
    cp.create_domain(DomainName=other, DefaultExpirationDays=365)
    foreign = event_campaign(client, other)
    with aws_error("BadRequestException", "event trigger nope not found"):
        cp.put_integration(DomainName=domain, Uri=arn, EventTriggerNames=["nope"])
    with aws_error("BadRequestException", "names no campaign"):
        cp.put_integration(DomainName=domain, Uri=arn[:-3] + "000", EventTriggerNames=["big"])
    with aws_error("BadRequestException", "not an event-triggered campaign of domain"):
        cp.put_integration(DomainName=domain, Uri=foreign, EventTriggerNames=["big"])
    with aws_error("BadRequestException", "Object type Ghost not found"):
        cp.put_integration(DomainName=domain, Uri=arn, EventTriggerNames=["big"], ObjectTypeName="Ghost")
    with aws_error("BadRequestException", "Uri is required"):
        cp.put_integration(DomainName=domain, EventTriggerNames=["big"])
    assert cp.list_integrations(DomainName=domain)["Items"] == []
