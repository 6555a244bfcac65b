"""Contacts started through the Connect APIs (StartOutboundVoiceContact, StartOutboundChatContact,
StartOutboundEmailContact, BatchPutContact): handed to their channel at the engine's next pass and
ended by the channel's outcome.

Each contact's message is made from what the API call gave (engine/rendering.ConnectMessages) in the
transaction that claims it; one whose message cannot be made ends there with the reason, and its
channel never sees it.

Sending records before it sends, as the campaign dispatcher does (engine/dispatch.py):
1. one transaction claims the due contacts, makes their messages, records them as `dispatching` and
   emits INITIATED;
2. the channel gets them, each with its contact id as the idempotency key;
3. one transaction records each receipt (`sent`, the outcome due at the receipt's time, or reported
   by the adapter until then: reachout.engine.reports), and the adapter's reason if it gave one.
   Step 2 has the dispatcher's per-message boundary (engine/dispatch.hand_over).
A worker that dies after 1 leaves `dispatching` contacts that fall due again when its lease ends;
whoever claims them makes their messages again and repeats only 2 and 3, and a channel sends at most
once per key. A contact stopped before 1 is never handed over.

Voice contacts on a telephony adapter (channels/telephony.Telephony) are placed as calls
(engine/calls.api_call) and followed as the campaign dispatcher follows its calls: the adapter is
asked how each call goes outside any transaction (it may keep its own), each new stage becomes the
contact's events and record, and the contact ends when its call is disconnected, with the call's
AnsweringMachineDetectionStatus (when it asked for detection) or the DisconnectReason of a failed dial
attempt, connected when it was answered and disconnected when the call was. StopContact of a call
being placed or going on leaves its hang-up owed (store/connect_contacts.py); the next pass hangs it
up through the adapter, also when the call was placed only after the stop.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace

from reachout.channels import Channel, Outgoing
from reachout.channels.telephony import Telephony
from reachout.domain.contact import CONNECT_CHANNEL, SUBTYPE_OF, UNSENDABLE, ending
from reachout.domain.disposition import final_outcome, overrides
from reachout.engine import calls, notify
from reachout.engine.dispatch import hand_over
from reachout.engine.rendering import ConnectMessages, system_endpoints
from reachout.store import campaigns as campaign_store
from reachout.store import connect_contacts as store
from reachout.store import work
from reachout.store.db import Database


class ConnectContacts:
    def __init__(self, db: Database, channels: dict[str, Channel], owner: str, lease: timedelta, batch: int):
        self.db = db
        self.channels = channels
        self.call_channels = {name for name, channel in channels.items() if isinstance(channel, Telephony)}
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_due(self, now: datetime) -> int:
        """Hands over what is due, ends what has its outcome; returns how many contacts it moved."""
        ready, settled = self.record_due(now)
        self.send(ready, now)
        return len(ready) + settled + self.end_due(now) + self.hang_up_due(now)

    def record_due(self, now: datetime) -> tuple[list[tuple[object, Outgoing]], int]:
        """Step 1: claims the due contacts, makes their messages and records the fresh ones as handed
        over. Returns (contact, its message) to send, and how many claimed contacts need no sending:
        ended because their message could not be made, or resumed with their outcome reported."""
        with self.db.transaction() as conn:
            # Contacts recorded before a crash come back as `dispatching`: only steps 2 and 3 remain.
            claimed = store.claim_due(conn, [store.PENDING, store.DISPATCHING], now, self.owner, self.lease,
                                      self.batch)
            messages, refused = ConnectMessages(conn, self.channels).render(claimed)
            unsendable = [c for c in claimed if c.id in refused]
            store.update_contacts(conn, [
                {"id": c.id, "state": store.DISCONNECTED, "disconnected_at": now, "disconnect_reason": UNSENDABLE,
                 "reason": refused[c.id], "due_at": None, "lease_owner": None, "lease_until": None,
                 "updated_at": now} for c in unsendable])
            notify.contacts_unsendable(conn, unsendable, refused, UNSENDABLE, now)
            fresh = [c for c in claimed if c.state == store.PENDING and c.id in messages]
            store.update_contacts(conn, [{"id": c.id, "state": store.DISPATCHING, "dispatched_at": now,
                                          "updated_at": now} for c in fresh])
            notify.contacts_initiated(conn, fresh, now)
            # Resumed after a crash, but their outcome was reported meanwhile: they left already.
            reported = [c for c in claimed if c.id in messages and c.outcome is not None]
            store.update_contacts(conn, [{"id": c.id, "state": store.SENT, "due_at": now, "lease_owner": None,
                                          "lease_until": None, "updated_at": now} for c in reported])
        ready = [(c, messages[c.id]) for c in claimed if c.id in messages and c.outcome is None]
        return ready, len(unsendable) + len(reported)

    def send(self, ready: list[tuple[object, Outgoing]], now: datetime) -> None:
        """Steps 2 and 3."""
        by_channel = defaultdict(list)
        for contact, message in ready:
            call = contact.delivery in self.call_channels
            by_channel[contact.delivery].append(calls.api_call(contact, message) if call else message)
        for channel, messages in by_channel.items():
            receipts = hand_over(channel, self.channels[channel], messages, now)
            with self.db.transaction() as conn:
                store.record_sent(conn, [(m.contact_id, r.outcome, r.outcome_at, r.reason)
                                         for m, r in zip(messages, receipts)], now)
                if channel in self.call_channels:  # stopped while being placed: hung up at once
                    store.owe_hang_ups(conn, [m.contact_id for m in messages], now)

    def end_due(self, now: datetime) -> int:
        """Contacts whose outcome is known now, or whose deadline for one passed, end with it; calls
        due to be asked about are followed."""
        with self.db.transaction() as conn:
            claimed = store.claim_due(conn, [store.SENT], now, self.owner, self.lease, self.batch)
            messages = [c for c in claimed if c.delivery not in self.call_channels]
            changes = [{"id": c.id, "state": store.DISCONNECTED, "due_at": None, "lease_owner": None,
                        "lease_until": None, "updated_at": now,
                        **ended(c.delivery, final_outcome(c.outcome), now, amd=_detects(c))}
                       for c in messages]
            store.update_contacts(conn, changes)
            notify.contacts_ended(conn, messages, {c["id"]: (c["outcome"], c["disconnect_reason"]) for c in changes},
                                  now)
        live = defaultdict(list)
        for contact in claimed:
            if contact.delivery in self.call_channels:
                live[contact.delivery].append(contact)
        for channel, group in live.items():
            self._follow_calls(self.channels[channel], group, now)
        return len(claimed)

    def _follow_calls(self, channel: Telephony, group: list, now: datetime) -> None:
        """Asks the adapter how these calls go (outside any transaction: they are leased) and applies
        it to those still waiting for it."""
        states = channel.progress([c.id for c in group], now)
        with self.db.transaction() as conn:
            current = store.still_leased(conn, [c.id for c in group], store.SENT, self.owner)
            store.update_contacts(conn, [_followed(conn, current[c.id], states.get(c.id), now)
                                         for c in group if c.id in current])

    def hang_up_due(self, now: datetime) -> int:
        """Hangs up the calls of contacts stopped while their call was placed or going on."""
        with self.db.transaction() as conn:
            owed = store.claim_due(conn, [store.DISCONNECTED], now, self.owner, self.lease, self.batch)
        for contact in owed:
            if contact.delivery in self.call_channels:
                # (False when the call had ended, or was never placed: nothing is left to do either way.)
                self.channels[contact.delivery].disconnect(contact.id, now)
        with self.db.transaction() as conn:
            done = store.still_leased(conn, [c.id for c in owed], store.DISCONNECTED, self.owner)
            store.update_contacts(conn, [{"id": contact_id, "due_at": None, "lease_owner": None, "lease_until": None}
                                         for contact_id in done])
        return len(owed)


def _followed(conn, contact, state, now: datetime) -> dict:
    """What the state of a contact's call changes in its record (for `store.update_contacts`), its
    new stages announced. Answered, it is connected (with the detection's status); disconnected, it
    ends as the call did; one its adapter has no record of ends now, its call lost."""
    amd = _detects(contact)
    if state is None:
        news, outcome, ended_at = calls.Progress([], None, None, contact.outcome), calls.LOST, now
    else:
        news = calls.progress_since(contact.outcome, state)
        outcome, ended_at = news.outcome, news.ended and news.ended.at
    answered = news.answered
    change = {"id": contact.id, "lease_owner": None, "lease_until": None,
              "connected_at": answered.at if answered else contact.connected_at,
              "amd_status": answered.amd_status if answered and amd else None,
              "updated_at": now if news.new or outcome else contact.updated_at}
    if outcome is None:
        notify.contact_call_progressed(conn, contact, news.new, answered, now)
        return {**change, "state": store.SENT, "outcome": news.stage, "due_at": state.next_at or now + calls.POLL,
                "disconnected_at": None, "disconnect_reason": None}
    end = ending(contact.delivery, outcome, amd=amd)
    notify.contact_call_progressed(conn, contact, news.new, answered, now, disconnect_reason=end.disconnect_reason,
                                   lost=state is None)
    return {**change, "state": store.DISCONNECTED, "outcome": outcome, "due_at": None, "disconnected_at": ended_at,
            "disconnect_reason": end.disconnect_reason, "amd_status": end.amd_status}


def _detects(contact) -> bool:
    """Whether a contact's call detects answering machines (only calls carry the option)."""
    return bool(contact.options.get("amd", True))


def late_outcome(contact, outcome: str) -> dict | None:
    """What an outcome reported after a contact ended changes in its record (a bounce after the relay
    took the message, a receipt after the deadline), or None. Its timestamps stay: it ended when it
    ended. A contact stopped by StopContact had no outcome and keeps its reason."""
    if contact.state != store.DISCONNECTED or contact.outcome is None or not overrides(outcome, contact.outcome):
        return None
    end = ending(contact.delivery, outcome, amd=_detects(contact))
    return {"outcome": outcome, "disconnect_reason": end.disconnect_reason, "amd_status": end.amd_status,
            "connected_at": contact.connected_at if end.connected else None}


def ended(delivery: str, outcome: str, now: datetime, *, amd: bool = True) -> dict:
    """The columns of a contact that ended now with this outcome (for `store.update_contacts`; the
    Connect view of a campaign contact ends the same way)."""
    end = ending(delivery, outcome, amd=amd)
    return {"outcome": outcome, "connected_at": now if end.connected else None, "disconnected_at": now,
            "disconnect_reason": end.disconnect_reason, "amd_status": end.amd_status}


def campaign_contact(conn, region: str, instance_id: str, contact_id: str) -> SimpleNamespace | None:
    """The Connect view of a contact the campaign engine dispatched, with the columns of a
    connect_contacts row (origin `campaign`); None unless a campaign of this instance, in this region,
    dispatched it. Read from the engine's own row, so that it tells what that row tells, late reports
    included, and dispatching costs nothing more."""
    row = work.contact_in_campaign(conn, contact_id)
    if (row is None or row.dispatched_at is None or row.region != region
            or row.connect_instance_id.rpartition("instance/")[2] != instance_id):
        return None
    view = {"id": row.id, "region": row.region, "account": row.campaign_arn.split(":")[4], "instance_id": instance_id,
            "origin": store.CAMPAIGN, "channel": CONNECT_CHANNEL[row.channel], "delivery": row.channel,
            "initiation_method": "API", "campaign_id": row.campaign_id, "initiated_at": row.dispatched_at,
            "dispatched_at": row.dispatched_at,
            "customer_endpoint": {"Type": "EMAIL_ADDRESS" if row.channel == "email" else "TELEPHONE_NUMBER",
                                  "Address": row.endpoint},
            "system_endpoint": system_endpoints(conn, campaign_store.campaigns_by_id(conn, [row.campaign_id]),
                                                [row])[row.id],
            "segment_attributes": {"connect:Subtype": {"ValueString": SUBTYPE_OF[row.channel]}},
            "state": store.DISPATCHING if row.state == work.DISPATCHING else store.SENT,
            "updated_at": row.completed_at or row.dispatched_at, "outcome": row.outcome,
            "connected_at": None, "disconnected_at": None, "disconnect_reason": None, "amd_status": None, "reason": None}
    if row.state == work.COMPLETED:
        view.update(ended(row.channel, final_outcome(row.outcome), row.completed_at), state=store.DISCONNECTED)
    elif row.state == work.DROPPED:  # reserved, then its message could no longer be made: never sent
        view.update(state=store.DISCONNECTED, disconnected_at=row.completed_at, disconnect_reason=UNSENDABLE,
                    reason=row.reason)
    return SimpleNamespace(**_NOT_SET, **view)


# What campaign contacts do not have.
_NOT_SET = {"flow_id": None, "related_contact_id": None, "name": None, "description": None,
            "attributes": {}, "options": {}, "client_token": None}
