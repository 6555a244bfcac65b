"""The agent-assisted dialer in the engine: a predictive (or progressive) campaign over N profiles,
a simulated pool of A agents and the simulated carrier, run on the virtual clock to completion.

    .venv/bin/python benchmarks/agent_dialer.py [--profiles 300] [--agents 10] [--mode predictive]
                                                [--talk 60] [--acw 10] [--db URL]

`reachout serve --virtual-clock` runs in a subprocess (SQLite in a temporary directory unless --db);
boto3 makes the Connect instance, queue, routing profile and users, the profiles, segment and
campaign; POST /_reachout/agents/simulation starts the pool. It prints:
- the simulated span from the first dial to the last agent leaving after-contact work, and the
  server's CPU seconds (utime + stime of the process) per simulated hour;
- agent occupancy: the agents' time from connection to the end of their after-contact work, over
  agents x span (the pool is logged in throughout);
- live calls, calls connected to agents, abandoned calls and the abandon ratio (abandoned / live),
  plus the 1% AMD false-positive estimate the regimes count;
- dials per connected call.
Figures depend on the pacer (domain/pacing.py) and the simulated carrier's answer rates; it asserts
nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import boto3
from botocore.config import Config
from sqlalchemy import select

KEY, SECRET = "AKIDBENCH", "bench-secret"
START = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--mode", choices=["predictive", "progressive"], default="predictive")
    parser.add_argument("--talk", type=float, default=60.0, help="mean talk seconds (lognormal, CV 0.6)")
    parser.add_argument("--acw", type=float, default=10.0, help="mean after-contact work seconds (CV 0.5)")
    parser.add_argument("--db", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        db = args.db or f"sqlite:///{Path(data) / 'bench.db'}"
        with sock() as port:
            pass
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "REACHOUT_ACCESS_KEY_ID": KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET}
        log = Path(data) / "server.log"
        server = subprocess.Popen([sys.executable, "-m", "reachout", "serve", "--port", str(port), "--db", db,
                                   "--data-dir", data, "--virtual-clock", START.isoformat()],
                                  env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            wait(url, server, log)
            run(url, server.pid, db, args)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def run(url: str, pid: int, db: str, args) -> None:
    def client(service):
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY,
                            aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))

    connect, profiles, campaigns = client("connect"), client("customer-profiles"), client("connectcampaignsv2")
    instance = connect.create_instance(IdentityManagementType="CONNECT_MANAGED",
                                       InstanceAlias=f"b{uuid.uuid4().hex[:8]}", InboundCallsEnabled=False,
                                       OutboundCallsEnabled=True)["Id"]
    queue = connect.create_queue(InstanceId=instance, Name="outbound", HoursOfOperationId="hours")["QueueId"]
    profile = connect.create_routing_profile(
        InstanceId=instance, Name="agents", Description="agents", DefaultOutboundQueueId=queue,
        QueueConfigs=[{"QueueReference": {"QueueId": queue, "Channel": "VOICE"}, "Priority": 1, "Delay": 0}],
        MediaConcurrencies=[{"Channel": "VOICE", "Concurrency": 1}])["RoutingProfileId"]
    users = [connect.create_user(InstanceId=instance, Username=f"agent{n}", Password="Secret123!",
                                 SecurityProfileIds=["agent"], RoutingProfileId=profile,
                                 IdentityInfo={"FirstName": "Agent", "LastName": str(n)},
                                 PhoneConfig={"PhoneType": "SOFT_PHONE"})["UserId"]
             for n in range(args.agents)]
    domain = f"d{uuid.uuid4().hex[:8]}"
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=365)
    for n in range(args.profiles):
        profiles.create_profile(DomainName=domain, PhoneNumber=f"+1212557{n:04d}", Attributes={"cohort": "bench"})
    profiles.create_segment_definition(
        DomainName=domain, SegmentDefinitionName="bench", DisplayName="bench",
        SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
            "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": ["bench"]}}}}]}]})
    post(url, "/_reachout/agents/simulation", {"instanceId": instance, "userIds": users, "seed": 1,
                                              "talkSeconds": {"mean": args.talk, "cv": 0.6},
                                              "acwSeconds": {"mean": args.acw, "cv": 0.5}})
    campaign = campaigns.create_campaign(
        name="bench", connectInstanceId=instance,
        source={"customerProfilesSegmentArn": f"arn:aws:profile:us-east-1:123456789012:domains/{domain}/"
                                              "segment-definitions/bench"},
        channelSubtypeConfig={"telephony": {"connectQueueId": queue, "outboundMode": {
            args.mode: {"bandwidthAllocation": 1.0}}, "defaultOutboundConfig": {
            "connectContactFlowId": "flow", "connectSourcePhoneNumber": "+12065550100",
            "answerMachineDetectionConfig": {"enableAnswerMachineDetection": True}, "ringTimeout": 25}}})["id"]
    campaigns.start_campaign(id=campaign)

    cpu0 = cpu_seconds(pid)
    wall0 = time.monotonic()
    hours = 0
    while campaigns.get_campaign_state(id=campaign)["state"] != "Completed" and hours < 48:
        post(url, "/_reachout/clock/advance", {"seconds": 3600})
        hours += 1
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0

    contacts = get(url, f"/_reachout/campaigns/{campaign}/contacts")
    abandons = get(url, f"/_reachout/campaigns/{campaign}/abandons")
    pool = get(url, "/_reachout/agents/simulation")["pools"][0]["log"]
    finished = {contact: datetime.fromisoformat(at) for at, _, action, contact in pool if action == "finish_acw"}
    connected = agent_connections(db)
    busy = sum((finished[c] - at).total_seconds() for c, at in connected.items() if c in finished)
    first = min(datetime.fromisoformat(c["dispatched_at"]) for c in contacts if c["dispatched_at"])
    last = max(finished.values())
    span = (last - first).total_seconds()
    live = sum(1 for c in contacts if c["outcome"] in ("ABANDONED",) or c["id"] in connected)
    print(f"mode {args.mode}: {args.profiles} profiles, {args.agents} agents, talk {args.talk:.0f} s, "
          f"ACW {args.acw:.0f} s; {len(contacts)} calls")
    print(f"simulated span      {span / 60:8.1f} min (first dial to last ACW end)")
    print(f"server CPU          {cpu:8.1f} s   ({cpu / (span / 3600):.1f} CPU s per simulated hour; wall {wall:.1f} s)")
    print(f"agent occupancy     {100 * busy / (args.agents * span):8.1f} %")
    print(f"live calls          {live:8d}   connected {len(connected)}, abandoned {len(abandons)}")
    ratio = len(abandons) / live if live else 0.0
    print(f"abandon ratio       {100 * ratio:8.2f} %   (+1% AMD estimate: {100 * (ratio + 0.01):.2f} %)")
    print(f"dials per connect   {len(contacts) / max(len(connected), 1):8.2f}")


def agent_connections(db: str) -> dict[str, datetime]:
    """contact id -> when the simulated carrier connected it to an agent."""
    from reachout.store.db import open_database
    from reachout.store.tables import sim_calls

    database = open_database(db)
    try:
        with database.transaction() as conn:
            return {row.call_id: row.agent_connected_at for row in conn.execute(
                select(sim_calls.c.call_id, sim_calls.c.agent_connected_at)
                .where(sim_calls.c.agent_connected_at.is_not(None)))}
    finally:
        database.dispose()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class sock:
    def __enter__(self) -> int:
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.s.close()


def post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(url + path, method="POST", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=3600) as response:
        return json.loads(response.read())


def get(url: str, path: str):
    with urllib.request.urlopen(url + path, timeout=600) as response:
        return json.loads(response.read())


def wait(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"reachout serve exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "/_reachout/health", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("reachout serve did not come up")


if __name__ == "__main__":
    main()
