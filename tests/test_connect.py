"""Amazon Connect (`connect`) through real boto3 against a real `reachout serve`: instances, claimed
phone numbers, contact flows, the outbound contact APIs with their refusals and ClientToken
idempotency, BatchPutContact's per-request failures; and, on a server of this module's own whose
virtual clock the tests move, contacts handed to the simulated carriers at the engine's next pass,
described, stopped, announced as contact events, and resent after a crash without a second send.

Every test works in instances of its own, so listings see only its own resources.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from reachout.channels import Outgoing
from reachout.channels.simulated import SimulatedChannel, outcome_for
from reachout.engine.connect_contacts import ConnectContacts, campaign_contact, ended
from reachout.store import campaigns as campaign_store
from reachout.store import connect_contacts as contact_store
from reachout.store.db import Database, database_url
from reachout.store.tables import sim_sends
from tests.conftest import ACCOUNT, make_client, postgres_schema_url, start_server
from tests.expect import aws_error
from tests.test_engine import EMAIL as EMAIL_CHANNEL
from tests.test_engine import advance, internal

REGION = "us-east-1"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FLOW = json.dumps({"Version": "2019-10-30", "StartAction": "hello", "Actions": [
    {"Identifier": "hello", "Type": "MessageParticipant", "Parameters": {"Text": "Hello"},
     "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
    {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]})
RULES = {"Version": "reachout-2026-11",
         "ReattemptRules": [{"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT1H", "MaxAttempts": 2}]}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_instance(connect, **overrides) -> dict:
    request = {"IdentityManagementType": "CONNECT_MANAGED", "InstanceAlias": unique("inst"),
               "InboundCallsEnabled": True, "OutboundCallsEnabled": True, **overrides}
    return connect.create_instance(**request)


def numbers_between(channel: str, wanted: set[str], start: int = 100) -> dict[str, str]:
    """outcome -> a New York number whose first attempt on `channel` has that simulated outcome (seed 0)."""
    found: dict[str, str] = {}
    for i in range(start, 10000):
        number = f"+1212555{i:04d}"
        found.setdefault(outcome_for(0, channel, number, 1), number)
        if wanted <= set(found):
            return found
    raise AssertionError(f"no numbers for {wanted - set(found)}")


@pytest.fixture
def connect(client):
    return client("connect")


class Setup:
    """An instance with a claimed number and a published flow."""

    def __init__(self, connect, *, outbound: bool = True):
        self.connect = connect
        created = new_instance(connect, OutboundCallsEnabled=outbound)
        self.instance_id, self.instance_arn = created["Id"], created["Arn"]
        self.number = f"+1202555{uuid.uuid4().int % 10000:04d}"
        while True:  # a number nobody else in the session claimed
            try:
                self.number_arn = connect.claim_phone_number(InstanceId=self.instance_id,
                                                             PhoneNumber=self.number)["PhoneNumberArn"]
                break
            except connect.exceptions.InvalidParameterException:
                self.number = f"+1202555{uuid.uuid4().int % 10000:04d}"
        self.flow_id = connect.create_contact_flow(InstanceId=self.instance_id, Name="outbound", Type="CONTACT_FLOW",
                                                   Content=FLOW)["ContactFlowId"]

    def voice(self, destination: str, **extra) -> str:
        return self.connect.start_outbound_voice_contact(
            InstanceId=self.instance_id, ContactFlowId=self.flow_id, DestinationPhoneNumber=destination,
            SourcePhoneNumber=self.number, **extra)["ContactId"]

    def sms(self, destination: str, **extra) -> str:
        return self.connect.start_outbound_chat_contact(
            InstanceId=self.instance_id, ContactFlowId=self.flow_id,
            SourceEndpoint={"Type": "CONNECT_PHONENUMBER_ARN", "Address": self.number_arn},
            DestinationEndpoint={"Type": "TELEPHONE_NUMBER", "Address": destination},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:SMS"}}, **extra)["ContactId"]

    def describe(self, contact_id: str) -> dict:
        return self.connect.describe_contact(InstanceId=self.instance_id, ContactId=contact_id)["Contact"]


# --- instances -------------------------------------------------------------------------------------
def test_instances_are_created_described_and_listed_in_creation_order(connect, client):
    alias = unique("acme")
    created = connect.create_instance(IdentityManagementType="CONNECT_MANAGED", InstanceAlias=alias,
                                      InboundCallsEnabled=False, OutboundCallsEnabled=True, Tags={"team": "growth"})
    assert created["Arn"] == f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{created['Id']}"
    instance = connect.describe_instance(InstanceId=created["Id"])["Instance"]
    assert (instance["InstanceAlias"], instance["InstanceStatus"], instance["InboundCallsEnabled"],
            instance["OutboundCallsEnabled"], instance["Tags"]) == (alias, "ACTIVE", False, True, {"team": "growth"})
    assert instance["InstanceAccessUrl"] == f"https://{alias}.my.connect.aws"
    assert connect.describe_instance(InstanceId=created["Arn"])["Instance"]["Id"] == created["Id"]

    others = [new_instance(connect)["Id"] for _ in range(2)]
    listed, token = [], None
    while True:
        page = connect.list_instances(MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["InstanceSummaryList"]) <= 2
        listed += [i["Id"] for i in page["InstanceSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    mine = [i for i in listed if i in {created["Id"], *others}]
    assert mine == [created["Id"], *others]
    # Instances belong to a region.
    assert created["Id"] not in [i["Id"] for i in client("connect", region="us-west-2").list_instances()
                                 ["InstanceSummaryList"]]


def test_instance_refusals(connect):
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.describe_instance(InstanceId=UNKNOWN_ID)
    existing = new_instance(connect)
    taken = connect.describe_instance(InstanceId=existing["Id"])["Instance"]["InstanceAlias"]
    with aws_error("InvalidRequestException", "already exists"):
        new_instance(connect, InstanceAlias=taken)
    with aws_error("InvalidRequestException", "DirectoryId"):
        connect.create_instance(IdentityManagementType="EXISTING_DIRECTORY", InboundCallsEnabled=True,
                                OutboundCallsEnabled=True)
    with aws_error("InvalidRequestException", "InstanceAlias"):
        connect.create_instance(IdentityManagementType="SAML", InboundCallsEnabled=True, OutboundCallsEnabled=True)
    directory = connect.create_instance(IdentityManagementType="EXISTING_DIRECTORY", DirectoryId="d-0123456789",
                                        InboundCallsEnabled=True, OutboundCallsEnabled=False)
    assert "InstanceAccessUrl" not in connect.describe_instance(InstanceId=directory["Id"])["Instance"]
    with aws_error("InvalidRequestException", "must satisfy regular expression"):
        new_instance(connect, InstanceAlias="d-nope")


def test_client_token_replays_the_first_answer_and_refuses_another_request(connect):
    token = unique("token")
    first = new_instance(connect, ClientToken=token, InstanceAlias=(alias := unique("idem")))
    again = new_instance(connect, ClientToken=token, InstanceAlias=alias)
    assert again["Id"] == first["Id"]
    with aws_error("InvalidRequestException", "ClientToken"):  # CreateInstance lists no IdempotencyException
        new_instance(connect, ClientToken=token, InstanceAlias=unique("other"))


# --- phone numbers ---------------------------------------------------------------------------------
def test_numbers_are_claimed_by_instance_or_target_and_listed_with_filters(connect):
    instance = new_instance(connect)
    other = new_instance(connect)
    suffix = f"{uuid.uuid4().int % 10000:04d}"
    us, toll_free, uk = f"+1212555{suffix}", "+18005550199", f"+4420794{suffix[:2]}0{suffix[2:]}"
    claimed = connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber=us, PhoneNumberDescription="main",
                                         Tags={"use": "sms"})
    assert claimed["PhoneNumberArn"] == f"arn:aws:connect:{REGION}:{ACCOUNT}:phone-number/{claimed['PhoneNumberId']}"
    connect.claim_phone_number(TargetArn=instance["Arn"], PhoneNumber=uk)
    connect.claim_phone_number(InstanceId=other["Id"], PhoneNumber=f"+1312555{suffix}")
    try:
        connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber=toll_free)
        expected = [us, uk, toll_free]
    except connect.exceptions.InvalidParameterException:  # another run of the session claimed it
        expected = [us, uk]

    listed = connect.list_phone_numbers_v2(InstanceId=instance["Id"])["ListPhoneNumbersSummaryList"]
    assert [n["PhoneNumber"] for n in listed] == expected
    first = listed[0]
    assert (first["PhoneNumberCountryCode"], first["PhoneNumberType"], first["TargetArn"], first["InstanceId"],
            first["PhoneNumberDescription"]) == ("US", "DID", instance["Arn"], instance["Id"], "main")
    by_target = connect.list_phone_numbers_v2(TargetArn=instance["Arn"], PhoneNumberCountryCodes=["GB"])
    assert [n["PhoneNumber"] for n in by_target["ListPhoneNumbersSummaryList"]] == [uk]
    if toll_free in expected:
        free = connect.list_phone_numbers_v2(InstanceId=instance["Id"], PhoneNumberTypes=["TOLL_FREE"])
        assert [n["PhoneNumber"] for n in free["ListPhoneNumbersSummaryList"]] == [toll_free]
    prefixed = connect.list_phone_numbers_v2(InstanceId=instance["Id"], PhoneNumberPrefix="1212")
    assert [n["PhoneNumber"] for n in prefixed["ListPhoneNumbersSummaryList"]] == [us]
    paged = connect.list_phone_numbers_v2(InstanceId=instance["Id"], MaxResults=1)
    rest = connect.list_phone_numbers_v2(InstanceId=instance["Id"], MaxResults=5, NextToken=paged["NextToken"])
    assert [n["PhoneNumber"] for n in paged["ListPhoneNumbersSummaryList"] + rest["ListPhoneNumbersSummaryList"]] \
        == expected


def test_number_refusals_and_idempotency(connect):
    instance = new_instance(connect)
    number = f"+1415555{uuid.uuid4().int % 10000:04d}"
    token = unique("claim")
    first = connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber=number, ClientToken=token)
    assert connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber=number,
                                      ClientToken=token)["PhoneNumberId"] == first["PhoneNumberId"]
    with aws_error("IdempotencyException", "ClientToken"):
        connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber="+14155550000", ClientToken=token)
    with aws_error("InvalidParameterException", "already claimed"):
        connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber=number)
    with aws_error("InvalidParameterException", "not a valid phone number"):
        connect.claim_phone_number(InstanceId=instance["Id"], PhoneNumber="+12345")
    with aws_error("InvalidParameterException", "not both"):
        connect.claim_phone_number(InstanceId=instance["Id"], TargetArn=instance["Arn"], PhoneNumber="+14155550001")
    with aws_error("InvalidParameterException", "InstanceId or a TargetArn"):
        connect.claim_phone_number(PhoneNumber="+14155550001")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.claim_phone_number(InstanceId=UNKNOWN_ID, PhoneNumber="+14155550001")
    with aws_error("ResourceNotFoundException"):
        connect.list_phone_numbers_v2(TargetArn=f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{UNKNOWN_ID}")
    assert len(connect.list_phone_numbers_v2(InstanceId=instance["Id"])["ListPhoneNumbersSummaryList"]) == 1


# --- contact flows -----------------------------------------------------------------------------------
def test_contact_flows_are_created_described_and_listed_by_type(connect):
    instance = new_instance(connect)["Id"]
    created = connect.create_contact_flow(InstanceId=instance, Name="greeting", Type="CONTACT_FLOW", Content=FLOW,
                                          Description="says hello", Tags={"k": "v"})
    assert created["ContactFlowArn"].endswith(f"instance/{instance}/contact-flow/{created['ContactFlowId']}")
    rules = connect.create_contact_flow(InstanceId=instance, Name="retries", Type="CAMPAIGN",
                                        Content=json.dumps(RULES))
    flow = connect.describe_contact_flow(InstanceId=instance, ContactFlowId=created["ContactFlowId"])["ContactFlow"]
    assert (flow["Name"], flow["Type"], flow["Status"], flow["State"], flow["Content"], flow["Description"],
            flow["Tags"]) == ("greeting", "CONTACT_FLOW", "PUBLISHED", "ACTIVE", FLOW, "says hello", {"k": "v"})
    assert flow["FlowContentSha256"] == created["FlowContentSha256"] and len(flow["FlowContentSha256"]) == 64
    by_arn = connect.describe_contact_flow(InstanceId=instance, ContactFlowId=rules["ContactFlowArn"])
    assert json.loads(by_arn["ContactFlow"]["Content"]) == RULES

    listed = connect.list_contact_flows(InstanceId=instance)["ContactFlowSummaryList"]
    assert [(f["Name"], f["ContactFlowType"]) for f in listed] == [("greeting", "CONTACT_FLOW"),
                                                                   ("retries", "CAMPAIGN")]
    campaign_flows = connect.list_contact_flows(InstanceId=instance, ContactFlowTypes=["CAMPAIGN"])
    assert [f["Id"] for f in campaign_flows["ContactFlowSummaryList"]] == [rules["ContactFlowId"]]
    first = connect.list_contact_flows(InstanceId=instance, MaxResults=1)
    assert [f["Name"] for f in first["ContactFlowSummaryList"]] == ["greeting"] and first["NextToken"]

    # A saved draft is kept unchecked and is described only as the saved version.
    draft = connect.create_contact_flow(InstanceId=instance, Name="draft", Type="CAMPAIGN", Content="{unfinished",
                                        Status="SAVED")["ContactFlowId"]
    with aws_error("ContactFlowNotPublishedException", "$SAVED"):
        connect.describe_contact_flow(InstanceId=instance, ContactFlowId=draft)
    saved = connect.describe_contact_flow(InstanceId=instance, ContactFlowId=f"{draft}:$SAVED")["ContactFlow"]
    assert (saved["Status"], saved["Content"]) == ("SAVED", "{unfinished")


def test_flow_refusals_say_what_is_wrong(connect):
    instance = new_instance(connect)["Id"]
    connect.create_contact_flow(InstanceId=instance, Name="taken", Type="CONTACT_FLOW", Content=FLOW)
    with aws_error("DuplicateResourceException", "taken"):
        connect.create_contact_flow(InstanceId=instance, Name="taken", Type="CONTACT_FLOW", Content=FLOW)
    broken = json.dumps({"Version": "2019-10-30", "StartAction": "nowhere", "Actions": [
        {"Identifier": "a", "Type": "DisconnectParticipant", "Transitions": {"NextAction": "ghost"}}]})
    with aws_error("InvalidContactFlowException") as caught:
        connect.create_contact_flow(InstanceId=instance, Name="broken", Type="CONTACT_FLOW", Content=broken)
    problems = [p["message"] for p in caught.value.response["problems"]]
    assert problems == ['StartAction "nowhere" is not the Identifier of an action',
                        "Action a transitions to ghost, which is not an action"]
    bad_rules = {"Version": "2020", "ReattemptRules": [
        {"Dispositions": ["HARD_BOUNCE", "LOST"], "Channel": "fax", "Wait": "soon", "MaxAttempts": 1, "Extra": 1}]}
    with aws_error("InvalidContactFlowException") as caught:
        connect.create_contact_flow(InstanceId=instance, Name="rules", Type="CAMPAIGN", Content=json.dumps(bad_rules))
    problems = [p["message"] for p in caught.value.response["problems"]]
    assert len(problems) == 6, problems
    for fragment in ('Version must be "reachout-2026-11"', "unknown member Extra", "LOST is not a disposition",
                     "Channel must be one of", "'soon' is not an ISO 8601 duration", "MaxAttempts must be an integer"):
        assert any(fragment in p for p in problems), (fragment, problems)
    with aws_error("InvalidContactFlowException"):
        connect.create_contact_flow(InstanceId=instance, Name="json", Type="CAMPAIGN", Content="not json")
    assert [f["Name"] for f in connect.list_contact_flows(InstanceId=instance)["ContactFlowSummaryList"]] == ["taken"]
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.describe_contact_flow(InstanceId=instance, ContactFlowId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.list_contact_flows(InstanceId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.create_contact_flow(InstanceId=UNKNOWN_ID, Name="x", Type="CONTACT_FLOW", Content=FLOW)


# --- outbound contacts: what is refused ------------------------------------------------------------
def test_outbound_voice_refusals(connect):
    setup = Setup(connect)
    with aws_error("InvalidParameterException", "not a valid phone number"):
        setup.voice("+1999")
    with aws_error("ResourceNotFoundException", "not claimed"):
        connect.start_outbound_voice_contact(InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
                                             DestinationPhoneNumber="+12125550101", SourcePhoneNumber="+12025550000")
    with aws_error("InvalidParameterException", "SourcePhoneNumber"):
        connect.start_outbound_voice_contact(InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
                                             DestinationPhoneNumber="+12125550101")
    with aws_error("ResourceNotFoundException", "Queue"):
        setup.voice("+12125550101", QueueId="q1")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.start_outbound_voice_contact(InstanceId=setup.instance_id, ContactFlowId=UNKNOWN_ID,
                                             DestinationPhoneNumber="+12125550101", SourcePhoneNumber=setup.number)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.start_outbound_voice_contact(InstanceId=UNKNOWN_ID, ContactFlowId=setup.flow_id,
                                             DestinationPhoneNumber="+12125550101", SourcePhoneNumber=setup.number)
    with aws_error("InvalidParameterException", "Attribute keys"):
        setup.voice("+12125550101", Attributes={"has space": "x"})
    with aws_error("ResourceNotFoundException", "Related contact"):
        setup.voice("+12125550101", RelatedContactId=UNKNOWN_ID)
    inbound_only = Setup(connect, outbound=False)
    with aws_error("OutboundContactNotPermittedException", "outbound calls disabled"):
        inbound_only.voice("+12125550101")
    draft = connect.create_contact_flow(InstanceId=setup.instance_id, Name="draft", Type="CONTACT_FLOW",
                                        Content=FLOW, Status="SAVED")["ContactFlowId"]
    with aws_error("InvalidParameterException", "not published"):
        connect.start_outbound_voice_contact(InstanceId=setup.instance_id, ContactFlowId=draft,
                                             DestinationPhoneNumber="+12125550101", SourcePhoneNumber=setup.number)


def test_outbound_chat_refusals(connect):
    setup = Setup(connect)
    with aws_error("InvalidRequestException", "CONNECT_PHONENUMBER_ARN"):
        connect.start_outbound_chat_contact(
            InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
            SourceEndpoint={"Type": "TELEPHONE_NUMBER", "Address": setup.number},
            DestinationEndpoint={"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:SMS"}})
    with aws_error("InvalidRequestException", "TELEPHONE_NUMBER"):
        connect.start_outbound_chat_contact(
            InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
            SourceEndpoint={"Type": "CONNECT_PHONENUMBER_ARN", "Address": setup.number_arn},
            DestinationEndpoint={"Type": "EMAIL_ADDRESS", "Address": "a@example.com"},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:SMS"}})
    with aws_error("InvalidRequestException", "connect:Subtype"):
        connect.start_outbound_chat_contact(
            InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
            SourceEndpoint={"Type": "CONNECT_PHONENUMBER_ARN", "Address": setup.number_arn},
            DestinationEndpoint={"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:Guide"}})
    with aws_error("InvalidRequestException", "not a valid phone number"):
        setup.sms("+1202")
    with aws_error("InvalidRequestException", "text/plain"):
        setup.sms("+12125550101", SupportedMessagingContentTypes=["text/markdown"])
    other = Setup(connect)
    with aws_error("ResourceNotFoundException", "not claimed"):  # another instance's number
        connect.start_outbound_chat_contact(
            InstanceId=setup.instance_id, ContactFlowId=setup.flow_id,
            SourceEndpoint={"Type": "CONNECT_PHONENUMBER_ARN", "Address": other.number_arn},
            DestinationEndpoint={"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:SMS"}})
    with aws_error("ResourceNotFoundException", other.flow_id):  # another instance's flow
        connect.start_outbound_chat_contact(
            InstanceId=setup.instance_id, ContactFlowId=other.flow_id,
            SourceEndpoint={"Type": "CONNECT_PHONENUMBER_ARN", "Address": setup.number_arn},
            DestinationEndpoint={"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"},
            SegmentAttributes={"connect:Subtype": {"ValueString": "connect:SMS"}})


def test_outbound_email_refusals(connect):
    setup = Setup(connect)
    with aws_error("InvalidParameterException", "EMAIL contacts with InitiationMethod OUTBOUND"):
        connect.create_contact(InstanceId=setup.instance_id, Channel="VOICE", InitiationMethod="TRANSFER")
    contact = connect.create_contact(InstanceId=setup.instance_id, Channel="EMAIL", InitiationMethod="OUTBOUND")
    assert contact["ContactArn"] == f"{setup.instance_arn}/contact/{contact['ContactId']}"
    raw = {"MessageSourceType": "RAW", "RawMessage": {"Subject": "Hi", "Body": "Hello", "ContentType": "text/plain"}}

    def start(**overrides):
        request = {"InstanceId": setup.instance_id, "ContactId": contact["ContactId"],
                   "DestinationEmailAddress": {"EmailAddress": "ann@example.com"}, "EmailMessage": raw, **overrides}
        return connect.start_outbound_email_contact(**request)

    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        start(ContactId=UNKNOWN_ID)
    with aws_error("InvalidRequestException", "TemplatedMessageConfig"):
        start(EmailMessage={"MessageSourceType": "TEMPLATE", "RawMessage": raw["RawMessage"]})
    with aws_error("ResourceNotFoundException", "Message template"):
        start(EmailMessage={"MessageSourceType": "TEMPLATE", "TemplatedMessageConfig": {
            "KnowledgeBaseId": UNKNOWN_ID, "MessageTemplateId": UNKNOWN_ID, "TemplateAttributes": {}}})
    with aws_error("InvalidRequestException", "not a valid email address"):
        start(DestinationEmailAddress={"EmailAddress": "ann@-bad-.com"})
    voice = setup.voice("+12125550101")
    with aws_error("InvalidRequestException", "not an EMAIL contact"):
        start(ContactId=voice)
    # Refusals changed nothing: the contact can still be started, once.
    assert start()["ContactId"] == contact["ContactId"]
    with aws_error("InvalidRequestException", "already started"):
        start()


def test_outbound_contacts_are_idempotent_per_client_token(connect):
    setup = Setup(connect)
    token = unique("call")
    first = setup.voice("+12125550101", ClientToken=token)
    assert setup.voice("+12125550101", ClientToken=token) == first
    with aws_error("InvalidParameterException", "ClientToken"):  # the model lists no IdempotencyException here
        setup.voice("+12125550102", ClientToken=token)
    sms = setup.sms("+12125550101", ClientToken=token)  # tokens are per operation
    assert sms != first and setup.sms("+12125550101", ClientToken=token) == sms
    with aws_error("ConflictException", "ClientToken"):
        setup.sms("+12125550103", ClientToken=token)
    email = connect.create_contact(InstanceId=setup.instance_id, Channel="EMAIL", InitiationMethod="OUTBOUND",
                                   ClientToken=token)["ContactId"]
    request = {"InstanceId": setup.instance_id, "ContactId": email, "ClientToken": token,
               "DestinationEmailAddress": {"EmailAddress": "ann@example.com"},
               "EmailMessage": {"MessageSourceType": "RAW", "RawMessage": {"Subject": "Hi", "Body": "Hello",
                                                                           "ContentType": "text/plain"}}}
    assert connect.start_outbound_email_contact(**request)["ContactId"] == email
    assert connect.start_outbound_email_contact(**request)["ContactId"] == email  # replayed, not refused
    with aws_error("IdempotencyException", "ClientToken"):
        connect.start_outbound_email_contact(**{**request,
                                                "DestinationEmailAddress": {"EmailAddress": "b@example.com"}})
    assert setup.describe(first)["CustomerEndpoint"]["Address"] == "+12125550101"


# --- BatchPutContact ---------------------------------------------------------------------------------
def test_batch_put_contact_fails_requests_one_by_one_with_the_model_codes(connect, client):
    setup = Setup(connect)
    v2 = client("connectcampaignsv2")
    campaign = v2.create_campaign(name="batch", connectInstanceId=setup.instance_id, channelSubtypeConfig={
        "telephony": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectContactFlowId": setup.flow_id}}})["id"]
    elsewhere = v2.create_campaign(name="elsewhere", connectInstanceId="another-instance", channelSubtypeConfig={
        "telephony": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectContactFlowId": setup.flow_id}}})["id"]
    system = {"Type": "TELEPHONE_NUMBER", "Address": setup.number}
    good = {"RequestIdentifier": "ok", "Campaign": {"CampaignId": campaign}, "SystemEndpoint": system,
            "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"}, "Attributes": {"tier": "gold"}}
    by_arn = {**good, "RequestIdentifier": "arn", "SystemEndpoint": {"Type": "CONNECT_PHONENUMBER_ARN",
                                                                     "Address": setup.number_arn}}
    requests = [
        good, by_arn,
        {**good, "RequestIdentifier": "no-campaign", "Campaign": None},
        {**good, "RequestIdentifier": "other-campaign", "Campaign": {"CampaignId": elsewhere}},
        {**good, "RequestIdentifier": "no-customer", "CustomerEndpoint": None},
        {**good, "RequestIdentifier": "bad-customer",
         "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "555"}},
        {**good, "RequestIdentifier": "email-customer",
         "CustomerEndpoint": {"Type": "EMAIL_ADDRESS", "Address": "a@example.com"}},
        {**good, "RequestIdentifier": "no-system", "SystemEndpoint": None},
        {**good, "RequestIdentifier": "queue", "QueueId": "q1"},
        {**good, "RequestIdentifier": "bad-system", "SystemEndpoint": {"Type": "TELEPHONE_NUMBER",
                                                                        "Address": "+12025550000"}},
        {**good, "RequestIdentifier": "bad-key", "Attributes": {"no spaces": "x"}},
        {**good, "RequestIdentifier": "agent-first", "OutboundStrategy": {"Type": "AGENT_FIRST"}},
    ]
    requests = [{k: v for k, v in r.items() if v is not None} for r in requests]
    token = unique("batch")
    answer = connect.batch_put_contact(InstanceId=setup.instance_id, ClientToken=token,
                                       ContactDataRequestList=requests)
    assert [s["RequestIdentifier"] for s in answer["SuccessfulRequestList"]] == ["ok", "arn"]
    assert {f["RequestIdentifier"]: f["FailureReasonCode"] for f in answer["FailedRequestList"]} == {
        "no-campaign": "MISSING_CAMPAIGN", "other-campaign": "MISSING_CAMPAIGN",
        "no-customer": "MISSING_CUSTOMER_ENDPOINT", "bad-customer": "INVALID_CUSTOMER_ENDPOINT",
        "email-customer": "INVALID_CUSTOMER_ENDPOINT", "no-system": "MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT",
        "queue": "INVALID_QUEUE", "bad-system": "INVALID_SYSTEM_ENDPOINT", "bad-key": "INVALID_ATTRIBUTE_KEY",
        "agent-first": "INVALID_OUTBOUND_STRATEGY"}
    assert all(f["FailureReasonMessage"] for f in answer["FailedRequestList"])
    contact = setup.describe(answer["SuccessfulRequestList"][0]["ContactId"])
    assert (contact["Channel"], contact["InitiationMethod"], contact["Campaign"], contact["Attributes"],
            contact["SystemEndpoint"]["Address"]) == ("VOICE", "API", {"CampaignId": campaign}, {"tier": "gold"},
                                                      setup.number)

    # The same batch again: the same answer. A changed request under the same identifier: refused alone.
    replay = connect.batch_put_contact(InstanceId=setup.instance_id, ClientToken=token,
                                       ContactDataRequestList=requests)
    assert replay["SuccessfulRequestList"] == answer["SuccessfulRequestList"]
    assert replay["FailedRequestList"] == answer["FailedRequestList"]
    changed = {**good, "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+12125550199"}}
    new = {**good, "RequestIdentifier": "new"}
    retried = connect.batch_put_contact(InstanceId=setup.instance_id, ClientToken=token,
                                        ContactDataRequestList=[changed, by_arn, new])
    assert [f["FailureReasonCode"] for f in retried["FailedRequestList"]] == ["IDEMPOTENCY_EXCEPTION"]
    assert retried["SuccessfulRequestList"][0] == answer["SuccessfulRequestList"][1]
    assert retried["SuccessfulRequestList"][1]["RequestIdentifier"] == "new"
    assert retried["SuccessfulRequestList"][1]["ContactId"] not in {s["ContactId"]
                                                                    for s in answer["SuccessfulRequestList"]}

    other = Setup(connect)
    with aws_error("IdempotencyException", "another instance"):
        connect.batch_put_contact(InstanceId=other.instance_id, ClientToken=token, ContactDataRequestList=[good])
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.batch_put_contact(InstanceId=UNKNOWN_ID, ContactDataRequestList=[good])


def test_unknown_contacts_are_not_found(connect):
    setup = Setup(connect)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        setup.describe(UNKNOWN_ID)
    with aws_error("ContactNotFoundException", UNKNOWN_ID):
        connect.stop_contact(InstanceId=setup.instance_id, ContactId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.stop_contact(InstanceId=UNKNOWN_ID, ContactId=UNKNOWN_ID)
    contact = setup.voice("+12125550101")
    other = Setup(connect)
    with aws_error("ResourceNotFoundException"):  # a contact is found in its own instance only
        other.describe(contact)


# --- the engine sends them -------------------------------------------------------------------------
START = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory):
    """A server of this module's own, its virtual clock at START; tests move it forward."""
    data = tmp_path_factory.mktemp("connect")
    urls = (iter([f"sqlite:///{data / 'connect.db'}"]) if request.param == "sqlite"
            else postgres_schema_url("reachout_connect"))
    running = start_server(next(urls), data, "--virtual-clock", START.isoformat())
    running.data = data
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)


def clock_of(server) -> datetime:
    return datetime.fromisoformat(internal(server, "GET", "/_reachout/clock")["now"])


def sends(server, key: str) -> list:
    database = Database(database_url(server.db, server.data))
    try:
        with database.transaction() as conn:
            return list(conn.execute(select(sim_sends).where(sim_sends.c.idempotency_key == key)))
    finally:
        database.dispose()


def events_to_file(server, instance_arn: str) -> object:
    """A rule sending this instance's contact events to a JSONL file; returns a reader."""
    events = make_client(server.url, "events")
    path = server.data / f"events-{uuid.uuid4().hex[:8]}"
    name = unique("connect")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.connect"],
                                                        "detail": {"instanceArn": [instance_arn]}}))
    events.put_targets(Rule=name, Targets=[{"Id": "file", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{path}"}])

    def read() -> list[dict]:
        written = path.with_name(path.name + ".jsonl")
        return [json.loads(line) for line in written.read_text().splitlines()] if written.exists() else []

    return read


AMD = {"HUMAN_ANSWERED": "HUMAN_ANSWERED", "BUSY": "SIT_TONE_BUSY", "INVALID_NUMBER": "SIT_TONE_INVALID_NUMBER",
       "NO_ANSWER": "AMD_UNANSWERED", "VOICEMAIL_BEEP": "VOICEMAIL_BEEP"}
REASON = {"HUMAN_ANSWERED": "CONTACT_FLOW_DISCONNECT", "VOICEMAIL_BEEP": "CONTACT_FLOW_DISCONNECT",
          "BUSY": "OUTBOUND_ATTEMPT_FAILED", "NO_ANSWER": "OUTBOUND_ATTEMPT_FAILED",
          "INVALID_NUMBER": "OUTBOUND_DESTINATION_ENDPOINT_ERROR", "SMS_DELIVERED": "CONTACT_FLOW_DISCONNECT",
          "SMS_UNDELIVERABLE": "OUTBOUND_DESTINATION_ENDPOINT_ERROR", "SMS_EXPIRED": "EXPIRED",
          "DELIVERED": "CONTACT_FLOW_DISCONNECT", "BOUNCED": "OUTBOUND_DESTINATION_ENDPOINT_ERROR",
          "DEFERRED_EXPIRED": "EXPIRED"}


def test_voice_contacts_are_called_at_the_next_pass_and_end_with_their_outcome(engine):
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    read_events = events_to_file(engine, setup.instance_arn)
    numbers = numbers_between("telephony", set(AMD))
    started_at = clock_of(engine)
    contacts = {outcome: setup.voice(number, AnswerMachineDetectionConfig={"EnableAnswerMachineDetection": True},
                                     Attributes={"outcome": outcome}, Name="reminder", CampaignId="c-1")
                for outcome, number in numbers.items() if outcome in AMD}
    plain = setup.voice(numbers["HUMAN_ANSWERED"])  # detection off: no AMD status

    waiting = setup.describe(contacts["BUSY"])
    assert waiting["InitiationTimestamp"] == started_at and "DisconnectTimestamp" not in waiting
    assert sends(engine, contacts["BUSY"]) == []  # nothing is sent before the engine's pass

    advance(engine, seconds=1)
    for outcome, contact_id in contacts.items():
        assert [s.outcome for s in sends(engine, contact_id)] == [outcome]
        assert "DisconnectTimestamp" not in setup.describe(contact_id)  # the call is still going
    advance(engine, seconds=120)
    for outcome, contact_id in contacts.items():
        contact = setup.describe(contact_id)
        assert (contact["Channel"], contact["InitiationMethod"], contact["Name"], contact["Campaign"],
                contact["Attributes"]) == ("VOICE", "API", "reminder", {"CampaignId": "c-1"}, {"outcome": outcome})
        assert contact["CustomerEndpoint"] == {"Type": "TELEPHONE_NUMBER", "Address": numbers[outcome]}
        assert contact["SystemEndpoint"] == {"Type": "TELEPHONE_NUMBER", "Address": setup.number}
        assert contact["AnsweringMachineDetectionStatus"] == AMD[outcome]
        assert contact["DisconnectReason"] == REASON[outcome]
        ended = started_at + timedelta(seconds=45)  # handed over at the first pass, the call lasts 45 s
        assert contact["DisconnectTimestamp"] == ended and contact["LastUpdateTimestamp"] == ended
        assert ("ConnectedToSystemTimestamp" in contact) == (outcome in ("HUMAN_ANSWERED", "VOICEMAIL_BEEP"))
    assert "AnsweringMachineDetectionStatus" not in setup.describe(plain)

    advance(engine, seconds=60)  # the bus delivers the events
    stories: dict[str, list] = {}
    for event in read_events():
        stories.setdefault(event["detail"]["contactId"], []).append(event["detail"])
    for outcome, contact_id in contacts.items():
        story = stories[contact_id]
        connected = outcome in ("HUMAN_ANSWERED", "VOICEMAIL_BEEP")
        assert [e["eventType"] for e in story] == (["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"] if connected
                                                   else ["INITIATED", "DISCONNECTED"])
        assert {e["initiationMethod"] for e in story} == {"API"} and {e["channel"] for e in story} == {"VOICE"}
        assert story[-1]["disconnectReason"] == REASON[outcome]
        assert story[-1]["answeringMachineDetectionStatus"] == AMD[outcome]
        assert story[0]["campaign"] == {"campaignId": "c-1"}


def test_sms_and_email_contacts_are_sent_and_described(engine):
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    read_events = events_to_file(engine, setup.instance_arn)
    numbers = numbers_between("sms", {"SMS_DELIVERED", "SMS_UNDELIVERABLE"})
    started_at = clock_of(engine)
    delivered = setup.sms(numbers["SMS_DELIVERED"], Attributes={"code": "1234"},
                          ParticipantDetails={"DisplayName": "Acme"})
    undeliverable = setup.sms(numbers["SMS_UNDELIVERABLE"])
    email = connect.create_contact(InstanceId=setup.instance_id, Channel="EMAIL", InitiationMethod="OUTBOUND",
                                   Name="receipt", Attributes={"order": "42"})["ContactId"]
    connect.start_outbound_email_contact(
        InstanceId=setup.instance_id, ContactId=email, FromEmailAddress={"EmailAddress": "shop@example.com"},
        DestinationEmailAddress={"EmailAddress": "ann@example.com", "DisplayName": "Ann"},
        AdditionalRecipients={"CcEmailAddresses": [{"EmailAddress": "bob@example.com"}]},
        EmailMessage={"MessageSourceType": "RAW", "RawMessage": {"Subject": "Your order", "Body": "Thanks",
                                                                 "ContentType": "text/plain"}})
    advance(engine, seconds=60)

    sms = setup.describe(delivered)
    assert (sms["Channel"], sms["InitiationMethod"], sms["Attributes"], sms["DisconnectReason"]) == \
        ("CHAT", "API", {"code": "1234"}, "CONTACT_FLOW_DISCONNECT")
    assert sms["SegmentAttributes"] == {"connect:Subtype": {"ValueString": "connect:SMS"}}
    assert sms["SystemEndpoint"] == {"Type": "CONNECT_PHONENUMBER_ARN", "Address": setup.number_arn}
    assert sms["ConnectedToSystemTimestamp"] == sms["DisconnectTimestamp"] == started_at + timedelta(seconds=10)
    assert "AnsweringMachineDetectionStatus" not in sms and "Campaign" not in sms
    failed = setup.describe(undeliverable)
    assert failed["DisconnectReason"] == "OUTBOUND_DESTINATION_ENDPOINT_ERROR"
    assert "ConnectedToSystemTimestamp" not in failed
    mail = setup.describe(email)
    outcome = outcome_for(0, "email", "ann@example.com", 1)
    assert (mail["Channel"], mail["InitiationMethod"], mail["Name"], mail["DisconnectReason"]) == \
        ("EMAIL", "OUTBOUND", "receipt", REASON[outcome])
    assert mail["CustomerEndpoint"] == {"Type": "EMAIL_ADDRESS", "Address": "ann@example.com", "DisplayName": "Ann"}
    assert mail["SystemEndpoint"] == {"Type": "EMAIL_ADDRESS", "Address": "shop@example.com"}
    assert mail["AdditionalEmailRecipients"] == {"CcList": [{"Address": "bob@example.com"}]}
    assert [s.endpoint for s in sends(engine, email)] == ["ann@example.com"]

    advance(engine, seconds=60)
    story = [e["detail"] for e in read_events() if e["detail"]["contactId"] == delivered]
    assert [e["eventType"] for e in story] == ["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"]
    assert story[0]["segmentAttributes"] == {"connect:Subtype": {"ValueString": "connect:SMS"}}
    assert "campaign" not in story[0] and story[0]["channel"] == "CHAT"
    mail_story = [e["detail"] for e in read_events() if e["detail"]["contactId"] == email]
    assert {e["initiationMethod"] for e in mail_story} == {"OUTBOUND"}


def test_a_stopped_contact_is_never_sent(engine):
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    read_events = events_to_file(engine, setup.instance_arn)
    stopped = setup.voice("+12125550101")
    coded = setup.sms("+12125550101")
    connect.stop_contact(InstanceId=setup.instance_id, ContactId=stopped)
    connect.stop_contact(InstanceId=setup.instance_id, ContactId=coded,
                         DisconnectReason={"Code": "CUSTOMER_DISCONNECT"})
    stopped_at = clock_of(engine)
    advance(engine, seconds=120)
    assert sends(engine, stopped) == [] and sends(engine, coded) == []
    contact = setup.describe(stopped)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("API", stopped_at)
    assert setup.describe(coded)["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    with aws_error("ContactNotFoundException", "not active"):
        connect.stop_contact(InstanceId=setup.instance_id, ContactId=stopped)
    assert [e["detail"]["eventType"] for e in read_events() if e["detail"]["contactId"] == stopped] == ["DISCONNECTED"]

    # A call in progress is ended at once; its outcome, when it comes, changes nothing.
    calling = setup.voice("+12125550101")
    advance(engine, seconds=1)
    connect.stop_contact(InstanceId=setup.instance_id, ContactId=calling)
    hung_up = clock_of(engine)
    advance(engine, seconds=120)
    contact = setup.describe(calling)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("API", hung_up)
    assert len(sends(engine, calling)) == 1


def test_a_worker_dying_between_record_and_send_leaves_one_send(engine):
    """A worker records contacts as handed over (step 1), then dies; another takes them over when the
    lease ends. Dying after the carrier got them (step 2) does not send them twice either."""
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    before_send = setup.voice("+12125550101")
    after_send = setup.voice("+12125550103")
    now = clock_of(engine)
    database = Database(database_url(engine.db, engine.data))
    try:
        channels = {"telephony": SimulatedChannel(database, "telephony")}
        doomed = ConnectContacts(database, channels, "doomed-worker", timedelta(seconds=120), 100)
        claimed = {c.id: c for c in doomed.record_due(now)}
        assert {before_send, after_send} <= set(claimed)
        # The doomed worker gets one of them to the carrier, then dies before recording the receipt.
        channels["telephony"].send([_outgoing(claimed[after_send])], now)
    finally:
        database.dispose()
    assert sends(engine, before_send) == [] and len(sends(engine, after_send)) == 1

    advance(engine, seconds=60)  # the dead worker's lease still holds
    assert sends(engine, before_send) == []
    assert "DisconnectTimestamp" not in setup.describe(after_send)
    advance(engine, seconds=300)
    for contact_id in (before_send, after_send):
        assert len(sends(engine, contact_id)) == 1
        assert setup.describe(contact_id)["DisconnectReason"]


def _outgoing(contact) -> Outgoing:
    return Outgoing(contact.id, contact.id, "", "telephony", contact.customer_endpoint["Address"], 1)


def test_campaign_contacts_recorded_by_the_engine_are_described(engine):
    """The campaign engine records its own contacts in the Connect view (engine/connect_contacts.py
    helpers over store/connect_contacts.py); DescribeContact then answers for them, under the
    instance id the campaign names."""
    v2 = make_client(engine.url, "connectcampaignsv2")
    connect = make_client(engine.url, "connect")
    instance_id = f"inst-{uuid.uuid4().hex[:8]}"  # campaigns accept any instance id
    campaign_id = v2.create_campaign(name="recorded", connectInstanceId=instance_id,
                                     channelSubtypeConfig=EMAIL_CHANNEL)["id"]
    contact = SimpleNamespace(id=str(uuid.uuid4()), channel="email", endpoint="ann@example.com")
    now = clock_of(engine)
    database = Database(database_url(engine.db, engine.data))
    try:
        with database.transaction() as conn:
            campaign = campaign_store.get_campaign_by_id(conn, campaign_id)
            contact_store.record_contacts(conn, [campaign_contact(campaign, contact, now)])
        with database.transaction() as conn:
            assert contact_store.update_contact(conn, contact.id, now=now + timedelta(seconds=5),
                                                state=contact_store.DISCONNECTED,
                                                **ended("email", "BOUNCED", now + timedelta(seconds=5)))
    finally:
        database.dispose()
    described = connect.describe_contact(InstanceId=instance_id, ContactId=contact.id)["Contact"]
    assert (described["Channel"], described["InitiationMethod"], described["Campaign"], described["DisconnectReason"],
            described["InitiationTimestamp"], described["DisconnectTimestamp"]) == \
        ("EMAIL", "API", {"CampaignId": campaign_id}, "OUTBOUND_DESTINATION_ENDPOINT_ERROR", now,
         now + timedelta(seconds=5))
    assert described["CustomerEndpoint"] == {"Type": "EMAIL_ADDRESS", "Address": "ann@example.com"}
    assert described["SegmentAttributes"] == {"connect:Subtype": {"ValueString": "connect:Email"}}
    with aws_error("ContactNotFoundException", "not active"):
        connect.stop_contact(InstanceId=instance_id, ContactId=contact.id)


def test_a_client_token_is_free_again_after_7_days(engine):
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    token = unique("week")
    first = setup.voice("+12125550101", ClientToken=token)
    advance(engine, seconds=7 * 24 * 3600 - 60)
    with aws_error("InvalidParameterException", "ClientToken"):
        setup.voice("+12125550102", ClientToken=token)
    assert setup.voice("+12125550101", ClientToken=token) == first
    advance(engine, seconds=120)
    second = setup.voice("+12125550102", ClientToken=token)
    assert second != first and setup.describe(second)["CustomerEndpoint"]["Address"] == "+12125550102"
