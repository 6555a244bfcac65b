"""Agent-assisted calls: what a campaign's dialer settings mean, how campaigns on one queue share its
agents and lines, when a live call must be abandoned, and what an agent may say about a call.

A telephony campaign whose outboundMode is progressive, predictive or preview dials for the agents
of its connectQueueId (connectcampaignsv2 TelephonyChannelSubtypeConfig):
- bandwidthAllocation (0..1) is the share of the queue's agents the campaign may keep busy; when the
  campaigns on one queue ask for more than all of them, each gets its ask in proportion;
- capacity (0.01..1, default 1) is the campaign's share of the outbound lines among the campaigns on
  the queue, in proportion to theirs;
- preview: the agent sees the contact first (PreviewConfig.timeoutConfig.durationInSeconds); the
  agent dials it, or discards it if agentActions lists DISCARD; when the time runs out it is dialed.

The 2-second rule (Ofcom's persistent misuse policy, the FCC's TCPA safe harbour): a call classified
live must reach an agent within 2 s of the answer, or it is abandoned with a recorded message; under
the UK rule the number is then not called again with answering machine detection for 72 hours.
Pure: no clock, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reachout.domain.disposition import AGENT_DISPOSITIONS
from reachout.domain.errors import DomainError

AGENT_MODES = ("progressive", "predictive", "preview")
DISCARD = "DISCARD"
CONNECT_WINDOW = timedelta(seconds=2)  # from the answer to an agent, or abandoned
ABANDON_BLOCK = timedelta(hours=72)  # no AMD call to an abandoned number for this long
# AMD statuses whose call goes to an agent: a person, or anyone at all when detection is off.
LIVE = frozenset({"HUMAN_ANSWERED", "AMD_DISABLED"})
# Calls in flight at most, per routable agent of the queue (the trunk cap the pacer is clamped to, as
# in the dialer bench): a pacer that misjudges never floods the carrier.
LINES_PER_AGENT = 6
ABANDONED = "ABANDONED"  # the outcome of a live call that found no agent in time
DISCARDED = "discarded by the agent in preview"


@dataclass(frozen=True)
class DialerSettings:
    """One agent-assisted campaign's telephony dialer settings."""
    campaign_id: str
    mode: str  # progressive | predictive | preview
    queue_id: str
    bandwidth: float  # bandwidthAllocation
    capacity: float  # capacity
    detect_machines: bool
    preview_timeout: timedelta | None = None
    agent_actions: frozenset[str] = frozenset()


def dialer_settings(campaign_id: str, channel_subtype_config: dict) -> DialerSettings | None:
    """The campaign's agent-assisted dialer settings; None for an agentless or non-voice campaign."""
    telephony = channel_subtype_config.get("telephony") or {}
    modes = telephony.get("outboundMode") or {}
    mode = next((m for m in AGENT_MODES if m in modes), None)
    if mode is None:
        return None
    config = modes[mode] or {}
    detection = (telephony.get("defaultOutboundConfig") or {}).get("answerMachineDetectionConfig") or {}
    timeout = (config.get("timeoutConfig") or {}).get("durationInSeconds")
    return DialerSettings(campaign_id, mode, telephony.get("connectQueueId") or "",
                          float(config.get("bandwidthAllocation", 1.0)), float(telephony.get("capacity") or 1.0),
                          bool(detection.get("enableAnswerMachineDetection")),
                          timedelta(seconds=timeout) if timeout else None, frozenset(config.get("agentActions") or ()))


@dataclass(frozen=True)
class Share:
    agents: float  # the fraction of the queue's agents the campaign may keep busy
    lines: float  # its fraction of the outbound lines


def queue_shares(campaigns: list[DialerSettings]) -> dict[str, Share]:
    """How the campaigns on one queue share its agents (bandwidthAllocation, scaled down together when
    they add up to more than 1) and lines (capacity, in proportion)."""
    asked = sum(c.bandwidth for c in campaigns)
    scale = 1.0 / asked if asked > 1.0 else 1.0
    lines = sum(c.capacity for c in campaigns) or 1.0
    return {c.campaign_id: Share(c.bandwidth * scale, c.capacity / lines) for c in campaigns}


def share_of(count: int, fraction: float) -> int:
    """A campaign's whole number of `count` agents or lines at `fraction` (never more than there are)."""
    return min(count, int(count * fraction + 1e-9))


def must_abandon(answered_at: datetime, now: datetime) -> bool:
    """A live call still without an agent at `now` has used up its connect window."""
    return now - answered_at >= CONNECT_WINDOW


def offer_expired(offered_at: datetime, timeout: timedelta | None, now: datetime) -> bool:
    return timeout is not None and now - offered_at >= timeout


def abandon_reason(answered_at: datetime) -> str:
    return (f"abandoned: answered live at {answered_at.isoformat()} and no agent was free within "
            f"{CONNECT_WINDOW.seconds} s; the recorded message was played")


def blocked_reason(until: datetime) -> str:
    return (f"deferred: the number had a call abandoned within the last {ABANDON_BLOCK.days * 24} hours; "
            f"no call with answering machine detection before {until.isoformat()}")


def check_disposition(code: str) -> str:
    """An agent's disposition: one of the codes reattempt rules can name (domain/disposition.py)."""
    if code not in AGENT_DISPOSITIONS:
        raise DomainError(f"disposition must be one of {', '.join(AGENT_DISPOSITIONS)}; got {code!r}")
    return code
