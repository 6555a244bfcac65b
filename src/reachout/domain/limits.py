"""Communication limits: how often one recipient may be contacted, over all campaigns and channels.

The rules a configuration must obey, and the decision whether one more communication fits. Counting
and reserving atomically is the engine's (store) part.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reachout.domain.errors import DomainError


def check_communication_limits(limits: dict | None, where: str) -> None:
    """`limits` is a CommunicationLimits union: {"communicationLimitsList": [...]}."""
    seen: set[tuple[int, str]] = set()
    for limit in (limits or {}).get("communicationLimitsList", []):
        window = (limit["frequency"], limit["unit"])
        if window in seen:
            raise DomainError(f"{where} has two limits over the same window of {limit['frequency']} "
                              f"{limit['unit']}; each window may be limited once")
        seen.add(window)


@dataclass(frozen=True)
class Limit:
    max_count: int
    days: int

    def describe(self) -> str:
        return f"{self.max_count} per {self.days} day{'s' if self.days > 1 else ''}"


def effective_limits(override: dict | None, instance: dict | None) -> tuple[Limit, ...]:
    """The limits one campaign's communications obey: its own override, plus the instance's unless
    the campaign opts out (instanceLimitsHandling OPT_OUT)."""
    override = override or {}
    lists = [(override.get("allChannelSubtypes") or {}).get("communicationLimitsList", [])]
    if override.get("instanceLimitsHandling", "OPT_IN") == "OPT_IN":
        lists.append(((instance or {}).get("allChannelSubtypes") or {}).get("communicationLimitsList", []))
    return tuple(sorted({Limit(l["maxCountPerRecipient"], l["frequency"]) for items in lists for l in items},
                        key=lambda limit: (limit.days, limit.max_count)))


def blocking_limit(limits: tuple[Limit, ...], sent_at: list[datetime], now: datetime) -> Limit | None:
    """The first limit another communication now would exceed, given the instants of the recipient's
    communications that count. Windows roll: a day is the 24 hours before now."""
    for limit in limits:
        since = now - timedelta(days=limit.days)
        if sum(1 for at in sent_at if at > since) >= limit.max_count:
            return limit
    return None
