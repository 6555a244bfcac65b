"""Compliance regimes: the calling rules of a jurisdiction, as a policy a voice campaign selects.

Amazon Connect has no such setting, so the wire shapes stay AWS's: a campaign selects a regime with
the tag `reachout:compliance-regime` (US, UK, FL or OK; no tag, no regime). A regime gives
- its calling window in the recipient's local time, intersected with the campaign's own
  communication time (`window`);
- its abandon-rate measure over its period, a pure function of the calls' outcome records
  (`abandon_rate`), and the limit the pacer keeps under (`abandon_limit`, `amd_false_positive`);
- its per-subject call cap and its redial blocks (`hold`), each with the reason it defers a call.

The rules (the campaign's own hours and limits still apply on top):
- US (FTC Telemarketing Sales Rule, FCC): at most 3% of live-answered calls abandoned per campaign
  over 30 days; a live call gets an agent within 2 s or is abandoned with the recorded message;
  calls between 8:00 and 21:00 in the recipient's time.
- UK (Ofcom): at most 3% abandoned over any 24 h, counting a reasoned estimate of AMD false
  positives (people the detector took for machines and hung up on); after an abandoned call the
  number is not called again with answering machine detection for 72 h. No statutory hours.
- FL / OK (Florida and Oklahoma telephone solicitation acts, on top of the federal rules): at most 3
  calls per 24 h to a subject; calls between 8:00 and 20:00 in the recipient's time.

Abandoned, as the regulators count it: a call answered by a person (or, with detection off, by
anyone: the dialer cannot tell and puts it through) that never reached an agent. The measure is for
agent-assisted campaigns; an agentless call is never waiting for an agent.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from reachout.domain.errors import DomainError
from reachout.domain.window import Window

REGIME_TAG = "reachout:compliance-regime"

# A call's outcome as the abandon measure sees it (calls nobody answered are not records).
LIVE, ABANDONED, MACHINE = "LIVE", "ABANDONED", "MACHINE"
LIVE_STATUSES = frozenset({"HUMAN_ANSWERED", "AMD_DISABLED"})  # answered, and put through to an agent
MACHINE_STATUSES = frozenset({"VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP"})


@dataclass(frozen=True)
class CallRecord:
    """One answered call of a campaign, as the regime counts it."""
    at: datetime                # when it was answered (connected to the system)
    outcome: str                # LIVE (live-answered, reached an agent), ABANDONED, MACHINE (AMD said so)
    amd: bool = True            # answering machine detection was on: false positives are possible
    subject: str | None = None  # whom it called, where known


@dataclass(frozen=True)
class Regime:
    name: str                               # the tag's value
    title: str                              # in reasons
    hours: tuple[int, int] | None           # open [start, end) minutes of the local day, every day
    abandon_limit: float                    # abandoned / live-answered, over abandon_period
    abandon_period: timedelta
    amd_false_positive: float = 0.0         # the estimate counted into the rate, per live-answered AMD call
    connect_window: float = 2.0             # seconds from live to agent, else abandoned
    calls_per_subject: int | None = None    # at most this many calls to a subject per cap_period
    cap_period: timedelta = timedelta(hours=24)
    no_amd_after_abandon: timedelta | None = None   # no AMD call to an abandoned subject for this long

    # -- the calling window --------------------------------------------------------------------
    def window(self, campaign_window: Window | None) -> Window | None:
        """The campaign's window cut to the regime's hours (None: no window at all)."""
        if self.hours is None:
            return campaign_window
        start, end = self.hours
        if campaign_window is None:
            return Window(((self.hours,),) * 7)
        ranges = tuple(
            tuple((max(s, start), min(e, end)) for s, e in day if max(s, start) < min(e, end))
            for day in campaign_window.ranges)
        return Window(ranges, campaign_window.restricted)

    def hours_note(self) -> str:
        """What the regime adds to the reason a call waits for its window ("" without hours)."""
        if self.hours is None:
            return ""
        start, end = self.hours
        return (f" (cut to the {self.title} regime's calling hours, {start // 60:02d}:{start % 60:02d} to "
                f"{end // 60:02d}:{end % 60:02d} recipient time)")

    # -- the abandon rate ----------------------------------------------------------------------
    def abandon_rate(self, records: Iterable[CallRecord], now: datetime) -> float:
        """The regime's abandon rate over its period ending at `now` (records answered in
        (now - period, now]): abandoned, plus the AMD false-positive estimate, over live-answered.
        No live-answered call: 0."""
        since = now - self.abandon_period
        live = abandoned = with_amd = 0
        for r in records:
            if since < r.at <= now and r.outcome != MACHINE:
                live += 1
                abandoned += r.outcome == ABANDONED
                with_amd += r.amd
        if not live:
            return 0.0
        return (abandoned + self.amd_false_positive * with_amd) / live

    def within_limit(self, records: Iterable[CallRecord], now: datetime) -> bool:
        return self.abandon_rate(records, now) <= self.abandon_limit

    def worst_abandon_rate(self, records: Iterable[CallRecord], start: datetime, end: datetime) -> float:
        """The highest `abandon_rate` over periods ending in [start, end] ("3% over any 24 h").

        The rate only changes where a record enters the period (its time) or leaves it (its time
        plus the period), so those instants and `start` are the only ones to measure; prefix
        counts over the records in time order make each measure two binary searches."""
        answered = sorted((r.at, r.outcome == ABANDONED, r.amd) for r in records if r.outcome != MACHINE)
        times = [at for at, _, _ in answered]
        lost, amd = [0], [0]
        for _, abandoned, with_amd in answered:
            lost.append(lost[-1] + abandoned)
            amd.append(amd[-1] + with_amd)
        worst = 0.0
        for moment in {start, *times, *(t + self.abandon_period for t in times)}:
            if not start <= moment <= end:
                continue
            lo, hi = bisect_right(times, moment - self.abandon_period), bisect_right(times, moment)
            if hi > lo:
                rate = (lost[hi] - lost[lo] + self.amd_false_positive * (amd[hi] - amd[lo])) / (hi - lo)
                worst = max(worst, rate)
        return worst

    # -- caps and blocks -----------------------------------------------------------------------
    def hold(self, calls: Sequence[datetime], abandons: Sequence[datetime], now: datetime, *,
             amd: bool = True) -> tuple[datetime | None, str | None]:
        """Whether a call to a subject may be placed at `now`, given the subject's earlier calls
        (dial times) and abandoned calls: (None, None) if so, else (the first instant it may, the
        reason). `amd`: the call would use answering machine detection."""
        due, reason = now, None
        if self.calls_per_subject is not None:
            recent = sorted(t for t in calls if now - self.cap_period < t <= now)
            if len(recent) >= self.calls_per_subject:
                # the cap frees when enough of the recent calls are a period old
                free = recent[len(recent) - self.calls_per_subject] + self.cap_period
                if free > due:
                    due, reason = free, (
                        f"deferred: the {self.title} regime allows at most {self.calls_per_subject} calls per "
                        f"{_hours(self.cap_period)} to a recipient; the next is allowed at {free.isoformat()}")
        if amd and self.no_amd_after_abandon is not None:
            recent = [t for t in abandons if now - self.no_amd_after_abandon < t <= now]
            if recent:
                free = max(recent) + self.no_amd_after_abandon
                if free > due:
                    due, reason = free, (
                        f"deferred: the {self.title} regime forbids calling with answering machine detection "
                        f"within {_hours(self.no_amd_after_abandon)} of an abandoned call (at "
                        f"{max(recent).isoformat()}); allowed again at {free.isoformat()}")
        return (None, None) if reason is None else (due, reason)


def _hours(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 3600)} h"


US = Regime("US", "US", (8 * 60, 21 * 60), 0.03, timedelta(days=30))
UK = Regime("UK", "UK", None, 0.03, timedelta(hours=24), amd_false_positive=0.01,
            no_amd_after_abandon=timedelta(hours=72))
FL = Regime("FL", "Florida", (8 * 60, 20 * 60), 0.03, timedelta(days=30), calls_per_subject=3)
OK = Regime("OK", "Oklahoma", (8 * 60, 20 * 60), 0.03, timedelta(days=30), calls_per_subject=3)
REGIMES = {r.name: r for r in (US, UK, FL, OK)}


def regime_from_tags(tags: dict[str, str]) -> Regime | None:
    """The regime a campaign's tags select; DomainError for a value that names none."""
    name = tags.get(REGIME_TAG)
    if name is None:
        return None
    if name not in REGIMES:
        raise DomainError(f"tag {REGIME_TAG} '{name}' names no compliance regime: one of {', '.join(REGIMES)}")
    return REGIMES[name]


# -- outcome records from the contact event stream ----------------------------------------------
def call_records(events: Iterable[dict], campaign_id: str | None = None) -> list[CallRecord]:
    """The answered calls among contact events (seeds/001 envelopes, any order, duplicates
    allowed), of one campaign if given: answered at CONNECTED_TO_SYSTEM; live or machine per the
    AnsweringMachineDetectionStatus (or, in events that leave it out, the DISCONNECTED disposition);
    a live call is abandoned once DISCONNECTED without ever CONNECTED_TO_AGENT."""
    answered: dict[str, datetime] = {}
    status: dict[str, str] = {}           # the AMD status, where an event states it
    seen: dict[str, set[str]] = defaultdict(set)
    for event in events:
        detail = event.get("detail") or {}
        if event.get("detail-type") != "Amazon Connect Contact Event" or detail.get("channel") != "VOICE":
            continue
        if campaign_id is not None and (detail.get("campaign") or {}).get("campaignId") != campaign_id:
            continue
        contact, kind = detail["contactId"], detail["eventType"]
        seen[contact].add(kind)
        if kind == "CONNECTED_TO_SYSTEM":
            answered[contact] = _instant(detail["connectedToSystemTimestamp"])
        stated = detail.get("answeringMachineDetectionStatus") or (
            detail.get("disposition") if kind == "DISCONNECTED" else None)
        if stated:
            status[contact] = stated
    records = []
    for contact, at in answered.items():
        # no status anywhere: detection was off and the call is still up, so it was answered
        stated = status.get(contact, "AMD_DISABLED")
        if stated in MACHINE_STATUSES:
            records.append(CallRecord(at, MACHINE))
        elif stated in LIVE_STATUSES:
            kinds = seen[contact]
            lost = "DISCONNECTED" in kinds and "CONNECTED_TO_AGENT" not in kinds
            records.append(CallRecord(at, ABANDONED if lost else LIVE, amd=stated != "AMD_DISABLED"))
    return records


def _instant(stamp: str) -> datetime:
    """'2026-01-02T03:04:05.678Z' (the events' timestamps) as an aware datetime."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
