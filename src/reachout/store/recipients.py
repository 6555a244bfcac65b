"""Where a campaign's recipients stand, as `/_reachout/campaigns/{id}/...` and the CLI show it: their
contacts, made or still planned, and why any was dropped, limited or is waiting."""
from __future__ import annotations

from sqlalchemy import Connection, select

from reachout.domain.contact import PLANNED
from reachout.store.plans import unreleased_contacts
from reachout.store.tables import contacts, suppressions


def campaign_contacts(conn: Connection, campaign_id: str) -> list[dict]:
    """Every contact of the campaign; those its participants' plans have not made yet come last,
    without an id."""
    made = conn.execute(select(contacts).where(contacts.c.campaign_id == campaign_id)
                        .order_by(contacts.c.created_at, contacts.c.id))
    waiting = unreleased_contacts(conn, campaign_id)
    return [row._asdict() for row in made] + [{**_EMPTY, **row} for row in waiting]


_EMPTY = {column.name: None for column in contacts.c}


def suppressions_of(conn: Connection, campaign_id: str, limit: int = 1000) -> list[dict]:
    """Why recipients were dropped, limited or are waiting: the suppression log, and the contacts
    still deferred by a closed window (their reason is on the contact row, or on their plan)."""
    logged = conn.execute(select(suppressions).where(suppressions.c.campaign_id == campaign_id)
                          .order_by(suppressions.c.at, suppressions.c.id).limit(limit))
    deferred = conn.execute(
        select(contacts.c.campaign_id, contacts.c.participant_id, contacts.c.id.label("contact_id"),
               contacts.c.recipient, contacts.c.channel, contacts.c.reason, contacts.c.created_at.label("at"))
        .where(contacts.c.campaign_id == campaign_id, contacts.c.state == PLANNED, contacts.c.reason.is_not(None))
        .order_by(contacts.c.created_at, contacts.c.id).limit(limit))
    planned = [{"id": None, "campaign_id": c["campaign_id"], "participant_id": c["participant_id"], "contact_id": None,
                "recipient": c["recipient"], "channel": c["channel"], "reason": c["reason"], "at": c["created_at"]}
               for c in unreleased_contacts(conn, campaign_id, deferred_only=True, limit=limit)]
    rows = [row._asdict() for row in logged] + [{"id": None, **row._asdict()} for row in deferred] + planned
    return sorted(rows, key=lambda row: row["at"])[:limit]
