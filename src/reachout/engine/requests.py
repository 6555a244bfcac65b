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
from reachout.domain.regime import Regime
from reachout.engine import campaigns as engine_campaigns
from reachout.engine import compliance, notify
from reachout.engine.planning import Planner
from reachout.store import campaigns as campaign_store
from reachout.store import outbound_requests, profile_domains, profiles, work
from reachout.store.db import Database

# Requests taken per transaction: the write lock is held while they are planned, and API writes (and
# `reachout ingest` beside the server) queue behind it, so a small batch keeps their wait short.
BATCH = 25
# While API calls are served: a request batch arriving during a take waits for it, and with 25
# requests a take held the lock long enough to triple PutOutboundRequestBatch's p99 (1 client thread).
BATCH_UNDER_LOAD = 8


def take_due(db: Database, now: datetime, batch: int = BATCH) -> int:
    """Takes every request due now; returns how many."""
    taken = 0
    known = _Campaigns()
    while True:
        with db.transaction() as conn:
            claimed = outbound_requests.claim_due(conn, now, batch)
            _take(conn, claimed, now, known)
        taken += len(claimed)
        if len(claimed) < batch:
            return taken


class _Campaigns:
    """What a pass looks up once per campaign, however many batches its requests come in: the
    profile domain its source names and its regime. (Its state is read in each batch.)"""

    def __init__(self):
        self._domains: dict[str, int | None] = {}
        self._regimes: dict[str, Regime | None] = {}

    def domain_id(self, conn: Connection, campaign: Campaign) -> int | None:
        if campaign.id not in self._domains:
            self._domains[campaign.id] = _domain_id(conn, campaign)
        return self._domains[campaign.id]

    def planner(self, conn: Connection, campaign: Campaign, now: datetime) -> Planner:
        if campaign.id not in self._regimes:
            self._regimes[campaign.id] = compliance.regime_of(conn, campaign)
        return Planner(campaign, now, self._regimes[campaign.id])


def _take(conn: Connection, claimed: list[requests.OutboundRequest], now: datetime, known: _Campaigns) -> None:
    """A batch of requests, whatever their campaigns: decided request by request, written together
    (a batch of an event trigger's firings is typically one request for each of many campaigns)."""
    by_campaign: dict[str, list[requests.OutboundRequest]] = defaultdict(list)
    for request in claimed:
        by_campaign[request.campaign_id].append(request)
    campaigns = campaign_store.campaigns_by_id(conn, by_campaign)
    profiles_of = _profiles(conn, {campaign_id: (known.domain_id(conn, campaigns[campaign_id]), group)
                                   for campaign_id, group in by_campaign.items()})
    settled: dict[str, list[str]] = defaultdict(list)  # status -> request ids
    suppressed: dict[str, list[dict]] = defaultdict(list)  # campaign id -> its suppressions
    entering = []
    for campaign_id, group in by_campaign.items():
        campaign = campaigns[campaign_id]
        planner = known.planner(conn, campaign, now)
        domain_id = known.domain_id(conn, campaign)
        for request in group:
            recipient, profile, channel = _recipient(conn, domain_id, request, profiles_of)
            if request.expires_at <= now:
                status, reason = requests.EXPIRED, requests.expired_reason(request.expires_at)
            elif campaign.state != RUNNING:
                status, reason = requests.DROPPED, f"the campaign is {campaign.state}: the request was never sent"
            elif profile is None:
                status, reason = requests.DROPPED, f"profile {recipient} was not found in the campaign's profile domain"
            else:
                planned = [p for p in planner.plan(reach_of(profile)) if channel is None or p.channel == channel]
                if planned:
                    entering.append((campaign, request, recipient, planned))
                    settled[requests.TAKEN].append(request.id)
                    continue
                status, reason = requests.DROPPED, f"the campaign has no {channel} channel any more"
            settled[status].append(request.id)
            suppressed[campaign_id].append({"campaign_id": campaign_id, "recipient": recipient, "channel": channel,
                                            "reason": reason, "at": now})

    history = work.entry_history(conn, [(campaign.id, recipient) for campaign, _, recipient, _ in entering])
    new_participants: list[NewParticipant] = []
    new_contacts: list[NewContact] = []
    for campaign, request, recipient, planned in entering:
        entries, last = history.get((campaign.id, recipient), (0, None))
        history[(campaign.id, recipient)] = (entries + 1, now)  # a batch may hold several requests for one recipient
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
                suppressed[campaign.id].append({**where, "reason": p.reason})
            elif p.due_at > now:
                later = "" if p.due_at < request.expires_at else \
                    f", after its expirationTime {request.expires_at.isoformat()}: it will expire unsent"
                suppressed[campaign.id].append({**where, "reason": f"deferred: communication time closed until "
                                                                   f"{p.due_at.isoformat()}{later}"})
    work.insert_participants(conn, new_participants)
    work.insert_contacts(conn, new_contacts)
    for campaign_id, rows in suppressed.items():
        notify.suppressed(conn, campaigns[campaign_id], rows, now)
    for status, ids in settled.items():
        outbound_requests.set_status(conn, ids, status)
    # A segment campaign fed requests as well looks again at whether anything is left.
    engine_campaigns.look_again(conn, campaigns.values(), now)


def _profiles(conn: Connection, groups: dict[str, tuple[int | None, list[requests.OutboundRequest]]]
              ) -> dict[int, dict[str, dict]]:
    """Domain id -> profile id -> profile, of the profile requests in these campaigns' groups: one
    read per domain."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for domain_id, group in groups.values():
        if domain_id is not None:
            wanted[domain_id].update(r.payload["profileId"] for r in group
                                     if requests.destination(r.kind, r.payload) is None)
    return {domain_id: profiles.get_profiles(conn, domain_id, ids) for domain_id, ids in wanted.items() if ids}


def _recipient(conn: Connection, domain_id: int | None, request: requests.OutboundRequest,
               profiles_of: dict[int, dict[str, dict]]):
    """(recipient, profile to plan with or None if it cannot be found, channel or None for all);
    `profiles_of`: the profiles of profile requests, read beforehand (`_profiles`)."""
    found = requests.destination(request.kind, request.payload)
    if found is None:
        profile_id = request.payload["profileId"]
        return profile_id, profiles_of.get(domain_id, {}).get(profile_id), None
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
