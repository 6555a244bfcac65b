"""A simulated agent pool: people at the agent desk, for tests, forecasts and benchmarks.

N agents of one Connect instance go available, accept preview offers after a moment's look, talk
for a time drawn from a lognormal distribution, then spend a drawn after-contact work (ACW) time and
give the call a disposition drawn from weighted codes. Every draw comes from the seed, the agent and
the contact (channels/simulated.fraction), so a pool acts the same way every run and needs no state
of its own: what an agent does next follows from its activity and how long it has been in it.
It acts through the agent desk (engine/agent_desk.AgentDesk, handed to `act`), the same functions
the agent HTTP API calls, at every tick of the engine's clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

from reachout.channels.simulated import fraction
from reachout.domain.errors import DomainError

PREVIEW_LOOK = timedelta(seconds=3)  # how long a simulated agent reads a preview before dialing


@dataclass(frozen=True)
class Lognormal:
    mean: float  # seconds
    cv: float

    def draw(self, u: float) -> float:
        """The value at quantile u (0 < u < 1)."""
        s2 = math.log(1.0 + self.cv * self.cv)
        mu = math.log(self.mean) - s2 / 2.0
        return math.exp(mu + math.sqrt(s2) * NormalDist().inv_cdf(min(max(u, 1e-9), 1 - 1e-9)))


@dataclass
class SimulatedAgents:
    instance_id: str
    user_ids: tuple[str, ...]
    seed: int = 0
    talk: Lognormal = Lognormal(120.0, 0.5)
    acw: Lognormal = Lognormal(20.0, 0.5)
    dispositions: tuple[tuple[str, float], ...] = (("RESOLVED", 1.0),)
    discard_share: float = 0.0  # of preview offers, where the campaign allows DISCARD
    log: list = field(default_factory=list)  # (at, user id, action, contact id): what the pool did

    def act(self, desk, now: datetime) -> int:
        """Each agent's next step due at `now`; returns how many steps were taken."""
        steps = 0
        for user_id in self.user_ids:
            seen = desk.view(self.instance_id, user_id, now)
            step = self._step(seen, now)
            if step is None:
                continue
            action, *args = step
            contact_id = (seen.get("contact") or {}).get("contactId")
            try:
                getattr(desk, action)(self.instance_id, user_id, *args, now)
            except DomainError as refused:  # e.g. the call's end is being recorded: again at the next tick
                self.log.append((now, user_id, f"{action} refused: {refused.message}", contact_id))
                continue
            self.log.append((now, user_id, action, contact_id))
            steps += 1
        return steps

    def _step(self, seen: dict, now: datetime):
        activity, contact = seen["activity"], seen.get("contact") or {}
        since = datetime.fromisoformat(seen["activitySince"]) if seen.get("activitySince") else now
        contact_id = contact.get("contactId")
        if seen["status"] != "Available" and activity == "IDLE":
            return ("go_available",)
        if activity == "OFFERED" and "agentActions" in contact and not contact.get("accepted"):
            if now - since < PREVIEW_LOOK:
                return None
            if "DISCARD" in contact["agentActions"] and self._u("discard", seen, contact_id) < self.discard_share:
                return ("discard", contact_id)
            return ("accept", contact_id)
        if activity == "CONNECTED" and now - since >= self._seconds(self.talk, "talk", seen, contact_id):
            return ("end_call",)
        if activity == "ACW" and now - since >= self._seconds(self.acw, "acw", seen, contact_id):
            if contact_id is not None and contact.get("disposed") is None:
                return ("finish_acw", self._disposition(seen, contact_id))
        return None

    def _u(self, what: str, seen: dict, contact_id) -> float:
        return fraction(self.seed, "agent", what, seen["userId"], contact_id)

    def _seconds(self, distribution: Lognormal, what: str, seen: dict, contact_id) -> timedelta:
        return timedelta(seconds=round(distribution.draw(self._u(what, seen, contact_id))))

    def _disposition(self, seen: dict, contact_id) -> str:
        u = self._u("disposition", seen, contact_id) * sum(w for _, w in self.dispositions)
        for code, weight in self.dispositions:
            u -= weight
            if u < 0:
                return code
        return self.dispositions[-1][0]
