"""Amazon Connect agents: the store layer the dialer builds on (routable agents per queue, the
agent's activity and its legal moves, against a plain reference) on both backends; and queues,
routing profiles, users, agent statuses, PutUserStatus, GetCurrentUserData and GetCurrentMetricData
through real boto3 against a real `reachout serve`, with every refusal the model declares.

Every test works in instances of its own, so listings see only its own resources.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.agent import ACTIVITIES, check_activity_change
from reachout.domain.errors import DomainError, InvalidState, NotFound
from reachout.store import agents, connect_instances
from reachout.store.db import open_database

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
            agents.set_activity(conn, floor.instance_id, user_id, "OFFERED", f"c-{user_id}", T0 + timedelta(minutes=minute))
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


def test_default_statuses_are_made_once_with_the_same_ids(database):
    with database.transaction() as conn:
        floor = Floor(conn)
        agents.ensure_default_statuses(conn, floor.instance, T0 + timedelta(days=1))
        statuses = agents.list_statuses(conn, floor.instance_id, None, None, 10)
        assert [(s.name, s.type) for s in statuses] == [("Available", "ROUTABLE"), ("Offline", "OFFLINE")]
        assert statuses[0].id == floor.available.id
        assert statuses[0].arn == f"{floor.instance.arn}/agent-state/{floor.available.id}"
