"""Campaign wake-ups: starting, snapshotting the segment into participants (again at every refresh),
ending at endTime, dropping what is left when stopped, and completing when nothing is left.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from reachout.domain.campaign import RUNNING, STOPPED, Campaign
from reachout.domain.schedule import parse_duration
from reachout.engine import notify
from reachout.engine.planning import Planner
from reachout.store import campaigns as campaign_store
from reachout.store import outbound_requests, profile_domains, work
from reachout.store.segments import get_definition, member_reach
from reachout.store.tables import contacts, participants

SNAPSHOT_BATCH = 2000


def wake(conn: Connection, campaign_id: str, now: datetime) -> None:
    """Does whatever is due for one campaign, then says when to look at it next."""
    campaign = campaign_store.get_campaign_by_id(conn, campaign_id, for_update=True)
    if campaign is None:
        return
    _, next_snapshot = work.campaign_times(conn, campaign_id)
    wake_at = None
    if campaign.state == STOPPED:
        _drop_remaining(conn, campaign, "the campaign was stopped", now)
    elif campaign.state == RUNNING:
        schedule = campaign.schedule
        if schedule and now < schedule.start_time:
            wake_at = schedule.start_time
        elif schedule and now >= schedule.end_time:
            _drop_remaining(conn, campaign, f"the campaign ended at its endTime {schedule.end_time.isoformat()}", now)
            _transition(conn, campaign, "complete", now)
            next_snapshot = None
        else:
            if next_snapshot is not None and next_snapshot <= now:
                if snapshot(conn, campaign, now) is None:  # its segment is gone: the campaign fails
                    _transition(conn, campaign, "fail", now)
                    work.set_campaign_times(conn, campaign_id, wake_at=None, next_snapshot_at=None)
                    return
                refresh = schedule.refresh_frequency if schedule else None
                next_snapshot = now + parse_duration(refresh, "refreshFrequency") if refresh else None
            if next_snapshot is None and _nothing_left(conn, campaign):
                _transition(conn, campaign, "complete", now)
            else:
                candidates = [t for t in (next_snapshot, schedule.end_time if schedule else None) if t]
                wake_at = min(candidates) if candidates else None
    work.set_campaign_times(conn, campaign_id, wake_at=wake_at,
                            next_snapshot_at=next_snapshot if campaign.state == RUNNING else None)


def _transition(conn: Connection, campaign: Campaign, action: str, now: datetime) -> None:
    previous = campaign.state
    campaign.transition(action)
    campaign_store.save_campaign(conn, campaign)
    notify.state_changed(conn, campaign, previous, now)


def _nothing_left(conn: Connection, campaign: Campaign) -> bool:
    """Only campaigns fed by a segment finish on their own; others wait for requests until endTime."""
    fed_by_segment = bool((campaign.source or {}).get("customerProfilesSegmentArn"))
    return (fed_by_segment and work.open_contact_count(conn, campaign.id) == 0
            and outbound_requests.pending_count(conn, campaign.id) == 0)


def _drop_remaining(conn: Connection, campaign: Campaign, reason: str, now: datetime) -> None:
    dropped = work.drop_open_contacts(conn, campaign.id, reason, now)
    notify.suppressed(conn, campaign, [{"campaign_id": campaign.id, "participant_id": c.participant_id,
                                        "contact_id": c.id, "recipient": c.recipient, "channel": c.channel,
                                        "reason": reason, "at": now} for c in dropped], now)
    work.finish_participants(conn, [c.participant_id for c in dropped], now)


def snapshot(conn: Connection, campaign: Campaign, now: datetime) -> int | None:
    """Enters the segment's current members who are not already active in the campaign and whose
    entry limits allow it; plans their contacts. Returns how many entered, None if the segment
    cannot be found."""
    segment_arn = campaign.source["customerProfilesSegmentArn"]
    located = segment_of(conn, campaign, segment_arn)
    if located is None:
        notify.suppressed(conn, campaign, [{"campaign_id": campaign.id, "recipient": "-", "at": now,
                                            "reason": f"the campaign failed: segment {segment_arn} does not exist"}],
                          now)
        return None
    domain_id, definition = located
    active = work.active_profiles(conn, campaign.id)
    limits = campaign.entry_limits_config
    planner = Planner(campaign, now)
    entered = 0
    batch: list[tuple[str, dict]] = []
    for member in member_reach(conn, domain_id, definition, SNAPSHOT_BATCH):
        if member[0] in active:
            continue  # a profile is active at most once in a campaign at a time
        batch.append(member)
        if len(batch) >= SNAPSHOT_BATCH:
            entered += _enter(conn, campaign, batch, limits, planner, now)
            batch = []
    return entered + _enter(conn, campaign, batch, limits, planner, now)


def segment_of(conn: Connection, campaign: Campaign, arn: str):
    """(domain id, segment groups) of arn:aws:profile:{region}:{account}:domains/{d}/segment-definitions/{s}."""
    parts = arn.split(":", 5)[-1].split("/")
    if len(parts) != 4 or parts[0] != "domains" or parts[2] != "segment-definitions":
        return None
    domain = profile_domains.get_domain(conn, campaign.region, parts[1])
    definition = get_definition(conn, domain.id, parts[3]) if domain else None
    return (domain.id, definition.segment_groups) if definition else None


def _enter(conn: Connection, campaign: Campaign, members: list[tuple[str, dict]], limits: dict | None,
           planner: Planner, now: datetime) -> int:
    """Enters a batch of (profile id, reach): a participant each, with a contact per channel, planned
    or dropped. Deferred contacts carry their reason on the contact row: recording and announcing
    each of them apart would cost more than planning them (they are the bulk of an evening launch)."""
    if not members:
        return 0
    history = work.entry_history(conn, campaign.id, [profile_id for profile_id, _ in members]) if limits else {}
    ids = work.new_ids()
    new_participants, new_contacts, suppressed = [], [], []
    for profile_id, reach in members:
        entries, last_entry = history.get(profile_id, (0, None))
        refusal = _entry_refusal(limits, entries, last_entry, now)
        if refusal:
            suppressed.append({"campaign_id": campaign.id, "recipient": profile_id, "reason": refusal, "at": now})
            continue
        participant_id = next(ids)
        planned = planner.plan(reach)
        alive = any(p.due_at for p in planned)
        new_participants.append({"id": participant_id, "campaign_id": campaign.id, "profile_id": profile_id,
                                 "entry": entries + 1, "state": "active" if alive else "dropped",
                                 "entered_at": now, "finished_at": None if alive else now})
        for p in planned:
            contact_id = next(ids)
            new_contacts.append({
                "id": contact_id, "campaign_id": campaign.id, "participant_id": participant_id,
                "recipient": profile_id, "channel": p.channel, "endpoint": p.endpoint or "", "zones": p.zones,
                "attempt": 1, "state": work.PLANNED if p.due_at else work.DROPPED, "due_at": p.due_at or now,
                "reason": p.reason, "created_at": now, "completed_at": None if p.due_at else now})
            if p.due_at is None:
                suppressed.append({"campaign_id": campaign.id, "participant_id": participant_id,
                                   "contact_id": contact_id, "recipient": profile_id, "channel": p.channel,
                                   "reason": p.reason, "at": now})
    work.insert_rows(conn, participants, new_participants)
    work.insert_rows(conn, contacts, new_contacts)
    notify.suppressed(conn, campaign, suppressed, now)
    return len(new_participants)


def _entry_refusal(limits: dict | None, entries: int, last_entry: datetime | None, now: datetime) -> str | None:
    if not limits or entries == 0:
        return None
    if limits["maxEntryCount"] and entries >= limits["maxEntryCount"]:  # 0: no maximum
        return f"entry limit: already entered {entries} times (maxEntryCount {limits['maxEntryCount']})"
    interval = parse_duration(limits["minEntryInterval"], "minEntryInterval")
    if last_entry is not None and now - last_entry < interval:
        return (f"entry limit: last entered {last_entry.isoformat()}, less than minEntryInterval "
                f"{limits['minEntryInterval']} ago")
    return None



def on_transition(conn: Connection, campaign: Campaign, action: str, now: datetime, previous: str) -> None:
    """What the engine must do after StartCampaign, PauseCampaign, ResumeCampaign, StopCampaign or a
    schedule change (the campaign already in its new state)."""
    if previous != campaign.state:
        notify.state_changed(conn, campaign, previous, now)
    if action == "start":
        start = campaign.schedule.start_time if campaign.schedule else now
        fed_by_segment = bool((campaign.source or {}).get("customerProfilesSegmentArn"))
        work.set_campaign_times(conn, campaign.id, wake_at=now,
                                next_snapshot_at=max(start, now) if fed_by_segment else None)
    elif action in ("resume", "stop", "schedule"):
        work.set_campaign_times(conn, campaign.id, wake_at=now)
