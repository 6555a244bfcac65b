"""What the engine tells the world: each change's events go to the outbox in the change's own
transaction (contact events per contact, suppressions with their reason, campaign state changes)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection

from reachout.channels.telephony import ANSWERED, CONNECTED_TO_AGENT, DISCONNECTED, CallProgress
from reachout.domain.campaign import Campaign
from reachout.domain.disposition import final_outcome
from reachout.domain.contact_event import (campaign_state_event, contact_event, outcome_events,
                                           suppression_event)
from reachout.engine.rendering import OriginationNumbers, system_endpoints
from reachout.store import outbox, work


def _where(campaign: Campaign, at: datetime) -> dict:
    account = campaign.arn.split(":")[4]
    return {"campaign_id": campaign.id, "instance_id": campaign.connect_instance_id, "account": account,
            "region": campaign.region, "at": at}


def _contacts(conn: Connection, campaigns: Mapping[str, Campaign], rows: list) -> dict[str, dict]:
    """contact id -> what its events tell of a contact of `campaigns`; its system endpoint is its
    campaign's source (an SMS number named by its ARN: the number, when Reachout knows it)."""
    sources = system_endpoints(conn, campaigns, rows)
    numbers = OriginationNumbers(conn)
    found = {}
    for row in rows:
        source = sources[row.id] or {}
        address = source.get("Address")
        if source.get("Type") == "CONNECT_PHONENUMBER_ARN":
            address = numbers.of(address) or address
        found[row.id] = {"id": row.id, "channel": row.channel, "system_endpoint": address,
                         "dispatched_at": row.dispatched_at}
    return found


def contact_view(conn: Connection, campaign: Campaign, row) -> dict:
    """What the events of this one contact of the campaign tell of it."""
    return _contacts(conn, {campaign.id: campaign}, [row])[row.id]


def suppressed(conn: Connection, campaign: Campaign, rows: list[dict], now: datetime) -> None:
    """Records suppressions (campaign_id, recipient, reason, ...) and announces each."""
    work.suppress(conn, rows)
    account = campaign.arn.split(":")[4]
    outbox.emit(conn, [(row.get("contact_id") or row["recipient"], suppression_event(
        campaign_id=campaign.id, recipient=row["recipient"], channel=row.get("channel"), reason=row["reason"],
        account=account, region=campaign.region, at=now, contact_id=row.get("contact_id"))) for row in rows], now)


def initiated(conn: Connection, campaign: Campaign, contacts: list, now: datetime) -> None:
    where = _where(campaign, now)
    seen = _contacts(conn, {campaign.id: campaign}, contacts)
    outbox.emit(conn, [(c.id, contact_event("INITIATED", contact={**seen[c.id], "dispatched_at": now}, **where))
                       for c in contacts], now)


def finished(conn: Connection, campaigns: Mapping[str, Campaign], contacts: list, now: datetime) -> None:
    """The final events of contacts of any of `campaigns`: one read and one write for them all."""
    where = {campaign_id: _where(campaign, now) for campaign_id, campaign in campaigns.items()}
    seen = _contacts(conn, campaigns, contacts)
    outbox.emit(conn, [(c.id, event) for c in contacts
                       for event in outcome_events(seen[c.id], final_outcome(c.outcome), **where[c.campaign_id])],
                now)


def call_progressed(conn: Connection, campaign: Campaign, contact, stages: list[CallProgress],
                    answered: CallProgress | None, now: datetime, *, lost: bool = False) -> None:
    """A campaign call's new stages as contact events (see _call_events)."""
    outbox.emit(conn, [(contact.id, event) for event in _call_events(
        contact_view(conn, campaign, contact), stages, answered, lambda at: _where(campaign, at), now,
        lost=lost)], now)


def _call_events(contact: dict, stages: list[CallProgress], answered: CallProgress | None, where, now: datetime, *,
                 lost: bool = False, disconnect_reason: str | None = None) -> list[dict]:
    """A call's new stages as contact events, each at the instant it happened (`where(at)`: the
    contact's place at that instant): CONNECTED_TO_SYSTEM with the AnsweringMachineDetectionStatus
    (when answered, or, for a call that got as far as the network but was never answered, when it
    ended), CONNECTED_TO_AGENT, DISCONNECTED with the status and the DisconnectReason (the failed dial
    attempt's, unless the caller names the contact's own). `answered` is the call's ANSWERED stage,
    new or not. A call its adapter has no record of (`lost`) is reported DISCONNECTED now."""
    events = []
    if lost:
        events.append(contact_event("DISCONNECTED", contact=contact, outcome="FAILED",
                                    disconnect_reason=disconnect_reason, **where(now)))
    for stage in stages:
        at = where(stage.at)
        if stage.stage == ANSWERED:
            events.append(contact_event("CONNECTED_TO_SYSTEM", contact=contact, amd_status=stage.amd_status, **at))
        elif stage.stage == CONNECTED_TO_AGENT:
            events.append(contact_event("CONNECTED_TO_AGENT", contact=contact, amd_status=stage.amd_status,
                                        agent_arn=stage.agent_arn, **at))
        elif stage.stage == DISCONNECTED:
            connected_at = answered.at if answered else stage.at if stage.amd_status else None
            if answered is None and stage.amd_status:
                events.append(contact_event("CONNECTED_TO_SYSTEM", contact=contact, amd_status=stage.amd_status, **at))
            events.append(contact_event("DISCONNECTED", contact=contact,
                                        outcome=stage.amd_status or stage.disconnect_reason,
                                        amd_status=stage.amd_status,
                                        disconnect_reason=disconnect_reason or stage.disconnect_reason,
                                        connected_at=connected_at, **at))
    return events


def state_changed(conn: Connection, campaign: Campaign, previous: str, now: datetime) -> None:
    account = campaign.arn.split(":")[4]
    outbox.emit(conn, [(campaign.id, campaign_state_event(campaign_id=campaign.id, state=campaign.state,
                                                          previous=previous, account=account,
                                                          region=campaign.region, at=now))], now)


# --- contacts in the Connect view (connect_contacts rows): API-started ones -------------------------
def _connect_where(row, at: datetime) -> dict:
    return {"campaign_id": row.campaign_id, "instance_id": row.instance_id, "account": row.account,
            "region": row.region, "at": at, "initiation_method": row.initiation_method,
            "amd": bool(row.options.get("amd", True))}


def _connect_contact(row) -> dict:
    return {"id": row.id, "channel": row.delivery, "system_endpoint": (row.system_endpoint or {}).get("Address"),
            "dispatched_at": row.initiated_at}


def contacts_initiated(conn: Connection, rows: list, now: datetime) -> None:
    outbox.emit(conn, [(row.id, contact_event("INITIATED", contact=_connect_contact(row), **_connect_where(row, now)))
                       for row in rows], now)


def contacts_ended(conn: Connection, rows: list, endings: dict[str, tuple[str, str]], now: datetime) -> None:
    """Rows that ended with their channel's outcome; `endings`: contact id -> (outcome, disconnect reason)."""
    outbox.emit(conn, [(row.id, event) for row in rows for event in outcome_events(
        _connect_contact(row), endings[row.id][0], disconnect_reason=endings[row.id][1],
        **_connect_where(row, now))], now)


def contacts_unsendable(conn: Connection, rows: list, reasons: dict[str, str], disconnect_reason: str,
                        now: datetime) -> None:
    """Rows whose message could not be made, ended before anything was sent; `reasons`: contact id ->
    why, in words."""
    outbox.emit(conn, [(row.id, contact_event("DISCONNECTED", contact=_connect_contact(row),
                                              disconnect_reason=disconnect_reason, reason=reasons[row.id],
                                              **_connect_where(row, now))) for row in rows], now)


def contact_stopped(conn: Connection, row, reason: str, now: datetime) -> None:
    """StopContact: disconnected, with no outcome from any channel."""
    outbox.emit(conn, [(row.id, contact_event("DISCONNECTED", contact=_connect_contact(row), disconnect_reason=reason,
                                              **_connect_where(row, now)))], now)


def contact_call_progressed(conn: Connection, row, stages: list[CallProgress], answered: CallProgress | None,
                            now: datetime, *, disconnect_reason: str | None = None, lost: bool = False) -> None:
    """An API call's new stages as contact events (see _call_events); `disconnect_reason`: the one
    the contact ends with, once it ends."""
    outbox.emit(conn, [(row.id, event) for event in _call_events(
        _connect_contact(row), stages, answered, lambda at: _connect_where(row, at), now, lost=lost,
        disconnect_reason=disconnect_reason)], now)
