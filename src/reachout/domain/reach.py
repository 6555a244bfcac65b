"""A profile's reach: what planning needs to know of a profile, derived once when it is written.

Validating phone numbers and placing them, their exchanges and ZIP codes in time zones is most of
the work of planning a recipient; a profile is written once but planned into every campaign, every
refresh and every reattempt that selects it. So the profile row carries its reach, and planning
applies a campaign's configuration to it (endpoint.choose_endpoint, zones.zones_from) without
touching phonenumbers or zipcodes.

Its class is all of the reach that planning decides on: which endpoint fields the profile has and
whether each is usable, and where its addresses and numbers place it; not the endpoints themselves.
Profiles of one class are planned alike (the same field per channel, the same zones, the same due
time), and a million profiles fall into a few thousand classes: a snapshot plans each class once and
applies the plans to the members in SQL (store/plans.py).
"""
from __future__ import annotations

import hashlib
import json

from reachout.domain.endpoint import checked_endpoints
from reachout.domain.zones import located


def reach_of(profile: dict) -> dict:
    """{"endpoints": {field: [value, usable endpoint or None]}, "addresses": [[zip zones, state zones]],
    "numbers": [exchange zones]}: JSON as it is."""
    return {"endpoints": checked_endpoints(profile), **located(profile)}


def reach_class(reach: dict) -> str:
    """The class of a reach, as 32 hex digits (a digest: the classes themselves are long, and held
    by every profile row)."""
    decided = {"endpoints": {field: bool(usable) for field, (_, usable) in reach["endpoints"].items()},
               "addresses": reach["addresses"], "numbers": reach["numbers"]}
    text = json.dumps(decided, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
