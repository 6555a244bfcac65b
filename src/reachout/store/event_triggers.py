"""Event triggers and profile integrations of Customer Profiles domains, the firings counted against
each trigger's per-profile limits, and the record of every evaluation."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Text, bindparam, cast, delete, func, insert, select, update

from reachout.domain.event_trigger import Evaluation
from reachout.store.bulk import insert_many, insert_records
from reachout.store.tables import (campaigns, contacts, event_trigger_evaluations, event_trigger_invocations,
                                   event_triggers, outbound_requests, profile_integrations)
from reachout.store.work import lock_recipients

_IN_LIST = 5000  # profiles per IN list: well below SQLite's limit of bound parameters


# --- triggers --------------------------------------------------------------------------------------
def count_triggers(conn: Connection, domain_id: int) -> int:
    return conn.execute(select(func.count()).select_from(event_triggers)
                        .where(event_triggers.c.domain_id == domain_id)).scalar_one()


def get_trigger(conn: Connection, domain_id: int, name: str):
    """(definition, created_at, updated_at) or None."""
    t = event_triggers
    row = conn.execute(select(t.c.definition, t.c.created_at, t.c.updated_at)
                       .where(t.c.domain_id == domain_id, t.c.name == name)).first()
    return tuple(row) if row else None


def create_trigger(conn: Connection, domain_id: int, name: str, definition: dict, now: datetime) -> None:
    conn.execute(insert(event_triggers).values(domain_id=domain_id, name=name, object_type=definition["ObjectTypeName"],
                                               definition=definition, created_at=now, updated_at=now))


def update_trigger(conn: Connection, domain_id: int, name: str, definition: dict, now: datetime) -> None:
    t = event_triggers
    conn.execute(update(t).where(t.c.domain_id == domain_id, t.c.name == name)
                 .values(object_type=definition["ObjectTypeName"], definition=definition, updated_at=now))


def delete_trigger(conn: Connection, domain_id: int, name: str) -> bool:
    t = event_triggers
    return conn.execute(delete(t).where(t.c.domain_id == domain_id, t.c.name == name)).rowcount > 0


def list_triggers(conn: Connection, domain_id: int, after: str | None, limit: int) -> list:
    """(name, definition, created_at, updated_at) in name order, after the name `after`."""
    t = event_triggers
    query = select(t.c.name, t.c.definition, t.c.created_at, t.c.updated_at).where(t.c.domain_id == domain_id)
    if after is not None:
        query = query.where(t.c.name > after)
    return [tuple(row) for row in conn.execute(query.order_by(t.c.name).limit(limit))]


def triggers_on(conn: Connection, domain_id: int, object_type: str) -> list[tuple[str, str]]:
    """(name, definition as its JSON text) of the triggers watching this object type: the text is the
    key under which the evaluation keeps the trigger parsed, so it is not decoded here."""
    return [tuple(row) for row in conn.execute(_TRIGGERS_ON, {"domain_id": domain_id, "object_type": object_type})]


_TRIGGERS_ON = (select(event_triggers.c.name, cast(event_triggers.c.definition, Text))
                .where(event_triggers.c.domain_id == bindparam("domain_id"),
                       event_triggers.c.object_type == bindparam("object_type"))
                .order_by(event_triggers.c.name))


# --- integrations ----------------------------------------------------------------------------------
def put_integration(conn: Connection, domain_id: int, uri: str, definition: dict, now: datetime) -> None:
    t = profile_integrations
    key = (t.c.domain_id == domain_id, t.c.uri == uri)
    if conn.execute(select(t.c.uri).where(*key)).first() is None:
        conn.execute(insert(t).values(domain_id=domain_id, uri=uri, definition=definition, created_at=now,
                                      updated_at=now))
    else:
        conn.execute(update(t).where(*key).values(definition=definition, updated_at=now))


def get_integration(conn: Connection, domain_id: int, uri: str):
    """(definition, created_at, updated_at) or None."""
    t = profile_integrations
    row = conn.execute(select(t.c.definition, t.c.created_at, t.c.updated_at)
                       .where(t.c.domain_id == domain_id, t.c.uri == uri)).first()
    return tuple(row) if row else None


def list_integrations(conn: Connection, domain_id: int, after: str | None, limit: int) -> list:
    """(uri, definition, created_at, updated_at) in Uri order."""
    t = profile_integrations
    query = select(t.c.uri, t.c.definition, t.c.created_at, t.c.updated_at).where(t.c.domain_id == domain_id)
    if after is not None:
        query = query.where(t.c.uri > after)
    return [tuple(row) for row in conn.execute(query.order_by(t.c.uri).limit(limit))]


def delete_integration(conn: Connection, domain_id: int, uri: str) -> bool:
    t = profile_integrations
    return conn.execute(delete(t).where(t.c.domain_id == domain_id, t.c.uri == uri)).rowcount > 0


def integrations_by_trigger(conn: Connection, domain_id: int) -> dict[str, list[str]]:
    """Trigger name -> the Uris of the integrations naming it (EventTriggerNames), in Uri order."""
    found: dict[str, list[str]] = {}
    for uri, definition in conn.execute(_INTEGRATIONS, {"domain_id": domain_id}):
        for name in definition.get("EventTriggerNames") or []:
            found.setdefault(name, []).append(uri)
    return found


def campaign_states(conn: Connection, campaign_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Campaign id -> (its ARN, its state), for the campaigns that exist."""
    if not campaign_ids:
        return {}
    return {row.id: (row.arn, row.state) for row in conn.execute(_CAMPAIGN_STATES, {"ids": list(set(campaign_ids))})}


# The statements an ingested object's evaluation runs, built once.
_INTEGRATIONS = (select(profile_integrations.c.uri, profile_integrations.c.definition)
                 .where(profile_integrations.c.domain_id == bindparam("domain_id")).order_by(profile_integrations.c.uri))
_CAMPAIGN_STATES = select(campaigns.c.id, campaigns.c.arn, campaigns.c.state).where(
    campaigns.c.id.in_(bindparam("ids", expanding=True)))


# --- invocations and evaluations -------------------------------------------------------------------
def lock_invocations(conn: Connection, domain_id: int, pairs: list[tuple[str, str]]) -> None:
    """Row locks held until commit over these (trigger, profile) pairs' firings: counting them and
    adding some cannot interleave with another transaction doing the same (PostgreSQL; SQLite
    serialises writers anyway)."""
    lock_recipients(conn, [f"event-trigger:{domain_id}:{trigger}:{profile_id}" for trigger, profile_id in pairs])


def invocations_since(conn: Connection, domain_id: int, pairs: list[tuple[str, str]],
                      since: datetime) -> dict[tuple[str, str], list[datetime]]:
    """The firings after `since` of each (trigger, profile) pair."""
    wanted = set(pairs)
    triggers = sorted({trigger for trigger, _ in wanted})
    profile_ids = sorted({profile_id for _, profile_id in wanted})
    found: dict[tuple[str, str], list[datetime]] = {}
    for start in range(0, len(profile_ids), _IN_LIST):
        for trigger, profile_id, at in conn.execute(_INVOCATIONS_SINCE, {
                "domain_id": domain_id, "triggers": triggers, "profile_ids": profile_ids[start:start + _IN_LIST],
                "since": since}):
            if (trigger, profile_id) in wanted:
                found.setdefault((trigger, profile_id), []).append(at)
    return found


_INVOCATIONS_SINCE = select(event_trigger_invocations.c.trigger_name, event_trigger_invocations.c.profile_id,
                            event_trigger_invocations.c.at).where(
    event_trigger_invocations.c.domain_id == bindparam("domain_id"),
    event_trigger_invocations.c.trigger_name.in_(bindparam("triggers", expanding=True)),
    event_trigger_invocations.c.profile_id.in_(bindparam("profile_ids", expanding=True)),
    event_trigger_invocations.c.at > bindparam("since"))


def add_invocations(conn: Connection, domain_id: int, pairs: list[tuple[str, str]], at: datetime) -> None:
    """One firing at `at` per (trigger, profile) pair (a pair may appear more than once)."""
    insert_many(conn, event_trigger_invocations, [{"domain_id": domain_id, "trigger_name": trigger,
                                                   "profile_id": profile_id, "at": at} for trigger, profile_id in pairs])


def record_evaluations(conn: Connection, evaluations: Sequence[Evaluation]) -> None:
    insert_records(conn, event_trigger_evaluations, evaluations)


def evaluations(conn: Connection, domain_id: int, *, trigger_name: str | None = None, profile_id: str | None = None,
                limit: int = 100) -> list[dict]:
    """The latest evaluations first, each with the status of the request its firing made (pending,
    taken, expired or dropped) and what became of the contacts made from it (sent, or expired or
    dropped with the reason)."""
    e, r = event_trigger_evaluations, outbound_requests
    query = (select(e, r.c.status.label("request_status"))
             .outerjoin(r, r.c.id == e.c.request_id).where(e.c.domain_id == domain_id))
    if trigger_name:
        query = query.where(e.c.trigger_name == trigger_name)
    if profile_id:
        query = query.where(e.c.profile_id == profile_id)
    rows = [{k: v for k, v in row._asdict().items() if k != "domain_id"}
            for row in conn.execute(query.order_by(e.c.at.desc(), e.c.id.desc()).limit(limit))]
    made: dict[str, list[dict]] = {}
    request_ids = [row["request_id"] for row in rows if row["request_id"]]
    if request_ids:
        c = contacts
        for contact in conn.execute(select(c.c.request_id, c.c.id, c.c.channel, c.c.state, c.c.disposition, c.c.reason)
                                    .where(c.c.request_id.in_(request_ids)).order_by(c.c.created_at, c.c.id)):
            made.setdefault(contact.request_id, []).append(
                {k: v for k, v in contact._asdict().items() if k != "request_id"})
    return [{**row, "contacts": made.get(row["request_id"], [])} for row in rows]
