"""Pacing of agent-assisted calls: how many new calls to launch now.

A pacer is any object with `decide(observation) -> int`, called every tick (about a second) with a
snapshot of the agents and the calls in flight. `Progressive` keeps one call per idle agent.
`Predictive` dials ahead of agents who are about to become free, as far as the day's abandon budget
allows: a call classified live must reach an agent within `connect_window` seconds, or it is
abandoned, and the regulated abandon rate (abandoned / live answered, plus the AMD false-positive
estimate, per calling day) must stay within the limit.

The model behind `Predictive`, per tick:
- supply: idle agents plus, for each busy agent, the probability that it is free within the horizon
  h (the mean dial-to-live time plus the connect window), from hazard rates of talk and wrap-up
  learnt by age from the observations themselves (an agent seen at age a and gone dt later ended
  its state in that age bin), so skewed and heavy-tailed handle times need no assumed shape;
- demand: calls waiting for an agent, calls in AMD times P(live | answered), and each ringing call
  times P(it goes live | still ringing at its age), from the learnt ringing hazard and the live rate;
- launch n so that supply - demand - n*p stays z standard deviations above zero (p: live rate per
  dial; variances are Bernoulli sums), never fewer than progressive would;
- z, the safety margin, follows the day's drop surplus: the drops the target allows for the lives
  so far less the drops seen, measured in standard deviations of a drop count at the target. The
  day starts cautious (z = z_start); each live earns room and each drop takes it back, so z
  settles where the drop rate meets the target, whatever z that takes in this contact centre
  (the drop rate falls steeply with z and where it crosses the target varies a lot between small
  and large teams). Counting the surplus in standard deviations lets large days, whose ratio is
  steady, spend almost all of it while small, noisy days keep more in hand. With no budget left
  the pacer is progressive.

Pure: no clock, no I/O. The observation carries the time; one `Predictive` object paces one
campaign for one calling day (its counters and learnt hazards are per day).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

TALK, WRAP = 1, 2                 # busy agent states, as in `busy_agents()`


@dataclass(frozen=True)
class Observation:
    """What the engine shows a pacer at one tick. Counters are cumulative since the day began.

    The field names are those of the dialer bench's observation, so the same pacer runs in both.
    """
    t: float                      # seconds since the calling day began (the engine's clock)
    agents_logged_in: int
    agents_idle: int              # logged in and free to take a call now
    calls_classifying: int        # answered, AMD still deciding
    calls_waiting: int            # classified live, waiting (at most connect_window s) for an agent
    max_lines: int                # trunk cap on calls in flight
    dialed: int = 0
    live: int = 0                 # classified live (persons and undetected machines)
    machine: int = 0              # classified machine by AMD (hung up)
    no_answer: int = 0
    busy: int = 0
    invalid: int = 0
    dropped: int = 0              # classified live and no agent within the connect window
    est_time_to_live: float | None = None   # mean seconds from dial to live classification
    connect_window: float = 2.0
    agents: tuple[tuple[int, float], ...] = ()   # busy agents: (TALK | WRAP, seconds in state)
    ringing: tuple[float, ...] = ()              # seconds since dial of every ringing call

    @property
    def calls_ringing(self) -> int:
        return len(self.ringing)

    @property
    def outstanding(self) -> int:
        return len(self.ringing) + self.calls_classifying + self.calls_waiting

    def busy_agents(self) -> list[tuple[int, float]]:
        return list(self.agents)

    def ringing_ages(self) -> list[float]:
        return list(self.ringing)


def clamp_launch(n: int, o) -> int:
    """Never more calls than free lines."""
    return max(0, min(int(n), o.max_lines - o.outstanding))


class Progressive:
    """One call in flight per idle agent."""
    name = "progressive"

    def decide(self, o) -> int:
        return clamp_launch(o.agents_idle - o.outstanding, o)


class _Hazard:
    """Piecewise-constant hazard by 1-second age bins, learnt from successive snapshots of ages.

    Ages beyond the last bin share it. A weak prior (an exponential with `prior_mean`) fills
    bins before data arrives."""

    def __init__(self, bins: int, prior_mean: float, prior_exposure: float = 4.0):
        self.bins = bins
        self.exposure = [prior_exposure] * bins
        self.events = [prior_exposure / prior_mean] * bins
        self.previous: list[float] | None = None

    def _bin(self, age: float) -> int:
        return min(int(age + 1e-6), self.bins - 1) if age > 0 else 0

    def observe(self, ages: list[float], dt: float) -> None:
        previous, self.previous = self.previous, ages
        if previous is None or dt <= 0:
            return
        survivors = Counter(self._bin(a - dt) for a in ages if a >= dt - 1e-6)
        seen = Counter(self._bin(a) for a in previous)
        for b, count in seen.items():
            self.exposure[b] += count * dt
        for b, count in (seen - survivors).items():
            self.events[b] += count

    def log_survival_steps(self) -> list[float]:
        """log P(still in state one second later | age bin)."""
        return [-self.events[b] / self.exposure[b] for b in range(self.bins)]


def _prefix(steps: list[float], extra: int) -> list[float]:
    """Cumulative log survival from age 0, extended `extra` seconds past the last bin."""
    out = [0.0]
    for s in steps:
        out.append(out[-1] + s)
    for _ in range(extra):
        out.append(out[-1] + steps[-1])
    return out


def _lognormal_survival(x: float, mean: float, cv: float) -> float:
    if x <= 0:
        return 1.0
    s2 = math.log(1.0 + cv * cv)
    mu = math.log(mean) - s2 / 2.0
    return 0.5 * math.erfc((math.log(x) - mu) / math.sqrt(2.0 * s2))


class Predictive:
    """Highest agent occupancy with the day's abandon rate, AMD false-positive estimate included,
    within `abandon_limit`. See the module docstring for the model."""
    name = "reachout:predictive"

    def __init__(self, abandon_limit: float = 0.03, amd_false_positive: float = 0.01, *,
                 safety: float = 0.002, z_start: float = 3.0, gain: float = 1.0,
                 prior_lives: float = 100.0, answer_cv: float = 0.6, refresh: float = 60.0):
        self.abandon_limit = abandon_limit
        self.amd_false_positive = amd_false_positive
        # the pacing drop ratio aimed at: the limit less the AMD estimate and a safety margin
        self.target = max(abandon_limit - amd_false_positive - safety, 0.0)
        self.z_start, self.gain, self.prior_lives = z_start, gain, prior_lives
        self.answer_cv, self.refresh = answer_cv, refresh
        self.talk = _Hazard(1200, 150.0)
        self.wrap = _Hazard(600, 30.0)
        self.ring = _Hazard(120, 15.0)
        self.live_rate: float | None = None       # live per completed attempt
        self.live_share: float | None = None      # live per answered (after AMD)
        self.previous_t: float | None = None
        self.previous_counts = (0, 0, 0)
        self.tables_at = -math.inf
        self.horizon = 0
        self.free_talk: list[float] = []
        self.free_wrap: list[float] = []
        self.live_if_ringing: list[float] = []

    # -- learning ----------------------------------------------------------------------------
    @staticmethod
    def _ewma(value: float | None, hits: int, total: int, per_event: float = 0.01) -> float | None:
        if total <= 0:
            return value
        if value is None:
            return hits / total
        keep = (1.0 - per_event) ** total
        return value * keep + (1.0 - keep) * hits / total

    def _learn(self, o, busy: list[tuple[int, float]], ringing: list[float]) -> None:
        dt = 0.0 if self.previous_t is None else o.t - self.previous_t
        self.previous_t = o.t
        self.talk.observe([a for s, a in busy if s == TALK], dt)
        self.wrap.observe([a for s, a in busy if s == WRAP], dt)
        self.ring.observe(ringing, dt)
        live, answered = o.live, o.live + o.machine
        completed = answered + o.no_answer + o.busy + o.invalid
        was_live, was_answered, was_completed = self.previous_counts
        self.previous_counts = (live, answered, completed)
        self.live_rate = self._ewma(self.live_rate, live - was_live, completed - was_completed)
        self.live_share = self._ewma(self.live_share, live - was_live, answered - was_answered)

    def _tables(self, o) -> None:
        """Per-age probabilities, recomputed every `refresh` seconds (they drift slowly)."""
        to_live = o.est_time_to_live or 10.0
        h = max(1, math.ceil(to_live + o.connect_window))
        self.horizon, self.tables_at = h, o.t
        wrap = _prefix(self.wrap.log_survival_steps(), h + 1)
        talk = _prefix(self.talk.log_survival_steps(), h + 1)
        self.free_wrap = [1.0 - math.exp(wrap[b + h] - wrap[b]) for b in range(self.wrap.bins)]
        done_wrap = [1.0 - math.exp(wrap[j]) for j in range(h + 1)]   # a fresh wrap-up within j s
        free_talk = []
        for b in range(self.talk.bins):
            p, base = 0.0, talk[b]
            for k in range(h):
                ends = math.exp(talk[b + k] - base) - math.exp(talk[b + k + 1] - base)
                p += ends * done_wrap[h - k - 1]
            free_talk.append(p)
        self.free_talk = free_talk
        # P(live eventually | ringing at age a) = p * P(answer time > a) / P(still ringing at a)
        ring = _prefix(self.ring.log_survival_steps(), 1)
        p = self.live_rate if self.live_rate is not None else 0.25
        answer_mean = max(to_live - 1.0, 1.0)
        self.live_if_ringing = [
            min(1.0, p * _lognormal_survival(a + 0.5, answer_mean, self.answer_cv)
                / max(math.exp(ring[a]), 1e-9)) for a in range(self.ring.bins)]

    # -- the decision --------------------------------------------------------------------------
    def budget(self, o) -> float:
        """Drops the day can still afford at the limit, AMD estimate counted."""
        return (self.abandon_limit - self.amd_false_positive) * o.live - o.dropped

    def margin(self, o) -> float:
        """Safety in standard deviations: falls as the day's drop surplus at the target grows.

        `prior_lives` keeps the scale finite at the start of the day (z = z_start there)."""
        if self.target <= 0:
            return math.inf
        surplus = self.target * o.live - o.dropped
        scale = math.sqrt(self.target * (o.live + self.prior_lives))
        return min(max(self.z_start - self.gain * surplus / scale, -1.0), 6.0)

    def decide(self, o) -> int:
        busy = o.busy_agents()
        ringing = o.ringing_ages()
        self._learn(o, busy, ringing)
        progressive = o.agents_idle - o.outstanding
        if o.agents_idle == 0 and not busy:
            return 0                              # nobody can take a call
        if self.budget(o) <= 0 or self.live_rate is None or self.live_rate <= 0:
            return clamp_launch(progressive, o)
        if o.t - self.tables_at >= self.refresh:
            self._tables(o)
        supply, var = float(o.agents_idle), 0.0
        for state, age in busy:
            table = self.free_talk if state == TALK else self.free_wrap
            q = table[min(int(age), len(table) - 1)] if age > 0 else table[0]
            supply += q
            var += q * (1.0 - q)
        share = self.live_share if self.live_share is not None else 0.5
        demand = o.calls_waiting + o.calls_classifying * share
        var += o.calls_classifying * share * (1.0 - share)
        table = self.live_if_ringing
        for age in ringing:
            w = table[min(int(age), len(table) - 1)] if age > 0 else table[0]
            demand += w
            var += w * (1.0 - w)
        room = supply - demand
        p, z = self.live_rate, self.margin(o)
        n = max(room / p, 0.0)
        for _ in range(3):                        # n*p + z*sd(n) <= room, by fixed point
            n = max((room - z * math.sqrt(var + n * p * (1.0 - p))) / p, 0.0)
        return clamp_launch(max(int(n), progressive), o)
