"""A plan: the contact each channel of a campaign will make for a recipient entering it (the
endpoint, the recipient's zones, when it falls due or why it is dropped). engine/planning.py makes
them; a snapshot plans each reach class once, stores that plan (NewPlan) and its members follow it
(store/plans.py)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PlannedContact:
    channel: str
    endpoint: str | None
    zones: tuple[str, ...]
    due_at: datetime | None  # None: dropped
    reason: str | None = None  # why dropped, or why deferred past now
    field: str | None = None  # the profile field the endpoint comes from


def first_due(planned: Iterable[PlannedContact]) -> datetime | None:
    """When the first of these contacts falls due; None when every one is dropped."""
    return min((p.due_at for p in planned if p.due_at), default=None)


@dataclass(frozen=True)
class NewPlan:
    """A snapshot's plan for the members of one reach class, as it is stored (store/plans.py
    insert_plans: a plans row, and a plan_contacts row per channel without the endpoint, which each
    member's own profile gives when its contacts are made)."""
    id: str
    campaign_id: str
    snapshot_id: str
    reach_class: str
    created_at: datetime
    contacts: tuple[PlannedContact, ...]

    @property
    def release_at(self) -> datetime | None:
        return first_due(self.contacts)
