"""Amazon Connect Customer Profiles (`customer-profiles`): domains, tags and standard profiles through real
boto3 against a real `reachout serve`, with their main error paths.

Every test works in domains of its own (unique names), so listings and counts only see its own data.
"""
from __future__ import annotations

import uuid

import pytest

from tests.support import ACCOUNT
from tests.expect import aws_error

REGION, OTHER_REGION = "us-east-1", "us-west-2"
UNKNOWN_PROFILE = "0" * 32




def unique_name(prefix: str = "dom") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def domain_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:profile:{region}:{ACCOUNT}:domains/{name}"


@pytest.fixture
def cp(client):
    return client("customer-profiles")


@pytest.fixture
def domain(cp) -> str:
    name = unique_name()
    cp.create_domain(DomainName=name, DefaultExpirationDays=365)
    return name


def without_metadata(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def get_profile(cp, domain: str, profile_id: str) -> dict:
    found = cp.batch_get_profile(DomainName=domain, ProfileIds=[profile_id])
    assert found["Errors"] == [], found
    return found["Profiles"][0]


# --- domains -------------------------------------------------------------------------------------
def test_created_domain_is_described_back(cp):
    name = unique_name()
    created = cp.create_domain(DomainName=name, DefaultExpirationDays=30, DefaultEncryptionKey="alias/profiles",
                               DeadLetterQueueUrl="https://sqs.us-east-1.amazonaws.com/1/dlq",
                               Matching={"Enabled": False}, Tags={"team": "crm"})
    got = cp.get_domain(DomainName=name)
    for response in (created, got):
        assert response["DomainName"] == name
        assert response["DefaultExpirationDays"] == 30
        assert response["DefaultEncryptionKey"] == "alias/profiles"
        assert response["DeadLetterQueueUrl"] == "https://sqs.us-east-1.amazonaws.com/1/dlq"
        assert response["Matching"] == {"Enabled": False}
        assert response["Tags"] == {"team": "crm"}
        assert response["CreatedAt"] == response["LastUpdatedAt"]
    assert got["Stats"]["ProfileCount"] == 0 and got["Stats"]["ObjectCount"] == 0


def test_domain_name_is_taken_once_per_region(cp, client, domain):
    with aws_error("BadRequestException", "already exists"):
        cp.create_domain(DomainName=domain, DefaultExpirationDays=1)
    # Another region has a namespace of its own.
    other = client("customer-profiles", region=OTHER_REGION)
    other.create_domain(DomainName=domain, DefaultExpirationDays=7)
    assert other.get_domain(DomainName=domain)["DefaultExpirationDays"] == 7
    assert cp.get_domain(DomainName=domain)["DefaultExpirationDays"] == 365


def test_domain_is_regional(client, domain):
    other = client("customer-profiles", region=OTHER_REGION)
    with aws_error("ResourceNotFoundException", domain):
        other.get_domain(DomainName=domain)
    with aws_error("ResourceNotFoundException"):
        other.create_profile(DomainName=domain, FirstName="Ann")


@pytest.mark.parametrize("operation", ["get_domain", "update_domain", "delete_domain"])
def test_unknown_domain_is_not_found(cp, operation):
    with aws_error("ResourceNotFoundException", "not found"):
        getattr(cp, operation)(DomainName=unique_name("missing"))


def test_update_domain_changes_what_is_given_and_keeps_the_rest(cp):
    name = unique_name()
    cp.create_domain(DomainName=name, DefaultExpirationDays=30, DeadLetterQueueUrl="https://sqs/dlq",
                     Tags={"team": "crm"})
    updated = cp.update_domain(DomainName=name, DefaultExpirationDays=90, Tags={"stage": "prod"})
    got = cp.get_domain(DomainName=name)
    for response in (updated, got):
        assert response["DefaultExpirationDays"] == 90
        assert response["DeadLetterQueueUrl"] == "https://sqs/dlq"
        assert response["Tags"] == {"team": "crm", "stage": "prod"}
        assert response["LastUpdatedAt"] >= response["CreatedAt"]


def test_update_domain_with_empty_string_clears_a_setting(cp):
    # The model documents '' as clearing DefaultEncryptionKey and DeadLetterQueueUrl.
    name = unique_name()
    cp.create_domain(DomainName=name, DefaultExpirationDays=30, DefaultEncryptionKey="alias/profiles",
                     DeadLetterQueueUrl="https://sqs/dlq")
    cp.update_domain(DomainName=name, DefaultEncryptionKey="", DeadLetterQueueUrl="")
    got = cp.get_domain(DomainName=name)
    assert "DefaultEncryptionKey" not in got and "DeadLetterQueueUrl" not in got, got


def test_deleted_domain_takes_its_profiles_and_tags_with_it(cp, domain):
    cp.create_profile(DomainName=domain, FirstName="Ann")
    cp.tag_resource(resourceArn=domain_arn(domain), tags={"team": "crm"})
    assert "deleted" in cp.delete_domain(DomainName=domain)["Message"]
    with aws_error("ResourceNotFoundException"):
        cp.get_domain(DomainName=domain)
    with aws_error("ResourceNotFoundException"):
        cp.delete_domain(DomainName=domain)
    # A new domain of the same name starts empty.
    cp.create_domain(DomainName=domain, DefaultExpirationDays=1)
    assert cp.get_domain(DomainName=domain)["Stats"]["ProfileCount"] == 0
    assert cp.list_tags_for_resource(resourceArn=domain_arn(domain))["tags"] == {}


def test_list_domains_pages_through_every_domain_once(client):
    # A region of this test's own keeps other tests' domains out of the listing.
    cp = client("customer-profiles", region="eu-west-3")
    names = sorted(unique_name("list") for _ in range(5))
    for name in names:
        cp.create_domain(DomainName=name, DefaultExpirationDays=1, Tags={"n": name})
    seen, token, pages = [], None, 0
    while True:
        response = cp.list_domains(MaxResults=2, **({"NextToken": token} if token else {}))
        pages += 1
        seen += [item["DomainName"] for item in response["Items"] if item["DomainName"] in names]
        for item in response["Items"]:
            if item["DomainName"] in names:
                assert item["Tags"] == {"n": item["DomainName"]}
                assert "CreatedAt" in item and "LastUpdatedAt" in item
        token = response.get("NextToken")
        if not token:
            break
    assert seen == names
    assert pages >= 3


def test_list_domains_refuses_a_token_it_did_not_issue(cp):
    with aws_error("BadRequestException", "nextToken"):
        cp.list_domains(NextToken="not-a-token")


# --- tags ----------------------------------------------------------------------------------------
def test_domain_tags_are_added_listed_and_removed(cp, domain):
    arn = domain_arn(domain)
    cp.tag_resource(resourceArn=arn, tags={"team": "crm", "stage": "dev"})
    cp.tag_resource(resourceArn=arn, tags={"stage": "prod"})
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "crm", "stage": "prod"}
    cp.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == {"stage": "prod"}
    assert cp.get_domain(DomainName=domain)["Tags"] == {"stage": "prod"}


def test_object_type_can_be_tagged(cp, domain):
    cp.put_profile_object_type(DomainName=domain, ObjectTypeName="crm", Description="CRM rows")
    arn = f"{domain_arn(domain)}/object-types/crm"
    cp.tag_resource(resourceArn=arn, tags={"source": "salesforce"})
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == {"source": "salesforce"}
    assert cp.get_profile_object_type(DomainName=domain, ObjectTypeName="crm")["Tags"] == {"source": "salesforce"}


@pytest.mark.parametrize("suffix", ["", "/object-types/absent", "/segment-definitions/absent", "/profiles/x"])
def test_tagging_an_unknown_resource_is_not_found(cp, domain, suffix):
    arn = domain_arn(domain if suffix else unique_name("missing")) + suffix
    with aws_error("ResourceNotFoundException"):
        cp.tag_resource(resourceArn=arn, tags={"a": "b"})
    with aws_error("ResourceNotFoundException"):
        cp.list_tags_for_resource(resourceArn=arn)
    with aws_error("ResourceNotFoundException"):
        cp.untag_resource(resourceArn=arn, tagKeys=["a"])


def test_tags_of_a_domain_in_another_region_are_not_found(client, domain):
    other = client("customer-profiles", region=OTHER_REGION)
    with aws_error("ResourceNotFoundException"):
        other.list_tags_for_resource(resourceArn=domain_arn(domain))


# --- profiles ------------------------------------------------------------------------------------
FULL_PROFILE = {
    "AccountNumber": "ACC-1", "AdditionalInformation": "prefers mornings", "PartyType": "INDIVIDUAL",
    "BusinessName": "Acme", "FirstName": "Ann", "MiddleName": "B", "LastName": "Lee", "BirthDate": "1990-02-03",
    "Gender": "FEMALE", "PhoneNumber": "+15555550100", "MobilePhoneNumber": "+15555550101",
    "HomePhoneNumber": "+15555550102", "BusinessPhoneNumber": "+15555550103", "EmailAddress": "ann@example.com",
    "PersonalEmailAddress": "ann@home.example", "BusinessEmailAddress": "ann@acme.example",
    "Address": {"Address1": "1 Main St", "City": "Seattle", "State": "WA", "PostalCode": "98101", "Country": "US"},
    "ShippingAddress": {"City": "Tacoma"}, "MailingAddress": {"City": "Olympia"}, "BillingAddress": {"City": "Spokane"},
    "Attributes": {"tier": "gold", "score": "42"}, "PartyTypeString": "person", "GenderString": "woman",
    "ProfileType": "PROFILE",
}


def test_created_profile_is_read_back_with_every_field(cp, domain):
    profile_id = cp.create_profile(DomainName=domain, **FULL_PROFILE)["ProfileId"]
    assert len(profile_id) == 32
    assert get_profile(cp, domain, profile_id) == {"ProfileId": profile_id, **FULL_PROFILE}
    assert cp.get_domain(DomainName=domain)["Stats"]["ProfileCount"] == 1


def test_update_profile_omitted_stays_and_empty_string_clears(cp, domain):
    profile_id = cp.create_profile(DomainName=domain, FirstName="Ann", LastName="Lee", EmailAddress="ann@example.com",
                                   PhoneNumber="+15555550100")["ProfileId"]
    cp.update_profile(DomainName=domain, ProfileId=profile_id, LastName="", FirstName="Anne", AccountNumber="A-9")
    assert get_profile(cp, domain, profile_id) == {
        "ProfileId": profile_id, "FirstName": "Anne", "EmailAddress": "ann@example.com",
        "PhoneNumber": "+15555550100", "AccountNumber": "A-9"}


def test_update_profile_changes_addresses_and_attributes_part_by_part(cp, domain):
    profile_id = cp.create_profile(
        DomainName=domain, Address={"City": "Seattle", "PostalCode": "98101", "State": "WA"},
        BillingAddress={"City": "Spokane"}, Attributes={"tier": "gold", "score": "42"})["ProfileId"]
    cp.update_profile(DomainName=domain, ProfileId=profile_id,
                      Address={"City": "Tacoma", "State": ""}, BillingAddress={"City": ""},
                      Attributes={"score": "", "segment": "vip"})
    profile = get_profile(cp, domain, profile_id)
    assert profile["Address"] == {"City": "Tacoma", "PostalCode": "98101"}
    assert "BillingAddress" not in profile  # its last part was cleared
    assert profile["Attributes"] == {"tier": "gold", "segment": "vip"}


def test_update_profile_keeps_the_predefined_search_keys_in_step(cp, domain):
    profile_id = cp.create_profile(DomainName=domain, PhoneNumber="+15555550100", FirstName="Ann")["ProfileId"]
    cp.update_profile(DomainName=domain, ProfileId=profile_id, PhoneNumber="+15555550199", LastName="Lee")
    assert cp.search_profiles(DomainName=domain, KeyName="_phone", Values=["+15555550100"])["Items"] == []
    assert [p["ProfileId"] for p in cp.search_profiles(DomainName=domain, KeyName="_phone",
                                                       Values=["+15555550199"])["Items"]] == [profile_id]
    assert [p["ProfileId"] for p in cp.search_profiles(DomainName=domain, KeyName="_fullName",
                                                       Values=["Ann Lee"])["Items"]] == [profile_id]


def test_update_unknown_profile_is_not_found(cp, domain):
    with aws_error("ResourceNotFoundException", UNKNOWN_PROFILE):
        cp.update_profile(DomainName=domain, ProfileId=UNKNOWN_PROFILE, FirstName="Ann")


def test_profile_of_another_domain_is_not_found(cp, domain):
    other = unique_name()
    cp.create_domain(DomainName=other, DefaultExpirationDays=1)
    profile_id = cp.create_profile(DomainName=other, FirstName="Ann")["ProfileId"]
    with aws_error("ResourceNotFoundException"):
        cp.update_profile(DomainName=domain, ProfileId=profile_id, FirstName="Bob")
    with aws_error("ResourceNotFoundException"):
        cp.delete_profile(DomainName=domain, ProfileId=profile_id)
    assert get_profile(cp, other, profile_id)["FirstName"] == "Ann"


def test_create_profile_refuses_values_outside_the_model(cp, domain):
    with aws_error("BadRequestException"):
        cp.create_profile(DomainName=domain, Gender="ROBOT")
    with aws_error("BadRequestException"):
        cp.create_profile(DomainName=domain, FirstName="x" * 256)
    assert cp.get_domain(DomainName=domain)["Stats"]["ProfileCount"] == 0


def test_deleted_profile_is_gone_with_its_keys(cp, domain):
    profile_id = cp.create_profile(DomainName=domain, EmailAddress="ann@example.com")["ProfileId"]
    assert profile_id in cp.delete_profile(DomainName=domain, ProfileId=profile_id)["Message"]
    assert cp.search_profiles(DomainName=domain, KeyName="_email", Values=["ann@example.com"])["Items"] == []
    with aws_error("ResourceNotFoundException"):
        cp.delete_profile(DomainName=domain, ProfileId=profile_id)
    assert cp.get_domain(DomainName=domain)["Stats"]["ProfileCount"] == 0


def test_batch_get_profile_reports_found_and_missing_in_request_order(cp, domain):
    first = cp.create_profile(DomainName=domain, FirstName="Ann")["ProfileId"]
    second = cp.create_profile(DomainName=domain, FirstName="Bob")["ProfileId"]
    found = cp.batch_get_profile(DomainName=domain, ProfileIds=[second, UNKNOWN_PROFILE, first, second])
    assert [p["ProfileId"] for p in found["Profiles"]] == [second, first]
    assert found["Errors"] == [{"Code": "ResourceNotFoundException", "Message": f"Profile {UNKNOWN_PROFILE} not found",
                                "ProfileId": UNKNOWN_PROFILE}]


def test_batch_get_profile_limits(cp, domain):
    with aws_error("BadRequestException"):
        cp.batch_get_profile(DomainName=domain, ProfileIds=[UNKNOWN_PROFILE] * 21)
    with aws_error("ResourceNotFoundException"):
        cp.batch_get_profile(DomainName=unique_name("missing"), ProfileIds=[UNKNOWN_PROFILE])
