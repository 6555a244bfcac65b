"""Amazon Connect (`connect`) through real boto3 against a real `reachout serve`: instances, claimed
phone numbers, contact flows, the outbound contact APIs with their refusals and ClientToken
idempotency, BatchPutContact's per-request failures; and, on a server of this module's own whose
virtual clock the tests move, contacts handed to the simulated carriers at the engine's next pass
(calls followed through the course the carrier draws for each number), described, stopped (a call
going on hung up through the carrier), announced as contact events, and resent after a crash without
a second send;
campaign contacts described by the ids of their contact events; and, on a server sending to a real
aiosmtpd relay and smpp34 SMS centre, each API contact's own message (raw or templated email with
sender and copies, SMS text or template from the claimed number), a campaign SMS from a claimed
number, and contacts whose message cannot be made ending unsent with the reason.

Every test works in instances of its own, so listings see only its own resources.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from reachout.channels.simulated import outcome_for
from reachout.channels.telephony import SimulatedTelephony
from reachout.engine.calls import api_call
from reachout.engine.connect_contacts import ConnectContacts
from reachout.store.db import Database, database_url
from reachout.store.tables import sim_calls, sim_sends
from tests.peers import Peers, dsn
from tests.support import (ACCOUNT, EMAIL as EMAIL_CHANNEL, SMS as SMS_CHANNEL, World, advance, channels, internal,
                           log_group_events, make_client, post_raw, postgres_database, records, sqlite_database,
                           start_server, templates, unique, wait_for)
from tests.expect import aws_error

REGION = "us-east-1"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FLOW = json.dumps({"Version": "2019-10-30", "StartAction": "hello", "Actions": [
    {"Identifier": "hello", "Type": "MessageParticipant", "Parameters": {"Text": "Hello"},
     "Transitions": {"NextAction": "bye", "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}]}},
    {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]})
RULES = {"Version": "reachout-2026-11",
         "ReattemptRules": [{"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT1H", "MaxAttempts": 2}]}


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


def _unclaimed_number() -> str:
    # Never +12025550000: tests use it as the number no instance claimed.
    return f"+1202555{1 + uuid.uuid4().int % 9999:04d}"


class Setup:
    """An instance with a claimed number and a published flow."""

    def __init__(self, connect, *, outbound: bool = True):
        self.connect = connect
        created = new_instance(connect, OutboundCallsEnabled=outbound)
        self.instance_id, self.instance_arn = created["Id"], created["Arn"]
        self.number = _unclaimed_number()
        while True:  # a number nobody else in the session claimed
            try:
                self.number_arn = connect.claim_phone_number(InstanceId=self.instance_id,
                                                             PhoneNumber=self.number)["PhoneNumberArn"]
                break
            except connect.exceptions.InvalidParameterException:
                self.number = _unclaimed_number()
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
    with aws_error("ResourceNotFoundException", f"Queue q1 not found in instance {setup.instance_id}"):
        setup.voice("+12125550101", QueueId="q1")
    queue_id = connect.create_queue(InstanceId=setup.instance_id, Name="sales", HoursOfOperationId="hours")["QueueId"]
    with aws_error("InvalidParameterException", "agentless"):  # a queue of the instance: the call has no agents
        setup.voice("+12125550101", QueueId=queue_id)
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


def message_templates(qc) -> tuple[str, str, str]:
    """(knowledge base id, an EMAIL template id, an SMS template id)."""
    kb = qc.create_knowledge_base(name=unique("kb"), knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"][
        "knowledgeBaseId"]
    email = qc.create_message_template(knowledgeBaseId=kb, name="e", channelSubtype="EMAIL", content={"email": {
        "subject": "Hi", "body": {"plainText": {"content": "Hello"}}}})["messageTemplate"]["messageTemplateId"]
    sms = qc.create_message_template(knowledgeBaseId=kb, name="s", channelSubtype="SMS", content={"sms": {
        "body": {"plainText": {"content": "Hello"}}}})["messageTemplate"]["messageTemplateId"]
    return kb, email, sms


def test_outbound_chat_refusals(connect, client):
    setup = Setup(connect)
    kb, email_template, sms_template = message_templates(client("qconnect"))
    text = {"ContentType": "text/plain", "Content": "Hello"}

    def templated(template: str, **attributes) -> dict:
        return {"KnowledgeBaseId": kb, "MessageTemplateId": template, "TemplateAttributes": attributes}

    with aws_error("InvalidRequestException", "not both"):
        setup.sms("+12125550101", InitialSystemMessage=text, InitialTemplatedSystemMessage=templated(sms_template))
    with aws_error("InvalidRequestException", "text/plain or text/markdown"):
        setup.sms("+12125550101", InitialSystemMessage={"ContentType": "application/json", "Content": "{}"})
    with aws_error("InvalidRequestException", "at most 1024"):
        setup.sms("+12125550101", InitialSystemMessage={"ContentType": "text/plain", "Content": "x" * 1025})
    with aws_error("ResourceNotFoundException", "Message template"):
        setup.sms("+12125550101", InitialTemplatedSystemMessage=templated(UNKNOWN_ID))
    with aws_error("ResourceNotFoundException", "Message template"):  # no such version
        setup.sms("+12125550101", InitialTemplatedSystemMessage=templated(f"{sms_template}:7"))
    with aws_error("InvalidRequestException", "EMAIL template"):
        setup.sms("+12125550101", InitialTemplatedSystemMessage=templated(email_template))
    with aws_error("InvalidRequestException", "not valid JSON"):
        setup.sms("+12125550101", InitialTemplatedSystemMessage=templated(sms_template,
                                                                           CustomerProfileAttributes="{FirstName"))
    setup.sms("+12125550101", InitialTemplatedSystemMessage=templated(f"{sms_template}:$LATEST"))  # accepted
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


def test_outbound_email_refusals(connect, client):
    setup = Setup(connect)
    kb, email_template, sms_template = message_templates(client("qconnect"))
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
    with aws_error("InvalidRequestException", "not a valid email address"):
        start(FromEmailAddress={"EmailAddress": "shop@-bad-.com"})
    with aws_error("InvalidRequestException", "CcEmailAddresses"):
        start(AdditionalRecipients={"CcEmailAddresses": [{"EmailAddress": "bob@-bad-.com"}]})
    with aws_error("InvalidRequestException", "text/plain or text/html"):
        start(EmailMessage={"MessageSourceType": "RAW", "RawMessage": {**raw["RawMessage"],
                                                                       "ContentType": "application/pdf"}})
    with aws_error("InvalidRequestException", "SMS template"):
        start(EmailMessage={"MessageSourceType": "TEMPLATE", "TemplatedMessageConfig": {
            "KnowledgeBaseId": kb, "MessageTemplateId": sms_template, "TemplateAttributes": {}}})
    with aws_error("InvalidRequestException", "must be a JSON object"):
        start(EmailMessage={"MessageSourceType": "TEMPLATE", "TemplatedMessageConfig": {
            "KnowledgeBaseId": kb, "MessageTemplateId": email_template,
            "TemplateAttributes": {"CustomerProfileAttributes": "[1, 2]"}}})
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
    assert [f["FailureReasonMessage"] for f in answer["FailedRequestList"] if f["RequestIdentifier"] == "queue"] == [
        f"Queue q1 not found in instance {setup.instance_id}"]
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
    urls = (iter([sqlite_database(data / "connect.db")]) if request.param == "sqlite"
            else postgres_database("reachout_connect"))
    running = start_server(next(urls), data, "--virtual-clock", START.isoformat())
    running.data = data
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)


def clock_of(server) -> datetime:
    return datetime.fromisoformat(internal(server, "GET", "/_reachout/clock")["now"])


def logged(server, table, key_column, key: str) -> list:
    """What a simulated carrier logged under this key (its rows in `table`)."""
    database = Database(database_url(server.db, server.data))
    try:
        with database.transaction() as conn:
            return list(conn.execute(select(table).where(key_column == key)))
    finally:
        database.dispose()


def sends(server, key: str) -> list:
    """The messages the simulated SMS and email carriers were handed under this key."""
    return logged(server, sim_sends, sim_sends.c.idempotency_key, key)


def calls_to(server, contact_id: str) -> list:
    """The calls the simulated carrier placed for this contact, each with its whole course."""
    return logged(server, sim_calls, sim_calls.c.call_id, contact_id)


def instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def events_to_file(server, instance_arn: str) -> object:
    """A rule sending this instance's contact events to a JSONL file; returns a reader."""
    return log_group_events(server, {"source": ["aws.connect"], "detail": {"instanceArn": [instance_arn]}})


# How a contact ends (its DisconnectReason), by its channel's outcome; a call's outcome is its
# AnsweringMachineDetectionStatus, or the DisconnectReason of a dial attempt that failed.
REASON = {"HUMAN_ANSWERED": "CONTACT_FLOW_DISCONNECT", "VOICEMAIL_BEEP": "CONTACT_FLOW_DISCONNECT",
          "AMD_DISABLED": "CONTACT_FLOW_DISCONNECT", "SIT_TONE_BUSY": "OUTBOUND_ATTEMPT_FAILED",
          "AMD_UNANSWERED": "OUTBOUND_ATTEMPT_FAILED", "SIT_TONE_INVALID_NUMBER": "OUTBOUND_DESTINATION_ENDPOINT_ERROR",
          "OUTBOUND_DESTINATION_ENDPOINT_ERROR": "OUTBOUND_DESTINATION_ENDPOINT_ERROR",
          "SMS_DELIVERED": "CONTACT_FLOW_DISCONNECT", "SMS_UNDELIVERABLE": "OUTBOUND_DESTINATION_ENDPOINT_ERROR",
          "SMS_EXPIRED": "EXPIRED", "DELIVERED": "CONTACT_FLOW_DISCONNECT",
          "BOUNCED": "OUTBOUND_DESTINATION_ENDPOINT_ERROR", "DEFERRED_EXPIRED": "EXPIRED"}
CALL_OUTCOMES = {"HUMAN_ANSWERED", "VOICEMAIL_BEEP", "SIT_TONE_BUSY", "SIT_TONE_INVALID_NUMBER", "AMD_UNANSWERED",
                 "OUTBOUND_DESTINATION_ENDPOINT_ERROR"}
DETECTING = {"AnswerMachineDetectionConfig": {"EnableAnswerMachineDetection": True}, "TrafficType": "CAMPAIGN"}


def test_voice_contacts_are_called_at_the_next_pass_and_end_with_their_outcome(engine):
    """Each call takes the course the simulated carrier draws for its number; the contact ends as its
    call did: its AMD status (with detection on) or failed dial attempt, connected when answered,
    disconnected when the call was."""
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    read_events = events_to_file(engine, setup.instance_arn)
    numbers = numbers_between("telephony", CALL_OUTCOMES)
    started_at = clock_of(engine)
    # Nobody picks up within 15 s: the unanswered call rings that long (the others the default).
    contacts = {outcome: setup.voice(numbers[outcome], **DETECTING, Attributes={"outcome": outcome}, Name="reminder",
                                     CampaignId="c-1", **({"RingTimeoutInSeconds": 15}
                                                          if outcome == "AMD_UNANSWERED" else {}))
                for outcome in CALL_OUTCOMES}
    plain = setup.voice(numbers["HUMAN_ANSWERED"])  # detection off: answered, by whoever it was

    waiting = setup.describe(contacts["SIT_TONE_BUSY"])
    assert waiting["InitiationTimestamp"] == started_at and "DisconnectTimestamp" not in waiting
    assert [calls_to(engine, c) for c in (*contacts.values(), plain)] == [[]] * 7  # nothing before the engine's pass

    advance(engine, seconds=1)
    courses = {}
    for outcome, contact_id in contacts.items():
        [course] = calls_to(engine, contact_id)  # placed at the pass, once
        assert (course.endpoint, course.originated_at) == (numbers[outcome], started_at)
        assert (course.status or course.disconnect_reason) == outcome  # the course its number draws
        if course.disconnected_at > clock_of(engine):
            assert "DisconnectTimestamp" not in setup.describe(contact_id)  # the call is still going
        courses[outcome] = course
    assert courses["AMD_UNANSWERED"].disconnected_at == started_at + timedelta(seconds=2 + 15)  # rang from 2 s
    assert courses["OUTBOUND_DESTINATION_ENDPOINT_ERROR"].status is None

    advance(engine, seconds=120)
    for outcome, contact_id in contacts.items():
        contact, course = setup.describe(contact_id), courses[outcome]
        assert (contact["Channel"], contact["InitiationMethod"], contact["Name"], contact["Campaign"],
                contact["Attributes"]) == ("VOICE", "API", "reminder", {"CampaignId": "c-1"}, {"outcome": outcome})
        assert contact["CustomerEndpoint"] == {"Type": "TELEPHONE_NUMBER", "Address": numbers[outcome]}
        assert contact["SystemEndpoint"] == {"Type": "TELEPHONE_NUMBER", "Address": setup.number}
        assert contact.get("AnsweringMachineDetectionStatus") == course.status  # none for a failed dial attempt
        assert contact["DisconnectReason"] == REASON[outcome]
        assert contact.get("ConnectedToSystemTimestamp") == course.answered_at  # only answered calls
        assert contact["DisconnectTimestamp"] == contact["LastUpdateTimestamp"] == course.disconnected_at
    assert courses["HUMAN_ANSWERED"].answered_at and courses["SIT_TONE_BUSY"].answered_at is None
    contact, [course] = setup.describe(plain), calls_to(engine, plain)
    assert course.status == "AMD_DISABLED" and "AnsweringMachineDetectionStatus" not in contact
    assert (contact["DisconnectReason"], contact["ConnectedToSystemTimestamp"], contact["DisconnectTimestamp"]) == \
        (REASON["AMD_DISABLED"], course.answered_at, course.disconnected_at)

    advance(engine, seconds=60)  # the bus delivers the events
    stories: dict[str, list] = {}
    for event in read_events():
        stories.setdefault(event["detail"]["contactId"], []).append(event["detail"])
    for outcome, contact_id in contacts.items():
        story, course = stories[contact_id], courses[outcome]
        reached = course.status is not None  # the call got as far as the telephone network
        assert [e["eventType"] for e in story] == (["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"] if reached
                                                   else ["INITIATED", "DISCONNECTED"])
        assert {e["initiationMethod"] for e in story} == {"API"} and {e["channel"] for e in story} == {"VOICE"}
        assert story[0]["campaign"] == {"campaignId": "c-1"} and instant(story[0]["initiationTimestamp"]) == started_at
        ended = story[-1]
        assert (ended["disconnectReason"], ended.get("answeringMachineDetectionStatus")) == (REASON[outcome],
                                                                                            course.status)
        assert instant(ended["disconnectTimestamp"]) == course.disconnected_at
        if reached:  # at the answer; a call nobody answered when it ended
            assert instant(story[1]["connectedToSystemTimestamp"]) == (course.answered_at or course.disconnected_at)
            assert story[1]["answeringMachineDetectionStatus"] == course.status
    assert [e["eventType"] for e in stories[plain]] == ["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"]
    assert not any("answeringMachineDetectionStatus" in e for e in stories[plain])


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
    assert calls_to(engine, stopped) == [] and sends(engine, coded) == []
    contact = setup.describe(stopped)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("API", stopped_at)
    assert setup.describe(coded)["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    with aws_error("ContactNotFoundException", "not active"):
        connect.stop_contact(InstanceId=setup.instance_id, ContactId=stopped)
    assert [e["detail"]["eventType"] for e in read_events() if e["detail"]["contactId"] == stopped] == ["DISCONNECTED"]

    # A call in progress is hung up through the carrier at once; what its course would have been changes nothing.
    person = numbers_between("telephony", {"HUMAN_ANSWERED"})["HUMAN_ANSWERED"]
    calling = setup.voice(person, **DETECTING)
    advance(engine, seconds=1)
    [course] = calls_to(engine, calling)
    advance(engine, seconds=(course.answered_at - clock_of(engine)).seconds + 1)  # answered: talking now
    talking = setup.describe(calling)
    assert (talking["ConnectedToSystemTimestamp"], talking["AnsweringMachineDetectionStatus"]) == \
        (course.answered_at, "HUMAN_ANSWERED")
    assert "DisconnectTimestamp" not in talking
    connect.stop_contact(InstanceId=setup.instance_id, ContactId=calling)
    hung_up = clock_of(engine)
    advance(engine, seconds=120)
    contact = setup.describe(calling)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"], contact["ConnectedToSystemTimestamp"]) == \
        ("API", hung_up, course.answered_at)
    [cut] = calls_to(engine, calling)
    assert cut.disconnected_at == hung_up < course.disconnected_at  # the carrier hung up then, not later
    story = [e["detail"] for e in read_events() if e["detail"]["contactId"] == calling]
    assert [e["eventType"] for e in story] == ["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"]
    assert (story[-1]["disconnectReason"], instant(story[-1]["disconnectTimestamp"])) == ("API", hung_up)


def test_a_call_placed_as_its_contact_is_stopped_is_hung_up_at_once(engine):
    """StopContact comes after a worker recorded a call as placed and before the carrier got it; a
    pass hangs up what the stop owes before the call exists. The worker cannot know, places it, and
    the engine's next pass hangs it up."""
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    person = numbers_between("telephony", {"HUMAN_ANSWERED"})["HUMAN_ANSWERED"]
    contact_id = setup.voice(person, **DETECTING)
    now = clock_of(engine)
    database = Database(database_url(engine.db, engine.data))
    try:
        worker = ConnectContacts(database, {"telephony": SimulatedTelephony(database)}, "slow-worker",
                                 timedelta(seconds=120), 100)
        ready, _ = worker.record_due(now)
        connect.stop_contact(InstanceId=setup.instance_id, ContactId=contact_id)
        worker.hang_up_due(now)  # nothing to hang up yet
        assert calls_to(engine, contact_id) == []
        worker.send([(contact, message) for contact, message in ready if contact.id == contact_id], now)
    finally:
        database.dispose()
    [placed] = calls_to(engine, contact_id)
    assert placed.answered_at is not None and placed.disconnected_at > now  # as drawn: someone would answer

    advance(engine, seconds=1)
    [cut] = calls_to(engine, contact_id)
    assert (cut.disconnected_at, cut.ringing_at, cut.answered_at) == (now, None, None)
    contact = setup.describe(contact_id)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("API", now)
    assert "ConnectedToSystemTimestamp" not in contact


def test_a_worker_dying_between_record_and_send_leaves_one_send(engine):
    """A worker records calls as placed (step 1), then dies; another takes them over when the lease
    ends and places those the dead one never placed. Dying after the carrier got a call (step 2) does
    not place it twice either: the call went on meanwhile, and its contact ends as the call did. One
    stopped in between is never placed."""
    connect = make_client(engine.url, "connect")
    setup = Setup(connect)
    numbers = numbers_between("telephony", {"HUMAN_ANSWERED", "SIT_TONE_BUSY"}, start=200)
    before_send = setup.voice(numbers["SIT_TONE_BUSY"])
    after_send = setup.voice(numbers["HUMAN_ANSWERED"], **DETECTING)
    stopped = setup.voice(numbers["HUMAN_ANSWERED"])
    now = clock_of(engine)
    database = Database(database_url(engine.db, engine.data))
    try:
        carrier = SimulatedTelephony(database)
        doomed = ConnectContacts(database, {"telephony": carrier}, "doomed-worker", timedelta(seconds=120), 100)
        ready, settled = doomed.record_due(now)
        claimed = {contact.id: (contact, message) for contact, message in ready}
        assert {before_send, after_send, stopped} <= set(claimed) and settled == 0
        # The doomed worker places one call, then dies before recording its receipt.
        carrier.send([api_call(*claimed[after_send])], now)
    finally:
        database.dispose()
    connect.stop_contact(InstanceId=setup.instance_id, ContactId=stopped)
    assert calls_to(engine, before_send) == [] and len(calls_to(engine, after_send)) == 1

    advance(engine, seconds=60)  # the dead worker's lease still holds
    assert calls_to(engine, before_send) == [] and calls_to(engine, stopped) == []
    assert "DisconnectTimestamp" not in setup.describe(after_send)
    advance(engine, seconds=300)
    [late] = calls_to(engine, before_send)
    [placed] = calls_to(engine, after_send)
    assert (late.originated_at, placed.originated_at) == (now + timedelta(seconds=120), now)  # at the lease's end
    busy, answered = setup.describe(before_send), setup.describe(after_send)
    assert (busy["DisconnectReason"], busy["DisconnectTimestamp"]) == (REASON["SIT_TONE_BUSY"], late.disconnected_at)
    # Ended as its call did, before it was taken over.
    assert placed.disconnected_at < now + timedelta(seconds=120)
    assert (answered["AnsweringMachineDetectionStatus"], answered["ConnectedToSystemTimestamp"],
            answered["DisconnectTimestamp"]) == ("HUMAN_ANSWERED", placed.answered_at, placed.disconnected_at)
    assert calls_to(engine, stopped) == [] and setup.describe(stopped)["DisconnectReason"] == "API"


def test_campaign_contacts_are_described_by_the_ids_in_their_events(engine):
    """DescribeContact answers for the contacts a campaign dispatched, by the ids their contact events
    carry, under the campaign's instance: channel, campaign, timestamps and disconnect reason."""
    connect = make_client(engine.url, "connect")
    world = World(engine)
    read_events = events_to_file(engine, f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{world.instance}")
    numbers = numbers_between("sms", {"SMS_DELIVERED"})
    world.person("described", EmailAddress="ann@example.com", MobilePhoneNumber=numbers["SMS_DELIVERED"])
    campaign_id = world.campaign(world.segment("described"), {**EMAIL_CHANNEL, **SMS_CHANNEL})
    dispatched_at = clock_of(engine)
    advance(engine, seconds=1)  # snapshot and dispatch at once (no communication time configured)

    ids = {c["channel"]: c["id"] for c in internal(engine, "GET", f"/_reachout/campaigns/{campaign_id}/contacts")}
    assert set(ids) == {"email", "sms"}
    in_flight = connect.describe_contact(InstanceId=world.instance, ContactId=ids["email"])["Contact"]
    assert in_flight["InitiationTimestamp"] == dispatched_at and "DisconnectTimestamp" not in in_flight
    with aws_error("InvalidRequestException", "pause or stop the campaign"):
        connect.stop_contact(InstanceId=world.instance, ContactId=ids["email"])

    advance(engine, seconds=60)  # outcomes (email after 5 s, SMS after 10 s) and the events
    initiated = [e["detail"]["contactId"] for e in read_events() if e["detail"]["eventType"] == "INITIATED"]
    assert sorted(initiated) == sorted(ids.values())
    email_outcome = outcome_for(0, "email", "ann@example.com", 1)
    for channel, (connect_channel, subtype, outcome, lasted) in {
            "email": ("EMAIL", "connect:Email", email_outcome, 5),
            "sms": ("CHAT", "connect:SMS", "SMS_DELIVERED", 10)}.items():
        contact = connect.describe_contact(InstanceId=world.instance, ContactId=ids[channel])["Contact"]
        ended_at = dispatched_at + timedelta(seconds=lasted)
        assert (contact["Channel"], contact["InitiationMethod"], contact["Campaign"], contact["SegmentAttributes"]) \
            == (connect_channel, "API", {"CampaignId": campaign_id}, {"connect:Subtype": {"ValueString": subtype}})
        assert (contact["InitiationTimestamp"], contact["DisconnectTimestamp"], contact["LastUpdateTimestamp"]) == \
            (dispatched_at, ended_at, ended_at)
        assert contact["DisconnectReason"] == REASON[outcome]
        assert contact.get("ConnectedToSystemTimestamp") == (ended_at if outcome in ("DELIVERED", "SMS_DELIVERED")
                                                             else None)
    assert connect.describe_contact(InstanceId=world.instance, ContactId=ids["sms"])["Contact"]["CustomerEndpoint"] \
        == {"Type": "TELEPHONE_NUMBER", "Address": numbers["SMS_DELIVERED"]}
    with aws_error("ContactNotFoundException", "not active"):
        connect.stop_contact(InstanceId=world.instance, ContactId=ids["email"])
    with aws_error("ResourceNotFoundException"):  # in its campaign's instance only
        connect.describe_contact(InstanceId=Setup(connect).instance_id, ContactId=ids["email"])


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


# --- real channels: the message each contact carries -------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def real(request, tmp_path_factory):
    """A server of this module's own sending email to an aiosmtpd relay and SMS to an smpp34 SMS centre
    (both in this process), its virtual clock at START; yields (server, peers)."""
    peers = Peers()
    data = tmp_path_factory.mktemp("connect-real")
    urls = (iter([sqlite_database(data / "connect.db")]) if request.param == "sqlite"
            else postgres_database("reachout_connect_real"))
    running = start_server(next(urls), data, "--virtual-clock", START.isoformat(), *peers.args())
    running.data = data
    try:
        yield running, peers
    finally:
        assert running.stop() == 0, running.log.read_text()
        peers.stop()
        next(urls, None)


def knowledge_base(server) -> tuple[object, str]:
    qc = make_client(server.url, "qconnect")
    return qc, qc.create_knowledge_base(name=unique("kb"), knowledgeBaseType="MESSAGE_TEMPLATES")[
        "knowledgeBase"]["knowledgeBaseId"]


def mail_to(peers, address: str) -> list:
    """The messages the relay took for `address` (as main or copy recipient), parsed, with their envelope."""
    return [(m, peers.mailbox.parsed(i)) for i, m in enumerate(peers.mailbox.received) if address in m["rcpt_tos"]]


def email_contact(connect, setup: Setup, destination: str, message: dict, **extra) -> str:
    contact_id = connect.create_contact(InstanceId=setup.instance_id, Channel="EMAIL",
                                        InitiationMethod="OUTBOUND")["ContactId"]
    connect.start_outbound_email_contact(InstanceId=setup.instance_id, ContactId=contact_id,
                                         DestinationEmailAddress={"EmailAddress": destination},
                                         EmailMessage=message, **extra)
    return contact_id


def test_api_email_contacts_arrive_with_the_message_the_call_gave(real):
    server, peers = real
    connect = make_client(server.url, "connect")
    setup = Setup(connect)
    qc, kb = knowledge_base(server)
    template = qc.create_message_template(
        knowledgeBaseId=kb, name="order", channelSubtype="EMAIL",
        content={"email": {"subject": "Order {{Attributes.orderId}} for {{Attributes.Customer.FirstName}}",
                           "body": {"plainText": {"content": "Hello {{Attributes.Customer.FirstName}}, order "
                                                             "{{Attributes.orderId}} ships {{Attributes.when}}."},
                                    "html": {"content": "<p>Hello {{Attributes.Customer.FirstName}} "
                                                        "&lt;{{Attributes.System.SystemEndpoint.Address}}&gt;</p>"}},
                           "headers": [{"name": "X-Order", "value": "{{Attributes.orderId}}"}]}},
        defaultAttributes={"customAttributes": {"when": "soon"}})["messageTemplate"]["messageTemplateId"]
    tag = uuid.uuid4().hex[:8]
    shop = {"EmailAddress": "shop@example.com", "DisplayName": "Example Shop"}

    def templated(**attributes) -> dict:
        return {"MessageSourceType": "TEMPLATE", "TemplatedMessageConfig": {
            "KnowledgeBaseId": kb, "MessageTemplateId": template, "TemplateAttributes": attributes}}

    plain = email_contact(connect, setup, f"ann-{tag}@example.org", {"MessageSourceType": "RAW", "RawMessage": {
        "Subject": "Your receipt", "Body": "Thanks for your order.\nSee you soon.", "ContentType": "text/plain"}},
        FromEmailAddress=shop,
        AdditionalRecipients={"CcEmailAddresses": [{"EmailAddress": f"bob-{tag}@example.org", "DisplayName": "Bob"}]})
    html = email_contact(connect, setup, f"cy-{tag}@example.org", {"MessageSourceType": "RAW", "RawMessage": {
        "Subject": "Säle", "Body": "<p>Fifty <b>off</b></p>", "ContentType": "text/html"}},
        FromEmailAddress={"EmailAddress": "news@example.com"})
    rendered = email_contact(connect, setup, f"zoe-{tag}@example.org", templated(
        CustomAttributes={"orderId": "A-17"}, CustomerProfileAttributes=json.dumps({"FirstName": "Zoë"})),
        FromEmailAddress=shop)
    missing = email_contact(connect, setup, f"dan-{tag}@example.org",
                            templated(CustomerProfileAttributes=json.dumps({"firstName": "Dan"})), FromEmailAddress=shop)
    no_sender = email_contact(connect, setup, f"eve-{tag}@example.org", {"MessageSourceType": "RAW", "RawMessage": {
        "Subject": "Hi", "Body": "Hello", "ContentType": "text/plain"}})
    sent_at = clock_of(server)
    advance(server, seconds=1)

    [(envelope, message)] = mail_to(peers, f"ann-{tag}@example.org")
    assert envelope["mail_from"] == "shop@example.com"
    assert envelope["rcpt_tos"] == [f"ann-{tag}@example.org", f"bob-{tag}@example.org"]
    assert (message["Subject"], message["To"], message["Cc"]) == ("Your receipt", f"ann-{tag}@example.org",
                                                                  f"Bob <bob-{tag}@example.org>")
    assert message["From"].addresses[0].display_name == "Example Shop"
    assert message["Message-ID"] == f"<{plain}@reachout>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Thanks for your order.\r\nSee you soon.\r\n"

    [(envelope, message)] = mail_to(peers, f"cy-{tag}@example.org")
    assert envelope["mail_from"] == "news@example.com" and message["Subject"] == "Säle"
    assert message.get_content_type() == "text/html" and message.get_content() == "<p>Fifty <b>off</b></p>\r\n"

    [(envelope, message)] = mail_to(peers, f"zoe-{tag}@example.org")
    assert message["Subject"] == "Order A-17 for Zoë" and message["X-Order"] == "A-17"
    plain_part, html_part = message.iter_parts()
    assert plain_part.get_content() == "Hello Zoë, order A-17 ships soon."  # (the boundary takes the line end)
    assert html_part.get_content() == "<p>Hello Zoë &lt;shop@example.com&gt;</p>"

    # Nothing was sent for the contacts whose message could not be made; they ended, saying why.
    assert mail_to(peers, f"dan-{tag}@example.org") == [] and mail_to(peers, f"eve-{tag}@example.org") == []
    for contact_id, why in ((missing, "variable Attributes.orderId has no value"), (no_sender, "FromEmailAddress")):
        contact = setup.describe(contact_id)
        assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("OUTBOUND_RESOURCE_ERROR", sent_at)
        assert why in contact["DisconnectDetails"]["PotentialDisconnectIssue"]
        assert "ConnectedToSystemTimestamp" not in contact
    for contact_id in (plain, html, rendered):  # the relay took them: delivered as far as SMTP tells
        contact = setup.describe(contact_id)
        assert (contact["DisconnectReason"], contact["ConnectedToSystemTimestamp"], contact["DisconnectTimestamp"]) \
            == ("CONTACT_FLOW_DISCONNECT", sent_at, sent_at)
        assert "DisconnectDetails" not in contact

    # A bounce that comes back later corrects the contact that had ended as delivered.
    assert post_raw(server, "/_reachout/channels/email/bounces", dsn(f"<{html}@reachout>", "failed")) == \
        {"contactId": html}
    bounced = setup.describe(html)
    assert (bounced["DisconnectReason"], bounced["DisconnectTimestamp"]) == ("OUTBOUND_DESTINATION_ENDPOINT_ERROR",
                                                                          sent_at)
    assert "ConnectedToSystemTimestamp" not in bounced


def received_by(peers, number: str) -> list[dict]:
    return [s for s in peers.smsc.submits if s["destination"] == number.lstrip("+")]


def test_api_sms_contacts_go_out_with_their_text_from_the_claimed_number(real):
    server, peers = real
    connect = make_client(server.url, "connect")
    setup = Setup(connect)
    qc, kb = knowledge_base(server)
    template = qc.create_message_template(
        knowledgeBaseId=kb, name="code", channelSubtype="SMS",
        content={"sms": {"body": {"plainText": {"content": "Hi {{Attributes.Customer.FirstName}}, your code is "
                                                           "{{Attributes.code}}"}}}})["messageTemplate"]["messageTemplateArn"]
    suffix = f"{uuid.uuid4().int % 10**6:06d}"
    plain, rendered, silent = (f"+49151{n}{suffix}" for n in ("11", "22", "33"))
    text = "Your table for 2 is ready. Reply STOP to opt out."
    sent = setup.sms(plain, InitialSystemMessage={"ContentType": "text/plain", "Content": text})
    templated = setup.sms(rendered, InitialTemplatedSystemMessage={
        "KnowledgeBaseId": kb, "MessageTemplateId": template, "TemplateAttributes": {
            "CustomAttributes": {"code": "9876"}, "CustomerProfileAttributes": json.dumps({"FirstName": "Ana"})}})
    no_text = setup.sms(silent)
    sent_at = clock_of(server)
    advance(server, seconds=1)

    [submit] = received_by(peers, plain)
    assert (submit["source"], submit["short_message"]) == (setup.number[1:], text.encode())
    [submit] = received_by(peers, rendered)
    assert (submit["source"], submit["short_message"]) == (setup.number[1:], b"Hi Ana, your code is 9876")
    assert received_by(peers, silent) == []
    contact = setup.describe(no_text)
    assert (contact["DisconnectReason"], contact["DisconnectTimestamp"]) == ("OUTBOUND_RESOURCE_ERROR", sent_at)
    assert "InitialSystemMessage" in contact["DisconnectDetails"]["PotentialDisconnectIssue"]

    # The delivery receipts come from the SMS centre in their own time; the engine ends the contacts
    # with them at its next pass (the clock does not move meanwhile).
    wait_for(lambda: advance(server, seconds=0) and all("DisconnectTimestamp" in setup.describe(c)
                                                        for c in (sent, templated)), "the delivery receipts")
    for contact_id in (sent, templated):
        contact = setup.describe(contact_id)
        assert contact["DisconnectReason"] == "CONTACT_FLOW_DISCONNECT"
        assert contact["SystemEndpoint"] == {"Type": "CONNECT_PHONENUMBER_ARN", "Address": setup.number_arn}


def test_campaign_sms_goes_out_from_a_claimed_number_and_its_contacts_are_described(real):
    """A campaign's connectSourcePhoneNumberArn may be the ARN ClaimPhoneNumber returned; DescribeContact
    answers for the campaign's contacts, by the ids in their contact events."""
    server, peers = real
    connect = make_client(server.url, "connect")
    setup = Setup(connect)
    email_template, sms_template = templates(server)
    world = World(server)
    world.instance = setup.instance_id
    read_events = events_to_file(server, setup.instance_arn)
    suffix = f"{uuid.uuid4().int % 10**6:06d}"
    mobile, address = f"+49151{suffix}44", f"ana-{suffix}@example.org"
    world.profiles.create_profile(DomainName=world.domain, FirstName="Ana", LastName="Lind", EmailAddress=address,
                                  MobilePhoneNumber=mobile, Attributes={"cohort": "claimed", "code": "4321"})
    config = channels(email_template, sms_template)
    config["sms"]["defaultOutboundConfig"]["connectSourcePhoneNumberArn"] = setup.number_arn
    campaign_id = world.campaign(world.segment("claimed"), config)
    name = world.campaigns.describe_campaign(id=campaign_id)["campaign"]["name"]
    dispatched_at = clock_of(server)
    advance(server, seconds=1)

    [submit] = received_by(peers, mobile)
    assert (submit["source"], submit["short_message"]) == (setup.number[1:], b"Hi Ana, your code is 4321")
    [(envelope, message)] = mail_to(peers, address)
    assert message["Subject"] == f"Ana, your {name} code"
    wait_for(lambda: advance(server, seconds=0) and all(c["state"] == "completed" for c in
                                                        records(server, campaign_id, "contacts")), "the receipt")
    advance(server, seconds=60)  # the contact events go out

    ids = {e["detail"]["channel"]: e["detail"]["contactId"] for e in read_events()
           if e["detail"]["eventType"] == "INITIATED" and e["detail"].get("campaign") == {"campaignId": campaign_id}}
    assert set(ids) == {"EMAIL", "CHAT"}
    for channel, contact_id in ids.items():
        contact = setup.describe(contact_id)
        assert (contact["Channel"], contact["Campaign"], contact["InitiationTimestamp"]) == \
            (channel, {"CampaignId": campaign_id}, dispatched_at)
        assert contact["DisconnectReason"] == "CONTACT_FLOW_DISCONNECT"
        assert contact["ConnectedToSystemTimestamp"] == contact["DisconnectTimestamp"] >= dispatched_at
        assert contact["CustomerEndpoint"]["Address"] == (mobile if channel == "CHAT" else address)
    assert setup.describe(ids["EMAIL"])["DisconnectTimestamp"] == dispatched_at  # the relay's 250 is its outcome
