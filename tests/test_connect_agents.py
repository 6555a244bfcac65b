"""Amazon Connect agents: the store layer the dialer builds on (routable agents per queue, the
agent's activity and its legal moves, against a plain reference) on both backends; and queues,
routing profiles, users, agent statuses, PutUserStatus, GetCurrentUserData and GetCurrentMetricData
through real boto3 against a real `reachout serve`, with every refusal the model declares.

Every test works in instances of its own, so listings see only its own resources.
"""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.agent import ACTIVITIES, MetricFilter, Seat, Waiting, check_activity_change, current_metrics
from reachout.domain.errors import DomainError, InvalidState, NotFound
from reachout.store import agents, connect_instances
from reachout.store.db import database_url, open_database
from tests.expect import aws_error
from tests.support import Center, internal

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


# --- the activity rules against a plain reference -------------------------------------------------
# Written out move by move, from the brief's description of an agent's day, not from the module's table.
LEGAL_MOVES = {("IDLE", "OFFERED"), ("IDLE", "CONNECTED"), ("OFFERED", "CONNECTED"), ("OFFERED", "IDLE"),
               ("CONNECTED", "ACW"), ("CONNECTED", "IDLE"), ("ACW", "IDLE")}


def reference_step(status_type, activity, contact, new_activity, new_contact):
    """(accepted, changed) by the plain rules."""
    if (new_activity == "IDLE") != (new_contact is None):
        return False, False
    if (activity, contact) == (new_activity, new_contact):
        return True, False
    if (activity, new_activity) not in LEGAL_MOVES:
        return False, False
    if activity == "IDLE" and status_type != "ROUTABLE":
        return False, False
    if activity != "IDLE" and new_activity != "IDLE" and contact != new_contact:
        return False, False
    return True, True


steps = st.lists(st.tuples(st.sampled_from(["ROUTABLE", "CUSTOM", "OFFLINE"]), st.sampled_from(ACTIVITIES),
                           st.sampled_from([None, "c1", "c2"])), max_size=30)


@given(steps)
@settings(max_examples=300, deadline=None)
def test_activity_moves_follow_the_plain_rules(walk):
    activity, contact = "IDLE", None
    for status_type, new_activity, new_contact in walk:
        accepted, changed = reference_step(status_type, activity, contact, new_activity, new_contact)
        try:
            result = check_activity_change(status_type, activity, contact, new_activity, new_contact)
        except DomainError:
            assert not accepted, (status_type, activity, contact, new_activity, new_contact)
            continue
        assert accepted and result == changed, (status_type, activity, contact, new_activity, new_contact)
        activity, contact = new_activity, new_contact


# --- the real-time metrics against a plain recount -----------------------------------------------------
QUEUES, PROFILES = ("q1", "q2", "q3"), ("p1", "p2")
people = st.lists(st.tuples(st.sampled_from(PROFILES), st.sampled_from(["ROUTABLE", "CUSTOM", "OFFLINE"]),
                            st.sampled_from(ACTIVITIES)), max_size=12)
profile_queues = st.fixed_dictionaries({p: st.lists(st.tuples(st.sampled_from(QUEUES),
                                                              st.sampled_from(["VOICE", "CHAT"])), unique=True,
                                                    max_size=4) for p in PROFILES})
queued = st.lists(st.tuples(st.sampled_from(QUEUES), st.integers(0, 300)), max_size=6)


@given(people, profile_queues, queued, st.lists(st.sampled_from(QUEUES), min_size=1, unique=True))
@settings(max_examples=300, deadline=None)
def test_metrics_per_queue_equal_a_plain_recount(crowd, routing, calls, asked):
    seats = [Seat(user_id=f"u{n}", routing_profile_id=profile, queue_id=queue, channel=channel,
                  concurrency=1 if channel == "VOICE" else 2, status_id=status, status_type=status, activity=activity)
             for n, (profile, status, activity) in enumerate(crowd) for queue, channel in routing[profile]]
    waiting = [Waiting(queue_id=queue, channel="VOICE", enqueued_at=T0 - timedelta(seconds=age))
               for queue, age in calls]
    results = current_metrics(seats, waiting, {p: {q for q, _ in routing[p]} for p in PROFILES}, ["QUEUE"],
                              MetricFilter(queues=frozenset(asked)), T0)
    got = {group["QUEUE"]: values for group, values in results}
    assert set(got) == set(asked)  # every queue asked for, and no other
    for queue in asked:
        members = [(status, activity, [c for q, c in routing[profile] if q == queue])
                   for profile, status, activity in crowd if any(q == queue for q, _ in routing[profile])]
        ages = [age for q, age in calls if q == queue]
        expected = {
            "AGENTS_ONLINE": sum(status != "OFFLINE" for status, _, _ in members),
            "AGENTS_AVAILABLE": sum(status == "ROUTABLE" and activity == "IDLE" for status, activity, _ in members),
            "AGENTS_ON_CONTACT": sum(activity in ("OFFERED", "CONNECTED") for _, activity, _ in members),
            "AGENTS_AFTER_CONTACT_WORK": sum(activity == "ACW" for _, activity, _ in members),
            "AGENTS_NON_PRODUCTIVE": sum(status == "CUSTOM" and activity == "IDLE" for status, activity, _ in members),
            "AGENTS_STAFFED": sum(status == "ROUTABLE" or (status == "CUSTOM" and activity != "IDLE")
                                  for status, activity, _ in members),
            "SLOTS_ACTIVE": sum(activity != "IDLE" and "VOICE" in channels for _, activity, channels in members),
            "SLOTS_AVAILABLE": sum(sum(1 if c == "VOICE" else 2 for c in channels)
                                   for status, activity, channels in members
                                   if status == "ROUTABLE" and activity == "IDLE"),
            "CONTACTS_IN_QUEUE": len(ages), "OLDEST_CONTACT_AGE": max(ages, default=0)}
        assert {name: got[queue][name] for name in expected} == expected, queue
        assert got[queue]["AGENTS_ON_CALL"] == expected["AGENTS_ON_CONTACT"]


# --- the store the dialer uses ------------------------------------------------------------------------
@pytest.fixture
def database(backend):
    database = open_database(backend)
    yield database
    database.dispose()


class Floor:
    """An instance with queues, routing profiles and users made straight in the store."""

    def __init__(self, conn):
        self.conn = conn
        self.instance_id = str(uuid.uuid4())
        self.instance = connect_instances.insert_instance(
            conn, id=self.instance_id, region="us-east-1",
            arn=f"arn:aws:connect:us-east-1:123456789012:instance/{self.instance_id}", alias=None,
            identity_management_type="CONNECT_MANAGED", directory_id=None, inbound_calls=True, outbound_calls=True,
            created_at=T0)
        agents.ensure_default_statuses(conn, self.instance, T0)
        self.available = agents.status_named(conn, self.instance_id, "Available")
        self.offline = agents.status_named(conn, self.instance_id, "Offline")

    def queue(self, name: str) -> str:
        queue_id = str(uuid.uuid4())
        agents.insert_queue(self.conn, id=queue_id, region="us-east-1", instance_id=self.instance_id,
                            arn=f"{self.instance.arn}/queue/{queue_id}", name=name, hours_of_operation_id="hours",
                            status="ENABLED", created_at=T0, updated_at=T0)
        return queue_id

    def profile(self, queues: list[tuple[str, str]]) -> str:
        profile_id = str(uuid.uuid4())
        agents.insert_routing_profile(
            self.conn, [{"queue_id": q, "channel": c, "manual": False, "priority": 1, "delay": 0} for q, c in queues],
            id=profile_id, region="us-east-1", instance_id=self.instance_id,
            arn=f"{self.instance.arn}/routing-profile/{profile_id}", name=profile_id, description="d",
            default_outbound_queue_id=queues[0][0],
            media_concurrencies=[{"Channel": "VOICE", "Concurrency": 1}, {"Channel": "CHAT", "Concurrency": 2}],
            created_at=T0, updated_at=T0)
        return profile_id

    def user(self, profile_id: str, at: datetime = T0) -> str:
        user_id = str(uuid.uuid4())
        agents.insert_user(self.conn, self.offline, id=user_id, region="us-east-1", instance_id=self.instance_id,
                           arn=f"{self.instance.arn}/agent/{user_id}", username=user_id, routing_profile_id=profile_id,
                           security_profile_ids=["sp"], channel_configs={}, created_at=at, updated_at=at)
        return user_id


def test_routable_agents_are_the_available_voice_agents_of_the_queue(database):
    with database.transaction() as conn:
        floor = Floor(conn)
        sales, support = floor.queue("sales"), floor.queue("support")
        voice_sales = floor.profile([(sales, "VOICE")])
        chat_sales = floor.profile([(support, "VOICE"), (sales, "CHAT")])
        first, second, offline, chatter = (floor.user(voice_sales), floor.user(voice_sales),
                                           floor.user(voice_sales), floor.user(chat_sales))
        for user_id, minute in ((second, 1), (first, 2), (chatter, 1)):
            agents.set_status(conn, floor.instance_id, user_id, floor.available, T0 + timedelta(minutes=minute))
        # idle since they were made, routable since they went Available: second first
        assert [a.user_id for a in agents.routable_agents(conn, floor.instance_id, sales)] == [second, first]
        for user_id, minute in ((first, 3), (second, 4)):
            at = T0 + timedelta(minutes=minute)
            agents.set_activity(conn, floor.instance_id, user_id, "OFFERED", f"c-{user_id}", at)
            agents.set_activity(conn, floor.instance_id, user_id, "IDLE", None, T0 + timedelta(minutes=minute))
        found = agents.routable_agents(conn, floor.instance_id, sales)
        assert [a.user_id for a in found] == [first, second]  # idle longest first
        assert found[0].activity == "IDLE" and found[0].contact_id is None
        assert found[0].status_since == T0 + timedelta(minutes=2)
        assert found[0].activity_since == T0 + timedelta(minutes=3)
        assert offline not in {a.user_id for a in found} and chatter not in {a.user_id for a in found}
        assert [a.user_id for a in agents.routable_agents(conn, floor.instance_id, support)] == [chatter]
        assert agents.queue(conn, floor.instance_id, sales).name == "sales"
        assert agents.queue(conn, floor.instance_id, str(uuid.uuid4())) is None


def test_set_activity_records_the_dialers_view_and_refuses_illegal_moves(database):
    with database.transaction() as conn:
        floor = Floor(conn)
        sales = floor.queue("sales")
        agent = floor.user(floor.profile([(sales, "VOICE")]))
        with pytest.raises(InvalidState):  # Offline takes no contacts
            agents.set_activity(conn, floor.instance_id, agent, "OFFERED", "c1", T0)
        agents.set_status(conn, floor.instance_id, agent, floor.available, T0)
        agents.set_activity(conn, floor.instance_id, agent, "OFFERED", "c1", T0 + timedelta(seconds=1), queue_id=sales)
        agents.set_activity(conn, floor.instance_id, agent, "CONNECTED", "c1", T0 + timedelta(seconds=2))
        agents.set_activity(conn, floor.instance_id, agent, "CONNECTED", "c1", T0 + timedelta(seconds=9))  # a retry
        state = agents.agent_state(conn, floor.instance_id, agent)
        assert (state.activity, state.contact_id, state.contact_queue_id) == ("CONNECTED", "c1", sales)
        assert state.activity_since == state.connected_at == T0 + timedelta(seconds=2)
        with pytest.raises(InvalidState):  # one contact at a time
            agents.set_activity(conn, floor.instance_id, agent, "CONNECTED", "c2", T0 + timedelta(seconds=3))
        with pytest.raises(InvalidState):
            agents.set_activity(conn, floor.instance_id, agent, "OFFERED", "c1", T0 + timedelta(seconds=3))
        agents.set_activity(conn, floor.instance_id, agent, "ACW", "c1", T0 + timedelta(seconds=30))
        assert [a.activity for a in agents.routable_agents(conn, floor.instance_id, sales)] == ["ACW"]
        agents.set_activity(conn, floor.instance_id, agent, "IDLE", None, T0 + timedelta(seconds=40))
        state = agents.agent_state(conn, floor.instance_id, agent)
        assert (state.activity, state.contact_id, state.contact_queue_id, state.connected_at) == ("IDLE", None, None,
                                                                                                  None)
        with pytest.raises(NotFound):
            agents.set_activity(conn, floor.instance_id, str(uuid.uuid4()), "IDLE", None, T0)


def test_a_status_set_on_a_contact_is_taken_up_when_the_agent_is_idle_again(database):
    with database.transaction() as conn:
        floor = Floor(conn)
        sales = floor.queue("sales")
        agent = floor.user(floor.profile([(sales, "VOICE")]))
        agents.set_status(conn, floor.instance_id, agent, floor.available, T0)
        agents.set_activity(conn, floor.instance_id, agent, "CONNECTED", "c1", T0 + timedelta(seconds=1))
        agents.set_status(conn, floor.instance_id, agent, floor.offline, T0 + timedelta(seconds=2))
        state = agents.agent_state(conn, floor.instance_id, agent)
        assert (state.status_name, state.status_since, state.next_status_id) == ("Available", T0, floor.offline.id)
        agents.set_activity(conn, floor.instance_id, agent, "ACW", "c1", T0 + timedelta(seconds=3))
        assert agents.agent_state(conn, floor.instance_id, agent).status_name == "Available"
        agents.set_activity(conn, floor.instance_id, agent, "IDLE", None, T0 + timedelta(seconds=4))
        state = agents.agent_state(conn, floor.instance_id, agent)
        assert (state.status_name, state.status_type, state.status_since, state.next_status_id) == (
            "Offline", "OFFLINE", T0 + timedelta(seconds=4), None)
        assert agents.routable_agents(conn, floor.instance_id, sales) == []
        # changing one's mind while busy: back to the status one has, no next status
        agents.set_status(conn, floor.instance_id, agent, floor.available, T0 + timedelta(seconds=5))
        agents.set_activity(conn, floor.instance_id, agent, "OFFERED", "c2", T0 + timedelta(seconds=6))
        agents.set_status(conn, floor.instance_id, agent, floor.offline, T0 + timedelta(seconds=7))
        agents.set_status(conn, floor.instance_id, agent, floor.available, T0 + timedelta(seconds=8))
        agents.set_activity(conn, floor.instance_id, agent, "IDLE", None, T0 + timedelta(seconds=9))
        state = agents.agent_state(conn, floor.instance_id, agent)
        assert (state.status_name, state.status_since) == ("Available", T0 + timedelta(seconds=5))


def test_default_statuses_are_made_once_with_the_same_ids(database):
    with database.transaction() as conn:
        floor = Floor(conn)
        agents.ensure_default_statuses(conn, floor.instance, T0 + timedelta(days=1))
        statuses = agents.list_statuses(conn, floor.instance_id, None, None, 10)
        assert [(s.name, s.type) for s in statuses] == [("Available", "ROUTABLE"), ("Offline", "OFFLINE")]
        assert statuses[0].id == floor.available.id
        assert statuses[0].arn == f"{floor.instance.arn}/agent-state/{floor.available.id}"


# --- the API through boto3 ---------------------------------------------------------------------------
REGION = "us-east-1"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FLOW = ('{"Version": "2019-10-30", "StartAction": "bye", "Actions": [{"Identifier": "bye", '
        '"Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}')


@pytest.fixture
def connect(client):
    return client("connect")


@pytest.fixture
def server_db(server):
    database = open_database(database_url(server.db, Path(".")))
    yield database
    database.dispose()


def test_queues_are_made_described_listed_and_switched_on_and_off(connect):
    center = Center(connect)
    number = f"+1202555{uuid.uuid4().int % 10000:04d}"
    while True:
        try:
            number_id = connect.claim_phone_number(InstanceId=center.id, PhoneNumber=number)["PhoneNumberId"]
            break
        except connect.exceptions.InvalidParameterException:
            number = f"+1202555{uuid.uuid4().int % 10000:04d}"
    flow_id = connect.create_contact_flow(InstanceId=center.id, Name="out", Type="CONTACT_FLOW",
                                          Content=FLOW)["ContactFlowId"]
    caller = {"OutboundCallerIdName": "Reachout", "OutboundCallerIdNumberId": number_id, "OutboundFlowId": flow_id}
    created = connect.create_queue(InstanceId=center.id, Name="sales", Description="outbound sales",
                                   HoursOfOperationId="hours", MaxContacts=40, OutboundCallerConfig=caller,
                                   Tags={"team": "sales"})
    assert created["QueueArn"] == f"{center.arn}/queue/{created['QueueId']}"
    queue = connect.describe_queue(InstanceId=center.arn, QueueId=created["QueueArn"])["Queue"]
    assert (queue["Name"], queue["QueueId"], queue["Description"], queue["MaxContacts"], queue["Status"]) == (
        "sales", created["QueueId"], "outbound sales", 40, "ENABLED")
    assert queue["OutboundCallerConfig"] == caller and queue["Tags"] == {"team": "sales"}
    assert queue["HoursOfOperationId"] == "hours" and queue["LastModifiedRegion"] == REGION

    others = [center.queue(f"q{i}") for i in range(3)]
    first = connect.list_queues(InstanceId=center.id, MaxResults=2)
    second = connect.list_queues(InstanceId=center.id, MaxResults=2, NextToken=first["NextToken"])
    assert [q["Id"] for q in first["QueueSummaryList"] + second["QueueSummaryList"]] == [created["QueueId"], *others]
    assert "NextToken" not in second and {q["QueueType"] for q in second["QueueSummaryList"]} == {"STANDARD"}
    assert connect.list_queues(InstanceId=center.id, QueueTypes=["AGENT"])["QueueSummaryList"] == []

    connect.update_queue_status(InstanceId=center.id, QueueId=created["QueueId"], Status="DISABLED")
    assert connect.describe_queue(InstanceId=center.id, QueueId=created["QueueId"])["Queue"]["Status"] == "DISABLED"


def test_queue_refusals(connect):
    center = Center(connect)
    center.queue("sales")
    with aws_error("DuplicateResourceException", "sales"):
        center.queue("sales")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.create_queue(InstanceId=UNKNOWN_ID, Name="x", HoursOfOperationId="hours")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        center.queue(OutboundCallerConfig={"OutboundCallerIdNumberId": UNKNOWN_ID})
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        center.queue(OutboundCallerConfig={"OutboundFlowId": UNKNOWN_ID})
    with aws_error("ResourceNotFoundException", "quick connect"):
        center.queue(QuickConnectIds=[UNKNOWN_ID])
    with aws_error("InvalidParameterException", "127"):
        center.queue("q" * 128)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.describe_queue(InstanceId=center.id, QueueId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.update_queue_status(InstanceId=center.id, QueueId=UNKNOWN_ID, Status="DISABLED")
    with aws_error("InvalidParameterException"):
        connect.update_queue_status(InstanceId=center.id, QueueId=UNKNOWN_ID, Status="PAUSED")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.list_queues(InstanceId=UNKNOWN_ID)
    with aws_error("InvalidParameterException", "nextToken"):
        connect.list_queues(InstanceId=center.id, NextToken="bogus")
    assert len(connect.list_queues(InstanceId=center.id)["QueueSummaryList"]) == 1  # nothing else was made
    other = Center(connect)
    with aws_error("ResourceNotFoundException"):  # queues belong to their instance
        connect.describe_queue(InstanceId=other.id, QueueId=center.queue())


def test_routing_profiles_hold_queues_per_channel(connect):
    center = Center(connect)
    sales, support, chat = center.queue("sales"), center.queue("support"), center.queue("chat")
    profile_id = center.profile({"VOICE": [sales, support], "CHAT": [chat]}, name="outbound", Tags={"k": "v"})
    user = center.user(profile_id)
    profile = connect.describe_routing_profile(InstanceId=center.id, RoutingProfileId=profile_id)["RoutingProfile"]
    assert profile["RoutingProfileArn"] == f"{center.arn}/routing-profile/{profile_id}"
    assert (profile["Name"], profile["DefaultOutboundQueueId"], profile["NumberOfAssociatedQueues"],
            profile["NumberOfAssociatedUsers"], profile["IsDefault"]) == ("outbound", sales, 3, 1, False)
    assert sorted(profile["AssociatedQueueIds"]) == sorted([sales, support, chat])
    assert profile["MediaConcurrencies"] == [{"Channel": "VOICE", "Concurrency": 1},
                                             {"Channel": "CHAT", "Concurrency": 3}]
    assert profile["Tags"] == {"k": "v"} and profile["AgentAvailabilityTimer"] == "TIME_SINCE_LAST_ACTIVITY"
    assert user

    first = connect.list_routing_profile_queues(InstanceId=center.id, RoutingProfileId=profile_id, MaxResults=2)
    rest = connect.list_routing_profile_queues(InstanceId=center.id, RoutingProfileId=profile_id,
                                               NextToken=first["NextToken"])
    listed = first["RoutingProfileQueueConfigSummaryList"] + rest["RoutingProfileQueueConfigSummaryList"]
    assert [(q["QueueId"], q["QueueName"], q["Channel"], q["Priority"], q["Delay"]) for q in listed] == [
        (sales, "sales", "VOICE", 1, 0), (support, "support", "VOICE", 1, 0), (chat, "chat", "CHAT", 1, 0)]
    assert listed[0]["QueueArn"] == f"{center.arn}/queue/{sales}"

    other = center.profile({"VOICE": [sales]})
    summaries = connect.list_routing_profiles(InstanceId=center.id)["RoutingProfileSummaryList"]
    assert [(p["Id"], p["Name"]) for p in summaries][0] == (profile_id, "outbound")
    assert [p["Id"] for p in summaries] == [profile_id, other]


def test_routing_profile_refusals(connect):
    center = Center(connect)
    sales = center.queue()
    center.profile({"VOICE": [sales]}, name="taken")
    with aws_error("DuplicateResourceException", "taken"):
        center.profile({"VOICE": [sales]}, name="taken")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        center.profile({"VOICE": [UNKNOWN_ID]})
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        center.profile({"VOICE": [sales, UNKNOWN_ID]})
    with aws_error("InvalidParameterException", "EMAIL"):
        center.profile({"VOICE": [sales], "EMAIL": [sales]})
    with aws_error("InvalidParameterException", "twice"):
        center.profile({"VOICE": [sales, sales]})
    with aws_error("InvalidParameterException", "VOICE concurrency"):
        center.profile({"VOICE": [sales]}, MediaConcurrencies=[{"Channel": "VOICE", "Concurrency": 2}])
    with aws_error("InvalidParameterException", "more than once"):
        center.profile({"VOICE": [sales]}, MediaConcurrencies=[{"Channel": "VOICE", "Concurrency": 1},
                                                               {"Channel": "VOICE", "Concurrency": 1}])
    with aws_error("InvalidParameterException"):  # the model's limit: at most 10 queue configs
        center.profile({"VOICE": [center.queue() for _ in range(11)]})
    for operation in (connect.describe_routing_profile, connect.list_routing_profile_queues):
        with aws_error("ResourceNotFoundException", UNKNOWN_ID):
            operation(InstanceId=center.id, RoutingProfileId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException"):
        connect.list_routing_profiles(InstanceId=UNKNOWN_ID)
    assert len(connect.list_routing_profiles(InstanceId=center.id)["RoutingProfileSummaryList"]) == 1


def test_users_are_made_described_listed_and_deleted(connect):
    center = Center(connect)
    profile_id = center.profile({"VOICE": [center.queue()]})
    user_id = center.user(profile_id, username="ada", Tags={"shift": "early"},
                          IdentityInfo={"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"},
                          AfterContactWorkConfigs=[{"Channel": "VOICE",
                                                    "AfterContactWorkConfig": {"AfterContactWorkTimeLimit": 20}}])
    user = connect.describe_user(InstanceId=center.id, UserId=user_id)["User"]
    assert user["Arn"] == f"{center.arn}/agent/{user_id}"
    assert (user["Username"], user["RoutingProfileId"], user["SecurityProfileIds"]) == ("ada", profile_id, ["agent"])
    assert user["IdentityInfo"] == {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"}
    assert user["PhoneConfig"] == {"PhoneType": "SOFT_PHONE", "AutoAccept": True, "AfterContactWorkTimeLimit": 30}
    assert user["AfterContactWorkConfigs"][0]["AfterContactWorkConfig"] == {"AfterContactWorkTimeLimit": 20}
    assert user["Tags"] == {"shift": "early"} and "Password" not in user

    grace = center.user(profile_id, username="grace")
    first = connect.list_users(InstanceId=center.id, MaxResults=1)
    second = connect.list_users(InstanceId=center.id, NextToken=first["NextToken"])
    assert [u["Username"] for u in first["UserSummaryList"] + second["UserSummaryList"]] == ["ada", "grace"]

    connect.delete_user(InstanceId=center.id, UserId=user_id)
    assert [u["Id"] for u in connect.list_users(InstanceId=center.id)["UserSummaryList"]] == [grace]
    with aws_error("ResourceNotFoundException", user_id):
        connect.describe_user(InstanceId=center.id, UserId=user_id)
    center.user(profile_id, username="ada")  # the name is free again


def test_user_refusals(connect, server_db):
    center = Center(connect)
    profile_id = center.profile({"VOICE": [center.queue()]})
    center.user(profile_id, username="ada")
    with aws_error("DuplicateResourceException", "ada"):
        center.user(profile_id, username="ada")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        center.user(UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", "hierarchy"):
        center.user(profile_id, HierarchyGroupId=UNKNOWN_ID)
    with aws_error("InvalidParameterException", "Password"):
        connect.create_user(Username="nopass", SecurityProfileIds=["a"], RoutingProfileId=profile_id,
                            InstanceId=center.id, IdentityInfo={"FirstName": "A", "LastName": "B"})
    with aws_error("InvalidParameterException", "Password"):  # the model's pattern: no upper-case letter
        center.user(profile_id, Password="secret123!")
    with aws_error("InvalidParameterException", "FirstName"):
        center.user(profile_id, IdentityInfo={"Email": "a@example.com"})
    with aws_error("InvalidParameterException", "DeskPhoneNumber"):
        center.user(profile_id, PhoneConfig={"PhoneType": "DESK_PHONE"})
    with aws_error("InvalidParameterException", "more than once"):
        center.user(profile_id, AutoAcceptConfigs=[{"Channel": "VOICE", "AutoAccept": True},
                                                   {"Channel": "VOICE", "AutoAccept": False}])
    with aws_error("InvalidParameterException", "100"):
        center.user(profile_id, username="u" * 101)
    with aws_error("InvalidParameterException", "20"):
        center.user(profile_id, username="u" * 21)
    with aws_error("InvalidParameterException", "email"):
        center.user(profile_id, username="ada@example")
    center.user(profile_id, username="bo@example.com")
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.delete_user(InstanceId=center.id, UserId=UNKNOWN_ID)
    saml = Center(connect, IdentityManagementType="SAML")
    saml_profile = saml.profile({"VOICE": [saml.queue()]})
    with aws_error("InvalidParameterException", "CONNECT_MANAGED"):
        saml.user(saml_profile)
    with aws_error("InvalidParameterException", "SAML"):
        connect.create_user(Username="sam smith", SecurityProfileIds=["a"], RoutingProfileId=saml_profile,
                            InstanceId=saml.id, IdentityInfo={"FirstName": "S", "LastName": "M"})
    saml_user = connect.create_user(Username="sam.smith-the_first@example.com.au", SecurityProfileIds=["a"],
                                    RoutingProfileId=saml_profile,
                                    InstanceId=saml.id, IdentityInfo={"FirstName": "S", "LastName": "M"})["UserId"]
    assert connect.describe_user(InstanceId=saml.id, UserId=saml_user)["User"]["Username"] == \
        "sam.smith-the_first@example.com.au"
    assert [u["Username"] for u in connect.list_users(InstanceId=center.id)["UserSummaryList"]] == ["ada",
                                                                                                    "bo@example.com"]

    # an agent on a contact is not deleted from under the dialer
    busy = center.user(profile_id)
    center.available(busy)
    with server_db.transaction() as conn:
        agents.set_activity(conn, center.id, busy, "CONNECTED", "call-1", datetime.now(timezone.utc))
    with aws_error("InvalidParameterException", "call-1"):
        connect.delete_user(InstanceId=center.id, UserId=busy)
    assert connect.describe_user(InstanceId=center.id, UserId=busy)["User"]["Id"] == busy


def test_agent_statuses_default_custom_and_put_user_status(connect, server_db):
    center = Center(connect)
    listed = connect.list_agent_statuses(InstanceId=center.id)["AgentStatusSummaryList"]
    assert [(s["Name"], s["Type"]) for s in listed] == [("Available", "ROUTABLE"), ("Offline", "OFFLINE")]
    assert listed[0]["Arn"] == f"{center.arn}/agent-state/{listed[0]['Id']}"
    created = connect.create_agent_status(InstanceId=center.id, Name="Lunch", Description="away", State="ENABLED",
                                          DisplayOrder=3, Tags={"k": "v"})
    status = connect.describe_agent_status(InstanceId=center.id, AgentStatusId=created["AgentStatusId"])["AgentStatus"]
    assert (status["AgentStatusARN"], status["Name"], status["Type"], status["State"], status["DisplayOrder"],
            status["Description"], status["Tags"]) == (created["AgentStatusARN"], "Lunch", "CUSTOM", "ENABLED", 3,
                                                       "away", {"k": "v"})
    assert [s["Name"] for s in connect.list_agent_statuses(InstanceId=center.id, AgentStatusTypes=["CUSTOM", "OFFLINE"])
            ["AgentStatusSummaryList"]] == ["Offline", "Lunch"]
    page = connect.list_agent_statuses(InstanceId=center.id, MaxResults=2)
    assert [s["Name"] for s in connect.list_agent_statuses(InstanceId=center.id, NextToken=page["NextToken"])
            ["AgentStatusSummaryList"]] == ["Lunch"]

    queue = center.queue()
    user = center.user(center.profile({"VOICE": [queue]}))
    with server_db.transaction() as conn:  # a new user is Offline
        assert agents.agent_state(conn, center.id, user).status_name == "Offline"
        assert agents.routable_agents(conn, center.id, queue) == []
    center.available(user)
    with server_db.transaction() as conn:
        assert [a.user_id for a in agents.routable_agents(conn, center.id, queue)] == [user]
    connect.put_user_status(InstanceId=center.id, UserId=user, AgentStatusId=created["AgentStatusARN"])
    with server_db.transaction() as conn:
        state = agents.agent_state(conn, center.id, user)
        assert (state.status_name, state.status_type) == ("Lunch", "CUSTOM")
        assert agents.routable_agents(conn, center.id, queue) == []


def test_agent_status_refusals(connect):
    center = Center(connect)
    user = center.user(center.profile({"VOICE": [center.queue()]}))
    for name in ("Available", "Offline"):
        with aws_error("DuplicateResourceException", name):
            connect.create_agent_status(InstanceId=center.id, Name=name, State="ENABLED")
    disabled = connect.create_agent_status(InstanceId=center.id, Name="Old", State="DISABLED")["AgentStatusId"]
    with aws_error("InvalidParameterException", "DISABLED"):
        connect.put_user_status(InstanceId=center.id, UserId=user, AgentStatusId=disabled)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.put_user_status(InstanceId=center.id, UserId=user, AgentStatusId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.put_user_status(InstanceId=center.id, UserId=UNKNOWN_ID, AgentStatusId=center.status["Available"])
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.describe_agent_status(InstanceId=center.id, AgentStatusId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.list_agent_statuses(InstanceId=UNKNOWN_ID)
    with aws_error("InvalidParameterException", "50"):
        connect.create_agent_status(InstanceId=center.id, Name="x", State="ENABLED", DisplayOrder=51)
    for n in range(47):  # 2 defaults + Old + 47 = Connect's 50 per instance
        connect.create_agent_status(InstanceId=center.id, Name=f"s{n}", State="ENABLED")
    with aws_error("LimitExceededException", "50"):
        connect.create_agent_status(InstanceId=center.id, Name="one too many", State="ENABLED")
    assert len(connect.list_agent_statuses(InstanceId=center.id)["AgentStatusSummaryList"]) == 50


class Floorplan:
    """Two queues, two routing profiles and agents in every state, with two calls waiting in sales:
        A: VOICE sales, CHAT support    a1 Available idle, a2 on call c2, a3 in ACW of c3, lunch, off
        B: VOICE support                b1 Available, offered c4 from support
    """

    def __init__(self, connect, server, server_db):
        self.connect = connect
        center = self.center = Center(connect)
        self.sales, self.support = center.queue("sales"), center.queue("support")
        self.a = center.profile({"VOICE": [self.sales], "CHAT": [self.support]}, name="A")
        self.b = center.profile({"VOICE": [self.support]}, name="B")
        self.a1, self.a2, self.a3, self.lunch, self.off = (center.user(self.a, username=n)
                                                           for n in ("a1", "a2", "a3", "lunch", "off"))
        self.b1 = center.user(self.b, username="b1")
        center.available(self.a1, self.a2, self.a3, self.b1, self.lunch)
        self.lunch_status = connect.create_agent_status(InstanceId=center.id, Name="Lunch", State="ENABLED")
        connect.put_user_status(InstanceId=center.id, UserId=self.lunch,
                                AgentStatusId=self.lunch_status["AgentStatusId"])
        self.now = datetime.fromisoformat(internal(server, "GET", "/_reachout/clock")["now"])
        with server_db.transaction() as conn:
            at = self.now - timedelta(seconds=60)
            agents.set_activity(conn, center.id, self.a2, "OFFERED", "c2", at, queue_id=self.sales)
            agents.set_activity(conn, center.id, self.a2, "CONNECTED", "c2", at + timedelta(seconds=5))
            agents.set_activity(conn, center.id, self.a3, "CONNECTED", "c3", at, queue_id=self.sales)
            agents.set_activity(conn, center.id, self.a3, "ACW", "c3", at + timedelta(seconds=20))
            agents.set_activity(conn, center.id, self.b1, "OFFERED", "c4", at, queue_id=self.support)
            agents.enqueue_contact(conn, center.id, self.sales, "w1", self.now - timedelta(seconds=30))
            agents.enqueue_contact(conn, center.id, self.sales, "w2", self.now - timedelta(seconds=10))
            agents.enqueue_contact(conn, center.id, self.sales, "w2", self.now)  # again: no change
            agents.enqueue_contact(conn, center.id, self.sales, "gone", self.now - timedelta(seconds=50))
            agents.dequeue_contact(conn, center.id, "gone")

    def metrics(self, *names: str, **request) -> list[tuple[dict, dict]]:
        """(Dimensions, {metric: value}) per result."""
        answer = self.connect.get_current_metric_data(
            InstanceId=self.center.id, CurrentMetrics=[{"Name": n, "Unit": "SECONDS" if n == "OLDEST_CONTACT_AGE"
                                                        else "COUNT"} for n in names], **request)
        assert answer["DataSnapshotTime"] == self.now
        return [(r.get("Dimensions", {}), {c["Metric"]["Name"]: c["Value"] for c in r["Collections"]})
                for r in answer["MetricResults"]]


@pytest.fixture
def floor(connect, server, server_db):
    return Floorplan(connect, server, server_db)


AGENT_METRICS = ("AGENTS_ONLINE", "AGENTS_AVAILABLE", "AGENTS_ON_CONTACT", "AGENTS_ON_CALL",
                 "AGENTS_AFTER_CONTACT_WORK",
                 "AGENTS_NON_PRODUCTIVE", "AGENTS_STAFFED", "AGENTS_ERROR", "SLOTS_ACTIVE", "SLOTS_AVAILABLE")


def test_current_metrics_count_agents_by_status_and_activity(floor):
    (dimensions, sales), = floor.metrics(*AGENT_METRICS, "CONTACTS_IN_QUEUE", "OLDEST_CONTACT_AGE",
                                         "CONTACTS_SCHEDULED", Filters={"Queues": [floor.sales]})
    assert dimensions == {}
    assert sales == {"AGENTS_ONLINE": 4, "AGENTS_AVAILABLE": 1, "AGENTS_ON_CONTACT": 1, "AGENTS_ON_CALL": 1,
                     "AGENTS_AFTER_CONTACT_WORK": 1, "AGENTS_NON_PRODUCTIVE": 1, "AGENTS_STAFFED": 3,
                     "AGENTS_ERROR": 0, "SLOTS_ACTIVE": 2, "SLOTS_AVAILABLE": 1, "CONTACTS_IN_QUEUE": 2,
                     "OLDEST_CONTACT_AGE": 30000,  # ungrouped, the model says: milliseconds
                     "CONTACTS_SCHEDULED": 0}

    by_queue = floor.metrics("AGENTS_ONLINE", "AGENTS_ON_CONTACT", "AGENTS_AVAILABLE", "CONTACTS_IN_QUEUE",
                             "OLDEST_CONTACT_AGE", Filters={"Queues": [floor.sales, floor.support]},
                             Groupings=["QUEUE"])
    center = floor.center
    assert sorted((d["Queue"]["Id"], d["Queue"]["Arn"], m["AGENTS_ONLINE"], m["AGENTS_ON_CONTACT"],
                   m["AGENTS_AVAILABLE"], m["CONTACTS_IN_QUEUE"], m["OLDEST_CONTACT_AGE"])
                  for d, m in by_queue) == sorted([
        (floor.sales, f"{center.arn}/queue/{floor.sales}", 4, 1, 1, 2, 30),
        (floor.support, f"{center.arn}/queue/{floor.support}", 5, 2, 1, 0, 0)])  # A's agents take its chats

    voice = floor.metrics("AGENTS_ONLINE", "AGENTS_ON_CONTACT", Filters={"Queues": [floor.support],
                                                                        "Channels": ["VOICE"]},
                          Groupings=["QUEUE", "CHANNEL"])
    assert voice == [({"Queue": {"Id": floor.support, "Arn": f"{center.arn}/queue/{floor.support}"},
                       "Channel": "VOICE"}, {"AGENTS_ONLINE": 1, "AGENTS_ON_CONTACT": 1})]

    by_profile = floor.metrics("AGENTS_ONLINE", "CONTACTS_IN_QUEUE",
                               Filters={"RoutingProfiles": [floor.a, floor.b]}, Groupings=["ROUTING_PROFILE"])
    assert sorted((d["RoutingProfile"]["Id"], m["AGENTS_ONLINE"], m["CONTACTS_IN_QUEUE"]) for d, m in by_profile) == \
        sorted([(floor.a, 4, 2), (floor.b, 1, 0)])

    by_status = floor.metrics("AGENTS_ONLINE", Filters={"Queues": [floor.sales]}, Groupings=["QUEUE", "AGENT_STATUS"])
    assert sorted((d["AgentStatus"]["Id"], m["AGENTS_ONLINE"]) for d, m in by_status) == sorted([
        (center.status["Available"], 3), (floor.lunch_status["AgentStatusId"], 1), (center.status["Offline"], 0)])

    # sorted, one result a page
    request = dict(Filters={"Queues": [floor.sales, floor.support]}, Groupings=["QUEUE"],
                   SortCriteria=[{"SortByMetric": "AGENTS_ONLINE", "SortOrder": "DESCENDING"}], MaxResults=1)
    first = floor.connect.get_current_metric_data(InstanceId=center.id, CurrentMetrics=[{"Name": "AGENTS_ONLINE",
                                                                                         "Unit": "COUNT"}], **request)
    assert first["ApproximateTotalCount"] == 2
    second = floor.connect.get_current_metric_data(
        InstanceId=center.id, NextToken=first["NextToken"], CurrentMetrics=[{"Name": "AGENTS_ONLINE", "Unit": "COUNT"}],
        **request)
    assert [r["Dimensions"]["Queue"]["Id"] for r in first["MetricResults"] + second["MetricResults"]] == [
        floor.support, floor.sales]
    assert "NextToken" not in second
    built_in = floor.connect.get_current_metric_data(
        InstanceId=center.id, Filters={"Queues": [floor.sales]},
        CurrentMetrics=[{"MetricId": "arn:aws:connect:us-east-1:aws:metric/AGENTS_AVAILABLE", "Unit": "COUNT"}])
    assert built_in["MetricResults"][0]["Collections"] == [{"Metric": {"Name": "AGENTS_AVAILABLE", "Unit": "COUNT"},
                                                            "Value": 1.0}]


def test_current_metric_refusals(floor):
    connect, center = floor.connect, floor.center

    def ask(metrics=(("AGENTS_ONLINE", "COUNT"),), **request):
        request.setdefault("Filters", {"Queues": [floor.sales]})
        return connect.get_current_metric_data(InstanceId=center.id, CurrentMetrics=[
            {"Name": n, "Unit": u} for n, u in metrics], **request)

    with aws_error("InvalidParameterException", "Queues or RoutingProfiles"):
        ask(Filters={"Channels": ["VOICE"]})
    with aws_error("InvalidParameterException", "ESTIMATED_WAIT_TIME"):
        ask((("ESTIMATED_WAIT_TIME", "SECONDS"),))
    with aws_error("InvalidParameterException", "COUNT"):
        ask((("AGENTS_ONLINE", "SECONDS"),))
    with aws_error("InvalidParameterException", "EMAIL"):
        ask(Filters={"Queues": [floor.sales], "Channels": ["EMAIL"]})
    with aws_error("InvalidParameterException", "ROUTING_STEP_EXPRESSION"):
        ask(Groupings=["ROUTING_STEP_EXPRESSION"])
    with aws_error("InvalidParameterException", "RoutingStepExpressions"):
        ask(Filters={"Queues": [floor.sales], "RoutingStepExpressions": ["x"]})
    with aws_error("InvalidParameterException", "AGENT_STATUS"):
        ask(Groupings=["AGENT_STATUS"])
    with aws_error("InvalidParameterException", "AGENTS_ONLINE"):
        ask((("AGENTS_AVAILABLE", "COUNT"),), Groupings=["QUEUE", "AGENT_STATUS"])
    with aws_error("InvalidParameterException", "RoutingProfiles filter"):
        ask((("CONTACTS_IN_QUEUE", "COUNT"),), Groupings=["ROUTING_PROFILE"])
    with aws_error("InvalidParameterException", "more than once"):
        ask(Groupings=["QUEUE", "QUEUE"])
    with aws_error("InvalidParameterException", "SortByMetric"):
        ask(SortCriteria=[{"SortByMetric": "AGENTS_STAFFED", "SortOrder": "ASCENDING"}])
    with aws_error("InvalidParameterException", "custom"):
        connect.get_current_metric_data(InstanceId=center.id, Filters={"Queues": [floor.sales]}, CurrentMetrics=[
            {"MetricId": f"{center.arn}/metric/0f0e0d0c-0b0a-4090-8070-605040302010"}])
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        ask(Filters={"Queues": [UNKNOWN_ID]})
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        ask(Filters={"RoutingProfiles": [UNKNOWN_ID]})
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.get_current_metric_data(InstanceId=UNKNOWN_ID, Filters={"Queues": [floor.sales]},
                                        CurrentMetrics=[{"Name": "AGENTS_ONLINE", "Unit": "COUNT"}])
    with aws_error("InvalidParameterException", "nextToken"):
        ask(NextToken="bogus")
    with aws_error("InvalidParameterException"):  # the model: at most 100 queues
        ask(Filters={"Queues": [floor.sales] * 101})


def test_current_user_data_shows_each_agents_status_slots_and_contact(floor):
    connect, center = floor.connect, floor.center

    def users(**filters):
        answer = connect.get_current_user_data(InstanceId=center.id, Filters=filters)
        assert answer["ApproximateTotalCount"] == len(answer["UserDataList"])
        return {u["User"]["Id"]: u for u in answer["UserDataList"]}

    assert set(users(Queues=[floor.sales])) == {floor.a1, floor.a2, floor.a3, floor.lunch, floor.off}
    assert set(users(Queues=[floor.support])) == {floor.a1, floor.a2, floor.a3, floor.lunch, floor.off, floor.b1}
    assert set(users(RoutingProfiles=[floor.b])) == {floor.b1}
    assert set(users(RoutingProfiles=[floor.a], ContactFilter={"ContactStates": ["CONNECTED"]})) == {floor.a2}

    b1 = users(Agents=[f"{center.arn}/agent/{floor.b1}"])[floor.b1]
    assert b1["User"]["Arn"] == f"{center.arn}/agent/{floor.b1}"
    assert b1["RoutingProfile"] == {"Id": floor.b, "Arn": f"{center.arn}/routing-profile/{floor.b}"}
    assert b1["Status"]["StatusName"] == "Available"
    assert b1["Status"]["StatusArn"] == f"{center.arn}/agent-state/{center.status['Available']}"
    (contact,) = b1["Contacts"]
    assert (contact["ContactId"], contact["Channel"], contact["AgentContactState"], contact["Queue"]["Id"]) == (
        "c4", "VOICE", "CONNECTING", floor.support)
    assert contact["StateStartTimestamp"] == floor.now - timedelta(seconds=60)
    assert "ConnectedToAgentTimestamp" not in contact

    found = users(Agents=[floor.a1, floor.a2, floor.a3, floor.lunch])
    a2 = found[floor.a2]
    assert (a2["MaxSlotsByChannel"], a2["ActiveSlotsByChannel"], a2["AvailableSlotsByChannel"]) == (
        {"VOICE": 1, "CHAT": 3}, {"VOICE": 1, "CHAT": 0}, {"VOICE": 0, "CHAT": 0})
    assert a2["Contacts"][0]["ConnectedToAgentTimestamp"] == floor.now - timedelta(seconds=55)
    assert found[floor.a3]["Contacts"][0]["AgentContactState"] == "ENDED"  # after-contact work
    assert found[floor.a1]["AvailableSlotsByChannel"] == {"VOICE": 1, "CHAT": 3} and found[floor.a1]["Contacts"] == []
    assert found[floor.lunch]["Status"]["StatusName"] == "Lunch" and "NextStatus" not in found[floor.lunch]

    # on a call, a new status waits until the agent is idle again
    connect.put_user_status(InstanceId=center.id, UserId=floor.a2, AgentStatusId=floor.lunch_status["AgentStatusARN"])
    a2 = users(Agents=[floor.a2])[floor.a2]
    assert (a2["Status"]["StatusName"], a2["NextStatus"]) == ("Available", "Lunch")
    assert found[floor.lunch]["AvailableSlotsByChannel"] == {"VOICE": 0, "CHAT": 0}

    first = connect.get_current_user_data(InstanceId=center.id, Filters={"Queues": [floor.sales]}, MaxResults=3)
    rest = connect.get_current_user_data(InstanceId=center.id, Filters={"Queues": [floor.sales]},
                                         NextToken=first["NextToken"])
    assert [u["User"]["Id"] for u in first["UserDataList"] + rest["UserDataList"]] == [
        floor.a1, floor.a2, floor.a3, floor.lunch, floor.off]
    assert first["ApproximateTotalCount"] == 5


def test_current_user_data_refusals(floor):
    connect, center = floor.connect, floor.center
    with aws_error("InvalidParameterException", "Filters"):
        connect.get_current_user_data(InstanceId=center.id, Filters={"ContactFilter": {"ContactStates": ["CONNECTED"]}})
    with aws_error("ResourceNotFoundException", "hierarchy"):
        connect.get_current_user_data(InstanceId=center.id, Filters={"UserHierarchyGroups": [UNKNOWN_ID]})
    for filters in ({"Queues": [UNKNOWN_ID]}, {"RoutingProfiles": [UNKNOWN_ID]}, {"Agents": [UNKNOWN_ID]}):
        with aws_error("ResourceNotFoundException", UNKNOWN_ID):
            connect.get_current_user_data(InstanceId=center.id, Filters=filters)
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        connect.get_current_user_data(InstanceId=UNKNOWN_ID, Filters={"Queues": [floor.sales]})
    with aws_error("InvalidParameterException"):  # the model: at most 100 agents
        connect.get_current_user_data(InstanceId=center.id, Filters={"Agents": [floor.a1] * 101})


def test_concurrent_creations_keep_names_unique_and_quotas_exact(client):
    """Eight clients at once: one queue, one agent status per name; the rest refused as duplicates."""
    connect = client("connect")
    center = Center(connect)

    def make(kind: str, n: int) -> str:
        own = client("connect")
        try:
            if kind == "queue":
                own.create_queue(InstanceId=center.id, Name="same", HoursOfOperationId="hours")
            else:
                own.create_agent_status(InstanceId=center.id, Name="Break", State="ENABLED")
            return "made"
        except own.exceptions.DuplicateResourceException:
            return "duplicate"

    with ThreadPoolExecutor(8) as pool:
        for kind in ("queue", "status"):
            outcomes = sorted(pool.map(make, [kind] * 8, range(8)))
            assert outcomes == ["duplicate"] * 7 + ["made"], kind
    assert [q["Name"] for q in connect.list_queues(InstanceId=center.id)["QueueSummaryList"]] == ["same"]
    assert [s["Name"] for s in connect.list_agent_statuses(InstanceId=center.id)["AgentStatusSummaryList"]] == [
        "Available", "Offline", "Break"]
