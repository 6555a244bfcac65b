"""Workers sharing a PostgreSQL database: one is killed with SIGKILL mid-campaign, another takes over;
every participant completes exactly once and nobody is sent anything twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import psycopg
import pytest

from tests.support import (ACCESS_KEY, ACCOUNT, EMAIL, SECRET_KEY, make_client, postgres_database, records,
                           start_server, wait_for)

PEOPLE = 150


@pytest.fixture
def shared_database():
    urls = postgres_database("reachout_workers")
    yield next(urls)
    next(urls, None)


def start_worker(db_url: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "REACHOUT_ACCESS_KEY_ID": ACCESS_KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET_KEY,
           # Slow carriers and short leases: the kill lands mid-campaign and the survivor need not
           # wait long for the dead worker's claims.
           "REACHOUT_SIM_RATE": "25", "REACHOUT_LEASE_SECONDS": "2"}
    return subprocess.Popen([sys.executable, "-m", "reachout", "worker", "--db", db_url], env=env,
                            stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(shared_database, tmp_path):
    api = start_server(shared_database, tmp_path, "--no-engine")
    workers = []
    try:
        profiles = make_client(api.url, "customer-profiles")
        campaigns = make_client(api.url, "connectcampaignsv2")
        domain = f"d{uuid.uuid4().hex[:8]}"
        profiles.create_domain(DomainName=domain, DefaultExpirationDays=30)
        people = {profiles.create_profile(DomainName=domain, EmailAddress=f"w{i}@example.com",
                                          Attributes={"cohort": "all"})["ProfileId"] for i in range(PEOPLE)}
        profiles.create_segment_definition(
            DomainName=domain, SegmentDefinitionName="all", DisplayName="all",
            SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
                "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": ["all"]}}}}]}]})
        campaign_id = campaigns.create_campaign(
            name="workers", connectInstanceId="inst-workers", channelSubtypeConfig=EMAIL,
            source={"customerProfilesSegmentArn":
                    f"arn:aws:profile:us-east-1:{ACCOUNT}:domains/{domain}/segment-definitions/all"})["id"]
        campaigns.start_campaign(id=campaign_id)

        doomed = start_worker(shared_database, tmp_path / "doomed.log")
        workers.append(doomed)
        wait_for(lambda: sum(1 for c in records(api, campaign_id, "contacts") if c["dispatched_at"]) >= PEOPLE // 3,
                 "the first worker to dispatch a third of the campaign", timeout=120)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        survivor = start_worker(shared_database, tmp_path / "survivor.log")
        workers.append(survivor)
        wait_for(lambda: campaigns.get_campaign_state(id=campaign_id)["state"] == "Completed",
                 "the survivor to complete the campaign", timeout=120)

        contacts = records(api, campaign_id, "contacts")
        assert sorted(c["recipient"] for c in contacts) == sorted(people)  # each participant once
        assert {c["state"] for c in contacts} == {"completed"}
        with psycopg.connect(shared_database) as conn:
            sends = conn.execute("SELECT endpoint, count(*) FROM sim_sends GROUP BY endpoint").fetchall()
            reserved = conn.execute("SELECT count(*) FROM communications WHERE campaign_id = %s",
                                    (campaign_id,)).fetchone()[0]
        assert len(sends) == PEOPLE and all(count == 1 for _, count in sends)  # nobody got a duplicate
        assert reserved == PEOPLE  # and each dispatch was counted against the limits once
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
        assert api.stop() == 0
