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


# A call's outcome is its AnsweringMachineDetectionStatus (seeds/001) when it reached the telephone
# network, or the DisconnectReason of a dial attempt whose media connection failed.
AMD_STATUSES = frozenset({
    "HUMAN_ANSWERED", "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "AMD_UNANSWERED", "AMD_UNRESOLVED",
    "AMD_NOT_APPLICABLE", "SIT_TONE_BUSY", "SIT_TONE_INVALID_NUMBER", "SIT_TONE_DETECTED",
    "FAX_MACHINE_DETECTED", "AMD_ERROR",
    "AMD_DISABLED",  # answered, with answering machine detection off: nobody knows who or what answered
})
DIAL_FAILURES = frozenset({"OUTBOUND_DESTINATION_ENDPOINT_ERROR", "OUTBOUND_RESOURCE_ERROR",
                           "OUTBOUND_ATTEMPT_FAILED", "EXPIRED"})

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
    # voice: a voicemail is a communication (seeds/002); a busy line or a call nobody picked up may
    # have rung someone, so it keeps its count; a number that does not exist, a fax, or a call that
    # never rang provably reached nobody.
    "HUMAN_ANSWERED": Disposition("HUMAN_ANSWERED", True),
    "VOICEMAIL_BEEP": Disposition("VOICEMAIL_BEEP", True),
    "VOICEMAIL_NO_BEEP": Disposition("VOICEMAIL_NO_BEEP", True),
    "AMD_DISABLED": Disposition("ANSWERED", True),
    "AMD_UNANSWERED": Disposition("NO_ANSWER", None),
    "AMD_UNRESOLVED": Disposition("AMD_UNRESOLVED", None),
    "AMD_ERROR": Disposition("AMD_ERROR", None),
    "SIT_TONE_BUSY": Disposition("BUSY", None),
    "SIT_TONE_INVALID_NUMBER": Disposition("INVALID_NUMBER", False),
    "SIT_TONE_DETECTED": Disposition("SIT_TONE", False),
    "FAX_MACHINE_DETECTED": Disposition("FAX_MACHINE", False),
    "AMD_NOT_APPLICABLE": Disposition("NOT_CONNECTED", False),
    **{reason: Disposition("DIAL_FAILED", False) for reason in DIAL_FAILURES},
    # agent-assisted calls: a live call no agent took within 2 s, and what the agent said of a call
    # in after-contact work (its outcome and disposition are the code; reattempt rules name it)
    "ABANDONED": Disposition("ABANDONED", True),
    **{code: Disposition(code, True) for code in ("CALLBACK", "NOT_INTERESTED", "SALE", "WRONG_PARTY",
                                                    "DO_NOT_CALL", "RESOLVED")},
    # any channel
    "FAILED": Disposition("FAILED", None),
    "REJECTED": Disposition("REJECTED", False),  # refused by the channel before it left
    "NO_RECEIPT": Disposition("NO_RECEIPT", None),  # handed over; no report came before its deadline
}
NO_RECEIPT = "NO_RECEIPT"
AGENT_DISPOSITIONS = ("CALLBACK", "NOT_INTERESTED", "SALE", "WRONG_PARTY", "DO_NOT_CALL", "RESOLVED")


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


def call_result(outcome: str) -> tuple[str | None, str | None]:
    """(AnsweringMachineDetectionStatus, DisconnectReason) of a call's outcome."""
    if outcome in AMD_STATUSES:
        return outcome, None
    return None, outcome if outcome in DIAL_FAILURES else None
