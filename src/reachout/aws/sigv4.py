"""Server-side verification of AWS Signature Version 4 (Authorization-header form).

The canonical request is rebuilt the way botocore builds it for non-S3 services, so that requests
from unmodified SDK clients verify byte for byte. Failures raise AwsError with the codes and
messages real AWS endpoints return, which botocore maps to its usual ClientError subclasses.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

from reachout.aws.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class SignedScope:
    access_key: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str  # signing name from the credential scope, e.g. "connect-campaigns"


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    now: datetime,
) -> SignedScope:
    """Check the request's SigV4 signature and return its credential scope, or raise AwsError."""
    return claim(raw_query, headers, secrets, now).prove(method, raw_path, raw_query, headers, body)


@dataclass(frozen=True)
class Claim:
    """What the headers alone say about a signature: enough to refuse a request before its body is read,
    not enough to accept it (the signature covers the body)."""

    scope: SignedScope
    signed_headers: list[str]
    signature: str
    secret: str
    amz_date: str

    def prove(self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes) -> SignedScope:
        """The scope, if the signature matches the whole request; else raise AwsError."""
        canonical_request = "\n".join([
            method.upper(),
            _canonical_uri(raw_path),
            _canonical_query(raw_query),
            "".join(f"{name}:{_trim(headers.get(name, ''))}\n" for name in self.signed_headers),
            ";".join(self.signed_headers),
            _payload_hash(headers, body),
        ])
        scope = self.scope
        credential_scope = f"{scope.date}/{scope.region}/{scope.service}/aws4_request"
        string_to_sign = "\n".join([
            ALGORITHM, self.amz_date, credential_scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ])
        key = _signing_key(self.secret, scope.date, scope.region, scope.service)
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        # Compare bytes: compare_digest rejects non-ASCII str, and the client controls `signature`.
        if not hmac.compare_digest(expected.encode(), self.signature.encode("utf-8")):
            raise _invalid(SIGNATURE_MISMATCH)
        return scope


def claim(raw_query: str, headers: Mapping[str, str], secrets: Mapping[str, str], now: datetime) -> Claim:
    """Everything a signature can be refused for without the body: a missing or malformed Authorization,
    a bad or skewed date, an unknown access key. Raises AwsError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    authorization = headers.get("authorization")
    if not authorization:
        if "X-Amz-Algorithm=" in raw_query:
            raise _incomplete("Query-string (presigned URL) authentication is not supported; "
                              "sign the request with an Authorization header.")
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", status=403)

    scope, signed_headers, signature = _parse_authorization(authorization)
    # botocore always signs host; without it a signature could be replayed against another endpoint.
    if "host" not in signed_headers:
        raise _invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.")

    request_time = _request_time(headers)
    amz_date = _amz_text(request_time)
    if scope.date != amz_date[:8]:
        raise _invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                       f"from HTTP: '{scope.date}' != '{amz_date[:8]}', from '{amz_date}'.")
    _check_skew(request_time, now.astimezone(timezone.utc))

    secret = secrets.get(scope.access_key)
    if secret is None:
        raise AwsError("UnrecognizedClientException",
                       "The security token included in the request is invalid.", status=403)
    return Claim(scope, signed_headers, signature, secret, amz_date)


def _parse_authorization(authorization: str) -> tuple[SignedScope, list[str], str]:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'. Authorization={authorization}")
    params: dict[str, str] = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        params[name] = value.strip()
    # AWS lists every missing parameter at once, each in its own sentence.
    missing = [p for p in ("Credential", "Signature", "SignedHeaders") if not params.get(p)]
    if missing:
        raise _incomplete(" ".join(f"Authorization header requires '{p}' parameter." for p in missing)
                          + f" Authorization={authorization}")
    parts = params["Credential"].split("/")
    if len(parts) != 5 or not all(parts) or parts[4] != "aws4_request":
        raise _incomplete("Credential should be of the form "
                          "'<access key>/<YYYYMMDD>/<region>/<service>/aws4_request', "
                          f"not '{params['Credential']}'. Authorization={authorization}")
    scope = SignedScope(access_key=parts[0], date=parts[1], region=parts[2], service=parts[3])
    return scope, params["SignedHeaders"].lower().split(";"), params["Signature"]


def _request_time(headers: Mapping[str, str]) -> datetime:
    amz_date = headers.get("x-amz-date")
    if amz_date:
        try:
            return _amz_instant(amz_date)
        except ValueError:
            raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                              "See http://en.wikipedia.org/wiki/ISO_8601") from None
    date = headers.get("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise _incomplete(f"Date must be in RFC 1123 format. Got '{date}'.") from None
        # RFC 1123 dates are GMT; a zone-less parse means "-0000", i.e. UTC as well.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")


@lru_cache(maxsize=256)  # clients sign to the second: consecutive requests mostly share one
def _amz_instant(amz_date: str) -> datetime:
    return datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)


@lru_cache(maxsize=256)
def _amz_text(moment: datetime) -> str:
    return moment.strftime(AMZ_DATE_FORMAT)


def _check_skew(request_time: datetime, now: datetime) -> None:
    if request_time < now - MAX_SKEW:
        raise _invalid(f"Signature expired: {_amz_text(request_time)} is now earlier than "
                       f"{_amz_text(now - MAX_SKEW)} ({_amz_text(now)} - 15 min.)")
    if request_time > now + MAX_SKEW:
        raise _invalid(f"Signature not yet current: {_amz_text(request_time)} is still later than "
                       f"{_amz_text(now + MAX_SKEW)} ({_amz_text(now)} + 15 min.)")


def _canonical_uri(raw_path: str) -> str:
    # botocore drops empty and "." segments and resolves ".." before signing (RFC 3986 5.2.4 plus
    # AWS's collapsing of "//"), then percent-encodes the still-encoded path a second time.
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if segments and raw_path.endswith("/"):
        path += "/"
    return quote(path, safe="/~")


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    actual = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-amz-content-sha256")
    if claimed is None:
        return actual
    # The signature covers only the claimed hash, so the claim must match the body actually received,
    # unless the client explicitly opted out of payload signing (botocore does so over https for some
    # operations). Chunk-signed streaming payloads are not supported and fail here.
    if claimed != actual and claimed not in UNSIGNED_PAYLOADS:
        raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
    return claimed


def _trim(value: str) -> str:
    # SigV4 "Trimall": strip the ends and collapse inner whitespace runs to a single space.
    return " ".join(value.split())


@lru_cache(maxsize=64)  # a key serves a day of one client's calls to one service and region
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _incomplete(message: str) -> AwsError:
    return AwsError("IncompleteSignatureException", message, status=403)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidSignatureException", message, status=403)
