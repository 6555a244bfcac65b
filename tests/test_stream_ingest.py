"""`reachout ingest`: profile objects from a real Redis stream through PutProfileObject's path, against a
real server (SQLite and PostgreSQL) on the virtual clock. Entries fire triggers; bad entries are
recorded with the reason and acknowledged; a consumer that dies (before its commit, or after it but
before its XACK, or SIGKILLed at any moment) resumes from its last acknowledged entry, and no entry is
ingested or fires twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest

from reachout.engine.shared_clock import engine_clock
from reachout.store import stream_entries
from reachout.store.db import Database, database_url, open_database
from reachout.stream_ingest import StreamIngest
from tests.support import (EMAIL, REGION, Server, World, advance, event_campaign, explain, internal, link, order_type,
                           records, unavailable, wait_for)

REDIS = os.environ.get("REACHOUT_TEST_REDIS", "redis://127.0.0.1:6379/0")
UNLIMITED = {"Periods": [{"Unit": "DAYS", "Value": 1, "Unlimited": True}]}


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS}: {error}")
    streams = []
    client.reachout_stream = lambda: streams.append(f"test-orders-{uuid.uuid4().hex[:10]}") or streams[-1]
    yield client
    for stream in streams:
        client.delete(stream)
    client.close()


def entry(order_id: str, email: str, total, **extra) -> dict:
    return {"objectType": "WebOrder",
            "object": json.dumps({"OrderId": order_id, "Email": email, "FirstName": "Ann", "Total": total}), **extra}


def consumer(server: Server, stream: str, name: str = "c1", **options) -> StreamIngest:
    """A consumer in this process, on its own connection to the server's database."""
    import redis

    database = open_database(database_url(server.db, None))
    ingesting = StreamIngest(database, engine_clock(database), redis.Redis.from_url(REDIS), stream=stream, group="reachout",
                             consumer=name, region=REGION, domain=options.pop("domain"), **options)
    ingesting.prepare()
    return ingesting


def datetime_of(server: Server):
    from datetime import datetime

    return datetime.fromisoformat(internal(server, "GET", "/_reachout/clock")["now"])


def handled(server: Server, stream: str) -> list[dict]:
    # Without open_database's migration step, whose write transaction would compete with the
    # consumer for the write lock at every poll.
    database = Database(database_url(server.db, None))
    try:
        with database.read() as conn:
            return stream_entries.handled(conn, stream, "reachout")
    finally:
        database.dispose()


def start_ingest(server: Server, stream: str, domain: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reachout", "ingest", REDIS, "--stream", stream, "--domain", domain,
                             "--db", server.db, "--consumer", "worker-1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_consumed(client, stream: str, process: subprocess.Popen | None = None) -> None:
    """Until the group has read every entry and acknowledged it."""
    last = client.xrevrange(stream, count=1)[0][0].decode()

    def consumed() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"reachout ingest exited with {process.returncode}: {process.stderr.read()}")
        groups = client.xinfo_groups(stream)  # none until the consumer has started
        return bool(groups and groups[0]["last-delivered-id"].decode() == last and groups[0]["pending"] == 0)

    wait_for(consumed, f"stream {stream} to be consumed", timeout=120)


def test_entries_fire_triggers_and_bad_entries_are_recorded(engine_server: Server, redis_client) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id)
    stream = redis_client.reachout_stream()
    small = redis_client.xadd(stream, entry("o-small", "ann@example.org", 20)).decode()
    big = redis_client.xadd(stream, entry("o-big", "ann@example.org", 250)).decode()
    not_json = redis_client.xadd(stream, {"objectType": "WebOrder", "object": "{not json"}).decode()
    unknown = redis_client.xadd(stream, entry("o-x", "ann@example.org", 300, objectType="Nope")).decode()
    no_object = redis_client.xadd(stream, {"objectType": "WebOrder", "payload": "{}"}).decode()
    no_key = redis_client.xadd(stream, {"objectType": "WebOrder", "object": json.dumps({"Total": 900})}).decode()
    not_utf8 = redis_client.xadd(stream, {"objectType": "WebOrder", "object": b"\xff\xfe"}).decode()
    untyped = redis_client.xadd(stream, {"object": json.dumps({"OrderId": "o-untyped", "Total": 500,
                                                               "Email": "bea@example.org"})}).decode()

    process = start_ingest(engine_server, stream, world.domain)
    try:
        wait_until_consumed(redis_client, stream, process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read()

    first, second = explain(engine_server, world.domain)
    assert (first["object_key"], first["fired"]) == ("o-small", False)
    assert (second["object_key"], second["fired"], second["campaign_id"]) == ("o-big", True, campaign_id)
    by_id = {row["entry_id"]: row for row in handled(engine_server, stream)}
    assert (by_id[small]["object_key"], by_id[small]["rejected"]) == ("o-small", None)
    assert by_id[big]["profile_id"] == second["profile_id"]
    assert by_id[not_json]["rejected"].startswith("The object is not valid JSON")
    assert by_id[unknown]["rejected"] == f"Object type Nope not found in domain {world.domain}"
    assert by_id[no_object]["rejected"] == "The entry has no 'object' field (the object's JSON text); its fields: " \
                                           "objectType, payload"
    assert by_id[no_key]["rejected"].startswith("The object has no value for its UNIQUE key OrderId")
    assert by_id[not_utf8]["rejected"].startswith("The entry is not UTF-8 text")
    assert by_id[untyped]["rejected"].startswith("The entry has no 'objectType' field")

    # The reasons are listed by the command line (and were logged as they happened).
    listed = subprocess.run([sys.executable, "-m", "reachout", "ingest", REDIS, "--stream", stream, "--domain",
                             world.domain, "--db", engine_server.db, "--show-rejected"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert f"entry {unknown}  Nope\n    Object type Nope not found" in listed.stdout
    assert listed.stdout.count("\n    ") == 6

    # The firing was stamped on the server's (virtual) clock: it comes due as the engine's clock moves.
    assert second["at"] == first["at"] == datetime_of(engine_server).isoformat()
    advance(engine_server, seconds=1)
    [contact] = records(engine_server, campaign_id, "contacts")
    assert contact["endpoint"] == "ann@example.org"

    # With --object-type, entries without their own objectType are that type.
    later = redis_client.xadd(stream, {"object": json.dumps({"OrderId": "o-typed", "Total": 500,
                                                             "Email": "bea@example.org"})}).decode()
    process = start_ingest(engine_server, stream, world.domain, "--object-type", "WebOrder")
    try:
        wait_until_consumed(redis_client, stream, process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert {row["entry_id"]: row for row in handled(engine_server, stream)}[later]["object_key"] == "o-typed"
    assert explain(engine_server, world.domain)[-1]["object_key"] == "o-typed"


def test_a_crash_between_commit_and_ack_fires_nothing_twice(engine_server: Server, redis_client) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, EventTriggerLimits=UNLIMITED)
    stream = redis_client.reachout_stream()
    ids = [redis_client.xadd(stream, entry(f"o-{n}", f"p{n}@example.org", 500)).decode() for n in range(6)]

    # The first consumer ingests and commits 3 entries, then dies before XACK.
    first = consumer(engine_server, stream, "c1", domain=world.domain, batch=3)
    taken = first.take(block_ms=0)
    assert [entry_id for entry_id, _ in taken] == ids[:3]
    assert first.handle(taken).ingested == 3
    first.db.dispose()

    # Restarted under the same name, it reads its own pending entries first: recorded, so only acked.
    again = consumer(engine_server, stream, "c1", domain=world.domain, batch=3)
    outcome = again.step(block_ms=0)
    assert (outcome.ids, outcome.ingested, outcome.repeated) == (ids[:3], 0, 3)
    assert redis_client.xpending(stream, "reachout")["pending"] == 0

    # Next it takes 3 new entries and dies again before XACK; this time another consumer takes them
    # over (idle past its claim time), recognises them and acks them.
    taken = again.take(block_ms=0)
    assert [entry_id for entry_id, _ in taken] == ids[3:]
    assert again.handle(taken).ingested == 3
    other = consumer(engine_server, stream, "c2", domain=world.domain, batch=10, claim_idle_ms=0)
    outcome = other.step(block_ms=0)
    assert (outcome.ids, outcome.ingested, outcome.repeated) == (ids[3:], 0, 3)
    assert redis_client.xpending(stream, "reachout")["pending"] == 0

    # A consumer that dies BEFORE its commit left nothing behind: the entry is ingested on restart.
    late = redis_client.xadd(stream, entry("o-late", "late@example.org", 500)).decode()
    taken = other.take(block_ms=0)
    assert [entry_id for entry_id, _ in taken] == [late]  # ...and then the process dies
    restarted = consumer(engine_server, stream, "c2", domain=world.domain)
    outcome = restarted.step(block_ms=0)
    assert (outcome.ids, outcome.ingested, outcome.repeated) == ([late], 1, 0)
    for ingesting in (again, other, restarted):
        ingesting.db.dispose()

    fired = Counter(e["object_key"] for e in explain(engine_server, world.domain) if e["fired"])
    assert fired == Counter({**{f"o-{n}": 1 for n in range(6)}, "o-late": 1})
    advance(engine_server, seconds=1)
    assert len(records(engine_server, campaign_id, "contacts")) == 7


def test_a_batch_racing_another_consumer_for_its_entries_is_undone(engine_server: Server, redis_client,
                                                                   monkeypatch) -> None:
    """A consumer still alive but slow has its entries taken over by another, which ingests them. When
    the slow one's transaction comes to record them it fails, and its ingestion is undone with it."""
    from sqlalchemy.exc import IntegrityError

    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, EventTriggerLimits=UNLIMITED)
    stream = redis_client.reachout_stream()
    ids = [redis_client.xadd(stream, entry(f"o-{n}", f"r{n}@example.org", 500)).decode() for n in range(2)]
    slow = consumer(engine_server, stream, "slow", domain=world.domain)
    taken = slow.take(block_ms=0)
    other = consumer(engine_server, stream, "other", domain=world.domain, claim_idle_ms=0)
    assert other.step(block_ms=0).ingested == 2
    # The slow one looked for its entries before the other committed them (as it would on PostgreSQL
    # when both run at once): it does not see them recorded, ingests them, then fails to record them.
    monkeypatch.setattr(stream_entries, "recorded", lambda *args: set())
    with pytest.raises(IntegrityError):
        slow.handle(taken)
    monkeypatch.undo()
    assert slow.handle(taken).repeated == 2  # read again: found recorded, only acknowledged
    for ingesting in (slow, other):
        ingesting.db.dispose()
    assert [row["entry_id"] for row in handled(engine_server, stream)] == ids
    fired = Counter(e["object_key"] for e in explain(engine_server, world.domain) if e["fired"])
    assert fired == Counter({"o-0": 1, "o-1": 1})


def test_a_killed_consumer_resumes_and_fires_each_entry_once(engine_server: Server, redis_client) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, EventTriggerLimits=UNLIMITED)
    stream = redis_client.reachout_stream()
    count = 900  # explain lists up to 1000

    def add(numbers) -> None:
        for n in numbers:
            redis_client.xadd(stream, entry(f"o-{n}", f"p{n % 50}@example.org", 500))
            time.sleep(0.001)

    add(range(10))
    process = start_ingest(engine_server, stream, world.domain, "--batch", "7")
    wait_for(lambda: len(handled(engine_server, stream)) >= 10, "the consumer up", timeout=120, interval=0.01)
    # Entries keep coming while it is killed, so the kill lands mid-stream: mid-batch, between commit
    # and XACK, or waiting for the next entries.
    producer = threading.Thread(target=add, args=(range(10, count),))
    producer.start()
    wait_for(lambda: len(handled(engine_server, stream)) >= 40, "40 entries handled", timeout=120, interval=0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert producer.is_alive(), "killed too late to test anything"
    producer.join()

    process = start_ingest(engine_server, stream, world.domain, "--batch", "7")
    try:
        wait_until_consumed(redis_client, stream, process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read()

    rows = handled(engine_server, stream)
    assert len(rows) == count and all(row["rejected"] is None for row in rows)
    evaluations = explain(engine_server, world.domain)
    assert Counter(e["object_key"] for e in evaluations) == Counter({f"o-{n}": 1 for n in range(count)})
    assert all(e["fired"] for e in evaluations)


def test_an_unknown_domain_is_refused_at_start(engine_server: Server, redis_client) -> None:
    stream = redis_client.reachout_stream()
    refused = subprocess.run([sys.executable, "-m", "reachout", "ingest", REDIS, "--stream", stream, "--domain",
                              "nope", "--db", engine_server.db], capture_output=True, text=True)
    assert refused.returncode == 2 and "Domain nope not found in us-east-1" in refused.stderr


def test_a_consumer_keeps_postgresqls_statistics_up_with_the_tables_it_fills(engine_server: Server,
                                                                           redis_client) -> None:
    if not engine_server.db.startswith("postgresql"):
        pytest.skip("SQLite plans without statistics")
    import psycopg

    world = World(engine_server)
    order_type(world)
    stream = redis_client.reachout_stream()
    with redis_client.pipeline(transaction=False) as pipe:
        for n in range(1_500):
            pipe.xadd(stream, entry(f"o-{n}", f"buyer-{n}@example.org", n))
        pipe.execute()
    ingesting = consumer(engine_server, stream, domain=world.domain, batch=500)

    def analyses() -> int:
        with psycopg.connect(engine_server.db.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            return conn.execute("SELECT coalesce(sum(analyze_count), 0) FROM pg_stat_user_tables "
                                "WHERE relname IN ('profiles', 'profile_keys', 'profile_objects')").fetchone()[0]

    try:
        assert ingesting.step(block_ms=100).ingested == 500
        time.sleep(1.5)  # (a backend reports its statistics within a second)
        assert analyses() == 0  # not yet: 500 objects are fewer than the first refresh's 1,000
        assert ingesting.step(block_ms=100).ingested == 500
        wait_for(lambda: analyses() == 3, "the three tables analysed once the consumer's objects reached 1,000")
        assert ingesting.step(block_ms=100).ingested == 500
        time.sleep(1.5)
        assert analyses() == 3  # the next refresh comes at 2,000
    finally:
        ingesting.db.dispose()
