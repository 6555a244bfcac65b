"""Reattempt rules (seeds/002): the rules format of CAMPAIGN contact flows (reachout.domain.reattempt),
and the engine applying them end to end on a virtual clock with the simulated carriers, whose outcome
for an endpoint and attempt is fixed by the seed (0): a bounced email is retried by SMS after the
rule's wait and inside the SMS window, never more often than MaxAttempts allows, and within the
communication limits."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from reachout.channels.simulated import outcome_for
from reachout.domain.reattempt import InvalidRules, parse
from tests.support import EMAIL, START, World, advance, connect_instance, hours, inside, records, rules_flow

NEW_YORK = "America/New_York"


def address(*outcomes: str) -> str:
    """An email address whose attempts 1, 2, ... have these simulated outcomes."""
    for i in range(100000):
        candidate = f"p{i}@example.com"
        if all(outcome_for(0, "email", candidate, n) == o for n, o in enumerate(outcomes, 1)):
            return candidate
    raise AssertionError(f"no address with outcomes {outcomes}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the rules format ----------------------------------------------------------------------------
def test_rules_parse_and_pick_the_first_rule_that_applies():
    rules = parse(json.dumps({"Version": "reachout-2026-11", "ReattemptRules": [
        {"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT1H30M", "MaxAttempts": 2},
        {"Dispositions": ["BOUNCED", "NO_ANSWER"], "Channel": "email", "MaxAttempts": 3}]}))
    first, second = rules.rules
    assert (first.channel, first.wait, first.max_attempts) == ("sms", timedelta(hours=1, minutes=30), 2)
    assert second.wait == timedelta(0)
    assert rules.rule_for("HARD_BOUNCE", "BOUNCED", 1) is first  # the code matches every outcome it comes from
    assert rules.rule_for("HARD_BOUNCE", "BOUNCED", 2) is second  # first has no attempts left; the outcome matches
    assert rules.rule_for("HARD_BOUNCE", "BOUNCED", 3) is None
    assert rules.rule_for("NO_ANSWER", "NO_ANSWER", 1) is second
    assert rules.rule_for("DELIVERED", "DELIVERED", 1) is None


@pytest.mark.parametrize("content, problem", [
    ("[]", "must be a JSON object"),
    ('{"Version": "reachout-2026-11"}', "ReattemptRules must be a list of 1 to 20 rules"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": []}', "ReattemptRules must be a list of 1 to 20 rules"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [1]}', "ReattemptRules[1] must be an object"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [{"Dispositions": [], "Channel": "sms", "MaxAttempts": 2}]}',
     "Dispositions must be a non-empty list"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [{"Dispositions": ["BUSY"], "Channel": "sms", '
     '"Wait": "P31D", "MaxAttempts": 2}]}', "must be between PT0S and P30D"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [{"Dispositions": ["BUSY"], "Channel": "sms", '
     '"Wait": "-PT1H", "MaxAttempts": 2}]}', "not an ISO 8601 duration"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [{"Dispositions": ["BUSY"], "Channel": "sms", '
     '"MaxAttempts": 11}]}', "MaxAttempts must be an integer from 2 to 10"),
    ('{"Version": "reachout-2026-11", "ReattemptRules": [{"Dispositions": ["BUSY"], "Channel": "sms", '
     '"MaxAttempts": true}]}', "MaxAttempts must be an integer"),
    ('{"Version": "reachout-2026-11", "Rules": []}', "Unknown member Rules"),
])
def test_invalid_rules_say_what_is_wrong(content, problem):
    with pytest.raises(InvalidRules) as refused:
        parse(content)
    assert any(problem in p for p in refused.value.problems), refused.value.problems


# --- the engine applies them ---------------------------------------------------------------------
def test_a_bounced_email_is_retried_by_sms_after_the_wait_inside_the_sms_window(engine_server):
    world = World(engine_server)
    instance = connect_instance(world)
    flow = rules_flow(engine_server, instance,
                      {"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT2H", "MaxAttempts": 2},
                      {"Dispositions": ["DEFERRED_EXPIRED"], "Channel": "sms", "Wait": "PT8H", "MaxAttempts": 2})
    bounced = world.person("retry", EmailAddress=address("BOUNCED"), MobilePhoneNumber="+12125550101")
    soft = world.person("retry", EmailAddress=address("DEFERRED_EXPIRED"), MobilePhoneNumber="+12125550103")
    delivered = world.person("retry", EmailAddress=address("DELIVERED"), MobilePhoneNumber="+12125550104")
    time_config = {"localTimeZoneConfig": {"defaultTimeZone": NEW_YORK},
                   "email": hours("T09:00", "T10:00"), "sms": hours("T10:00", "T17:00")}
    # Email is the campaign's only channel; SMS is used for reattempts alone.
    campaign_id = world.campaign(world.segment("retry"), EMAIL, time_config, connectCampaignFlowArn=flow)

    sent = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)  # 09:00 in New York
    outcome_known = sent + timedelta(seconds=5)
    advance(engine_server, to=(outcome_known + timedelta(hours=2) - timedelta(seconds=1)).isoformat())
    retry = [c for c in records(engine_server, campaign_id, "contacts") if c["attempt"] == 2]
    assert sorted((c["recipient"], c["channel"], c["state"]) for c in retry) == \
        sorted([(bounced, "sms", "planned"), (soft, "sms", "planned")])
    waiting = next(c for c in retry if c["recipient"] == bounced)
    assert waiting["dispatched_at"] is None  # not before the wait
    assert at(waiting["due_at"]) == outcome_known + timedelta(hours=2)

    advance(engine_server, seconds=3 * 24 * 3600)
    contacts = records(engine_server, campaign_id, "contacts")
    by_person = {person: sorted((c for c in contacts if c["recipient"] == person), key=lambda c: c["attempt"])
                 for person in (bounced, soft, delivered)}
    assert [(c["channel"], c["disposition"]) for c in by_person[delivered]] == [("email", "DELIVERED")]
    email, sms = by_person[bounced]
    assert (email["disposition"], sms["channel"], sms["attempt"], sms["endpoint"], sms["zones"]) == \
        ("HARD_BOUNCE", "sms", 2, "+12125550101", [NEW_YORK])
    assert at(sms["dispatched_at"]) == outcome_known + timedelta(hours=2)  # the wait; the window was open
    # 17:00:05 in New York is past the SMS window: the next opening, Tuesday 10:00.
    email, sms = by_person[soft]
    assert (email["disposition"], sms["channel"], sms["attempt"]) == ("SOFT_BOUNCE", "sms", 2)
    assert at(sms["dispatched_at"]) == datetime(2026, 1, 6, 15, 0, tzinfo=timezone.utc)
    for contact in contacts:
        assert contact["state"] == "completed"
        assert inside(time_config[contact["channel"]], at(contact["dispatched_at"]), NEW_YORK), contact
    notes = [s["reason"] for s in records(engine_server, campaign_id, "suppressions")]
    assert any(n.startswith("deferred: reattempt 2 on sms after HARD_BOUNCE, due 2026-01-05T16:00:05") for n in notes)
    assert world.state(campaign_id) == "Completed"


def test_max_attempts_caps_the_reattempts_of_a_rule(engine_server):
    world = World(engine_server)
    flow = rules_flow(engine_server, connect_instance(world),
                      {"Dispositions": ["HARD_BOUNCE"], "Channel": "email", "Wait": "PT1H", "MaxAttempts": 3})
    always = world.person("cap", EmailAddress=address("BOUNCED", "BOUNCED", "BOUNCED"))
    once = world.person("cap", EmailAddress=address("BOUNCED", "DELIVERED"))
    campaign_id = world.campaign(world.segment("cap"), EMAIL, None, connectCampaignFlowArn=flow)

    advance(engine_server, seconds=24 * 3600)

    contacts = records(engine_server, campaign_id, "contacts")
    attempts = {person: sorted((c["attempt"], c["disposition"], at(c["dispatched_at"])) for c in contacts
                               if c["recipient"] == person) for person in (always, once)}
    bounce = timedelta(seconds=5)
    assert attempts[always] == [(1, "HARD_BOUNCE", START), (2, "HARD_BOUNCE", START + bounce + timedelta(hours=1)),
                                (3, "HARD_BOUNCE", START + 2 * (bounce + timedelta(hours=1)))]
    assert attempts[once] == [(1, "HARD_BOUNCE", START), (2, "DELIVERED", START + bounce + timedelta(hours=1))]
    assert world.state(campaign_id) == "Completed"


def test_a_reattempt_is_held_to_the_communication_limits(engine_server):
    world = World(engine_server)
    flow = rules_flow(engine_server, connect_instance(world),
                      {"Dispositions": ["HARD_BOUNCE", "SOFT_BOUNCE"], "Channel": "sms", "MaxAttempts": 2})
    world.campaigns.put_instance_communication_limits(connectInstanceId=world.instance, communicationLimitsConfig={
        "allChannelSubtypes": {"communicationLimitsList": [{"maxCountPerRecipient": 1, "frequency": 1,
                                                            "unit": "DAY"}]}})
    bounced = world.person("limit", EmailAddress=address("BOUNCED"), MobilePhoneNumber="+12125550101")
    soft = world.person("limit", EmailAddress=address("DEFERRED_EXPIRED"), MobilePhoneNumber="+12125550103")
    nowhere = world.person("limit", EmailAddress=address("BOUNCED"))  # no number to retry on
    campaign_id = world.campaign(world.segment("limit"), EMAIL, None, connectCampaignFlowArn=flow)

    advance(engine_server, seconds=3600)

    retries = {c["recipient"]: c for c in records(engine_server, campaign_id, "contacts") if c["attempt"] == 2}
    # A hard bounce never reached anyone and released its count; a soft bounce may have, and keeps it.
    assert retries[bounced]["state"] == "completed"
    assert retries[soft]["state"] == "dropped" and "communication limit reached" in retries[soft]["reason"]
    assert nowhere not in retries
    notes = [s["reason"] for s in records(engine_server, campaign_id, "suppressions") if s["recipient"] == nowhere]
    assert any(n.startswith("reattempt 2 on sms after HARD_BOUNCE not made: no endpoint") for n in notes), notes
