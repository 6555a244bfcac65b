"""The wire layer under raw, signed HTTP requests.

boto3 validates input before sending, so a server tested only through boto3 is never shown the
requests other clients (or attackers) send. Here each request is built with botocore's AWSRequest,
signed with SigV4Auth and sent with http.client, so nothing stands between the bytes and the server:
it must refuse bad input itself, in AWS's error shape, and change nothing when it does.
"""
from __future__ import annotations

import base64
import functools
import http.client
import json
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support import ACCESS_KEY, ACCOUNT, SECRET_KEY, make_client

FLOW = "contact-flow-1"
SEGMENT_ARN = f"arn:aws:profile:us-east-1:{ACCOUNT}:domains/d1/segment-definitions/s1"
DOMAIN_ARN = f"arn:aws:profile:us-east-1:{ACCOUNT}:domains/d1"
TELEPHONY = {"telephony": {"outboundMode": {"progressive": {"bandwidthAllocation": 0.5}},
                           "defaultOutboundConfig": {"connectContactFlowId": FLOW}}}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lowercase names
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class SignedAt(SigV4Auth):
    """SigV4Auth stamps requests with the current time; this one signs as of a chosen moment."""

    def __init__(self, credentials, service_name, region_name, moment: datetime):
        super().__init__(credentials, service_name, region_name)
        self.moment = moment

    def _modify_request_before_signing(self, request):
        # add_auth has just set the timestamp from the clock; everything after it reads this one.
        request.context["timestamp"] = self.moment.strftime("%Y%m%dT%H%M%SZ")
        super()._modify_request_before_signing(request)


def send(server, method: str, path: str, body: dict | bytes | None = None, *, query: str = "",
         key: str = ACCESS_KEY, secret: str = SECRET_KEY, signer=SigV4Auth, sign: bool = True) -> Reply:
    """One request, signed like botocore signs it (unless sign=False), sent byte for byte."""
    data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    url = server.url + path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    if sign:
        signer(Credentials(key, secret), "connect-campaigns", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=prepared.body,
                           headers=dict(prepared.headers))
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def assert_aws_error(reply: Reply, status: int, code: str) -> str:
    """An AWS-style error: the status, x-amzn-ErrorType, a JSON body with `message`. Returns it."""
    assert reply.status == status, reply.body
    assert reply.headers["x-amzn-errortype"] == code
    assert reply.headers["content-type"].startswith("application/")
    body = reply.json()
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in reply.body.decode()
    return body["message"]


def assert_validation(reply: Reply, *fragments: str) -> str:
    message = assert_aws_error(reply, 400, "ValidationException")
    for fragment in fragments:
        assert fragment in message
    return message


def campaigns_of(v2, instance_id: str) -> list[dict]:
    filters = {"instanceIdFilter": {"value": instance_id, "operator": "Eq"}}
    return [c for page in v2.get_paginator("list_campaigns").paginate(filters=filters)
            for c in page["campaignSummaryList"]]


def every_campaign_named(v2, name: str) -> list[dict]:
    return [c for page in v2.get_paginator("list_campaigns").paginate(PaginationConfig={"PageSize": 50})
            for c in page["campaignSummaryList"] if c["name"] == name]


def v1_body(instance_id: str, **changes) -> dict:
    body = {"name": f"wire-{instance_id}", "connectInstanceId": instance_id,
            "dialerConfig": {"progressiveDialerConfig": {"bandwidthAllocation": 0.5}},
            "outboundCallConfig": {"connectContactFlowId": FLOW}}
    return {**body, **changes}


def v2_body(instance_id: str, **changes) -> dict:
    return {**{"name": f"wire-{instance_id}", "connectInstanceId": instance_id, "channelSubtypeConfig": TELEPHONY},
            **changes}


def v2_telephony(**changes) -> dict:
    return {"telephony": {**TELEPHONY["telephony"], **changes}}


def without(body: dict, key: str) -> dict:
    return {k: v for k, v in body.items() if k != key}


def running_campaign(v2, instance_id: str, **extra) -> str:
    campaign_id = v2.create_campaign(name="target", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY,
                                     **extra)["id"]
    v2.start_campaign(id=campaign_id)
    return campaign_id


def later(hours: int = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()


# --- CreateCampaign with bad input, v1 (PUT /campaigns) and v2 (PUT /v2/campaigns) ----------------

V1, V2 = "/campaigns", "/v2/campaigns"
CREATE_CASES = {
    "v1-name-too-long": (V1, lambda i: v1_body(i, name="x" * 128), ["'name'", "less than or equal to 127"]),
    "v2-name-too-long": (V2, lambda i: v2_body(i, name="x" * 128), ["'name'", "less than or equal to 127"]),
    "v1-empty-name": (V1, lambda i: v1_body(i, name=""), ["'name'", "greater than or equal to 1"]),
    "v2-empty-name": (V2, lambda i: v2_body(i, name=""), ["'name'", "greater than or equal to 1"]),
    "v1-missing-instance": (V1, lambda i: without(v1_body(i), "connectInstanceId"),
                            ["Value null at 'connectInstanceId'", "must not be null"]),
    "v2-missing-instance": (V2, lambda i: without(v2_body(i), "connectInstanceId"),
                            ["Value null at 'connectInstanceId'"]),
    "v1-instance-pattern": (V1, lambda i: v1_body(i, connectInstanceId=f"{i}/bad id"),
                            ["'connectInstanceId'", "regular expression pattern"]),
    "v2-instance-pattern": (V2, lambda i: v2_body(i, connectInstanceId=f"{i}!"),
                            ["'connectInstanceId'", "regular expression pattern"]),
    "v1-dialer-two-members": (V1, lambda i: v1_body(i, dialerConfig={
        "progressiveDialerConfig": {"bandwidthAllocation": 0.5}, "predictiveDialerConfig": {"bandwidthAllocation": 0.5}}),
        ["'dialerConfig'", "exactly one of", "found 2"]),
    "v1-dialer-no-member": (V1, lambda i: v1_body(i, dialerConfig={}), ["'dialerConfig'", "exactly one of", "found 0"]),
    "v2-outbound-mode-no-member": (V2, lambda i: v2_body(i, channelSubtypeConfig=v2_telephony(outboundMode={})),
                                   ["'channelSubtypeConfig.telephony.outboundMode'", "found 0"]),
    "v2-source-two-members": (V2, lambda i: v2_body(i, source={
        "customerProfilesSegmentArn": SEGMENT_ARN, "eventTrigger": {"customerProfilesDomainArn": DOMAIN_ARN}}),
        ["'source'", "exactly one of", "found 2"]),
    "v1-bandwidth-1.5": (V1, lambda i: v1_body(i, dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.5}}),
                         ["'dialerConfig.progressiveDialerConfig.bandwidthAllocation'", "less than or equal to 1"]),
    "v2-bandwidth-negative": (V2, lambda i: v2_body(i, channelSubtypeConfig=v2_telephony(
        outboundMode={"predictive": {"bandwidthAllocation": -0.1}})),
        ["'channelSubtypeConfig.telephony.outboundMode.predictive.bandwidthAllocation'", "greater than or equal to 0"]),
    "v2-capacity-0": (V2, lambda i: v2_body(i, channelSubtypeConfig=v2_telephony(capacity=0)),
                      ["'channelSubtypeConfig.telephony.capacity'", "greater than or equal to 0.01"]),
    "v1-name-number": (V1, lambda i: v1_body(i, name=42), ["'name'", "must be a string"]),
    "v2-capacity-string": (V2, lambda i: v2_body(i, channelSubtypeConfig=v2_telephony(capacity="0.5")),
                           ["'channelSubtypeConfig.telephony.capacity'", "must be a number"]),
    "v2-dialer-config-list": (V2, lambda i: v2_body(i, channelSubtypeConfig=[TELEPHONY]),
                              ["'channelSubtypeConfig'", "must be a structure"]),
    "v1-tag-key-aws": (V1, lambda i: v1_body(i, tags={"aws:x": "1"}), ["'tags.aws:x.key'", "pattern"]),
    "v2-tag-key-aws": (V2, lambda i: v2_body(i, tags={"ok": "1", "aws:x": "1"}), ["'tags.aws:x.key'", "pattern"]),
    "v2-bad-enum-type": (V2, lambda i: v2_body(i, type="SOMETIMES"), ["'type'", "enum value set"]),
}


@pytest.mark.parametrize("case", list(CREATE_CASES))
def test_create_campaign_with_bad_input_is_refused_and_creates_nothing(server, v2, instance_id, case):
    path, build, fragments = CREATE_CASES[case]
    body = build(instance_id)
    assert_validation(send(server, "PUT", path, body), *fragments)
    assert campaigns_of(v2, instance_id) == []
    if "instance" in case:  # the campaign would not be filed under instance_id: look everywhere
        assert every_campaign_named(v2, f"wire-{instance_id}") == []


def test_several_problems_are_reported_together(server, v2, instance_id):
    body = v1_body(instance_id, name="", dialerConfig={}, tags={"aws:x": "1"})
    message = assert_validation(send(server, "PUT", V1, body), "3 validation errors detected",
                                "'name'", "'dialerConfig'", "'tags.aws:x.key'")
    assert message.count("failed to satisfy constraint") == 3
    assert campaigns_of(v2, instance_id) == []


@pytest.mark.parametrize("path,raw", [
    (V1, b'{"name": "x", "connectInstanceId": '),
    (V2, b"{not json}"),
    (V2, b"\xff\xfe{}"),
], ids=["v1-truncated", "v2-garbage", "v2-not-utf8"])
def test_malformed_json_body_is_refused(server, v2, instance_id, path, raw):
    assert_validation(send(server, "PUT", path, raw), "not valid JSON")
    assert campaigns_of(v2, instance_id) == []


def test_json_body_that_is_not_an_object_is_refused(server, v2, instance_id):
    assert_validation(send(server, "PUT", V2, b"[1, 2]"), "JSON object")


# --- other operations ------------------------------------------------------------------------------

def test_enum_violation_in_query_string(server, v2, instance_id):
    campaign_id = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY)["id"]
    reply = send(server, "DELETE", f"/v2/campaigns/{campaign_id}/channel-subtype-config", query="channelSubtype=FAX")
    assert_validation(reply, "'channelSubtype'", "enum value set", "TELEPHONY")
    assert v2.describe_campaign(id=campaign_id)["campaign"]["channelSubtypeConfig"] == TELEPHONY


def test_missing_required_query_member(server, v2, instance_id):
    campaign_id = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY)["id"]
    reply = send(server, "DELETE", f"/v2/campaigns/{campaign_id}/channel-subtype-config")
    assert_validation(reply, "Value null at 'channelSubtype'")
    assert v2.describe_campaign(id=campaign_id)["campaign"]["channelSubtypeConfig"] == TELEPHONY


@pytest.mark.parametrize("path", ["/campaigns-summary", "/v2/campaigns-summary"], ids=["v1", "v2"])
def test_instance_filter_operator_must_be_eq(server, path, instance_id):
    body = {"filters": {"instanceIdFilter": {"value": instance_id, "operator": "Ne"}}}
    assert_validation(send(server, "POST", path, body), "'filters.instanceIdFilter.operator'", "enum value set")


@pytest.mark.parametrize("path", ["/campaigns-summary", "/v2/campaigns-summary"], ids=["v1", "v2"])
@pytest.mark.parametrize("max_results,bound", [(0, "greater than or equal to 1"), (51, "less than or equal to 50")])
def test_max_results_out_of_range(server, path, max_results, bound):
    assert_validation(send(server, "POST", path, {"maxResults": max_results}), "'maxResults'", bound)


def test_max_results_of_wrong_type_in_query_string(server, instance_id):
    reply = send(server, "GET", f"/v2/connect-instance/{instance_id}/integrations", query="maxResults=ten")
    assert_validation(reply, "'maxResults'", "must be an integer")


@pytest.mark.parametrize("path", ["/campaigns-state", "/v2/campaigns-state"], ids=["v1", "v2"])
def test_get_campaign_state_batch_needs_at_least_one_id(server, path):
    assert_validation(send(server, "POST", path, {"campaignIds": []}), "'campaignIds'", "greater than or equal to 1")


def test_26_dial_requests_are_refused_and_none_is_stored(server, v2, v1, instance_id):
    campaign_id = running_campaign(v2, instance_id)
    requests = [{"clientToken": f"t{i}", "phoneNumber": "+15555550100", "expirationTime": later(),
                 "attributes": {}} for i in range(26)]
    reply = send(server, "PUT", f"/campaigns/{campaign_id}/dial-requests", {"dialRequests": requests})
    assert_validation(reply, "'dialRequests'", "less than or equal to 25")
    # Had t0 been stored, reusing its token for another number would fail with InvalidInput.
    answer = v1.put_dial_request_batch(id=campaign_id, dialRequests=[{
        "clientToken": "t0", "phoneNumber": "+15555550111", "expirationTime": datetime.now(timezone.utc) + timedelta(hours=1),
        "attributes": {}}])
    assert answer["failedRequests"] == [] and len(answer["successfulRequests"]) == 1


def test_21_profile_outbound_requests_are_refused_and_none_is_stored(server, v2, instance_id):
    campaign_id = running_campaign(v2, instance_id, source={"eventTrigger": {"customerProfilesDomainArn": DOMAIN_ARN}})
    requests = [{"clientToken": f"p{i}", "profileId": f"{i:032x}"} for i in range(21)]
    reply = send(server, "PUT", f"/v2/campaigns/{campaign_id}/profile-outbound-requests",
                 {"profileOutboundRequests": requests})
    assert_validation(reply, "'profileOutboundRequests'", "less than or equal to 20")
    answer = v2.put_profile_outbound_request_batch(id=campaign_id, profileOutboundRequests=[
        {"clientToken": "p0", "profileId": "f" * 32}])
    assert answer["failedRequests"] == [] and len(answer["successfulRequests"]) == 1


def test_sensitive_values_are_not_echoed(server, v2, instance_id):
    campaign_id = running_campaign(v2, instance_id)
    requests = [{"clientToken": "t", "phoneNumber": "call-me-maybe", "expirationTime": later(), "attributes": {}}]
    message = assert_validation(send(server, "PUT", f"/campaigns/{campaign_id}/dial-requests",
                                     {"dialRequests": requests}), "'dialRequests.1.member.phoneNumber'")
    assert "call-me-maybe" not in message


def test_bad_timestamp_is_refused(server, v2, instance_id):
    campaign_id = running_campaign(v2, instance_id)
    requests = [{"clientToken": "t", "phoneNumber": "+15555550100", "expirationTime": "next tuesday",
                 "attributes": {}}]
    assert_validation(send(server, "PUT", f"/campaigns/{campaign_id}/dial-requests", {"dialRequests": requests}),
                      "'dialRequests.1.member.expirationTime'", "timestamp")


def test_tag_key_starting_with_aws_is_refused_and_tags_unchanged(server, v2, instance_id):
    arn = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY,
                             tags={"team": "a"})["arn"]
    reply = send(server, "POST", f"/v2/tags/{quote(arn, safe='')}", {"tags": {"aws:x": "1", "team": "b"}})
    assert_validation(reply, "'tags.aws:x.key'")
    assert v2.list_tags_for_resource(arn=arn)["tags"] == {"team": "a"}


def test_update_with_bad_input_leaves_the_campaign_alone(server, v1, v2, instance_id):
    campaign_id = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY)["id"]
    before = v2.describe_campaign(id=campaign_id)["campaign"]
    reply = send(server, "POST", f"/campaigns/{campaign_id}/dialer-config",
                 {"dialerConfig": {"predictiveDialerConfig": {"bandwidthAllocation": 1.5}}})
    assert_validation(reply, "'dialerConfig.predictiveDialerConfig.bandwidthAllocation'")
    assert_validation(send(server, "POST", f"/v2/campaigns/{campaign_id}/name", {"name": "y" * 200}), "'name'")
    assert v2.describe_campaign(id=campaign_id)["campaign"] == before


# --- paths and methods -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/no/such/thing", "/v2/no-such-operation", "/campaigns/a/b/c/d"])
def test_unknown_path_is_an_aws_style_404(server, path):
    assert_aws_error(send(server, "GET", path), 404, "UnknownOperationException")


@pytest.mark.parametrize("method,path", [("PATCH", "/v2/campaigns"), ("GET", "/campaigns-summary"),
                                         ("POST", "/v2/campaigns/some-id")])
def test_wrong_method_on_known_path_is_a_clean_4xx(server, method, path):
    reply = send(server, method, path, {})
    assert 400 <= reply.status < 500
    assert reply.headers["x-amzn-errortype"]
    assert reply.json()["message"]
    assert "Traceback" not in reply.body.decode()


def test_arn_in_path_with_percent_encoded_separators(server, v2, instance_id):
    arn = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY,
                             tags={"team": "a"})["arn"]
    encoded = quote(arn, safe="")
    assert "%3A" in encoded and "%2F" in encoded
    for prefix in ("/v2/tags/", "/tags/"):
        reply = send(server, "GET", prefix + encoded)
        assert reply.status == 200, reply.body
        assert reply.json() == {"tags": {"team": "a"}}


def test_repeated_query_keys_remove_every_named_tag(server, v2, instance_id):
    arn = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY,
                             tags={"a": "1", "b": "2", "c": "3"})["arn"]
    reply = send(server, "DELETE", f"/v2/tags/{quote(arn, safe='')}", query="tagKeys=a&tagKeys=b")
    assert reply.status == 200, reply.body
    assert v2.list_tags_for_resource(arn=arn)["tags"] == {"c": "3"}


def test_health_answers_without_a_signature(server):
    with urllib.request.urlopen(server.url + "/_reachout/health", timeout=5) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/json")
        assert json.loads(response.read())["status"] == "ok"


# --- signatures, against the live server -----------------------------------------------------------

def test_wrong_secret_is_refused_and_changes_nothing(server, v2, instance_id):
    reply = send(server, "PUT", V2, v2_body(instance_id), secret="not-the-secret")
    message = assert_aws_error(reply, 403, "InvalidSignatureException")
    assert "signature we calculated does not match" in message
    assert campaigns_of(v2, instance_id) == []


def test_unknown_access_key_is_refused_and_changes_nothing(server, v2, instance_id):
    reply = send(server, "PUT", V2, v2_body(instance_id), key="AKIDNOBODYKNOWS")
    assert_aws_error(reply, 403, "UnrecognizedClientException")
    assert campaigns_of(v2, instance_id) == []


def test_missing_authorization_is_refused_and_changes_nothing(server, v2, instance_id):
    reply = send(server, "PUT", V2, v2_body(instance_id), sign=False)
    assert_aws_error(reply, 403, "MissingAuthenticationTokenException")
    assert campaigns_of(v2, instance_id) == []


def test_signature_20_minutes_old_has_expired_and_changes_nothing(server, v2, instance_id):
    campaign_id = v2.create_campaign(name="c", connectInstanceId=instance_id, channelSubtypeConfig=TELEPHONY)["id"]
    signer = functools.partial(SignedAt, moment=datetime.now(timezone.utc) - timedelta(minutes=20))
    reply = send(server, "POST", f"/v2/campaigns/{campaign_id}/start", signer=signer)
    assert "Signature expired" in assert_aws_error(reply, 403, "InvalidSignatureException")
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Initialized"
    # The same request signed now goes through: only the timestamp was wrong.
    assert send(server, "POST", f"/v2/campaigns/{campaign_id}/start").status == 200
    assert v2.get_campaign_state(id=campaign_id)["state"] == "Running"


def test_signature_from_20_minutes_ahead_is_not_yet_current(server, v2, instance_id):
    signer = functools.partial(SignedAt, moment=datetime.now(timezone.utc) + timedelta(minutes=20))
    reply = send(server, "PUT", V2, v2_body(instance_id), signer=signer)
    assert "Signature not yet current" in assert_aws_error(reply, 403, "InvalidSignatureException")
    assert campaigns_of(v2, instance_id) == []


def test_tampered_body_after_signing_is_refused(server, v2, instance_id):
    body = json.dumps(v2_body(instance_id)).encode()
    request = AWSRequest(method="PUT", url=server.url + V2, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "connect-campaigns", "us-east-1").add_auth(request)
    prepared = request.prepare()
    tampered = body.replace(b"wire-", b"evil-")
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("PUT", V2, body=tampered, headers=dict(prepared.headers))
        response = connection.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
    assert_aws_error(reply, 403, "InvalidSignatureException")
    assert campaigns_of(v2, instance_id) == []


def test_boto3_client_with_wrong_secret_gets_invalid_signature(server, instance_id):
    client = make_client(server.url, "connectcampaignsv2", aws_secret_access_key="wrong-secret")
    with pytest.raises(ClientError) as info:
        client.list_campaigns()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# --- hostile input: values JSON allows but no store can hold ---------------------------------

def test_nan_number_is_refused(server, v2, instance_id):
    raw = json.dumps(v2_body(instance_id)).replace('"bandwidthAllocation": 0.5', '"bandwidthAllocation": NaN')
    assert "NaN" in raw
    reply = send(server, "PUT", V2, raw.encode())
    assert_aws_error(reply, 400, "ValidationException")
    assert campaigns_of(v2, instance_id) == []


def test_null_tag_value_is_refused(server, v2, instance_id):
    reply = send(server, "PUT", V2, v2_body(instance_id, tags={"a": None}))
    assert_aws_error(reply, 400, "ValidationException")
    assert campaigns_of(v2, instance_id) == []


def test_unpaired_surrogate_in_string_is_refused(server, v2, instance_id):
    raw = json.dumps(v2_body(instance_id, name="PLACEHOLDER")).replace("PLACEHOLDER", "a\\ud800b")
    reply = send(server, "PUT", V2, raw.encode())
    assert_aws_error(reply, 400, "ValidationException")
    assert campaigns_of(v2, instance_id) == []


def _nul_token() -> str:
    return base64.urlsafe_b64encode(json.dumps(["2020-01-01T00:00:00+00:00", "a\u0000b"]).encode()).decode()


NUL_REQUESTS = {
    "v2-create-name": lambda i: ("PUT", V2, v2_body(i, name="a\u0000b")),
    "v1-describe-id": lambda i: ("GET", "/campaigns/ab%00cd", None),
    "v1-list-tags-arn": lambda i: ("GET", "/tags/" + quote(f"arn:aws:connect-campaigns:us-east-1:{ACCOUNT}:x\0y", safe=""),
                                   None),
    "v1-state-batch-id": lambda i: ("POST", "/campaigns-state", {"campaignIds": ["a\u0000b"]}),
    "v2-list-next-token": lambda i: ("POST", "/v2/campaigns-summary", {"nextToken": _nul_token()}),
}


@pytest.mark.parametrize("case", list(NUL_REQUESTS))
def test_nul_character_in_a_string_never_causes_a_5xx(server, instance_id, case):
    method, path, body = NUL_REQUESTS[case](instance_id)
    reply = send(server, method, path, body)
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        assert reply.headers["x-amzn-errortype"]


def test_request_id_header_on_every_answer(server):
    assert send(server, "POST", "/v2/campaigns-summary", {}).headers["x-amzn-requestid"]
    assert send(server, "GET", "/no/such/thing").headers["x-amzn-requestid"]
    assert send(server, "POST", "/v2/campaigns-summary", {}, sign=False).headers["x-amzn-requestid"]
    assert uuid.UUID(send(server, "POST", "/campaigns-summary", {}).headers["x-amzn-requestid"])
