"""Reattempts: a campaign contact that completed with a disposition one of the campaign's reattempt
rules lists (the CAMPAIGN flow its connectCampaignFlowArn names, domain/reattempt.py), while the rule
allows another attempt, gets a new contact for the same participant on the rule's channel.

The new contact is planned as any other (engine/planning.py): the endpoint is that channel's first
valid one on the profile, the zones are the recipient's, and it is due at the first instant the
channel's window is open at or after the outcome plus the rule's wait. Limits are checked when it is
dispatched, as for every contact. Each reattempt, and each one a rule wanted but could not make, is
recorded with its reason.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from reachout.domain import reattempt
from reachout.domain.campaign import Campaign
from reachout.domain.contact import PLANNED, NewContact
from reachout.domain.contact_flow import CAMPAIGN
from reachout.domain.disposition import disposition_of
from reachout.domain.plan import PlannedContact
from reachout.domain.reach import reach_of
from reachout.engine import compliance, notify
from reachout.engine.planning import Planner
from reachout.store import contact_flows, profile_domains, work
from reachout.store.profiles import get_profiles


def schedule(conn: Connection, campaigns: Mapping[str, Campaign], completed: list[tuple], now: datetime) -> None:
    """Plans the reattempts the rules call for among contacts that completed now: (contact, its final
    outcome) pairs, of `campaigns` (a contact whose campaign is gone gets none)."""
    by_campaign: dict[str, list] = {}
    for contact, outcome in completed:
        by_campaign.setdefault(contact.campaign_id, []).append((contact, outcome))
    for campaign_id, finished in by_campaign.items():
        campaign = campaigns.get(campaign_id)
        rules = rules_of(conn, campaign) if campaign else None
        if rules is None:
            continue
        wanted = []
        for contact, outcome in finished:
            rule = rules.rule_for(disposition_of(outcome).code, outcome, contact.attempt)
            if rule is not None:
                wanted.append((contact, outcome, rule))
        if wanted:
            _plan(conn, campaign, wanted, now)


def rules_of(conn: Connection, campaign: Campaign) -> reattempt.ReattemptRules | None:
    """The reattempt rules of the campaign's flow; None without a published CAMPAIGN flow."""
    if not campaign.connect_campaign_flow_arn:
        return None
    flow = contact_flows.find_by_arn(conn, campaign.connect_campaign_flow_arn)
    if flow is None or flow.type != CAMPAIGN or flow.status != "PUBLISHED":
        return None
    return reattempt.parse(flow.content)  # checked when the flow was created


def _plan(conn: Connection, campaign: Campaign, wanted: list, now: datetime) -> None:
    domain_id = _profile_domain(conn, campaign)
    profiles = get_profiles(conn, domain_id, {c.recipient for c, _, _ in wanted}) if domain_id is not None else {}
    planners: dict[tuple[str, timedelta], Planner] = {}
    regime = compliance.regime_of(conn, campaign)
    calls = compliance.calls_to(conn, regime, {c.recipient for c, _, _ in wanted}, now) if regime else {}
    new_contacts: list[NewContact] = []
    notes = []
    for contact, outcome, rule in wanted:
        attempt = contact.attempt + 1
        what = f"reattempt {attempt} on {rule.channel} after {disposition_of(outcome).code}"
        profile = profiles.get(contact.recipient)
        if profile is None:
            notes.append(_note(contact, rule.channel, f"{what} not made: the recipient's profile no longer exists",
                               now))
            continue
        key = (rule.channel, rule.wait)
        if key not in planners:
            # The campaign as seen by this one channel: its window and zone rules, its config if it has one.
            one_channel = {rule.channel: campaign.channel_subtype_config.get(rule.channel) or {}}
            planners[key] = Planner(replace(campaign, channel_subtype_config=one_channel), now + rule.wait, regime)
        planned: PlannedContact = planners[key].plan(reach_of(profile))[0]
        planned = planners[key].hold(planned, calls.get(contact.recipient, []), [])  # the regime's caps
        if planned.due_at is None:
            notes.append(_note(contact, rule.channel, f"{what} not made: {planned.reason}", now))
            continue
        contact_id = str(uuid.uuid4())
        new_contacts.append(NewContact(
            id=contact_id, campaign_id=campaign.id, participant_id=contact.participant_id,
            recipient=contact.recipient, channel=rule.channel, endpoint=planned.endpoint or "", zones=planned.zones,
            attempt=attempt, state=PLANNED, due_at=planned.due_at, reason=None, created_at=now))
        held = f" ({planned.reason})" if planned.reason and planned.reason.startswith("deferred: the ") else ""
        notes.append({**_note(contact, rule.channel, f"deferred: {what}, due {planned.due_at.isoformat()}{held}", now),
                      "contact_id": contact_id})
    work.insert_contacts(conn, new_contacts)
    notify.suppressed(conn, campaign, notes, now)


def _profile_domain(conn: Connection, campaign: Campaign) -> int | None:
    """The Customer Profiles domain the campaign's recipients come from (segment or event trigger)."""
    source = campaign.source or {}
    trigger = source.get("eventTrigger") or {}
    arn = source.get("customerProfilesSegmentArn") or trigger.get("customerProfilesDomainArn")
    parts = (arn or "").split(":", 5)[-1].split("/")
    if len(parts) < 2 or parts[0] != "domains":
        return None
    domain = profile_domains.get_domain(conn, campaign.region, parts[1])
    return domain.id if domain else None


def _note(contact, channel: str, reason: str, now: datetime) -> dict:
    return {"campaign_id": contact.campaign_id, "participant_id": contact.participant_id, "contact_id": contact.id,
            "recipient": contact.recipient, "channel": channel, "reason": reason, "at": now}
