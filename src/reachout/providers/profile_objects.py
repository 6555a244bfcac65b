"""Customer Profiles: object types, ingestion of profile objects, profile search and keys."""
from __future__ import annotations

from reachout.clock import Clock
from reachout.store.db import Database


class ProfileObjectsProvider:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock
