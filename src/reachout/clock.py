"""Time, from one place. The engine asks a Clock; tests, demos and forecasts hand it a virtual one."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The machine's wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class VirtualClock:
    """A clock that moves only when told to: a week of campaign time runs in seconds."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("a virtual clock starts at a timezone-aware instant")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        """Moves forward to `instant`; never backwards (work already done stays done)."""
        with self._lock:
            if instant < self._now:
                raise ValueError(f"the virtual clock cannot go back from {self._now} to {instant}")
            self._now = instant

    def advance(self, seconds: float) -> datetime:
        self.set(self.now() + timedelta(seconds=seconds))
        return self.now()
