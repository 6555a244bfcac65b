"""Calling windows: `Window.next_open` against a plain minute-by-minute scan, across DST transitions,
half-hour and 45-minute zones, restricted periods and several candidate zones at once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.window import DAYS, Window
from tests.support import ANCHORS, ZONES, windows

SCAN = timedelta(days=6)


def reference_next_open(window: Window, zones, after: datetime) -> datetime | None:
    """The first instant, `after` itself or a whole minute after it, at which every zone is open."""
    if window.is_open(after, zones):
        return after
    moment = after.replace(second=0, microsecond=0)
    while moment <= after + SCAN:
        moment += timedelta(minutes=1)
        if window.is_open(moment, zones):
            return moment
    return None


@settings(max_examples=120, deadline=None)
@given(config=windows(), zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
       anchor=st.sampled_from(ANCHORS), shift=st.integers(-3000, 3000), seconds=st.integers(0, 59))
def test_next_open_is_the_first_open_minute(config, zones, anchor, shift, seconds):
    window = Window.from_config(config)
    zone_infos = [ZoneInfo(z) for z in zones]
    after = (anchor + timedelta(minutes=shift, seconds=seconds)).replace(tzinfo=timezone.utc)
    expected = reference_next_open(window, zone_infos, after)
    found = window.next_open(after, zone_infos)
    if expected is None:
        assert found is None or found > after + SCAN, (found, after)
    else:
        assert found == expected, (found, expected, after)


def test_intersection_of_two_zones_three_hours_apart():
    window = Window.from_config({"openHours": {"dailyHours": {
        d: [{"startTime": "T09:00", "endTime": "T17:00"}] for d in DAYS[:5]}}})
    new_york, los_angeles = ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")
    monday_early = datetime(2026, 1, 5, 13, 0, tzinfo=timezone.utc)  # 08:00 in New York
    # 09:00 in Los Angeles is 12:00 in New York: the only hours open in both are 12:00-17:00 NY.
    assert window.next_open(monday_early, [new_york, los_angeles]) == datetime(2026, 1, 5, 17, 0, tzinfo=timezone.utc)


def test_a_range_starting_in_the_spring_forward_gap_opens_when_the_clock_jumps():
    window = Window.from_config({"openHours": {"dailyHours": {"SUNDAY": [{"startTime": "T02:30", "endTime": "T05:00"}]}}})
    before = datetime(2026, 3, 8, 5, 0, tzinfo=timezone.utc)  # 00:00 EST on the US change day
    # 02:00-03:00 does not exist that night; 03:00 EDT (07:00 UTC) is the first local time past 02:30.
    assert window.next_open(before, [ZoneInfo("America/New_York")]) == datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc)


def test_restricted_period_end_date_is_exclusive():
    window = Window.from_config({
        "openHours": {"dailyHours": {d: [{"startTime": "T09:00", "endTime": "T17:00"}] for d in DAYS}},
        "restrictedPeriods": {"restrictedPeriodList": [{"startDate": "2026-12-24", "endDate": "2026-12-26"}]}})
    london = ZoneInfo("Europe/London")
    assert window.next_open(datetime(2026, 12, 24, 8, 0, tzinfo=timezone.utc), [london]) == \
        datetime(2026, 12, 26, 9, 0, tzinfo=timezone.utc)


def test_a_window_with_no_open_hours_never_opens():
    window = Window.from_config({"openHours": {"dailyHours": {}}})
    assert window.next_open(datetime(2026, 1, 1, tzinfo=timezone.utc), [ZoneInfo("UTC")]) is None


def test_a_range_repeated_by_the_fall_back_hour_opens_again_in_the_second_pass():
    window = Window.from_config({"openHours": {"dailyHours": {"SUNDAY": [{"startTime": "T01:30", "endTime": "T01:45"}]}}})
    new_york = ZoneInfo("America/New_York")
    first_pass_over = datetime(2026, 11, 1, 5, 50, tzinfo=timezone.utc)  # 01:50 EDT, before the clocks go back
    # The clocks go back at 02:00 EDT to 01:00 EST, so 01:30 comes round again at 06:30 UTC.
    assert window.next_open(first_pass_over, [new_york]) == datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc)
