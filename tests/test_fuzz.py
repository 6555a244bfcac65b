"""Malformed input on every operation of the six services, derived from botocore's models: no answer
may be a server error.

For each operation a seeded generator builds a plausible request from the input shape, then a
bounded handful of broken ones: members of the wrong JSON type, over-long and backtracking strings,
numbers beyond int32/int64/double, JSON nested thousands of levels deep (in the body and in a member),
bodies that are not UTF-8, not JSON or not an object, and odd path labels, query values and headers.
Each is signed with SigV4 and sent byte for byte to a `reachout serve` of the test's own. Every answer
must be below 500 (501 NotImplemented, for an operation Reachout does not serve, is the one allowed),
and the server must stay healthy and log no traceback.

Deterministic: one seed per operation. Bounded: at most CASES_PER_OPERATION requests per operation.
"""
from __future__ import annotations

import base64
import http.client
import json
import random
import time
import urllib.request
from datetime import datetime, timezone
from urllib.parse import quote, urlencode, urlsplit

import botocore.session
import pytest
import regex
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import OperationModel, ServiceModel, Shape

from tests.support import ACCESS_KEY, SECRET_KEY, postgres_database, sqlite_database, start_server

SERVICES = ["connectcampaigns", "connectcampaignsv2", "customer-profiles", "connect", "qconnect", "events"]
CASES_PER_OPERATION = 18
NODE_BUDGET = 120  # members of the fullest valid body, so that connect's wide shapes stay small
DEEP = 3000  # JSON levels of the nesting attacks: beyond Python's recursion limit

# Strings tried in turn until one fits a member's length and pattern, so that valid requests get past
# validation and into the handlers.
CANDIDATES = ["abc", "a", "Abc123", "abc-123_x", "1", "123456789012", "12345678-1234-4234-8234-123456789012",
              "arn:aws:connect:us-east-1:111122223333:instance/12345678-1234-4234-8234-123456789012",
              "+12065550100", "a@example.com", "https://example.com/a", "default", "aws.partner/example.com/x",
              "ABCDEFGHIJ", "0123456789abcdef0123456789abcdef", "2030-01-01", "2030-01-01T00:00:00Z", "PT1H",
              "arn:aws:profile:us-east-1:111122223333:domains/abc", "arn:aws:events:us-east-1:111122223333:rule/abc",
              "arn:aws:wisdom:us-east-1:111122223333:knowledge-base/12345678-1234-4234-8234-123456789012",
              "arn:aws:iam::111122223333:role/abc", "s3://bucket/key", "text/plain", "us-west-2", "abc.def"]
# Wrong JSON values per model type; "RAW:" values are JSON tokens json.dumps cannot write.
WRONG = {
    "string": [12, [], {}, True, 1.5, ["a"]],
    "integer": ["12", 1.5, True, 10**30, -(2**31) - 1, 2**31, "RAW:1e999", []],
    "long": ["12", 2.5, False, 10**30, 2**63, -(2**63) - 1, "RAW:-1e999", {}],
    "float": ["1.5", True, 10**400, "RAW:1e999", "RAW:NaN", []],
    "double": ["1.5", False, 10**400, "RAW:-1e999", "RAW:Infinity", {}],
    "boolean": ["true", 1, 0, [], None],
    "timestamp": ["not a time", {}, [], 10**30, -1e20, "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
                  True, 1e300],
    "blob": ["!!!not base64", 5, [], "YQ"],
    "structure": ["x", [], 5, True, {"\ud800": 1}],
    "list": [{}, "x", 5, [None], [[[]]]],
    "map": [[], "x", 5, {"a\u0000b": "x"}, {"\udc00": "x"}],
}
LABEL_VALUES = ["", "..", "%00", "a%2Fb", "%ff%fe", "%", "%ZZ", "x" * 3000, "%C3%A9%E2%80%AE", "a%20b%3F%23",
                "-1", "99999999999999999999999999999", "1.5", "%F0%9F%92%A9", "null"]
QUERY_VALUES = ["", "\x00", "1e999", "-1", "9" * 40, "true", "\u00e9", "\ud83d\udca9", "1.5", "x" * 3000, "%ff",
                "2024-13-45", "NaN"]
HEADER_VALUES = ["", "x" * 3000, "\u00e9", "e30=", "!!!", "-9" * 30]


def service_models() -> dict[str, ServiceModel]:
    loader = botocore.session.get_session().get_component("data_loader")
    return {name: ServiceModel(loader.load_service_model(name, "service-2"), name) for name in SERVICES}


MODELS = service_models()


# --- valid values, as far as a generator can tell ------------------------------------------------

def _fits(shape: Shape, text: str) -> bool:
    meta = shape.metadata
    if not meta.get("min", 0) <= len(text) <= meta.get("max", 10**9):
        return False
    pattern = meta.get("pattern")
    if pattern is None:
        return True
    try:
        compiled = regex.compile(pattern)
    except regex.error:
        return False
    anchored = pattern.startswith("^") or pattern.endswith("$")
    return bool(compiled.search(text, timeout=0.1) if anchored else compiled.fullmatch(text, timeout=0.1))


def text_for(shape: Shape) -> str:
    if shape.enum:
        return shape.enum[0]
    for candidate in CANDIDATES:
        if _fits(shape, candidate):
            return candidate
    return "a" * max(shape.metadata.get("min", 1), 1)


class Valid:
    """A plausible value for a shape: required members always, optional ones while the budget lasts."""

    def __init__(self, rng: random.Random, optional: float):
        self.rng, self.optional, self.budget = rng, optional, NODE_BUDGET

    def __call__(self, shape: Shape, depth: int = 0):
        self.budget -= 1
        kind = shape.type_name
        if shape.metadata.get("document"):
            return {"a": [1, "b"]}
        if kind == "structure":
            names = list(shape.members)
            if shape.metadata.get("union"):
                names = [self.rng.choice(names)] if names else []
            else:
                names = [n for n in names if n in shape.required_members
                         or (depth < 8 and self.budget > 0 and self.rng.random() < self.optional)]
            return {n: self(shape.members[n], depth + 1) for n in names}
        if kind == "list":
            count = max(shape.metadata.get("min", 1), 1) if self.budget > 0 or shape.metadata.get("min") else 0
            return [self(shape.member, depth + 1) for _ in range(min(count, 3))]
        if kind == "map":
            return {text_for(shape.key): self(shape.value, depth + 1)}
        if kind == "string":
            return text_for(shape)
        if kind in ("integer", "long"):
            return max(shape.metadata.get("min", 1), min(shape.metadata.get("max", 10), 10))
        if kind in ("float", "double"):
            return max(shape.metadata.get("min", 0.5), min(shape.metadata.get("max", 0.5), 0.5))
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return 1700000000
        if kind == "blob":
            return "YWJj"
        return None


# --- a request on the wire ------------------------------------------------------------------------

class Request:
    """An operation's params laid out by location (labels, query, headers, JSON body), ready to break."""

    def __init__(self, service: ServiceModel, operation: OperationModel, params: dict):
        self.service, self.operation = service, operation
        self.labels: dict[str, str] = {}
        self.query: list[tuple[str, str]] = []
        self.headers: dict[str, str] = {}
        self.body: dict = {}
        self.raw_body: bytes | None = None
        shape = operation.input_shape
        for name, value in params.items():
            member = shape.members[name]
            location, wire = member.serialization.get("location"), member.serialization.get("name", name)
            if location == "uri":
                self.labels[wire] = quote(_text(value), safe="")
            elif location == "querystring":
                if member.type_name == "map":
                    self.query += [(k, _text(v)) for k, v in value.items()]
                elif member.type_name == "list":
                    self.query += [(wire, _text(v)) for v in value]
                else:
                    self.query.append((wire, _text(value)))
            elif location == "header":
                self.headers[wire] = _text(value)
            elif location is None:
                self.body[wire] = _wire_json(member, value)

    def send(self, connection: Connection) -> tuple[int, bytes]:
        if self.service.protocol == "json":
            method, path = "POST", "/"
            headers = {"X-Amz-Target": f"{self.service.metadata['targetPrefix']}.{self.operation.name}",
                       "Content-Type": "application/x-amz-json-1.1"}
        else:
            method = self.operation.http["method"]
            template, _, literal = self.operation.http["requestUri"].partition("?")
            path = regex.sub(r"\{([^}+]+)\+?\}", lambda m: self.labels.get(m.group(1), "x"), template)
            pairs = ([tuple(p.split("=", 1)) if "=" in p else (p, "") for p in literal.split("&")] if literal else [])
            query = urlencode(pairs + self.query, quote_via=quote, errors="surrogatepass")
            path += f"?{query}" if query else ""
            headers = {"Content-Type": "application/json"}
        headers.update(self.headers)
        data = self.raw_body if self.raw_body is not None else _dump(self.body)
        return connection.send(method, path, headers, data, self.service)


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _wire_json(shape: Shape, value):
    """Model member names -> wire names, recursively (the JSON body uses the serialized names)."""
    if shape.type_name == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
        return {(shape.members[k].serialization.get("name", k) if k in shape.members else k):
                (_wire_json(shape.members[k], v) if k in shape.members else v) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_wire_json(shape.member, v) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _wire_json(shape.value, v) for k, v in value.items()}
    return value


def _dump(body) -> bytes:
    raws: list[str] = []

    def placeholder(value):
        if isinstance(value, str) and value.startswith("RAW:"):
            raws.append(value[4:])
            return f"__raw{len(raws) - 1}__"
        if isinstance(value, dict):
            return {k: placeholder(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholder(v) for v in value]
        return value

    text = json.dumps(placeholder(body))
    for i, raw in enumerate(raws):
        text = text.replace(f'"__raw{i}__"', raw)
    return text.encode("utf-8", "surrogatepass")


class Connection:
    """One keep-alive connection to the server, reopened when the server closes it."""

    def __init__(self, url: str):
        self.parts = urlsplit(url)
        self.http: http.client.HTTPConnection | None = None
        self.sent = 0

    def send(self, method: str, path: str, headers: dict, body: bytes, service: ServiceModel) -> tuple[int, bytes]:
        request = AWSRequest(method=method, url=f"{self.parts.scheme}://{self.parts.netloc}{path}", data=body,
                             headers=headers)
        signing_name = service.metadata.get("signingName", service.metadata["endpointPrefix"])
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), signing_name, "us-east-1").add_auth(request)
        prepared = {k: v.encode("latin-1", "replace") if isinstance(v, str) else v for k, v in request.headers.items()}
        for attempt in (1, 2):
            if self.http is None:
                self.http = http.client.HTTPConnection(self.parts.hostname, self.parts.port, timeout=30)
            try:
                self.http.request(method, path, body=body, headers=prepared)
                response = self.http.getresponse()
                answer = response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:  # the server closed a fresh connection: that is a failure, not a 4xx
                    return 599, b"connection closed by the server"
                continue
            if response.will_close:
                self.close()
            self.sent += 1
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


# --- the broken requests ---------------------------------------------------------------------------

def _paths(shape: Shape, value, path=()) -> list[tuple[tuple, Shape]]:
    """Every (path, shape) of a model-shaped value, below the top level's body members."""
    found = [(path, shape)] if path else []
    if shape.metadata.get("document"):
        return found
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            found += _paths(shape.members[name], item, path + (name,))
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(shape.member, item, path + (i,))
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += _paths(shape.value, item, path + (key,))
    return found


def _replaced(value, path: tuple, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return {k: (_replaced(v, rest, new) if k == head else v) for k, v in value.items()}


def _nested(levels: int) -> str:
    return "RAW:" + "[" * levels + "]" * levels


def cases(service: ServiceModel, operation: OperationModel) -> list[tuple[str, Request]]:
    rng = random.Random(f"{service.service_name}.{operation.name}")
    shape = operation.input_shape
    minimal = Valid(rng, optional=0.0)(shape)
    full = Valid(rng, optional=0.7)(shape)
    out: list[tuple[str, Request]] = [("valid", Request(service, operation, minimal)),
                                      ("valid-full", Request(service, operation, full))]
    members = shape.members
    body_names = [n for n, m in members.items() if m.serialization.get("location") is None]

    def body_locations(paths):  # a path starts with a top-level member name
        return [(p, s) for p, s in paths if members[p[0]].serialization.get("location") is None]

    paths = body_locations(_paths(shape, full))
    for path, member in rng.sample(paths, min(5, len(paths))):
        wrong = rng.choice(WRONG.get(member.type_name, WRONG["string"]))
        out.append((f"wrong-type {'.'.join(map(str, path))}={str(wrong)[:20]}",
                    Request(service, operation, _replaced(full, path, wrong))))
    numbers = [(p, s) for p, s in paths if s.type_name in ("integer", "long", "float", "double")]
    for path, member in rng.sample(numbers, min(1, len(numbers))):
        huge = {"integer": 2**31, "long": 10**30}.get(member.type_name, 10**400)
        out.append((f"huge {'.'.join(map(str, path))}", Request(service, operation, _replaced(full, path, huge))))
    texts = [(p, s) for p, s in _paths(shape, full) if s.type_name == "string" and not s.enum]
    for path, _member in rng.sample(texts, min(3, len(texts))):
        long_text = rng.choice(["a" * 10000 + "!", "a-" * 5000 + "-", "\u00e9" * 20000, "1" * 9999 + "x"])
        out.append((f"long {'.'.join(map(str, path))}", Request(service, operation, _replaced(full, path, long_text))))
    # Strings that carry JSON (EventPattern, Detail, flow Content...) are parsed by handlers: nest them too.
    json_texts = [(p, s) for p, s in texts
                  if regex.search(r"pattern|detail|event|content|json|document|attributes|token", str(p[-1]), regex.I)]
    for path, member in rng.sample(json_texts, min(2, len(json_texts))):
        levels = min(DEEP, (member.metadata.get("max", 10**9) - 20) // 8)  # as deep as the member's length allows
        deep_text = rng.choice(["[" * levels + "]" * levels, '{"a":' * levels + "1" + "}" * levels,
                                '{"detail": ' + '{"a":[' * levels + "]}" * levels + "}"])
        if "token" in str(path[-1]).lower():  # our next tokens are base64 JSON
            levels = min(DEEP, member.metadata.get("max", 10**9) * 3 // 8)
            deep_text = base64.urlsafe_b64encode(("[" * levels + "]" * levels).encode()).decode()
        out.append((f"deep text {'.'.join(map(str, path))}",
                    Request(service, operation, _replaced(full, path, deep_text))))
    containers = [(p, s) for p, s in paths if s.type_name in ("structure", "list", "map")]
    if containers:
        path, _ = rng.choice(containers)
        out.append((f"deep member {'.'.join(map(str, path))}",
                    Request(service, operation, _replaced(full, path, _nested(DEEP)))))
    deep_body = Request(service, operation, minimal)
    deep_body.raw_body = b'{"x":' * DEEP + b"1" + b"}" * DEEP
    out.append(("deep body", deep_body))
    encoded = Request(service, operation, full)
    not_utf8 = b'{"z": "\xff\xfe\xc0\xaf", ' + _dump(encoded.body)[1:] if encoded.body else b'{"z": "\xc0\xaf"}'
    encoded.raw_body = rng.choice([
        not_utf8,
        b"\xff\xfe{\x00}\x00", json.dumps(encoded.body).encode("utf-16"), b"[]", b'"x"', b"null", b"1",
        b"{not json", b'{"a": "\\ud800"}', b'{"a": 1' + b" " * 10, b"\x00\x00\x00{",
    ])
    out.append(("encoding", encoded))
    labels = sorted(Request(service, operation, minimal).labels)
    for label in rng.sample(labels, min(2, len(labels))):
        odd = Request(service, operation, minimal)
        odd.labels[label] = rng.choice(LABEL_VALUES)
        out.append((f"label {label}={odd.labels[label][:20]}", odd))
    query_members = [n for n, m in members.items() if m.serialization.get("location") == "querystring"]
    for name in rng.sample(query_members, min(2, len(query_members))):
        odd = Request(service, operation, full)
        wire = members[name].serialization.get("name", name)
        odd.query = [(k, v) for k, v in odd.query if k != wire] + [(wire, rng.choice(QUERY_VALUES))]
        out.append((f"query {wire}", odd))
    header_members = [n for n, m in members.items() if m.serialization.get("location") == "header"]
    for name in header_members[:1]:
        odd = Request(service, operation, full)
        odd.headers[members[name].serialization.get("name", name)] = rng.choice(HEADER_VALUES)
        out.append((f"header {name}", odd))
    if not body_names and service.protocol == "rest-json":
        stray = Request(service, operation, minimal)
        stray.raw_body = b'{"unexpected": ' + b"[" * 100 + b"]" * 100 + b"}"
        out.append(("body where none is modelled", stray))
    return out[:CASES_PER_OPERATION]


# --- the test --------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(request, tmp_path_factory):
    """A server of the fuzz's own: what the fuzz creates must not show up in other tests' listings."""
    data = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        urls = iter([sqlite_database(data / "reachout.db")])
    else:
        urls = postgres_database("reachout_fuzz")
    db = next(urls)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    running = start_server(db, data, "--virtual-clock", now)
    yield running
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)  # drops the PostgreSQL database


@pytest.mark.parametrize("service_name", SERVICES)
def test_no_malformed_request_gets_a_server_error(fuzz_server, service_name):
    service = MODELS[service_name]
    connection = Connection(fuzz_server.url)
    log_start = len(fuzz_server.log.read_text())
    failures: list[str] = []
    started = time.monotonic()
    try:
        for name in service.operation_names:
            operation = service.operation_model(name)
            for label, request in cases(service, operation):
                status, body = request.send(connection)
                if status >= 500 and status != 501:
                    failures.append(f"{name} [{label}]: {status} {body[:160]!r}")
    finally:
        connection.close()
    print(f"{service_name}: {connection.sent} requests in {time.monotonic() - started:.1f}s")
    with urllib.request.urlopen(fuzz_server.url + "/_reachout/health", timeout=5) as health:
        assert health.status == 200
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:60])
    log = fuzz_server.log.read_text()[log_start:]
    assert "Traceback" not in log, log[-4000:]
