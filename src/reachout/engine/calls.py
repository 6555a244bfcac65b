"""Calls: what each call is placed with, and what its progress means for its contact.

A campaign's call is placed with the campaign's telephony defaults (defaultOutboundConfig: source
number, answering machine detection, ring timeout) overridden by its outbound request's own
parameters, and with the request's attributes; a call started through the Connect APIs
(StartOutboundVoiceContact, BatchPutContact) with what that call gave. While the call lasts, the
contact stays `sent`, its outcome the last stage the adapter reported and its due time the instant to
ask again; each new stage becomes its contact events (engine/notify.py); when the call is disconnected
its outcome is final: the AnsweringMachineDetectionStatus, or the DisconnectReason of a failed dial
attempt.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from reachout.channels import Outgoing
from reachout.channels.telephony import (ANSWERED, CONNECTED_TO_AGENT, DEFAULT_RING_TIMEOUT, DISCONNECTED, STAGES,
                                         CallProgress, CallState, OutgoingCall)
from reachout.domain.campaign import Campaign
from reachout.domain.outbound_request import OutboundRequest, template_parameters
from reachout.engine import notify
from reachout.store import campaigns as campaign_store
from reachout.store import outbound_requests, work

POLL = timedelta(seconds=1)  # when to ask again about a call whose adapter named no instant
LOST = "FAILED"  # the outcome of a call its adapter has no record of
AFTER_CONTACT_WORK = timedelta(hours=1)  # how long an agent's disposition of a call is waited for


def outgoing_calls(conn: Connection, contacts: list) -> list[OutgoingCall]:
    campaigns = {cid: campaign_store.get_campaign_by_id(conn, cid) for cid in {c.campaign_id for c in contacts}}
    requests = outbound_requests.requests_by_id(conn, [c.request_id for c in contacts if c.request_id])
    return [_call(c, campaigns[c.campaign_id], requests.get(c.request_id)) for c in contacts]


def _call(contact, campaign: Campaign | None, request: OutboundRequest | None) -> OutgoingCall:
    telephony = (campaign.channel_subtype_config if campaign else {}).get("telephony") or {}
    payload = request.payload if request else {}
    own = (payload.get("channelSubtypeParameters") or {}).get("telephony") or {}  # v2 PutOutboundRequestBatch
    setup = {**(telephony.get("defaultOutboundConfig") or {}), **own}
    detection = setup.get("answerMachineDetectionConfig") or {}
    return OutgoingCall(contact.id, contact.id, contact.campaign_id, contact.channel, contact.endpoint, contact.attempt,
                        source_number=setup.get("connectSourcePhoneNumber"),
                        detect_machines=bool(detection.get("enableAnswerMachineDetection")),
                        await_prompt=bool(detection.get("awaitAnswerMachinePrompt")),
                        ring_timeout=setup.get("ringTimeout") or DEFAULT_RING_TIMEOUT,
                        attributes=template_parameters(request.kind, payload) if request else {})


def api_call(contact, message: Outgoing) -> OutgoingCall:
    """The call of a contact started through the Connect APIs (a connect_contacts row): from the
    system endpoint it names, detecting machines if it asked to, within its RingTimeoutInSeconds."""
    options = contact.options
    return OutgoingCall(message.contact_id, message.idempotency_key, message.campaign_id, message.channel,
                        message.endpoint, message.attempt,
                        source_number=(contact.system_endpoint or {}).get("Address"),
                        detect_machines=bool(options.get("amd", True)), await_prompt=bool(options.get("await_prompt")),
                        ring_timeout=options.get("ring_timeout_seconds") or DEFAULT_RING_TIMEOUT,
                        attributes=contact.attributes or {})


@dataclass(frozen=True)
class Progress:
    """What a call's state tells that its contact has not heard yet."""
    new: list[CallProgress]  # stages reached since the one the contact knows
    answered: CallProgress | None  # its ANSWERED stage, new or not
    ended: CallProgress | None  # its DISCONNECTED stage once reached
    stage: str  # the last stage it reached

    @property
    def outcome(self) -> str | None:
        """Once it ended: its AnsweringMachineDetectionStatus, or why the dial attempt failed."""
        if self.ended is None:
            return None
        return self.ended.amd_status or self.ended.disconnect_reason or LOST


def progress_since(known: str | None, state: CallState) -> Progress:
    """The news in `state` for a contact whose outcome is `known` (the last stage it heard of)."""
    last = STAGES.index(known) if known in STAGES else 0
    new = [p for p in state.progress if STAGES.index(p.stage) > last]
    answered = next((p for p in state.progress if p.stage == ANSWERED), None)
    ended = next((p for p in new if p.stage == DISCONNECTED), None)
    return Progress(new, answered, ended, new[-1].stage if new else known)


def follow(conn: Connection, campaign: Campaign, contact, state: CallState | None, now: datetime) -> str | None:
    """Applies what is new in a call's progress; returns its final outcome once it has ended (the
    caller completes the contact), None while it goes on (rescheduled here)."""
    if state is None:
        notify.call_progressed(conn, campaign, contact, [], None, now, lost=True)
        return LOST
    if contact.outcome == DISCONNECTED:  # its agent gave no disposition in time: the call's own outcome
        return progress_since(None, state).outcome
    news = progress_since(contact.outcome, state)
    notify.call_progressed(conn, campaign, contact, news.new, news.answered, now)
    if news.ended is not None:
        if any(p.stage == CONNECTED_TO_AGENT for p in state.progress):
            # An agent talked to them: the agent's disposition, given in after-contact work, is its
            # outcome (engine/agent_desk.py); the call's own outcome if none comes by the deadline.
            work.update_contact(conn, contact.id, outcome=DISCONNECTED, due_at=now + AFTER_CONTACT_WORK,
                                lease_owner=None, lease_until=None)
            return None
        return news.outcome
    work.update_contact(conn, contact.id, outcome=news.stage, due_at=state.next_at or now + POLL, lease_owner=None,
                        lease_until=None)
    return None
