"""The store on both backends: migrations build exactly the schema the code declares, and
timestamps survive the round trip as timezone-aware UTC."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from reachout.store.db import Database, open_database
from reachout.store.tables import campaigns, metadata


@pytest.fixture
def database(backend) -> Database:
    database = open_database(backend)
    yield database
    database.dispose()


def test_migrations_match_the_declared_tables(database):
    with database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrating_twice_is_a_no_op(database):
    database.migrate()
    with database.engine.connect() as conn:
        assert set(metadata.tables) <= set(inspect(conn).get_table_names())


def test_timestamps_come_back_aware_and_equal(database):
    moment = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone.utc)
    row = dict(id="ts-check", seq=-1, region="us-east-1", arn="arn:aws:connect-campaigns:us-east-1:1:campaign/ts-check",
               name="n", connect_instance_id="i", state="Initialized", channel_subtype_config={},
               created_at=moment, schedule_start=moment.astimezone())
    with database.transaction() as conn:
        conn.execute(campaigns.delete().where(campaigns.c.id == "ts-check"))
        conn.execute(campaigns.insert().values(row))
    with database.transaction() as conn:
        stored = conn.execute(select(campaigns).where(campaigns.c.id == "ts-check")).one()
        conn.execute(campaigns.delete().where(campaigns.c.id == "ts-check"))
    assert stored.created_at == moment and stored.created_at.tzinfo is not None
    assert stored.schedule_start == moment


def test_a_failed_transaction_leaves_nothing_behind(database):
    with pytest.raises(RuntimeError):
        with database.transaction() as conn:
            conn.execute(campaigns.insert().values(
                id="rolled-back", seq=-2, region="us-east-1", arn="arn:aws:connect-campaigns:us-east-1:1:campaign/rb",
                name="n", connect_instance_id="i", state="Initialized", channel_subtype_config={},
                created_at=datetime.now(timezone.utc)))
            raise RuntimeError("crash mid-work")
    with database.transaction() as conn:
        assert conn.execute(select(campaigns).where(campaigns.c.id == "rolled-back")).first() is None
