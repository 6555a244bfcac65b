"""Customer Profiles segments (`customer-profiles`): segment definitions, membership, estimates and
snapshots through real boto3 against a real `reachout serve`, with their error paths.

Every test works in a domain of its own, with a few profiles made by CreateProfile. What each
operator means is pinned down by the property tests (test_segment_properties.py); here a handful of
definitions check that the meaning reaches the wire.
"""
from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime

import pytest

from tests.support import ACCOUNT
from tests.expect import aws_error

REGION = "us-east-1"
UNKNOWN_ID = "0" * 32




def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cp(client):
    return client("customer-profiles")


@pytest.fixture
def domain(cp) -> str:
    name = unique_name("seg")
    cp.create_domain(DomainName=name, DefaultExpirationDays=365)
    return name


PEOPLE = {
    "ann": {"FirstName": "Ann", "LastName": "Smith", "BirthDate": "1990-05-01", "EmailAddress": "ann@example.com",
            "Address": {"City": "Paris", "Country": "FR"},
            "Attributes": {"score": "42", "since": "2024-01-05T10:00:00Z", "tier": "gold"}},
    "bob": {"FirstName": "Bob", "LastName": "Brown", "BirthDate": "1985-12-31",
            "Address": {"City": "Lyon", "Country": "FR"}, "Attributes": {"score": "7", "tier": "100%_silver"}},
    "cyd": {"FirstName": "ann", "BusinessName": "Cyd & Co", "ProfileType": "ACCOUNT_PROFILE",
            "Address": {"City": "New York", "Country": "US"}, "Attributes": {"score": "abc"}},
    "dee": {"LastName": "Smyth", "BirthDate": "not a date"},
}


@pytest.fixture
def people(cp, domain) -> dict[str, str]:
    """The PEOPLE as profiles of the domain: name -> ProfileId."""
    return {name: cp.create_profile(DomainName=domain, **fields)["ProfileId"] for name, fields in PEOPLE.items()}


def where(**profile_attributes) -> dict:
    """SegmentGroups of one group with one dimension holding these conditions."""
    return {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": profile_attributes}]}]}


def condition(operator: str, *values: str) -> dict:
    return {"DimensionType": operator, "Values": list(values)}


def built_on(source_type: str, *names: str, **profile_attributes) -> dict:
    group: dict = {"SourceType": source_type,
                   "SourceSegments": [{"SegmentDefinitionName": name} for name in names]}
    if profile_attributes:
        group["Dimensions"] = [{"ProfileAttributes": profile_attributes}]
    return {"Groups": [group]}


def create_segment(cp, domain: str, name: str, groups: dict, **extra) -> dict:
    return cp.create_segment_definition(DomainName=domain, SegmentDefinitionName=name, DisplayName=name.title(),
                                        SegmentGroups=groups, **extra)


def members(cp, domain: str, segment: str, people: dict[str, str]) -> set[str]:
    """Which of the people GetSegmentMembership says are in the segment."""
    answer = cp.get_segment_membership(DomainName=domain, SegmentDefinitionName=segment,
                                       ProfileIds=list(people.values()))
    assert answer["Failures"] == []
    names = {profile_id: name for name, profile_id in people.items()}
    return {names[p["ProfileId"]] for p in answer["Profiles"] if p["QueryResult"] == "PRESENT"}


def estimate(cp, domain: str, query: dict) -> int:
    created = cp.create_segment_estimate(DomainName=domain, SegmentQuery=query)
    got = cp.get_segment_estimate(DomainName=domain, EstimateId=created["EstimateId"])
    assert got["Status"] == "SUCCEEDED"
    return int(got["Estimate"])


# --- definitions ------------------------------------------------------------------------------------
def test_definition_is_created_described_listed_and_deleted(cp, domain):
    groups = where(FirstName=condition("INCLUSIVE", "Ann"),
                   Attributes={"score": condition("GREATER_THAN", "10")})
    sort = {"Attributes": [{"Name": "LastName", "DataType": "STRING", "Order": "ASC", "Type": "PROFILE"}]}
    arn = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{domain}/segment-definitions/high-scores"
    created = create_segment(cp, domain, "high-scores", groups, Description="Anns scoring above 10",
                             SegmentSort=sort, Tags={"team": "crm"})
    assert created["SegmentDefinitionName"] == "high-scores"
    assert created["DisplayName"] == "High-Scores"
    assert created["Description"] == "Anns scoring above 10"
    assert created["SegmentDefinitionArn"] == arn
    assert created["Tags"] == {"team": "crm"}
    assert isinstance(created["CreatedAt"], datetime)

    got = cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="high-scores")
    assert got["SegmentGroups"] == groups
    assert got["SegmentSort"] == sort
    assert got["SegmentType"] == "CLASSIC"
    assert (got["SegmentDefinitionArn"], got["CreatedAt"], got["Tags"]) == (arn, created["CreatedAt"], {"team": "crm"})
    assert "SegmentSqlQuery" not in got

    [item] = cp.list_segment_definitions(DomainName=domain)["Items"]
    assert item == {"SegmentDefinitionName": "high-scores", "DisplayName": "High-Scores",
                    "Description": "Anns scoring above 10", "SegmentDefinitionArn": arn,
                    "CreatedAt": created["CreatedAt"], "Tags": {"team": "crm"}, "SegmentType": "CLASSIC"}

    # The segment is a taggable resource like the domain.
    cp.tag_resource(resourceArn=arn, tags={"stage": "test"})
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "crm", "stage": "test"}

    deleted = cp.delete_segment_definition(DomainName=domain, SegmentDefinitionName="high-scores")
    assert "high-scores" in deleted["Message"]
    with aws_error("ResourceNotFoundException", "high-scores"):
        cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="high-scores")
    with aws_error("ResourceNotFoundException"):
        cp.list_tags_for_resource(resourceArn=arn)
    assert cp.list_segment_definitions(DomainName=domain)["Items"] == []
    # The name is free again, without the old tags.
    assert create_segment(cp, domain, "high-scores", groups)["Tags"] == {}


def test_a_duplicate_name_is_refused(cp, domain):
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    with aws_error("BadRequestException", "already exists"):
        create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Bob")))
    got = cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="anns")
    assert got["SegmentGroups"] == where(FirstName=condition("INCLUSIVE", "Ann"))


def test_listing_pages_by_name(cp, domain):
    names = [f"segment-{i}" for i in (3, 0, 4, 1, 2)]
    for name in names:
        create_segment(cp, domain, name, where(FirstName=condition("INCLUSIVE", "Ann")))
    seen, token, pages = [], None, 0
    while True:
        page = cp.list_segment_definitions(DomainName=domain, MaxResults=2, **({"NextToken": token} if token else {}))
        seen += [item["SegmentDefinitionName"] for item in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(names) and pages == 3
    with aws_error("BadRequestException", "nextToken"):
        cp.list_segment_definitions(DomainName=domain, NextToken="not-a-token")


BAD_DEFINITIONS = [
    ({"Include": "ALL", "Groups": []}, "at least one group"),
    ({"Groups": [{"Type": "ALL"}]}, "Groups[0] needs Dimensions or SourceSegments"),
    ({"Groups": [{"Dimensions": [{"CalculatedAttributes": {"_total": condition("GREATER_THAN", "3")}}]}]},
     "CalculatedAttributes dimensions are not supported"),
    ({"Groups": [{"Dimensions": [{"ProfileAttributes": {}}]}]}, "at least one condition"),
    (where(BirthDate=condition("BETWEEN", "1990-01-01")), "BETWEEN needs exactly 2 dates"),
    (where(BirthDate=condition("BETWEEN", "2000-01-01", "1990-01-01")), "earlier date first"),
    (where(BirthDate=condition("BEFORE", "yesterday")), "needs dates"),
    (where(BirthDate=condition("ON", "1990-01-01", "1990-01-02")), "ON needs exactly 1 date"),
    (where(Attributes={"score": condition("GREATER_THAN", "ten")}), "exactly one numeric value"),
    (where(Attributes={"score": condition("EQUAL", "1", "2")}), "exactly one numeric value"),
    (where(Attributes={"since": condition("NOT_BETWEEN", "2024-01-01", "soon")}), "needs dates"),
    (where(Address={}), "needs at least one of City"),
    (where(Attributes={}), "needs at least one attribute"),
    (built_on("ALL", "nowhere"), "Source segment nowhere does not exist"),
    ({"Groups": [{"SourceSegments": [{}]}]}, "needs a SegmentDefinitionName"),
]


@pytest.mark.parametrize("groups, message", BAD_DEFINITIONS, ids=[m for _, m in BAD_DEFINITIONS])
def test_a_bad_definition_is_refused_and_nothing_is_created(cp, domain, groups, message):
    with aws_error("BadRequestException", message):
        create_segment(cp, domain, "bad", groups)
    with aws_error("ResourceNotFoundException"):
        cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="bad")
    with aws_error("BadRequestException", message):  # estimates speak the same language
        cp.create_segment_estimate(DomainName=domain, SegmentQuery=groups)


def test_sql_segments_and_missing_groups_are_refused(cp, domain):
    with aws_error("BadRequestException", "SegmentSqlQuery is not supported"):
        cp.create_segment_definition(DomainName=domain, SegmentDefinitionName="sql", DisplayName="SQL",
                                     SegmentSqlQuery="SELECT * FROM profiles")
    with aws_error("BadRequestException", "SegmentGroups is required"):
        cp.create_segment_definition(DomainName=domain, SegmentDefinitionName="empty", DisplayName="Empty")
    with aws_error("BadRequestException", "SegmentSqlQuery is not supported"):
        cp.create_segment_estimate(DomainName=domain, SegmentSqlQuery="SELECT 1")
    with aws_error("BadRequestException", "SegmentQuery is required"):
        cp.create_segment_estimate(DomainName=domain)
    assert cp.list_segment_definitions(DomainName=domain)["Items"] == []


def test_an_unknown_domain_is_not_found_everywhere(cp):
    domain = unique_name("missing")
    calls = [
        lambda: create_segment(cp, domain, "s", where(FirstName=condition("INCLUSIVE", "Ann"))),
        lambda: cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="s"),
        lambda: cp.list_segment_definitions(DomainName=domain),
        lambda: cp.delete_segment_definition(DomainName=domain, SegmentDefinitionName="s"),
        lambda: cp.get_segment_membership(DomainName=domain, SegmentDefinitionName="s", ProfileIds=[UNKNOWN_ID]),
        lambda: cp.create_segment_estimate(DomainName=domain, SegmentQuery=built_on("ALL", "s")),
        lambda: cp.get_segment_estimate(DomainName=domain, EstimateId="e"),
        lambda: cp.create_segment_snapshot(DomainName=domain, SegmentDefinitionName="s", DataFormat="CSV",
                                           DestinationUri="file:///tmp/x.csv"),
        lambda: cp.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="s", SnapshotId=UNKNOWN_ID),
    ]
    for call in calls:
        with aws_error("ResourceNotFoundException", domain):
            call()


def test_an_unknown_segment_is_not_found_everywhere(cp, domain, tmp_path):
    calls = [
        lambda: cp.get_segment_definition(DomainName=domain, SegmentDefinitionName="nope"),
        lambda: cp.delete_segment_definition(DomainName=domain, SegmentDefinitionName="nope"),
        lambda: cp.get_segment_membership(DomainName=domain, SegmentDefinitionName="nope", ProfileIds=[UNKNOWN_ID]),
        lambda: cp.create_segment_snapshot(DomainName=domain, SegmentDefinitionName="nope", DataFormat="CSV",
                                           DestinationUri=(tmp_path / "x.csv").as_uri()),
        lambda: cp.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="nope", SnapshotId=UNKNOWN_ID),
    ]
    for call in calls:
        with aws_error("ResourceNotFoundException", "nope"):
            call()
    assert not (tmp_path / "x.csv").exists()


# --- membership -------------------------------------------------------------------------------------
def test_membership_says_present_absent_or_not_found(cp, domain, people):
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    answer = cp.get_segment_membership(DomainName=domain, SegmentDefinitionName="anns",
                                       ProfileIds=[people["ann"], people["bob"], UNKNOWN_ID, people["ann"]])
    assert answer["SegmentDefinitionName"] == "anns"
    assert isinstance(answer["LastComputedAt"], datetime)
    [ann, bob] = answer["Profiles"]
    assert ann["ProfileId"] == people["ann"] and ann["QueryResult"] == "PRESENT"
    assert ann["Profile"]["FirstName"] == "Ann" and ann["Profile"]["Address"] == {"City": "Paris", "Country": "FR"}
    assert bob == {"ProfileId": people["bob"], "QueryResult": "ABSENT"}
    [failure] = answer["Failures"]
    assert failure["ProfileId"] == UNKNOWN_ID and failure["Status"] == 404 and UNKNOWN_ID in failure["Message"]


def test_profiles_of_another_domain_are_never_members(cp, domain, people):
    other = unique_name("seg")
    cp.create_domain(DomainName=other, DefaultExpirationDays=365)
    outsider = cp.create_profile(DomainName=other, FirstName="Ann")["ProfileId"]
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    answer = cp.get_segment_membership(DomainName=domain, SegmentDefinitionName="anns", ProfileIds=[outsider])
    assert answer["Profiles"] == [] and answer["Failures"][0]["ProfileId"] == outsider
    assert estimate(cp, domain, where(FirstName=condition("INCLUSIVE", "Ann"))) == 1


SEMANTICS = [
    # String operators are exact and case-sensitive; EXCLUSIVE also takes profiles without the field.
    (where(FirstName=condition("INCLUSIVE", "Ann")), {"ann"}),
    (where(FirstName=condition("EXCLUSIVE", "Ann")), {"bob", "cyd", "dee"}),
    (where(FirstName=condition("BEGINS_WITH", "A", "B")), {"ann", "bob"}),
    (where(LastName=condition("CONTAINS", "m")), {"ann", "dee"}),
    (where(LastName=condition("ENDS_WITH", "yth")), {"dee"}),
    (where(BusinessName=condition("CONTAINS", "& C")), {"cyd"}),
    # Wildcards of LIKE and GLOB are plain characters.
    (where(Attributes={"tier": condition("CONTAINS", "%_")}), {"bob"}),
    (where(Attributes={"tier": condition("CONTAINS", "_")}), {"bob"}),
    (where(Address={"City": condition("INCLUSIVE", "Paris", "Lyon"), "Country": condition("INCLUSIVE", "FR")}),
     {"ann", "bob"}),
    (where(Address={"City": condition("CONTAINS", " ")}), {"cyd"}),
    (where(BirthDate=condition("BEFORE", "1990-01-01")), {"bob"}),
    (where(BirthDate=condition("BETWEEN", "1985-12-31", "1990-05-01")), {"ann", "bob"}),
    (where(BirthDate=condition("NOT_BETWEEN", "1986-01-01", "2000-01-01")), {"bob"}),
    (where(Attributes={"score": condition("GREATER_THAN_OR_EQUAL", "7")}), {"ann", "bob"}),
    (where(Attributes={"score": condition("EQUAL", "42.0")}), {"ann"}),
    (where(Attributes={"since": condition("ON", "2024-01-05")}), {"ann"}),
    (where(Attributes={"since": condition("AFTER", "2024-01-05")}), set()),
    (where(ProfileType=condition("INCLUSIVE", "PROFILE")), {"ann", "bob", "dee"}),
    (where(ProfileType=condition("EXCLUSIVE", "PROFILE")), {"cyd"}),
    # Two dimensions, ANY of them; the whole group negated with Include NONE.
    ({"Groups": [{"Type": "ANY", "Dimensions": [
        {"ProfileAttributes": {"FirstName": condition("INCLUSIVE", "Bob")}},
        {"ProfileAttributes": {"LastName": condition("INCLUSIVE", "Smyth")}}]}]}, {"bob", "dee"}),
    ({"Include": "NONE", "Groups": [{"Dimensions": [{"ProfileAttributes": {
        "Address": {"Country": condition("INCLUSIVE", "FR")}}}]}]}, {"cyd", "dee"}),
]


@pytest.mark.parametrize("groups, expected", SEMANTICS, ids=[str(i) for i in range(len(SEMANTICS))])
def test_definitions_select_the_expected_profiles(cp, domain, people, groups, expected):
    create_segment(cp, domain, "probe", groups)
    assert members(cp, domain, "probe", people) == expected
    assert estimate(cp, domain, groups) == len(expected)


def test_segments_built_on_segments(cp, domain, people):
    create_segment(cp, domain, "french", where(Address={"Country": condition("INCLUSIVE", "FR")}))
    create_segment(cp, domain, "scored", where(Attributes={"score": condition("GREATER_THAN", "0")}))
    create_segment(cp, domain, "french-scored", built_on("ALL", "french", "scored"))
    create_segment(cp, domain, "french-smiths", built_on("ANY", "french",
                                                         LastName=condition("BEGINS_WITH", "Sm")))
    create_segment(cp, domain, "not-french", built_on("NONE", "french"))
    create_segment(cp, domain, "deep", built_on("ALL", "french-scored", FirstName=condition("INCLUSIVE", "Bob")))
    assert members(cp, domain, "french-scored", people) == {"ann", "bob"}
    assert members(cp, domain, "french-smiths", people) == {"ann"}
    assert members(cp, domain, "not-french", people) == {"cyd", "dee"}
    assert members(cp, domain, "deep", people) == {"bob"}
    assert estimate(cp, domain, built_on("ANY", "not-french", "scored")) == 4

    # A segment other segments are built on stays until they are gone.
    with aws_error("BadRequestException", "french-scored, french-smiths, not-french"):
        cp.delete_segment_definition(DomainName=domain, SegmentDefinitionName="french")
    for name in ("deep", "french-scored", "french-smiths", "not-french", "french"):
        cp.delete_segment_definition(DomainName=domain, SegmentDefinitionName=name)


def test_membership_follows_profile_updates(cp, domain, people):
    create_segment(cp, domain, "gold", where(Attributes={"tier": condition("INCLUSIVE", "gold")}))
    assert members(cp, domain, "gold", people) == {"ann"}
    cp.update_profile(DomainName=domain, ProfileId=people["bob"], Attributes={"tier": "gold"})
    cp.update_profile(DomainName=domain, ProfileId=people["ann"], Attributes={"tier": ""})
    assert members(cp, domain, "gold", people) == {"bob"}


# --- estimates --------------------------------------------------------------------------------------
def test_estimates_count_the_members_now(cp, domain, people):
    query = where(Address={"Country": condition("INCLUSIVE", "FR")})
    created = cp.create_segment_estimate(DomainName=domain, SegmentQuery=query)
    assert created["StatusCode"] == 201 and created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["DomainName"] == domain
    got = cp.get_segment_estimate(DomainName=domain, EstimateId=created["EstimateId"])
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (got["Status"], got["Estimate"], got["StatusCode"], got["EstimateId"], got["DomainName"]) == (
        "SUCCEEDED", "2", 200, created["EstimateId"], domain)
    # An estimate is a count at the time it was made.
    cp.create_profile(DomainName=domain, Address={"Country": "FR"})
    assert cp.get_segment_estimate(DomainName=domain, EstimateId=created["EstimateId"])["Estimate"] == "2"
    assert estimate(cp, domain, query) == 3


def test_an_unknown_estimate_is_not_found(cp, domain):
    with aws_error("ResourceNotFoundException", "no-such-estimate"):
        cp.get_segment_estimate(DomainName=domain, EstimateId="no-such-estimate")
    other = unique_name("seg")
    cp.create_domain(DomainName=other, DefaultExpirationDays=365)
    made = cp.create_segment_estimate(DomainName=other, SegmentQuery=where(FirstName=condition("INCLUSIVE", "A")))
    with aws_error("ResourceNotFoundException"):  # estimates belong to their domain
        cp.get_segment_estimate(DomainName=domain, EstimateId=made["EstimateId"])


# --- snapshots --------------------------------------------------------------------------------------
def snapshot(cp, domain: str, segment: str, data_format: str, uri: str) -> dict:
    snapshot_id = cp.create_segment_snapshot(DomainName=domain, SegmentDefinitionName=segment,
                                             DataFormat=data_format, DestinationUri=uri)["SnapshotId"]
    got = cp.get_segment_snapshot(DomainName=domain, SegmentDefinitionName=segment, SnapshotId=snapshot_id)
    assert got["SnapshotId"] == snapshot_id and got["DataFormat"] == data_format and got["DestinationUri"] == uri
    return got


def test_a_csv_snapshot_writes_every_member(cp, domain, people, tmp_path):
    create_segment(cp, domain, "french", where(Address={"Country": condition("INCLUSIVE", "FR")}))
    target = tmp_path / "out" / "french.csv"
    got = snapshot(cp, domain, "french", "CSV", target.as_uri())
    assert got["Status"] == "COMPLETED" and "2 profiles" in got["StatusMessage"]
    with target.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    # The header holds the fields present in the members, nested ones flattened.
    assert reader.fieldnames == ["ProfileId", "FirstName", "LastName", "BirthDate", "EmailAddress", "Address.City",
                                 "Address.Country", "Attributes.score", "Attributes.since", "Attributes.tier"]
    assert [row["ProfileId"] for row in rows] == sorted([people["ann"], people["bob"]])
    by_id = {row["ProfileId"]: row for row in rows}
    assert by_id[people["ann"]]["Attributes.since"] == "2024-01-05T10:00:00Z"
    assert by_id[people["bob"]]["EmailAddress"] == "" and by_id[people["bob"]]["Attributes.tier"] == "100%_silver"


def test_a_jsonl_snapshot_into_a_directory(cp, domain, people, tmp_path):
    create_segment(cp, domain, "everyone", where(FirstName=condition("EXCLUSIVE", "nobody")))
    got = snapshot(cp, domain, "everyone", "JSONL", tmp_path.as_uri() + "/")
    assert got["Status"] == "COMPLETED"
    written = tmp_path / f"{got['SnapshotId']}.jsonl"
    assert str(written) in got["StatusMessage"]
    profiles = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
    assert [p["ProfileId"] for p in profiles] == sorted(people.values())
    by_id = {p["ProfileId"]: p for p in profiles}
    assert by_id[people["cyd"]] == {"ProfileId": people["cyd"], **PEOPLE["cyd"]}
    assert [p.name for p in tmp_path.iterdir()] == [written.name]  # nothing half-written left behind


def test_an_empty_segment_snapshots_to_an_empty_file(cp, domain, people, tmp_path):
    create_segment(cp, domain, "none", where(FirstName=condition("INCLUSIVE", "Nobody")))
    target = tmp_path / "none.csv"
    got = snapshot(cp, domain, "none", "CSV", target.as_uri())
    assert got["Status"] == "COMPLETED" and target.read_text() == "ProfileId\n"


@pytest.mark.parametrize("data_format, uri, message", [
    ("ORC", "file:///tmp/reachout-never.orc", "DataFormat ORC is not supported"),
    ("CSV", "s3://bucket/prefix/", "local file:// URIs"),
    ("CSV", "file://remote-host/share/x.csv", "local file:// URIs"),
    ("JSONL", "file:relative/x.jsonl", "local file:// URIs"),
    ("CSV", None, "DestinationUri is required"),
])
def test_unsupported_snapshots_are_refused(cp, domain, data_format, uri, message):
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    with aws_error("BadRequestException", message):
        cp.create_segment_snapshot(DomainName=domain, SegmentDefinitionName="anns", DataFormat=data_format,
                                   **({"DestinationUri": uri} if uri else {}))


def test_a_snapshot_that_cannot_be_written_fails(cp, domain, people, tmp_path):
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    got = snapshot(cp, domain, "anns", "CSV", (blocker / "out.csv").as_uri())
    assert got["Status"] == "FAILED" and "Could not write" in got["StatusMessage"]


def test_an_unknown_snapshot_is_not_found(cp, domain, people, tmp_path):
    create_segment(cp, domain, "anns", where(FirstName=condition("INCLUSIVE", "Ann")))
    create_segment(cp, domain, "bobs", where(FirstName=condition("INCLUSIVE", "Bob")))
    made = snapshot(cp, domain, "anns", "JSONL", (tmp_path / "anns.jsonl").as_uri())
    with aws_error("ResourceNotFoundException", UNKNOWN_ID):
        cp.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="anns", SnapshotId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException"):  # a snapshot belongs to its segment
        cp.get_segment_snapshot(DomainName=domain, SegmentDefinitionName="bobs", SnapshotId=made["SnapshotId"])
