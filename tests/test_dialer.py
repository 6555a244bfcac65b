"""Agent-assisted voice end to end on the virtual clock: boto3 sets up profiles, a segment, a Connect
instance with reattempt rules and agent-assisted campaigns (predictive, progressive, preview); a
simulated agent pool (POST /_reachout/agents/simulation) takes the calls the dialer connects, through
the same agent desk the HTTP API serves; the simulated carrier places the calls. What happened is
read back from the contact events (an EventBridge rule with an HTTP target), the contacts and the
abandon records (/_reachout/campaigns/{id}/contacts|abandons).
"""
from __future__ import annotations

import json
import urllib.error
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from reachout.channels.simulated import outcome_for
from reachout.domain.agent_call import CONNECT_WINDOW
from reachout.store import agents, connect_instances
from reachout.store.db import open_database
from tests.conftest import make_client
from tests.test_engine import START, World, advance, engine_server, internal, records  # noqa: F401 (fixture)
from tests.test_events import receiver  # noqa: F401 (fixture)
from tests.test_reattempts import connect_instance, rules_flow

REGION = "us-east-1"


class Floor:
    """A queue of the world's Connect instance, a voice routing profile on it, and users (Offline)."""

    def __init__(self, server, instance_id: str):
        self.database = open_database(server.db)
        self.instance_id = instance_id
        with self.database.transaction() as conn:
            self.instance = connect_instances.get_instance(conn, REGION, instance_id)
            agents.ensure_default_statuses(conn, self.instance, START)
            self.queue_id = str(uuid.uuid4())
            agents.insert_queue(conn, id=self.queue_id, region=REGION, instance_id=instance_id,
                                arn=f"{self.instance.arn}/queue/{self.queue_id}", name=f"q{self.queue_id[:6]}",
                                hours_of_operation_id="hours", status="ENABLED", created_at=START, updated_at=START)
            self.profile_id = str(uuid.uuid4())
            agents.insert_routing_profile(
                conn, [{"queue_id": self.queue_id, "channel": "VOICE", "manual": False, "priority": 1, "delay": 0}],
                id=self.profile_id, region=REGION, instance_id=instance_id,
                arn=f"{self.instance.arn}/routing-profile/{self.profile_id}", name=self.profile_id, description="d",
                default_outbound_queue_id=self.queue_id, media_concurrencies=[{"Channel": "VOICE", "Concurrency": 1}],
                created_at=START, updated_at=START)

    def users(self, count: int) -> list[str]:
        made = []
        with self.database.transaction() as conn:
            offline = agents.status_named(conn, self.instance_id, "Offline")
            for _ in range(count):
                user_id = str(uuid.uuid4())
                agents.insert_user(conn, offline, id=user_id, region=REGION, instance_id=self.instance_id,
                                   arn=f"{self.instance.arn}/agent/{user_id}", username=user_id,
                                   routing_profile_id=self.profile_id, security_profile_ids=["sp"], channel_configs={},
                                   created_at=START, updated_at=START)
                made.append(user_id)
        return made

    def close(self):
        self.database.dispose()


def telephony(queue_id: str, mode: dict, *, detect: bool = True, capacity: float = 1.0) -> dict:
    return {"telephony": {"capacity": capacity, "connectQueueId": queue_id, "outboundMode": mode,
                          "defaultOutboundConfig": {
                              "connectContactFlowId": "flow-agents", "connectSourcePhoneNumber": "+12065550100",
                              "answerMachineDetectionConfig": {"enableAnswerMachineDetection": detect},
                              "ringTimeout": 20}}}


def route_all(server, receiver) -> None:
    events = make_client(server.url, "events")
    connection = events.create_connection(Name=f"c{uuid.uuid4().hex[:6]}", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x", "ApiKeyValue": "k"}})
    destination = events.create_api_destination(Name=f"d{uuid.uuid4().hex[:6]}", HttpMethod="POST",
                                                ConnectionArn=connection["ConnectionArn"],
                                                InvocationEndpoint=receiver.url)
    events.put_rule(Name="all-contacts", EventPattern=json.dumps({"source": ["aws.connect"]}))
    events.put_targets(Rule="all-contacts", Targets=[{"Id": "hook", "Arn": destination["ApiDestinationArn"]}])


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
    instance = connect_instance(world)
    floor = Floor(engine_server, instance)
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
            assert contact["outcome"] == contact["disposition"] == "ABANDONED", contact
            abandon = abandons[contact["id"]]
            assert stamp(abandon["at"]) - answered_at == CONNECT_WINDOW
            ended = [e for e in flow_events if e["eventType"] == "DISCONNECTED"]
            assert ended[-1]["disposition"] == "ABANDONED" and "abandoned" in ended[-1]["reason"]
    assert live >= 20 and len(agent_of) >= 15
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
