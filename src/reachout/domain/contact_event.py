"""Contact events in the Amazon EventBridge envelope that Amazon Connect uses (seeds/001), and
Reachout's own events for what Connect never tells: why a recipient was suppressed, and campaign
state changes.

Amazon Connect emits contact events best effort and unordered; Reachout writes each one in the same
transaction as the change it reports and delivers them at least once, in order per contact.
"""
from __future__ import annotations

import random
from datetime import datetime
from functools import lru_cache

from reachout.domain.disposition import AMD_STATUSES, call_result

_random_bits = random.getrandbits

CONTACT_EVENT = "Amazon Connect Contact Event"
CONNECT_SOURCE = "aws.connect"
REACHOUT_SOURCE = "reachout.campaigns"
SUPPRESSION_EVENT = "Reachout Recipient Suppressed"
CAMPAIGN_STATE_EVENT = "Reachout Campaign State Change"

# Reachout channel -> (Connect contact channel, subtype segment attribute)
CONNECT_CHANNELS = {"telephony": ("VOICE", "connect:Telephony"), "sms": ("CHAT", "connect:SMS"),
                    "email": ("EMAIL", "connect:Email"), "whatsApp": ("CHAT", "connect:WhatsApp")}

# Outcomes after which a message contact reached the recipient's system. A call did whenever it has an
# AnsweringMachineDetectionStatus: CONNECTED_TO_SYSTEM "is generated for any of the
# AnsweringMachineDetectionStatus codes" (seeds/001); a dial attempt that failed has only DISCONNECTED.
CONNECTED = {"DELIVERED", "SMS_DELIVERED"}


def envelope(detail_type: str, source: str, account: str, region: str, at: datetime, resources: list[str],
             detail: dict) -> dict:
    return {"version": "0", "id": _event_id(), "detail-type": detail_type, "source": source,
            "account": account, "time": _second(at), "region": region, "resources": resources, "detail": detail}


def _event_id() -> str:
    """A version-4 UUID, as text: uuid.uuid4() takes several times as long, and a campaign emits an
    event or more per recipient. Its bits come from `random` (seeded from os.urandom, and again in a
    forked child): an event id must be unique, not unguessable, and a system call per event cost more
    than the rest of the id."""
    digits = f"{_random_bits(128):032x}"
    return (f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{'89ab'[int(digits[16], 16) & 3]}{digits[17:20]}-"
            f"{digits[20:]}")


@lru_cache(maxsize=1024)
def _second(at: datetime) -> str:
    """An envelope's time (events come in batches that share their instant)."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def _stamp(at: datetime) -> str:
    """A timestamp in milliseconds (cached: a batch's events share a few instants)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def contact_event(event_type: str, *, contact: dict, campaign_id: str | None, instance_id: str, account: str,
                  region: str, at: datetime, outcome: str | None = None, initiation_method: str = "API",
                  amd: bool = True, amd_status: str | None = None, disconnect_reason: str | None = None,
                  reason: str | None = None, connected_at: datetime | None = None,
                  agent_arn: str | None = None) -> dict:
    """One contact event. `contact` has id, channel, system_endpoint (the address the contact centre
    reaches the customer from, tagged aws:connect:systemEndpoint: seeds/001; None when there is
    none), dispatched_at (INITIATED time). For a
    call, the AnsweringMachineDetectionStatus and DisconnectReason come from its outcome unless
    given (no AMD status with detection off, `amd` False); `connected_at` is when it connected to
    the system (DISCONNECTED repeats it). Contacts started through the Connect APIs have no campaign
    and may say in words why they were disconnected (`reason`)."""
    instance_arn = f"arn:aws:connect:{region}:{account}:instance/{instance_id}"
    contact_arn = f"{instance_arn}/contact/{contact['id']}"
    channel, subtype = CONNECT_CHANNELS.get(contact["channel"], ("VOICE", "connect:Telephony"))
    detail: dict = {
        "eventType": event_type, "contactId": contact["id"], "initialContactId": contact["id"],
        "channel": channel, "instanceArn": instance_arn, "initiationMethod": initiation_method,
        "initiationTimestamp": _stamp(contact.get("dispatched_at") or at),
        "segmentAttributes": {"connect:Subtype": {"ValueString": subtype}},
        "tags": {"aws:connect:instanceId": instance_id},
    }
    if contact.get("system_endpoint"):
        detail["tags"]["aws:connect:systemEndpoint"] = contact["system_endpoint"]
    if campaign_id is not None:
        detail["campaign"] = {"campaignId": campaign_id}
    if event_type == "CONNECTED_TO_SYSTEM":
        detail["connectedToSystemTimestamp"] = _stamp(at)
    if event_type == "DISCONNECTED":
        detail["disconnectTimestamp"] = _stamp(at)
        if connected_at is not None:
            detail["connectedToSystemTimestamp"] = _stamp(connected_at)
    if event_type == "CONNECTED_TO_AGENT" and agent_arn:
        detail["agentInfo"] = {"agentArn": agent_arn, "connectedToAgentTimestamp": _stamp(at)}
    if contact["channel"] == "telephony" and outcome is not None and amd_status is None and disconnect_reason is None:
        amd_status, disconnect_reason = call_result(outcome)
    if contact["channel"] == "telephony" and amd_status and amd:
        detail["answeringMachineDetectionStatus"] = amd_status
    if disconnect_reason and event_type == "DISCONNECTED":
        detail["disconnectReason"] = disconnect_reason
    if outcome is not None and event_type == "DISCONNECTED":
        detail["disposition"] = outcome  # Reachout's addition: the outcome the channel reported
    if reason is not None and event_type == "DISCONNECTED":
        detail["reason"] = reason  # Reachout's addition: why it ended without being sent
    return envelope(CONTACT_EVENT, CONNECT_SOURCE, account, region, at, [contact_arn, instance_arn], detail)


def outcome_events(contact: dict, outcome: str, **where) -> list[dict]:
    """The events that report a contact's outcome: connected first when it reached anyone."""
    events = []
    connected = outcome in AMD_STATUSES if contact["channel"] == "telephony" else outcome in CONNECTED
    if connected:
        events.append(contact_event("CONNECTED_TO_SYSTEM", contact=contact, outcome=outcome, **where))
    events.append(contact_event("DISCONNECTED", contact=contact, outcome=outcome, **where))
    return events


def suppression_event(*, campaign_id: str, recipient: str, channel: str | None, reason: str, account: str,
                      region: str, at: datetime, contact_id: str | None = None) -> dict:
    campaign_arn = f"arn:aws:connect-campaigns:{region}:{account}:campaign/{campaign_id}"
    return envelope(SUPPRESSION_EVENT, REACHOUT_SOURCE, account, region, at, [campaign_arn], {
        "campaignId": campaign_id, "profileId": recipient, "channel": channel, "contactId": contact_id,
        "reason": reason})


def campaign_state_event(*, campaign_id: str, state: str, previous: str, account: str, region: str,
                         at: datetime) -> dict:
    campaign_arn = f"arn:aws:connect-campaigns:{region}:{account}:campaign/{campaign_id}"
    return envelope(CAMPAIGN_STATE_EVENT, REACHOUT_SOURCE, account, region, at, [campaign_arn],
                    {"campaignId": campaign_id, "state": state, "previousState": previous})
