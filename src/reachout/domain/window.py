"""Communication time: when, in the recipient's own time, a channel may be used.

This module holds the rules a configuration must obey; evaluating windows against instants comes
with the engine.
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

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
        start, stop = _date(period["startDate"], f"{where}.startDate"), _date(period["endDate"], f"{where}.endDate")
        if stop <= start:
            raise DomainError(f"{where}: endDate {period['endDate']} must be later than startDate "
                              f"{period['startDate']} (the end date is exclusive)")


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{what} '{text}' is not a calendar date in the form 2026-12-24") from None
