"""Planning: for one profile entering a campaign, the contact each channel will make and when.

Per channel: the endpoint (first valid one in the channel's field order), the recipient's zone(s),
and the first instant the channel's window is open in all of them. A recipient without a usable
endpoint or time zone is dropped for that channel with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from reachout.domain.campaign import Campaign
from reachout.domain.endpoint import endpoint_for
from reachout.domain.window import Window
from reachout.domain.zones import recipient_zones


@dataclass(frozen=True)
class PlannedContact:
    channel: str
    endpoint: str | None
    zones: tuple[str, ...]
    due_at: datetime | None  # None: dropped
    reason: str | None = None  # why dropped


class Planner:
    """Plans contacts for one campaign at one instant; windows and their next openings are cached,
    since thousands of recipients share a handful of zone sets."""

    def __init__(self, campaign: Campaign, now: datetime):
        self.campaign = campaign
        self.now = now
        time_config = campaign.communication_time_config or {}
        self.zone_config = time_config.get("localTimeZoneConfig")
        self.windows = {channel: Window.from_config(time_config[channel])
                        for channel in campaign.channel_subtype_config if channel in time_config}
        self._next_open = lru_cache(maxsize=4096)(self._compute_next_open)

    def plan(self, profile: dict) -> list[PlannedContact]:
        planned = []
        zones = None
        for channel in self.campaign.channel_subtype_config:
            endpoint = endpoint_for(channel, profile)
            if endpoint.address is None:
                planned.append(PlannedContact(channel, None, (), None, endpoint.reason))
                continue
            window = self.windows.get(channel)
            if window is None:  # no communication time for this channel: as soon as published
                planned.append(PlannedContact(channel, endpoint.address, (), self.now))
                continue
            zones = zones or recipient_zones(profile, self.zone_config)
            if zones.reason:
                planned.append(PlannedContact(channel, endpoint.address, (), None, zones.reason))
                continue
            due = self._next_open(channel, zones.names)
            reason = None if due else "the channel's communication time never opens within 400 days"
            planned.append(PlannedContact(channel, endpoint.address, zones.names, due, reason))
        return planned

    def _compute_next_open(self, channel: str, zone_names: tuple[str, ...]) -> datetime | None:
        return self.windows[channel].next_open(self.now, [ZoneInfo(z) for z in zone_names])
