"""Channels: one adapter per delivery path behind one small protocol.

The engine records a dispatch (with its idempotency key) before it hands it to a channel, so after a
crash the same dispatch may be handed over again: an adapter must send at most once per key, or (SMTP
and SMPP have no idempotency) make a repeat recognisable as one.

What goes wrong with one message (it cannot be composed or encoded, the library refuses it) is that
message's receipt, with the reason: `send` raises for nothing a single message holds, so one bad
message never costs the others their send or their outcome.
"""
from __future__ import annotations

from collections.abc import Callable
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
    # The rendered message, for adapters that deliver one (`Channel.needs_content`); the simulated
    # carriers need none.
    subject: str | None = None  # email
    text: str | None = None  # email plain-text body, or the SMS text
    html: str | None = None  # email HTML body
    headers: tuple[tuple[str, str], ...] = ()  # email headers the template adds
    sender: str | None = None  # email: source address
    sender_name: str | None = None  # email: its display name
    cc: tuple[tuple[str, str], ...] = ()  # email: (address, display name or "") of each copy recipient
    origination_number: str | None = None  # SMS: the number (or sender id) it comes from


@dataclass(frozen=True)
class Receipt:
    # see reachout.domain.disposition; None: the adapter reports the outcome later through its report
    # callback, and `outcome_at` is then the deadline after which none is waited for
    outcome: str | None
    outcome_at: datetime  # when the outcome becomes known (delivery receipt, call end, bounce)
    reason: str | None = None  # why it failed or was refused, when the adapter knows more than the outcome


# report(contact_id, outcome, at): an outcome an adapter learnt after `send` returned. Adapters call it
# from threads of their own.
Report = Callable[[str, str, datetime], None]


class Channel(Protocol):
    rate: float  # dispatches per second the channel accepts, shared by all running campaigns
    needs_content: bool  # True: every Outgoing must carry its rendered message

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        """Hands a batch over; one receipt per message, in order. A message that cannot be sent gets
        its own receipt (FAILED or REJECTED, with the reason); it never aborts the batch."""

    def close(self) -> None:
        """Releases connections and threads; the engine calls it at shutdown."""


def described(error: BaseException) -> str:
    """An exception as a reason a person can read: its kind and its message."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
