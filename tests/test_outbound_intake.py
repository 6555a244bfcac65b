"""Outbound requests going live, on the virtual clock: PutOutboundRequestBatch,
PutProfileOutboundRequestBatch and (v1) PutDialRequestBatch become contacts that the engine sends
inside their window, under the communication limits shared with segment campaigns, and never after
their expirationTime: an expired request is recorded with its reason and announced. Two workers
taking requests at once take each exactly once (PostgreSQL)."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from reachout.engine import requests as intake
from reachout.store.db import Database, database_url
from reachout.store.tables import communications, contacts, outbound_requests, sim_sends
from tests.support import (ACCOUNT, DISPOSITIONS, EMAIL, REGION, SMS, START, World, advance, hours, inside, make_client,
                           postgres_database, records, start_server)

NEW_YORK = "America/New_York"
SUPPRESSIONS = {"source": ["reachout.campaigns"], "detail-type": ["Reachout Recipient Suppressed"]}


def event_campaign(world: World, channels: dict, time_config: dict | None = None) -> str:
    """A running campaign fed by events of the world's profile domain."""
    request = {"name": f"e-{uuid.uuid4().hex[:6]}", "connectInstanceId": world.instance, "channelSubtypeConfig": channels,
               "source": {"eventTrigger": {"customerProfilesDomainArn":
                                           f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{world.domain}"}}}
    if time_config:
        request["communicationTimeConfig"] = time_config
    campaign_id = world.campaigns.create_campaign(**request)["id"]
    world.campaigns.start_campaign(id=campaign_id)
    return campaign_id


def sms_to(token: str, number: str, expires: datetime, **parameters) -> dict:
    return {"clientToken": token, "expirationTime": expires, "channelSubtypeParameters": {"sms": {
        "destinationPhoneNumber": number, "templateParameters": parameters}}}


def email_to(token: str, address: str, expires: datetime, **parameters) -> dict:
    return {"clientToken": token, "expirationTime": expires, "channelSubtypeParameters": {"email": {
        "destinationEmailAddress": address, "templateParameters": parameters}}}


def ids(answer: dict) -> dict[str, str]:
    assert answer["failedRequests"] == [], answer
    return {r["clientToken"]: r["id"] for r in answer["successfulRequests"]}


def subscribe(server, receiver, pattern: dict) -> None:
    """An EventBridge rule sending events that match `pattern` to the receiver over HTTP."""
    events = make_client(server.url, "events")
    connection = events.create_connection(Name=f"c{uuid.uuid4().hex[:6]}", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "k"}})
    destination = events.create_api_destination(Name=f"d{uuid.uuid4().hex[:6]}", HttpMethod="POST",
                                                ConnectionArn=connection["ConnectionArn"], InvocationEndpoint=receiver.url)
    name = f"r{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "hook", "Arn": destination["ApiDestinationArn"]}])


def test_requests_are_sent_inside_their_window_and_never_after_they_expire(engine_server, receiver):
    world = World(engine_server)
    subscribe(engine_server, receiver, SUPPRESSIONS)
    window = hours("T09:00", "T17:00")  # 14:00-22:00 UTC in New York in January
    campaign_id = event_campaign(world, {**SMS, **EMAIL}, {"localTimeZoneConfig": {"defaultTimeZone": NEW_YORK},
                                                          "sms": window, "email": window})
    made = ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
        sms_to("in-time", "+12125550101", START + timedelta(hours=12), firstName="Ann"),
        # Its window opens only after it has expired: it must expire unsent.
        email_to("too-late", "late@example.com", START + timedelta(hours=2), firstName="Bo"),
    ]))

    advance(engine_server, seconds=24 * 3600)

    sent = {c["request_id"]: c for c in records(engine_server, campaign_id, "contacts")}
    assert set(sent) == set(made.values())
    text, mail = sent[made["in-time"]], sent[made["too-late"]]
    assert (text["state"], text["channel"], text["endpoint"]) == ("completed", "sms", "+12125550101")
    assert datetime.fromisoformat(text["dispatched_at"]) == datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    assert inside(window, datetime.fromisoformat(text["dispatched_at"]), NEW_YORK)
    assert (mail["state"], mail["dispatched_at"]) == ("dropped", None)
    assert datetime.fromisoformat(mail["completed_at"]) == START + timedelta(hours=2)  # expired at its expiry
    assert mail["reason"].startswith("expired: its expirationTime 2026-01-05T08:00:00+00:00 passed")
    reasons = [s["reason"] for s in records(engine_server, campaign_id, "suppressions") if s["contact_id"] == mail["id"]]
    assert len(reasons) == 2 and "will expire unsent" in reasons[0] and reasons[1] == mail["reason"]
    announced = [e["detail"] for e in receiver.received if e["detail"]["contactId"] == mail["id"]]
    assert [e["reason"] for e in announced] == reasons
    assert world.state(campaign_id) == "Running"  # a campaign fed by events does not complete on its own


def test_a_request_waiting_in_a_paused_campaign_expires_there_unsent(engine_server, receiver):
    world = World(engine_server)
    subscribe(engine_server, receiver, SUPPRESSIONS)
    person = world.person("paused", MobilePhoneNumber="+12125550102")
    campaign_id = event_campaign(world, SMS)
    ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
        sms_to("waits", "+12125550103", START + timedelta(minutes=10))]))
    ids(world.campaigns.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[
        {"clientToken": "profile-waits", "profileId": person, "expirationTime": START + timedelta(minutes=5)}]))
    world.campaigns.pause_campaign(id=campaign_id)

    advance(engine_server, seconds=3600)
    world.campaigns.resume_campaign(id=campaign_id)
    advance(engine_server, seconds=3600)

    assert records(engine_server, campaign_id, "contacts") == []
    expired = {(s["recipient"], s["at"], s["reason"]) for s in records(engine_server, campaign_id, "suppressions")}
    assert expired == {
        ("+12125550103", (START + timedelta(minutes=10)).isoformat(),
         "expired: its expirationTime 2026-01-05T06:10:00+00:00 passed before it could be sent"),
        (person, (START + timedelta(minutes=5)).isoformat(),
         "expired: its expirationTime 2026-01-05T06:05:00+00:00 passed before it could be sent"),
    }
    assert {(e["detail"]["profileId"], e["detail"]["reason"]) for e in receiver.received} == \
        {(recipient, reason) for recipient, _, reason in expired}


def test_a_request_held_by_a_pause_is_sent_once_the_campaign_resumes(engine_server):
    # A resume wakes no campaign fed by requests (nothing of it waits on a wake-up): the engine must
    # take the held request all the same.
    world = World(engine_server)
    campaign_id = event_campaign(world, SMS)
    made = ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
        sms_to("held", "+12125550104", START + timedelta(hours=1))]))
    world.campaigns.pause_campaign(id=campaign_id)
    advance(engine_server, seconds=600)
    assert records(engine_server, campaign_id, "contacts") == []

    world.campaigns.resume_campaign(id=campaign_id)
    advance(engine_server, seconds=60)

    [contact] = records(engine_server, campaign_id, "contacts")
    assert (contact["request_id"], contact["state"], contact["endpoint"]) == (made["held"], "completed", "+12125550104")
    assert datetime.fromisoformat(contact["dispatched_at"]) == START + timedelta(seconds=600)
    assert world.state(campaign_id) == "Running"


def test_limits_hold_across_a_request_and_a_segment_campaign_for_the_same_recipient(engine_server):
    world = World(engine_server)
    known = world.person("limits", EmailAddress="kim@example.com", PhoneNumber="+12125550111")
    other = world.person("others", MobilePhoneNumber="+12125550112")
    world.campaigns.put_instance_communication_limits(connectInstanceId=world.instance, communicationLimitsConfig={
        "allChannelSubtypes": {"communicationLimitsList": [{"maxCountPerRecipient": 1, "frequency": 1, "unit": "DAY"}]}})
    segment_campaign = world.campaign(world.segment("limits"), EMAIL)
    advance(engine_server, seconds=60)  # the segment campaign emails Kim
    campaign_id = event_campaign(world, SMS)
    expires = START + timedelta(hours=1)
    by_profile = ids(world.campaigns.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[
        {"clientToken": "kim", "profileId": known}, {"clientToken": "other", "profileId": other}]))
    by_number = ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
        sms_to("kim-by-number", "+1-212-555-0111", expires), sms_to("stranger", "+12125550199", expires)]))

    advance(engine_server, seconds=600)

    [emailed] = records(engine_server, segment_campaign, "contacts")
    assert (emailed["recipient"], emailed["state"]) == (known, "completed")
    texts = {c["request_id"]: c for c in records(engine_server, campaign_id, "contacts")}
    # Kim's number is Kim's profile's: one recipient, whichever way the request named her.
    assert texts[by_profile["kim"]]["recipient"] == texts[by_number["kim-by-number"]]["recipient"] == known
    for request_id in (by_profile["kim"], by_number["kim-by-number"]):
        assert texts[request_id]["state"] == "dropped" and texts[request_id]["dispatched_at"] is None
        assert texts[request_id]["reason"].startswith("communication limit reached: 1 per 1 day")
    assert texts[by_profile["other"]]["recipient"] == other
    assert texts[by_number["stranger"]]["recipient"] == "+12125550199"  # nobody's number: its own recipient
    for request_id in (by_profile["other"], by_number["stranger"]):
        assert texts[request_id]["state"] == "completed" and texts[request_id]["dispatched_at"]


def test_v1_dial_requests_place_calls(engine_server):
    v1 = make_client(engine_server.url, "connectcampaigns")
    campaign_id = v1.create_campaign(
        name="dialer", connectInstanceId=f"inst-{uuid.uuid4().hex[:8]}",
        dialerConfig={"agentlessDialerConfig": {"dialingCapacity": 1.0}},
        outboundCallConfig={"connectContactFlowId": "flow", "connectSourcePhoneNumber": "+12065550100",
                            "answerMachineDetectionConfig": {"enableAnswerMachineDetection": True}})["id"]
    v1.start_campaign(id=campaign_id)
    numbers = [f"+1-212-555-{n:04d}" for n in range(120, 132)]
    dials = [{"clientToken": f"dial-{i}", "phoneNumber": number, "expirationTime": START + timedelta(hours=1),
              "attributes": {"orderId": str(i)}} for i, number in enumerate(numbers)]
    made = ids(v1.put_dial_request_batch(id=campaign_id, dialRequests=dials))

    advance(engine_server, seconds=600)
    assert ids(v1.put_dial_request_batch(id=campaign_id, dialRequests=dials)) == made  # the same requests again
    advance(engine_server, seconds=600)

    calls = records(engine_server, campaign_id, "contacts")
    assert sorted(c["request_id"] for c in calls) == sorted(made.values())  # each request placed once
    assert sorted(c["endpoint"] for c in calls) == [n.replace("-", "") for n in numbers]
    for call in calls:
        assert (call["channel"], call["state"], call["recipient"]) == ("telephony", "completed", call["endpoint"])
        assert call["disposition"] == DISPOSITIONS[call["outcome"]]
        assert datetime.fromisoformat(call["dispatched_at"]) == START
    assert {c["outcome"] for c in calls} & {"HUMAN_ANSWERED", "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP"}
    assert v1.get_campaign_state(id=campaign_id)["state"] == "Running"


def test_two_workers_take_each_request_exactly_once(tmp_path):
    urls = postgres_database("reachout_intake")
    url = next(urls)
    api = start_server(url, tmp_path, "--no-engine")
    try:
        world = World(api)
        campaign_id = event_campaign(world, SMS)
        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        made = {}
        for batch in range(4):
            made.update(ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
                sms_to(f"r{batch}-{i}", f"+1212555{batch * 25 + i:04d}", expires) for i in range(25)])))
        database = Database(database_url(url, tmp_path))
        start, taken = threading.Barrier(2), []

        def worker():
            start.wait()
            taken.append(intake.take_due(database, datetime.now(timezone.utc), batch=7))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with database.transaction() as conn:
            request_ids = list(conn.execute(select(contacts.c.request_id).where(contacts.c.campaign_id == campaign_id))
                               .scalars())
            statuses = set(conn.execute(select(outbound_requests.c.status)
                                        .where(outbound_requests.c.campaign_id == campaign_id)).scalars())
        database.dispose()
        assert sum(taken) == 100 and sorted(request_ids) == sorted(made.values())
        assert statuses == {"taken"}
    finally:
        assert api.stop() == 0
        next(urls, None)



def test_a_dispatch_interrupted_until_after_its_expiry_is_never_resumed(engine_server):
    """A worker reserves two contacts when their window opens at 14:00 and dies before handing them
    over; its leases end 20 s later. The contact whose request expired 10 s after 14:00 is dropped then,
    never sent; the other goes out."""
    world = World(engine_server)
    campaign_id = event_campaign(world, SMS, {"localTimeZoneConfig": {"defaultTimeZone": NEW_YORK},
                                              "sms": hours("T09:00", "T17:00")})
    opens = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    made = ids(world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[
        sms_to("short-lived", "+12125550121", opens + timedelta(seconds=10)),
        sms_to("long-lived", "+12125550122", opens + timedelta(hours=5))]))
    advance(engine_server, seconds=1)  # taken: both planned for 14:00
    database = Database(database_url(engine_server.db, engine_server.log.parent))
    with database.transaction() as conn:  # what the dead worker's step 1 left behind
        reserved = conn.execute(select(contacts).where(contacts.c.campaign_id == campaign_id)).all()
        assert {(c.state, c.due_at) for c in reserved} == {("planned", opens)}
        conn.execute(communications.insert(), [{"contact_id": c.id, "recipient": c.recipient, "campaign_id": campaign_id,
                                                "channel": "sms", "at": opens, "released": False} for c in reserved])
        conn.execute(contacts.update().where(contacts.c.campaign_id == campaign_id).values(
            state="dispatching", dispatched_at=opens, lease_owner="dead", lease_until=opens + timedelta(seconds=20)))

    advance(engine_server, seconds=10 * 3600)

    sent = {c["request_id"]: c for c in records(engine_server, campaign_id, "contacts")}
    late, fine = sent[made["short-lived"]], sent[made["long-lived"]]
    assert (late["state"], late["outcome"]) == ("dropped", None)
    assert late["reason"].endswith("passed before it could be sent (its dispatch was interrupted)")
    assert datetime.fromisoformat(late["completed_at"]) == opens + timedelta(seconds=20)  # when the lease ended
    assert (fine["state"], fine["outcome"]) == ("completed", "SMS_DELIVERED")
    with database.transaction() as conn:
        handed_over = set(conn.execute(select(sim_sends.c.idempotency_key)).scalars())
    database.dispose()
    assert fine["id"] in handed_over and late["id"] not in handed_over
