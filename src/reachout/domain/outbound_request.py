"""An outbound request: one recipient handed to a running campaign by PutDialRequestBatch (v1),
PutOutboundRequestBatch or PutProfileOutboundRequestBatch (v2), waiting for the engine.

Intake decides per item: accepted (a new request, or the same one again for a repeated client
token), or refused with a reason. The engine then takes each pending request: it becomes a
participant with contacts (taken), or is recorded as expired or dropped, with the reason.
"""
from __future__ import annotations

import json
import re

import orjson
from dataclasses import dataclass
from datetime import datetime, timedelta

from reachout.domain.campaign import CHANNELS, Campaign

DIAL, OUTBOUND, PROFILE = "dial", "outbound", "profile"
PENDING, TAKEN, EXPIRED, DROPPED = "pending", "taken", "expired", "dropped"
# Seed 000: an event-triggered request expires within 15 minutes at most.
PROFILE_REQUEST_MAX_LIFETIME = timedelta(minutes=15)

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


@dataclass
class OutboundRequest:
    id: str
    campaign_id: str
    kind: str
    client_token: str
    payload: dict
    fingerprint: str
    expires_at: datetime
    status: str
    due_at: datetime
    created_at: datetime


def fingerprint(payload: dict) -> str:
    """What a client token was first used for: a repeat with the same token must ask the same."""
    return json.dumps(payload, sort_keys=True, default=str)


def problem_with(campaign: Campaign, kind: str, item: dict, now: datetime) -> str | None:
    """Why this item cannot be accepted for this campaign, or None."""
    expires = item.get("expirationTime")
    if expires is not None and expires <= now:
        return f"expirationTime {expires.isoformat()} has already passed"
    if kind == DIAL:
        if "telephony" not in campaign.channel_subtype_config:
            return "the campaign has no telephony channel"
        return _phone_problem(item["phoneNumber"])
    if kind == OUTBOUND:
        (channel, parameters), = item["channelSubtypeParameters"].items()
        if channel not in campaign.channel_subtype_config:
            return f"the campaign has no {CHANNELS[channel]} channel configured"
        if channel == "email":
            address = parameters["destinationEmailAddress"]
            return None if _EMAIL.fullmatch(address) else "destinationEmailAddress is not a valid email address"
        return _phone_problem(parameters["destinationPhoneNumber"])
    return None


def expiry(kind: str, item: dict, now: datetime) -> datetime:
    if kind == PROFILE:
        latest = now + PROFILE_REQUEST_MAX_LIFETIME
        return min(item.get("expirationTime") or latest, latest)
    return item["expirationTime"]


def jsonable(item: dict) -> dict:
    """The item as stored: timestamps as ISO 8601 text."""
    try:  # orjson's round trip, some ten times quicker, to the same value
        return orjson.loads(orjson.dumps(item, default=_as_text, option=orjson.OPT_PASSTHROUGH_DATETIME))
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, keys that are not text
        return json.loads(json.dumps(item, default=_as_text))


def _as_text(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _phone_problem(number: str) -> str | None:
    digits = number.replace("-", "")
    return None if _E164.fullmatch(digits) else f"phone number {number} is not in E.164 format (+15555550100)"


def destination(kind: str, payload: dict) -> tuple[str, str] | None:
    """(channel, endpoint) a dial or outbound request names; None for a profile request, whose
    profile holds its endpoints."""
    if kind == DIAL:
        return "telephony", payload["phoneNumber"]
    if kind == OUTBOUND:
        (channel, parameters), = payload["channelSubtypeParameters"].items()
        return channel, parameters.get("destinationEmailAddress") or parameters["destinationPhoneNumber"]
    return None


def template_parameters(kind: str, payload: dict) -> dict[str, str]:
    """The values a request gives its message or call: templateParameters (sms, email, whatsApp),
    attributes (telephony, v1 dial requests, and the event data of a request an event trigger made)."""
    if kind in (DIAL, PROFILE):
        return payload.get("attributes") or {}
    if kind == OUTBOUND:
        (_, parameters), = payload["channelSubtypeParameters"].items()
        return parameters.get("templateParameters") or parameters.get("attributes") or {}
    return {}


def expired_reason(expires_at: datetime) -> str:
    return f"expired: its expirationTime {expires_at.isoformat()} passed before it could be sent"
