"""Contact events in the Amazon EventBridge envelope that Amazon Connect uses (seeds/001), and
Reachout's own events for what Connect never tells: why a recipient was suppressed, and campaign
state changes.

Amazon Connect emits contact events best effort and unordered; Reachout writes each one in the same
transaction as the change it reports and delivers them at least once, in order per contact.
"""
from __future__ import annotations

import uuid
from datetime import datetime

CONTACT_EVENT = "Amazon Connect Contact Event"
CONNECT_SOURCE = "aws.connect"
REACHOUT_SOURCE = "reachout.campaigns"
SUPPRESSION_EVENT = "Reachout Recipient Suppressed"
CAMPAIGN_STATE_EVENT = "Reachout Campaign State Change"

# Reachout channel -> (Connect contact channel, subtype segment attribute)
CONNECT_CHANNELS = {"telephony": ("VOICE", "connect:Telephony"), "sms": ("CHAT", "connect:SMS"),
                    "email": ("EMAIL", "connect:Email"), "whatsApp": ("CHAT", "connect:WhatsApp")}

# outcome -> (AnsweringMachineDetectionStatus, disconnectReason) for voice
VOICE_STATUS = {
    "HUMAN_ANSWERED": ("HUMAN_ANSWERED", None), "VOICEMAIL_BEEP": ("VOICEMAIL_BEEP", None),
    "VOICEMAIL_NO_BEEP": ("VOICEMAIL_NO_BEEP", None), "NO_ANSWER": ("AMD_UNANSWERED", None),
    "BUSY": ("SIT_TONE_BUSY", None), "INVALID_NUMBER": ("SIT_TONE_INVALID_NUMBER", "OUTBOUND_DESTINATION_ENDPOINT_ERROR"),
    "FAILED": ("AMD_NOT_APPLICABLE", "OUTBOUND_ATTEMPT_FAILED"), "REJECTED": ("AMD_NOT_APPLICABLE", "OUTBOUND_ATTEMPT_FAILED"),
}
CONNECTED = {"HUMAN_ANSWERED", "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "DELIVERED", "SMS_DELIVERED"}


def envelope(detail_type: str, source: str, account: str, region: str, at: datetime, resources: list[str],
             detail: dict) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": account, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": resources, "detail": detail}


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def contact_event(event_type: str, *, contact: dict, campaign_id: str | None, instance_id: str, account: str,
                  region: str, at: datetime, outcome: str | None = None, initiation_method: str = "API",
                  amd: bool = True, disconnect_reason: str | None = None, reason: str | None = None) -> dict:
    """One contact event. `contact` has id, channel, endpoint, dispatched_at (INITIATED time).
    Contacts started through the Connect APIs have no campaign, may have answering machine detection
    off, and may say why they were disconnected (`disconnect_reason`, and in words `reason`)."""
    instance_arn = f"arn:aws:connect:{region}:{account}:instance/{instance_id}"
    contact_arn = f"{instance_arn}/contact/{contact['id']}"
    channel, subtype = CONNECT_CHANNELS.get(contact["channel"], ("VOICE", "connect:Telephony"))
    detail: dict = {
        "eventType": event_type, "contactId": contact["id"], "initialContactId": contact["id"],
        "channel": channel, "instanceArn": instance_arn, "initiationMethod": initiation_method,
        "initiationTimestamp": _stamp(contact.get("dispatched_at") or at),
        "segmentAttributes": {"connect:Subtype": {"ValueString": subtype}},
        "tags": {"aws:connect:instanceId": instance_id, "aws:connect:systemEndpoint": contact.get("endpoint", "")},
    }
    if campaign_id is not None:
        detail["campaign"] = {"campaignId": campaign_id}
    if event_type == "CONNECTED_TO_SYSTEM":
        detail["connectedToSystemTimestamp"] = _stamp(at)
    if event_type == "DISCONNECTED":
        detail["disconnectTimestamp"] = _stamp(at)
    if contact["channel"] == "telephony" and outcome is not None and amd:
        status, reason = VOICE_STATUS.get(outcome, ("AMD_ERROR", None))
        detail["answeringMachineDetectionStatus"] = status
        if reason and event_type == "DISCONNECTED":
            detail["disconnectReason"] = reason
    if disconnect_reason is not None and event_type == "DISCONNECTED":
        detail["disconnectReason"] = disconnect_reason
    if outcome is not None and event_type == "DISCONNECTED":
        detail["disposition"] = outcome  # Reachout's addition: the outcome the channel reported
    if reason is not None and event_type == "DISCONNECTED":
        detail["reason"] = reason  # Reachout's addition: why it ended without being sent
    return envelope(CONTACT_EVENT, CONNECT_SOURCE, account, region, at, [contact_arn, instance_arn], detail)


def outcome_events(contact: dict, outcome: str, **where) -> list[dict]:
    """The events that report a contact's outcome: connected first when it reached anyone."""
    events = []
    if outcome in CONNECTED:
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
