"""A contact: one communication to one recipient on one channel. Its states in the engine and the
contact a campaign makes (NewContact); as Amazon Connect sees it, its channel and how the engine
delivers it, what its endpoints and attributes may be, and how a channel's outcome ends it
(disconnect reason and, for voice, the answering machine detection status).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from reachout.domain.contact_event import CONNECT_CHANNELS
from reachout.domain.disposition import call_result, disposition_of
from reachout.domain.endpoint import valid_number
from reachout.domain.errors import DomainError

# A campaign contact's states: planned (waiting for its window), dispatching (recorded, being handed
# to the channel), sent (waiting for its outcome), then completed or dropped.
PLANNED, DISPATCHING, SENT, COMPLETED, DROPPED = "planned", "dispatching", "sent", "completed", "dropped"
OPEN_STATES = (PLANNED, DISPATCHING, SENT)


@dataclass(frozen=True, slots=True)
class NewContact:
    """A campaign contact as it is made (store/work.py insert_contacts writes one row each: its
    fields are the contacts table's columns, and the columns it leaves out start empty: lease,
    outcome, disposition, dispatch time)."""
    id: str
    campaign_id: str
    participant_id: str | None
    recipient: str  # the profile id, or the endpoint of a request without one
    channel: str
    endpoint: str
    zones: tuple[str, ...]
    attempt: int
    state: str  # PLANNED, or DROPPED with its reason
    due_at: datetime
    reason: str | None  # why dropped, or why deferred past its creation
    created_at: datetime
    completed_at: datetime | None = None  # a contact dropped when made: then
    request_id: str | None = None  # made for an outbound request: the request and its expirationTime
    expires_at: datetime | None = None


# Connect channel of each engine channel (the engine's names are the campaigns' channel subtypes).
CONNECT_CHANNEL = {delivery: channel for delivery, (channel, _) in CONNECT_CHANNELS.items()}
SUBTYPE_OF = {delivery: subtype for delivery, (_, subtype) in CONNECT_CHANNELS.items()}
# StartOutboundChatContact: the connect:Subtype segment attribute says which messaging channel.
CHAT_SUBTYPES = {CONNECT_CHANNELS[d][1]: d for d in ("sms", "whatsApp")}

# Connect's rule for user-defined contact attributes and segment attribute keys.
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SEGMENT_KEY = re.compile(r"[A-Za-z0-9_:-]+")  # system keys carry a namespace: connect:Subtype
MAX_ATTRIBUTE_BYTES = 32768

# How a contact that ended with an outcome was disconnected (the contact trace record's
# DisconnectReason), by disposition code. Reached: the agentless flow ended it.
_REASONS = {
    "HARD_BOUNCE": "OUTBOUND_DESTINATION_ENDPOINT_ERROR", "UNDELIVERABLE": "OUTBOUND_DESTINATION_ENDPOINT_ERROR",
    "INVALID_NUMBER": "OUTBOUND_DESTINATION_ENDPOINT_ERROR", "SOFT_BOUNCE": "EXPIRED", "EXPIRED": "EXPIRED",
}
FLOW_DISCONNECT = "CONTACT_FLOW_DISCONNECT"
NOT_CONNECTED = "OUTBOUND_ATTEMPT_FAILED"
STOPPED_BY_API = "API"
# A contact whose message could not be made (a template that does not render, a sender or number
# missing): ended before anything was sent, as Connect ends one whose resources are not found.
UNSENDABLE = "OUTBOUND_RESOURCE_ERROR"


@dataclass(frozen=True)
class Ending:
    connected: bool
    disconnect_reason: str
    amd_status: str | None


def ending(delivery: str, outcome: str, *, amd: bool) -> Ending:
    """What a channel's outcome makes of the contact. AMD status only for voice with detection on."""
    disposition = disposition_of(outcome)
    connected = disposition.reached is True
    reason = FLOW_DISCONNECT if connected else _REASONS.get(disposition.code, NOT_CONNECTED)
    status = None
    if delivery == "telephony":  # a call's outcome is its AMD status, or why the dial failed
        status, failure = call_result(outcome)
        reason = failure or reason
        status = status if amd else None
    return Ending(connected, reason, status)


def chat_delivery(segment_attributes: dict) -> str:
    """The messaging channel StartOutboundChatContact asks for (seeds/004: connect:Subtype)."""
    subtype = (segment_attributes.get("connect:Subtype") or {}).get("ValueString")
    if subtype not in CHAT_SUBTYPES:
        raise DomainError("SegmentAttributes must carry connect:Subtype with ValueString "
                          f"{' or '.join(CHAT_SUBTYPES)}, not {subtype!r}")
    return CHAT_SUBTYPES[subtype]


def phone_number(text: str, what: str) -> str:
    """A valid E.164 number, as phonenumbers judges it."""
    number = valid_number(text)
    if number is None or number != text:
        raise DomainError(f"{what} {text} is not a valid phone number in E.164 format (+ country code and number)")
    return number


def attributes_problem(attributes: dict | None) -> str | None:
    """Why user-defined attributes cannot be stored on a contact; None if they can."""
    attributes = attributes or {}
    bad = sorted(key for key in attributes if not _ATTRIBUTE_KEY.fullmatch(key))
    if bad:
        return (f"Attribute keys may hold only letters, digits, - and _: {', '.join(repr(k) for k in bad[:5])} "
                "do not")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    if size > MAX_ATTRIBUTE_BYTES:
        return f"Attributes take {size} bytes; a contact holds at most {MAX_ATTRIBUTE_BYTES}"
    return None


def check_attributes(attributes: dict | None) -> None:
    problem = attributes_problem(attributes)
    if problem:
        raise DomainError(problem)


def check_segment_attributes(segment_attributes: dict) -> None:
    bad = sorted(key for key in segment_attributes if not _SEGMENT_KEY.fullmatch(key))
    if bad:
        raise DomainError(f"SegmentAttributes keys may hold only letters, digits, -, _ and a namespace "
                          f"prefix: {', '.join(repr(k) for k in bad[:5])} do not")
