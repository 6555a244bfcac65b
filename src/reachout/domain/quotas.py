"""Outbound campaigns service quotas: AWS's defaults, adjustable there, configurable here
(REACHOUT_QUOTA_*, settings.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quotas:
    active_campaigns_per_instance: int = 50  # "Active campaigns per instance"
    campaigns_per_instance: int = 500  # "Total campaigns per instance"
