"""The dispatch path's batch statements (store/bulk.py) on both backends, against SQLAlchemy's own
executemany as the plain reference: execute_many (on PostgreSQL one UPDATE over unnest(arrays)) and
insert_new (INSERT ... ON CONFLICT DO NOTHING) leave exactly the rows the reference leaves."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, insert, select

from reachout.store import work
from reachout.store.bulk import execute_many, insert_new
from reachout.store.db import Database, open_database
from reachout.store.tables import contacts, sim_sends

T0 = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
IDS = [f"00000000-0000-4000-8000-{n:012x}" for n in range(12)]


@pytest.fixture(scope="module")
def database(backend) -> Database:
    database = open_database(backend)
    yield database
    database.dispose()


def _contact(contact_id: str, outcome: str | None) -> dict:
    return {"id": contact_id, "campaign_id": "c", "participant_id": "p", "recipient": "r", "channel": "email",
            "endpoint": "a@example.com", "zones": [], "attempt": 1, "state": work.DISPATCHING, "due_at": T0,
            "lease_owner": "w", "lease_until": T0 + timedelta(minutes=2), "outcome": outcome, "disposition": None,
            "reason": "deferred: closed", "created_at": T0, "dispatched_at": T0, "completed_at": None,
            "request_id": None, "expires_at": None}


def _after(database: Database, outcomes: list[str | None], apply, table=contacts) -> list[tuple]:
    """The table's rows (as text) after `apply(conn)`, in a transaction rolled back afterwards."""
    with database.engine.connect() as conn:
        conn.begin()
        conn.execute(insert(contacts), [_contact(contact_id, outcome) for contact_id, outcome in zip(IDS, outcomes)])
        apply(conn)
        key = table.primary_key.columns
        rows = [tuple(row) for row in conn.execute(select(*(cast(c, Text) for c in table.c)).order_by(*key))]
        conn.rollback()
    return rows


moments = st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))
instants = st.one_of(st.none(), moments)
words = st.one_of(st.none(), st.sampled_from(["DELIVERED", "BOUNCED", "a reason", ""]))
chosen = st.lists(st.sampled_from(IDS), min_size=1, max_size=len(IDS), unique=True)
existing = st.lists(st.one_of(st.none(), st.just("SMS_DELIVERED")), min_size=len(IDS), max_size=len(IDS))
quick = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@quick
@given(existing, chosen, st.data())
def test_contact_changes_match_executemany(database, outcomes, ids, data):
    changes = [{"b_id": contact_id, "state": data.draw(st.sampled_from([work.COMPLETED, work.DROPPED])),
                "reason": data.draw(words), "completed_at": data.draw(instants), "lease_owner": None,
                "lease_until": None} for contact_id in ids]
    expected = _after(database, outcomes, lambda conn: conn.execute(work._UPDATE_CONTACT, changes))
    assert _after(database, outcomes, lambda conn: execute_many(conn, work._UPDATE_CONTACT, changes)) == expected


@quick
@given(existing, chosen, st.data())
def test_receipts_match_executemany_and_a_reported_outcome_wins(database, outcomes, ids, data):
    receipts = [{"b_id": contact_id, "b_outcome": data.draw(words), "b_due": data.draw(moments),
                 "b_reason": data.draw(words)} for contact_id in ids]
    expected = _after(database, outcomes, lambda conn: conn.execute(work._RECORD_SENT, receipts))
    assert _after(database, outcomes, lambda conn: execute_many(conn, work._RECORD_SENT, receipts)) == expected
    reported = {contact_id for contact_id, outcome in zip(IDS, outcomes) if outcome is not None}
    rows = {row[0]: row for row in expected}
    outcome_at = [c.name for c in contacts.c].index("outcome")
    assert all(rows[r["b_id"]][outcome_at] == "SMS_DELIVERED" for r in receipts if r["b_id"] in reported)


@quick
@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3", "k4"]), st.sampled_from(["DELIVERED", "BOUNCED"]),
                          moments), min_size=1, max_size=12),
       st.lists(st.sampled_from(["k1", "k2", "k3"]), unique=True))
def test_insert_new_keeps_what_is_there_and_the_first_of_a_batch(database, batch, before):
    rows = [{"idempotency_key": key, "channel": "email", "endpoint": "a@example.com", "outcome": outcome,
             "sent_at": at} for key, outcome, at in batch]
    old = [{"idempotency_key": key, "channel": "sms", "endpoint": "+15550100", "outcome": "OLD", "sent_at": T0}
           for key in before]

    def reference(conn):
        if old:
            conn.execute(insert(sim_sends), old)
        for row in rows:  # one at a time: the first of a key wins, as the docstring says
            if not conn.execute(select(sim_sends.c.idempotency_key)
                                .where(sim_sends.c.idempotency_key == row["idempotency_key"])).first():
                conn.execute(insert(sim_sends), row)

    def tested(conn):
        if old:
            conn.execute(insert(sim_sends), old)
        insert_new(conn, sim_sends, rows)

    assert _after(database, [None] * len(IDS), tested, sim_sends) == _after(database, [None] * len(IDS), reference,
                                                                             sim_sends)
