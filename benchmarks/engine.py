"""The campaign engine at scale: a v2 email + sms campaign over N generated profiles, from profile
load to the last outcome, on a virtual clock.

    .venv/bin/python benchmarks/engine.py [--profiles N] [--db URL] [--rate R] [--profile-dir DIR]

Everything runs in this process, without HTTP: profiles go straight into the store, the segment,
instance limits and campaign go through the providers, and build_engine's engine runs the campaign
on a VirtualClock. It prints, in order:
1. profiles written per second (save_profile for the first --save-profile-count, then bulk inserts
   that write the very same rows, which is checked on a sample first);
2. the ceiling: the very participant rows of a snapshot (one per member), inserted alone, by
   INSERT ... SELECT from the profile rows and by driver executemany;
3. participants planned per second by the campaign's snapshot (the engine's wake path), against
   the 50,000/s target;
4. contacts dispatched and outcomes applied per second, through the simulated carrier with
   communication limits on, Engine.advance an hour at a time until the campaign completes;
5. peak memory.
Each rate is given per second of wall time and per CPU second of this process: on a shared
machine the second is the one to compare. It asserts nothing. --profile-dir DIR writes cProfile
stats of phases 3 and 4 there (cProfile slows Python-heavy code several times; use the rates of
a run without it).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Text, cast, func, insert, literal, null, select

from reachout.aws.gateway import Call
from reachout.clock import VirtualClock
from reachout.domain.profile import as_instant, as_number, search_keys
from reachout.providers.campaigns import V2, CampaignsProvider
from reachout.providers.profiles import SERVICE as PROFILES
from reachout.providers.profiles import ProfilesProvider
from reachout.providers.segments import SegmentsProvider
from reachout.server import build_engine
from reachout.settings import Settings
from reachout.store import campaigns as campaign_store
from reachout.store import work
from reachout.store.db import database_url, open_database
from reachout.store.profile_domains import get_domain
from reachout.store.profiles import profile_row, save_profile
from reachout.engine.campaigns import RELEASE_BATCH
from reachout.store.tables import (contacts, participants, plans, profile_attributes, profile_keys, profiles,
                                   suppressions)

REGION, ACCOUNT = "us-east-1", "123456789012"
SEED = 20260105
# Monday 14:00 UTC: 09:00 in New York, 14:00 in London, 15:00 in Paris; before the windows open in
# Chicago (sms), Denver, Phoenix, California and Hawaii, and in the middle of the night in Australia.
START = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
TARGET = 50_000  # participants planned per second on SQLite (the target)

# --- realistic profiles ------------------------------------------------------------------------------
# (area codes, ZIP codes, state, city): each ZIP code really lies in its area codes' zone.
US_PLACES = (
    (("212", "718", "917"), ("10001", "10016", "11201"), "NY", "New York"),
    (("617",), ("02108",), "MA", "Boston"),
    (("305", "786"), ("33101", "33130"), "FL", "Miami"),
    (("312", "773"), ("60601", "60614"), "IL", "Chicago"),
    (("214",), ("75201",), "TX", "Dallas"),
    (("303", "720"), ("80202", "80205"), "CO", "Denver"),
    (("602", "480"), ("85004", "85016"), "AZ", "Phoenix"),
    (("415", "650"), ("94103", "94110"), "CA", "San Francisco"),
    (("206",), ("98101",), "WA", "Seattle"),
    (("808",), ("96813", "96815"), "HI", "Honolulu"),
)
FIRST_NAMES = ("Ann", "Bob", "Carla", "Dev", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kemal", "Lena",
               "Mateo", "Nora", "Oscar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik", "Wen", "Yara")
LAST_NAMES = ("Smith", "Garcia", "Nguyen", "Müller", "Dubois", "Kowalski", "O'Brien", "Rossi", "Tanaka", "Patel",
              "Johnson", "Martin", "Silva", "Brown", "Kim", "Okafor", "Jones", "Schmidt", "Lee", "Walker")
MAIL_DOMAINS = ("example.com", "mail.example.org", "example.co.uk", "example.de", "example.fr", "example.com.au")
# About 1% of emails: the typos real lists carry.
MALFORMED_EMAILS = ("{n}@example", "{n} at example.com", "{n}@@example.com", "{n}@example..com", "{n}@abc!com",
                    "{n}example.com", "{n}@.example.com")
STREETS = ("Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Park Ave", "Lake Rd")
COHORTS = ("2026-spring", "2026-summer", "2026-autumn", "2026-winter")


def us_number(rng: random.Random, area_code: str) -> str:
    return f"+1{area_code}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def phones(rng: random.Random, country: str) -> dict:
    """The phone fields of one profile in `country` (E.164, as carriers hand them over)."""
    if country == "US":
        return {}  # US numbers go with the place, below
    if country == "UK":
        if rng.random() < 0.7:
            return {"MobilePhoneNumber": f"+447{rng.choice('4789')}{rng.randint(0, 99_999_999):08d}"}
        return {"PhoneNumber": f"+4420{rng.choice('378')}{rng.randint(0, 9_999_999):07d}"}
    if country == "FR":
        return {"MobilePhoneNumber": f"+33{rng.choice('67')}{rng.randint(0, 99_999_999):08d}"}
    if country == "DE":
        return {"MobilePhoneNumber": f"+49{rng.choice(('151', '160', '170', '176'))}{rng.randint(0, 99_999_999):08d}"}
    return {"MobilePhoneNumber": f"+614{rng.randint(0, 99_999_999):08d}"}  # AU


def make_profile(rng: random.Random) -> dict:
    """One profile as CreateProfile would store it (absent fields absent)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    profile: dict = {"ProfileId": f"{rng.getrandbits(128):032x}", "FirstName": first, "LastName": last,
                     "Attributes": {"cohort": rng.choice(COHORTS)}}
    draw = rng.random()
    country = "US" if draw < 0.70 else "UK" if draw < 0.85 else "FR" if draw < 0.90 else "DE" if draw < 0.95 else "AU"
    if country == "US":
        home = rng.choice(US_PLACES)
        number = us_number(rng, rng.choice(home[0]))
        if rng.random() < 0.6:
            profile["MobilePhoneNumber"] = number
            if rng.random() < 0.25:  # a landline too (voice prefers it, sms the mobile)
                profile["PhoneNumber"] = us_number(rng, rng.choice(home[0]))
        else:
            profile["PhoneNumber"] = number
        if rng.random() < 0.6:
            # Most live where their number is from; some moved and kept it (two candidate zones).
            place = home if rng.random() < 0.85 else rng.choice(US_PLACES)
            profile["Address"] = {"Address1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}", "City": place[3],
                                  "State": place[2], "PostalCode": rng.choice(place[1]), "Country": "US"}
    else:
        profile.update(phones(rng, country))
        if country == "UK" and rng.random() < 0.5:
            profile["Address"] = {"Address1": f"{rng.randint(1, 200)} High Street", "City": "London",
                                  "PostalCode": "SW1A 1AA", "Country": "GB"}
    if rng.random() < 0.005:  # a number typed by hand: not E.164, unusable and locating nobody
        field = "MobilePhoneNumber" if "MobilePhoneNumber" in profile else "PhoneNumber"
        profile[field] = f"({rng.randint(200, 999)}) 555-{rng.randint(0, 9999):04d}"
    handle = f"{first}.{last}{rng.randint(1, 99_999)}".lower().replace("'", "").replace("ü", "ue")
    draw = rng.random()
    if draw < 0.01:
        profile["EmailAddress"] = rng.choice(MALFORMED_EMAILS).format(n=handle)
    elif draw < 0.95:
        profile["EmailAddress"] = f"{handle}@{rng.choice(MAIL_DOMAINS)}"
    if rng.random() < 0.1:
        profile["PersonalEmailAddress"] = f"{handle}.home@{rng.choice(MAIL_DOMAINS)}"
    if rng.random() < 0.5:
        profile["AccountNumber"] = f"AC{rng.getrandbits(32):010d}"
    if rng.random() < 0.4:
        profile["BirthDate"] = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return profile


def profile_rows(domain_id: int, profile: dict, now: datetime) -> tuple[dict, list[dict], list[dict]]:
    """The rows save_profile(..., new=True) writes for a new profile: its profiles row, its
    profile_attributes rows and its predefined profile_keys rows (a new profile has no keys yet)."""
    profile_id = profile["ProfileId"]
    row = profile_row(domain_id, profile, now)
    attributes = [{"profile_id": profile_id, "key": key, "domain_id": domain_id, "value": value,
                   "number": as_number(value), "instant": as_instant(value)}
                  for key, value in profile.get("Attributes", {}).items()]
    keys = [{"domain_id": domain_id, "key_name": name, "value": value, "profile_id": profile_id}
            for name, value in search_keys(profile)]
    return row, attributes, keys


def bulk_insert(conn, domain_id: int, batch: list[dict], now: datetime) -> None:
    rows, attributes, keys = [], [], []
    for profile in batch:
        row, its_attributes, its_keys = profile_rows(domain_id, profile, now)
        rows.append(row)
        attributes += its_attributes
        keys += its_keys
    conn.execute(insert(profiles), rows)
    if attributes:
        conn.execute(insert(profile_attributes), attributes)
    if keys:
        conn.execute(insert(profile_keys), keys)


# --- phases ------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, url: str, data_dir: Path, rate: float):
        self.db = open_database(url)
        self.clock = VirtualClock(START)
        self.engine = build_engine(Settings(seed=0, sim_rate=rate, data_dir=data_dir), self.db, self.clock)
        self.profiles = ProfilesProvider(self.db, self.clock)
        self.segments = SegmentsProvider(self.db, self.clock)
        self.campaigns = CampaignsProvider(self.db, self.clock)
        self.domain_name = f"bench{uuid.uuid4().hex[:8]}"
        self.instance = f"inst-{uuid.uuid4().hex[:8]}"

    def call(self, provider, service: str, operation: str, **params):
        """A provider call as the gateway would make it, minus the wire."""
        method = getattr(provider, operation)
        return method(Call(service, operation, params, REGION, ACCOUNT, uuid.uuid4().hex))

    def create_domain(self) -> int:
        self.call(self.profiles, PROFILES, "create_domain", DomainName=self.domain_name, DefaultExpirationDays=365)
        with self.db.transaction() as conn:
            return get_domain(conn, REGION, self.domain_name).id

    def create_campaign(self) -> str:
        name = "everyone"
        self.call(self.segments, PROFILES, "create_segment_definition", DomainName=self.domain_name,
                  SegmentDefinitionName=name, DisplayName="Everyone",
                  SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
                      "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": list(COHORTS)}}}}]}]})
        self.call(self.campaigns, V2, "put_instance_communication_limits", connectInstanceId=self.instance,
                  communicationLimitsConfig={"allChannelSubtypes": {"communicationLimitsList": [
                      {"maxCountPerRecipient": 3, "frequency": 1, "unit": "DAY"}]}})
        weekdays = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
        every_day = weekdays + ("SATURDAY", "SUNDAY")
        campaign_id = self.call(self.campaigns, V2, "create_campaign", name="bench", connectInstanceId=self.instance,
                                channelSubtypeConfig={
                                    "email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                                        "connectSourceEmailAddress": "news@example.com",
                                        "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t1"}},
                                    "sms": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                                        "connectSourcePhoneNumberArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/p1",
                                        "wisdomTemplateArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/kb/t2"}}},
                                source={"customerProfilesSegmentArn": f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/"
                                                                      f"{self.domain_name}/segment-definitions/{name}"},
                                communicationTimeConfig={
                                    "localTimeZoneConfig": {"localTimeZoneDetection": ["ZIP_CODE", "AREA_CODE"]},
                                    "email": hours("T08:00", "T20:00", every_day),
                                    "sms": hours("T09:00", "T18:00", weekdays)})["id"]
        self.call(self.campaigns, V2, "start_campaign", id=campaign_id)
        return campaign_id


def hours(start: str, end: str, days: tuple[str, ...]) -> dict:
    return {"openHours": {"dailyHours": {day: [{"startTime": start, "endTime": end}] for day in days}}}


def check_bulk_matches_save_profile(bench: Bench, domain_id: int, sample: int = 1000) -> None:
    """Writes the same profiles once through save_profile and once through bulk_insert, each in a
    transaction rolled back afterwards, and compares every column of every row (as text, so that
    SQL NULL and JSON null differ)."""
    rng = random.Random(SEED + 1)
    batch = [make_profile(rng) for _ in range(sample)]
    ids = [p["ProfileId"] for p in batch]
    now = bench.clock.now()

    def written(write) -> list:
        with bench.db.engine.connect() as conn:
            conn.begin()
            write(conn)
            found = []
            for table, id_column in ((profiles, "id"), (profile_attributes, "profile_id"), (profile_keys, "profile_id")):
                query = (select(*(cast(c, Text).label(c.name) for c in table.c)).where(table.c[id_column].in_(ids))
                         .order_by(*table.primary_key.columns))
                found.append((table.name, [tuple(row) for row in conn.execute(query)]))
            conn.rollback()
        return found

    def through_save_profile(conn) -> None:
        for profile in batch:
            save_profile(conn, domain_id, profile, now, new=True)

    reference = written(through_save_profile)
    bulk = written(lambda conn: bulk_insert(conn, domain_id, batch, now))
    for (table, expected), (_, got) in zip(reference, bulk):
        if expected != got:
            raise SystemExit(f"bulk rows differ from save_profile's in {table}: "
                             f"{next((e, g) for e, g in zip(expected, got) if e != g) if len(expected) == len(got) else (len(expected), len(got))}")
    counts = ", ".join(f"{len(rows)} {table}" for table, rows in reference)
    print(f"  bulk path checked: {sample} profiles give identical rows both ways ({counts})", flush=True)


class ServerClock:
    """CPU seconds of this benchmark's PostgreSQL backends (the connections whose application_name is
    the benchmark's schema; the server must run on this machine): the database's share of the work,
    which this process's CPU time does not include. None on SQLite, or where /proc cannot tell."""

    def __init__(self, bench: "Bench"):
        self.bench = bench
        self.postgres = bench.db.engine.dialect.name == "postgresql"

    def read(self) -> dict[int, float] | None:
        if not self.postgres:
            return None
        with self.bench.db.engine.connect() as conn:
            pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                        "current_setting('application_name')").scalars().all()
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return found

    @staticmethod
    def spent(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
        """CPU seconds between two readings (a backend opened in between counts from its start)."""
        if before is None or after is None:
            return None
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class Stopwatch:
    """Wall time and this process's CPU time. Other load on the machine stretches the first; the
    second holds on SQLite, where all the work is in-process (on PostgreSQL the server's share of
    the work is not in it)."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu

    def rate(self, count: int, what: str) -> str:
        return (f"{count:,} {what} in {self.wall:.1f} s = {count / self.wall:,.0f} {what}/s "
                f"({self.cpu:.1f} CPU s: {count / self.cpu:,.0f}/CPU s)")


def load_profiles(bench: Bench, domain_id: int, count: int, through_save_profile: int, chunk: int) -> None:
    rng = random.Random(SEED)
    now = bench.clock.now()
    slow, fast, building = Stopwatch(), Stopwatch(), Stopwatch()
    slow_count = min(count, through_save_profile)
    with slow.running():
        for first in range(0, slow_count, 1000):
            with bench.db.transaction() as conn:
                for _ in range(min(1000, slow_count - first)):
                    save_profile(conn, domain_id, make_profile(rng), now, new=True)
    if slow_count:
        print(f"  save_profile, 1000 per transaction: {slow.rate(slow_count, 'profiles')}", flush=True)
    with fast.running():
        for first in range(slow_count, count, chunk):
            with building.running():
                batch = [make_profile(rng) for _ in range(min(chunk, count - first))]
            with bench.db.transaction() as conn:
                bulk_insert(conn, domain_id, batch, now)
    if count > slow_count:
        print(f"  bulk inserts, {chunk:,} per transaction: {fast.rate(count - slow_count, 'profiles')}; "
              f"{building.wall / fast.wall:.0%} of it making up the profile dicts", flush=True)
    total = Stopwatch()
    total.wall, total.cpu = slow.wall + fast.wall, slow.cpu + fast.cpu
    print(f"1. profile generation: {total.rate(count, 'profiles')}", flush=True)


def raw_insert_ceiling(bench: Bench, count: int, campaign_id: str, domain_id: int) -> tuple[Stopwatch, Stopwatch]:
    """The rows a snapshot of `count` members writes, one participant row each (its contacts are
    made later from its class's plan, when due), inserted with no planning around them: once by SQL
    from the members' profile rows (INSERT ... SELECT of the same columns, as the snapshot enters
    them), once by plain driver executemany calls with values already in database form, in batches
    of RELEASE_BATCH. Each run is one transaction, rolled back. Returns both stopwatches."""
    now = bench.clock.now()
    postgres = bench.db.engine.dialect.name == "postgresql"
    stored_now = now.replace(tzinfo=None) if postgres else now.replace(tzinfo=None).isoformat(" ", "microseconds")
    columns = ["id", "campaign_id", "profile_id", "entry", "state", "entered_at", "finished_at", "plan_id", "release_at"]
    marks = ", ".join(["%s" if postgres else "?"] * len(columns))
    driver_sql = f"INSERT INTO participants ({', '.join(columns)}) VALUES ({marks})"
    plan_id = str(uuid.uuid4())

    def run(insert_all) -> Stopwatch:
        watch = Stopwatch()
        with bench.db.engine.connect() as conn:
            conn.begin()
            insert_all(conn, watch)
            conn.rollback()  # the engine's own rows come next, into empty tables
        return watch

    def by_sql(conn, watch: Stopwatch) -> None:
        at = literal(now, participants.c.entered_at.type)
        query = select(work.numbered_ids(conn, work.id_head()), literal(campaign_id), profiles.c.id, literal(1),
                       literal("active"), at, null(), literal(plan_id), at).where(profiles.c.domain_id == domain_id)
        with watch.running():
            conn.execute(insert(participants).from_select(columns, query))

    def by_driver(conn, watch: Stopwatch) -> None:
        profile_ids = list(conn.execute(select(profiles.c.id).where(profiles.c.domain_id == domain_id)).scalars())
        for first in range(0, count, RELEASE_BATCH):
            ids = work.new_ids()
            with watch.running():  # converting to database form is part of the timed work, as binding is
                conn.exec_driver_sql(driver_sql, [(next(ids), campaign_id, profile_id, 1, "active", stored_now, None,
                                                   plan_id, stored_now)
                                                  for profile_id in profile_ids[first:first + RELEASE_BATCH]])

    by_select, driver = run(by_sql), run(by_driver)
    print(f"2. raw insert ceiling ({count:,} participant rows, one per member, as the snapshot writes them):", flush=True)
    print(f"  INSERT ... SELECT from the profile rows: {by_select.rate(count, 'participants')}", flush=True)
    print(f"  driver executemany (values pre-converted, {RELEASE_BATCH:,} per call): "
          f"{driver.rate(count, 'participants')}", flush=True)
    return by_select, driver


def plan(bench: Bench, campaign_id: str, profiler: cProfile.Profile | None, trace: bool,
         ceiling: tuple[Stopwatch, Stopwatch]) -> None:
    if trace:
        tracemalloc.start()
    if profiler:
        profiler.enable()
    watch = Stopwatch()
    with watch.running():
        woken = bench.engine._wake_campaigns(bench.clock.now())  # the engine's wake path: claim, wake, snapshot
    if profiler:
        profiler.disable()
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    with bench.db.transaction() as conn:
        entered = conn.execute(select(func.count()).select_from(participants)
                               .where(participants.c.campaign_id == campaign_id)).scalar_one()
        waiting = conn.execute(select(func.count()).select_from(participants).where(
            participants.c.campaign_id == campaign_id, participants.c.release_at.is_not(None))).scalar_one()
        classes = conn.execute(select(func.count()).select_from(plans).where(plans.c.campaign_id == campaign_id)).scalar_one()
        by_state = dict(conn.execute(select(contacts.c.state, func.count()).where(contacts.c.campaign_id == campaign_id)
                                     .group_by(contacts.c.state)).all())
        suppressed = conn.execute(select(func.count()).select_from(suppressions)
                                  .where(suppressions.c.campaign_id == campaign_id)).scalar_one()
    wall_rate, cpu_rate = entered / watch.wall, entered / watch.cpu
    print(f"3. planning ({woken} wake-up): {watch.rate(entered, 'participants')}", flush=True)
    by_select, driver = ceiling
    print(f"  {wall_rate / TARGET:.2f}x the {TARGET:,}/s target by wall time, {cpu_rate / TARGET:.2f}x per CPU second; "
          f"by wall time {wall_rate / (entered / by_select.wall):.0%} of the INSERT ... SELECT ceiling, "
          f"{wall_rate / (entered / driver.wall):.0%} of the driver one", flush=True)
    print(f"  {classes:,} reach classes planned; {waiting:,} participants waiting for their contacts to be made; "
          f"contacts made at once (the dropped ones): {by_state}; suppression rows: {suppressed:,}", flush=True)
    if peak is not None:
        print(f"  tracemalloc peak during planning: {peak / 2**20:,.0f} MiB (tracing slows planning; "
              f"the rate above includes that)", flush=True)


def dispatch(bench: Bench, campaign_id: str, profiler: cProfile.Profile | None, max_days: int) -> None:
    """Engine.advance an hour of campaign time at a time until the campaign completes."""
    spent: dict[str, Stopwatch] = {}
    dispatcher = bench.engine.dispatcher

    def timed(name, method):
        watch = spent.setdefault(name, Stopwatch())

        def wrapper(*args):
            with watch.running():
                return method(*args)
        return wrapper

    dispatcher._release = timed("release", dispatcher._release)  # inside dispatch_due
    dispatcher.dispatch_due = timed("dispatch", dispatcher.dispatch_due)
    dispatcher.apply_outcomes = timed("outcomes", dispatcher.apply_outcomes)
    bench.engine._wake_campaigns = timed("wake", bench.engine._wake_campaigns)
    bus = getattr(bench.engine, "bus", None)  # the event bus, when the engine has one: events out
    if bus is not None:
        bus.fan_out = timed("events", bus.fan_out)
        bus.deliver = timed("events", bus.deliver)
    deadline = START + timedelta(days=max_days)
    state = None
    with bench.db.transaction() as conn:
        before = conn.execute(select(func.count()).select_from(contacts)
                              .where(contacts.c.campaign_id == campaign_id)).scalar_one()
    watch = Stopwatch()
    server = ServerClock(bench)
    server_before = server.read()
    if profiler:
        profiler.enable()
    with watch.running():
        while bench.clock.now() < deadline:
            bench.engine.advance(bench.clock.now() + timedelta(hours=1))
            with bench.db.transaction() as conn:
                state = campaign_store.get_campaign_by_id(conn, campaign_id).state
            if state != "Running":
                break
    if profiler:
        profiler.disable()
    server_cpu = ServerClock.spent(server_before, server.read())
    with bench.db.transaction() as conn:
        dispatched = conn.execute(select(func.count()).select_from(contacts).where(
            contacts.c.campaign_id == campaign_id, contacts.c.dispatched_at.is_not(None))).scalar_one()
        outcomes = conn.execute(select(func.count()).select_from(contacts).where(
            contacts.c.campaign_id == campaign_id, contacts.c.disposition.is_not(None))).scalar_one()
        by_state = dict(conn.execute(select(contacts.c.state, func.count()).where(contacts.c.campaign_id == campaign_id)
                                     .group_by(contacts.c.state)).all())
        limited = conn.execute(select(func.count()).select_from(suppressions).where(
            suppressions.c.campaign_id == campaign_id, suppressions.c.reason.like("communication limit%"))).scalar_one()
    print(f"4. dispatch: campaign {state} after {bench.clock.now() - START} of campaign time; "
          f"{watch.wall:.1f} s wall, {watch.cpu:.1f} CPU s in all", flush=True)
    per_contact = f"{watch.cpu / dispatched * 1000:.3f} ms CPU per contact in this process"
    if server_cpu is not None:
        per_contact += (f" + {server_cpu / dispatched * 1000:.3f} ms in the database server "
                        f"({server_cpu / (server_cpu + watch.cpu):.0%} of the CPU)")
    print(f"  dispatch to outcome, everything included: {dispatched / watch.wall:,.0f} contacts/s of wall time; "
          f"{per_contact}", flush=True)
    print(f"  dispatched: {dispatched:,} contacts = {dispatched / watch.wall:,.0f}/s of all wall time "
          f"({dispatched / watch.cpu:,.0f}/CPU s); inside dispatch_due alone: {spent['dispatch'].rate(dispatched, 'contacts')}",
          flush=True)
    print(f"  outcomes applied: {outcomes:,} = {outcomes / watch.wall:,.0f}/s of all wall time "
          f"({outcomes / watch.cpu:,.0f}/CPU s); inside apply_outcomes alone: {spent['outcomes'].rate(outcomes, 'outcomes')}",
          flush=True)
    made = sum(by_state.values()) - before
    print(f"  contacts made from plans (inside dispatch_due): {spent['release'].rate(made, 'contacts')}", flush=True)
    others = ", ".join(f"{name} {w.wall:.1f} s ({w.cpu:.1f} CPU s)" for name, w in spent.items()
                       if name not in ("dispatch", "outcomes", "release"))
    rest = watch.wall - sum(w.wall for name, w in spent.items() if name != "release")
    print(f"  also: {others}; next_due and the clock {rest:.1f} s", flush=True)
    print(f"  contacts by state: {by_state}; limited by communication limits: {limited:,}", flush=True)


# --- plumbing ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(db: str | None) -> Iterator[tuple[str, str, Path]]:
    """(SQLAlchemy URL, label, data directory): SQLite in a temporary directory, or a throwaway
    PostgreSQL schema (and a temporary data directory for whatever the engine keeps on disk)."""
    with tempfile.TemporaryDirectory(prefix="reachout-bench-") as directory:
        if db is None or db.startswith("sqlite"):
            yield db or f"sqlite:///{Path(directory) / 'reachout.db'}", "SQLite", Path(directory)
            return
        import psycopg

        plain = "postgresql://" + db.split("://", 1)[1]
        schema = f"reachout_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
            try:
                separator = "&" if "?" in plain else "?"
                yield (database_url(f"{plain}{separator}options=-csearch_path%3D{schema}"
                                    f"&application_name={schema}", Path(directory)),
                       "PostgreSQL", Path(directory))
            finally:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def peak_rss() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"  # Linux: KiB


def report_profile(profiler: cProfile.Profile, directory: Path, name: str, top: int = 25) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(directory / f"{name}.prof")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        (directory / f"{name}.{order}.txt").write_text(text.getvalue())
    print(f"  cProfile of {name}: {directory / name}.prof (+ .tottime.txt, .cumulative.txt)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="how many profiles (default 1,000,000)")
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory); "
                                     "postgresql://... runs in a throwaway schema")
    parser.add_argument("--rate", type=float,
                        help="dispatches per second each simulated channel accepts (default: 100,000 or the "
                             "number of profiles, whichever is larger, so that one pass can take every contact "
                             "due at one instant)")
    parser.add_argument("--save-profile-count", type=int, default=20_000,
                        help="profiles written through save_profile before switching to bulk inserts")
    parser.add_argument("--chunk", type=int, default=10_000, help="profiles per bulk transaction")
    parser.add_argument("--max-days", type=int, default=7, help="campaign days to run dispatch for at most")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocations while planning (slower)")
    parser.add_argument("--profile-dir", type=Path, help="write cProfile stats of planning and dispatch here")
    parser.add_argument("--skip-dispatch", action="store_true", help="stop after planning")
    args = parser.parse_args()
    # A pass dispatches at most one second's worth per channel and then, with its budget spent,
    # still one contact per channel per loop until nothing is due (dispatch._shares' max(1, ...)):
    # a backlog larger than the rate would be measured one contact at a time.
    args.rate = args.rate or max(100_000.0, float(args.profiles))

    started = time.perf_counter()
    with database(args.db) as (url, label, data_dir):
        print(f"Reachout engine benchmark: {args.profiles:,} profiles on {label}, simulated channels at "
              f"{args.rate:,.0f}/s, Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        bench = Bench(url, data_dir, args.rate)
        try:
            domain_id = bench.create_domain()
            check_bulk_matches_save_profile(bench, domain_id)
            load_profiles(bench, domain_id, args.profiles, args.save_profile_count, args.chunk)
            print(f"  peak RSS so far: {peak_rss()}", flush=True)
            campaign_id = bench.create_campaign()
            ceiling = raw_insert_ceiling(bench, args.profiles, campaign_id, domain_id)
            print(f"  peak RSS so far: {peak_rss()}", flush=True)
            planning = cProfile.Profile() if args.profile_dir else None
            plan(bench, campaign_id, planning, args.tracemalloc, ceiling)
            print(f"  peak RSS so far: {peak_rss()}", flush=True)
            if planning:
                report_profile(planning, args.profile_dir, "planning")
            if not args.skip_dispatch:
                dispatching = cProfile.Profile() if args.profile_dir else None
                dispatch(bench, campaign_id, dispatching, args.max_days)
                if dispatching:
                    report_profile(dispatching, args.profile_dir, "dispatch")
            print(f"5. peak memory (ru_maxrss): {peak_rss()}", flush=True)
            print(f"total wall time: {time.perf_counter() - started:,.0f} s; load average now "
                  f"{os.getloadavg()[0]:.1f} (CPU s figures are the ones to compare on a busy machine)", flush=True)
        finally:
            bench.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
