"""Agent-assisted voice end to end on the virtual clock: boto3 sets up profiles, a segment, a Connect
instance with a queue, a routing profile and users, reattempt rules, and agent-assisted campaigns
(predictive, progressive, preview); a simulated agent pool (POST /_reachout/agents/simulation)
takes the calls the dialer connects, through the same agent desk the HTTP API serves; the simulated
carrier places the calls. What happened is read back from the contact events (an EventBridge rule
with an HTTP target), the contacts and the abandon records (/_reachout/campaigns/{id}/contacts|abandons).
"""
from __future__ import annotations

import json
import urllib.error
import uuid
from collections import defaultdict
from datetime import datetime, timedelta


from reachout.channels.simulated import outcome_for
from reachout.domain.agent_call import CONNECT_WINDOW
from tests.support import Center, World, advance, internal, make_client, records, route_to, rules_flow, start_server

REGION = "us-east-1"


class Floor:
    """The world's Connect instance (boto3), with a queue, a voice routing profile on it, and users
    (Offline, as Connect makes them)."""

    def __init__(self, world: World):
        self.center = Center(make_client(world.server.url, "connect"))
        self.instance_id = world.instance = self.center.id
        self.queue_id = self.center.queue()
        self.profile_id = self.center.profile({"VOICE": [self.queue_id]})

    def users(self, count: int) -> list[str]:
        return [self.center.user(self.profile_id) for _ in range(count)]

    def close(self):
        pass


def telephony(queue_id: str, mode: dict, *, detect: bool = True, capacity: float = 1.0) -> dict:
    return {"telephony": {"capacity": capacity, "connectQueueId": queue_id, "outboundMode": mode,
                          "defaultOutboundConfig": {
                              "connectContactFlowId": "flow-agents", "connectSourcePhoneNumber": "+12065550100",
                              "answerMachineDetectionConfig": {"enableAnswerMachineDetection": detect},
                              "ringTimeout": 20}}}


def route_all(server, receiver) -> None:
    route_to(server, receiver, {"source": ["aws.connect"]})


def simulate(server, instance_id: str, users: list[str], **extra) -> None:
    internal(server, "POST", "/_reachout/agents/simulation",
             {"instanceId": instance_id, "userIds": users, "seed": 7, "talkSeconds": {"mean": 40, "cv": 0.5},
              "acwSeconds": {"mean": 8, "cv": 0.5}, **extra})


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def by_contact(receiver) -> dict[str, list[dict]]:
    events = defaultdict(list)
    for event in receiver.received:
        if event["detail-type"] == "Amazon Connect Contact Event":
            events[event["detail"]["contactId"]].append(event["detail"])
    return events


def numbers(count: int, start: int = 100) -> list[str]:
    return [f"+1212556{n:04d}" for n in range(start, start + count)]


def test_a_predictive_campaign_with_simulated_agents_runs_to_completion_within_the_2_second_rule(engine_server,
                                                                                                 receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    users = floor.users(4)
    route_all(engine_server, receiver)
    people = numbers(60)
    for number in people:
        world.person("predictive", PhoneNumber=number)
    flow = rules_flow(engine_server, instance,
                      {"Dispositions": ["CALLBACK"], "Channel": "telephony", "Wait": "PT10M", "MaxAttempts": 2})
    simulate(engine_server, instance, users, dispositions={"CALLBACK": 1, "RESOLVED": 2})
    campaign_id = world.campaign(world.segment("predictive"),
                                 telephony(floor.queue_id, {"predictive": {"bandwidthAllocation": 1.0}}),
                                 connectCampaignFlowArn=flow)

    advance(engine_server, seconds=3 * 3600)

    assert world.state(campaign_id) == "Completed"
    contacts = records(engine_server, campaign_id, "contacts")
    abandons = {a["contact_id"]: a for a in records(engine_server, campaign_id, "abandons")}
    events = by_contact(receiver)
    agent_of = {}
    first_attempts = [c for c in contacts if c["attempt"] == 1]
    assert sorted(c["endpoint"] for c in first_attempts) == people
    live = 0
    for contact in contacts:
        assert contact["state"] in ("completed", "dropped"), contact
        flow_events = events[contact["id"]]
        answered = [e for e in flow_events if e["eventType"] == "CONNECTED_TO_SYSTEM"
                    and e.get("answeringMachineDetectionStatus") == "HUMAN_ANSWERED"]
        if not answered:
            continue
        live += 1
        answered_at = stamp(answered[0]["connectedToSystemTimestamp"])
        reached = [e for e in flow_events if e["eventType"] == "CONNECTED_TO_AGENT"]
        if reached:
            waited = stamp(reached[0]["agentInfo"]["connectedToAgentTimestamp"]) - answered_at
            assert timedelta(0) <= waited <= CONNECT_WINDOW, contact
            assert contact["id"] not in abandons
            agent_of[contact["id"]] = reached[0]["agentInfo"]["agentArn"]
            # the agent's disposition is the contact's outcome
            updated = [e for e in flow_events if e["eventType"] == "CONTACT_DATA_UPDATED"]
            assert len(updated) == 1 and updated[0]["disposition"] == contact["outcome"], (contact, flow_events)
            assert contact["outcome"] in ("CALLBACK", "RESOLVED")
        else:  # counted abandoned, announced, 2 s after the answer
            assert contact["outcome"] == contact["disposition"] == "ABANDONED", (contact, flow_events)
            abandon = abandons[contact["id"]]
            assert stamp(abandon["at"]) - answered_at == CONNECT_WINDOW
            ended = [e for e in flow_events if e["eventType"] == "DISCONNECTED"]
            assert ended[-1]["disposition"] == "ABANDONED" and "abandoned" in ended[-1]["reason"]
    # (how many go to agents depends on the pacer's start, which depends on the order the numbers
    # are dialed in: the contacts' ids; whatever it is, the rules above hold)
    assert live >= 20 and len(agent_of) >= 4
    assert set(abandons) <= {c["id"] for c in contacts}

    # No agent ever had two calls: each agent's calls, from connection to the end of its ACW, never overlap.
    spans = defaultdict(list)
    for contact_id, arn in agent_of.items():
        flow_events = events[contact_id]
        start = stamp(next(e for e in flow_events if e["eventType"] == "CONNECTED_TO_AGENT")
                      ["agentInfo"]["connectedToAgentTimestamp"])
        end = stamp(next(e for e in flow_events if e["eventType"] == "CONTACT_DATA_UPDATED")
                    ["agentInfo"]["afterContactWorkEndTimestamp"])
        spans[arn].append((start, end))
    assert len(spans) == 4
    for arn, intervals in spans.items():
        intervals.sort()
        for (_, end), (start, _) in zip(intervals, intervals[1:]):
            assert end <= start, (arn, intervals)

    # CALLBACK dispositions were reattempted (the campaign's rules), and only those.
    by_recipient = defaultdict(list)
    for contact in contacts:
        by_recipient[contact["recipient"]].append(contact)
    callbacks = [c for c in first_attempts if c["outcome"] == "CALLBACK"]
    assert callbacks
    for contact in first_attempts:
        later = [c for c in by_recipient[contact["recipient"]] if c["attempt"] == 2]
        assert len(later) == (1 if contact["outcome"] == "CALLBACK" else 0), contact
    floor.close()


def numbers_answering(wanted: str, count: int, start: int = 100) -> list[str]:
    """Numbers whose first call the simulated carrier (seed 0) answers with `wanted`."""
    found = (n for n in (f"+1303555{i:04d}" for i in range(start, 10000))
             if outcome_for(0, "telephony", n, 1) == wanted)
    return [next(found) for _ in range(count)]


def agent_call(server, instance_id: str, user_id: str, action: str = "", body: dict | None = None,
               expect: int = 200) -> dict:
    path = f"/_reachout/agents/{instance_id}/{user_id}" + (f"/{action}" if action else "")
    try:
        sent = body if body is not None else ({} if action else None)
        answer = internal(server, "POST" if action else "GET", path, sent)
        status = 200
    except urllib.error.HTTPError as error:
        answer, status = json.loads(error.read()), error.code
    assert status == expect, (action, status, answer)
    return answer


def test_progressive_keeps_one_call_per_idle_agent_times_the_bandwidth_allocation(engine_server, receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    users = floor.users(2)
    route_all(engine_server, receiver)
    for number in numbers(24, 300):
        world.person("progressive", PhoneNumber=number)
    simulate(engine_server, instance, users)
    campaign_id = world.campaign(world.segment("progressive"),
                                 telephony(floor.queue_id, {"progressive": {"bandwidthAllocation": 0.5}}))

    advance(engine_server, seconds=3 * 3600)

    assert world.state(campaign_id) == "Completed"
    contacts = records(engine_server, campaign_id, "contacts")
    assert len(contacts) == 24 and all(c["state"] == "completed" for c in contacts)
    assert records(engine_server, campaign_id, "abandons") == []  # never more calls than agents for them
    events = by_contact(receiver)
    spans = []
    for contact in contacts:
        flow_events = events[contact["id"]]
        reached = [e for e in flow_events if e["eventType"] == "CONNECTED_TO_AGENT"]
        if reached:
            end = next(e for e in flow_events if e["eventType"] == "CONTACT_DATA_UPDATED")
            spans.append((stamp(reached[0]["agentInfo"]["connectedToAgentTimestamp"]),
                          stamp(end["agentInfo"]["afterContactWorkEndTimestamp"]), reached[0]["agentInfo"]["agentArn"]))
    assert len(spans) >= 6
    # bandwidthAllocation 0.5 of 2 agents: one agent's worth of calls, so no two agents ever busy at once
    spans.sort()
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert end <= start, spans
    floor.close()


def test_a_live_call_without_an_agent_is_abandoned_after_2_seconds_and_its_number_blocked_for_72_hours(
        engine_server, receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    [user] = floor.users(1)
    route_all(engine_server, receiver)
    [number] = numbers_answering("HUMAN_ANSWERED", 1)
    world.person("abandon", PhoneNumber=number)
    agent_call(engine_server, instance, user, "status", {"status": "Available"})
    progressive = telephony(floor.queue_id, {"progressive": {"bandwidthAllocation": 1.0}})
    segment = world.segment("abandon")
    first = world.campaign(segment, progressive)
    advance(engine_server, seconds=1)
    [contact] = records(engine_server, first, "contacts")
    assert contact["state"] == "sent"  # dialed for the idle agent ...
    agent_call(engine_server, instance, user, "status", {"status": "Offline"})  # ... who leaves before the answer

    advance(engine_server, seconds=60)

    [contact] = records(engine_server, first, "contacts")
    assert contact["outcome"] == contact["disposition"] == "ABANDONED"
    [abandon] = records(engine_server, first, "abandons")
    flow_events = by_contact(receiver)[contact["id"]]
    answered = next(e for e in flow_events if e["eventType"] == "CONNECTED_TO_SYSTEM")
    assert stamp(abandon["at"]) - stamp(answered["connectedToSystemTimestamp"]) == CONNECT_WINDOW
    assert stamp(abandon["blocked_until"]) - stamp(abandon["at"]) == timedelta(hours=72)
    types = [e["eventType"] for e in flow_events]
    assert types == ["INITIATED", "CONNECTED_TO_SYSTEM", "QUEUED", "DISCONNECTED"], types
    queued, ended = flow_events[2], flow_events[3]
    assert queued["queueInfo"]["queueArn"].endswith(f"/queue/{floor.queue_id}")
    assert ended["disposition"] == "ABANDONED" and ended["answeringMachineDetectionStatus"] == "HUMAN_ANSWERED"
    assert "no agent was free within 2 s" in ended["reason"]

    # Another campaign with detection calls the number only once the 72 hours are over, and says why.
    agent_call(engine_server, instance, user, "status", {"status": "Available"})
    second = world.campaign(segment, progressive)
    advance(engine_server, seconds=30)
    [waiting] = records(engine_server, second, "contacts")
    assert waiting["state"] == "planned"
    # (the log's entry, and the contact still deferred, both with the reason)
    suppressions = records(engine_server, second, "suppressions")
    assert suppressions and {s["recipient"] for s in suppressions} == {waiting["recipient"]}
    suppression = suppressions[-1]
    assert all("abandoned within the last 72 hours" in s["reason"] for s in suppressions)
    assert abandon["blocked_until"].replace("Z", "+00:00")[:19] in suppression["reason"]
    advance(engine_server, to=stamp(abandon["blocked_until"]).isoformat())
    advance(engine_server, seconds=5)
    [dialed] = records(engine_server, second, "contacts")
    assert dialed["state"] != "planned"
    assert stamp(dialed["dispatched_at"]) >= stamp(abandon["blocked_until"])
    floor.close()


def test_preview_offers_accepts_discards_times_out_and_the_agent_api_drives_the_call(engine_server, receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    [user] = floor.users(1)
    route_all(engine_server, receiver)
    people = numbers_answering("HUMAN_ANSWERED", 3, 2000)
    for number in people:
        world.person("preview", PhoneNumber=number, FirstName="Ada")
    flow = rules_flow(engine_server, instance,
                      {"Dispositions": ["CALLBACK"], "Channel": "telephony", "Wait": "PT1H", "MaxAttempts": 2})
    campaign_id = world.campaign(world.segment("preview"), telephony(floor.queue_id, {"preview": {
        "bandwidthAllocation": 1.0, "timeoutConfig": {"durationInSeconds": 30}, "agentActions": ["DISCARD"]}}),
        connectCampaignFlowArn=flow)

    # the API's refusals
    assert "no user" in agent_call(engine_server, instance, str(uuid.uuid4()), expect=404)["message"]
    agent_call(engine_server, instance, user, "status", {"status": "Busy"}, expect=400)
    agent_call(engine_server, instance, user, "end-call", expect=409)
    agent_call(engine_server, instance, user, "accept", {}, expect=400)

    seen = agent_call(engine_server, instance, user)
    assert (seen["status"], seen["activity"]) == ("Offline", "IDLE") and "contact" not in seen
    advance(engine_server, seconds=2)
    assert "contact" not in agent_call(engine_server, instance, user)  # offline agents are offered nothing
    agent_call(engine_server, instance, user, "status", {"status": "Available"})
    advance(engine_server, seconds=1)

    # 1. offered: the profile, the actions the campaign allows; DISCARD drops it with the reason
    seen = agent_call(engine_server, instance, user)
    assert seen["activity"] == "OFFERED", seen
    offer = seen["contact"]
    assert offer["agentActions"] == ["DISCARD"] and offer["profile"]["FirstName"] == "Ada"
    assert offer["phoneNumber"] in people and offer["accepted"] is False
    agent_call(engine_server, instance, user, "discard", {"contactId": "not-this-one"}, expect=409)
    agent_call(engine_server, instance, user, "disposition", {"disposition": "CALLBACK"}, expect=409)
    assert agent_call(engine_server, instance, user, "discard", {"contactId": offer["contactId"]})["activity"] == "IDLE"
    discarded = next(c for c in records(engine_server, campaign_id, "contacts") if c["id"] == offer["contactId"])
    assert discarded["state"] == "dropped" and discarded["reason"] == "discarded by the agent in preview"

    # 2. accepted: dialed, answered live, connected to this agent; ended; disposition; ACW left
    advance(engine_server, seconds=1)
    offer = agent_call(engine_server, instance, user)["contact"]
    assert agent_call(engine_server, instance, user, "accept", {"contactId": offer["contactId"]})["contact"]["accepted"]
    for _ in range(40):
        advance(engine_server, seconds=1)
        if agent_call(engine_server, instance, user)["activity"] == "CONNECTED":
            break
    seen = agent_call(engine_server, instance, user)
    assert seen["activity"] == "CONNECTED" and seen["contact"]["contactId"] == offer["contactId"]
    agent_call(engine_server, instance, user, "leave-acw", expect=409)
    metrics = floor.center.connect.get_current_metric_data(
        InstanceId=instance, Filters={"Queues": [floor.queue_id], "Channels": ["VOICE"]},
        Groupings=["QUEUE"], CurrentMetrics=[{"Name": n, "Unit": "COUNT"} for n in (
            "AGENTS_ON_CONTACT", "AGENTS_AVAILABLE", "CONTACTS_IN_QUEUE")])["MetricResults"]
    assert {c["Metric"]["Name"]: c["Value"] for c in metrics[0]["Collections"]} == {
        "AGENTS_ON_CONTACT": 1, "AGENTS_AVAILABLE": 0, "CONTACTS_IN_QUEUE": 0}
    advance(engine_server, seconds=10)
    assert agent_call(engine_server, instance, user, "end-call")["activity"] == "ACW"
    advance(engine_server, seconds=1)
    agent_call(engine_server, instance, user, "disposition", {"disposition": "MAYBE"}, expect=400)
    agent_call(engine_server, instance, user, "disposition", {"disposition": "CALLBACK"})
    agent_call(engine_server, instance, user, "disposition", {"disposition": "SALE"}, expect=409)
    assert agent_call(engine_server, instance, user, "leave-acw")["activity"] == "IDLE"
    called = next(c for c in records(engine_server, campaign_id, "contacts") if c["id"] == offer["contactId"])
    assert called["state"] == "completed" and called["outcome"] == called["disposition"] == "CALLBACK"
    flow_events = by_contact(receiver)[called["id"]]
    reached = next(e for e in flow_events if e["eventType"] == "CONNECTED_TO_AGENT")
    assert reached["agentInfo"]["agentArn"].endswith(f"/agent/{user}")
    # the CALLBACK disposition made a reattempt, an hour on
    again = [c for c in records(engine_server, campaign_id, "contacts")
             if c["recipient"] == called["recipient"] and c["attempt"] == 2]
    assert len(again) == 1 and stamp(again[0]["due_at"]) - stamp(called["completed_at"]) == timedelta(hours=1)

    # 3. not acted on within timeoutConfig: dialed all the same, 30 s after the offer
    advance(engine_server, seconds=1)
    seen = agent_call(engine_server, instance, user)
    offer, offered_at = seen["contact"], stamp(seen["activitySince"])
    assert stamp(offer["dialsAt"]) - offered_at == timedelta(seconds=30)
    advance(engine_server, seconds=29)
    assert next(c for c in records(engine_server, campaign_id, "contacts") if c["id"] == offer["contactId"])[
        "state"] == "planned"
    advance(engine_server, seconds=2)
    timed_out = next(c for c in records(engine_server, campaign_id, "contacts") if c["id"] == offer["contactId"])
    assert timed_out["state"] == "sent" and stamp(timed_out["dispatched_at"]) - offered_at == timedelta(seconds=30)
    floor.close()


def test_campaigns_on_one_queue_share_its_agents_by_their_bandwidth_allocation(engine_server, receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    users = floor.users(2)
    route_all(engine_server, receiver)
    for number in numbers_answering("HUMAN_ANSWERED", 10, 5000):
        world.person("shared", PhoneNumber=number)
    simulate(engine_server, instance, users)
    segment = world.segment("shared")
    half = telephony(floor.queue_id, {"progressive": {"bandwidthAllocation": 0.5}}, capacity=0.5)
    campaign_ids = [world.campaign(segment, half), world.campaign(segment, half)]

    advance(engine_server, seconds=3 * 3600)

    events = by_contact(receiver)
    for campaign_id in campaign_ids:
        assert world.state(campaign_id) == "Completed"
        assert records(engine_server, campaign_id, "abandons") == []
        spans = []
        for contact in records(engine_server, campaign_id, "contacts"):
            flow_events = events[contact["id"]]
            reached = [e for e in flow_events if e["eventType"] == "CONNECTED_TO_AGENT"]
            if reached:
                end = next(e for e in flow_events if e["eventType"] == "CONTACT_DATA_UPDATED")
                spans.append((stamp(reached[0]["agentInfo"]["connectedToAgentTimestamp"]),
                              stamp(end["agentInfo"]["afterContactWorkEndTimestamp"])))
        assert len(spans) >= 3
        spans.sort()
        # each campaign keeps at most its half of the two agents busy
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start, spans


def test_the_agent_api_is_behind_the_admin_gate(tmp_path):
    """Where /_reachout/ needs credentials, so does the agent API: a bearer token or a SigV4 signature."""
    token = "agent-desk-token-0123456789"
    running = start_server(f"sqlite:///{tmp_path / 'gate.db'}", tmp_path, "--virtual-clock", "2026-01-05T08:00:00Z",
                           REACHOUT_REQUIRE_ADMIN_AUTH="1", REACHOUT_ADMIN_TOKEN=token)
    try:
        path = f"{running.url}/_reachout/agents/{uuid.uuid4()}/{uuid.uuid4()}"
        for headers, expected in (({}, 403), ({"Authorization": "Bearer wrong"}, 403),
                                  ({"Authorization": f"Bearer {token}"}, 404)):
            request = urllib.request.Request(path + "/status", method="POST", headers=headers,
                                             data=json.dumps({"status": "Available"}).encode())
            try:
                urllib.request.urlopen(request, timeout=30)
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            assert status == expected, headers
    finally:
        assert running.stop() == 0


def test_a_paused_campaigns_live_call_still_reaches_its_agent_and_nothing_new_is_dialed(engine_server, receiver):
    world = World(engine_server)
    floor = Floor(world)
    instance = floor.instance_id
    [user] = floor.users(1)
    route_all(engine_server, receiver)
    for number in numbers_answering("HUMAN_ANSWERED", 2, 7000):
        world.person("paused", PhoneNumber=number)
    agent_call(engine_server, instance, user, "status", {"status": "Available"})
    campaign_id = world.campaign(world.segment("paused"),
                                 telephony(floor.queue_id, {"progressive": {"bandwidthAllocation": 1.0}}))
    advance(engine_server, seconds=1)
    world.campaigns.pause_campaign(id=campaign_id)

    advance(engine_server, seconds=40)

    seen = agent_call(engine_server, instance, user)
    assert seen["activity"] == "CONNECTED", seen
    contacts = records(engine_server, campaign_id, "contacts")
    assert sorted(c["state"] for c in contacts) == ["planned", "sent"]  # the second waits for the resume
    assert seen["contact"]["contactId"] == next(c["id"] for c in contacts if c["state"] == "sent")
    assert records(engine_server, campaign_id, "abandons") == []
