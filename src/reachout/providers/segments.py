"""Customer Profiles: segment definitions, membership, estimates and snapshots."""
from __future__ import annotations

from reachout.clock import Clock
from reachout.store.db import Database


class SegmentsProvider:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
