"""Event triggers and profile integrations of Customer Profiles domains, the firings counted against
each trigger's per-profile limits, and the record of every evaluation."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Text, and_, bindparam, cast, delete, func, insert, or_, select, update

from reachout.domain.event_trigger import Evaluation
from reachout.store.bulk import insert_many, slices
from reachout.store.tables import (campaigns, contacts, event_trigger_evaluations, event_trigger_invocations,
                                   event_triggers, outbound_requests, profile_integrations)
from reachout.store.work import lock_recipients


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
    """Locks held until commit over these (trigger, profile) pairs' firings: counting them and
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
    for some in slices(profile_ids):
        for trigger, profile_id, at in conn.execute(_INVOCATIONS_SINCE, {
                "domain_id": domain_id, "triggers": triggers, "profile_ids": some, "since": since}):
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


def record_evaluations(conn: Connection, objects: Sequence[Sequence[Evaluation]]) -> None:
    """Each object's evaluations (those of one ingested object, in trigger name order) as its row."""
    rows = []
    for evaluated in objects:
        if evaluated:
            first = evaluated[0]
            rows.append({"domain_id": first.domain_id, "object_type": first.object_type, "profile_id": first.profile_id,
                         "object_key": first.object_key, "at": first.at,
                         "verdicts": [[e.trigger_name, e.fired, e.reason, e.campaign_id, e.request_id]
                                      for e in evaluated]})
    insert_many(conn, event_trigger_evaluations, rows)


def evaluations(conn: Connection, domain_id: int, *, trigger_name: str | None = None, profile_id: str | None = None,
                limit: int = 100) -> list[dict]:
    """The latest evaluations first, each with the status of the request its firing made (pending,
    taken, expired or dropped) and what became of the contacts made from it (sent, or expired or
    dropped with the reason)."""
    rows = _latest_evaluations(conn, domain_id, trigger_name, profile_id, limit)
    request_ids = [row["request_id"] for row in rows if row["request_id"]]
    statuses: dict[str, str] = {}
    made: dict[str, list[dict]] = {}
    r, c = outbound_requests.c, contacts.c
    for ids in slices(request_ids):
        statuses.update(conn.execute(select(r.id, r.status).where(r.id.in_(ids))).all())
        for contact in conn.execute(select(c.request_id, c.id, c.channel, c.state, c.disposition, c.reason)
                                    .where(c.request_id.in_(ids)).order_by(c.created_at, c.id)):
            made.setdefault(contact.request_id, []).append(
                {k: v for k, v in contact._asdict().items() if k != "request_id"})
    return [{**row, "request_status": statuses.get(row["request_id"]), "contacts": made.get(row["request_id"], [])}
            for row in rows]


def _latest_evaluations(conn: Connection, domain_id: int, trigger_name: str | None, profile_id: str | None,
                        limit: int) -> list[dict]:
    """Up to `limit` evaluations, latest first, one per (object, trigger), of the trigger if named:
    objects' rows are read newest first until enough are found."""
    e = event_trigger_evaluations.c
    query = select(e.id, e.object_type, e.profile_id, e.object_key, e.verdicts, e.at).where(e.domain_id == domain_id)
    if profile_id:
        query = query.where(e.profile_id == profile_id)
    found: list[dict] = []
    before = None
    while len(found) < limit:
        page = query if before is None else query.where(or_(e.at < before[0], and_(e.at == before[0], e.id < before[1])))
        objects = conn.execute(page.order_by(e.at.desc(), e.id.desc()).limit(limit)).all()
        for row in objects:
            for name, fired, reason, campaign_id, request_id in reversed(row.verdicts):
                if trigger_name in (None, "", name):
                    found.append({"trigger_name": name, "object_type": row.object_type, "profile_id": row.profile_id,
                                  "object_key": row.object_key, "fired": fired, "reason": reason,
                                  "campaign_id": campaign_id, "request_id": request_id, "at": row.at})
        if len(objects) < limit:
            break
        before = (objects[-1].at, objects[-1].id)
    return found[:limit]
