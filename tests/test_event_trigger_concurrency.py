"""Per-profile invocation limits are never exceeded under concurrent ingestion: two workers on PostgreSQL,
each a thread with its own database connection, hammer the same profiles and trigger (limit 3 an hour),
started together at every attempt. The number of firings per profile is exactly the limit.

Two paths are raced: the firing path alone (`on_ingested`, the triggers' evaluation of objects already
ingested: only the per-trigger reservation orders the workers), and the whole ingestion path of
PutProfileObject, the importer and `reachout ingest` (`ingest_chunk`: there the domain's row lock taken
by ingestion orders them as well)."""
from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from reachout.engine.event_triggers import Ingested, on_ingested
from reachout.importer import ingest_chunk
from reachout.store.db import Database, database_url
from reachout.store.profile_domains import get_domain
from tests.support import (EMAIL, REGION, START, World, event_campaign, explain, link, order_type, postgres_database,
                           start_server)

LIMIT = 3
PROFILES = 8
ATTEMPTS = 6  # per worker and profile: 12 tries at a limit of 3


@pytest.fixture
def postgres_server(tmp_path_factory):
    urls = postgres_database("reachout_race")
    url = next(urls)
    running = start_server(url, tmp_path_factory.mktemp("race"), "--virtual-clock", START.isoformat())
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)


@pytest.mark.parametrize("path", ["firing", "ingestion"])
def test_two_workers_never_overshoot_the_limit(postgres_server, path: str) -> None:
    world = World(postgres_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)
    link(world, campaign_id, EventTriggerLimits={"Periods": [{"Unit": "HOURS", "Value": 1,
                                                              "MaxInvocationsPerProfile": LIMIT}]})
    emails = [f"racer{n}@example.org" for n in range(PROFILES)]
    profile_ids = {}
    for email in emails:  # the profiles exist before the race (an order too small to fire)
        world.profiles.put_profile_object(DomainName=world.domain, ObjectTypeName="WebOrder", Object=json.dumps(
            {"OrderId": f"seed-{email}", "Email": email, "Total": 1}))
        [found] = world.profiles.search_profiles(DomainName=world.domain, KeyName="_email", Values=[email])["Items"]
        profile_ids[email] = found["ProfileId"]

    now = START + timedelta(seconds=1)
    start_together = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        database = Database(database_url(postgres_server.db, None))  # migrated by the server
        try:
            with database.read() as conn:
                domain = get_domain(conn, REGION, world.domain)
            for _ in range(ATTEMPTS):
                for email in emails:
                    text = json.dumps({"OrderId": f"o-{uuid.uuid4().hex[:10]}", "Email": email, "Total": 999})
                    start_together.wait(timeout=60)
                    with database.transaction() as conn:
                        if path == "firing":
                            on_ingested(conn, domain, "WebOrder",
                                        [Ingested(profile_ids[email], json.loads(text)["OrderId"], text)], now)
                        else:
                            [result], _ = ingest_chunk(conn, domain, "WebOrder", [text], now)
                            assert result.profile_id == profile_ids[email]
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            failures.append(error)
            start_together.abort()
        finally:
            database.dispose()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert not failures, failures

    evaluations = [e for e in explain(postgres_server, world.domain) if e["object_key"].startswith("o-")]
    assert len(evaluations) == 2 * ATTEMPTS * PROFILES
    fired = Counter(e["profile_id"] for e in evaluations if e["fired"])
    assert fired == Counter({profile_id: LIMIT for profile_id in profile_ids.values()})
    refused = [e for e in evaluations if not e["fired"]]
    assert all(f"invocation limit reached: {LIMIT} of {LIMIT} per profile in the last 1 hour" in e["reason"]
               for e in refused), refused[:3]
