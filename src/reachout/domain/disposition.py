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
}


def disposition_of(outcome: str) -> Disposition:
    return DISPOSITIONS.get(outcome, Disposition(outcome, None))
