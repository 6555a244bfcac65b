"""boto3 round trips per second against `reachout serve` and against moto_server, side by side.

    .venv/bin/python benchmarks/roundtrips.py [--seconds N] [--threads N] [--db URL] [--only TEXT]

Both servers run as subprocesses on 127.0.0.1. Each operation is called back to back with retries
disabled, first from one client thread (a figure is then 1 / (client + wire + server) latency), then
from --threads client threads at once (what the server sustains under concurrency). It prints the
figures and how they compare with the targets; it asserts nothing.

With --processes, each operation is also called from --threads client processes of one thread each: a
diagnosis, not a target row. boto3 spends about twice the server's CPU per call, and the threads of
one client process share one interpreter lock, so at --threads threads the client process, not the
server, can set the tail; from processes it cannot.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ACCESS_KEY, SECRET_KEY = "AKIDREACHOUTBENCH", "reachout-bench-secret"
REGION = "us-east-1"
FLOW_ID = "11111111-2222-3333-4444-555555555555"
QUEUE_ID = "66666666-7777-8888-9999-000000000000"
BATCH_SIZE = 25  # PutOutboundRequestBatch's maximum
# New campaigns are active, and Reachout (like AWS) allows 50 active campaigns per instance: move to
# a fresh instance before reaching that, so CreateCampaign is measured rather than its quota error.
CAMPAIGNS_PER_INSTANCE = 40
LISTED_CAMPAIGNS = 20  # ListCampaigns reads one instance holding this many
# The targets of the speed issue, checked on every row that both servers serve.
TARGET_RATIO, TARGET_TAIL, TARGET_REQUESTS = 1.5, 3.0, 5000


# --- measuring ---------------------------------------------------------------------------------

@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls only
    errors: int = 0
    first_error: str | None = None
    elapsed: float = 0.0

    def count_error(self, error: Exception) -> None:
        self.errors += 1
        self.first_error = self.first_error or describe(error)

    @property
    def ops_per_second(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, fraction: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def run_for(call: Callable[[], object], seconds: float, start: threading.Barrier | None = None) -> Result:
    """Call back to back for `seconds`; failures are counted, not fatal, and not in the latencies.
    With `start`, the clock starts when every thread of the barrier is ready."""
    result = Result()
    if start is not None:
        start.wait()
    start = before = time.perf_counter()
    deadline = start + seconds
    while before < deadline:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - a benchmark reports failures instead of stopping
            result.count_error(error)
            before = time.perf_counter()
        else:
            after = time.perf_counter()
            result.latencies.append(after - before)
            before = after
    result.elapsed = before - start
    return result


def describe(error: Exception) -> str:
    if unrouted(error):  # the body is an HTML error page: the operation says more
        return f"no route for {error.operation_name} (HTTP 404)"
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = " ".join(str(error.response["Error"].get("Message", "")).split())
        return f"{error.response['Error'].get('Code')} (HTTP {status}): {message[:160]}"
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"


def unrouted(error: Exception) -> bool:
    """moto answers a URL it has no handler for with a bare HTTP 404 page (boto3 code "404")."""
    return isinstance(error, ClientError) and error.response["Error"].get("Code") == "404"


class BatchFailure(Exception):
    """A PutOutboundRequestBatch answered 200 but refused some items."""


def run_together(calls: list[Callable[[], object]], seconds: float) -> Result:
    """Each call back to back in its own thread, all for the same `seconds`: one Result, whose
    ops/s is every thread's successes over the common span."""
    barrier = threading.Barrier(len(calls))
    results: list[Result] = [Result() for _ in calls]

    def worker(index: int) -> None:
        results[index] = run_for(calls[index], seconds, barrier)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return merge(results)


def merge(results: list[Result]) -> Result:
    """Callers that ran at once as one Result: their successes over the longest span."""
    merged = Result(elapsed=max(r.elapsed for r in results))
    for result in results:
        merged.latencies += result.latencies
        merged.errors += result.errors
        merged.first_error = merged.first_error or result.first_error
    return merged


# --- the operations ----------------------------------------------------------------------------
# Each prepares whatever the operation needs on one target, then returns the call to time.

def v1_campaign_fields() -> dict:
    return {"dialerConfig": {"progressiveDialerConfig": {"bandwidthAllocation": 1.0, "dialingCapacity": 1.0}},
            "outboundCallConfig": {"connectContactFlowId": FLOW_ID, "connectQueueId": QUEUE_ID}}


def prepare_create_campaign(v1, v2) -> Callable[[], object]:
    run, counter = uuid.uuid4().hex[:8], itertools.count()

    def call():
        n = next(counter)
        return v1.create_campaign(name=f"bench-create-{n}",
                                  connectInstanceId=f"bench-{run}-{n // CAMPAIGNS_PER_INSTANCE}",
                                  **v1_campaign_fields())

    return call


def prepare_describe_campaign(v1, v2) -> Callable[[], object]:
    campaign_id = v1.create_campaign(name="bench-describe", connectInstanceId=f"bench-{uuid.uuid4().hex[:8]}",
                                     **v1_campaign_fields())["id"]
    return lambda: v1.describe_campaign(id=campaign_id)


def new_campaign(v1, instance: str | None = None, **extra) -> str:
    return v1.create_campaign(name=f"bench-{uuid.uuid4().hex[:8]}",
                              connectInstanceId=instance or f"bench-{uuid.uuid4().hex[:8]}",
                              **v1_campaign_fields(), **extra)["id"]


def prepare_list_campaigns(v1, v2) -> Callable[[], object]:
    instance = f"bench-{uuid.uuid4().hex[:8]}"
    for _ in range(LISTED_CAMPAIGNS):
        new_campaign(v1, instance)
    instance_filter = {"instanceIdFilter": {"value": instance, "operator": "Eq"}}

    def call():
        listed = v1.list_campaigns(filters=instance_filter)["campaignSummaryList"]
        if len(listed) != LISTED_CAMPAIGNS:
            raise AssertionError(f"listed {len(listed)} campaigns, not {LISTED_CAMPAIGNS}")
        return listed

    return call


def prepare_get_campaign_state(v1, v2) -> Callable[[], object]:
    campaign_id = new_campaign(v1)
    return lambda: v1.get_campaign_state(id=campaign_id)


def prepare_pause_resume(v1, v2) -> Callable[[], object]:
    campaign_id = new_campaign(v1)
    v1.start_campaign(id=campaign_id)
    turns = itertools.cycle([v1.pause_campaign, v1.resume_campaign])
    return lambda: next(turns)(id=campaign_id)


def campaign_arn(v1, campaign_id: str) -> str:
    return v1.describe_campaign(id=campaign_id)["campaign"]["arn"]


def prepare_tag_resource(v1, v2) -> Callable[[], object]:
    arn, values = campaign_arn(v1, new_campaign(v1)), itertools.count()
    return lambda: v1.tag_resource(arn=arn, tags={"bench": str(next(values))})


def prepare_list_tags_for_resource(v1, v2) -> Callable[[], object]:
    arn = campaign_arn(v1, new_campaign(v1, tags={"team": "outbound", "tier": "gold"}))
    return lambda: v1.list_tags_for_resource(arn=arn)


def prepare_untag_resource(v1, v2) -> Callable[[], object]:
    arn = campaign_arn(v1, new_campaign(v1, tags={"team": "outbound", "tier": "gold"}))
    return lambda: v1.untag_resource(arn=arn, tagKeys=["bench"])  # a key it does not have: nothing to remove


def prepare_put_outbound_request_batch(v1, v2) -> Callable[[], object]:
    campaign_id = v2.create_campaign(
        name="bench-outbound", connectInstanceId=f"bench-{uuid.uuid4().hex[:8]}",
        channelSubtypeConfig={"telephony": {
            "capacity": 1.0, "connectQueueId": QUEUE_ID,
            "outboundMode": {"progressive": {"bandwidthAllocation": 1.0}},
            "defaultOutboundConfig": {"connectContactFlowId": FLOW_ID}}})["id"]
    v2.start_campaign(id=campaign_id)
    batches = itertools.count()

    def call():
        batch = next(batches)
        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        # Fresh clientTokens every call: a repeated token would hit the idempotent lookup path only.
        response = v2.put_outbound_request_batch(id=campaign_id, outboundRequests=[
            {"clientToken": f"b{batch}-{i}", "expirationTime": expires,
             "channelSubtypeParameters": {"telephony": {
                 "destinationPhoneNumber": f"+1555{batch % 1000:03d}{i:04d}", "attributes": {"batch": str(batch)}}}}
            for i in range(BATCH_SIZE)])
        if response["failedRequests"]:
            failure = response["failedRequests"][0]
            raise BatchFailure(f"{len(response['failedRequests'])} of {BATCH_SIZE} items refused, "
                               f"e.g. {failure.get('failureCode')}: {failure.get('failureMessage', '')}")
        return response

    return call


BATCH_OPERATION = f"PutOutboundRequestBatch (v2, {BATCH_SIZE} items)"
OPERATIONS = [
    ("CreateCampaign (v1)", prepare_create_campaign),
    ("DescribeCampaign (v1)", prepare_describe_campaign),
    (f"ListCampaigns (v1, {LISTED_CAMPAIGNS} in the instance)", prepare_list_campaigns),
    ("GetCampaignState (v1)", prepare_get_campaign_state),
    ("Pause/ResumeCampaign (v1, alternating)", prepare_pause_resume),
    ("TagResource (v1)", prepare_tag_resource),
    ("ListTagsForResource (v1)", prepare_list_tags_for_resource),
    ("UntagResource (v1)", prepare_untag_resource),
    (BATCH_OPERATION, prepare_put_outbound_request_batch),
]


@dataclass
class Outcome:
    result: Result | None = None
    lacking: str | None = None  # moto has no handler for it
    failed: str | None = None  # the setup itself failed
    cpu_seconds: float | None = None  # the server process's CPU time over the measured span


@dataclass
class Target:
    name: str
    url: str
    may_lack_operations: bool  # moto: a missing route means "not emulated", not "broken"
    pid: int | None = None

    def client(self, service: str):
        # No retries: a figure must be one round trip per call, and an error must show as one.
        # One connection per client thread at most: each thread below has a client of its own.
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux), else None."""
        with contextlib.suppress(OSError, ValueError, TypeError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return None


def measure(target: Target, prepare, seconds: float, warmup: float, threads: int) -> Outcome:
    """`threads` client threads, each with its own clients and its own prepared resources (a
    campaign, an instance), calling at once."""
    # Clients are made one after the other: boto3's default session is not safe to share while
    # clients are being created.
    clients = [(target.client("connectcampaigns"), target.client("connectcampaignsv2")) for _ in range(threads)]
    try:
        calls = [prepare(v1, v2) for v1, v2 in clients]
    except Exception as error:  # noqa: BLE001
        if target.may_lack_operations and unrouted(error):
            return Outcome(lacking=f"setup: {describe(error)}")
        return Outcome(failed=f"setup: {describe(error)}")
    probe = Result()
    try:
        calls[0]()  # probe: tells "not emulated" apart from "emulated but failing"
    except Exception as error:  # noqa: BLE001
        if target.may_lack_operations and unrouted(error):
            return Outcome(lacking=describe(error))
        probe.count_error(error)
    warm = run_together(calls, warmup)  # connection set-up, caches, first-statement compilation
    cpu_before = target.cpu_seconds()
    result = run_together(calls, seconds)
    cpu_after = target.cpu_seconds()
    # Failures outside the timed window are still failures: report them with the rest.
    for earlier in (probe, warm):
        result.errors += earlier.errors
        result.first_error = earlier.first_error or result.first_error
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Outcome(result=result, cpu_seconds=cpu)


def measure_in_processes(target: Target, prepare, seconds: float, warmup: float, processes: int) -> Outcome:
    """As `measure`, each caller a process of its own with one thread (forked: clients, resources
    and warm-up its own), all timed from one barrier."""
    context = multiprocessing.get_context("fork")
    ready, answers = context.Barrier(processes + 1), context.Queue()

    def caller() -> None:
        try:
            call = prepare(target.client("connectcampaigns"), target.client("connectcampaignsv2"))
            run_for(call, warmup)
            answers.put(("done", run_for(call, seconds, ready)))
        except Exception as error:  # noqa: BLE001 - the set-up failed, or another caller's did
            ready.abort()
            answers.put(("lacking" if target.may_lack_operations and unrouted(error) else "failed", describe(error)))

    children = [context.Process(target=caller) for _ in range(processes)]
    for child in children:
        child.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    cpu_before = target.cpu_seconds()
    replies = [answers.get() for _ in children]
    cpu_after = target.cpu_seconds()
    for child in children:
        child.join()
    for kind in ("lacking", "failed"):
        if details := [detail for said, detail in replies if said == kind]:
            return Outcome(**{kind: f"setup: {details[0]}"})
    merged = merge([result for _, result in replies])
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Outcome(result=merged, cpu_seconds=cpu)


# --- the servers -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(process: subprocess.Popen, url: str, log: Path, what: str, any_status: bool) -> bytes:
    """The body of the first answer from `url` (any HTTP status if `any_status`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if any_status:
                return b""
            last = error
        except OSError as error:
            last = error
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within 30 s ({last}):\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def subprocess_server(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A server process, stopped with SIGTERM (as an operator would) however the block ends."""
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def reachout(db_url: str | None, workdir: Path) -> Iterator[tuple[Target, dict, Path]]:
    port, log = free_port(), workdir / "reachout.log"
    # Inherited REACHOUT_* settings (a database, quotas) would make runs incomparable: drop them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACHOUT_")}
    env.update(REACHOUT_ACCESS_KEY_ID=ACCESS_KEY, REACHOUT_SECRET_ACCESS_KEY=SECRET_KEY)
    command = [sys.executable, "-m", "reachout", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(workdir / "data")]
    if db_url:
        command += ["--db", db_url]
    url = f"http://127.0.0.1:{port}"
    with subprocess_server(command, env, log) as process:
        health = json.loads(wait_for_http(process, url + "/_reachout/health", log, "reachout serve", False))
        yield Target("reachout", url, may_lack_operations=False, pid=process.pid), health, log


@contextlib.contextmanager
def moto(workdir: Path) -> Iterator[Target]:
    port, log = free_port(), workdir / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with subprocess_server(command, dict(os.environ), log) as process:
        wait_for_http(process, url + "/", log, "moto_server", True)
        yield Target("moto", url, may_lack_operations=True, pid=process.pid)


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[tuple[str, str]]:
    """A schema of the benchmark's own in `url`'s database (tables land there, not in public),
    dropped afterwards. Yields the URL for Reachout and the server's version."""
    import psycopg

    schema = f"reachout_bench_{uuid.uuid4().hex[:10]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)  # psycopg wants a libpq URL
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            separator = "&" if "?" in url else "?"
            yield f"{url}{separator}options=-csearch_path%3D{schema}", f"PostgreSQL {version}, schema {schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- reporting ---------------------------------------------------------------------------------

def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def ops_cell(outcome: Outcome) -> str:
    if outcome.lacking:
        return "n/a (moto lacks it)"
    if outcome.failed:
        return "ERROR (setup)"
    cell = f"{outcome.result.ops_per_second:,.1f}"
    return f"{cell} ({outcome.result.errors} errors)" if outcome.result.errors else cell


def cpu_cell(outcome: Outcome) -> str:
    if outcome.cpu_seconds is None or not outcome.result or not outcome.result.latencies:
        return "-"
    return f"{1000 * outcome.cpu_seconds / len(outcome.result.latencies):.2f}"


def tail(outcome: Outcome) -> float | None:
    """p99 / p50 of the successful calls."""
    if not outcome.result or not outcome.result.latencies:
        return None
    return outcome.result.percentile_ms(0.99) / outcome.result.percentile_ms(0.5)


def misses(name: str, threads: int, ours: Outcome, theirs: Outcome) -> list[str]:
    """The targets this row does not meet."""
    if not ours.result:
        return [f"{name}, {threads} thread(s): no figure"]
    found = []
    if ours.result.errors:
        found.append(f"{ours.result.errors} errors")
    if theirs.result and theirs.result.ops_per_second:
        ratio = ours.result.ops_per_second / theirs.result.ops_per_second
        if ratio < TARGET_RATIO:
            found.append(f"{ratio:.2f}x moto < {TARGET_RATIO}x")
    spread = tail(ours)
    if spread is not None and spread > TARGET_TAIL:
        found.append(f"p99 {spread:.1f}x p50 > {TARGET_TAIL:g}x")
    # The request rate is a throughput target, checked where throughput is measured: with concurrent
    # clients. One client thread measures latency, and much of it is the client's own: boto3 spends
    # about 2.3 ms of CPU building each 25-item call and reading its answer.
    if name == BATCH_OPERATION and threads > 1 and ours.result.ops_per_second * BATCH_SIZE < TARGET_REQUESTS:
        found.append(f"{ours.result.ops_per_second * BATCH_SIZE:,.0f} requests/s < {TARGET_REQUESTS:,}")
    return [f"{name}, {threads} thread(s): {'; '.join(found)}"] if found else []


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(row, widths))))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per operation, target and mode")
    parser.add_argument("--threads", type=int, default=8, help="client threads of the concurrent mode "
                                                                "(1: single-threaded only)")
    parser.add_argument("--db", help="database URL for Reachout, e.g. postgresql://127.0.0.1:5432/test "
                                     "(default: embedded SQLite in a temporary directory)")
    parser.add_argument("--processes", action="store_true",
                        help="also call each operation from --threads client processes (a diagnosis row)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="measure only the operations whose name contains TEXT (repeatable)")
    args = parser.parse_args()
    operations = [(n, p) for n, p in OPERATIONS if not args.only or any(t.lower() in n.lower() for t in args.only)]
    warmup = min(1.0, args.seconds / 5)
    modes = sorted({1, max(1, args.threads)})

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reachout-bench-")))
        db_url, db_detail = args.db, f"SQLite {sqlite3.sqlite_version}, file in {workdir / 'data'}"
        if args.db and args.db.startswith(("postgresql", "postgres://")):
            db_url, db_detail = stack.enter_context(postgres_schema(args.db))
        elif args.db:
            db_detail = args.db
        # Entered after the schema, so left before it: the server is stopped before its schema goes.
        reachout_target, health, reachout_log = stack.enter_context(reachout(db_url, workdir))
        moto_target = stack.enter_context(moto(workdir))

        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"machine: nproc {usable} (of {os.cpu_count()} CPUs), {cpu_model()}, "
              f"{platform.system()} {platform.release()}")
        print(f"python:  {platform.python_implementation()} {platform.python_version()}; boto3 {boto3.__version__}, "
              f"botocore {botocore.__version__}, moto {_version('moto')}")
        print(f"reachout {health.get('version')} on {health.get('database')} ({db_detail})")
        print(f"method:  back-to-back calls from {' and from '.join(f'{m} client thread(s)' for m in modes)}, "
              f"{warmup:g} s warm-up + {args.seconds:g} s per operation, target and mode, retries off")

        rows = [["operation", "threads", "reachout ops/s", "p50 ms", "p99 ms", "CPU ms/op",
                 "moto ops/s", "p50 ms", "p99 ms", "CPU ms/op", "reachout/moto"]]
        notes, missed = [], []
        runs = [(threads, False) for threads in modes] + ([(max(modes), True)] if args.processes else [])
        for name, prepare in operations:
            for threads, in_processes in runs:
                how = f"{threads} process(es)" if in_processes else f"{threads} thread(s)"
                print(f"measuring {name} with {how} ...", flush=True)
                ours, theirs = ((measure_in_processes if in_processes else measure)(
                    t, prepare, args.seconds, warmup, threads) for t in (reachout_target, moto_target))
                ratio = "-"
                if ours.result and theirs.result and theirs.result.ops_per_second:
                    ratio = f"{ours.result.ops_per_second / theirs.result.ops_per_second:.2f}x"
                rows.append([name, f"{threads} procs*" if in_processes else str(threads), ops_cell(ours),
                             fmt_ms(ours.result and ours.result.percentile_ms(0.5)),
                             fmt_ms(ours.result and ours.result.percentile_ms(0.99)), cpu_cell(ours),
                             ops_cell(theirs), fmt_ms(theirs.result and theirs.result.percentile_ms(0.5)),
                             fmt_ms(theirs.result and theirs.result.percentile_ms(0.99)), cpu_cell(theirs), ratio])
                for target, outcome in (("reachout", ours), ("moto", theirs)):
                    detail = outcome.lacking or outcome.failed or (outcome.result.errors and outcome.result.first_error)
                    if detail and (target, detail) not in {(t, d) for t, d, _ in notes}:
                        notes.append((target, detail, name))
                if name == BATCH_OPERATION and ours.result:
                    notes.append(("reachout", f"{ours.result.ops_per_second * BATCH_SIZE:,.0f} outbound requests/s "
                                              f"with {how}", name))
                if not in_processes:
                    missed += misses(name, threads, ours, theirs)

        print()
        print_table(rows)
        if args.processes:
            print(f"* {max(modes)} client processes of one thread each: a diagnosis (no client interpreter lock "
                  "shared by the callers), not a target row")
        if notes:
            print()
            for target, detail, name in notes:
                print(f"* {name} on {target}: {detail}")
        print(f"\ntargets: every operation both serve >= {TARGET_RATIO}x moto's ops/s, p99 <= {TARGET_TAIL:g}x p50, "
              f"{BATCH_OPERATION} >= {TARGET_REQUESTS:,} requests/s with concurrent clients")
        for line in missed or ["all met"]:
            print(f"  missed: {line}" if missed else f"  {line}")
        if any(row[2].startswith("ERROR") or "errors)" in row[2] for row in rows[1:]):
            print(f"\nreachout log (tail):\n{reachout_log.read_text()[-2000:]}")
    return 0


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
