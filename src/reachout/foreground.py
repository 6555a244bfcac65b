"""API calls go first when the engine runs in the same process (`reachout serve`).

The engine thread and the request threads share one interpreter lock and, on SQLite, one write
lock: a pass of the engine that plans hundreds of requests would hold both while API calls wait.
So the engine paces itself: after each unit of its work (a transaction) during which API calls came
in, or just before which one did (RECENT), it pauses for twice as long as that unit took, and at
least MIN_PAUSE. Under steady API load the engine then uses at most a third of the time, and never
stops: its work is only spread out. Without API calls (or in `reachout worker`, which serves none)
it runs flat out.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

GIVE_WAY = 2.0  # pause after a unit of background work, as a multiple of its duration
MAX_PAUSE = 0.1  # seconds: a long unit (a big snapshot) does not stall the engine for long after it
# Seconds: the least pause. Most units under API load are the engine's quick looks for due work
# (a fraction of a millisecond each, a dozen to a pass); paced by their own length alone, they would
# come back so often that looking would cost more CPU than the calls. Spaced out, each pass finds
# several calls' worth of work at once.
MIN_PAUSE = 0.002
# Seconds: a call that started this recently counts as load still going on. A client calling back to
# back leaves gaps between its calls longer than the engine's quick units; without it those units,
# falling between calls, would run unpaced.
RECENT = 0.02
SWITCH_INTERVAL = 0.001  # seconds a thread may keep the interpreter lock while another waits for it
T = TypeVar("T")


class Foreground:
    def __init__(self):
        self._lock = threading.Lock()
        self.in_flight = 0
        self.started = 0  # API calls ever started: tells whether any came during a unit of work
        self.last_started = float("-inf")  # perf_counter() when the latest started
        self._thread = threading.local()

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Around each API call."""
        with self._lock:
            self.in_flight += 1
            self.started += 1
            self.last_started = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    @contextmanager
    def background(self) -> Iterator[None]:
        """Around the whole loop of a background thread (the engine's): its work is paced, and a thread
        that wants the interpreter lock (a request's) gets it after SWITCH_INTERVAL rather than
        Python's default 5 ms, which a request would otherwise wait whenever the engine computes."""
        self._thread.background = True
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
        try:
            yield
        finally:
            self._thread.background = False
            sys.setswitchinterval(previous)

    def carried(self, work: Callable[..., T]) -> Callable[..., T]:
        """`work`, to run on another thread (a pool's) as the calling thread's kind of work: paced when
        the caller is a background thread."""
        background = getattr(self._thread, "background", False)

        def run(*args) -> T:
            self._thread.background = background
            try:
                return work(*args)
            finally:
                self._thread.background = False
        return run

    def under_load(self) -> bool:
        """Whether API calls are being served, or one started within RECENT."""
        return bool(self.in_flight) or time.perf_counter() - self.last_started < RECENT

    @contextmanager
    def paced(self) -> Iterator[None]:
        """Around a unit of work: on a background thread, gives way to API calls afterwards."""
        if not getattr(self._thread, "background", False):
            yield
            return
        started, began = self.started, time.perf_counter()
        yield
        took = time.perf_counter() - began
        if self.started != started or self.under_load():
            time.sleep(min(max(GIVE_WAY * took, MIN_PAUSE), MAX_PAUSE))


FOREGROUND = Foreground()  # one per process: the interpreter lock it arbitrates is per process
