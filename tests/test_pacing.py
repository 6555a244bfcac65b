"""Invariants of the pacing module (reachout.domain.pacing), on generated observations, and a short
run of the predictive pacer in the shared dialer bench when it is present."""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.pacing import TALK, WRAP, Observation, Predictive, Progressive

BENCH = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "dialer_bench"))


@st.composite
def days(draw, max_ticks: int = 40):
    """A plausible sequence of observations, one a second: agents, calls in flight, counters."""
    agents = draw(st.integers(0, 30))
    lines = draw(st.integers(0, 6 * max(agents, 1)))
    t, counts, out = 0.0, dict.fromkeys(("live", "machine", "no_answer", "busy", "invalid", "dropped"), 0), []
    for _ in range(draw(st.integers(1, max_ticks))):
        busy = draw(st.lists(st.tuples(st.sampled_from((TALK, WRAP)), st.floats(0, 900)),
                             max_size=agents))
        ringing = draw(st.lists(st.floats(0, 25), max_size=lines))
        classifying = draw(st.integers(0, 3))
        waiting = draw(st.integers(0, 3))
        for key in counts:
            counts[key] += draw(st.integers(0, 4))
        counts["dropped"] = min(counts["dropped"], counts["live"])
        out.append(Observation(
            t=t, agents_logged_in=agents, agents_idle=agents - len(busy), calls_classifying=classifying,
            calls_waiting=waiting, max_lines=lines, dialed=0, est_time_to_live=draw(st.sampled_from((None, 8.0, 12.0))),
            agents=tuple(busy), ringing=tuple(ringing), **counts))
        t += 1.0
    return out


@settings(max_examples=60, deadline=None)
@given(days())
def test_never_more_calls_than_free_lines(observations):
    for pacer in (Predictive(), Progressive()):
        for o in observations:
            n = pacer.decide(o)
            assert isinstance(n, int)
            assert 0 <= n <= max(o.max_lines - o.outstanding, 0)


@settings(max_examples=60, deadline=None)
@given(days(), st.integers(0, 40))
def test_launches_nothing_when_no_agent_can_be_free(observations, ringing):
    pacer = Predictive()
    for o in observations:
        pacer.decide(o)
    # nobody logged in, but lines and a rich history of lives: still nothing to dial for
    empty = Observation(t=observations[-1].t + 1, agents_logged_in=0, agents_idle=0, calls_classifying=0,
                        calls_waiting=0, max_lines=100, live=10_000, no_answer=10_000,
                        ringing=(3.0,) * ringing)
    assert pacer.decide(empty) == 0
    assert Progressive().decide(empty) == 0


@settings(max_examples=60, deadline=None)
@given(days())
def test_progressive_when_the_abandon_budget_is_spent(observations):
    pacer, progressive = Predictive(), Progressive()
    for o in observations:
        spent = Observation(**{**o.__dict__, "dropped": o.live * 2 // 100 + 1})
        assert pacer.budget(spent) <= 0
        assert pacer.decide(spent) == progressive.decide(spent)


@settings(max_examples=60, deadline=None)
@given(days())
def test_same_observations_same_decisions(observations):
    first = [Predictive().decide(o) for o in observations]
    a, b = Predictive(), Predictive()
    assert [a.decide(o) for o in observations] == [b.decide(o) for o in observations]
    assert first[0] == Predictive().decide(observations[0])


def test_dials_ahead_of_agents_about_to_free_up():
    """A learnt day: every agent wraps up, the live rate is 25%. With budget left the pacer dials
    more than one call per idle agent; the same moment with the budget spent is one per idle agent."""
    pacer = Predictive()
    t = 0.0
    for second in range(600):
        wraps = tuple((WRAP, float((second + 3 * i) % 20)) for i in range(8))
        o = Observation(t=t, agents_logged_in=10, agents_idle=2, calls_classifying=0, calls_waiting=0,
                        max_lines=60, live=second * 5, no_answer=second * 15, dropped=0,
                        est_time_to_live=10.0, agents=wraps)
        n = pacer.decide(o)
        t += 1.0
    assert n > 2
    spent = Observation(**{**o.__dict__, "t": t, "dropped": o.live})
    assert pacer.decide(spent) == 2


@pytest.mark.skipif(not os.path.isdir(BENCH), reason="the shared dialer bench is not on this machine")
def test_one_bench_day_within_the_abandon_limit():
    pytest.importorskip("simpy")
    pytest.importorskip("numpy")
    sys.path.insert(0, BENCH)
    try:
        import dialer_bench
    finally:
        sys.path.remove(BENCH)
    day = dialer_bench.run_one(("mid_50_25", "reachout.domain.pacing:Predictive", 0))
    progressive = dialer_bench.run_one(("mid_50_25", "progressive", 0))
    assert day["abandon_rate"] <= 0.03
    assert day["occupancy"] > progressive["occupancy"] + 0.1


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 5_000), st.integers(1, 50))
def test_margin_rises_with_drops_and_falls_with_lives(live, dropped, more):
    """Each drop takes room back, each live earns some: the pacer never pushes harder after a drop."""
    pacer = Predictive()
    o = Observation(t=0.0, agents_logged_in=1, agents_idle=1, calls_classifying=0, calls_waiting=0,
                    max_lines=6, live=live, dropped=dropped)
    z = pacer.margin(o)
    assert pacer.margin(Observation(**{**o.__dict__, "dropped": dropped + more})) >= z
    assert pacer.margin(Observation(**{**o.__dict__, "live": live + more})) <= z
    assert -1.0 <= z <= 6.0
    if live == dropped == 0:
        assert z == pacer.z_start           # a day starts cautious
