"""Contacts started through the Connect APIs (StartOutboundVoiceContact, StartOutboundChatContact,
StartOutboundEmailContact, BatchPutContact): handed to their channel at the engine's next pass and
ended by the channel's outcome.

Sending records before it sends, as the campaign dispatcher does (engine/dispatch.py):
1. one transaction claims the due contacts, records them as `dispatching` and emits INITIATED;
2. the channel gets them, each with its contact id as the idempotency key;
3. one transaction records each receipt (`sent`, the outcome due at the receipt's time).
A worker that dies after 1 leaves `dispatching` contacts that fall due again when its lease ends;
whoever claims them repeats only 2 and 3, and a channel sends at most once per key. A contact
stopped before 1 is never handed over.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from reachout.channels import Channel, Outgoing
from reachout.domain.contact import CONNECT_CHANNEL, SUBTYPE_OF, ending
from reachout.engine import notify
from reachout.store import connect_contacts as store
from reachout.store.db import Database


class ConnectContacts:
    def __init__(self, db: Database, channels: dict[str, Channel], owner: str, lease: timedelta, batch: int):
        self.db = db
        self.channels = channels
        self.owner = owner
        self.lease = lease
        self.batch = batch

    def run_due(self, now: datetime) -> int:
        """Hands over what is due, ends what has its outcome; returns how many contacts it moved."""
        claimed = self.record_due(now)
        self.send(claimed, now)
        return len(claimed) + self.end_due(now)

    def record_due(self, now: datetime) -> list:
        """Step 1: claims the due contacts and records the fresh ones as handed over."""
        with self.db.transaction() as conn:
            # Contacts recorded before a crash come back as `dispatching`: only steps 2 and 3 remain.
            claimed = store.claim_due(conn, [store.PENDING, store.DISPATCHING], now, self.owner, self.lease,
                                      self.batch)
            fresh = [c for c in claimed if c.state == store.PENDING]
            for contact in fresh:
                store.update_contact(conn, contact.id, now=now, state=store.DISPATCHING, dispatched_at=now)
            notify.contacts_initiated(conn, fresh, now)
        return claimed

    def send(self, claimed: list, now: datetime) -> None:
        """Steps 2 and 3."""
        by_channel = defaultdict(list)
        for contact in claimed:
            by_channel[contact.delivery].append(contact)
        for channel, group in by_channel.items():
            receipts = self.channels[channel].send(
                [Outgoing(c.id, c.id, c.campaign_id or "", channel, c.customer_endpoint["Address"], 1) for c in group],
                now)
            with self.db.transaction() as conn:
                for contact, receipt in zip(group, receipts):
                    # A contact stopped while it was being handed over stays stopped.
                    store.update_contact(conn, contact.id, now=now, only_in=[store.DISPATCHING], state=store.SENT,
                                         outcome=receipt.outcome, due_at=receipt.outcome_at, lease_owner=None,
                                         lease_until=None)

    def end_due(self, now: datetime) -> int:
        """Contacts whose outcome is known now end with it."""
        with self.db.transaction() as conn:
            claimed = store.claim_due(conn, [store.SENT], now, self.owner, self.lease, self.batch)
            reasons = {}
            for contact in claimed:
                values = ended(contact.delivery, contact.outcome, now, amd=bool(contact.options.get("amd", True)))
                reasons[contact.id] = values["disconnect_reason"]
                store.update_contact(conn, contact.id, now=now, state=store.DISCONNECTED, due_at=None,
                                     lease_owner=None, lease_until=None, **values)
            notify.contacts_ended(conn, claimed, reasons, now)
        return len(claimed)


def ended(delivery: str, outcome: str, now: datetime, *, amd: bool = True) -> dict:
    """The columns of a contact that ended now with this outcome (for `store.update_contact`): the
    campaign engine ends its own contacts' records with it too."""
    end = ending(delivery, outcome, amd=amd)
    return {"outcome": outcome, "connected_at": now if end.connected else None, "disconnected_at": now,
            "disconnect_reason": end.disconnect_reason, "amd_status": end.amd_status}


def campaign_contact(campaign, contact, now: datetime) -> dict:
    """The record (for `store.record_contacts`) of a contact the campaign engine dispatches now:
    `campaign` a domain Campaign, `contact` a row of the engine's contacts table."""
    return {"id": contact.id, "region": campaign.region, "account": campaign.arn.split(":")[4],
            "instance_id": campaign.connect_instance_id, "origin": store.CAMPAIGN,
            "channel": CONNECT_CHANNEL[contact.channel], "delivery": contact.channel, "initiation_method": "API",
            "state": store.DISPATCHING, "campaign_id": campaign.id, "initiated_at": now, "dispatched_at": now,
            "customer_endpoint": {"Type": "EMAIL_ADDRESS" if contact.channel == "email" else "TELEPHONE_NUMBER",
                                  "Address": contact.endpoint},
            "segment_attributes": {"connect:Subtype": {"ValueString": SUBTYPE_OF[contact.channel]}}}
