"""The store on both backends: migrations build exactly the schema the code declares, and
timestamps survive the round trip as timezone-aware UTC."""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from reachout.domain.reach import reach_class, reach_of
from reachout.store.db import MIGRATIONS, Database, open_database
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


def test_profiles_written_before_reach_existed_get_theirs_when_migrated(tmp_path):
    """0008 adds profiles.reach and derives it for the profiles already there; 0011 its class."""
    with _migrated_to(tmp_path / "old.db", "0004") as conn:
        conn.execute(text("INSERT INTO profiles (id, domain_id, mobile_phone_number, email_address, address, "
                          "created_at, updated_at) VALUES ('p1', 1, '+13125550100', 'ann@example.com', "
                          "'{\"PostalCode\": \"10001\"}', '2026-01-05 08:00:00', '2026-01-05 08:00:00')"))
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with database.transaction() as conn:
        reach, its_class = conn.execute(text("SELECT reach, reach_class FROM profiles WHERE id = 'p1'")).one()
    database.dispose()
    assert json.loads(reach) == reach_of({"MobilePhoneNumber": "+13125550100",
                                        "EmailAddress": "ann@example.com",
                                        "Address": {"PostalCode": "10001"}})
    assert its_class == reach_class(json.loads(reach))


def test_evaluations_recorded_per_trigger_become_one_row_per_object_when_migrated(tmp_path):
    """0018 gathers the rows of each object's evaluations (one per trigger until then) into one row;
    the listing reads them as before."""
    from reachout.store.event_triggers import evaluations

    with _migrated_to(tmp_path / "old.db", "0017") as conn:
        for row in [("big", "o-1", 1, "fired for campaign c-1", "c-1", "r-1", "08:00:00"),
                    ("small", "o-1", 0, "conditions not met: Total", None, None, "08:00:00"),
                    ("big", "o-2", 0, "conditions not met: Total", None, None, "08:00:01"),
                    ("small", "o-2", 0, "conditions not met: Total", None, None, "08:00:01")]:
            conn.execute(text("INSERT INTO event_trigger_evaluations (domain_id, trigger_name, object_type, profile_id, "
                              "object_key, fired, reason, campaign_id, request_id, at) VALUES (1, :t, 'Order', 'p1', "
                              ":k, :f, :why, :c, :r, '2026-01-05 ' || :at)"),
                         dict(zip(("t", "k", "f", "why", "c", "r", "at"), row)))
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with database.transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_trigger_evaluations")).scalar() == 2
        listed = evaluations(conn, 1)
        big = evaluations(conn, 1, trigger_name="big", limit=1)
    database.dispose()
    assert [(e["object_key"], e["trigger_name"], e["fired"]) for e in listed] == [
        ("o-2", "small", False), ("o-2", "big", False), ("o-1", "small", False), ("o-1", "big", True)]
    assert listed[-1]["request_id"] == "r-1" and listed[-1]["reason"] == "fired for campaign c-1"
    assert [(e["object_key"], e["trigger_name"]) for e in big] == [("o-2", "big")]


@contextmanager
def _migrated_to(path, revision: str):
    """A SQLite database at `path` migrated up to `revision`: a connection in a transaction, to write
    the rows a later migration is to convert."""
    engine = create_engine(f"sqlite:///{path}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        yield conn
    engine.dispose()


def test_commits_leave_wal_checkpoints_to_a_thread_of_their_own(tmp_path):
    # A commit that checkpointed (SQLite's default past 1,000 pages of WAL) held the write lock through
    # two fsyncs while other writers waited; a thread now copies the pages back instead.
    database = open_database(f"sqlite:///{tmp_path / 'reachout.db'}")
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE filler (page BLOB)"))
    with database.transaction() as conn:
        conn.execute(text("INSERT INTO filler (page) VALUES (:page)"), [{"page": os.urandom(4000)}] * 2000)
    written = 2000 * 4000
    assert os.path.getsize(tmp_path / "reachout.db") < written  # the commit did not copy its pages back
    deadline = time.monotonic() + 10
    while os.path.getsize(tmp_path / "reachout.db") < written and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(tmp_path / "reachout.db") >= written  # the checkpointer did
    database.dispose()
