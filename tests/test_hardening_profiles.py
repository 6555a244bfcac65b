"""Customer Profiles keys (hardening item 12), through real boto3 against a real `reachout serve`:
PROFILE keys on fields with no standard Target find their profile; phone numbers and email addresses
are compared however they are formatted; DeleteProfileObjectType scrubs what its objects populated;
an object whose keys lead to two profiles is refused, by PutProfileObject and by the importer alike.
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from reachout.store.db import MIGRATIONS, open_database
from tests.expect import aws_error


@pytest.fixture
def cp(client):
    return client("customer-profiles")


@pytest.fixture
def domain(cp) -> str:
    name = f"keys-{uuid.uuid4().hex[:12]}"
    cp.create_domain(DomainName=name, DefaultExpirationDays=365)
    return name


def field(source: str, target: str | None = None, content_type: str = "STRING") -> dict:
    return {"Source": f"_source.{source}", "ContentType": content_type, **({"Target": target} if target else {})}


def key(*field_names: str, ids: tuple[str, ...] = ("PROFILE",)) -> list[dict]:
    return [{"StandardIdentifiers": list(ids), "FieldNames": list(field_names)}]


# Contact records: the caller's phone is the profile key, kept on the contact alone (no Target).
CONTACT_TYPE = {
    "Description": "contact records", "AllowProfileCreation": True,
    "Fields": {"contactId": field("contact_id"), "phone": field("caller")},
    "Keys": {"_phone": key("phone"), "contactId": key("contactId", ids=("UNIQUE",))},
}


def put(cp, domain: str, object_type: str, obj: dict) -> str:
    return cp.put_profile_object(DomainName=domain, ObjectTypeName=object_type,
                                 Object=json.dumps(obj))["ProfileObjectUniqueKey"]


def search(cp, domain: str, key_name: str, *values: str) -> list[dict]:
    return cp.search_profiles(DomainName=domain, KeyName=key_name, Values=list(values))["Items"]


def counts(cp, domain: str) -> tuple[int, int]:
    stats = cp.get_domain(DomainName=domain)["Stats"]
    return stats["ProfileCount"], stats["ObjectCount"]


def profile(cp, domain: str, profile_id: str) -> dict:
    return cp.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])["Profiles"][0]


def test_profile_keyed_phone_without_a_target_puts_both_contacts_on_one_profile(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="contacts", **CONTACT_TYPE)
    put(cp, domain, "contacts", {"contact_id": "k1", "caller": "+1 206 555 0100"})
    put(cp, domain, "contacts", {"contact_id": "k2", "caller": "+1 (206) 555-0100"})
    assert counts(cp, domain) == (1, 2)
    # Found by the key in any formatting; FoundByItems gives the values as asked.
    [found] = search(cp, domain, "_phone", "+12065550100")
    assert search(cp, domain, "_phone", "+1.206.555.0100")[0]["ProfileId"] == found["ProfileId"]
    assert search(cp, domain, "_phone", "+1.206.555.0100")[0]["FoundByItems"] == [
        {"KeyName": "_phone", "Values": ["+1.206.555.0100"]}]
    # The objects keep what was sent; the profile answers to the key after its fields change.
    objects = cp.list_profile_objects(DomainName=domain, ObjectTypeName="contacts", ProfileId=found["ProfileId"])
    assert sorted(json.loads(o["Object"])["caller"] for o in objects["Items"]) == ["+1 (206) 555-0100",
                                                                                 "+1 206 555 0100"]
    cp.update_profile(DomainName=domain, ProfileId=found["ProfileId"], FirstName="Ann", PhoneNumber="+13125550199")
    assert [p["ProfileId"] for p in search(cp, domain, "_phone", "+1 206-555-0100")] == [found["ProfileId"]]
    put(cp, domain, "contacts", {"contact_id": "k3", "caller": "+12065550100"})
    assert counts(cp, domain) == (1, 3)


def test_phone_and_email_keys_compare_normalised_on_profiles_and_custom_keys(cp, domain):
    ann = cp.create_profile(DomainName=domain, EmailAddress="Ann.Lee@Example.com",
                            MobilePhoneNumber="+44 20 7946 0000")["ProfileId"]
    assert [p["ProfileId"] for p in search(cp, domain, "_email", " ann.lee@EXAMPLE.com ")] == [ann]
    assert [p["ProfileId"] for p in search(cp, domain, "_phone", "+442079460000")] == [ann]
    assert profile(cp, domain, ann)["EmailAddress"] == "Ann.Lee@Example.com"  # stored as sent
    # A custom PROFILE key on an EMAIL_ADDRESS field: objects differing in case find one profile.
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="signups", Description="d",
                               AllowProfileCreation=True,
                               Fields={"mail": field("mail", content_type="EMAIL_ADDRESS")},
                               Keys={"workEmail": key("mail")})
    put(cp, domain, "signups", {"mail": "Bob@Example.com"})
    put(cp, domain, "signups", {"mail": "bob@example.COM"})
    [bob] = search(cp, domain, "workEmail", "BOB@example.com")
    assert counts(cp, domain) == (2, 2)
    assert bob["FoundByItems"] == [{"KeyName": "workEmail", "Values": ["BOB@example.com"]}]


def test_delete_profile_object_type_scrubs_what_its_objects_populated(cp, domain):
    cp.put_profile_object_type(
        DomainName=domain, ObjectTypeName="crm", Description="d", AllowProfileCreation=True,
        Fields={"id": field("id"), "phone": field("phone"), "first": field("first", "_profile.FirstName"),
                "city": field("city", "_profile.Address.City"), "tier": field("tier", "_profile.Attributes.tier"),
                "note": field("note", "_profile.AdditionalInformation")},
        Keys={"crmId": key("id"), "_phone": key("phone", ids=("SECONDARY",))})
    cp.put_profile_object_type(
        DomainName=domain, ObjectTypeName="billing", Description="d",
        Fields={"id": field("id"), "city": field("city", "_profile.Address.City"),
                "plan": field("plan", "_profile.Attributes.plan")},
        Keys={"crmId": key("id")})
    put(cp, domain, "crm", {"id": "C1", "phone": "+12065550100", "first": "Ann", "city": "Seattle", "tier": "gold",
                            "note": "from crm"})
    put(cp, domain, "billing", {"id": "C1", "city": "Seattle", "plan": "pro"})
    [ann] = search(cp, domain, "crmId", "C1")
    cp.update_profile(DomainName=domain, ProfileId=ann["ProfileId"], LastName="Lee", AdditionalInformation="edited")

    cp.delete_profile_object_type(DomainName=domain, ObjectTypeName="crm")

    # Gone: what only crm gave. Kept: what billing gives too, and what UpdateProfile set since.
    assert {k: v for k, v in profile(cp, domain, ann["ProfileId"]).items() if k != "ProfileId"} == {
        "LastName": "Lee", "AdditionalInformation": "edited", "Address": {"City": "Seattle"},
        "Attributes": {"plan": "pro"}}
    assert search(cp, domain, "_phone", "+12065550100") == []
    assert [p["ProfileId"] for p in search(cp, domain, "crmId", "C1")] == [ann["ProfileId"]]  # billing's key too
    assert counts(cp, domain) == (1, 1)
    with aws_error("ResourceNotFoundException", "crm"):
        cp.delete_profile_object_type(DomainName=domain, ObjectTypeName="crm")


def test_object_whose_keys_lead_to_two_profiles_is_refused_naming_them(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="contacts", Description="d",
                               AllowProfileCreation=True,
                               Fields={"id": field("customer"), "phone": field("caller")},
                               Keys={"customerId": key("id"), "_phone": key("phone")})
    put(cp, domain, "contacts", {"customer": "C1", "caller": "+12065550100"})
    put(cp, domain, "contacts", {"customer": "C2", "caller": "+13125550100"})
    [first] = search(cp, domain, "customerId", "C1")
    [second] = search(cp, domain, "customerId", "C2")
    with aws_error("BadRequestException", "more than one profile") as caught:
        put(cp, domain, "contacts", {"customer": "C1", "caller": "+1 312 555 0100"})
    message = caught.value.response["Error"]["Message"]
    assert first["ProfileId"] in message and second["ProfileId"] in message
    assert counts(cp, domain) == (2, 2)  # nothing written
    assert [p["ProfileId"] for p in search(cp, domain, "_phone", "+13125550100")] == [second["ProfileId"]]


def test_the_importer_merges_by_phone_and_sets_aside_a_row_leading_to_two_profiles(server, cp, domain, tmp_path):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="Contact", Description="d",
                               AllowProfileCreation=True,
                               Fields={"id": field("customer_id"), "phone": field("phone"),
                                       "first": field("first_name", "_profile.FirstName")},
                               Keys={"customerId": key("id"), "_phone": key("phone")})
    rows = tmp_path / "contacts.csv"
    rows.write_text("customer_id,phone,first_name\n"
                    ",+1 206 555 0100,Ann\n"
                    ",(+1) 206-555-0100,Annie\n"  # the same phone: the same profile
                    "C2,+13125550100,Bob\n"
                    "C2,+1 206 555 0100,Who\n")  # C2 is Bob's, the phone Ann's: set aside

    finished = subprocess.run([sys.executable, "-m", "reachout", "profiles", "import", str(rows), "--domain", domain,
                               "--object-type", "Contact", "--db", server.db], capture_output=True, text=True)

    assert finished.returncode == 0, finished.stderr
    assert "4 rows: 2 profiles created, 1 updated, 1 rejected" in " ".join(finished.stderr.split())
    [ann] = search(cp, domain, "_phone", "+12065550100")
    assert ann["FirstName"] == "Annie"
    rejects = [json.loads(line) for line in (tmp_path / "contacts.csv.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [5]
    assert "more than one profile" in rejects[0]["reason"] and ann["ProfileId"] in rejects[0]["reason"]


def test_keys_held_before_the_upgrade_are_put_in_their_normal_form(tmp_path):
    """0012 rewrites _phone / _email keys (and custom keys of one kind) in their normal form, and gives
    profiles the PROFILE-keyed predefined keys their stored objects bear on fields with no Target."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    contact_type = json.dumps(CONTACT_TYPE | {"Fields": {**CONTACT_TYPE["Fields"],
                                                         "mail": field("mail", content_type="EMAIL_ADDRESS")},
                                              "Keys": {**CONTACT_TYPE["Keys"], "workEmail": key("mail")}})
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0011")
        conn.execute(text("INSERT INTO object_types VALUES (1, 'contacts', :definition, '2026-01-05 08:00:00', "
                          "'2026-01-05 08:00:00')"), {"definition": contact_type})
        conn.execute(text("INSERT INTO profile_objects VALUES (1, 'contacts', 'k1', 'p1', :object, "
                          "'2026-01-05 08:00:00')"), {"object": json.dumps({"contact_id": "k1",
                                                                            "caller": "+1 206 555 0100"})})
        conn.execute(text("INSERT INTO profile_keys VALUES (1, '_email', 'Ann@Example.com', 'p1'), "
                          "(1, '_email', 'ann@example.com', 'p1'), (1, '_phone', '+1 312 555 0199', 'p1'), "
                          "(1, 'workEmail', 'Ann@Work.example', 'p1'), (1, 'crmId', 'AbC', 'p1')"))
    engine.dispose()
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with database.transaction() as conn:
        keys = set(conn.execute(text("SELECT key_name, value FROM profile_keys WHERE profile_id = 'p1'")).all())
    database.dispose()
    assert keys == {("_email", "ann@example.com"), ("_phone", "+13125550199"), ("workEmail", "ann@work.example"),
                    ("crmId", "AbC"), ("_phone#object", "+12065550100")}
