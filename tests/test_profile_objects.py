"""Customer Profiles object types, ingestion of profile objects (PutProfileObject), ListProfileObjects,
DeleteProfileObject, SearchProfiles and profile keys, through real boto3 against a real `reachout serve`.

Ingestion scenarios follow the object type mapping rules: PROFILE keys find (or, with
AllowProfileCreation, create) the profile; UNIQUE keys identify objects; SECONDARY keys are tried after
PROFILE keys; LOOKUP_ONLY keys find profiles without being stored; NEW_ONLY keys are stored only on a
profile the object created. Every test works in a domain of its own.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from tests.expect import aws_error

from reachout.domain.errors import DomainError
from reachout.store.db import Database
from reachout.store.profile_domains import get_domain
from reachout.store.profile_objects import ingest

UNKNOWN_PROFILE = "0" * 32




@pytest.fixture
def cp(client):
    return client("customer-profiles")


@pytest.fixture
def domain(cp) -> str:
    name = f"objs-{uuid.uuid4().hex[:12]}"
    cp.create_domain(DomainName=name, DefaultExpirationDays=365)
    return name


def field(source: str, target: str | None = None, content_type: str | None = None) -> dict:
    spec = {"Source": f"_source.{source}"}
    if target:
        spec["Target"] = target
    if content_type:
        spec["ContentType"] = content_type
    return spec


def key(*field_names: str, ids: tuple[str, ...] = ("PROFILE",)) -> list[dict]:
    return [{"StandardIdentifiers": list(ids), "FieldNames": list(field_names)}]


# A CRM customer export: crmId finds the profile, rowId identifies the object.
CRM_FIELDS = {
    "crmId": field("customer.id"),
    "rowId": field("row"),
    "first": field("first", "_profile.FirstName", "NAME"),
    "last": field("last", "_profile.LastName", "NAME"),
    "phone": field("phone", "_profile.PhoneNumber", "PHONE_NUMBER"),
    "email": field("email", "_profile.EmailAddress", "EMAIL_ADDRESS"),
    "zip": field("address.zip", "_profile.Address.PostalCode"),
    "city": field("address.city", "_profile.Address.City"),
    "tier": field("tier", "_profile.Attributes.tier"),
    "spend": field("spend", "_profile.Attributes.spend", "NUMBER"),
    "note": field("note", "crm.note"),
}
CRM_KEYS = {"crmId": key("crmId"), "rowId": key("rowId", ids=("UNIQUE",))}


def put_crm_type(cp, domain: str, *, allow: bool = True, name: str = "crm", **extra_keys) -> dict:
    return cp.put_profile_object_type(DomainName=domain, ObjectTypeName=name, Description="CRM customers",
                                      AllowProfileCreation=allow, Fields=CRM_FIELDS, Keys={**CRM_KEYS, **extra_keys})


def put(cp, domain: str, obj: dict, object_type: str = "crm") -> str:
    return cp.put_profile_object(DomainName=domain, ObjectTypeName=object_type,
                                 Object=json.dumps(obj))["ProfileObjectUniqueKey"]


def search(cp, domain: str, key_name: str, *values: str, **kwargs) -> list[str]:
    return [p["ProfileId"] for p in cp.search_profiles(DomainName=domain, KeyName=key_name, Values=list(values),
                                                       **kwargs)["Items"]]


def only_profile(cp, domain: str, key_name: str, value: str) -> dict:
    items = cp.search_profiles(DomainName=domain, KeyName=key_name, Values=[value])["Items"]
    assert len(items) == 1, items
    return items[0]


def stats(cp, domain: str) -> tuple[int, int]:
    found = cp.get_domain(DomainName=domain)["Stats"]
    return found["ProfileCount"], found["ObjectCount"]


def objects_of(cp, domain: str, profile_id: str, object_type: str = "crm", **kwargs) -> list[dict]:
    return cp.list_profile_objects(DomainName=domain, ObjectTypeName=object_type, ProfileId=profile_id,
                                   **kwargs)["Items"]


# --- object types --------------------------------------------------------------------------------
def test_object_type_round_trips(cp, domain):
    put = cp.put_profile_object_type(
        DomainName=domain, ObjectTypeName="crm", Description="CRM customers", AllowProfileCreation=True,
        SourceLastUpdatedTimestampFormat="epoch", MaxProfileObjectCount=50, SourcePriority=2,
        Fields=CRM_FIELDS, Keys=CRM_KEYS, Tags={"source": "salesforce"})
    got = cp.get_profile_object_type(DomainName=domain, ObjectTypeName="crm")
    for response in (put, got):
        assert response["ObjectTypeName"] == "crm"
        assert response["Description"] == "CRM customers"
        assert response["AllowProfileCreation"] is True
        assert response["ExpirationDays"] == 365  # the domain's default
        assert response["SourceLastUpdatedTimestampFormat"] == "epoch"
        assert response["MaxProfileObjectCount"] == 50 and response["SourcePriority"] == 2
        assert response["Fields"] == CRM_FIELDS and response["Keys"] == CRM_KEYS
        assert response["Tags"] == {"source": "salesforce"}
        assert response["CreatedAt"] == response["LastUpdatedAt"]


def test_object_type_defaults_to_no_profile_creation(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="plain", Description="d", ExpirationDays=5)
    got = cp.get_profile_object_type(DomainName=domain, ObjectTypeName="plain")
    assert got["AllowProfileCreation"] is False and got["ExpirationDays"] == 5
    assert "Fields" not in got and "Keys" not in got


def test_putting_an_object_type_again_replaces_its_definition(cp, domain):
    first = put_crm_type(cp, domain)
    second = cp.put_profile_object_type(DomainName=domain, ObjectTypeName="crm", Description="v2",
                                        Fields={"id": field("id")}, Keys={"crmId": key("id")})
    assert second["CreatedAt"] == first["CreatedAt"]
    assert second["LastUpdatedAt"] >= first["LastUpdatedAt"]
    got = cp.get_profile_object_type(DomainName=domain, ObjectTypeName="crm")
    assert got["Description"] == "v2" and got["Keys"] == {"crmId": key("id")} and "tier" not in got["Fields"]


def test_object_types_are_listed_in_pages(cp, domain):
    names = ["alpha", "bravo", "charlie", "delta", "echo"]
    for name in reversed(names):
        cp.put_profile_object_type(DomainName=domain, ObjectTypeName=name, Description=f"type {name}",
                                   MaxProfileObjectCount=9, Tags={"n": name})
    seen, token = [], None
    while True:
        response = cp.list_profile_object_types(DomainName=domain, MaxResults=2,
                                                **({"NextToken": token} if token else {}))
        assert len(response["Items"]) <= 2
        seen += response["Items"]
        token = response.get("NextToken")
        if not token:
            break
    assert [item["ObjectTypeName"] for item in seen] == names
    assert seen[0]["Description"] == "type alpha" and seen[0]["Tags"] == {"n": "alpha"}
    assert seen[0]["MaxProfileObjectCount"] == 9 and seen[0]["MaxAvailableProfileObjectCount"] == 9
    assert len(cp.list_profile_object_types(DomainName=domain)["Items"]) == 5


def test_deleted_object_type_takes_its_objects_and_tags(cp, domain):
    put_crm_type(cp, domain)
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1"})
    profile_id = only_profile(cp, domain, "crmId", "C1")["ProfileId"]
    assert "deleted" in cp.delete_profile_object_type(DomainName=domain, ObjectTypeName="crm")["Message"]
    with aws_error("ResourceNotFoundException", "crm"):
        cp.get_profile_object_type(DomainName=domain, ObjectTypeName="crm")
    with aws_error("ResourceNotFoundException"):
        cp.delete_profile_object_type(DomainName=domain, ObjectTypeName="crm")
    with aws_error("ResourceNotFoundException"):
        objects_of(cp, domain, profile_id)
    assert stats(cp, domain) == (1, 0)  # the profile stays; only the objects go
    put_crm_type(cp, domain)
    assert objects_of(cp, domain, profile_id) == []
    assert cp.get_profile_object_type(DomainName=domain, ObjectTypeName="crm")["Tags"] == {}


@pytest.mark.parametrize("operation", ["put", "get", "list", "delete"])
def test_object_type_of_unknown_domain_is_not_found(cp, operation):
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    with aws_error("ResourceNotFoundException", missing):
        if operation == "put":
            cp.put_profile_object_type(DomainName=missing, ObjectTypeName="crm", Description="d")
        elif operation == "list":
            cp.list_profile_object_types(DomainName=missing)
        else:
            getattr(cp, f"{operation}_profile_object_type")(DomainName=missing, ObjectTypeName="crm")


@pytest.mark.parametrize("definition, mentions", [
    ({"Fields": {"id": field("id")}, "Keys": {"k": key("nope")}}, "nope"),
    ({"Fields": {"id": field("id")}, "Keys": {"k": key()}}, "no FieldNames"),
    ({"Fields": {"id": field("id", "_profile.Nickname")}}, "_profile.Nickname"),
    ({"Fields": {"id": field("id", "_profile.Address.Zip")}}, "_profile.Address.Zip"),
    ({"Fields": {"id": field("id", "_profile.Attributes")}}, "_profile.Attributes"),
    ({"Fields": {"id": field("id", "_profile.EngagementPreferences")}}, "EngagementPreferences"),
    ({"Fields": {"id": field("id", "orders.id")}}, "orders.id"),
    ({"Fields": {"id": {"Source": "customer.id"}}}, "_source"),
    ({"Fields": {"id": {"Source": "{{customer.id}}"}}}, "_source"),
    ({"TemplateId": "CTR-NoInferred"}, "TemplateId"),
    ({"Fields": {"a": field("a"), "b": field("b")},
      "Keys": {"ka": key("a", ids=("UNIQUE",)), "kb": key("b", ids=("UNIQUE",))}}, "only one UNIQUE key"),
    ({"Fields": {"a": field("a")}, "Keys": {"ka": key("a", ids=("UNIQUE", "LOOKUP_ONLY"))}}, "LOOKUP_ONLY"),
])
def test_object_type_with_a_mapping_that_cannot_work_is_refused(cp, domain, definition, mentions):
    with aws_error("BadRequestException", mentions):
        cp.put_profile_object_type(DomainName=domain, ObjectTypeName="bad", Description="d", **definition)
    with aws_error("ResourceNotFoundException"):
        cp.get_profile_object_type(DomainName=domain, ObjectTypeName="bad")


def test_object_type_targets_of_every_accepted_form(cp, domain):
    fields = {"a": field("a", "_profile.BusinessEmailAddress"), "b": field("b", "_profile.BillingAddress.Country"),
              "c": field("c", "_profile.Attributes.loyalty.level"), "d": field("d", "orders.total"),
              "e": field("e")}
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="orders", Description="d", Fields=fields)
    assert cp.get_profile_object_type(DomainName=domain, ObjectTypeName="orders")["Fields"] == fields


# --- ingestion -----------------------------------------------------------------------------------
def test_first_object_creates_a_profile_from_its_mapped_fields(cp, domain):
    put_crm_type(cp, domain)
    unique_key = put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann", "last": "Lee",
                                  "phone": "+15555550100", "email": "ann@example.com",
                                  "address": {"zip": "98101", "city": "Seattle"}, "tier": "gold", "spend": 120.5,
                                  "note": "called twice"})
    assert unique_key == "r1"
    profile = only_profile(cp, domain, "crmId", "C1")
    assert {k: v for k, v in profile.items() if k not in ("ProfileId", "FoundByItems")} == {
        "FirstName": "Ann", "LastName": "Lee", "PhoneNumber": "+15555550100", "EmailAddress": "ann@example.com",
        "Address": {"PostalCode": "98101", "City": "Seattle"}, "Attributes": {"tier": "gold", "spend": "120.5"}}
    assert profile["FoundByItems"] == [{"KeyName": "crmId", "Values": ["C1"]}]
    assert stats(cp, domain) == (1, 1)


def test_second_object_with_the_same_profile_key_updates_the_same_profile(cp, domain):
    put_crm_type(cp, domain)
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann", "tier": "gold",
                     "address": {"zip": "98101", "city": "Seattle"}})
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r2", "last": "Lee", "tier": "platinum",
                     "address": {"city": "Tacoma"}})
    profile = only_profile(cp, domain, "crmId", "C1")
    # Fields the second object lacks stay as the first left them; addresses change part by part.
    assert profile["FirstName"] == "Ann" and profile["LastName"] == "Lee"
    assert profile["Address"] == {"PostalCode": "98101", "City": "Tacoma"}
    assert profile["Attributes"] == {"tier": "platinum"}
    assert stats(cp, domain) == (1, 2)
    assert sorted(o["ProfileObjectUniqueKey"] for o in objects_of(cp, domain, profile["ProfileId"])) == ["r1", "r2"]


def test_empty_values_in_an_object_do_not_clear_the_profile(cp, domain):
    put_crm_type(cp, domain)
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann", "last": "Lee"})
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r2", "first": "", "last": None})
    profile = only_profile(cp, domain, "crmId", "C1")
    assert profile["FirstName"] == "Ann" and profile["LastName"] == "Lee"


def test_object_with_the_same_unique_key_replaces_the_earlier_one(cp, domain):
    put_crm_type(cp, domain)
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "note": "first version"})
    replacement = {"customer": {"id": "C1"}, "row": "r1", "note": "second version"}
    assert put(cp, domain, replacement) == "r1"
    profile_id = only_profile(cp, domain, "crmId", "C1")["ProfileId"]
    assert objects_of(cp, domain, profile_id) == [
        {"ObjectTypeName": "crm", "ProfileObjectUniqueKey": "r1", "Object": json.dumps(replacement)}]
    assert stats(cp, domain) == (1, 1)


def test_object_type_without_unique_key_gives_each_object_a_fresh_key(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="events", Description="web events",
                               AllowProfileCreation=True, Fields={"user": field("user")}, Keys={"webUser": key("user")})
    first = put(cp, domain, {"user": "u1", "page": "/"}, "events")
    second = put(cp, domain, {"user": "u1", "page": "/"}, "events")
    assert first != second and re.fullmatch("[0-9a-f]{32}", first)
    assert stats(cp, domain) == (1, 2)


def test_key_over_several_fields_joins_their_values(cp, domain):
    cp.put_profile_object_type(
        DomainName=domain, ObjectTypeName="accounts", Description="d", AllowProfileCreation=True,
        Fields={"region": field("region"), "number": field("number")},
        Keys={"regionalAccount": key("region", "number"), "row": key("region", "number", ids=("UNIQUE",))})
    assert put(cp, domain, {"region": "EU", "number": 1234}, "accounts") == "EU_1234"
    only_profile(cp, domain, "regionalAccount", "EU_1234")
    # A key lacking one of its fields has no value, and an object must have its UNIQUE key.
    with aws_error("BadRequestException", "UNIQUE key row"):
        put(cp, domain, {"region": "EU"}, "accounts")


def test_secondary_key_finds_the_profile_when_profile_keys_do_not(cp, domain):
    put_crm_type(cp, domain, emailKey=key("email", ids=("SECONDARY",)))
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "email": "ann@example.com"})
    # A new CRM id, but a known email: the object joins the same profile, which now answers to both ids.
    put(cp, domain, {"customer": {"id": "C2"}, "row": "r2", "email": "ann@example.com", "first": "Ann"})
    assert stats(cp, domain) == (1, 2)
    assert search(cp, domain, "crmId", "C2") == search(cp, domain, "crmId", "C1")
    assert only_profile(cp, domain, "crmId", "C2")["FirstName"] == "Ann"


def test_profile_keys_are_tried_before_secondary_keys(cp, domain):
    put_crm_type(cp, domain, emailKey=key("email", ids=("SECONDARY",)))
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "email": "ann@example.com"})
    put(cp, domain, {"customer": {"id": "C2"}, "row": "r2", "email": "bob@example.com"})
    # C2's profile wins over the profile that the secondary email would find.
    put(cp, domain, {"customer": {"id": "C2"}, "row": "r3", "email": "ann@example.com"})
    c2 = only_profile(cp, domain, "crmId", "C2")["ProfileId"]
    assert sorted(o["ProfileObjectUniqueKey"] for o in objects_of(cp, domain, c2)) == ["r2", "r3"]


def test_lookup_only_key_finds_a_profile_but_is_not_stored(cp, domain):
    put_crm_type(cp, domain, card=key("tier", ids=("LOOKUP_ONLY",)))
    profile_id = cp.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="card", Values=["CARD-1"])
    put(cp, domain, {"row": "r1", "tier": "CARD-1", "last": "Lee"})
    assert cp.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])["Profiles"][0]["LastName"] == "Lee"
    # An unknown card makes a new profile, and the card value is not kept on it.
    put(cp, domain, {"row": "r2", "tier": "CARD-2", "customer": {"id": "C2"}})
    assert stats(cp, domain) == (2, 2)
    assert search(cp, domain, "card", "CARD-2") == []
    assert len(search(cp, domain, "crmId", "C2")) == 1


def test_new_only_key_is_stored_only_on_a_profile_the_object_created(cp, domain):
    put_crm_type(cp, domain, device=key("note", ids=("NEW_ONLY",)))
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "note": "D1"})
    created = only_profile(cp, domain, "crmId", "C1")["ProfileId"]
    assert search(cp, domain, "device", "D1") == [created]
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r2", "note": "D2"})
    assert search(cp, domain, "device", "D2") == []
    # Still used to match: an object with only the device finds the profile through it.
    put(cp, domain, {"row": "r3", "note": "D1", "first": "Ann"})
    assert stats(cp, domain) == (1, 3)
    assert only_profile(cp, domain, "crmId", "C1")["FirstName"] == "Ann"


def test_object_that_finds_no_profile_is_refused_without_profile_creation(cp, domain):
    put_crm_type(cp, domain, allow=False)
    with aws_error("BadRequestException", "AllowProfileCreation"):
        put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann"})
    assert stats(cp, domain) == (0, 0)
    assert search(cp, domain, "crmId", "C1") == []
    # Once a profile answers to the key, objects join it.
    profile_id = cp.create_profile(DomainName=domain, LastName="Lee")["ProfileId"]
    cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="crmId", Values=["C1"])
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann"})
    assert only_profile(cp, domain, "crmId", "C1")["FirstName"] == "Ann"
    assert stats(cp, domain) == (1, 1)


def test_profile_id_key_assigns_an_object_to_a_known_profile(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="notes", Description="d",
                               Fields={"pid": field("profile"),
                                       "text": field("text", "_profile.AdditionalInformation")},
                               Keys={"_profileId": key("pid")})
    profile_id = cp.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    put(cp, domain, {"profile": profile_id, "text": "VIP"}, "notes")
    assert cp.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])["Profiles"][0][
        "AdditionalInformation"] == "VIP"
    with aws_error("BadRequestException", "AllowProfileCreation"):
        put(cp, domain, {"profile": UNKNOWN_PROFILE, "text": "x"}, "notes")


def test_key_matching_several_profiles_cannot_assign_an_object(cp, domain):
    put_crm_type(cp, domain)
    for _ in range(2):
        profile_id = cp.create_profile(DomainName=domain)["ProfileId"]
        cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="crmId", Values=["SHARED"])
    with aws_error("BadRequestException", "more than one profile"):
        put(cp, domain, {"customer": {"id": "SHARED"}, "row": "r1"})
    assert stats(cp, domain) == (2, 0)


def test_number_field_with_a_non_number_refuses_the_whole_object(cp, domain):
    put_crm_type(cp, domain)
    with aws_error("BadRequestException", "Field spend"):
        put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "first": "Ann", "spend": "lots"})
    assert stats(cp, domain) == (0, 0)
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "spend": " 12.50 "})
    put(cp, domain, {"customer": {"id": "C1"}, "row": "r2", "spend": 7})
    assert only_profile(cp, domain, "crmId", "C1")["Attributes"] == {"spend": "7"}


@pytest.mark.parametrize("text, mentions", [
    ("{not json", "not valid JSON"),
    ('["an", "array"]', "JSON object"),
    ('{"customer": {"id": "C1"}}', "UNIQUE key rowId"),
    ('{"customer": {"id": "C1"}, "row": "r1", "first": {"nested": true}}', "Field first"),
    ('{"customer": {"id": "C1"}, "row": "r1", "first": "' + "x" * 256 + '"}', "longer than 255"),
    ('{"customer": {"id": "' + "x" * 256 + '"}, "row": "r1"}', "key crmId"),
])
def test_object_that_cannot_be_ingested_is_refused(cp, domain, text, mentions):
    put_crm_type(cp, domain)
    with aws_error("BadRequestException", mentions):
        cp.put_profile_object(DomainName=domain, ObjectTypeName="crm", Object=text)
    assert stats(cp, domain) == (0, 0)


def test_object_over_the_size_limit_is_refused(cp, domain):
    put_crm_type(cp, domain)
    with aws_error("BadRequestException"):
        put(cp, domain, {"customer": {"id": "C1"}, "row": "r1", "blob": "x" * 256_000})


def test_enumerated_profile_field_takes_only_its_values(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="people", Description="d", AllowProfileCreation=True,
                               Fields={"id": field("id"), "gender": field("gender", "_profile.Gender")},
                               Keys={"personId": key("id")})
    with aws_error("BadRequestException", "MALE, FEMALE, UNSPECIFIED"):
        put(cp, domain, {"id": "p1", "gender": "M"}, "people")
    put(cp, domain, {"id": "p1", "gender": "FEMALE"}, "people")
    assert only_profile(cp, domain, "personId", "p1")["Gender"] == "FEMALE"


def test_template_source_combines_fields(cp, domain):
    cp.put_profile_object_type(
        DomainName=domain, ObjectTypeName="people", Description="d", AllowProfileCreation=True,
        Fields={"id": field("id"),
                "label": {"Source": "{{_source.last}}, {{ _source.first }}", "Target": "_profile.Attributes.label"}},
        Keys={"personId": key("id")})
    put(cp, domain, {"id": "p1", "first": "Ann", "last": "Lee"}, "people")
    put(cp, domain, {"id": "p2", "first": "Bob"}, "people")  # a missing part skips the field
    assert only_profile(cp, domain, "personId", "p1")["Attributes"] == {"label": "Lee, Ann"}
    assert "Attributes" not in only_profile(cp, domain, "personId", "p2")


def test_put_profile_object_needs_a_known_domain_and_object_type(cp, domain):
    with aws_error("ResourceNotFoundException", "absent"):
        cp.put_profile_object(DomainName=domain, ObjectTypeName="absent", Object="{}")
    with aws_error("ResourceNotFoundException"):
        cp.put_profile_object(DomainName=f"missing-{uuid.uuid4().hex[:8]}", ObjectTypeName="crm", Object="{}")


def test_importer_and_api_share_one_ingestion_path(cp, domain, backend):
    """`ingest` is what the bulk importer calls per row: same rules, same refusals as PutProfileObject."""
    put_crm_type(cp, domain, allow=False)
    profile_id = cp.create_profile(DomainName=domain)["ProfileId"]
    cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="crmId", Values=["C1"])
    database = Database(backend)
    try:
        now = datetime(2031, 3, 1, tzinfo=timezone.utc)
        with database.transaction() as conn:
            found = get_domain(conn, "us-east-1", domain)
            result = ingest(conn, found, "crm", json.dumps({"customer": {"id": "C1"}, "row": "r1", "first": "Ann"}),
                            now)
            with pytest.raises(DomainError, match="AllowProfileCreation"):
                ingest(conn, found, "crm", json.dumps({"customer": {"id": "C9"}, "row": "r9"}), now)
    finally:
        database.dispose()
    assert (result.profile_id, result.unique_key, result.created_profile) == (profile_id, "r1", False)
    assert only_profile(cp, domain, "crmId", "C1")["FirstName"] == "Ann"


# --- listing and deleting objects ----------------------------------------------------------------
@pytest.fixture
def customer(cp, domain) -> str:
    """A profile with five CRM objects r1..r5, in two tiers."""
    put_crm_type(cp, domain, tierKey=key("tier", ids=()))
    for n in range(1, 6):
        put(cp, domain, {"customer": {"id": "C1"}, "row": f"r{n}", "tier": "gold" if n % 2 else "silver"})
    return only_profile(cp, domain, "crmId", "C1")["ProfileId"]


def test_profile_objects_are_listed_in_pages(cp, domain, customer):
    seen, token = [], None
    while True:
        response = cp.list_profile_objects(DomainName=domain, ObjectTypeName="crm", ProfileId=customer, MaxResults=2,
                                           **({"NextToken": token} if token else {}))
        seen += [item["ProfileObjectUniqueKey"] for item in response["Items"]]
        token = response.get("NextToken")
        if not token:
            break
    assert seen == ["r1", "r2", "r3", "r4", "r5"]


def test_profile_objects_are_filtered_by_a_key_of_the_object_type(cp, domain, customer):
    by_tier = objects_of(cp, domain, customer, ObjectFilter={"KeyName": "tierKey", "Values": ["silver"]})
    assert [o["ProfileObjectUniqueKey"] for o in by_tier] == ["r2", "r4"]
    by_row = objects_of(cp, domain, customer, ObjectFilter={"KeyName": "rowId", "Values": ["r5", "r1", "r9"]})
    assert [o["ProfileObjectUniqueKey"] for o in by_row] == ["r1", "r5"]
    paged = cp.list_profile_objects(DomainName=domain, ObjectTypeName="crm", ProfileId=customer, MaxResults=2,
                                    ObjectFilter={"KeyName": "tierKey", "Values": ["gold"]})
    assert [o["ProfileObjectUniqueKey"] for o in paged["Items"]] == ["r1", "r3"]
    rest = cp.list_profile_objects(DomainName=domain, ObjectTypeName="crm", ProfileId=customer, MaxResults=2,
                                   NextToken=paged["NextToken"],
                                   ObjectFilter={"KeyName": "tierKey", "Values": ["gold"]})
    assert [o["ProfileObjectUniqueKey"] for o in rest["Items"]] == ["r5"] and "NextToken" not in rest
    with aws_error("BadRequestException", "not a key of object type crm"):
        objects_of(cp, domain, customer, ObjectFilter={"KeyName": "email", "Values": ["x"]})


def test_listing_objects_needs_a_known_object_type_and_profile(cp, domain, customer):
    with aws_error("ResourceNotFoundException", "absent"):
        objects_of(cp, domain, customer, object_type="absent")
    with aws_error("ResourceNotFoundException", UNKNOWN_PROFILE):
        objects_of(cp, domain, UNKNOWN_PROFILE)
    with aws_error("BadRequestException"):
        cp.list_profile_objects(DomainName=domain, ObjectTypeName="crm", ProfileId=customer, NextToken="bogus")


def test_deleted_profile_object_is_gone(cp, domain, customer):
    message = cp.delete_profile_object(DomainName=domain, ObjectTypeName="crm", ProfileId=customer,
                                       ProfileObjectUniqueKey="r3")["Message"]
    assert "r3" in message
    assert [o["ProfileObjectUniqueKey"] for o in objects_of(cp, domain, customer)] == ["r1", "r2", "r4", "r5"]
    with aws_error("ResourceNotFoundException", "r3"):
        cp.delete_profile_object(DomainName=domain, ObjectTypeName="crm", ProfileId=customer,
                                 ProfileObjectUniqueKey="r3")
    other = cp.create_profile(DomainName=domain)["ProfileId"]
    with aws_error("ResourceNotFoundException"):  # an object is deleted through its own profile only
        cp.delete_profile_object(DomainName=domain, ObjectTypeName="crm", ProfileId=other, ProfileObjectUniqueKey="r1")
    with aws_error("ResourceNotFoundException"):
        cp.delete_profile_object(DomainName=domain, ObjectTypeName="absent", ProfileId=customer,
                                 ProfileObjectUniqueKey="r1")
    assert stats(cp, domain) == (2, 4)


# --- search --------------------------------------------------------------------------------------
@pytest.fixture
def people(cp, domain) -> dict[str, str]:
    """Three profiles ingested from CRM rows: name -> profile id."""
    put_crm_type(cp, domain)
    rows = {"ann": {"customer": {"id": "C1"}, "row": "r1", "first": "Ann", "last": "Lee", "phone": "+15555550101",
                    "email": "ann@example.com", "tier": "gold"},
            "bob": {"customer": {"id": "C2"}, "row": "r2", "first": "Bob", "last": "Lee", "phone": "+15555550102",
                    "email": "bob@example.com", "tier": "gold"},
            "cy": {"customer": {"id": "C3"}, "row": "r3", "first": "Cy", "phone": "+15555550103"}}
    for row in rows.values():
        put(cp, domain, row)
    return {name: only_profile(cp, domain, "crmId", row["customer"]["id"])["ProfileId"] for name, row in rows.items()}


def test_search_by_custom_and_predefined_keys(cp, domain, people):
    ann = people["ann"]
    assert search(cp, domain, "crmId", "C1") == [ann]
    assert search(cp, domain, "_phone", "+15555550101") == [ann]
    assert search(cp, domain, "_email", "ann@example.com") == [ann]
    assert search(cp, domain, "_fullName", "Ann Lee") == [ann]
    assert search(cp, domain, "_profileId", ann, UNKNOWN_PROFILE) == [ann]
    assert search(cp, domain, "crmId", "C404") == []
    assert sorted(search(cp, domain, "crmId", "C1", "C3")) == sorted([ann, people["cy"]])


def test_search_returns_whole_profiles_with_what_found_them(cp, domain, people):
    item = cp.search_profiles(DomainName=domain, KeyName="_email", Values=["ann@example.com", "nobody@example.com"],
                              AdditionalSearchKeys=[{"KeyName": "crmId", "Values": ["C1"]}],
                              LogicalOperator="AND")["Items"][0]
    assert item["ProfileId"] == people["ann"] and item["FirstName"] == "Ann" and item["Attributes"] == {"tier": "gold"}
    assert item["FoundByItems"] == [{"KeyName": "_email", "Values": ["ann@example.com"]},
                                    {"KeyName": "crmId", "Values": ["C1"]}]


def test_search_with_and_needs_every_key(cp, domain, people):
    both = {"AdditionalSearchKeys": [{"KeyName": "_phone", "Values": ["+15555550102", "+15555550103"]}],
            "LogicalOperator": "AND"}
    assert search(cp, domain, "crmId", "C1", "C2", **both) == [people["bob"]]
    assert search(cp, domain, "crmId", "C1", **both) == []


def test_search_with_or_takes_any_key_and_is_the_default(cp, domain, people):
    extra = {"AdditionalSearchKeys": [{"KeyName": "_phone", "Values": ["+15555550103"]},
                                      {"KeyName": "_email", "Values": ["bob@example.com"]}]}
    expected = sorted([people["ann"], people["bob"], people["cy"]])
    assert sorted(search(cp, domain, "crmId", "C1", LogicalOperator="OR", **extra)) == expected
    assert sorted(search(cp, domain, "crmId", "C1", **extra)) == expected
    items = cp.search_profiles(DomainName=domain, KeyName="crmId", Values=["C1"], **extra)["Items"]
    found_by = {item["ProfileId"]: item["FoundByItems"] for item in items}
    assert found_by[people["cy"]] == [{"KeyName": "_phone", "Values": ["+15555550103"]}]
    assert found_by[people["bob"]] == [{"KeyName": "_email", "Values": ["bob@example.com"]}]


def test_search_results_come_in_pages(cp, domain):
    ids = sorted(cp.create_profile(DomainName=domain, LastName="Doe", FirstName="Jo")["ProfileId"] for _ in range(5))
    seen, token = [], None
    while True:
        response = cp.search_profiles(DomainName=domain, KeyName="_fullName", Values=["Jo Doe"], MaxResults=2,
                                      **({"NextToken": token} if token else {}))
        assert len(response["Items"]) <= 2
        seen += [item["ProfileId"] for item in response["Items"]]
        token = response.get("NextToken")
        if not token:
            break
    assert seen == ids
    assert len(search(cp, domain, "_fullName", "Jo Doe")) == 5  # default page size is 20


def test_search_refuses_keys_the_domain_does_not_know(cp, domain, people):
    with aws_error("BadRequestException", "noSuchKey"):
        search(cp, domain, "noSuchKey", "x")
    with aws_error("BadRequestException"):
        search(cp, domain, "crmId", "C1", AdditionalSearchKeys=[{"KeyName": "crmId", "Values": ["C1"]}] * 5)
    with aws_error("ResourceNotFoundException"):
        search(cp, f"missing-{uuid.uuid4().hex[:8]}", "_phone", "+15555550101")


# --- profile keys --------------------------------------------------------------------------------
def test_added_profile_key_is_searchable_until_deleted(cp, domain):
    profile_id = cp.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    added = cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="_ctrContactId",
                               Values=["contact-1", "contact-2"])
    assert (added["KeyName"], added["Values"]) == ("_ctrContactId", ["contact-1", "contact-2"])
    cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="_ctrContactId", Values=["contact-1"])
    assert search(cp, domain, "_ctrContactId", "contact-2") == [profile_id]
    message = cp.delete_profile_key(DomainName=domain, ProfileId=profile_id, KeyName="_ctrContactId",
                                    Values=["contact-2"])["Message"]
    assert message
    assert search(cp, domain, "_ctrContactId", "contact-2") == []
    assert search(cp, domain, "_ctrContactId", "contact-1") == [profile_id]


def test_profile_keys_need_a_known_profile(cp, domain):
    with aws_error("ResourceNotFoundException", UNKNOWN_PROFILE):
        cp.add_profile_key(DomainName=domain, ProfileId=UNKNOWN_PROFILE, KeyName="loyalty", Values=["L1"])
    with aws_error("ResourceNotFoundException", UNKNOWN_PROFILE):
        cp.delete_profile_key(DomainName=domain, ProfileId=UNKNOWN_PROFILE, KeyName="loyalty", Values=["L1"])
    with aws_error("ResourceNotFoundException"):
        cp.add_profile_key(DomainName=f"missing-{uuid.uuid4().hex[:8]}", ProfileId=UNKNOWN_PROFILE,
                           KeyName="loyalty", Values=["L1"])


@pytest.mark.parametrize("key_name", ["_phone", "_email", "_fullName", "_account", "_profileId"])
def test_keys_derived_from_the_profile_cannot_be_added_or_removed(cp, domain, key_name):
    profile_id = cp.create_profile(DomainName=domain, PhoneNumber="+15555550100")["ProfileId"]
    with aws_error("BadRequestException", "UpdateProfile"):
        cp.add_profile_key(DomainName=domain, ProfileId=profile_id, KeyName=key_name, Values=["x"])
    with aws_error("BadRequestException", "UpdateProfile"):
        cp.delete_profile_key(DomainName=domain, ProfileId=profile_id, KeyName=key_name, Values=["+15555550100"])


def test_concurrent_objects_with_the_same_new_key_make_one_profile(cp, domain, backend):
    """Writers racing with one new key must not both create a profile, nor both insert its unique key
    (which would fail the losers with a database error). Driven in-process, where the race can be forced."""
    put_crm_type(cp, domain)
    database = Database(backend)
    writers = 8
    ready = threading.Barrier(writers, timeout=30)
    row = json.dumps({"customer": {"id": "C1"}, "row": "r1", "first": "Ann"})

    def ingest_once(_) -> str:
        if database.is_sqlite:
            ready.wait()  # SQLite serialises writers as they begin, so they meet just before
        with database.transaction() as conn:
            if not database.is_sqlite:
                ready.wait()  # PostgreSQL: every writer is inside its transaction before any reads
            found = get_domain(conn, "us-east-1", domain)
            return ingest(conn, found, "crm", row, datetime(2031, 3, 1, tzinfo=timezone.utc)).profile_id

    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            profile_ids = set(pool.map(ingest_once, range(writers)))
    finally:
        database.dispose()
    assert len(profile_ids) == 1
    assert stats(cp, domain) == (1, 1)
