"""The wire layer is driven by the botocore models of every API family Reachout speaks; these tests
check it against all of their operations, not only the ones served today."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from reachout.aws.catalog import SERVED, ServiceCatalog
from tests.support import make_client

CATALOG = ServiceCatalog()
LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


def sample_path(template: str) -> str:
    """The requestUri with every label filled as boto3 would fill it: an ARN-like value, so that
    percent-encoded ':' and '/' are in play (kept raw in greedy labels)."""
    value = "arn:aws:x:us-east-1:1:thing/a b"
    return LABEL.sub(lambda m: quote(value, safe="/~" if m.group(2) else "~"), template.partition("?")[0])


@pytest.mark.parametrize("name", [n for n in SERVED if CATALOG.services[n].protocol == "rest-json"])
def test_every_operation_routes_back_to_itself(name):
    service = CATALOG.services[name]
    for operation in service.operations.values():
        path = sample_path(operation.http["requestUri"])
        query = [tuple(p.split("=", 1)) for p in operation.http["requestUri"].partition("?")[2].split("&") if p]
        matched = next(r for r in service.routes if r.match(operation.http["method"], path, query) is not None)
        assert matched.operation.name == operation.name, (operation.http, path)


def test_campaign_apis_are_told_apart_by_the_v2_prefix():
    assert CATALOG.resolve("connect-campaigns", "/campaigns/abc").name == "connectcampaigns"
    assert CATALOG.resolve("connect-campaigns", "/v2/campaigns/abc").name == "connectcampaignsv2"
    assert CATALOG.resolve("profile", "/domains").name == "customer-profiles"
    assert CATALOG.resolve("s3", "/") is None


@pytest.mark.parametrize("service, operation, code, key", [
    ("connectcampaignsv2", "CreateCampaign", "ValidationException", "message"),
    ("connectcampaigns", "CreateCampaign", "ValidationException", "message"),
    ("customer-profiles", "CreateDomain", "BadRequestException", "Message"),
    # connect declares one or both; where both, a broken constraint is an invalid parameter.
    ("connect", "StartOutboundVoiceContact", "InvalidParameterException", "Message"),
    ("connect", "DescribeInstance", "InvalidRequestException", "Message"),
    ("qconnect", "CreateKnowledgeBase", "ValidationException", "message"),
])
def test_each_service_reports_bad_input_in_its_own_words(service, operation, code, key):
    catalog_service = CATALOG.services[service]
    assert catalog_service.validation_error(catalog_service.operations[operation]) == code
    assert catalog_service.message_key(code) == key


def test_profiles_bad_input_reaches_boto3_as_bad_request(server):
    profiles = make_client(server.url, "customer-profiles")
    with pytest.raises(profiles.exceptions.BadRequestException) as caught:
        profiles.create_domain(DomainName="d" * 65, DefaultExpirationDays=1)
    assert "DomainName" in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_modelled_operation_not_yet_served_is_a_clean_501(server):
    events = make_client(server.url, "events")
    with pytest.raises(events.exceptions.ClientError) as caught:
        events.list_event_buses()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
