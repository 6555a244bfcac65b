"""Campaign wake-ups: starting, snapshotting the segment into participants (again at every refresh),
ending at endTime, dropping what is left when stopped, and completing when nothing is left; and
the release that makes a participant's contacts from its plan when they fall due.

A snapshot plans each reach class among the members entering once, and enters the members in SQL
following their class's plan (store/plans.py).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection

from reachout.domain import contact, participant
from reachout.domain.campaign import PAUSED, RUNNING, STOPPED, Campaign
from reachout.domain.contact import NewContact
from reachout.domain.endpoint import ENDPOINT_FIELDS
from reachout.domain.participant import NewParticipant
from reachout.domain.plan import NewPlan, PlannedContact, first_due
from reachout.domain.schedule import parse_duration
from reachout.engine import compliance, notify
from reachout.engine.planning import Planner
from reachout.store import campaigns as campaign_store
from reachout.store import outbound_requests, plans, profile_domains, work
from reachout.store.segments import get_definition

RELEASE_BATCH = 2000  # participants whose contacts are made in one statement
DROP_BATCH = 2000  # participants whose planned drops are recorded together


def wake(conn: Connection, campaign_id: str, now: datetime) -> None:
    """Does whatever is due for one campaign, then says when to look at it next."""
    campaign = campaign_store.get_campaign_by_id(conn, campaign_id, for_update=True)
    if campaign is None:
        return
    _, next_snapshot = work.campaign_times(conn, campaign_id)
    wake_at = None
    schedule = campaign.schedule
    if campaign.state == STOPPED:
        _drop_remaining(conn, campaign, "the campaign was stopped", now)
    elif campaign.state in (RUNNING, PAUSED) and schedule and now >= schedule.end_time:
        # Paused or not, a campaign ends at its endTime (seeds/002: an expired campaign appears
        # Completed a few moments after expiry).
        _drop_remaining(conn, campaign, f"the campaign ended at its endTime {schedule.end_time.isoformat()}", now)
        _transition(conn, campaign, "complete", now)
        next_snapshot = None
    elif campaign.state == PAUSED:
        wake_at = schedule.end_time if schedule else None  # its refresh waits for ResumeCampaign
    elif campaign.state == RUNNING:
        if schedule and now < schedule.start_time:
            wake_at = schedule.start_time
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
                            next_snapshot_at=next_snapshot if campaign.state in (RUNNING, PAUSED) else None)


def _transition(conn: Connection, campaign: Campaign, action: str, now: datetime) -> None:
    previous = campaign.state
    campaign.transition(action)
    campaign_store.save_campaign(conn, campaign)
    notify.state_changed(conn, campaign, previous, now)


def _nothing_left(conn: Connection, campaign: Campaign) -> bool:
    return (campaign.fed_by_segment and not work.has_open_contacts(conn, campaign.id)
            and not plans.has_unreleased(conn, campaign.id)
            and outbound_requests.pending_count(conn, campaign.id) == 0)


def look_again(conn: Connection, campaigns: Iterable[Campaign | None], now: datetime) -> None:
    """Some of these campaigns' work just ended (requests taken, contacts completed or dropped): those
    fed by a segment are woken to see whether anything is left of them. The others have nothing to
    decide before their endTime, and a wake-up each time would be a write transaction for nothing."""
    work.wake_campaigns(conn, [c.id for c in campaigns if c is not None and c.fed_by_segment], now)


def _drop_remaining(conn: Connection, campaign: Campaign, reason: str, now: datetime) -> None:
    while release(conn, now, campaign.id, RELEASE_BATCH, whenever_due=True):
        pass  # made, to be dropped and explained one by one below
    dropped = work.drop_open_contacts(conn, campaign.id, reason, now)
    notify.suppressed(conn, campaign, [{"campaign_id": campaign.id, "participant_id": c.participant_id,
                                        "contact_id": c.id, "recipient": c.recipient, "channel": c.channel,
                                        "reason": reason, "at": now} for c in dropped], now)
    work.finish_participants(conn, [c.participant_id for c in dropped], now)


def snapshot(conn: Connection, campaign: Campaign, now: datetime) -> int | None:
    """Enters the segment's current members who are not already active in the campaign and whose
    entry limits allow it, each following its reach class's plan. Returns how many entered, None if
    the segment cannot be found."""
    segment_arn = campaign.source["customerProfilesSegmentArn"]
    located = segment_of(conn, campaign, segment_arn)
    if located is None:
        notify.suppressed(conn, campaign, [{"campaign_id": campaign.id, "recipient": "-", "at": now,
                                            "reason": f"the campaign failed: segment {segment_arn} does not exist"}],
                          now)
        return None
    domain_id, definition = located
    planner = Planner(campaign, now, compliance.regime_of(conn, campaign))
    with plans.entering(conn, campaign.id, domain_id, definition) as members:
        classes = members.classes()
        planned = {reach_class: planner.plan(reach) for reach_class, reach in classes.items()}
        snapshot_id = next(work.new_ids())
        plan_ids = _write_plans(conn, campaign.id, snapshot_id, planned, now)
        returning = members.returning()
        entered = members.enter_new(snapshot_id, now) + _reenter(conn, campaign, returning, plan_ids, planned, now)
        dropping = {c: plan_ids[c] for c, its_plan in planned.items() if any(p.due_at is None for p in its_plan)}
        drops = {plan_ids[c]: _class_drops(planned[c], classes[c]) for c in dropping}
        following = members.following(dropping) if dropping else []
        for start in range(0, len(following), DROP_BATCH):  # each drop is a contact, a suppression and an event
            _drop_planned(conn, campaign, following[start:start + DROP_BATCH], drops, planner, now)
    return entered


def segment_of(conn: Connection, campaign: Campaign, arn: str):
    """(domain id, segment groups) of arn:aws:profile:{region}:{account}:domains/{d}/segment-definitions/{s}."""
    parts = arn.split(":", 5)[-1].split("/")
    if len(parts) != 4 or parts[0] != "domains" or parts[2] != "segment-definitions":
        return None
    domain = profile_domains.get_domain(conn, campaign.region, parts[1])
    definition = get_definition(conn, domain.id, parts[3]) if domain else None
    return (domain.id, definition.segment_groups) if definition else None


def _write_plans(conn: Connection, campaign_id: str, snapshot_id: str, planned: dict[str, list[PlannedContact]],
                 now: datetime) -> dict[str, str]:
    """Stores each class's plan; returns reach class -> plan id."""
    ids = work.new_ids()
    new = [NewPlan(id=next(ids), campaign_id=campaign_id, snapshot_id=snapshot_id, reach_class=reach_class,
                   created_at=now, contacts=tuple(its_plan)) for reach_class, its_plan in planned.items()]
    plans.insert_plans(conn, new)
    return {plan.reach_class: plan.id for plan in new}


def _reenter(conn: Connection, campaign: Campaign, returning: list[tuple[str, str]], plan_ids: dict[str, str],
             planned: dict[str, list[PlannedContact]], now: datetime) -> int:
    """Members who were in the campaign before enter again if its entry limits allow; returns how many."""
    if not returning:
        return 0
    limits = campaign.entry_limits_config
    history = work.entry_history(conn, [(campaign.id, profile_id) for profile_id, _ in returning])
    ids = work.new_ids()
    entering: list[NewParticipant] = []
    refused = []
    for profile_id, reach_class in returning:
        entries, last_entry = history.get((campaign.id, profile_id), (0, None))
        refusal = _entry_refusal(limits, entries, last_entry, now)
        if refusal:
            refused.append({"campaign_id": campaign.id, "recipient": profile_id, "reason": refusal, "at": now})
            continue
        release_at = first_due(planned[reach_class])
        entering.append(NewParticipant(
            id=next(ids), campaign_id=campaign.id, profile_id=profile_id, entry=entries + 1,
            state=participant.ACTIVE if release_at else participant.DROPPED, entered_at=now,
            finished_at=None if release_at else now, plan_id=plan_ids[reach_class], release_at=release_at))
    work.insert_participants(conn, entering)
    notify.suppressed(conn, campaign, refused, now)
    return len(entering)


def _class_drops(planned: list[PlannedContact], reach: dict) -> list[PlannedContact] | None:
    """The contacts a class's plan drops, when they are alike for all its members (a channel none
    of whose endpoint fields they have); None when they name each member's own endpoint (an
    unusable one, or the usable one of a recipient without a zone or an opening)."""
    dropped = [p for p in planned if p.due_at is None]
    if any(p.endpoint or any(field in reach["endpoints"] for field in ENDPOINT_FIELDS[p.channel]) for p in dropped):
        return None
    return dropped


def _drop_planned(conn: Connection, campaign: Campaign, members: list[tuple[str, str, str]],
                  drops: dict[str, list[PlannedContact] | None], planner: Planner, now: datetime) -> None:
    """The contacts the plans drop for these (participant id, profile id, plan id), recorded and
    explained member by member; where the plan's drops name the member's own endpoint (`drops` of
    the plan None), planned again from the member's reach."""
    reach = plans.reach_of_profiles(conn, [profile_id for _, profile_id, plan_id in members if drops[plan_id] is None])
    ids = work.new_ids()
    dropped: list[NewContact] = []
    suppressed = []
    for participant_id, profile_id, plan_id in members:
        its_drops = drops[plan_id]
        if its_drops is None:
            its_drops = [p for p in planner.plan(reach[profile_id]) if p.due_at is None]
        for p in its_drops:
            contact_id = next(ids)
            dropped.append(NewContact(
                id=contact_id, campaign_id=campaign.id, participant_id=participant_id, recipient=profile_id,
                channel=p.channel, endpoint=p.endpoint or "", zones=p.zones, attempt=1, state=contact.DROPPED,
                due_at=now, reason=p.reason, created_at=now, completed_at=now))
            suppressed.append({"campaign_id": campaign.id, "participant_id": participant_id, "contact_id": contact_id,
                               "recipient": profile_id, "channel": p.channel, "reason": p.reason, "at": now})
    work.insert_contacts(conn, dropped)
    notify.suppressed(conn, campaign, suppressed, now)


def release(conn: Connection, now: datetime, campaign_id: str, limit: int, *, whenever_due: bool = False) -> int:
    """Makes the contacts of up to `limit` of the campaign's participants from their plans, those
    due by now (or all, whenever due, for a campaign that ends); returns how many participants."""
    chosen = plans.due_for_release(conn, campaign_id, None if whenever_due else now, limit)
    gone = plans.release(conn, chosen, now)
    if gone:
        campaign = campaign_store.get_campaign_by_id(conn, campaign_id)
        notify.suppressed(conn, campaign, [{"campaign_id": campaign_id, "participant_id": c["participant_id"],
                                            "contact_id": c["id"], "recipient": c["recipient"],
                                            "channel": c["channel"], "reason": c["reason"], "at": now}
                                           for c in gone], now)
        work.finish_participants(conn, [c["participant_id"] for c in gone], now)
    return len(chosen)


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
        work.set_campaign_times(conn, campaign.id, wake_at=now,
                                next_snapshot_at=max(start, now) if campaign.fed_by_segment else None)
    elif action in ("stop", "schedule") or (action == "resume" and campaign.fed_by_segment):
        work.set_campaign_times(conn, campaign.id, wake_at=now)
    # A pause needs no wake-up: a paused campaign's wake-up only looks ahead to its endTime, which the
    # wake-up already planned (at a refresh or at endTime) does as well when it comes. Nor does a
    # resume, but of a campaign fed by a segment, whose refresh waited for it: the others' wake-up
    # would find what the planned one (at endTime) finds.
