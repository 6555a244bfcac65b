"""A contact in the Connect view (DescribeContact, StopContact, StartOutboundEmailContact): one started
through the Connect contact APIs (origin `api`), or one the campaign engine dispatched (origin
`campaign`), with the same fields.

An API-started contact moves created (an EMAIL contact waiting for StartOutboundEmailContact) ->
pending (due to be handed to its channel) -> dispatching (recorded as handed over) -> sent (waiting
for the outcome; a call while it lasts) -> disconnected.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reachout.domain.errors import DomainError

CREATED, PENDING, DISPATCHING, SENT, DISCONNECTED = "created", "pending", "dispatching", "sent", "disconnected"
API, CAMPAIGN = "api", "campaign"  # origins


@dataclass(frozen=True)
class ConnectContact:
    id: str
    region: str
    account: str
    instance_id: str
    origin: str  # API or CAMPAIGN
    channel: str  # Connect's: VOICE | CHAT | EMAIL
    delivery: str  # the engine channel: telephony | sms | whatsApp | email
    initiation_method: str
    state: str
    initiated_at: datetime
    updated_at: datetime
    customer_endpoint: dict | None = None  # {Type, Address[, DisplayName]}
    system_endpoint: dict | None = None
    flow_id: str | None = None
    campaign_id: str | None = None
    related_contact_id: str | None = None
    name: str | None = None
    description: str | None = None
    attributes: dict | None = None
    segment_attributes: dict | None = None
    options: dict | None = None  # what the sender needs: AMD on/off, email message, ...
    client_token: str | None = None
    dispatched_at: datetime | None = None
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    outcome: str | None = None  # the channel's outcome; a live call's last stage, then its outcome
    disconnect_reason: str | None = None
    amd_status: str | None = None
    reason: str | None = None  # why it ended without being sent (its message could not be made)
    due_at: datetime | None = None  # API-started contacts are work items, claimed by due_at under a lease
    lease_owner: str | None = None
    lease_until: datetime | None = None

    @property
    def live_call(self) -> bool:
        """A call being placed or going on: stopping it owes a hang-up."""
        return self.channel == "VOICE" and self.state in (DISPATCHING, SENT)

    def check_email_startable(self) -> None:
        """StartOutboundEmailContact sends an EMAIL contact CreateContact made, once."""
        if (self.origin, self.channel, self.initiation_method) != (API, "EMAIL", "OUTBOUND"):
            raise DomainError(f"Contact {self.id} is not an EMAIL contact created with InitiationMethod "
                              "OUTBOUND (CreateContact)")
        if self.state != CREATED:
            raise DomainError(f"Contact {self.id} was already started or stopped")
