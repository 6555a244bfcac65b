"""What the engine tells the world: each change's events go to the outbox in the change's own
transaction (contact events per contact, suppressions with their reason, campaign state changes)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from reachout.domain.campaign import Campaign
from reachout.domain.disposition import final_outcome
from reachout.domain.contact_event import (campaign_state_event, contact_event, outcome_events,
                                           suppression_event)
from reachout.store import outbox, work


def _where(campaign: Campaign, at: datetime) -> dict:
    account = campaign.arn.split(":")[4]
    return {"campaign_id": campaign.id, "instance_id": campaign.connect_instance_id, "account": account,
            "region": campaign.region, "at": at}


def _contact(row) -> dict:
    return {"id": row.id, "channel": row.channel, "endpoint": row.endpoint, "dispatched_at": row.dispatched_at}


def suppressed(conn: Connection, campaign: Campaign, rows: list[dict], now: datetime) -> None:
    """Records suppressions (campaign_id, recipient, reason, ...) and announces each."""
    work.suppress(conn, rows)
    account = campaign.arn.split(":")[4]
    outbox.emit(conn, [(row.get("contact_id") or row["recipient"], suppression_event(
        campaign_id=campaign.id, recipient=row["recipient"], channel=row.get("channel"), reason=row["reason"],
        account=account, region=campaign.region, at=now, contact_id=row.get("contact_id"))) for row in rows], now)


def initiated(conn: Connection, campaign: Campaign, contacts: list, now: datetime) -> None:
    where = _where(campaign, now)
    outbox.emit(conn, [(c.id, contact_event("INITIATED", contact={**_contact(c), "dispatched_at": now}, **where))
                       for c in contacts], now)


def finished(conn: Connection, campaign: Campaign, contacts: list, now: datetime) -> None:
    where = _where(campaign, now)
    outbox.emit(conn, [(c.id, event) for c in contacts
                       for event in outcome_events(_contact(c), final_outcome(c.outcome), **where)], now)


def state_changed(conn: Connection, campaign: Campaign, previous: str, now: datetime) -> None:
    account = campaign.arn.split(":")[4]
    outbox.emit(conn, [(campaign.id, campaign_state_event(campaign_id=campaign.id, state=campaign.state,
                                                          previous=previous, account=account,
                                                          region=campaign.region, at=now))], now)
