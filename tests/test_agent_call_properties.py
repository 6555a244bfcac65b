"""Rules of agent-assisted calls (domain/agent_call.py) against plain references: how campaigns on
one queue share its agents and lines, the 2-second rule, and a campaign's dialer settings."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.agent_call import (dialer_settings, must_abandon, offer_expired, queue_shares, share_of,
                                        DialerSettings)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

campaigns = st.lists(st.tuples(st.floats(0, 1), st.floats(0.01, 1)), min_size=1, max_size=6)


@given(campaigns, st.integers(0, 200))
@settings(max_examples=300, deadline=None)
def test_campaigns_on_a_queue_never_share_out_more_agents_or_lines_than_there_are(asks, agents):
    found = queue_shares([DialerSettings(f"c{i}", "predictive", "q", bandwidth, capacity, True)
                          for i, (bandwidth, capacity) in enumerate(asks)])
    total_ask = sum(b for b, _ in asks)
    total_capacity = sum(c for _, c in asks)
    for i, (bandwidth, capacity) in enumerate(asks):
        share = found[f"c{i}"]
        # plainly: each gets its ask, unless the asks add up to more than the whole queue, when each
        # gets the same fraction of its ask; lines go by capacity over the sum of capacities
        expected = bandwidth if total_ask <= 1 else bandwidth / total_ask
        assert abs(share.agents - expected) < 1e-9
        assert abs(share.lines - capacity / total_capacity) < 1e-9
    assert sum(s.agents for s in found.values()) <= 1 + 1e-9
    assert sum(share_of(agents, s.agents) for s in found.values()) <= agents
    assert abs(sum(s.lines for s in found.values()) - 1) < 1e-9


@given(st.integers(0, 10_000), st.floats(0, 1))
def test_a_share_is_the_whole_agents_it_covers(count, fraction):
    got = share_of(count, fraction)
    assert 0 <= got <= count
    assert got <= count * fraction + 1e-6 < got + 1 + 1e-6


@given(st.integers(0, 10_000))
def test_a_live_call_is_abandoned_once_it_has_waited_2_seconds(milliseconds):
    now = T0 + timedelta(milliseconds=milliseconds)
    assert must_abandon(T0, now) == (milliseconds >= 2000)
    assert offer_expired(T0, timedelta(seconds=5), now) == (milliseconds >= 5000)
    assert not offer_expired(T0, None, now)


def test_dialer_settings_follow_the_model_shapes():
    def config(mode: dict, **extra) -> dict:
        return {"telephony": {"connectQueueId": "q1", "outboundMode": mode, **extra, "defaultOutboundConfig": {
            "connectContactFlowId": "f", "answerMachineDetectionConfig": {"enableAnswerMachineDetection": True}}}}

    assert dialer_settings("c", config({"agentless": {}})) is None
    assert dialer_settings("c", {"email": {}}) is None
    progressive = dialer_settings("c", config({"progressive": {"bandwidthAllocation": 0.4}}, capacity=0.5))
    assert (progressive.mode, progressive.queue_id, progressive.bandwidth, progressive.capacity,
            progressive.detect_machines) == ("progressive", "q1", 0.4, 0.5, True)
    preview = dialer_settings("c", config({"preview": {"bandwidthAllocation": 1, "timeoutConfig": {
        "durationInSeconds": 45}, "agentActions": ["DISCARD"]}}))
    assert preview.preview_timeout == timedelta(seconds=45) and preview.agent_actions == {"DISCARD"}
    assert preview.capacity == 1.0  # capacity left out: the whole of the lines
