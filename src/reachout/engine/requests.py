"""Outbound request intake: pending requests become participants and contacts of their campaign.

A request is taken exactly once, in the transaction that makes its contacts (the claim locks it, the
same transaction marks it taken). Each is planned as a recipient entering a segment campaign is
(engine/planning.py: endpoint, zones, the window's next open instant), so the dispatcher sends it
under the same window, limit and capacity checks. Its contacts carry the request (whose parameters,
templateParameters or attributes, the message or call is made with) and its expiry: a contact whose
window opens only after that is due at the expiry instead, and the dispatcher records it expired then.

- PutProfileOutboundRequestBatch: the profile, from the event trigger's Customer Profiles domain;
  a contact per channel of the campaign, each endpoint taken from the profile.
- PutOutboundRequestBatch, PutDialRequestBatch (v1): the endpoint given, on the channel given
  (telephony for v1). The recipient is the profile of the campaign's domain that answers to that
  endpoint when exactly one does, so that communication limits count it together with every other
  campaign reaching that profile; otherwise the endpoint itself is the recipient.

A request past its expirationTime, or whose campaign has finished, is not taken but recorded (expired
or dropped) with a suppression giving the reason. A paused campaign's requests wait, until they expire.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection

from reachout.domain import contact, participant
from reachout.domain import outbound_request as requests
from reachout.domain.campaign import RUNNING, Campaign
from reachout.domain.contact import NewContact
from reachout.domain.endpoint import ENDPOINT_FIELDS, valid_number
from reachout.domain.participant import NewParticipant
from reachout.domain.reach import reach_of
from reachout.engine import campaigns as engine_campaigns
from reachout.engine import compliance, notify
from reachout.engine.planning import Planner
from reachout.store import campaigns as campaign_store
from reachout.store import outbound_requests, profile_domains, profiles, work
from reachout.store.db import Database

# Requests taken per transaction: the write lock is held while they are planned (0.2-0.4 ms each),
# and API writes queue behind it, so a small batch keeps their wait to a few milliseconds.
BATCH = 25


def take_due(db: Database, now: datetime, batch: int = BATCH) -> int:
    """Takes every request due now; returns how many."""
    taken = 0
    while True:
        with db.transaction() as conn:
            claimed = outbound_requests.claim_due(conn, now, batch)
            by_campaign = defaultdict(list)
            for request in claimed:
                by_campaign[request.campaign_id].append(request)
            for campaign_id, group in by_campaign.items():
                campaign = campaign_store.get_campaign_by_id(conn, campaign_id)
                _take(conn, campaign, group, now)
        taken += len(claimed)
        if len(claimed) < batch:
            return taken


def next_due(conn: Connection) -> datetime | None:
    return outbound_requests.next_due(conn)


def _take(conn: Connection, campaign: Campaign, group: list[requests.OutboundRequest], now: datetime) -> None:
    planner = Planner(campaign, now, compliance.regime_of(conn, campaign))
    domain_id = _domain_id(conn, campaign)
    settled: dict[str, list[str]] = defaultdict(list)  # status -> request ids
    suppressed: list[dict] = []
    entering = []
    for request in group:
        recipient, profile, channel = _recipient(conn, domain_id, request)
        if request.expires_at <= now:
            status, reason = requests.EXPIRED, requests.expired_reason(request.expires_at)
        elif campaign.state != RUNNING:
            status, reason = requests.DROPPED, f"the campaign is {campaign.state}: the request was never sent"
        elif profile is None:
            status, reason = requests.DROPPED, f"profile {recipient} was not found in the campaign's profile domain"
        else:
            planned = [p for p in planner.plan(reach_of(profile)) if channel is None or p.channel == channel]
            if planned:
                entering.append((request, recipient, planned))
                settled[requests.TAKEN].append(request.id)
                continue
            status, reason = requests.DROPPED, f"the campaign has no {channel} channel any more"
        settled[status].append(request.id)
        suppressed.append({"campaign_id": campaign.id, "recipient": recipient, "channel": channel,
                           "reason": reason, "at": now})

    history = work.entry_history(conn, campaign.id, [recipient for _, recipient, _ in entering])
    new_participants: list[NewParticipant] = []
    new_contacts: list[NewContact] = []
    for request, recipient, planned in entering:
        entries, last = history.get(recipient, (0, None))
        history[recipient] = (entries + 1, now)  # a batch may hold several requests for one recipient
        participant_id = str(uuid.uuid4())
        alive = any(p.due_at for p in planned)
        new_participants.append(NewParticipant(
            id=participant_id, campaign_id=campaign.id, profile_id=recipient, entry=entries + 1,
            state=participant.ACTIVE if alive else participant.DROPPED, entered_at=now,
            finished_at=None if alive else now))
        for p in planned:
            contact_id = str(uuid.uuid4())
            due = min(p.due_at, request.expires_at) if p.due_at else None
            new_contacts.append(NewContact(
                id=contact_id, campaign_id=campaign.id, participant_id=participant_id, recipient=recipient,
                channel=p.channel, endpoint=p.endpoint or "", zones=p.zones, attempt=1,
                state=contact.PLANNED if due else contact.DROPPED, due_at=due or now, reason=p.reason,
                created_at=now, completed_at=None if due else now, request_id=request.id,
                expires_at=request.expires_at))
            where = {"campaign_id": campaign.id, "participant_id": participant_id, "contact_id": contact_id,
                     "recipient": recipient, "channel": p.channel, "at": now}
            if p.due_at is None:
                suppressed.append({**where, "reason": p.reason})
            elif p.due_at > now:
                later = "" if p.due_at < request.expires_at else \
                    f", after its expirationTime {request.expires_at.isoformat()}: it will expire unsent"
                suppressed.append({**where, "reason": f"deferred: communication time closed until "
                                                      f"{p.due_at.isoformat()}{later}"})
    work.insert_participants(conn, new_participants)
    work.insert_contacts(conn, new_contacts)
    notify.suppressed(conn, campaign, suppressed, now)
    for status, ids in settled.items():
        outbound_requests.set_status(conn, ids, status)
    # A segment campaign fed requests as well looks again at whether anything is left.
    work.wake_campaigns(conn, [campaign.id], now)


def _recipient(conn: Connection, domain_id: int | None, request: requests.OutboundRequest):
    """(recipient, profile to plan with or None if it cannot be found, channel or None for all)."""
    found = requests.destination(request.kind, request.payload)
    if found is None:
        profile_id = request.payload["profileId"]
        profile = profiles.get_profile(conn, domain_id, profile_id) if domain_id is not None else None
        return profile_id, profile, None
    channel, endpoint = found
    known = _profile_answering_to(conn, domain_id, channel, endpoint) or {}
    # The request's endpoint comes first in the channel's field order, whatever the profile has.
    profile = {**known, ENDPOINT_FIELDS[channel][0]: endpoint}
    own_address = endpoint.strip() if channel == "email" else valid_number(endpoint) or endpoint
    recipient = known.get("ProfileId") or own_address
    return recipient, profile, channel


def _profile_answering_to(conn: Connection, domain_id: int | None, channel: str, endpoint: str) -> dict | None:
    if domain_id is None:
        return None
    key, values = ("_email", {endpoint.strip()}) if channel == "email" else \
        ("_phone", {endpoint, valid_number(endpoint) or endpoint})
    ids = profiles.profile_ids_by_key(conn, domain_id, key, values)
    return profiles.get_profile(conn, domain_id, ids[0]) if len(ids) == 1 else None


def _domain_id(conn: Connection, campaign: Campaign) -> int | None:
    """The Customer Profiles domain the campaign's source names: its event trigger's, or its segment's."""
    source = campaign.source or {}
    if "eventTrigger" in source:
        domain = profile_domains.find_domain_by_arn(conn, source["eventTrigger"]["customerProfilesDomainArn"])
        return domain.id if domain else None
    if "customerProfilesSegmentArn" in source:
        located = engine_campaigns.segment_of(conn, campaign, source["customerProfilesSegmentArn"])
        return located[0] if located else None
    return None
