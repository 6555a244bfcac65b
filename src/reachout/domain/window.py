"""Communication time: when, in the recipient's own time, a channel may be used.

A window is open at an instant when, in the recipient's zone, the local weekday has an open range
[start, end) holding the local time of day and the local date lies in no restricted period (whose
end date is exclusive). A recipient with several candidate zones may be contacted only when the
window is open in ALL of them. `next_open` computes the first such instant instead of polling.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from reachout.domain.errors import DomainError

_TIME = re.compile(r"T(\d{2}):(\d{2})")
WINDOW_CHANNELS = ("telephony", "sms", "email", "whatsApp")


def minutes_of_day(text: str, what: str, *, end: bool = False) -> int:
    """'T09:30' -> 570. 'T24:00' is allowed as an end: open until midnight."""
    found = _TIME.fullmatch(text)
    if found:
        hours, minutes = int(found.group(1)), int(found.group(2))
        if minutes < 60 and (hours < 24 or (end and hours == 24 and minutes == 0)):
            return hours * 60 + minutes
    raise DomainError(f"{what} '{text}' is not a time of day in the form T09:00")


def check_time_zone(name: str, what: str) -> None:
    # Membership, not ZoneInfo(name): a directory of the database ("America") or a helper file
    # ("posixrules") would otherwise pass or blow up.
    if name not in _zones():
        raise DomainError(f"{what} '{name}' is not an IANA time zone such as America/New_York")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_communication_time(config: dict) -> None:
    local = config["localTimeZoneConfig"]
    if local.get("defaultTimeZone"):
        check_time_zone(local["defaultTimeZone"], "localTimeZoneConfig.defaultTimeZone")
    elif not local.get("localTimeZoneDetection"):
        raise DomainError("localTimeZoneConfig needs a defaultTimeZone or a localTimeZoneDetection: "
                          "without either no recipient has a time zone")
    for channel in WINDOW_CHANNELS:
        if channel in config:
            check_window(config[channel], channel)


def check_window(window: dict, channel: str) -> None:
    for day, ranges in window["openHours"].get("dailyHours", {}).items():
        for i, span in enumerate(ranges, 1):
            where = f"{channel}.openHours.dailyHours.{day}.{i}"
            start = minutes_of_day(span["startTime"], f"{where}.startTime")
            stop = minutes_of_day(span["endTime"], f"{where}.endTime", end=True)
            if stop <= start:
                raise DomainError(f"{where}: endTime {span['endTime']} must be later than startTime "
                                  f"{span['startTime']}")
    for i, period in enumerate((window.get("restrictedPeriods") or {}).get("restrictedPeriodList", []), 1):
        where = f"{channel}.restrictedPeriods.restrictedPeriodList.{i}"
        first, last = _date(period["startDate"], f"{where}.startDate"), _date(period["endDate"], f"{where}.endDate")
        if last <= first:
            raise DomainError(f"{where}: endDate {period['endDate']} must be later than startDate "
                              f"{period['startDate']} (the end date is exclusive)")


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{what} '{text}' is not a calendar date in the form 2026-12-24") from None


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
HORIZON_DAYS = 400  # a window that does not open within this long never opens


@dataclass(frozen=True)
class Window:
    """A channel's open hours (minutes of the day, per weekday 0=Monday) and restricted periods."""

    ranges: tuple[tuple[tuple[int, int], ...], ...]
    restricted: tuple[tuple[date, date], ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> Window:
        """From a TimeWindow config ({"openHours": {"dailyHours": ...}, "restrictedPeriods": ...})."""
        daily = config["openHours"].get("dailyHours", {})
        ranges = tuple(
            tuple(sorted((minutes_of_day(r["startTime"], day), minutes_of_day(r["endTime"], day, end=True))
                         for r in daily.get(day, [])))
            for day in DAYS)
        periods = (config.get("restrictedPeriods") or {}).get("restrictedPeriodList", [])
        return cls(ranges, tuple((date.fromisoformat(p["startDate"]), date.fromisoformat(p["endDate"]))
                                 for p in periods))

    def is_open_in(self, instant: datetime, zone: ZoneInfo) -> bool:
        local = instant.astimezone(zone)
        if any(start <= local.date() < end for start, end in self.restricted):
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.ranges[local.weekday()])

    def is_open(self, instant: datetime, zones: Sequence[ZoneInfo]) -> bool:
        return all(self.is_open_in(instant, zone) for zone in zones)

    def next_open(self, after: datetime, zones: Sequence[ZoneInfo]) -> datetime | None:
        """The first instant >= after at which the window is open in every zone, or None if it does
        not open within HORIZON_DAYS.

        The open set only begins where some zone's local clock reaches a range start, a new date
        (leaving a restricted period) or jumps (a DST transition); those instants, and `after`
        itself, are the only candidates to test.
        """
        if not any(self.ranges):
            return None
        if self.is_open(after, zones):
            return after
        found: datetime | None = None
        found_day = 0
        # Zones' local days overlap in UTC by up to ~26 h, so once a day yields an opening, the
        # next two days of candidates are checked too before answering.
        for day in range(-1, HORIZON_DAYS):
            if found is not None and day > found_day + 2:
                return found
            for candidate in sorted(c for zone in zones for c in self._boundaries(after, zone, day) if c > after):
                if (found is None or candidate < found) and self.is_open(candidate, zones):
                    found, found_day = candidate, day
                    break
        return found

    def _boundaries(self, after: datetime, zone: ZoneInfo, day: int) -> Iterator[datetime]:
        """Instants on the `day`-th local date after `after`'s where this zone's condition may turn
        open: midnight, each range start (both folds, for DST overlaps and gaps), each transition."""
        local_date = after.astimezone(zone).date() + timedelta(days=day)
        starts = {0} | {start for start, _ in self.ranges[local_date.weekday()]}
        for minute in starts:
            wall = time(minute // 60, minute % 60)
            for fold in (0, 1):
                yield datetime.combine(local_date, wall, zone).replace(fold=fold).astimezone(timezone.utc)
        transition = _transition(local_date, zone)
        if transition is not None:
            yield transition


def _transition(local_date: date, zone: ZoneInfo) -> datetime | None:
    """The instant (to the minute) at which the zone's UTC offset changes during this local date."""
    low = datetime.combine(local_date, time(), zone).astimezone(timezone.utc)
    high = datetime.combine(local_date + timedelta(days=1), time(), zone).astimezone(timezone.utc)
    if low.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
        return None
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(minutes=1):  # invariant: offset at high is the new one
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high
