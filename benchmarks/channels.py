"""Channel adapters' throughput: emails a second through the SMTP adapter into a local aiosmtpd, and
SMS a second through the SMPP adapter into a local SMS centre (smpp34's server, as in the tests);
beside them, the engine's own cost per message.

    .venv/bin/python benchmarks/channels.py [--emails N] [--sms N] [--batch B] [--contacts N]

Each server runs in a child process on 127.0.0.1 (this script with --serve), so that it does not share
the adapter's GIL; on a small machine they still share its CPUs. Each row sends the same number of
messages in batches of --batch (one `send` call each, as the engine does) after one untimed warm-up
batch. Email: a message is done when the relay answered 250 after DATA. SMS: `send` returns when every
submit_sm has its submit_sm_resp; "receipts/s" runs until the last delivery receipt has become an
outcome (returned by `send` or reported). CPU per message, of this process (the adapter, all its
threads) and of the server's, tells which side limits.

The engine's overhead: a v2 email + SMS campaign over --contacts/2 profiles (SQLite in a temporary
directory, a virtual clock, the simulated carriers, everything in this process) run to completion by
Engine.advance; CPU seconds of this process per dispatched contact, for the snapshot (participants
and planned contacts) and for the rest (render, window, limits, dispatch, outcomes, contact events
into the outbox), once with qconnect templates rendered for every recipient and once with template
ARNs that name no template (nothing rendered). It prints; it asserts nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test servers live in tests/

import aiosmtplib  # noqa: E402
import smpp34  # noqa: E402

from reachout.aws.gateway import Call  # noqa: E402
from reachout.channels import Outgoing, Receipt  # noqa: E402
from reachout.clock import VirtualClock  # noqa: E402
from reachout.engine.rendering import Renderer  # noqa: E402
from reachout.providers.campaigns import V2, CampaignsProvider  # noqa: E402
from reachout.providers.profiles import SERVICE as PROFILES  # noqa: E402
from reachout.providers.profiles import ProfilesProvider  # noqa: E402
from reachout.providers.segments import SegmentsProvider  # noqa: E402
from reachout.providers.templates import SERVICE as QCONNECT  # noqa: E402
from reachout.providers.templates import TemplatesProvider  # noqa: E402
from reachout.server import build_engine  # noqa: E402
from reachout.settings import Settings  # noqa: E402
from reachout.store import recipients  # noqa: E402
from reachout.store.db import open_database  # noqa: E402
from reachout.store.profile_domains import get_domain  # noqa: E402
from reachout.store.profiles import save_profiles  # noqa: E402
from reachout.channels.email import EmailChannel  # noqa: E402
from reachout.channels.sms import SmsChannel  # noqa: E402
from tests.test_channel_email import LocalSmtpServer  # noqa: E402
from tests.test_channel_sms import LocalSmsc  # noqa: E402
from benchmarks.engine import database  # noqa: E402

NOW = datetime(2025, 3, 4, 12, 30, tzinfo=timezone.utc)
HTML = "<p>Hello {name},</p><p>your statement for March is ready. " + "Lorem ipsum dolor sit amet. " * 20 + "</p>"


# --- what is sent ---------------------------------------------------------------------------------

def email(n: int) -> Outgoing:
    return Outgoing(f"contact-{n:07}", f"contact-{n:07}", "campaign-1", "email", f"user{n}@example.org", 1,
                    subject="Your March statement", text=f"Hello {n},\nyour statement is ready.",
                    html=HTML.format(name=n), sender="billing@example.com", sender_name="Example Billing")


def sms(n: int, text: str) -> Outgoing:
    return Outgoing(f"contact-{n:07}", f"contact-{n:07}", "campaign-1", "sms", f"+49151{n:08}", 1,
                    text=text, origination_number="+15550100")


def batches(count: int, size: int, make: Callable[[int], Outgoing]) -> list[list[Outgoing]]:
    items = [make(n) for n in range(count)]
    return [items[i:i + size] for i in range(0, count, size)]


# --- the servers, each in a child process ---------------------------------------------------------

class CountingMailbox:
    """An aiosmtpd handler that only counts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def serve(kind: str) -> int:
    """Runs one test server until standard input closes; prints its port first."""
    server: LocalSmtpServer | LocalSmsc = LocalSmtpServer(CountingMailbox()) if kind == "smtp" else LocalSmsc()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


class Server:
    """A test server in a child process (this script with --serve)."""

    def __init__(self, kind: str) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", kind], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def cpu(self) -> float:
        """CPU seconds the server used so far (user + system, from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


# --- measuring -----------------------------------------------------------------------------------

@dataclass
class Measured:
    messages_per_second: float
    receipts_per_second: float | None  # SMS only: until the last outcome was known
    outcomes: dict[str, int]
    adapter_cpu: float  # CPU seconds of this process (all its threads) per message
    server_cpu: float  # CPU seconds of the server's process per message


class Timer:
    """Wall time, this process's CPU time and the server's, from start() to stop()."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.wall = self.cpu = self.server_cpu = 0.0

    def start(self) -> None:
        self.wall, self.cpu, self.server_cpu = time.perf_counter(), time.process_time(), self.server.cpu()

    def elapsed(self) -> float:
        return time.perf_counter() - self.wall

    def stop(self) -> None:
        self.wall = self.elapsed()
        self.cpu = time.process_time() - self.cpu
        self.server_cpu = self.server.cpu() - self.server_cpu


def measure_email(relay: Server, count: int, batch: int, connections: int) -> Measured:
    outcomes: dict[str, int] = {}
    timer = Timer(relay)
    with EmailChannel(f"smtp://127.0.0.1:{relay.port}", connections=connections) as channel:
        work = batches(count + batch, batch, email)
        channel.send(work[0], NOW)  # warm-up
        timer.start()
        for items in work[1:]:
            for receipt in channel.send(items, NOW):
                outcomes[receipt.outcome] = outcomes.get(receipt.outcome, 0) + 1
        timer.stop()
    return Measured(count / timer.wall, None, outcomes, timer.cpu / count, timer.server_cpu / count)


class Outcomes:
    """Counts SMS outcomes, returned or reported, and tells when `expected` are in."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.by_outcome: dict[str, int] = {}
        self.done = threading.Event()
        self._lock = threading.Lock()

    def add(self, outcome: str) -> None:
        with self._lock:
            self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1
            if sum(self.by_outcome.values()) >= self.expected:
                self.done.set()

    def report(self, contact_id: str, outcome: str, at: datetime) -> None:
        self.add(outcome)

    def returned(self, receipts: list[Receipt]) -> None:
        for receipt in receipts:
            if receipt.outcome is not None:
                self.add(receipt.outcome)


def measure_sms(smsc: Server, count: int, batch: int, window: int, text: str) -> Measured:
    work = batches(count + batch, batch, lambda n: sms(n, text))
    outcomes = Outcomes(count + len(work[0]))
    timer = Timer(smsc)
    with SmsChannel(f"smpp://bench:bench@127.0.0.1:{smsc.port}", outcomes.report, rate=1e9,
                    window=window) as channel:
        outcomes.returned(channel.send(work[0], NOW))  # warm-up: binds
        timer.start()
        for items in work[1:]:
            outcomes.returned(channel.send(items, NOW))
        submitted = timer.elapsed()
        if not outcomes.done.wait(120):
            outcomes.by_outcome["(missing)"] = outcomes.expected - sum(outcomes.by_outcome.values())
        timer.stop()
    return Measured(count / submitted, count / timer.wall, outcomes.by_outcome, timer.cpu / count,
                    timer.server_cpu / count)


# --- the engine's own overhead, with the simulated carriers ----------------------------------------

REGION, ACCOUNT = "us-east-1", "123456789012"
EMAIL_TEMPLATE = {"email": {
    "subject": "{{Attributes.Customer.FirstName}}, your March statement",
    "body": {"plainText": {"content": "Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},\n"
                                      "your statement for account {{Attributes.Customer.AccountNumber}} is ready."},
             "html": {"content": "<p>Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},</p>"
                                 "<p>your statement for account <b>{{Attributes.Customer.AccountNumber}}</b> is "
                                 "ready.</p>" + "<p>Lorem ipsum dolor sit amet.</p>" * 20}}}}
SMS_TEMPLATE = {"sms": {"body": {"plainText": {"content": "Hi {{Attributes.Customer.FirstName}}, your statement for "
                                                          "{{Attributes.Customer.AccountNumber}} is ready."}}}}


@dataclass
class EngineCost:
    contacts: int  # dispatched
    snapshot_cpu: float  # CPU seconds per dispatched contact: segment snapshot and planning
    dispatch_cpu: float  # CPU seconds per dispatched contact: everything after
    render_cpu: float  # of which Renderer.render (templates, profiles, requests, Jinja2)
    dispositions: dict[str, int]
    wall_rate: float  # dispatched contacts per second of wall time, after the snapshot


class RenderTimer:
    """CPU time spent in Renderer.render, by wrapping it for the length of a run."""

    def __init__(self) -> None:
        self.cpu = 0.0

    def __enter__(self) -> RenderTimer:
        self.original = Renderer.render
        timer = self

        def render(renderer: Renderer, contacts: list) -> Any:
            started = time.process_time()
            try:
                return timer.original(renderer, contacts)
            finally:
                timer.cpu += time.process_time() - started

        Renderer.render = render  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Renderer.render = self.original  # type: ignore[method-assign]


class EngineRun:
    """A campaign through the engine in this process, as `reachout serve` runs it, minus HTTP."""

    def __init__(self, data_dir: Path, url: str | None = None) -> None:
        self.db = open_database(url or f"sqlite:///{data_dir / 'engine.db'}")
        self.clock = VirtualClock(datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc))
        self.engine = build_engine(Settings(seed=0, sim_rate=1e6, data_dir=data_dir), self.db, self.clock)
        self.providers = {name: provider(self.db, self.clock) for name, provider in
                          (("profiles", ProfilesProvider), ("segments", SegmentsProvider),
                           ("campaigns", CampaignsProvider), ("templates", TemplatesProvider))}

    def call(self, provider: str, service: str, operation: str, **params: Any) -> Any:
        return getattr(self.providers[provider], operation)(Call(service, operation, params, REGION, ACCOUNT,
                                                                 uuid.uuid4().hex))

    def setup(self, profiles: int, rendered: bool) -> str:
        domain = f"bench{uuid.uuid4().hex[:8]}"
        self.call("profiles", PROFILES, "create_domain", DomainName=domain, DefaultExpirationDays=365)
        with self.db.transaction() as conn:
            domain_id = get_domain(conn, REGION, domain).id
            save_profiles(conn, domain_id, [
                {"ProfileId": f"{n:032x}", "FirstName": f"Name{n}", "LastName": "Example", "AccountNumber": f"AC{n:08}",
                 "EmailAddress": f"user{n}@example.org", "MobilePhoneNumber": f"+4915112{n:06}",
                 "Attributes": {"cohort": "all"}} for n in range(profiles)], [], self.clock.now())
        self.call("segments", PROFILES, "create_segment_definition", DomainName=domain,
                  SegmentDefinitionName="all", DisplayName="all",
                  SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
                      "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": ["all"]}}}}]}]})
        if rendered:
            kb = self.call("templates", QCONNECT, "create_knowledge_base", name="bench",
                           knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]["knowledgeBaseId"]
            email_arn, sms_arn = (self.call("templates", QCONNECT, "create_message_template", knowledgeBaseId=kb,
                                            name=subtype, channelSubtype=subtype, content=content)
                                  ["messageTemplate"]["messageTemplateArn"]
                                  for subtype, content in (("EMAIL", EMAIL_TEMPLATE), ("SMS", SMS_TEMPLATE)))
        else:
            email_arn, sms_arn = (f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/none/{n}" for n in ("e", "s"))
        campaign_id = self.call("campaigns", V2, "create_campaign", name="bench", connectInstanceId="bench",
                                channelSubtypeConfig={
                                    "email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                                        "connectSourceEmailAddress": "billing@example.com",
                                        "wisdomTemplateArn": email_arn}},
                                    "sms": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                                        "connectSourcePhoneNumberArn":
                                            f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/+15550100",
                                        "wisdomTemplateArn": sms_arn}}},
                                source={"customerProfilesSegmentArn": f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/"
                                                                      f"{domain}/segment-definitions/all"})["id"]
        self.call("campaigns", V2, "start_campaign", id=campaign_id)
        return campaign_id

    def run(self, campaign_id: str) -> EngineCost:
        cpu = time.process_time()
        self.engine._wake_campaigns(self.clock.now())  # the snapshot: participants and planned contacts
        snapshot = time.process_time() - cpu
        cpu, wall = time.process_time(), time.perf_counter()
        with RenderTimer() as rendering:
            self.engine.advance(self.clock.now() + timedelta(minutes=5))
        dispatch, wall = time.process_time() - cpu, time.perf_counter() - wall
        with self.db.transaction() as conn:
            rows = recipients.campaign_contacts(conn, campaign_id)
        sent = sum(1 for row in rows if row["dispatched_at"] is not None)
        dispositions: dict[str, int] = {}
        for row in rows:
            key = row["disposition"] or row["state"]
            dispositions[key] = dispositions.get(key, 0) + 1
        return EngineCost(sent, snapshot / max(sent, 1), dispatch / max(sent, 1), rendering.cpu / max(sent, 1),
                          dispositions, sent / wall)

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()


def measure_engine(contacts: int, rendered: bool, postgres: str | None = None) -> EngineCost:
    """On SQLite in a temporary directory, or (postgres: a URL) in a throwaway PostgreSQL schema."""
    with database(postgres) as (url, _, folder):
        run = EngineRun(folder, url)
        try:
            return run.run(run.setup(contacts // 2, rendered))
        finally:
            run.close()


# --- the table -----------------------------------------------------------------------------------

def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(row, widths))))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=3000, help="emails per row")
    parser.add_argument("--sms", type=int, default=5000, help="SMS per row")
    parser.add_argument("--batch", type=int, default=100, help="messages per send() call")
    parser.add_argument("--contacts", type=int, default=10000, help="contacts (email + SMS) of the engine rows")
    parser.add_argument("--engine-postgres", metavar="URL",
                        help="also run the engine rows on this PostgreSQL (in a throwaway schema)")
    parser.add_argument("--engine-only", action="store_true", help="only the engine rows (no SMTP/SMPP servers)")
    parser.add_argument("--serve", choices=("smtp", "smpp"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    print(f"machine: nproc {len(os.sched_getaffinity(0))}, python {platform.python_version()}; "
          f"aiosmtplib {aiosmtplib.__version__}, smpp34 {smpp34.__version__}")
    print(f"method:  {args.emails} emails / {args.sms} SMS per row, send() batches of {args.batch}, "
          "each server in a child process on 127.0.0.1\n")
    rows = [["channel", "configuration", "messages/s", "receipts/s", "adapter CPU/msg", "server CPU/msg",
             "outcomes"]]

    def row(channel: str, configuration: str, measured: Measured) -> None:
        receipts = "-" if measured.receipts_per_second is None else f"{measured.receipts_per_second:,.0f}"
        rows.append([channel, configuration, f"{measured.messages_per_second:,.0f}", receipts,
                     f"{measured.adapter_cpu * 1000:.2f} ms", f"{measured.server_cpu * 1000:.2f} ms",
                     ", ".join(f"{k} {v}" for k, v in measured.outcomes.items())])

    with Server("smtp") if not args.engine_only else contextlib.nullcontext() as relay:
        for connections in (1, 4, 8) if relay else ():
            print(f"measuring email, {connections} connection(s) ...", flush=True)
            row("email (SMTP)", f"{connections} connection(s), text+HTML",
                measure_email(relay, args.emails, args.batch, connections))
    with Server("smpp") if not args.engine_only else contextlib.nullcontext() as smsc:
        for window, text, label in () if smsc is None else ((1, "Your code is 1234", "1 part GSM-7"),
                                    (10, "Your code is 1234", "1 part GSM-7"),
                                    (50, "Your code is 1234", "1 part GSM-7"),
                                    (10, "Ваш код: 1234 " * 10, "3 parts UCS-2")):
            print(f"measuring SMS, window {window}, {label} ...", flush=True)
            row("SMS (SMPP)", f"window {window}, {label}", measure_sms(smsc, args.sms, args.batch, window, text))
    engine_rows = [["engine, simulated carriers", "contacts", "snapshot CPU/contact", "dispatch CPU/contact",
                    "of which render", "contacts/CPU s", "dispatch contacts/s wall", "dispositions"]]
    for backend, url in (("SQLite", None),) + ((("PostgreSQL", args.engine_postgres),) if args.engine_postgres else ()):
        for rendered, label in ((True, "templates rendered"), (False, "no template")):
            print(f"measuring the engine on {backend}, {label} ...", flush=True)
            cost = measure_engine(args.contacts, rendered, url)
            engine_rows.append([f"{backend}, {label}", f"{cost.contacts:,}", f"{cost.snapshot_cpu * 1000:.3f} ms",
                                f"{cost.dispatch_cpu * 1000:.3f} ms", f"{cost.render_cpu * 1000:.3f} ms",
                                f"{1 / (cost.snapshot_cpu + cost.dispatch_cpu):,.0f}", f"{cost.wall_rate:,.0f}",
                                ", ".join(f"{k} {v}" for k, v in sorted(cost.dispositions.items()))])
    print()
    if len(rows) > 1:
        print_table(rows)
        print()
    print_table(engine_rows)
    print("\nmessages/s: messages handed over per second of send() calls; receipts/s: until the last SMS "
          "outcome was known.\nCPU/msg: CPU time per message of this process (the adapter, all threads) and "
          "of the server's process.\nSMS are not paced here (rate=1e9); in production the carrier's limit is "
          "the rate.\nengine: CPU of this process per dispatched contact (virtual clock): the snapshot "
          "(participants, planned contacts), then rendering, window, limits, the simulated send, outcomes and "
          "contact events. On PostgreSQL the server's own CPU is not in it (benchmarks/engine.py measures it); "
          "wall rates\nstretch with any other load on the machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
