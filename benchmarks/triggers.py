"""Event triggers: how long from an ingested object to its outbound-request decision, and how many
objects per second are ingested and evaluated, over boto3 (PutProfileObject) and over the Redis
stream consumer (`reachout ingest`).

    .venv/bin/python benchmarks/triggers.py [--rate 1000] [--seconds 10] [--threads 16] [--db URL]

Set-up: `reachout serve` as a subprocess (SQLite in a temporary directory unless --db; system clock,
its engine running as for users), a domain with an order object type, 20 event triggers on it, each
linked by an integration to a running email campaign of its own. An order's Category is one of 40
values and trigger i fires on category c<i>: every object is evaluated by all 20 triggers (20
evaluations recorded and announced), and half the objects fire one of them (an outbound request).
Every order goes to a new profile, so the per-profile limits never stop a firing.

Measured:
1. boto3, open loop: PutProfileObject calls scheduled at --rate per second, spread over --threads
   client threads; latency = the call's answer - its scheduled instant (queueing included: when the
   server or the clients fall behind, it shows). The answer comes after the ingestion's transaction
   committed, decision included.
2. boto3, closed loop: the same threads calling back to back: the maximum sustained events/s.
3. Redis, open loop: XADD at --rate per second; a `reachout ingest` consumer (this script in
   --consume mode: the same StreamIngest as the command, noting when each batch committed); latency
   = decision committed - XADD. Then whether the engine kept up with the firings: "sent" p50 / p99 =
   a firing's decision -> its contact's dispatch (the engine's clock), and the seconds after the last
   decision until none was left to take or dispatch. Smaller engine transactions can lower the
   decision latency by leaving the sending behind: these figures show it.
4. Redis, drain: --seconds x --rate entries queued first, then consumed: the maximum events/s.
5. Redis, open loop again with the server restarted with --no-engine: the decision path alone, not
   sharing the CPUs and the write lock with the engine sending the firings (a diagnosis, not a target).
Each prints p50 / p99 and the server's (or consumer's) CPU milliseconds per event (from /proc).
Targets: p99 decision latency < 10 ms at 1,000 events/s, >= 2,000 events/s ingested on SQLite. It
asserts nothing. The figures depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import boto3
from botocore.config import Config

ACCESS_KEY, SECRET_KEY, ACCOUNT = "AKIDREACHOUTBENCH", "reachout-bench-secret", "123456789012"
REGION = "us-east-1"
TRIGGERS, CATEGORIES = 20, 40
FIELDS = {"OrderId": {"Source": "_source.OrderId", "Target": "WebOrder.OrderId"},
          "Email": {"Source": "_source.Email", "Target": "_profile.EmailAddress"},
          "Category": {"Source": "_source.Category", "Target": "WebOrder.Category"},
          "Total": {"Source": "_source.Total", "Target": "WebOrder.Total"}}
KEYS = {"OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["OrderId"]}],
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Email"]}]}
EMAIL = {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectSourceEmailAddress": "news@example.com",
    "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t1"}}}
TARGET_P99_MS, TARGET_RATE = 10.0, 2000
ALONE = ", server engine stopped (the decision path alone; not a target row)"


# --- the server and the world ------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: str, data_dir: Path, engine: bool = True) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "REACHOUT_ACCESS_KEY_ID": ACCESS_KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET_KEY,
           "REACHOUT_ACCOUNT_ID": ACCOUNT}
    process = subprocess.Popen([sys.executable, "-m", "reachout", "serve", "--port", str(port), "--db", db,
                                "--data-dir", str(data_dir), *([] if engine else ["--no-engine"])], env=env,
                               stdout=(data_dir / "server.log").open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/_reachout/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"reachout serve did not come up: {(data_dir / 'server.log').read_text()}")


@contextlib.contextmanager
def postgres_schema(url: str):
    """A schema of the benchmark's own in the database of `url`, dropped afterwards."""
    import psycopg

    schema = f"reachout_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def client(url: str, service: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=4))


def build_world(url: str) -> str:
    """A domain with 20 triggers, each linked to a running campaign; its name."""
    profiles, campaigns = client(url, "customer-profiles"), client(url, "connectcampaignsv2")
    domain = f"bench{uuid.uuid4().hex[:8]}"
    profiles.create_domain(DomainName=domain, DefaultExpirationDays=365)
    profiles.put_profile_object_type(DomainName=domain, ObjectTypeName="WebOrder", Description="orders",
                                     AllowProfileCreation=True, Fields=FIELDS, Keys=KEYS)
    instance = f"inst-{uuid.uuid4().hex[:8]}"
    for i in range(TRIGGERS):
        name = f"category{i}"
        profiles.create_event_trigger(DomainName=domain, EventTriggerName=name, ObjectTypeName="WebOrder",
                                      EventTriggerConditions=[{"LogicalOperator": "ALL", "EventTriggerDimensions": [
                                          {"ObjectAttributes": [{"FieldName": "Category",
                                                                 "ComparisonOperator": "INCLUSIVE",
                                                                 "Values": [f"c{i}"]}]}]}])
        made = campaigns.create_campaign(name=f"b{i}", connectInstanceId=instance, channelSubtypeConfig=EMAIL,
                                         source={"eventTrigger": {"customerProfilesDomainArn":
                                                                  f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{domain}"}})
        campaigns.start_campaign(id=made["id"])
        profiles.put_integration(DomainName=domain, Uri=made["arn"], EventTriggerNames=[name])
        deadline = time.monotonic() + 30
        while campaigns.get_campaign_state(id=made["id"])["state"] != "Running" and time.monotonic() < deadline:
            time.sleep(0.05)
    return domain


def order(n: int) -> str:
    return json.dumps({"OrderId": f"o-{uuid.uuid4().hex}", "Email": f"buyer-{uuid.uuid4().hex[:12]}@example.org",
                       "Category": f"c{n % CATEGORIES}", "Total": 10 + n % 500})


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def report(label: str, latencies_ms: list[float], events: int, seconds: float, cpu: float | None,
           errors: int = 0, server_cpu: float | None = None, engine: dict | None = None) -> dict:
    """cpu: of the process deciding (the server over boto3, the consumer over Redis); server_cpu: of the
    server beside the consumer (its engine taking the requests and the bus events the firings made)."""
    row = {"run": label, "events": events, "events/s": events / seconds if seconds else 0.0,
           "p50 ms": percentile(latencies_ms, 0.5) if latencies_ms else None,
           "p99 ms": percentile(latencies_ms, 0.99) if latencies_ms else None,
           "cpu ms/event": 1000 * cpu / events if cpu is not None and events else None,
           "server cpu ms/event": 1000 * server_cpu / events if server_cpu is not None and events else None,
           "errors": errors, **(engine or {})}
    shown = {k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in row.items()}
    print("  ".join(f"{k}={v}" for k, v in shown.items()), flush=True)
    return row


# --- boto3 -------------------------------------------------------------------------------------

def boto3_open_loop(url: str, domain: str, rate: float, seconds: float, threads: int, server_pid: int) -> dict:
    clients = [client(url, "customer-profiles") for _ in range(threads)]
    for c in clients:  # warm: connections open, models loaded
        c.put_profile_object(DomainName=domain, ObjectTypeName="WebOrder", Object=order(0))
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)

    def run(index: int) -> None:
        mine = []
        for n in range(index, total, threads):  # call n is due at start + n / rate
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                clients[index].put_profile_object(DomainName=domain, ObjectTypeName="WebOrder", Object=order(n))
            except Exception:  # noqa: BLE001 - counted, not fatal
                with lock:
                    errors[0] += 1
                continue
            mine.append(1000 * (time.perf_counter() - due))
        with lock:
            latencies.extend(mine)

    cpu_before = cpu_seconds(server_pid)
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    return report(f"boto3 PutProfileObject, {rate:.0f}/s offered", latencies, len(latencies), elapsed,
                  cpu_seconds(server_pid) - cpu_before, errors[0])


def boto3_closed_loop(url: str, domain: str, seconds: float, threads: int, server_pid: int) -> dict:
    clients = [client(url, "customer-profiles") for _ in range(threads)]
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    errors = [0]

    def run(index: int) -> None:
        mine, n = [], index
        barrier.wait()
        deadline = time.perf_counter() + seconds
        while (before := time.perf_counter()) < deadline:
            try:
                clients[index].put_profile_object(DomainName=domain, ObjectTypeName="WebOrder", Object=order(n))
            except Exception:  # noqa: BLE001
                with lock:
                    errors[0] += 1
                continue
            mine.append(1000 * (time.perf_counter() - before))
            n += threads
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    cpu_before = cpu_seconds(server_pid)
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    return report(f"boto3 PutProfileObject, as fast as {threads} threads go", latencies, len(latencies),
                  time.perf_counter() - start, cpu_seconds(server_pid) - cpu_before, errors[0])


# --- the Redis consumer -------------------------------------------------------------------------

def consume(args) -> None:
    """--consume mode: StreamIngest as `reachout ingest` runs it, writing `entry_id committed_at` after
    each batch's commit, before its acknowledgement (wall clock, as the XADD times are)."""
    import redis

    from reachout import collector
    from reachout.engine.shared_clock import engine_clock
    from reachout.store.db import database_url, open_database
    from reachout.stream_ingest import StreamIngest

    database = open_database(database_url(args.db, Path(args.data_dir)))
    ingesting = StreamIngest(database, engine_clock(database), redis.Redis.from_url(args.redis), stream=args.stream,
                             group="bench", consumer="bench-1", region=REGION, domain=args.domain,
                             object_type="WebOrder", batch=args.batch)
    ingesting.prepare()
    collector.settle_after_start()  # as the command does
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with open(args.consume, "w") as out:
        while not stopping.is_set():
            done = ingesting.handle(ingesting.take(block_ms=200))  # step(), timed at the commit
            if done.ids:
                now = time.time()
                out.write("".join(f"{entry_id} {now}\n" for entry_id in done.ids))
                out.flush()
            ingesting.ack(done.ids)
    database.dispose()


def start_consumer(args, db: str, data_dir: Path, domain: str, stream: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--consume", str(out), "--db", db, "--data-dir", str(data_dir),
                             "--redis", args.redis, "--stream", stream, "--domain", domain, "--batch", str(args.batch)])


def committed(out: Path) -> dict[str, float]:
    found = {}
    if out.exists():
        for line in out.read_text().splitlines():
            entry_id, _, at = line.partition(" ")
            if at:
                found[entry_id] = float(at)
    return found


def wait_for(out: Path, count: int, process: subprocess.Popen, limit: float = 600) -> dict[str, float]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = committed(out)
        if len(found) >= count:
            return found
        if process.poll() is not None:
            raise SystemExit(f"the consumer exited with {process.returncode}")
        time.sleep(0.2)
    raise SystemExit(f"the consumer handled {len(committed(out))} of {count} entries in {limit} s")


def engine_followed(db: str, data_dir: Path, since: datetime, limit: float = 120, lags: bool = True) -> dict:
    """Whether the engine kept up with the firings decided since `since`: seconds until none of them
    was left to take or to dispatch (after the last decision), and p50 / p99 milliseconds from each
    firing's decision to its contact's dispatch. A decision latency bought by the engine falling
    behind shows here."""
    from sqlalchemy import func, select

    from reachout.domain.contact import DISPATCHING, PLANNED
    from reachout.domain.outbound_request import PENDING
    from reachout.store.db import database_url, open_database
    from reachout.store.tables import contacts, outbound_requests

    database = open_database(database_url(db, data_dir))
    fired = select(outbound_requests.c.id).where(outbound_requests.c.created_at >= since)
    waiting = [select(func.count()).where(outbound_requests.c.created_at >= since, outbound_requests.c.status == PENDING),
               select(func.count()).select_from(contacts).where(contacts.c.request_id.in_(fired),
                                                                contacts.c.state.in_([PLANNED, DISPATCHING]))]
    start = time.monotonic()
    try:
        while True:
            with database.read() as conn:
                left = sum(conn.execute(query).scalar() for query in waiting)
            if not left or time.monotonic() - start > limit:
                break
            time.sleep(0.1)
        caught_up = time.monotonic() - start
        with database.read() as conn:
            found = [1000 * (dispatched - decided).total_seconds() for decided, dispatched in conn.execute(
                select(outbound_requests.c.created_at, contacts.c.dispatched_at)
                .join(contacts, contacts.c.request_id == outbound_requests.c.id)
                .where(outbound_requests.c.created_at >= since, contacts.c.dispatched_at.is_not(None)))] if lags else []
    finally:
        database.dispose()
    return {"sent p50 ms": percentile(found, 0.5) if found else None,
            "sent p99 ms": percentile(found, 0.99) if found else None,
            "engine caught up s": caught_up if not left else None}


def engine_idle(db: str, data_dir: Path) -> None:
    """Waits until the engine has sent every firing so far: a row's figures are its own, not those
    of an engine still working off the previous row's backlog (the boto3 rows leave thousands)."""
    engine_followed(db, data_dir, datetime(2000, 1, 1, tzinfo=timezone.utc), limit=600, lags=False)


def redis_open_loop(args, db: str, data_dir: Path, domain: str, work: Path, server_pid: int, note: str = "") -> dict:
    import redis

    r = redis.Redis.from_url(args.redis)
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    out = work / f"open-{stream}.txt"  # (a file of its own each run: the consumer truncates it only once started)
    process = start_consumer(args, db, data_dir, domain, stream, out)
    try:
        r.xadd(stream, {"object": order(0)})
        wait_for(out, 1, process, 60)  # consumer up and warm
        sent: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        cpu_before, server_before = cpu_seconds(process.pid), cpu_seconds(server_pid)
        start, since = time.perf_counter(), datetime.now(timezone.utc)
        for n in range(total):
            delay = start + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            at = time.time()
            sent[r.xadd(stream, {"object": order(n)}).decode()] = at
        found = wait_for(out, total + 1, process)
        elapsed = time.perf_counter() - start
        cpu, server_cpu = cpu_seconds(process.pid) - cpu_before, cpu_seconds(server_pid) - server_before
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        r.delete(stream)
    latencies = [1000 * (found[entry_id] - at) for entry_id, at in sent.items()]
    engine = engine_followed(db, data_dir, since) if not note else None
    return report(f"Redis consumer, XADD {args.rate:.0f}/s offered{note}", latencies, len(latencies), elapsed, cpu,
                  server_cpu=server_cpu, engine=engine)


def redis_drain(args, db: str, data_dir: Path, domain: str, work: Path, server_pid: int) -> dict:
    import redis

    r = redis.Redis.from_url(args.redis)
    stream, out = f"bench-{uuid.uuid4().hex[:8]}", work / "drain.txt"
    total = int(args.rate * args.seconds)
    pipe = r.pipeline(transaction=False)
    for n in range(total):
        pipe.xadd(stream, {"object": order(n)})
    pipe.execute()
    process = start_consumer(args, db, data_dir, domain, stream, out)
    try:
        wait_for(out, 1, process, 60)
        cpu_before, server_before = cpu_seconds(process.pid), cpu_seconds(server_pid)
        start, first = time.perf_counter(), len(committed(out))
        wait_for(out, total, process)
        elapsed = time.perf_counter() - start
        cpu, server_cpu = cpu_seconds(process.pid) - cpu_before, cpu_seconds(server_pid) - server_before
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        r.delete(stream)
    return report(f"Redis consumer, draining {total} queued entries (batch {args.batch})", [], total - first,
                  elapsed, cpu, server_cpu=server_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s offered (default 1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default 10)")
    parser.add_argument("--threads", type=int, default=16, help="boto3 client threads (default 16)")
    parser.add_argument("--batch", type=int, default=500, help="the consumer's entries per transaction")
    parser.add_argument("--db", help="database URL (default SQLite in a temporary directory)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", choices=["boto3", "redis"], help="run one half only")
    parser.add_argument("--consume", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--stream", help=argparse.SUPPRESS)
    parser.add_argument("--domain", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consume(args)
        return
    with tempfile.TemporaryDirectory(prefix="reachout-triggers-") as temporary, contextlib.ExitStack() as stack:
        work = Path(temporary)
        db = stack.enter_context(postgres_schema(args.db)) if args.db else f"sqlite:///{work / 'reachout.db'}"
        server, url = start_server(db, work)
        try:
            domain = build_world(url)
            print(f"Reachout on {'SQLite' if db.startswith('sqlite') else 'PostgreSQL'}; {TRIGGERS} triggers, "
                  f"{args.rate:.0f} events/s offered for {args.seconds:.0f} s; {os.cpu_count()} CPUs, load "
                  f"{os.getloadavg()[0]:.1f} (a shared machine: other work skews wall-clock figures)", flush=True)
            rows = []
            if args.only in (None, "boto3"):
                rows.append(boto3_open_loop(url, domain, args.rate, args.seconds, args.threads, server.pid))
                rows.append(boto3_closed_loop(url, domain, args.seconds, args.threads, server.pid))
            if args.only in (None, "redis"):
                engine_idle(db, work)
                rows.append(redis_open_loop(args, db, work, domain, work, server.pid))
                engine_idle(db, work)
                rows.append(redis_drain(args, db, work, domain, work, server.pid))
                # The same open loop with the server's engine stopped: what the decision path costs
                # alone, without the engine sending the firings' emails on the same CPUs and database.
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)
                server, url = start_server(db, work, engine=False)
                rows.append(redis_open_loop(args, db, work, domain, work, server.pid, ALONE))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print("targets:")
    for row in rows:
        if row["p99 ms"] is not None and "offered" in row["run"] and ALONE not in row["run"]:
            verdict = "met" if row["p99 ms"] < TARGET_P99_MS else "MISSED"
            print(f"  p99 < {TARGET_P99_MS:.0f} ms, {row['run']}: {row['p99 ms']:.2f} ms {verdict}")
    for row in rows:
        if "as fast as" in row["run"] or "draining" in row["run"]:
            verdict = "met" if row["events/s"] >= TARGET_RATE else "MISSED"
            print(f"  >= {TARGET_RATE} events/s, {row['run']}: {row['events/s']:.0f} {verdict}")


if __name__ == "__main__":
    main()
