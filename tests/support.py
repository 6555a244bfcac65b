"""What the tests share: the server under test and its clients, ONE `wait_for`, and world builders
(a profiles domain with segments and campaigns, templates, rules, instances, agents).

Test modules import from here (and from tests.peers for the SMTP relay and SMS centre), never from one
another; the fixtures built on these live in conftest.py, where pytest finds them without an import.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.config import Config
from hypothesis import strategies as st

from reachout.domain.window import DAYS

ACCESS_KEY, SECRET_KEY, ACCOUNT = "AKIDREACHOUTTEST", "reachout-test-secret", "111122223333"
POSTGRES = os.environ.get("REACHOUT_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("REACHOUT_TEST_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REACHOUT_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0, interval: float = 0.05):
    """Polls `condition` until it returns something true, and returns that; fails naming `what` after
    `timeout` seconds. For what comes in its own time (receipts, worker processes, stream consumers);
    never to let time pass before checking that nothing more came (drive the engine to a barrier)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(interval)


# --- the server under test -----------------------------------------------------------------------
# Each server gets a database of its own, already migrated: a copy of one migrated once per run (a file
# copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), which spares every start the migrations
# (a third of a second on SQLite, two thirds on PostgreSQL). The server still runs them: they find
# nothing to do.
_templates: dict[str, str] = {}


def _migrate(url: str) -> None:
    from reachout.store.db import Database, database_url

    database = Database(database_url(url, Path(".")))
    database.migrate()
    database.dispose()


def sqlite_database(path: Path) -> str:
    """The URL of a migrated SQLite database at `path`."""
    if "sqlite" not in _templates:
        template = Path(tempfile.mkdtemp(prefix="reachout-template-")) / "template.db"
        _migrate(f"sqlite:///{template}")
        assert not template.with_name("template.db-wal").exists(), "the template's last commits are not in its file"
        _templates["sqlite"] = str(template)
    shutil.copyfile(_templates["sqlite"], path)
    return f"sqlite:///{path}"


def _postgres_url(database: str) -> str:
    return urllib.parse.urlsplit(POSTGRES)._replace(path=f"/{database}").geturl()


def postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a migrated PostgreSQL database of its own, dropped afterwards; skips when PostgreSQL
    is absent."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {POSTGRES}: {error}".strip())
    with admin:
        if "postgresql" not in _templates:
            template = f"reachout_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin.execute(f'CREATE DATABASE "{template}"')
            _templates["postgresql"] = template
            _migrate(_postgres_url(template))  # and disconnects: a template must have no sessions to be copied
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        template = _templates["postgresql"]
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield _postgres_url(name)
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # sessions a test left open end here


def drop_templates() -> None:
    """At the end of the run."""
    if "sqlite" in _templates:
        shutil.rmtree(Path(_templates.pop("sqlite")).parent, ignore_errors=True)
    if "postgresql" in _templates:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{_templates.pop("postgresql")}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ForkedProcess:
    """A server forked by tests/forkserver.py and handed to this process (its child subreaper), with
    the part of subprocess.Popen the tests use."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"reachout serve (pid {self.pid})", timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_forkserver: subprocess.Popen | None = None


def _fork_server(argv: list[str], environment: dict[str, str], log: Path) -> ForkedProcess:
    """`reachout serve` forked from a process that imported Reachout once (tests/forkserver.py): a
    start without the interpreter's start and the imports. REACHOUT_TEST_FORK=0 turns it off."""
    global _forkserver
    if _forkserver is None or _forkserver.poll() is not None:
        import ctypes

        # PR_SET_CHILD_SUBREAPER: the servers, orphaned on purpose, become children of this process.
        if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        _forkserver = subprocess.Popen([sys.executable, str(Path(__file__).with_name("forkserver.py"))],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert _forkserver.stdin is not None and _forkserver.stdout is not None
    _forkserver.stdin.write(json.dumps({"argv": argv, "env": environment, "log": str(log)}) + "\n")
    _forkserver.stdin.flush()
    reply = _forkserver.stdout.readline()
    assert reply, "the fork server ended"
    return ForkedProcess(json.loads(reply)["pid"])


def stop_fork_server() -> None:
    global _forkserver
    if _forkserver is not None:
        assert _forkserver.stdin is not None
        _forkserver.stdin.close()
        _forkserver.wait(timeout=20)
        _forkserver = None


FORK = os.environ.get("REACHOUT_TEST_FORK", "1") != "0" and sys.platform == "linux"


@dataclass
class Server:
    url: str
    process: subprocess.Popen | ForkedProcess
    log: Path
    db: str

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


def start_server(db_url: str, data_dir: Path, *extra_args: str, **env: str) -> Server:
    port = free_port()
    log = data_dir / "server.log"
    environment = {**os.environ, "REACHOUT_ACCESS_KEY_ID": ACCESS_KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET_KEY,
                   "REACHOUT_ACCOUNT_ID": ACCOUNT, **env}
    argv = ["serve", "--port", str(port), "--db", db_url, "--data-dir", str(data_dir), *extra_args]
    process: subprocess.Popen | ForkedProcess
    if FORK:
        process = _fork_server(argv, environment, log)
    else:
        process = subprocess.Popen([sys.executable, "-m", "reachout", *argv], env=environment, stdout=log.open("w"),
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reachout serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/_reachout/health", timeout=1):
                return Server(url, process, log, db_url)
        except OSError:
            time.sleep(0.02)  # refused at once until it listens: polling often costs little
    process.kill()
    raise RuntimeError(f"reachout serve did not come up:\n{log.read_text()}")


def own_server(kind: str, data: Path, *args: str, **env: str) -> Iterator[Server]:
    """For a fixture: a server of the test's own on `kind` ("sqlite" or "postgresql", the latter in a
    database of its own, dropped afterwards), its data directory `data`; stops it, asserting a clean exit."""
    urls = iter([sqlite_database(data / "reachout.db")]) if kind == "sqlite" else postgres_database("reachout_own")
    running = start_server(next(urls), data, *args, **env)
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)  # drops the PostgreSQL database

ClientFactory = Callable[..., object]


def make_client(url: str, service: str, region: str = "us-east-1", **overrides):
    credentials = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY, **overrides}
    # No retries: a test must see the first answer, and a 5xx must not be hidden by a retry.
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=url, region_name=region, config=config, **credentials)


# --- the world: campaigns on the engine's virtual clock ------------------------------------------
START = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)  # a Monday, before anyone's window opens
REGION = "us-east-1"
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")


def internal(server, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(server.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def advance(server, **span) -> datetime:
    return datetime.fromisoformat(internal(server, "POST", "/_reachout/clock/advance", span)["now"])


def records(server, campaign_id: str, kind: str) -> list[dict]:
    return internal(server, "GET", f"/_reachout/campaigns/{campaign_id}/{kind}")


class World:
    """A Customer Profiles domain with a segment of everyone in `cohort`, and campaign helpers."""

    def __init__(self, server):
        self.server = server
        self.profiles = make_client(server.url, "customer-profiles")
        self.campaigns = make_client(server.url, "connectcampaignsv2")
        self.domain = f"d{uuid.uuid4().hex[:10]}"
        self.profiles.create_domain(DomainName=self.domain, DefaultExpirationDays=365)
        self.instance = f"inst-{uuid.uuid4().hex[:8]}"

    def person(self, cohort: str, **fields) -> str:
        return self.profiles.create_profile(DomainName=self.domain, Attributes={"cohort": cohort}, **fields)["ProfileId"]

    def segment(self, cohort: str) -> str:
        name = f"seg_{cohort}"
        self.profiles.create_segment_definition(
            DomainName=self.domain, SegmentDefinitionName=name, DisplayName=name,
            SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
                "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": [cohort]}}}}]}]})
        return f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{self.domain}/segment-definitions/{name}"

    def campaign(self, segment_arn: str, channels: dict, time_config: dict | None = None, **extra) -> str:
        request = {"name": f"c-{uuid.uuid4().hex[:6]}", "connectInstanceId": self.instance,
                   "channelSubtypeConfig": channels, "source": {"customerProfilesSegmentArn": segment_arn}, **extra}
        if time_config:
            request["communicationTimeConfig"] = time_config
        campaign_id = self.campaigns.create_campaign(**request)["id"]
        self.campaigns.start_campaign(id=campaign_id)
        return campaign_id

    def state(self, campaign_id: str) -> str:
        return self.campaigns.get_campaign_state(id=campaign_id)["state"]


EMAIL = {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectSourceEmailAddress": "news@example.com",
    "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t1"}}}
SMS = {"sms": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
    "connectSourcePhoneNumberArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/p1",
    "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t2"}}}


def hours(start: str, end: str, days=WEEKDAYS) -> dict:
    return {"openHours": {"dailyHours": {d: [{"startTime": start, "endTime": end}] for d in days}}}


def inside(window: dict, instant: datetime, zone: str) -> bool:
    """The plain reading of a window: the local weekday's ranges hold the local time of day and the
    local date is in no restricted period (end exclusive)."""
    local = instant.astimezone(ZoneInfo(zone))
    for period in (window.get("restrictedPeriods") or {}).get("restrictedPeriodList", []):
        if date.fromisoformat(period["startDate"]) <= local.date() < date.fromisoformat(period["endDate"]):
            return False
    ranges = window["openHours"]["dailyHours"].get(WEEKDAYS[local.weekday()] if local.weekday() < 5 else
                                                   ("SATURDAY", "SUNDAY")[local.weekday() - 5], [])
    minute = local.hour * 60 + local.minute
    return any(int(r["startTime"][1:3]) * 60 + int(r["startTime"][4:6]) <= minute <
               int(r["endTime"][1:3]) * 60 + int(r["endTime"][4:6]) for r in ranges)


def rules_flow(server, instance_id: str, *rules: dict) -> str:
    connect = make_client(server.url, "connect")
    content = json.dumps({"Version": "reachout-2026-11", "ReattemptRules": list(rules)})
    return connect.create_contact_flow(InstanceId=instance_id, Name=f"retries-{uuid.uuid4().hex[:6]}",
                                       Type="CAMPAIGN", Content=content)["ContactFlowArn"]


def connect_instance(world: World) -> str:
    """A Connect instance for the world's campaigns (they name it by id)."""
    connect = make_client(world.server.url, "connect")
    world.instance = connect.create_instance(IdentityManagementType="CONNECT_MANAGED",
                                             InstanceAlias=f"r{uuid.uuid4().hex[:10]}", InboundCallsEnabled=False,
                                             OutboundCallsEnabled=True)["Id"]
    return world.instance


# --- real channels: templates, channel configs, events to a file ----------------------------------
ORIGINATION = "+15550100"
SMS_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/{ORIGINATION}"
EMAIL_TEMPLATE = {"email": {
    "subject": "{{Attributes.Customer.FirstName}}, your {{Attributes.Campaign.Name}} code",
    "body": {"plainText": {"content": "Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},\n"
                                      "your code is {{Attributes.Customer.Attributes.code}}."},
             "html": {"content": "<p>Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},</p>"
                                 "<p>your code is <b>{{Attributes.Customer.Attributes.code}}</b>.</p>"}},
    "headers": [{"name": "List-Unsubscribe",
                 "value": "<mailto:stop@example.com?subject={{Attributes.Customer.ProfileId}}>"}]}}
SMS_TEMPLATE = {"sms": {"body": {"plainText": {"content": "Hi {{Attributes.Customer.FirstName}}, your code is "
                                                          "{{Attributes.Customer.Attributes.code}}"}}}}


def templates(server: Server) -> tuple[str, str]:
    """(email template ARN, SMS template ARN) in a new knowledge base."""
    qc = make_client(server.url, "qconnect")
    kb = qc.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:8]}", knowledgeBaseType="MESSAGE_TEMPLATES")
    kb_id = kb["knowledgeBase"]["knowledgeBaseId"]
    arns = []
    for subtype, content in (("EMAIL", EMAIL_TEMPLATE), ("SMS", SMS_TEMPLATE)):
        arns.append(qc.create_message_template(knowledgeBaseId=kb_id, name=f"{subtype.lower()}-code",
                                               channelSubtype=subtype, content=content)
                    ["messageTemplate"]["messageTemplateArn"])
    return arns[0], arns[1]


def channels(email_template: str | None, sms_template: str | None) -> dict:
    config = {}
    if email_template:
        config["email"] = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": "news@example.com", "sourceEmailAddressDisplayName": "Example News",
            "wisdomTemplateArn": email_template}}
    if sms_template:
        config["sms"] = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourcePhoneNumberArn": SMS_ARN, "wisdomTemplateArn": sms_template}}
    return config


def subscribe(server: Server) -> Path:
    """Every contact and suppression event into a JSONL file (a log-group target); returns the file."""
    events = make_client(server.url, "events")
    rule = f"all-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.connect", "reachout.campaigns"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "file", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{rule}"}])
    return server.log.parent / "events" / f"{rule}.jsonl"  # DATA_DIR/events/NAME.jsonl


def post_raw(server: Server, path: str, body: bytes) -> dict:
    request = urllib.request.Request(server.url + path, method="POST", data=body,
                                     headers={"Content-Type": "message/rfc822"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def event_campaign(world: World, config: dict, name: str | None = None) -> str:
    """A running campaign fed by event triggers: the engine makes no contacts for it on its own, and it
    does not complete while none are left."""
    campaign_id = world.campaigns.create_campaign(
        name=name or f"c-{uuid.uuid4().hex[:6]}", connectInstanceId=world.instance, channelSubtypeConfig=config,
        source={"eventTrigger": {"customerProfilesDomainArn":
                                 f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{world.domain}"}})["id"]
    world.campaigns.start_campaign(id=campaign_id)
    advance(world.server, seconds=1)
    return campaign_id


# --- event triggers ------------------------------------------------------------------------------
FIELDS = {"OrderId": {"Source": "_source.OrderId", "Target": "WebOrder.OrderId"},
          "Email": {"Source": "_source.Email", "Target": "_profile.EmailAddress"},
          "FirstName": {"Source": "_source.FirstName", "Target": "_profile.FirstName"},
          "Total": {"Source": "_source.Total", "Target": "WebOrder.Total"}}
KEYS = {"OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["OrderId"]}],
        "_email": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Email"]}]}
BIG = [{"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
    {"FieldName": "Total", "ComparisonOperator": "GREATER_THAN", "Values": ["100"]}]}]}]


def order_type(world: World) -> None:
    world.profiles.put_profile_object_type(DomainName=world.domain, ObjectTypeName="WebOrder", Description="orders",
                                           AllowProfileCreation=True, Fields=FIELDS, Keys=KEYS)


def link(world: World, campaign_id: str, trigger: str = "big", **extra) -> None:
    """The trigger, and the integration handing its firings to the campaign."""
    world.profiles.create_event_trigger(DomainName=world.domain, EventTriggerName=trigger, ObjectTypeName="WebOrder",
                                        EventTriggerConditions=BIG, **extra)
    arn = world.campaigns.describe_campaign(id=campaign_id)["campaign"]["arn"]
    world.profiles.put_integration(DomainName=world.domain, Uri=arn, EventTriggerNames=[trigger])


def explain(server: Server, domain: str, **query) -> list[dict]:
    """The evaluations, oldest first."""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return list(reversed(internal(server, "GET", f"/_reachout/domains/{domain}/event-trigger-evaluations?"
                                                 f"limit=1000&{params}")))


# --- EventBridge targets ---------------------------------------------------------------------------
NOT_DATA_UPDATES = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"],
                    "detail": {"eventType": [{"anything-but": ["CONTACT_DATA_UPDATED"]}]}}


class Receiver:
    """A local HTTP endpoint that records what it is sent, or answers 503 while `down`."""

    def __init__(self):
        self.received: list[dict] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.received.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def by_contact(self) -> dict[str, list[str]]:
        seen = defaultdict(list)
        for event in self.received:
            if event["detail-type"] == "Amazon Connect Contact Event":
                seen[event["detail"]["contactId"]].append(event["detail"]["eventType"])
        return seen


def route_to(server, receiver: Receiver, pattern: dict = NOT_DATA_UPDATES) -> None:
    """A rule on the default bus sending the events `pattern` matches to `receiver`'s endpoint."""
    events = make_client(server.url, "events")
    connection = events.create_connection(Name=f"c{uuid.uuid4().hex[:6]}", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key",
                                                                                   "ApiKeyValue": "k"}})
    destination = events.create_api_destination(Name=f"d{uuid.uuid4().hex[:6]}", HttpMethod="POST",
                                                ConnectionArn=connection["ConnectionArn"],
                                                InvocationEndpoint=receiver.url)
    events.put_rule(Name="contacts", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="contacts", Targets=[{"Id": "hook", "Arn": destination["ApiDestinationArn"]}])


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def log_group_events(server, pattern: dict) -> object:
    """A rule sending the events matching `pattern` to a log group's JSONL file; returns a reader."""
    events = make_client(server.url, "events")
    group = f"events-{uuid.uuid4().hex[:8]}"
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "file", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}])

    def read() -> list[dict]:
        written = server.data / "events" / f"{group}.jsonl"
        return [json.loads(line) for line in written.read_text().splitlines()] if written.exists() else []

    return read


# --- Connect: agents and voice -----------------------------------------------------------------------
PASSWORD = "Secret123!"


class Center:
    """An instance of the test's own, with helpers that make its queues, profiles and agents."""

    def __init__(self, connect, **instance):
        self.connect = connect
        created = connect.create_instance(**{"IdentityManagementType": "CONNECT_MANAGED",
                                             "InstanceAlias": unique("agents"), "InboundCallsEnabled": True,
                                             "OutboundCallsEnabled": True, **instance})
        self.id, self.arn = created["Id"], created["Arn"]
        statuses = connect.list_agent_statuses(InstanceId=self.id)["AgentStatusSummaryList"]
        self.status = {s["Name"]: s["Id"] for s in statuses}

    def queue(self, name: str | None = None, **extra) -> str:
        return self.connect.create_queue(InstanceId=self.id, Name=name or unique("q"), HoursOfOperationId="hours",
                                         **extra)["QueueId"]

    def profile(self, queues: dict[str, list[str]], name: str | None = None, **extra) -> str:
        """`queues`: channel -> queue ids."""
        configs = [{"QueueReference": {"QueueId": q, "Channel": channel}, "Priority": 1, "Delay": 0}
                   for channel, ids in queues.items() for q in ids]
        concurrencies = [{"Channel": "VOICE", "Concurrency": 1}, {"Channel": "CHAT", "Concurrency": 3}]
        default = next(iter(queues.values()))[0]
        return self.connect.create_routing_profile(
            InstanceId=self.id, Name=name or unique("rp"), Description="agents", DefaultOutboundQueueId=default,
            QueueConfigs=configs, MediaConcurrencies=extra.pop("MediaConcurrencies", concurrencies),
            **extra)["RoutingProfileId"]

    def user(self, profile_id: str, username: str | None = None, **extra) -> str:
        request = {"Username": username or unique("u"), "Password": PASSWORD, "SecurityProfileIds": ["agent"],
                   "RoutingProfileId": profile_id, "InstanceId": self.id,
                   "IdentityInfo": {"FirstName": "Ada", "LastName": "Lovelace"},
                   "PhoneConfig": {"PhoneType": "SOFT_PHONE", "AutoAccept": True, "AfterContactWorkTimeLimit": 30},
                   **extra}
        return self.connect.create_user(**request)["UserId"]

    def available(self, *users: str) -> None:
        for user in users:
            self.connect.put_user_status(InstanceId=self.id, UserId=user, AgentStatusId=self.status["Available"])


RING_TIMEOUT = 20
# What each outcome is recorded as (seeds/001's statuses; dial attempts that failed).
DISPOSITIONS = {
    "HUMAN_ANSWERED": "HUMAN_ANSWERED", "VOICEMAIL_BEEP": "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP": "VOICEMAIL_NO_BEEP",
    "AMD_DISABLED": "ANSWERED", "AMD_UNANSWERED": "NO_ANSWER", "AMD_UNRESOLVED": "AMD_UNRESOLVED",
    "AMD_ERROR": "AMD_ERROR", "SIT_TONE_BUSY": "BUSY", "SIT_TONE_INVALID_NUMBER": "INVALID_NUMBER",
    "SIT_TONE_DETECTED": "SIT_TONE", "FAX_MACHINE_DETECTED": "FAX_MACHINE", "AMD_NOT_APPLICABLE": "NOT_CONNECTED",
    "OUTBOUND_DESTINATION_ENDPOINT_ERROR": "DIAL_FAILED", "OUTBOUND_RESOURCE_ERROR": "DIAL_FAILED",
    "OUTBOUND_ATTEMPT_FAILED": "DIAL_FAILED", "EXPIRED": "DIAL_FAILED",
}


def agentless(detect_machines: bool = True) -> dict:
    return {"telephony": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
        "connectContactFlowId": "flow-agentless", "connectSourcePhoneNumber": "+12065550100",
        "answerMachineDetectionConfig": {"enableAnswerMachineDetection": detect_machines,
                                         "awaitAnswerMachinePrompt": detect_machines},
        "ringTimeout": RING_TIMEOUT}}}


# --- hand-made requests and generated windows --------------------------------------------------------
def unchecked(server, service: str):
    """A boto3 client that sends what it is given: the server must do the checking."""
    config = Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1", config=config,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/St_Johns", "Pacific/Chatham", "UTC"]
# Instants near the 2026 DST transitions of the zones above, and some ordinary ones.
ANCHORS = [datetime(2026, 3, 8, 6, 30), datetime(2026, 3, 29, 0, 45), datetime(2026, 4, 4, 15, 0),
           datetime(2026, 10, 25, 0, 30), datetime(2026, 11, 1, 5, 59), datetime(2026, 6, 17, 12, 0),
           datetime(2026, 12, 24, 23, 0)]


@st.composite
def windows(draw) -> dict:
    daily = {}
    for day in draw(st.sets(st.sampled_from(DAYS), min_size=1, max_size=7)):
        ranges = []
        for _ in range(draw(st.integers(1, 3))):
            start = draw(st.integers(0, 1439))
            end = draw(st.integers(start + 1, 1440))
            ranges.append({"startTime": f"T{start // 60:02d}:{start % 60:02d}",
                           "endTime": f"T{end // 60:02d}:{end % 60:02d}"})
        daily[day] = ranges
    periods = []
    for _ in range(draw(st.integers(0, 2))):
        start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        periods.append({"startDate": start.isoformat(),
                        "endDate": (start + timedelta(days=draw(st.integers(1, 4)))).isoformat()})
    return {"openHours": {"dailyHours": daily}, "restrictedPeriods": {"restrictedPeriodList": periods}}

