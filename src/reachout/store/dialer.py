"""What the dialer reads and records besides agents (store/agents.py): the agent-assisted campaigns
that are running, their calls in flight, and abandoned calls with the 72-hour block on their numbers."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.campaigns import _campaign
from reachout.domain.agent import IDLE
from reachout.domain.contact import DISPATCHING, PLANNED, SENT
from reachout.store.tables import abandoned_calls, agent_states, campaigns, contacts

TELEPHONY = "telephony"


def dialing_campaigns(conn: Connection) -> list:
    """Every Running campaign, and every other one with calls still in flight (a paused campaign's
    live calls still go to agents or are abandoned); the dialer keeps the agent-assisted ones."""
    in_flight = select(contacts.c.campaign_id).where(contacts.c.state.in_([SENT, DISPATCHING]),
                                                     contacts.c.channel == TELEPHONY)
    return [_campaign(row) for row in conn.execute(select(campaigns).where(
        (campaigns.c.state == "Running") | campaigns.c.id.in_(in_flight)))]


def calls_in_flight(conn: Connection, campaign_ids: Iterable[str]) -> list:
    """The campaigns' calls handed to the carrier (or being handed) and not yet completed."""
    ids = list(campaign_ids)
    if not ids:
        return []
    return list(conn.execute(select(contacts).where(
        contacts.c.campaign_id.in_(ids), contacts.c.channel == TELEPHONY,
        contacts.c.state.in_([SENT, DISPATCHING]))))


def contacts_by_id(conn: Connection, ids: Iterable[str]) -> dict:
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in conn.execute(select(contacts).where(contacts.c.id.in_(ids)))}


def has_due(conn: Connection, campaign_id: str, now: datetime) -> bool:
    """Whether the campaign has calls due to dial (the dialer only ticks while there is work)."""
    free = (contacts.c.lease_until.is_(None)) | (contacts.c.lease_until <= now)
    return conn.execute(select(func.count()).select_from(contacts).where(
        contacts.c.campaign_id == campaign_id, contacts.c.state == PLANNED, contacts.c.channel == TELEPHONY,
        contacts.c.due_at <= now, free)).scalar() > 0


def record_abandon(conn: Connection, row: dict) -> bool:
    """Records one abandoned call (contact_id, campaign_id, endpoint, answered_at, at, blocked_until,
    reason); False if it was recorded before (a pass repeated after a crash)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = dialect.insert(abandoned_calls).values(**row).on_conflict_do_nothing()
    return conn.execute(inserted.returning(abandoned_calls.c.contact_id)).first() is not None


def blocked_until(conn: Connection, endpoints: Iterable[str], now: datetime) -> dict[str, datetime]:
    """endpoint -> the end of its 72-hour block, for those of `endpoints` blocked at `now`."""
    endpoints = list(set(endpoints))
    if not endpoints:
        return {}
    query = (select(abandoned_calls.c.endpoint, func.max(abandoned_calls.c.blocked_until))
             .where(abandoned_calls.c.endpoint.in_(endpoints), abandoned_calls.c.blocked_until > now)
             .group_by(abandoned_calls.c.endpoint))
    return {endpoint: until for endpoint, until in conn.execute(query)}


def abandons(conn: Connection, campaign_id: str) -> list[dict]:
    """The campaign's abandoned calls, in the order they were abandoned."""
    return [dict(row._mapping) for row in conn.execute(
        select(abandoned_calls).where(abandoned_calls.c.campaign_id == campaign_id)
        .order_by(abandoned_calls.c.at, abandoned_calls.c.contact_id))]


def engaged_agents(conn: Connection, instance_id: str) -> list:
    """The instance's agents with a contact (offered, connected or in ACW), whatever their status."""
    return list(conn.execute(select(agent_states).where(agent_states.c.instance_id == instance_id,
                                                        agent_states.c.activity != IDLE)))


def any_engaged_agent(conn: Connection) -> bool:
    return conn.execute(select(agent_states.c.user_id).where(agent_states.c.activity != IDLE).limit(1)).first() \
        is not None


def lease_contacts(conn: Connection, contact_ids: list[str], owner: str, until: datetime) -> list:
    """These planned contacts (a preview offer being dialed), leased to `owner` under row locks."""
    rows = list(conn.execute(select(contacts).where(contacts.c.id.in_(contact_ids), contacts.c.state == PLANNED)
                             .with_for_update()))
    if rows:
        conn.execute(update(contacts).where(contacts.c.id.in_([r.id for r in rows]))
                     .values(lease_owner=owner, lease_until=until))
    return list(conn.execute(select(contacts).where(contacts.c.id.in_([r.id for r in rows])))) if rows else []
