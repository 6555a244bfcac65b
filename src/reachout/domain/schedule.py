"""A campaign's schedule and the ISO 8601 durations its configuration speaks in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from reachout.domain.errors import DomainError

# The v2 model's Iso8601Duration: days and a time part only (no years or months, which have no
# fixed length).
_DURATION = re.compile(
    r"P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?")


def parse_duration(text: str, what: str) -> timedelta:
    found = _DURATION.fullmatch(text)
    if not found or text in ("P", "PT") or text.endswith("T"):
        raise DomainError(f"{what} '{text}' is not an ISO 8601 duration such as P1D or PT12H")
    days, hours, minutes, seconds, fraction = found.groups()
    try:
        return timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                         seconds=int(seconds or 0) + float(f"0.{fraction or 0}"))
    except OverflowError:
        raise DomainError(f"{what} '{text}' is longer than any campaign could run") from None


def parse_positive_duration(text: str, what: str, *, allow_zero: bool = False) -> timedelta:
    duration = parse_duration(text, what)
    if duration < timedelta(0) or (duration == timedelta(0) and not allow_zero):
        raise DomainError(f"{what} '{text}' must be a {'non-negative' if allow_zero else 'positive'} duration")
    return duration


@dataclass(frozen=True)
class Schedule:
    start_time: datetime
    end_time: datetime
    refresh_frequency: str | None = None

    @classmethod
    def from_view(cls, view: dict) -> Schedule:
        schedule = cls(view["startTime"], view["endTime"], view.get("refreshFrequency"))
        if schedule.end_time <= schedule.start_time:
            raise DomainError("schedule.endTime must be later than schedule.startTime")
        if schedule.refresh_frequency is not None:
            parse_positive_duration(schedule.refresh_frequency, "schedule.refreshFrequency")
        return schedule

    def view(self) -> dict:
        view: dict[str, object] = {"startTime": self.start_time, "endTime": self.end_time}
        if self.refresh_frequency is not None:
            view["refreshFrequency"] = self.refresh_frequency
        return view
