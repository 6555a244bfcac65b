"""The admin console's page times: the campaign list with 500 campaigns, and the live page of a
campaign with N participants (default 100,000), on SQLite.

    .venv/bin/python benchmarks/console.py [--participants N] [--requests R] [--db URL]

A profile's page is measured too. The app is `reachout serve`'s own (build_app, on a virtual clock so that no engine thread runs),
driven in-process through ASGI with a signed-in session: each figure is the whole page, from the
request to the last byte of HTML, without the network. The 500 campaigns are made through
CreateCampaign; the big campaign's participants, contacts (states, dispositions, sends over two
days), suppressions, communications and contact events are written straight into the tables, in the
shapes the engine writes them (running the engine over 100,000 recipients is benchmarks/engine.py's
job). Prints p50/p95/max per page in wall milliseconds and in CPU milliseconds of this process
(the second is the one to compare on a busy machine); the target is p95 < 200 ms. Asserts nothing.

With --db postgresql://... the tables go wherever the URL points (give a schema of its own with
`?options=-csearch_path%3D<schema>`); the database works in its own process there, so the CPU column
shows only this process's share.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import insert

from reachout.domain.quotas import Quotas
from reachout.server import build_app
from reachout.settings import Settings
from reachout.store.db import open_database
from reachout.store.tables import communications, contacts, event_outbox, participants, suppressions

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
DISPOSITIONS = ["DELIVERED"] * 8 + ["HARD_BOUNCE", "SOFT_BOUNCE"]
REASONS = ["invalid endpoint: EmailAddress 'x@y' is not an email address",
           "no time zone: none of ZIP code or phone number locates the recipient",
           "communication limit reached: 1 per 1 day per recipient across all campaigns",
           "no endpoint: the profile has none of EmailAddress, PersonalEmailAddress, BusinessEmailAddress",
           "entry limit: already entered 1 time"]


class Browser:
    """Requests to the ASGI app, with the console's session cookie."""

    def __init__(self, app):
        self.app = app
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes, dict]:
        body = urlencode(form or {}).encode()
        path, _, query = path.partition("?")
        headers = [(b"host", b"localhost")]
        if self.cookies:
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode()))
        if form is not None:
            headers += [(b"content-type", b"application/x-www-form-urlencoded"),
                        (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        sent = False
        answer: dict = {"status": 0, "body": b"", "headers": {}}

        async def receive():
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for name, value in message["headers"]:
                    answer["headers"].setdefault(name.decode().lower(), []).append(value.decode())
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        for header in answer["headers"].get("set-cookie", []):
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return answer["status"], answer["body"], answer["headers"]

    async def sign_in(self, user: str, password: str) -> None:
        _, page, _ = await self.request("GET", "/console/signin")
        csrf = page.split(b'name="csrf" value="', 1)[1].split(b'"', 1)[0].decode()
        status, _, headers = await self.request("POST", "/console/signin",
                                                {"csrf": csrf, "user": user, "password": password})
        assert status == 303 and headers["location"] == ["/console/campaigns"], (status, headers)


def operations_of(app):
    # build_app gives the Front, whose Starlette app (`.app`) mounts the console.
    console = next(route.app for route in app.app.routes if getattr(route, "path", "") == "/console")
    return console.state.console.operations


def make_campaigns(app, count: int) -> str:
    """`count` email campaigns through CreateCampaign (quotas raised above AWS's 50 active per
    instance); returns the id of the last."""
    operations = operations_of(app)
    campaign_id = ""
    for n in range(count):
        created = operations.call("connectcampaignsv2", "CreateCampaign", {
            "name": f"bench campaign {n:04d}", "connectInstanceId": f"bench-{n % 2}",
            "source": {"customerProfilesSegmentArn": "arn:aws:profile:us-east-1:123456789012:domains/d/"
                                                     "segment-definitions/s"},
            "channelSubtypeConfig": {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                "connectSourceEmailAddress": "news@example.com",
                "wisdomTemplateArn": "arn:aws:wisdom:us-east-1:123456789012:message-template/kb/t"}}},
            "schedule": {"startTime": NOW, "endTime": NOW + timedelta(days=30)}}, "us-east-1")
        campaign_id = created["id"]
    operations.call("connectcampaignsv2", "StartCampaign", {"id": campaign_id}, "us-east-1")
    return campaign_id


def fill_campaign(db_url: str, campaign_id: str, count: int, seed: int = 1) -> None:
    """Participants, contacts, suppressions, communications and contact events of a campaign that
    has run two days, in the engine's shapes."""
    rng = random.Random(seed)
    database = open_database(db_url)
    chunk = 5000
    for start in range(0, count, chunk):
        parts, made, dropped, counted, events = [], [], [], [], []
        for n in range(start, min(start + chunk, count)):
            profile, participant, contact = f"p{n:08d}", str(uuid.uuid4()), str(uuid.uuid4())
            at = NOW + timedelta(seconds=rng.randrange(2 * 86400))
            roll = rng.random()
            state = "completed" if roll < 0.9 else "planned" if roll < 0.95 else "dropped"
            parts.append({"id": participant, "campaign_id": campaign_id, "profile_id": profile, "entry": 1,
                          "state": "completed" if state != "planned" else "active", "entered_at": NOW,
                          "finished_at": at if state != "planned" else None})
            disposition = rng.choice(DISPOSITIONS) if state == "completed" else None
            made.append({"id": contact, "campaign_id": campaign_id, "participant_id": participant,
                         "recipient": profile, "channel": "email", "endpoint": f"{profile}@example.com",
                         "zones": ["America/New_York"], "attempt": 1, "state": state, "due_at": at,
                         "outcome": disposition, "disposition": disposition, "created_at": NOW,
                         "dispatched_at": at if state == "completed" else None,
                         "completed_at": at if state != "planned" else None})
            if state == "dropped":
                dropped.append({"campaign_id": campaign_id, "participant_id": participant, "contact_id": contact,
                                "recipient": profile, "channel": "email", "reason": rng.choice(REASONS), "at": at})
            if state == "completed":
                counted.append({"contact_id": contact, "recipient": profile, "campaign_id": campaign_id,
                                "channel": "email", "at": at, "released": disposition == "HARD_BOUNCE"})
                for kind in ("INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"):
                    events.append({"key": contact, "created_at": at, "event": {
                        "version": "0", "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
                        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1", "resources": [],
                        "detail": {"eventType": kind, "contactId": contact, "channel": "EMAIL",
                                   "campaign": {"campaignId": campaign_id}}}})
        with database.transaction() as conn:
            for table, rows in ((participants, parts), (contacts, made), (suppressions, dropped),
                                (communications, counted), (event_outbox, events)):
                if rows:
                    conn.execute(insert(table), rows)
    database.dispose()


async def measure(browser: Browser, path: str, times: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(times):
        started, started_cpu = time.perf_counter(), time.process_time()
        status, body, _ = await browser.request("GET", path)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert status == 200, (path, status, body[:500])
    return wall, cpu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]


def report(name: str, wall: list[float], cpu: list[float]) -> None:
    print(f"{name}: p50 {statistics.median(wall):.1f} ms, p95 {p95(wall):.1f} ms, max {max(wall):.1f} ms wall; "
          f"p50 {statistics.median(cpu):.1f} ms, p95 {p95(cpu):.1f} ms CPU  (target p95 < 200 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    os.environ.update({"REACHOUT_CONSOLE_USER": "bench", "REACHOUT_CONSOLE_PASSWORD": "bench-password"})
    with tempfile.TemporaryDirectory() as folder:
        db_url = args.db or f"sqlite:///{Path(folder) / 'console.db'}"
        app = build_app(Settings(db=db_url, data_dir=Path(folder), virtual_clock=NOW, quotas=Quotas(1000, 1000)))
        started = time.perf_counter()
        campaign_id = make_campaigns(app, args.campaigns)
        print(f"{args.campaigns} campaigns made in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        fill_campaign(db_url, campaign_id, args.participants)
        print(f"{args.participants} participants with contacts, suppressions, communications and events "
              f"written in {time.perf_counter() - started:.1f} s")

        async def run() -> None:
            browser = Browser(app)
            await browser.sign_in("bench", "bench-password")
            await measure(browser, "/console/campaigns", 3)  # warm: templates compiled, statements cached
            report(f"campaign list ({args.campaigns} campaigns, first page)",
                   *await measure(browser, "/console/campaigns", args.requests))
            report("campaign list, searched and on page 10",
                   *await measure(browser, "/console/campaigns?q=bench+campaign&page=10", args.requests))
            await measure(browser, f"/console/campaigns/{campaign_id}/live", 2)
            report(f"live page ({args.participants} participants)",
                   *await measure(browser, f"/console/campaigns/{campaign_id}", args.requests))
            report(f"live fragment ({args.participants} participants, what the page refetches)",
                   *await measure(browser, f"/console/campaigns/{campaign_id}/live", args.requests))
            report(f"profile page (one of the {args.participants})",
                   *await measure(browser, "/console/profiles/p00000007", args.requests))

        asyncio.run(run())
        app.state.database.dispose()


if __name__ == "__main__":
    main()
