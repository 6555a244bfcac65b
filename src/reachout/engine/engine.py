"""The engine loop: everything due at the clock's instant, until nothing is; on a virtual clock,
every instant at which something falls due inside an advanced span, in time order."""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from reachout import collector
from reachout.channels import Channel
from reachout.channels.telephony import Telephony
from reachout.clock import Clock, VirtualClock
from reachout.engine import campaigns, requests
from reachout.engine.agent_desk import AgentDesk
from reachout.engine.connect_contacts import ConnectContacts
from reachout.engine.dialer import Dialer
from reachout.engine.dispatch import Dispatcher
from reachout.events.bus import EventBus
from reachout.foreground import FOREGROUND
from reachout.store import connect_contacts, outbound_requests, outbox, plans, work
from reachout.store.db import Database

log = logging.getLogger("reachout.engine")
PASS_SPACING = 0.02  # seconds between passes that found work, while API calls are served


class Engine:
    def __init__(self, db: Database, clock: Clock, channels: dict[str, Channel], *, bus: EventBus | None = None,
                 batch: int = 1000, lease: timedelta = timedelta(minutes=2), owner: str | None = None):
        self.db = db
        self.clock = clock
        self.channels = channels
        self.bus = bus
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.dispatcher = Dispatcher(db, channels, self.owner, lease, batch)
        self.connect_contacts = ConnectContacts(db, channels, self.owner, lease, batch)
        telephony = channels.get("telephony")
        self.dialer = Dialer(db, telephony if isinstance(telephony, Telephony) else None, self.dispatcher, self.owner,
                             lease)
        self.dispatcher.paced_elsewhere = self.dialer.paces
        self.dispatcher.yielding = self.yielding
        self.agent_desk = self.dialer.desk = AgentDesk(db, self.dialer.channel, self.dispatcher)
        self._lock = threading.Lock()  # one pass at a time in this process
        collector.rarer()  # a pass allocates tens of thousands of short-lived rows (collector.py)
        self._last_pass: datetime | None = None
        self._due_times = work.when_due({
            "wakeups": [work.NEXT_WAKEUP], "requests": [outbound_requests.NEXT_DUE],
            "contacts": [*work.NEXT_CONTACT_DUE, plans.NEXT_RELEASE], "connect contacts": [connect_contacts.NEXT_DUE],
            **({"events": outbox.NEXT_DUE} if bus is not None else {})})

    def run_due(self) -> int:
        """Does all work due now; returns how many items it handled."""
        with self._lock:
            now = self.clock.now()
            budget = self._budget(now)
            handled_total = 0
            while True:
                # Only the kinds of work due now, found in one read: each step is a write transaction
                # even when it finds nothing, and an API call that wakes a campaign (a pause, a
                # resume) brings a pass or two with it.
                due = {kind for kind, at in self._next_times().items() if at is not None and at <= now}
                handled = self._wake_campaigns(now) if "wakeups" in due else 0
                if "requests" in due:
                    handled += requests.take_due(
                        self.db, now, requests.BATCH_UNDER_LOAD if self.yielding() else requests.BATCH)
                if "contacts" in due:
                    handled += self.dispatcher.dispatch_due(now, budget)
                    budget = {channel: 0 for channel in budget}  # this instant's capacity is spent
                    handled += self.dispatcher.apply_outcomes(now)
                handled += self.dialer.run_due(now)  # (its own tick decides)
                if "connect contacts" in due:
                    handled += self.connect_contacts.run_due(now)
                if self.bus is not None and "events" in due:
                    handled += self.bus.fan_out(now) + self.bus.deliver(now)
                handled_total += handled
                if handled == 0:
                    return handled_total

    def yielding(self) -> bool:
        """Whether other writers wait on the engine's transactions: API calls served by this process, or
        another process writing to the same SQLite file (`reachout ingest`, an import). The engine then
        takes its work in small batches, each holding the write lock briefly."""
        return FOREGROUND.under_load() or self.db.contended()

    def close(self) -> None:
        """Closes the channels (binds, connections, their threads); the engine must be stopped first."""
        self.dispatcher.close()
        for name, channel in self.channels.items():
            close = getattr(channel, "close", None)  # adapters that hold nothing open may have none
            try:
                if close is not None:
                    close()
            except Exception:  # one adapter's trouble must not keep the others open
                log.exception("closing the %s channel failed", name)

    def _budget(self, now: datetime) -> dict[str, int]:
        """Dispatches each channel may take in this pass: its rate times the time since the last
        pass, at most one second's worth (capacity does not pile up while idle), at least one."""
        elapsed = 1.0 if self._last_pass is None else min(max((now - self._last_pass).total_seconds(), 0.0), 1.0)
        self._last_pass = now
        return {name: max(1, int(channel.rate * elapsed)) for name, channel in self.channels.items()}

    def _wake_campaigns(self, now: datetime) -> int:
        handled = 0
        while True:
            with self.db.transaction() as conn:
                # One campaign per transaction; the second one claimed only tells whether to go on,
                # which spares the last, empty transaction.
                due = work.claim_campaign_wakeups(conn, now, limit=2)
                if not due:
                    return handled
                campaigns.wake(conn, due[0], now)
            handled += 1
            if len(due) == 1:
                return handled

    def next_due(self) -> datetime | None:
        found = [t for t in [*self._next_times().values(), self.dialer.next_due()] if t is not None]
        return min(found) if found else None

    def _next_times(self) -> dict[str, datetime | None]:
        """When each kind of work the database holds is next due (None: none is waiting)."""
        with self.db.read() as conn:
            return self._due_times(conn)

    def advance(self, target: datetime) -> int:
        """Virtual clock only: moves to `target`, stopping at every instant where work falls due."""
        assert isinstance(self.clock, VirtualClock)
        handled = self.run_due()
        while (due := self.next_due()) is not None and due <= target:
            now = self.clock.now()
            if due > now:
                self.clock.set(due)
            elif now < target:
                # Work still due after a full pass: this second's capacity is spent.
                self.clock.set(min(target, now + timedelta(seconds=1)))
            else:
                break
            handled += self.run_due()
        if target > self.clock.now():
            self.clock.set(target)
            handled += self.run_due()
        return handled


class EngineThread(threading.Thread):
    """Runs the engine on the system clock in the background of `reachout serve` / `reachout worker`."""

    def __init__(self, engine: Engine, interval: float = 0.2):
        super().__init__(name="reachout-engine", daemon=True)
        self.engine = engine
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        with FOREGROUND.background():  # API calls served by this process go first
            while not self.stopping.is_set():
                try:
                    if self.engine.run_due() == 0:
                        self.stopping.wait(self.interval)
                    elif FOREGROUND.under_load():
                        # A pass costs little when nothing is due, so each call that brings work (a
                        # pause, a batch of requests) would get a pass of its own: spaced, a pass
                        # takes the work of several calls at once.
                        self.stopping.wait(PASS_SPACING)
                except Exception:  # keep the loop alive; the failed work is retried when its lease ends
                    log.exception("engine pass failed")
                    self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)
