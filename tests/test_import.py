"""`reachout profiles import`: a CSV and a JSONL file with good and bad rows go through the same
ingestion path as PutProfileObject; bad rows are set aside with their reason and never stop the
import; the server then finds the imported profiles."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.conftest import make_client

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
