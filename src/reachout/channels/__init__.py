"""Channels: one adapter per delivery path behind one small protocol.

The engine records a dispatch (with its idempotency key) before it hands it to a channel, so after a
crash the same dispatch may be handed over again: an adapter must send at most once per key.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    contact_id: str
    idempotency_key: str
    campaign_id: str
    channel: str  # telephony | sms | email | whatsApp
    endpoint: str  # E.164 number or email address
    attempt: int


@dataclass(frozen=True)
class Receipt:
    outcome: str  # see reachout.domain.disposition
    outcome_at: datetime  # when the outcome becomes known (delivery receipt, call end, bounce)


class Channel(Protocol):
    rate: float  # dispatches per second the channel accepts, shared by all running campaigns

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        """Hands a batch over; one receipt per message, in order."""
