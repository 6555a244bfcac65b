"""A profile's reach: what planning needs to know of a profile, derived once when it is written.

Validating phone numbers and placing them, their exchanges and ZIP codes in time zones is most of
the work of planning a recipient; a profile is written once but planned into every campaign, every
refresh and every reattempt that selects it. So the profile row carries its reach, and planning
applies a campaign's configuration to it (endpoint.choose_endpoint, zones.zones_from) without
touching phonenumbers or zipcodes.
"""
from __future__ import annotations

from reachout.domain.endpoint import checked_endpoints
from reachout.domain.zones import located


def reach_of(profile: dict) -> dict:
    """{"endpoints": {field: [value, usable endpoint or None]}, "addresses": [[zip zones, state zones]],
    "numbers": [exchange zones]}: JSON as it is."""
    return {"endpoints": checked_endpoints(profile), **located(profile)}
