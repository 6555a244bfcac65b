"""Dispatching due contacts and applying their outcomes.

A dispatch is three steps, so that a crash anywhere loses nothing and sends nothing twice:
1. one transaction renders each contact's message (one that cannot be rendered is dropped with the
   reason and counts nothing), checks the window, checks and reserves the communication limits under
   locks on the recipients, and records the contact as `dispatching` (its id is the idempotency key);
2. the channel gets it (a channel sends at most once per key);
3. one transaction records the receipt (`sent`, outcome due at, and the adapter's reason if it gave one).
Step 2 is bounded per message: an adapter turns whatever goes wrong with one message into that
message's receipt (channels/__init__.py); should an adapter raise all the same, every message of that
batch is recorded FAILED with the error (`hand_over`): the outcomes of the other batches stand, the
pass goes on, and nothing of the batch is handed over again when its lease runs out (a message it may
have sent before it raised is not sent twice).
A worker that dies after 1 leaves `dispatching` contacts whose lease expires; whoever claims them
next renders them again and repeats only steps 2 and 3 (unless the contact's request has expired
meanwhile: it is never sent late).

A contact made for an outbound request expires with the request: one still waiting at its
expirationTime (for its window, for capacity, for a paused campaign) is dropped as expired.

The Connect view of these contacts (DescribeContact of the ids their contact events carry) is read
from their rows here (engine/connect_contacts.campaign_contact): recording each in connect_contacts
as well cost about a fifth of the dispatch's CPU (benchmarks/engine.py).

An adapter may learn the outcome later (an SMS delivery receipt): its receipt then has no outcome
and a deadline, and the contact waits in `sent` until the adapter reports it (reachout.engine.reports)
or the deadline passes, when it completes as NO_RECEIPT, still counted against limits. Calls (a
channel that is a Telephony adapter) stay `sent` while they last: their progress is followed
(engine/calls.py) until they are disconnected.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from reachout.channels import Channel, Outgoing, Receipt, described
from reachout.channels.telephony import Telephony
from reachout.domain.campaign import Campaign
from reachout.domain.disposition import disposition_of, final_outcome
from reachout.domain.limits import Limit, blocking_limit, effective_limits
from reachout.domain.outbound_request import expired_reason
from reachout.domain.regime import Regime
from reachout.domain.window import Window
from reachout.engine import calls, campaigns, compliance, notify, reattempts
from reachout.engine.rendering import Renderer
from reachout.foreground import FOREGROUND
from reachout.store import campaigns as campaign_store
from reachout.store import instances, plans, work
from reachout.store.db import Database

log = logging.getLogger(__name__)
OUTCOME_BATCHES = 20  # batches of outcomes applied per pass (the pass's other work waits meanwhile)
# Contacts dispatched, and outcomes applied, per transaction while other writers wait on the engine's
# (see Engine.yielding): each transaction holds the write lock a few milliseconds, not tens.
BATCH_UNDER_LOAD = 16


class Dispatcher:
    def __init__(self, db: Database, channels: dict[str, Channel], owner: str, lease: timedelta, batch: int):
        self.db = db
        self.channels = channels
        self.call_channels = {name for name, channel in channels.items() if isinstance(channel, Telephony)}
        self.owner = owner
        self.lease = lease
        self.batch = batch
        self.paced_elsewhere = lambda campaign, channel: False  # agent-assisted calls: engine/dialer.py
        self.yielding = lambda: False  # other writers wait on this one's transactions: engine/engine.py
        self._pool: ThreadPoolExecutor | None = None  # PostgreSQL: the channels' threads (dispatch_due)

    # --- dispatch ----------------------------------------------------------------------------
    def dispatch_due(self, now: datetime, budget: dict[str, int]) -> int:
        """Dispatches due contacts within each channel's budget for this instant, shared among the
        running campaigns in proportion to their channel capacity. Returns how many were handled."""
        handled = 0
        with self.db.transaction() as conn:
            # Contacts handed over before a crash come first: they are already reserved.
            resumed = work.claim_contacts(conn, [work.DISPATCHING], now, self.owner, self.lease, self.batch)
            late = [c for c in resumed if _expired(c, now)]
            for campaign_id in {c.campaign_id for c in late}:
                # Reserved before it expired; whether the channel got it is unknown: it keeps its count.
                self._drop(conn, campaign_store.get_campaign_by_id(conn, campaign_id),
                           [c for c in late if c.campaign_id == campaign_id], now,
                           lambda c: expired_reason(c.expires_at) + " (its dispatch was interrupted)")
            resumed = [c for c in resumed if not _expired(c, now)]
            messages = self._render_resumed(conn, resumed, now)
        handled += len(late) + self._send([c for c in resumed if c.id in messages], now, messages)
        handled += self._release(now, sum(budget.values()))
        with self.db.transaction() as conn:
            due = work.due_by_campaign(conn, work.PLANNED, now)
            running = campaign_store.campaigns_by_id(conn, (c for c, _, _ in due))
        due = [d for d in due if not self.paced_elsewhere(running.get(d[0]), d[1])]
        shares = _shares(due, running, budget)
        if self.db.is_sqlite or len(shares) < 2:
            return handled + sum(self._dispatch_channel(channel, quotas, running, now)
                                 for channel, quotas in shares.items())
        # PostgreSQL: a thread (and connection) per channel, so that one channel's statements run in
        # the database while another's messages are made here. They touch different contacts; the
        # recipients they share are counted under locks taken in order (work.lock_recipients).
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.channels), thread_name_prefix="reachout-dispatch")
        dispatching = FOREGROUND.carried(self._dispatch_channel)
        return handled + sum(self._pool.map(lambda share: dispatching(*share, running, now), shares.items()))

    def _dispatch_channel(self, channel: str, quotas: dict[str, int], running: Mapping[str, Campaign],
                          now: datetime) -> int:
        """Dispatches one channel's share of due contacts: `quotas`, campaign id -> how many."""
        handled, batch = 0, self._batch()
        for campaign_id, quota in quotas.items():
            while quota > 0:
                with self.db.transaction() as conn:
                    # Each claimed contact is dropped, deferred, limited or reserved (and leased) below.
                    claimed = work.claim_contacts(conn, [work.PLANNED], now, self.owner, self.lease,
                                                  min(quota, batch), campaign_id=campaign_id,
                                                  channel=channel, leased=False)
                    if not claimed:
                        break
                    messages = self._render(conn, running[campaign_id], claimed, now)
                    ready = self._reserve(conn, running[campaign_id], [c for c in claimed if c.id in messages], now)
                quota -= len(claimed)
                handled += len(claimed)
                self._send(ready, now, messages)
        return handled

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _release(self, now: datetime, wanted: int) -> int:
        """Makes the contacts of participants now due from their plans: per campaign, enough to give
        the channels this pass's `wanted` contacts. Contacts are made when they can be sent, not all
        at once when a million fall due together. Returns how many participants."""
        with self.db.transaction() as conn:
            due = plans.campaigns_to_release(conn, now)
            if not due:
                return 0
            waiting: Counter = Counter()
            for campaign_id, _, count in work.due_by_campaign(conn, work.PLANNED, now):
                waiting[campaign_id] += count
        released = 0
        for campaign_id in due:
            short = wanted - waiting[campaign_id]
            while short > 0:
                with self.db.transaction() as conn:
                    made = campaigns.release(conn, now, campaign_id, min(short, campaigns.RELEASE_BATCH))
                if not made:
                    break
                short -= made
                released += made
        return released

    def _reserve(self, conn: Connection, campaign: Campaign, claimed: list, now: datetime) -> list:
        """Step 1 for a batch of one campaign: expiry, window, regime caps, limits, record. Returns
        the contacts to send. Planning chose each contact's instant, but the facts may have moved since
        (a pause, a queue, another campaign's call, a regime tagged on later): they are checked again
        here, under locks on the recipients, which is what makes them hold across campaigns."""
        self._drop(conn, campaign, [c for c in claimed if _expired(c, now)], now, lambda c: expired_reason(c.expires_at))
        claimed = [c for c in claimed if not _expired(c, now)]
        time_config = campaign.communication_time_config or {}
        limits = self._limits(conn, campaign)
        work.lock_recipients(conn, [c.recipient for c in claimed])
        longest = max((limit.days for limit in limits), default=0)
        counted = work.counted_communications(conn, [c.recipient for c in claimed], now - timedelta(days=longest))
        windows = {channel: Window.from_config(config) for channel, config in time_config.items()
                   if channel in campaign.channel_subtype_config}
        regime = compliance.regime_of(conn, campaign) if "telephony" in campaign.channel_subtype_config else None
        subject_calls: dict[str, list[datetime]] = {}
        if regime is not None:
            windows["telephony"] = regime.window(windows.get("telephony"))
            subject_calls = compliance.calls_to(conn, regime, {c.recipient for c in claimed if c.channel == "telephony"}, now)
        ready, suppressed, finished, deferred, limited = [], [], [], [], []

        def defer(contact, due: datetime, reason: str) -> None:
            # a request's contact waits no longer than its request: then it expires
            due = min(due, contact.expires_at) if contact.expires_at else due
            deferred.append({"id": contact.id, "due_at": due, "reason": reason, "lease_owner": None,
                             "lease_until": None})
            suppressed.append(_suppression(contact, reason, now))

        for contact in claimed:
            window = windows.get(contact.channel)
            zones = [ZoneInfo(z) for z in contact.zones]
            if window and zones and not window.is_open(now, zones):
                # Paused past its window, or resumed outside it: wait for the next opening.
                reopen = window.next_open(now, zones)
                if reopen is not None:
                    defer(contact, reopen, f"deferred: communication time closed until {reopen.isoformat()}"
                                           f"{_hours_note(regime, contact.channel)}")
                    continue
            if regime is not None and contact.channel == "telephony":
                # the regime's per-subject cap counts every campaign's calls, this batch's included
                free, reason = regime.hold(subject_calls.get(contact.recipient, []), [], now, amd=False)
                if free is not None and reason is not None:
                    reopen = window.next_open(free, zones) if window and zones else free
                    defer(contact, reopen or free, reason)
                    continue
                subject_calls.setdefault(contact.recipient, []).append(now)
            blocking = blocking_limit(limits, counted.get(contact.recipient, []), now) if limits else None
            if blocking is not None:
                reason = _limit_reason(blocking, counted.get(contact.recipient, []), now)
                limited.append({"id": contact.id, "state": work.DROPPED, "reason": reason, "completed_at": now,
                                "lease_owner": None, "lease_until": None})
                suppressed.append(_suppression(contact, reason, now))
                finished.append(contact.participant_id)
                continue
            counted.setdefault(contact.recipient, []).append(now)
            ready.append(contact)
        work.update_contacts(conn, deferred)
        work.update_contacts(conn, limited)
        work.reserve(conn, ready, now, self.owner, now + self.lease)
        notify.initiated(conn, campaign, ready, now)
        notify.suppressed(conn, campaign, suppressed, now)
        work.finish_participants(conn, finished, now)
        if finished:
            campaigns.look_again(conn, [campaign], now)
        return ready

    def _limits(self, conn: Connection, campaign: Campaign) -> tuple[Limit, ...]:
        instance = instances.get_instance(conn, campaign.region, campaign.connect_instance_id) or {}
        return effective_limits(campaign.communication_limits_override, instance.get("communication_limits"))

    def _render(self, conn: Connection, campaign: Campaign, claimed: list, now: datetime) -> dict[str, Outgoing]:
        """The messages of a batch of one campaign; a contact whose message cannot be made is dropped
        with the reason before anything is reserved for it."""
        messages, refused = Renderer(conn, campaign, self.channels).render(claimed)
        self._drop(conn, campaign, [c for c in claimed if c.id in refused], now, lambda c: refused[c.id])
        return messages

    def _drop(self, conn: Connection, campaign: Campaign | None, contacts: list, now: datetime, reason) -> None:
        """Drops these contacts of one campaign, each with reason(contact), and lets their participants exit."""
        if not contacts:
            return
        work.update_contacts(conn, [{"id": c.id, "state": work.DROPPED, "reason": reason(c), "completed_at": now,
                                     "lease_owner": None, "lease_until": None} for c in contacts])
        if campaign is not None:
            notify.suppressed(conn, campaign, [_suppression(c, reason(c), now) for c in contacts], now)
        work.finish_participants(conn, [c.participant_id for c in contacts], now)
        campaigns.look_again(conn, [campaign], now)

    def _render_resumed(self, conn: Connection, resumed: list, now: datetime) -> dict[str, Outgoing]:
        """Contacts reserved before a crash, rendered again. One that no longer renders (its template
        was deleted meanwhile) never left: dropped, and its reservation released."""
        messages: dict[str, Outgoing] = {}
        for campaign_id in {c.campaign_id for c in resumed}:
            campaign = campaign_store.get_campaign_by_id(conn, campaign_id)
            if campaign is None:
                continue
            group = [c for c in resumed if c.campaign_id == campaign_id]
            messages.update(self._render(conn, campaign, group, now))
            work.release_communications(conn, [c.id for c in group if c.id not in messages])
        return messages

    def _send(self, contacts: list, now: datetime, messages: dict[str, Outgoing]) -> int:
        """Steps 2 and 3."""
        by_channel = defaultdict(list)
        for contact in contacts:
            by_channel[contact.channel].append(contact)
        # Resumed after a crash, but their outcome was reported meanwhile: they left already.
        reported = [(c.id, c.outcome, c.due_at, None) for c in contacts if c.outcome is not None]
        if reported:
            with self.db.transaction() as conn:
                work.record_sent(conn, reported)
        for channel, group in by_channel.items():
            group = [c for c in group if c.outcome is None]
            if not group:
                continue
            if channel in self.call_channels:
                with self.db.transaction() as conn:
                    outgoing = calls.outgoing_calls(conn, group)
            else:
                outgoing = [messages[c.id] for c in group]
            receipts = hand_over(channel, self.channels[channel], outgoing, now)
            with self.db.transaction() as conn:
                work.record_sent(conn, [(c.id, r.outcome, r.outcome_at, r.reason) for c, r in zip(group, receipts)])
        return len(contacts)

    # --- outcomes ------------------------------------------------------------------------------
    def apply_outcomes(self, now: datetime) -> int:
        """Applies the outcomes due now, a batch per transaction, up to OUTCOME_BATCHES batches."""
        handled, batch = 0, self._batch()
        for _ in range(OUTCOME_BATCHES):
            claimed = self._apply_outcomes(now, batch)
            handled += claimed
            if claimed < batch:
                break
        return handled

    def _batch(self) -> int:
        return BATCH_UNDER_LOAD if self.yielding() else self.batch

    def _apply_outcomes(self, now: datetime, batch: int) -> int:
        with self.db.transaction() as conn:
            # Messages' contacts are completed in this transaction; only calls, followed after it, are leased.
            claimed = work.claim_contacts(conn, [work.SENT], now, self.owner, self.lease, batch, leased=False)
            live = defaultdict(list)  # calls, by channel: followed until they end
            final = []
            for contact in claimed:
                if contact.channel in self.call_channels:
                    live[contact.channel].append(contact)
                else:
                    final.append((contact, final_outcome(contact.outcome)))  # NO_RECEIPT: no report by the deadline
            work.lease_contacts(conn, [c.id for group in live.values() for c in group], self.owner, now + self.lease)
            known = campaign_store.campaigns_by_id(conn, (c.campaign_id for c, _ in final))
            notify.finished(conn, known, [c for c, _ in final if c.campaign_id in known], now)
            self._complete(conn, final, now, known)
        for channel, group in live.items():
            self._follow_calls(self.channels[channel], group, now)
        return len(claimed)

    def _follow_calls(self, channel: Telephony, group: list, now: datetime) -> None:
        """Asks the adapter how these calls are going (outside any transaction: they are leased) and
        applies it; the calls that ended are completed."""
        states = channel.progress([c.id for c in group], now)
        with self.db.transaction() as conn:
            known = campaign_store.campaigns_by_id(conn, (c.campaign_id for c in group))
            ended = []
            for contact in group:
                if contact.campaign_id not in known:
                    continue
                outcome = calls.follow(conn, known[contact.campaign_id], contact, states.get(contact.id), now)
                if outcome is not None:
                    ended.append((contact, outcome))
            self._complete(conn, ended, now, known)

    def _complete(self, conn: Connection, ended: list[tuple], now: datetime,
                  known: Mapping[str, Campaign] | None = None) -> None:
        """Records (contact, final outcome) pairs with their dispositions; a communication that provably
        never reached the recipient no longer counts against the limits; reattempt rules plan what they
        call for; participants with nothing left exit. `known`: their campaigns, when already read."""
        if not ended:
            return
        if known is None:
            known = campaign_store.campaigns_by_id(conn, (c.campaign_id for c, _ in ended))
        dispositions = {contact.id: disposition_of(outcome) for contact, outcome in ended}
        work.update_contacts(conn, [{"id": contact.id, "state": work.COMPLETED, "outcome": outcome,
                                     "disposition": dispositions[contact.id].code, "completed_at": now,
                                     "lease_owner": None, "lease_until": None} for contact, outcome in ended])
        work.release_communications(conn, [contact_id for contact_id, disposition in dispositions.items()
                                           if disposition.reached is False])
        reattempts.schedule(conn, known, ended, now)  # before participants with nothing left exit
        work.finish_participants(conn, [c.participant_id for c, _ in ended], now)
        campaigns.look_again(conn, known.values(), now)


def hand_over(name: str, channel: Channel, messages: list[Outgoing], now: datetime) -> list[Receipt]:
    """Step 2 for one channel's batch: its receipts, one per message. An adapter that raises, or answers
    with the wrong number of receipts, fails the whole batch with the reason rather than the pass: the
    batch is recorded and never handed over again."""
    try:
        receipts = channel.send(messages, now)
        if len(receipts) == len(messages):
            return receipts
        error: BaseException = RuntimeError(f"{len(receipts)} receipts for {len(messages)} messages")
    except Exception as raised:  # noqa: BLE001  # the boundary: an adapter's fault stays with its batch
        error = raised
    log.error("the %s channel failed on a batch of %d: %s", name, len(messages), described(error), exc_info=error)
    reason = f"the {name} channel failed while handing over its batch ({described(error)}): not sent again"
    return [Receipt("FAILED", now, reason) for _ in messages]


def _shares(due: list[tuple[str, str, int]], campaigns: Mapping[str, Campaign],
            budget: dict[str, int]) -> dict[str, dict[str, int]]:
    """channel -> campaign -> how many it may dispatch now: the channel's budget split by the
    campaigns' capacity (channelSubtypeConfig.<channel>.capacity, default 1), never more than due."""
    shares: dict[str, dict[str, int]] = defaultdict(dict)
    by_channel = defaultdict(list)
    for campaign_id, channel, count in due:
        campaign = campaigns.get(campaign_id)
        if campaign is not None:
            capacity = (campaign.channel_subtype_config.get(channel) or {}).get("capacity") or 1.0
            by_channel[channel].append((campaign_id, count, capacity))
    for channel, entries in by_channel.items():
        total_capacity = sum(capacity for _, _, capacity in entries)
        available = budget.get(channel, 0)
        for campaign_id, count, capacity in entries:
            shares[channel][campaign_id] = min(count, max(1, int(available * capacity / total_capacity)))
    return shares


def _hours_note(regime: Regime | None, channel: str) -> str:
    return regime.hours_note() if regime is not None and channel == "telephony" else ""


def _expired(contact, now: datetime) -> bool:
    return contact.expires_at is not None and contact.expires_at <= now


def _suppression(contact, reason: str, now: datetime) -> dict:
    return {"campaign_id": contact.campaign_id, "participant_id": contact.participant_id, "contact_id": contact.id,
            "recipient": contact.recipient, "channel": contact.channel, "reason": reason, "at": now}


def _limit_reason(limit: Limit, counted: list[datetime], now: datetime) -> str:
    recent = sum(1 for at in counted if at > now - timedelta(days=limit.days))
    return (f"communication limit reached: {limit.describe()} per recipient across all campaigns "
            f"({recent} in the last {limit.days * 24} hours)")
