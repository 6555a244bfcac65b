"""Bulk profile import and segment evaluation at scale.

    .venv/bin/python benchmarks/profiles.py [--profiles N] [--db URL] [--updates M] [--explain]

1. Generates N realistic customer rows into a CSV: US (80 %), UK and other phone numbers, unique
   emails, US addresses with real ZIP codes, their cities and states (foreign ones for the rest),
   birth dates, and custom attributes `tier`, `score` (NUMBER) and `last_purchase` (a date).
2. Creates a domain and an object type mapping those columns (customerId: PROFILE + UNIQUE key,
   email: SECONDARY key) and imports the CSV through `reachout.importer.import_objects`, the code
   behind `reachout profiles import`: every row creates a profile. Prints rows/s.
3. Re-imports M of those rows (default N/10) with a new tier and score: every row updates a profile.
4. Segment evaluation (`count_members`, then `member_ids`) for three segments of the first domain:
   (1) tier INCLUSIVE gold; (2) Address.State INCLUSIVE CA AND BirthDate BEFORE 1980-01-01, or
   last_purchase AFTER a recent date; (3) in (1) or (2) (SourceType ANY) with score > 500.
   --explain prints each count query's plan (on PostgreSQL, EXPLAIN ANALYZE).
5. The ceilings: the same new profiles' rows (profiles, attributes, search keys, objects), built in
   advance, written into fresh domains of the same database in chunks of the importer's size with a
   commit each, once by the importer's own bulk insert and once by plain SQLAlchemy executemany.
   Only the database calls are timed.

SQLite in a temporary directory unless --db is given. With --db postgresql://... the run gets a
throwaway schema reachout_bench_<random> (through ?options=-csearch_path%3D<schema>), dropped at the
end. It prints; it asserts nothing.
"""
from __future__ import annotations

import argparse
import csv
import platform
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import zipcodes
from sqlalchemy import func, insert, select, text

from reachout.clock import SystemClock
from reachout.domain import ingestion
from reachout.domain.profile import new_profile
from reachout.importer import CHUNK, import_objects, rows_of
from reachout.store import profiles as profile_store
from reachout.store import segments
from reachout.store.db import Database, database_url, open_database
from reachout.store.profile_domains import create_domain, put_object_type
from reachout.store.tables import profile_attributes, profile_keys, profile_objects, profiles

REGION = "us-east-1"
OBJECT_TYPE = "Customer"
SEED = 20240601


def field(source: str, target: str, content_type: str | None = None) -> dict:
    spec = {"Source": f"_source.{source}", "Target": target}
    return {**spec, "ContentType": content_type} if content_type else spec


CUSTOMER_TYPE = {
    "Description": "CRM customer export", "AllowProfileCreation": True,
    "Fields": {
        "id": field("customer_id", "_profile.AccountNumber"),
        "first": field("first_name", "_profile.FirstName", "NAME"),
        "last": field("last_name", "_profile.LastName", "NAME"),
        "email": field("email", "_profile.EmailAddress", "EMAIL_ADDRESS"),
        "phone": field("phone", "_profile.PhoneNumber", "PHONE_NUMBER"),
        "street": field("address1", "_profile.Address.Address1"),
        "city": field("city", "_profile.Address.City"),
        "state": field("state", "_profile.Address.State"),
        "zip": field("postal_code", "_profile.Address.PostalCode"),
        "country": field("country", "_profile.Address.Country"),
        "birth": field("birth_date", "_profile.BirthDate"),
        "tier": field("tier", "_profile.Attributes.tier"),
        "score": field("score", "_profile.Attributes.score", "NUMBER"),
        "purchase": field("last_purchase", "_profile.Attributes.last_purchase"),
    },
    "Keys": {"customerId": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["id"]}],
             "email": [{"StandardIdentifiers": ["SECONDARY"], "FieldNames": ["email"]}]},
}
COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "address1", "city", "state", "postal_code",
           "country", "birth_date", "tier", "score", "last_purchase"]


# --- the rows ------------------------------------------------------------------------------------
FIRST_NAMES = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
               "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Maria",
               "Wei", "Mei", "Aarav", "Priya", "Oliver", "Amelia", "Lukas", "Emma", "Hugo", "Chloe", "Noah", "Mia"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
              "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Lee",
              "Nguyen", "Chen", "Patel", "Kim", "O'Brien", "Murphy", "Muller", "Dubois", "Rossi", "Silva"]
STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Rd", "Washington Blvd", "Lake St", "Hill Rd",
           "Elm St", "Pine Ct", "2nd Ave", "Sunset Blvd", "River Rd", "Church St", "Highland Ave"]
MAIL_HOSTS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "proton.me"]
TIERS = (["bronze"] * 50) + (["silver"] * 30) + (["gold"] * 15) + (["platinum"] * 5)
# (country, E.164 prefix, digits after it, cities): the 20 % of customers outside the US.
ABROAD = [("GB", "+447", 9, [("London", "SW1A 1AA"), ("Manchester", "M1 1AE"), ("Leeds", "LS1 4AP")]),
          ("DE", "+49151", 8, [("Berlin", "10115"), ("Hamburg", "20095"), ("Munich", "80331")]),
          ("FR", "+336", 8, [("Paris", "75001"), ("Lyon", "69001")]),
          ("CA", "+1416", 7, [("Toronto", "M5H 2N2")]),
          ("AU", "+614", 8, [("Sydney", "2000"), ("Melbourne", "3000")]),
          ("MX", "+5255", 8, [("Mexico City", "06000")])]


def us_places() -> list[tuple[str, str, str, list[str]]]:
    """(ZIP code, city, state, area codes) of every standard, active US ZIP code."""
    return [(z["zip_code"], z["city"], z["state"], z["area_codes"] or ["212"]) for z in zipcodes.list_all()
            if z["zip_code_type"] == "STANDARD" and z["active"] and z["state"] not in ("AA", "AE", "AP")]


def customer_rows(count: int, rng: random.Random) -> list[list[str]]:
    places = us_places()
    today = date(2026, 1, 1)
    rows = []
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{n}@{rng.choice(MAIL_HOSTS)}".lower().replace("'", "")
        if rng.random() < 0.8:
            postal_code, city, state, area_codes = rng.choice(places)
            country = "US"
            phone = f"+1{rng.choice(area_codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        else:
            country, prefix, digits, cities = ABROAD[rng.randrange(len(ABROAD))]
            city, postal_code = rng.choice(cities)
            state = ""
            phone = prefix + "".join(str(rng.randrange(10)) for _ in range(digits))
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        purchase = today - timedelta(days=rng.randrange(730)) if rng.random() < 0.9 else None
        rows.append([f"C{n:09d}", first, last, email, phone, f"{rng.randint(1, 9999)} {rng.choice(STREETS)}", city,
                     state, postal_code, country, birth.isoformat(), rng.choice(TIERS),
                     str(rng.randint(0, 1000)), purchase.isoformat() if purchase else ""])
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


# --- the database --------------------------------------------------------------------------------
@contextmanager
def database(url: str | None, work: Path):
    """A migrated database: SQLite in `work`, or a throwaway schema of the PostgreSQL database."""
    if url is None or not url.startswith("postgres"):
        db = open_database(database_url(url, work))
        try:
            yield db
        finally:
            db.dispose()
        return
    import psycopg

    schema = f"reachout_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            separator = "&" if "?" in url else "?"
            db = open_database(database_url(f"{url}{separator}options=-csearch_path%3D{schema}", work))
            try:
                yield db
            finally:
                db.dispose()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_domain(db: Database, name: str) -> int:
    now = datetime.now(timezone.utc)
    with db.transaction() as conn:
        domain = create_domain(conn, REGION, name, f"arn:aws:profile:{REGION}:111122223333:domains/{name}",
                               {"DefaultExpirationDays": 365}, now)
        ingestion.compile_object_type(OBJECT_TYPE, CUSTOMER_TYPE)  # refuses a mapping the API would refuse
        put_object_type(conn, domain.id, OBJECT_TYPE, CUSTOMER_TYPE, now)
    return domain.id


def counts(db: Database, domain_id: int) -> str:
    with db.transaction() as conn:
        found = [conn.execute(select(func.count()).select_from(table).where(table.c.domain_id == domain_id)).scalar()
                 for table in (profiles, profile_attributes, profile_keys, profile_objects)]
    return "{:,} profiles, {:,} attribute rows, {:,} key rows, {:,} objects".format(*found)


# --- measuring -----------------------------------------------------------------------------------
def timed_import(db: Database, domain: str, path: Path, label: str) -> None:
    rejects = path.with_name(path.name + ".rejects.jsonl")
    done = [0, time.perf_counter()]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 100_000 < n:
            print(f"    {done[0]:>10,} rows  {done[0] / (time.perf_counter() - started):>9,.0f} rows/s", flush=True)

    started = time.perf_counter()
    summary = import_objects(db, SystemClock(), REGION, domain, OBJECT_TYPE, path, rejects, progress)
    seconds = time.perf_counter() - started
    print(f"  {label}: {summary.rows:,} rows in {seconds:.1f} s = {summary.rows / seconds:,.0f} rows/s "
          f"({summary.created:,} created, {summary.updated:,} updated, {summary.rejected:,} rejected)", flush=True)
    if summary.reasons:
        print(f"    reasons: {summary.reasons}")


def ceiling(db: Database, domain_id: int, path: Path, label: str, write) -> None:
    """The rows the import writes for new profiles, built beforehand chunk by chunk, then written by
    `write(conn, table, rows)` with a commit per chunk; only the writing is timed."""
    object_type = ingestion.compile_object_type(OBJECT_TYPE, CUSTOMER_TYPE)
    rows = rows_of(path)
    total, seconds = 0, 0.0
    while chunk := [text for _, (_, text, _) in zip(range(CHUNK), rows)]:
        now = datetime.now(timezone.utc)
        tables: dict = {profiles: [], profile_attributes: [], profile_keys: [], profile_objects: []}
        for object_text in chunk:
            reading = ingestion.read_object(object_type, object_text)
            profile = new_profile(profile_store.new_id(now), reading.profile_changes)
            tables[profiles].append(profile_store.profile_row(domain_id, profile, now))
            tables[profile_attributes] += profile_store.attribute_rows(domain_id, profile)
            tables[profile_keys] += profile_store.predefined_key_rows(domain_id, profile)
            tables[profile_keys] += [{"domain_id": domain_id, "key_name": name, "value": value,
                                      "profile_id": profile["ProfileId"]}
                                     for name, value in ingestion.keys_to_store(reading, created_profile=True)]
            tables[profile_objects].append({"domain_id": domain_id, "object_type": OBJECT_TYPE,
                                            "unique_key": reading.unique_key, "profile_id": profile["ProfileId"],
                                            "object": object_text, "created_at": now})
        started = time.perf_counter()
        with db.transaction() as conn:
            for table, table_rows in tables.items():
                write(conn, table, table_rows)
        seconds += time.perf_counter() - started
        total += len(chunk)
    print(f"  ceiling, {label}: {total:,} profiles in {seconds:.1f} s = {total / seconds:,.0f} rows/s", flush=True)


def sqlalchemy_executemany(conn, table, rows: list[dict]) -> None:
    conn.execute(insert(table), rows)


def segment_definitions(recent: str) -> dict[str, dict]:
    def dimension(attributes: dict) -> dict:
        return {"ProfileAttributes": attributes}

    return {
        "gold": {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [dimension(
            {"Attributes": {"tier": {"DimensionType": "INCLUSIVE", "Values": ["gold"]}}})]}]},
        "ca-older-or-recent": {"Include": "ALL", "Groups": [{"Type": "ANY", "Dimensions": [
            dimension({"Address": {"State": {"DimensionType": "INCLUSIVE", "Values": ["CA"]}},
                       "BirthDate": {"DimensionType": "BEFORE", "Values": ["1980-01-01"]}}),
            dimension({"Attributes": {"last_purchase": {"DimensionType": "AFTER", "Values": [recent]}}})]}]},
        "nested-high-score": {"Include": "ALL", "Groups": [{
            "SourceType": "ANY", "SourceSegments": [{"SegmentDefinitionName": "gold"},
                                                    {"SegmentDefinitionName": "ca-older-or-recent"}],
            "Type": "ALL", "Dimensions": [dimension(
                {"Attributes": {"score": {"DimensionType": "GREATER_THAN", "Values": ["500"]}}})]}]},
    }


def time_segments(db: Database, domain_id: int, explain: bool) -> None:
    now = datetime.now(timezone.utc)
    definitions = segment_definitions("2025-10-01")
    with db.transaction() as conn:
        for name, groups in definitions.items():
            segments.create_definition(conn, domain_id, name, f"arn:bench:{name}",
                                       {"DisplayName": name, "SegmentGroups": groups}, now)
    for name, groups in definitions.items():
        with db.transaction() as conn:
            started = time.perf_counter()
            count = segments.count_members(conn, domain_id, groups)
            counted = time.perf_counter() - started
            started = time.perf_counter()
            members = segments.member_ids(conn, domain_id, groups)
            listed = time.perf_counter() - started
            print(f"  segment {name}: {count:,} members; count_members {counted:.2f} s, member_ids {listed:.2f} s"
                  + ("" if len(members) == count else f"  (member_ids found {len(members):,}!)"), flush=True)
            if explain:
                print_plan(conn, domain_id, groups)


def print_plan(conn, domain_id: int, groups: dict) -> None:
    query = (select(func.count()).select_from(profiles)
             .where(profiles.c.domain_id == domain_id, segments.condition(conn, domain_id, groups)))
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%%", "%")  # sent without parameters: no escapes
    else:
        sql = "EXPLAIN QUERY PLAN " + sql
    for row in conn.connection.driver_connection.execute(sql).fetchall():
        print("      " + (row[0] if postgres else f"{row[1]:>4} {row[-1]}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="rows to generate and import")
    parser.add_argument("--updates", type=int, default=None, help="rows re-imported as updates [profiles/10]")
    parser.add_argument("--db", default=None, help="database URL [SQLite in a temporary directory]")
    parser.add_argument("--explain", action="store_true", help="print the plan of each segment's count query")
    args = parser.parse_args()
    updates = args.profiles // 10 if args.updates is None else min(args.updates, args.profiles)
    with tempfile.TemporaryDirectory(prefix="reachout-bench-") as work_dir:
        work = Path(work_dir)
        print(f"Python {platform.python_version()}, {platform.machine()}, "
              f"database {'SQLite' if not args.db else args.db}, {args.profiles:,} profiles, chunks of {CHUNK}")
        rng = random.Random(SEED)
        started = time.perf_counter()
        rows = customer_rows(args.profiles, rng)
        write_csv(work / "customers.csv", rows)
        changed = [row[:11] + [rng.choice(["gold", "platinum"]), str(rng.randint(0, 1000)), row[13]]
                   for row in rng.sample(rows, updates)]
        write_csv(work / "updates.csv", changed)
        del rows, changed
        print(f"  generated the CSV files in {time.perf_counter() - started:.1f} s "
              f"({(work / 'customers.csv').stat().st_size / 1e6:,.0f} MB)", flush=True)
        with database(args.db, work) as db:
            domain_id = make_domain(db, "bench")
            timed_import(db, "bench", work / "customers.csv", "import, new profiles")
            if updates:
                timed_import(db, "bench", work / "updates.csv", "import, updates of existing profiles")
            print(f"  domain bench holds {counts(db, domain_id)}", flush=True)
            if db.url.startswith("postgresql"):
                with db.transaction() as conn:
                    conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
            time_segments(db, domain_id, args.explain)
            # The same new profiles' rows into fresh domains of the same database (now bigger by the
            # import: if anything, a handicap for the ceilings), database time only.
            ceiling(db, make_domain(db, "bench-ceiling"), work / "customers.csv",
                    "the importer's own bulk insert (insert_many)", profile_store.insert_many)
            ceiling(db, make_domain(db, "bench-executemany"), work / "customers.csv",
                    "plain SQLAlchemy executemany", sqlalchemy_executemany)

if __name__ == "__main__":
    sys.exit(main())
