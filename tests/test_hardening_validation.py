"""Input that used to cost a server error or a blocked server, refused as AWS refuses it.

- Length before pattern, and bounded pattern matching: connect's DirectoryAlias pattern backtracks,
  and a 10,000-character InstanceAlias held the whole server for seconds.
- JSON nested thousands of levels deep (a body on each protocol, PutEvents Detail, TestEventPattern's
  Event, a flow's Content) raised RecursionError: now the service's validation error, or a failed entry.
- Integer members are int32 (`integer`) or int64 (`long`): qconnect versionNumber=10**30 overflowed.
- A 204 answer (qconnect deletes) carries no body: the ASGI server refused to send one and logged an error.
"""
from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import ShapeResolver

from reachout.aws.errors import ParamValidationError
from reachout.aws.validation import validate
from reachout.json_text import MAX_JSON_DEPTH
from tests.support import ACCESS_KEY, SECRET_KEY, unchecked
from tests.expect import aws_error

DEEP = 5000


def raw(server, signing_name: str, method: str, path: str, body: bytes, **headers) -> tuple[int, dict, bytes]:
    """One signed request, byte for byte: what a client other than boto3 may send."""
    request = AWSRequest(method=method, url=server.url + path, data=body,
                         headers={"Content-Type": "application/json", **headers})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), signing_name, "us-east-1").add_auth(request)
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=dict(request.headers.items()))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- patterns ----------------------------------------------------------------------------------------

def test_overlong_instance_alias_is_refused_on_its_length_alone(server):
    connect = unchecked(server, "connect")
    with aws_error("InvalidRequestException", "Member must have length less than or equal to 45") as caught:
        connect.create_instance(IdentityManagementType="CONNECT_MANAGED", InstanceAlias="a" * 10_000 + "!",
                                InboundCallsEnabled=True, OutboundCallsEnabled=True)
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected"), message  # the pattern was never run on it
    assert "a" * 50 not in message  # InstanceAlias is sensitive: never echoed


def test_a_pattern_match_that_does_not_finish_in_time_fails_the_pattern():
    # Alternatives that backtrack exponentially before the second branch matches: unbounded, this
    # value takes many seconds to be found valid; bounded, it fails its pattern within the request's budget.
    pattern = "^(a|a)+b$|^a+!$"
    shape = ShapeResolver({"Input": {"type": "structure", "members": {"alias": {"shape": "Alias"}}},
                           "Alias": {"type": "string", "pattern": pattern}}).get_shape_by_name("Input")
    with pytest.raises(ParamValidationError) as caught:
        validate(shape, {"alias": "a" * 26 + "!"})
    assert caught.value.problems == [f"Value '{'a' * 26}!' at 'alias' failed to satisfy constraint: "
                                     f"Member must satisfy regular expression pattern: {pattern}"]


# --- JSON nesting ------------------------------------------------------------------------------------

# One operation per service: (signing name, method, path, extra headers, the service's validation error).
NESTED_BODY = {
    "connectcampaigns": ("connect-campaigns", "POST", "/campaigns-summary", {}, "ValidationException"),
    "connectcampaignsv2": ("connect-campaigns", "POST", "/v2/campaigns-summary", {}, "ValidationException"),
    "customer-profiles": ("profile", "POST", "/domains/d1/profiles/search", {}, "BadRequestException"),
    "connect": ("connect", "POST", "/search-users", {}, "InvalidParameterException"),
    "qconnect": ("wisdom", "POST", "/knowledgeBases/kb1/search", {}, "ValidationException"),
    "events": ("events", "POST", "/", {"X-Amz-Target": "AWSEvents.ListRules",
                                      "Content-Type": "application/x-amz-json-1.1"}, "ValidationException"),
}


@pytest.mark.parametrize("service", list(NESTED_BODY))
def test_deeply_nested_body_is_the_services_validation_error(server, service):
    signing_name, method, path, headers, code = NESTED_BODY[service]
    body = b'{"x":' * DEEP + b"1" + b"}" * DEEP
    status, answer_headers, answer = raw(server, signing_name, method, path, body, **headers)
    assert status == 400, answer
    assert answer_headers["x-amzn-errortype"] == code
    message = json.loads(answer).get("message") or json.loads(answer)["Message"]
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in message


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not(server):
    def listing(levels: int) -> int:
        body = '{"unmodelled": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"
        return raw(server, "connect-campaigns", "POST", "/v2/campaigns-summary", body.encode())[0]

    assert listing(MAX_JSON_DEPTH) == 200
    assert listing(MAX_JSON_DEPTH + 1) == 400


def test_put_events_with_deeply_nested_detail_fails_that_entry_only(client):
    events = client("events")
    answer = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "Order", "Detail": '{"a":' * DEEP + "1" + "}" * DEEP},
        {"Source": "my.app", "DetailType": "Order", "Detail": json.dumps({"id": 1})},
    ])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "InvalidArgument"
    assert answer["Entries"][0]["ErrorMessage"] == "Detail is malformed."
    assert "EventId" in answer["Entries"][1]


def test_test_event_pattern_with_deeply_nested_event_is_a_validation_error(client):
    events = client("events")
    event = '{"id": "1", "account": "1", "source": "a", "time": "t", "region": "r", "detail-type": "d", ' \
            '"detail": ' + "[" * DEEP + "]" * DEEP + "}"
    with aws_error("ValidationException", "Parameter Event is not valid."):
        events.test_event_pattern(EventPattern='{"source": ["a"]}', Event=event)


def test_contact_flow_with_deeply_nested_content_is_refused(client):
    connect = client("connect")
    instance = connect.create_instance(IdentityManagementType="CONNECT_MANAGED", InstanceAlias=f"x{uuid.uuid4().hex[:12]}",
                                       InboundCallsEnabled=True, OutboundCallsEnabled=True)["Id"]
    with aws_error("InvalidContactFlowException"):
        connect.create_contact_flow(InstanceId=instance, Name="deep", Type="CONTACT_FLOW",
                                    Content="[" * DEEP + "]" * DEEP)


# --- integer widths ----------------------------------------------------------------------------------

def test_qconnect_version_number_beyond_int64_is_a_validation_error(server):
    qconnect = unchecked(server, "qconnect")
    with aws_error("ValidationException", "'versionNumber' failed to satisfy constraint: "
                                          "Member must have value less than or equal to 9223372036854775807"):
        qconnect.activate_message_template(knowledgeBaseId=str(uuid.uuid4()), messageTemplateId=str(uuid.uuid4()),
                                           versionNumber=10**30)


def test_integer_label_beyond_int64_is_a_validation_error(server):
    # DeleteAIAgentVersion's versionNumber is a path label: text on the wire, a long in the model.
    path = f"/assistants/{uuid.uuid4()}/aiagents/{uuid.uuid4()}/versions/{10**30}"
    status, headers, body = raw(server, "wisdom", "DELETE", path, b"")
    assert status == 400, body
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert "less than or equal to 9223372036854775807" in json.loads(body)["message"]


@pytest.mark.parametrize("value,expected", [
    (2**31, "less than or equal to 2147483647"),
    ("1_0", "must be an integer"),
    ("\uff11\uff10", "must be an integer"),  # full-width digits, which Python's int() accepts
])
def test_integer_query_values_must_be_ascii_int32(server, value, expected):
    path = f"/v2/connect-instance/abc/integrations?maxResults={quote(str(value))}"
    status, headers, body = raw(server, "connect-campaigns", "GET", path, b"")
    assert status == 400, body
    assert expected in json.loads(body)["message"]


# --- 204 -----------------------------------------------------------------------------------------------

def test_qconnect_delete_answers_204_with_no_body(server, client):
    qconnect = client("qconnect")
    kb = qconnect.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:8]}",
                                        knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]["knowledgeBaseId"]
    template = qconnect.create_message_template(
        knowledgeBaseId=kb, name="bye", channelSubtype="SMS",
        content={"sms": {"body": {"plainText": {"content": "Bye"}}}})["messageTemplate"]["messageTemplateId"]
    log_start = len(server.log.read_text())
    status, headers, body = raw(server, "wisdom", "DELETE", f"/knowledgeBases/{kb}/messageTemplates/{template}", b"")
    assert (status, body) == (204, b"")
    assert "content-type" not in headers
    assert "ASGI" not in server.log.read_text()[log_start:]  # the server did not fail to write its answer
    with aws_error("ResourceNotFoundException"):
        qconnect.get_message_template(knowledgeBaseId=kb, messageTemplateId=template)
