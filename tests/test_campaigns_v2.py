"""Amazon Connect Outbound Campaigns v2 (`connectcampaignsv2`): all 37 operations through real boto3
against a real `reachout serve`, with their main error paths.

Organised by concern: create/describe, semantic validation, state machine, updates, tags, listing,
regional isolation, quotas, instance configuration, outbound requests. Each test works in its own
Connect instance (`instance_id`), so listings and quotas only see its own campaigns.
"""
from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import ACCOUNT, make_client, start_server
from tests.expect import aws_error

REGION, OTHER_REGION = "us-east-1", "us-west-2"
UTC = timezone.utc
# Outbound requests need an expirationTime in the future; one fixed value per run keeps repeated
# items byte-identical (idempotency is decided on content).
LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)

SEGMENT_ARN = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/retail/segment-definitions/lapsed"
OTHER_SEGMENT_ARN = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/retail/segment-definitions/loyal"
DOMAIN_ARN = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/retail"
OTHER_DOMAIN_ARN = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/wholesale"
FLOW_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/main/contact-flow/campaign-flow"
OTHER_FLOW_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/main/contact-flow/other-flow"
SMS_NUMBER_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-0123"
TEMPLATE_ARN = f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb-1/renewal"
KNOWLEDGE_BASE_ARN = f"arn:aws:wisdom:{REGION}:{ACCOUNT}:knowledge-base/kb-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:enrich-profile"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SERVICE_ROLE = (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/connect-campaigns.amazonaws.com/"
                "AWSServiceRoleForConnectCampaigns")


# --- errors ------------------------------------------------------------------------------------------




@contextmanager
def campaign_state_error(state: str):
    with aws_error("InvalidCampaignStateException") as caught:
        yield caught
    assert caught.value.response["state"] == state


# --- configuration builders ----------------------------------------------------------------------
def telephony(mode: str = "progressive", capacity: float = 0.5) -> dict:
    outbound_mode = {
        "agentless": {},
        "preview": {"bandwidthAllocation": 1.0, "timeoutConfig": {"durationInSeconds": 30},
                    "agentActions": ["DISCARD"]},
    }.get(mode, {"bandwidthAllocation": 0.75})
    return {
        "capacity": capacity,
        "connectQueueId": "queue-sales",
        "outboundMode": {mode: outbound_mode},
        "defaultOutboundConfig": {
            "connectContactFlowId": "flow-outbound",
            "connectSourcePhoneNumber": "+15555550100",
            "answerMachineDetectionConfig": {"enableAnswerMachineDetection": True,
                                             "awaitAnswerMachinePrompt": False},
            "ringTimeout": 30,
        },
    }


def sms(capacity: float = 0.4) -> dict:
    return {"capacity": capacity, "outboundMode": {"agentless": {}},
            "defaultOutboundConfig": {"connectSourcePhoneNumberArn": SMS_NUMBER_ARN,
                                      "wisdomTemplateArn": TEMPLATE_ARN}}


def email(capacity: float = 0.3) -> dict:
    return {"capacity": capacity, "outboundMode": {"agentless": {}},
            "defaultOutboundConfig": {"connectSourceEmailAddress": "offers@example.com",
                                      "sourceEmailAddressDisplayName": "Example Offers",
                                      "wisdomTemplateArn": TEMPLATE_ARN}}


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2031, 3, day, hour, tzinfo=UTC)


def schedule(start: datetime = at(1), end: datetime = at(31), refresh: str | None = "P1D") -> dict:
    result = {"startTime": start, "endTime": end}
    if refresh is not None:
        result["refreshFrequency"] = refresh
    return result


def hours(*spans: tuple[str, str]) -> list[dict]:
    return [{"startTime": start, "endTime": end} for start, end in spans]


def window(daily: dict[str, list[dict]], restricted: list[tuple[str, str, str]] = ()) -> dict:
    """A TimeWindow; `restricted` holds (name, startDate, endDate) with the end date exclusive."""
    result: dict = {"openHours": {"dailyHours": daily}}
    if restricted:
        result["restrictedPeriods"] = {"restrictedPeriodList": [
            {"name": name, "startDate": start, "endDate": end} for name, start, end in restricted]}
    return result


def weekdays(*spans: tuple[str, str]) -> dict[str, list[dict]]:
    return {day: hours(*spans) for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")}


def communication_time(time_zone: str | None = "America/New_York", detection: list[str] | None = None,
                       **windows: dict) -> dict:
    local: dict = {}
    if time_zone is not None:
        local["defaultTimeZone"] = time_zone
    if detection is not None:
        local["localTimeZoneDetection"] = detection
    return {"localTimeZoneConfig": local, **windows}


def full_communication_time() -> dict:
    holidays = [("spring-break", "2031-03-14", "2031-03-17"), ("good-friday", "2031-04-11", "2031-04-12")]
    config = communication_time(
        detection=["ZIP_CODE", "AREA_CODE"],
        telephony=window({**weekdays(("T09:00", "T12:00"), ("T13:00", "T17:30")),
                          "SATURDAY": hours(("T10:00", "T14:00"))}, holidays),
        sms=window(weekdays(("T08:00", "T20:00")), holidays[:1]),
        email=window({"MONDAY": hours(("T00:00", "T24:00")), "THURSDAY": hours(("T06:15", "T22:45"))}),
    )
    config["localTimeZoneConfig"]["localTimeZoneDetectionScope"] = "ALL_AVAILABLE"
    return config


def limits(*count_per_days: tuple[int, int]) -> dict:
    """CommunicationLimits: (maxCountPerRecipient, frequency in days) pairs."""
    return {"communicationLimitsList": [{"maxCountPerRecipient": count, "frequency": days, "unit": "DAY"}
                                        for count, days in count_per_days]}


def full_campaign(instance_id: str, **overrides) -> dict:
    """CreateCampaign parameters using every v2 feature; an override of None leaves that member out."""
    request = {
        "name": "spring-renewals",
        "connectInstanceId": instance_id,
        "channelSubtypeConfig": {"telephony": telephony(), "sms": sms(), "email": email()},
        "type": "MANAGED",
        "source": {"customerProfilesSegmentArn": SEGMENT_ARN},
        "connectCampaignFlowArn": FLOW_ARN,
        "schedule": schedule(),
        "entryLimitsConfig": {"maxEntryCount": 3, "minEntryInterval": "P7D"},
        "communicationTimeConfig": full_communication_time(),
        "communicationLimitsOverride": {"allChannelSubtypes": limits((2, 1), (5, 7)),
                                        "instanceLimitsHandling": "OPT_IN"},
        "tags": {"team": "retention", "cost-center": "cc-42"},
    }
    request.update(overrides)
    return {key: value for key, value in request.items() if value is not None}


def minimal_campaign(instance_id: str, name: str = "minimal", **extra) -> dict:
    return {"name": name, "connectInstanceId": instance_id,
            "channelSubtypeConfig": {"telephony": telephony()}, **extra}


EVENT_SOURCE = {"eventTrigger": {"customerProfilesDomainArn": DOMAIN_ARN}}


def event_campaign(instance_id: str) -> dict:
    """An event-triggered campaign: fed by profile events, so it has no schedule."""
    return full_campaign(instance_id, source=EVENT_SOURCE, schedule=None)


def campaign_arn(campaign_id: str, region: str = REGION) -> str:
    return f"arn:aws:connect-campaigns:{region}:{ACCOUNT}:campaign/{campaign_id}"


# --- driving campaigns ---------------------------------------------------------------------------
# The actions that take a new campaign to each state the API can reach.
PATH_TO = {"Initialized": [], "Running": ["start"], "Paused": ["start", "pause"], "Stopped": ["start", "stop"]}


def act(v2, action: str, campaign_id: str) -> None:
    getattr(v2, f"{action}_campaign")(id=campaign_id)


def drive(v2, campaign_id: str, state: str) -> None:
    for action in PATH_TO[state]:
        act(v2, action, campaign_id)
    assert v2.get_campaign_state(id=campaign_id)["state"] == state


def describe(v2, campaign_id: str) -> dict:
    return v2.describe_campaign(id=campaign_id)["campaign"]


@pytest.fixture
def create(v2, instance_id):
    """create(state=..., **overrides): a full campaign in the test's instance, taken to `state`."""

    def create(state: str = "Initialized", **overrides) -> str:
        campaign_id = v2.create_campaign(**full_campaign(instance_id, **overrides))["id"]
        drive(v2, campaign_id, state)
        return campaign_id

    return create


# --- create and describe -------------------------------------------------------------------------
def test_full_campaign_is_described_back_exactly(v2, instance_id):
    request = full_campaign(instance_id)
    created = v2.create_campaign(**request)

    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", created["id"])
    assert created["arn"] == campaign_arn(created["id"])
    assert created["tags"] == request["tags"]
    described = describe(v2, created["id"])
    # Everything sent comes back as sent; timestamps as datetimes equal to those sent.
    assert described == {**request, "id": created["id"], "arn": created["arn"]}
    assert isinstance(described["schedule"]["startTime"], datetime)
    assert v2.get_campaign_state(id=created["id"])["state"] == "Initialized"


def test_full_campaign_summary_in_listing(v2, instance_id):
    request = full_campaign(instance_id)
    campaign_id = v2.create_campaign(**request)["id"]

    listed = v2.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})
    assert listed["campaignSummaryList"] == [{
        "id": campaign_id, "arn": campaign_arn(campaign_id), "name": request["name"],
        "connectInstanceId": instance_id, "channelSubtypes": ["TELEPHONY", "SMS", "EMAIL"],
        "type": "MANAGED", "schedule": request["schedule"], "entryLimitsConfig": request["entryLimitsConfig"],
        "connectCampaignFlowArn": FLOW_ARN,
    }]
    assert "nextToken" not in listed


def test_minimal_campaign_describes_only_what_was_given(v2, instance_id):
    request = minimal_campaign(instance_id)
    campaign_id = v2.create_campaign(**request)["id"]

    assert describe(v2, campaign_id) == {**request, "id": campaign_id, "arn": campaign_arn(campaign_id),
                                         "tags": {}}


@pytest.mark.parametrize("mode", ["predictive", "agentless", "preview"])
def test_other_telephony_modes_round_trip(v2, instance_id, mode):
    request = minimal_campaign(instance_id, channelSubtypeConfig={"telephony": telephony(mode)})
    campaign_id = v2.create_campaign(**request)["id"]

    assert describe(v2, campaign_id)["channelSubtypeConfig"] == request["channelSubtypeConfig"]


def test_event_trigger_campaign_round_trips(v2, instance_id):
    request = event_campaign(instance_id)
    campaign_id = v2.create_campaign(**request)["id"]

    assert describe(v2, campaign_id)["source"] == {"eventTrigger": {"customerProfilesDomainArn": DOMAIN_ARN}}


def test_midnight_is_allowed_as_the_end_of_a_time_range(v2, instance_id):
    config = communication_time(telephony=window({"FRIDAY": hours(("T18:00", "T24:00"))}))
    campaign_id = v2.create_campaign(**full_campaign(instance_id, communicationTimeConfig=config))["id"]

    assert describe(v2, campaign_id)["communicationTimeConfig"] == config


def test_time_zone_detection_alone_is_enough(v2, instance_id):
    config = communication_time(time_zone=None, detection=["AREA_CODE"], sms=window(weekdays(("T09:00", "T17:00"))))
    campaign_id = v2.create_campaign(**full_campaign(instance_id, communicationTimeConfig=config))["id"]

    assert describe(v2, campaign_id)["communicationTimeConfig"] == config


def test_schedule_instants_survive_any_offset_to_the_millisecond(v2, create):
    campaign_id = create()
    berlin = timezone(timedelta(hours=2))
    new = schedule(datetime(2031, 6, 1, 8, 30, 15, 250000, tzinfo=berlin),
                   datetime(2031, 6, 30, 23, 59, 59, 999000, tzinfo=timezone(timedelta(hours=-7))), "PT6H")

    v2.update_campaign_schedule(id=campaign_id, schedule=new)

    # Equal as instants: the offset is the client's, the instant is the campaign's.
    assert describe(v2, campaign_id)["schedule"] == new


@pytest.mark.parametrize("suffix", ["/state", "/name", "/"])
def test_campaign_id_with_a_slash_is_not_a_sub_resource(v2, create, suffix):
    campaign_id = create()

    with aws_error("ResourceNotFoundException"):
        describe(v2, campaign_id + suffix)
    with aws_error("ResourceNotFoundException"):
        v2.delete_campaign(id=campaign_id + suffix)
    assert describe(v2, campaign_id)["name"] == "spring-renewals"


@pytest.mark.parametrize("operation", ["describe_campaign", "delete_campaign", "get_campaign_state"])
def test_unknown_campaign_is_not_found(v2, operation):
    with aws_error("ResourceNotFoundException"):
        getattr(v2, operation)(id=str(uuid.uuid4()))


def test_deleted_campaign_and_its_tags_are_gone(v2, create):
    campaign_id = create()
    v2.delete_campaign(id=campaign_id)

    with aws_error("ResourceNotFoundException"):
        describe(v2, campaign_id)
    with aws_error("ResourceNotFoundException"):
        v2.list_tags_for_resource(arn=campaign_arn(campaign_id))
    with aws_error("ResourceNotFoundException"):
        v2.delete_campaign(id=campaign_id)


# --- validation on create ------------------------------------------------------------------------
# (case, CreateCampaign overrides, what the message must mention). Several pass the model's own
# patterns and are caught only by the semantic checks.
INVALID_CREATES = [
    ("schedule-ends-before-start", {"schedule": schedule(at(10), at(9))}, "endTime"),
    ("schedule-ends-at-start", {"schedule": schedule(at(10), at(10))}, "endTime"),
    ("refresh-frequency-bare-P", {"schedule": schedule(refresh="P")}, "refreshFrequency"),
    ("refresh-frequency-bare-PT", {"schedule": schedule(refresh="PT")}, "refreshFrequency"),
    ("refresh-frequency-words", {"schedule": schedule(refresh="daily")}, "refreshFrequency"),
    ("refresh-frequency-zero", {"schedule": schedule(refresh="PT0S")}, "refreshFrequency"),
    ("refresh-frequency-negative", {"schedule": schedule(refresh="P-1D")}, "refreshFrequency"),
    ("min-entry-interval-bare-PT", {"entryLimitsConfig": {"maxEntryCount": 1, "minEntryInterval": "PT"}},
     "minEntryInterval"),
    ("min-entry-interval-words", {"entryLimitsConfig": {"maxEntryCount": 1, "minEntryInterval": "weekly"}},
     "minEntryInterval"),
    ("unknown-time-zone", {"communicationTimeConfig": communication_time("Mars/Olympus_Mons")}, "Mars/Olympus_Mons"),
    ("no-time-zone-at-all", {"communicationTimeConfig": communication_time(None)}, "defaultTimeZone"),
    ("empty-time-zone", {"communicationTimeConfig": communication_time("")}, "defaultTimeZone"),
    ("empty-detection-list", {"communicationTimeConfig": communication_time(None, detection=[])}, "defaultTimeZone"),
    ("range-ends-before-start",
     {"communicationTimeConfig": communication_time(telephony=window({"MONDAY": hours(("T17:00", "T09:00"))}))},
     "MONDAY"),
    ("range-empty",
     {"communicationTimeConfig": communication_time(sms=window({"TUESDAY": hours(("T09:00", "T09:00"))}))},
     "TUESDAY"),
    ("range-hour-25",
     {"communicationTimeConfig": communication_time(email=window({"MONDAY": hours(("T09:00", "T25:00"))}))},
     "T25:00"),
    ("range-minute-60",
     {"communicationTimeConfig": communication_time(telephony=window({"MONDAY": hours(("T09:60", "T10:00"))}))},
     "T09:60"),
    ("range-starts-at-24",
     {"communicationTimeConfig": communication_time(telephony=window({"MONDAY": hours(("T24:00", "T24:00"))}))},
     "T24:00"),
    ("range-without-T",
     {"communicationTimeConfig": communication_time(telephony=window({"MONDAY": hours(("09:00", "17:00"))}))},
     "09:00"),
    ("restricted-period-backwards",
     {"communicationTimeConfig": communication_time(
         telephony=window(weekdays(("T09:00", "T17:00")), [("x", "2031-12-27", "2031-12-24")]))},
     "restrictedPeriodList"),
    ("restricted-period-zero-days",
     {"communicationTimeConfig": communication_time(
         telephony=window(weekdays(("T09:00", "T17:00")), [("x", "2031-12-24", "2031-12-24")]))},
     "restrictedPeriodList"),
    ("restricted-period-impossible-date",
     {"communicationTimeConfig": communication_time(
         telephony=window(weekdays(("T09:00", "T17:00")), [("x", "2031-02-30", "2031-03-02")]))},
     "2031-02-30"),
    ("two-limits-same-window",
     {"communicationLimitsOverride": {"allChannelSubtypes": limits((1, 7), (3, 7))}}, "same window"),
    ("name-too-long", {"name": "n" * 128}, "name"),
    ("capacity-above-one", {"channelSubtypeConfig": {"telephony": telephony(capacity=1.5)}}, "capacity"),
    ("instance-id-pattern", {"connectInstanceId": "not an id!"}, "connectInstanceId"),
    ("reserved-tag-prefix", {"tags": {"aws:owner": "me"}}, "aws:owner"),
    ("too-many-tags", {"tags": {f"k{i}": "v" for i in range(51)}}, "50"),
]


@pytest.mark.parametrize("overrides, mentions", [case[1:] for case in INVALID_CREATES],
                         ids=[case[0] for case in INVALID_CREATES])
def test_create_refuses_invalid_configuration(v2, instance_id, overrides, mentions):
    with aws_error("ValidationException", mentions):
        v2.create_campaign(**full_campaign(instance_id, **overrides))
    # Nothing was half-created.
    listed = v2.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}})
    assert listed["campaignSummaryList"] == []


@pytest.mark.parametrize("time_zone", ["America", "Etc"])
def test_time_zone_that_names_a_region_not_a_zone_is_refused(v2, instance_id, time_zone):
    with aws_error("ValidationException", time_zone):
        v2.create_campaign(**full_campaign(instance_id, communicationTimeConfig=communication_time(time_zone)))


@pytest.mark.parametrize("overrides", [
    {"schedule": schedule(refresh="P9999999999D")},
    {"schedule": schedule(refresh="PT99999999999999999999S")},
    {"entryLimitsConfig": {"maxEntryCount": 1, "minEntryInterval": "P9999999999D"}},
], ids=["refresh-days", "refresh-seconds", "min-entry-interval-days"])
def test_duration_too_large_to_represent_is_refused(v2, instance_id, overrides):
    with aws_error("ValidationException"):
        v2.create_campaign(**full_campaign(instance_id, **overrides))


# --- state machine -------------------------------------------------------------------------------
def test_legal_transitions_walk_the_whole_state_machine(v2, create):
    campaign_id = create()
    walk = [("start", "Running"), ("pause", "Paused"), ("resume", "Running"), ("pause", "Paused"),
            ("resume", "Running"), ("stop", "Stopped")]
    for action, state in walk:
        act(v2, action, campaign_id)
        assert v2.get_campaign_state(id=campaign_id)["state"] == state


def test_paused_campaign_can_be_stopped(v2, create):
    campaign_id = create("Paused")
    v2.stop_campaign(id=campaign_id)
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Stopped"


ILLEGAL = [(state, action) for state in PATH_TO for action in ("start", "pause", "resume", "stop")
           if not (state, action) in {("Initialized", "start"), ("Running", "pause"), ("Running", "stop"),
                                      ("Paused", "resume"), ("Paused", "stop")}]


@pytest.mark.parametrize("state, action", ILLEGAL, ids=[f"{a}-when-{s}" for s, a in ILLEGAL])
def test_illegal_transition_reports_current_state(v2, create, state, action):
    campaign_id = create(state)
    with campaign_state_error(state):
        act(v2, action, campaign_id)
    assert v2.get_campaign_state(id=campaign_id)["state"] == state


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
def test_transition_of_unknown_campaign_is_not_found(v2, action):
    with aws_error("ResourceNotFoundException"):
        act(v2, action, str(uuid.uuid4()))


def test_state_batch_mixes_known_and_unknown_ids(v2, create):
    states = ["Initialized", "Running", "Paused", "Stopped"]
    ids = {state: create(state) for state in states}
    unknown = [str(uuid.uuid4()) for _ in range(2)]
    asked = [ids["Running"], unknown[0], ids["Initialized"], ids["Stopped"], unknown[1], ids["Paused"]]

    result = v2.get_campaign_state_batch(campaignIds=asked)

    assert result["successfulRequests"] == [
        {"campaignId": ids[s], "state": s} for s in ("Running", "Initialized", "Stopped", "Paused")]
    assert result["failedRequests"] == [{"campaignId": i, "failureCode": "ResourceNotFound"} for i in unknown]


def test_state_batch_refuses_more_than_25_ids(v2):
    with aws_error("ValidationException", "campaignIds"):
        v2.get_campaign_state_batch(campaignIds=[str(uuid.uuid4()) for _ in range(26)])


# --- updates -------------------------------------------------------------------------------------
NEW_SCHEDULE = schedule(at(5, 14), at(28, 18), "PT12H")
NEW_TIME = communication_time(
    "Europe/Berlin", telephony=window({"WEDNESDAY": hours(("T10:00", "T11:00")), "SUNDAY": hours(("T12:00", "T13:00"))},
                                      [("closed", "2031-05-01", "2031-05-02")]))
NEW_OVERRIDE = {"allChannelSubtypes": limits((1, 3))}


@dataclass(frozen=True)
class Update:
    operation: str
    params: dict
    effect: Callable[[dict], object]  # turns the campaign described before into the one expected after
    # The states it is allowed in, per its API reference: ANY, UNFINISHED (its model lists
    # InvalidCampaignStateException, its reference says no more) or INITIALIZED ("Only campaigns in
    # the Initialized state are valid for this operation").
    allowed: frozenset[str]
    refusal: str = "InvalidCampaignStateException"  # what refuses it elsewhere

    def allowed_in(self, state: str) -> bool:
        return state in self.allowed

    def apply(self, v2, campaign_id: str) -> None:
        getattr(v2, self.operation)(id=campaign_id, **copy.deepcopy(self.params))


ANY = frozenset({"Initialized", "Running", "Paused", "Stopped"})
UNFINISHED = frozenset({"Initialized", "Running", "Paused"})
INITIALIZED = frozenset({"Initialized"})
UPDATES = [
    Update("update_campaign_name", {"name": "autumn-renewals"}, lambda c: c.update(name="autumn-renewals"), ANY),
    # Channels merge: the given one is replaced, the others stay.
    Update("update_campaign_channel_subtype_config", {"channelSubtypeConfig": {"sms": sms(capacity=0.25)}},
           lambda c: c["channelSubtypeConfig"].update(sms=sms(capacity=0.25)), ANY),
    Update("delete_campaign_channel_subtype_config", {"channelSubtype": "EMAIL"},
           lambda c: c["channelSubtypeConfig"].pop("email"), INITIALIZED, "ConflictException"),
    Update("update_campaign_schedule", {"schedule": NEW_SCHEDULE}, lambda c: c.update(schedule=NEW_SCHEDULE),
           INITIALIZED),
    Update("update_campaign_source", {"source": {"customerProfilesSegmentArn": OTHER_SEGMENT_ARN}},
           lambda c: c.update(source={"customerProfilesSegmentArn": OTHER_SEGMENT_ARN}), INITIALIZED),
    Update("update_campaign_flow_association", {"connectCampaignFlowArn": OTHER_FLOW_ARN},
           lambda c: c.update(connectCampaignFlowArn=OTHER_FLOW_ARN), UNFINISHED),
    Update("update_campaign_entry_limits", {"entryLimitsConfig": {"maxEntryCount": 0, "minEntryInterval": "PT12H"}},
           lambda c: c.update(entryLimitsConfig={"maxEntryCount": 0, "minEntryInterval": "PT12H"}), UNFINISHED),
    Update("delete_campaign_entry_limits", {}, lambda c: c.pop("entryLimitsConfig"), UNFINISHED),
    Update("update_campaign_communication_time", {"communicationTimeConfig": NEW_TIME},
           lambda c: c.update(communicationTimeConfig=NEW_TIME), INITIALIZED),
    # Only that channel's window goes.
    Update("delete_campaign_communication_time", {"config": "SMS"},
           lambda c: c["communicationTimeConfig"].pop("sms"), INITIALIZED),
    Update("update_campaign_communication_limits", {"communicationLimitsOverride": NEW_OVERRIDE},
           lambda c: c.update(communicationLimitsOverride=NEW_OVERRIDE), INITIALIZED),
    # allChannelSubtypes goes; instanceLimitsHandling stays.
    Update("delete_campaign_communication_limits", {"config": "ALL_CHANNEL_SUBTYPES"},
           lambda c: c.update(communicationLimitsOverride={"instanceLimitsHandling": "OPT_IN"}), INITIALIZED),
]
UPDATE_IDS = [update.operation for update in UPDATES]


def expected_after(update: Update, before: dict) -> dict:
    after = copy.deepcopy(before)
    update.effect(after)
    return after


@pytest.mark.parametrize("update", UPDATES, ids=UPDATE_IDS)
def test_update_changes_only_its_part_of_the_campaign(v2, create, update):
    campaign_id = create()
    before = describe(v2, campaign_id)

    update.apply(v2, campaign_id)

    assert describe(v2, campaign_id) == expected_after(update, before)


@pytest.mark.parametrize("state", ["Running", "Paused", "Stopped"])
@pytest.mark.parametrize("update", UPDATES, ids=UPDATE_IDS)
def test_update_after_start_follows_the_api_reference(v2, create, update, state):
    campaign_id = create(state)
    before = describe(v2, campaign_id)

    if update.allowed_in(state):
        update.apply(v2, campaign_id)
        assert describe(v2, campaign_id) == expected_after(update, before)
    else:
        with aws_error(update.refusal, state) as caught:
            update.apply(v2, campaign_id)
        if update.refusal == "InvalidCampaignStateException":
            assert caught.value.response["state"] == state
        assert describe(v2, campaign_id) == before
    assert v2.get_campaign_state(id=campaign_id)["state"] == state


@pytest.mark.parametrize("update", UPDATES, ids=UPDATE_IDS)
def test_update_of_unknown_campaign_is_not_found(v2, update):
    with aws_error("ResourceNotFoundException"):
        update.apply(v2, str(uuid.uuid4()))


# (case, operation, parameters, what the message must mention): semantic checks on updates too.
INVALID_UPDATES = [
    ("schedule-backwards", "update_campaign_schedule", {"schedule": schedule(at(20), at(2))}, "endTime"),
    ("schedule-refresh-not-duration", "update_campaign_schedule", {"schedule": schedule(refresh="P")},
     "refreshFrequency"),
    ("entry-interval-not-duration", "update_campaign_entry_limits",
     {"entryLimitsConfig": {"maxEntryCount": 2, "minEntryInterval": "PT"}}, "minEntryInterval"),
    ("time-zone-unknown", "update_campaign_communication_time",
     {"communicationTimeConfig": communication_time("Atlantis/Capital")}, "Atlantis/Capital"),
    ("time-zone-missing", "update_campaign_communication_time",
     {"communicationTimeConfig": communication_time(None)}, "defaultTimeZone"),
    ("time-range-backwards", "update_campaign_communication_time",
     {"communicationTimeConfig": communication_time(email=window({"SUNDAY": hours(("T12:00", "T11:59"))}))},
     "SUNDAY"),
    ("restricted-period-backwards", "update_campaign_communication_time",
     {"communicationTimeConfig": communication_time(
         sms=window(weekdays(("T09:00", "T17:00")), [("x", "2031-06-02", "2031-06-01")]))},
     "restrictedPeriodList"),
    ("limits-same-window", "update_campaign_communication_limits",
     {"communicationLimitsOverride": {"allChannelSubtypes": limits((1, 1), (2, 1))}}, "same window"),
]


@pytest.mark.parametrize("operation, params, mentions", [case[1:] for case in INVALID_UPDATES],
                         ids=[case[0] for case in INVALID_UPDATES])
def test_update_refuses_invalid_configuration(v2, create, operation, params, mentions):
    campaign_id = create()
    before = describe(v2, campaign_id)

    with aws_error("ValidationException", mentions):
        getattr(v2, operation)(id=campaign_id, **params)
    assert describe(v2, campaign_id) == before


@pytest.mark.parametrize("before, after", [("progressive", "predictive"), ("predictive", "progressive"),
                                           ("progressive", "preview"), ("preview", "predictive")])
def test_agent_assisted_dialers_may_change_into_each_other(v2, create, before, after):
    campaign_id = create(channelSubtypeConfig={"telephony": telephony(before)})

    v2.update_campaign_channel_subtype_config(id=campaign_id, channelSubtypeConfig={"telephony": telephony(after)})

    assert describe(v2, campaign_id)["channelSubtypeConfig"]["telephony"] == telephony(after)


@pytest.mark.parametrize("before, after", [("progressive", "agentless"), ("predictive", "agentless"),
                                           ("preview", "agentless"), ("agentless", "progressive"),
                                           ("agentless", "predictive"), ("agentless", "preview")])
def test_dialer_cannot_switch_between_agentless_and_agent_assisted(v2, create, before, after):
    campaign_id = create(channelSubtypeConfig={"telephony": telephony(before)})

    with aws_error("ValidationException", "dialer type"):
        v2.update_campaign_channel_subtype_config(id=campaign_id,
                                                  channelSubtypeConfig={"telephony": telephony(after)})
    assert describe(v2, campaign_id)["channelSubtypeConfig"]["telephony"] == telephony(before)


def test_channel_can_be_added_by_update(v2, create):
    campaign_id = create(channelSubtypeConfig={"telephony": telephony()})

    v2.update_campaign_channel_subtype_config(id=campaign_id, channelSubtypeConfig={"email": email()})

    assert describe(v2, campaign_id)["channelSubtypeConfig"] == {"telephony": telephony(), "email": email()}


def test_source_cannot_be_added_to_a_campaign_created_without_one(v2, create):
    campaign_id = create(source=None)

    with aws_error("ValidationException", "source"):
        v2.update_campaign_source(id=campaign_id, source={"customerProfilesSegmentArn": SEGMENT_ARN})
    assert "source" not in describe(v2, campaign_id)


@pytest.mark.parametrize("created_with, changed_to", [
    ({"customerProfilesSegmentArn": SEGMENT_ARN}, EVENT_SOURCE),
    (EVENT_SOURCE, {"customerProfilesSegmentArn": SEGMENT_ARN}),
], ids=["segment-to-event-trigger", "event-trigger-to-segment"])
def test_source_kind_cannot_change(v2, create, created_with, changed_to):
    campaign_id = create(source=created_with)

    with aws_error("ValidationException", "source"):
        v2.update_campaign_source(id=campaign_id, source=changed_to)
    assert describe(v2, campaign_id)["source"] == created_with


def test_event_trigger_source_can_point_at_another_domain(v2, create):
    campaign_id = create(source=EVENT_SOURCE, schedule=None)
    new_source = {"eventTrigger": {"customerProfilesDomainArn": OTHER_DOMAIN_ARN}}

    v2.update_campaign_source(id=campaign_id, source=new_source)

    assert describe(v2, campaign_id)["source"] == new_source


def test_deleting_the_last_communication_limits_drops_the_override(v2, create):
    campaign_id = create(communicationLimitsOverride={"allChannelSubtypes": limits((4, 30))})

    v2.delete_campaign_communication_limits(id=campaign_id, config="ALL_CHANNEL_SUBTYPES")

    assert "communicationLimitsOverride" not in describe(v2, campaign_id)


def test_deleting_each_channel_window_leaves_the_time_zone(v2, create):
    campaign_id = create()
    for channel in ("TELEPHONY", "SMS", "EMAIL"):
        v2.delete_campaign_communication_time(id=campaign_id, config=channel)

    assert describe(v2, campaign_id)["communicationTimeConfig"] == {
        "localTimeZoneConfig": full_communication_time()["localTimeZoneConfig"]}


# --- tags ----------------------------------------------------------------------------------------
def test_tag_lifecycle(v2, create):
    campaign_id = create()
    arn = campaign_arn(campaign_id)
    assert v2.list_tags_for_resource(arn=arn)["tags"] == {"team": "retention", "cost-center": "cc-42"}

    v2.tag_resource(arn=arn, tags={"team": "growth", "channel/mix": "omni", "a+b=c.d_e:f": "x"})
    expected = {"team": "growth", "cost-center": "cc-42", "channel/mix": "omni", "a+b=c.d_e:f": "x"}
    assert v2.list_tags_for_resource(arn=arn)["tags"] == expected
    assert describe(v2, campaign_id)["tags"] == expected

    v2.untag_resource(arn=arn, tagKeys=["cost-center", "a+b=c.d_e:f", "never-there"])
    assert v2.list_tags_for_resource(arn=arn)["tags"] == {"team": "growth", "channel/mix": "omni"}


@pytest.mark.parametrize("operation, params", [
    ("tag_resource", {"tags": {"k": "v"}}),
    ("untag_resource", {"tagKeys": ["k"]}),
    ("list_tags_for_resource", {}),
])
def test_tags_of_unknown_campaign_are_not_found(v2, operation, params):
    with aws_error("ResourceNotFoundException"):
        getattr(v2, operation)(arn=campaign_arn(str(uuid.uuid4())), **params)


def test_reserved_tag_keys_are_refused(v2, create):
    campaign_id = create()
    arn = campaign_arn(campaign_id)

    with aws_error("ValidationException", "aws:created-by"):
        v2.tag_resource(arn=arn, tags={"aws:created-by": "me"})
    with aws_error("ValidationException", "aws:created-by"):
        v2.untag_resource(arn=arn, tagKeys=["aws:created-by"])
    assert v2.list_tags_for_resource(arn=arn)["tags"] == {"team": "retention", "cost-center": "cc-42"}


def test_more_than_50_tags_are_refused(v2, create):
    campaign_id = create(tags={f"k{i}": "v" for i in range(48)})
    arn = campaign_arn(campaign_id)

    v2.tag_resource(arn=arn, tags={"k0": "overwritten", "k48": "v", "k49": "v"})  # exactly 50
    with aws_error("ValidationException", "50"):
        v2.tag_resource(arn=arn, tags={"k50": "v"})
    tags = v2.list_tags_for_resource(arn=arn)["tags"]
    assert len(tags) == 50 and tags["k0"] == "overwritten" and "k50" not in tags


# --- listing -------------------------------------------------------------------------------------
def list_all(v2, instance_id: str, **params) -> list[list[dict]]:
    """Every page of the instance's campaigns, following nextToken until it runs out."""
    pages, token = [], None
    while True:
        request = {"filters": {"instanceIdFilter": {"value": instance_id, "operator": "Eq"}}, **params}
        if token:
            request["nextToken"] = token
        response = v2.list_campaigns(**request)
        pages.append(response["campaignSummaryList"])
        token = response.get("nextToken")
        if not token:
            return pages


def test_pagination_returns_every_campaign_once_oldest_first(v2, instance_id):
    created = [v2.create_campaign(**minimal_campaign(instance_id, f"c{i}"))["id"] for i in range(7)]

    pages = list_all(v2, instance_id, maxResults=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [c["id"] for page in pages for c in page] == created
    assert pages[0][0] == {"id": created[0], "arn": campaign_arn(created[0]), "name": "c0",
                           "connectInstanceId": instance_id, "channelSubtypes": ["TELEPHONY"]}


def test_pagination_ends_without_token_when_the_last_page_is_full(v2, instance_id):
    created = [v2.create_campaign(**minimal_campaign(instance_id, f"c{i}"))["id"] for i in range(4)]

    pages = list_all(v2, instance_id, maxResults=2)

    assert [[c["id"] for c in page] for page in pages] == [created[:2], created[2:]]


def test_default_page_holds_up_to_50(v2, instance_id):
    created = [v2.create_campaign(**minimal_campaign(instance_id, f"c{i}"))["id"] for i in range(3)]

    assert [[c["id"] for c in page] for page in list_all(v2, instance_id)] == [created]


def test_pagination_survives_deletions_between_pages(v2, instance_id):
    created = [v2.create_campaign(**minimal_campaign(instance_id, f"c{i}"))["id"] for i in range(5)]
    filters = {"instanceIdFilter": {"value": instance_id, "operator": "Eq"}}
    first = v2.list_campaigns(filters=filters, maxResults=2)

    # The token is a position, not an offset: deleting seen and unseen campaigns skips nothing else.
    v2.delete_campaign(id=created[1])
    v2.delete_campaign(id=created[3])
    rest = v2.list_campaigns(filters=filters, maxResults=2, nextToken=first["nextToken"])

    assert [c["id"] for c in first["campaignSummaryList"]] == created[:2]
    assert [c["id"] for c in rest["campaignSummaryList"]] == [created[2], created[4]]
    assert "nextToken" not in rest


def test_listing_filters_by_instance(v2, instance_id):
    mine = v2.create_campaign(**minimal_campaign(instance_id))["id"]
    other_instance = f"inst-{uuid.uuid4().hex[:12]}"
    theirs = v2.create_campaign(**minimal_campaign(other_instance))["id"]

    assert [c["id"] for page in list_all(v2, instance_id) for c in page] == [mine]
    assert [c["id"] for page in list_all(v2, other_instance) for c in page] == [theirs]


@pytest.mark.parametrize("params, mentions", [
    ({"nextToken": "definitely-not-a-token"}, "nextToken"),
    ({"maxResults": 51}, "maxResults"),
], ids=["garbage-token", "max-results-over-50"])
def test_listing_refuses_bad_paging(v2, instance_id, params, mentions):
    with aws_error("ValidationException", mentions):
        v2.list_campaigns(filters={"instanceIdFilter": {"value": instance_id, "operator": "Eq"}}, **params)


# --- regions -------------------------------------------------------------------------------------
def test_campaigns_are_regional(client, v2, create, instance_id):
    campaign_id = create("Running")
    west = client("connectcampaignsv2", region=OTHER_REGION)

    for call in (lambda: west.describe_campaign(id=campaign_id), lambda: west.get_campaign_state(id=campaign_id),
                 lambda: west.pause_campaign(id=campaign_id), lambda: west.delete_campaign(id=campaign_id),
                 lambda: west.update_campaign_name(id=campaign_id, name="hijacked"),
                 lambda: west.list_tags_for_resource(arn=campaign_arn(campaign_id)),
                 lambda: west.tag_resource(arn=campaign_arn(campaign_id), tags={"k": "v"})):
        with aws_error("ResourceNotFoundException"):
            call()
    assert west.get_campaign_state_batch(campaignIds=[campaign_id])["failedRequests"] == [
        {"campaignId": campaign_id, "failureCode": "ResourceNotFound"}]
    assert list_all(west, instance_id) == [[]]

    # A campaign of the same instance in the other region is the other region's own.
    west_id = west.create_campaign(**minimal_campaign(instance_id, "west"))["id"]
    assert campaign_arn(west_id, OTHER_REGION) == west.describe_campaign(id=west_id)["campaign"]["arn"]
    assert [c["id"] for page in list_all(v2, instance_id) for c in page] == [campaign_id]
    assert describe(v2, campaign_id)["name"] == "spring-renewals"
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Running"


# --- quotas --------------------------------------------------------------------------------------
def test_campaign_quotas_per_instance(tmp_path):
    """A server of its own with tiny quotas: 2 active campaigns, 3 campaigns in all, per instance."""
    quota_server = start_server(f"sqlite:///{tmp_path / 'quotas.db'}", tmp_path,
                                REACHOUT_QUOTA_ACTIVE_CAMPAIGNS_PER_INSTANCE="2",
                                REACHOUT_QUOTA_CAMPAIGNS_PER_INSTANCE="3")
    try:
        v2 = make_client(quota_server.url, "connectcampaignsv2")
        instance = "inst-quota"
        first, second = (v2.create_campaign(**minimal_campaign(instance, n))["id"] for n in ("a", "b"))
        with aws_error("ServiceQuotaExceededException", "active"):
            v2.create_campaign(**minimal_campaign(instance, "c"))

        # Stopped campaigns are not active: room for one more, up to the total quota.
        drive(v2, first, "Stopped")
        third = v2.create_campaign(**minimal_campaign(instance, "c"))["id"]
        drive(v2, second, "Stopped")
        with aws_error("ServiceQuotaExceededException", "3 campaigns"):
            v2.create_campaign(**minimal_campaign(instance, "d"))

        # Quotas are per instance and per region.
        v2.create_campaign(**minimal_campaign("inst-other", "x"))
        make_client(quota_server.url, "connectcampaignsv2", region=OTHER_REGION).create_campaign(
            **minimal_campaign(instance, "west"))

        # Deleting frees room again; the refused attempts created nothing.
        v2.delete_campaign(id=first)
        v2.create_campaign(**minimal_campaign(instance, "d"))
        assert [c["id"] for page in list_all(v2, instance) for c in page][:2] == [second, third]
        assert [c["name"] for page in list_all(v2, instance) for c in page] == ["b", "c", "d"]
    finally:
        assert quota_server.stop() == 0, quota_server.log.read_text()


def test_default_quota_is_50_active_campaigns_per_instance(v2, instance_id):
    created = [v2.create_campaign(**minimal_campaign(instance_id, f"c{i}"))["id"] for i in range(50)]
    with aws_error("ServiceQuotaExceededException", "active"):
        v2.create_campaign(**minimal_campaign(instance_id, "one-too-many"))

    drive(v2, created[0], "Stopped")
    created.append(v2.create_campaign(**minimal_campaign(instance_id, "c50"))["id"])

    # 51 campaigns: a full default page of 50, then one.
    pages = list_all(v2, instance_id)
    assert [len(page) for page in pages] == [50, 1]
    assert [c["id"] for page in pages for c in page] == created


# --- Connect instance configuration --------------------------------------------------------------
ENCRYPTED = {"enabled": True, "encryptionType": "KMS", "keyArn": KEY_ARN}


def onboard(v2, instance_id: str, encryption: dict | None = None) -> dict:
    return v2.start_instance_onboarding_job(connectInstanceId=instance_id, encryptionConfig=encryption or ENCRYPTED)


@pytest.mark.parametrize("operation", ["get_connect_instance_config", "get_instance_onboarding_job_status",
                                       "delete_instance_onboarding_job", "delete_connect_instance_config"])
def test_instance_never_onboarded_is_not_found(v2, instance_id, operation):
    with aws_error("ResourceNotFoundException"):
        getattr(v2, operation)(connectInstanceId=instance_id)


@pytest.mark.parametrize("encryption", [ENCRYPTED, {"enabled": False}], ids=["kms", "unencrypted"])
def test_onboarding_stores_instance_config(v2, instance_id, encryption):
    job = {"connectInstanceId": instance_id, "status": "SUCCEEDED"}
    assert onboard(v2, instance_id, encryption)["connectInstanceOnboardingJobStatus"] == job

    assert v2.get_instance_onboarding_job_status(connectInstanceId=instance_id)[
        "connectInstanceOnboardingJobStatus"] == job
    assert v2.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"] == {
        "connectInstanceId": instance_id, "serviceLinkedRoleArn": SERVICE_ROLE, "encryptionConfig": encryption}


def test_onboarding_again_replaces_the_config(v2, instance_id):
    onboard(v2, instance_id)
    onboard(v2, instance_id, {"enabled": False})

    assert v2.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"][
        "encryptionConfig"] == {"enabled": False}


def test_onboarding_with_encryption_needs_a_key(v2, instance_id):
    with aws_error("ValidationException", "keyArn"):
        onboard(v2, instance_id, {"enabled": True, "encryptionType": "KMS"})
    with aws_error("ResourceNotFoundException"):
        v2.get_connect_instance_config(connectInstanceId=instance_id)


def test_deleting_the_onboarding_job_keeps_the_config(v2, instance_id):
    onboard(v2, instance_id)

    v2.delete_instance_onboarding_job(connectInstanceId=instance_id)

    with aws_error("ResourceNotFoundException"):
        v2.get_instance_onboarding_job_status(connectInstanceId=instance_id)
    with aws_error("ResourceNotFoundException"):
        v2.delete_instance_onboarding_job(connectInstanceId=instance_id)
    assert v2.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"]["encryptionConfig"] \
        == ENCRYPTED


def test_instance_config_without_campaigns_is_deleted_without_policy(v2, instance_id):
    onboard(v2, instance_id)

    v2.delete_connect_instance_config(connectInstanceId=instance_id)

    with aws_error("ResourceNotFoundException"):
        v2.get_connect_instance_config(connectInstanceId=instance_id)


def test_instance_config_with_campaigns_needs_a_deletion_policy(v2, create, instance_id):
    onboard(v2, instance_id)
    campaign_id = create()

    with aws_error("InvalidStateException", "campaigns"):
        v2.delete_connect_instance_config(connectInstanceId=instance_id)
    assert v2.get_connect_instance_config(connectInstanceId=instance_id)["connectInstanceConfig"]
    assert describe(v2, campaign_id)["id"] == campaign_id


def test_retain_all_keeps_the_instance_campaigns(v2, create, instance_id):
    onboard(v2, instance_id)
    kept = [create(), create("Running")]

    v2.delete_connect_instance_config(connectInstanceId=instance_id, campaignDeletionPolicy="RETAIN_ALL")

    with aws_error("ResourceNotFoundException"):
        v2.get_connect_instance_config(connectInstanceId=instance_id)
    assert [c["id"] for page in list_all(v2, instance_id) for c in page] == kept
    assert v2.get_campaign_state(id=kept[1])["state"] == "Running"


def test_delete_all_deletes_the_instance_campaigns_only(v2, create, instance_id):
    onboard(v2, instance_id)
    doomed = [create(), create("Paused")]
    bystander = v2.create_campaign(**minimal_campaign(f"inst-{uuid.uuid4().hex[:12]}"))["id"]

    v2.delete_connect_instance_config(connectInstanceId=instance_id, campaignDeletionPolicy="DELETE_ALL")

    with aws_error("ResourceNotFoundException"):
        v2.get_connect_instance_config(connectInstanceId=instance_id)
    assert list_all(v2, instance_id) == [[]]
    for campaign_id in doomed:
        with aws_error("ResourceNotFoundException"):
            describe(v2, campaign_id)
        with aws_error("ResourceNotFoundException"):
            v2.list_tags_for_resource(arn=campaign_arn(campaign_id))
    assert describe(v2, bystander)["id"] == bystander
    # The instance can be onboarded again afterwards.
    assert onboard(v2, instance_id)["connectInstanceOnboardingJobStatus"]["status"] == "SUCCEEDED"


def test_instance_communication_limits(v2, instance_id):
    assert v2.get_instance_communication_limits(connectInstanceId=instance_id)["communicationLimitsConfig"] == {}

    config = {"allChannelSubtypes": limits((1, 1), (4, 30))}
    v2.put_instance_communication_limits(connectInstanceId=instance_id, communicationLimitsConfig=config)
    assert v2.get_instance_communication_limits(connectInstanceId=instance_id)["communicationLimitsConfig"] == config

    replacement = {"allChannelSubtypes": limits((2, 7))}
    v2.put_instance_communication_limits(connectInstanceId=instance_id, communicationLimitsConfig=replacement)
    assert v2.get_instance_communication_limits(connectInstanceId=instance_id)[
        "communicationLimitsConfig"] == replacement

    with aws_error("ValidationException", "same window"):
        v2.put_instance_communication_limits(connectInstanceId=instance_id,
                                             communicationLimitsConfig={"allChannelSubtypes": limits((1, 7), (9, 7))})
    assert v2.get_instance_communication_limits(connectInstanceId=instance_id)[
        "communicationLimitsConfig"] == replacement


# --- integrations --------------------------------------------------------------------------------
def profiles_integration(*event_types: str) -> dict:
    return {"customerProfiles": {"domainArn": DOMAIN_ARN,
                                 "objectTypeNames": {t: f"{t.replace('-', '')}Object" for t in event_types}}}


INTEGRATIONS = [profiles_integration("Campaign-Telephony", "Campaign-SMS"),
                {"qConnect": {"knowledgeBaseArn": KNOWLEDGE_BASE_ARN}},
                {"lambda": {"functionArn": FUNCTION_ARN}}]


def list_integrations(v2, instance_id: str, **params) -> list[list[dict]]:
    pages, token = [], None
    while True:
        response = v2.list_connect_instance_integrations(
            connectInstanceId=instance_id, **params, **({"nextToken": token} if token else {}))
        pages.append(response["integrationSummaryList"])
        token = response.get("nextToken")
        if not token:
            return pages


def test_integrations_lifecycle(v2, instance_id):
    assert list_integrations(v2, instance_id) == [[]]
    for config in INTEGRATIONS:
        v2.put_connect_instance_integration(connectInstanceId=instance_id, integrationConfig=config)

    # Oldest first, two to a page.
    assert list_integrations(v2, instance_id, maxResults=2) == [INTEGRATIONS[:2], INTEGRATIONS[2:]]

    # The same identifier again replaces that integration rather than adding one.
    replacement = profiles_integration("Campaign-Email")
    v2.put_connect_instance_integration(connectInstanceId=instance_id, integrationConfig=replacement)
    listed = [item for page in list_integrations(v2, instance_id) for item in page]
    assert len(listed) == 3
    assert replacement in listed and INTEGRATIONS[0] not in listed

    v2.delete_connect_instance_integration(connectInstanceId=instance_id,
                                           integrationIdentifier={"qConnect": {"knowledgeBaseArn": KNOWLEDGE_BASE_ARN}})
    listed = [item for page in list_integrations(v2, instance_id) for item in page]
    assert sorted(map(str, listed)) == sorted(map(str, [replacement, INTEGRATIONS[2]]))

    with aws_error("ResourceNotFoundException"):
        v2.delete_connect_instance_integration(
            connectInstanceId=instance_id, integrationIdentifier={"qConnect": {"knowledgeBaseArn": KNOWLEDGE_BASE_ARN}})


def test_integrations_belong_to_their_instance(v2, instance_id):
    v2.put_connect_instance_integration(connectInstanceId=instance_id, integrationConfig=INTEGRATIONS[2])
    other_instance = f"inst-{uuid.uuid4().hex[:12]}"

    assert list_integrations(v2, other_instance) == [[]]
    with aws_error("ResourceNotFoundException"):
        v2.delete_connect_instance_integration(connectInstanceId=other_instance,
                                               integrationIdentifier={"lambda": {"functionArn": FUNCTION_ARN}})
    assert list_integrations(v2, instance_id) == [[INTEGRATIONS[2]]]


def test_integrations_refuse_a_garbage_token(v2, instance_id):
    with aws_error("ValidationException", "nextToken"):
        v2.list_connect_instance_integrations(connectInstanceId=instance_id, nextToken="garbage")


# --- outbound requests ---------------------------------------------------------------------------
@dataclass
class Outbound:
    """One OutboundRequest; `to` is the destination phone number or email address."""

    token: str
    channel: str = "telephony"
    to: str | None = None
    expires: datetime = LATER
    attributes: dict = field(default_factory=lambda: {"customerName": "Ann"})

    def item(self) -> dict:
        if self.channel == "email":
            parameters = {"destinationEmailAddress": self.to or "ann@example.com",
                          "templateParameters": self.attributes}
        else:
            key = "attributes" if self.channel == "telephony" else "templateParameters"
            parameters = {"destinationPhoneNumber": self.to or "+15555550123", key: self.attributes}
        return {"clientToken": self.token, "expirationTime": self.expires,
                "channelSubtypeParameters": {self.channel: parameters}}


def put_outbound(v2, campaign_id: str, *requests: Outbound) -> dict:
    return v2.put_outbound_request_batch(id=campaign_id, outboundRequests=[r.item() for r in requests])


def profile_request(token: str, profile_id: str | None = None, expires: datetime | None = None) -> dict:
    item = {"clientToken": token, "profileId": profile_id or uuid.UUID(int=1).hex}
    if expires is not None:
        item["expirationTime"] = expires
    return item


def outcome(result: dict) -> tuple[dict, dict]:
    """{token: id} of the successes, {token: failureCode} of the failures."""
    return ({r["clientToken"]: r["id"] for r in result["successfulRequests"]},
            {r["clientToken"]: r["failureCode"] for r in result["failedRequests"]})


def test_outbound_requests_on_every_configured_channel(v2, create):
    campaign_id = create("Running")

    succeeded, failed = outcome(put_outbound(v2, campaign_id, Outbound("call-1"), Outbound("sms-1", "sms"),
                                             Outbound("mail-1", "email"),
                                             Outbound("call-dashes", to="+1-555-555-0199")))

    assert failed == {}
    assert list(succeeded) == ["call-1", "sms-1", "mail-1", "call-dashes"]
    assert len(set(succeeded.values())) == 4


def test_repeated_token_with_same_content_returns_the_same_id(v2, create):
    campaign_id = create("Running")
    first, _ = outcome(put_outbound(v2, campaign_id, Outbound("a"), Outbound("b", "email")))

    again, failed = outcome(put_outbound(v2, campaign_id, Outbound("b", "email"), Outbound("a")))

    assert failed == {} and again == first


def test_repeated_token_within_one_batch_is_one_request(v2, create):
    campaign_id = create("Running")

    result = put_outbound(v2, campaign_id, Outbound("twice"), Outbound("twice"))

    ids = [r["id"] for r in result["successfulRequests"]]
    assert result["failedRequests"] == [] and len(ids) == 2 and ids[0] == ids[1]


def test_reused_token_with_different_content_is_refused(v2, create):
    campaign_id = create("Running")
    first, _ = outcome(put_outbound(v2, campaign_id, Outbound("reused", to="+15555550111")))

    succeeded, failed = outcome(put_outbound(
        v2, campaign_id, Outbound("reused", to="+15555550222"), Outbound("inner"),
        Outbound("inner", to="+15555550333")))

    assert failed == {"reused": "InvalidInput", "inner": "InvalidInput"}
    assert list(succeeded) == ["inner"]
    # The original request is untouched: repeating it still yields its id.
    assert outcome(put_outbound(v2, campaign_id, Outbound("reused", to="+15555550111")))[0] == first


def test_token_of_a_refused_request_can_be_used_once_corrected(v2, create):
    campaign_id = create("Running")
    assert outcome(put_outbound(v2, campaign_id, Outbound("fix-me", to="5555550123")))[1] == {"fix-me": "InvalidInput"}

    succeeded, failed = outcome(put_outbound(v2, campaign_id, Outbound("fix-me", to="+15555550123")))

    assert failed == {} and list(succeeded) == ["fix-me"]


# (case, request): each is refused on its own (InvalidInput) while its batch mates succeed.
INVALID_OUTBOUND = [
    ("expired", Outbound("x", expires=LONG_AGO)),
    ("phone-without-plus", Outbound("x", to="15555550123")),
    ("phone-too-short", Outbound("x", to="+123456")),
    ("phone-too-long", Outbound("x", "sms", to="+1234567890123456")),
    ("phone-leading-zero", Outbound("x", to="+05555550123")),
    ("email-with-space", Outbound("x", "email", to="ann smith@example.com")),
    ("email-two-ats", Outbound("x", "email", to="ann@example.com@other")),
    ("channel-not-configured", Outbound("x", "whatsApp")),
]


@pytest.mark.parametrize("bad", [case[1] for case in INVALID_OUTBOUND], ids=[case[0] for case in INVALID_OUTBOUND])
def test_invalid_outbound_request_fails_alone(v2, create, bad):
    campaign_id = create("Running")

    succeeded, failed = outcome(put_outbound(v2, campaign_id, Outbound("good"), bad))

    assert failed == {"x": "InvalidInput"} and list(succeeded) == ["good"]


def test_channel_missing_from_a_telephony_only_campaign(v2, create):
    campaign_id = create("Running", channelSubtypeConfig={"telephony": telephony()})

    succeeded, failed = outcome(put_outbound(v2, campaign_id, Outbound("mail", "email"), Outbound("text", "sms")))

    assert succeeded == {} and failed == {"mail": "InvalidInput", "text": "InvalidInput"}


@pytest.mark.parametrize("state", ["Initialized", "Paused", "Stopped"])
def test_outbound_requests_need_a_running_campaign(v2, create, state):
    campaign_id = create(state)

    with campaign_state_error(state):
        put_outbound(v2, campaign_id, Outbound("a"))


def test_outbound_requests_for_unknown_campaign_are_not_found(v2):
    with aws_error("ResourceNotFoundException"):
        put_outbound(v2, str(uuid.uuid4()), Outbound("a"))
    with aws_error("ResourceNotFoundException"):
        v2.put_profile_outbound_request_batch(id=str(uuid.uuid4()), profileOutboundRequests=[profile_request("a")])


def test_outbound_batch_holds_at_most_25(v2, create):
    campaign_id = create("Running")

    with aws_error("ValidationException", "outboundRequests"):
        put_outbound(v2, campaign_id, *(Outbound(f"t{i}") for i in range(26)))
    assert len(put_outbound(v2, campaign_id, *(Outbound(f"t{i}") for i in range(25)))["successfulRequests"]) == 25


def test_profile_requests_on_event_trigger_campaign(v2, create):
    campaign_id = create("Running", source=EVENT_SOURCE, schedule=None)
    items = [profile_request("no-expiry", uuid.uuid4().hex),
             profile_request("with-expiry", uuid.uuid4().hex, LATER)]

    first = v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=items)
    succeeded, failed = outcome(first)
    assert failed == {} and list(succeeded) == ["no-expiry", "with-expiry"]
    assert len(set(succeeded.values())) == 2

    # Same tokens, same content: the same requests.
    again = v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=items)
    assert outcome(again) == (succeeded, {})


def test_profile_request_refusals(v2, create):
    campaign_id = create("Running", source=EVENT_SOURCE, schedule=None)
    v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[
        profile_request("taken", uuid.uuid4().hex)])

    succeeded, failed = outcome(v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[
        profile_request("taken", uuid.uuid4().hex),  # same token, another profile
        profile_request("expired", uuid.uuid4().hex, LONG_AGO),
        profile_request("fine", uuid.uuid4().hex),
    ]))

    assert failed == {"taken": "Conflict", "expired": "InvalidInput"} and list(succeeded) == ["fine"]


def test_profile_requests_need_an_event_trigger_campaign(v2, create):
    for campaign_id in (create("Running"), create("Running", source=None)):
        with aws_error("ValidationException", "event trigger"):
            v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[profile_request("a")])


@pytest.mark.parametrize("state", ["Initialized", "Paused", "Stopped"])
def test_profile_requests_need_a_running_campaign(v2, create, state):
    campaign_id = create(state, source=EVENT_SOURCE, schedule=None)

    with campaign_state_error(state):
        v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[profile_request("a")])


def test_profile_batch_holds_at_most_20(v2, create):
    campaign_id = create("Running", source=EVENT_SOURCE, schedule=None)

    with aws_error("ValidationException", "profileOutboundRequests"):
        v2.put_profile_outbound_request_batch(
            id=campaign_id, profileOutboundRequests=[profile_request(f"t{i}") for i in range(21)])


def test_deleted_campaign_forgets_its_requests(v2, create):
    campaign_id = create("Running")
    put_outbound(v2, campaign_id, Outbound("a"))
    v2.delete_campaign(id=campaign_id)

    with aws_error("ResourceNotFoundException"):
        put_outbound(v2, campaign_id, Outbound("a"))
