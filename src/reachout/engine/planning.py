"""Planning: for one profile entering a campaign, the contact each channel will make and when.

Per channel: the endpoint (first valid one in the channel's field order), the recipient's zone(s),
and the first instant the channel's window is open in all of them. A recipient without a usable
endpoint or time zone is dropped for that channel with the reason.

A campaign under a compliance regime (domain/regime.py) calls only within the regime's hours too:
its telephony window is the intersection, and a recipient's local time is found from the phone
number when the campaign names no time zone rule. `hold` applies the regime's per-subject caps
and redial blocks to one planned call.

Planning works from the profile's reach (domain/reach.py), derived when the profile was written:
validating and placing phone numbers is most of the work, and it is done once per profile, not once
per campaign and refresh.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from reachout.domain.campaign import Campaign
from reachout.domain.endpoint import choose_endpoint
from reachout.domain.plan import PlannedContact
from reachout.domain.regime import Regime
from reachout.domain.window import HORIZON_DAYS, Window
from reachout.domain.zones import zones_from


class Planner:
    """Plans contacts for one campaign at one instant; windows and their next openings are cached,
    since thousands of recipients share a handful of zone sets."""

    def __init__(self, campaign: Campaign, now: datetime, regime: Regime | None = None):
        self.campaign = campaign
        self.now = now
        time_config = campaign.communication_time_config or {}
        self.zone_config = time_config.get("localTimeZoneConfig")
        self.channels = tuple(campaign.channel_subtype_config)
        self.windows = {channel: Window.from_config(time_config[channel])
                        for channel in self.channels if channel in time_config}
        self.regime = regime
        if regime is not None and "telephony" in self.channels:
            window = regime.window(self.windows.get("telephony"))
            if window is not None:
                self.windows["telephony"] = window
                # the regime's hours are the recipient's: without a zone rule, find it from the number
                self.zone_config = self.zone_config or {"localTimeZoneDetection": ["AREA_CODE"]}
        self._opening = lru_cache(maxsize=4096)(self._compute_opening)

    def plan(self, reach: dict) -> list[PlannedContact]:
        planned = []
        zones = None
        for channel in self.channels:
            endpoint = choose_endpoint(channel, reach["endpoints"])
            if endpoint.address is None:
                planned.append(PlannedContact(channel, None, (), None, endpoint.reason))
                continue
            if channel not in self.windows:  # no communication time for this channel: as soon as published
                planned.append(PlannedContact(channel, endpoint.address, (), self.now, None, endpoint.field))
                continue
            zones = zones or zones_from(reach, self.zone_config)
            if zones.reason:
                planned.append(PlannedContact(channel, endpoint.address, (), None, zones.reason, endpoint.field))
                continue
            due, reason = self._opening(channel, zones.names)
            planned.append(PlannedContact(channel, endpoint.address, zones.names, due, reason, endpoint.field))
        return planned

    def _compute_opening(self, channel: str, zone_names: tuple[str, ...]) -> tuple[datetime | None, str | None]:
        """(due, reason) for a channel's contact with recipients in these zones."""
        due = self.windows[channel].next_open(self.now, [ZoneInfo(z) for z in zone_names])
        if due is None and len(zone_names) > 1:  # each zone's window may open, never all of them at once
            return None, (f"no instant open in all of {', '.join(zone_names)} (the recipient's candidate time "
                          f"zones) within {HORIZON_DAYS} days of the channel's communication time")
        if due is None:
            return None, f"the channel's communication time never opens in {zone_names[0]} within {HORIZON_DAYS} days"
        if due > self.now:
            return due, f"deferred: communication time closed until {due.isoformat()}{self._regime_note(channel)}"
        return due, None

    def _regime_note(self, channel: str) -> str:
        """What the regime adds to a channel's window, for the reasons that window gives."""
        return self.regime.hours_note() if self.regime is not None and channel == "telephony" else ""

    def hold(self, planned: PlannedContact, calls: list[datetime], abandons: list[datetime], *,
             amd: bool = True) -> PlannedContact:
        """A planned call deferred by the regime's per-subject cap and redial blocks, given the
        subject's earlier calls and abandoned calls, to the next instant its window is open after
        them, with the regime's reason."""
        if self.regime is None or planned.channel != "telephony" or planned.due_at is None:
            return planned
        free, reason = self.regime.hold(calls, abandons, planned.due_at, amd=amd)
        if free is None:
            return planned
        window = self.windows.get("telephony")
        due = window.next_open(free, [ZoneInfo(z) for z in planned.zones]) if window and planned.zones else free
        if due is None:
            return replace(planned, due_at=None, reason=f"{reason}; the communication time then never opens "
                                                         f"within {HORIZON_DAYS} days")
        return replace(planned, due_at=due, reason=reason)
