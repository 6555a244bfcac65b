"""The typed writes of the engine's work (store/work.py insert_contacts, insert_participants): each
record's fields are its table's columns, every column a new row needs is one of them, and the rows
written are those SQLAlchemy's own INSERT of the same values writes, on both backends."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, insert, select

from reachout.domain import contact, participant
from reachout.domain.contact import NewContact
from reachout.domain.participant import NewParticipant
from reachout.store import work
from reachout.store.db import Database, open_database
from reachout.store.tables import contacts, participants

T0 = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("record, table", [(NewContact, contacts), (NewParticipant, participants)])
def test_a_record_holds_every_column_a_new_row_needs_and_only_columns(record, table):
    fields = {field.name for field in dataclasses.fields(record)}
    assert fields <= set(table.c.keys())
    required = {c.name for c in table.c if not c.nullable and c.default is None and c.server_default is None
                and c.autoincrement is not True}
    assert required <= fields


@pytest.fixture(scope="module")
def database(backend) -> Database:
    database = open_database(backend)
    yield database
    database.dispose()


def _written(database: Database, table, write) -> list[tuple]:
    """The table's rows (as text) after `write(conn)`, in a transaction rolled back afterwards."""
    with database.engine.connect() as conn:
        conn.begin()
        write(conn)
        rows = [tuple(row) for row in conn.execute(select(*(cast(c, Text) for c in table.c)).order_by(table.c.id))]
        conn.rollback()
    return rows


def _reference(table, records):
    def write(conn):
        conn.execute(insert(table), [dataclasses.asdict(r) for r in records])
    return write


moments = st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))
maybe_moment = st.one_of(st.none(), moments)
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
ids = st.uuids().map(str)
quick = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

new_contacts = st.builds(
    NewContact, id=ids, campaign_id=ids, participant_id=st.one_of(st.none(), ids), recipient=texts,
    channel=st.sampled_from(["email", "sms", "telephony"]), endpoint=texts,
    zones=st.lists(st.sampled_from(["America/New_York", "Europe/Berlin"]), max_size=2).map(tuple),
    attempt=st.integers(1, 5), state=st.sampled_from([contact.PLANNED, contact.DROPPED]), due_at=moments,
    reason=st.one_of(st.none(), texts), created_at=moments, completed_at=maybe_moment,
    request_id=st.one_of(st.none(), ids), expires_at=maybe_moment)
new_participants = st.builds(
    NewParticipant, id=ids, campaign_id=ids, profile_id=texts, entry=st.integers(1, 5),
    state=st.sampled_from([participant.ACTIVE, participant.DROPPED]), entered_at=moments,
    finished_at=maybe_moment, plan_id=st.one_of(st.none(), ids), release_at=maybe_moment)


@quick
@given(st.lists(new_contacts, min_size=1, max_size=8, unique_by=lambda c: c.id))
def test_contacts_are_written_as_sqlalchemy_writes_them(database, records):
    expected = _written(database, contacts, _reference(contacts, records))
    assert _written(database, contacts, lambda conn: work.insert_contacts(conn, records)) == expected


@quick
@given(st.lists(new_participants, min_size=1, max_size=8, unique_by=lambda p: p.id))
def test_participants_are_written_as_sqlalchemy_writes_them(database, records):
    expected = _written(database, participants, _reference(participants, records))
    assert _written(database, participants, lambda conn: work.insert_participants(conn, records)) == expected
