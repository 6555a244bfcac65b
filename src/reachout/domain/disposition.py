"""Outcomes of communications, the dispositions they become, and whether the recipient was reached.

A communication that provably never reached the recipient (an invalid number, a bounced email, an
undeliverable SMS) releases its count against the limits; anything uncertain keeps it: Reachout
over-counts, never under-counts.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disposition:
    code: str
    reached: bool | None  # True reached, False provably not, None unknown (counts as reached)


# outcome reported by a channel -> disposition
DISPOSITIONS = {
    # email
    "DELIVERED": Disposition("DELIVERED", True),
    "BOUNCED": Disposition("HARD_BOUNCE", False),
    "DEFERRED_EXPIRED": Disposition("SOFT_BOUNCE", None),
    # sms
    "SMS_DELIVERED": Disposition("DELIVERED", True),
    "SMS_UNDELIVERABLE": Disposition("UNDELIVERABLE", False),
    "SMS_EXPIRED": Disposition("EXPIRED", None),
    # voice (answering machine detection statuses of seeds/001 where they apply)
    "HUMAN_ANSWERED": Disposition("HUMAN_ANSWERED", True),
    "VOICEMAIL_BEEP": Disposition("VOICEMAIL_BEEP", True),
    "VOICEMAIL_NO_BEEP": Disposition("VOICEMAIL_NO_BEEP", True),
    "NO_ANSWER": Disposition("NO_ANSWER", None),
    "BUSY": Disposition("BUSY", None),
    "INVALID_NUMBER": Disposition("INVALID_NUMBER", False),
    # any channel
    "FAILED": Disposition("FAILED", None),
    "REJECTED": Disposition("REJECTED", False),  # refused by the channel before it left
    "NO_RECEIPT": Disposition("NO_RECEIPT", None),  # handed over; no report came before its deadline
}
NO_RECEIPT = "NO_RECEIPT"


def final_outcome(outcome: str | None) -> str:
    """The outcome a contact completes with: the one reported, or NO_RECEIPT when its deadline passed
    without one (it may well have arrived, so it keeps counting against limits)."""
    return outcome or NO_RECEIPT


def disposition_of(outcome: str) -> Disposition:
    return DISPOSITIONS.get(outcome, Disposition(outcome, None))


def overrides(later: str, earlier: str | None) -> bool:
    """Whether an outcome reported after the contact completed replaces the one it completed with:
    a proof it never arrived (a bounce after the relay took the message) beats a hand-over, and any
    report beats having none."""
    if earlier in (None, NO_RECEIPT):
        return True
    return disposition_of(later).reached is False and disposition_of(earlier).reached is not False
