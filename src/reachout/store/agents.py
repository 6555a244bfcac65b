"""Amazon Connect agents: queues, routing profiles and their queues, users, agent statuses, each
user's status and activity (agent_states), and contacts waiting in queues.

The dialer reads `routable_agents` and records what it has each agent doing with `set_activity`
(and the contacts waiting for an agent with `enqueue_contact` / `dequeue_contact`); the metrics
operations read the same rows.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, Row, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.domain.agent import (DEFAULT_STATUSES, IDLE, ROUTABLE, Agent, Seat, Waiting, check_activity_change)
from reachout.domain.errors import NotFound
from reachout.store.sequences import lock_counter, next_value
from reachout.store.tables import (agent_states, agent_statuses, connect_queues, connect_users, queued_contacts,
                                   routing_profile_queues, routing_profiles)

# The default statuses' ids are derived from the instance, so that every process making them makes
# the same rows.
_DEFAULT_STATUS_IDS = uuid.UUID("5f0c1c43-6f3e-4a53-9d0f-6a2b8f1d2c11")


def _dialect(conn: Connection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def _listing(conn: Connection, table, instance_id: str, after: int | None, limit: int, *where) -> list[Row]:
    """A page in creation order; `after` is the seq of the last row of the previous page."""
    query = select(table).where(table.c.instance_id == instance_id, *where)
    if after is not None:
        query = query.where(table.c.seq > after)
    return list(conn.execute(query.order_by(table.c.seq).limit(limit)))


def _count(conn: Connection, table, instance_id: str) -> int:
    return conn.execute(select(func.count()).select_from(table).where(table.c.instance_id == instance_id)).scalar_one()


def _by_id(conn: Connection, table, instance_id: str, row_id: str) -> Row | None:
    return conn.execute(select(table).where(table.c.instance_id == instance_id, table.c.id == row_id)).first()


def _name_taken(conn: Connection, column, instance_id: str, name: str) -> bool:
    table = column.table
    query = select(table.c.id).where(table.c.instance_id == instance_id, column == name)
    return conn.execute(query).first() is not None


def lock_instance(conn: Connection, instance_id: str) -> None:
    """Orders the transactions that make agent resources in one instance, so that names stay unique
    and quotas exact under concurrent calls (a unique-constraint violation would surface as a 500)."""
    lock_counter(conn, f"connect_agents:{instance_id}")


# --- queues -------------------------------------------------------------------------------------
def insert_queue(conn: Connection, **values) -> None:
    conn.execute(insert(connect_queues).values(**values, seq=next_value(conn, "connect_queues")))


def queue(conn: Connection, instance_id: str, queue_id: str) -> Row | None:
    """The queue, or None."""
    return _by_id(conn, connect_queues, instance_id, queue_id)


def queue_name_taken(conn: Connection, instance_id: str, name: str) -> bool:
    return _name_taken(conn, connect_queues.c.name, instance_id, name)


def count_queues(conn: Connection, instance_id: str) -> int:
    return _count(conn, connect_queues, instance_id)


def list_queues(conn: Connection, instance_id: str, after: int | None, limit: int) -> list[Row]:
    return _listing(conn, connect_queues, instance_id, after, limit)


def set_queue_status(conn: Connection, queue_id: str, status: str, at: datetime) -> None:
    conn.execute(update(connect_queues).where(connect_queues.c.id == queue_id).values(status=status, updated_at=at))


# --- routing profiles -----------------------------------------------------------------------------
def insert_routing_profile(conn: Connection, queue_configs: list[dict], **values) -> None:
    """`queue_configs`: {queue_id, channel, manual, priority, delay} in the order given."""
    conn.execute(insert(routing_profiles).values(**values, seq=next_value(conn, "routing_profiles")))
    if queue_configs:
        conn.execute(insert(routing_profile_queues),
                     [{**config, "routing_profile_id": values["id"], "seq": n}
                      for n, config in enumerate(queue_configs)])


def routing_profile(conn: Connection, instance_id: str, profile_id: str) -> Row | None:
    return _by_id(conn, routing_profiles, instance_id, profile_id)


def routing_profile_name_taken(conn: Connection, instance_id: str, name: str) -> bool:
    return _name_taken(conn, routing_profiles.c.name, instance_id, name)


def count_routing_profiles(conn: Connection, instance_id: str) -> int:
    return _count(conn, routing_profiles, instance_id)


def list_routing_profiles(conn: Connection, instance_id: str, after: int | None, limit: int) -> list[Row]:
    return _listing(conn, routing_profiles, instance_id, after, limit)


def profile_queues(conn: Connection, profile_id: str, *, manual: bool | None = False, after: int | None = None,
                   limit: int | None = None) -> list[Row]:
    """The profile's queue configs with each queue's name and ARN, in the order they were given."""
    query = (select(routing_profile_queues, connect_queues.c.name.label("queue_name"),
                    connect_queues.c.arn.label("queue_arn"))
             .join(connect_queues, connect_queues.c.id == routing_profile_queues.c.queue_id)
             .where(routing_profile_queues.c.routing_profile_id == profile_id))
    if manual is not None:
        query = query.where(routing_profile_queues.c.manual == manual)
    if after is not None:
        query = query.where(routing_profile_queues.c.seq > after)
    query = query.order_by(routing_profile_queues.c.seq)
    return list(conn.execute(query if limit is None else query.limit(limit)))


def count_profile_users(conn: Connection, profile_id: str) -> int:
    return conn.execute(select(func.count()).select_from(connect_users)
                        .where(connect_users.c.routing_profile_id == profile_id)).scalar_one()


# --- users ----------------------------------------------------------------------------------------
def insert_user(conn: Connection, offline: Row, **values) -> None:
    """A new user, Offline (as Connect makes them) and IDLE."""
    conn.execute(insert(connect_users).values(**values, seq=next_value(conn, "connect_users")))
    at = values["created_at"]
    conn.execute(insert(agent_states).values(
        instance_id=values["instance_id"], user_id=values["id"], status_id=offline.id, status_name=offline.name,
        status_type=offline.type, status_since=at, activity=IDLE, activity_since=at))


def user(conn: Connection, instance_id: str, user_id: str) -> Row | None:
    return _by_id(conn, connect_users, instance_id, user_id)


def username_taken(conn: Connection, instance_id: str, username: str) -> bool:
    return _name_taken(conn, connect_users.c.username, instance_id, username)


def count_users(conn: Connection, instance_id: str) -> int:
    return _count(conn, connect_users, instance_id)


def list_users(conn: Connection, instance_id: str, after: int | None, limit: int) -> list[Row]:
    return _listing(conn, connect_users, instance_id, after, limit)


def delete_user(conn: Connection, instance_id: str, user_id: str) -> None:
    conn.execute(delete(agent_states).where(agent_states.c.instance_id == instance_id,
                                            agent_states.c.user_id == user_id))
    conn.execute(delete(connect_users).where(connect_users.c.instance_id == instance_id,
                                             connect_users.c.id == user_id))


# --- agent statuses -------------------------------------------------------------------------------
def ensure_default_statuses(conn: Connection, instance: Row, at: datetime) -> None:
    """Makes Available and Offline for the instance the first time they are needed."""
    dialect = _dialect(conn)
    for name, status_type, description, order in DEFAULT_STATUSES:
        status_id = str(uuid.uuid5(_DEFAULT_STATUS_IDS, f"{instance.id}/{name}"))
        exists = select(agent_statuses.c.id).where(agent_statuses.c.id == status_id)
        if conn.execute(exists).first() is not None:
            continue
        conn.execute(dialect.insert(agent_statuses).values(
            id=status_id, seq=next_value(conn, "agent_statuses"), region=instance.region, instance_id=instance.id,
            arn=f"{instance.arn}/agent-state/{status_id}", name=name, description=description, type=status_type,
            state="ENABLED", display_order=order, created_at=instance.created_at, updated_at=at)
            .on_conflict_do_nothing())


def insert_status(conn: Connection, **values) -> None:
    conn.execute(insert(agent_statuses).values(**values, seq=next_value(conn, "agent_statuses")))


def status(conn: Connection, instance_id: str, status_id: str) -> Row | None:
    return _by_id(conn, agent_statuses, instance_id, status_id)


def status_named(conn: Connection, instance_id: str, name: str) -> Row | None:
    return conn.execute(select(agent_statuses).where(agent_statuses.c.instance_id == instance_id,
                                                     agent_statuses.c.name == name)).first()


def count_statuses(conn: Connection, instance_id: str) -> int:
    return _count(conn, agent_statuses, instance_id)


def list_statuses(conn: Connection, instance_id: str, types: list[str] | None, after: int | None,
                  limit: int) -> list[Row]:
    return _listing(conn, agent_statuses, instance_id, after, limit,
                    *([agent_statuses.c.type.in_(types)] if types else []))


# --- each agent's status and activity ------------------------------------------------------------
def agent_state(conn: Connection, instance_id: str, user_id: str, *, for_update: bool = False) -> Row | None:
    query = select(agent_states).where(agent_states.c.instance_id == instance_id, agent_states.c.user_id == user_id)
    return conn.execute(query.with_for_update() if for_update else query).first()


def set_status(conn: Connection, instance_id: str, user_id: str, new_status: Row, at: datetime) -> None:
    """PutUserStatus. An agent on a contact keeps its status until it is IDLE again and takes the new
    one then (Connect's next status); setting the status the agent has keeps its start."""
    state = agent_state(conn, instance_id, user_id, for_update=True)
    where = (agent_states.c.instance_id == instance_id, agent_states.c.user_id == user_id)
    if state.activity != IDLE:
        next_id = None if new_status.id == state.status_id else new_status.id
        conn.execute(update(agent_states).where(*where).values(next_status_id=next_id))
    elif new_status.id != state.status_id:
        conn.execute(update(agent_states).where(*where).values(
            status_id=new_status.id, status_name=new_status.name, status_type=new_status.type, status_since=at,
            next_status_id=None))


def set_activity(conn: Connection, instance_id: str, user_id: str, activity: str, contact_id: str | None,
                 at: datetime, *, queue_id: str | None = None) -> None:
    """Records what the dialer has the agent doing (domain/agent.py says which moves are legal:
    InvalidState otherwise; NotFound for an unknown user). `queue_id`: the queue the contact came
    through, when it is offered or connected. Recording the activity the agent already has with the
    same contact changes nothing. Back to IDLE, the agent takes up the status set while it was busy."""
    state = agent_state(conn, instance_id, user_id, for_update=True)
    if state is None:
        raise NotFound(f"User {user_id} not found in instance {instance_id}")
    if not check_activity_change(state.status_type, state.activity, state.contact_id, activity, contact_id):
        return
    values = {"activity": activity, "contact_id": contact_id, "activity_since": at}
    if activity == IDLE:
        values.update(contact_queue_id=None, connected_at=None)
        next_status = state.next_status_id and status(conn, instance_id, state.next_status_id)
        if next_status:
            values.update(status_id=next_status.id, status_name=next_status.name, status_type=next_status.type,
                          status_since=at, next_status_id=None)
    elif queue_id is not None:
        values["contact_queue_id"] = queue_id
    if activity == "CONNECTED":
        values["connected_at"] = at
    conn.execute(update(agent_states).where(agent_states.c.instance_id == instance_id,
                                            agent_states.c.user_id == user_id).values(**values))


def routable_agents(conn: Connection, instance_id: str, queue_id: str) -> list[Agent]:
    """Users whose routing profile takes VOICE contacts from the queue and whose status is routable,
    whatever they are doing; the longest both routable and in their current activity first (Connect
    offers a contact to the agent idle longest)."""
    query = (select(agent_states)
             .join(connect_users, and_(connect_users.c.instance_id == agent_states.c.instance_id,
                                       connect_users.c.id == agent_states.c.user_id))
             .join(routing_profile_queues, routing_profile_queues.c.routing_profile_id
                   == connect_users.c.routing_profile_id)
             .where(agent_states.c.instance_id == instance_id, agent_states.c.status_type == ROUTABLE,
                    routing_profile_queues.c.queue_id == queue_id, routing_profile_queues.c.channel == "VOICE",
                    routing_profile_queues.c.manual.is_(False)))
    found = [Agent(user_id=row.user_id, activity=row.activity, contact_id=row.contact_id,
                   activity_since=row.activity_since, status_since=row.status_since)
             for row in conn.execute(query)]
    return sorted(found, key=lambda agent: (max(agent.activity_since, agent.status_since), agent.user_id))


def user_states(conn: Connection, instance_id: str) -> list[Row]:
    """Every user of the instance with its state, in creation order."""
    query = (select(connect_users.c.id, connect_users.c.arn, connect_users.c.routing_profile_id,
                    connect_users.c.seq, agent_states.c.status_id, agent_states.c.status_name,
                    agent_states.c.next_status_id,
                    agent_states.c.status_type, agent_states.c.status_since, agent_states.c.activity,
                    agent_states.c.contact_id, agent_states.c.contact_queue_id, agent_states.c.connected_at,
                    agent_states.c.activity_since)
             .join(agent_states, and_(agent_states.c.instance_id == connect_users.c.instance_id,
                                      agent_states.c.user_id == connect_users.c.id))
             .where(connect_users.c.instance_id == instance_id).order_by(connect_users.c.seq))
    return list(conn.execute(query))


def seats(conn: Connection, instance_id: str) -> list[Seat]:
    """Every user's seat in every queue its routing profile takes contacts from, per channel."""
    query = (select(connect_users.c.id, connect_users.c.routing_profile_id, routing_profile_queues.c.queue_id,
                    routing_profile_queues.c.channel, routing_profiles.c.media_concurrencies,
                    agent_states.c.status_id, agent_states.c.status_type, agent_states.c.activity)
             .join(agent_states, and_(agent_states.c.instance_id == connect_users.c.instance_id,
                                      agent_states.c.user_id == connect_users.c.id))
             .join(routing_profiles, routing_profiles.c.id == connect_users.c.routing_profile_id)
             .join(routing_profile_queues, routing_profile_queues.c.routing_profile_id == routing_profiles.c.id)
             .where(connect_users.c.instance_id == instance_id, routing_profile_queues.c.manual.is_(False)))
    found = []
    for row in conn.execute(query):
        concurrency = next((m["Concurrency"] for m in row.media_concurrencies if m["Channel"] == row.channel), 0)
        found.append(Seat(user_id=row.id, routing_profile_id=row.routing_profile_id, queue_id=row.queue_id,
                          channel=row.channel, concurrency=concurrency, status_id=row.status_id,
                          status_type=row.status_type,
                          activity=row.activity))
    return found


# --- contacts waiting in queues --------------------------------------------------------------------
def enqueue_contact(conn: Connection, instance_id: str, queue_id: str, contact_id: str, at: datetime,
                    channel: str = "VOICE") -> None:
    """A contact starts waiting in the queue for an agent (again: no change)."""
    conn.execute(_dialect(conn).insert(queued_contacts).values(
        instance_id=instance_id, contact_id=contact_id, queue_id=queue_id, channel=channel, enqueued_at=at)
        .on_conflict_do_nothing())


def dequeue_contact(conn: Connection, instance_id: str, contact_id: str) -> None:
    """The contact stops waiting: it reached an agent, or was abandoned."""
    conn.execute(delete(queued_contacts).where(queued_contacts.c.instance_id == instance_id,
                                               queued_contacts.c.contact_id == contact_id))


def queue_ids_by_profile(conn: Connection, instance_id: str) -> dict[str, set[str]]:
    """routing profile id -> the queues it takes contacts from (not manual assignment)."""
    query = (select(routing_profile_queues.c.routing_profile_id, routing_profile_queues.c.queue_id)
             .join(routing_profiles, routing_profiles.c.id == routing_profile_queues.c.routing_profile_id)
             .where(routing_profiles.c.instance_id == instance_id, routing_profile_queues.c.manual.is_(False)))
    found: dict[str, set[str]] = {}
    for row in conn.execute(query):
        found.setdefault(row.routing_profile_id, set()).add(row.queue_id)
    return found


def waiting(conn: Connection, instance_id: str) -> list[Waiting]:
    return [Waiting(queue_id=row.queue_id, channel=row.channel, enqueued_at=row.enqueued_at)
            for row in conn.execute(select(queued_contacts).where(queued_contacts.c.instance_id == instance_id))]
