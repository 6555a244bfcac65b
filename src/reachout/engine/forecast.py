"""A dry run before publishing: the campaign against its current segment, planned exactly as the
engine plans it, dispatched in time order at the simulated carriers' rate, limits counted in memory
on top of the real ledger. Nothing is written: no participant, no contact, no reservation.
"""
from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reachout.channels.simulated import OUTCOMES, outcome_for
from reachout.domain.campaign import Campaign
from reachout.domain.limits import blocking_limit, effective_limits
from reachout.engine import compliance
from reachout.engine.campaigns import segment_of
from reachout.engine.planning import Planner
from reachout.store import instances, work
from reachout.store.db import Database
from reachout.store.segments import member_reach


@dataclass
class Forecast:
    campaign_id: str
    start: datetime
    recipients: int = 0
    contacts: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> how many
    per_hour_utc: Counter = field(default_factory=Counter)  # hour (UTC) -> contacts
    per_local_hour: Counter = field(default_factory=Counter)  # hour of the day, recipient's time -> contacts
    outcomes: Counter = field(default_factory=Counter)
    finish: datetime | None = None

    def view(self) -> dict:
        return {
            "campaignId": self.campaign_id, "start": self.start.isoformat(), "recipients": self.recipients,
            "contacts": self.contacts, "dropped": dict(self.dropped.most_common()),
            "contactsPerHourUtc": {h.isoformat(): n for h, n in sorted(self.per_hour_utc.items())},
            "contactsPerLocalHour": {f"{h:02d}:00": n for h, n in sorted(self.per_local_hour.items())},
            "outcomes": dict(self.outcomes.most_common()),
            "finish": self.finish.isoformat() if self.finish else None,
        }


def forecast(db: Database, campaign: Campaign, start: datetime, *, seed: int = 0, rate: float = 1000.0) -> Forecast:
    result = Forecast(campaign.id, start)
    planned: list[tuple[datetime, str, str, str, tuple[str, ...]]] = []  # (due, recipient, channel, endpoint, zones)
    with db.transaction() as conn:
        located = segment_of(conn, campaign, (campaign.source or {}).get("customerProfilesSegmentArn", ""))
        if located is None:
            result.dropped["the campaign has no segment source that exists"] += 1
            return result
        instance = instances.get_instance(conn, campaign.region, campaign.connect_instance_id) or {}
        limits = effective_limits(campaign.communication_limits_override, instance.get("communication_limits"))
        planner = Planner(campaign, start, compliance.regime_of(conn, campaign))
        for profile_id, reach in member_reach(conn, *located):
            result.recipients += 1
            for contact in planner.plan(reach):
                if contact.due_at is None:
                    result.dropped[_general(contact.reason)] += 1
                else:
                    planned.append((contact.due_at, profile_id, contact.channel, contact.endpoint, contact.zones))
        longest = max((limit.days for limit in limits), default=0)
        counted = work.counted_communications(conn, {p[1] for p in planned}, start - timedelta(days=longest)) \
            if limits else {}
    heapq.heapify(planned)
    free_at: dict[str, datetime] = defaultdict(lambda: start)  # when each channel can take the next one
    step = timedelta(seconds=1 / rate)
    while planned:
        due, recipient, channel, endpoint, zones = heapq.heappop(planned)
        at = max(due, free_at[channel])
        free_at[channel] = at + step
        blocking = blocking_limit(limits, counted.get(recipient, []), at) if limits else None
        if blocking is not None:
            result.dropped[f"communication limit reached: {blocking.describe()}"] += 1
            continue
        counted.setdefault(recipient, []).append(at)
        result.contacts += 1
        result.per_hour_utc[at.replace(minute=0, second=0, microsecond=0)] += 1
        result.per_local_hour[at.astimezone(ZoneInfo(zones[0])).hour if zones else at.hour] += 1
        outcome = outcome_for(seed, channel, endpoint, 1)
        result.outcomes[outcome] += 1
        done = at + OUTCOMES[channel][1]
        result.finish = max(result.finish or done, done)
    return result


def _general(reason: str | None) -> str:
    """Groups reasons that name a particular value ('invalid endpoint: EmailAddress ...')."""
    return (reason or "unknown").split(":")[0]


def plot(result: Forecast, path: str) -> None:
    """Contacts per hour, UTC and the recipients' local time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (utc, local) = plt.subplots(2, 1, figsize=(10, 7))
    hours = sorted(result.per_hour_utc)
    utc.bar(hours, [result.per_hour_utc[h] for h in hours], width=1 / 24, align="edge")
    utc.set_title(f"Campaign {result.campaign_id}: contacts per hour (UTC); finishes {result.finish}")
    local.bar(range(24), [result.per_local_hour.get(h, 0) for h in range(24)])
    local.set_title("Contacts by hour of the day in the recipient's own time")
    local.set_xticks(range(24))
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
