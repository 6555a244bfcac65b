"""Communication limits under random interleavings of two campaigns: the engine's reservation step
(window, limit check and reservation in one transaction) accepts exactly what a plain sliding-window
reference accepts, and concurrent reservations never exceed a limit."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachout.domain.campaign import Campaign
from reachout.domain.limits import Limit
from reachout.engine.dispatch import Dispatcher
from reachout.store import work
from reachout.store.db import open_database

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def database(backend):
    database = open_database(backend)
    yield database
    database.dispose()


def campaign(limits: list[Limit]) -> Campaign:
    campaign_id = str(uuid.uuid4())
    return Campaign(
        id=campaign_id, arn=f"arn:aws:connect-campaigns:us-east-1:1:campaign/{campaign_id}", region="us-east-1",
        name="limits", connect_instance_id=f"inst-{uuid.uuid4().hex[:8]}", created_at=START,
        channel_subtype_config={"email": {}}, communication_limits_override={
            "instanceLimitsHandling": "OPT_OUT", "allChannelSubtypes": {"communicationLimitsList": [
                {"maxCountPerRecipient": l.max_count, "frequency": l.days, "unit": "DAY"} for l in limits]}})


def contact(owner: Campaign, recipient: str) -> SimpleNamespace:
    return SimpleNamespace(id=str(uuid.uuid4()), campaign_id=owner.id, participant_id=None, recipient=recipient,
                           channel="email", zones=[], endpoint="x@example.com", attempt=1, dispatched_at=None,
                           request_id=None, expires_at=None)


def reference(limits: list[Limit], history: list[datetime], at: datetime) -> bool:
    """One more communication at `at` is allowed when, for every limit, fewer than its maximum
    happened in the `days` before."""
    return all(sum(1 for t in history if t > at - timedelta(days=l.days)) < l.max_count for l in limits)


limits_strategy = st.lists(st.builds(Limit, st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=2,
                           unique_by=lambda l: l.days)
# Each step: which campaign (0/1), which recipient, how many hours after the previous step (often
# exactly a window apart: the boundary is where an off-by-one would hide).
steps_strategy = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2), st.sampled_from([0, 1, 12, 23, 24, 25, 48])), min_size=1,
                          max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limits=limits_strategy, steps=steps_strategy)
def test_reservations_match_the_sliding_window_reference(database, limits, steps):
    campaigns = [campaign(limits), campaign(limits)]
    dispatcher = Dispatcher(database, {}, "test", timedelta(minutes=1), 100)
    people = [uuid.uuid4().hex for _ in range(3)]
    history: dict[str, list[datetime]] = {p: [] for p in people}
    at = START
    for which, person, hours in steps:
        at += timedelta(hours=hours)
        candidate = contact(campaigns[which], people[person])
        expected = reference(limits, history[people[person]], at)
        with database.transaction() as conn:
            accepted = dispatcher._reserve(conn, campaigns[which], [candidate], at)
        assert bool(accepted) == expected, (limits, steps, at)
        if accepted:
            history[people[person]].append(at)


def test_concurrent_reservations_never_exceed_the_limit(database):
    """Two campaigns (threads, separate transactions) race for the same recipients' last allowance."""
    limits = [Limit(2, 1)]
    rivals = [campaign(limits), campaign(limits)]
    dispatcher = Dispatcher(database, {}, "test", timedelta(minutes=1), 100)
    people = [uuid.uuid4().hex for _ in range(5)]
    accepted: list = []
    barrier = threading.Barrier(len(rivals) * 4)

    def race(owner: Campaign) -> None:
        barrier.wait()
        with database.transaction() as conn:
            accepted.extend(dispatcher._reserve(conn, owner, [contact(owner, p) for p in people], START))

    threads = [threading.Thread(target=race, args=(owner,)) for owner in rivals for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_person = {p: sum(1 for c in accepted if c.recipient == p) for p in people}
    assert per_person == {p: 2 for p in people}
    with database.transaction() as conn:
        counted = work.counted_communications(conn, people, START - timedelta(days=1))
    assert {p: len(counted[p]) for p in people} == per_person
