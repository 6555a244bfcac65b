"""Communication limits: how often one recipient may be contacted, over all campaigns and channels.

This module holds the rules a configuration must obey; counting and reserving comes with the engine.
"""
from __future__ import annotations

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
