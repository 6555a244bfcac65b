"""Compliance regimes end to end on the virtual clock: a campaign selects one with its tag
`reachout:compliance-regime`; the engine calls only within the regime's hours in each recipient's
own time (from the phone number when the campaign names no zone rule), intersected with the
campaign's communication time, and defers a reattempt past the regime's per-subject cap with the
reason. A tag naming no regime is refused as AWS refuses bad input: ValidationException."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from reachout.channels.simulated import outcome_for
from reachout.domain.regime import REGIME_TAG
from tests.support import START, World, advance, agentless, connect_instance, hours, records, rules_flow

NEW_YORK, LOS_ANGELES = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
# Numbers the simulated carrier (seed 0) never gets an answer from, on attempts 1 to 5.
UNANSWERED = {"+12125557148": NEW_YORK, "+12125557705": NEW_YORK, "+12135558977": LOS_ANGELES}
TAGS = {"FL": {REGIME_TAG: "FL"}, "US": {REGIME_TAG: "US"}}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_numbers_are_the_unanswered_ones():
    for number in UNANSWERED:
        assert [outcome_for(0, "telephony", number, n) for n in range(1, 6)] == ["AMD_UNANSWERED"] * 5


def test_calls_only_in_the_regime_hours_of_each_recipient(engine_server):
    world = World(engine_server)
    for number in UNANSWERED:
        world.person("hours", PhoneNumber=number)
    segment = world.segment("hours")
    florida = world.campaign(segment, agentless(), None, tags=TAGS["FL"])
    # the campaign's own window (07:00-22:00 weekdays) cut to the US regime's 08:00-21:00
    us = world.campaign(segment, agentless(), {"localTimeZoneConfig": {"localTimeZoneDetection": ["AREA_CODE"]},
                                               "telephony": hours("T07:00", "T22:00")}, tags=TAGS["US"])
    plain = world.campaign(segment, agentless(), None)

    advance(engine_server, seconds=60)
    waiting = {s["reason"] for s in records(engine_server, florida, "suppressions")}   # while they wait
    assert waiting == {f"deferred: communication time closed until {opening} (cut to the Florida "
                       "regime's calling hours, 08:00 to 20:00 recipient time)"
                       for opening in ("2026-01-05T13:00:00+00:00", "2026-01-05T16:00:00+00:00")}, waiting
    advance(engine_server, seconds=24 * 3600)

    def first_calls(campaign_id):
        return {c["endpoint"]: at(c["dispatched_at"]) for c in records(engine_server, campaign_id, "contacts")
                if c["attempt"] == 1}

    for number, zone in UNANSWERED.items():
        eight = START.astimezone(zone).replace(hour=8, minute=0)
        eight = eight if eight > START else eight + timedelta(days=1)   # the next 08:00 there: Monday's
        assert first_calls(florida)[number] == eight
        assert first_calls(us)[number] == eight
        assert first_calls(plain)[number] == START       # no regime: at once, 01:00 in New York
    for campaign_id in (florida, us, plain):
        assert world.state(campaign_id) == "Completed"


def test_a_florida_reattempt_waits_until_the_subject_has_had_fewer_than_three_calls_in_24_hours(engine_server):
    world = World(engine_server)
    flow = rules_flow(engine_server, connect_instance(world),
                      {"Dispositions": ["NO_ANSWER"], "Channel": "telephony", "Wait": "PT1H", "MaxAttempts": 5})
    florida_number, us_number = "+12125557148", "+12125557705"
    world.person("fl", PhoneNumber=florida_number)
    world.person("us", PhoneNumber=us_number)
    florida = world.campaign(world.segment("fl"), agentless(), None, connectCampaignFlowArn=flow, tags=TAGS["FL"])
    us = world.campaign(world.segment("us"), agentless(), None, connectCampaignFlowArn=flow, tags=TAGS["US"])

    advance(engine_server, seconds=3 * 24 * 3600)

    def calls(campaign_id):
        return sorted((c["attempt"], at(c["dispatched_at"])) for c in records(engine_server, campaign_id, "contacts"))

    fl_calls, us_calls = calls(florida), calls(us)
    assert [n for n, _ in fl_calls] == [n for n, _ in us_calls] == [1, 2, 3, 4, 5]
    # US: no cap, one every hour or so; Florida: the fourth waits for the first to be 24 h old
    assert us_calls[4][1] - us_calls[0][1] < timedelta(hours=5)
    first = fl_calls[0][1]
    assert fl_calls[1][1] - first < timedelta(hours=2) and fl_calls[2][1] - first < timedelta(hours=3)
    assert fl_calls[3][1] == first + timedelta(hours=24)             # 08:00 the next day, inside 08:00-20:00
    assert fl_calls[4][1] >= fl_calls[1][1] + timedelta(hours=24)
    for i in range(len(fl_calls)):                                   # never more than 3 in any 24 h
        assert sum(1 for _, t in fl_calls if fl_calls[i][1] - timedelta(hours=24) < t <= fl_calls[i][1]) <= 3
    notes = [s["reason"] for s in records(engine_server, florida, "suppressions")]
    expected = (f"deferred: reattempt 4 on telephony after NO_ANSWER, due {fl_calls[3][1].isoformat()} (deferred: "
                "the Florida regime allows at most 3 calls per 24 h to a recipient; the next is allowed at "
                f"{fl_calls[3][1].isoformat()})")
    assert expected in notes, notes


def test_a_tag_naming_no_regime_is_refused(engine_server):
    world = World(engine_server)
    with pytest.raises(ClientError) as refused:
        world.campaigns.create_campaign(name="bad", connectInstanceId=world.instance,
                                        channelSubtypeConfig=agentless(), tags={REGIME_TAG: "TX"})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "names no compliance regime" in refused.value.response["Error"]["Message"]
    assert world.campaigns.list_campaigns()["campaignSummaryList"] == []
    campaign_id = world.campaigns.create_campaign(name="ok", connectInstanceId=world.instance,
                                                  channelSubtypeConfig=agentless())["id"]
    arn = world.campaigns.describe_campaign(id=campaign_id)["campaign"]["arn"]
    with pytest.raises(ClientError) as refused:
        world.campaigns.tag_resource(arn=arn, tags={REGIME_TAG: "uk"})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert world.campaigns.list_tags_for_resource(arn=arn)["tags"] == {}
    world.campaigns.tag_resource(arn=arn, tags={REGIME_TAG: "UK"})
    assert world.campaigns.list_tags_for_resource(arn=arn)["tags"] == {REGIME_TAG: "UK"}


def test_the_florida_cap_holds_across_campaigns_calling_the_same_subject_at_once(engine_server):
    """Four campaigns plan the same subject's first call for the same instant (none knows of the
    others' plans): dispatch, under the subject's lock, lets three through and defers the fourth a day."""
    world = World(engine_server)
    number = "+12125557148"
    world.person("cap", PhoneNumber=number)
    segment = world.segment("cap")
    campaigns = [world.campaign(segment, agentless(), None, tags=TAGS["FL"]) for _ in range(4)]

    advance(engine_server, seconds=8 * 3600)       # past 08:00 in New York (13:00 UTC)
    eight = at("2026-01-05T13:00:00+00:00")
    dispatched = sorted(at(c["dispatched_at"]) for campaign_id in campaigns
                        for c in records(engine_server, campaign_id, "contacts") if c["dispatched_at"])
    assert dispatched == [eight] * 3, dispatched
    reasons = {s["reason"] for campaign_id in campaigns for s in records(engine_server, campaign_id, "suppressions")}
    assert ("deferred: the Florida regime allows at most 3 calls per 24 h to a recipient; the next is allowed at "
            "2026-01-06T13:00:00+00:00") in reasons, reasons

    advance(engine_server, seconds=24 * 3600)
    dispatched = sorted(at(c["dispatched_at"]) for campaign_id in campaigns
                        for c in records(engine_server, campaign_id, "contacts") if c["dispatched_at"])
    assert dispatched == [eight] * 3 + [eight + timedelta(days=1)], dispatched


def test_a_call_resumed_after_the_regime_hours_waits_for_the_next_morning(engine_server):
    """Planned inside the hours, held by a pause until 20:30 in New York: dispatch checks the regime's
    hours again (the campaign has no window of its own) and the call waits for 08:00."""
    world = World(engine_server)
    world.person("late", PhoneNumber="+12125557148")
    florida = world.campaign(world.segment("late"), agentless(), None, tags=TAGS["FL"])
    advance(engine_server, seconds=60)
    world.campaigns.pause_campaign(id=florida)
    advance(engine_server, seconds=19 * 3600 + 30 * 60 - 60)    # Tuesday 01:30 UTC, Monday 20:30 in New York
    world.campaigns.resume_campaign(id=florida)
    advance(engine_server, seconds=60)
    assert [c["dispatched_at"] for c in records(engine_server, florida, "contacts")] == [None]
    reasons = {s["reason"] for s in records(engine_server, florida, "suppressions")}
    assert ("deferred: communication time closed until 2026-01-06T13:00:00+00:00 (cut to the Florida regime's "
            "calling hours, 08:00 to 20:00 recipient time)") in reasons, reasons

    advance(engine_server, seconds=12 * 3600)
    assert [at(c["dispatched_at"]) for c in records(engine_server, florida, "contacts")] == [
        at("2026-01-06T13:00:00+00:00")]
