"""SigV4 verification against requests signed by real botocore.

botocore stamps requests with the current clock and offers no hook for a fixed time, so rather than
patching it each test derives `now` for verify() from the X-Amz-Date (or Date) header botocore wrote.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.aws.errors import AwsError
from reachout.aws.sigv4 import SignedScope, verify

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SECRETS = {KEY: SECRET, "AKIDOTHER": "other-secret"}
BASE = "http://127.0.0.1:4570"
ARN_PATH = "/tags/arn%3Aaws%3Aconnect-campaigns%3Aus-west-2%3A123456789012%3Acampaign%2Fabc-123"
BODY = json.dumps({"tags": {"team": "outbound", "cost center": "42/ü"}}).encode()
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
AMZ = "%Y%m%dT%H%M%SZ"


@dataclasses.dataclass
class Signed:
    """A request as the server sees it: raw path and query, lowercase headers, body bytes."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    now: datetime  # the signing time, taken from the headers botocore set

    def verify(self, **overrides: object) -> SignedScope:
        args = dict(method=self.method, raw_path=self.path, raw_query=self.query, headers=self.headers,
                    body=self.body, secrets=SECRETS, now=self.now)
        args.update(overrides)
        return verify(**args)  # type: ignore[arg-type]

    def with_auth(self, authorization: str) -> Signed:
        return dataclasses.replace(self, headers={**self.headers, "authorization": authorization})


def sign(method: str = "POST", url: str = BASE + ARN_PATH, body: bytes = BODY, *,
         headers: dict[str, str] | None = None, key: str = KEY, secret: str = SECRET,
         service: str = "connect-campaigns", region: str = "us-west-2") -> Signed:
    request = AWSRequest(method=method, url=url, data=body,
                         headers=headers if headers is not None else {"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    parts = urlsplit(url)
    lowered = {name.lower(): value for name, value in request.headers.items()}
    lowered["host"] = parts.netloc  # added by the HTTP client, signed by botocore from the URL
    if "x-amz-date" in lowered:
        now = datetime.strptime(lowered["x-amz-date"], AMZ).replace(tzinfo=timezone.utc)
    else:
        # botocore writes "-0000", which email.utils reads as a naive (but UTC) datetime.
        now = parsedate_to_datetime(lowered["date"]).replace(tzinfo=timezone.utc)
    return Signed(method, parts.path, parts.query, lowered, body, now)


def raises(signed: Signed, code: str, **overrides: object) -> AwsError:
    with pytest.raises(AwsError) as info:
        signed.verify(**overrides)
    assert info.value.code == code
    assert info.value.status == 403
    return info.value


# --- accepted requests ---------------------------------------------------------------------------

@pytest.mark.parametrize("service,region", [("connect-campaigns", "us-west-2"), ("profile", "eu-central-1"),
                                            ("events", "ap-southeast-2")])
def test_valid_request_returns_scope(service: str, region: str) -> None:
    signed = sign(service=service, region=region)
    assert signed.verify() == SignedScope(KEY, signed.now.strftime("%Y%m%d"), region, service)


def test_get_with_repeated_query_keys_and_special_characters() -> None:
    query = "tagKeys=b&tagKeys=a&z=hello%20world%2Fx%3D%26y&a%2Bb=%E2%9C%93&empty=&flag"
    signed = sign("GET", f"{BASE}{ARN_PATH}?{query}", b"", headers={})
    assert signed.verify().access_key == KEY


def test_path_with_encoded_slash_and_colon_is_signed_double_encoded() -> None:
    signed = sign(url=BASE + "/campaigns/arn%3Aaws%3Aprofile%2Fx%2Fy/start")
    assert signed.verify().service == "connect-campaigns"
    # The same path decoded once is a different request as far as the signature goes.
    raises(signed, "InvalidSignatureException", raw_path="/campaigns/arn:aws:profile/x/y/start")


def test_dot_segments_and_double_slashes_are_normalised_like_botocore() -> None:
    signed = sign(url=BASE + "/a//b/./c/../d/")
    assert signed.verify(raw_path="/a//b/./c/../d/").region == "us-west-2"


def test_date_header_instead_of_x_amz_date() -> None:
    signed = sign(headers={"Date": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert "x-amz-date" not in signed.headers
    assert signed.verify().access_key == KEY


def test_unsigned_payload_is_accepted_when_declared_and_signed() -> None:
    signed = sign(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert signed.verify(body=b"anything").access_key == KEY


@pytest.mark.parametrize("minutes", [15, -15])
def test_exactly_fifteen_minutes_of_skew_is_accepted(minutes: int) -> None:
    signed = sign()
    assert signed.verify(now=signed.now + timedelta(minutes=minutes)).access_key == KEY


# --- rejected requests ---------------------------------------------------------------------------

def test_wrong_secret() -> None:
    assert raises(sign(secret="not-the-secret"), "InvalidSignatureException").message == MISMATCH


def test_unknown_access_key() -> None:
    error = raises(sign(key="AKIDUNKNOWN"), "UnrecognizedClientException")
    assert error.message == "The security token included in the request is invalid."


def test_missing_authorization() -> None:
    signed = sign()
    del signed.headers["authorization"]
    assert raises(signed, "MissingAuthenticationTokenException").message == "Missing Authentication Token"


def test_presigned_query_authentication_is_rejected() -> None:
    signed = sign()
    del signed.headers["authorization"]
    raises(signed, "IncompleteSignatureException", raw_query="X-Amz-Algorithm=AWS4-HMAC-SHA256")


@pytest.mark.parametrize("missing", ["Credential", "SignedHeaders", "Signature"])
def test_authorization_missing_a_part(missing: str) -> None:
    signed = sign()
    parts = signed.headers["authorization"].removeprefix("AWS4-HMAC-SHA256 ").split(", ")
    authorization = "AWS4-HMAC-SHA256 " + ", ".join(p for p in parts if not p.startswith(missing + "="))
    error = raises(signed.with_auth(authorization), "IncompleteSignatureException")
    assert error.message == f"Authorization header requires '{missing}' parameter. Authorization={authorization}"


def test_authorization_missing_everything_names_every_part() -> None:
    error = raises(sign().with_auth("AWS4-HMAC-SHA256"), "IncompleteSignatureException")
    assert error.message.count("Authorization header requires") == 3


@pytest.mark.parametrize("mangle", [
    lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1),
    lambda a: a.replace("/aws4_request", "/aws5_request"),
    lambda a: a.replace("/us-west-2/", "/"),
    lambda a: a.replace("/us-west-2/", "/us-west-2/extra/"),
], ids=["algorithm", "terminator", "four-parts", "six-parts"])
def test_malformed_authorization(mangle) -> None:  # type: ignore[no-untyped-def]
    signed = sign()
    raises(signed.with_auth(mangle(signed.headers["authorization"])), "IncompleteSignatureException")


def test_missing_date_headers() -> None:
    signed = sign()
    del signed.headers["x-amz-date"]
    error = raises(signed, "IncompleteSignatureException")
    assert error.message == ("Authorization header requires existence of either a 'X-Amz-Date' "
                             "or a 'Date' header.")


def test_malformed_x_amz_date() -> None:
    signed = sign()
    signed.headers["x-amz-date"] = "yesterday"
    raises(signed, "IncompleteSignatureException")


def test_expired() -> None:
    signed = sign()
    t = signed.now
    error = raises(signed, "InvalidSignatureException", now=t + timedelta(minutes=16))
    assert error.message == (f"Signature expired: {t:{AMZ}} is now earlier than "
                             f"{t + timedelta(minutes=1):{AMZ}} ({t + timedelta(minutes=16):{AMZ}} - 15 min.)")


def test_not_yet_current() -> None:
    signed = sign()
    t = signed.now
    error = raises(signed, "InvalidSignatureException", now=t - timedelta(minutes=16))
    assert error.message == (f"Signature not yet current: {t:{AMZ}} is still later than "
                             f"{t - timedelta(minutes=1):{AMZ}} ({t - timedelta(minutes=16):{AMZ}} + 15 min.)")


def test_credential_date_differs_from_request_date() -> None:
    signed = sign()
    day = signed.now.strftime("%Y%m%d")
    other = (signed.now + timedelta(days=1)).strftime("%Y%m%d")
    error = raises(signed.with_auth(signed.headers["authorization"].replace(f"/{day}/", f"/{other}/")),
                   "InvalidSignatureException")
    assert f"'{other}' != '{day}'" in error.message


def test_host_must_be_signed() -> None:
    signed = sign()
    authorization = signed.headers["authorization"].replace("SignedHeaders=content-type;host;",
                                                            "SignedHeaders=content-type;")
    assert authorization != signed.headers["authorization"]
    assert "'Host'" in raises(signed.with_auth(authorization), "InvalidSignatureException").message


def test_tampered_body() -> None:
    assert raises(sign(), "InvalidSignatureException", body=BODY.replace(b"42", b"43")).message == MISMATCH


def test_tampered_body_with_declared_payload_hash() -> None:
    import hashlib
    signed = sign(headers={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert signed.verify().access_key == KEY
    error = raises(signed, "InvalidSignatureException", body=BODY + b" ")
    assert "x-amz-content-sha256" in error.message


def test_tampered_query() -> None:
    signed = sign("GET", f"{BASE}{ARN_PATH}?tagKeys=a&tagKeys=b", b"", headers={})
    raises(signed, "InvalidSignatureException", raw_query="tagKeys=a&tagKeys=c")
    raises(signed, "InvalidSignatureException", raw_query="tagKeys=a")


def test_tampered_signed_header() -> None:
    signed = sign(headers={"Content-Type": "application/json", "X-Amz-Target": "Campaigns.Start"})
    assert "x-amz-target" in signed.headers["authorization"]
    signed.headers["x-amz-target"] = "Campaigns.Delete"
    assert raises(signed, "InvalidSignatureException").message == MISMATCH


def test_unsigned_header_may_change() -> None:
    signed = sign()
    signed.headers["user-agent"] = "something else"
    assert signed.verify().access_key == KEY


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    signed = sign()
    authorization = signed.headers["authorization"].rsplit("=", 1)[0] + "=é" * 64
    assert raises(signed.with_auth(authorization), "InvalidSignatureException").message == MISMATCH


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        sign().verify(now=datetime(2026, 1, 1))


# --- properties ----------------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8"), max_size=12)
segments = st.lists(text, min_size=0, max_size=4)
queries = st.lists(st.tuples(text, text), max_size=5)


def build_url(path_segments: list[str], query: list[tuple[str, str]]) -> str:
    # Percent-encode the way botocore's serializers do, so the wire form is what a client would send.
    path = "/" + "/".join(quote(s, safe="") for s in path_segments)
    qs = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    return BASE + path + ("?" + qs if qs else "")


@settings(max_examples=150, deadline=None)
@given(segments, queries, st.binary(max_size=64), st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_botocore_signed_requests_always_verify(path_segments: list[str], query: list[tuple[str, str]],
                                                body: bytes, method: str) -> None:
    signed = sign(method, build_url(path_segments, query), body)
    assert signed.verify().access_key == KEY


@settings(max_examples=150, deadline=None)
@given(segments, queries, st.binary(min_size=1, max_size=64), st.data())
def test_flipping_any_body_byte_fails(path_segments: list[str], query: list[tuple[str, str]],
                                      body: bytes, data: st.DataObject) -> None:
    signed = sign("POST", build_url(path_segments, query), body)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(body)
    tampered[index] ^= flip
    raises(signed, "InvalidSignatureException", body=bytes(tampered))
