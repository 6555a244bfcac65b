"""Outcomes an adapter learns after `send` returned (SMS delivery receipts, bounces that come back
later), recorded from the adapter's own thread: each report is one short transaction of its own.

A contact still waiting for its outcome (being handed over, or `sent` until its deadline) takes the
report and becomes due at once, so that the engine's next pass completes it with its disposition. A
contact that completed already takes a report that tells more (reachout.domain.disposition.overrides:
a hard bounce after the relay took the message, a receipt after the deadline): its outcome and
disposition are corrected, and a communication that provably never arrived releases its count.
Contacts started through the Connect APIs take their reports the same way (their rows in
connect_contacts; one that ended has its outcome and disconnect reason corrected).
Reports about contacts Reachout does not know (sent before a reset, another system's) are ignored.
"""
from __future__ import annotations

import logging
from datetime import datetime

from reachout.clock import Clock
from reachout.domain.disposition import disposition_of, overrides
from reachout.domain.contact import COMPLETED, DISPATCHING, SENT
from reachout.engine.connect_contacts import late_outcome
from reachout.store import connect_contacts, work
from reachout.store.db import Database

log = logging.getLogger(__name__)


class Reports:
    """The `report` callback the engine gives its adapters (reachout.channels.Report)."""

    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    def __call__(self, contact_id: str, outcome: str, at: datetime) -> None:
        due = min(at, self.clock.now())  # never later than now, whatever the adapter's clock says
        with self.db.transaction() as conn:
            contact = work.lock_contact(conn, contact_id)
            if contact is None:
                self._connect_contact(conn, contact_id, outcome, due)
            elif contact.state in (DISPATCHING, SENT):
                if contact.outcome is None:
                    work.update_contact(conn, contact_id, outcome=outcome, due_at=due)
                elif overrides(outcome, contact.outcome):  # e.g. a bounce after the relay's 250
                    work.update_contact(conn, contact_id, outcome=outcome)
            elif contact.state == COMPLETED and overrides(outcome, contact.outcome):
                disposition = disposition_of(outcome)
                work.update_contact(conn, contact_id, outcome=outcome, disposition=disposition.code)
                if disposition.reached is False:
                    work.release_communications(conn, [contact_id])

    def _connect_contact(self, conn, contact_id: str, outcome: str, due: datetime) -> None:
        contact = connect_contacts.lock_contact(conn, contact_id)
        if contact is None or contact.origin != connect_contacts.API:
            log.info("report %s for unknown contact %s ignored", outcome, contact_id)
        elif contact.state in (connect_contacts.DISPATCHING, connect_contacts.SENT):
            if contact.outcome is None:
                connect_contacts.update_contacts(conn, [{"id": contact_id, "outcome": outcome, "due_at": due,
                                                         "updated_at": self.clock.now()}])
            elif overrides(outcome, contact.outcome):
                connect_contacts.update_contacts(conn, [{"id": contact_id, "outcome": outcome,
                                                         "updated_at": self.clock.now()}])
        elif (changes := late_outcome(contact, outcome)) is not None:  # it ended: told more now
            connect_contacts.update_contacts(conn, [{"id": contact_id, **changes, "updated_at": self.clock.now()}])
