"""A participant: one entry of a recipient into a campaign, from which its contacts are made. It is
active while any of its contacts is open, then exits completed (a contact completed) or dropped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ACTIVE, COMPLETED, DROPPED = "active", "completed", "dropped"


@dataclass(frozen=True, slots=True)
class NewParticipant:
    """A participant as it enters (store/work.py insert_participants writes one row each: its fields
    are the participants table's columns)."""
    id: str
    campaign_id: str
    profile_id: str  # the profile id, or the endpoint of a request without one
    entry: int  # 1 for the first entry, 2 for the next, ...
    state: str  # ACTIVE, or DROPPED when it enters with no contact to make
    entered_at: datetime
    finished_at: datetime | None = None
    plan_id: str | None = None  # entered by a snapshot: its reach class's plan, its contacts made
    release_at: datetime | None = None  # from it when the first falls due
