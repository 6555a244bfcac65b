"""Campaign rules the hardening issue found broken, through boto3 against `reachout serve` (on a
virtual clock where time must pass): published settings stay as published, a paused campaign still
ends at its endTime, contact events and DescribeContact name the contact centre's own endpoint, and
what the internal records say of a campaign's recipients."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import (ACCOUNT, World, advance, hours, log_group_events, make_client, postgres_database, records,
                           sqlite_database, start_server)
from tests.expect import aws_error

START = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)  # a Monday, 01:00 in New York
REGION = "us-east-1"
SOURCE_EMAIL = "news@example.com"
SOURCE_NUMBER = "+15555550100"
SMS_NUMBER = "+15550100"
SMS_NUMBER_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/{SMS_NUMBER}"
TEMPLATE = f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t1"
EMAIL = {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectSourceEmailAddress": SOURCE_EMAIL, "wisdomTemplateArn": TEMPLATE}}}
SMS = {"sms": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectSourcePhoneNumberArn": SMS_NUMBER_ARN, "wisdomTemplateArn": TEMPLATE}}}
VOICE = {"telephony": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectContactFlowId": "flow-1", "connectSourcePhoneNumber": SOURCE_NUMBER}}}
NEW_YORK = {"localTimeZoneConfig": {"defaultTimeZone": "America/New_York"}}
EMAIL_HOURS = {"email": hours("T09:00", "T17:00")}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory):
    """A server of the test's own, its virtual clock at START."""
    data = tmp_path_factory.mktemp("hardening")
    urls = (iter([sqlite_database(data / "hardening.db")]) if request.param == "sqlite"
            else postgres_database("reachout_hardening"))
    running = start_server(next(urls), data, "--virtual-clock", START.isoformat())
    running.data = data
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)


# --- item 9: published settings ------------------------------------------------------------------
def test_settings_of_a_published_campaign_stay_as_published(v2, instance_id):
    """UpdateCampaignCommunicationTime / CommunicationLimits / Schedule / Source: "Only campaigns in
    the Initialized state are valid for this operation"; the name may still change."""
    segment = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/d/segment-definitions/s"
    campaign_id = v2.create_campaign(
        name="published", connectInstanceId=instance_id, channelSubtypeConfig=EMAIL,
        source={"customerProfilesSegmentArn": segment}, communicationTimeConfig={**NEW_YORK, **EMAIL_HOURS},
        schedule={"startTime": START + timedelta(days=400), "endTime": START + timedelta(days=430)})["id"]
    v2.start_campaign(id=campaign_id)
    before = v2.describe_campaign(id=campaign_id)["campaign"]

    refused = {
        "update_campaign_communication_time": {"communicationTimeConfig": NEW_YORK},
        "delete_campaign_communication_time": {"config": "EMAIL"},
        "update_campaign_communication_limits": {"communicationLimitsOverride": {"allChannelSubtypes": {
            "communicationLimitsList": [{"maxCountPerRecipient": 1, "frequency": 1, "unit": "DAY"}]}}},
        "delete_campaign_communication_limits": {"config": "ALL_CHANNEL_SUBTYPES"},
        "update_campaign_schedule": {"schedule": {"startTime": START + timedelta(days=401),
                                                  "endTime": START + timedelta(days=402)}},
        "update_campaign_source": {"source": {"customerProfilesSegmentArn": segment + "-other"}},
    }
    for operation, params in refused.items():
        with aws_error("InvalidCampaignStateException", "Running") as caught:
            getattr(v2, operation)(id=campaign_id, **params)
        assert caught.value.response["state"] == "Running", operation
    with aws_error("ConflictException", "Running"):  # its model has no InvalidCampaignStateException
        v2.delete_campaign_channel_subtype_config(id=campaign_id, channelSubtype="EMAIL")
    assert v2.describe_campaign(id=campaign_id)["campaign"] == before

    v2.update_campaign_name(id=campaign_id, name="renamed")
    assert v2.describe_campaign(id=campaign_id)["campaign"] == {**before, "name": "renamed"}


# --- item 10: a paused campaign ends at its endTime ----------------------------------------------
def test_a_paused_campaign_completes_at_its_end_time(engine):
    world = World(engine)
    v1 = make_client(engine.url, "connectcampaigns")
    read_events = log_group_events(engine, {"source": ["reachout.campaigns"]})
    waiting = world.person("paused", EmailAddress="ann@example.com")
    end = START + timedelta(hours=2)  # before 09:00 in New York: nobody was contacted
    campaign_id = world.campaign(world.segment("paused"), EMAIL, {**NEW_YORK, **EMAIL_HOURS},
                                 schedule={"startTime": START, "endTime": end})
    advance(engine, seconds=60)
    world.campaigns.pause_campaign(id=campaign_id)

    advance(engine, seconds=3 * 3600)

    assert world.state(campaign_id) == "Completed"
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Stopped"  # v1 has no Completed
    [contact] = records(engine, campaign_id, "contacts")
    assert (contact["recipient"], contact["state"], contact["completed_at"]) == (waiting, "dropped", end.isoformat())
    assert contact["reason"] == f"the campaign ended at its endTime {end.isoformat()}"
    events = read_events()
    assert [(e["detail"]["previousState"], e["detail"]["state"], e["time"]) for e in events
            if e["detail-type"] == "Reachout Campaign State Change"] == [
        ("Initialized", "Running", "2026-01-05T06:00:00Z"), ("Running", "Paused", "2026-01-05T06:01:00Z"),
        ("Paused", "Completed", "2026-01-05T08:00:00Z")]
    assert (waiting, contact["reason"]) in [(e["detail"]["profileId"], e["detail"]["reason"]) for e in events
                                            if e["detail-type"] == "Reachout Recipient Suppressed"]


# --- item 11: the system endpoint is the contact centre's ----------------------------------------
def test_contact_events_and_describe_contact_name_the_campaign_source_as_system_endpoint(engine):
    world = World(engine)
    connect = make_client(engine.url, "connect")
    read_events = log_group_events(engine, {"source": ["aws.connect"], "detail": {
        "instanceArn": [f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{world.instance}"]}})
    world.person("reached", EmailAddress="ann@example.com", PhoneNumber="+12125550101")
    campaign_id = world.campaign(world.segment("reached"), {**EMAIL, **SMS, **VOICE})

    advance(engine, seconds=3600)

    contacts = {c["channel"]: c for c in records(engine, campaign_id, "contacts")}
    assert set(contacts) == {"email", "sms", "telephony"}
    source = {"email": SOURCE_EMAIL, "sms": SMS_NUMBER, "telephony": SOURCE_NUMBER}
    tagged = {(e["detail"]["contactId"], e["detail"]["eventType"], e["detail"]["tags"]["aws:connect:systemEndpoint"])
              for e in read_events()}
    for channel, contact in contacts.items():
        assert {(i, kind) for i, kind, _ in tagged if i == contact["id"]} >= {(contact["id"], "INITIATED"),
                                                                                (contact["id"], "DISCONNECTED")}
        assert {tag for i, _, tag in tagged if i == contact["id"]} == {source[channel]}, channel

    described = {channel: connect.describe_contact(InstanceId=world.instance, ContactId=c["id"])["Contact"]
                 for channel, c in contacts.items()}
    assert {channel: c["SystemEndpoint"] for channel, c in described.items()} == {
        "email": {"Type": "EMAIL_ADDRESS", "Address": SOURCE_EMAIL},
        "sms": {"Type": "CONNECT_PHONENUMBER_ARN", "Address": SMS_NUMBER_ARN},
        "telephony": {"Type": "TELEPHONE_NUMBER", "Address": SOURCE_NUMBER}}
    assert {channel: c["CustomerEndpoint"] for channel, c in described.items()} == {
        "email": {"Type": "EMAIL_ADDRESS", "Address": "ann@example.com"},
        "sms": {"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"},
        "telephony": {"Type": "TELEPHONE_NUMBER", "Address": "+12125550101"}}


# --- item 13: what the records say ---------------------------------------------------------------
def test_a_sent_contact_keeps_no_past_deferral_and_a_zone_conflict_names_its_zones(engine):
    world = World(engine)
    # 09:00-10:00 in New York and in Honolulu never overlap.
    deferred = world.person("zones", EmailAddress="ann@example.com", Address={"PostalCode": "10001"})
    torn = world.person("zones", EmailAddress="kai@example.com", Address={"PostalCode": "10001"},
                        PhoneNumber="+18085550101")
    campaign_id = world.campaign(world.segment("zones"), EMAIL, {
        "localTimeZoneConfig": {"localTimeZoneDetection": ["ZIP_CODE", "AREA_CODE"]},
        "email": hours("T09:00", "T10:00")})

    advance(engine, seconds=60)
    waiting = {c["recipient"]: c for c in records(engine, campaign_id, "contacts")}
    assert waiting[deferred]["reason"] == "deferred: communication time closed until 2026-01-05T14:00:00+00:00"

    advance(engine, seconds=12 * 3600)

    contacts = {c["recipient"]: c for c in records(engine, campaign_id, "contacts")}
    assert (contacts[deferred]["state"], contacts[deferred]["reason"]) == ("completed", None)
    assert contacts[deferred]["dispatched_at"] == "2026-01-05T14:00:00+00:00"  # 09:00 in New York
    assert contacts[torn]["state"] == "dropped"
    assert "no instant open in all of America/New_York, Pacific/Honolulu" in contacts[torn]["reason"]


@pytest.mark.parametrize("kind", ["contacts", "suppressions"])
def test_records_of_an_unknown_campaign_are_not_found(server, kind):
    unknown = str(uuid.uuid4())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/_reachout/campaigns/{unknown}/{kind}", timeout=30)
    assert refused.value.code == 404
    assert unknown in json.loads(refused.value.read())["message"]
