"""`reachout profiles import`: a CSV and a JSONL file with good and bad rows go through the same
ingestion path as PutProfileObject; bad rows are set aside with their reason and never stop the
import; the server then finds the imported profiles."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from reachout.clock import SystemClock
from reachout.importer import ImportSummary, import_objects
from reachout.store.db import Database, database_url
from tests.support import make_client

CUSTOMER_TYPE = {
    "Description": "CRM export", "AllowProfileCreation": True,
    "Fields": {
        "id": {"Source": "_source.customer_id", "Target": "_profile.AccountNumber"},
        "first": {"Source": "_source.first_name", "Target": "_profile.FirstName"},
        "email": {"Source": "_source.email", "Target": "_profile.EmailAddress"},
        "zip": {"Source": "_source.zip", "Target": "_profile.Address.PostalCode"},
        "score": {"Source": "_source.score", "Target": "_profile.Attributes.score", "ContentType": "NUMBER"},
    },
    "Keys": {"customerId": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["id"]}]},
}


def run_import(server, path, domain: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reachout", "profiles", "import", str(path), "--domain", domain,
                           "--object-type", "Customer", "--db", server.db], capture_output=True, text=True)


@pytest.fixture
def domain(server) -> str:
    profiles = make_client(server.url, "customer-profiles")
    name = f"import-{uuid.uuid4().hex[:10]}"
    profiles.create_domain(DomainName=name, DefaultExpirationDays=365)
    profiles.put_profile_object_type(DomainName=name, ObjectTypeName="Customer", **CUSTOMER_TYPE)
    return name


def test_a_csv_import_creates_updates_and_sets_bad_rows_aside(server, domain, tmp_path):
    rows = tmp_path / "customers.csv"
    rows.write_text("customer_id,first_name,email,zip,score\n"
                    "c1,Ann,ann@example.com,10001,42\n"
                    "c2,Bob,bob@example.com,,7\n"
                    "c3,Cy,cy@example.com,60601,not-a-number\n"  # NUMBER field that is not a number
                    "c1,Annie,,,\n")  # the same customer again: an update, empty cells change nothing

    finished = run_import(server, rows, domain)

    assert finished.returncode == 0, finished.stderr
    assert "4 rows: 2 profiles created, 1 updated, 1 rejected" in " ".join(finished.stderr.split())
    rejects = [json.loads(line) for line in (tmp_path / "customers.csv.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], "score" in r["reason"]) for r in rejects] == [(4, True)]
    profiles = make_client(server.url, "customer-profiles")
    ann = profiles.search_profiles(DomainName=domain, KeyName="customerId", Values=["c1"])["Items"]
    assert [(p["FirstName"], p["EmailAddress"], p["Address"]["PostalCode"], p["Attributes"]["score"])
            for p in ann] == [("Annie", "ann@example.com", "10001", "42")]
    assert profiles.search_profiles(DomainName=domain, KeyName="customerId", Values=["c3"])["Items"] == []


def test_a_jsonl_import_survives_malformed_lines(server, domain, tmp_path):
    rows = tmp_path / "customers.jsonl"
    rows.write_text('{"customer_id": "j1", "first_name": "Jo"}\n'
                    "{not json\n"
                    '["an", "array"]\n'
                    '{"customer_id": "j2", "first_name": "Kim"}\n')

    finished = run_import(server, rows, domain)

    assert finished.returncode == 0, finished.stderr
    assert "4 rows: 2 profiles created, 0 updated, 2 rejected" in " ".join(finished.stderr.split())
    found = make_client(server.url, "customer-profiles").search_profiles(
        DomainName=domain, KeyName="customerId", Values=["j1", "j2"])["Items"]
    assert sorted(p["FirstName"] for p in found) == ["Jo", "Kim"]


def test_an_unknown_domain_stops_before_reading_anything(server, tmp_path):
    rows = tmp_path / "x.csv"
    rows.write_text("customer_id\nc1\n")
    finished = run_import(server, rows, "no-such-domain")
    assert finished.returncode == 2 and "not found" in finished.stderr


# --- one chunk == the same rows one by one ------------------------------------------------------
def put_field(source: str, target: str | None = None, content_type: str | None = None) -> dict:
    spec = {"Source": f"_source.{source}"}
    return {**spec, **({"Target": target} if target else {}), **({"ContentType": content_type} if content_type else {})}


# Every kind of key: PROFILE (customerId), UNIQUE (rowId), a predefined key used as SECONDARY (_email,
# which follows the profile's EmailAddress), NEW_ONLY (device) and LOOKUP_ONLY (card).
CRM_TYPE = {
    "Description": "CRM rows", "AllowProfileCreation": True,
    "Fields": {"row": put_field("row"), "customer": put_field("customer_id"),
               "first": put_field("first_name", "_profile.FirstName"),
               "email": put_field("email", "_profile.EmailAddress"),
               "device": put_field("device"), "card": put_field("card"),
               "tier": put_field("tier", "_profile.Attributes.tier"),
               "score": put_field("score", "_profile.Attributes.score", "NUMBER")},
    "Keys": {"rowId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["row"]}],
             "customerId": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["customer"]}],
             "_email": [{"StandardIdentifiers": ["SECONDARY"], "FieldNames": ["email"]}],
             "device": [{"StandardIdentifiers": ["NEW_ONLY"], "FieldNames": ["device"]}],
             "card": [{"StandardIdentifiers": ["LOOKUP_ONLY"], "FieldNames": ["card"]}]},
}
# In file order; each row's comment says what it meets, ingested after the rows above it.
CHUNK_ROWS = [
    '{"row": "r1", "customer_id": "C1", "first_name": "Ann", "email": "ann@example.com", "device": "D1"}',  # new P1
    '{"row": "r2", "customer_id": "C1", "first_name": "Annie", "device": "D2"}',  # P1 again; D2 not kept
    '{"row": "r3", "customer_id": "C2", "email": "ann@example.com", "tier": "gold"}',  # P1 by _email; gains C2
    '{"row": "r4", "customer_id": "C1", "email": "ann2@example.com"}',  # P1's email changes
    '{"row": "r5", "customer_id": "C3", "email": "ann@example.com"}',  # the old email finds nobody: new P3
    '{"row": "r6", "customer_id": "C3"',  # not JSON
    '{"row": "r7", "customer_id": "C4", "score": "lots"}',  # NUMBER field that is not a number
    '{"customer_id": "C4", "first_name": "No row"}',  # no UNIQUE key
    '{"row": "r1", "customer_id": "C1", "first_name": "Ann again"}',  # replaces object r1
    '{"row": "r10", "card": "CARD-1", "first_name": "Carded"}',  # LOOKUP_ONLY finds the profile from before
    '{"row": "r11", "customer_id": "SHARED"}',  # two profiles hold SHARED: refused
    '{"row": "r12", "device": "D1", "tier": "silver"}',  # NEW_ONLY D1, kept on P1 at its creation, finds P1
    '{"row": "r0", "customer_id": "C0", "tier": "platinum"}',  # replaces an object stored before the import
    '{"row": "r13", "customer_id": "C5", "first_name": "Eve", "score": "7"}',  # new P5
    '{"row": "r13", "first_name": "Evelyn"}',  # no key finds a profile: r13's, P5, takes it
    '{"row": "r14", "customer_id": "C5", "first_name": "", "email": ""}',  # empty values change nothing
    '{"row": "r15", "customer_id": "C2", "email": "ann2@example.com", "device": "D3"}',  # C2 is P1's
]
SEARCHED = {"customerId": ["C0", "C1", "C2", "C3", "C4", "C5", "SHARED"], "rowId": ["r0", "r1", "r10", "r12", "r15"],
            "_email": ["ann@example.com", "ann2@example.com", "e@example.com"], "device": ["D1", "D2", "D3"],
            "card": ["CARD-1"], "_fullName": ["Ann again", "Carded", "Eve", "Zed"]}


def import_in_process(server, path, domain: str) -> ImportSummary:
    """`reachout profiles import`'s own function, for its summary (the CLI prints only part of it)."""
    database = Database(database_url(server.db, path.parent))
    try:
        return import_objects(database, SystemClock(), "us-east-1", domain, "Customer", path,
                              path.with_name(path.name + ".rejects.jsonl"))
    finally:
        database.dispose()


def crm_domain(profiles) -> str:
    """A domain as the import finds it: one object stored (r0, customer C0), a profile holding card
    CARD-1, and two profiles sharing customerId SHARED."""
    name = f"chunk-{uuid.uuid4().hex[:10]}"
    profiles.create_domain(DomainName=name, DefaultExpirationDays=365)
    profiles.put_profile_object_type(DomainName=name, ObjectTypeName="Customer", **CRM_TYPE)
    profiles.put_profile_object(DomainName=name, ObjectTypeName="Customer",
                                Object='{"row": "r0", "customer_id": "C0", "email": "e@example.com"}')
    carded = profiles.create_profile(DomainName=name, FirstName="Zed")["ProfileId"]
    profiles.add_profile_key(DomainName=name, ProfileId=carded, KeyName="card", Values=["CARD-1"])
    for _ in range(2):
        shared = profiles.create_profile(DomainName=name)["ProfileId"]
        profiles.add_profile_key(DomainName=name, ProfileId=shared, KeyName="customerId", Values=["SHARED"])
    return name


def everything_in(profiles, domain: str) -> dict:
    """The domain as boto3 sees it, profile ids aside: for each searched key value, the profiles it
    finds (fields and objects); and the domain's counts."""
    def seen(profile: dict) -> dict:
        objects = profiles.list_profile_objects(DomainName=domain, ObjectTypeName="Customer",
                                                ProfileId=profile["ProfileId"])["Items"]
        return {"profile": {k: v for k, v in profile.items() if k not in ("ProfileId", "FoundByItems")},
                "objects": sorted((o["ProfileObjectUniqueKey"], o["Object"]) for o in objects)}

    found = {f"{name}={value}": sorted((seen(p) for p in profiles.search_profiles(
                 DomainName=domain, KeyName=name, Values=[value])["Items"]), key=json.dumps)
             for name, values in SEARCHED.items() for value in values}
    stats = profiles.get_domain(DomainName=domain)["Stats"]
    return {"found": found, "counts": (stats["ProfileCount"], stats["ObjectCount"])}


def test_a_chunk_ends_as_its_rows_put_one_by_one(server, tmp_path):
    profiles = make_client(server.url, "customer-profiles")
    one_by_one, imported = crm_domain(profiles), crm_domain(profiles)
    refused = {}
    for line, row in enumerate(CHUNK_ROWS, 1):
        try:
            profiles.put_profile_object(DomainName=one_by_one, ObjectTypeName="Customer", Object=row)
        except profiles.exceptions.BadRequestException as error:
            refused[line] = error.response["Error"]["Message"]
    rows = tmp_path / "crm.jsonl"
    rows.write_text("\n".join(CHUNK_ROWS) + "\n")

    summary = import_in_process(server, rows, imported)  # all the rows in one chunk

    assert (summary.rows, summary.created, summary.updated, summary.rejected) == (17, 3, 10, 4)
    assert summary.redone_chunks == 0  # decided in bulk, not redone row by row
    rejects = [json.loads(line) for line in (tmp_path / "crm.jsonl.rejects.jsonl").read_text().splitlines()]
    assert {r["line"]: r["reason"] for r in rejects} == refused
    assert sorted(refused) == [6, 7, 8, 11]
    expected = everything_in(profiles, one_by_one)
    assert everything_in(profiles, imported) == expected
    # And what that is, in a few words:
    assert expected["counts"] == (7, 11)  # P0, P1, P3, P5, Zed, the two SHARED; objects r0-r5, r10, r12-r15
    [ann] = expected["found"]["customerId=C1"]
    assert expected["found"]["customerId=C2"] == [ann] == expected["found"]["device=D1"]
    assert ann["profile"]["FirstName"] == "Ann again" and ann["profile"]["EmailAddress"] == "ann2@example.com"
    assert ann["profile"]["Attributes"] == {"tier": "silver"}
    assert [key for key, _ in ann["objects"]] == ["r1", "r12", "r15", "r2", "r3", "r4"]
    assert expected["found"]["device=D2"] == expected["found"]["device=D3"] == []
    assert [p["profile"].get("FirstName") for p in expected["found"]["_email=ann@example.com"]] == [None]  # P3
    assert expected["found"]["card=CARD-1"][0]["profile"]["FirstName"] == "Carded"
    assert expected["found"]["customerId=C0"][0]["profile"]["Attributes"] == {"tier": "platinum"}
    assert expected["found"]["customerId=C5"][0]["profile"] == {"FirstName": "Evelyn", "Attributes": {"score": "7"}}


def test_a_row_the_database_cannot_store_is_set_aside_alone(server, tmp_path):
    """PostgreSQL text cannot hold NUL characters: the chunk's bulk writes fail, and the chunk is done
    again row by row, so that only that row is refused. SQLite stores it like any other character."""
    profiles = make_client(server.url, "customer-profiles")
    domain = crm_domain(profiles)
    rows = tmp_path / "crm.jsonl"
    rows.write_text('{"row": "n1", "customer_id": "N1", "first_name": "Ann"}\n'
                    '{"row": "n2", "customer_id": "N2", "first_name": "Bob\\u0000"}\n'
                    '{"row": "n3", "customer_id": "N1", "first_name": "Annie"}\n')

    summary = import_in_process(server, rows, domain)

    found = {p["FirstName"] for p in profiles.search_profiles(DomainName=domain, KeyName="customerId",
                                                             Values=["N1", "N2"])["Items"]}
    rejects = (tmp_path / "crm.jsonl.rejects.jsonl").read_text().splitlines()
    if server.db.startswith("postgresql"):
        assert (summary.created, summary.updated, summary.rejected, summary.redone_chunks) == (1, 1, 1, 1)
        assert found == {"Annie"}
        assert [json.loads(line)["line"] for line in rejects] == [2]
        assert json.loads(rejects[0])["reason"].startswith("The database refused the row")
    else:
        assert (summary.created, summary.updated, summary.rejected, summary.redone_chunks) == (2, 1, 0, 0)
        assert found == {"Annie", "Bob\x00"}
