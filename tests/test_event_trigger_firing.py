"""Event triggers firing, end to end on the virtual clock through boto3: PutProfileObject fires a trigger
linked by PutIntegration to a running event-triggered campaign, and the email reaches a real SMTP peer
(aiosmtpd) with the event's data rendered; every evaluation says whether it fired or exactly why not
(conditions, segment filter, the default 10-a-day limit, campaign state, expiry), on the bus and at
/_reachout/domains/{domain}/event-trigger-evaluations (what `reachout triggers explain` prints)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import uuid
from datetime import timedelta

import pytest

from tests.peers import Peers
from tests.support import (ACCOUNT, BIG, EMAIL, REGION, START, Server, World, advance, channels, event_campaign,
                           explain, hours, internal, link, make_client, order_type, records, subscribe, templates)


def order(world: World, email: str, total, first: str = "Ann") -> str:
    obj = {"OrderId": f"o-{uuid.uuid4().hex[:8]}", "Email": email, "FirstName": first, "Total": total}
    world.profiles.put_profile_object(DomainName=world.domain, ObjectTypeName="WebOrder", Object=json.dumps(obj))
    return obj["OrderId"]


def test_an_order_fires_the_trigger_and_the_email_renders_the_event(channel_server: Server, peers: Peers) -> None:
    world = World(channel_server)
    order_type(world)
    events_file = subscribe(channel_server)
    email_template, _ = templates(channel_server)
    kb_id = email_template.split("/")[-2]
    template = make_client(channel_server.url, "qconnect").create_message_template(
        knowledgeBaseId=kb_id, name="thanks", channelSubtype="EMAIL", content={"email": {
            "subject": "Order {{Attributes.OrderId}}",
            "body": {"plainText": {"content": "Thank you {{Attributes.Customer.FirstName}}: "
                                              "{{Attributes.Total}} EUR."}}}})["messageTemplate"]["messageTemplateArn"]
    campaign_id = event_campaign(world, channels(template, None), name="thanks")
    link(world, campaign_id)

    small = order(world, "ann@example.org", 20)
    big = order(world, "ann@example.org", 250.5)
    advance(channel_server, seconds=1)

    [got] = peers.mailbox.received
    assert got["rcpt_tos"] == ["ann@example.org"]
    message = peers.mailbox.parsed()
    assert message["Subject"] == f"Order {big}"
    assert message.get_content() == "Thank you Ann: 250.5 EUR.\r\n"
    [contact] = records(channel_server, campaign_id, "contacts")
    assert (contact["state"], contact["disposition"]) == ("completed", "DELIVERED")

    first, second = explain(channel_server, world.domain, trigger="big")
    assert (first["object_key"], first["fired"], first["request_id"]) == (small, False, None)
    assert "conditions not met" in first["reason"] and "FieldName Total 20 is not GREATER_THAN" in first["reason"]
    assert (second["object_key"], second["fired"], second["campaign_id"], second["request_status"]) == \
        (big, True, campaign_id, "taken")
    announced = [json.loads(line) for line in events_file.read_text().splitlines()]
    evaluated = [e["detail"] for e in announced if e["detail-type"] == "Reachout Event Trigger Evaluated"]
    # One event per object, each trigger's verdict in it.
    assert [(e["profileObjectUniqueKey"], e["firedEventTriggerNames"]) for e in evaluated] == [(small, []),
                                                                                             (big, ["big"])]
    assert [[(v["eventTriggerName"], v["fired"], v["campaignId"]) for v in e["evaluations"]] for e in evaluated] == \
        [[("big", False, None)], [("big", True, campaign_id)]]
    assert evaluated[1]["evaluations"][0]["requestId"] == second["request_id"]


def test_the_eleventh_event_of_a_day_does_not_fire_and_says_why(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id)
    for _ in range(11):
        order(world, "bo@example.org", 500)
    evaluations = explain(engine_server, world.domain)
    assert [e["fired"] for e in evaluations] == [True] * 10 + [False]
    assert "invocation limit reached: 10 of 10 per profile in the last 1 day" in evaluations[-1]["reason"]
    assert evaluations[-1]["request_id"] is None

    advance(engine_server, seconds=1)
    assert len(records(engine_server, campaign_id, "contacts")) == 10
    advance(engine_server, seconds=24 * 3600)  # a day after the first: room again
    order(world, "bo@example.org", 500)
    assert explain(engine_server, world.domain)[-1]["fired"] is True


def test_an_event_outside_the_segment_filter_does_not_fire_and_says_why(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    world.person("vip", EmailAddress="vip@example.org", FirstName="Vi")
    world.segment("vip")
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, SegmentFilter="seg_vip")
    order(world, "vip@example.org", 300)
    order(world, "nobody@example.org", 300)
    inside, outside = explain(engine_server, world.domain)
    assert inside["fired"] is True, inside["reason"]
    assert outside["fired"] is False and "is not in segment filter seg_vip" in outside["reason"]
    advance(engine_server, seconds=1)
    assert [c["endpoint"] for c in records(engine_server, campaign_id, "contacts")] == ["vip@example.org"]


def test_a_campaign_not_running_gets_nothing_and_the_reason_is_recorded(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id)
    world.campaigns.pause_campaign(id=campaign_id)
    advance(engine_server, seconds=1)
    order(world, "cy@example.org", 300)
    [evaluation] = explain(engine_server, world.domain)
    assert evaluation["fired"] is False and f"campaign {campaign_id} is Paused, not Running" in evaluation["reason"]
    world.campaigns.resume_campaign(id=campaign_id)
    advance(engine_server, seconds=3600)
    assert records(engine_server, campaign_id, "contacts") == []
    # Nothing was counted against the profile's limit either: the next event fires.
    order(world, "cy@example.org", 300)
    assert explain(engine_server, world.domain)[-1]["fired"] is True


def test_a_firing_past_its_expiration_is_recorded_expired_and_never_sent(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    # The window opens at 09:00 UTC, three hours after START; the event expires after 10 minutes.
    campaign_id = world.campaigns.create_campaign(
        name="late", connectInstanceId=world.instance, channelSubtypeConfig=EMAIL,
        communicationTimeConfig={"localTimeZoneConfig": {"defaultTimeZone": "UTC"}, "email": hours("T09:00", "T17:00")},
        source={"eventTrigger": {"customerProfilesDomainArn":
                                 f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{world.domain}"}})["id"]
    world.campaigns.start_campaign(id=campaign_id)
    advance(engine_server, seconds=1)
    link(world, campaign_id, EventTriggerLimits={"EventExpiration": 600_000})
    order(world, "dee@example.org", 300)
    advance(engine_server, seconds=6 * 3600)
    [evaluation] = explain(engine_server, world.domain)
    assert evaluation["fired"] is True and evaluation["reason"].endswith(
        f"expiring {(START + timedelta(seconds=1, minutes=10)).isoformat()}")
    [made] = evaluation["contacts"]  # the explanation follows the firing to its contact
    assert made["state"] == "dropped" and made["reason"].startswith("expired: its expirationTime")
    [contact] = records(engine_server, campaign_id, "contacts")
    assert (contact["state"], contact["dispatched_at"]) == ("dropped", None)
    assert contact["reason"].startswith("expired: its expirationTime")
    assert any(s["reason"].startswith("expired") for s in records(engine_server, campaign_id, "suppressions"))


def test_imported_objects_are_evaluated_and_explained_on_the_command_line(engine_server: Server, tmp_path) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id)
    rows = tmp_path / "orders.jsonl"
    rows.write_text("\n".join(json.dumps({"OrderId": f"imp-{n}", "Email": "eve@example.org", "Total": total})
                              for n, total in enumerate([50, 900])) + "\n")
    imported = subprocess.run([sys.executable, "-m", "reachout", "profiles", "import", str(rows), "--domain",
                               world.domain, "--object-type", "WebOrder", "--db", engine_server.db],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    small, big = explain(engine_server, world.domain)
    assert (small["object_key"], small["fired"], big["object_key"], big["fired"]) == ("imp-0", False, "imp-1", True)

    explained = subprocess.run([sys.executable, "-m", "reachout", "triggers", "explain", "--domain", world.domain,
                                "--db", engine_server.db], capture_output=True, text=True)
    assert explained.returncode == 0, explained.stderr
    assert "imp-0" in explained.stdout and "FieldName Total 50 is not GREATER_THAN" in explained.stdout
    unknown = subprocess.run([sys.executable, "-m", "reachout", "triggers", "explain", "--domain", "nope",
                              "--db", engine_server.db], capture_output=True, text=True)
    assert unknown.returncode == 2 and "Domain nope not found" in unknown.stderr


def test_concurrent_events_never_overshoot_a_profiles_limit(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, EventTriggerLimits={"Periods": [{"Unit": "HOURS", "Value": 1,
                                                              "MaxInvocationsPerProfile": 3}]})
    order(world, "fay@example.org", 10)  # makes the profile; does not fire
    clients = [make_client(engine_server.url, "customer-profiles") for _ in range(8)]

    def put(client) -> None:
        for _ in range(3):
            client.put_profile_object(DomainName=world.domain, ObjectTypeName="WebOrder", Object=json.dumps(
                {"OrderId": f"o-{uuid.uuid4().hex[:8]}", "Email": "fay@example.org", "Total": 999}))

    running = [threading.Thread(target=put, args=(c,)) for c in clients]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    fired = [e for e in explain(engine_server, world.domain) if e["fired"]]
    assert len(fired) == 3
    advance(engine_server, seconds=1)
    assert len(records(engine_server, campaign_id, "contacts")) == 3


def test_a_campaigns_firing_expires_within_15_minutes_and_unlinking_stops_it(engine_server: Server) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    now = START + timedelta(seconds=1)  # event_campaign moved the clock on by a second
    link(world, campaign_id, EventTriggerLimits={"EventExpiration": 3_600_000})  # an hour, capped for campaigns
    order(world, "gil@example.org", 300)
    assert explain(engine_server, world.domain)[-1]["reason"].endswith(
        f"expiring {(now + timedelta(minutes=15)).isoformat()}")

    arn = world.campaigns.describe_campaign(id=campaign_id)["campaign"]["arn"]
    world.profiles.delete_integration(DomainName=world.domain, Uri=arn)
    order(world, "gil@example.org", 300)
    last = explain(engine_server, world.domain)[-1]
    assert last["fired"] is False and "no integration links trigger big to a campaign" in last["reason"]


def test_the_evaluation_listing_names_an_unknown_domain(engine_server: Server) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        internal(engine_server, "GET", "/_reachout/domains/nope/event-trigger-evaluations")
    assert refused.value.code == 404
    world = World(engine_server)
    order_type(world)
    world.profiles.create_event_trigger(DomainName=world.domain, EventTriggerName="big", ObjectTypeName="WebOrder",
                                        EventTriggerConditions=BIG)
    order(world, "hal@example.org", 300)
    [evaluation] = explain(engine_server, world.domain, trigger="big")
    assert explain(engine_server, world.domain, trigger="other") == []
    assert explain(engine_server, world.domain, profile=evaluation["profile_id"]) == [evaluation]
    # A deleted domain takes its triggers, integrations and evaluations with it.
    world.profiles.delete_domain(DomainName=world.domain)
    world.profiles.create_domain(DomainName=world.domain, DefaultExpirationDays=365)
    assert explain(engine_server, world.domain) == []
    assert world.profiles.list_event_triggers(DomainName=world.domain)["Items"] == []
