"""The dialer of agent-assisted voice campaigns (progressive, predictive, preview), per queue, every
second of the engine's clock.

Each tick, per Connect queue with Running agent-assisted campaigns on it:
1. simulated agents (if a pool is registered) act through the agent desk, as people would;
2. agents' calls that ended put them in after-contact work (ACW); a preview agent whose call ended
   unanswered, or whose offer went stale, is idle again;
3. calls classified live (domain/agent_call.LIVE) go to an agent: the preview agent who dialed it,
   else the longest-idle routable agent of the queue; a live call that has waited 2 s with none is
   abandoned (the carrier hangs up after the recorded message), counted, announced, and its number
   blocked for 72 h from calls with answering machine detection (the UK rule), with the reason;
4. preview: accepted or timed-out offers are dialed; idle agents (their bandwidth share) are offered
   the next due contact (the contact is leased to the offer, so a crash only lets the lease run out);
5. progressive / predictive: the campaign's pacer (domain/pacing.py) sees an Observation of its share
   of the queue's agents and its calls in flight and says how many to dial; those due contacts go
   through the dispatcher's own steps (render, window, limits, record, hand over), so a crash
   mid-dial sends nothing twice (engine/dispatch.py).
The dispatcher follows the calls (their events) as for agentless calls; a call that reached an agent
waits for the agent's disposition (engine/calls.follow), which completes it (engine/agent_desk.py).

The pacers' day counters live in this process: after a restart a predictive pacer relearns its day
(it starts at the safe, progressive end). One dialer per database: run `reachout serve` or one
`reachout worker`, not several, for agent-assisted campaigns.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reachout.channels.telephony import ANSWERED, CONNECTED_TO_AGENT, DISCONNECTED, CallState, Telephony
from reachout.domain import agent_call
from reachout.domain.agent import ACW, CONNECTED, IDLE, OFFERED
from reachout.domain.agent_call import ABANDONED, DialerSettings
from reachout.domain.contact_event import contact_event
from reachout.domain.disposition import DIAL_FAILURES
from reachout.domain.pacing import TALK, WRAP, Observation, Predictive, Progressive
from reachout.domain.contact import COMPLETED, DROPPED, PLANNED, SENT
from reachout.engine import notify
from reachout.engine.calls import progress_since
from reachout.store import agents as agent_store
from reachout.store import dialer as dialer_store
from reachout.store import outbox, work

log = logging.getLogger(__name__)

TICK = timedelta(seconds=1)
PREVIEW_LEASE = "preview:"  # lease owner of a contact offered to an agent: preview:<user id>
ACCEPTED_LEASE = "accepted:"  # ... once the agent chose to dial it
MACHINES = frozenset({"VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "FAX_MACHINE_DETECTED", "AMD_UNRESOLVED", "AMD_ERROR",
                      "SIT_TONE_DETECTED"})


def agent_arn(campaign, user_id: str) -> str:
    account = campaign.arn.split(":")[4]
    return f"arn:aws:connect:{campaign.region}:{account}:instance/{campaign.connect_instance_id}/agent/{user_id}"


def queue_arn(campaign, queue_id: str) -> str:
    account = campaign.arn.split(":")[4]
    return f"arn:aws:connect:{campaign.region}:{account}:instance/{campaign.connect_instance_id}/queue/{queue_id}"


@dataclass
class DayCounters:
    """One campaign's calling day as its pacer sees it: cumulative counters, each call counted once."""
    day: str
    dialed: int = 0
    live: int = 0
    machine: int = 0
    no_answer: int = 0
    busy: int = 0
    invalid: int = 0
    dropped: int = 0
    time_to_live: float | None = None
    counted: set = field(default_factory=set)  # (contact id, what) already counted

    def count(self, contact_id: str, what: str) -> bool:
        if (contact_id, what) in self.counted:
            return False
        self.counted.add((contact_id, what))
        setattr(self, what, getattr(self, what) + 1)
        return True


@dataclass(frozen=True)
class Call:
    """A call in flight, as the carrier reports it now."""
    contact: object
    state: CallState | None

    def stage(self, name: str):
        return next((p for p in self.state.progress if p.stage == name), None) if self.state else None

    @property
    def ended(self):
        return self.stage(DISCONNECTED)

    @property
    def answered(self):
        return self.stage(ANSWERED)

    @property
    def live(self) -> bool:
        answered = self.answered
        return answered is not None and answered.amd_status in agent_call.LIVE

    @property
    def waiting(self) -> bool:
        """Classified live, no agent yet, still up."""
        return self.live and self.stage(CONNECTED_TO_AGENT) is None and self.ended is None


class Dialer:
    def __init__(self, db, channel: Telephony | None, dispatcher, owner: str, lease: timedelta):
        self.db = db
        self.channel = channel
        self.dispatcher = dispatcher
        self.owner = owner
        self.lease = lease
        self.desk = None  # engine/agent_desk.AgentDesk, set by the engine
        self.pools: list = []  # simulated agent pools (channels/simulated_agents.py)
        self.last_tick: datetime | None = None
        self.busy = False  # whether the last tick left anything to follow
        self.pacers: dict[tuple[str, str], object] = {}
        self.days: dict[str, DayCounters] = {}

    # --- the engine's hooks -------------------------------------------------------------------
    def paces(self, campaign, channel: str) -> bool:
        """Whether the dialer, not the dispatcher's budget, decides when this campaign's calls go."""
        return (channel == dialer_store.TELEPHONY and campaign is not None
                and agent_call.dialer_settings(campaign.id, campaign.channel_subtype_config) is not None)

    def next_due(self) -> datetime | None:
        """The next tick, while calls, agents or pools have something going on."""
        if self.last_tick is None or not self.busy:
            return None
        return self.last_tick + TICK

    def run_due(self, now: datetime) -> int:
        if self.channel is None or (self.last_tick is not None and now - self.last_tick < TICK):
            return 0
        self.last_tick = now
        handled = sum(pool.act(self.desk, now) for pool in self.pools)
        with self.db.transaction() as conn:
            running = [(c, s) for c in dialer_store.dialing_campaigns(conn)
                       if (s := agent_call.dialer_settings(c.id, c.channel_subtype_config)) is not None]
        queues: dict[tuple[str, str], list] = defaultdict(list)
        for campaign, settings in running:
            queues[(campaign.connect_instance_id, settings.queue_id)].append((campaign, settings))
        busy = False
        for (instance_id, queue_id), group in queues.items():
            done, going = self._tick_queue(instance_id, queue_id, group, now)
            handled += done
            busy = busy or going
        self.busy = busy or handled > 0 or self._agents_engaged()
        return handled

    def _agents_engaged(self) -> bool:
        with self.db.transaction() as conn:
            return dialer_store.any_engaged_agent(conn)

    # --- one queue ------------------------------------------------------------------------------
    def _tick_queue(self, instance_id: str, queue_id: str, group: list, now: datetime) -> tuple[int, bool]:
        campaigns = {c.id: c for c, _ in group}
        settings = {s.campaign_id: s for _, s in group}
        with self.db.transaction() as conn:
            flights = dialer_store.calls_in_flight(conn, campaigns)
            engaged = dialer_store.engaged_agents(conn, instance_id)
        sent = [f.id for f in flights if f.state == SENT]
        states = self.channel.progress(sent, now) if sent else {}
        calls = {f.id: Call(f, states.get(f.id)) for f in flights}
        handled = self._release_agents(instance_id, engaged, calls, campaigns, now)
        handled += self._connect_or_abandon(instance_id, queue_id, calls, campaigns, now)
        with self.db.transaction() as conn:
            agents = agent_store.routable_agents(conn, instance_id, queue_id)
        idle = [a for a in agents if a.activity == IDLE]  # longest idle first
        shares = agent_call.queue_shares(list(settings.values()))
        for campaign_id, campaign in campaigns.items():
            setting = settings[campaign_id]
            own = [c for c in calls.values() if c.contact.campaign_id == campaign_id]
            self._count(campaign_id, own, now)
            if campaign.state != "Running":  # paused or stopped: its calls in flight are still served
                continue
            if setting.mode == "preview":
                handled += self._preview(campaign, setting, shares[campaign_id], agents, idle, own, now)
            else:
                handled += self._pace(campaign, setting, shares[campaign_id], agents, own, now)
        with self.db.transaction() as conn:
            going = any(dialer_store.has_due(conn, cid, now) for cid, c in campaigns.items() if c.state == "Running")
        return handled, going or bool(flights)

    def _release_agents(self, instance_id: str, engaged: list, calls: dict, campaigns: dict, now: datetime) -> int:
        """Agents whose call ended go to ACW; preview agents whose call ended unanswered, or whose
        offer is gone, are idle again."""
        changes = []
        with self.db.transaction() as conn:
            contacts = dialer_store.contacts_by_id(conn, [a.contact_id for a in engaged if a.contact_id])
            for agent in engaged:
                contact = contacts.get(agent.contact_id)
                if contact is not None and contact.campaign_id not in campaigns:
                    continue  # a call of another queue's campaigns
                call = calls.get(agent.contact_id)
                if agent.activity == CONNECTED:
                    if call is None or call.ended is not None:
                        changes.append((agent.user_id, ACW, agent.contact_id))
                elif agent.activity == OFFERED:
                    if contact is None or contact.state in (COMPLETED, DROPPED):
                        changes.append((agent.user_id, IDLE, None))
                    elif contact.state == PLANNED and not _offered_to(contact, agent.user_id, now):
                        changes.append((agent.user_id, IDLE, None))  # its offer's lease ran out (a restart)
                    elif call is not None and call.ended is not None and call.stage(CONNECTED_TO_AGENT) is None:
                        changes.append((agent.user_id, IDLE, None))
            for user_id, activity, contact_id in changes:
                agent_store.set_activity(conn, instance_id, user_id, activity, contact_id, now)
        return len(changes)

    def _connect_or_abandon(self, instance_id: str, queue_id: str, calls: dict, campaigns: dict,
                            now: datetime) -> int:
        waiting = sorted((c for c in calls.values() if c.waiting), key=lambda c: (c.answered.at, c.contact.id))
        if not waiting:
            return 0
        with self.db.transaction() as conn:
            agents = agent_store.routable_agents(conn, instance_id, queue_id)
            engaged = dialer_store.engaged_agents(conn, instance_id)
        reserved = {a.contact_id: a for a in engaged if a.activity == OFFERED and a.contact_id}
        idle = [a for a in agents if a.activity == IDLE]  # longest idle first
        handled = 0
        for call in waiting:
            contact = call.contact
            campaign = campaigns[contact.campaign_id]
            agent = reserved.get(contact.id) or (idle.pop(0) if idle else None)
            if agent is not None:
                if self.channel.connect_to_agent(contact.id, agent_arn(campaign, agent.user_id), now):
                    with self.db.transaction() as conn:
                        agent_store.set_activity(conn, instance_id, agent.user_id, CONNECTED, contact.id, now,
                                                 queue_id=queue_id)
                        agent_store.dequeue_contact(conn, instance_id, contact.id)
                    handled += 1
                elif agent.activity == IDLE:
                    idle.insert(0, agent)
                continue
            if (contact.id, "queued") not in self._day(campaign.id, now).counted:
                self._announce_queued(campaign, queue_id, call, now)
            if agent_call.must_abandon(call.answered.at, now):
                self._abandon(campaign, queue_id, call, now)
                handled += 1
        return handled

    def _announce_queued(self, campaign, queue_id: str, call: Call, now: datetime) -> None:
        day = self._day(campaign.id, now)
        day.counted.add((call.contact.id, "queued"))
        with self.db.transaction() as conn:
            event = contact_event("QUEUED", contact=notify.contact_view(conn, campaign, call.contact),
                                  **notify._where(campaign, call.answered.at))
            event["detail"]["queueInfo"] = _queue_info(campaign, queue_id, call.answered.at)
            outbox.emit(conn, [(call.contact.id, event)], now)
            agent_store.enqueue_contact(conn, campaign.connect_instance_id, queue_id, call.contact.id,
                                        call.answered.at)

    def _abandon(self, campaign, queue_id: str, call: Call, now: datetime) -> None:
        """The 2-second rule: the carrier plays the recorded message and hangs up; the contact ends
        ABANDONED (its reattempt rules apply); the number is blocked for 72 h from AMD calls."""
        contact = call.contact
        self.channel.disconnect(contact.id, now)
        state = self.channel.progress([contact.id], now).get(contact.id)
        answered = call.answered.at
        reason = agent_call.abandon_reason(answered)
        with self.db.transaction() as conn:
            row = work.lock_contact(conn, contact.id)
            if row is None or row.state != SENT:
                return
            if not dialer_store.record_abandon(conn, {
                    "contact_id": contact.id, "campaign_id": campaign.id, "endpoint": contact.endpoint,
                    "answered_at": answered, "at": now, "blocked_until": now + agent_call.ABANDON_BLOCK,
                    "reason": reason}):
                return
            if state is not None:  # stages the contact has not announced yet, then its abandon
                news = progress_since(row.outcome, state)
                notify.call_progressed(conn, campaign, row, [p for p in news.new if p.stage != DISCONNECTED],
                                       news.answered, now)
            event = contact_event("DISCONNECTED", contact=notify.contact_view(conn, campaign, row), outcome=ABANDONED,
                                  amd_status=call.answered.amd_status, connected_at=answered, reason=reason,
                                  **notify._where(campaign, now))
            event["detail"]["queueInfo"] = _queue_info(campaign, queue_id, answered)
            outbox.emit(conn, [(contact.id, event)], now)
            work.update_contact(conn, contact.id, reason=reason)
            agent_store.dequeue_contact(conn, campaign.connect_instance_id, contact.id)
            self.dispatcher._complete(conn, [(row, ABANDONED)], now)
        self._day(campaign.id, now).count(contact.id, "dropped")

    # --- counting and pacing ----------------------------------------------------------------------
    def _day(self, campaign_id: str, now: datetime) -> DayCounters:
        day = now.date().isoformat()
        counters = self.days.get(campaign_id)
        if counters is None or counters.day != day:
            counters = self.days[campaign_id] = DayCounters(day)
        return counters

    def _count(self, campaign_id: str, own: list[Call], now: datetime) -> None:
        day = self._day(campaign_id, now)
        for call in own:
            contact = call.contact
            answered = call.answered
            if answered is not None:
                if call.live:
                    if day.count(contact.id, "live") and contact.dispatched_at is not None:
                        seconds = (answered.at - contact.dispatched_at).total_seconds()
                        day.time_to_live = seconds if day.time_to_live is None else (
                            0.95 * day.time_to_live + 0.05 * seconds)
                else:
                    day.count(contact.id, "machine")
            elif call.ended is not None:
                outcome = call.ended.amd_status or call.ended.disconnect_reason
                what = ("busy" if outcome == "SIT_TONE_BUSY" else "no_answer" if outcome == "AMD_UNANSWERED"
                        else "invalid" if outcome in DIAL_FAILURES or outcome == "SIT_TONE_INVALID_NUMBER"
                        else "no_answer")
                day.count(contact.id, what)

    def observation(self, campaign_id: str, share, agents: list, own: list[Call], now: datetime) -> Observation:
        """What the campaign's pacer sees: its share of the queue's agents, its own calls in flight."""
        day = self._day(campaign_id, now)
        logged_in = agent_call.share_of(len(agents), share.agents)
        idle = agent_call.share_of(sum(1 for a in agents if a.activity == IDLE), share.agents)
        busy = sorted(((TALK if a.activity == CONNECTED else WRAP, (now - (a.activity_since or now)).total_seconds())
                       for a in agents if a.activity in (CONNECTED, ACW)), key=lambda b: b[1])
        busy = busy[:agent_call.share_of(len(busy), share.agents)]
        ringing = tuple((now - (c.contact.dispatched_at or now)).total_seconds() for c in own
                        if c.answered is None and c.ended is None)
        waiting = sum(1 for c in own if c.waiting)
        trunk = min(int(getattr(self.channel, "rate", 1000)), agent_call.LINES_PER_AGENT * len(agents))
        lines = max(1, agent_call.share_of(trunk, share.lines))
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Observation(t=(now - midnight).total_seconds(), agents_logged_in=logged_in, agents_idle=idle,
                           calls_classifying=0, calls_waiting=waiting, max_lines=lines, dialed=day.dialed,
                           live=day.live, machine=day.machine, no_answer=day.no_answer, busy=day.busy,
                           invalid=day.invalid, dropped=day.dropped, est_time_to_live=day.time_to_live,
                           agents=tuple(busy), ringing=ringing)

    def _pacer(self, setting: DialerSettings, now: datetime):
        key = (setting.campaign_id, now.date().isoformat())
        pacer = self.pacers.get(key)
        if pacer is None:
            for old in [k for k in self.pacers if k[0] == setting.campaign_id]:
                del self.pacers[old]  # yesterday's: a pacer paces one calling day
            pacer = self.pacers[key] = Predictive() if setting.mode == "predictive" else Progressive()
        return pacer

    def _pace(self, campaign, setting: DialerSettings, share, agents: list, own: list[Call], now: datetime) -> int:
        observation = self.observation(campaign.id, share, agents, own, now)
        wanted = self._pacer(setting, now).decide(observation)
        return self.launch(campaign, setting, wanted, now) if wanted > 0 else 0

    def launch(self, campaign, setting: DialerSettings, wanted: int, now: datetime, *, contact_ids=None) -> int:
        """Dials up to `wanted` due contacts of the campaign (or exactly `contact_ids`, leased to a
        preview offer) through the dispatcher's steps; numbers under a 72-hour block wait it out."""
        with self.db.transaction() as conn:
            if contact_ids is None:
                claimed = work.claim_contacts(conn, [PLANNED], now, self.owner, self.lease, wanted,
                                              campaign_id=campaign.id, channel=dialer_store.TELEPHONY)
            else:
                claimed = dialer_store.lease_contacts(conn, contact_ids, self.owner, now + self.lease)
            if not claimed:
                return 0
            claimed = self._defer_blocked(conn, campaign, setting, claimed, now)
            messages = self.dispatcher._render(conn, campaign, claimed, now)
            ready = self.dispatcher._reserve(conn, campaign, [c for c in claimed if c.id in messages], now)
        self.dispatcher._send(ready, now, messages)
        day = self._day(campaign.id, now)
        for contact in ready:
            day.count(contact.id, "dialed")
        return len(claimed)

    def _defer_blocked(self, conn, campaign, setting: DialerSettings, claimed: list, now: datetime) -> list:
        if not setting.detect_machines:
            return claimed
        blocked = dialer_store.blocked_until(conn, [c.endpoint for c in claimed], now)
        deferred = [c for c in claimed if c.endpoint in blocked]
        if deferred:
            reasons = {c.id: agent_call.blocked_reason(blocked[c.endpoint]) for c in deferred}
            work.update_contacts(conn, [{"id": c.id, "due_at": blocked[c.endpoint], "reason": reasons[c.id],
                                         "lease_owner": None, "lease_until": None} for c in deferred])
            notify.suppressed(conn, campaign, [{
                "campaign_id": c.campaign_id, "participant_id": c.participant_id, "contact_id": c.id,
                "recipient": c.recipient, "channel": c.channel, "reason": reasons[c.id], "at": now}
                for c in deferred], now)
        return [c for c in claimed if c.endpoint not in blocked]

    # --- preview ------------------------------------------------------------------------------------
    def _preview(self, campaign, setting: DialerSettings, share, agents: list, idle: list, own: list[Call],
                 now: datetime) -> int:
        """Dials accepted and timed-out offers, then offers due contacts to idle agents (its share)."""
        handled = 0
        offered = [a for a in agents if a.activity == OFFERED and a.contact_id]
        with self.db.transaction() as conn:
            contacts = dialer_store.contacts_by_id(conn, [a.contact_id for a in offered])
        for agent in offered:
            contact = contacts.get(agent.contact_id)
            if contact is None or contact.campaign_id != campaign.id or contact.state != PLANNED:
                continue
            accepted = (contact.lease_owner or "") == ACCEPTED_LEASE + agent.user_id
            offered_at = agent.activity_since or now
            if accepted or agent_call.offer_expired(offered_at, setting.preview_timeout, now):
                handled += self.launch(campaign, setting, 1, now, contact_ids=[contact.id])
        busy = sum(1 for a in agents if a.activity != IDLE)
        room = agent_call.share_of(len(agents), share.agents) - busy
        while room > 0 and idle:
            agent = idle[0]
            with self.db.transaction() as conn:
                offer = work.claim_contacts(conn, [PLANNED], now, PREVIEW_LEASE + agent.user_id,
                                            (setting.preview_timeout or timedelta(seconds=30)) + self.lease, 1,
                                            campaign_id=campaign.id, channel=dialer_store.TELEPHONY)
                if offer:
                    offer = self._defer_blocked(conn, campaign, setting, offer, now)
                if not offer:
                    break
                agent_store.set_activity(conn, campaign.connect_instance_id, agent.user_id, OFFERED, offer[0].id,
                                         now, queue_id=setting.queue_id)
            idle.pop(0)
            room -= 1
            handled += 1
        return handled


def _offered_to(contact, user_id: str, now: datetime) -> bool:
    return (contact.lease_owner in (PREVIEW_LEASE + user_id, ACCEPTED_LEASE + user_id)
            and contact.lease_until is not None and contact.lease_until > now)


def _queue_info(campaign, queue_id: str, enqueued_at: datetime) -> dict:
    return {"queueArn": queue_arn(campaign, queue_id), "queueType": "STANDARD",
            "enqueueTimestamp": enqueued_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{enqueued_at.microsecond // 1000:03d}Z"}
